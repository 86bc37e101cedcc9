/*
 * check_render.c - unit tests for src/render.c: JSON strings that are
 * always valid UTF-8, the API's error document, one result record
 * rendered from its wire form, and the file view.
 *
 * Every document is printed (render_print(), or written as text) and
 * parsed back with cJSON, so the assertions are on the JSON a client
 * receives.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "check_suites.h"
#include "check_util.h"
#include "msg.h"
#include "query.h"
#include "render.h"
#include "utf8.h"
#include "util.h"
#include "walk.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))
#define FFFD      "\xef\xbf\xbd"

/* Everything a test allocates, freed by the teardown even on failure. */
static char *text;    /* printed JSON */
static cJSON *parsed; /* text parsed back */
static struct msg_writer w;
static struct file_list files;

static void setup(void)
{
    text = NULL;
    parsed = NULL;
    msg_writer_init(&w);
    memset(&files, 0, sizeof files);
}

static void teardown(void)
{
    free(text);
    cJSON_Delete(parsed);
    msg_writer_free(&w);
    file_list_free(&files);
    text = NULL;
    parsed = NULL;
}

/* Print doc (freeing it) and parse the text back into parsed. */
static cJSON *round_trip(cJSON *doc)
{
    size_t len = 0;
    free(text);
    cJSON_Delete(parsed);
    text = render_print(doc, &len);
    ck_assert_msg(len == strlen(text), "render_print length %zu, strlen %zu", len, strlen(text));
    ck_assert_msg(utf8_valid(text, len, NULL), "the JSON text is not valid UTF-8: %s", text);
    parsed = cJSON_Parse(text);
    ck_assert_msg(parsed != NULL, "the JSON does not parse back: %s", text);
    return parsed;
}

/* A record rendered as render_query() writes it, parsed back. */
static cJSON *record(const uint8_t *rec, unsigned context)
{
    size_t len = 0;
    free(text);
    cJSON_Delete(parsed);
    struct ftable *ft = ftable_new(&files, 1, NULL, 1);
    text = render_record_text(rec, ft, NULL, context, &len);
    ftable_free(ft);
    ck_assert_msg(len == strlen(text), "render_record_text length %zu, strlen %zu", len,
                  strlen(text));
    ck_assert_msg(utf8_valid(text, len, NULL), "the JSON text is not valid UTF-8: %s", text);
    parsed = cJSON_Parse(text);
    ck_assert_msg(parsed != NULL, "the JSON does not parse back: %s", text);
    return parsed;
}

/* A string rendered inside an array, as it comes back. */
static const char *string_round_trip(const char *s, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    cJSON_AddItemToArray(arr, render_string(s, n));
    cJSON *back = round_trip(arr);
    cJSON *item = cJSON_GetArrayItem(back, 0);
    ck_assert_msg(cJSON_IsString(item), "not a string: %s", text);
    return item->valuestring;
}

/* ------------------------------------------------------------------ */
/* render_string                                                       */
/* ------------------------------------------------------------------ */

START_TEST(test_string_valid)
{
    static const char *const c[] = {"", "plain", "caf\xc3\xa9", "\xe2\x82\xac \xf0\x9f\x98\x80",
                                    "quote \" backslash \\ slash /"};
    for (size_t i = 0; i < NCASES(c); i++) {
        const char *got = string_round_trip(c[i], strlen(c[i]));
        ck_assert_msg(strcmp(got, c[i]) == 0, "\"%s\" came back as \"%s\"", c[i], got);
    }
    /* n bytes, not up to a NUL */
    const char *got = string_round_trip("abcdef", 3);
    ck_assert_msg(strcmp(got, "abc") == 0, "the first 3 bytes of abcdef came back as \"%s\"", got);
}
END_TEST

START_TEST(test_string_invalid)
{
    static const struct {
        const char *in, *want;
    } c[] = {
        {"caf\xe9", "caf" FFFD},           {"\xff\xfe", FFFD FFFD},
        {"a\xc0\x80z", "a" FFFD FFFD "z"}, {"\xed\xa0\x80", FFFD FFFD FFFD},
        {"end\xe2\x82", "end" FFFD FFFD},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        const char *got = string_round_trip(c[i].in, strlen(c[i].in));
        ck_assert_msg(strcmp(got, c[i].want) == 0, "string #%zu came back as \"%s\", want \"%s\"",
                      i, got, c[i].want);
        ck_assert_msg(strstr(got, FFFD) != NULL, "string #%zu has no U+FFFD", i);
    }
}
END_TEST

