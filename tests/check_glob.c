/*
 * check_glob.c - unit tests for src/glob.c: single globs (glob_match,
 * glob_check) and query glob lists (glob_list_*).
 *
 * Most tests are tables of (glob, path, expected) run through one helper,
 * so that a failure names the glob and path at fault.  The pathological
 * cases assert only the answer: an exponential matcher would not finish
 * within Check's timeout, which is the real assertion.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_suites.h"
#include "glob.h"
#include "util.h"

struct match_case {
    const char *pattern;
    const char *path;
    bool want;
};

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static void check_matches(const struct match_case *c, size_t n, int flags)
{
    for (size_t i = 0; i < n; i++) {
        bool got = glob_match(c[i].pattern, c[i].path, flags);
        ck_assert_msg(got == c[i].want, "glob_match(\"%s\", \"%s\", %d) = %d, want %d",
                      c[i].pattern, c[i].path, flags, got, c[i].want);
    }
}

/* A malloc'd string: unit repeated n times, then tail. */
static char *repeat(const char *unit, size_t n, const char *tail)
{
    size_t ulen = strlen(unit), tlen = strlen(tail);
    char *s = xmalloc(ulen * n + tlen + 1);

    for (size_t i = 0; i < n; i++)
        memcpy(s + i * ulen, unit, ulen);
    memcpy(s + ulen * n, tail, tlen + 1);
    return s;
}

/* ------------------------------------------------------------------ */
/* glob_match                                                          */
/* ------------------------------------------------------------------ */

START_TEST(test_match_literal)
{
    static const struct match_case c[] = {
        {"abc", "abc", true},   {"abc", "abd", false},  {"abc", "ab", false}, {"ab", "abc", false},
        {"a/b", "a/b", true},   {"a/b", "a/c", false},  {"a/b", "a", false},  {"a", "a/b", false},
        {"ABC", "abc", false},  {"x.c", "x.C", false},  {"a b", "a b", true}, {"a,b", "a,b", true},
        {"a//b", "a//b", true}, {"a//b", "a/b", false},
    };
    check_matches(c, NCASES(c), 0);
    check_matches(c, NCASES(c), GLOB_BRACES);
}
END_TEST

START_TEST(test_match_empty)
{
    static const struct match_case c[] = {
        {"", "", true},   {"", "a", false},   {"a", "", false}, {"*", "", true},
        {"?", "", false}, {"[a]", "", false}, {"**", "", true}, {"a/**", "", false},
    };
    check_matches(c, NCASES(c), 0);
}
END_TEST

START_TEST(test_match_trailing_slash)
{
    /* A path is matched as written: a trailing '/' is an empty last
     * segment. */
    static const struct match_case c[] = {
        {"a", "a/", false}, {"a/", "a/", true},     {"a/", "a", false},     {"*", "a/", false},
        {"*/", "a/", true}, {"a/b/", "a/b/", true}, {"a/b", "a/b/", false}, {"**/b/", "x/b/", true},
    };
    check_matches(c, NCASES(c), 0);
}
END_TEST

START_TEST(test_match_star)
{
    static const struct match_case c[] = {
        {"*", "abc", true},
        {"*", "a/b", false},
        {"*.c", "x.c", true},
        {"*.c", ".c", true},
        {"*.c", "dir/x.c", false},
        {"*.c", "x.cc", false},
        {"a*", "a", true},
        {"a*", "b", false},
        {"*a", "ba", true},
        {"*a", "ab", false},
        {"a*b*c", "aXbYc", true},
        {"a*b*c", "abc", true},
        {"a*b*c", "aXbY", false},
        {"a*a", "a", false},
        {"a*a", "aa", true},
        {"a*a", "abca", true},
        {"*x*", "abc", false},
        {"*x*", "axc", true},
        {"a/*", "a/b", true},
        {"a/*", "a/b/c", false},
        {"*/*", "a/b", true},
        {"*/b", "a/b", true},
        {"a/*/c", "a/b/c", true},
        {"a/*/c", "a/b/x/c", false},
        {"*.tar.*", "x.tar.gz", true},
        {"a*/b", "abc/b", true},
    };
    check_matches(c, NCASES(c), 0);
}
END_TEST

START_TEST(test_match_question)
{
    static const struct match_case c[] = {
        {"?", "a", true},      {"?", "ab", false},   {"?", "/", false},   {"a?c", "abc", true},
        {"a?c", "a/c", false}, {"a?c", "ac", false}, {"??", "ab", true},  {"??", "a", false},
        {"?/?", "a/b", true},  {"*?", "a", true},    {"?*?", "a", false}, {"?*?", "ab", true},
    };
    check_matches(c, NCASES(c), 0);
}
END_TEST

