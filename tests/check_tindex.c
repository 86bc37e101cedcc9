/*
 * check_tindex.c - unit tests for src/tindex.c: building a worker's
 * trigram index (case folding, lines, empty and tiny files), finishing
 * it, the posting-list counts, the memory it reports, and the candidate
 * files for a query.  Answers are worked out by hand for a small index and
 * by a brute-force evaluator, which reads each file's trigrams straight
 * from its text, for larger random ones.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_suites.h"
#include "qplan.h"
#include "tindex.h"
#include "util.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* The index under test; freed by the checked teardown. */
static struct tindex *ix;

static void setup(void)
{
    ix = NULL;
}

/* The texts given to the index, kept for tindex_finish()'s second pass
 * (the tests build many in a stack buffer that is reused at once). */
static struct {
    char **v;
    size_t *len, n, cap;
} texts;

static void texts_clear(void)
{
    for (size_t i = 0; i < texts.n; i++)
        free(texts.v[i]);
    free(texts.v);
    free(texts.len);
    memset(&texts, 0, sizeof texts);
}

static void add_text(struct tindex *t, const char *s, size_t n)
{
    if (texts.n == texts.cap) {
        texts.cap = texts.cap ? 2 * texts.cap : 64;
        texts.v = xrealloc(texts.v, texts.cap * sizeof *texts.v);
        texts.len = xrealloc(texts.len, texts.cap * sizeof *texts.len);
    }
    texts.v[texts.n] = xmalloc(n ? n : 1);
    memcpy(texts.v[texts.n], s, n);
    texts.len[texts.n++] = n;
    tindex_add(t, s, n);
}

static void text_of(void *ctx, uint32_t i, const char **s, size_t *n)
{
    (void)ctx;
    ck_assert_msg(i < texts.n, "tindex_finish asked for file %u of %zu", i, texts.n);
    *s = texts.v[i];
    *n = texts.len[i];
}

static void finish(struct tindex *t)
{
    tindex_finish(t, text_of, NULL);
    texts_clear();
}

