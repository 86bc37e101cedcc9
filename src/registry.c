/*
 * registry.c - queries by id, their results, and their life (see
 * registry.h for the design).
 */
#include "registry.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "matcher.h"
#include "util.h"

#define NBUCKETS         4096
#define EXPIRED_MEMORY   65536
#define OVERDUE_GRACE_MS 500.0 /* past the deadline, before the master ends a query */

/* A batch message as it came from a shard; records point into it. */
struct batch {
    uint8_t *buf;
    size_t len;
};

struct part {
    bool done, failed;
    bool cut;     /* a batch was dropped: the part's share of query_bytes reached */
    size_t bytes; /* of the batches kept for it */
    uint8_t status;
    uint64_t matched_lines, matched_files;
    uint32_t limit_hits;
    char *error;
    struct result_ref *res;
    size_t nres, cap;
};

struct query {
    char id[33];
    uint64_t seq;
    bool is_file, finished, cancelled, overdue, listed;
    bool queued;     /* waiting for a slot: not sent to the workers yet */
    bool memory_cut; /* the merged results stop at a cut shard */
    unsigned file_shard;
    struct query_spec spec;
    enum query_status status;
    unsigned ndone;
    struct part *parts;
    struct batch *batches; /* in no particular order */
    size_t nbatches, bcap;
    size_t bytes; /* held in batches (and, once finished, the merged list) */
    double started_ms, finished_ms, deadline_ms;
    struct result_ref *merged;
    size_t nmerged;
    int refs;
    struct query *next_id;   /* hash chain */
    struct query *next_done; /* finished FIFO */
};

struct registry {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct queue *queue;
    unsigned nshards;
    struct registry_options opt;
    struct shard_state *shards;
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
    uint64_t next_seq, total, expired_total;
    bool shutting_down;
};

const char *query_status_name(enum query_status s)
{
    static const char *const names[] = {"running", "done",   "cancelled", "timed_out",
                                        "partial", "failed", "queued"};
    return names[s];
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

struct registry *registry_new(struct queue *q, unsigned nshards, const struct registry_options *o)
{
    struct registry *r = xcalloc(1, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &ca);
    pthread_condattr_destroy(&ca);
    r->queue = q;
    r->nshards = nshards;
    r->opt = *o;
    r->shards = xcalloc(nshards, sizeof *r->shards);
    r->expired = xcalloc(EXPIRED_MEMORY, sizeof *r->expired);
    r->next_seq = 1;
    return r;
}

static void query_free(struct registry *r, struct query *q)
{
    for (unsigned i = 0; i < r->nshards; i++) {
        free(q->parts[i].res);
        free(q->parts[i].error);
    }
    for (size_t i = 0; i < q->nbatches; i++)
        free(q->batches[i].buf);
    free(q->batches);
    free(q->parts);
    free(q->merged);
    query_spec_free(&q->spec);
    free(q);
}

/* Caller holds the lock. */
static void unref_locked(struct registry *r, struct query *q)
{
    if (--q->refs == 0)
        query_free(r, q);
}

void registry_free(struct registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nrunning; i++)
        unref_locked(r, r->running[i]);
    for (size_t i = 0; i < r->npending; i++)
        unref_locked(r, r->pending[i]);
    free(r->pending);
    for (struct query *q = r->done_head, *next; q; q = next) {
        next = q->next_done;
        unref_locked(r, q);
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

/* Drop finished queries beyond the count or age limits, oldest first. */
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
        r->kept_bytes -= q->bytes;
        if (q->listed) {
            map_remove(r, q);
            memcpy(r->expired[r->expired_next], q->id, sizeof q->id);
            r->expired_next = (r->expired_next + 1) % EXPIRED_MEMORY;
            if (r->expired_count < EXPIRED_MEMORY)
                r->expired_count++;
            r->expired_total++;
        }
        unref_locked(r, q);
    }
}

