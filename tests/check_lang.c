/*
 * check_lang.c - unit tests for src/lang.c: the language table itself,
 * lang_count, lang_name, lang_find, lang_globs and lang_of.
 *
 * lang_of() reads the table's globs with its own lookups; the test
 * test_of_agrees_with_glob_match holds it to glob_match() (the project's
 * one glob reader) plus the precedence lang.h documents, over every
 * glob's sample name and variants of it, so the two cannot disagree
 * silently.
 */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_suites.h"
#include "glob.h"
#include "lang.h"
#include "util.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* The id of a name that must exist. */
static unsigned id_of(const char *name)
{
    int id = lang_find(name, strlen(name));
    ck_assert_msg(id > 0, "lang_find(\"%s\") = %d, want a language", name, id);
    return (unsigned)id;
}

static unsigned of(const char *path)
{
    return lang_of(path, strlen(path));
}

enum glob_form { FORM_EXACT, FORM_PREFIX, FORM_EXT };

static enum glob_form form_of(const char *glob)
{
    if (glob[0] == '*')
        return FORM_EXT;
    return glob[strlen(glob) - 1] == '*' ? FORM_PREFIX : FORM_EXACT;
}

/* A file name the glob matches: "*.c" -> "x.c", "Makefile.*" ->
 * "Makefile.foo", a name as it is.  Malloc'd. */
static char *sample_of(const char *glob)
{
    size_t len = strlen(glob);
    char *s = xmalloc(len + 4);

    switch (form_of(glob)) {
    case FORM_EXT:
        snprintf(s, len + 4, "x%s", glob + 1);
        break;
    case FORM_PREFIX:
        snprintf(s, len + 4, "%.*sfoo", (int)(len - 1), glob);
        break;
    case FORM_EXACT:
        memcpy(s, glob, len + 1);
        break;
    }
    return s;
}

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