START_TEST(test_match_utf8)
{
    static const struct match_case c[] = {
        /* '?' takes a whole UTF-8 sequence of 2, 3 or 4 bytes. */
        {"?", "\xc3\xa9", true},         /* é */
        {"?", "\xe2\x82\xac", true},     /* € */
        {"?", "\xf0\x9f\x98\x80", true}, /* U+1F600 */
        {"??", "\xc3\xa9", false},
        {"?.txt", "\xc3\xa9.txt", true},
        {"a?b", "a\xc3\xa9\x62", true},
        {"*?", "\xc3\xa9", true},
        {"\xc3\xa9*", "\xc3\xa9t\xc3\xa9", true},
        /* Classes also compare whole characters (code points). */
        {"[\xc3\xa9]", "\xc3\xa9", true},
        {"[\xc3\xa9]", "e", false},
        {"[!a]", "\xc3\xa9", true},
        {"[\xc3\xa0-\xc3\xbc]", "\xc3\xa9", true}, /* [à-ü] holds é */
        {"[a-z]", "\xc3\xa9", false},
        /* '*' never stops inside a character. */
        {"*\xa9", "\xc3\xa9", false},
        /* Invalid UTF-8 falls back to single bytes. */
        {"?", "\xff", true},
        {"??", "\xc3\x28", true}, /* lead byte, no follower */
        {"?", "\xc3", true},      /* truncated sequence */
        {"?", "\xc0\x80", false}, /* overlong: two bytes */
        {"[\xc3]", "\xc3\xa9", false},
    };
    check_matches(c, NCASES(c), 0);
}
END_TEST

START_TEST(test_match_class)
{
    static const struct match_case c[] = {
        {"[abc]", "b", true},
        {"[abc]", "d", false},
        {"[abc]", "ab", false},
        {"[a-c]", "b", true},
        {"[a-c]", "d", false},
        {"[a-c]", "-", false},
        {"[!a-c]", "d", true},
        {"[!a-c]", "b", false},
        {"[^a-c]", "d", true},
        {"[^a-c]", "a", false},
        {"[]]", "]", true},
        {"[]a]", "a", true},
        {"[]a]", "b", false},
        {"[!]]", "]", false},
        {"[!]]", "x", true},
        {"[^]]", "]", false},
        {"[a-]", "-", true},
        {"[-a]", "-", true},
        {"[a-]", "b", false},
        {"[a\\]]", "]", true},
        {"[\\-x]", "-", true},
        {"[a\\-z]", "m", false},
        {"[[]", "[", true},
        {"[a-z][0-9]", "x7", true},
        {"[a-z][0-9]", "7x", false},
        {"[z-a]", "m", false},
        {"[0-9A-Fa-f]", "E", true},
        {"[0-9A-Fa-f]", "g", false},
        {"x[!.]*", "x.c", false},
        {"x[!.]*", "xa.c", true},
        /* A class never matches '/', even when it names it. */
        {"a[/]b", "a/b", false},
        {"a[!x]b", "a/b", false},
        {"[!a]", "/", false},
        {"*[!a]", "b/", false},
        /* A bad class makes a bad glob, which matches nothing. */
        {"x[ab", "x[ab", false},
        {"[", "[", false},
        {"[!]", "!", false},
    };
    check_matches(c, NCASES(c), 0);
}
END_TEST

START_TEST(test_match_escape)
{
    static const struct match_case c[] = {
        {"\\*", "*", true},           {"\\*", "a", false},    {"\\?", "?", true},
        {"\\?", "a", false},          {"\\[a]", "[a]", true}, {"\\[a]", "a", false},
        {"\\\\", "\\", true},         {"a\\b", "ab", true},   {"\\*\\*", "**", true},
        {"\\*\\*", "ab", false},      {"a\\/b", "a/b", true}, {"\\#x", "#x", true},
        {"\\{a,b\\}", "{a,b}", true}, {"x\\ ", "x ", true},   {"*\\*", "ab*", true},
        {"*\\*", "ab", false},        {"a\\", "a\\", false}, /* trailing backslash: bad glob */
    };
    check_matches(c, NCASES(c), 0);
}
END_TEST

START_TEST(test_match_globstar_leading)
{
    static const struct match_case c[] = {
        {"**/x", "x", true},       {"**/x", "a/x", true},       {"**/x", "a/b/x", true},
        {"**/x", "a/xx", false},   {"**/x", "x/a", false},      {"**/x", "ax", false},
        {"**/*.c", "c.c", true},   {"**/*.c", "a/b/c.c", true}, {"**/*.c", "a/b/c.h", false},
        {"**/a/b", "x/a/b", true}, {"**/a/b", "a/x/b", false},  {"**/a/*", "a/a/a", true},
    };
    check_matches(c, NCASES(c), 0);
}
END_TEST

START_TEST(test_match_globstar_trailing)
{
    static const struct match_case c[] = {
        {"a/**", "a", false},        {"a/**", "a/b", true},    {"a/**", "a/b/c", true},
        {"a/**", "b/a/c", false},    {"a/**", "ab/c", false},  {"a/**", "b", false},
        {"a/b/**", "a/b/c/d", true}, {"a/b/**", "a/b", false}, {"*/**", "a/b", true},
        {"*/**", "a", false},        {"a/**/**", "a", false},  {"a/**/**", "a/b", true},
    };
    check_matches(c, NCASES(c), 0);
}
END_TEST

