/*
 * check_matcher.c - unit tests for src/matcher.c: compiling patterns,
 * finding candidates in a multi-line buffer, matching one line with all
 * its ranges, and the choice of line mode.
 *
 * Subjects are string literals or fully initialised buffers: PCRE2's JIT
 * reads a little past the end of a subject, which valgrind reports when
 * those bytes were never written.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "check_suites.h"
#include "matcher.h"
#include "util.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))
#define MAXR      16

/* The matcher under test; freed by the checked teardown. */
static struct matcher *m;
static char err[SG_ERRLEN];
static long erroff;

static void setup(void)
{
    m = NULL;
    err[0] = '\0';
    erroff = 12345;
}

static void teardown(void)
{
    matcher_free(m);
    m = NULL;
}

/* Compile into m (freeing the previous one); fails the test on error. */
static void compile(const char *pattern, bool literal, bool caseless)
{
    matcher_free(m);
    m = matcher_new(pattern, strlen(pattern), literal, caseless, err, sizeof err, &erroff);
    ck_assert_msg(m != NULL, "matcher_new(\"%s\", literal=%d, caseless=%d) failed: %s", pattern,
                  literal, caseless, err);
}

/* "[a,b) [c,d)" for failure messages. */
static const char *ranges_str(const struct mrange *r, int n)
{
    static char buf[512];
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && o < sizeof buf - 32; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s[%u,%u)", i ? " " : "", r[i].start,
                              r[i].end);
    return buf;
}

/* Match line against m and compare with the expected ranges. */
static void check_line(const char *pattern, const char *line, bool want_matched,
                       const struct mrange *want, int nwant)
{
    struct mrange r[MAXR];
    bool matched = !want_matched;
    int n = matcher_line(m, line, strlen(line), r, MAXR, &matched);
    ck_assert_msg(matched == want_matched, "/%s/ on \"%s\": matched = %d, want %d", pattern, line,
                  matched, want_matched);
    ck_assert_msg(n == nwant, "/%s/ on \"%s\": %d ranges (%s), want %d", pattern, line, n,
                  ranges_str(r, n > 0 ? n : 0), nwant);
    for (int i = 0; i < n; i++)
        ck_assert_msg(r[i].start == want[i].start && r[i].end == want[i].end,
                      "/%s/ on \"%s\": range %d is [%u,%u), want [%u,%u)", pattern, line, i,
                      r[i].start, r[i].end, want[i].start, want[i].end);
}

/* ------------------------------------------------------------------ */
/* matcher_new                                                         */
/* ------------------------------------------------------------------ */

START_TEST(test_new_bad_regex)
{
    m = matcher_new("foo(", 4, false, false, err, sizeof err, &erroff);
    ck_assert_msg(m == NULL, "\"foo(\" compiled");
    ck_assert_msg(strstr(err, "parenthesis") != NULL, "message \"%s\" does not name the problem",
                  err);
    ck_assert_msg(erroff == 4, "offset %ld, want 4 (the end of \"foo(\")", erroff);

    erroff = 12345;
    m = matcher_new("ab[c", 4, false, false, err, sizeof err, &erroff);
    ck_assert_msg(m == NULL, "\"ab[c\" compiled");
    ck_assert_msg(err[0] != '\0' && erroff >= 0 && erroff <= 4,
                  "\"ab[c\": message \"%s\", offset %ld", err, erroff);

    m = matcher_new("a{2,1}", 6, false, false, err, sizeof err, &erroff);
    ck_assert_msg(m == NULL && err[0] != '\0', "\"a{2,1}\" compiled (message \"%s\")", err);
}
END_TEST

START_TEST(test_new_bad_regex_no_buffers)
{
    /* err and erroff are optional. */
    m = matcher_new("(", 1, false, false, NULL, 0, NULL);
    ck_assert_msg(m == NULL, "\"(\" compiled");
    m = matcher_new("\xff", 1, false, false, NULL, 0, NULL);
    ck_assert_msg(m == NULL, "an invalid UTF-8 pattern compiled");
}
END_TEST

