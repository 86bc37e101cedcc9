/*
 * aggregator.c - intake, filing, memory budgets and the merge of the
 * workers' answers (see aggregator.h for the design).
 */
#include "aggregator.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A message as it came from a shard; results point into it. */
struct batch {
    uint8_t *buf;
    size_t len;
};

/* One shard's part of a query. */
struct part {
    bool ended, failed;
    enum results_failure why; /* when failed */
    bool cut;                 /* a batch was not kept: the share was reached, or memory ran out */
    size_t bytes;             /* of the batches kept for it */
    uint8_t status;
    uint64_t matched_lines, matched_files;
    uint64_t elapsed_us; /* the worker's, from its DONE */
    uint32_t limit_hits;
    char *error;
    struct result_ref *res; /* in arrival order, which is (path, line) order */
    size_t nres, cap;
};

struct results {
    enum results_kind kind;
    const struct ftable *order;
    unsigned nshards, nended;
    uint32_t max;
    size_t share; /* bytes of batches one shard may keep */
    struct part *parts;
    struct batch *batches; /* in no particular order */
    size_t nbatches, bcap;
    size_t bytes;
    bool finished;
    struct result_ref *merged;
    size_t nmerged;
    bool merged_cut;
    struct facet_sum *facets; /* from the first FACETS message on */
    bool facets_failed;       /* one could not be added: the facets are not shown */
    unsigned streams;         /* cursors reading the shards' lists */
    bool release_pending;     /* finished while streamed: release at the last detach */
};

struct results *results_new(enum results_kind kind, unsigned nshards, uint32_t max,
                            size_t query_bytes, const struct ftable *order)
{
    struct results *res = xcalloc(1, sizeof *res);
    res->kind = kind;
    res->order = order;
    res->nshards = nshards;
    res->max = max;
    /* Each shard gets an equal share, and room for one batch at least. */
    res->share = query_bytes / (nshards ? nshards : 1);
    if (res->share < MSG_MAX)
        res->share = MSG_MAX;
    res->parts = xcalloc(nshards, sizeof *res->parts);
    return res;
}

void results_free(struct results *res)
{
    if (!res)
        return;
    for (unsigned i = 0; i < res->nshards; i++) {
        free(res->parts[i].res);
        free(res->parts[i].error);
    }
    for (size_t i = 0; i < res->nbatches; i++)
        free(res->batches[i].buf);
    free(res->batches);
    free(res->parts);
    free(res->merged);
    facet_sum_free(res->facets);
    free(res);
}

/* Append a result; false when there is no memory for it. */
static bool add_ref(struct part *p, uint32_t file_id, uint32_t line, const uint8_t *rec)
{
    if (!soft_grow((void **)&p->res, &p->cap, p->nres + 1, sizeof *p->res))
        return false;
    p->res[p->nres++] = (struct result_ref){file_id, line, rec};
    return true;
}

/* Keep a copy of a message; NULL when there is no memory for it (the
 * caller cuts the part: results stop short, nothing else is lost). */
static uint8_t *keep_batch(struct results *res, const uint8_t *buf, size_t n)
{
    if (!soft_grow((void **)&res->batches, &res->bcap, res->nbatches + 1, sizeof *res->batches))
        return NULL;
    uint8_t *copy = malloc(n);
    if (!copy)
        return NULL;
    memcpy(copy, buf, n);
    res->batches[res->nbatches++] = (struct batch){copy, n};
    res->bytes += n;
    return copy;
}

static void cut_for_memory(struct part *p, unsigned shard)
{
    if (!p->cut)
        log_info("out of memory filing results from shard %u: the results stop short", shard);
    p->cut = true;
}

static void file_batch(struct results *res, unsigned shard, const uint8_t *buf, size_t n)
{
    struct part *p = &res->parts[shard];
    if (p->nres >= res->max)
        return; /* nothing more of this shard can be shown */
    if (p->cut || p->bytes + n > res->share) {
        p->cut = true; /* and its later batches must not fill the gap */
        return;
    }
    const uint8_t *copy = keep_batch(res, buf, n);
    if (!copy) {
        cut_for_memory(p, shard);
        return;
    }
    p->bytes += n;
    struct msg_header h;
    struct msg_reader rd;
    uint32_t count;
    if (msg_parse(copy, n, &h, &rd) < 0 || msg_batch_decode(&rd, &count) < 0)
        return;
    for (uint32_t i = 0; i < count && p->nres < res->max; i++) {
        struct msg_record rec;
        const uint8_t *at;
        if (msg_batch_next(&rd, &rec, &at) < 0)
            break;
        if (!add_ref(p, rec.file_id, rec.line, at)) {
            cut_for_memory(p, shard);
            break;
        }
    }
}

