/*
 * check_query.c - unit tests for src/query.c: the search fields from a
 * query string and from a JSON body, the API errors for bad values, smart
 * case, and strict unsigned parsing.
 *
 * GET parameters come from a tiny callback over a key/value array, so a
 * test states exactly which parameters are present.  GET and POST must
 * accept the same values (query.h), so several tables run through both.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_suites.h"
#include "query.h"
#include "util.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))
#define TIMEOUT   5000u /* the server's deadline in these tests */

struct kv {
    const char *key, *value;
};

/* Looks key up in a {NULL, NULL}-terminated array. */
static const char *kv_get(void *ctx, const char *key)
{
    for (const struct kv *p = ctx; p->key; p++)
        if (strcmp(p->key, key) == 0)
            return p->value;
    return NULL;
}

/* The spec and error under test; the spec is freed by the teardown. */
static struct query_spec spec;
static struct api_error e;

static void setup(void)
{
    memset(&spec, 0, sizeof spec);
    memset(&e, 0, sizeof e);
    e.offset = 7;
}

static void teardown(void)
{
    query_spec_free(&spec);
}

static int from_args(const struct kv *args)
{
    query_spec_free(&spec);
    memset(&e, 0, sizeof e);
    return query_spec_from_args(&spec, kv_get, (void *)args, TIMEOUT, &e);
}

static int from_json(const char *body)
{
    query_spec_free(&spec);
    memset(&e, 0, sizeof e);
    return query_spec_from_json(&spec, body, strlen(body), TIMEOUT, &e);
}

/* The last call failed with this status, code and param. */
static void check_error(const char *what, int rc, int status, const char *code, const char *param)
{
    ck_assert_msg(rc == SG_ERR, "%s: accepted, want %d %s (param \"%s\")", what, status, code,
                  param);
    ck_assert_msg(e.status == status && strcmp(e.code, code) == 0 && strcmp(e.param, param) == 0,
                  "%s: error %d %s param \"%s\", want %d %s param \"%s\"", what, e.status, e.code,
                  e.param, status, code, param);
    ck_assert_msg(e.message[0] != '\0', "%s: the error has no message", what);
    ck_assert_msg(e.offset == -1, "%s: offset %ld, want -1", what, e.offset);
}

static void check_ok(const char *what, int rc)
{
    ck_assert_msg(rc == SG_OK, "%s: refused with %d %s param \"%s\": %s", what, e.status, e.code,
                  e.param, e.message);
}

/* ------------------------------------------------------------------ */
/* query_spec_from_args                                                */
/* ------------------------------------------------------------------ */

START_TEST(test_args_defaults)
{
    const struct kv args[] = {{"q", "foo"}, {NULL, NULL}};
    check_ok("q=foo", from_args(args));
    ck_assert_msg(spec.q && strcmp(spec.q, "foo") == 0, "q \"%s\"", spec.q);
    ck_assert_msg(!spec.literal && spec.cmode == CASE_AUTO, "literal %d case %d", spec.literal,
                  spec.cmode);
    ck_assert_msg(spec.max == QUERY_MAX_DEFAULT && spec.max == 1000, "max %u, want 1000", spec.max);
    ck_assert_msg(spec.context == 0, "context %u, want 0", spec.context);
    ck_assert_msg(spec.timeout_ms == TIMEOUT, "timeout_ms %u, want the default %u", spec.timeout_ms,
                  TIMEOUT);
    ck_assert_msg(spec.path && spec.path[0] == '\0' && spec.exclude && spec.exclude[0] == '\0',
                  "path \"%s\" exclude \"%s\", want empty strings", spec.path, spec.exclude);
}
END_TEST

START_TEST(test_args_every_field)
{
    const struct kv args[] = {{"q", "a.b"},        {"literal", "1"},       {"case", "yes"},
                              {"path", "src,*.c"}, {"exclude", "*.md"},    {"max", "0"},
                              {"context", "10"},   {"timeout_ms", "5000"}, {NULL, NULL}};
    check_ok("every field", from_args(args));
    ck_assert_msg(strcmp(spec.q, "a.b") == 0 && spec.literal && spec.cmode == CASE_YES,
                  "q \"%s\" literal %d case %d", spec.q, spec.literal, spec.cmode);
    ck_assert_msg(strcmp(spec.path, "src,*.c") == 0 && strcmp(spec.exclude, "*.md") == 0,
                  "path \"%s\" exclude \"%s\"", spec.path, spec.exclude);
    ck_assert_msg(spec.max == 0 && spec.context == 10 && spec.timeout_ms == 5000,
                  "max %u context %u timeout %u", spec.max, spec.context, spec.timeout_ms);
}
END_TEST