START_TEST(test_new_invalid_utf8)
{
    /* The HTTP layer turns %00 into C0 80: that one is named a NUL byte. */
    static const struct {
        const char *p, *says;
        long off;
    } bad[] = {{"caf\xe9", "UTF-8", 3},
               {"x\xc0\x80", "NUL byte", 1},
               {"\xc0\x81", "UTF-8", 0},
               {"\xed\xa0\x80", "UTF-8", 0},
               {"ab\xe2\x82", "UTF-8", 2}};
    for (size_t i = 0; i < NCASES(bad); i++) {
        erroff = 12345;
        err[0] = '\0';
        m = matcher_new(bad[i].p, strlen(bad[i].p), false, false, err, sizeof err, &erroff);
        ck_assert_msg(m == NULL, "invalid UTF-8 pattern #%zu compiled", i);
        ck_assert_msg(strstr(err, bad[i].says) != NULL, "pattern #%zu: message \"%s\"", i, err);
        ck_assert_msg(erroff == bad[i].off, "pattern #%zu: offset %ld, want %ld", i, erroff,
                      bad[i].off);
        /* literal patterns are checked too */
        m = matcher_new(bad[i].p, strlen(bad[i].p), true, false, err, sizeof err, &erroff);
        ck_assert_msg(m == NULL, "invalid UTF-8 literal #%zu compiled", i);
    }
}
END_TEST

START_TEST(test_new_ok)
{
    compile("foo(", true, false); /* a literal has no syntax */
    ck_assert_msg(erroff == -1, "offset %ld after a good pattern, want -1", erroff);
    compile("foo(", true, true);
    compile("caf\xc3\xa9|\\p{Lu}+", false, false);
    compile("", false, false);
    matcher_free(NULL); /* accepted */
}
END_TEST

/* ------------------------------------------------------------------ */
/* matcher_find                                                        */
/* ------------------------------------------------------------------ */

static void check_find(const char *pattern, const char *s, size_t start, int want_rc,
                       size_t want_at)
{
    size_t at = 999999, end = 999999;
    int rc = matcher_find(m, s, strlen(s), start, &at, &end);
    ck_assert_msg(rc == want_rc, "find /%s/ in \"%s\" from %zu: rc %d, want %d", pattern, s, start,
                  rc, want_rc);
    if (want_rc == 1) {
        ck_assert_msg(at == want_at, "find /%s/ in \"%s\" from %zu: at %zu, want %zu", pattern, s,
                      start, at, want_at);
        ck_assert_msg(end >= at && end <= strlen(s), "find /%s/ in \"%s\": end %zu, at %zu",
                      pattern, s, end, at);
    }
}

START_TEST(test_find_literal_vs_regex)
{
    compile("a.b", true, false);
    check_find("a.b", "axb", 0, 0, 0);
    check_find("a.b", "xxa.b", 0, 1, 2);
    compile("a.b", false, false);
    check_find("a.b", "axb", 0, 1, 0);
    compile("a+", true, false);
    check_find("a+", "aaa", 0, 0, 0);
    check_find("a+", "aa+", 0, 1, 1);
    /* a caseless literal goes through PCRE2, still literally */
    compile("A.B", true, true);
    check_find("A.B", "axb", 0, 0, 0);
    check_find("A.B", "za.b", 0, 1, 1);
}
END_TEST