START_TEST(test_match_globstar_middle)
{
    static const struct match_case c[] = {
        {"a/**/b", "a/b", true},
        {"a/**/b", "a/x/b", true},
        {"a/**/b", "a/x/y/b", true},
        {"a/**/b", "a/x/y/c", false},
        {"a/**/b", "b", false},
        {"a/**/b", "a/b/c", false},
        {"a/**/b", "ab", false},
        {"a/**/b", "x/a/b", false},
        {"a/**/**/b", "a/b", true},
        {"a/**/**/b", "a/x/y/b", true},
        {"a/**/b/**/c", "a/x/b/y/z/c", true},
        {"a/**/b/**/c", "a/b/c", true},
        {"a/**/b/**/c", "a/c", false},
        /* Needs the "**" to give back what it first left unmatched. */
        {"a/**/b/c", "a/b/x/b/c", true},
        {"a/**/b/c", "a/b/x/b/d", false},
        {"a/**/*.c", "a/x/y.c", true},
        {"a/**/*.c", "a/y.c", true},
    };
    check_matches(c, NCASES(c), 0);
}
END_TEST

START_TEST(test_match_globstar_alone)
{
    static const struct match_case c[] = {
        {"**", "", true},          {"**", "a", true},    {"**", "a/b/c", true},
        {"**", ".hidden/x", true}, {"**/**", "a", true}, {"**/**", "a/b", true},
        {"**/", "a/", true},       {"**/", "a", false},
    };
    check_matches(c, NCASES(c), 0);
}
END_TEST

START_TEST(test_match_globstar_not_segment)
{
    /* "**" that is not a whole segment is just '*'. */
    static const struct match_case c[] = {
        {"a**b", "axyb", true},     {"a**b", "ab", true},     {"a**b", "ax/yb", false},
        {"**.c", "x.c", true},      {"**.c", "a/x.c", false}, {"x/**y", "x/ay", true},
        {"x/**y", "x/a/y", false},  {"y**/x", "yab/x", true}, {"y**/x", "y/a/x", false},
        {"***", "a", true},         {"***", "a/b", false},    {"\\*\\*/x", "**/x", true},
        {"\\*\\*/x", "a/x", false}, {"*\\*/x", "a/x", false},
    };
    check_matches(c, NCASES(c), 0);
}
END_TEST

START_TEST(test_match_braces)
{
    static const struct match_case c[] = {
        {"*.{c,h}", "x.c", true},
        {"*.{c,h}", "x.h", true},
        {"*.{c,h}", "x.o", false},
        {"*.{c,h}", "x.{c,h}", false},
        {"{a,b}/{c,d}", "b/c", true},
        {"{a,b}/{c,d}", "b/e", false},
        {"{a,{b,c}d}", "a", true},
        {"{a,{b,c}d}", "cd", true},
        {"{a,{b,c}d}", "c", false},
        {"{a,{b,c}d}", "ad", false},
        {"{x{1,{2,3}},y}z", "x3z", true},
        {"{x{1,{2,3}},y}z", "yz", true},
        {"x{,.bak}", "x", true},
        {"x{,.bak}", "x.bak", true},
        {"{a\\,b,c}", "a,b", true},
        {"{a\\,b,c}", "a", false},
        {"{a\\,b,c}", "c", true},
        {"{a}", "a", true},
        {"{}", "", true},
        {"{}x", "x", true},
        {"{src,lib}/**/*.c", "lib/x/y.c", true},
        {"{src,lib}/**/*.c", "doc/x/y.c", false},
        {"{**,x}/y", "a/b/y", true},
        {"{a/b,c}", "a/b", true},
        {"{a/b,c}", "a", false},
        {"[{]", "{", true},
        {"{[,]}", ",", true},
        {"{[,]}", "[", false},
        {"\\{a,b\\}", "{a,b}", true},
        {"\\{a,b\\}", "a", false},
        {"{a,b}", "{a,b}", false},
        {"a,b", "a,b", true},
        {"{a,b", "a", false},
        {"a}", "a}", false},
    };
    check_matches(c, NCASES(c), GLOB_BRACES);
}
END_TEST

START_TEST(test_match_braces_every_alternative)
{
    /* Every one of the 256 expansions of 8 groups is produced, and the
     * nested groups' alternatives are all reachable. */
    static const char *const nested[] = {
        "ax", "ay", "az", "bx", "by", "bz", "cx", "cy", "cz",
    };
    const char *p = "{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}";
    const char *q = "{a,{b,c}}{x,{y,{z}}}";
    char path[9];

    for (unsigned i = 0; i < 256; i++) {
        for (unsigned bit = 0; bit < 8; bit++)
            path[bit] = (i >> bit) & 1 ? 'b' : 'a';
        path[8] = '\0';
        ck_assert_msg(glob_match(p, path, GLOB_BRACES), "\"%s\" missed \"%s\"", p, path);
    }
    for (size_t i = 0; i < NCASES(nested); i++)
        ck_assert_msg(glob_match(q, nested[i], GLOB_BRACES), "\"%s\" missed \"%s\"", q, nested[i]);
    ck_assert_msg(!glob_match(q, "ab", GLOB_BRACES), "\"%s\" matched \"ab\"", q);
}
END_TEST