static int cmp_ref(const struct result_ref *a, const struct result_ref *b)
{
    if (a->file_id != b->file_id)
        return a->file_id < b->file_id ? -1 : 1;
    return a->line < b->line ? -1 : a->line > b->line;
}

/* k-way merge of the shards' ordered lists, cut at limit.  It stops when a
 * cut shard's list runs out: that shard's next match, which was not kept,
 * may come before any other shard's; *cut says so. */
static struct result_ref *merge(struct registry *r, struct query *q, size_t limit, size_t *n,
                                bool *cut)
{
    size_t total = 0;
    for (unsigned i = 0; i < r->nshards; i++)
        total += q->parts[i].nres;
    if (total > limit)
        total = limit;
    struct result_ref *out = xmalloc((total ? total : 1) * sizeof *out);
    size_t *pos = xcalloc(r->nshards, sizeof *pos);
    size_t k = 0;
    *cut = false;
    for (; k < total; k++) {
        int best = -1;
        for (unsigned i = 0; i < r->nshards; i++) {
            const struct part *p = &q->parts[i];
            if (pos[i] == p->nres && p->cut)
                *cut = true;
            else if (pos[i] < p->nres &&
                     (best < 0 || cmp_ref(&p->res[pos[i]], &q->parts[best].res[pos[best]]) < 0))
                best = (int)i;
        }
        if (*cut)
            break;
        out[k] = q->parts[best].res[pos[best]++];
    }
    free(pos);
    *n = k;
    return out;
}

static int cmp_batch(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct batch *)a)->buf;
    uintptr_t y = (uintptr_t)((const struct batch *)b)->buf;
    return x < y ? -1 : x > y;
}

/* After the merge: free the batches no result points into (the records
 * past the cut) and the shards' lists. */
static void release_unused(struct registry *r, struct query *q)
{
    for (unsigned i = 0; i < r->nshards; i++) {
        free(q->parts[i].res);
        q->parts[i].res = NULL;
        q->parts[i].nres = q->parts[i].cap = 0;
    }
    if (!q->nbatches)
        return;
    qsort(q->batches, q->nbatches, sizeof *q->batches, cmp_batch);
    bool *used = xcalloc(q->nbatches, sizeof *used);
    for (size_t k = 0; k < q->nmerged; k++) {
        /* The last batch starting at or before the record holds it. */
        uintptr_t at = (uintptr_t)q->merged[k].rec;
        size_t lo = 0, hi = q->nbatches;
        while (hi - lo > 1) {
            size_t mid = (lo + hi) / 2;
            if ((uintptr_t)q->batches[mid].buf <= at)
                lo = mid;
            else
                hi = mid;
        }
        used[lo] = true;
    }
    size_t kept = 0;
    q->bytes = q->nmerged * sizeof *q->merged;
    for (size_t i = 0; i < q->nbatches; i++) {
        if (used[i]) {
            q->bytes += q->batches[i].len;
            q->batches[kept++] = q->batches[i];
        } else {
            free(q->batches[i].buf);
        }
    }
    q->nbatches = kept;
    free(used);
}

static enum query_status final_status(struct registry *r, const struct query *q)
{
    if (q->cancelled)
        return QS_CANCELLED;
    bool failed = false, timed_out = q->overdue, error = false;
    for (unsigned i = 0; i < r->nshards; i++) {
        const struct part *p = &q->parts[i];
        failed |= p->failed;
        timed_out |= p->status == MSG_ST_TIMED_OUT;
        error |= p->status == MSG_ST_FAILED;
    }
    if (failed)
        return QS_PARTIAL;
    if (error)
        return QS_FAILED;
    return timed_out ? QS_TIMED_OUT : QS_DONE;
}