START_TEST(test_find_multiline)
{
    const char *buf = "alpha\nbeta\ngamma beta\ndelta\n";
    compile("beta", false, false);
    check_find("beta", buf, 0, 1, 6);
    check_find("beta", buf, 6, 1, 6);
    check_find("beta", buf, 7, 1, 17);
    check_find("beta", buf, 18, 0, 0);
    compile("beta", true, false);
    check_find("beta", buf, 7, 1, 17);
    check_find("beta", buf, 18, 0, 0);
    /* ^ and $ work at line ends inside the buffer */
    compile("^beta", false, false);
    check_find("^beta", buf, 0, 1, 6);
    check_find("^beta", buf, 7, 0, 0);
    compile("ta$", false, false);
    check_find("ta$", buf, 0, 1, 8);
    check_find("ta$", buf, 9, 1, 19);
    compile("^d", false, false);
    check_find("^d", buf, 0, 1, 22);
    /* a start past the end finds nothing */
    compile("a", false, false);
    check_find("a", "abc", 4, 0, 0);
    compile("a", true, false);
    check_find("a", "abc", 4, 0, 0);
    check_find("a", "abc", 3, 0, 0);
}
END_TEST

START_TEST(test_find_caseless)
{
    compile("hello", false, true);
    check_find("hello", "say HeLLo", 0, 1, 4);
    compile("hello", false, false);
    check_find("hello", "say HeLLo", 0, 0, 0);
    compile("HELLO", true, true);
    check_find("HELLO", "say hello", 0, 1, 4);
    compile("HELLO", true, false);
    check_find("HELLO", "say hello", 0, 0, 0);
    /* case folding beyond ASCII in UTF mode */
    compile("\xc3\x89t\xc3\xa9", false, true); /* Été */
    check_find("Été", "l'\xc3\xa9t\xc3\x89", 0, 1, 2);
}
END_TEST

/* ------------------------------------------------------------------ */
/* matcher_line                                                        */
/* ------------------------------------------------------------------ */

START_TEST(test_line_ranges)
{
    compile("foo", false, false);
    check_line("foo", "foo bar foo", true, (struct mrange[]){{0, 3}, {8, 11}}, 2);
    check_line("foo", "bar", false, NULL, 0);
    check_line("foo", "", false, NULL, 0);
    compile("o+", false, false);
    check_line("o+", "foo boo o", true, (struct mrange[]){{1, 3}, {5, 7}, {8, 9}}, 3);
    compile("foo", true, false);
    check_line("foo", "foo bar foo", true, (struct mrange[]){{0, 3}, {8, 11}}, 2);
    /* matches do not overlap */
    compile("aa", true, false);
    check_line("aa", "aaaaa", true, (struct mrange[]){{0, 2}, {2, 4}}, 2);
    compile("aa", false, false);
    check_line("aa", "aaaaa", true, (struct mrange[]){{0, 2}, {2, 4}}, 2);
    /* \K moves the reported start */
    compile("a\\Kb", false, false);
    check_line("a\\Kb", "xab ab", true, (struct mrange[]){{2, 3}, {5, 6}}, 2);
    compile("FOO", false, true);
    check_line("FOO", "foo Foo", true, (struct mrange[]){{0, 3}, {4, 7}}, 2);
    /* (*NO_JIT): JIT compiling "succeeds" with no code; the interpreter runs */
    compile("(*NO_JIT)o+", false, false);
    check_line("(*NO_JIT)o+", "foo boo o", true, (struct mrange[]){{1, 3}, {5, 7}, {8, 9}}, 3);
    size_t at = 0, end = 0;
    ck_assert_msg(matcher_find(m, "xx\nfoo", 6, 0, &at, &end) == 1 && at == 4 && end == 6,
                  "(*NO_JIT) find: at %zu end %zu", at, end);
    ck_assert_msg(matcher_test(m, "bar", 3) == 0, "(*NO_JIT) test: a match in bar");
}
END_TEST

START_TEST(test_line_cap)
{
    struct mrange r[2];
    bool matched = false;
    compile("x", false, false);
    int n = matcher_line(m, "x x x x", 7, r, 2, &matched);
    ck_assert_msg(n == 2 && matched, "cap 2 with 4 matches: %d ranges, matched %d", n, matched);
    ck_assert_msg(r[0].start == 0 && r[1].start == 2, "ranges %s", ranges_str(r, n));
    compile("x", true, false);
    n = matcher_line(m, "x x x x", 7, r, 2, &matched);
    ck_assert_msg(n == 2 && matched, "literal, cap 2 with 4 matches: %d ranges, matched %d", n,
                  matched);
    n = matcher_line(m, "x x x x", 7, r, 0, &matched);
    ck_assert_msg(n == 0 && matched, "literal, cap 0: %d ranges, matched %d", n, matched);
}
END_TEST