START_TEST(test_string_control)
{
    const char s[] = "a\tb\nc\rd\x01"
                     "e\x1f"
                     "f\x7f";
    const char *got = string_round_trip(s, sizeof s - 1);
    ck_assert_msg(strcmp(got, s) == 0, "control characters did not round-trip");
    for (size_t i = 0; text[i]; i++)
        ck_assert_msg((unsigned char)text[i] >= 0x20 || text[i] == '\0',
                      "raw control byte 0x%02x at %zu in %s", (unsigned char)text[i], i, text);
    static const char *const escapes[] = {"\\t", "\\n", "\\r", "\\u0001", "\\u001f"};
    for (size_t i = 0; i < NCASES(escapes); i++)
        ck_assert_msg(strstr(text, escapes[i]) != NULL, "%s not escaped as %s", text, escapes[i]);
}
END_TEST

START_TEST(test_string_long)
{
    /* Past the 2048-byte stack buffer, valid and invalid. */
    char *valid = xmalloc(5001), *bad = xmalloc(3001);
    for (size_t i = 0; i < 2500; i++)
        memcpy(valid + 2 * i, "\xc3\xa9", 2);
    valid[5000] = '\0';
    memset(bad, 'x', 3000);
    bad[0] = (char)0xe9;
    bad[2999] = (char)0xff;
    bad[3000] = '\0';
    const char *got = string_round_trip(valid, 5000);
    bool same = strcmp(got, valid) == 0;
    got = string_round_trip(bad, 3000);
    bool repaired = strlen(got) == 3004 && memcmp(got, FFFD, 3) == 0 &&
                    memcmp(got + 3001, FFFD, 3) == 0 && got[3] == 'x';
    free(valid);
    free(bad);
    ck_assert_msg(same, "a 5000-byte valid string changed");
    ck_assert_msg(repaired, "a 3000-byte invalid string came back as %zu bytes", strlen(got));
}
END_TEST

/* ------------------------------------------------------------------ */
/* render_error                                                        */
/* ------------------------------------------------------------------ */

static cJSON *error_object(const struct api_error *e)
{
    cJSON *doc = round_trip(render_error(e));
    cJSON *err = cJSON_GetObjectItemCaseSensitive(doc, "error");
    ck_assert_msg(cJSON_IsObject(err), "no \"error\" object in %s", text);
    ck_assert_msg(cJSON_GetArraySize(doc) == 1, "more than \"error\" at the top: %s", text);
    return err;
}

START_TEST(test_error_all_fields)
{
    struct api_error e;
    api_error_set(&e, 400, "bad_regex", "q", "missing closing parenthesis at offset %d", 4);
    e.offset = 4;
    cJSON *err = error_object(&e);
    cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
    cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
    cJSON *param = cJSON_GetObjectItemCaseSensitive(err, "param");
    cJSON *off = cJSON_GetObjectItemCaseSensitive(err, "offset");
    ck_assert_msg(cJSON_IsString(code) && strcmp(code->valuestring, "bad_regex") == 0, "code in %s",
                  text);
    ck_assert_msg(cJSON_IsString(msg) &&
                      strcmp(msg->valuestring, "missing closing parenthesis at offset 4") == 0,
                  "message in %s", text);
    ck_assert_msg(cJSON_IsString(param) && strcmp(param->valuestring, "q") == 0, "param in %s",
                  text);
    ck_assert_msg(cJSON_IsNumber(off) && off->valuedouble == 4, "offset in %s", text);
    ck_assert_msg(cJSON_GetArraySize(err) == 4, "extra fields in %s", text);
}
END_TEST

START_TEST(test_error_optional_fields)
{
    struct api_error e;
    api_error_set(&e, 400, "bad_json", NULL, "the body must be a JSON object");
    cJSON *err = error_object(&e);
    ck_assert_msg(!cJSON_HasObjectItem(err, "param"), "empty param rendered: %s", text);
    ck_assert_msg(!cJSON_HasObjectItem(err, "offset"), "offset -1 rendered: %s", text);
    ck_assert_msg(cJSON_GetArraySize(err) == 2, "want code and message only: %s", text);

    /* offset 0 is an offset */
    api_error_set(&e, 400, "bad_regex", "q", "quantifier does not follow a repeatable item");
    e.offset = 0;
    err = error_object(&e);
    cJSON *off = cJSON_GetObjectItemCaseSensitive(err, "offset");
    ck_assert_msg(cJSON_IsNumber(off) && off->valuedouble == 0, "offset 0 missing: %s", text);
}
END_TEST

