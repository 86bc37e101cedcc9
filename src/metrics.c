/*
 * metrics.c - counting, and the /metrics text (see metrics.h).
 *
 * Counters are relaxed atomics: a counter orders nothing, it only has to
 * add up.  The text is written with a soft strbuf, so a scrape that finds
 * no memory answers 503 and the server goes on.
 */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double metrics_bucket_bounds[METRICS_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

static void bump(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t get(const _Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

void metrics_query_finished(struct metrics *m, enum query_status s, double seconds,
                            uint64_t returned)
{
    if (!m || (unsigned)s > QS_QUEUED)
        return;
    if (seconds < 0)
        seconds = 0;
    unsigned b = 0;
    while (b < METRICS_BUCKETS && seconds > metrics_bucket_bounds[b])
        b++;
    bump(&m->queries[s], 1);
    bump(&m->duration[b], 1);
    bump(&m->duration_ns, (uint64_t)(seconds * 1e9));
    bump(&m->returned, returned);
}

void metrics_worker_restarted(struct metrics *m)
{
    if (m)
        bump(&m->restarts, 1);
}

void metrics_http_answered(struct metrics *m, int status, uint64_t bytes)
{
    if (!m)
        return;
    if (status >= 100 && status < METRICS_STATUS_MAX)
        bump(&m->http_status[status], 1);
    bump(&m->http_bytes, bytes);
}

void metrics_connection(struct metrics *m, bool opened)
{
    if (!m)
        return;
    if (opened)
        bump(&m->connections_accepted, 1);
    atomic_fetch_add_explicit(&m->connections_open, opened ? 1 : -1, memory_order_relaxed);
}

void metrics_refused(struct metrics *m, enum metrics_refusal why)
{
    if (m && why < MR_COUNT)
        bump(&m->refused[why], 1);
}

/* ---- the text ------------------------------------------------------------ */

#define add_lit(b, s) strbuf_add((b), "" s, sizeof(s) - 1)

static void add_str(struct strbuf *b, const char *s)
{
    strbuf_add(b, s, strlen(s));
}

void metrics_label_value(struct strbuf *b, const char *v)
{
    for (const char *p = v; *p; p++) {
        size_t run = strcspn(p, "\\\"\n");
        strbuf_add(b, p, run);
        p += run;
        if (!*p)
            break;
        if (*p == '\n')
            add_lit(b, "\\n");
        else if (*p == '"')
            add_lit(b, "\\\"");
        else
            add_lit(b, "\\\\");
    }
}

/* # HELP and # TYPE of a family (help is ours: nothing in it to escape). */
static void family(struct strbuf *b, const char *name, const char *type, const char *help)
{
    add_lit(b, "# HELP ");
    add_str(b, name);
    strbuf_add(b, " ", 1);
    add_str(b, help);
    add_lit(b, "\n# TYPE ");
    add_str(b, name);
    strbuf_add(b, " ", 1);
    add_str(b, type);
    strbuf_add(b, "\n", 1);
}

/* A sample's name, and its label {k="v"} when k is set. */
static void sample_name(struct strbuf *b, const char *name, const char *k, const char *v)
{
    add_str(b, name);
    if (!k)
        return;
    strbuf_add(b, "{", 1);
    add_str(b, k);
    add_lit(b, "=\"");
    metrics_label_value(b, v);
    add_lit(b, "\"}");
}

static void sample_u(struct strbuf *b, const char *name, const char *k, const char *v,
                     uint64_t value)
{
    char num[32];
    sample_name(b, name, k, v);
    int n = snprintf(num, sizeof num, " %llu\n", (unsigned long long)value);
    strbuf_add(b, num, (size_t)n);
}

static void sample_f(struct strbuf *b, const char *name, const char *k, const char *v, double value)
{
    char num[64];
    sample_name(b, name, k, v);
    int n = snprintf(num, sizeof num, " %.6f\n", value); /* to the microsecond */
    if (n < 0 || (size_t)n >= sizeof num)
        n = snprintf(num, sizeof num, " %g\n", value);
    strbuf_add(b, num, (size_t)n);
}

/* A family of one sample without labels. */
static void single_u(struct strbuf *b, const char *name, const char *type, const char *help,
                     uint64_t value)
{
    family(b, name, type, help);
    sample_u(b, name, NULL, NULL, value);
}

static void single_f(struct strbuf *b, const char *name, const char *type, const char *help,
                     double value)
{
    family(b, name, type, help);
    sample_f(b, name, NULL, NULL, value);
}

static void render_queries(struct strbuf *b, const struct metrics *m)
{
    static const enum query_status finals[] = {QS_DONE, QS_PARTIAL, QS_TIMED_OUT, QS_CANCELLED,
                                               QS_FAILED};
    family(b, "shardgrep_queries_total", "counter",
           "Searches finished, by final status (file views not counted).");
    for (size_t i = 0; i < sizeof finals / sizeof finals[0]; i++)
        sample_u(b, "shardgrep_queries_total", "status", query_status_name(finals[i]),
                 get(&m->queries[finals[i]]));

    family(b, "shardgrep_query_duration_seconds", "histogram",
           "Time from a search's submission to its end (waiting for a slot included).");
    uint64_t cumulative = 0;
    for (unsigned i = 0; i <= METRICS_BUCKETS; i++) {
        char le[32];
        if (i < METRICS_BUCKETS)
            snprintf(le, sizeof le, "%g", metrics_bucket_bounds[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        cumulative += get(&m->duration[i]);
        sample_u(b, "shardgrep_query_duration_seconds_bucket", "le", le, cumulative);
    }
    sample_f(b, "shardgrep_query_duration_seconds_sum", NULL, NULL,
             (double)get(&m->duration_ns) / 1e9);
    sample_u(b, "shardgrep_query_duration_seconds_count", NULL, NULL, cumulative);

    single_u(b, "shardgrep_results_returned_total", "counter",
             "Results kept by finished searches (at most max each).", get(&m->returned));
}

static void render_http(struct strbuf *b, const struct metrics *m)
{
    static const char *const reasons[MR_COUNT] = {"connection_limit", "overloaded",
                                                  "body_too_large", "bad_request"};
    family(b, "shardgrep_http_requests_total", "counter",
           "HTTP requests answered, by status code.");
    for (int code = 100; code < METRICS_STATUS_MAX; code++) {
        uint64_t n = get(&m->http_status[code]);
        if (!n && code != 200)
            continue; /* 200 always: the family is never empty */
        char c[8];
        snprintf(c, sizeof c, "%d", code);
        sample_u(b, "shardgrep_http_requests_total", "code", c, n);
    }
    single_u(b, "shardgrep_http_response_bytes_total", "counter",
             "Body bytes of the HTTP answers (a stream's as sent).", get(&m->http_bytes));
    single_u(b, "shardgrep_http_connections_accepted_total", "counter",
             "HTTP connections accepted.", get(&m->connections_accepted));
    int64_t open = atomic_load_explicit(&m->connections_open, memory_order_relaxed);
    single_u(b, "shardgrep_http_connections_open", "gauge", "HTTP connections open now.",
             open > 0 ? (uint64_t)open : 0);
    family(b, "shardgrep_http_refused_total", "counter",
           "Requests or connections refused, by reason.");
    for (unsigned i = 0; i < MR_COUNT; i++)
        sample_u(b, "shardgrep_http_refused_total", "reason", reasons[i], get(&m->refused[i]));
}

static void render_shards(struct strbuf *b, const struct metrics *m, const struct stats_doc *s)
{
    uint64_t up = 0, silent = 0, down = 0, files = 0, lines = 0, bytes = 0;
    for (unsigned i = 0; i < s->nshards; i++) {
        const struct shard_state *sh = &s->shards[i];
        up += sh->up && !sh->unresponsive;
        silent += sh->up && sh->unresponsive;
        down += !sh->up;
        files += sh->hello.files;
        lines += sh->hello.lines;
        bytes += sh->hello.bytes;
    }
    family(b, "shardgrep_shards", "gauge",
           "Shards by state: up (answering), unresponsive (alive, silent), down.");
    sample_u(b, "shardgrep_shards", "state", "up", up);
    sample_u(b, "shardgrep_shards", "state", "unresponsive", silent);
    sample_u(b, "shardgrep_shards", "state", "down", down);
    single_u(b, "shardgrep_worker_restarts_total", "counter",
             "Worker processes started again after one died.", get(&m->restarts));
    single_u(b, "shardgrep_files", "gauge", "Files indexed, as the shards last reported.", files);
    single_u(b, "shardgrep_lines", "gauge", "Lines indexed, as the shards last reported.", lines);
    single_u(b, "shardgrep_bytes", "gauge", "Bytes of text indexed, as the shards last reported.",
             bytes);
}

static void render_memory(struct strbuf *b, const struct stats_doc *s)
{
    single_u(b, "shardgrep_master_rss_bytes", "gauge", "Resident memory of the master process.",
             s->master_rss);
    family(b, "shardgrep_worker_rss_bytes", "gauge",
           "Resident memory of each shard's worker process (0 while it is down).");
    for (unsigned i = 0; i < s->nshards; i++) {
        char shard[16];
        snprintf(shard, sizeof shard, "%u", i);
        sample_u(b, "shardgrep_worker_rss_bytes", "shard", shard, s->shard_rss[i]);
    }
    if (s->answers_counted)
        single_u(b, "shardgrep_answer_bytes", "gauge",
                 "Large answers built and not yet sent (bounded by --answer-memory).",
                 s->answer_bytes);
    single_u(b, "shardgrep_kept_results_bytes", "gauge",
             "Results held by finished queries kept for polling (bounded by --keep-memory).",
             s->queries.kept_bytes);
}

static void render_registry(struct strbuf *b, const struct stats_doc *s)
{
    single_u(b, "shardgrep_queries_running", "gauge", "Searches at the workers now.",
             s->queries.running);
    single_u(b, "shardgrep_queries_queued", "gauge", "Searches waiting for a slot.",
             s->queries.queued);
    single_u(b, "shardgrep_queries_kept", "gauge", "Finished searches kept for polling.",
             s->queries.kept);
}

static void render_live(struct strbuf *b, const struct stats_doc *s)
{
    static const char *const states[] = {"watching", "rescanning", "polling", "off"};
    const struct watch_stats *l = &s->live;
    family(b, "shardgrep_live_state", "gauge",
           "How the trees are followed: 1 for the current state.");
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        sample_u(b, "shardgrep_live_state", "state", states[i],
                 l->state && !strcmp(l->state, states[i]));
    single_u(b, "shardgrep_live_watches", "gauge", "Folders watched with inotify.", l->watches);
    single_u(b, "shardgrep_live_pending_changes", "gauge",
             "Changes sent to the workers and not yet applied.", l->pending);
    single_f(b, "shardgrep_live_lag_seconds", "gauge",
             "How long the oldest pending change has waited (0: none).", l->lag_ms / 1000.0);
    single_u(b, "shardgrep_live_applied_changes_total", "counter",
             "Changes to the trees applied since start-up.", l->applied);
    single_u(b, "shardgrep_live_rescans_total", "counter", "Rescans of the trees.", l->rescans);
    single_u(b, "shardgrep_live_overflows_total", "counter",
             "Times the kernel's event queue overflowed (each costs a rescan).", l->overflows);
}

char *metrics_render(const struct metrics *m, const struct stats_doc *s, size_t *len)
{
    static const struct metrics none;
    struct strbuf b = {.soft = true};
    if (!m)
        m = &none;
    family(&b, "shardgrep_build_info", "gauge", "The version serving (always 1).");
    sample_name(&b, "shardgrep_build_info", "version", PACKAGE_VERSION);
    add_lit(&b, " 1\n");
    single_f(&b, "shardgrep_uptime_seconds", "gauge", "Seconds since the server was ready.",
             s->uptime_s);
    render_queries(&b, m);
    render_registry(&b, s);
    render_shards(&b, m, s);
    render_memory(&b, s);
    render_live(&b, s);
    render_http(&b, m);
    if (b.failed || !b.buf) {
        free(b.buf);
        *len = 0;
        return NULL;
    }
    *len = b.len;
    return b.buf;
}
