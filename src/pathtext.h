/*
 * pathtext.h - a store's paths as one text, for path searches (kind=path).
 *
 * Matching a pattern against 40,000 paths one by one costs a call, a
 * length and a UTF-8 check each (about 6 ms a shard on the kernel's); as
 * one text, "path\n" after "path\n" in (tree, path) order, it is one scan
 * by the same machinery that scans lines (a literal with memmem, a regex
 * with one PCRE2 call per candidate), well under a millisecond.
 *
 * The text holds every file of the base and of the delta, dead ones too,
 * in the order a search visits them (store.h: the delta's files placed
 * among the base's); a search checks a hit's file for visibility at its
 * own version and for its filters, so one text serves every version of a
 * layout.  Paths that are not valid UTF-8 are written repaired (as the
 * API shows them, so ranges are into the shown path).  Two kinds of path
 * are marked "alone", and a search matches them one by one: one holding
 * a '\n' (it would read as two), and one holding U+212A or U+017F, which
 * a caseless search matches for k and s where a caseless literal
 * anchor (qplan.h) would not see them (corpus.h: wide_fold).
 *
 * Life: the worker keeps one, rebuilt when the store's layout moves
 * (store.h: layout), and each path search holds a reference, so a text a
 * running search reads is never freed under it.
 */
#ifndef SHARDGREP_PATHTEXT_H
#define SHARDGREP_PATHTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct pathtext_entry {
    uint64_t off; /* where its path starts in buf */
    uint32_t len; /* its bytes, the '\n' not included */
    uint32_t fi;  /* index in its part */
    uint8_t part; /* enum store_part */
    bool alone;   /* match it alone (see above) */
};

struct pathtext {
    unsigned refs;
    uint64_t layout; /* the store's layout it was built from */
    char *buf;       /* the paths, each ended by '\n'; CORPUS_PAD zeros after */
    uint64_t len;
    struct pathtext_entry *e;
    size_t n;
    size_t *alone; /* indexes of the entries matched alone, in order */
    size_t nalone;
};

/* Build the text of a store's files (one reference, the caller's). */
struct pathtext *pathtext_build(const struct store *s);
/* The worker's cached text: *cache rebuilt if it is stale (or NULL), and
 * a new reference to it returned. */
struct pathtext *pathtext_current(struct pathtext **cache, const struct store *s);
struct pathtext *pathtext_ref(struct pathtext *p);
void pathtext_unref(struct pathtext *p); /* accepts NULL; frees at the last */
/* The entry whose path (or its '\n') holds offset off (off < len). */
size_t pathtext_entry_at(const struct pathtext *p, uint64_t off);

#endif