START_TEST(test_error_invalid_utf8)
{
    struct api_error e;
    api_error_set(&e, 400, "bad_parameter", "path", "path: bad glob \"caf\xe9[\"");
    cJSON *err = error_object(&e);
    cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
    ck_assert_msg(cJSON_IsString(msg) && strstr(msg->valuestring, "caf" FFFD "[") != NULL,
                  "message in %s", text);
}
END_TEST

/* ------------------------------------------------------------------ */
/* render_record                                                       */
/* ------------------------------------------------------------------ */

static void add_path(const char *path)
{
    if (files.n == files.cap) {
        files.cap = files.cap ? 2 * files.cap : 8;
        files.v = xrealloc(files.v, files.cap * sizeof *files.v);
    }
    files.v[files.n] = (struct file_entry){.path = xstrdup(path)};
    files.n++;
}

/* A record encoded field by field into w (which is reset). */
static const uint8_t *encode(uint32_t file, uint32_t line, uint32_t column, uint8_t flags,
                             const char *t, const uint32_t *ranges, unsigned nranges,
                             const char *const *before, unsigned nbefore, const char *const *after,
                             unsigned nafter)
{
    struct check_record r = {file,    line,   column, flags,   t,     ranges,
                             nranges, before, after,  nbefore, nafter};
    w.len = 0;
    check_put_record(&w, &r);
    return w.data;
}

static const char *get_str(const cJSON *o, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);
    ck_assert_msg(cJSON_IsString(item), "\"%s\" is not a string in %s", key, text);
    return item->valuestring;
}

static double get_num(const cJSON *o, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);
    ck_assert_msg(cJSON_IsNumber(item), "\"%s\" is not a number in %s", key, text);
    return item->valuedouble;
}

/* The array o[key] holds exactly these strings. */
static void check_strings(const cJSON *o, const char *key, const char *const *want, int n)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, key);
    ck_assert_msg(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == n,
                  "\"%s\" is not an array of %d in %s", key, n, text);
    for (int i = 0; i < n; i++) {
        const cJSON *s = cJSON_GetArrayItem(arr, i);
        ck_assert_msg(cJSON_IsString(s) && strcmp(s->valuestring, want[i]) == 0,
                      "%s[%d] in %s, want \"%s\"", key, i, text, want[i]);
    }
}

START_TEST(test_record_fields)
{
    static const uint32_t ranges[] = {0, 3, 4, 7};
    static const char *const before[] = {"b1", "b2"};
    static const char *const after[] = {"a1"};
    add_path("a.c");
    add_path("src/b.c");
    const uint8_t *rec = encode(1, 7, 0, 0, "foo foo", ranges, 2, before, 2, after, 1);
    cJSON *o = record(rec, 0);
    ck_assert_msg(strcmp(get_str(o, "path"), "src/b.c") == 0, "path in %s", text);
    ck_assert_msg(get_num(o, "line") == 7, "line in %s", text);
    ck_assert_msg(strcmp(get_str(o, "text"), "foo foo") == 0, "text in %s", text);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "ranges");
    ck_assert_msg(cJSON_IsArray(r) && cJSON_GetArraySize(r) == 2, "ranges in %s", text);
    for (int i = 0; i < 2; i++) {
        const cJSON *pair = cJSON_GetArrayItem(r, i);
        ck_assert_msg(cJSON_GetArraySize(pair) == 2 &&
                          cJSON_GetArrayItem(pair, 0)->valuedouble == ranges[2 * i] &&
                          cJSON_GetArrayItem(pair, 1)->valuedouble == ranges[2 * i + 1],
                      "range %d in %s", i, text);
    }
    /* context 0: no before/after; not clipped: no clipped/column */
    static const char *const absent[] = {"before", "after", "clipped", "column"};
    for (size_t i = 0; i < NCASES(absent); i++)
        ck_assert_msg(!cJSON_HasObjectItem(o, absent[i]), "\"%s\" present in %s", absent[i], text);
    ck_assert_msg(strcmp(get_str(o, "lang"), "c") == 0, "lang in %s", text);
    ck_assert_msg(cJSON_GetArraySize(o) == 5, "want path, lang, line, text, ranges: %s", text);
}
END_TEST

/* A file (select=files) is its path and count; a path match (kind=path)
 * its path and ranges; a file of no known language has no "lang". */