START_TEST(test_line_empty_matches)
{
    /* An empty match makes the line match but stores no range. */
    compile("x*", false, false);
    check_line("x*", "abc", true, NULL, 0);
    check_line("x*", "", true, NULL, 0);
    check_line("x*", "axxb", true, (struct mrange[]){{1, 3}}, 1);
    check_line("x*", "xaxx", true, (struct mrange[]){{0, 1}, {2, 4}}, 2);
    compile("a|", false, false);
    check_line("a|", "bbb", true, NULL, 0);
    check_line("a|", "bab", true, (struct mrange[]){{1, 2}}, 1);
    check_line("a|", "aba", true, (struct mrange[]){{0, 1}, {2, 3}}, 2);
    compile("", false, false);
    check_line("", "anything", true, NULL, 0);
    check_line("", "", true, NULL, 0);
    compile("^", false, false);
    check_line("^", "abc", true, NULL, 0);
    compile("$", false, false);
    check_line("$", "abc", true, NULL, 0);
    compile("\\b", false, false);
    check_line("\\b", "ab cd", true, NULL, 0);
    check_line("\\b", "  ", false, NULL, 0);
    /* stepping over an empty match moves a whole character */
    compile("x*", false, false);
    check_line("x*", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80x", true, (struct mrange[]){{9, 10}}, 1);
}
END_TEST

static sigjmp_buf alarm_jmp;

static void on_alarm(int sig)
{
    (void)sig;
    siglongjmp(alarm_jmp, 1);
}

START_TEST(test_line_empty_literal)
{
    /* An empty literal matches every line, like an empty regex; it must
     * return, not loop.  SIGALRM turns a hang into a failure. */
    struct mrange r[MAXR];
    volatile int n = -99;
    bool matched = false;
    volatile bool hung = false;
    struct sigaction sa, old;

    compile("", true, false);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, &old);
    if (sigsetjmp(alarm_jmp, 1) == 0) {
        alarm(2);
        n = matcher_line(m, "abc", 3, r, MAXR, &matched);
        alarm(0);
    } else {
        hung = true;
    }
    sigaction(SIGALRM, &old, NULL);
    ck_assert_msg(!hung, "matcher_line with the empty literal \"\" on \"abc\" did not return "
                         "within 2 s (endless loop)");
    ck_assert_msg(matched && n == 0, "empty literal on \"abc\": %d ranges, matched %d; want 0, 1",
                  n, matched);
}
END_TEST

START_TEST(test_line_utf8)
{
    /* ranges are byte offsets; '.' takes whole characters */
    compile("\xc3\xa9", false, false); /* é */
    check_line("é", "caf\xc3\xa9 r\xc3\xa9sum\xc3\xa9", true,
               (struct mrange[]){{3, 5}, {7, 9}, {12, 14}}, 3);
    compile("\xc3\xa9", true, false);
    check_line("é (literal)", "caf\xc3\xa9 r\xc3\xa9sum\xc3\xa9", true,
               (struct mrange[]){{3, 5}, {7, 9}, {12, 14}}, 3);
    compile(".", false, false);
    check_line(".", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", true,
               (struct mrange[]){{0, 2}, {2, 5}, {5, 9}}, 3);
    compile("\xc3\x89", false, true); /* É, caseless */
    check_line("É", "caf\xc3\xa9", true, (struct mrange[]){{3, 5}}, 1);
    compile("\xe2\x82\xac+", false, false); /* a quantifier applies to the whole € */
    check_line("€+", "\xe2\x82\xac\xe2\x82\xac 1\xe2\x82\xac", true,
               (struct mrange[]){{0, 6}, {8, 11}}, 2);
}
END_TEST