START_TEST(test_match_braces_off)
{
    /* Without GLOB_BRACES, '{', '}' and ',' are ordinary characters. */
    static const struct match_case c[] = {
        {"{a,b}", "{a,b}", true},  {"{a,b}", "a", false},  {"*.{c,h}", "x.{c,h}", true},
        {"*.{c,h}", "x.c", false}, {"{", "{", true},       {"}", "}", true},
        {"a}", "a}", true},        {"{a,b", "{a,b", true},
    };
    check_matches(c, NCASES(c), 0);
}
END_TEST

START_TEST(test_match_bad_input)
{
    char *longest = repeat("a", GLOB_MAX_LEN, "");
    char *too_long = repeat("a", GLOB_MAX_LEN + 1, "");

    ck_assert_msg(glob_match(longest, longest, 0), "a %d-byte glob must still match", GLOB_MAX_LEN);
    ck_assert_msg(!glob_match(too_long, too_long, 0), "a %d-byte glob must be refused",
                  GLOB_MAX_LEN + 1);
    ck_assert_msg(!glob_match(NULL, "a", 0), "NULL glob matched");
    ck_assert_msg(!glob_match("*", NULL, 0), "NULL path matched");
    ck_assert_msg(!glob_match("[a", "[a", GLOB_BRACES), "bad class matched");
    free(longest);
    free(too_long);
}
END_TEST

START_TEST(test_match_pathological)
{
    char *as = repeat("a", 100000, "");
    char *asb = repeat("a", 100000, "b");
    char *stars = repeat("*a", GLOB_MAX_LEN / 2 - 1, "*b");
    char *deep = repeat("a/", 3000, "a");
    char *deepb = repeat("a/", 3000, "b");
    char *globstars = repeat("**/", 20, "x");
    const char *p = "*a*a*a*a*a*a*a*b";
    const char *q = "**/a/**/a/**/a/**/a/**/a/**/b";
    bool got;

    got = glob_match(p, as, 0);
    ck_assert_msg(!got, "\"%s\" matched 100000 a's", p);
    got = glob_match(p, asb, 0);
    ck_assert_msg(got, "\"%s\" missed 100000 a's and a b", p);
    got = glob_match(stars, as, 0);
    ck_assert_msg(!got, "4096-byte \"*a*a...*b\" matched 100000 a's");
    got = glob_match(stars, asb, 0);
    ck_assert_msg(got, "4096-byte \"*a*a...*b\" missed a's and a b");
    got = glob_match(q, deep, 0);
    ck_assert_msg(!got, "\"%s\" matched a 3001-segment path of a's", q);
    got = glob_match(q, deepb, 0);
    ck_assert_msg(got, "\"%s\" missed a 3001-segment path ending in b", q);
    got = glob_match(globstars, deep, 0);
    ck_assert_msg(!got, "20 \"**\" segments matched a path with no x");
    got = glob_match("{a,b}*{a,b}*{a,b}*{a,b}*{a,b}*{a,b}*c", as, GLOB_BRACES);
    ck_assert_msg(!got, "64 brace alternatives matched 100000 a's");
    free(as);
    free(asb);
    free(stars);
    free(deep);
    free(deepb);
    free(globstars);
}
END_TEST

/* ------------------------------------------------------------------ */
/* glob_check                                                          */
/* ------------------------------------------------------------------ */

struct check_case {
    const char *pattern;
    int flags;
    const char *want; /* NULL: valid; else a part of the message */
};

START_TEST(test_check_table)
{
    static const struct check_case c[] = {
        {"", 0, NULL},
        {"*", 0, NULL},
        {"a/**/b", 0, NULL},
        {"[]]", 0, NULL},
        {"[!]a]", 0, NULL},
        {"\\[", 0, NULL},
        {"]", 0, NULL},
        {"{a,b}", 0, NULL},
        {"{a,b}", GLOB_BRACES, NULL},
        {"{", 0, NULL},
        {"}", 0, NULL},
        {"{a,{b,c}}", GLOB_BRACES, NULL},
        {"[{]", GLOB_BRACES, NULL},
        {"\\{", GLOB_BRACES, NULL},
        {"{a\\}}", GLOB_BRACES, NULL},
        {"[a", 0, "unbalanced '['"},
        {"ab[c", 0, "offset 2"},
        {"[]", 0, "unbalanced '['"},
        {"[!]", 0, "unbalanced '['"},
        {"[a\\]", 0, "unbalanced '['"},
        {"a\\", 0, "trailing backslash"},
        {"\\", GLOB_BRACES, "trailing backslash"},
        {"{a", GLOB_BRACES, "unbalanced '{'"},
        {"x{a,{b}", GLOB_BRACES, "offset 1"},
        {"a}", GLOB_BRACES, "unbalanced '}'"},
        {"{a,b}}", GLOB_BRACES, "unbalanced '}'"},
        {"{a\\}", GLOB_BRACES, "unbalanced '{'"},
        {"{[}]", GLOB_BRACES, "unbalanced '{'"},
    };
    char err[SG_ERRLEN];

    for (size_t i = 0; i < NCASES(c); i++) {
        int rc;
        strcpy(err, "(unset)");
        rc = glob_check(c[i].pattern, c[i].flags, err, sizeof err);
        if (!c[i].want) {
            ck_assert_msg(rc == SG_OK, "glob_check(\"%s\", %d) failed: %s", c[i].pattern,
                          c[i].flags, err);
            continue;
        }
        ck_assert_msg(rc == SG_ERR, "glob_check(\"%s\", %d) accepted it", c[i].pattern, c[i].flags);
        ck_assert_msg(strstr(err, c[i].want) != NULL,
                      "glob_check(\"%s\"): message \"%s\" lacks \"%s\"", c[i].pattern, err,
                      c[i].want);
    }
}
END_TEST

