/*
 * tindex.h - a worker's index: for each key (a trigram of case-folded
 * bytes, or a shape of six bytes' classes: qplan.h), the sorted list of
 * the shard's blocks holding it (a block is a file, or a 16 KiB piece of a
 * big one: corpus.h).
 *
 * Built in two steps.  While the shard loads, each file's distinct keys
 * (found with a 4 MiB bitmap over all 2^25 keys) are counted;
 * tindex_finish() then reads every file again to fill the lists (noting,
 * in a small hash table per file, the eighths each key's lines start in)
 * and packs each where it lies (tindex.c: gaps as varints, each followed
 * by its eighths, in groups of 128 behind a skip table; a posting held in
 * 4 bytes while filled packs into 2 or 3).  No list grows by
 * reallocation, and beside the text only the counts (128 MiB) and the
 * lists unpacked are held at the peak.  Keys holding '\n' are left out: a
 * match never crosses a line.  Block granularity keeps the index small
 * (about a third of the text on the Linux tree, shapes and eighths
 * included) while a selective query still skips almost everything.
 * Below, "file" means a numbered unit added with tindex_add(): the
 * corpus adds blocks.
 *
 * Each posting also says which eighths of its block hold the key: a
 * block is cut at line starts into up to eight pieces of about 2 KiB
 * (tindex_eighth_start()), and bit e is set when a line starting in
 * piece e holds the key.  Every key a query asks for lies on the line
 * that matches, so an AND keeps a block only in the eighths all its keys
 * share, and the scanner reads only those: a query whose keys are each
 * common but rarely on one line reads a fraction of its blocks (on the
 * Linux tree, ^static int __init \w+\(void\) reads 11 MB where it read
 * 64).  One byte a posting: a worker holds about a tenth more.
 *
 * Live mode (tindex_new_live()) is for a corpus that grows while it is
 * searched (the worker's delta, store.h): each key's list lives in a
 * hash table, as varint gaps without skip table or eighths, and grows as
 * files are added, so the index answers at every moment, and the numbers
 * already given never change.  It answers less finely than the packed
 * lists (whole blocks), which is one reason the delta stays small.  On
 * the Linux tree a 16 MiB chunk's live index takes 0.66x its text (it
 * was 1.42x with lists of 4-byte numbers).
 */
#ifndef SHARDGREP_TINDEX_H
#define SHARDGREP_TINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "qplan.h"

struct tindex;

#define TINDEX_EIGHTHS      8
#define TINDEX_EIGHTH_SHIFT 11 /* 2 KiB: CORPUS_BLOCK_MAX / TINDEX_EIGHTHS */

/* Where eighth e of a block's text (whole lines) starts: the first line
 * start at or after e * 2 KiB (0 for the first; len past the last, or
 * when no line starts there).  Eighth e runs to eighth e + 1's start; the
 * last one to the end, however long. */
static inline size_t tindex_eighth_start(const char *text, size_t len, unsigned e)
{
    size_t x = (size_t)e << TINDEX_EIGHTH_SHIFT;
    if (e == 0)
        return 0;
    if (e >= TINDEX_EIGHTHS || x >= len)
        return len;
    const char *nl = memchr(text + x - 1, '\n', len - (x - 1));
    return nl ? (size_t)(nl - text) + 1 : len;
}

struct tindex *tindex_new(void);
/* An index that answers while it grows: no tindex_finish(). */
struct tindex *tindex_new_live(void);
/* A live index that will not grow for a while (a delta chunk closed,
 * store.h) gives back what growing needed: its lists' room to grow and
 * the tables that find a file's distinct keys (4 MiB).  Adding to it
 * again still works. */
void tindex_live_trim(struct tindex *t);
/* A finished index's arrays: nkeys ascending keys, each one's count of
 * postings, and nkeys + 1 offsets of their packed lists in data. */
struct tindex_arrays {
    const uint32_t *keys, *counts;
    const uint64_t *offsets;
    const uint8_t *data;
    size_t nkeys, data_len;
};
/* A finished index over arrays held elsewhere (a snapshot's mapping,
 * snapshot.h).  tindex_free() frees only the struct.  A garbled list
 * gives wrong block numbers, never a read outside it. */
struct tindex *tindex_view(const struct tindex_arrays *a);
/* The arrays of a finished index (to save it). */
void tindex_arrays(const struct tindex *t, struct tindex_arrays *a);
void tindex_free(struct tindex *t); /* accepts NULL */
/* Count the next file's trigrams (files are numbered 0, 1, ... in the
 * order added).  The text need not stay where it is. */
void tindex_add(struct tindex *t, const char *text, size_t len);
/* Where file i's text (the same bytes given to tindex_add()) is now. */
typedef void (*tindex_text_fn)(void *ctx, uint32_t i, const char **text, size_t *len);
/* Lay out and fill the posting lists, reading every file again through
 * text_of; no tindex_add() after this. */
void tindex_finish(struct tindex *t, tindex_text_fn text_of, void *ctx);
/* Fill the lists in passes over key ranges of at most this many postings
 * (by default only past 2^31 of them): for tests of the passes. */
void tindex_set_pass_budget(struct tindex *t, uint64_t postings);
/* True once finished: only then can it answer queries. */
bool tindex_ready(const struct tindex *t);

/* Files that may match the query: NULL when every file may; otherwise a
 * sorted array of *n file numbers (maybe empty), which the caller frees. */
uint32_t *tindex_candidates(const struct tindex *t, const struct qnode *q, size_t *n);
/* The same, and when eighths is given, *eighths gets (to free) each
 * candidate's eighths that may hold a match (bit e: eighth e); NULL with
 * the NULL answer.  A live index says every eighth. */
uint32_t *tindex_candidates_eighths(const struct tindex *t, const struct qnode *q, size_t *n,
                                    uint8_t **eighths);

/* Memory held, in bytes. */
size_t tindex_bytes(const struct tindex *t);
/* Number of files in the posting list of one key. */
size_t tindex_count(const struct tindex *t, uint32_t key);

#endif