static void finish_locked(struct registry *r, struct query *q)
{
    if (q->finished)
        return;
    q->finished = true;
    q->finished_ms = now_ms();
    q->status = final_status(r, q);
    if (!q->is_file) {
        q->merged = merge(r, q, q->spec.max, &q->nmerged, &q->memory_cut);
        release_unused(r, q);
    }
    for (size_t i = 0; i < r->nrunning; i++) {
        if (r->running[i] == q) {
            r->running[i] = r->running[--r->nrunning];
            break;
        }
    }
    if (q->is_file) {
        /* Nobody polls a file view: drop the running list's reference. */
        pthread_cond_broadcast(&r->cond);
        unref_locked(r, q);
        return;
    }
    /* The running list's reference moves to the finished FIFO. */
    q->next_done = NULL;
    if (r->done_tail)
        r->done_tail->next_done = q;
    else
        r->done_head = q;
    r->done_tail = q;
    r->ndone_list++;
    r->kept_bytes += q->bytes;
    pthread_cond_broadcast(&r->cond);
    prune_locked(r);
}

static void part_end_locked(struct registry *r, struct query *q, unsigned shard, bool failed)
{
    struct part *p = &q->parts[shard];
    if (p->done)
        return;
    p->done = true;
    p->failed = failed;
    if (++q->ndone == r->nshards)
        finish_locked(r, q);
}

static struct query *new_query(struct registry *r)
{
    struct query *q = xcalloc(1, sizeof *q);
    q->parts = xcalloc(r->nshards, sizeof *q->parts);
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

/* Start q now: it joins the running list, its deadline starts, and the
 * shards that are down end their part at once.  target[] gets the shards
 * to send it to, after the lock is released. */
static void dispatch_locked(struct registry *r, struct query *q, bool *target)
{
    q->queued = false;
    running_add(r, q);
    q->deadline_ms = now_ms() + q->spec.timeout_ms;
    for (unsigned i = 0; i < r->nshards; i++) {
        target[i] = r->shards[i].up;
        if (!target[i])
            part_end_locked(r, q, i, true);
    }
}

static void encode_query(struct msg_writer *w, const struct query *q)
{
    const struct query_spec *s = &q->spec;
    uint32_t flags = (s->literal ? MSG_QF_LITERAL : 0) | (query_caseless(s) ? MSG_QF_CASELESS : 0);
    msg_begin(w, MT_QUERY, 0, q->seq);
    msg_put_u32(w, flags);
    msg_put_u32(w, s->max);
    msg_put_u32(w, s->context);
    msg_put_u32(w, s->timeout_ms);
    msg_put_str(w, s->q, strlen(s->q));
    msg_put_str(w, s->path, strlen(s->path));
    msg_put_str(w, s->exclude, strlen(s->exclude));
    msg_finish(w);
}

/* Send to the shards outside the lock (a full queue may block); a shard
 * that cannot be reached ends its part as failed. */
static void send_to_shards(struct registry *r, struct query *q, const struct msg_writer *w,
                           const bool *target)
{
    for (unsigned i = 0; i < r->nshards; i++) {
        if (!target[i])
            continue;
        if (queue_send(r->queue, i, w->data, w->len) < 0) {
            pthread_mutex_lock(&r->lock);
            part_end_locked(r, q, i, true);
            pthread_mutex_unlock(&r->lock);
        }
    }
}

void registry_put(struct registry *r, struct query *q);

static void send_query(struct registry *r, struct query *q, const bool *target)
{
    struct msg_writer w;
    msg_writer_init(&w);
    encode_query(&w, q);
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
        dispatch_locked(r, q, target);
        q->refs++; /* it may finish while we send */
        pthread_mutex_unlock(&r->lock);
        send_query(r, q, target);
        registry_put(r, q);
    }
    free(target);
}

struct query *registry_submit(struct registry *r, const struct query_spec *spec,
                              struct api_error *e)
{
    char err[SG_ERRLEN];
    long off;
    struct matcher *m = matcher_new(spec->q, strlen(spec->q), spec->literal, query_caseless(spec),
                                    err, sizeof err, &off);
    if (!m) {
        api_error_set(e, 400, "bad_regex", "q", "%s", err);
        e->offset = off;
        return NULL;
    }
    matcher_free(m);

