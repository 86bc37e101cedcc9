/*
 * check_ignore.c - unit tests for src/ignore.c: parsing .gitignore text,
 * judging paths with one rule set, and the walker's stack of rule sets.
 *
 * Parsing has no accessor of its own, so the parse tests judge paths that
 * each line should (or should not) have produced a rule for.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_suites.h"
#include "ignore.h"
#include "util.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

#define NONE IGNORE_NONE
#define EXCL IGNORE_EXCLUDE
#define INCL IGNORE_INCLUDE

struct verdict_case {
    const char *path;
    bool is_dir;
    enum ignore_verdict want;
};

static const char *verdict_name(enum ignore_verdict v)
{
    switch (v) {
    case IGNORE_NONE:
        return "NONE";
    case IGNORE_EXCLUDE:
        return "EXCLUDE";
    case IGNORE_INCLUDE:
        return "INCLUDE";
    }
    return "?";
}

/* Parse text (len bytes) with base and check every case against it. */
static void check_rules_len(const char *text, size_t len, const char *base,
                            const struct verdict_case *c, size_t n)
{
    struct ignore_rules *r = ignore_rules_parse(text, len, base);

    ck_assert_msg(r != NULL, "ignore_rules_parse returned NULL");
    for (size_t i = 0; i < n; i++) {
        enum ignore_verdict got = ignore_rules_match(r, c[i].path, c[i].is_dir);
        if (got != c[i].want)
            ignore_rules_free(r);
        ck_assert_msg(got == c[i].want, "rules \"%s\" (base \"%s\"): \"%s\"%s is %s, want %s", text,
                      base, c[i].path, c[i].is_dir ? " (dir)" : "", verdict_name(got),
                      verdict_name(c[i].want));
    }
    ignore_rules_free(r);
}

static void check_rules(const char *text, const char *base, const struct verdict_case *c, size_t n)
{
    check_rules_len(text, strlen(text), base, c, n);
}

/* ------------------------------------------------------------------ */
/* ignore_rules_parse                                                  */
/* ------------------------------------------------------------------ */

START_TEST(test_parse_comments_blank)
{
    static const struct verdict_case c[] = {
        {"# comment", false, NONE}, {"#", false, NONE}, {"x.o", false, EXCL},
        {"   ", false, NONE},       {"y", false, EXCL}, {"a/y", false, EXCL},
    };
    check_rules("# comment\n#\n\n   \n*.o\n\n\ny\n", "", c, NCASES(c));
}
END_TEST

START_TEST(test_parse_escapes)
{
    /* "\#" and "\!" are a literal leading '#' or '!'. */
    static const struct verdict_case c[] = {
        {"#foo", false, EXCL}, {"foo", false, NONE}, {"!bar", false, EXCL},
        {"bar", false, NONE},  {"a*b", false, EXCL}, {"axb", false, NONE},
    };
    check_rules("\\#foo\n\\!bar\na\\*b\n", "", c, NCASES(c));
}
END_TEST

START_TEST(test_parse_trailing_spaces)
{
    /* Unescaped trailing spaces go; an escaped one stays. */
    static const struct verdict_case c[] = {
        {"foo", false, EXCL},   {"foo   ", false, NONE}, {"bar ", false, EXCL},
        {"bar", false, NONE},   {"baz ", false, EXCL},   {"baz  ", false, NONE},
        {" lead", false, EXCL}, {"lead", false, NONE},   {"tab\t", false, EXCL},
    };
    check_rules("foo   \nbar\\ \nbaz\\  \n lead\ntab\t\n", "", c, NCASES(c));
}
END_TEST

START_TEST(test_parse_crlf)
{
    static const struct verdict_case c[] = {
        {"a.o", false, EXCL},   {"b.o", false, EXCL}, {"a.o\r", false, NONE}, {"keep", false, INCL},
        {"c.tmp", false, EXCL}, {"d", true, EXCL},    {"d", false, NONE},
    };
    check_rules("a.o\r\nb.o\r\n!keep\r\nkeep2\r\n*.tmp  \r\nd/\r\n", "", c, NCASES(c));
}
END_TEST

START_TEST(test_parse_no_final_newline)
{
    static const struct verdict_case c[] = {
        {"a", false, EXCL},
        {"last", false, EXCL},
    };
    check_rules("a\nlast", "", c, NCASES(c));
}
END_TEST