/* kind, select, lang and facets: defaults, values, and what each refuses,
 * through GET and POST alike. */
START_TEST(test_kind_select_lang_facets)
{
    const struct kv none[] = {{"q", "x"}, {NULL, NULL}};
    check_ok("defaults", from_args(none));
    ck_assert_msg(spec.kind == KIND_LINES && spec.select == SELECT_LINES && !spec.facets &&
                      spec.langs && !spec.langs[0],
                  "kind %d select %d facets %d langs \"%s\"", spec.kind, spec.select, spec.facets,
                  spec.langs);
    ck_assert_msg(!query_returns_files(&spec), "a lines query returns files");

    const struct kv all[] = {{"q", "x"},          {"kind", "lines"},
                             {"select", "files"}, {"lang", "c,Go,make"},
                             {"facets", "1"},     {NULL, NULL}};
    check_ok("every value", from_args(all));
    ck_assert_msg(spec.select == SELECT_FILES && spec.facets && !strcmp(spec.langs, "c,Go,make") &&
                      query_returns_files(&spec),
                  "select %d facets %d langs \"%s\"", spec.select, spec.facets, spec.langs);

    const struct kv path[] = {{"q", "x"}, {"kind", "path"}, {NULL, NULL}};
    check_ok("kind=path", from_args(path));
    ck_assert_msg(spec.kind == KIND_PATH && spec.select == SELECT_FILES &&
                      query_returns_files(&spec),
                  "kind=path: kind %d select %d", spec.kind, spec.select);
    const struct kv path_count[] = {
        {"q", "x"}, {"kind", "path"}, {"select", "count"}, {NULL, NULL}};
    check_ok("kind=path select=count", from_args(path_count));
    ck_assert_msg(spec.select == SELECT_COUNT, "select %d, want count", spec.select);

    check_ok("JSON", from_json("{\"q\":\"x\",\"kind\":\"path\",\"lang\":\"c\",\"facets\":true,"
                               "\"select\":\"count\"}"));
    ck_assert_msg(spec.kind == KIND_PATH && spec.select == SELECT_COUNT && spec.facets &&
                      !strcmp(spec.langs, "c"),
                  "JSON: kind %d select %d facets %d langs \"%s\"", spec.kind, spec.select,
                  spec.facets, spec.langs);

    static const struct {
        const char *key, *value;
    } bad[] = {{"kind", "paths"},   {"kind", "PATH"},  {"select", "file"}, {"select", "1"},
               {"lang", "klingon"}, {"lang", "c,"},    {"lang", ",c"},     {"lang", "c,,go"},
               {"lang", "c go"},    {"facets", "yes"}, {"facets", "2"}};
    for (size_t i = 0; i < NCASES(bad); i++) {
        const struct kv args[] = {{"q", "x"}, {bad[i].key, bad[i].value}, {NULL, NULL}};
        char what[64];
        snprintf(what, sizeof what, "%s=%s", bad[i].key, bad[i].value);
        check_error(what, from_args(args), 400, "bad_parameter", bad[i].key);
    }
    const struct kv plines[] = {{"q", "x"}, {"kind", "path"}, {"select", "lines"}, {NULL, NULL}};
    check_error("kind=path select=lines", from_args(plines), 400, "bad_parameter", "select");
    const struct kv nolang[] = {{"q", "x"}, {"lang", "c,None"}, {NULL, NULL}};
    check_ok("lang=none: files of no language", from_args(nolang));
    const struct kv ctx[] = {{"q", "x"}, {"kind", "path"}, {"context", "2"}, {NULL, NULL}};
    check_error("kind=path with context", from_args(ctx), 400, "bad_parameter", "context");
    check_error("JSON kind as a number", from_json("{\"q\":\"x\",\"kind\":1}"), 400,
                "bad_parameter", "kind");
    ck_assert_msg(query_field_known("kind") && query_field_known("select") &&
                      query_field_known("lang") && query_field_known("facets") &&
                      !query_field_known("langs"),
                  "the new fields are not all known, or a misspelling is");
}
END_TEST