    bool *target = xcalloc(r->nshards, sizeof *target);
    pthread_mutex_lock(&r->lock);
    if (r->shutting_down) {
        pthread_mutex_unlock(&r->lock);
        free(target);
        api_error_set(e, 503, "shutting_down", NULL, "the server is shutting down");
        return NULL;
    }
    bool now = active_searches(r) < r->opt.max_running;
    if (!now && r->npending >= r->opt.max_queued) {
        pthread_mutex_unlock(&r->lock);
        free(target);
        api_error_set(e, 503, "overloaded", NULL,
                      "%zu queries are running and %zu waiting: try again shortly",
                      (size_t)r->opt.max_running, r->npending);
        e->retry_after = 1;
        return NULL;
    }
    struct query *q = new_query(r);
    query_spec_copy(&q->spec, spec);
    map_insert(r, q);
    if (now) {
        dispatch_locked(r, q, target);
    } else {
        q->queued = true;
        r->pending = xrealloc(r->pending, (r->npending + 1) * sizeof *r->pending);
        r->pending[r->npending++] = q;
    }
    pthread_mutex_unlock(&r->lock);

    if (now)
        send_query(r, q, target);
    free(target);
    return q;
}

struct query *registry_submit_file(struct registry *r, uint32_t file_id, unsigned shard,
                                   struct api_error *e)
{
    pthread_mutex_lock(&r->lock);
    if (r->shutting_down || !r->shards[shard].up) {
        pthread_mutex_unlock(&r->lock);
        api_error_set(e, 503, r->shutting_down ? "shutting_down" : "shard_down", NULL,
                      "the shard holding this file is not available");
        return NULL;
    }
    struct query *q = new_query(r);
    running_add(r, q);
    q->is_file = true;
    q->file_shard = shard;
    q->spec.timeout_ms = 10000;
    q->deadline_ms = q->started_ms + q->spec.timeout_ms;
    for (unsigned i = 0; i < r->nshards; i++)
        if (i != shard)
            part_end_locked(r, q, i, false);
    pthread_mutex_unlock(&r->lock);

    bool *target = xcalloc(r->nshards, sizeof *target);
    target[shard] = true;
    struct msg_writer w;
    msg_writer_init(&w);
    msg_begin(&w, MT_FILE, shard, q->seq);
    msg_put_u32(&w, file_id);
    msg_finish(&w);
    send_to_shards(r, q, &w, target);
    msg_writer_free(&w);
    free(target);
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
    unref_locked(r, q);
    pthread_mutex_unlock(&r->lock);
}

bool registry_wait(struct registry *r, struct query *q, unsigned timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->lock);
    while (!q->finished && timeout_ms > 0)
        if (pthread_cond_timedwait(&r->cond, &r->lock, &until) != 0)
            break;
    bool done = q->finished;
    pthread_mutex_unlock(&r->lock);
    return done;
}

