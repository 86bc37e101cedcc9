/*
 * store.h - a worker's files as they change: a base in segments, a delta
 * in chunks, and versions.
 *
 * The base is the corpus loaded at start-up (or rebuilt by folds), in
 * segments: sealed corpora of about --segment-size of text each (64 MiB
 * by default), each with its own arena and trigram index, never changed
 * in place, in (tree, path) order, so that one after the other they are
 * the shard's files in order.  A change (store_apply(): a batch of files
 * to load, each replacing any earlier version of the same file id, and of
 * files to drop) appends the new text to the delta and marks the old
 * versions dead.  The delta is a few chunks, corpora whose trigram index
 * grows as files are added (tindex.h, live mode), the last one open:
 * once it holds STORE_CHUNK_BYTES, a new one is opened.  Files are
 * numbered across the base's segments (segment k's file i is
 * seg_first[k] + i), and across the delta's chunks.  Each batch is one
 * version step: a file carries the version it was born at (base files: 0)
 * and the version it died at (0: alive), and a search started at version
 * V sees exactly the files born at or before V and not dead at V.  So a
 * query sees one version of the shard, each file wholly before or after a
 * change, however changes and search steps interleave; and since the
 * delta only grows between compactions (its files, blocks and postings
 * keep their numbers), a running search's view stays valid while batches
 * are applied.
 *
 * Folding: once the changes (the delta's live text, or the base's dead
 * text if more) pass an eighth of the live text (and STORE_DELTA_MIN), segments
 * are folded one at a time, the one with the most changes first (its
 * live files and the delta's live files that fall among them, in order,
 * cut into new segments near --segment-size; a small segment takes a
 * neighbour along), until the changes are down to a quarter of that.  So
 * a fold holds one segment twice, never the whole base, and an edit in
 * one folder rebuilds the segment it falls in, not the shard.  A fold is
 * built in a thread (store_fold_begin()) from a snapshot: the segments'
 * live files at that version (the base is never written) and a copy of
 * the delta's.  Searches and changes go on meanwhile; once it is built
 * and no search is active, store_fold_finish() swaps it in: a file
 * changed or removed since the snapshot is marked dead in the new
 * segments, the delta's versions it took die, and the delta's chunks are
 * tidied: one with nothing alive is freed, one a third dead gives its
 * live files to the open chunk (copied: little) and is freed.  Both renumber
 * files, so neither happens while a search is active.
 *
 * Memory: a delta file costs about twice its text (its index grows by
 * appending) and a fold holds a segment twice while it builds.  When
 * changes come faster than folds take them (a checkout of another branch,
 * every file rewritten), the delta would hold them all: once its live
 * text passes an eighth of the live text (and twice STORE_DELTA_MIN),
 * changes wait (store_hold_changes()) until folds have taken some; and a
 * chunk's dead text goes once a third of it is dead.  So a burst of an
 * eighth of the text is followed at once, and a larger one at the speed
 * folds go, within about twice the text.  (Linux tree, 2 workers: a
 * 10,000-file burst followed in 7 s; every file rewritten, in 52 s,
 * memory 1.81x the text when it is done, at most 2.38x on the way.)
 *
 * Order: results go to the master in (tree, path) order, the order the
 * master merges shards in.  The base is in that order; the delta is not
 * (files come as they change), so a search interleaves the two: it visits
 * the visible delta files in order (kept sorted as they come), and runs of
 * base blocks between them.
 *
 * Files are found by id through a hash map (file ids are the master's,
 * stable for the life of the server, and need not follow path order).
 */
#ifndef SHARDGREP_STORE_H
#define SHARDGREP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "corpus.h"
#include "msg.h"
#include "walk.h"

