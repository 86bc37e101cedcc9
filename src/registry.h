/*
 * registry.h - every query the master knows about, by id: its life, its
 * admission, and the state of the shards it runs on.
 *
 * The registry is the meeting point of three kinds of threads: HTTP
 * handlers submit, look up, wait on and cancel queries; the aggregator's
 * intake thread (aggregator.h) delivers the workers' messages, which the
 * registry routes to their query's results, and ticks; the main thread
 * reports shards that died or came back.  One mutex guards it all and one
 * condition variable announces "some query finished"; waiters re-check
 * their own query.  Work done under the lock is small.  Messages go to the
 * workers through the transport (transport.h), outside the lock.
 *
 * Life.  Queries are reference counted.  A finished query stays (and
 * answers GET) until it is older than keep_seconds, more than keep_count
 * finished queries are newer, or the finished queries' results hold more
 * than keep_bytes; then it is dropped, oldest first, and its id is
 * remembered in a bounded list so that it answers "expired" rather than
 * "not found".
 *
 * Admission.  At most max_running searches are at the workers at once;
 * up to max_queued more wait their turn, in order; past that a submission
 * is refused (REG_OVERLOADED).  File views are quick and go at once.
 *
 * One deadline.  A query has one deadline at a time, computed once and
 * read by every layer: while it waits for a slot, the end of its wait
 * (queue_wait_ms after submission); from the moment it is sent, the end
 * of its run (its timeout_ms later).  The QUERY message carries what is
 * left of it, so the workers stop there; the tick ends, as timed out, a
 * query still waiting at its deadline, or still running
 * REGISTRY_GRACE_MS past it (a stuck worker must not hang a client).  So
 * every query finishes, and an HTTP handler only waits for that.
 *
 * Shards.  A shard is up from its worker's HELLO until the main thread
 * reports it dead.  The tick also sends each up shard a PING every
 * ping_ms; a shard that has not answered one (or sent anything) for
 * unresponsive_ms is unresponsive (a stopped or hung worker):
 * its parts of running queries end as failed, new queries skip it, and
 * /healthz says so, until it answers again.
 */
#ifndef SHARDGREP_REGISTRY_H
#define SHARDGREP_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "aggregator.h"
#include "msg.h"
#include "query.h"
#include "transport.h"

#define REGISTRY_GRACE_MS        500.0
#define REGISTRY_PING_MS         1000 /* defaults of the options below */
#define REGISTRY_UNRESPONSIVE_MS 5000

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

/* What may be missing from a query's results; several can hold at once.
 * Any of them but a timeout (its own status) makes a finished query
 * partial, or failed when a worker could not run it. */
enum query_gap {
    QG_SHARD_FAILED = 1u << 0,       /* a worker died or could not be reached */
    QG_SHARD_UNRESPONSIVE = 1u << 1, /* a worker stopped answering */
    QG_SEARCH_FAILED = 1u << 2,      /* a worker could not run it */
    QG_MATCH_LIMIT = 1u << 3,        /* lines PCRE2 gave up on (limit_hits) */
    QG_TIMED_OUT = 1u << 4,          /* a deadline cut it short */
};
#define QG_ALL 0x1fu
/* The name of one gap (a single bit), as documents say it. */
const char *query_gap_name(unsigned gap);

/* Why a submission was refused; api.c maps each to an HTTP answer. */
enum registry_refusal {
    REG_OK,
    REG_SHUTTING_DOWN,
    REG_OVERLOADED, /* max_running at the workers and max_queued waiting */
    REG_SHARD_DOWN, /* a file view's shard is down or unresponsive */
};

struct metrics;

