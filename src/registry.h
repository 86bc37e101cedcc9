/*
 * registry.h - every query the master knows about, by id.
 *
 * The registry is the meeting point of three kinds of threads: HTTP
 * handlers submit, look up, wait on and cancel queries; the aggregator
 * thread (aggregator.h) files the workers' messages under their query;
 * the main thread reports shards that died or came back.  One mutex
 * guards it all and one condition variable announces "some query
 * finished"; waiters re-check their own query.  Work done under the lock
 * is small: filing a batch appends pointers, it does not copy text.
 *
 * Queries are reference counted.  A finished query stays in the registry
 * (and answers GET) until it is older than keep_ms, more than keep_count
 * finished queries are newer, or the finished queries' results hold more
 * than keep_bytes; then it is dropped (oldest first) and its id is
 * remembered in a bounded list so that it answers "expired" rather than
 * "not found".
 *
 * Memory: a query keeps at most query_bytes of its shards' batches, an
 * equal share each (and one batch at least).  A shard whose batches would
 * go past its share keeps no more of them ("cut"),
 * and the merged results stop where that shard's kept records end, so
 * they remain the first results in (path, line) order; the counts stay
 * exact.  When a query finishes, the batches none of its results point
 * into are freed.
 *
 * Results: each shard's records arrive in (file id, line) order, and file
 * ids are in path order, so the final list is a k-way merge of the
 * shards' lists cut at `max`.  A record stays in the batch it came in;
 * results are pointers into those batches.
 */
#ifndef SHARDGREP_REGISTRY_H
#define SHARDGREP_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "msg.h"
#include "query.h"
#include "queue.h"

enum query_status {
    QS_RUNNING,
    QS_DONE,
    QS_CANCELLED,
    QS_TIMED_OUT,
    QS_PARTIAL,
    QS_FAILED,
    QS_QUEUED, /* admitted, waiting for a free slot */
};
const char *query_status_name(enum query_status s);

struct registry_options {
    unsigned keep_count;   /* finished queries kept */
    unsigned keep_seconds; /* and for how long */
    size_t keep_bytes;     /* results held by finished queries, at most */
    size_t query_bytes;    /* results one query may hold (<= keep_bytes) */
    /* Admission: at most max_running searches at the workers; up to
     * max_queued more wait their turn (status "queued"); past that,
     * submissions get 503 overloaded with Retry-After. */
    unsigned max_running;
    unsigned max_queued;
};

/* One result: a record inside one of the query's batches. */
struct result_ref {
    uint32_t file_id, line;
    const uint8_t *rec; /* msg_record_decode() it; for file views, u8 flags + str */
};

/* What a reader sees of a query, copied under the lock.  Release with
 * query_view_free(). */
struct query_view {
    char id[33];
    enum query_status status;
    struct query_spec spec; /* owned copy */
    uint64_t matched_lines, matched_files;
    uint32_t limit_hits;
    double elapsed_ms;
    unsigned shards_total, shards_done;
    unsigned *failed; /* shard indexes that died while it ran */
    unsigned nfailed;
    char error[256];
    unsigned queue_position;    /* 1 = next to start; 0 when not queued */
    struct result_ref *results; /* ordered, at most spec.max */
    size_t nresults;
    bool results_owned;
    bool memory_cut; /* results stop short of max: query_bytes was reached */
};
void query_view_free(struct query_view *v);

struct shard_state {
    bool up;
    pid_t pid;
    struct msg_hello hello;
};

struct registry_stats {
    uint64_t total, running, queued, kept, expired;
    uint64_t kept_bytes; /* results held by the kept (finished) queries */
};

struct registry;
struct query;

struct registry *registry_new(struct queue *q, unsigned nshards, const struct registry_options *o);
void registry_free(struct registry *r); /* accepts NULL */

/* Validate, register and send a search to every shard.  Returns a
 * referenced query, or NULL with e filled (bad regex, shutting down). */
struct query *registry_submit(struct registry *r, const struct query_spec *spec,
                              struct api_error *e);
/* Ask shard for the lines of one file.  Not listed by id. */
struct query *registry_submit_file(struct registry *r, uint32_t file_id, unsigned shard,
                                   struct api_error *e);
/* Look up by id; *expired tells a dropped id from an unknown one. */
struct query *registry_get(struct registry *r, const char *id, bool *expired);
void registry_put(struct registry *r, struct query *q); /* drop a reference */

const char *query_id(const struct query *q);
/* Wait up to timeout_ms (0: don't) for the query to finish; true if it has. */
bool registry_wait(struct registry *r, struct query *q, unsigned timeout_ms);
/* True while the query waits for a slot (not yet at the workers). */
bool registry_queued(struct registry *r, struct query *q);
/* Cancel a running query (workers are told to stop); no-op when finished. */
void registry_cancel(struct registry *r, struct query *q);
void registry_view(struct registry *r, struct query *q, struct query_view *v);
/* For a file view: the lines received, and the outcome. */
bool registry_file_lines(struct registry *r, struct query *q, struct result_ref **lines, size_t *n,
                         uint8_t *status);

/* From the aggregator: one message from a worker. */
void registry_deliver(struct registry *r, const uint8_t *buf, size_t n);
/* From the aggregator, periodically: end queries whose workers overran
 * their deadline by far (a stuck worker must not hang a client). */
void registry_tick(struct registry *r);

void registry_shard_up(struct registry *r, unsigned shard, pid_t pid, const struct msg_hello *h);
void registry_shard_down(struct registry *r, unsigned shard);
void registry_shards(struct registry *r, struct shard_state *out); /* nshards entries */
unsigned registry_nshards(const struct registry *r);
void registry_stats(struct registry *r, struct registry_stats *s);

/* Refuse new queries and cancel the running ones, waking every waiter. */
void registry_shutdown(struct registry *r);
/* True once registry_shutdown() was called. */
bool registry_closing(struct registry *r);

#endif
