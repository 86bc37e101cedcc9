/*
 * search.c - a query over one worker's corpus (see search.h).
 */
#include "search.h"

#include <stdlib.h>
#include <string.h>

#include "glob.h"
#include "matcher.h"
#include "qplan.h"
#include "strsearch.h"
#include "tindex.h"
#include "utf8.h"
#include "util.h"

#define CLIP_LEAD        128 /* bytes kept before the first match of a clipped line */
#define LINE_CHECK_EVERY 64  /* lines between deadline checks in line mode */
#define MAX_LINE_RANGES  256

struct search {
    const struct corpus *c;
    uint32_t shard;
    uint64_t seq;
    const struct msg_query *q;
    const struct search_io *io;
    struct matcher *m;
    uint64_t deadline_ns;
    uint8_t status;
    bool io_failed;
    /* counts */
    uint64_t matched_lines, matched_files;
    uint32_t limit_hits, sent;
    long last_file;   /* index of the last file with a matched line */
    uint64_t segment; /* current segment size, adapted to the pattern's speed */
    /* A literal every match holds (qplan_anchor()): when set, candidates
     * are found with memmem()/memmem_ci() instead of the regex. */
    char *anchor;
    size_t anchor_len;
    bool anchor_ci;
    struct finder finder; /* for the anchor */
    /* Where counting without sending is: the file holding the last hit,
     * found by moving forward (hits come in arena order). */
    size_t cur_file;
    uint64_t cur_file_end;
    bool anchor_exact; /* the pattern is the anchor: no regex needed */
    /* the batch being filled */
    struct msg_writer batch, rec;
    uint32_t batch_count;
};

void search_clip(const char *line, size_t len, const struct mrange *ranges, int nranges, size_t *ws,
                 size_t *we)
{
    if (len <= SEARCH_TEXT_MAX) {
        *ws = 0;
        *we = len;
        return;
    }
    size_t anchor = nranges > 0 ? ranges[0].start : 0;
    size_t s = utf8_floor(line, len, anchor > CLIP_LEAD ? anchor - CLIP_LEAD : 0);
    size_t e = s + SEARCH_TEXT_MAX;
    if (e >= len) {
        /* Near the end: take the last SEARCH_TEXT_MAX bytes, starting on
         * the first whole character (flooring would overrun the limit). */
        e = len;
        s = len - SEARCH_TEXT_MAX;
        while (s < len && ((unsigned char)line[s] & 0xC0) == 0x80)
            s++;
    } else {
        e = utf8_floor(line, len, e);
    }
    *ws = s;
    *we = e;
}

static void batch_begin(struct search *s)
{
    msg_begin(&s->batch, MT_BATCH, s->shard, s->seq);
    msg_put_u32(&s->batch, 0); /* count, patched on flush */
    s->batch_count = 0;
}

static void batch_flush(struct search *s)
{
    if (s->batch_count == 0)
        return;
    msg_patch_u32(&s->batch, MSG_HEADER_SIZE, s->batch_count);
    msg_finish(&s->batch);
    if (s->io->send(s->io->ctx, s->batch.data, s->batch.len) < 0)
        s->io_failed = true;
    batch_begin(s);
}

/* A context line: its first SEARCH_TEXT_MAX bytes. */
static void put_context_line(struct msg_writer *w, const char *t, size_t n)
{
    if (n > SEARCH_TEXT_MAX)
        n = utf8_floor(t, n, SEARCH_TEXT_MAX);
    msg_put_str(w, t, n);
}

static void put_context(struct search *s, const struct corpus_file *f, uint32_t from, uint32_t to)
{
    msg_put_u8(&s->rec, (uint8_t)(to - from));
    for (uint32_t i = from; i < to; i++) {
        const char *t;
        size_t n;
        corpus_line(s->c, f, i, &t, &n);
        put_context_line(&s->rec, t, n);
    }
}

static void emit(struct search *s, const struct corpus_file *f, uint32_t ln, const char *text,
                 size_t len, const struct mrange *r, int nr)
{
    size_t ws, we;
    search_clip(text, len, r, nr, &ws, &we);
    struct msg_writer *w = &s->rec;
    w->len = 0;
    msg_put_u32(w, f->id);
    msg_put_u32(w, ln + 1);
    msg_put_u32(w, (uint32_t)ws);
    msg_put_u8(w, (ws > 0 || we < len) ? MSG_RF_CLIPPED : 0);
    msg_put_str(w, text + ws, we - ws);
    size_t count_at = w->len;
    uint16_t kept = 0;
    msg_put_u16(w, 0);
    for (int i = 0; i < nr; i++) {
        if (r[i].end <= ws || r[i].start >= we)
            continue;
        uint32_t a = r[i].start > ws ? r[i].start : (uint32_t)ws;
        uint32_t b = r[i].end < we ? r[i].end : (uint32_t)we;
        msg_put_u32(w, a - (uint32_t)ws);
        msg_put_u32(w, b - (uint32_t)ws);
        kept++;
    }
    w->data[count_at] = (uint8_t)kept;
    w->data[count_at + 1] = (uint8_t)(kept >> 8);
    uint32_t ctx = s->q->context;
    put_context(s, f, ln > ctx ? ln - ctx : 0, ln);
    put_context(s, f, ln + 1, ln + 1 + ctx < f->nlines ? ln + 1 + ctx : f->nlines);

    if (s->batch.len + w->len > MSG_MAX)
        batch_flush(s);
    msg_put_raw(&s->batch, w->data, w->len);
    s->batch_count++;
    s->sent++;
}