static void teardown(void)
{
    tindex_free(ix);
    ix = NULL;
    texts_clear();
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* Three bytes as a key, unfolded. */
static uint32_t key(const char *s)
{
    return (uint32_t)(unsigned char)s[0] << 16 | (uint32_t)(unsigned char)s[1] << 8 |
           (unsigned char)s[2];
}

static uint32_t folded_at(const char *s, size_t i)
{
    return (uint32_t)qplan_fold((unsigned char)s[i]) << 16 |
           (uint32_t)qplan_fold((unsigned char)s[i + 1]) << 8 | qplan_fold((unsigned char)s[i + 2]);
}

/* Whether text holds the folded trigram on one line. */
static bool has_tri(const char *s, size_t n, uint32_t tri)
{
    for (size_t i = 0; i + 3 <= n; i++)
        if (s[i] != '\n' && s[i + 1] != '\n' && s[i + 2] != '\n' && folded_at(s, i) == tri)
            return true;
    return false;
}

/* Hand-built query trees (test-owned memory, freed by tree_free). */
static struct qnode *qn(enum qnode_kind kind, uint32_t tri)
{
    struct qnode *n = xcalloc(1, sizeof *n);
    n->kind = kind;
    n->key = tri;
    return n;
}

static void qn_add(struct qnode *parent, struct qnode *kid)
{
    parent->kids = xrealloc(parent->kids, (parent->nkids + 1) * sizeof *parent->kids);
    parent->kids[parent->nkids++] = kid;
}

/* A tree from the text qplan_describe() writes: "and(abc,or(xyz,all))".
 * A leaf is "all" or three bytes, taken as they are (not folded). */
static struct qnode *parse_query_at(const char **s)
{
    bool is_and = !strncmp(*s, "and(", 4), is_or = !strncmp(*s, "or(", 3);
    if (is_and || is_or) {
        struct qnode *n = qn(is_and ? QN_AND : QN_OR, 0);
        *s += is_and ? 4 : 3;
        while (**s && **s != ')') {
            qn_add(n, parse_query_at(s));
            if (**s == ',')
                ++*s;
        }
        if (**s == ')')
            ++*s;
        return n;
    }
    if (!strncmp(*s, "all", 3)) {
        *s += 3;
        return qn(QN_ALL, 0);
    }
    ck_assert_msg((*s)[0] && (*s)[1] && (*s)[2], "bad query text at \"%s\"", *s);
    struct qnode *n = qn(QN_KEY, key(*s));
    *s += 3;
    return n;
}

static struct qnode *parse_query(const char *text)
{
    return parse_query_at(&text);
}

static void tree_free(struct qnode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        tree_free(n->kids[i]);
    free(n->kids);
    free(n);
}

/* "{3,4,6}" (or "NULL") for messages; a few rotating buffers. */
static const char *list_str(const uint32_t *v, size_t n)
{
    static char bufs[4][400];
    static unsigned next;
    char *b = bufs[next++ % 4];
    if (!v) {
        snprintf(b, sizeof bufs[0], "NULL");
        return b;
    }
    size_t o = (size_t)snprintf(b, sizeof bufs[0], "{");
    for (size_t i = 0; i < n && o < sizeof bufs[0] - 24; i++)
        o += (size_t)snprintf(b + o, sizeof bufs[0] - o, "%s%u", i ? "," : "", v[i]);
    snprintf(b + o, sizeof bufs[0] - o, n && o >= sizeof bufs[0] - 24 ? ",...}" : "}");
    return b;
}

static void build(const char *const *files, const size_t *lens, size_t n)
{
    ix = tindex_new();
    for (size_t i = 0; i < n; i++)
        add_text(ix, files[i], lens ? lens[i] : strlen(files[i]));
    finish(ix);
}

/* Candidates for the query (qplan_describe() text), compared with want
 * (want_all: NULL expected). */
static void check_cands(const char *query, bool want_all, const uint32_t *want, size_t nwant)
{
    struct qnode *q = parse_query(query);
    size_t n = 123456;
    uint32_t *got = tindex_candidates(ix, q, &n);
    bool ok =
        want_all ? got == NULL : got != NULL && n == nwant && (n == 0 || !memcmp(got, want, n * 4));
    char msg[600];
    snprintf(msg, sizeof msg, "tindex_candidates(%s) = %s, want %s", query,
             list_str(got, got ? n : 0), want_all ? "NULL" : list_str(want, nwant));
    free(got);
    tree_free(q);
    ck_assert_msg(ok, "%s", msg);
}

#define WANT(...) false, (const uint32_t[]){__VA_ARGS__}, NCASES(((const uint32_t[]){__VA_ARGS__}))
#define WANT_NONE false, NULL, 0
#define WANT_ALL  true, NULL, 0

/* ------------------------------------------------------------------ */
/* The small index                                                     */
/* ------------------------------------------------------------------ */

static const char *const small_files[] = {
    "",             /* 0: empty */
    "a",            /* 1 */
    "ab",           /* 2 */
    "abc",          /* 3: abc */
    "ABC\nxyz",     /* 4: abc, xyz (folded) */
    "ab\ncd\nef",   /* 5: none: no trigram crosses a newline */
    "abcabcabc",    /* 6: abc, bca, cab (one posting each) */
    "zAbCz\n\nqqq", /* 7: zab, abc, bcz, qqq */
    "x\nyz",        /* 8: none */
    "xyz",          /* 9: xyz */
    "CAF\xc3\x89",  /* 10: caf, af\xc3, f\xc3\x89 (É stays É) */
    "caf\xc3\xa9",  /* 11: caf, af\xc3, f\xc3\xa9 */
    "a\0bc",        /* 12: a\0b, \0bc (a NUL is a byte like any) */
};
static const size_t small_lens[] = {0, 1, 2, 3, 7, 8, 9, 10, 4, 3, 5, 5, 4};

static void build_small(void)
{
    build(small_files, small_lens, NCASES(small_files));
}

/* ------------------------------------------------------------------ */
/* tindex_new / tindex_ready / tindex_finish                           */
/* ------------------------------------------------------------------ */

START_TEST(test_ready_states)
{
    ix = tindex_new();
    ck_assert_msg(ix != NULL, "tindex_new returned NULL");
    ck_assert_msg(!tindex_ready(ix), "a new index is ready");
    add_text(ix, "abc", 3);
    add_text(ix, "", 0);
    ck_assert_msg(!tindex_ready(ix), "an index being built is ready");
    finish(ix);
    ck_assert_msg(tindex_ready(ix), "a finished index is not ready");
}
END_TEST

START_TEST(test_finish_empty)
{
    /* No files at all, or only files without trigrams: still ready, and
     * a trigram query finds nothing (an empty list, not NULL). */
    ix = tindex_new();
    finish(ix);
    ck_assert_msg(tindex_ready(ix), "an index of no files is not ready after tindex_finish");
    ck_assert_msg(tindex_count(ix, key("abc")) == 0, "count(abc) = %zu in an empty index",
                  tindex_count(ix, key("abc")));
    check_cands("abc", WANT_NONE);
    tindex_free(ix);

    static const char *const f[] = {"", "ab", "a\nbc", "\n\n\n"};
    build(f, NULL, NCASES(f));
    ck_assert_msg(tindex_ready(ix), "an index of short files is not ready");
    check_cands("abc", WANT_NONE);
    check_cands("all", WANT_ALL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* tindex_add / tindex_count                                           */
/* ------------------------------------------------------------------ */

START_TEST(test_count_small)
{
    static const struct {
        const char *tri;
        size_t want;
    } c[] = {
        {"abc", 4},
        {"xyz", 2},
        {"bca", 1},
        {"cab", 1},
        {"zab", 1},
        {"bcz", 1},
        {"qqq", 1},
        {"caf", 2},
        {"af\xc3", 2},
        {"f\xc3\xa9", 1},
        {"f\xc3\x89", 1},
        {"a\0b", 1},
        {"\0bc", 1},
        /* nothing across a newline */
        {"ab\n", 0},
        {"b\nc", 0},
        {"\nxy", 0},
        {"c\nx", 0},
        {"z\n\n", 0},
        {"\n\nq", 0},
        {"\ncd", 0},
        {"x\ny", 0},
        /* keys are folded: an upper-case key is never in the index */
        {"ABC", 0},
        {"Abc", 0},
        {"CAF", 0},
        /* absent */
        /* nor across files ("a" "ab" "abc" were added one after another) */
        {"aab", 0},
        {"aba", 0},
        {"bab", 0},
        {"bcd", 0},
        {"zzz", 0},
        {"\0\0\0", 0},
        {"\xff\xff\xff", 0},
    };
    build_small();
    for (size_t i = 0; i < NCASES(c); i++) {
        size_t got = tindex_count(ix, key(c[i].tri));
        ck_assert_msg(got == c[i].want, "tindex_count(\"%c%c%c\" = 0x%06x) = %zu, want %zu",
                      c[i].tri[0] >= 0x20 && c[i].tri[0] < 0x7f ? c[i].tri[0] : '?',
                      c[i].tri[1] >= 0x20 && c[i].tri[1] < 0x7f ? c[i].tri[1] : '?',
                      c[i].tri[2] >= 0x20 && c[i].tri[2] < 0x7f ? c[i].tri[2] : '?', key(c[i].tri),
                      got, c[i].want);
    }
}
END_TEST

START_TEST(test_count_large_file)
{
    /* One file with far more distinct trigrams than the first block of
     * pending keys holds, between two small ones: every trigram of the
     * text is counted once, and nothing else is there. */
    enum { N = 300000 };
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789_-.:;,!?/+*=#@$%&~^<>[]{}()|";
    char *text = xmalloc(N);
    uint32_t x = 12345;
    for (size_t i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        text[i] = alpha[(x >> 16) % (sizeof alpha - 1)];
    }
    uint8_t *bits = xcalloc(1u << 21, 1);
    size_t distinct = 0;
    for (size_t i = 0; i + 3 <= N; i++) {
        uint32_t k = folded_at(text, i);
        if (!(bits[k >> 3] & (1u << (k & 7)))) {
            bits[k >> 3] |= (uint8_t)(1u << (k & 7));
            distinct++;
        }
    }
    ix = tindex_new();
    add_text(ix, "xyz", 3);
    add_text(ix, text, N);
    add_text(ix, "abc", 3);
    finish(ix);
    size_t bad = 0, first_bad = 0, got_first = 0;
    for (size_t i = 0; i + 3 <= N; i += 7) {
        uint32_t k = folded_at(text, i);
        size_t want = 1 + (k == key("xyz")) + (k == key("abc"));
        size_t got = tindex_count(ix, k);
        if (got != want && bad++ == 0) {
            first_bad = k;
            got_first = got;
        }
    }
    /* keys the text does not hold */
    size_t absent_checked = 0;
    for (uint32_t k = 0x616161; k < 0x616161 + 200000; k += 97) {
        if (bits[k >> 3] & (1u << (k & 7)))
            continue;
        absent_checked++;
        size_t want = (k == key("xyz")) + (k == key("abc"));
        if (tindex_count(ix, k) != want && bad++ == 0) {
            first_bad = k;
            got_first = tindex_count(ix, k);
        }
    }
    free(bits);
    free(text);
    ck_assert_msg(distinct > 65536, "the test text has only %zu distinct trigrams", distinct);
    ck_assert_msg(absent_checked > 100, "only %zu absent keys checked", absent_checked);
    ck_assert_msg(bad == 0,
                  "%zu wrong counts in a file of %zu distinct trigrams; first: key "
                  "0x%06zx counted %zu",
                  bad, distinct, first_bad, got_first);
}
END_TEST

START_TEST(test_count_many_files)
{
    /* More files than the first block of file ends holds. */
    enum { NF = 2500 };
    ix = tindex_new();
    for (unsigned i = 0; i < NF; i++) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%s%u", i % 2 ? "ODD" : "even", i % 10);
        add_text(ix, buf, (size_t)n);
    }
    finish(ix);
    size_t odd = tindex_count(ix, key("odd")), eve = tindex_count(ix, key("eve"));
    size_t d7 = tindex_count(ix, key("dd7")), n4 = tindex_count(ix, key("en4"));
    ck_assert_msg(odd == NF / 2 && eve == NF / 2, "count(odd) = %zu, count(eve) = %zu, want %d",
                  odd, eve, NF / 2);
    ck_assert_msg(d7 == NF / 10 && n4 == NF / 10, "count(dd7) = %zu, count(en4) = %zu, want %d", d7,
                  n4, NF / 10);
    struct qnode *q = parse_query("and(odd,dd9)");
    size_t n = 0;
    uint32_t *v = tindex_candidates(ix, q, &n);
    bool ok = v && n == NF / 10;
    for (size_t i = 0; ok && i < n; i++)
        ok = v[i] == 10 * i + 9;
    char msg[500];
    snprintf(msg, sizeof msg, "odd AND dd9 over %d files: %zu candidates %s", NF, n,
             list_str(v, v ? n : 0));
    free(v);
    tree_free(q);
    ck_assert_msg(ok, "%s, want every file 10k+9", msg);
}
END_TEST

/* ------------------------------------------------------------------ */
/* tindex_candidates                                                   */
/* ------------------------------------------------------------------ */

START_TEST(test_candidates_small)
{
    build_small();
    check_cands("abc", WANT(3, 4, 6, 7));
    check_cands("ABC", WANT_NONE); /* an unfolded key */
    check_cands("zzz", WANT_NONE);
    check_cands("and(abc,xyz)", WANT(4));
    check_cands("and(xyz,abc)", WANT(4));
    check_cands("and(abc,zzz)", WANT_NONE);
    check_cands("and(abc,abc,abc)", WANT(3, 4, 6, 7));
    check_cands("and(caf,f\xc3\xa9)", WANT(11));
    check_cands("or(xyz,cab)", WANT(4, 6, 9));
    check_cands("or(abc,xyz)", WANT(3, 4, 6, 7, 9)); /* 4 holds both: listed once */
    check_cands("or(abc,abc)", WANT(3, 4, 6, 7));
    check_cands("or(zzz,qqq)", WANT(7));
    check_cands("or(zzz,yyy)", WANT_NONE);
    check_cands("or(or(xyz,caf),or(qqq,xyz))", WANT(4, 7, 9, 10, 11));
    check_cands("and(or(abc,xyz),or(bca,qqq))", WANT(6, 7));
    check_cands("or(and(abc,bca),and(xyz,abc))", WANT(4, 6));
    check_cands("and(or(zzz,yyy),abc)", WANT_NONE);
    /* ALL: NULL, alone, in an OR, or as every kid of an AND */
    check_cands("all", WANT_ALL);
    check_cands("and(all,all)", WANT_ALL);
    check_cands("or(all,xyz)", WANT_ALL);
    check_cands("or(xyz,all)", WANT_ALL);
    check_cands("and(and(all),or(abc,all))", WANT_ALL);
    /* ... and ignored in an AND with anything else */
    check_cands("and(all,xyz)", WANT(4, 9));
    check_cands("and(abc,or(zzz,all))", WANT(3, 4, 6, 7));
}
END_TEST

START_TEST(test_live_trimmed)
{
    /* A live index answers as it grows; trimmed (its room to grow given
     * back), it answers the same, and takes more files as before. */
    ix = tindex_new_live();
    for (size_t i = 0; i < NCASES(small_files); i++)
        add_text(ix, small_files[i], small_lens[i]);
    ck_assert(tindex_ready(ix));
    check_cands("abc", WANT(3, 4, 6, 7));
    check_cands("or(abc,xyz)", WANT(3, 4, 6, 7, 9));
    size_t before = tindex_bytes(ix);
    tindex_live_trim(ix);
    ck_assert_msg(tindex_bytes(ix) < before, "trimmed: %zu bytes, %zu before", tindex_bytes(ix),
                  before);
    check_cands("abc", WANT(3, 4, 6, 7));
    check_cands("and(abc,xyz)", WANT(4));
    check_cands("or(abc,xyz)", WANT(3, 4, 6, 7, 9));
    check_cands("and(caf,f\xc3\xa9)", WANT(11));
    add_text(ix, "xyzabc", 6); /* 13 */
    add_text(ix, "qqq", 3);    /* 14 */
    tindex_live_trim(ix);
    tindex_live_trim(ix);
    add_text(ix, "abc", 3); /* 15 */
    check_cands("abc", WANT(3, 4, 6, 7, 13, 15));
    check_cands("and(abc,xyz)", WANT(4, 13));
    check_cands("qqq", WANT(7, 14));
    /* Gaps of one, two and three bytes (lists are stored as gaps). */
    for (uint32_t i = 16; i < 200; i++)
        tindex_add(ix, "", 0);
    tindex_add(ix, "abc", 3); /* 200 */
    for (uint32_t i = 201; i < 40000; i++)
        tindex_add(ix, i % 1000 ? "" : "qqq", i % 1000 ? 0 : 3);
    tindex_add(ix, "xyz abc", 7); /* 40000 */
    check_cands("abc", WANT(3, 4, 6, 7, 13, 15, 200, 40000));
    check_cands("and(abc,xyz)", WANT(4, 13, 40000));
    check_cands("and(qqq,abc)", WANT(7));
    struct qnode *q = parse_query("qqq");
    size_t n = 0;
    uint32_t *got = tindex_candidates(ix, q, &n);
    ck_assert_msg(n == 2 + 39 && got[0] == 7 && got[1] == 14 && got[2] == 1000 &&
                      got[n - 1] == 39000,
                  "qqq: %zu candidates", n);
    free(got);
    tree_free(q);
    tindex_live_trim(NULL);
}
END_TEST

START_TEST(test_candidates_from_plans)
{
    /* Queries as the server builds them. */
    static const struct {
        const char *pattern;
        bool literal, caseless, all;
        uint32_t want[8];
        size_t n;
    } c[] = {
        {"xyz|qqq", false, false, false, {4, 7, 9}, 3},
        {"abcz", false, false, false, {7}, 1},
        {"ABCZ", false, true, false, {7}, 1},
        {"a.c", false, false, true, {0}, 0},
        {"CAF", false, false, false, {10, 11}, 2},
        {"caf\xc3\xa9", false, false, false, {11}, 1},
        {"caf\xc3\xa9", false, true, false, {10, 11}, 2},
        {"bc\nx", true, false, false, {0}, 0}, /* crosses a line: no file */
        {"(abc|xyz)+", false, false, false, {3, 4, 6, 7, 9}, 5},
        {"cabc", true, false, false, {6}, 1},
    };
    build_small();
    for (size_t i = 0; i < NCASES(c); i++) {
        struct qnode *q =
            qplan_build(c[i].pattern, strlen(c[i].pattern), c[i].literal, c[i].caseless);
        char *d = qplan_describe(q);
        size_t n = 123456;
        uint32_t *got = tindex_candidates(ix, q, &n);
        bool ok = c[i].all ? got == NULL
                           : got && n == c[i].n && (n == 0 || !memcmp(got, c[i].want, n * 4));
        char msg[600];
        snprintf(msg, sizeof msg, "candidates for /%s/ (plan %s) = %s, want %s", c[i].pattern, d,
                 list_str(got, got ? n : 0), c[i].all ? "NULL" : list_str(c[i].want, c[i].n));
        free(got);
        free(d);
        qplan_free(q);
        ck_assert_msg(ok, "%s", msg);
    }
}
END_TEST

START_TEST(test_candidates_skewed)
{
    /* AND of a list holding every file with one holding four; OR of them
     * (every file once); the order of the AND's kids does not matter. */
    enum { NF = 1500 };
    ix = tindex_new();
    for (unsigned i = 0; i < NF; i++) {
        char buf[64];
        bool rare = i == 10 || i == 510 || i == 1010 || i == NF - 1;
        int n = snprintf(buf, sizeof buf, "common text\n%s %u", rare ? "rarity" : "plain", i);
        add_text(ix, buf, (size_t)n);
    }
    finish(ix);

    check_cands("and(com,rar)", WANT(10, 510, 1010, NF - 1));
    check_cands("and(rar,com)", WANT(10, 510, 1010, NF - 1));
    check_cands("and(com,mmo,ity,rar)", WANT(10, 510, 1010, NF - 1));
    check_cands("and(com,rar,zzz)", WANT_NONE);
    check_cands("and(zzz,com)", WANT_NONE);
    check_cands("or(rar,zzz)", WANT(10, 510, 1010, NF - 1));

    struct qnode *q = parse_query("or(com,rar)");
    size_t n = 0;
    uint32_t *v = tindex_candidates(ix, q, &n);
    tree_free(q);
    bool ok = v && n == NF;
    size_t bad_at = 0;
    for (size_t i = 0; ok && i < n; i++)
        if (v[i] != i) {
            ok = false;
            bad_at = i;
        }
    char msg[600];
    snprintf(msg, sizeof msg, "or(com,rar) over %d files: %zu candidates, at %zu: %s", NF, n,
             bad_at, list_str(v ? v + bad_at : NULL, v && n > bad_at ? n - bad_at : 0));
    free(v);
    ck_assert_msg(ok, "%s; want each file once, in order", msg);
}
END_TEST

/* Random files over a four-letter alphabet (folded), so that each file's
 * trigram set is a 64-bit mask. */
#define RF_FILES 300
#define RF_TREES 2000

static uint32_t rng;

static uint32_t rnd(uint32_t n)
{
    rng = rng * 1664525u + 1013904223u;
    return (rng >> 8) % n;
}

/* Index 0..63 of a folded trigram over a-d, or -1. */
static int tri_slot(uint32_t tri)
{
    int slot = 0;
    for (int sh = 16; sh >= 0; sh -= 8) {
        unsigned c = (tri >> sh) & 0xff;
        if (c < 'a' || c > 'd')
            return -1;
        slot = slot * 4 + (int)(c - 'a');
    }
    return slot;
}

static uint64_t file_mask(const char *s, size_t n)
{
    uint64_t m = 0;
    for (size_t i = 0; i + 3 <= n; i++)
        if (s[i] != '\n' && s[i + 1] != '\n' && s[i + 2] != '\n') {
            int slot = tri_slot(folded_at(s, i));
            if (slot >= 0)
                m |= 1ull << slot;
        }
    return m;
}

static bool eval_mask(const struct qnode *q, uint64_t mask)
{
    switch (q->kind) {
    case QN_ALL:
        return true;
    case QN_KEY: {
        int slot = tri_slot(q->key);
        return slot >= 0 && (mask >> slot & 1);
    }
    case QN_AND:
        for (size_t i = 0; i < q->nkids; i++)
            if (!eval_mask(q->kids[i], mask))
                return false;
        return true;
    case QN_OR:
        for (size_t i = 0; i < q->nkids; i++)
            if (eval_mask(q->kids[i], mask))
                return true;
        return false;
    }
    return false;
}

/* Whether the tree says nothing at all (every file may match): ALL, an
 * AND of such trees, or an OR holding one. */
static bool is_all(const struct qnode *q)
{
    switch (q->kind) {
    case QN_ALL:
        return true;
    case QN_KEY:
        return false;
    case QN_AND:
        for (size_t i = 0; i < q->nkids; i++)
            if (!is_all(q->kids[i]))
                return false;
        return true;
    case QN_OR:
        for (size_t i = 0; i < q->nkids; i++)
            if (is_all(q->kids[i]))
                return true;
        return false;
    }
    return false;
}

static struct qnode *random_tree(unsigned depth)
{
    unsigned k = rnd(10);
    if (depth >= 3 || k < 4) {
        if (rnd(10) == 0)
            return qn(QN_ALL, 0);
        char t[3] = {(char)('a' + rnd(4)), (char)('a' + rnd(4)), (char)('a' + rnd(4))};
        if (rnd(25) == 0)
            memcpy(t, "zzz", 3);
        return qn(QN_KEY, key(t));
    }
    struct qnode *n = qn(k < 7 ? QN_AND : QN_OR, 0);
    for (unsigned i = 0, nkids = 1 + rnd(4); i < nkids; i++)
        qn_add(n, random_tree(depth + 1));
    return n;
}

struct rfiles {
    char *text[RF_FILES];
    size_t len[RF_FILES];
    uint64_t mask[RF_FILES];
};

static void random_files(struct rfiles *f)
{
    static const char alpha[] = "abcdABCD\n";
    for (size_t i = 0; i < RF_FILES; i++) {
        size_t n = rnd(8) == 0 ? rnd(3) : rnd(60);
        f->text[i] = xmalloc(n + 1);
        for (size_t j = 0; j < n; j++)
            f->text[i][j] = alpha[rnd(sizeof alpha - 1)];
        f->text[i][n] = '\0';
        f->len[i] = n;
        f->mask[i] = file_mask(f->text[i], n);
    }
}

static void random_files_free(struct rfiles *f)
{
    for (size_t i = 0; i < RF_FILES; i++)
        free(f->text[i]);
}

/* The candidates for q against the brute-force answer; 0 when right,
 * else a message in msg. */
static int compare_brute(const struct rfiles *f, const struct qnode *q, char *msg, size_t cap)
{
    size_t n = 123456;
    uint32_t *got = tindex_candidates(ix, q, &n);
    uint32_t want[RF_FILES];
    size_t nwant = 0;
    for (uint32_t i = 0; i < RF_FILES; i++)
        if (eval_mask(q, f->mask[i]))
            want[nwant++] = i;
    int rc = 0;
    if (is_all(q)) {
        if (got) {
            rc = -1;
            snprintf(msg, cap, "a query that says nothing gave %zu candidates, want NULL", n);
        }
    } else if (!got || n != nwant || (n && memcmp(got, want, n * 4))) {
        rc = -1;
        snprintf(msg, cap, "got %s, want %s", list_str(got, got ? n : 0), list_str(want, nwant));
    }
    free(got);
    return rc;
}

START_TEST(test_candidates_random_trees)
{
    static struct rfiles f;
    rng = 20240611u;
    random_files(&f);
    build((const char *const *)f.text, f.len, RF_FILES);
    char msg[900] = "";
    unsigned bad = 0, nonempty = 0, all = 0;
    for (unsigned t = 0; t < RF_TREES; t++) {
        struct qnode *q = random_tree(0);
        char m1[850];
        if (compare_brute(&f, q, m1, sizeof m1) != 0 && bad++ == 0) {
            char *d = qplan_describe(q);
            snprintf(msg, sizeof msg, "tree %s: %s", d, m1);
            free(d);
        }
        all += is_all(q);
        for (uint32_t i = 0; i < RF_FILES; i++)
            if (!is_all(q) && eval_mask(q, f.mask[i])) {
                nonempty++;
                break;
            }
        tree_free(q);
    }
    /* counts too, for every trigram of the alphabet */
    for (int slot = 0; slot < 64; slot++) {
        uint32_t k = (uint32_t)('a' + slot / 16) << 16 | (uint32_t)('a' + slot / 4 % 4) << 8 |
                     (uint32_t)('a' + slot % 4);
        size_t want = 0;
        for (size_t i = 0; i < RF_FILES; i++)
            want += f.mask[i] >> slot & 1;
        size_t got = tindex_count(ix, k);
        if (got != want && bad++ == 0)
            snprintf(msg, sizeof msg, "tindex_count(0x%06x) = %zu, want %zu", k, got, want);
    }
    random_files_free(&f);
    ck_assert_msg(nonempty > RF_TREES / 4 && all > 10 && all < RF_TREES / 2,
                  "the random trees are too uniform: %u with candidates, %u that say nothing",
                  nonempty, all);
    ck_assert_msg(bad == 0, "%u wrong answers over %d files; first: %s", bad, RF_FILES, msg);
}
END_TEST

START_TEST(test_candidates_random_literals)
{
    /* Plans of random literals: exactly the brute-force answer, and never
     * a file that holds the literal on one of its lines. */
    static struct rfiles f;
    rng = 777u;
    random_files(&f);
    build((const char *const *)f.text, f.len, RF_FILES);
    char msg[900] = "";
    unsigned bad = 0, found = 0;
    for (unsigned t = 0; t < 500; t++) {
        char lit[8];
        size_t n = 1 + rnd(6);
        for (size_t i = 0; i < n; i++)
            lit[i] = "abcdABCD"[rnd(8)];
        lit[n] = '\0';
        bool caseless = rnd(2), literal = rnd(2);
        struct qnode *q = qplan_build(lit, n, literal, caseless);
        char m1[850];
        if (compare_brute(&f, q, m1, sizeof m1) != 0 && bad++ == 0)
            snprintf(msg, sizeof msg, "\"%s\": %s", lit, m1);
        size_t nc = 0;
        uint32_t *cand = tindex_candidates(ix, q, &nc);
        for (uint32_t i = 0; i < RF_FILES; i++) {
            /* holds the literal, folded, within a line? */
            bool holds = false;
            for (size_t s = 0; s + n <= f.len[i] && !holds; s++) {
                size_t j = 0;
                while (j < n && f.text[i][s + j] != '\n' &&
                       (caseless ? qplan_fold((unsigned char)f.text[i][s + j]) ==
                                       qplan_fold((unsigned char)lit[j])
                                 : f.text[i][s + j] == lit[j]))
                    j++;
                holds = j == n;
            }
            if (!holds)
                continue;
            found++;
            bool listed = !cand;
            for (size_t j = 0; j < nc && cand && !listed; j++)
                listed = cand[j] == i;
            if (!listed && bad++ == 0)
                snprintf(msg, sizeof msg, "\"%s\": file %u holds it but is no candidate", lit, i);
        }
        free(cand);
        qplan_free(q);
    }
    random_files_free(&f);
    ck_assert_msg(found > 5000, "only %u (literal, file) hits: the test is too weak", found);
    ck_assert_msg(bad == 0, "%u wrong answers; first: %s", bad, msg);
}
END_TEST

/* A live index of 3,000 files over 32 letters (about 32,000 trigrams:
 * its table grows many times, and its lists are appended to sixteen keys
 * at a time, which may probe to the same free slot) counts every
 * trigram in as many files as hold it, and names exactly those files. */
#define LIVE_FILES 3000
#define LIVE_LEN   120

/* The top bits of the shared generator: its low ones repeat too soon
 * to draw 32,000 trigrams. */
static unsigned rnd_top(unsigned bits)
{
    rnd(1);
    return rng >> (32 - bits);
}

static uint32_t live_key(const char *p)
{
    return (uint32_t)(unsigned char)p[0] << 16 | (uint32_t)(unsigned char)p[1] << 8 |
           (unsigned char)p[2];
}

START_TEST(test_live_many_keys)
{
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz012345";
    static char text[LIVE_FILES][LIVE_LEN];
    static uint16_t count[32 * 32 * 32];
    static uint16_t last[32 * 32 * 32]; /* the last file + 1 that counted it */
    rng = 4242u;
    memset(count, 0, sizeof count);
    memset(last, 0, sizeof last);
    ix = tindex_new_live();
    for (uint32_t f = 0; f < LIVE_FILES; f++) {
        unsigned idx[LIVE_LEN];
        for (size_t j = 0; j < LIVE_LEN; j++) {
            idx[j] = rnd_top(5);
            text[f][j] = alpha[idx[j]];
        }
        for (size_t j = 0; j + 3 <= LIVE_LEN; j++) {
            unsigned k = idx[j] << 10 | idx[j + 1] << 5 | idx[j + 2];
            if (last[k] != f + 1) {
                last[k] = (uint16_t)(f + 1);
                count[k]++;
            }
        }
        tindex_add(ix, text[f], LIVE_LEN);
    }
    char key[3];
    unsigned bad = 0, present = 0;
    for (unsigned k = 0; k < 32 * 32 * 32; k++) {
        key[0] = alpha[k >> 10], key[1] = alpha[k >> 5 & 31], key[2] = alpha[k & 31];
        size_t got = tindex_count(ix, live_key(key));
        present += count[k] > 0;
        if (got != count[k] && bad++ < 3)
            fprintf(stderr, "live key %.3s: %zu postings, want %u\n", key, got, count[k]);
    }
    ck_assert_msg(present > 20000, "only %u keys: too few to grow the table", present);
    ck_assert_msg(bad == 0, "%u keys counted wrong", bad);
    for (unsigned t = 0; t < 200; t++) {
        const char *at = text[rnd_top(16) % LIVE_FILES] + rnd_top(16) % (LIVE_LEN - 2);
        char lit[4] = {at[0], at[1], at[2], 0};
        struct qnode *q = parse_query(lit);
        size_t n = 0;
        uint32_t *got = tindex_candidates(ix, q, &n);
        size_t k = 0;
        for (uint32_t f = 0; f < LIVE_FILES; f++) {
            bool holds = memmem(text[f], LIVE_LEN, lit, 3) != NULL;
            if (holds)
                ck_assert_msg(k < n && got[k] == f, "\"%s\": file %u not named", lit, f);
            k += holds;
        }
        ck_assert_msg(k == n, "\"%s\": %zu candidates, %zu files hold it", lit, n, k);
        free(got);
        tree_free(q);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* tindex_bytes                                                        */
/* ------------------------------------------------------------------ */

START_TEST(test_bytes)
{
    ix = tindex_new();
    for (size_t i = 0; i < NCASES(small_files); i++)
        add_text(ix, small_files[i], small_lens[i]);
    size_t building = tindex_bytes(ix);
    finish(ix);
    size_t built = tindex_bytes(ix);
    /* the posting lists: one entry per distinct (file, trigram) */
    size_t postings = 0;
    for (size_t i = 0; i < NCASES(small_files); i++) {
        const char *s = small_files[i];
        for (size_t j = 0; j + 3 <= small_lens[i]; j++) {
            uint32_t k = folded_at(s, j);
            if (s[j] == '\n' || s[j + 1] == '\n' || s[j + 2] == '\n' || has_tri(s, j + 2, k))
                continue; /* crosses a line, or seen earlier in the file */
            postings++;
        }
    }
    ck_assert_msg(postings == 19, "the test's own count of postings is %zu, want 19", postings);
    ck_assert_msg(building > 0, "tindex_bytes while building = 0");
    ck_assert_msg(built >= postings * sizeof(uint32_t),
                  "tindex_bytes = %zu after tindex_finish, less than its %zu postings", built,
                  postings);
    /* the build-time bitmap is gone: a tiny index holds little */
    ck_assert_msg(built < 64 * 1024, "tindex_bytes = %zu for an index of %zu postings", built,
                  postings);
}
END_TEST

/* ------------------------------------------------------------------ */
/* tindex_free                                                         */
/* ------------------------------------------------------------------ */

/* The eighths query names in ix for block b, or -1 when b is not a
 * candidate (-2: every block is). */
static int eighths_for(const char *query, uint32_t b)
{
    struct qnode *q = parse_query(query);
    size_t n = 0;
    uint8_t *e;
    uint32_t *v = tindex_candidates_eighths(ix, q, &n, &e);
    int got = v ? -1 : -2;
    for (size_t i = 0; v && i < n; i++)
        if (v[i] == b)
            got = e[i];
    free(v);
    free(e);
    tree_free(q);
    return got;
}

/* A text of whole lines where "alpha" is on the first line, "omega" on a
 * line starting in eighth 1, "kappa" at the end of a long first line of
 * eighth 3 that runs into eighth 5, and "alpha omega" on a line in the
 * last eighth. */
static char *eighths_text(size_t *len)
{
    size_t cap = 20000, at = 0;
    char *t = xmalloc(cap);
    at += (size_t)sprintf(t + at, "alpha\n");
    while (at < 2100)
        at += (size_t)sprintf(t + at, "filler line\n");
    at += (size_t)sprintf(t + at, "omega\n");
    while (at < 3 * 2048 + 10)
        at += (size_t)sprintf(t + at, "more filler\n");
    memset(t + at, 'z', 4500);
    at += 4500;
    at += (size_t)sprintf(t + at, " kappa\n");
    while (at < 15 * 1024)
        at += (size_t)sprintf(t + at, "and filler\n");
    at += (size_t)sprintf(t + at, "alpha omega\n");
    *len = at;
    return t;
}

START_TEST(test_eighths)
{
    /* Which eighths of a block hold a key: the one its line starts in. */
    size_t len;
    char *text = eighths_text(&len);
    for (int passes = 0; passes < 2; passes++) {
        ix = tindex_new();
        if (passes)
            tindex_set_pass_budget(ix, 7); /* the same in passes */
        add_text(ix, "alpha and omega\n", 16);
        add_text(ix, text, len);
        finish(ix);
        unsigned e3 = 1u << (3 * 2048 + 10 + 11) / 2048;
        ck_assert_int_eq(eighths_for("alp", 0), 1);
        ck_assert_int_eq(eighths_for("alp", 1), 0x01 | 0x80);
        ck_assert_int_eq(eighths_for("ome", 1), 0x02 | 0x80);
        ck_assert_int_eq(eighths_for("kap", 1), (int)e3);
        ck_assert_msg(e3 >= 8 && e3 <= 16, "the kappa line starts in eighth %u", e3);
        /* both keys in the block, on one line only in the last eighth */
        ck_assert_int_eq(eighths_for("and(alp,ome)", 1), 0x80);
        ck_assert_int_eq(eighths_for("and(alp,ome)", 0), 0x01);
        ck_assert_int_eq(eighths_for("and(ome,kap)", 1), -1);
        ck_assert_int_eq(eighths_for("or(ome,kap)", 1), (int)(0x02 | 0x80 | e3));
        ck_assert_int_eq(eighths_for("and(or(ome,kap),alp)", 1), 0x80);
        tindex_free(ix);
        ix = NULL;
    }
    free(text);
}
END_TEST

START_TEST(test_free)
{
    tindex_free(NULL); /* accepted */
    /* an index freed before it is finished leaves nothing (valgrind) */
    struct tindex *t = tindex_new();
    add_text(t, "abcdef", 6);
    add_text(t, "xyz", 3);
    tindex_free(t);
    texts_clear(); /* they were that index's */
    t = tindex_new();
    tindex_free(t);
    /* and after */
    build_small();
    ck_assert_msg(tindex_count(ix, key("abc")) == 4, "count(abc) = %zu, want 4",
                  tindex_count(ix, key("abc")));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Packed lists: long ones, passes, shapes, garbled views               */
/* ------------------------------------------------------------------ */

enum { PK_FILES = 20000 };

/* File i: "three" when 3 divides it, "seven" when 7 does, "kilo" when
 * 1000 does (else fillers of no shared trigram with them). */
static void build_packed(uint64_t budget)
{
    ix = tindex_new();
    if (budget)
        tindex_set_pass_budget(ix, budget);
    for (unsigned i = 0; i < PK_FILES; i++) {
        char buf[64];
        int n = snprintf(buf, sizeof buf, "%s %s %s", i % 3 ? "xx" : "three",
                         i % 7 ? "yy" : "seven", i % 1000 ? "zz" : "kilo");
        add_text(ix, buf, (size_t)n);
    }
    finish(ix);
}

/* The candidates of query are exactly the files i for which want(i). */
static void check_packed(const char *query, bool (*want)(unsigned))
{
    struct qnode *q = parse_query(query);
    size_t n = 0;
    uint32_t *v = tindex_candidates(ix, q, &n);
    tree_free(q);
    ck_assert_msg(v != NULL, "%s: every file", query);
    size_t k = 0;
    for (unsigned i = 0; i < PK_FILES; i++) {
        if (!want(i))
            continue;
        ck_assert_msg(k < n && v[k] == i, "%s: candidate %zu is %u, want %u", query, k,
                      k < n ? v[k] : 0, i);
        k++;
    }
    ck_assert_msg(k == n, "%s: %zu candidates, want %zu", query, n, k);
    free(v);
}

static bool by3(unsigned i)
{
    return i % 3 == 0;
}
static bool by21(unsigned i)
{
    return i % 21 == 0;
}
static bool by3000(unsigned i)
{
    return i % 3000 == 0;
}
static bool by7or1000(unsigned i)
{
    return i % 7 == 0 || i % 1000 == 0;
}
static bool by7000(unsigned i)
{
    return i % 7000 == 0;
}

static void check_packed_all(void)
{
    ck_assert_msg(tindex_count(ix, key("thr")) == (PK_FILES + 2) / 3, "count(thr) = %zu",
                  tindex_count(ix, key("thr")));
    check_packed("thr", by3);
    check_packed("and(thr,sev)", by21);       /* lists of 6667 and 2858 */
    check_packed("and(kil,thr,ree)", by3000); /* far jumps through the skip table */
    check_packed("and(sev,kil)", by7000);
    check_packed("or(kil,sev)", by7or1000);
    check_packed("and(or(kil,sev),ilo,ven)", by7000);
}

START_TEST(test_packed_long_lists)
{
    build_packed(0);
    check_packed_all();
}
END_TEST

START_TEST(test_packed_in_passes)
{
    /* Lists filled a few hundred postings at a time come out the same. */
    build_packed(1000);
    check_packed_all();
    tindex_free(ix);
    build_packed(1); /* one key a pass */
    check_packed_all();
}
END_TEST

/* A shape key from its text ("@" form of qplan_describe()). */
static uint32_t shape_key(const char *s)
{
    static const char letters[] = QPLAN_SHAPE_LETTERS;
    uint32_t k = QPLAN_SHAPE_BIT;
    for (int j = 0; j < QPLAN_SHAPE_LEN; j++)
        k |= (uint32_t)(strchr(letters, s[j]) - letters) << (4 * (QPLAN_SHAPE_LEN - 1 - j));
    return k;
}

START_TEST(test_shapes)
{
    static const char *const files[] = {
        "id 1234abcd-12ab-34CD here\n",   /* 0: a GUID's head */
        "date 2024-01-31\n",              /* 1 */
        "1234abcd-12ab\n-34cd\n",         /* 2: cut by a line end */
        "1234abcg-12ab-34cd\n",           /* 3: g is no hex digit */
        "plain words only and _under_\n", /* 4 */
        "x 0000-0000-0000 y\n",           /* 5 */
    };
    build(files, NULL, 6);
    ck_assert_msg(tindex_count(ix, shape_key("-99aa-")) == 2, "count(@-99aa-) = %zu",
                  tindex_count(ix, shape_key("-99aa-")));
    ck_assert_msg(tindex_count(ix, shape_key("-9999-")) == 1, "count(@-9999-)");
    /* a shape starting with a letter, digit or blank: never indexed */
    ck_assert_msg(tindex_count(ix, shape_key("zzzzzz")) == 0 &&
                      tindex_count(ix, shape_key("9999aa")) == 0 &&
                      tindex_count(ix, shape_key(" 9999-")) == 0,
                  "a shape starting with a word class is indexed");
    static const char guid[] = "\\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}\\b";
    struct qnode *q = qplan_build(guid, strlen(guid), false, false);
    size_t n = 0;
    uint32_t *v = tindex_candidates(ix, q, &n);
    char *d = qplan_describe(q);
    qplan_free(q);
    char msg[300];
    snprintf(msg, sizeof msg, "%.60s...: %s", d, list_str(v, v ? n : 0));
    free(d);
    /* every file with "-hhhh-" on one line: 0, and 3 and 5 (the regex
     * will say no); not 2, whose shape a line end cuts */
    bool ok = v && n == 3 && v[0] == 0 && v[1] == 3 && v[2] == 5;
    free(v);
    ck_assert_msg(ok, "candidates for the GUID pattern: %s, want {0,3,5}", msg);
}
END_TEST

START_TEST(test_view_garbled)
{
    /* A view over damaged arrays (as a snapshot could hold) answers
     * something for every key, and reads nothing outside its arrays. */
    build_packed(0);
    struct tindex_arrays a;
    tindex_arrays(ix, &a);
    uint32_t *counts = xmalloc(a.nkeys * sizeof *counts);
    uint8_t *data = xmalloc(a.data_len);
    uint32_t seed = 12345;
    for (int round = 0; round < 40; round++) {
        memcpy(counts, a.counts, a.nkeys * sizeof *counts);
        memcpy(data, a.data, a.data_len);
        for (size_t i = 0; i < 1 + a.data_len / 50; i++) {
            seed = seed * 1103515245u + 12345u;
            data[(seed >> 8) % a.data_len] = (uint8_t)(seed >> 3);
        }
        for (size_t i = 0; i < a.nkeys; i++)
            if (round % 2)
                counts[i] = UINT32_MAX - (uint32_t)i; /* far more than its bytes hold */
        struct tindex_arrays g = a;
        g.counts = counts;
        g.data = data;
        struct tindex *view = tindex_view(&g);
        for (size_t i = 0; i < a.nkeys; i++) {
            struct qnode k = {.kind = QN_KEY, .key = a.keys[i]};
            size_t n = 0;
            uint32_t *v = tindex_candidates(view, &k, &n);
            ck_assert(v != NULL && n <= a.offsets[i + 1] - a.offsets[i]);
            free(v);
        }
        struct qnode *q = parse_query("and(thr,sev,or(kil,ree))");
        size_t n = 0;
        free(tindex_candidates(view, q, &n));
        tree_free(q);
        tindex_free(view);
    }
    free(counts);
    free(data);
}
END_TEST

Suite *suite_tindex(void)
{
    Suite *s = suite_create("tindex");
    TCase *tc;

    tc = tcase_create("tindex_ready");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60); /* an index under construction takes 132 MiB */
    tcase_add_test(tc, test_ready_states);
    suite_add_tcase(s, tc);

    tc = tcase_create("tindex_finish");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60); /* an index under construction takes 132 MiB */
    tcase_add_test(tc, test_finish_empty);
    suite_add_tcase(s, tc);

    tc = tcase_create("tindex_count");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_count_small);
    tcase_add_test(tc, test_count_large_file);
    tcase_add_test(tc, test_count_many_files);
    suite_add_tcase(s, tc);

    tc = tcase_create("tindex_candidates");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_candidates_small);
    tcase_add_test(tc, test_live_trimmed);
    tcase_add_test(tc, test_live_many_keys);
    tcase_add_test(tc, test_candidates_from_plans);
    tcase_add_test(tc, test_candidates_skewed);
    tcase_add_test(tc, test_candidates_random_trees);
    tcase_add_test(tc, test_candidates_random_literals);
    suite_add_tcase(s, tc);

    tc = tcase_create("packed lists");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_packed_long_lists);
    tcase_add_test(tc, test_packed_in_passes);
    tcase_add_test(tc, test_shapes);
    tcase_add_test(tc, test_eighths);
    tcase_add_test(tc, test_view_garbled);
    suite_add_tcase(s, tc);

    tc = tcase_create("tindex_bytes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60); /* an index under construction takes 132 MiB */
    tcase_add_test(tc, test_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("tindex_free");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60); /* an index under construction takes 132 MiB */
    tcase_add_test(tc, test_free);
    suite_add_tcase(s, tc);

    return s;
}
