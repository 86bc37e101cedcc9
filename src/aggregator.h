/*
 * aggregator.h - the workers' answers, gathered: intake, filing, the
 * memory budget of each query's results, and the merge.
 *
 * Intake.  One thread in the master (aggregator_start()) reads every
 * message the workers send, through the transport, and hands each to a
 * sink: the registry, which knows which query a message belongs to.
 * Having one reader keeps each worker's messages in order.  At least every
 * AGGREGATOR_TICK_MS it also calls the sink's tick, which ends overdue
 * queries, drops expired ones and sends heartbeats.
 *
 * Filing.  A query's results (struct results) are one list per shard.
 * Each shard's records arrive in (tree, path, line) order (store.h), so a
 * shard's list is sorted as it arrives; file ids are compared through the
 * file table (ftable.h), since a file seen after start-up has a larger id
 * wherever its path sorts.  A batch
 * message is kept whole and the list points into it: filing appends
 * pointers, it does not copy text.
 *
 * Memory.  A query keeps at most query_bytes of batches, an equal share
 * per shard (and one whole batch at least).  A shard whose next batch
 * would go past its share keeps no more ("cut"), and the merged results
 * stop where that shard's kept records end, so they remain the first
 * results in (path, line) order; the counts, which come with each shard's
 * DONE, stay exact.  Running out of memory while filing is treated the
 * same way (a cut), not as a reason to stop the server.
 *
 * Merge.  The final list is a k-way merge of the shards' lists, cut at
 * max.  Once a query has finished, results_finish() merges once and frees
 * the batches no kept result points into.
 *
 * A struct results is not locked: its owner (the registry) calls every
 * function below under its own lock.
 */
#ifndef SHARDGREP_AGGREGATOR_H
#define SHARDGREP_AGGREGATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "facets.h"
#include "ftable.h"
#include "msg.h"
#include "transport.h"

#define AGGREGATOR_TICK_MS 100

/* One result: a record inside one of the query's batches (for a file
 * view, a line of a LINES message: msg_line_at() reads it). */
struct result_ref {
    uint32_t file_id, line;
    const uint8_t *rec; /* msg_record_at() reads it */
};

enum results_kind { RESULTS_SEARCH, RESULTS_FILE };

struct results;

/* order: the file table that orders file ids by (tree, path); NULL: ids
 * are in that order already. */
struct results *results_new(enum results_kind kind, unsigned nshards, uint32_t max,
                            size_t query_bytes, const struct ftable *order);
void results_free(struct results *res); /* accepts NULL */

/* File one message (BATCH, LINES or DONE) from its shard; the message is
 * copied when kept.  Returns true when it ended the shard's part (a DONE).
 * Messages of a part that has ended are ignored. */
bool results_file(struct results *res, const struct msg_header *h, const uint8_t *buf, size_t n);
/* The shard cannot answer: its part ends as failed, for this reason. */
enum results_failure {
    RESULTS_DOWN,         /* its worker died, or is not up */
    RESULTS_UNRESPONSIVE, /* its worker stopped answering (registry.h) */
    RESULTS_UNREACHABLE,  /* the transport could not deliver to it */
};
void results_shard_failed(struct results *res, unsigned shard, enum results_failure why);
/* The shard's part needs no answer (a file view asks one shard only). */
void results_shard_skip(struct results *res, unsigned shard);
bool results_shard_ended(const struct results *res, unsigned shard);
unsigned results_ended(const struct results *res);

/* What the shards said so far.  failed and unresponsive must hold nshards
 * entries each (or be NULL). */
struct results_counts {
    uint64_t matched_lines, matched_files;
    uint32_t limit_hits;
    unsigned shards_done; /* ended and not failed */
    unsigned *failed, nfailed;
    unsigned *unresponsive, nunresponsive; /* failed for that reason */
    bool timed_out;                        /* a shard stopped at its deadline */
    bool error;                            /* a shard could not run it (MSG_ST_FAILED) */
    char message[256];
};
void results_counts(const struct results *res, struct results_counts *c);

/* Merge once every part has ended, and free what no result points into. */
void results_finish(struct results *res);
/* The results in (path, line) order, at most max: the final list once
 * finished (*owned false), else a merge of what has arrived (*owned true:
 * free it).  *cut: they stop short of max for lack of memory. */
struct result_ref *results_list(struct results *res, size_t *n, bool *cut, bool *owned);
/* Streams: a cursor gives a query's records as the shards send them,
 * each shard's in its order, and each shard's end after its records.
 * While a cursor reads the shards' lists, a query that finishes keeps
 * them (and the batches they point into) until the last cursor detaches;
 * a cursor attached after they were released reads the final list.
 * Memory stays what the query keeps anyway: at most max records a shard,
 * within query_bytes. */
struct results_cursor;
struct results_shard_end {
    unsigned shard;
    uint8_t status; /* MSG_ST_*, when not failed */
    bool failed;
    enum results_failure why; /* when failed */
    bool cut;                 /* its records stop short (memory) */
    uint64_t matched_lines, matched_files;
    double elapsed_ms;
};
struct results_stream_events {
    void *ctx;
    /* One record (msg_record_at() reads it); false: no room now, give it
     * again next time. */
    bool (*record)(void *ctx, const uint8_t *rec);
    void (*shard)(void *ctx, const struct results_shard_end *e);
};
struct results_cursor *results_stream_attach(struct results *res);
void results_stream_detach(struct results *res, struct results_cursor *c); /* accepts NULL c */
/* Give what arrived since the last call; true once every shard's end was
 * given (all its records before it). */
bool results_stream_next(const struct results *res, struct results_cursor *c,
                         const struct results_stream_events *ev);
/* Whether the next call has anything to give. */
bool results_stream_more(const struct results *res, const struct results_cursor *c);

/* The facets the shards sent (facets.h), summed: false (and *out empty)
 * when none came, or some were lost. */
bool results_facets(struct results *res, struct facet_result *out);
/* Bytes held (batches, and the merged list once finished). */
size_t results_bytes(const struct results *res);
/* A file view's lines from its shard, and that shard's status. */
void results_lines(const struct results *res, unsigned shard, const struct result_ref **lines,
                   size_t *n, uint8_t *status);

/* The intake thread.  deliver() gets each message received; tick() is
 * called at least every AGGREGATOR_TICK_MS. */
struct aggregator_sink {
    void *ctx;
    void (*deliver)(void *ctx, const uint8_t *buf, size_t n);
    void (*tick)(void *ctx);
};
struct aggregator;
struct aggregator *aggregator_start(const struct transport *t, const struct aggregator_sink *sink);
/* Stop the thread and free it; accepts NULL. */
void aggregator_stop(struct aggregator *a);

#endif
