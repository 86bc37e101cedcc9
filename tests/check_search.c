/*
 * check_search.c - unit tests for src/search.c: one query over an
 * in-memory corpus, judged by the messages it sends, and the window of a
 * long line (search_clip).
 *
 * search_run() talks only through struct search_io, so the tests collect
 * every message it sends, decode them with the same msg.h decoders the
 * master uses, and assert on what a user would see: which lines matched,
 * in which order, with which ranges and context, and the exact counts in
 * DONE.  The decoding is strict: every message must parse, batches must
 * carry the query's shard and seq, and DONE must come exactly once, last.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_suites.h"
#include "corpus.h"
#include "msg.h"
#include "search.h"
#include "utf8.h"
#include "util.h"

#define NCASES(a)  (sizeof(a) / sizeof((a)[0]))
#define SHARD      3
#define SEQ        77
#define TIMEOUT_MS 600000 /* never reached: valgrind is slow, not that slow */

/* One decoded result record, copied out of its message. */
struct rec {
    uint32_t file_id, line, column;
    uint8_t flags;
    char *text;
    uint32_t text_len;
    unsigned nranges;
    uint32_t *ranges; /* start, end pairs */
    unsigned nbefore, nafter;
    char **before, **after;
};

static struct corpus corp;

/* What search_run sent, and what it means. */
static struct {
    uint8_t **msg;
    size_t *len;
    size_t n, cap;
    bool stop;          /* should_stop's answer */
    unsigned stop_asks; /* times should_stop was asked */
    struct rec *recs;
    size_t nrecs, recs_cap;
    unsigned batches;
    struct msg_done done;
    char *error; /* DONE's error, NUL-terminated */
} out;

static char *huge; /* a big file's text, when a test builds one */

static int collect(void *ctx, const void *msg, size_t len)
{
    (void)ctx;
    if (out.n == out.cap) {
        out.cap = out.cap ? 2 * out.cap : 16;
        out.msg = xrealloc(out.msg, out.cap * sizeof *out.msg);
        out.len = xrealloc(out.len, out.cap * sizeof *out.len);
    }
    out.msg[out.n] = xmalloc(len);
    memcpy(out.msg[out.n], msg, len);
    out.len[out.n] = len;
    out.n++;
    return 0;
}

static bool should_stop(void *ctx)
{
    (void)ctx;
    out.stop_asks++;
    return out.stop;
}

/* Free what the last run sent; should_stop's answer is kept. */
static void free_results(void)
{
    bool stop = out.stop;

    for (size_t i = 0; i < out.n; i++)
        free(out.msg[i]);
    free(out.msg);
    free(out.len);
    for (size_t i = 0; i < out.nrecs; i++) {
        struct rec *r = &out.recs[i];
        free(r->text);
        free(r->ranges);
        for (unsigned k = 0; k < r->nbefore; k++)
            free(r->before[k]);
        for (unsigned k = 0; k < r->nafter; k++)
            free(r->after[k]);
        free(r->before);
        free(r->after);
    }
    free(out.recs);
    free(out.error);
    memset(&out, 0, sizeof out);
    out.stop = stop;
}

/* The test corpus: ids are indexes in a (path-sorted) file list. */
static const struct {
    const char *path, *text;
} files[] = {
    {"docs/x.md", "# Title\nfoo in docs\n"},
    {"src/a.c", "int foo;\nint bar;\nfoo(foo);\n\n/* end */\n"},
    {"src/b.h", "#define FOO 1\nvoid foo(void);\n"},
    {"src/empty.c", ""},
    {"src/z.c", "a\nb\nfoo"},
};

static void setup(void)
{
    corpus_init(&corp);
    memset(&out, 0, sizeof out);
    huge = NULL;
}

/* Load the files above into the (empty) corpus. */
static void add_files(void)
{
    for (size_t i = 0; i < NCASES(files); i++)
        corpus_add(&corp, (uint32_t)i, files[i].path, files[i].text, strlen(files[i].text));
}

static void teardown(void)
{
    free_results();
    corpus_free(&corp);
    free(huge);
    huge = NULL;
}

static char **read_strs(const uint8_t *p, unsigned n)
{
    struct msg_reader r;
    char **v = xcalloc(n ? n : 1, sizeof *v);
    msg_reader_init(&r, p, (size_t)-1 / 2); /* already validated by msg_record_decode */
    for (unsigned i = 0; i < n; i++) {
        uint32_t len;
        const char *s = msg_get_str(&r, &len);
        v[i] = xstrndup(s, len);
    }
    return v;
}

static void keep_record(const struct msg_record *m)
{
    if (out.nrecs == out.recs_cap) {
        out.recs_cap = out.recs_cap ? 2 * out.recs_cap : 64;
        out.recs = xrealloc(out.recs, out.recs_cap * sizeof *out.recs);
    }
    struct rec *r = &out.recs[out.nrecs++];
    memset(r, 0, sizeof *r);
    r->file_id = m->file_id;
    r->line = m->line;
    r->column = m->column;
    r->flags = m->flags;
    r->text = xstrndup(m->text, m->text_len);
    r->text_len = m->text_len;
    r->nranges = m->nranges;
    r->ranges = xcalloc(2 * (size_t)m->nranges + 1, sizeof *r->ranges);
    for (unsigned i = 0; i < m->nranges; i++)
        msg_record_range(m, i, &r->ranges[2 * i], &r->ranges[2 * i + 1]);
    r->nbefore = m->nbefore;
    r->before = read_strs(m->before, m->nbefore);
    r->nafter = m->nafter;
    r->after = read_strs(m->after, m->nafter);
}

/* Decode everything sent; fails the test on any malformed message. */
static void decode(void)
{
    bool done_seen = false;
    for (size_t i = 0; i < out.n; i++) {
        struct msg_header h;
        struct msg_reader r;
        int rc = msg_parse(out.msg[i], out.len[i], &h, &r);
        ck_assert_msg(rc == SG_OK, "message %zu (%zu bytes) does not parse", i, out.len[i]);
        ck_assert_msg(!done_seen, "message %zu (type %u) sent after DONE", i, h.type);
        ck_assert_msg(h.shard == SHARD && h.seq == SEQ, "message %zu: shard %u seq %llu", i,
                      h.shard, (unsigned long long)h.seq);
        if (h.type == MT_BATCH) {
            out.batches++;
            uint32_t count = msg_get_u32(&r);
            ck_assert_msg(count > 0, "an empty BATCH was sent");
            for (uint32_t k = 0; k < count; k++) {
                struct msg_record m;
                rc = msg_record_decode(&r, &m);
                ck_assert_msg(rc == SG_OK, "BATCH %zu: record %u of %u does not decode", i, k,
                              count);
                keep_record(&m);
            }
            ck_assert_msg(r.pos == r.len, "BATCH %zu: %zu bytes after %u records", i, r.len - r.pos,
                          count);
        } else if (h.type == MT_DONE) {
            rc = msg_done_decode(&r, &out.done);
            ck_assert_msg(rc == SG_OK, "DONE does not decode");
            out.error = xstrndup(out.done.error, out.done.error_len);
            out.done.error = out.error;
            done_seen = true;
        } else {
            ck_abort_msg("message %zu has unexpected type %u", i, h.type);
        }
    }
    ck_assert_msg(done_seen, "no DONE among %zu messages", out.n);
}

static void run_q(const struct msg_query *q)
{
    const struct search_io io = {.ctx = NULL, .send = collect, .should_stop = should_stop};
    free_results();
    /* PCRE2's JIT reads whole aligned blocks, a few bytes past the end of
     * its subject, and ignores the extra bytes; past the last file those
     * are the arena's unused capacity, which valgrind would report as
     * uninitialised.  Clear it: it is outside every file, so no result
     * can depend on it. */
    if (corp.buf && corp.cap > corp.len)
        memset(corp.buf + corp.len, 0, (size_t)(corp.cap - corp.len));
    search_run(&corp, SHARD, SEQ, q, &io);
    decode();
}

