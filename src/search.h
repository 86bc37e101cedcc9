/*
 * search.h - one query over one worker's corpus.
 *
 * The worker's side of a search: select the files the path filters allow,
 * scan them as runs of contiguous text (see matcher.h), map each hit to
 * its file and line, and stream result records to the master in batches
 * (msg.h), ending with one DONE message that carries the exact counts.
 * At most `max` records are sent; counting goes on to the end.
 *
 * A search is resumable: search_start() prepares it, and each
 * search_step() scans one segment of the selected text (cut on line
 * boundaries) and returns, so the worker's scheduler (worker.h) can take
 * new requests, cancel, and run other searches in turn between steps.
 * Segments adapt to the pattern's speed: they start at SEARCH_SEGMENT_MIN
 * bytes, double while a step takes under SEARCH_SEGMENT_FAST_NS (fewer
 * returns for a fast scan), and halve past SEARCH_SEGMENT_SLOW_NS (a slow
 * pattern still gives way, notices a cancel and its deadline within
 * milliseconds); and a step whose lines are slow stops at a line
 * boundary once it has run SEARCH_STEP_NS, the next step resuming there.
 * The deadline is the QUERY's timeout_ms from when the
 * search started: what was left of the query's one deadline (registry.h).
 */
#ifndef SHARDGREP_SEARCH_H
#define SHARDGREP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "corpus.h"
#include "matcher.h"
#include "msg.h"
#include "store.h"

#define SEARCH_SEGMENT         (1u << 20) /* the largest segment */
#define SEARCH_SEGMENT_MIN     (4u << 10)
#define SEARCH_SEGMENT_FAST_NS 2000000u
#define SEARCH_SEGMENT_SLOW_NS 10000000u
/* A step gives way after this long, at the next line, whatever its
 * segment: a pattern that takes PCRE2's whole match limit on each line
 * (100 ms or more) must not hold the worker for a segment of such lines. */
#define SEARCH_STEP_NS  20000000u
#define SEARCH_TEXT_MAX 1024 /* bytes of a line sent in a result */

struct search_io {
    void *ctx;
    /* Send one message to the master; -1 when it cannot be delivered
     * (the search then ends at once). */
    int (*send)(void *ctx, const void *msg, size_t len);
    /* For search_run() only: true when the search must stop (cancelled).
     * May be NULL. */
    bool (*should_stop)(void *ctx);
};

struct search;

struct pathtext;

/* Prepare the query q (its strings are copied) over the files of store
 * visible at version (store.h).  A path search (MSG_QF_PATHS) reads
 * paths, the store's paths as one text (pathtext.h), current for the
 * store's layout: it holds a reference; NULL builds one for this search.  Never NULL: a pattern
 * that does not compile gives a search whose first step sends a DONE that says why. The store may
 * take batches while the search runs (they are not visible to it), but not be compacted. */
struct search *search_start(const struct store *store, uint32_t version, uint32_t shard,
                            uint64_t seq, const struct msg_query *q, const struct search_io *io,
                            struct pathtext *paths);
/* Scan one segment and send what it found; true once the search has
 * ended and sent its DONE (then only search_free() is left to call).  The
 * step after the last segment sends the DONE. */
bool search_step(struct search *s);
/* Stop at the next step, which sends DONE "cancelled". */
void search_cancel(struct search *s);
uint64_t search_seq(const struct search *s);
void search_free(struct search *s); /* accepts NULL */

/* Run the query over one corpus to its end: start, step (asking
 * io->should_stop between steps), free. */
void search_run(const struct corpus *c, uint32_t shard, uint64_t seq, const struct msg_query *q,
                const struct search_io *io);

/* Pick the window of a long line to send: [*ws, *we) holds at most
 * SEARCH_TEXT_MAX bytes, starts a little before the first range, and cuts
 * on UTF-8 character boundaries. */
void search_clip(const char *line, size_t len, const struct mrange *ranges, int nranges, size_t *ws,
                 size_t *we);

#endif
