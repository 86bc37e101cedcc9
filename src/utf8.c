/*
 * utf8.c - UTF-8 validation and repair with PCRE2's validity rules (see
 * utf8.h for why every stored line is valid UTF-8).
 */
#include "utf8.h"

#include <string.h>

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4)
        return 0; /* continuation byte, overlong 2-byte lead, or > U+10FFFF */
    size_t len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    /* Second-byte ranges that rule out overlongs, surrogates and > U+10FFFF. */
    if (c == 0xE0 && s[1] < 0xA0)
        return 0;
    if (c == 0xED && s[1] > 0x9F)
        return 0;
    if (c == 0xF0 && s[1] < 0x90)
        return 0;
    if (c == 0xF4 && s[1] > 0x8F)
        return 0;
    return len;
}

bool utf8_valid(const char *s, size_t n, size_t *first_bad)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        /* Fast path over ASCII, eight bytes at a time. */
        while (i + 8 <= n) {
            unsigned long long w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        size_t len = utf8_seq_len(p + i, n - i);
        if (len == 0) {
            if (first_bad)
                *first_bad = i;
            return false;
        }
        i += len;
    }
    return true;
}

size_t utf8_repair(const char *in, size_t n, char *out)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t i = 0, o = 0;
    while (i < n) {
        size_t len = utf8_seq_len(p + i, n - i);
        if (len == 0) {
            out[o++] = (char)0xEF;
            out[o++] = (char)0xBF;
            out[o++] = (char)0xBD;
            i++;
            continue;
        }
        memcpy(out + o, in + i, len);
        o += len;
        i += len;
    }
    return o;
}

size_t utf8_floor(const char *s, size_t n, size_t pos)
{
    if (pos >= n)
        return n;
    while (pos > 0 && ((unsigned char)s[pos] & 0xC0) == 0x80)
        pos--;
    return pos;
}

bool utf8_wide_fold(const char *s, size_t n)
{
    return memmem(s, n, "\xe2\x84\xaa", 3) || memmem(s, n, "\xc5\xbf", 2);
}