START_TEST(test_check_length)
{
    char err[SG_ERRLEN] = "";
    char *longest = repeat("*", GLOB_MAX_LEN, "");
    char *too_long = repeat("*", GLOB_MAX_LEN + 1, "");
    int rc;

    rc = glob_check(longest, GLOB_BRACES, err, sizeof err);
    ck_assert_msg(rc == SG_OK, "%d-byte glob refused: %s", GLOB_MAX_LEN, err);
    rc = glob_check(too_long, 0, err, sizeof err);
    ck_assert_msg(rc == SG_ERR && strstr(err, "longer than"), "%d-byte glob: rc %d, message \"%s\"",
                  GLOB_MAX_LEN + 1, rc, err);
    free(longest);
    free(too_long);
}
END_TEST

START_TEST(test_check_brace_limits)
{
    char err[SG_ERRLEN] = "";
    char *deep_ok = xmalloc(64), *too_deep = xmalloc(64);
    char *wide_ok = repeat("{a,b}", 8, "");  /* 256 */
    char *too_wide = repeat("{a,b}", 9, ""); /* 512 */
    char *commas = repeat(",", GLOB_MAX_ALTERNATIVES, "}");
    char *braces = xmalloc(strlen(commas) + 2);
    int rc;

    /* "{{{...a...}}}" nested GLOB_MAX_BRACE_DEPTH and one deeper. */
    strcpy(deep_ok, "");
    for (int i = 0; i < GLOB_MAX_BRACE_DEPTH; i++)
        strcat(deep_ok, "{");
    strcat(deep_ok, "a");
    for (int i = 0; i < GLOB_MAX_BRACE_DEPTH; i++)
        strcat(deep_ok, "}");
    snprintf(too_deep, 64, "{%s}", deep_ok);
    /* "{,,...,}": 257 empty alternatives. */
    snprintf(braces, strlen(commas) + 2, "{%s", commas);

    rc = glob_check(deep_ok, GLOB_BRACES, err, sizeof err);
    ck_assert_msg(rc == SG_OK, "\"%s\" refused: %s", deep_ok, err);
    rc = glob_check(too_deep, GLOB_BRACES, err, sizeof err);
    ck_assert_msg(rc == SG_ERR && strstr(err, "nested deeper"), "\"%s\": rc %d, message \"%s\"",
                  too_deep, rc, err);
    rc = glob_check(too_deep, 0, err, sizeof err);
    ck_assert_msg(rc == SG_OK, "\"%s\" without braces refused", too_deep);
    rc = glob_check(wide_ok, GLOB_BRACES, err, sizeof err);
    ck_assert_msg(rc == SG_OK, "\"%s\" refused: %s", wide_ok, err);
    rc = glob_check(too_wide, GLOB_BRACES, err, sizeof err);
    ck_assert_msg(rc == SG_ERR && strstr(err, "more than 256 alternatives"),
                  "\"%s\": rc %d, message \"%s\"", too_wide, rc, err);
    ck_assert_msg(!glob_match(too_wide, "abababababababab", GLOB_BRACES),
                  "an over-wide glob matched");
    rc = glob_check(braces, GLOB_BRACES, err, sizeof err);
    ck_assert_msg(rc == SG_ERR && strstr(err, "alternatives"),
                  "257 alternatives: rc %d, message \"%s\"", rc, err);
    free(deep_ok);
    free(too_deep);
    free(wide_ok);
    free(too_wide);
    free(commas);
    free(braces);
}
END_TEST

START_TEST(test_check_no_buffer)
{
    /* A NULL or empty error buffer is allowed, and left alone. */
    char err[4] = "xyz";

    ck_assert_msg(glob_check("[", 0, NULL, 0) == SG_ERR, "\"[\" accepted");
    ck_assert_msg(glob_check("[", 0, err, 0) == SG_ERR, "\"[\" accepted");
    ck_assert_msg(strcmp(err, "xyz") == 0, "errlen 0 wrote \"%s\"", err);
    ck_assert_msg(glob_check(NULL, 0, NULL, 0) == SG_ERR, "NULL accepted");
}
END_TEST

/* ------------------------------------------------------------------ */
/* glob_list_parse                                                     */
/* ------------------------------------------------------------------ */