START_TEST(test_parse_bad_lines)
{
    /* Bad globs, NUL bytes and lines with nothing left are skipped; the
     * lines around them still count. */
    static const char text[] = "[abc\n*.o\nfoo\\\nnul\0x\n!\n/\n!/\nok\n";
    static const struct verdict_case c[] = {
        {"[abc", false, NONE}, {"abc", false, NONE}, {"x.o", false, EXCL}, {"foo\\", false, NONE},
        {"nul", false, NONE},  {"ok", false, EXCL},  {"!", false, NONE},
    };
    check_rules_len(text, sizeof text - 1, "", c, NCASES(c));
}
END_TEST

START_TEST(test_parse_long_line)
{
    /* A line longer than a glob may be is skipped, not truncated. */
    size_t n = 5000;
    char *text = xmalloc(n + 16);
    char *path = xmalloc(n + 1);
    struct ignore_rules *r;

    memset(text, 'a', n);
    strcpy(text + n, "\nb\n");
    memset(path, 'a', n);
    path[n] = '\0';
    r = ignore_rules_parse(text, strlen(text), "");
    ck_assert_msg(ignore_rules_match(r, path, false) == IGNORE_NONE, "a 5000-byte rule was kept");
    ck_assert_msg(ignore_rules_match(r, "b", false) == IGNORE_EXCLUDE,
                  "the rule after a long line was lost");
    ignore_rules_free(r);
    free(text);
    free(path);
}
END_TEST

START_TEST(test_parse_empty)
{
    struct ignore_rules *r = ignore_rules_parse(NULL, 0, "");
    struct ignore_rules *r2 = ignore_rules_parse("", 0, NULL);

    ck_assert_msg(r != NULL && r2 != NULL, "no rule set for empty text");
    ck_assert_msg(ignore_rules_match(r, "x", false) == IGNORE_NONE, "an empty set matched");
    ck_assert_msg(ignore_rules_match(r2, "x", true) == IGNORE_NONE, "an empty set matched");
    ignore_rules_free(r);
    ignore_rules_free(r2);
}
END_TEST

START_TEST(test_parse_len_bound)
{
    /* Only len bytes are read: "*.o" is cut to "*". */
    static const struct verdict_case c[] = {
        {"x.c", false, EXCL},
        {"y", false, EXCL},
    };
    check_rules_len("y\n*.o", 3, "", c, NCASES(c));
}
END_TEST

START_TEST(test_parse_base_slashes)
{
    /* A stray leading or trailing '/' in base is tolerated. */
    static const struct verdict_case c[] = {
        {"sub/x.o", false, EXCL},
        {"x.o", false, NONE},
    };
    check_rules("*.o\n", "/sub/", c, NCASES(c));
}
END_TEST

/* ------------------------------------------------------------------ */
/* ignore_rules_match                                                  */
/* ------------------------------------------------------------------ */

START_TEST(test_match_negation_order)
{
    static const struct verdict_case c1[] = {
        {"a.log", false, EXCL},
        {"keep.log", false, INCL},
        {"x/keep.log", false, INCL},
        {"a.txt", false, NONE},
    };
    static const struct verdict_case c2[] = {
        {"keep.log", false, EXCL}, /* the later "*.log" wins */
    };
    static const struct verdict_case c3[] = {
        {"keep.log", false, EXCL},
        {"a.log", false, EXCL},
    };
    check_rules("*.log\n!keep.log\n", "", c1, NCASES(c1));
    check_rules("!keep.log\n*.log\n", "", c2, NCASES(c2));
    check_rules("*.log\n!keep.log\nkeep.log\n", "", c3, NCASES(c3));
}
END_TEST

START_TEST(test_match_dir_only)
{
    static const struct verdict_case c[] = {
        {"build", true, EXCL},
        {"build", false, NONE},
        {"a/build", true, EXCL},
        {"a/build", false, NONE},
        /* The walker asks about the folder first, never its files. */
        {"build/x.c", false, NONE},
        {"builds", true, NONE},
        {"out", true, EXCL},
        {"a/out", true, NONE},
        {"out", false, NONE},
    };
    check_rules("build/\n/out/\n", "", c, NCASES(c));
}
END_TEST

