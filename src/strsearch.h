/*
 * strsearch.h - substring search, exact or ignoring ASCII case.
 *
 * For the literal runs a pattern requires (qplan_anchor()), searched for
 * over megabytes of a shard.  On x86-64 it tests 32 positions at a time
 * with AVX2 where the CPU has it (16 with SSE2 otherwise): a position is a candidate when two of
 * its bytes equal the needle's two rarest bytes (folded, for a caseless search) at the same
 * distance, and candidates are confirmed whole (the filter of W. Mula's
 * "SIMD-friendly substring search", with the pair chosen by rarity as
 * ripgrep's memchr crate does).  Elsewhere a scalar loop does the same.
 * Only ASCII letters fold: callers keep other letters out of needles for
 * caseless searches.
 */
#ifndef SHARDGREP_STRSEARCH_H
#define SHARDGREP_STRSEARCH_H

#include <stdbool.h>
#include <stddef.h>

/* First occurrence of needle[0..nlen) in hay[0..hlen), ASCII case
 * ignored; NULL if none.  An empty needle is found at hay. */
const char *memmem_ci(const char *hay, size_t hlen, const char *needle, size_t nlen);

/* The same, exact or caseless, with the needle's preparation (choosing its
 * two rarest bytes) done once, for a needle searched many times.  The
 * needle is not copied. */
struct finder {
    const char *needle;
    size_t nlen, i1, i2;
    bool caseless;
};
void finder_init(struct finder *f, const char *needle, size_t nlen, bool caseless);
const char *finder_find(const struct finder *f, const char *hay, size_t hlen);

/* The first i with hay[i] one of the first set's bytes and hay[i + 1]
 * one of the second's (qplan_pair() fills one), in hay[0..hlen); NULL if
 * none. */
#define PAIR_SET_MAX 4
struct pair_finder {
    unsigned char first[PAIR_SET_MAX], second[PAIR_SET_MAX];
    unsigned nfirst, nsecond; /* 1 to PAIR_SET_MAX each */
};
const char *pair_find(const struct pair_finder *p, const char *hay, size_t hlen);

#endif