START_TEST(test_list_parse_ok)
{
    static const char *const ok[] = {
        "*.c",       "*.c,*.h", ",*.c,,", " *.c , *.h ", "src/**/*.h", "*.{c,h},Makefile",
        "{a,b},[,]", "a\\,b",   "/src/",  "**",
    };
    char err[SG_ERRLEN];

    for (size_t i = 0; i < NCASES(ok); i++) {
        struct glob_list *gl;
        strcpy(err, "");
        gl = glob_list_parse(ok[i], err, sizeof err);
        ck_assert_msg(gl != NULL, "glob_list_parse(\"%s\") failed: %s", ok[i], err);
        glob_list_free(gl);
    }
}
END_TEST

START_TEST(test_list_parse_bad)
{
    static const struct {
        const char *spec;
        const char *want; /* part of the message */
    } bad[] = {
        {"", "empty glob list"},     {",,,", "empty glob list"},    {" , \t", "empty glob list"},
        {"*.c,[a", "\"[a\""},        {"*.c,[a", "unbalanced '['"},  {"{a,b", "\"{a,b\""},
        {"a},b", "\"a}\""},          {"x\\", "trailing backslash"}, {"/", "\"/\": names no path"},
        {"*.c,//", "names no path"},
    };
    char err[SG_ERRLEN];

    for (size_t i = 0; i < NCASES(bad); i++) {
        struct glob_list *gl;
        strcpy(err, "");
        gl = glob_list_parse(bad[i].spec, err, sizeof err);
        ck_assert_msg(gl == NULL, "glob_list_parse(\"%s\") accepted it", bad[i].spec);
        ck_assert_msg(strstr(err, bad[i].want) != NULL,
                      "glob_list_parse(\"%s\"): message \"%s\" lacks \"%s\"", bad[i].spec, err,
                      bad[i].want);
    }
    ck_assert_msg(glob_list_parse(NULL, err, sizeof err) == NULL, "NULL spec accepted");
    ck_assert_msg(glob_list_parse("[", NULL, 0) == NULL, "\"[\" accepted");
}
END_TEST

START_TEST(test_list_parse_limits)
{
    char err[SG_ERRLEN] = "";
    char *most = repeat("x,", GLOB_LIST_MAX_GLOBS - 1, "x");
    char *too_many = repeat("x,", GLOB_LIST_MAX_GLOBS, "x");
    char *wide = repeat("{a,b}", 8, ","); /* 256 patterns each */
    char *four = repeat(wide, 4, "");     /* 1024 patterns */
    char *five = repeat(wide, 5, "");
    char *long_bad = repeat("y", 300, "[");
    struct glob_list *gl;

    gl = glob_list_parse(most, err, sizeof err);
    ck_assert_msg(gl != NULL, "%d globs refused: %s", GLOB_LIST_MAX_GLOBS, err);
    glob_list_free(gl);
    gl = glob_list_parse(too_many, err, sizeof err);
    ck_assert_msg(gl == NULL && strstr(err, "more than 256 globs"), "%d globs: message \"%s\"",
                  GLOB_LIST_MAX_GLOBS + 1, err);
    gl = glob_list_parse(four, err, sizeof err);
    ck_assert_msg(gl != NULL, "1024 patterns refused: %s", err);
    glob_list_free(gl);
    gl = glob_list_parse(five, err, sizeof err);
    ck_assert_msg(gl == NULL && strstr(err, "more than 1024 patterns"),
                  "1280 patterns: message \"%s\"", err);
    /* A long bad glob is cut short in the message, which still fits. */
    gl = glob_list_parse(long_bad, err, sizeof err);
    ck_assert_msg(gl == NULL && strstr(err, "yyy...\": unbalanced '['"),
                  "long bad glob: message \"%s\"", err);
    free(most);
    free(too_many);
    free(wide);
    free(four);
    free(five);
    free(long_bad);
}
END_TEST

/* ------------------------------------------------------------------ */
/* glob_list_match                                                     */
/* ------------------------------------------------------------------ */

struct list_case {
    const char *spec;
    const char *path;
    bool want;
};

static void check_list(const struct list_case *c, size_t n)
{
    char err[SG_ERRLEN] = "";

    for (size_t i = 0; i < n; i++) {
        struct glob_list *gl = glob_list_parse(c[i].spec, err, sizeof err);
        bool got;
        ck_assert_msg(gl != NULL, "glob_list_parse(\"%s\") failed: %s", c[i].spec, err);
        got = glob_list_match(gl, c[i].path);
        glob_list_free(gl);
        ck_assert_msg(got == c[i].want, "glob_list_match(\"%s\", \"%s\") = %d, want %d", c[i].spec,
                      c[i].path, got, c[i].want);
    }
}

START_TEST(test_list_basename)
{
    /* No '/': matches any component by name. */
    static const struct list_case c[] = {
        {"*.c", "x.c", true},
        {"*.c", "a/b/x.c", true},
        {"*.c", "x.h", false},
        {"*.c", "x.cc", false},
        {"*.c", "a/foo.c/readme", true}, /* a folder named foo.c */
        {"tests", "tests", true},
        {"tests", "tests/unit/x.py", true},
        {"tests", "a/tests/x", true},
        {"tests", "tests.py", false},
        {"tests", "mytests/x", false},
        {"te?ts", "a/tests/x", true},
        {"*", "a/b/c", true},
        {"**", "a/b/c", true},
        {"Makefile", "sub/Makefile", true},
        {"Makefile", "sub/Makefile.am", false},
    };
    check_list(c, NCASES(c));
}
END_TEST

