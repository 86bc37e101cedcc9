/*
 * strsearch.c - the substring finder (see strsearch.h for the filter and
 * why the two rarest bytes).
 */
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

static bool equal(const struct finder *f, const char *at)
{
    return f->caseless ? equal_ci(at, f->needle, f->nlen) : memcmp(at, f->needle, f->nlen) == 0;
}

/* Positions [from, hlen - nlen] one by one. */
static const char *scalar(const struct finder *f, const char *hay, size_t hlen, size_t from)
{
    unsigned char first = (unsigned char)f->needle[0];
    if (f->caseless)
        first = fold(first);
    for (size_t i = from; i + f->nlen <= hlen; i++) {
        unsigned char c = (unsigned char)hay[i];
        if ((f->caseless ? fold(c) : c) == first && equal(f, hay + i))
            return hay + i;
    }
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
    const char *p = memchr(common_bytes, c, sizeof common_bytes - 1);
    return p ? (unsigned)(sizeof common_bytes - (size_t)(p - common_bytes)) : 0;
}

/* The offsets of the needle's two rarest bytes (i1 < i2, or both 0).  An
 * upper-case letter of an exact needle ranks as rare: code is mostly
 * lower case. */
static void rare_pair(const char *needle, size_t nlen, bool caseless, size_t *i1, size_t *i2)
{
#define RANK(i) rank(caseless ? fold((unsigned char)needle[i]) : (unsigned char)needle[i])
    size_t a = 0, b = nlen > 1 ? 1 : 0;
    if (nlen > 1 && RANK(b) < RANK(a)) {
        a = 1;
        b = 0;
    }
    for (size_t i = 2; i < nlen; i++) {
        unsigned r = RANK(i);
        if (r < RANK(a)) {
            b = a;
            a = i;
        } else if (r < RANK(b)) {
            b = i;
        }
    }
#undef RANK
    *i1 = a < b ? a : b;
    *i2 = a < b ? b : a;
}

void finder_init(struct finder *f, const char *needle, size_t nlen, bool caseless)
{
    f->needle = needle;
    f->nlen = nlen;
    f->caseless = caseless;
    rare_pair(needle, nlen, caseless, &f->i1, &f->i2);
}

const char *memmem_ci(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    struct finder f;
    finder_init(&f, needle, nlen, true);
    return finder_find(&f, hay, hlen);
}

static bool in_set(const unsigned char *set, unsigned n, unsigned char c)
{
    for (unsigned k = 0; k < n; k++)
        if (set[k] == c)
            return true;
    return false;
}

/* pair_find() from position i on, one position at a time. */
static const char *pair_scalar(const struct pair_finder *p, const char *hay, size_t hlen, size_t i)
{
    for (; i + 1 < hlen; i++)
        if (in_set(p->first, p->nfirst, (unsigned char)hay[i]) &&
            in_set(p->second, p->nsecond, (unsigned char)hay[i + 1]))
            return hay + i;
    return NULL;
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

/* The first candidate among the set bits of mask (positions base + bit)
 * that holds the whole needle; NULL if none. */
static inline const char *confirm(const struct finder *f, const char *base, unsigned mask,
                                  bool caseless)
{
    while (mask) {
        const char *at = base + __builtin_ctz(mask);
        if (caseless ? equal_ci(at, f->needle, f->nlen) : memcmp(at, f->needle, f->nlen) == 0)
            return at;
        mask &= mask - 1;
    }
    return NULL;
}

/* The vector loop, for one kind of search: folding is decided at compile
 * time so the exact loop carries none of it. */
static inline const char *pair_scan(const struct finder *f, const char *hay, size_t hlen,
                                    bool caseless, size_t *stop)
{
    const char *needle = f->needle;
    size_t nlen = f->nlen, i1 = f->i1, i2 = f->i2;
    unsigned char c1 = (unsigned char)needle[i1], c2 = (unsigned char)needle[i2];
    const __m128i first = _mm_set1_epi8((char)(caseless ? fold(c1) : c1));
    const __m128i last = _mm_set1_epi8((char)(caseless ? fold(c2) : c2));
    size_t i = 0;
    /* Both 16-byte loads stay inside hay, and a candidate at i + bit
     * still has room for the whole needle. */
    for (; i + nlen - 1 + 16 <= hlen; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(hay + i + i1));
        __m128i b = _mm_loadu_si128((const __m128i *)(hay + i + i2));
        if (caseless) {
            a = fold16(a);
            b = fold16(b);
        }
        unsigned mask = (unsigned)_mm_movemask_epi8(
            _mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last)));
        const char *at = mask ? confirm(f, hay + i, mask, caseless) : NULL;
        if (at)
            return at;
    }
    *stop = i;
    return NULL;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_AVX2_PATH 1
#include <immintrin.h>

__attribute__((target("avx2"))) static inline __m256i fold32(__m256i x)
{
    __m256i upper = _mm256_and_si256(_mm256_cmpgt_epi8(x, _mm256_set1_epi8('A' - 1)),
                                     _mm256_cmpgt_epi8(_mm256_set1_epi8('Z' + 1), x));
    return _mm256_or_si256(x, _mm256_and_si256(upper, _mm256_set1_epi8(0x20)));
}

