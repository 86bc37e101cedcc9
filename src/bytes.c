/*
 * bytes.c - a checksum and a newline count at memory speed (see bytes.h).
 */
#include "bytes.h"

#include <string.h>

#if defined(__SSE2__) && defined(__x86_64__)
#define BYTES_SSE2 1
#include <emmintrin.h>
#endif

#define GROUP            32   /* bytes: four words */
#define SCRAMBLE_GROUPS  1024 /* every 32 KiB */
#define KEY_STEP         0xD6E8FEB86659FD93ull
#define SCRAMBLE_MUL     0x9E3779B1u /* odd and below 2^32: SSE2 multiplies by it */
#define COUNT_GROUPS_MAX 255         /* counts held in bytes before they are summed */

static const uint64_t key0[4] = {0x9E3779B97F4A7C15ull, 0xC2B2AE3D27D4EB4Full,
                                 0x165667B19E3779F9ull, 0x27D4EB2F165667C5ull};

static uint64_t lane(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    return h ^ (h >> 29);
}

static void scramble(uint64_t acc[4])
{
    for (int k = 0; k < 4; k++) {
        acc[k] ^= acc[k] >> 47;
        acc[k] *= SCRAMBLE_MUL;
    }
}

/* The groups of b into acc, a word at a time. */
static void groups_portable(const unsigned char *b, size_t groups, uint64_t acc[4])
{
    uint64_t key[4];
    memcpy(key, key0, sizeof key);
    for (size_t g = 0; g < groups; g++) {
        uint64_t w[4];
        memcpy(w, b + g * GROUP, GROUP);
        for (int k = 0; k < 4; k++) {
            uint64_t x = w[k] ^ key[k];
            acc[k] += (x & 0xFFFFFFFFu) * (x >> 32);
            acc[k ^ 1] += w[k];
            key[k] += KEY_STEP;
        }
        if ((g + 1) % SCRAMBLE_GROUPS == 0)
            scramble(acc);
    }
}

#if defined(BYTES_SSE2)
/* acc * SCRAMBLE_MUL per 64-bit lane: the low half's product plus the
 * high half's, shifted up. */
static __m128i mul_lanes(__m128i a, __m128i m)
{
    return _mm_add_epi64(_mm_mul_epu32(a, m),
                         _mm_slli_epi64(_mm_mul_epu32(_mm_srli_epi64(a, 32), m), 32));
}

static __m128i scramble_lanes(__m128i a, __m128i m)
{
    return mul_lanes(_mm_xor_si128(a, _mm_srli_epi64(a, 47)), m);
}

/* The same arithmetic as groups_portable(): acc[0..1] in lo, acc[2..3]
 * in hi; a word's plain value goes to the other lane of its register. */
static void groups_sse2(const unsigned char *b, size_t groups, uint64_t acc[4])
{
    __m128i lo = _mm_loadu_si128((const __m128i *)acc);
    __m128i hi = _mm_loadu_si128((const __m128i *)(acc + 2));
    __m128i klo = _mm_loadu_si128((const __m128i *)key0);
    __m128i khi = _mm_loadu_si128((const __m128i *)(key0 + 2));
    const __m128i step = _mm_set1_epi64x((long long)KEY_STEP);
    const __m128i m = _mm_set1_epi64x(SCRAMBLE_MUL);
    for (size_t g = 0; g < groups; g++) {
        __m128i w0 = _mm_loadu_si128((const __m128i *)(b + g * GROUP));
        __m128i w1 = _mm_loadu_si128((const __m128i *)(b + g * GROUP + 16));
        __m128i x0 = _mm_xor_si128(w0, klo), x1 = _mm_xor_si128(w1, khi);
        lo = _mm_add_epi64(lo, _mm_mul_epu32(x0, _mm_srli_epi64(x0, 32)));
        hi = _mm_add_epi64(hi, _mm_mul_epu32(x1, _mm_srli_epi64(x1, 32)));
        lo = _mm_add_epi64(lo, _mm_shuffle_epi32(w0, 0x4E)); /* the 64-bit halves swapped */
        hi = _mm_add_epi64(hi, _mm_shuffle_epi32(w1, 0x4E));
        klo = _mm_add_epi64(klo, step);
        khi = _mm_add_epi64(khi, step);
        if ((g + 1) % SCRAMBLE_GROUPS == 0) {
            lo = scramble_lanes(lo, m);
            hi = scramble_lanes(hi, m);
        }
    }
    _mm_storeu_si128((__m128i *)acc, lo);
    _mm_storeu_si128((__m128i *)(acc + 2), hi);
}
#endif

/* The tail under a group and the length, then the four accumulators into
 * one (each step one to one in each of its inputs). */
static uint64_t finish(uint64_t acc[4], const unsigned char *b, size_t n)
{
    size_t i = n / GROUP * GROUP;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        acc[0] = lane(acc[0], w);
    }
    for (; i < n; i++)
        acc[1] = (acc[1] ^ b[i]) * 0x100000001b3ull;
    uint64_t x = lane(lane(lane(lane(acc[0], (uint64_t)n), acc[1]), acc[2]), acc[3]);
    return x ^ (x >> 32);
}

uint64_t bytes_checksum_portable(const void *p, size_t n)
{
    uint64_t acc[4] = {0, 0, 0, 0};
    groups_portable(p, n / GROUP, acc);
    return finish(acc, p, n);
}

uint64_t bytes_checksum(const void *p, size_t n)
{
#if defined(BYTES_SSE2)
    uint64_t acc[4] = {0, 0, 0, 0};
    groups_sse2(p, n / GROUP, acc);
    return finish(acc, p, n);
#else
    return bytes_checksum_portable(p, n);
#endif
}

/* Eight bytes at a time: each byte of a word 0x80 where it was a newline
 * (no carry crosses a byte), summed in the bytes of acc for up to 255
 * words, then in halves of 16 bits. */
uint64_t bytes_count_newlines_portable(const char *p, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, low7 = 0x7F * ones, nl = '\n' * ones;
    const uint64_t halves = 0x00FF00FF00FF00FFull;
    uint64_t count = 0;
    size_t i = 0;
    while (i + 8 <= n) {
        uint64_t acc = 0;
        for (unsigned k = 0; k < COUNT_GROUPS_MAX && i + 8 <= n; k++, i += 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            uint64_t x = w ^ nl;
            acc += ~(((x & low7) + low7) | x | low7) >> 7;
        }
        acc = (acc & halves) + (acc >> 8 & halves);
        count += (acc * 0x0001000100010001ull) >> 48;
    }
    for (; i < n; i++)
        count += p[i] == '\n';
    return count;
}

uint64_t bytes_count_newlines(const char *p, size_t n)
{
#if defined(BYTES_SSE2)
    /* Sixteen bytes at a time: a compare gives 0xFF (-1) per newline,
     * subtracted into byte counters for up to 255 rounds, which one
     * sum of absolute differences adds up. */
    const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
    uint64_t count = 0;
    size_t i = 0;
    while (i + 16 <= n) {
        __m128i acc = zero;
        for (unsigned k = 0; k < COUNT_GROUPS_MAX && i + 16 <= n; k++, i += 16)
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i)), nl));
        __m128i s = _mm_sad_epu8(acc, zero);
        count +=
            (uint64_t)_mm_cvtsi128_si64(s) + (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(s, s));
    }
    return count + bytes_count_newlines_portable(p + i, n - i);
#else
    return bytes_count_newlines_portable(p, n);
#endif
}