START_TEST(test_list_anchored)
{
    /* A '/' anchors the glob at the root; a leading one is dropped. */
    static const struct list_case c[] = {
        {"src/*.c", "src/x.c", true},
        {"src/*.c", "lib/src/x.c", false},
        {"src/*.c", "src/sub/x.c", false},
        {"src/*", "src/net/x.c", true},
        {"/src", "src/x.c", true},
        {"/src", "lib/src/x.c", false},
        {"/x.c", "x.c", true},
        {"/x.c", "a/x.c", false},
        {"src/**/*.h", "src/a/b.h", true},
        {"src/**/*.h", "src/b.h", true},
        {"src/**/*.h", "b.h", false},
        {"src/**", "src/a", true},
        {"src/**", "src", false},
        {"**/test/*.py", "test/x.py", true},
        {"**/test/*.py", "a/b/test/x.py", true},
        {"**/test/*.py", "a/test/b/x.py", false},
        {"a/b", "a/b/c/d", true},
        {"a/b", "a/bc", false},
        {"//src", "src/x", true},
    };
    check_list(c, NCASES(c));
}
END_TEST

START_TEST(test_list_folder)
{
    /* A trailing '/' names a folder and, like any '/', anchors the glob
     * at the root; a matching folder selects all beneath it. */
    static const struct list_case c[] = {
        {"src", "src/net/x.c", true},
        {"src/", "src/net/x.c", true},
        {"src/*", "src/net/x.c", true},
        {"src", "src", true},
        {"src/", "src", false},
        {"src/", "src/", true},
        {"src/", "lib/src/x", false},
        {"/src/", "lib/src/x", false},
        {"**/src/", "lib/src/x", true},
        {"build/", "a/build/x.o", false},
        {"build/", "build/x.o", true},
        {"build/", "build", false},
        {"**/build/", "a/build/x.o", true},
        {"**/build/", "a/build", false},
        {"**/build/", "a/build/", true},
        {"a/b/", "a/b/c", true},
        {"a/b/", "a/b", false},
        {"src//", "src/x", true},
        {"*/", "x", false},
        {"*/", "d/x", true},
        {"*/", "a/d/x", true},
        {"**/", "d/x", true},
        {"**/", "x", false},
        {"src\\/", "src/x", true},
        {"src\\/", "src", false},
        /* Folders below src, and what they hold; not src's own files. */
        {"src/**/", "src/x", false},
        {"src/**/", "src/x/", true},
        {"src/**/", "src/x/y", true},
        {"src/**/", "src", false},
        {"src/**", "src/x", true},
    };
    check_list(c, NCASES(c));
}
END_TEST

START_TEST(test_list_braces_commas)
{
    static const struct list_case c[] = {
        {"*.{c,h},Makefile", "x.h", true},
        {"*.{c,h},Makefile", "d/Makefile", true},
        {"*.{c,h},Makefile", "x.o", false},
        {"{src/*.c,*.h}", "src/x.c", true}, /* anchored alternative */
        {"{src/*.c,*.h}", "lib/x.c", false},
        {"{src/*.c,*.h}", "lib/y.h", true}, /* basename alternative */
        {" *.c , *.h ", "x.h", true},
        {"a\\,b", "a,b", true},
        {"a\\,b", "a", false},
        {"a\\,b", "b", false},
        {"[,]x", ",x", true},
        {"x\\ ", "x ", true},
        {"{/a,b}", "c/a", false},
        {"{/a,b}", "c/b", true},
        {"{a,}x", "x", true},
    };
    check_list(c, NCASES(c));
}
END_TEST

START_TEST(test_list_exclude)
{
    /* The exclude= use: true means "leave this file out". */
    static const struct list_case c[] = {
        {"vendor,*.min.js,third_party/", "vendor/lib/a.js", true},
        {"vendor,*.min.js,third_party/", "web/app.min.js", true},
        {"vendor,*.min.js,third_party/", "x/third_party/y.c", false},
        {"vendor,*.min.js,third_party/", "third_party/y.c", true},
        {"vendor,*.min.js,third_party/", "web/app.js", false},
        {"vendor,*.min.js,third_party/", "src/vendors.c", false},
        {"vendor,*.min.js,third_party/", "third_party", false},
        {"**/testdata/**", "a/testdata/x", true},
        {"**/testdata/**", "testdata", false},
    };
    check_list(c, NCASES(c));
}
END_TEST