static void send_cancel(struct registry *r, struct query *q, const bool *target)
{
    struct msg_writer w;
    msg_writer_init(&w);
    msg_begin(&w, MT_CANCEL, 0, q->seq);
    msg_finish(&w);
    for (unsigned i = 0; i < r->nshards; i++)
        if (target[i])
            (void)queue_send(r->queue, i, w.data, w.len);
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

/* Mark q cancelled (or overdue) and finish it; returns the shards to tell.
 * Caller holds the lock. */
static bool *stop_locked(struct registry *r, struct query *q, bool overdue)
{
    if (q->finished)
        return NULL;
    bool *target = xcalloc(r->nshards, sizeof *target);
    if (q->queued)
        unqueue_locked(r, q); /* never sent: nobody to tell */
    else
        for (unsigned i = 0; i < r->nshards; i++)
            target[i] = !q->parts[i].done;
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
    pthread_mutex_unlock(&r->lock);
    if (target)
        send_cancel(r, q, target);
    free(target);
    pump(r);
}

void registry_tick(struct registry *r)
{
    double now = now_ms();
    for (;;) {
        pthread_mutex_lock(&r->lock);
        struct query *late = NULL;
        for (size_t i = 0; i < r->nrunning && !late; i++)
            if (now > r->running[i]->deadline_ms + OVERDUE_GRACE_MS)
                late = r->running[i];
        bool *target = late ? stop_locked(r, late, true) : NULL;
        if (late)
            late->refs++;
        prune_locked(r);
        pthread_mutex_unlock(&r->lock);
        if (!late) {
            pump(r);
            return;
        }
        send_cancel(r, late, target);
        free(target);
        registry_put(r, late);
    }
}

static struct query *find_running(struct registry *r, uint64_t seq)
{
    for (size_t i = 0; i < r->nrunning; i++)
        if (r->running[i]->seq == seq)
            return r->running[i];
    return NULL;
}

static void add_ref(struct part *p, uint32_t file_id, uint32_t line, const uint8_t *rec)
{
    if (p->nres == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->res = xrealloc(p->res, p->cap * sizeof *p->res);
    }
    p->res[p->nres++] = (struct result_ref){file_id, line, rec};
}

static uint8_t *keep_batch(struct query *q, const uint8_t *buf, size_t n)
{
    if (q->nbatches == q->bcap) {
        q->bcap = q->bcap ? q->bcap * 2 : 16;
        q->batches = xrealloc(q->batches, q->bcap * sizeof *q->batches);
    }
    uint8_t *copy = xmalloc(n);
    memcpy(copy, buf, n);
    q->batches[q->nbatches++] = (struct batch){copy, n};
    q->bytes += n;
    return copy;
}

static void file_batch(struct registry *r, struct query *q, struct part *p, const uint8_t *buf,
                       size_t n)
{
    struct msg_header h;
    struct msg_reader rd;
    if (p->nres >= q->spec.max)
        return; /* nothing more of this shard can be shown */
    /* Each shard gets an equal share, and room for one batch at least. */
    size_t share = r->opt.query_bytes / r->nshards;
    if (share < MSG_MAX)
        share = MSG_MAX;
    if (p->cut || p->bytes + n > share) {
        p->cut = true; /* and its later batches must not fill the gap */
        return;
    }
    p->bytes += n;
    const uint8_t *copy = keep_batch(q, buf, n);
    msg_parse(copy, n, &h, &rd);
    uint32_t count = msg_get_u32(&rd);
    for (uint32_t i = 0; i < count && msg_reader_ok(&rd); i++) {
        const uint8_t *at = rd.p + rd.pos;
        struct msg_record rec;
        if (msg_record_decode(&rd, &rec) < 0)
            break;
        if (p->nres < q->spec.max)
            add_ref(p, rec.file_id, rec.line, at);
    }
}

static void file_lines(struct query *q, struct part *p, const uint8_t *buf, size_t n)
{
    struct msg_header h;
    struct msg_reader rd;
    const uint8_t *copy = keep_batch(q, buf, n);
    msg_parse(copy, n, &h, &rd);
    uint32_t first = msg_get_u32(&rd), count = msg_get_u32(&rd);
    for (uint32_t i = 0; i < count && msg_reader_ok(&rd); i++) {
        const uint8_t *at = rd.p + rd.pos;
        uint32_t len;
        (void)msg_get_u8(&rd);
        (void)msg_get_str(&rd, &len);
        if (msg_reader_ok(&rd))
            add_ref(p, 0, first + i, at);
    }
}

static void file_done(struct registry *r, struct query *q, unsigned shard, struct msg_reader *rd)
{
    struct msg_done d;
    if (msg_done_decode(rd, &d) < 0)
        return;
    struct part *p = &q->parts[shard];
    p->status = d.status;
    p->matched_lines = d.matched_lines;
    p->matched_files = d.matched_files;
    p->limit_hits = d.limit_hits;
    if (d.error_len)
        p->error = xstrndup(d.error, d.error_len);
    part_end_locked(r, q, shard, false);
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
        }
        return;
    }
    pthread_mutex_lock(&r->lock);
    struct query *q = find_running(r, h.seq);
    if (q && !q->parts[h.shard].done) {
        struct part *p = &q->parts[h.shard];
        if (h.type == MT_BATCH && !q->is_file)
            file_batch(r, q, p, buf, n);
        else if (h.type == MT_LINES && q->is_file)
            file_lines(q, p, buf, n);
        else if (h.type == MT_DONE)
            file_done(r, q, h.shard, &rd);
    }
    bool ended = h.type == MT_DONE;
    pthread_mutex_unlock(&r->lock);
    if (ended)
        pump(r);
}