START_TEST(test_table_names)
{
    for (unsigned id = 1; id < lang_count(); id++) {
        const char *name = lang_name(id);
        ck_assert_msg(name[0] != '\0', "lang_name(%u) is empty", id);
        for (const char *p = name; *p; p++)
            ck_assert_msg((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
                              *p == '+' || *p == '-',
                          "lang_name(%u) = \"%s\": '%c' is not in [a-z0-9_+-]", id, name, *p);
        if (id > 1)
            ck_assert_msg(strcmp(lang_name(id - 1), name) < 0,
                          "names not sorted and unique: \"%s\" (%u) then \"%s\" (%u)",
                          lang_name(id - 1), id - 1, name, id);
    }
}
END_TEST

/* Each glob is one of lang.h's three forms, with no other wildcard or
 * syntax that glob_match() would read differently from lang_of(). */
START_TEST(test_table_glob_forms)
{
    char err[SG_ERRLEN];

    for (unsigned id = 1; id < lang_count(); id++) {
        size_t n;
        const char *const *globs = lang_globs(id, &n);
        ck_assert_msg(n > 0, "%s has no globs", lang_name(id));
        for (size_t j = 0; j < n; j++) {
            const char *g = globs[j];
            size_t len = strlen(g);
            enum glob_form form = form_of(g);
            const char *lit = form == FORM_EXT ? g + 2 : g;
            size_t litlen = form == FORM_EXACT ? len : len - (form == FORM_EXT ? 2 : 1);

            ck_assert_msg(len > 0 && litlen > 0, "%s: glob \"%s\" is too short", lang_name(id), g);
            if (form == FORM_EXT)
                ck_assert_msg(g[1] == '.', "%s: glob \"%s\" starts with '*' but not \"*.\"",
                              lang_name(id), g);
            for (size_t k = 0; k < litlen; k++)
                ck_assert_msg(!strchr("*?[]{}\\/,", lit[k]) && !(form == FORM_EXT && lit[k] == '.'),
                              "%s: glob \"%s\" has '%c', outside the forms of lang.h",
                              lang_name(id), g, lit[k]);
            ck_assert_msg(glob_check(g, 0, err, sizeof err) == SG_OK,
                          "%s: glob_check(\"%s\") refused it: %s", lang_name(id), g, err);
        }
    }
}
END_TEST

START_TEST(test_table_globs_unique)
{
    for (unsigned a = 1; a < lang_count(); a++) {
        size_t na;
        const char *const *ga = lang_globs(a, &na);
        for (size_t i = 0; i < na; i++)
            for (unsigned b = a; b < lang_count(); b++) {
                size_t nb;
                const char *const *gb = lang_globs(b, &nb);
                for (size_t j = b == a ? i + 1 : 0; j < nb; j++)
                    ck_assert_msg(strcmp(ga[i], gb[j]) != 0, "glob \"%s\" is under %s and %s",
                                  ga[i], lang_name(a), lang_name(b));
            }
    }
}
END_TEST

/* The languages the brief for this table asked for, by ripgrep's names. */
START_TEST(test_table_has_languages)
{
    static const char *const want[] = {
        "c",          "cpp",     "asm",    "go",      "rust",     "python",   "js",
        "ts",         "java",    "kotlin", "scala",   "csharp",   "swift",    "objc",
        "ruby",       "perl",    "php",    "lua",     "sh",       "make",     "cmake",
        "docker",     "html",    "css",    "json",    "yaml",     "toml",     "xml",
        "markdown",   "rst",     "txt",    "sql",     "protobuf", "kconfig",  "dts",
        "awk",        "vim",     "lisp",   "elisp",   "haskell",  "ocaml",    "erlang",
        "elixir",     "zig",     "nim",    "dart",    "julia",    "r",        "tex",
        "diff",       "license", "config", "m4",      "autoconf", "automake", "bazel",
        "gn",         "svelte",  "vue",    "graphql", "tf",       "nix",      "groovy",
        "coccinelle", "meson",
    };
    for (size_t i = 0; i < NCASES(want); i++)
        id_of(want[i]);
}
END_TEST

/* ------------------------------------------------------------------ */
/* lang_count, lang_name                                               */
/* ------------------------------------------------------------------ */

START_TEST(test_count)
{
    unsigned n = lang_count();
    ck_assert_msg(n > 60, "lang_count() = %u, want the whole table", n);
    ck_assert_msg(lang_name(n - 1)[0] != '\0', "lang_name(count-1 = %u) is empty", n - 1);
    ck_assert_msg(lang_name(n)[0] == '\0', "lang_name(count = %u) = \"%s\", want \"\"", n,
                  lang_name(n));
}
END_TEST

START_TEST(test_name_none_and_out_of_range)
{
    static const unsigned ids[] = {LANG_NONE, 100000, UINT_MAX};
    for (size_t i = 0; i < NCASES(ids); i++)
        ck_assert_msg(strcmp(lang_name(ids[i]), "") == 0, "lang_name(%u) = \"%s\", want \"\"",
                      ids[i], lang_name(ids[i]));
    ck_assert_str_eq(lang_name(lang_count()), "");
}
END_TEST

/* ------------------------------------------------------------------ */
/* lang_find                                                           */
/* ------------------------------------------------------------------ */

START_TEST(test_find_round_trip)
{
    char upper[64];

    for (unsigned id = 1; id < lang_count(); id++) {
        const char *name = lang_name(id);
        size_t n = strlen(name);
        int got = lang_find(name, n);
        ck_assert_msg(got == (int)id, "lang_find(\"%s\") = %d, want %u", name, got, id);

        ck_assert_uint_lt(n, sizeof upper);
        for (size_t k = 0; k <= n; k++)
            upper[k] = (char)(name[k] >= 'a' && name[k] <= 'z' ? name[k] - 'a' + 'A' : name[k]);
        got = lang_find(upper, n);
        ck_assert_msg(got == (int)id, "lang_find(\"%s\") = %d, want %u (%s)", upper, got, id, name);
    }
}
END_TEST

START_TEST(test_find_case_and_length)
{
    ck_assert_int_eq(lang_find("Python", 6), (int)id_of("python"));
    ck_assert_int_eq(lang_find("MaKe", 4), (int)id_of("make"));
    /* n bytes, no NUL needed: "cpp" cut to one byte is "c". */
    ck_assert_int_eq(lang_find("cpp", 1), (int)id_of("c"));
    ck_assert_int_eq(lang_find("python,go", 6), (int)id_of("python"));
    ck_assert_int_eq(lang_find("go,python", 2), (int)id_of("go"));
}
END_TEST

START_TEST(test_find_unknown)
{
    static const char *const bad[] = {
        "", "pytho", "pythonx", "c ", " c", "cobolx", "*.c", "c\xc3\xa9", "none", "C++",
    };
    for (size_t i = 0; i < NCASES(bad); i++) {
        int got = lang_find(bad[i], strlen(bad[i]));
        ck_assert_msg(got == -1, "lang_find(\"%s\") = %d, want -1", bad[i], got);
    }
    /* A NUL inside the n bytes is part of the name, not its end. */
    ck_assert_int_eq(lang_find("c\0", 2), -1);
    ck_assert_int_eq(lang_find(NULL, 0), -1);
}
END_TEST

/* lang= names a language as lang_find() does, or "none" for the files of
 * no language. */
START_TEST(test_select)
{
    ck_assert_int_eq(lang_select("none", 4), (int)LANG_NONE);
    ck_assert_int_eq(lang_select("NoNe", 4), (int)LANG_NONE);
    ck_assert_int_eq(lang_select("c", 1), lang_find("c", 1));
    ck_assert_int_eq(lang_select("Go", 2), lang_find("go", 2));
    ck_assert_int_eq(lang_select("nonex", 5), -1);
    ck_assert_int_eq(lang_select("non", 3), -1);
    ck_assert_int_eq(lang_select("", 0), -1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* lang_globs                                                          */
/* ------------------------------------------------------------------ */

START_TEST(test_globs_listing_order)
{
    size_t n;
    const char *const *g = lang_globs(id_of("c"), &n);
    ck_assert_msg(n == 2 && strcmp(g[0], "*.c") == 0 && strcmp(g[1], "*.h") == 0,
                  "c: %zu globs, first \"%s\", want *.c *.h", n, n ? g[0] : "");
    g = lang_globs(id_of("make"), &n);
    ck_assert_msg(n >= 1 && strcmp(g[0], "Makefile") == 0, "make: first glob \"%s\"",
                  n ? g[0] : "");
}
END_TEST

START_TEST(test_globs_none)
{
    static const unsigned ids[] = {LANG_NONE, 100000, UINT_MAX};
    for (size_t i = 0; i < NCASES(ids); i++) {
        size_t n = 99;
        const char *const *g = lang_globs(ids[i], &n);
        ck_assert_msg(g != NULL && n == 0, "lang_globs(%u): %p, n = %zu, want an empty list",
                      ids[i], (const void *)g, n);
    }
    size_t n = 99;
    lang_globs(lang_count(), &n);
    ck_assert_uint_eq(n, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* lang_of                                                             */
/* ------------------------------------------------------------------ */

struct of_case {
    const char *path;
    const char *want; /* a language name; "" for LANG_NONE */
};

static void check_of(const struct of_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned got = of(c[i].path);
        ck_assert_msg(strcmp(lang_name(got), c[i].want) == 0,
                      "lang_of(\"%s\") = %u \"%s\", want \"%s\"", c[i].path, got, lang_name(got),
                      c[i].want);
    }
}

/* The sample of each glob is its own language: no other language's rule
 * wins over any glob as the table stands. */
START_TEST(test_of_every_glob)
{
    for (unsigned id = 1; id < lang_count(); id++) {
        size_t n;
        const char *const *globs = lang_globs(id, &n);
        for (size_t j = 0; j < n; j++) {
            char *s = sample_of(globs[j]);
            unsigned got = of(s);
            ck_assert_msg(got == id, "lang_of(\"%s\") (from %s's \"%s\") = \"%s\", want \"%s\"", s,
                          lang_name(id), globs[j], lang_name(got), lang_name(id));
            free(s);
        }
    }
}
END_TEST

/* Whether a language other than id lists glob. */
static bool other_lang_has(unsigned id, const char *glob)
{
    for (unsigned other = 1; other < lang_count(); other++) {
        size_t n;
        const char *const *globs = lang_globs(other, &n);
        for (size_t j = 0; other != id && j < n; j++)
            if (strcmp(globs[j], glob) == 0)
                return true;
    }
    return false;
}

/* Names that two languages' globs match: the more specific rule wins (an
 * exact name over a prefix or an extension, a prefix over an extension). */
START_TEST(test_of_specific_wins)
{
    static const struct {
        const char *path, *want, *loser_glob;
    } c[] = {
        {"Makefile.am", "automake", "Makefile.*"}, {"CMakeLists.txt", "cmake", "*.txt"},
        {"meson_options.txt", "meson", "*.txt"},   {"LICENSE.md", "license", "*.md"},
        {"COPYING.txt", "license", "*.txt"},       {"Kconfig.sh", "kconfig", "*.sh"},
        {"Dockerfile.json", "docker", "*.json"},   {"Makefile.py", "make", "*.py"},
        {"Kbuild.json", "make", "*.json"},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        unsigned got = of(c[i].path);
        ck_assert_msg(strcmp(lang_name(got), c[i].want) == 0,
                      "lang_of(\"%s\") = \"%s\", want \"%s\"", c[i].path, lang_name(got),
                      c[i].want);
        /* The general rule is another language's and does match: the
         * case shows precedence. */
        ck_assert_msg(
            other_lang_has(got, c[i].loser_glob) && glob_match(c[i].loser_glob, c[i].path, 0),
            "\"%s\" is no other language's glob matching \"%s\"", c[i].loser_glob, c[i].path);
    }
}
END_TEST

START_TEST(test_of_folders)
{
    static const struct of_case c[] = {
        {"drivers/net/x.c", "c"},
        {"a.b/Makefile", "make"},
        {"dir.c/README", ""},
        {"x.c/", ""},
        {"x.c/y", ""},
        {"Makefile/x", ""},
        {"/x.py", "python"},
        {"home/u/.bashrc", "sh"},
        {"arch/arm64/boot/dts/x.dtsi", "dts"},
        {"scripts/Makefile.build", "make"},
        {"src/Makefile.am", "automake"},
        {"a//b.go", "go"},
        {"/", ""},
    };
    check_of(c, NCASES(c));
}
END_TEST

START_TEST(test_of_names_and_dots)
{
    static const struct of_case c[] = {
        {"README", ""},
        {"x", ""},
        {"x.", ""},
        {"x.c.", ""},
        {".", ""},
        {"..", ""},
        {".c", "c"},
        {".x.c", "c"},
        {".bashrc", "sh"},
        {"x.bashrc", ""},
        {".gitignore", ""},
        {".config", "config"},
        {"x.tar.gz", ""},
        {"x.pyi", "python"},
        {"x.d.ts", "ts"},
        {"Makefile", "make"},
        {"Makefile.", "make"},
        {"Makefile.inc", "make"},
        {"Makefilex", ""},
        {"Kconfig", "kconfig"},
        {"Kconfig.debug", "kconfig"},
        {"Kconfigx", ""},
        {"LICENSE-MIT", "license"},
        {"LICENSES", ""},
        {"x.mk", "make"},
        {"x.mak", "make"},
        {"x.h", "c"},
        {"x.inl", "cpp"},
    };
    check_of(c, NCASES(c));
}
END_TEST

START_TEST(test_of_case)
{
    static const struct of_case c[] = {
        {"x.C", "cpp"},
        {"X.C", "cpp"},
        {"x.H", "cpp"},
        {"x.S", "asm"},
        {"x.s", "asm"},
        {"x.R", "r"},
        {"x.r", "r"},
        {"x.PL", "perl"},
        {"x.F90", "fortran"},
        {"x.PY", ""},
        {"x.Py", ""},
        {"x.GO", ""},
        {"X.c", "c"},
        {"x.Md", ""},
        {"MAKEFILE", ""},
        {"makefile", "make"},
        {"dockerfile", ""},
        {"Dockerfile", "docker"},
        {"x.Dockerfile", "docker"},
        {"kconfig", ""},
    };
    check_of(c, NCASES(c));
}
END_TEST

/* Only n bytes are read: a path need not end in NUL. */
START_TEST(test_of_length)
{
    ck_assert_str_eq(lang_name(lang_of("x.cpp", 3)), "c");
    ck_assert_str_eq(lang_name(lang_of("x.cpp", 4)), "");
    ck_assert_str_eq(lang_name(lang_of("a/Makefile.am", 10)), "make");
    ck_assert_str_eq(lang_name(lang_of("a/b.go/c", 6)), "go");
    ck_assert_uint_eq(lang_of(NULL, 0), LANG_NONE);
    ck_assert_uint_eq(lang_of("x.c", 0), LANG_NONE);
}
END_TEST

/* The answer lang.h's rules give with glob_match() as the glob reader:
 * the best (form, prefix length) among matching globs; a tie between two
 * languages fails the test, as the table would be ambiguous. */
static unsigned reference_of(const char *name)
{
    unsigned best = LANG_NONE;
    int best_rank = -1;

    for (unsigned id = 1; id < lang_count(); id++) {
        size_t n;
        const char *const *globs = lang_globs(id, &n);
        for (size_t j = 0; j < n; j++) {
            if (!glob_match(globs[j], name, 0))
                continue;
            int rank = form_of(globs[j]) == FORM_EXACT    ? 1 << 20
                       : form_of(globs[j]) == FORM_PREFIX ? (1 << 10) + (int)strlen(globs[j])
                                                          : 0;
            ck_assert_msg(rank != best_rank || best == id,
                          "\"%s\": %s and %s match it with equal precedence", name, lang_name(best),
                          lang_name(id));
            if (rank > best_rank) {
                best_rank = rank;
                best = id;
            }
        }
    }
    return best;
}

static void check_against_reference(const char *name)
{
    unsigned want = reference_of(name);
    unsigned got = of(name);
    ck_assert_msg(got == want, "lang_of(\"%s\") = \"%s\", glob_match() says \"%s\"", name,
                  lang_name(got), lang_name(want));
}

START_TEST(test_of_agrees_with_glob_match)
{
    static const char *const extra[] = {
        "",       ".",         "..",          "x.",         ".c",       "README",
        "x.c.in", "Makefile.", "Makefile.am", "Makefileam", "LICENSE-", "a.b.c",
    };
    static const char *const affixes[][2] = {
        {"", ""},   {"x", ""},   {"", "x"},    {".", ""},  {"", "."},
        {"", ".c"}, {"", ".am"}, {"", ".txt"}, {"a.", ""}, {"Makefile.", ""},
    };
    char buf[256];

    for (size_t i = 0; i < NCASES(extra); i++)
        check_against_reference(extra[i]);
    for (unsigned id = 1; id < lang_count(); id++) {
        size_t n;
        const char *const *globs = lang_globs(id, &n);
        for (size_t j = 0; j < n; j++) {
            char *s = sample_of(globs[j]);
            for (size_t a = 0; a < NCASES(affixes); a++) {
                snprintf(buf, sizeof buf, "%s%s%s", affixes[a][0], s, affixes[a][1]);
                check_against_reference(buf);
            }
            for (char *p = s; *p; p++)
                if (*p >= 'a' && *p <= 'z')
                    *p = (char)(*p - 'a' + 'A');
            check_against_reference(s);
            free(s);
        }
    }
}
END_TEST

/* First use from several threads at once (each test runs in its own
 * process, so this one builds the lookup tables). */
#define NTHREADS 8

static void *map_every_sample(void *arg)
{
    unsigned *wrong = arg;
    for (unsigned id = 1; id < lang_count(); id++) {
        size_t n;
        const char *const *globs = lang_globs(id, &n);
        for (size_t j = 0; j < n; j++) {
            char *s = sample_of(globs[j]);
            if (of(s) != id)
                (*wrong)++;
            free(s);
        }
    }
    return NULL;
}

START_TEST(test_of_threads)
{
    pthread_t t[NTHREADS];
    unsigned wrong[NTHREADS] = {0};

    for (int i = 0; i < NTHREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, map_every_sample, &wrong[i]), 0);
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
        ck_assert_msg(wrong[i] == 0, "thread %d: %u samples mapped wrong", i, wrong[i]);
    }
}
END_TEST

Suite *suite_lang(void)
{
    Suite *s = suite_create("lang");
    TCase *tc;

    tc = tcase_create("lang_table");
    tcase_add_test(tc, test_table_names);
    tcase_add_test(tc, test_table_glob_forms);
    tcase_add_test(tc, test_table_globs_unique);
    tcase_add_test(tc, test_table_has_languages);
    suite_add_tcase(s, tc);

    tc = tcase_create("lang_count");
    tcase_add_test(tc, test_count);
    suite_add_tcase(s, tc);

    tc = tcase_create("lang_name");
    tcase_add_test(tc, test_name_none_and_out_of_range);
    suite_add_tcase(s, tc);

    tc = tcase_create("lang_find");
    tcase_add_test(tc, test_find_round_trip);
    tcase_add_test(tc, test_find_case_and_length);
    tcase_add_test(tc, test_find_unknown);
    tcase_add_test(tc, test_select);
    suite_add_tcase(s, tc);

    tc = tcase_create("lang_globs");
    tcase_add_test(tc, test_globs_listing_order);
    tcase_add_test(tc, test_globs_none);
    suite_add_tcase(s, tc);

    tc = tcase_create("lang_of");
    tcase_add_test(tc, test_of_every_glob);
    tcase_add_test(tc, test_of_specific_wins);
    tcase_add_test(tc, test_of_folders);
    tcase_add_test(tc, test_of_names_and_dots);
    tcase_add_test(tc, test_of_case);
    tcase_add_test(tc, test_of_length);
    tcase_add_test(tc, test_of_agrees_with_glob_match);
    tcase_add_test(tc, test_of_threads);
    suite_add_tcase(s, tc);

    return s;
}
