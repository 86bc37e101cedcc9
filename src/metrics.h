/*
 * metrics.h - GET /metrics: what the server did and holds, in Prometheus'
 * text exposition format 0.0.4 (text/plain; version=0.0.4).
 *
 * Two kinds of figures.  Counters (queries by final status, their
 * durations, results returned, worker restarts, HTTP requests by status,
 * connections, refusals) are bumped where the event happens, by whichever
 * thread sees it: each is a relaxed atomic add, no lock, so the hot paths
 * (every HTTP request, every query's end under the registry's lock) pay
 * an instruction or two.  Gauges (shards, files, memory, the live index)
 * are read when /metrics is asked for, from the same struct stats_doc
 * GET /api/stats renders, so the two say the same.
 *
 * A scrape reads each counter once, with no snapshot of them all: a
 * histogram's buckets and count come from the same reads (its +Inf bucket
 * is its count), its sum may miss a query that ends meanwhile.
 *
 * Names: shardgrep_ first, units in the name (_seconds, _bytes), counters
 * end in _total.  Every label a family can take is written, 0 or not, so
 * that rate() sees a series from the start.  The list is in doc/api.md.
 */
#ifndef SHARDGREP_METRICS_H
#define SHARDGREP_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"
#include "render.h"
#include "util.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The query duration histogram's upper bounds, in seconds: 0.5 ms to 10 s
 * (a deadline is at most --timeout-ms, 10 s by default), and +Inf. */
#define METRICS_BUCKETS 14
extern const double metrics_bucket_bounds[METRICS_BUCKETS];

/* Why the HTTP front refused a request or connection. */
enum metrics_refusal {
    MR_CONNECTION_LIMIT, /* --max-connections(-per-ip): closed at accept */
    MR_OVERLOADED,       /* 503 overloaded: queue full, or --answer-memory */
    MR_BODY_TOO_LARGE,   /* 413 */
    MR_BAD_REQUEST,      /* 400/501 for a request's framing */
    MR_COUNT,
};

#define METRICS_STATUS_MAX 600 /* HTTP statuses 100..599 are counted */

struct metrics {
    _Atomic uint64_t queries[QS_QUEUED + 1];        /* by final status (enum query_status) */
    _Atomic uint64_t duration[METRICS_BUCKETS + 1]; /* per bucket, not cumulative */
    _Atomic uint64_t duration_ns;
    _Atomic uint64_t returned; /* results kept by finished queries */
    _Atomic uint64_t restarts; /* workers started again by the master */
    _Atomic uint64_t http_status[METRICS_STATUS_MAX];
    _Atomic uint64_t http_bytes; /* body bytes of answers */
    _Atomic uint64_t connections_accepted;
    _Atomic int64_t connections_open;
    _Atomic uint64_t refused[MR_COUNT];
};

/* Every function accepts a NULL struct metrics (nothing counted). */

/* A search (not a file view) finished with status s after seconds, with
 * returned results kept. */
void metrics_query_finished(struct metrics *m, enum query_status s, double seconds,
                            uint64_t returned);
void metrics_worker_restarted(struct metrics *m);
/* An HTTP answer was sent (or its sending ended): its status, body bytes. */
void metrics_http_answered(struct metrics *m, int status, uint64_t bytes);
/* A connection was accepted (opened true) or closed. */
void metrics_connection(struct metrics *m, bool opened);
void metrics_refused(struct metrics *m, enum metrics_refusal why);

/* The /metrics text: the counters, and the gauges of s (as GET /api/stats
 * has them; s->walked may be NULL).  NULL when memory ran out. */
char *metrics_render(const struct metrics *m, const struct stats_doc *s, size_t *len);

/* A label value as the format wants it: \ " and newline escaped. */
void metrics_label_value(struct strbuf *b, const char *v);

#endif