#define STORE_DELTA_MIN      (8u << 20)
#define STORE_DELTA_FRACTION 8           /* folding starts past live/8 of changes */
#define STORE_HOLD_FRACTION  8           /* changes wait past live/8 in the delta */
#define STORE_SEGMENT_BYTES  (64u << 20) /* --segment-size's default */
#define STORE_CHUNK_BYTES    (16u << 20) /* a delta chunk is closed past this */
/* The room made in a new chunk (corpus_reserve()): the step of changes that
 * passes STORE_CHUNK_BYTES mostly fits. */
#define STORE_CHUNK_ROOM (18u << 20)

/* Which corpus a file is in. */
enum store_part { STORE_BASE, STORE_DELTA };

/* A delta file and where it falls among the base's files. */
struct store_pos {
    uint32_t fi;      /* its number in the delta */
    uint32_t base_at; /* the number of base files that sort before it */
};

struct store {
    /* The base: nseg segments (nseg >= 1, maybe one empty), and each
     * one's first file's number; seg_first[nseg] = base_files. */
    struct corpus **seg;
    size_t nseg;
    size_t *seg_first;
    size_t base_files;
    /* The delta: nchunk chunks (at least one), the last one open, and
     * each one's first file's number; chunk_first[nchunk] = delta_files. */
    struct corpus **chunk;
    size_t nchunk;
    size_t *chunk_first;
    uint64_t *chunk_dead; /* each one's dead text */
    size_t delta_files;
    uint64_t delta_bytes;              /* text in the chunks */
    uint32_t *base_dead;               /* per base file: the version it died at; 0 alive */
    uint32_t *delta_born, *delta_dead; /* per delta file */
    size_t delta_cap;
    uint32_t version;
    /* id -> (part, file index) of the file's live version */
    struct store_slot *map;
    size_t map_cap, map_used;
    /* Totals of the live files, for the master's stats. */
    uint64_t live_files, live_lines, live_bytes;
    uint64_t delta_dead_bytes; /* text of dead delta files (garbage) */
    uint64_t base_dead_bytes;  /* text of dead base files (garbage) */
    uint64_t segment_bytes;    /* folds cut segments near this size */
    bool sweeping;             /* folding until the changes are few */
    uint32_t unreadable, binary, too_large, changed;
    bool borrowed;           /* a view: the base is the caller's (store_view()) */
    struct store_fold *fold; /* the fold being built; NULL: none */
    struct store_save *save; /* snapshots (snapshot.h); NULL: none kept */
    const int *root_fds;
    unsigned ntrees;
    uint64_t max_file_size;
    /* The delta's first order_covers files (dead ones too) in (tree, path)
     * order: what a search walks beside the base (store_delta_order()). */
    struct store_pos *order;
    size_t order_covers, order_cap;
    /* Counts every change to which files the base and delta hold or how
     * they are numbered (a batch applied, a fold or compaction): what was
     * built from their files (pathtext.h) is stale once it moves. */
    uint64_t layout;
};

/* Start from the base segments loaded by corpus_load() or
 * snapshot_open() (the array and the corpora taken over), for trees
 * whose open folders are root_fds; folds cut segments near segment_bytes
 * (0: STORE_SEGMENT_BYTES).  Base paths are copied. */
void store_init(struct store *s, struct corpus **segs, size_t nseg, const int *root_fds,
                unsigned ntrees, uint64_t max_file_size, uint64_t segment_bytes);
void store_free(struct store *s);
/* The worker is exiting: the snapshot being written and the fold being
 * built are given up (no partial file stays) and their threads joined;
 * the store still answers as it did. */
void store_stop_threads(struct store *s);
/* A store over a corpus that stays the caller's, without changes (for
 * tests and tools: search_run()). */
void store_view(struct store *s, const struct corpus *c);

/* One change to apply. */
struct store_change {
    bool remove;   /* drop the file; else load it (replacing any version) */
    uint32_t id;   /* the master's file id */
    uint32_t tree; /* index of its tree */
    struct file_stamp stamp;
    const char *path; /* relative to its tree's root */
    uint32_t path_len;
};