START_TEST(test_list_odd_paths)
{
    struct glob_list *gl = glob_list_parse("src,*.c", NULL, 0);

    ck_assert_msg(gl != NULL, "parse failed");
    ck_assert_msg(!glob_list_match(gl, ""), "the empty path was selected");
    ck_assert_msg(!glob_list_match(gl, "/"), "\"/\" was selected");
    ck_assert_msg(!glob_list_match(gl, NULL), "a NULL path was selected");
    ck_assert_msg(!glob_list_match(NULL, "x.c"), "a NULL list selected");
    ck_assert_msg(glob_list_match(gl, "/src/x"), "\"/src/x\" not selected");
    ck_assert_msg(glob_list_match(gl, "a//x.c"), "\"a//x.c\" not selected");
    glob_list_free(gl);
}
END_TEST

/* ------------------------------------------------------------------ */
/* glob_list_unused                                                    */
/* ------------------------------------------------------------------ */

START_TEST(test_list_unused)
{
    const char *names[] = {"alpha", "beta", "site[2]"};
    struct glob_list *gl;

    /* Every item selects a name: nothing unused. */
    gl = glob_list_parse("alpha, b*,site\\[2]", NULL, 0);
    ck_assert_ptr_nonnull(gl);
    ck_assert_ptr_null(glob_list_unused(gl, names, 3));
    glob_list_free(gl);
    /* The first item that selects none is named, as typed. */
    gl = glob_list_parse("alpha, nosuch ,gam*", NULL, 0);
    ck_assert_ptr_nonnull(gl);
    ck_assert_str_eq(glob_list_unused(gl, names, 3), "nosuch");
    ck_assert_str_eq(glob_list_unused(gl, names + 1, 0), "alpha");
    glob_list_free(gl);
    /* An item whose braces expand: used when any alternative selects. */
    gl = glob_list_parse("{x,be}ta,{y,z}", NULL, 0);
    ck_assert_ptr_nonnull(gl);
    ck_assert_str_eq(glob_list_unused(gl, names, 3), "{y,z}");
    glob_list_free(gl);
    /* Empty items are not items; NULL list and NULL names are safe. */
    gl = glob_list_parse(",,alpha,,", NULL, 0);
    ck_assert_ptr_null(glob_list_unused(gl, names, 3));
    const char *holes[] = {NULL, "alpha"};
    ck_assert_ptr_null(glob_list_unused(gl, holes, 2));
    glob_list_free(gl);
    ck_assert_ptr_null(glob_list_unused(NULL, names, 3));
}
END_TEST

/* ------------------------------------------------------------------ */
/* glob_list_free                                                      */
/* ------------------------------------------------------------------ */

START_TEST(test_list_free)
{
    glob_list_free(NULL);
    /* A list holding many brace expansions; leaks show under valgrind. */
    glob_list_free(glob_list_parse("{a,b}{c,d}{e,f},x/,/y,**/z", NULL, 0));
}
END_TEST

Suite *suite_glob(void)
{
    Suite *s;
    TCase *tc;

    s = suite_create("glob");

    tc = tcase_create("glob_match");
    tcase_add_test(tc, test_match_literal);
    tcase_add_test(tc, test_match_empty);
    tcase_add_test(tc, test_match_trailing_slash);
    tcase_add_test(tc, test_match_star);
    tcase_add_test(tc, test_match_question);
    tcase_add_test(tc, test_match_utf8);
    tcase_add_test(tc, test_match_class);
    tcase_add_test(tc, test_match_escape);
    tcase_add_test(tc, test_match_globstar_leading);
    tcase_add_test(tc, test_match_globstar_trailing);
    tcase_add_test(tc, test_match_globstar_middle);
    tcase_add_test(tc, test_match_globstar_alone);
    tcase_add_test(tc, test_match_globstar_not_segment);
    tcase_add_test(tc, test_match_braces);
    tcase_add_test(tc, test_match_braces_every_alternative);
    tcase_add_test(tc, test_match_braces_off);
    tcase_add_test(tc, test_match_bad_input);
    tcase_add_test(tc, test_match_pathological);
    suite_add_tcase(s, tc);

    tc = tcase_create("glob_check");
    tcase_add_test(tc, test_check_table);
    tcase_add_test(tc, test_check_length);
    tcase_add_test(tc, test_check_brace_limits);
    tcase_add_test(tc, test_check_no_buffer);
    suite_add_tcase(s, tc);

    tc = tcase_create("glob_list_parse");
    tcase_add_test(tc, test_list_parse_ok);
    tcase_add_test(tc, test_list_parse_bad);
    tcase_add_test(tc, test_list_parse_limits);
    suite_add_tcase(s, tc);

    tc = tcase_create("glob_list_match");
    tcase_add_test(tc, test_list_basename);
    tcase_add_test(tc, test_list_anchored);
    tcase_add_test(tc, test_list_folder);
    tcase_add_test(tc, test_list_braces_commas);
    tcase_add_test(tc, test_list_exclude);
    tcase_add_test(tc, test_list_odd_paths);
    suite_add_tcase(s, tc);

    tc = tcase_create("glob_list_unused");
    tcase_add_test(tc, test_list_unused);
    suite_add_tcase(s, tc);

    tc = tcase_create("glob_list_free");
    tcase_add_test(tc, test_list_free);
    suite_add_tcase(s, tc);

    return s;
}
