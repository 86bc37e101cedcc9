/*
 * search.c - a query over one worker's corpus (see search.h).
 */
#include "search.h"

#include <stdlib.h>
#include <string.h>

#include "facets.h"
#include "glob.h"
#include "matcher.h"
#include "pathtext.h"
#include "qplan.h"
#include "strsearch.h"
#include "tindex.h"
#include "utf8.h"
#include "util.h"

#define CLIP_LEAD       128 /* bytes kept before the first match of a clipped line */
#define MAX_LINE_RANGES 256

/* Which blocks of one corpus a query scans: the trigram index's
 * candidates, in files visible at the search's version that the path
 * filters select.  Base blocks are asked about in increasing order. */
struct selector {
    const struct corpus *c;
    enum store_part part;
    size_t first;     /* the number its part gives c's first file (store.h) */
    uint32_t *cand;   /* candidate blocks; NULL: no restriction */
    uint8_t *eighths; /* and for each, its eighths that may match (tindex.h) */
    size_t ncand, k;
    long file; /* the file whose path was judged last, and how */
    bool file_ok;
};

/* A visible delta file, in (tree, path) order, and where it falls among
 * the base's files. */
struct delta_file {
    size_t fi;      /* index in the delta */
    size_t base_at; /* the first base file that sorts after it */
};

