/*
 * tindex.h - a worker's trigram index: for each trigram of case-folded
 * bytes (qplan_fold()), the sorted list of the shard's blocks holding it
 * (a block is a file, or a 16 KiB piece of a big one: corpus.h).
 *
 * Built in two passes over the text.  While the shard loads, each file's
 * distinct trigrams (found with a 2 MiB bitmap over all 2^24 trigrams) are
 * counted; tindex_finish() lays out the posting lists from the counts and
 * reads every file again to fill them.  No list grows by reallocation,
 * and nothing but the counts (64 MiB) is held beside the final index: the
 * peak of a load is the index it leaves, not twice that.  Trigrams holding '\n' are left out: a
 * match never crosses a line.  Block granularity keeps the index small (about half the text on the
 * Linux tree) while a selective query still skips almost everything.  Below, "file" means a
 * numbered unit added with tindex_add(): the corpus adds blocks.
 *
 * Live mode (tindex_new_live()) is for a corpus that grows while it is
 * searched (the worker's delta, store.h): each trigram's list lives in a
 * hash table and grows as files are added, so the index answers at every
 * moment, and the numbers already given never change.  It costs more per
 * posting than the packed lists, which is why the delta stays small.
 */
#ifndef SHARDGREP_TINDEX_H
#define SHARDGREP_TINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qplan.h"

struct tindex;

struct tindex *tindex_new(void);
/* An index that answers while it grows: no tindex_finish(). */
struct tindex *tindex_new_live(void);
/* A finished index over arrays held elsewhere (a snapshot's mapping,
 * snapshot.h): nkeys ascending keys, nkeys + 1 offsets into postings.
 * tindex_free() frees only the struct. */
struct tindex *tindex_view(const uint32_t *keys, size_t nkeys, const uint32_t *offsets,
                           const uint32_t *postings);
/* The arrays of a finished index (to save it). */
void tindex_arrays(const struct tindex *t, const uint32_t **keys, size_t *nkeys,
                   const uint32_t **offsets, const uint32_t **postings, size_t *npostings);
void tindex_free(struct tindex *t); /* accepts NULL */
/* Count the next file's trigrams (files are numbered 0, 1, ... in the
 * order added).  The text need not stay where it is. */
void tindex_add(struct tindex *t, const char *text, size_t len);
/* Where file i's text (the same bytes given to tindex_add()) is now. */
typedef void (*tindex_text_fn)(void *ctx, uint32_t i, const char **text, size_t *len);
/* Lay out and fill the posting lists, reading every file again through
 * text_of; no tindex_add() after this. */
void tindex_finish(struct tindex *t, tindex_text_fn text_of, void *ctx);
/* True once finished: only then can it answer queries. */
bool tindex_ready(const struct tindex *t);

/* Files that may match the query: NULL when every file may; otherwise a
 * sorted array of *n file numbers (maybe empty), which the caller frees. */
uint32_t *tindex_candidates(const struct tindex *t, const struct qnode *q, size_t *n);

/* Memory held, in bytes. */
size_t tindex_bytes(const struct tindex *t);
/* Number of files in the posting list of one folded trigram. */
size_t tindex_count(const struct tindex *t, uint32_t tri);

#endif