/* Count a matching line, and send it while fewer than max were sent. */
static void account(struct search *s, size_t fi, uint32_t ln, const char *text, size_t len,
                    const struct mrange *r, int nr)
{
    s->matched_lines++;
    if ((long)fi != s->last_file) {
        s->matched_files++;
        s->last_file = (long)fi;
    }
    if (s->sent < s->q->max)
        emit(s, &s->c->files[fi], ln, text, len, r, nr);
}

/* Every occurrence of the anchor in a line, as PCRE2 would report the
 * matches of a literal: leftmost, not overlapping. */
static int anchor_ranges(const struct search *s, const char *text, size_t len, struct mrange *r)
{
    int k = 0;
    size_t pos = 0;
    while (k < MAX_LINE_RANGES && pos + s->anchor_len <= len) {
        const char *hit = finder_find(&s->finder, text + pos, len - pos);
        if (!hit)
            break;
        size_t at = (size_t)(hit - text);
        r[k++] = (struct mrange){(uint32_t)at, (uint32_t)(at + s->anchor_len)};
        pos = at + s->anchor_len;
    }
    return k;
}

/* Confirm line ln of file f and account for it.  anchored: the line is
 * known to hold the anchor. */
static void check_line(struct search *s, size_t fi, uint32_t ln, bool anchored)
{
    const struct corpus_file *f = &s->c->files[fi];
    struct mrange r[MAX_LINE_RANGES];
    const char *text;
    size_t len;
    bool matched;
    int nr = 0;
    bool want_ranges = s->sent < s->q->max;
    corpus_line(s->c, f, ln, &text, &len);
    if (anchored && s->anchor_exact) {
        if (want_ranges)
            nr = anchor_ranges(s, text, len, r);
        account(s, fi, ln, text, len, r, nr);
        return;
    }
    if (want_ranges) {
        nr = matcher_line(s->m, text, len, r, MAX_LINE_RANGES, &matched);
    } else {
        nr = matcher_test(s->m, text, len); /* counting only */
        matched = nr == 1;
    }
    if (nr == MATCHER_LIMIT) {
        s->limit_hits++;
        return;
    }
    if (matched)
        account(s, fi, ln, text, len, r, want_ranges ? nr : 0);
}

/* Count the line holding arena offset abs as a match, without sending
 * it: no binary search, the file is found by moving a cursor forward.
 * Returns where the next line starts. */
static uint64_t count_fast(struct search *s, uint64_t abs)
{
    const struct corpus *c = s->c;
    if (abs < s->c->files[s->cur_file].off) { /* a new run behind us: start over */
        s->cur_file = corpus_file_at(c, abs);
        s->cur_file_end = c->files[s->cur_file].off + c->files[s->cur_file].len;
    }
    while (abs >= s->cur_file_end) {
        s->cur_file++;
        s->cur_file_end = c->files[s->cur_file].off + c->files[s->cur_file].len;
    }
    s->matched_lines++;
    if ((long)s->cur_file != s->last_file) {
        s->matched_files++;
        s->last_file = (long)s->cur_file;
    }
    const char *nl = memchr(c->buf + abs, '\n', (size_t)(s->cur_file_end - abs));
    return (uint64_t)(nl - c->buf) + 1;
}

static bool past_deadline(struct search *s)
{
    if (now_ns() < s->deadline_ns)
        return false;
    s->status = MSG_ST_TIMED_OUT;
    return true;
}

/* Every line of [from, to) on its own. */
static void scan_lines(struct search *s, uint64_t from, uint64_t to)
{
    const struct corpus *c = s->c;
    uint64_t pos = from;
    unsigned n = 0;
    while (pos < to) {
        size_t fi = corpus_file_at(c, pos);
        const struct corpus_file *f = &c->files[fi];
        uint32_t ln = corpus_line_at(c, f, pos);
        check_line(s, fi, ln, false);
        pos = corpus_line_start(c, f, ln + 1);
        if (++n % LINE_CHECK_EVERY == 0 && past_deadline(s))
            return;
    }
}