static void file_lines(struct results *res, unsigned shard, const uint8_t *buf, size_t n)
{
    struct part *p = &res->parts[shard];
    const uint8_t *copy = p->cut ? NULL : keep_batch(res, buf, n);
    if (!copy) {
        cut_for_memory(p, shard);
        return;
    }
    struct msg_header h;
    struct msg_reader rd;
    uint32_t first, count;
    if (msg_parse(copy, n, &h, &rd) < 0 || msg_lines_decode(&rd, &first, &count) < 0)
        return;
    for (uint32_t i = 0; i < count; i++) {
        uint8_t flags;
        const char *text;
        uint32_t len;
        const uint8_t *at;
        if (msg_lines_next(&rd, &flags, &text, &len, &at) < 0)
            break;
        if (!add_ref(p, 0, first + i, at)) {
            cut_for_memory(p, shard);
            break;
        }
    }
}

static void file_facets(struct results *res, struct msg_reader *rd)
{
    if (res->facets_failed)
        return;
    if (!res->facets)
        res->facets = facet_sum_new();
    size_t before = facet_sum_bytes(res->facets);
    if (facet_sum_add(res->facets, rd) < 0) {
        log_info("facets from a shard were malformed or did not fit in memory: not shown");
        res->facets_failed = true;
    }
    res->bytes += facet_sum_bytes(res->facets) - before;
}

static void end_part(struct results *res, unsigned shard, bool failed)
{
    struct part *p = &res->parts[shard];
    if (p->ended)
        return;
    p->ended = true;
    p->failed = failed;
    res->nended++;
}

static bool file_done(struct results *res, unsigned shard, struct msg_reader *rd)
{
    struct msg_done d;
    if (msg_done_decode(rd, &d) < 0)
        return false;
    struct part *p = &res->parts[shard];
    p->status = d.status;
    p->matched_lines = d.matched_lines;
    p->matched_files = d.matched_files;
    p->elapsed_us = d.elapsed_us;
    p->limit_hits = d.limit_hits;
    if (d.error_len)
        p->error = strndup(d.error, d.error_len); /* NULL without memory: no message */
    end_part(res, shard, false);
    return true;
}

bool results_file(struct results *res, const struct msg_header *h, const uint8_t *buf, size_t n)
{
    if (h->shard >= res->nshards || res->parts[h->shard].ended)
        return false;
    struct msg_reader rd;
    struct msg_header again;
    if (msg_parse(buf, n, &again, &rd) < 0)
        return false;
    if (h->type == MT_BATCH && res->kind == RESULTS_SEARCH)
        file_batch(res, h->shard, buf, n);
    else if (h->type == MT_LINES && res->kind == RESULTS_FILE)
        file_lines(res, h->shard, buf, n);
    else if (h->type == MT_FACETS && res->kind == RESULTS_SEARCH)
        file_facets(res, &rd);
    else if (h->type == MT_DONE)
        return file_done(res, h->shard, &rd);
    return false;
}

void results_shard_failed(struct results *res, unsigned shard, enum results_failure why)
{
    if (!res->parts[shard].ended)
        res->parts[shard].why = why;
    end_part(res, shard, true);
}

void results_shard_skip(struct results *res, unsigned shard)
{
    end_part(res, shard, false);
}

bool results_shard_ended(const struct results *res, unsigned shard)
{
    return res->parts[shard].ended;
}

unsigned results_ended(const struct results *res)
{
    return res->nended;
}

void results_counts(const struct results *res, struct results_counts *c)
{
    unsigned *failed = c->failed, *unresponsive = c->unresponsive;
    memset(c, 0, sizeof *c);
    c->failed = failed;
    c->unresponsive = unresponsive;
    for (unsigned i = 0; i < res->nshards; i++) {
        const struct part *p = &res->parts[i];
        c->matched_lines += p->ended ? p->matched_lines : p->nres;
        c->matched_files += p->matched_files;
        c->limit_hits += p->limit_hits;
        c->shards_done += p->ended && !p->failed;
        c->nfailed += p->failed && !c->failed;
        c->timed_out |= p->status == MSG_ST_TIMED_OUT;
        c->error |= p->status == MSG_ST_FAILED;
        if (p->failed && c->failed)
            c->failed[c->nfailed++] = i;
        if (p->failed && p->why == RESULTS_UNRESPONSIVE && c->unresponsive)
            c->unresponsive[c->nunresponsive++] = i;
        if (p->error && !c->message[0])
            snprintf(c->message, sizeof c->message, "%s", p->error);
    }
}