START_TEST(test_match_anchored)
{
    static const struct verdict_case c[] = {
        {"build", false, EXCL},     {"build", true, EXCL},          {"a/build", false, NONE},
        {"doc/frotz", false, EXCL}, {"doc/frotz", true, EXCL},      {"a/doc/frotz", false, NONE},
        {"doc/a.txt", false, EXCL}, {"doc/sub/a.txt", false, NONE}, {"x/y/z", true, EXCL},
        {"x/y/z", false, NONE},     {"a/x/y/z", true, NONE},
    };
    check_rules("/build\ndoc/frotz\ndoc/*.txt\nx/y/z/\n", "", c, NCASES(c));
}
END_TEST

START_TEST(test_match_unanchored)
{
    static const struct verdict_case c[] = {
        {"frotz", false, EXCL},     {"a/frotz", false, EXCL}, {"a/b/frotz", true, EXCL},
        {"frotz/x", false, NONE},   {"afrotz", false, NONE},  {"x.pyc", false, EXCL},
        {"a/b/x.pyc", false, EXCL}, {"x.PYC", false, NONE},   {"a/b", false, EXCL},
        {"b/a", false, NONE},       {"x/a/b", false, NONE},
    };
    /* "?\/[b]" has an escaped, but still separating, '/': anchored. */
    check_rules("frotz\n*.pyc\n?\\/[b]\n", "", c, NCASES(c));
}
END_TEST

START_TEST(test_match_globstar)
{
    static const struct verdict_case c[] = {
        {"foo", false, EXCL},   {"a/foo", false, EXCL},   {"a/b/foo", true, EXCL},
        {"abc", true, NONE},    {"abc/x", false, EXCL},   {"abc/x/y", false, EXCL},
        {"m/n", false, EXCL},   {"m/x/y/n", false, EXCL}, {"m/x/y/o", false, NONE},
        {"q/m/n", false, NONE},
    };
    check_rules("**/foo\nabc/**\nm/**/n\n", "", c, NCASES(c));
}
END_TEST

START_TEST(test_match_nested_base)
{
    static const struct verdict_case c[] = {
        {"sub/x.o", false, EXCL},
        {"sub/deep/x.o", false, EXCL},
        {"x.o", false, NONE},
        {"subway/x.o", false, NONE},
        {"sub", true, NONE},
        {"sub/", true, NONE},
        {"sub/top.txt", false, EXCL},
        {"sub/deep/top.txt", false, NONE},
        {"sub/deep/a/b", false, EXCL},
        {"sub/a/b", false, NONE},
        {"other/sub/x.o", false, NONE},
    };
    static const struct verdict_case d[] = {
        {"a/b/c/x.o", false, EXCL}, {"a/b/x.o", true, EXCL},    {"a/bx.o", false, NONE},
        {"a/x.o", false, NONE},     {"a/b/y", false, EXCL},     {"a/b/c/y", false, INCL},
        {"a/b/d/y", false, EXCL},   {"a/b/d/c/y", false, EXCL},
    };
    check_rules("*.o\n/top.txt\ndeep/a/b\n", "sub", c, NCASES(c));
    check_rules("*.o\ny\n!c/y\n", "a/b", d, NCASES(d));
}
END_TEST