START_TEST(test_record_file_and_path)
{
    add_path("src/b.c");
    add_path("docs/NOTES");
    const uint8_t *rec = encode(0, 42, 0, MSG_RF_FILE, "", NULL, 0, NULL, 0, NULL, 0);
    cJSON *o = record(rec, 0);
    ck_assert_msg(strcmp(get_str(o, "path"), "src/b.c") == 0 && get_num(o, "count") == 42 &&
                      strcmp(get_str(o, "lang"), "c") == 0 && cJSON_GetArraySize(o) == 3,
                  "a file record: %s", text);
    static const uint32_t ranges[] = {5, 10};
    rec = encode(1, 0, 0, MSG_RF_PATH, "docs/NOTES", ranges, 1, NULL, 0, NULL, 0);
    o = record(rec, 2);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "ranges");
    ck_assert_msg(strcmp(get_str(o, "path"), "docs/NOTES") == 0 && cJSON_GetArraySize(r) == 1 &&
                      cJSON_GetArraySize(o) == 2,
                  "a path record: %s", text);
}
END_TEST

START_TEST(test_record_context)
{
    static const char *const before[] = {"b1", "caf\xe9"};
    static const char *const after[] = {"a1"};
    static const char *const before_json[] = {"b1", "caf" FFFD};
    add_path("x");
    const uint8_t *rec = encode(0, 3, 0, 0, "hit", NULL, 0, before, 2, after, 1);
    cJSON *o = record(rec, 2);
    check_strings(o, "before", before_json, 2);
    check_strings(o, "after", after, 1);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "ranges");
    ck_assert_msg(cJSON_IsArray(r) && cJSON_GetArraySize(r) == 0, "empty ranges in %s", text);

    /* with context but none available (a file's first line): empty arrays */
    rec = encode(0, 1, 0, 0, "hit", NULL, 0, NULL, 0, NULL, 0);
    o = record(rec, 1);
    check_strings(o, "before", NULL, 0);
    check_strings(o, "after", NULL, 0);
}
END_TEST

START_TEST(test_record_clipped)
{
    static const uint32_t ranges[] = {128, 134};
    add_path("long.txt");
    const uint8_t *rec =
        encode(0, 1, 1872, MSG_RF_CLIPPED, "....needle....", ranges, 1, NULL, 0, NULL, 0);
    cJSON *o = record(rec, 0);
    const cJSON *clipped = cJSON_GetObjectItemCaseSensitive(o, "clipped");
    ck_assert_msg(cJSON_IsTrue(clipped), "clipped is not true in %s", text);
    ck_assert_msg(get_num(o, "column") == 1872, "column in %s", text);
    /* a column without the flag is not rendered */
    rec = encode(0, 1, 55, 0, "x", NULL, 0, NULL, 0, NULL, 0);
    o = record(rec, 0);
    ck_assert_msg(!cJSON_HasObjectItem(o, "column") && !cJSON_HasObjectItem(o, "clipped"),
                  "unclipped record has clipped/column: %s", text);
}
END_TEST

START_TEST(test_record_path)
{
    add_path("caf\xe9.c");
    const uint8_t *rec = encode(0, 1, 0, 0, "x", NULL, 0, NULL, 0, NULL, 0);
    cJSON *o = record(rec, 0);
    ck_assert_msg(strcmp(get_str(o, "path"), "caf" FFFD ".c") == 0, "path in %s", text);
    /* an id outside the list renders an empty path, not a crash */
    rec = encode(5, 1, 0, 0, "x", NULL, 0, NULL, 0, NULL, 0);
    o = record(rec, 0);
    ck_assert_msg(strcmp(get_str(o, "path"), "") == 0, "path in %s", text);
}
END_TEST

/* Every byte that needs escaping, and some that do not: the text written
 * is the same as cJSON's for the same string, and reads back as it. */