/* Candidates over [from, to) as one subject, each confirmed on its line.
 * Once max results are sent only counts matter, and a match that lies
 * inside its line needs no second look (matcher_local()). */
static void scan_buffer(struct search *s, uint64_t from, uint64_t to)
{
    const struct corpus *c = s->c;
    const char *subject = c->buf + from;
    size_t n = (size_t)(to - from), start = 0, at, end;
    bool local = matcher_local(s->m);
    for (;;) {
        int rc = matcher_find(s->m, subject, n, start, &at, &end);
        if (rc == 0)
            return;
        if (rc == MATCHER_LIMIT) {
            scan_lines(s, from + start, to);
            return;
        }
        uint64_t abs = from + at;
        if (abs >= to)
            return;
        uint64_t next;
        if (local && s->sent >= s->q->max && !memchr(subject + at, '\n', end - at)) {
            next = count_fast(s, abs); /* the match lies inside its line */
        } else {
            size_t fi = corpus_file_at(c, abs);
            const struct corpus_file *f = &c->files[fi];
            uint32_t ln = corpus_line_at(c, f, abs);
            next = corpus_line_start(c, f, ln + 1); /* just past the '\n' */
            check_line(s, fi, ln, false);
        }
        start = (size_t)(next - from);
        if (start >= n)
            return;
    }
}

/* Candidates by the anchor literal over [from, to), each confirmed on its
 * line by the regex.  Sound for every pattern, line-mode ones included:
 * a matching line holds the anchor. */
static void scan_anchor(struct search *s, uint64_t from, uint64_t to)
{
    const struct corpus *c = s->c;
    uint64_t pos = from;
    while (pos < to) {
        const char *hay = c->buf + pos;
        size_t n = (size_t)(to - pos);
        const char *hit = finder_find(&s->finder, hay, n);
        if (!hit)
            return;
        uint64_t abs = (uint64_t)(hit - c->buf);
        if (s->anchor_exact && s->sent >= s->q->max) {
            pos = count_fast(s, abs); /* the anchor is the match */
            continue;
        }
        size_t fi = corpus_file_at(c, abs);
        const struct corpus_file *f = &c->files[fi];
        uint32_t ln = corpus_line_at(c, f, abs);
        check_line(s, fi, ln, true);
        pos = corpus_line_start(c, f, ln + 1);
    }
}

/* Scan the text [from, to) of consecutive selected files, segment by segment. */
static void scan_run(struct search *s, uint64_t from, uint64_t to)
{
    const char *buf = s->c->buf;
    while (from < to && s->status == MSG_ST_DONE && !s->io_failed) {
        uint64_t t0 = now_ns();
        uint64_t end = from + s->segment;
        if (end >= to) {
            end = to;
        } else {
            const char *nl = memchr(buf + end - 1, '\n', (size_t)(to - end + 1));
            end = nl ? (uint64_t)(nl - buf) + 1 : to;
        }
        if (s->anchor)
            scan_anchor(s, from, end);
        else if (matcher_line_mode(s->m))
            scan_lines(s, from, end);
        else
            scan_buffer(s, from, end);
        from = end;
        uint64_t took = now_ns() - t0;
        if (took < SEARCH_SEGMENT_FAST_NS && s->segment < SEARCH_SEGMENT)
            s->segment *= 2;
        else if (took > SEARCH_SEGMENT_SLOW_NS && s->segment > SEARCH_SEGMENT_MIN)
            s->segment /= 2;
        if (s->status != MSG_ST_DONE)
            break;
        if (s->io->should_stop(s->io->ctx))
            s->status = MSG_ST_CANCELLED;
        else
            past_deadline(s);
    }
}

static struct glob_list *filter(const char *spec, uint32_t len)
{
    if (len == 0)
        return NULL;
    char *z = xstrndup(spec, len);
    struct glob_list *gl = glob_list_parse(z, NULL, 0);
    free(z);
    return gl;
}

/* Which blocks a query scans: the trigram index's candidates, in files the
 * path filters select.  Blocks are asked about in increasing order. */
struct selector {
    struct glob_list *inc, *exc;
    uint32_t *cand; /* candidate blocks; NULL: no restriction */
    size_t ncand, k;
    long file; /* the file whose path was judged last, and how */
    bool file_ok;
};

static void selector_init(struct selector *sel, const struct search *s)
{
    const struct msg_query *q = s->q;
    sel->inc = filter(q->path, q->path_len);
    sel->exc = filter(q->exclude, q->exclude_len);
    sel->cand = NULL;
    sel->ncand = sel->k = 0;
    sel->file = -1;
    if (tindex_ready(s->c->index)) {
        struct qnode *plan = qplan_build(q->pattern, q->pattern_len, q->flags & MSG_QF_LITERAL,
                                         q->flags & MSG_QF_CASELESS);
        sel->cand = tindex_candidates(s->c->index, plan, &sel->ncand);
        qplan_free(plan);
    }
}

