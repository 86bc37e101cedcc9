/*
 * tindex.h - a worker's trigram index: for each trigram of case-folded
 * bytes (qplan_fold()), the sorted list of the shard's blocks holding it
 * (a block is a file, or a 64 KiB piece of a big one: corpus.h).
 *
 * Built while the shard loads, from the text just copied into the arena
 * (hot in cache): each file's distinct trigrams are found with a 2 MiB
 * bitmap over all 2^24 trigrams and appended to one array; tindex_finish()
 * counts, lays out and fills the posting lists in two passes, so no list
 * grows by reallocation.  Trigrams holding '\n' are left out: a match
 * never crosses a line.  Block granularity keeps the index small (about a
 * sixth of the text on the Linux tree) while a selective query still
 * skips almost everything.  Below, "file" means a numbered unit added
 * with tindex_add(): the corpus adds blocks.
 */
#ifndef SHARDGREP_TINDEX_H
#define SHARDGREP_TINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qplan.h"

struct tindex;

struct tindex *tindex_new(void);
void tindex_free(struct tindex *t); /* accepts NULL */
/* Index the next file (files are numbered 0, 1, ... in the order added). */
void tindex_add(struct tindex *t, const char *text, size_t len);
/* Lay out the posting lists; no tindex_add() after this. */
void tindex_finish(struct tindex *t);
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