static void run(const char *pattern, uint32_t flags, uint32_t max, uint32_t context,
                const char *path, const char *exclude)
{
    const struct msg_query q = {.flags = flags,
                                .max = max,
                                .context = context,
                                .timeout_ms = TIMEOUT_MS,
                                .pattern = pattern,
                                .pattern_len = (uint32_t)strlen(pattern),
                                .path = path,
                                .path_len = (uint32_t)strlen(path),
                                .exclude = exclude,
                                .exclude_len = (uint32_t)strlen(exclude)};
    run_q(&q);
}

/* DONE said status, lines and files. */
static void check_done(const char *what, uint8_t status, uint64_t lines, uint64_t files_)
{
    ck_assert_msg(out.done.status == status, "%s: DONE status %u, want %u (error \"%s\")", what,
                  out.done.status, status, out.error);
    ck_assert_msg(out.done.matched_lines == lines && out.done.matched_files == files_,
                  "%s: matched_lines %llu matched_files %llu, want %llu %llu", what,
                  (unsigned long long)out.done.matched_lines,
                  (unsigned long long)out.done.matched_files, (unsigned long long)lines,
                  (unsigned long long)files_);
}

struct want_rec {
    uint32_t file_id, line;
    const char *text;
};

/* The records are exactly these, in this order. */
static void check_records(const char *what, const struct want_rec *w, size_t n)
{
    for (size_t i = 0; i < n && i < out.nrecs; i++) {
        const struct rec *r = &out.recs[i];
        ck_assert_msg(r->file_id == w[i].file_id && r->line == w[i].line &&
                          strcmp(r->text, w[i].text) == 0,
                      "%s: record %zu is file %u line %u \"%s\", want file %u line %u \"%s\"", what,
                      i, r->file_id, r->line, r->text, w[i].file_id, w[i].line, w[i].text);
    }
    ck_assert_msg(out.nrecs == n, "%s: %zu records, want %zu", what, out.nrecs, n);
}

/* Record i has exactly these ranges (pairs). */
static void check_ranges(size_t i, const uint32_t *want, unsigned n)
{
    ck_assert_msg(i < out.nrecs, "no record %zu", i);
    const struct rec *r = &out.recs[i];
    ck_assert_msg(r->nranges == n, "record %zu (\"%s\"): %u ranges, want %u", i, r->text,
                  r->nranges, n);
    for (unsigned k = 0; k < 2 * n; k++)
        ck_assert_msg(r->ranges[k] == want[k],
                      "record %zu (\"%s\"): range %u is [%u,%u), want "
                      "[%u,%u)",
                      i, r->text, k / 2, r->ranges[k & ~1u], r->ranges[k | 1u], want[k & ~1u],
                      want[k | 1u]);
}

/* ------------------------------------------------------------------ */
/* search_run                                                          */
/* ------------------------------------------------------------------ */

/* Path search (MSG_QF_PATHS) over names a scan of one text could get
 * wrong: a KELVIN SIGN (a caseless k the literal anchor does not see), a
 * byte that is not UTF-8 (matched, and sent, repaired), a '\n' (one path,
 * not two); each file's path is matched whole, in path order, and the
 * filters apply. */
static const char *const odd_paths[] = {"a/K\xe2\x84\xaa.c", "a/bad\xff.c", "a/new\nline.c",
                                        "a/plain.c", "b/x.h"};

static void run_paths(const char *pattern, uint32_t flags, uint32_t max, const char *path)
{
    const struct msg_query q = {.flags = flags | MSG_QF_PATHS,
                                .max = max,
                                .timeout_ms = TIMEOUT_MS,
                                .pattern = pattern,
                                .pattern_len = (uint32_t)strlen(pattern),
                                .path = path,
                                .path_len = (uint32_t)strlen(path),
                                .exclude = "",
                                .exclude_len = 0};
    run_q(&q);
}

