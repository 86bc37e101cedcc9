/*
 * registry.c - queries by id, their life and admission, and the shards'
 * state (see registry.h for the design).  Results are filed and merged by
 * the aggregator (aggregator.h); this file routes messages to them.
 */
#include "registry.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "glob.h"
#include "lang.h"
#include "metrics.h"
#include "options.h"
#include "util.h"

#define NBUCKETS       4096
#define EXPIRED_MEMORY 65536

struct query {
    char id[33];
    uint64_t seq;
    bool is_file, finished, cancelled, overdue, listed;
    bool queued; /* waiting for a slot: not sent to the workers yet */
    unsigned file_shard;
    struct query_spec spec;
    enum query_status status;
    struct results *res;
    double started_ms, finished_ms;
    double deadline_ms; /* registry.h, "One deadline" */
    char error[128];    /* the registry's own reason, e.g. a wait that ran out */
    int refs;
    unsigned streams;        /* cursors attached (registry_stream_attach()) */
    bool kept;               /* in the finished FIFO */
    size_t kept_counted;     /* its bytes as counted in kept_bytes */
    struct query *next_id;   /* hash chain */
    struct query *next_done; /* finished FIFO */
};

struct shard {
    bool up, unresponsive;
    pid_t pid;
    struct msg_hello hello;
    double heard_ms; /* when it last sent anything */
    double ping_ms;  /* when the PING not yet answered was sent; 0: none */
};

struct registry {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct transport t;
    unsigned nshards;
    struct registry_options opt;
    struct shard *shards;
    struct query *buckets[NBUCKETS];
    struct query **running;
    size_t nrunning, running_cap;
    struct query **pending; /* admitted, waiting for a slot, oldest first */
    size_t npending;
    struct query *done_head, *done_tail;
    size_t ndone_list;
    size_t kept_bytes; /* bytes of the queries in the finished FIFO */
    char (*expired)[33];
    size_t expired_next, expired_count;
    uint64_t next_seq, total, expired_total, pings;
    bool shutting_down;
};

const char *query_status_name(enum query_status s)
{
    static const char *const names[] = {"running", "done",   "cancelled", "timed_out",
                                        "partial", "failed", "queued"};
    return names[s];
}

const char *query_gap_name(unsigned gap)
{
    switch (gap) {
    case QG_SHARD_FAILED:
        return "shard_failed";
    case QG_SHARD_UNRESPONSIVE:
        return "shard_unresponsive";
    case QG_SEARCH_FAILED:
        return "search_failed";
    case QG_MATCH_LIMIT:
        return "match_limit";
    case QG_TIMED_OUT:
        return "timed_out";
    }
    return "unknown";
}

static unsigned bucket_of(const char *id)
{
    unsigned h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h % NBUCKETS;
}

static void make_id(char out[33])
{
    unsigned char raw[16];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n > 0)
            got += (size_t)n;
    }
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

struct registry *registry_new(const struct transport *t, const struct registry_options *o)
{
    struct registry *r = xcalloc(1, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &ca);
    pthread_condattr_destroy(&ca);
    r->t = *t;
    r->nshards = t->nshards;
    r->opt = *o;
    if (!r->opt.ping_ms)
        r->opt.ping_ms = REGISTRY_PING_MS;
    if (!r->opt.unresponsive_ms)
        r->opt.unresponsive_ms = REGISTRY_UNRESPONSIVE_MS;
    r->shards = xcalloc(r->nshards, sizeof *r->shards);
    r->expired = xcalloc(EXPIRED_MEMORY, sizeof *r->expired);
    r->next_seq = 1;
    return r;
}

static void query_free(struct query *q)
{
    results_free(q->res);
    query_spec_free(&q->spec);
    free(q);
}

/* Caller holds the lock. */
static void unref_locked(struct query *q)
{
    if (--q->refs == 0)
        query_free(q);
}

void registry_free(struct registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nrunning; i++)
        unref_locked(r->running[i]);
    for (size_t i = 0; i < r->npending; i++)
        unref_locked(r->pending[i]);
    free(r->pending);
    for (struct query *q = r->done_head, *next; q; q = next) {
        next = q->next_done;
        unref_locked(q);
    }
    free(r->running);
    free(r->shards);
    free(r->expired);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r);
}

unsigned registry_nshards(const struct registry *r)
{
    return r->nshards;
}

const char *query_id(const struct query *q)
{
    return q->id;
}

static void map_insert(struct registry *r, struct query *q)
{
    unsigned b = bucket_of(q->id);
    q->next_id = r->buckets[b];
    r->buckets[b] = q;
    q->listed = true;
}