struct registry_options {
    unsigned keep_count;   /* finished queries kept */
    unsigned keep_seconds; /* and for how long */
    size_t keep_bytes;     /* results held by finished queries, at most */
    size_t query_bytes;    /* results one query may hold */
    unsigned max_running;
    unsigned max_queued;
    unsigned queue_wait_ms;     /* how long a query may wait for a slot */
    unsigned file_timeout_ms;   /* a file view's deadline */
    unsigned ping_ms;           /* heartbeats; 0: REGISTRY_PING_MS */
    const struct ftable *files; /* orders results (aggregator.h); NULL: by id */
    /* Called (without the lock) when a worker has applied a CHANGES batch;
     * the shard's counts are updated from it first.  May be NULL. */
    void (*applied)(void *ctx, unsigned shard, uint64_t seq);
    /* Called (without the lock) when a restarted worker has loaded its
     * shard as the file table had it: every batch sent before it started
     * is in what it loaded.  May be NULL.  Both get applied_ctx. */
    void (*back)(void *ctx, unsigned shard);
    void *applied_ctx;
    unsigned unresponsive_ms; /* 0: REGISTRY_UNRESPONSIVE_MS */
    struct metrics *metrics;  /* each finished search is counted here (metrics.h); NULL: not */
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
    unsigned *failed; /* shard indexes whose part failed */
    unsigned nfailed;
    unsigned *unresponsive; /* of them, those that had stopped answering */
    unsigned nunresponsive;
    unsigned gaps;              /* enum query_gap bits */
    char gap_code[24];          /* the main gap, when the answer must explain it */
    char message[256];          /* and what to say of it */
    unsigned queue_position;    /* 1 = next to start; 0 when not queued */
    struct result_ref *results; /* ordered, at most spec.max */
    size_t nresults;
    bool results_owned;
    bool memory_cut; /* results stop short of max: query_bytes or memory ran out */
    bool has_facets; /* asked for, and all that came could be kept */
    struct facet_result facets;
};
void query_view_free(struct query_view *v);

struct shard_state {
    bool up;
    bool unresponsive; /* up, but silent for REGISTRY_UNRESPONSIVE_MS */
    pid_t pid;
    double silent_ms; /* since the shard last answered (when up) */
    struct msg_hello hello;
};

struct registry_stats {
    uint64_t total, running, queued, kept, expired;
    uint64_t kept_bytes; /* results held by the kept (finished) queries */
};

struct registry;
struct query;

struct registry *registry_new(const struct transport *t, const struct registry_options *o);
void registry_free(struct registry *r); /* accepts NULL */
/* The sink the aggregator's intake thread delivers to (aggregator.h). */
void registry_sink(struct registry *r, struct aggregator_sink *sink);

/* Register a search and send it to every shard (or queue it).  The
 * pattern must have been checked already.  Returns a referenced query, or
 * NULL with *why set. */
struct query *registry_submit(struct registry *r, const struct query_spec *spec,
                              enum registry_refusal *why);
/* The same with a stream's cursor attached (registry_stream_attach())
 * before any shard is asked: a query that ends before its stream is set
 * up is still streamed shard by shard, not as the final list cut at max. */
struct query *registry_submit_stream(struct registry *r, const struct query_spec *spec,
                                     struct results_cursor **cursor, enum registry_refusal *why);
/* Ask shard for the lines of one file.  Not listed by id. */
struct query *registry_submit_file(struct registry *r, uint32_t file_id, unsigned shard,
                                   enum registry_refusal *why);
/* Look up by id; *expired tells a dropped id from an unknown one. */
struct query *registry_get(struct registry *r, const char *id, bool *expired);
void registry_put(struct registry *r, struct query *q); /* drop a reference */

const char *query_id(const struct query *q);
/* Wait up to timeout_ms (0: don't) for the query to finish; true if it has. */
bool registry_wait(struct registry *r, struct query *q, unsigned timeout_ms);
/* Streams (stream.h): a cursor over the query's records as the shards
 * send them (aggregator.h).  Poll waits up to wait_ms for something new,
 * then gives it through ev under the lock (ev renders, and must be
 * quick); it returns true once the query has finished and all of it was
 * given.  Detach before dropping the reference. */
struct results_cursor *registry_stream_attach(struct registry *r, struct query *q);
void registry_stream_detach(struct registry *r, struct query *q, struct results_cursor *c);
bool registry_stream_poll(struct registry *r, struct query *q, struct results_cursor *c,
                          unsigned wait_ms, const struct results_stream_events *ev);
/* Cancel a running query (workers are told to stop); no-op when finished. */
void registry_cancel(struct registry *r, struct query *q);
void registry_view(struct registry *r, struct query *q, struct query_view *v);
/* For a finished file view: its lines and the shard's status (MSG_ST_*).
 * The lines stay valid while the caller holds its reference. */
void registry_file_lines(struct registry *r, struct query *q, const struct result_ref **lines,
                         size_t *n, uint8_t *status);

/* From the aggregator (through the sink): one message from a worker. */
void registry_deliver(struct registry *r, const uint8_t *buf, size_t n);
/* From the aggregator, periodically: deadlines, heartbeats, expiry. */
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
