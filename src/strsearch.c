#include "strsearch.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

static inline unsigned char fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static bool equal_ci(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fold((unsigned char)a[i]) != fold((unsigned char)b[i]))
            return false;
    return true;
}

/* Positions [from, hlen - nlen] one by one. */
static const char *scalar(const char *hay, size_t hlen, size_t from, const char *needle,
                          size_t nlen)
{
    unsigned char first = fold((unsigned char)needle[0]);
    for (size_t i = from; i + nlen <= hlen; i++)
        if (fold((unsigned char)hay[i]) == first && equal_ci(hay + i, needle, nlen))
            return hay + i;
    return NULL;
}

/* How common a (folded) byte is in source code: the higher, the more.
 * Candidates are filtered on the needle's two rarest bytes rather than
 * its first and last, so a needle like "container_of" is tested at the
 * few places holding an '_' and an 'f' at the right distance, not at
 * every 'c'.  Bytes not listed (upper case folds away; non-ASCII, control
 * characters) count as rare. */
static const char common_bytes[] =
    " etainsrolcdu_pmfh()x;g,b=y*v.w-\"/>0{}1#&[]k2+|:q3j4z5'68\\79!%<?@^`~$\t";

static unsigned rank(unsigned char c)
{
    const char *p = memchr(common_bytes, fold(c), sizeof common_bytes - 1);
    return p ? (unsigned)(sizeof common_bytes - (size_t)(p - common_bytes)) : 0;
}

/* The offsets of the needle's two rarest bytes (i1 < i2, or both 0). */
static void rare_pair(const char *needle, size_t nlen, size_t *i1, size_t *i2)
{
    size_t a = 0, b = nlen > 1 ? 1 : 0;
    if (nlen > 1 && rank((unsigned char)needle[b]) < rank((unsigned char)needle[a])) {
        a = 1;
        b = 0;
    }
    for (size_t i = 2; i < nlen; i++) {
        unsigned r = rank((unsigned char)needle[i]);
        if (r < rank((unsigned char)needle[a])) {
            b = a;
            a = i;
        } else if (r < rank((unsigned char)needle[b])) {
            b = i;
        }
    }
    *i1 = a < b ? a : b;
    *i2 = a < b ? b : a;
}

void ci_finder_init(struct ci_finder *f, const char *needle, size_t nlen)
{
    f->needle = needle;
    f->nlen = nlen;
    rare_pair(needle, nlen, &f->i1, &f->i2);
}

const char *memmem_ci(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    struct ci_finder f;
    ci_finder_init(&f, needle, nlen);
    return ci_find(&f, hay, hlen);
}

#ifdef __SSE2__
/* Lower-case the ASCII letters of 16 bytes (bytes >= 0x80 compare as
 * negative, so they are never taken for 'A'..'Z'). */
static inline __m128i fold16(__m128i x)
{
    __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('A' - 1)),
                                  _mm_cmplt_epi8(x, _mm_set1_epi8('Z' + 1)));
    return _mm_or_si128(x, _mm_and_si128(upper, _mm_set1_epi8(0x20)));
}

const char *ci_find(const struct ci_finder *f, const char *hay, size_t hlen)
{
    const char *needle = f->needle;
    size_t nlen = f->nlen, i1 = f->i1, i2 = f->i2;
    if (nlen == 0)
        return hay;
    if (nlen > hlen)
        return NULL;
    const __m128i first = _mm_set1_epi8((char)fold((unsigned char)needle[i1]));
    const __m128i last = _mm_set1_epi8((char)fold((unsigned char)needle[i2]));
    size_t i = 0;
    /* Both 16-byte loads stay inside hay, and a candidate at i + bit
     * still has room for the whole needle. */
    for (; i + nlen - 1 + 16 <= hlen; i += 16) {
        __m128i a = fold16(_mm_loadu_si128((const __m128i *)(hay + i + i1)));
        __m128i b = fold16(_mm_loadu_si128((const __m128i *)(hay + i + i2)));
        unsigned mask = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last)));
        while (mask) {
            unsigned bit = (unsigned)__builtin_ctz(mask);
            if (equal_ci(hay + i + bit, needle, nlen))
                return hay + i + bit;
            mask &= mask - 1;
        }
    }
    return scalar(hay, hlen, i, needle, nlen);
}
#else
const char *ci_find(const struct ci_finder *f, const char *hay, size_t hlen)
{
    if (f->nlen == 0)
        return hay;
    return scalar(hay, hlen, 0, f->needle, f->nlen);
}
#endif