START_TEST(test_args_accepted_values)
{
    static const struct {
        const char *key, *value;
    } c[] = {
        {"literal", "true"},  {"literal", "false"},   {"literal", "0"},    {"literal", ""},
        {"case", "auto"},     {"case", "no"},         {"case", ""},        {"max", "100000"},
        {"max", "007"},       {"context", "0"},       {"timeout_ms", "1"}, {"path", ""},
        {"path", "{a,b}/**"}, {"exclude", "x, y ,z"},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        const struct kv args[] = {{"q", "x"}, {c[i].key, c[i].value}, {NULL, NULL}};
        char what[64];
        snprintf(what, sizeof what, "%s=%s", c[i].key, c[i].value);
        check_ok(what, from_args(args));
    }
    const struct kv lit[] = {{"q", "x"}, {"literal", "false"}, {"case", "no"}, {NULL, NULL}};
    from_args(lit);
    ck_assert_msg(!spec.literal && spec.cmode == CASE_NO, "literal=false case=no: %d %d",
                  spec.literal, spec.cmode);
}
END_TEST

START_TEST(test_args_bad_values)
{
    static const struct {
        const char *key, *value, *param;
    } c[] = {
        {"max", "-1", "max"},
        {"max", "100001", "max"},
        {"max", "abc", "max"},
        {"max", "", "max"},
        {"max", "1e3", "max"},
        {"max", "99999999999999999999999", "max"},
        {"context", "11", "context"},
        {"context", "-0", "context"},
        {"case", "maybe", "case"},
        {"case", "YES", "case"},
        {"literal", "2", "literal"},
        {"literal", "yes", "literal"},
        {"timeout_ms", "0", "timeout_ms"},
        {"timeout_ms", "5001", "timeout_ms"},
        {"timeout_ms", "x", "timeout_ms"},
        {"path", "src/[ab", "path"},
        {"exclude", "*.[c", "exclude"},
        {"path", "a{b", "path"},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        const struct kv args[] = {{"q", "x"}, {c[i].key, c[i].value}, {NULL, NULL}};
        char what[96];
        snprintf(what, sizeof what, "%s=%s", c[i].key, c[i].value);
        int rc = from_args(args);
        check_error(what, rc, 400, "bad_parameter", c[i].param);
        ck_assert_msg(spec.q == NULL && spec.path == NULL && spec.exclude == NULL,
                      "%s: the spec holds strings after an error", what);
    }
}
END_TEST

START_TEST(test_args_lengths)
{
    char *q = xmalloc(QUERY_Q_MAX + 2);
    memset(q, 'a', QUERY_Q_MAX + 1);
    q[QUERY_Q_MAX] = '\0';
    const struct kv at_max[] = {{"q", q}, {NULL, NULL}};
    int rc_max = from_args(at_max);
    size_t len_max = spec.q ? strlen(spec.q) : 0;
    q[QUERY_Q_MAX] = 'a';
    q[QUERY_Q_MAX + 1] = '\0';
    int rc_over = from_args(at_max);
    struct api_error e_over = e;
    free(q);
    ck_assert_msg(rc_max == SG_OK && len_max == QUERY_Q_MAX, "q of %d bytes: rc %d, stored %zu",
                  QUERY_Q_MAX, rc_max, len_max);
    ck_assert_msg(rc_over == SG_ERR && e_over.status == 400 &&
                      strcmp(e_over.code, "bad_parameter") == 0 && strcmp(e_over.param, "q") == 0,
                  "q of %d bytes: rc %d, error %d %s param \"%s\"", QUERY_Q_MAX + 1, rc_over,
                  e_over.status, e_over.code, e_over.param);

    char *globs = xmalloc(QUERY_GLOBS_MAX + 2);
    memset(globs, 'g', QUERY_GLOBS_MAX + 1);
    globs[QUERY_GLOBS_MAX + 1] = '\0';
    const struct kv long_path[] = {{"q", "x"}, {"path", globs}, {NULL, NULL}};
    int rc = from_args(long_path);
    free(globs);
    check_error("path longer than QUERY_GLOBS_MAX", rc, 400, "bad_parameter", "path");
}
END_TEST