START_TEST(test_run_paths)
{
    for (size_t i = 0; i < NCASES(odd_paths); i++)
        corpus_add(&corp, (uint32_t)i, odd_paths[i], "x\n", 2);
    run_paths("\\.c$", 0, 100, "");
    const struct want_rec all_c[] = {{0, 0, "a/K\xe2\x84\xaa.c"},
                                     {1, 0, "a/bad\xef\xbf\xbd.c"},
                                     {2, 0, "a/new\nline.c"},
                                     {3, 0, "a/plain.c"}};
    check_records("\\.c$", all_c, 4);
    check_done("\\.c$", MSG_ST_DONE, 0, 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert_msg(out.recs[i].flags == MSG_RF_PATH, "record %zu flags %u", i,
                      out.recs[i].flags);

    run_paths("k\\.c", MSG_QF_CASELESS, 100, ""); /* the anchor "k.c" is not in the first */
    const struct want_rec kelvin[] = {{0, 0, "a/K\xe2\x84\xaa.c"}};
    check_records("caseless k.c", kelvin, 1);
    static const uint32_t kr[] = {3, 8};
    check_ranges(0, kr, 1);

    run_paths("bad\xef\xbf\xbd", MSG_QF_LITERAL, 100, ""); /* as shown */
    const struct want_rec bad[] = {{1, 0, "a/bad\xef\xbf\xbd.c"}};
    check_records("the repaired name", bad, 1);
    static const uint32_t br[] = {2, 8};
    check_ranges(0, br, 1);

    run_paths("new.line", 0, 100, ""); /* '.' is not a newline: one path */
    check_done("new.line", MSG_ST_DONE, 0, 0);
    run_paths("new\nline", MSG_QF_LITERAL, 100, "");
    check_done("a newline inside one path", MSG_ST_DONE, 0, 1);
    run_paths("c$\\n^b", 0, 100, ""); /* across two paths: no path holds it */
    check_done("across two paths", MSG_ST_DONE, 0, 0);

    run_paths("\\.c$", 0, 2, ""); /* max: the first two, the count whole */
    check_records("max=2", all_c, 2);
    check_done("max=2", MSG_ST_DONE, 0, 4);
    run_paths(".", 0, 100, "b/");
    const struct want_rec only_b[] = {{4, 0, "b/x.h"}};
    check_records("path=b/", only_b, 1);
    run_paths("^a/", 0, 100, "*.h");
    check_done("a filter that leaves nothing", MSG_ST_DONE, 0, 0);
}
END_TEST

/* select=files (MSG_QF_FILES): one record per file with its count, the
 * first max files only, counts whole. */
START_TEST(test_run_files)
{
    add_files();
    run("foo", MSG_QF_CASELESS | MSG_QF_FILES, 100, 0, "", "");
    check_done("files", MSG_ST_DONE, 6, 4);
    const struct want_rec want[] = {{0, 1, ""}, {1, 2, ""}, {2, 2, ""}, {4, 1, ""}};
    check_records("a record per file, line = count", want, 4);
    for (size_t i = 0; i < out.nrecs; i++)
        ck_assert_msg(out.recs[i].flags == MSG_RF_FILE, "record %zu flags %u", i,
                      out.recs[i].flags);
    run("foo", MSG_QF_CASELESS | MSG_QF_FILES, 2, 0, "", "");
    check_records("max=2 files", want, 2);
    check_done("max=2 files", MSG_ST_DONE, 6, 4);
    run("foo", MSG_QF_CASELESS | MSG_QF_FILES, 0, 0, "", "");
    check_records("max=0", want, 0);
    check_done("max=0", MSG_ST_DONE, 6, 4);
}
END_TEST

START_TEST(test_run_basic)
{
    add_files();
    run("foo", 0, 1000, 0, "", "");
    check_done("foo", MSG_ST_DONE, 5, 4);
    static const struct want_rec w[] = {
        {0, 2, "foo in docs"},     {1, 1, "int foo;"}, {1, 3, "foo(foo);"},
        {2, 2, "void foo(void);"}, {4, 3, "foo"},
    };
    check_records("foo", w, NCASES(w));
    check_ranges(0, (const uint32_t[]){0, 3}, 1);
    check_ranges(1, (const uint32_t[]){4, 7}, 1);
    check_ranges(2, (const uint32_t[]){0, 3, 4, 7}, 2);
    check_ranges(3, (const uint32_t[]){5, 8}, 1);
    check_ranges(4, (const uint32_t[]){0, 3}, 1);
    for (size_t i = 0; i < out.nrecs; i++)
        ck_assert_msg(out.recs[i].flags == 0 && out.recs[i].column == 0 &&
                          out.recs[i].nbefore == 0 && out.recs[i].nafter == 0,
                      "record %zu: flags %u column %u before %u after %u", i, out.recs[i].flags,
                      out.recs[i].column, out.recs[i].nbefore, out.recs[i].nafter);
    ck_assert_msg(out.done.limit_hits == 0 && out.done.error_len == 0, "limit_hits %u error \"%s\"",
                  out.done.limit_hits, out.error);
}
END_TEST

START_TEST(test_run_no_match)
{
    add_files();
    run("nowhere", 0, 1000, 0, "", "");
    check_done("nowhere", MSG_ST_DONE, 0, 0);
    ck_assert_msg(out.nrecs == 0 && out.batches == 0, "%zu records in %u batches", out.nrecs,
                  out.batches);
    ck_assert_msg(out.n == 1, "%zu messages, want DONE alone", out.n);
}
END_TEST

START_TEST(test_run_flags)
{
    add_files();
    run("foo", MSG_QF_CASELESS, 1000, 0, "", "");
    check_done("foo caseless", MSG_ST_DONE, 6, 4);
    ck_assert_msg(out.recs[3].file_id == 2 && out.recs[3].line == 1, "record 3: file %u line %u",
                  out.recs[3].file_id, out.recs[3].line);
    check_ranges(3, (const uint32_t[]){8, 11}, 1);

    run("foo(", MSG_QF_LITERAL, 1000, 0, "", "");
    check_done("literal foo(", MSG_ST_DONE, 2, 2);
    static const struct want_rec w[] = {{1, 3, "foo(foo);"}, {2, 2, "void foo(void);"}};
    check_records("literal foo(", w, NCASES(w));
    check_ranges(0, (const uint32_t[]){0, 4}, 1);

    run("FOO(", MSG_QF_LITERAL | MSG_QF_CASELESS, 1000, 0, "", "");
    check_done("literal caseless FOO(", MSG_ST_DONE, 2, 2);

    /* regex: '.' is any character */
    run("f.o", 0, 1000, 0, "", "");
    check_done("f.o", MSG_ST_DONE, 5, 4);
    run("f.o", MSG_QF_LITERAL, 1000, 0, "", "");
    check_done("literal f.o", MSG_ST_DONE, 0, 0);
}
END_TEST

START_TEST(test_run_max)
{
    add_files();
    run("foo", 0, 2, 0, "", "");
    check_done("max 2", MSG_ST_DONE, 5, 4);
    static const struct want_rec w[] = {{0, 2, "foo in docs"}, {1, 1, "int foo;"}};
    check_records("max 2", w, NCASES(w));

    run("foo", 0, 0, 0, "", "");
    check_done("max 0", MSG_ST_DONE, 5, 4);
    ck_assert_msg(out.nrecs == 0, "max 0 sent %zu records", out.nrecs);
}
END_TEST

START_TEST(test_run_context)
{
    add_files();
    run("bar", 0, 1000, 1, "", "");
    check_done("bar", MSG_ST_DONE, 1, 1);
    ck_assert_msg(out.nrecs == 1, "%zu records", out.nrecs);
    struct rec *r = &out.recs[0];
    ck_assert_msg(r->nbefore == 1 && strcmp(r->before[0], "int foo;") == 0,
                  "before: %u lines, first \"%s\"", r->nbefore, r->nbefore ? r->before[0] : "");
    ck_assert_msg(r->nafter == 1 && strcmp(r->after[0], "foo(foo);") == 0,
                  "after: %u lines, first \"%s\"", r->nafter, r->nafter ? r->after[0] : "");

    /* fewer lines at the edges of a file; never lines of a neighbour */
    run("foo", 0, 1000, 2, "", "");
    check_done("foo context 2", MSG_ST_DONE, 5, 4);
    static const struct {
        unsigned nbefore, nafter;
        const char *first_before, *last_after;
    } w[] = {
        {1, 0, "# Title", NULL},         /* docs/x.md line 2 of 2 */
        {0, 2, NULL, "foo(foo);"},       /* src/a.c line 1 */
        {2, 2, "int foo;", "/* end */"}, /* src/a.c line 3 */
        {1, 0, "#define FOO 1", NULL},   /* src/b.h line 2 of 2 */
        {2, 0, "a", NULL},               /* src/z.c line 3 of 3 */
    };
    for (size_t i = 0; i < NCASES(w); i++) {
        r = &out.recs[i];
        ck_assert_msg(r->nbefore == w[i].nbefore && r->nafter == w[i].nafter,
                      "record %zu (file %u line %u): %u before, %u after; want %u, %u", i,
                      r->file_id, r->line, r->nbefore, r->nafter, w[i].nbefore, w[i].nafter);
        if (w[i].first_before)
            ck_assert_msg(strcmp(r->before[0], w[i].first_before) == 0,
                          "record %zu: before[0] \"%s\", want \"%s\"", i, r->before[0],
                          w[i].first_before);
        if (w[i].last_after)
            ck_assert_msg(strcmp(r->after[r->nafter - 1], w[i].last_after) == 0,
                          "record %zu: last after \"%s\", want \"%s\"", i, r->after[r->nafter - 1],
                          w[i].last_after);
    }
    /* the empty line 4 of src/a.c is context too */
    ck_assert_msg(strcmp(out.recs[2].after[0], "") == 0, "after[0] of a.c:3 is \"%s\"",
                  out.recs[2].after[0]);
}
END_TEST

START_TEST(test_run_globs)
{
    add_files();
    static const struct {
        const char *path, *exclude;
        uint64_t lines, files_;
        uint32_t first_id, last_id;
    } c[] = {
        {"src", "", 4, 3, 1, 4},
        {"*.h", "", 1, 1, 2, 2},
        {"", "*.c", 2, 2, 0, 2},
        {"src", "b.h", 3, 2, 1, 4},
        {"docs/**,src/z.c", "", 2, 2, 0, 4},
        {"*.{md,h}", "", 2, 2, 0, 2},
        {"", "src", 1, 1, 0, 0},
        {"src/a.c", "src/a.c", 0, 0, 0, 0},
        {"nothing/here", "", 0, 0, 0, 0},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        char what[96];
        snprintf(what, sizeof what, "path \"%s\" exclude \"%s\"", c[i].path, c[i].exclude);
        run("foo", 0, 1000, 0, c[i].path, c[i].exclude);
        check_done(what, MSG_ST_DONE, c[i].lines, c[i].files_);
        ck_assert_msg(out.nrecs == c[i].lines, "%s: %zu records", what, out.nrecs);
        if (out.nrecs)
            ck_assert_msg(out.recs[0].file_id == c[i].first_id &&
                              out.recs[out.nrecs - 1].file_id == c[i].last_id,
                          "%s: files %u..%u, want %u..%u", what, out.recs[0].file_id,
                          out.recs[out.nrecs - 1].file_id, c[i].first_id, c[i].last_id);
    }
}
END_TEST

START_TEST(test_run_order)
{
    add_files();
    /* Every line matches: records strictly in (file id, line) order, line
     * numbers 1-based and contiguous within a file. */
    run("", 0, 1000, 0, "", "");
    uint64_t lines = 0;
    for (size_t i = 0; i < NCASES(files); i++) {
        const char *t = files[i].text;
        size_t n = strlen(t);
        for (size_t k = 0; k < n; k++)
            lines += t[k] == '\n';
        if (n && t[n - 1] != '\n')
            lines++;
    }
    check_done("empty pattern", MSG_ST_DONE, lines, 4);
    ck_assert_msg(out.nrecs == lines, "%zu records, want %llu", out.nrecs,
                  (unsigned long long)lines);
    uint32_t prev_file = 0, prev_line = 0;
    for (size_t i = 0; i < out.nrecs; i++) {
        const struct rec *r = &out.recs[i];
        bool next = r->file_id == prev_file ? r->line == prev_line + 1
                                            : r->file_id > prev_file && r->line == 1;
        ck_assert_msg(next, "record %zu is file %u line %u after file %u line %u", i, r->file_id,
                      r->line, prev_file, prev_line);
        ck_assert_msg(r->file_id != 3, "the empty file src/empty.c has a matching line");
        prev_file = r->file_id;
        prev_line = r->line;
    }
}
END_TEST

START_TEST(test_run_no_cross_newline)
{
    add_files();
    /* grep semantics: a match lies within one line. */
    static const char *const pats[] = {"a\\s+b", "int foo;\\nint",     "foo;\\s*int",
                                       "a[^x]b", "Title[\\s\\S]*docs", "\\n"};
    for (size_t i = 0; i < NCASES(pats); i++) {
        run(pats[i], 0, 1000, 0, "", "");
        check_done(pats[i], MSG_ST_DONE, 0, 0);
    }
    /* Candidates that cross newlines (from each line before it) do not
     * hide the real match on a later line, nor give it a wrong range. */
    run("[^x]+bar", 0, 1000, 0, "", "");
    check_done("[^x]+bar", MSG_ST_DONE, 1, 1);
    static const struct want_rec w[] = {{1, 2, "int bar;"}};
    check_records("[^x]+bar", w, NCASES(w));
    check_ranges(0, (const uint32_t[]){0, 7}, 1);
}
END_TEST

START_TEST(test_run_anchors)
{
    add_files();
    run("^foo", 0, 1000, 0, "", "");
    check_done("^foo", MSG_ST_DONE, 3, 3);
    static const struct want_rec w[] = {{0, 2, "foo in docs"}, {1, 3, "foo(foo);"}, {4, 3, "foo"}};
    check_records("^foo", w, NCASES(w));
    check_ranges(1, (const uint32_t[]){0, 3}, 1);

    run("foo$", 0, 1000, 0, "", "");
    check_done("foo$", MSG_ST_DONE, 1, 1);
    ck_assert_msg(out.recs[0].file_id == 4, "foo$ matched file %u", out.recs[0].file_id);

    run("^$", 0, 1000, 0, "", "");
    check_done("^$", MSG_ST_DONE, 1, 1);
    ck_assert_msg(out.recs[0].file_id == 1 && out.recs[0].line == 4 && out.recs[0].nranges == 0,
                  "^$: file %u line %u, %u ranges", out.recs[0].file_id, out.recs[0].line,
                  out.recs[0].nranges);
}
END_TEST

START_TEST(test_run_line_mode)
{
    add_files();
    static const struct {
        const char *pattern;
        uint64_t lines, files_;
    } c[] = {
        {"(?<=void )foo", 1, 1}, {"(?<!int )foo", 4, 4}, {"\\Afoo", 3, 3},
        {"foo\\z", 1, 1},        {"(?<=^)foo", 3, 3},    {"\\Aa\\z", 1, 1},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        run(c[i].pattern, 0, 1000, 0, "", "");
        check_done(c[i].pattern, MSG_ST_DONE, c[i].lines, c[i].files_);
    }
    run("(?<=void )foo", 0, 1000, 0, "", "");
    ck_assert_msg(out.nrecs == 1 && out.recs[0].file_id == 2 && out.recs[0].line == 2,
                  "(?<=void )foo: %zu records", out.nrecs);
    check_ranges(0, (const uint32_t[]){5, 8}, 1);
    run("(?<!int )foo", 0, 1000, 0, "", "");
    check_ranges(1, (const uint32_t[]){0, 3, 4, 7}, 2); /* src/a.c line 3 */
}
END_TEST

START_TEST(test_run_nothing_after_line_end)
{
    /* A line is matched alone: after its last character there is nothing,
     * not a newline and the next line.  Constructs that cannot backtrack
     * out of what follows must see that too (grep -P agrees on each). */
    static const struct {
        const char *pattern, *lines;
        uint64_t want;
    } c[] = {
        {"foo(?!\\s)", "1 3 4", 3}, /* negative lookahead at the line's end */
        {"foo\\s*+$", "1 4", 2},    /* possessive quantifier */
        {"foo(?>\\s*)$", "1 4", 2}, /* atomic group */
    };
    const char *text = "foo\nfoo bar\nfoox\nbar foo\n";
    char failures[512] = "";
    corpus_add(&corp, 0, "t.txt", text, strlen(text));
    for (size_t i = 0; i < NCASES(c); i++) {
        run(c[i].pattern, 0, 1000, 0, "", "");
        char got[64] = "";
        for (size_t k = 0; k < out.nrecs && strlen(got) < 50; k++)
            snprintf(got + strlen(got), sizeof got - strlen(got), " %u", out.recs[k].line);
        if (out.done.matched_lines != c[i].want)
            snprintf(failures + strlen(failures), sizeof failures - strlen(failures),
                     "%s/%s/: %llu lines (%s), want %llu (%s)", failures[0] ? "; " : "",
                     c[i].pattern, (unsigned long long)out.done.matched_lines,
                     got[0] ? got + 1 : "none", (unsigned long long)c[i].want, c[i].lines);
    }
    ck_assert_msg(!failures[0], "over \"foo|foo bar|foox|bar foo\": %s", failures);
}
END_TEST

START_TEST(test_run_bad_pattern)
{
    add_files();
    run("foo(", 0, 1000, 0, "", "");
    ck_assert_msg(out.n == 1 && out.batches == 0, "%zu messages, %u batches; want DONE alone",
                  out.n, out.batches);
    check_done("foo(", MSG_ST_FAILED, 0, 0);
    ck_assert_msg(strstr(out.error, "parenthesis") != NULL, "error \"%s\"", out.error);

    run("caf\xe9", 0, 1000, 0, "", "");
    check_done("invalid UTF-8 pattern", MSG_ST_FAILED, 0, 0);
    ck_assert_msg(strstr(out.error, "UTF-8") != NULL, "error \"%s\"", out.error);
}
END_TEST

START_TEST(test_run_cancelled)
{
    add_files();
    out.stop = true;
    run("foo", 0, 1000, 0, "", "");
    ck_assert_msg(out.done.status == MSG_ST_CANCELLED, "DONE status %u, want CANCELLED (%u)",
                  out.done.status, MSG_ST_CANCELLED);
    ck_assert_msg(out.stop_asks >= 1, "should_stop was never asked");
}
END_TEST

START_TEST(test_run_empty_corpus)
{
    run("foo", 0, 1000, 0, "", "");
    check_done("empty corpus", MSG_ST_DONE, 0, 0);
    ck_assert_msg(out.n == 1, "%zu messages", out.n);
}
END_TEST

/* A file of n lines "line NNNNNN ...", "hit" on every every-th line. */
static void add_big_file(uint32_t id, const char *path, size_t nlines, size_t every)
{
    const size_t width = 64;
    huge = xmalloc(nlines * width + 1);
    for (size_t i = 0; i < nlines; i++) {
        char *l = huge + i * width;
        int k = snprintf(l, width, "line %06zu %s", i + 1, i % every == every - 1 ? "hit" : "---");
        memset(l + k, '.', width - 1 - (size_t)k);
        l[width - 1] = '\n';
    }
    corpus_add(&corp, id, path, huge, nlines * width);
}

START_TEST(test_run_many_batches)
{
    add_big_file(0, "big.txt", 5000, 1);
    run("hit", 0, 100000, 0, "", "");
    check_done("5000 hits", MSG_ST_DONE, 5000, 1);
    ck_assert_msg(out.nrecs == 5000, "%zu records", out.nrecs);
    ck_assert_msg(out.batches > 1, "5000 records in %u batch(es)", out.batches);
    for (size_t i = 0; i < out.n; i++)
        ck_assert_msg(out.len[i] <= MSG_MAX, "message %zu is %zu bytes", i, out.len[i]);
    for (size_t i = 0; i < out.nrecs; i++)
        if (out.recs[i].line != i + 1)
            ck_abort_msg("record %zu has line %u", i, out.recs[i].line);
}
END_TEST

START_TEST(test_run_segments)
{
    /* More than SEARCH_SEGMENT of text: the scan goes segment by segment
     * and asks should_stop between them, without losing a line. */
    const size_t nlines = (5 * SEARCH_SEGMENT / 2) / 64; /* 2.5 of the largest segments */
    add_big_file(0, "big.txt", nlines, 997);
    uint64_t want = nlines / 997;
    run("hit", 0, 100000, 0, "", "");
    check_done("segments", MSG_ST_DONE, want, 1);
    ck_assert_msg(out.stop_asks >= 2, "should_stop asked %u times over 2.5 segments",
                  out.stop_asks);
    ck_assert_msg(out.nrecs == want, "%zu records, want %llu", out.nrecs, (unsigned long long)want);
    for (size_t i = 0; i < out.nrecs; i++)
        ck_assert_msg(out.recs[i].line == 997 * (i + 1), "record %zu has line %u, want %zu", i,
                      out.recs[i].line, 997 * (i + 1));
    /* line mode takes the same path through the segments */
    run("(?<=\\d )hit", 0, 100000, 0, "", "");
    check_done("segments, line mode", MSG_ST_DONE, want, 1);
    ck_assert_msg(out.nrecs == want && out.recs[want - 1].line == 997 * want,
                  "line mode: %zu records", out.nrecs);
}
END_TEST

START_TEST(test_run_cancel_between_segments)
{
    /* should_stop says yes at once: the search stops after its first
     * segment (at most SEARCH_SEGMENT bytes, ending on a line boundary),
     * and DONE counts what was searched. */
    const size_t nlines = (5 * SEARCH_SEGMENT / 2) / 64;
    add_big_file(0, "big.txt", nlines, 1); /* every line matches */
    out.stop = true;
    run("hit", 0, 0, 0, "", "");
    ck_assert_msg(out.done.status == MSG_ST_CANCELLED, "status %u, want CANCELLED",
                  out.done.status);
    ck_assert_msg(out.stop_asks == 1, "should_stop asked %u times after saying yes", out.stop_asks);
    ck_assert_msg(out.done.matched_lines > 0 && out.done.matched_lines <= SEARCH_SEGMENT / 64 + 1,
                  "cancelled after one segment: %llu of %zu lines counted",
                  (unsigned long long)out.done.matched_lines, nlines);
    ck_assert_msg(out.done.matched_files == 1, "matched_files %llu",
                  (unsigned long long)out.done.matched_files);
}
END_TEST

/* A line of lead bytes of filler, then "needle", then tail bytes. */
static char *long_line(const char *filler, size_t lead, size_t tail)
{
    size_t fl = strlen(filler);
    char *s = xmalloc(lead + 6 + tail + 2);
    size_t o = 0;
    for (size_t i = 0; i < lead / fl; i++, o += fl)
        memcpy(s + o, filler, fl);
    memcpy(s + o, "needle", 6);
    o += 6;
    for (size_t i = 0; i < tail / fl; i++, o += fl)
        memcpy(s + o, filler, fl);
    s[o++] = '\n';
    s[o] = '\0';
    return s;
}

START_TEST(test_run_clipped)
{
    huge = long_line("x", 2000, 1000);
    corpus_add(&corp, 0, "long.txt", huge, strlen(huge));
    run("needle", 0, 1000, 0, "", "");
    check_done("long line", MSG_ST_DONE, 1, 1);
    ck_assert_msg(out.nrecs == 1, "%zu records", out.nrecs);
    const struct rec *r = &out.recs[0];
    ck_assert_msg(r->flags & MSG_RF_CLIPPED, "flags %u: not clipped", r->flags);
    ck_assert_msg(r->text_len <= SEARCH_TEXT_MAX && r->text_len > 0, "text of %u bytes",
                  r->text_len);
    ck_assert_msg(r->column > 0 && r->column <= 2000, "column %u", r->column);
    ck_assert_msg(memcmp(r->text, huge + r->column, r->text_len) == 0,
                  "the text is not the line from column %u", r->column);
    ck_assert_msg(r->nranges == 1 && r->ranges[1] - r->ranges[0] == 6 &&
                      memcmp(r->text + r->ranges[0], "needle", 6) == 0,
                  "range [%u,%u) does not cover the needle", r->ranges[0], r->ranges[1]);
    ck_assert_msg(r->column + r->ranges[0] == 2000, "needle at %u + %u, want 2000", r->column,
                  r->ranges[0]);
}
END_TEST

START_TEST(test_run_clipped_utf8)
{
    /* 3-byte characters: the window and the context lines cut between
     * characters. */
    char *ctx = long_line("\xe2\x82\xac", 3000, 0); /* "€€€...needle" */
    huge = long_line("\xe2\x82\xac", 1500, 1500);
    size_t n1 = strlen(ctx), n2 = strlen(huge);
    char *text = xmalloc(n1 + n2 + 1);
    memcpy(text, ctx, n1);
    memcpy(text + n1, huge, n2 + 1);
    free(ctx);
    corpus_add(&corp, 0, "euro.txt", text, n1 + n2);
    free(text);
    const char *pat = "needle(?=\\x{20ac})"; /* only line 2 */
    const struct msg_query q = {.max = 10,
                                .context = 1,
                                .timeout_ms = TIMEOUT_MS,
                                .pattern = pat,
                                .pattern_len = (uint32_t)strlen(pat),
                                .path = "",
                                .exclude = ""};
    run_q(&q);
    check_done("euro line", MSG_ST_DONE, 1, 1);
    const struct rec *r = &out.recs[0];
    ck_assert_msg(r->line == 2 && (r->flags & MSG_RF_CLIPPED), "line %u flags %u", r->line,
                  r->flags);
    ck_assert_msg(r->text_len <= SEARCH_TEXT_MAX && utf8_valid(r->text, r->text_len, NULL),
                  "window of %u bytes is not whole characters", r->text_len);
    ck_assert_msg(r->column % 3 == 0, "column %u is inside a character", r->column);
    ck_assert_msg(r->nranges == 1 && memcmp(r->text + r->ranges[0], "needle", 6) == 0,
                  "the range does not cover the needle");
    ck_assert_msg(r->nbefore == 1 && strlen(r->before[0]) <= SEARCH_TEXT_MAX &&
                      utf8_valid(r->before[0], strlen(r->before[0]), NULL),
                  "context line of %zu bytes", r->nbefore ? strlen(r->before[0]) : 0);
    ck_assert_msg(strlen(r->before[0]) > SEARCH_TEXT_MAX - 4, "context line cut to %zu bytes",
                  strlen(r->before[0]));
}
END_TEST

START_TEST(test_run_clipped_match_at_end)
{
    /* A long line of 3-byte characters whose match is its last character:
     * the window must still hold the match. */
    const char *euro = "\xe2\x82\xac";
    huge = xmalloc(3 * 1000 + 2);
    for (size_t i = 0; i < 1000; i++)
        memcpy(huge + 3 * i, euro, 3);
    strcpy(huge + 3000, "\n");
    corpus_add(&corp, 0, "euro.txt", huge, 3001);
    run("\\x{20ac}$", 0, 1000, 0, "", "");
    check_done("euro at the end", MSG_ST_DONE, 1, 1);
    const struct rec *r = &out.recs[0];
    ck_assert_msg(r->nranges == 1,
                  "the match [2997,3000) is outside the sent window [%u,%u): %u ranges", r->column,
                  r->column + r->text_len, r->nranges);
    ck_assert_msg(r->column + r->ranges[0] == 2997 && r->ranges[1] - r->ranges[0] == 3,
                  "range [%u,%u) at column %u", r->ranges[0], r->ranges[1], r->column);
}
END_TEST

START_TEST(test_run_limit)
{
    /* A line PCRE2 gives up on is counted in limit_hits, not as a match;
     * the other lines are still searched. */
    char line[128];
    memset(line, 'a', 40);
    strcpy(line + 40, "b\naaa\n");
    corpus_add(&corp, 0, "evil.txt", line, strlen(line));
    run("(a+)+$", 0, 1000, 0, "", "");
    ck_assert_msg(out.done.status == MSG_ST_DONE, "status %u", out.done.status);
    ck_assert_msg(out.done.matched_lines == 1 && out.nrecs == 1 && out.recs[0].line == 2,
                  "matched %llu lines", (unsigned long long)out.done.matched_lines);
    if (out.done.limit_hits > 0)
        ck_assert_msg(out.error[0] != '\0', "limit_hits %u without an error text",
                      out.done.limit_hits);
}
END_TEST

/* ------------------------------------------------------------------ */
/* search_clip                                                         */
/* ------------------------------------------------------------------ */

static void clip(const char *line, size_t len, uint32_t start, uint32_t end, int nr, size_t *ws,
                 size_t *we)
{
    struct mrange r = {start, end};
    search_clip(line, len, &r, nr, ws, we);
}

START_TEST(test_clip_short)
{
    size_t ws = 99, we = 99;
    char *line = xcalloc(1, SEARCH_TEXT_MAX + 1);
    memset(line, 'x', SEARCH_TEXT_MAX);
    clip(line, 10, 3, 5, 1, &ws, &we);
    bool ok10 = ws == 0 && we == 10;
    clip(line, SEARCH_TEXT_MAX, 1000, 1010, 1, &ws, &we);
    bool ok_max = ws == 0 && we == SEARCH_TEXT_MAX;
    clip(line, 0, 0, 0, 0, &ws, &we);
    bool ok0 = ws == 0 && we == 0;
    free(line);
    ck_assert_msg(ok10, "a 10-byte line was clipped");
    ck_assert_msg(ok_max, "a line of exactly SEARCH_TEXT_MAX bytes was clipped");
    ck_assert_msg(ok0, "an empty line was clipped");
}
END_TEST

START_TEST(test_clip_ascii)
{
    static const struct {
        uint32_t start;
        int nr;
        size_t ws, we;
    } c[] = {
        {2000, 1, 1872, 1872 + SEARCH_TEXT_MAX}, /* 128 bytes of lead */
        {50, 1, 0, SEARCH_TEXT_MAX},             /* near the start */
        {128, 1, 0, SEARCH_TEXT_MAX},
        {2990, 1, 3000 - SEARCH_TEXT_MAX, 3000}, /* near the end */
        {0, 0, 0, SEARCH_TEXT_MAX},              /* no range: the start */
    };
    char *line = xmalloc(3000);
    memset(line, 'x', 3000);
    for (size_t i = 0; i < NCASES(c); i++) {
        size_t ws = 99, we = 99;
        clip(line, 3000, c[i].start, c[i].start + 5, c[i].nr, &ws, &we);
        if (ws != c[i].ws || we != c[i].we) {
            free(line);
            ck_abort_msg("range at %u: window [%zu,%zu), want [%zu,%zu)", c[i].start, ws, we,
                         c[i].ws, c[i].we);
        }
    }
    size_t ws, we;
    clip(line, SEARCH_TEXT_MAX + 1, 1000, 1001, 1, &ws, &we);
    free(line);
    ck_assert_msg(we - ws == SEARCH_TEXT_MAX && ws == 1,
                  "a line one byte too long: window [%zu,%zu)", ws, we);
}
END_TEST

/* For lines of 2-, 3- and 4-byte characters (and a mix), a range at every
 * character from first_at (a fraction of the line) on: the window is
 * whole characters, at most SEARCH_TEXT_MAX bytes and not much less, and
 * holds the range's start.  Returns a failure description, or "". */
static const char *clip_utf8_cases(double from, double to)
{
    static const char *const chars[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                        "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"};
    static char failure[200];
    failure[0] = '\0';
    for (size_t k = 0; k < NCASES(chars) && !failure[0]; k++) {
        size_t cl = strlen(chars[k]), reps = 3000 / cl, len = reps * cl;
        char *line = xmalloc(len);
        for (size_t i = 0; i < reps; i++)
            memcpy(line + i * cl, chars[k], cl);
        for (size_t at = (size_t)(from * len); at < (size_t)(to * len) && !failure[0]; at++) {
            if (((unsigned char)line[at] & 0xC0) == 0x80)
                continue; /* ranges start on characters */
            size_t ws, we;
            clip(line, len, (uint32_t)at, (uint32_t)at + 1, 1, &ws, &we);
            if (we - ws > SEARCH_TEXT_MAX || ws > at || we <= at || we > len ||
                !utf8_valid(line + ws, we - ws, NULL) || !utf8_valid(line, ws, NULL) ||
                we - ws < SEARCH_TEXT_MAX - 3)
                snprintf(failure, sizeof failure,
                         "%zu-byte characters, line of %zu bytes: range at %zu gives window "
                         "[%zu,%zu)",
                         cl, len, at, ws, we);
        }
        free(line);
    }
    return failure;
}

START_TEST(test_clip_utf8)
{
    /* ranges up to two thirds of a 3000-byte line: the window starts a
     * little before the range */
    const char *failure = clip_utf8_cases(0.0, 2.0 / 3);
    ck_assert_msg(!failure[0], "%s", failure);
}
END_TEST

START_TEST(test_clip_utf8_near_end)
{
    /* ranges in the last third: the window is the line's last
     * SEARCH_TEXT_MAX bytes, cut between characters, and must still hold
     * the range */
    const char *failure = clip_utf8_cases(2.0 / 3, 1.0);
    ck_assert_msg(!failure[0], "%s", failure);
}
END_TEST

/* Records and counts of one run, to compare two runs. */
struct outcome {
    uint64_t lines, files;
    size_t nrecs;
    uint32_t key[64]; /* file_id << 16 | line of the first records */
};

static struct outcome outcome_of(void)
{
    struct outcome o = {out.done.matched_lines, out.done.matched_files, out.nrecs, {0}};
    for (size_t i = 0; i < out.nrecs && i < 64; i++)
        o.key[i] = out.recs[i].file_id << 16 | out.recs[i].line;
    return o;
}

/* The outcome of a search (max 1000) over *other instead of corp. */
static struct outcome outcome_over(struct corpus *other, const char *pattern, uint32_t flags)
{
    struct corpus saved = corp;
    corp = *other;
    run(pattern, flags, 1000, 0, "", "");
    *other = corp;
    corp = saved;
    return outcome_of();
}

static bool same_outcome(const struct outcome *a, const struct outcome *b)
{
    return a->lines == b->lines && a->files == b->files && a->nrecs == b->nrecs &&
           !memcmp(a->key, b->key, sizeof a->key);
}

/* A file of n bytes of whole lines for test_run_eighths_same: words of
 * a small vocabulary, some lines long (past an eighth, or a block), and
 * the marked words placed so that each is often in a block with the
 * others but on another line. */
static char *eighths_file(uint32_t *seed, size_t n)
{
    static const char *const words[] = {"alpha", "beta", "gamma", "delta", "omega",
                                        "int",   "foo",  "(bar)", "x",     "return;"};
    char *t = xmalloc(n + 64);
    size_t at = 0;
    while (at + 8 < n) { /* room for the longest word and its '\n' */
        *seed = *seed * 1103515245u + 12345u;
        unsigned r = *seed >> 16;
        size_t len = r % 97 == 0 ? 2500 + r % 3000 : r % 503 == 0 ? 17000 : 10 + r % 70;
        while (len-- > 0 && at < n) {
            *seed = *seed * 1103515245u + 12345u;
            const char *w = words[(*seed >> 16) % NCASES(words)];
            size_t wl = strlen(w);
            if (at + wl + 1 > n)
                break;
            if (len < wl && at > 0 && t[at - 1] == ' ')
                break; /* the line is long enough */
            memcpy(t + at, w, wl);
            at += wl;
            t[at++] = ' ';
            len = len > wl ? len - wl : 0;
        }
        t[at ? at - 1 : at++] = '\n';
    }
    t[at] = 0;
    return t;
}

START_TEST(test_run_eighths_same)
{
    /* Files of several blocks whose lines start in every eighth: the
     * eighths the index names must hold every match (indexed and plain
     * scans agree, and counting alone agrees). */
    static const char *const patterns[] = {
        "alpha omega", "omega",           "alpha.*omega", "beta\\s+gamma", "(bar) x",
        "^delta",      "return; int$",    "foo (bar)",    "x x x x",       "(alpha|omega) beta",
        "gamma (?=x)", "\\bint\\b alpha",
    };
    struct corpus plain = {0};
    corpus_init(&plain);
    corpus_enable_index(&corp);
    uint32_t seed = 7;
    char *texts[12];
    for (size_t i = 0; i < NCASES(texts); i++) {
        texts[i] = eighths_file(&seed, 1000 + (size_t)i * 6000);
        char path[32];
        snprintf(path, sizeof path, "f%02zu.txt", i);
        corpus_add(&corp, (uint32_t)i, path, texts[i], strlen(texts[i]));
        corpus_add(&plain, (uint32_t)i, path, texts[i], strlen(texts[i]));
    }
    corpus_seal(&corp);
    size_t parts = 0;
    for (size_t p = 0; p < NCASES(patterns); p++) {
        for (uint32_t flags = 0; flags <= MSG_QF_CASELESS; flags += MSG_QF_CASELESS) {
            run(patterns[p], flags, 1000, 0, "", "");
            struct outcome indexed = outcome_of();
            run(patterns[p], flags, 0, 0, "", "");
            ck_assert_msg(out.done.matched_lines == indexed.lines,
                          "/%s/ max 0: %llu lines, want %llu", patterns[p],
                          (unsigned long long)out.done.matched_lines,
                          (unsigned long long)indexed.lines);
            struct outcome scanned = outcome_over(&plain, patterns[p], flags);
            ck_assert_msg(same_outcome(&indexed, &scanned),
                          "/%s/ flags %u: indexed %llu lines %llu files, plain %llu %llu",
                          patterns[p], flags, (unsigned long long)indexed.lines,
                          (unsigned long long)indexed.files, (unsigned long long)scanned.lines,
                          (unsigned long long)scanned.files);
            ck_assert_msg(p > 0 || indexed.lines > 0, "/%s/ matches nothing", patterns[p]);
        }
        /* Some candidates of the plan are parts of their blocks. */
        struct qnode *q = qplan_build(patterns[p], strlen(patterns[p]), false, false);
        size_t n;
        uint8_t *e;
        uint32_t *v = tindex_candidates_eighths(corp.index, q, &n, &e);
        for (size_t i = 0; v && i < n; i++)
            parts += e[i] != 0xFF && corp.blocks[v[i]].len > 8 * 2048;
        free(v);
        free(e);
        qplan_free(q);
    }
    ck_assert_msg(parts > 10, "only %zu candidates were parts of full blocks", parts);
    for (size_t i = 0; i < NCASES(texts); i++)
        free(texts[i]);
    corpus_free(&plain);
}
END_TEST

START_TEST(test_run_pair_counts)
{
    /* Patterns with no anchor but a pair of neighbouring bytes
     * (qplan_pair()) are scanned for the pair: the counts must be the
     * regex's over every line. */
    static const char *const patterns[] = {
        "\\bx\\b",    "\\bin(t|x)\\b", "a(8|16)",     "o;$",         "\\bif\\b",
        "(ga|om)\\w", "x\\s+x",        "(?i)\\bX\\b", "\\b(\\w)\\1",
    };
    uint32_t seed = 11;
    char *texts[6];
    corpus_enable_index(&corp);
    for (size_t i = 0; i < NCASES(texts); i++) {
        texts[i] = eighths_file(&seed, 500 + (size_t)i * 7000);
        char path[32];
        snprintf(path, sizeof path, "p%02zu.txt", i);
        corpus_add(&corp, (uint32_t)i, path, texts[i], strlen(texts[i]));
    }
    corpus_seal(&corp);
    for (size_t p = 0; p < NCASES(patterns); p++) {
        char err[SG_ERRLEN];
        long off;
        struct matcher *m =
            matcher_new(patterns[p], strlen(patterns[p]), false, false, err, sizeof err, &off);
        ck_assert_msg(m, "/%s/: %s", patterns[p], err);
        uint64_t want = 0;
        for (size_t i = 0; i < NCASES(texts); i++)
            for (const char *l = texts[i], *nl; *l; l = nl + 1) {
                nl = strchr(l, '\n');
                want += matcher_test(m, l, (size_t)(nl - l)) == 1;
            }
        matcher_free(m);
        for (uint32_t max = 0; max <= 1000; max += 1000) {
            run(patterns[p], 0, max, 0, "", "");
            ck_assert_msg(out.done.matched_lines == want, "/%s/ max %u: %llu lines, want %llu",
                          patterns[p], max, (unsigned long long)out.done.matched_lines,
                          (unsigned long long)want);
        }
        ck_assert_msg(p > 0 || want > 0, "/%s/ matches nothing", patterns[p]);
    }
    for (size_t i = 0; i < NCASES(texts); i++)
        free(texts[i]);
}
END_TEST

START_TEST(test_run_indexed_same)
{
    /* The trigram index and the anchor literal only choose what to scan:
     * every answer must equal the plain scan's. */
    static const char *const patterns[] = {
        "foo",        "FOO",         "foo\\(",     "int (foo|bar);",
        "(?i)define", "o;$",         "^foo",       "end \\*/",
        "fo+",        "\\bfoo\\b",   "void|Title", "f.o",
        "zzz",        "(?<=int )ba", "d.*s",       "[a-z]+\\(",
        "\\Qfoo(\\E", "o(?=;)",      "oo(?=\\s)",  "t\\s*$",
        "fo\\n",      "x*",
    };
    static const uint32_t flag_sets[] = {0, MSG_QF_CASELESS, MSG_QF_LITERAL,
                                         MSG_QF_LITERAL | MSG_QF_CASELESS};
    struct corpus plain = {0};
    corpus_init(&plain);
    for (size_t i = 0; i < NCASES(files); i++)
        corpus_add(&plain, (uint32_t)i, files[i].path, files[i].text, strlen(files[i].text));
    corpus_enable_index(&corp);
    add_files();
    corpus_seal(&corp);
    ck_assert_msg(tindex_ready(corp.index), "the index is not ready after corpus_seal()");
    for (size_t p = 0; p < NCASES(patterns); p++) {
        for (size_t f = 0; f < NCASES(flag_sets); f++) {
            run(patterns[p], flag_sets[f], 1000, 0, "", "");
            if (out.done.status == MSG_ST_FAILED)
                continue; /* a literal flag on a regex may not compile */
            struct outcome indexed = outcome_of();
            /* Counting without sending takes shortcuts: same counts. */
            run(patterns[p], flag_sets[f], 0, 0, "", "");
            ck_assert_msg(
                out.done.matched_lines == indexed.lines &&
                    out.done.matched_files == indexed.files && out.nrecs == 0,
                "/%s/ flags %u max 0: %llu lines %llu files %zu records, want %llu %llu 0",
                patterns[p], flag_sets[f], (unsigned long long)out.done.matched_lines,
                (unsigned long long)out.done.matched_files, out.nrecs,
                (unsigned long long)indexed.lines, (unsigned long long)indexed.files);
            struct outcome scanned = outcome_over(&plain, patterns[p], flag_sets[f]);
            ck_assert_msg(same_outcome(&indexed, &scanned),
                          "/%s/ flags %u: indexed %llu lines %llu files %zu records, plain %llu "
                          "%llu %zu",
                          patterns[p], flag_sets[f], (unsigned long long)indexed.lines,
                          (unsigned long long)indexed.files, indexed.nrecs,
                          (unsigned long long)scanned.lines, (unsigned long long)scanned.files,
                          scanned.nrecs);
        }
    }
    corpus_free(&plain);
}
END_TEST

START_TEST(test_run_wide_fold)
{
    /* U+212A KELVIN SIGN matches k, U+017F LONG S matches s, caselessly:
     * files holding them are found although their trigrams differ. */
    static const char *const text[] = {
        "p = \xe2\x84\xaamalloc(n);\n", /* KELVIN SIGN + "malloc(" */
        "\xc5\xbftruct x;\n",           /* LONG S + "truct" */
        "p = kmalloc(n);\nstruct y;\n",
    };
    static const char *const paths[] = {"a.c", "b.c", "c.c"};
    corpus_enable_index(&corp);
    for (uint32_t i = 0; i < 3; i++)
        corpus_add(&corp, i, paths[i], text[i], strlen(text[i]));
    corpus_seal(&corp);
    ck_assert_msg(corp.wide_fold == 2, "wide_fold files %u, want 2", corp.wide_fold);
    run("kmalloc\\(", MSG_QF_CASELESS, 1000, 0, "", "");
    check_done("kmalloc\\( caseless", MSG_ST_DONE, 2, 2);
    run("kmalloc(", MSG_QF_CASELESS | MSG_QF_LITERAL, 1000, 0, "", "");
    check_done("kmalloc( literal caseless", MSG_ST_DONE, 2, 2);
    run("struct", MSG_QF_CASELESS, 1000, 0, "", "");
    check_done("struct caseless", MSG_ST_DONE, 2, 2);
    run("kmalloc\\(", 0, 1000, 0, "", "");
    check_done("kmalloc\\( case-sensitive", MSG_ST_DONE, 1, 1);
    run("(?i)STRUCT", 0, 1000, 0, "", "");
    check_done("(?i)STRUCT", MSG_ST_DONE, 2, 2);
}
END_TEST

START_TEST(test_run_blocks)
{
    /* A file of several index blocks: only the block holding the word is
     * a candidate, and lines and counts stay those of the whole file. */
    size_t nlines = 6000, n = nlines * 40;
    char *text = malloc(n + 1);
    for (size_t i = 0; i < nlines; i++)
        snprintf(text + i * 40, 41, "%-39s\n", i == 4321 ? "a rare_needle here" : "filler text");
    huge = text;
    corpus_enable_index(&corp);
    corpus_add(&corp, 0, "big.c", text, n);
    corpus_add(&corp, 1, "z.c", "rare_needle\n", 12);
    corpus_seal(&corp);
    ck_assert_msg(corp.nblocks >= 4, "%zu blocks, want several for %zu bytes", corp.nblocks, n);
    uint32_t flags[] = {0, MSG_QF_CASELESS, MSG_QF_LITERAL};
    for (size_t f = 0; f < NCASES(flags); f++) {
        run("rare_needle", flags[f], 1000, 1, "", "");
        check_done("rare_needle", MSG_ST_DONE, 2, 2);
        static const struct want_rec w[] = {{0, 4322, "a rare_needle here                     "},
                                            {1, 1, "rare_needle"}};
        check_records("rare_needle", w, NCASES(w));
    }
    run("filler", 0, 0, 0, "", "");
    check_done("filler", MSG_ST_DONE, nlines - 1, 1);
}
END_TEST

Suite *suite_search(void)
{
    Suite *s = suite_create("search");
    TCase *tc;

    tc = tcase_create("search_run");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_run_basic);
    tcase_add_test(tc, test_run_indexed_same);
    tcase_add_test(tc, test_run_eighths_same);
    tcase_add_test(tc, test_run_pair_counts);
    tcase_add_test(tc, test_run_wide_fold);
    tcase_add_test(tc, test_run_blocks);
    tcase_add_test(tc, test_run_no_match);
    tcase_add_test(tc, test_run_flags);
    tcase_add_test(tc, test_run_max);
    tcase_add_test(tc, test_run_context);
    tcase_add_test(tc, test_run_globs);
    tcase_add_test(tc, test_run_order);
    tcase_add_test(tc, test_run_no_cross_newline);
    tcase_add_test(tc, test_run_anchors);
    tcase_add_test(tc, test_run_line_mode);
    tcase_add_test(tc, test_run_bad_pattern);
    tcase_add_test(tc, test_run_cancelled);
    tcase_add_test(tc, test_run_empty_corpus);
    tcase_add_test(tc, test_run_nothing_after_line_end);
    tcase_add_test(tc, test_run_many_batches);
    tcase_add_test(tc, test_run_segments);
    tcase_add_test(tc, test_run_cancel_between_segments);
    tcase_add_test(tc, test_run_clipped);
    tcase_add_test(tc, test_run_clipped_utf8);
    tcase_add_test(tc, test_run_clipped_match_at_end);
    tcase_add_test(tc, test_run_limit);
    tcase_add_test(tc, test_run_paths);
    tcase_add_test(tc, test_run_files);
    suite_add_tcase(s, tc);

    tc = tcase_create("search_clip");
    tcase_add_test(tc, test_clip_short);
    tcase_add_test(tc, test_clip_ascii);
    tcase_add_test(tc, test_clip_utf8);
    tcase_add_test(tc, test_clip_utf8_near_end);
    suite_add_tcase(s, tc);

    return s;
}