/* pair_scan() 32 positions at a time; the 16-byte loop and the scalar one
 * finish the tail. */
__attribute__((target("avx2"))) static inline const char *
pair_scan32(const struct finder *f, const char *hay, size_t hlen, bool caseless, size_t *stop)
{
    const char *needle = f->needle;
    size_t nlen = f->nlen, i1 = f->i1, i2 = f->i2;
    unsigned char c1 = (unsigned char)needle[i1], c2 = (unsigned char)needle[i2];
    const __m256i first = _mm256_set1_epi8((char)(caseless ? fold(c1) : c1));
    const __m256i last = _mm256_set1_epi8((char)(caseless ? fold(c2) : c2));
    size_t i = 0;
    for (; i + nlen - 1 + 32 <= hlen; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(hay + i + i1));
        __m256i b = _mm256_loadu_si256((const __m256i *)(hay + i + i2));
        if (caseless) {
            a = fold32(a);
            b = fold32(b);
        }
        unsigned mask = (unsigned)_mm256_movemask_epi8(
            _mm256_and_si256(_mm256_cmpeq_epi8(a, first), _mm256_cmpeq_epi8(b, last)));
        const char *at = mask ? confirm(f, hay + i, mask, caseless) : NULL;
        if (at)
            return at;
    }
    *stop = i;
    return NULL;
}

/* The AVX2 entry: each kind of search gets its own copy of the loop. */
__attribute__((target("avx2"))) static const char *
avx2_scan(const struct finder *f, const char *hay, size_t hlen, size_t *stop)
{
    return f->caseless ? pair_scan32(f, hay, hlen, true, stop)
                       : pair_scan32(f, hay, hlen, false, stop);
}

static bool have_avx2(void)
{
    static int known = -1; /* a benign race: every thread computes the same */
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return known;
}
#endif

#ifdef HAVE_AVX2_PATH
/* Whether each of 32 bytes is one of a set's (unused slots repeat the
 * first byte). */
__attribute__((target("avx2"))) static inline __m256i any_of32(__m256i x, const __m256i *set)
{
    __m256i m = _mm256_cmpeq_epi8(x, set[0]);
    for (int k = 1; k < PAIR_SET_MAX; k++)
        m = _mm256_or_si256(m, _mm256_cmpeq_epi8(x, set[k]));
    return m;
}

__attribute__((target("avx2"))) static const char *pair_avx2(const struct pair_finder *p,
                                                             const char *hay, size_t hlen)
{
    __m256i a[PAIR_SET_MAX], b[PAIR_SET_MAX];
    for (unsigned k = 0; k < PAIR_SET_MAX; k++) {
        a[k] = _mm256_set1_epi8((char)p->first[k < p->nfirst ? k : 0]);
        b[k] = _mm256_set1_epi8((char)p->second[k < p->nsecond ? k : 0]);
    }
    size_t i = 0;
    for (; i + 33 <= hlen; i += 32) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(hay + i));
        __m256i y = _mm256_loadu_si256((const __m256i *)(hay + i + 1));
        unsigned mask =
            (unsigned)_mm256_movemask_epi8(_mm256_and_si256(any_of32(x, a), any_of32(y, b)));
        if (mask)
            return hay + i + __builtin_ctz(mask);
    }
    return pair_scalar(p, hay, hlen, i);
}
#endif

const char *pair_find(const struct pair_finder *p, const char *hay, size_t hlen)
{
#ifdef HAVE_AVX2_PATH
    if (have_avx2())
        return pair_avx2(p, hay, hlen);
#endif
    return pair_scalar(p, hay, hlen, 0);
}

const char *finder_find(const struct finder *f, const char *hay, size_t hlen)
{
    if (f->nlen == 0)
        return hay;
    if (f->nlen > hlen)
        return NULL;
    if (f->nlen == 1 && !f->caseless)
        return memchr(hay, f->needle[0], hlen);
    size_t stop = 0;
    const char *hit = NULL;
#ifdef HAVE_AVX2_PATH
    if (have_avx2()) {
        /* 32 positions at a time, then the tail as below. */
        hit = avx2_scan(f, hay, hlen, &stop);
        if (hit)
            return hit;
        hay += stop;
        hlen -= stop;
        stop = 0;
    }
#endif
    hit =
        f->caseless ? pair_scan(f, hay, hlen, true, &stop) : pair_scan(f, hay, hlen, false, &stop);
    return hit ? hit : scalar(f, hay, hlen, stop);
}
#else
const char *pair_find(const struct pair_finder *p, const char *hay, size_t hlen)
{
    return pair_scalar(p, hay, hlen, 0);
}

const char *finder_find(const struct finder *f, const char *hay, size_t hlen)
{
    if (f->nlen == 0)
        return hay;
    return scalar(f, hay, hlen, 0);
}
#endif