START_TEST(test_args_missing_q)
{
    const struct kv none[] = {{"max", "5"}, {NULL, NULL}};
    check_error("no q", from_args(none), 400, "missing_parameter", "q");
    const struct kv empty[] = {{"q", ""}, {NULL, NULL}};
    check_error("q=", from_args(empty), 400, "missing_parameter", "q");
    /* a missing q is reported before a bad max */
    const struct kv both[] = {{"max", "abc"}, {NULL, NULL}};
    check_error("no q, max=abc", from_args(both), 400, "missing_parameter", "q");
}
END_TEST

/* ------------------------------------------------------------------ */
/* query_spec_from_json                                                */
/* ------------------------------------------------------------------ */

START_TEST(test_json_every_field)
{
    check_ok("json",
             from_json("{\"q\": \"fo+\", \"literal\": true, \"case\": \"no\", \"path\": \"src\","
                       " \"exclude\": \"*.md,docs\", \"max\": 5, \"context\": 2,"
                       " \"timeout_ms\": 100}"));
    ck_assert_msg(strcmp(spec.q, "fo+") == 0 && spec.literal && spec.cmode == CASE_NO,
                  "q \"%s\" literal %d case %d", spec.q, spec.literal, spec.cmode);
    ck_assert_msg(strcmp(spec.path, "src") == 0 && strcmp(spec.exclude, "*.md,docs") == 0,
                  "path \"%s\" exclude \"%s\"", spec.path, spec.exclude);
    ck_assert_msg(spec.max == 5 && spec.context == 2 && spec.timeout_ms == 100,
                  "max %u context %u timeout %u", spec.max, spec.context, spec.timeout_ms);
}
END_TEST

START_TEST(test_json_defaults_and_forms)
{
    check_ok("{q}", from_json("{\"q\":\"caf\\u00e9\"}"));
    ck_assert_msg(strcmp(spec.q, "caf\xc3\xa9") == 0, "q \"%s\", want café", spec.q);
    ck_assert_msg(spec.max == 1000 && spec.context == 0 && spec.timeout_ms == TIMEOUT &&
                      !spec.literal && spec.cmode == CASE_AUTO,
                  "defaults: max %u context %u timeout %u literal %d case %d", spec.max,
                  spec.context, spec.timeout_ms, spec.literal, spec.cmode);
    /* numbers as strings, booleans as strings or numbers, null as absent */
    check_ok("strings", from_json("{\"q\":\"x\",\"max\":\"7\",\"literal\":\"true\"}"));
    ck_assert_msg(spec.max == 7 && spec.literal, "max \"7\" -> %u, literal \"true\" -> %d",
                  spec.max, spec.literal);
    check_ok("numbers", from_json("{\"q\":\"x\",\"literal\":1,\"context\":1e1}"));
    ck_assert_msg(spec.literal && spec.context == 10, "literal 1 -> %d, context 1e1 -> %u",
                  spec.literal, spec.context);
    check_ok("null", from_json("{\"q\":\"x\",\"max\":null,\"literal\":false}"));
    ck_assert_msg(spec.max == 1000 && !spec.literal, "max null -> %u, literal false -> %d",
                  spec.max, spec.literal);
}
END_TEST

START_TEST(test_json_bad_values)
{
    static const struct {
        const char *body, *param;
    } c[] = {
        {"{\"q\":\"x\",\"max\":-1}", "max"},
        {"{\"q\":\"x\",\"max\":100001}", "max"},
        {"{\"q\":\"x\",\"max\":1.5}", "max"},
        {"{\"q\":\"x\",\"max\":true}", "max"},
        {"{\"q\":\"x\",\"context\":11}", "context"},
        {"{\"q\":\"x\",\"case\":\"maybe\"}", "case"},
        {"{\"q\":\"x\",\"literal\":2}", "literal"},
        {"{\"q\":\"x\",\"timeout_ms\":0}", "timeout_ms"},
        {"{\"q\":\"x\",\"timeout_ms\":5001}", "timeout_ms"},
        {"{\"q\":\"x\",\"path\":\"[\"}", "path"},
        /* wrong types */
        {"{\"q\":\"x\",\"path\":[\"src\"]}", "path"},
        {"{\"q\":[\"x\"]}", "q"},
        {"{\"q\":\"x\",\"max\":{\"n\":1}}", "max"},
        /* unknown fields */
        {"{\"q\":\"x\",\"limit\":5}", "limit"},
        {"{\"Q\":\"x\"}", "Q"},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        int rc = from_json(c[i].body);
        check_error(c[i].body, rc, 400, "bad_parameter", c[i].param);
    }
}
END_TEST