static void selector_free(struct selector *sel)
{
    glob_list_free(sel->inc);
    glob_list_free(sel->exc);
    free(sel->cand);
}

/* True when no block at or after the current one can be selected. */
static bool selector_exhausted(const struct selector *sel, const struct corpus *c)
{
    return sel->cand && sel->k >= sel->ncand && c->wide_fold == 0;
}

static bool selector_take(struct selector *sel, const struct corpus *c, size_t b)
{
    const struct corpus_file *f = &c->files[c->blocks[b].file];
    if (sel->cand && !f->wide_fold) {
        while (sel->k < sel->ncand && sel->cand[sel->k] < b)
            sel->k++;
        if (sel->k >= sel->ncand || sel->cand[sel->k] != b)
            return false;
    }
    if ((long)c->blocks[b].file != sel->file) {
        sel->file = c->blocks[b].file;
        sel->file_ok = (!sel->inc || glob_list_match(sel->inc, f->path)) &&
                       !(sel->exc && glob_list_match(sel->exc, f->path));
    }
    return sel->file_ok;
}

/* Scan the selected blocks, each run of consecutive ones as one piece. */
static void scan_selected(struct search *s)
{
    const struct corpus *c = s->c;
    struct selector sel;
    selector_init(&sel, s);
    size_t i = 0;
    while (i < c->nblocks && s->status == MSG_ST_DONE && !s->io_failed &&
           !selector_exhausted(&sel, c)) {
        const struct corpus_block *b = &c->blocks[i];
        if (!selector_take(&sel, c, i)) {
            i++;
            /* Straight to the next candidate, when no file is outside
             * the index's say. */
            if (sel.cand && c->wide_fold == 0 && sel.k < sel.ncand && sel.cand[sel.k] > i)
                i = sel.cand[sel.k];
            continue;
        }
        if (c->files[b->file].wide_fold) {
            /* Neither the index nor the anchor speaks for this file. */
            char *anchor = s->anchor;
            s->anchor = NULL;
            scan_run(s, b->off, b->off + b->len);
            s->anchor = anchor;
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < c->nblocks && !c->files[c->blocks[j].file].wide_fold &&
               selector_take(&sel, c, j))
            j++;
        scan_run(s, b->off, c->blocks[j - 1].off + c->blocks[j - 1].len);
        i = j;
    }
    selector_free(&sel);
}

static void send_done(struct search *s, uint64_t started, const char *error)
{
    struct msg_done d = {.status = s->status,
                         .matched_lines = s->matched_lines,
                         .matched_files = s->matched_files,
                         .elapsed_us = (now_ns() - started) / 1000,
                         .limit_hits = s->limit_hits,
                         .error = error,
                         .error_len = error ? (uint32_t)strlen(error) : 0};
    struct msg_writer w;
    msg_writer_init(&w);
    msg_done_encode(&w, s->shard, s->seq, &d);
    s->io->send(s->io->ctx, w.data, w.len);
    msg_writer_free(&w);
}

void search_run(const struct corpus *c, uint32_t shard, uint64_t seq, const struct msg_query *q,
                const struct search_io *io)
{
    uint64_t started = now_ns();
    struct search s = {.c = c,
                       .shard = shard,
                       .seq = seq,
                       .q = q,
                       .io = io,
                       .status = MSG_ST_DONE,
                       .last_file = -1,
                       .segment = SEARCH_SEGMENT_MIN};
    s.deadline_ns = started + (uint64_t)q->timeout_ms * 1000000u;
    char err[SG_ERRLEN];
    long off;
    s.m = matcher_new(q->pattern, q->pattern_len, q->flags & MSG_QF_LITERAL,
                      q->flags & MSG_QF_CASELESS, err, sizeof err, &off);
    if (!s.m) {
        s.status = MSG_ST_FAILED;
        send_done(&s, started, err);
        return;
    }
    s.anchor =
        qplan_anchor(q->pattern, q->pattern_len, q->flags & MSG_QF_LITERAL,
                     q->flags & MSG_QF_CASELESS, &s.anchor_len, &s.anchor_ci, &s.anchor_exact);
    if (s.anchor)
        finder_init(&s.finder, s.anchor, s.anchor_len, s.anchor_ci);
    s.cur_file_end = c->nfiles ? c->files[0].off + c->files[0].len : 0;
    msg_writer_init(&s.batch);
    msg_writer_init(&s.rec);
    batch_begin(&s);
    if (c->nblocks > 0)
        scan_selected(&s);
    batch_flush(&s);
    send_done(&s, started, s.limit_hits ? "some lines exceeded the regex match limit" : NULL);
    msg_writer_free(&s.batch);
    msg_writer_free(&s.rec);
    matcher_free(s.m);
    free(s.anchor);
}