static int cmp_ref(const struct results *res, const struct result_ref *a,
                   const struct result_ref *b)
{
    if (a->file_id != b->file_id) {
        if (res->order)
            return ftable_cmp(res->order, a->file_id, b->file_id);
        return a->file_id < b->file_id ? -1 : 1;
    }
    return a->line < b->line ? -1 : a->line > b->line;
}

/* k-way merge of the shards' ordered lists, cut at max.  It stops when a
 * cut shard's list runs out: that shard's next match, which was not kept,
 * may come before any other shard's; *cut says so.  NULL (and *cut) when
 * there is no memory for the list. */
static struct result_ref *merge(const struct results *res, size_t *n, bool *cut)
{
    size_t total = 0;
    for (unsigned i = 0; i < res->nshards; i++)
        total += res->parts[i].nres;
    if (total > res->max)
        total = res->max;
    struct result_ref *out = malloc((total ? total : 1) * sizeof *out);
    size_t *pos = calloc(res->nshards ? res->nshards : 1, sizeof *pos);
    *n = 0;
    *cut = false;
    if (!out || !pos) {
        free(out);
        free(pos);
        log_info("out of memory merging results: the answer has none");
        *cut = true;
        return NULL;
    }
    size_t k = 0;
    for (; k < total; k++) {
        int best = -1;
        for (unsigned i = 0; i < res->nshards; i++) {
            const struct part *p = &res->parts[i];
            if (pos[i] == p->nres && p->cut)
                *cut = true;
            else if (pos[i] < p->nres &&
                     (best < 0 ||
                      cmp_ref(res, &p->res[pos[i]], &res->parts[best].res[pos[best]]) < 0))
                best = (int)i;
        }
        if (*cut)
            break;
        out[k] = res->parts[best].res[pos[best]++];
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

/* The batch holding a record: the last one starting at or before it
 * (batches sorted by address). */
static size_t batch_of(const struct results *res, const uint8_t *rec)
{
    uintptr_t at = (uintptr_t)rec;
    size_t lo = 0, hi = res->nbatches;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if ((uintptr_t)res->batches[mid].buf <= at)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* After the merge: free the batches no result points into (the records
 * past the cut) and the shards' lists. */
static void release_unused(struct results *res)
{
    for (unsigned i = 0; i < res->nshards; i++) {
        free(res->parts[i].res);
        res->parts[i].res = NULL;
        res->parts[i].nres = res->parts[i].cap = 0;
    }
    res->bytes = res->nmerged * sizeof *res->merged + facet_sum_bytes(res->facets);
    if (!res->nbatches)
        return;
    qsort(res->batches, res->nbatches, sizeof *res->batches, cmp_batch);
    bool *used = calloc(res->nbatches, sizeof *used);
    if (!used) { /* keep them all: correct, only larger */
        for (size_t i = 0; i < res->nbatches; i++)
            res->bytes += res->batches[i].len;
        return;
    }
    for (size_t k = 0; k < res->nmerged; k++)
        used[batch_of(res, res->merged[k].rec)] = true;
    size_t kept = 0;
    for (size_t i = 0; i < res->nbatches; i++) {
        if (used[i]) {
            res->bytes += res->batches[i].len;
            res->batches[kept++] = res->batches[i];
        } else {
            free(res->batches[i].buf);
        }
    }
    res->nbatches = kept;
    free(used);
}

void results_finish(struct results *res)
{
    if (res->finished)
        return;
    res->finished = true;
    if (res->kind != RESULTS_SEARCH)
        return;
    res->merged = merge(res, &res->nmerged, &res->merged_cut);
    if (res->facets)
        facet_sum_merge(res->facets);
    if (res->streams)
        res->release_pending = true; /* a stream still reads the shards' lists */
    else
        release_unused(res);
}

/* ------------------------------------------------------------------ */
/* Streams                                                             */
/* ------------------------------------------------------------------ */

struct results_cursor {
    unsigned nshards;
    bool merged; /* attached after the lists were released: read the final list */
    size_t merged_pos;
    size_t *pos;    /* per shard: records given */
    bool *reported; /* per shard: its end given */
};

struct results_cursor *results_stream_attach(struct results *res)
{
    struct results_cursor *c = xcalloc(1, sizeof *c);
    c->nshards = res->nshards;
    c->pos = xcalloc(res->nshards ? res->nshards : 1, sizeof *c->pos);
    c->reported = xcalloc(res->nshards ? res->nshards : 1, sizeof *c->reported);
    c->merged = res->finished && !res->release_pending;
    if (!c->merged)
        res->streams++;
    return c;
}

void results_stream_detach(struct results *res, struct results_cursor *c)
{
    if (!c)
        return;
    if (!c->merged && --res->streams == 0 && res->release_pending) {
        res->release_pending = false;
        release_unused(res);
    }
    free(c->pos);
    free(c->reported);
    free(c);
}

static void shard_end(const struct results *res, unsigned i, struct results_shard_end *e)
{
    const struct part *p = &res->parts[i];
    *e = (struct results_shard_end){.shard = i,
                                    .status = p->status,
                                    .failed = p->failed,
                                    .why = p->why,
                                    .cut = p->cut,
                                    .matched_lines = p->matched_lines,
                                    .matched_files = p->matched_files,
                                    .elapsed_ms = (double)p->elapsed_us / 1000.0};
}

bool results_stream_next(const struct results *res, struct results_cursor *c,
                         const struct results_stream_events *ev)
{
    struct results_shard_end e;
    if (c->merged) {
        while (c->merged_pos < res->nmerged)
            if (!ev->record(ev->ctx, res->merged[c->merged_pos].rec))
                return false;
            else
                c->merged_pos++;
    }
    bool all = true;
    for (unsigned i = 0; i < res->nshards; i++) {
        const struct part *p = &res->parts[i];
        while (!c->merged && c->pos[i] < p->nres) {
            if (!ev->record(ev->ctx, p->res[c->pos[i]].rec))
                return false;
            c->pos[i]++;
        }
        if (p->ended && !c->reported[i]) {
            shard_end(res, i, &e);
            ev->shard(ev->ctx, &e);
            c->reported[i] = true;
        }
        all = all && c->reported[i];
    }
    return all;
}

bool results_stream_more(const struct results *res, const struct results_cursor *c)
{
    if (c->merged)
        return c->merged_pos < res->nmerged;
    for (unsigned i = 0; i < res->nshards; i++)
        if (c->pos[i] < res->parts[i].nres || (res->parts[i].ended && !c->reported[i]))
            return true;
    return false;
}

struct result_ref *results_list(struct results *res, size_t *n, bool *cut, bool *owned)
{
    if (res->finished) {
        *n = res->nmerged;
        *cut = res->merged_cut;
        *owned = false;
        return res->merged;
    }
    *owned = true;
    return merge(res, n, cut);
}

bool results_facets(struct results *res, struct facet_result *out)
{
    if (!res->facets || res->facets_failed) {
        memset(out, 0, sizeof *out);
        return false;
    }
    size_t before = facet_sum_bytes(res->facets);
    bool ok = facet_sum_result(res->facets, out);
    res->bytes -= before - facet_sum_bytes(res->facets);
    return ok;
}

size_t results_bytes(const struct results *res)
{
    return res->bytes;
}

void results_lines(const struct results *res, unsigned shard, const struct result_ref **lines,
                   size_t *n, uint8_t *status)
{
    const struct part *p = &res->parts[shard];
    *lines = p->res;
    *n = p->nres;
    *status = p->failed || p->cut ? MSG_ST_FAILED : p->status;
}

/* ------------------------------------------------------------------ */
/* Intake                                                              */
/* ------------------------------------------------------------------ */

struct aggregator {
    struct transport t;
    struct aggregator_sink sink;
    pthread_t thread;
    atomic_bool stop;
};

static void *run(void *arg)
{
    struct aggregator *a = arg;
    uint8_t *buf = xmalloc(MSG_MAX);
    double last_tick = now_ms();
    while (!atomic_load(&a->stop)) {
        ssize_t n = transport_recv(&a->t, buf, MSG_MAX, AGGREGATOR_TICK_MS);
        if (n > 0)
            a->sink.deliver(a->sink.ctx, buf, (size_t)n);
        if (now_ms() - last_tick >= AGGREGATOR_TICK_MS) {
            a->sink.tick(a->sink.ctx);
            last_tick = now_ms();
        }
    }
    free(buf);
    return NULL;
}

struct aggregator *aggregator_start(const struct transport *t, const struct aggregator_sink *sink)
{
    struct aggregator *a = xcalloc(1, sizeof *a);
    a->t = *t;
    a->sink = *sink;
    atomic_init(&a->stop, false);
    if (pthread_create(&a->thread, NULL, run, a) != 0)
        die("cannot start the aggregator thread");
    return a;
}

void aggregator_stop(struct aggregator *a)
{
    if (!a)
        return;
    atomic_store(&a->stop, true);
    pthread_join(a->thread, NULL);
    free(a);
}