START_TEST(test_json_bad_json)
{
    static const char *const c[] = {
        "",
        "   ",
        "{",
        "{\"q\":}",
        "[]",
        "[{\"q\":\"x\"}]",
        "\"q\"",
        "42",
        "null",
        "{\"q\":\"x\",}",
        "{'q':'x'}",
        /* cJSON would cut the string at the escaped NUL */
        "{\"q\":\"a\\u0000b\"}",
        "{\"q\":\"x\",\"path\":\"\\u0000\"}",
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        int rc = from_json(c[i]);
        check_error(c[i], rc, 400, "bad_json", "");
    }
}
END_TEST

START_TEST(test_json_trailing_garbage)
{
    /* A body is one JSON object: text after it is not JSON. */
    static const char *const c[] = {
        "{\"q\":\"x\"} garbage",
        "{\"q\":\"x\"}}",
        "{\"q\":\"a\"}{\"q\":\"b\"}",
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        int rc = from_json(c[i]);
        check_error(c[i], rc, 400, "bad_json", "");
    }
}
END_TEST

START_TEST(test_json_escaped_backslash_u0000)
{
    /* "\\u0000" in JSON is a backslash followed by "u0000": six ordinary
     * characters, which GET accepts as q=\u0000 (query.h: GET and POST
     * accept exactly the same values). */
    const struct kv args[] = {{"q", "\\u0000"}, {"literal", "1"}, {NULL, NULL}};
    check_ok("GET q=\\u0000", from_args(args));
    int rc = from_json("{\"q\": \"\\\\u0000\", \"literal\": true}");
    ck_assert_msg(rc == SG_OK, "POST {\"q\": \"\\\\u0000\"} refused with %d %s: %s", e.status,
                  e.code, e.message);
    ck_assert_msg(strcmp(spec.q, "\\u0000") == 0, "q is \"%s\", want \\u0000", spec.q);
}
END_TEST

START_TEST(test_json_missing_q)
{
    check_error("{}", from_json("{}"), 400, "missing_parameter", "q");
    check_error("q empty", from_json("{\"q\":\"\"}"), 400, "missing_parameter", "q");
    check_error("q null", from_json("{\"q\":null}"), 400, "missing_parameter", "q");
}
END_TEST

START_TEST(test_json_length_bounded)
{
    /* The body length is honoured: text past len is not read. */
    const char *body = "{\"q\":\"abc\"}, \"max\": \"bad\"}";
    query_spec_free(&spec);
    int rc = query_spec_from_json(&spec, body, 11, TIMEOUT, &e);
    check_ok("first 11 bytes", rc);
    ck_assert_msg(strcmp(spec.q, "abc") == 0 && spec.max == 1000, "q \"%s\" max %u", spec.q,
                  spec.max);
    query_spec_free(&spec);
    rc = query_spec_from_json(&spec, body, 8, TIMEOUT, &e);
    check_error("first 8 bytes", rc, 400, "bad_json", "");
}
END_TEST

/* ------------------------------------------------------------------ */
/* query_caseless / query_case_name                                    */
/* ------------------------------------------------------------------ */