START_TEST(test_record_escaping)
{
    char raw[200];
    size_t n = 0;
    for (int c = 1; c < 0x20; c++)
        raw[n++] = (char)c;
    static const char more[] = "\"\\/\x7f caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80 bad\xff\xc3";
    memcpy(raw + n, more, sizeof more - 1);
    n += sizeof more - 1;
    raw[n] = '\0';
    add_path("p\"q\\r\n.c");
    const uint8_t *rec = encode(0, 1, 0, 0, raw, NULL, 0, NULL, 0, NULL, 0);
    cJSON *o = record(rec, 0);

    char repaired[UTF8_REPAIR_MAX(sizeof raw) + 1];
    size_t rlen = utf8_repair(raw, n, repaired);
    repaired[rlen] = '\0';
    ck_assert_msg(strcmp(get_str(o, "text"), repaired) == 0, "text reads back differently: %s",
                  text);
    ck_assert_msg(strcmp(get_str(o, "path"), "p\"q\\r\n.c") == 0, "path in %s", text);

    cJSON *ref = cJSON_CreateString(repaired);
    char *want = cJSON_PrintUnformatted(ref);
    cJSON_Delete(ref);
    const char *at = strstr(text, "\"text\":");
    ck_assert_msg(at && strncmp(at + 7, want, strlen(want)) == 0 && at[7 + strlen(want)] == ',',
                  "text is not escaped as cJSON does:\n  got  %s\n  want %s", at ? at + 7 : "-",
                  want);
    free(want);
}
END_TEST

/* The file view: every line, and the clipped ones listed. */
START_TEST(test_file_text)
{
    static const struct {
        uint8_t flags;
        const char *s;
    } in[] = {{0, "first"}, {MSG_RF_CLIPPED, "long\xff"}, {0, ""}, {MSG_RF_CLIPPED, "tab\there"}};
    struct result_ref refs[4];
    struct msg_writer lw;
    msg_writer_init(&lw);
    size_t off[4];
    for (size_t i = 0; i < 4; i++) {
        off[i] = lw.len;
        msg_put_u8(&lw, in[i].flags);
        msg_put_str(&lw, in[i].s, strlen(in[i].s));
    }
    for (size_t i = 0; i < 4; i++)
        refs[i] = (struct result_ref){0, (uint32_t)i + 1, lw.data + off[i]};
    size_t len = 0;
    free(text);
    text = render_file(NULL, 0, NULL, "dir/caf\xe9.txt", refs, 4, &len);
    ck_assert_msg(len == strlen(text), "length %zu, strlen %zu", len, strlen(text));
    cJSON_Delete(parsed);
    parsed = cJSON_Parse(text);
    ck_assert_msg(parsed != NULL, "does not parse: %s", text);
    ck_assert_msg(strcmp(get_str(parsed, "path"), "dir/caf" FFFD ".txt") == 0, "path: %s", text);
    ck_assert_msg(get_num(parsed, "line_count") == 4, "line_count: %s", text);
    static const char *const want[] = {"first", "long" FFFD, "", "tab\there"};
    check_strings(parsed, "lines", want, 4);
    const cJSON *cl = cJSON_GetObjectItemCaseSensitive(parsed, "clipped_lines");
    ck_assert_msg(cJSON_GetArraySize(cl) == 2 && cJSON_GetArrayItem(cl, 0)->valuedouble == 2 &&
                      cJSON_GetArrayItem(cl, 1)->valuedouble == 4,
                  "clipped_lines: %s", text);

    /* no clipped line: no clipped_lines; no lines: an empty array */
    free(text);
    text = render_file(NULL, 0, NULL, "e", refs, 1, &len);
    ck_assert_msg(strcmp(text, "{\"path\":\"e\",\"line_count\":1,\"lines\":[\"first\"]}") == 0,
                  "one line: %s", text);
    free(text);
    text = render_file(NULL, 0, NULL, "e", refs, 0, &len);
    ck_assert_msg(strcmp(text, "{\"path\":\"e\",\"line_count\":0,\"lines\":[]}") == 0,
                  "no lines: %s", text);
    msg_writer_free(&lw);
}
END_TEST

Suite *suite_render(void)
{
    Suite *s = suite_create("render");
    TCase *tc;

    tc = tcase_create("render_string");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_string_valid);
    tcase_add_test(tc, test_string_invalid);
    tcase_add_test(tc, test_string_control);
    tcase_add_test(tc, test_string_long);
    suite_add_tcase(s, tc);

    tc = tcase_create("render_error");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_error_all_fields);
    tcase_add_test(tc, test_error_optional_fields);
    tcase_add_test(tc, test_error_invalid_utf8);
    suite_add_tcase(s, tc);

    tc = tcase_create("render_record");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_record_fields);
    tcase_add_test(tc, test_record_file_and_path);
    tcase_add_test(tc, test_record_context);
    tcase_add_test(tc, test_record_clipped);
    tcase_add_test(tc, test_record_path);
    tcase_add_test(tc, test_record_escaping);
    tcase_add_test(tc, test_file_text);
    suite_add_tcase(s, tc);

    return s;
}