static void map_remove(struct registry *r, struct query *q)
{
    struct query **pp = &r->buckets[bucket_of(q->id)];
    while (*pp && *pp != q)
        pp = &(*pp)->next_id;
    if (*pp)
        *pp = q->next_id;
    q->listed = false;
}

static struct query *map_find(struct registry *r, const char *id)
{
    for (struct query *q = r->buckets[bucket_of(id)]; q; q = q->next_id)
        if (!strcmp(q->id, id))
            return q;
    return NULL;
}

static void remember_expired(struct registry *r, const struct query *q)
{
    memcpy(r->expired[r->expired_next], q->id, sizeof q->id);
    r->expired_next = (r->expired_next + 1) % EXPIRED_MEMORY;
    if (r->expired_count < EXPIRED_MEMORY)
        r->expired_count++;
    r->expired_total++;
}

/* Drop finished queries beyond the count, age or memory limits, oldest
 * first. */
static void prune_locked(struct registry *r)
{
    double now = now_ms();
    while (r->done_head) {
        struct query *q = r->done_head;
        bool too_many = r->ndone_list > r->opt.keep_count;
        bool too_old = now - q->finished_ms > (double)r->opt.keep_seconds * 1000.0;
        bool too_big = r->kept_bytes > r->opt.keep_bytes;
        if (!too_many && !too_old && !too_big)
            break;
        r->done_head = q->next_done;
        if (!r->done_head)
            r->done_tail = NULL;
        r->ndone_list--;
        r->kept_bytes -= q->kept_counted;
        q->kept = false;
        if (q->listed) {
            map_remove(r, q);
            remember_expired(r, q);
        }
        unref_locked(q);
    }
}

static enum query_status final_status(const struct query *q, const struct results_counts *c)
{
    if (q->cancelled)
        return QS_CANCELLED;
    if (c->nfailed)
        return QS_PARTIAL;
    if (c->error)
        return QS_FAILED;
    if (q->overdue || c->timed_out)
        return QS_TIMED_OUT;
    return c->limit_hits ? QS_PARTIAL : QS_DONE;
}

static void running_remove(struct registry *r, struct query *q)
{
    for (size_t i = 0; i < r->nrunning; i++) {
        if (r->running[i] == q) {
            r->running[i] = r->running[--r->nrunning];
            return;
        }
    }
}

static void finish_locked(struct registry *r, struct query *q)
{
    if (q->finished)
        return;
    q->finished = true;
    q->finished_ms = now_ms();
    struct results_counts c = {0};
    results_counts(q->res, &c);
    q->status = final_status(q, &c);
    results_finish(q->res);
    running_remove(r, q);
    pthread_cond_broadcast(&r->cond);
    if (q->is_file) {
        unref_locked(q); /* nobody polls a file view: the running list's reference */
        return;
    }
    size_t returned;
    bool cut, owned;
    (void)results_list(q->res, &returned, &cut, &owned); /* finished: the final list's size */
    metrics_query_finished(r->opt.metrics, q->status, (q->finished_ms - q->started_ms) / 1000.0,
                           returned);
    /* The running list's reference moves to the finished FIFO. */
    q->next_done = NULL;
    if (r->done_tail)
        r->done_tail->next_done = q;
    else
        r->done_head = q;
    r->done_tail = q;
    r->ndone_list++;
    q->kept = true;
    q->kept_counted = results_bytes(q->res);
    r->kept_bytes += q->kept_counted;
    prune_locked(r);
}

/* After a part ended: finish the query when it was the last. */
static void check_done_locked(struct registry *r, struct query *q)
{
    if (results_ended(q->res) == r->nshards)
        finish_locked(r, q);
}

static void part_failed_locked(struct registry *r, struct query *q, unsigned shard,
                               enum results_failure why)
{
    results_shard_failed(q->res, shard, why);
    if (q->streams)
        pthread_cond_broadcast(&r->cond); /* a stream says so at once */
    check_done_locked(r, q);
}

/* Why a shard cannot take a query now. */
static enum results_failure unusable_why(const struct registry *r, unsigned i)
{
    return r->shards[i].up ? RESULTS_UNRESPONSIVE : RESULTS_DOWN;
}

static struct query *new_query(struct registry *r, enum results_kind kind, uint32_t max)
{
    struct query *q = xcalloc(1, sizeof *q);
    q->res = results_new(kind, r->nshards, max, r->opt.query_bytes, r->opt.files);
    q->seq = r->next_seq++;
    q->refs = 2; /* the registry's and the caller's */
    q->started_ms = now_ms();
    make_id(q->id);
    r->total++;
    return q;
}