START_TEST(test_caseless)
{
    static const struct {
        const char *q;
        bool literal;
        enum case_mode mode;
        bool want;
    } c[] = {
        {"foo", false, CASE_AUTO, true},
        {"Foo", false, CASE_AUTO, false},
        {"fOO", false, CASE_AUTO, false},
        {"\\Sfoo", false, CASE_AUTO, true}, /* escapes are not letters */
        {"\\W\\D\\S\\B\\Qa", false, CASE_AUTO, true},
        {"\\p{Lu}x", false, CASE_AUTO, true},
        {"\\P{Lu}x", false, CASE_AUTO, true},
        {"\\x{41}b", false, CASE_AUTO, true},
        {"\\k{Name}", false, CASE_AUTO, true},
        {"\\\\A", false, CASE_AUTO, false},    /* an escaped backslash, then A */
        {"\\cAx", false, CASE_AUTO, true},     /* \cA is a control character */
        {"\\c[Ax]", false, CASE_AUTO, false},  /* \c[ opens no class: A is text */
        {"\\c\\A", false, CASE_AUTO, false},   /* \c\ escapes nothing: A is text */
        {"\\p{Lu}X", false, CASE_AUTO, false}, /* X after the braces counts */
        {"caf\xc3\xa9", false, CASE_AUTO, true},
        /* Verbs, settings, group names and option letters are not text. */
        {"(*NO_JIT)foo", false, CASE_AUTO, true},
        {"(*UTF)(*LIMIT_MATCH=99)foo", false, CASE_AUTO, true},
        {"foo(*SKIP)(*FAIL)|bar", false, CASE_AUTO, true},
        {"a(*MARK:Here)b", false, CASE_AUTO, true},
        {"(*:Name)x", false, CASE_AUTO, true},
        {"(*pla:Foo)", false, CASE_AUTO, false}, /* an assertion's body is pattern */
        {"(*atomic:a+)b", false, CASE_AUTO, true},
        {"(?<Year>\\d+)-(?P<Mon>\\d+)", false, CASE_AUTO, true},
        {"(?'Day'\\d+)\\k<Day>\\k'Day'\\g<Day>(?P=Day)(?&Day)(?P>Day)", false, CASE_AUTO, true},
        {"(?<=Foo)x", false, CASE_AUTO, false}, /* lookbehind text counts */
        {"(?<!Foo)x", false, CASE_AUTO, false},
        {"(?(DEFINE)(?<N>x))(?&N)", false, CASE_AUTO, true},
        {"(?(?=Foo)a|b)", false, CASE_AUTO, false},
        {"(?U)a+(?J:b)(?^x)c", false, CASE_AUTO, true},
        {"(?i)Foo", false, CASE_AUTO, false}, /* F is text, whatever (?i) does */
        {"[[:upper:]]x", false, CASE_AUTO, true},
        {"[]A]", false, CASE_AUTO, false},        /* ']' first is a member; A too */
        {"[(*NO_JIT)]", false, CASE_AUTO, false}, /* letters in a class are text */
        {"[^]]X", false, CASE_AUTO, false},
        {"(?<Unclosed", false, CASE_AUTO, true}, /* no crash on a bad pattern */
        {"(*", false, CASE_AUTO, true},
        {"(?", false, CASE_AUTO, true},
        {"[", false, CASE_AUTO, true},
        {"A", true, CASE_AUTO, false},      /* literal: no escapes */
        {"(*UTF)", true, CASE_AUTO, false}, /* literal: no syntax either */
        {"\\S", true, CASE_AUTO, false},
        {"a", true, CASE_AUTO, true},
        {"foo", false, CASE_YES, false}, /* case=yes: case matters */
        {"FOO", false, CASE_NO, true},   /* case=no: ignore it */
        {"FOO", true, CASE_NO, true},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        struct query_spec s = {.q = (char *)c[i].q, .literal = c[i].literal, .cmode = c[i].mode};
        bool got = query_caseless(&s);
        ck_assert_msg(got == c[i].want, "query_caseless(\"%s\", literal=%d, case=%s) = %d, want %d",
                      c[i].q, c[i].literal, query_case_name(c[i].mode), got, c[i].want);
    }
}
END_TEST

START_TEST(test_caseless_one_letter_property)
{
    /* \pL and \PL are escapes whose letter names a property (like
     * \p{Lu}): the L is inside the escape, so "auto" ignores case. */
    static const char *const c[] = {"\\pLx", "\\PLx", "\\pNfoo"};
    for (size_t i = 0; i < NCASES(c); i++) {
        struct query_spec s = {.q = (char *)c[i], .cmode = CASE_AUTO};
        bool got = query_caseless(&s);
        ck_assert_msg(got,
                      "query_caseless(\"%s\", case=auto) = %d (case-sensitive), want 1: "
                      "the upper-case letter is part of the escape",
                      c[i], got);
    }
}
END_TEST