void query_view_free(struct query_view *v)
{
    query_spec_free(&v->spec);
    free(v->failed);
    if (v->results_owned)
        free(v->results);
    memset(v, 0, sizeof *v);
}

void registry_view(struct registry *r, struct query *q, struct query_view *v)
{
    memset(v, 0, sizeof *v);
    pthread_mutex_lock(&r->lock);
    memcpy(v->id, q->id, sizeof v->id);
    v->status = q->finished ? q->status : q->queued ? QS_QUEUED : QS_RUNNING;
    for (size_t i = 0; q->queued && i < r->npending; i++)
        if (r->pending[i] == q)
            v->queue_position = (unsigned)i + 1;
    query_spec_copy(&v->spec, &q->spec);
    v->shards_total = r->nshards;
    v->failed = xcalloc(r->nshards, sizeof *v->failed);
    for (unsigned i = 0; i < r->nshards; i++) {
        const struct part *p = &q->parts[i];
        v->matched_lines += p->done ? p->matched_lines : p->nres;
        v->matched_files += p->matched_files;
        v->limit_hits += p->limit_hits;
        v->shards_done += p->done && !p->failed;
        if (p->failed)
            v->failed[v->nfailed++] = i;
        if (p->error && !v->error[0])
            snprintf(v->error, sizeof v->error, "%s", p->error);
    }
    v->elapsed_ms = (q->finished ? q->finished_ms : now_ms()) - q->started_ms;
    if (q->finished) {
        v->results = q->merged;
        v->nresults = q->nmerged;
        v->memory_cut = q->memory_cut;
    } else {
        v->results = merge(r, q, q->spec.max, &v->nresults, &v->memory_cut);
        v->results_owned = true;
    }
    pthread_mutex_unlock(&r->lock);
}

bool registry_file_lines(struct registry *r, struct query *q, struct result_ref **lines, size_t *n,
                         uint8_t *status)
{
    pthread_mutex_lock(&r->lock);
    bool done = q->finished;
    const struct part *p = &q->parts[q->file_shard];
    *lines = p->res;
    *n = p->nres;
    *status = q->finished && q->status == QS_DONE ? p->status : MSG_ST_FAILED;
    pthread_mutex_unlock(&r->lock);
    return done;
}

void registry_shard_up(struct registry *r, unsigned shard, pid_t pid, const struct msg_hello *h)
{
    pthread_mutex_lock(&r->lock);
    r->shards[shard].up = true;
    r->shards[shard].pid = pid;
    if (h)
        r->shards[shard].hello = *h;
    pthread_mutex_unlock(&r->lock);
}

void registry_shard_down(struct registry *r, unsigned shard)
{
    pthread_mutex_lock(&r->lock);
    r->shards[shard].up = false;
    /* part_end_locked() may finish a query and remove it from the list. */
    for (size_t i = r->nrunning; i-- > 0;)
        if (i < r->nrunning)
            part_end_locked(r, r->running[i], shard, true);
    pthread_mutex_unlock(&r->lock);
    pump(r);
}

void registry_shards(struct registry *r, struct shard_state *out)
{
    pthread_mutex_lock(&r->lock);
    memcpy(out, r->shards, r->nshards * sizeof *out);
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
        unqueue_locked(r, q);
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

bool registry_queued(struct registry *r, struct query *q)
{
    pthread_mutex_lock(&r->lock);
    bool queued = q->queued;
    pthread_mutex_unlock(&r->lock);
    return queued;
}