struct search {
    const struct store *store;
    uint32_t version;       /* the store's version it sees (store.h) */
    const struct corpus *c; /* the corpus of the run being scanned */
    uint32_t shard;
    uint64_t seq;
    struct msg_query query; /* its strings are the copies below */
    char *pattern, *path, *exclude;
    uint8_t *trees, *langs;
    const struct msg_query *q;
    struct search_io io_copy;
    const struct search_io *io;
    struct matcher *m;
    char error[SG_ERRLEN]; /* set when the pattern did not compile */
    uint64_t started_ns;
    uint64_t step_end_ns; /* when the step running must give way */
    uint64_t fast_hits;   /* lines counted without the regex, for step_over() */
    bool ended, cancelled;
    /* Where the scan is: the run of selected blocks [pos, run_to) being
     * scanned (in s->c), the next base block to select from, the next
     * delta file, and whether this run is a file the anchor cannot speak
     * for (wide_fold). */
    struct glob_list *inc, *exc;
    struct qnode *plan; /* for each base segment's selector, as it comes */
    size_t seg;         /* the base segment being walked */
    struct selector base_sel;
    struct selector *chunk_sel; /* one for each of the delta's chunks */
    size_t nchunk_sel;
    struct delta_file *dfiles;
    size_t ndfiles, dk, delta_block;
    size_t block; /* in the segment */
    /* A base block of which only some eighths are scanned: the ones left
     * after the run being scanned (0: none). */
    size_t part_block;
    uint8_t part_left;
    uint64_t pos, run_to;
    bool run_no_anchor, exhausted;
    uint64_t deadline_ns;
    uint8_t status;
    bool io_failed;
    /* counts */
    uint64_t matched_lines, matched_files;
    uint32_t limit_hits, sent;
    int64_t last_id; /* id of the last file with a matched line */
    /* That file, and its matching lines so far: its end (the next file's
     * first match, or the search's end) sends its record (MSG_QF_FILES)
     * and adds it to the facets. */
    const struct corpus_file *hit_file;
    uint64_t hit_lines;
    struct facet_tally *tally; /* MSG_QF_FACETS */
    /* A path search (MSG_QF_PATHS): the paths as one text, the next
     * entry to scan, and the next of its entries matched alone. */
    struct pathtext *pt;
    size_t path_next, alone_next;
    uint64_t segment; /* current segment size, adapted to the pattern's speed */
    /* A literal every match holds (qplan_anchor()): when set, candidates
     * are found with memmem()/memmem_ci() instead of the regex. */
    char *anchor;
    size_t anchor_len;
    bool anchor_ci;
    struct finder finder; /* for the anchor */
    /* Without an anchor, two neighbouring bytes every match holds
     * (qplan_pair()), when the pattern names them. */
    struct pair_finder pair;
    bool have_pair;
    /* Where the scan is: the file holding the last hit, found by moving
     * forward (hits come in arena order), and the line of it found last
     * (line_hint of file line_file; SIZE_MAX: none this run). */
    size_t cur_file;
    uint64_t cur_file_end;
    size_t line_file;
    uint32_t line_hint;
    bool anchor_exact; /* the pattern is the anchor: no regex needed */
    /* the batch being filled, and the record being encoded */
    struct msg_writer batch, rec;
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

static void batch_flush(struct search *s)
{
    if (msg_batch_count(&s->batch) == 0)
        return;
    msg_batch_finish(&s->batch);
    if (s->io->send(s->io->ctx, s->batch.data, s->batch.len) < 0)
        s->io_failed = true;
    msg_batch_begin(&s->batch, s->shard, s->seq);
}

/* Add one record to the batch (sent when it is full). */
static void send_record(struct search *s, const struct msg_record_out *out)
{
    s->rec.len = 0;
    msg_record_encode(&s->rec, out);
    if (!msg_batch_fits(&s->batch, s->rec.len))
        batch_flush(s);
    msg_batch_add(&s->batch, s->rec.data, s->rec.len);
    s->sent++;
}

/* Lines [from, to) of f as context: their first SEARCH_TEXT_MAX bytes. */
static uint8_t context_lines(const struct search *s, const struct corpus_file *f, uint32_t from,
                             uint32_t to, const char **text, uint32_t *len)
{
    uint8_t n = 0;
    for (uint32_t i = from; i < to; i++, n++) {
        const char *t;
        size_t l;
        corpus_line(s->c, f, i, &t, &l);
        if (l > SEARCH_TEXT_MAX)
            l = utf8_floor(t, l, SEARCH_TEXT_MAX);
        text[n] = t;
        len[n] = (uint32_t)l;
    }
    return n;
}

static void emit(struct search *s, const struct corpus_file *f, uint32_t ln, const char *text,
                 size_t len, const struct mrange *r, int nr)
{
    size_t ws, we;
    search_clip(text, len, r, nr, &ws, &we);
    uint32_t ranges[2 * MAX_LINE_RANGES];
    uint16_t kept = 0;
    for (int i = 0; i < nr; i++) {
        if (r[i].end <= ws || r[i].start >= we)
            continue;
        uint32_t a = r[i].start > ws ? r[i].start : (uint32_t)ws;
        uint32_t b = r[i].end < we ? r[i].end : (uint32_t)we;
        ranges[2 * kept] = a - (uint32_t)ws;
        ranges[2 * kept + 1] = b - (uint32_t)ws;
        kept++;
    }
    const char *before[MSG_MAX_CONTEXT], *after[MSG_MAX_CONTEXT];
    uint32_t before_len[MSG_MAX_CONTEXT], after_len[MSG_MAX_CONTEXT];
    uint32_t ctx = s->q->context;
    uint32_t last = ln + 1 + ctx < f->nlines ? ln + 1 + ctx : f->nlines;
    struct msg_record_out out = {
        .file_id = f->id,
        .line = ln + 1,
        .column = (uint32_t)ws,
        .flags = (ws > 0 || we < len) ? MSG_RF_CLIPPED : 0,
        .text = text + ws,
        .text_len = (uint32_t)(we - ws),
        .ranges = ranges,
        .nranges = kept,
        .before = before,
        .before_len = before_len,
        .nbefore = context_lines(s, f, ln > ctx ? ln - ctx : 0, ln, before, before_len),
        .after = after,
        .after_len = after_len,
        .nafter = context_lines(s, f, ln + 1, last, after, after_len)};
    send_record(s, &out);
}

/* A file record: a file and its count (MSG_RF_FILE, no text), or a file
 * whose path matched (MSG_RF_PATH: the text is the path as matched, and
 * the ranges are in it). */
static void emit_file(struct search *s, const struct corpus_file *f, uint8_t flags, uint64_t count,
                      const char *text, size_t len, const struct mrange *r, int nr)
{
    uint32_t ranges[2 * MAX_LINE_RANGES];
    for (int i = 0; i < nr; i++) {
        ranges[2 * i] = r[i].start;
        ranges[2 * i + 1] = r[i].end;
    }
    struct msg_record_out out = {.file_id = f->id,
                                 .line = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count,
                                 .flags = flags,
                                 .text = text,
                                 .text_len = (uint32_t)len,
                                 .ranges = ranges,
                                 .nranges = (uint16_t)nr};
    send_record(s, &out);
}

/* The matching file being counted is complete. */
static void end_file(struct search *s)
{
    const struct corpus_file *f = s->hit_file;
    if (!f)
        return;
    if (s->tally)
        facet_tally_file(s->tally, f->tree, f->path, strlen(f->path), f->lang, s->hit_lines);
    if ((s->q->flags & MSG_QF_FILES) && s->sent < s->q->max)
        emit_file(s, f, MSG_RF_FILE, s->hit_lines, "", 0, NULL, 0);
    s->hit_file = NULL;
}

/* Count a matching line of file f (lines come file by file, in order). */
static void count_line(struct search *s, const struct corpus_file *f)
{
    s->matched_lines++;
    if ((int64_t)f->id != s->last_id) {
        end_file(s);
        s->matched_files++;
        s->last_id = f->id;
        s->hit_file = f;
        s->hit_lines = 0;
    }
    s->hit_lines++;
}

/* Whether matching lines are still sent (not after max of them, and never
 * when files are asked for). */
static bool lines_wanted(const struct search *s)
{
    return s->sent < s->q->max && !(s->q->flags & MSG_QF_FILES);
}

/* Count a matching line, and send it while fewer than max were sent. */
static void account(struct search *s, size_t fi, uint32_t ln, const char *text, size_t len,
                    const struct mrange *r, int nr)
{
    count_line(s, &s->c->files[fi]);
    if (lines_wanted(s))
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
    bool want_ranges = lines_wanted(s);
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

/* The file holding arena offset abs of the run's corpus, found by moving
 * a cursor forward: no binary search. */
static const struct corpus_file *file_at_cursor(struct search *s, uint64_t abs)
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
    return &c->files[s->cur_file];
}

/* Where the line holding abs ends: its '\n' (every file's text ends
 * with one).  Valid right after file_at_cursor(s, abs). */
static uint64_t line_end_at(const struct search *s, uint64_t abs)
{
    const char *nl = memchr(s->c->buf + abs, '\n', (size_t)(s->cur_file_end - abs));
    return (uint64_t)(nl - s->c->buf);
}

/* Count the line holding arena offset abs as a match, without sending
 * it.  Returns where the next line starts. */
static uint64_t count_fast(struct search *s, uint64_t abs)
{
    count_line(s, file_at_cursor(s, abs));
    return line_end_at(s, abs) + 1;
}

/* check_line() for the line holding abs once only counts matter (no line
 * is sent): its bounds from the text around abs, which the scanner has
 * just read, instead of two binary searches over the file and line
 * tables, whose reads miss the cache.  Returns where the next line
 * starts. */
static uint64_t test_line_at(struct search *s, uint64_t abs)
{
    const struct corpus_file *f = file_at_cursor(s, abs);
    const char *text = s->c->buf + f->off, *at = s->c->buf + abs;
    const char *nl = memrchr(text, '\n', (size_t)(at - text));
    const char *start = nl ? nl + 1 : text;
    uint64_t end = line_end_at(s, abs);
    int rc = matcher_test(s->m, start, (size_t)(s->c->buf + end - start));
    if (rc == MATCHER_LIMIT)
        s->limit_hits++;
    else if (rc == 1)
        count_line(s, f);
    return end + 1;
}

static bool past_deadline(struct search *s)
{
    if (now_ns() < s->deadline_ns)
        return false;
    s->status = MSG_ST_TIMED_OUT;
    return true;
}

/* The step has had its time (search.h): the scanners stop at the next
 * line boundary, and the scheduler runs something else.  Checked after
 * each line that went through the regex (each costs far more than the
 * clock), and every FAST_CHECK_EVERY lines counted without it. */
#define FAST_CHECK_EVERY 256
static bool step_over(const struct search *s)
{
    return now_ns() > s->step_end_ns;
}

static bool fast_step_over(struct search *s)
{
    return ++s->fast_hits % FAST_CHECK_EVERY == 0 && step_over(s);
}

/* The line of the cursor's file holding abs: found by galloping forward
 * from the line found last in the same file (hits come in order, mostly
 * a few lines apart), by binary search otherwise. */
static uint32_t line_at_cursor(struct search *s, uint64_t abs)
{
    const struct corpus_file *f = &s->c->files[s->cur_file];
    uint32_t from = 0;
    if (s->line_file == s->cur_file && s->line_hint < f->nlines &&
        corpus_line_start(s->c, f, s->line_hint) <= abs)
        from = s->line_hint;
    s->line_file = s->cur_file;
    s->line_hint = corpus_line_after(s->c, f, abs, from);
    return s->line_hint;
}

/* Confirm the line holding arena offset abs (check_line(); test_line_at()
 * once only counts matter and the regex decides); returns where the next
 * line starts. */
static uint64_t check_line_at(struct search *s, uint64_t abs, bool anchored)
{
    if (!lines_wanted(s) && !(anchored && s->anchor_exact))
        return test_line_at(s, abs);
    const struct corpus_file *f = file_at_cursor(s, abs);
    uint32_t ln = line_at_cursor(s, abs);
    check_line(s, s->cur_file, ln, anchored);
    return corpus_line_start(s->c, f, ln + 1); /* just past the '\n' */
}

/* Every line of [from, to) on its own.  Returns where it stopped: to, or
 * the start of a line when the step's time ran out. */
static uint64_t scan_lines(struct search *s, uint64_t from, uint64_t to)
{
    uint64_t pos = from;
    while (pos < to) {
        pos = check_line_at(s, pos, false);
        if (step_over(s))
            break;
    }
    return pos < to ? pos : to;
}

/* Candidates over [from, to) as one subject, each confirmed on its line.
 * Once max results are sent only counts matter, and a match that lies
 * inside its line needs no second look (matcher_local()).  Returns where
 * it stopped, as scan_lines() does. */
static uint64_t scan_buffer(struct search *s, uint64_t from, uint64_t to)
{
    const struct corpus *c = s->c;
    const char *subject = c->buf + from;
    size_t n = (size_t)(to - from), start = 0, at, end;
    bool local = matcher_local(s->m);
    for (;;) {
        int rc = matcher_find(s->m, subject, n, start, &at, &end);
        if (rc == 0)
            return to;
        if (rc == MATCHER_LIMIT)
            return scan_lines(s, from + start, to);
        uint64_t abs = from + at;
        if (abs >= to)
            return to;
        uint64_t next;
        bool yield;
        if (local && !lines_wanted(s) && !memchr(subject + at, '\n', end - at)) {
            next = count_fast(s, abs); /* the match lies inside its line */
            yield = fast_step_over(s);
        } else {
            next = check_line_at(s, abs, false);
            yield = step_over(s);
        }
        start = (size_t)(next - from);
        if (start >= n)
            return to;
        if (yield)
            return next;
    }
}

/* Candidates by the anchor literal over [from, to), each confirmed on its
 * line by the regex.  Sound for every pattern, line-mode ones included:
 * a matching line holds the anchor.  Returns where it stopped. */
static uint64_t scan_anchor(struct search *s, uint64_t from, uint64_t to)
{
    const struct corpus *c = s->c;
    uint64_t pos = from;
    while (pos < to) {
        const char *hay = c->buf + pos;
        size_t n = (size_t)(to - pos);
        const char *hit = finder_find(&s->finder, hay, n);
        if (!hit)
            return to;
        uint64_t abs = (uint64_t)(hit - c->buf);
        if (s->anchor_exact && !lines_wanted(s)) {
            pos = count_fast(s, abs); /* the anchor is the match */
            if (fast_step_over(s))
                break;
            continue;
        }
        pos = check_line_at(s, abs, true);
        if (step_over(s))
            break;
    }
    return pos < to ? pos : to;
}

/* Candidates by the pair of neighbouring bytes (qplan_pair()) over
 * [from, to), each confirmed on its line by the regex, as scan_anchor()
 * does with the anchor. */
static uint64_t scan_pair(struct search *s, uint64_t from, uint64_t to)
{
    const char *buf = s->c->buf;
    uint64_t pos = from;
    while (pos < to) {
        const char *hit = pair_find(&s->pair, buf + pos, (size_t)(to - pos));
        if (!hit)
            return to;
        pos = check_line_at(s, (uint64_t)(hit - buf), false);
        if (step_over(s))
            break;
    }
    return pos < to ? pos : to;
}

/* One piece [from, to) of a run, with the scanner that fits; returns
 * where it stopped (to, unless the step's time ran out). */
static uint64_t scan_piece(struct search *s, uint64_t from, uint64_t to)
{
    if (s->anchor && !s->run_no_anchor)
        return scan_anchor(s, from, to);
    if (s->have_pair && !s->run_no_anchor)
        return scan_pair(s, from, to);
    if (matcher_line_mode(s->m))
        return scan_lines(s, from, to);
    return scan_buffer(s, from, to);
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

/* The selector of base segment k, or of the delta's chunk k. */
static void selector_init(struct selector *sel, const struct search *s, enum store_part part,
                          size_t k)
{
    free(sel->cand);
    free(sel->eighths);
    memset(sel, 0, sizeof *sel);
    sel->c = part == STORE_DELTA ? s->store->chunk[k] : s->store->seg[k];
    sel->part = part;
    sel->first = part == STORE_DELTA ? s->store->chunk_first[k] : s->store->seg_first[k];
    sel->file = -1;
    if (s->plan && tindex_ready(sel->c->index))
        sel->cand = tindex_candidates_eighths(sel->c->index, s->plan, &sel->ncand, &sel->eighths);
}

/* True when no base block at or after the current one can be selected. */
static bool selector_exhausted(const struct selector *sel)
{
    return sel->cand && sel->k >= sel->ncand && sel->c->wide_fold == 0;
}

/* Which eighths of block b may match (0: it is not a candidate): moving
 * forward (the base's blocks are asked about in order), or by binary
 * search (the delta's are not). */
static uint8_t candidate_eighths(struct selector *sel, size_t b)
{
    size_t at;
    if (sel->part == STORE_DELTA) {
        at = lower_bound_u32(sel->cand, sel->ncand, (uint32_t)b);
    } else {
        while (sel->k < sel->ncand && sel->cand[sel->k] < b)
            sel->k++;
        at = sel->k;
    }
    return at < sel->ncand && sel->cand[at] == b ? sel->eighths[at] : 0;
}

#define WHOLE_BLOCK 0xFF /* selector_take(): every eighth */

/* The eighths block b has: bit e for each that can start a line. */
static uint8_t eighths_in(const struct corpus_block *b)
{
    uint64_t n = (b->len + (1u << TINDEX_EIGHTH_SHIFT) - 1) >> TINDEX_EIGHTH_SHIFT;
    return n >= TINDEX_EIGHTHS ? 0xFF : (uint8_t)((1u << (n ? n : 1)) - 1);
}

/* Whether the query searches file fi of a part (f): visible at its
 * version, and in the trees, languages and paths it asks for. */
static bool file_selected(const struct search *s, enum store_part part, size_t fi,
                          const struct corpus_file *f)
{
    return store_visible(s->store, part, fi, s->version) && msg_query_tree(s->q, f->tree) &&
           msg_query_lang(s->q, f->lang) && (!s->inc || glob_list_match(s->inc, f->path)) &&
           !(s->exc && glob_list_match(s->exc, f->path));
}

/* Whether the query scans block b, and where: the eighths to scan,
 * WHOLE_BLOCK when it is all of the block's (eighths_in()); 0 when none. */
static uint8_t selector_take(struct selector *sel, const struct search *s, size_t b)
{
    const struct corpus *c = sel->c;
    size_t fi = c->blocks[b].file;
    const struct corpus_file *f = &c->files[fi];
    uint8_t all = eighths_in(&c->blocks[b]), want = all;
    if (sel->cand && !f->wide_fold && !(want &= candidate_eighths(sel, b)))
        return 0;
    /* A break in a run costs about what reading an eighth does: pieces
     * only where they leave out most of the block. */
    if (want == all || 2 * __builtin_popcount(want) > __builtin_popcount(all))
        want = WHOLE_BLOCK;
    if ((long)fi != sel->file) {
        sel->file = (long)fi;
        sel->file_ok = file_selected(s, sel->part, sel->first + fi, f);
    }
    return sel->file_ok ? want : 0;
}

/* The delta files the index leaves in (one bit each): those with a
 * candidate block, every file of a chunk whose index has no say, and
 * every file with a wide fold (the index does not speak for it). */
static uint64_t *delta_candidates(const struct search *s)
{
    const struct store *st = s->store;
    uint64_t *bits = xcalloc(st->delta_files / 64 + 1, sizeof *bits);
    for (size_t k = 0; k < s->nchunk_sel; k++) {
        const struct selector *sel = &s->chunk_sel[k];
        const struct corpus *c = sel->c;
        size_t first = st->chunk_first[k];
        for (size_t i = 0; i < c->nfiles; i++)
            if (!sel->cand || c->files[i].wide_fold)
                bits[(first + i) / 64] |= 1ull << ((first + i) % 64);
        for (size_t j = 0; sel->cand && j < sel->ncand; j++) {
            size_t fi = first + c->blocks[sel->cand[j]].file;
            bits[fi / 64] |= 1ull << (fi % 64);
        }
    }
    return bits;
}

/* The visible delta files the index leaves in, in (tree, path) order,
 * each placed among the base's files: the store keeps the order
 * (store_delta_order()).  Only these break the base's runs and are
 * walked block by block: after a burst of 10,000 files, walking every
 * one doubled the time of a query for a rare word. */
static void place_delta(struct search *s)
{
    size_t n;
    const struct store_pos *o = store_delta_order(s->store, &n);
    uint64_t *want = delta_candidates(s);
    s->dfiles = xmalloc((n ? n : 1) * sizeof *s->dfiles);
    for (size_t i = 0; i < n; i++)
        if (want[o[i].fi / 64] >> (o[i].fi % 64) & 1 &&
            store_visible(s->store, STORE_DELTA, o[i].fi, s->version))
            s->dfiles[s->ndfiles++] = (struct delta_file){.fi = o[i].fi, .base_at = o[i].base_at};
    free(want);
}

/* A run starts: scan [from, to) of corpus c, whole lines from file
 * first_file on. */
static void start_run_at(struct search *s, const struct corpus *c, size_t first_file, uint64_t from,
                         uint64_t to, bool no_anchor)
{
    s->c = c;
    s->pos = from;
    s->run_to = to;
    s->run_no_anchor = no_anchor;
    s->cur_file = first_file; /* no search over the files */
    s->cur_file_end = c->files[s->cur_file].off + c->files[s->cur_file].len;
    s->line_file = SIZE_MAX;
}

/* A run of blocks [first, last] of corpus c. */
static void start_run(struct search *s, const struct corpus *c, size_t first, size_t last,
                      bool no_anchor)
{
    start_run_at(s, c, c->blocks[first].file, c->blocks[first].off,
                 c->blocks[last].off + c->blocks[last].len, no_anchor);
}

/* The next run of the base block whose eighths s->part_left says: the
 * lowest of them and those right after it, as one piece of whole lines
 * (corpus_eighth_start()).  False when none is left. */
static bool next_part_run(struct search *s)
{
    const struct corpus *c = s->store->seg[s->seg];
    const struct corpus_block *b = &c->blocks[s->part_block];
    while (s->part_left) {
        unsigned e = (unsigned)__builtin_ctz(s->part_left), end = e;
        while (end < TINDEX_EIGHTHS && s->part_left >> end & 1)
            end++;
        s->part_left = end < TINDEX_EIGHTHS ? (uint8_t)(s->part_left >> end << end) : 0;
        uint64_t from = corpus_eighth_start(b, e), to = corpus_eighth_start(b, end);
        if (from < to) {
            start_run_at(s, c, b->file, b->off + from, b->off + to, false);
            return true;
        }
    }
    return false;
}

/* The next run of selected base blocks below block limit: consecutive ones
 * as one piece, and a file that holds a wide fold alone (neither the index
 * nor the anchor speaks for it). */
static bool next_base_run(struct search *s, size_t limit)
{
    const struct corpus *c = s->store->seg[s->seg];
    struct selector *sel = &s->base_sel;
    if (s->part_left && next_part_run(s))
        return true;
    size_t i = s->block;
    while (i < limit && !selector_exhausted(sel)) {
        uint8_t want = selector_take(sel, s, i);
        if (!want) {
            i++;
            /* Straight to the next candidate, when no file is outside
             * the index's say. */
            if (sel->cand && c->wide_fold == 0 && sel->k < sel->ncand && sel->cand[sel->k] > i)
                i = sel->cand[sel->k] < limit ? sel->cand[sel->k] : limit;
            continue;
        }
        const struct corpus_block *b = &c->blocks[i];
        if (want != WHOLE_BLOCK) { /* some eighths of it: one run each */
            s->block = i + 1;
            s->part_block = i;
            s->part_left = want;
            if (next_part_run(s))
                return true;
            i++;
            continue;
        }
        size_t j = i + 1;
        bool alone = c->files[b->file].wide_fold;
        while (!alone && j < limit && !c->files[c->blocks[j].file].wide_fold &&
               selector_take(sel, s, j) == WHOLE_BLOCK)
            j++;
        s->block = j;
        start_run(s, c, i, j - 1, alone);
        return true;
    }
    s->block = limit > s->block ? limit : s->block;
    return false;
}

/* The next run of selected blocks of the delta file dfiles[dk]. */
static bool next_delta_run(struct search *s)
{
    size_t k = store_chunk_of(s->store, s->dfiles[s->dk].fi);
    size_t fi = s->dfiles[s->dk].fi - s->store->chunk_first[k];
    const struct corpus *d = s->store->chunk[k];
    struct selector *sel = &s->chunk_sel[k];
    const struct corpus_file *f = &d->files[fi];
    size_t end = f->first_block;
    while (end < d->nblocks && d->blocks[end].file == fi)
        end++;
    for (size_t i = s->delta_block > f->first_block ? s->delta_block : f->first_block; i < end;
         i++) {
        if (!selector_take(sel, s, i))
            continue;
        size_t j = i + 1;
        while (!f->wide_fold && j < end && selector_take(sel, s, j))
            j++;
        s->delta_block = j;
        start_run(s, d, i, j - 1, f->wide_fold);
        return true;
    }
    return false;
}

/* Move to the next run, base segments and delta interleaved in (tree,
 * path) order.  False when none is left. */
static bool next_run(struct search *s)
{
    const struct store *st = s->store;
    for (;;) {
        /* The base blocks of this segment before the next delta file. */
        const struct corpus *b = st->seg[s->seg];
        size_t first = st->seg_first[s->seg];
        size_t at = s->dk < s->ndfiles ? s->dfiles[s->dk].base_at : SIZE_MAX;
        size_t limit_file = at < first + b->nfiles ? (at > first ? at - first : 0) : b->nfiles;
        size_t limit = limit_file < b->nfiles ? b->files[limit_file].first_block : b->nblocks;
        if ((s->part_left || s->block < limit) && next_base_run(s, limit))
            return true;
        if (limit_file == b->nfiles && s->seg + 1 < st->nseg) {
            s->seg++; /* the segment is done: the next one's candidates */
            s->block = 0;
            selector_init(&s->base_sel, s, STORE_BASE, s->seg);
            continue;
        }
        if (s->dk >= s->ndfiles)
            return false;
        if (next_delta_run(s))
            return true;
        s->dk++; /* that delta file is done */
        s->delta_block = 0;
    }
}

/* Scan up to one segment of selected text, across runs. */
static void scan_segment(struct search *s)
{
    uint64_t budget = s->segment;
    while (budget > 0 && s->status == MSG_ST_DONE && !s->io_failed) {
        if (s->pos >= s->run_to && !next_run(s)) {
            s->exhausted = true;
            return;
        }
        const char *buf = s->c->buf; /* the run's corpus */
        uint64_t end = s->pos + budget;
        if (end >= s->run_to) {
            end = s->run_to;
        } else {
            const char *nl = memchr(buf + end - 1, '\n', (size_t)(s->run_to - end + 1));
            end = nl ? (uint64_t)(nl - buf) + 1 : s->run_to;
        }
        uint64_t reached = scan_piece(s, s->pos, end);
        budget -= reached - s->pos < budget ? reached - s->pos : budget;
        s->pos = reached;
        if (reached < end)
            return; /* out of time: resume here */
    }
}

/* ------------------------------------------------------------------ */
/* Path search (MSG_QF_PATHS)                                          */
/* ------------------------------------------------------------------ */

/* Entry i of the path text: if the query selects its file, match the
 * pattern against the path (as shown: repaired UTF-8) and account. */
static void check_path(struct search *s, size_t i)
{
    const struct pathtext_entry *e = &s->pt->e[i];
    const struct corpus_file *f = store_file(s->store, (enum store_part)e->part, e->fi);
    if (!file_selected(s, (enum store_part)e->part, e->fi, f))
        return;
    const char *path = s->pt->buf + e->off;
    struct mrange r[MAX_LINE_RANGES];
    bool matched;
    int nr = matcher_line(s->m, path, e->len, r, MAX_LINE_RANGES, &matched);
    if (nr == MATCHER_LIMIT) {
        s->limit_hits++;
        return;
    }
    if (!matched)
        return;
    s->matched_files++;
    if (s->tally)
        facet_tally_file(s->tally, f->tree, f->path, strlen(f->path), f->lang, 0);
    if (s->sent < s->q->max)
        emit_file(s, f, MSG_RF_PATH, 0, path, e->len, r, nr);
}

/* Entries [from, to) as one text: candidates by the anchor or the regex,
 * each confirmed on its own path; every entry when the pattern must see
 * lines alone. */
static void scan_path_run(struct search *s, size_t from, size_t to)
{
    const struct pathtext *pt = s->pt;
    if (!s->anchor && matcher_line_mode(s->m)) {
        for (size_t i = from; i < to; i++)
            check_path(s, i);
        return;
    }
    uint64_t base = pt->e[from].off;
    uint64_t stop = to < pt->n ? pt->e[to].off : pt->len;
    const char *text = pt->buf + base;
    size_t n = (size_t)(stop - base), start = 0;
    while (start < n) {
        size_t at, end;
        if (s->anchor) {
            const char *hit = finder_find(&s->finder, text + start, n - start);
            if (!hit)
                return;
            at = (size_t)(hit - text);
        } else {
            int rc = matcher_find(s->m, text, n, start, &at, &end);
            if (rc == 0)
                return;
            if (rc == MATCHER_LIMIT) { /* the rest one by one */
                for (size_t i = pathtext_entry_at(pt, base + start); i < to; i++)
                    check_path(s, i);
                return;
            }
            if (at >= n)
                return;
        }
        size_t i = pathtext_entry_at(pt, base + at);
        check_path(s, i);
        start = (size_t)(pt->e[i].off + pt->e[i].len + 1 - base);
    }
}

/* A step of a path search: runs of entries between those matched alone,
 * in order, until the step's time is over. */
#define PATH_RUN 4096 /* entries scanned between looks at the clock */
static void scan_paths(struct search *s)
{
    const struct pathtext *pt = s->pt;
    while (s->status == MSG_ST_DONE && !s->io_failed) {
        if (s->path_next >= pt->n) {
            s->exhausted = true;
            return;
        }
        size_t alone = s->alone_next < pt->nalone ? pt->alone[s->alone_next] : pt->n;
        if (s->path_next == alone) {
            check_path(s, s->path_next++);
            s->alone_next++;
        } else {
            size_t to = alone - s->path_next > PATH_RUN ? s->path_next + PATH_RUN : alone;
            scan_path_run(s, s->path_next, to);
            s->path_next = to;
        }
        if (step_over(s))
            return;
    }
}

static void send_done(struct search *s, const char *error)
{
    struct msg_done d = {.status = s->status,
                         .matched_lines = s->matched_lines,
                         .matched_files = s->matched_files,
                         .elapsed_us = (now_ns() - s->started_ns) / 1000,
                         .limit_hits = s->limit_hits,
                         .error = error,
                         .error_len = error ? (uint32_t)strlen(error) : 0};
    struct msg_writer w;
    msg_writer_init(&w);
    msg_done_encode(&w, s->shard, s->seq, &d);
    s->io->send(s->io->ctx, w.data, w.len);
    msg_writer_free(&w);
}

/* The end: what is left of the batch, then DONE. */
static void end_search(struct search *s)
{
    s->ended = true;
    if (!s->m) {
        s->status = MSG_ST_FAILED;
        send_done(s, s->error);
        return;
    }
    if (s->io_failed)
        return; /* the master is gone: nobody to tell */
    end_file(s);
    batch_flush(s);
    if (s->tally && s->status == MSG_ST_DONE &&
        facet_tally_send(s->tally, s->shard, s->seq, s->io->send, s->io->ctx) < 0)
        return;
    send_done(s, s->limit_hits ? "some lines exceeded the regex match limit" : NULL);
}

bool search_step(struct search *s)
{
    if (s->ended)
        return true;
    if (s->cancelled && s->status == MSG_ST_DONE)
        s->status = MSG_ST_CANCELLED;
    if (!s->m || s->status != MSG_ST_DONE || s->io_failed || s->exhausted) {
        end_search(s);
        return true;
    }
    uint64_t t0 = now_ns();
    s->step_end_ns = t0 + SEARCH_STEP_NS;
    if (s->q->flags & MSG_QF_PATHS) {
        scan_paths(s);
        if (!s->exhausted && s->status == MSG_ST_DONE)
            (void)past_deadline(s);
        return false;
    }
    scan_segment(s);
    uint64_t took = now_ns() - t0;
    if (took < SEARCH_SEGMENT_FAST_NS && s->segment < SEARCH_SEGMENT)
        s->segment *= 2;
    else if (took > SEARCH_SEGMENT_SLOW_NS && s->segment > SEARCH_SEGMENT_MIN)
        s->segment /= 2;
    if (!s->exhausted && s->status == MSG_ST_DONE)
        (void)past_deadline(s);
    /* The next step sends DONE: a cancel that comes in between still
     * counts, as it did between segments. */
    return false;
}

void search_cancel(struct search *s)
{
    s->cancelled = true;
}

uint64_t search_seq(const struct search *s)
{
    return s->seq;
}

struct search *search_start(const struct store *store, uint32_t version, uint32_t shard,
                            uint64_t seq, const struct msg_query *q, const struct search_io *io,
                            struct pathtext *paths)
{
    struct search *s = xcalloc(1, sizeof *s);
    s->store = store;
    s->version = version;
    s->c = store->seg[0];
    s->shard = shard;
    s->seq = seq;
    s->io_copy = *io;
    s->io = &s->io_copy;
    s->status = MSG_ST_DONE;
    s->last_id = -1;
    s->segment = SEARCH_SEGMENT_MIN;
    s->started_ns = now_ns();
    s->deadline_ns = s->started_ns + (uint64_t)q->timeout_ms * 1000000u;
    s->query = *q;
    s->query.pattern = s->pattern = xstrndup(q->pattern, q->pattern_len);
    s->query.path = s->path = xstrndup(q->path, q->path_len);
    s->query.exclude = s->exclude = xstrndup(q->exclude, q->exclude_len);
    s->query.trees = s->trees = (uint8_t *)xstrndup((const char *)q->trees, q->trees_len);
    s->query.langs = s->langs = (uint8_t *)xstrndup((const char *)q->langs, q->langs_len);
    if (q->flags & MSG_QF_FACETS)
        s->tally = facet_tally_new();
    if (q->flags & MSG_QF_PATHS)
        s->pt = paths ? pathtext_ref(paths) : pathtext_build(store);
    s->q = &s->query;
    msg_writer_init(&s->batch);
    msg_writer_init(&s->rec);
    msg_batch_begin(&s->batch, shard, seq);
    long off;
    s->m = matcher_new(q->pattern, q->pattern_len, q->flags & MSG_QF_LITERAL,
                       q->flags & MSG_QF_CASELESS, s->error, sizeof s->error, &off);
    if (!s->m)
        return s; /* its first step says why */
    s->anchor =
        qplan_anchor(q->pattern, q->pattern_len, q->flags & MSG_QF_LITERAL,
                     q->flags & MSG_QF_CASELESS, &s->anchor_len, &s->anchor_ci, &s->anchor_exact);
    if (s->anchor) {
        finder_init(&s->finder, s->anchor, s->anchor_len, s->anchor_ci);
    } else {
        s->have_pair = qplan_pair(q->pattern, q->pattern_len, q->flags & MSG_QF_LITERAL,
                                  q->flags & MSG_QF_CASELESS, &s->pair);
    }
    s->inc = filter(q->path, q->path_len);
    s->exc = filter(q->exclude, q->exclude_len);
    /* A path search reads every path: the index of the text has no say. */
    s->plan = q->flags & MSG_QF_PATHS
                  ? NULL
                  : qplan_build(q->pattern, q->pattern_len, q->flags & MSG_QF_LITERAL,
                                q->flags & MSG_QF_CASELESS);
    selector_init(&s->base_sel, s, STORE_BASE, 0);
    /* The chunks there are now: a chunk opened later holds only files
     * born after the search's version. */
    s->nchunk_sel = store->nchunk;
    s->chunk_sel = xcalloc(s->nchunk_sel, sizeof *s->chunk_sel);
    for (size_t k = 0; k < s->nchunk_sel; k++)
        selector_init(&s->chunk_sel[k], s, STORE_DELTA, k);
    place_delta(s);
    return s;
}

void search_free(struct search *s)
{
    if (!s)
        return;
    glob_list_free(s->inc);
    glob_list_free(s->exc);
    free(s->base_sel.cand);
    for (size_t k = 0; k < s->nchunk_sel; k++) {
        free(s->chunk_sel[k].cand);
        free(s->chunk_sel[k].eighths);
    }
    free(s->chunk_sel);
    free(s->base_sel.eighths);
    qplan_free(s->plan);
    free(s->dfiles);
    msg_writer_free(&s->batch);
    msg_writer_free(&s->rec);
    matcher_free(s->m);
    free(s->anchor);
    free(s->pattern);
    free(s->path);
    free(s->exclude);
    free(s->trees);
    free(s->langs);
    pathtext_unref(s->pt);
    facet_tally_free(s->tally);
    free(s);
}

void search_run(const struct corpus *c, uint32_t shard, uint64_t seq, const struct msg_query *q,
                const struct search_io *io)
{
    struct store view;
    store_view(&view, c);
    struct search *s = search_start(&view, view.version, shard, seq, q, io, NULL);
    while (!search_step(s))
        if (io->should_stop && io->should_stop(io->ctx))
            search_cancel(s);
    search_free(s);
    store_free(&view);
}