START_TEST(test_caseless_unicode)
{
    /* Capitals beyond ASCII count too (the README: insensitive unless q
     * has an upper-case letter): Unicode Lu and Lt, as PCRE2 classes
     * them, written as themselves; not when given by number, named by a
     * property, or part of a group name or a comment. */
    static const struct {
        const char *q;
        bool literal, want;
    } c[] = {
        {"caf\xc3\x89", false, false},       /* É */
        {"\xc3\x89t\xc3\xa9", false, false}, /* Été */
        {"\xce\xa3\xcf\x83", false, false},  /* Σσ */
        {"\xc7\x85", false, false},          /* ǅ, title case (Lt) */
        {"\xe2\x84\xaa", false, false},      /* KELVIN SIGN (Lu) */
        {"\\\xc3\x89", false, false},        /* \É: quoted, still text */
        {"[\xc3\x89]", false, false},
        {"\\Qx\xc3\x89\\E", false, false},
        {"\\p{Lu}\xc3\x89", false, false},
        {"caf\xc3\x89", true, false},      /* literal: all text */
        {"caf\xc3\xa9", false, true},      /* é */
        {"\xcf\x83\xc3\x9f", false, true}, /* σß: lower case */
        {"\xe2\x85\xa0", false, true},     /* Roman numeral one: not a letter */
        {"\xe2\x82\xac"
         "1",
         false, true},            /* € */
        {"\\x{c9}", false, true}, /* by number */
        {"\\N{U+C9}", false, true},
        {"\\p{Lu}\\P{Lt}\\p{Greek}", false, true},
        {"(?<\xc3\x89t\xc3\xa9>x)\\k<\xc3\x89t\xc3\xa9>", false, true}, /* a group name */
        {"(?#\xc3\x89 Foo)x", false, true},                             /* a comment */
        {"(?x)x # \xc3\x89 Foo", false, true}, /* an extended-mode comment */
        {"caf\xc3\xa9", true, true},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        struct query_spec s = {.q = (char *)c[i].q, .literal = c[i].literal, .cmode = CASE_AUTO};
        bool got = query_caseless(&s);
        ck_assert_msg(got == c[i].want,
                      "query_caseless(\"%s\", literal=%d, case=auto) = %d, want %d", c[i].q,
                      c[i].literal, got, c[i].want);
    }
}
END_TEST