/* What a batch did. */
struct store_applied {
    uint32_t loaded, removed, failed; /* failed: could not be read (logged) */
};

/* Apply a batch as one version step: read each file to load (beneath its
 * root, without links, checked against dev/ino: fsopen.h) into the delta,
 * mark replaced and removed versions dead.  Never fails as a whole: a file
 * that cannot be read is logged, counted, and (if it had an older version)
 * dropped. */
void store_apply(struct store *s, const struct store_change *ch, size_t n,
                 struct store_applied *out);
/* The same for the first of them, until enough(ctx), asked after each,
 * says so (at least one is applied); returns how many were. */
size_t store_apply_some(struct store *s, const struct store_change *ch, size_t n,
                        bool (*enough)(void *ctx), void *ctx, struct store_applied *out);

/* The delta is full: changes wait until folds take some (a fold is then
 * running or due). */
bool store_hold_changes(const struct store *s);

/* Visibility at version v. */
bool store_visible(const struct store *s, enum store_part part, size_t fi, uint32_t v);
/* The corpus holding file fi of part (a base segment, or a delta chunk),
 * and the file's index in it. */
const struct corpus *store_locate(const struct store *s, enum store_part part, size_t fi,
                                  size_t *local);
const struct corpus_file *store_file(const struct store *s, enum store_part part, size_t fi);
/* The segment holding base file fi; the chunk holding delta file fi. */
size_t store_segment_of(const struct store *s, size_t fi);
size_t store_chunk_of(const struct store *s, size_t fi);

/* The live version of file id: its part and index; false if none. */
bool store_find(const struct store *s, uint32_t id, enum store_part *part, size_t *fi);

/* Whether folding (or tidying the delta) would be worth it now. */
bool store_compact_due(const struct store *s);
/* Fold every change in at once: each segment with changes folded, then
 * the delta tidied.  Only with no search active (for tests and tools: a
 * worker folds in a thread, a segment at a time). */
void store_compact(struct store *s);

/* The worker's way (see "Folding" above): */
bool store_fold_due(const struct store *s); /* worth a fold, none running */
void store_fold_begin(struct store *s);     /* snapshot; copying begins */
/* The delta's text is copied out for the thread in steps of
 * STORE_FOLD_STEP bytes (a 100 MB delta held the worker 0.4 s in one
 * go); the thread starts after the last. */
bool store_fold_copying(const struct store *s);
void store_fold_step(struct store *s);
#define STORE_FOLD_STEP (8u << 20)
bool store_fold_running(const struct store *s);
bool store_fold_ready(const struct store *s); /* built: finish when idle */
void store_fold_finish(struct store *s);      /* swap in; no search active */
/* A chunk of the delta (not the open one) is a third dead: tidied
 * (store_tidy(): its live files, if any, copied to the open chunk, and
 * then it is freed; about STORE_TIDY_STEP bytes copied a call, so the
 * worker is never held for long: 20-40 ms).  Only with no search active
 * and no fold running. */
bool store_tidy_due(const struct store *s);
void store_tidy(struct store *s);
#define STORE_TIDY_STEP (1u << 20)

/* The delta's files, dead ones too, in (tree, path) order, each placed
 * among the base's: kept in order as changes are applied, so a search
 * only filters it. */
const struct store_pos *store_delta_order(const struct store *s, size_t *n);

/* Keep shard's base as a snapshot in dir: written after every fold, in a
 * thread, and now too when now is set (a base read from the tree; one
 * mapped from its snapshot is on disk already).  A failure to write is
 * logged, not fatal. */
void store_keep_snapshots(struct store *s, const char *dir, unsigned shard, unsigned nshards,
                          uint64_t config, bool now);

/* (tree, path) order of two files. */
int store_file_cmp(const struct corpus_file *a, const struct corpus_file *b);

/* The HELLO counts of the live files. */
void store_hello(const struct store *s, struct msg_hello *h);

#endif