static void running_add(struct registry *r, struct query *q)
{
    if (r->nrunning == r->running_cap) {
        r->running_cap = r->running_cap ? r->running_cap * 2 : 64;
        r->running = xrealloc(r->running, r->running_cap * sizeof *r->running);
    }
    r->running[r->nrunning++] = q;
}

/* Searches sent to the workers and not finished (file views not counted:
 * they are quick and answered out of turn). */
static size_t active_searches(const struct registry *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nrunning; i++)
        n += !r->running[i]->is_file;
    return n;
}

static bool shard_usable(const struct registry *r, unsigned i)
{
    return r->shards[i].up && !r->shards[i].unresponsive;
}

/* Start q now: it joins the running list, its run's deadline is set, and
 * the shards that cannot take it end their part at once.  target[] gets
 * the shards to send it to, after the lock is released. */
static void dispatch_locked(struct registry *r, struct query *q, bool *target)
{
    q->queued = false;
    running_add(r, q);
    q->deadline_ms = now_ms() + q->spec.timeout_ms;
    for (unsigned i = 0; i < r->nshards; i++) {
        target[i] = shard_usable(r, i);
        if (!target[i])
            results_shard_failed(q->res, i, unusable_why(r, i));
    }
    check_done_locked(r, q);
}

/* The trees a query's tree= selects, as the QUERY's bitmap (empty: all). */
static uint32_t tree_mask(const struct registry *r, const char *trees, uint8_t *mask, size_t cap)
{
    if (!trees || !*trees || !r->opt.files)
        return 0;
    unsigned n = ftable_ntrees(r->opt.files);
    struct glob_list *gl = glob_list_parse(trees, NULL, 0);
    uint32_t len = (uint32_t)((n + 7) / 8 < cap ? (n + 7) / 8 : cap);
    memset(mask, 0, len);
    for (unsigned t = 0; t < n && t / 8 < len; t++)
        if (gl && glob_list_match(gl, ftable_tree_name(r->opt.files, t)))
            mask[t / 8] |= (uint8_t)(1u << (t % 8));
    glob_list_free(gl);
    return len;
}

/* The language ids a query asks for, as a bitmap; 0 bytes: every file. */
static uint32_t lang_mask(const char *langs, uint8_t *mask, size_t cap)
{
    if (!langs || !*langs)
        return 0;
    uint32_t len = (uint32_t)((lang_count() + 7) / 8 < cap ? (lang_count() + 7) / 8 : cap);
    memset(mask, 0, len);
    for (const char *p = langs; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        int id = lang_select(p, n);
        if (id >= 0 && (unsigned)id / 8 < len)
            mask[id / 8] |= (uint8_t)(1u << (id % 8));
        p += n + (comma != NULL);
    }
    return len;
}

/* Results a query keeps: none when it asks for counts only. */
static uint32_t results_max(const struct query_spec *s)
{
    return s->select == SELECT_COUNT ? 0 : s->max;
}

/* The QUERY message, carrying what is left of the deadline. */
static void encode_query(struct msg_writer *w, const struct query *q, const struct registry *r)
{
    const struct query_spec *s = &q->spec;
    uint8_t mask[(OPT_TREES_MAX + 7) / 8];
    uint32_t mask_len = tree_mask(r, s->trees, mask, sizeof mask);
    uint8_t langs[256];
    uint32_t langs_len = lang_mask(s->langs, langs, sizeof langs);
    double left = q->deadline_ms - now_ms();
    struct msg_query m = {
        .flags = (s->literal ? MSG_QF_LITERAL : 0) | (query_caseless(s) ? MSG_QF_CASELESS : 0) |
                 (s->kind == KIND_PATH ? MSG_QF_PATHS : 0) |
                 (s->kind == KIND_LINES && s->select == SELECT_FILES ? MSG_QF_FILES : 0) |
                 (s->facets ? MSG_QF_FACETS : 0),
        .max = results_max(s),
        .context = s->context,
        .timeout_ms = left < 1 ? 1 : (uint32_t)left,
        .pattern = s->q,
        .pattern_len = (uint32_t)strlen(s->q),
        .path = s->path,
        .path_len = (uint32_t)strlen(s->path),
        .exclude = s->exclude,
        .exclude_len = (uint32_t)strlen(s->exclude),
        .trees = mask,
        .trees_len = mask_len,
        .langs = langs,
        .langs_len = langs_len};
    msg_query_encode(w, q->seq, &m);
}

/* Send outside the lock (a full queue may wait); a shard that cannot be
 * reached ends its part as failed. */
