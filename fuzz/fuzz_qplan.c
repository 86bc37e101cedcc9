/*
 * fuzz_qplan.c - libFuzzer target for the trigram plan and the anchor
 * (qplan.c), and for their soundness: the plan and the anchor are filters
 * ahead of the regex, so they must never drop a line that the regex
 * matches.
 *
 * Input: flags, a pattern and a text (fuzz_input.h).  The text becomes
 * two "files" of a shard's corpus
 * (corpus_add() repairs UTF-8 and drops CR before LF, as loading does).
 *
 * Checked, with abort() on a violation:
 *   1. qplan_build(), qplan_anchor(), qplan_describe() on any bytes.
 *   2. When matcher_new() accepts the pattern, for every line the regex
 *      matches on its own (matcher_line()), in a file without a KELVIN
 *      SIGN or LONG S (such files are scanned without the filters, see
 *      qplan.h): every trigram the plan requires is in the line (folded),
 *      the plan's boolean query holds on the line's trigrams (what the
 *      index's tindex_candidates() evaluates per file; the index itself
 *      is left out: building one costs ~100 ms, for its 2^24-entry
 *      tables, and would slow the fuzzer a hundredfold), and the
 *      anchor is in the line (memmem_ci() or memmem(), as the worker
 *      searches it).  When the anchor is "exact" (the worker then takes
 *      the anchor's occurrences as the matches without the regex), a line
 *      holds the anchor iff the regex matches it, with the same ranges.
 *   3. End to end: search_run() over that corpus reports exactly the lines
 *      the regex matches one by one (unless PCRE2 hit a limit somewhere).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"
#include "fuzz_input.h"
#include "matcher.h"
#include "msg.h"
#include "plan_oracle.h"
#include "qplan.h"
#include "search.h"
#include "strsearch.h"
#include "util.h"

#define MAX_TEXT   4096
#define MAX_LINES  64
#define RANGES_CAP 2048 /* above the most a 4 KiB line can hold */

static void require(bool cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_qplan: property violated: %s\n", what);
        abort();
    }
}

/* Every trigram an AND chain from the root requires (not under an OR). */
static void required_trigrams_present(const struct qnode *q, const char *s, size_t n)
{
    if (q->kind == QN_KEY)
        require(oracle_has_key(s, n, q->key), "a required key is in a matching line");
    else if (q->kind == QN_AND)
        for (size_t i = 0; i < q->nkids; i++)
            required_trigrams_present(q->kids[i], s, n);
}

static const char *find_anchor(const char *s, size_t n, const char *a, size_t alen, bool ci)
{
    return ci ? memmem_ci(s, n, a, alen) : memmem(s, n, a, alen);
}

/* Results of search_run(), collected from its BATCH and DONE messages. */
struct collected {
    uint8_t hit[2][MAX_TEXT + 1]; /* [file][line] */
    uint64_t matched_lines;
    uint32_t limit_hits;
    uint8_t status;
    bool done;
};

static int collect(void *ctx, const void *msg, size_t len)
{
    struct collected *c = ctx;
    struct msg_header h;
    struct msg_reader r;
    require(msg_parse(msg, len, &h, &r) == 0, "search_run() sends well-formed messages");
    if (h.type == MT_BATCH) {
        uint32_t count = msg_get_u32(&r);
        for (uint32_t i = 0; i < count; i++) {
            struct msg_record rec;
            require(msg_record_decode(&r, &rec) == 0, "search_run() sends well-formed records");
            require(rec.file_id < 2 && rec.line >= 1 && rec.line <= MAX_TEXT, "record position");
            require(!c->hit[rec.file_id][rec.line], "no line reported twice");
            c->hit[rec.file_id][rec.line] = 1;
        }
    } else if (h.type == MT_DONE) {
        struct msg_done d;
        require(msg_done_decode(&r, &d) == 0, "search_run() sends a well-formed DONE");
        c->matched_lines = d.matched_lines;
        c->limit_hits = d.limit_hits;
        c->status = d.status;
        c->done = true;
    }
    return 0;
}

static bool never_stop(void *ctx)
{
    (void)ctx;
    return false;
}

/* Check property 2 on one line; returns 1 if the line matches, 0 if not,
 * -1 if PCRE2 gave up on it. */