START_TEST(test_line_anchors)
{
    compile("^foo", false, false);
    check_line("^foo", "foo foo", true, (struct mrange[]){{0, 3}}, 1);
    check_line("^foo", " foo", false, NULL, 0);
    compile("foo$", false, false);
    check_line("foo$", "foo foo", true, (struct mrange[]){{4, 7}}, 1);
    check_line("foo$", "foo ", false, NULL, 0);
    compile("^$", false, false);
    check_line("^$", "", true, NULL, 0);
    check_line("^$", "x", false, NULL, 0);
    compile("^a|b$", false, false);
    check_line("^a|b$", "ab ab", true, (struct mrange[]){{0, 1}, {4, 5}}, 2);
    /* lookbehind sees the part of the line before the search position */
    compile("(?<=a)b", false, false);
    check_line("(?<=a)b", "ab cb ab", true, (struct mrange[]){{1, 2}, {7, 8}}, 2);
    compile("\\Afoo", false, false);
    check_line("\\Afoo", "foo foo", true, (struct mrange[]){{0, 3}}, 1);
    compile("foo\\z", false, false);
    check_line("foo\\z", "foo foo", true, (struct mrange[]){{4, 7}}, 1);
}
END_TEST

START_TEST(test_line_limit)
{
    /* Catastrophic backtracking: PCRE2's match limit stops it.  The line
     * does not match, so either answer is right: MATCHER_LIMIT, or no
     * match.  Check's timeout bounds the time. */
    enum { N = 40 };
    char *line = xcalloc(1, N + 64); /* initialised well past the end */
    struct mrange r[MAXR];
    bool matched = true;
    size_t at = 0, end = 0;

    memset(line, 'a', N);
    line[N] = 'b';
    compile("(a+)+$", false, false);
    int n = matcher_line(m, line, N + 1, r, MAXR, &matched);
    int f = matcher_find(m, line, N + 1, 0, &at, &end);
    free(line);
    ck_assert_msg(n == MATCHER_LIMIT || (n == 0 && !matched),
                  "(a+)+$ on a%db: matcher_line returned %d, matched %d", N, n, matched);
    ck_assert_msg(f == MATCHER_LIMIT || f == 0, "(a+)+$ on a%db: matcher_find returned %d", N, f);
    /* the same matcher still works afterwards */
    check_line("(a+)+$", "xaa", true, (struct mrange[]){{1, 3}}, 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* matcher_line_mode                                                   */
/* ------------------------------------------------------------------ */

START_TEST(test_line_mode)
{
    static const struct {
        const char *pattern;
        bool literal, want;
    } c[] = {
        {"\\Afoo", false, true},
        {"foo\\z", false, true},
        {"foo\\Z", false, true},
        {"\\Gfoo", false, true},
        {"(?<=a)b", false, true},
        {"(?<!a)b", false, true},
        {"(*CR)a", false, true},
        {"(*UCP)\\w", false, true},
        {"foo", false, false},
        {"a.b", false, false},
        {"^foo$", false, false},
        {"\\bfoo\\b", false, false},
        {"a(?=b)", false, false},
        {"\\s+", false, false},
        {"x*", false, false},
        /* a literal has no constructs */
        {"\\Afoo", true, false},
        {"(?<=a)b", true, false},
        {"(*CR)a", true, false},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        compile(c[i].pattern, c[i].literal, false);
        bool got = matcher_line_mode(m);
        ck_assert_msg(got == c[i].want, "matcher_line_mode(\"%s\", literal=%d) = %d, want %d",
                      c[i].pattern, c[i].literal, got, c[i].want);
    }
}
END_TEST

START_TEST(test_line_mode_read)
{
    /* The constructs are read, not searched for as text: inside a class
     * or after a backslash they are not there; (?-m) makes ^ and $ the
     * subject's ends (which the buffer scan would take for line ends:
     * lines were missed), and a possessive suffix may follow white space
     * or a comment. */
    static const struct {
        const char *pattern;
        bool want;
    } c[] = {
        {"[(*]x", false},     {"[(?<=]x", false},  {"a\\(?<=b", false}, /* \( then an optional '('
                                                                           ... no lookbehind */
        {"\\Qa(*\\E", false}, {"\\++", false},  /* an escaped '+', repeated */
        {"a\\{2}+", false},   {"\\\\A", false}, /* a backslash, then A */
        {"(*pla:a)b", false},                   /* a positive lookahead */
        {"(?-m)^foo", true},  {"foo(?-m)$", true}, {"(?-m:^)foo", true},   {"(?m)^foo", false},
        {"(*nla:a)b", true},  {"(*plb:a)b", true}, {"(*atomic:a)b", true}, {"(?<*a)b", true},
        {"(?x)a+ +", true},   {"a*(?#c)+", true},  {"a{2}+", true},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        compile(c[i].pattern, false, false);
        bool got = matcher_line_mode(m);
        ck_assert_msg(got == c[i].want, "matcher_line_mode(\"%s\") = %d, want %d", c[i].pattern,
                      got, c[i].want);
    }
}
END_TEST

START_TEST(test_local)
{
    /* A match that lies inside its line is that line's own unless the
     * pattern looks ahead, which may have seen the '\n' after the line:
     * (?* looks ahead too (it was missed, and "a(?*\s)" counted a line
     * "a" followed by another). */
    static const struct {
        const char *pattern;
        bool literal, want;
    } c[] = {
        {"foo", false, true},        {"a(?=b)", false, false},   {"a(?*\\s)", false, false},
        {"(*pla:b)a", false, false}, {"[[:<:]]a", false, false}, {"[(?=]a", false, true},
        {"\\(?=", false, true},      {"a(?=b)", true, true},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        compile(c[i].pattern, c[i].literal, false);
        bool got = matcher_local(m);
        ck_assert_msg(got == c[i].want, "matcher_local(\"%s\", literal=%d) = %d, want %d",
                      c[i].pattern, c[i].literal, got, c[i].want);
    }
    /* why it matters: in a buffer, a(?*\s) finds "a" on a line of its own */
    compile("a(?*\\s)", false, false);
    size_t at = 9, end = 9;
    int rc = matcher_find(m, "a\nb", 3, 0, &at, &end);
    ck_assert_msg(rc == 1 && at == 0 && end == 1, "a(?*\\s) in \"a\\nb\": %d [%zu,%zu)", rc, at,
                  end);
    check_line("a(?*\\s)", "a", false, NULL, 0);
}
END_TEST

Suite *suite_matcher(void)
{
    Suite *s = suite_create("matcher");
    TCase *tc;

    tc = tcase_create("matcher_new");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_new_bad_regex);
    tcase_add_test(tc, test_new_bad_regex_no_buffers);
    tcase_add_test(tc, test_new_invalid_utf8);
    tcase_add_test(tc, test_new_ok);
    suite_add_tcase(s, tc);

    tc = tcase_create("matcher_find");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_find_literal_vs_regex);
    tcase_add_test(tc, test_find_multiline);
    tcase_add_test(tc, test_find_caseless);
    suite_add_tcase(s, tc);

    tc = tcase_create("matcher_line");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_line_ranges);
    tcase_add_test(tc, test_line_cap);
    tcase_add_test(tc, test_line_empty_matches);
    tcase_add_test(tc, test_line_empty_literal);
    tcase_add_test(tc, test_line_utf8);
    tcase_add_test(tc, test_line_anchors);
    tcase_add_test(tc, test_line_limit);
    suite_add_tcase(s, tc);

    tc = tcase_create("matcher_line_mode");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_line_mode);
    tcase_add_test(tc, test_line_mode_read);
    suite_add_tcase(s, tc);

    tc = tcase_create("matcher_local");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_local);
    suite_add_tcase(s, tc);

    return s;
}