static void send_to_shards(struct registry *r, struct query *q, const struct msg_writer *w,
                           const bool *target)
{
    bool *failed = xcalloc(r->nshards, sizeof *failed);
    if (transport_broadcast(&r->t, w, target, failed, TRANSPORT_WAIT_MS) > 0) {
        pthread_mutex_lock(&r->lock);
        for (unsigned i = 0; i < r->nshards; i++)
            if (failed[i])
                part_failed_locked(r, q, i, RESULTS_UNREACHABLE);
        pthread_mutex_unlock(&r->lock);
    }
    free(failed);
}

static void send_query(struct registry *r, struct query *q, const bool *target)
{
    struct msg_writer w;
    msg_writer_init(&w);
    encode_query(&w, q, r);
    send_to_shards(r, q, &w, target);
    msg_writer_free(&w);
}

/* Start waiting queries while there are free slots.  Called, without the
 * lock, after anything that may end a query. */
static void pump(struct registry *r)
{
    bool *target = NULL;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        if (r->shutting_down || r->npending == 0 || active_searches(r) >= r->opt.max_running) {
            pthread_mutex_unlock(&r->lock);
            break;
        }
        struct query *q = r->pending[0];
        memmove(r->pending, r->pending + 1, --r->npending * sizeof *r->pending);
        if (!target)
            target = xcalloc(r->nshards, sizeof *target);
        q->refs++; /* it may finish while we send */
        dispatch_locked(r, q, target);
        pthread_mutex_unlock(&r->lock);
        send_query(r, q, target);
        registry_put(r, q);
    }
    free(target);
}

static struct query *submit(struct registry *r, const struct query_spec *spec,
                            struct results_cursor **cursor, enum registry_refusal *why)
{
    bool *target = xcalloc(r->nshards, sizeof *target);
    pthread_mutex_lock(&r->lock);
    bool now = active_searches(r) < r->opt.max_running;
    *why = r->shutting_down                           ? REG_SHUTTING_DOWN
           : !now && r->npending >= r->opt.max_queued ? REG_OVERLOADED
                                                      : REG_OK;
    if (*why != REG_OK) {
        pthread_mutex_unlock(&r->lock);
        free(target);
        return NULL;
    }
    struct query *q = new_query(r, RESULTS_SEARCH, results_max(spec));
    query_spec_copy(&q->spec, spec);
    map_insert(r, q);
    if (cursor) { /* before a shard can answer, so the query cannot end first */
        *cursor = results_stream_attach(q->res);
        q->streams++;
    }
    if (now) {
        q->refs++; /* it may finish while we send */
        dispatch_locked(r, q, target);
    } else {
        q->queued = true;
        q->deadline_ms = q->started_ms + r->opt.queue_wait_ms;
        r->pending = xrealloc(r->pending, (r->npending + 1) * sizeof *r->pending);
        r->pending[r->npending++] = q;
    }
    pthread_mutex_unlock(&r->lock);
    if (now) {
        send_query(r, q, target);
        registry_put(r, q);
    }
    free(target);
    return q;
}

struct query *registry_submit(struct registry *r, const struct query_spec *spec,
                              enum registry_refusal *why)
{
    return submit(r, spec, NULL, why);
}

struct query *registry_submit_stream(struct registry *r, const struct query_spec *spec,
                                     struct results_cursor **cursor, enum registry_refusal *why)
{
    return submit(r, spec, cursor, why);
}

struct query *registry_submit_file(struct registry *r, uint32_t file_id, unsigned shard,
                                   enum registry_refusal *why)
{
    pthread_mutex_lock(&r->lock);
    if (r->shutting_down || shard >= r->nshards || !shard_usable(r, shard)) {
        *why = r->shutting_down ? REG_SHUTTING_DOWN : REG_SHARD_DOWN;
        pthread_mutex_unlock(&r->lock);
        return NULL;
    }
    *why = REG_OK;
    struct query *q = new_query(r, RESULTS_FILE, 0);
    running_add(r, q);
    q->is_file = true;
    q->file_shard = shard;
    q->deadline_ms = q->started_ms + r->opt.file_timeout_ms;
    for (unsigned i = 0; i < r->nshards; i++)
        if (i != shard)
            results_shard_skip(q->res, i);
    q->refs++; /* it may finish while we send */
    pthread_mutex_unlock(&r->lock);

    bool *target = xcalloc(r->nshards, sizeof *target);
    target[shard] = true;
    struct msg_writer w;
    msg_writer_init(&w);
    msg_file_encode(&w, shard, q->seq, file_id);
    send_to_shards(r, q, &w, target);
    msg_writer_free(&w);
    free(target);
    registry_put(r, q);
    return q;
}