static int check_line(struct matcher *m, const struct qnode *plan, const char *anchor, size_t alen,
                      bool aci, bool exact, const char *s, size_t n, bool wide)
{
    struct mrange r[RANGES_CAP];
    bool matched;
    int nr = matcher_line(m, s, n, r, RANGES_CAP, &matched);
    if (nr == MATCHER_LIMIT)
        return -1;
    int t = matcher_test(m, s, n);
    if (t != MATCHER_LIMIT)
        require((t == 1) == matched, "matcher_test() agrees with matcher_line()");
    if (wide)
        return matched;
    const char *hit = anchor ? find_anchor(s, n, anchor, alen, aci) : NULL;
    if (matched) {
        required_trigrams_present(plan, s, n);
        require(oracle_plan_holds(plan, s, n), "the plan holds on a matching line");
        if (anchor)
            require(hit != NULL, "the anchor is in a matching line");
    }
    if (anchor && exact) {
        require((hit != NULL) == matched, "exact anchor: found iff the regex matches");
        /* Ranges as search.c's anchor_ranges() computes them. */
        size_t pos = 0;
        int k = 0;
        while (pos + alen <= n) {
            const char *h = find_anchor(s + pos, n - pos, anchor, alen, aci);
            if (!h)
                break;
            size_t at = (size_t)(h - s);
            require(k < nr && r[k].start == at && r[k].end == at + alen,
                    "exact anchor: its occurrences are the regex's matches");
            k++;
            pos = at + alen;
        }
        require(k == nr, "exact anchor: as many occurrences as matches");
    }
    return matched;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > MAX_TEXT)
        return 0;
    struct fuzz_input in;
    fuzz_input_split(data, size, &in);

    /* 1. The plan on any bytes. */
    struct qnode *plan = qplan_build(in.pat, in.plen, in.literal, in.caseless);
    char *desc = qplan_describe(plan);
    require(desc != NULL, "qplan_describe() gives a string");
    free(desc);
    size_t alen = 0;
    bool aci = false, exact = false;
    char *anchor = qplan_anchor(in.pat, in.plen, in.literal, in.caseless, &alen, &aci, &exact);
    if (anchor)
        require(alen >= QPLAN_ANCHOR_MIN, "an anchor is at least QPLAN_ANCHOR_MIN bytes");
    else
        require(!exact, "no anchor, not exact");

    char err[SG_ERRLEN];
    long off;
    struct matcher *m =
        in.plen ? matcher_new(in.pat, in.plen, in.literal, in.caseless, err, sizeof err, &off)
                : NULL;
    if (!m) {
        qplan_free(plan);
        free(anchor);
        return 0;
    }

    /* The text as two files, loaded the way a worker loads them. */
    const char *cut = memchr(in.text, '\n', in.tlen);
    size_t len0 = cut ? (size_t)(cut - in.text) + 1 : in.tlen;
    struct corpus c;
    corpus_init(&c);
    corpus_add(&c, 0, "f0", in.text, len0);
    corpus_add(&c, 1, "f1", in.text + len0, in.tlen - len0);
    corpus_seal(&c);

    /* 2. Line by line; and the truth for 3. */
    uint8_t truth[2][MAX_TEXT + 1];
    memset(truth, 0, sizeof truth);
    uint64_t truth_lines = 0;
    bool gave_up = false;
    for (size_t fi = 0; fi < c.nfiles; fi++) {
        const struct corpus_file *f = &c.files[fi];
        for (uint32_t ln = 0; ln < f->nlines && ln < MAX_LINES; ln++) {
            const char *s;
            size_t n;
            corpus_line(&c, f, ln, &s, &n);
            int rc = check_line(m, plan, anchor, alen, aci, exact, s, n, f->wide_fold);
            if (rc < 0)
                gave_up = true;
            else if (rc == 1) {
                truth[f->id][ln + 1] = 1;
                truth_lines++;
            }
        }
        if (f->nlines > MAX_LINES)
            gave_up = true; /* lines left unchecked: no end-to-end comparison */
    }

    /* 3. End to end, through the worker's search. */
    struct msg_query q = {.flags = (in.literal ? MSG_QF_LITERAL : 0) |
                                   (in.caseless ? MSG_QF_CASELESS : 0),
                          .max = 100000,
                          .context = 0,
                          .timeout_ms = 60000,
                          .pattern = in.pat,
                          .pattern_len = (uint32_t)in.plen,
                          .path = "",
                          .exclude = ""};
    struct collected *got = calloc(1, sizeof *got);
    struct search_io io = {.ctx = got, .send = collect, .should_stop = never_stop};
    search_run(&c, 0, 1, &q, &io);
    require(got->done, "search_run() ends with DONE");
    if (!gave_up && got->limit_hits == 0 && got->status == MSG_ST_DONE) {
        require(got->matched_lines == truth_lines, "search_run() counts the lines that match");
        require(!memcmp(got->hit, truth, sizeof truth),
                "search_run() reports exactly the lines that match");
    }

    free(got);
    corpus_free(&c);
    matcher_free(m);
    qplan_free(plan);
    free(anchor);
    return 0;
}