START_TEST(test_match_null_args)
{
    struct ignore_rules *r = ignore_rules_parse("*", 1, "");

    ck_assert_msg(ignore_rules_match(NULL, "x", false) == IGNORE_NONE, "NULL rules gave a verdict");
    ck_assert_msg(ignore_rules_match(r, NULL, false) == IGNORE_NONE, "a NULL path got a verdict");
    ck_assert_msg(ignore_rules_match(r, "", false) == IGNORE_NONE, "the root itself got a verdict");
    ck_assert_msg(ignore_rules_match(r, "x", false) == IGNORE_EXCLUDE,
                  "\"*\" did not exclude \"x\"");
    ignore_rules_free(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* ignore_rules_free                                                   */
/* ------------------------------------------------------------------ */

START_TEST(test_rules_free)
{
    ignore_rules_free(NULL);
    /* Many rules, so the array grows; leaks show under valgrind. */
    ignore_rules_free(ignore_rules_parse(
        "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn\no\np\nq\nr\ns\n[\n", 40, "x/y"));
}
END_TEST

/* ------------------------------------------------------------------ */
/* ignore_stack_*                                                      */
/* ------------------------------------------------------------------ */

static struct ignore_rules *rules(const char *text, const char *base)
{
    return ignore_rules_parse(text, strlen(text), base);
}

START_TEST(test_stack_new)
{
    struct ignore_stack *s = ignore_stack_new();

    ck_assert_msg(s != NULL, "ignore_stack_new returned NULL");
    ck_assert_msg(ignore_stack_depth(s) == 0, "new stack has depth %zu", ignore_stack_depth(s));
    ck_assert_msg(!ignore_stack_ignored(s, "x", false), "an empty stack ignored \"x\"");
    ignore_stack_free(s);
}
END_TEST

START_TEST(test_stack_push)
{
    struct ignore_stack *s = ignore_stack_new();

    for (int i = 0; i < 20; i++) {
        ignore_stack_push(s, i % 2 == 0 ? rules("*.o\n", "") : NULL);
        ck_assert_msg(ignore_stack_depth(s) == (size_t)i + 1, "depth %zu after %d pushes",
                      ignore_stack_depth(s), i + 1);
    }
    ck_assert_msg(ignore_stack_ignored(s, "x.o", false),
                  "\"x.o\" not ignored with NULL levels on top");
    ignore_stack_free(s);
}
END_TEST

START_TEST(test_stack_pop)
{
    struct ignore_stack *s = ignore_stack_new();

    ignore_stack_push(s, rules("*.log\n", ""));
    ignore_stack_push(s, rules("!keep.log\n", "sub"));
    ck_assert_msg(!ignore_stack_ignored(s, "sub/keep.log", false),
                  "deeper \"!keep.log\" did not re-include");
    ignore_stack_pop(s);
    ck_assert_msg(ignore_stack_depth(s) == 1, "depth %zu after a pop", ignore_stack_depth(s));
    ck_assert_msg(ignore_stack_ignored(s, "sub/keep.log", false),
                  "pop did not restore the root's \"*.log\"");
    ignore_stack_pop(s);
    ignore_stack_pop(s); /* popping an empty stack is harmless */
    ignore_stack_pop(NULL);
    ck_assert_msg(ignore_stack_depth(s) == 0, "depth %zu after popping all", ignore_stack_depth(s));
    ck_assert_msg(!ignore_stack_ignored(s, "sub/keep.log", false),
                  "an emptied stack still ignores");
    ignore_stack_free(s);
}
END_TEST

START_TEST(test_stack_depth)
{
    struct ignore_stack *s = ignore_stack_new();

    ck_assert_msg(ignore_stack_depth(NULL) == 0, "NULL stack has a depth");
    ignore_stack_push(s, rules("a\n", ""));
    ignore_stack_push(s, rules("b\n", "x"));
    ck_assert_msg(ignore_stack_depth(s) == 2, "depth %zu, want 2", ignore_stack_depth(s));
    ignore_stack_pop(s);
    ck_assert_msg(ignore_stack_depth(s) == 1, "depth %zu, want 1", ignore_stack_depth(s));
    ignore_stack_free(s);
}
END_TEST

START_TEST(test_stack_ignored_deeper_wins)
{
    struct ignore_stack *s = ignore_stack_new();

    ignore_stack_push(s, rules("*.log\nnode_modules/\n", ""));
    ignore_stack_push(s, rules("!keep.log\n*.tmp\n", "sub"));
    ck_assert_msg(!ignore_stack_ignored(s, "sub/keep.log", false),
                  "sub/keep.log ignored despite the deeper \"!keep.log\"");
    ck_assert_msg(ignore_stack_ignored(s, "keep.log", false),
                  "keep.log at the root not ignored (outside sub)");
    ck_assert_msg(ignore_stack_ignored(s, "sub/x.log", false),
                  "sub/x.log not ignored: the root set should decide");
    ck_assert_msg(ignore_stack_ignored(s, "sub/x.tmp", false), "sub/x.tmp not ignored");
    ck_assert_msg(!ignore_stack_ignored(s, "x.tmp", false), "x.tmp ignored by a rule of sub");
    ck_assert_msg(ignore_stack_ignored(s, "sub/node_modules", true),
                  "sub/node_modules (dir) not ignored");
    ck_assert_msg(!ignore_stack_ignored(s, "sub/node_modules", false),
                  "a file named node_modules ignored by a folder rule");
    ck_assert_msg(!ignore_stack_ignored(s, "sub/x.c", false), "sub/x.c ignored");
    ck_assert_msg(!ignore_stack_ignored(NULL, "x.log", false), "a NULL stack ignored something");
    ignore_stack_free(s);
}
END_TEST

START_TEST(test_stack_ignored_dot_ignore_wins)
{
    /* Same folder: .gitignore pushed first, then .ignore, which wins. */
    struct ignore_stack *s = ignore_stack_new();

    ignore_stack_push(s, rules("*.gen\nvendor/\n", "lib"));
    ignore_stack_push(s, rules("!*.gen\n", "lib"));
    ck_assert_msg(!ignore_stack_ignored(s, "lib/x.gen", false),
                  ".ignore's \"!*.gen\" did not beat .gitignore's \"*.gen\"");
    ck_assert_msg(ignore_stack_ignored(s, "lib/vendor", true),
                  ".gitignore's rule lost where .ignore says nothing");
    ignore_stack_free(s);

    s = ignore_stack_new();
    ignore_stack_push(s, rules("!*.gen\n", "lib"));
    ignore_stack_push(s, rules("*.gen\n", "lib"));
    ck_assert_msg(ignore_stack_ignored(s, "lib/x.gen", false),
                  "the set pushed last did not decide");
    ignore_stack_free(s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* ignore_stack_free                                                   */
/* ------------------------------------------------------------------ */

START_TEST(test_stack_free)
{
    struct ignore_stack *s = ignore_stack_new();

    ignore_stack_free(NULL);
    /* Frees the sets still pushed; leaks show under valgrind. */
    ignore_stack_push(s, rules("a\n", ""));
    ignore_stack_push(s, NULL);
    ignore_stack_push(s, rules("b\n", "x"));
    ignore_stack_free(s);
}
END_TEST

Suite *suite_ignore(void)
{
    Suite *s;
    TCase *tc;

    s = suite_create("ignore");

    tc = tcase_create("ignore_rules_parse");
    tcase_add_test(tc, test_parse_comments_blank);
    tcase_add_test(tc, test_parse_escapes);
    tcase_add_test(tc, test_parse_trailing_spaces);
    tcase_add_test(tc, test_parse_crlf);
    tcase_add_test(tc, test_parse_no_final_newline);
    tcase_add_test(tc, test_parse_bad_lines);
    tcase_add_test(tc, test_parse_long_line);
    tcase_add_test(tc, test_parse_empty);
    tcase_add_test(tc, test_parse_len_bound);
    tcase_add_test(tc, test_parse_base_slashes);
    suite_add_tcase(s, tc);

    tc = tcase_create("ignore_rules_match");
    tcase_add_test(tc, test_match_negation_order);
    tcase_add_test(tc, test_match_dir_only);
    tcase_add_test(tc, test_match_anchored);
    tcase_add_test(tc, test_match_unanchored);
    tcase_add_test(tc, test_match_globstar);
    tcase_add_test(tc, test_match_nested_base);
    tcase_add_test(tc, test_match_null_args);
    suite_add_tcase(s, tc);

    tc = tcase_create("ignore_rules_free");
    tcase_add_test(tc, test_rules_free);
    suite_add_tcase(s, tc);

    tc = tcase_create("ignore_stack_new");
    tcase_add_test(tc, test_stack_new);
    suite_add_tcase(s, tc);

    tc = tcase_create("ignore_stack_push");
    tcase_add_test(tc, test_stack_push);
    suite_add_tcase(s, tc);

    tc = tcase_create("ignore_stack_pop");
    tcase_add_test(tc, test_stack_pop);
    suite_add_tcase(s, tc);

    tc = tcase_create("ignore_stack_depth");
    tcase_add_test(tc, test_stack_depth);
    suite_add_tcase(s, tc);

    tc = tcase_create("ignore_stack_ignored");
    tcase_add_test(tc, test_stack_ignored_deeper_wins);
    tcase_add_test(tc, test_stack_ignored_dot_ignore_wins);
    suite_add_tcase(s, tc);

    tc = tcase_create("ignore_stack_free");
    tcase_add_test(tc, test_stack_free);
    suite_add_tcase(s, tc);

    return s;
}