struct query *registry_get(struct registry *r, const char *id, bool *expired)
{
    *expired = false;
    pthread_mutex_lock(&r->lock);
    prune_locked(r);
    struct query *q = map_find(r, id);
    if (q) {
        q->refs++;
    } else {
        for (size_t i = 0; i < r->expired_count && !*expired; i++)
            *expired = !strcmp(r->expired[i], id);
    }
    pthread_mutex_unlock(&r->lock);
    return q;
}

void registry_put(struct registry *r, struct query *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&r->lock);
    unref_locked(q);
    pthread_mutex_unlock(&r->lock);
}

/* The monotonic clock (the condition's) ms from now. */
static struct timespec deadline_after(unsigned ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

bool registry_wait(struct registry *r, struct query *q, unsigned timeout_ms)
{
    struct timespec until = deadline_after(timeout_ms);
    pthread_mutex_lock(&r->lock);
    while (!q->finished && timeout_ms > 0)
        if (pthread_cond_timedwait(&r->cond, &r->lock, &until) != 0)
            break;
    bool done = q->finished;
    pthread_mutex_unlock(&r->lock);
    return done;
}

struct results_cursor *registry_stream_attach(struct registry *r, struct query *q)
{
    pthread_mutex_lock(&r->lock);
    struct results_cursor *c = results_stream_attach(q->res);
    q->streams++;
    pthread_mutex_unlock(&r->lock);
    return c;
}

void registry_stream_detach(struct registry *r, struct query *q, struct results_cursor *c)
{
    pthread_mutex_lock(&r->lock);
    results_stream_detach(q->res, c);
    q->streams--;
    if (q->kept) { /* what the stream kept alive may have been released */
        r->kept_bytes -= q->kept_counted;
        q->kept_counted = results_bytes(q->res);
        r->kept_bytes += q->kept_counted;
    }
    pthread_mutex_unlock(&r->lock);
}

bool registry_stream_poll(struct registry *r, struct query *q, struct results_cursor *c,
                          unsigned wait_ms, const struct results_stream_events *ev)
{
    struct timespec until = deadline_after(wait_ms);
    pthread_mutex_lock(&r->lock);
    while (!q->finished && !results_stream_more(q->res, c) && wait_ms > 0)
        if (pthread_cond_timedwait(&r->cond, &r->lock, &until) != 0)
            break;
    bool all = results_stream_next(q->res, c, ev);
    bool done = all && q->finished;
    pthread_mutex_unlock(&r->lock);
    return done;
}

static void send_cancel(struct registry *r, struct query *q, const bool *target)
{
    struct msg_writer w;
    msg_writer_init(&w);
    msg_empty_encode(&w, MT_CANCEL, 0, q->seq);
    (void)transport_broadcast(&r->t, &w, target, NULL, TRANSPORT_WAIT_MS);
    msg_writer_free(&w);
}

static void unqueue_locked(struct registry *r, struct query *q)
{
    for (size_t i = 0; i < r->npending; i++) {
        if (r->pending[i] == q) {
            memmove(r->pending + i, r->pending + i + 1, (r->npending - i - 1) * sizeof *r->pending);
            r->npending--;
            break;
        }
    }
    q->queued = false;
}

/* A query still queued leaves the queue and takes the running list's
 * place in the bookkeeping, so that finish_locked() treats it alike. */
static void leave_queue_locked(struct registry *r, struct query *q)
{
    unqueue_locked(r, q);
    running_add(r, q);
    for (unsigned i = 0; i < r->nshards; i++)
        results_shard_skip(q->res, i);
}

/* Mark q cancelled (or overdue) and finish it; returns the shards to tell
 * (NULL: none).  Caller holds the lock. */
static bool *stop_locked(struct registry *r, struct query *q, bool overdue)
{
    if (q->finished)
        return NULL;
    bool *target = NULL;
    if (q->queued) {
        leave_queue_locked(r, q); /* never sent: nobody to tell */
    } else {
        target = xcalloc(r->nshards, sizeof *target);
        for (unsigned i = 0; i < r->nshards; i++)
            target[i] = !results_shard_ended(q->res, i) && shard_usable(r, i);
    }
    if (overdue)
        q->overdue = true;
    else
        q->cancelled = true;
    finish_locked(r, q);
    return target;
}

void registry_cancel(struct registry *r, struct query *q)
{
    pthread_mutex_lock(&r->lock);
    bool *target = stop_locked(r, q, false);
    if (target)
        q->refs++;
    pthread_mutex_unlock(&r->lock);
    if (target) {
        send_cancel(r, q, target);
        registry_put(r, q);
    }
    free(target);
    pump(r);
}

/* The first query past its deadline (registry.h, "One deadline"), or NULL. */
static struct query *late_locked(struct registry *r, double now)
{
    for (size_t i = 0; i < r->nrunning; i++)
        if (now > r->running[i]->deadline_ms + REGISTRY_GRACE_MS)
            return r->running[i];
    for (size_t i = 0; i < r->npending; i++)
        if (now > r->pending[i]->deadline_ms)
            return r->pending[i];
    return NULL;
}

static void end_late_queries(struct registry *r)
{
    for (;;) {
        pthread_mutex_lock(&r->lock);
        struct query *late = late_locked(r, now_ms());
        if (late && late->queued)
            snprintf(late->error, sizeof late->error,
                     "waited %u ms for a free slot (%u queries running)", r->opt.queue_wait_ms,
                     r->opt.max_running);
        bool *target = late ? stop_locked(r, late, true) : NULL;
        if (target)
            late->refs++;
        pthread_mutex_unlock(&r->lock);
        if (!late)
            return;
        if (target) {
            send_cancel(r, late, target);
            registry_put(r, late);
        }
        free(target);
    }
}

/* A shard that stopped answering: its running parts end as failed. */
static void mark_unresponsive_locked(struct registry *r, unsigned i, double now)
{
    struct shard *s = &r->shards[i];
    s->unresponsive = true;
    log_info("shard %u (pid %d) has not answered for %.0f ms: marked unresponsive", i, (int)s->pid,
             now - s->heard_ms);
    for (size_t k = r->nrunning; k-- > 0;) {
        if (k >= r->nrunning)
            continue;
        struct query *q = r->running[k];
        if (!results_shard_ended(q->res, i))
            part_failed_locked(r, q, i, RESULTS_UNRESPONSIVE);
    }
}

/* Heartbeats: which shards get a PING now (want[]), and which turned
 * unresponsive. */
static bool heartbeat_locked(struct registry *r, bool *want, double now)
{
    bool any = false;
    for (unsigned i = 0; i < r->nshards; i++) {
        struct shard *s = &r->shards[i];
        want[i] = false;
        if (!s->up)
            continue;
        if (!s->unresponsive && now - s->heard_ms > r->opt.unresponsive_ms)
            mark_unresponsive_locked(r, i, now);
        /* One PING at a time: a stopped worker's queue must not fill.  One
         * lost (its worker restarted) is given up after a while. */
        bool outstanding = s->ping_ms != 0 && now - s->ping_ms < r->opt.unresponsive_ms;
        if (!outstanding && now - s->heard_ms >= r->opt.ping_ms) {
            s->ping_ms = now;
            want[i] = true;
            any = true;
        }
    }
    return any;
}

void registry_tick(struct registry *r)
{
    end_late_queries(r);
    bool *want = xcalloc(r->nshards, sizeof *want);
    pthread_mutex_lock(&r->lock);
    bool ping = heartbeat_locked(r, want, now_ms());
    uint64_t seq = ++r->pings;
    prune_locked(r);
    pthread_mutex_unlock(&r->lock);
    if (ping) {
        /* Not waited for: a worker with no room for a PING is not reading
         * its requests, which is what the heartbeat is to notice. */
        struct msg_writer w;
        msg_writer_init(&w);
        msg_empty_encode(&w, MT_PING, 0, seq);
        bool *failed = xcalloc(r->nshards, sizeof *failed);
        if (transport_broadcast(&r->t, &w, want, failed, 0) > 0) {
            pthread_mutex_lock(&r->lock);
            for (unsigned i = 0; i < r->nshards; i++)
                if (failed[i])
                    r->shards[i].ping_ms = 0; /* not sent: the next tick tries again */
            pthread_mutex_unlock(&r->lock);
        }
        free(failed);
        msg_writer_free(&w);
    }
    free(want);
    pump(r);
}

static struct query *find_running(struct registry *r, uint64_t seq)
{
    for (size_t i = 0; i < r->nrunning; i++)
        if (r->running[i]->seq == seq)
            return r->running[i];
    return NULL;
}

/* Any message is a sign of life. */
static void heard_locked(struct registry *r, unsigned shard, bool pong)
{
    struct shard *s = &r->shards[shard];
    s->heard_ms = now_ms();
    if (pong)
        s->ping_ms = 0;
    if (s->unresponsive && s->up) {
        s->unresponsive = false;
        log_info("shard %u answers again", shard);
    }
}

void registry_deliver(struct registry *r, const uint8_t *buf, size_t n)
{
    struct msg_header h;
    struct msg_reader rd;
    if (msg_parse(buf, n, &h, &rd) < 0 || h.shard >= r->nshards)
        return;
    if (h.type == MT_HELLO) {
        /* A restarted worker has loaded its shard. */
        struct msg_hello hello;
        if (msg_hello_decode(&rd, &hello) == 0) {
            registry_shard_up(r, h.shard, (pid_t)hello.pid, &hello);
            log_info("shard %u is back (pid %u): %u files in %.0f ms", h.shard, hello.pid,
                     hello.files, (double)hello.load_us / 1000.0);
            if (r->opt.back)
                r->opt.back(r->opt.applied_ctx, h.shard);
        }
        return;
    }
    if (h.type == MT_APPLIED) {
        struct msg_applied a;
        if (msg_applied_decode(&rd, &a) < 0)
            return;
        pthread_mutex_lock(&r->lock);
        heard_locked(r, h.shard, false);
        struct msg_hello *hello = &r->shards[h.shard].hello;
        uint64_t load_us = hello->load_us;
        uint32_t pid = hello->pid;
        *hello = a.counts;
        hello->load_us = load_us;
        hello->pid = pid;
        pthread_mutex_unlock(&r->lock);
        if (r->opt.applied)
            r->opt.applied(r->opt.applied_ctx, h.shard, h.seq);
        return;
    }
    pthread_mutex_lock(&r->lock);
    heard_locked(r, h.shard, h.type == MT_PONG);
    struct query *q = h.type == MT_PONG ? NULL : find_running(r, h.seq);
    bool ended = q && results_file(q->res, &h, buf, n);
    if (q && q->streams)
        pthread_cond_broadcast(&r->cond); /* something to stream */
    if (ended)
        check_done_locked(r, q);
    pthread_mutex_unlock(&r->lock);
    if (ended)
        pump(r);
}

static void sink_deliver(void *ctx, const uint8_t *buf, size_t n)
{
    registry_deliver(ctx, buf, n);
}

static void sink_tick(void *ctx)
{
    registry_tick(ctx);
}

void registry_sink(struct registry *r, struct aggregator_sink *sink)
{
    *sink = (struct aggregator_sink){.ctx = r, .deliver = sink_deliver, .tick = sink_tick};
}

void query_view_free(struct query_view *v)
{
    query_spec_free(&v->spec);
    free(v->failed);
    free(v->unresponsive);
    if (v->results_owned)
        free(v->results);
    facet_result_free(&v->facets);
    memset(v, 0, sizeof *v);
}

/* What may be missing from the results (v->gaps), and the main reason in
 * words: a shard that stopped answering, then one that failed, a search
 * a worker could not run, lines the regex engine gave up on. */
static void explain(const struct query *q, const struct results_counts *c, struct query_view *v)
{
    v->gaps = (c->nfailed > c->nunresponsive ? QG_SHARD_FAILED : 0) |
              (c->nunresponsive ? QG_SHARD_UNRESPONSIVE : 0) | (c->error ? QG_SEARCH_FAILED : 0) |
              (c->limit_hits ? QG_MATCH_LIMIT : 0) |
              (q->overdue || c->timed_out ? QG_TIMED_OUT : 0);
    unsigned lead = v->gaps & QG_SHARD_UNRESPONSIVE ? QG_SHARD_UNRESPONSIVE
                    : v->gaps & QG_SHARD_FAILED     ? QG_SHARD_FAILED
                    : v->gaps & QG_SEARCH_FAILED    ? QG_SEARCH_FAILED
                    : v->gaps & QG_MATCH_LIMIT      ? QG_MATCH_LIMIT
                                                    : 0;
    if (!lead && q->error[0]) { /* it never ran: the registry says why */
        snprintf(v->gap_code, sizeof v->gap_code, "%s", query_gap_name(QG_TIMED_OUT));
        snprintf(v->message, sizeof v->message, "%s", q->error);
        return;
    }
    if (!lead)
        return;
    snprintf(v->gap_code, sizeof v->gap_code, "%s", query_gap_name(lead));
    unsigned first = 0;
    for (unsigned i = 0; i < c->nfailed; i++) {
        bool silent = false;
        for (unsigned j = 0; j < c->nunresponsive; j++)
            silent |= c->unresponsive[j] == c->failed[i];
        if (silent == (lead == QG_SHARD_UNRESPONSIVE)) {
            first = c->failed[i];
            break;
        }
    }
    switch (lead) {
    case QG_SHARD_UNRESPONSIVE:
        snprintf(v->message, sizeof v->message,
                 "shard %u stopped answering: its files are missing from the results", first);
        break;
    case QG_SHARD_FAILED:
        snprintf(v->message, sizeof v->message,
                 "shard %u failed during the search: its files are missing from the results",
                 first);
        break;
    case QG_SEARCH_FAILED:
        snprintf(v->message, sizeof v->message, "%s",
                 c->message[0] ? c->message : "a worker could not run this search");
        break;
    default:
        snprintf(v->message, sizeof v->message,
                 "%u line%s exceeded the regex match limit: matches in %s are not counted",
                 (unsigned)c->limit_hits, c->limit_hits == 1 ? "" : "s",
                 c->limit_hits == 1 ? "it" : "them");
    }
}

void registry_view(struct registry *r, struct query *q, struct query_view *v)
{
    memset(v, 0, sizeof *v);
    v->failed = xcalloc(r->nshards, sizeof *v->failed);
    v->unresponsive = xcalloc(r->nshards, sizeof *v->unresponsive);
    pthread_mutex_lock(&r->lock);
    memcpy(v->id, q->id, sizeof v->id);
    v->status = q->finished ? q->status : q->queued ? QS_QUEUED : QS_RUNNING;
    for (size_t i = 0; q->queued && i < r->npending; i++)
        if (r->pending[i] == q)
            v->queue_position = (unsigned)i + 1;
    query_spec_copy(&v->spec, &q->spec);
    v->shards_total = r->nshards;
    struct results_counts c = {.failed = v->failed, .unresponsive = v->unresponsive};
    results_counts(q->res, &c);
    v->nunresponsive = c.nunresponsive;
    v->matched_lines = c.matched_lines;
    v->matched_files = c.matched_files;
    v->limit_hits = c.limit_hits;
    v->shards_done = c.shards_done;
    v->nfailed = c.nfailed;
    explain(q, &c, v);
    v->elapsed_ms = (q->finished ? q->finished_ms : now_ms()) - q->started_ms;
    v->results = results_list(q->res, &v->nresults, &v->memory_cut, &v->results_owned);
    if (q->spec.facets)
        v->has_facets = results_facets(q->res, &v->facets);
    pthread_mutex_unlock(&r->lock);
}

void registry_file_lines(struct registry *r, struct query *q, const struct result_ref **lines,
                         size_t *n, uint8_t *status)
{
    pthread_mutex_lock(&r->lock);
    results_lines(q->res, q->file_shard, lines, n, status);
    if (!q->finished || q->status != QS_DONE)
        *status = MSG_ST_FAILED;
    pthread_mutex_unlock(&r->lock);
}

void registry_shard_up(struct registry *r, unsigned shard, pid_t pid, const struct msg_hello *h)
{
    pthread_mutex_lock(&r->lock);
    struct shard *s = &r->shards[shard];
    s->up = true;
    s->unresponsive = false;
    s->pid = pid;
    s->heard_ms = now_ms();
    s->ping_ms = 0;
    if (h)
        s->hello = *h;
    pthread_mutex_unlock(&r->lock);
}

void registry_shard_down(struct registry *r, unsigned shard)
{
    pthread_mutex_lock(&r->lock);
    r->shards[shard].up = false;
    r->shards[shard].unresponsive = false;
    /* part_failed_locked() may finish a query and remove it from the list. */
    for (size_t i = r->nrunning; i-- > 0;)
        if (i < r->nrunning && !results_shard_ended(r->running[i]->res, shard))
            part_failed_locked(r, r->running[i], shard, RESULTS_DOWN);
    pthread_mutex_unlock(&r->lock);
    pump(r);
}

void registry_shards(struct registry *r, struct shard_state *out)
{
    pthread_mutex_lock(&r->lock);
    double now = now_ms();
    for (unsigned i = 0; i < r->nshards; i++) {
        const struct shard *s = &r->shards[i];
        out[i] = (struct shard_state){.up = s->up,
                                      .unresponsive = s->up && s->unresponsive,
                                      .pid = s->pid,
                                      .silent_ms = s->up ? now - s->heard_ms : 0,
                                      .hello = s->hello};
    }
    pthread_mutex_unlock(&r->lock);
}

void registry_stats(struct registry *r, struct registry_stats *s)
{
    pthread_mutex_lock(&r->lock);
    s->total = r->total;
    s->running = active_searches(r);
    s->queued = r->npending;
    s->kept = r->ndone_list;
    s->kept_bytes = r->kept_bytes;
    s->expired = r->expired_total;
    pthread_mutex_unlock(&r->lock);
}

void registry_shutdown(struct registry *r)
{
    pthread_mutex_lock(&r->lock);
    r->shutting_down = true;
    while (r->npending > 0) {
        struct query *q = r->pending[0];
        leave_queue_locked(r, q);
        q->cancelled = true;
        finish_locked(r, q);
    }
    while (r->nrunning > 0) {
        struct query *q = r->running[0];
        q->cancelled = true;
        finish_locked(r, q);
    }
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

bool registry_closing(struct registry *r)
{
    pthread_mutex_lock(&r->lock);
    bool closing = r->shutting_down;
    pthread_mutex_unlock(&r->lock);
    return closing;
}
