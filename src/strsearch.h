/*
 * strsearch.h - substring search that ignores ASCII case.
 *
 * glibc's memmem() is the fast path for exact literals; this is its
 * caseless sibling, for the literal runs a caseless pattern requires
 * (qplan_anchor()).  On x86-64 it tests 16 positions at a time with SSE2:
 * a position is a candidate when its first and last bytes equal the
 * needle's first and last (both folded), and candidates are confirmed
 * byte by byte (the filter of W. Mula's "SIMD-friendly substring search").
 * Elsewhere a scalar loop does the same.  Only ASCII letters fold: callers
 * keep other letters out of needles for caseless searches.
 */
#ifndef SHARDGREP_STRSEARCH_H
#define SHARDGREP_STRSEARCH_H

#include <stddef.h>

/* First occurrence of needle[0..nlen) in hay[0..hlen), ASCII case
 * ignored; NULL if none.  An empty needle is found at hay. */
const char *memmem_ci(const char *hay, size_t hlen, const char *needle, size_t nlen);

/* The same with the needle's preparation (choosing its two rarest bytes)
 * done once, for a needle searched many times.  The needle is not copied. */
struct ci_finder {
    const char *needle;
    size_t nlen, i1, i2;
};
void ci_finder_init(struct ci_finder *f, const char *needle, size_t nlen);
const char *ci_find(const struct ci_finder *f, const char *hay, size_t hlen);

#endif