START_TEST(test_case_name)
{
    ck_assert_msg(strcmp(query_case_name(CASE_AUTO), "auto") == 0, "CASE_AUTO is \"%s\"",
                  query_case_name(CASE_AUTO));
    ck_assert_msg(strcmp(query_case_name(CASE_YES), "yes") == 0, "CASE_YES is \"%s\"",
                  query_case_name(CASE_YES));
    ck_assert_msg(strcmp(query_case_name(CASE_NO), "no") == 0, "CASE_NO is \"%s\"",
                  query_case_name(CASE_NO));
    /* the names parse back to the same mode */
    static const char *const names[] = {"auto", "yes", "no"};
    static const enum case_mode modes[] = {CASE_AUTO, CASE_YES, CASE_NO};
    for (size_t i = 0; i < 3; i++) {
        const struct kv args[] = {{"q", "x"}, {"case", names[i]}, {NULL, NULL}};
        check_ok(names[i], from_args(args));
        ck_assert_msg(spec.cmode == modes[i], "case=%s parsed to %d", names[i], spec.cmode);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* query_spec_copy                                                     */
/* ------------------------------------------------------------------ */

START_TEST(test_copy)
{
    const struct kv args[] = {{"q", "abc"}, {"path", "src"}, {"max", "9"}, {NULL, NULL}};
    struct query_spec copy;
    check_ok("source", from_args(args));
    query_spec_copy(&copy, &spec);
    bool same = strcmp(copy.q, "abc") == 0 && strcmp(copy.path, "src") == 0 &&
                strcmp(copy.exclude, "") == 0 && copy.max == 9;
    bool owned = copy.q != spec.q && copy.path != spec.path && copy.exclude != spec.exclude;
    query_spec_free(&copy);
    ck_assert_msg(same, "the copy differs from its source");
    ck_assert_msg(owned, "the copy shares strings with its source");
    ck_assert_msg(copy.q == NULL && copy.path == NULL && copy.exclude == NULL,
                  "query_spec_free left pointers set");
    query_spec_free(NULL); /* accepted */
}
END_TEST

/* ------------------------------------------------------------------ */
/* query_parse_uint                                                    */
/* ------------------------------------------------------------------ */

START_TEST(test_parse_uint_ok)
{
    static const struct {
        const char *v;
        uint32_t lo, hi, want;
    } c[] = {
        {"0", 0, 10, 0},
        {"10", 0, 10, 10},
        {"5", 5, 5, 5},
        {"007", 0, 10, 7},
        {"000000000000000000000001", 0, 10, 1},
        {"4294967295", 0, UINT32_MAX, UINT32_MAX},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        uint32_t out = 12345;
        int rc = query_parse_uint(c[i].v, "n", c[i].lo, c[i].hi, &out, &e);
        ck_assert_msg(rc == SG_OK && out == c[i].want,
                      "query_parse_uint(\"%s\", %u..%u): rc %d out %u, want %u", c[i].v, c[i].lo,
                      c[i].hi, rc, out, c[i].want);
    }
    uint32_t out = 12345;
    int rc = query_parse_uint(NULL, "n", 1, 10, &out, &e);
    ck_assert_msg(rc == SG_OK && out == 12345, "absent value: rc %d, out changed to %u", rc, out);
}
END_TEST

START_TEST(test_parse_uint_bad)
{
    static const struct {
        const char *v;
        uint32_t lo, hi;
    } c[] = {
        {"", 0, 10},
        {"-1", 0, 10},
        {"+1", 0, 10},
        {" 1", 0, 10},
        {"1 ", 0, 10},
        {"1.0", 0, 10},
        {"0x10", 0, 100},
        {"11", 0, 10},
        {"0", 1, 10},
        {"4", 5, 10},
        {"4294967296", 0, UINT32_MAX},
        {"18446744073709551617", 0, UINT32_MAX},
        {"99999999999999999999999999", 0, 10},
        {"1a", 0, 10},
        {"\xd9\xa1", 0, 10}, /* Arabic-Indic digit one */
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        uint32_t out = 12345;
        memset(&e, 0, sizeof e);
        int rc = query_parse_uint(c[i].v, "count", c[i].lo, c[i].hi, &out, &e);
        ck_assert_msg(rc == SG_ERR, "query_parse_uint(\"%s\", %u..%u) accepted (%u)", c[i].v,
                      c[i].lo, c[i].hi, out);
        ck_assert_msg(out == 12345, "query_parse_uint(\"%s\") changed out to %u on error", c[i].v,
                      out);
        ck_assert_msg(e.status == 400 && strcmp(e.code, "bad_parameter") == 0 &&
                          strcmp(e.param, "count") == 0,
                      "query_parse_uint(\"%s\"): error %d %s param \"%s\"", c[i].v, e.status,
                      e.code, e.param);
        ck_assert_msg(strstr(e.message, "count") != NULL, "message \"%s\" does not name count",
                      e.message);
    }
}
END_TEST

Suite *suite_query(void)
{
    Suite *s = suite_create("query");
    TCase *tc;

    tc = tcase_create("query_spec_from_args");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_args_defaults);
    tcase_add_test(tc, test_args_every_field);
    tcase_add_test(tc, test_args_accepted_values);
    tcase_add_test(tc, test_args_bad_values);
    tcase_add_test(tc, test_kind_select_lang_facets);
    tcase_add_test(tc, test_args_lengths);
    tcase_add_test(tc, test_args_missing_q);
    suite_add_tcase(s, tc);

    tc = tcase_create("query_spec_from_json");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_json_every_field);
    tcase_add_test(tc, test_json_defaults_and_forms);
    tcase_add_test(tc, test_json_bad_values);
    tcase_add_test(tc, test_json_bad_json);
    tcase_add_test(tc, test_json_trailing_garbage);
    tcase_add_test(tc, test_json_escaped_backslash_u0000);
    tcase_add_test(tc, test_json_missing_q);
    tcase_add_test(tc, test_json_length_bounded);
    suite_add_tcase(s, tc);

    tc = tcase_create("query_caseless");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_caseless);
    tcase_add_test(tc, test_caseless_one_letter_property);
    tcase_add_test(tc, test_caseless_unicode);
    suite_add_tcase(s, tc);

    tc = tcase_create("query_case_name");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_case_name);
    suite_add_tcase(s, tc);

    tc = tcase_create("query_spec_copy");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_copy);
    suite_add_tcase(s, tc);

    tc = tcase_create("query_parse_uint");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_parse_uint_ok);
    tcase_add_test(tc, test_parse_uint_bad);
    suite_add_tcase(s, tc);

    return s;
}
