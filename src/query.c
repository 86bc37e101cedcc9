/*
 * query.c - parsing and validating the fields of a search (see query.h).
 *
 * A JSON body is first flattened into name/value strings, then both paths
 * run the same validator, so "max": 10 and max=10 mean exactly the same.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "query.h"

#include <cjson/cJSON.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glob.h"
#include "lang.h"
#include "pattern.h"
#include "util.h"

void api_error_set(struct api_error *e, int status, const char *code, const char *param,
                   const char *fmt, ...)
{
    va_list ap;
    e->status = status;
    snprintf(e->code, sizeof e->code, "%s", code);
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    e->offset = -1;
    e->retry_after = 0;
    e->id[0] = '\0';
}

int query_parse_uint(const char *value, const char *name, uint32_t lo, uint32_t hi, uint32_t *out,
                     struct api_error *e)
{
    if (!value)
        return SG_OK;
    unsigned long long v = 0;
    const char *p = value;
    if (!*p)
        goto bad;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            goto bad;
        v = v * 10 + (unsigned)(*p - '0');
        if (v > hi)
            goto bad;
    }
    if (v < lo)
        goto bad;
    *out = (uint32_t)v;
    return SG_OK;
bad:
    api_error_set(e, 400, "bad_parameter", name, "%s must be an integer from %u to %u", name, lo,
                  hi);
    return SG_ERR;
}

int query_parse_bool(const char *value, const char *name, bool *out, struct api_error *e)
{
    if (!value)
        return SG_OK;
    if (!strcmp(value, "1") || !strcmp(value, "true")) {
        *out = true;
    } else if (!strcmp(value, "0") || !strcmp(value, "false") || !*value) {
        *out = false;
    } else {
        api_error_set(e, 400, "bad_parameter", name, "%s must be 0, 1, true or false", name);
        return SG_ERR;
    }
    return SG_OK;
}

static int parse_case(const char *value, enum case_mode *out, struct api_error *e)
{
    if (!value || !*value || !strcmp(value, "auto"))
        *out = CASE_AUTO;
    else if (!strcmp(value, "yes"))
        *out = CASE_YES;
    else if (!strcmp(value, "no"))
        *out = CASE_NO;
    else {
        api_error_set(e, 400, "bad_parameter", "case", "case must be auto, yes or no");
        return SG_ERR;
    }
    return SG_OK;
}

/* A value that must be one of names[0..n); *out gets its index.  Absent or
 * empty: *out keeps its default. */
static int parse_choice(const char *value, const char *name, const char *const *names, int n,
                        int *out, struct api_error *e)
{
    if (!value || !*value)
        return SG_OK;
    for (int i = 0; i < n; i++)
        if (!strcmp(value, names[i])) {
            *out = i;
            return SG_OK;
        }
    char list[128] = "";
    for (int i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                 i == 0       ? ""
                 : i == n - 1 ? " or "
                              : ", ",
                 names[i]);
    api_error_set(e, 400, "bad_parameter", name, "%s must be %s", name, list);
    return SG_ERR;
}

static const char *const kind_names[] = {"lines", "path"};
static const char *const select_names[] = {"lines", "files", "count"};

const char *query_kind_name(enum query_kind k)
{
    return kind_names[k == KIND_PATH];
}

const char *query_select_name(enum query_select s)
{
    return select_names[s <= SELECT_COUNT ? s : 0];
}

bool query_returns_files(const struct query_spec *s)
{
    return s->kind == KIND_PATH || s->select == SELECT_FILES;
}

/* Comma-separated language names, each one lang.h knows. */
static int parse_langs(const char *value, char **out, struct api_error *e)
{
    if (!value)
        value = "";
    if (strlen(value) > QUERY_GLOBS_MAX) {
        api_error_set(e, 400, "bad_parameter", "lang", "lang is longer than %d bytes",
                      QUERY_GLOBS_MAX);
        return SG_ERR;
    }
    for (const char *p = value; *value;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == 0 || lang_select(p, n) < 0) { /* "c,": an empty name after the comma */
            api_error_set(e, 400, "bad_parameter", "lang",
                          "lang: \"%.*s\" is not a language (GET /api/langs lists them)",
                          (int)(n < 64 ? n : 64), p);
            return SG_ERR;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    *out = xstrdup(value);
    return SG_OK;
}

static int parse_globs(const char *value, const char *name, char **out, struct api_error *e)
{
    char err[SG_ERRLEN];
    if (!value)
        value = "";
    if (strlen(value) > QUERY_GLOBS_MAX) {
        api_error_set(e, 400, "bad_parameter", name, "%s is longer than %d bytes", name,
                      QUERY_GLOBS_MAX);
        return SG_ERR;
    }
    if (*value) {
        struct glob_list *gl = glob_list_parse(value, err, sizeof err);
        if (!gl) {
            api_error_set(e, 400, "bad_parameter", name, "%s: %s", name, err);
            return SG_ERR;
        }
        glob_list_free(gl);
    }
    *out = xstrdup(value);
    return SG_OK;
}

int query_spec_from_args(struct query_spec *s, query_arg_fn get, void *ctx,
                         uint32_t timeout_default, struct api_error *e)
{
    memset(s, 0, sizeof *s);
    s->max = QUERY_MAX_DEFAULT;
    s->timeout_ms = timeout_default;
    const char *q = get(ctx, "q");
    if (!q || !*q) {
        api_error_set(e, 400, "missing_parameter", "q", "q is required and must not be empty");
        return SG_ERR;
    }
    if (strlen(q) > QUERY_Q_MAX) {
        api_error_set(e, 400, "bad_parameter", "q", "q is longer than %d bytes", QUERY_Q_MAX);
        return SG_ERR;
    }
    int kind = KIND_LINES, select = -1; /* -1: not given */
    if (query_parse_bool(get(ctx, "literal"), "literal", &s->literal, e) < 0 ||
        parse_choice(get(ctx, "kind"), "kind", kind_names, 2, &kind, e) < 0 ||
        parse_choice(get(ctx, "select"), "select", select_names, 3, &select, e) < 0 ||
        query_parse_bool(get(ctx, "facets"), "facets", &s->facets, e) < 0 ||
        parse_langs(get(ctx, "lang"), &s->langs, e) < 0 ||
        parse_case(get(ctx, "case"), &s->cmode, e) < 0 ||
        query_parse_uint(get(ctx, "max"), "max", 0, QUERY_MAX_LIMIT, &s->max, e) < 0 ||
        query_parse_uint(get(ctx, "context"), "context", 0, QUERY_CONTEXT_MAX, &s->context, e) <
            0 ||
        query_parse_uint(get(ctx, "timeout_ms"), "timeout_ms", 1, timeout_default, &s->timeout_ms,
                         e) < 0 ||
        parse_globs(get(ctx, "path"), "path", &s->path, e) < 0 ||
        parse_globs(get(ctx, "exclude"), "exclude", &s->exclude, e) < 0 ||
        parse_globs(get(ctx, "tree"), "tree", &s->trees, e) < 0) {
        query_spec_free(s);
        return SG_ERR;
    }
    s->kind = (enum query_kind)kind;
    if (s->kind == KIND_PATH && select == SELECT_LINES) {
        api_error_set(e, 400, "bad_parameter", "select",
                      "kind=path returns files: select must be files or count");
        query_spec_free(s);
        return SG_ERR;
    }
    if (select < 0)
        select = s->kind == KIND_PATH ? SELECT_FILES : SELECT_LINES;
    s->select = (enum query_select)select;
    if (s->kind == KIND_PATH && s->context) {
        api_error_set(e, 400, "bad_parameter", "context",
                      "context does not apply to kind=path (paths have no lines around them)");
        query_spec_free(s);
        return SG_ERR;
    }
    s->q = xstrdup(q);
    return SG_OK;
}

/* The fields a JSON body may hold, flattened to strings. */
static const char *const json_fields[] = {"q",      "literal", "case",       "path", "exclude",
                                          "max",    "context", "timeout_ms", "tree", "kind",
                                          "select", "lang",    "facets"};
#define NFIELDS (sizeof json_fields / sizeof json_fields[0])

bool query_field_known(const char *name)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (!strcmp(json_fields[i], name))
            return true;
    return false;
}

struct flat {
    char *value[NFIELDS];
};

static const char *flat_get(void *ctx, const char *key)
{
    struct flat *f = ctx;
    for (size_t i = 0; i < NFIELDS; i++)
        if (!strcmp(json_fields[i], key))
            return f->value[i];
    return NULL;
}

/* Fields whose JSON value must be a string. */
static bool string_field(const char *name)
{
    return !strcmp(name, "q") || !strcmp(name, "case") || !strcmp(name, "path") ||
           !strcmp(name, "exclude") || !strcmp(name, "tree") || !strcmp(name, "kind") ||
           !strcmp(name, "select") || !strcmp(name, "lang");
}

/* A JSON value as the string a query string would carry. */
static int flatten(const cJSON *item, char **out, struct api_error *e)
{
    char buf[64];
    if (string_field(item->string) && !cJSON_IsString(item) && !cJSON_IsNull(item)) {
        api_error_set(e, 400, "bad_parameter", item->string, "%s must be a string", item->string);
        return SG_ERR;
    }
    if (cJSON_IsString(item)) {
        *out = xstrdup(item->valuestring);
    } else if (cJSON_IsBool(item)) {
        *out = xstrdup(cJSON_IsTrue(item) ? "true" : "false");
    } else if (cJSON_IsNumber(item) && item->valuedouble >= 0 && item->valuedouble <= 4e9 &&
               item->valuedouble == (double)(long long)item->valuedouble) {
        snprintf(buf, sizeof buf, "%lld", (long long)item->valuedouble);
        *out = xstrdup(buf);
    } else if (cJSON_IsNull(item)) {
        *out = NULL;
    } else {
        api_error_set(e, 400, "bad_parameter", item->string, "%s has a value of the wrong type",
                      item->string);
        return SG_ERR;
    }
    return SG_OK;
}

static int flatten_object(const cJSON *root, struct flat *f, struct api_error *e)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        size_t i = 0;
        while (i < NFIELDS && strcmp(json_fields[i], item->string))
            i++;
        if (i == NFIELDS) {
            api_error_set(e, 400, "bad_parameter", item->string, "unknown field \"%.64s\"",
                          item->string);
            return SG_ERR;
        }
        free(f->value[i]);
        f->value[i] = NULL;
        if (flatten(item, &f->value[i], e) < 0)
            return SG_ERR;
    }
    return SG_OK;
}

/* Whether a JSON text holds the escape \u0000 inside a string (and not,
 * say, the six characters of an escaped backslash followed by u0000). */
static bool has_escaped_nul(const char *s, size_t n)
{
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        if (!in_string) {
            in_string = s[i] == '"';
        } else if (s[i] == '"') {
            in_string = false;
        } else if (s[i] == '\\' && i + 1 < n) {
            if (s[i + 1] == 'u' && i + 5 < n && !memcmp(s + i + 2, "0000", 4))
                return true;
            i++; /* skip the escaped character */
        }
    }
    return false;
}

int query_spec_from_json(struct query_spec *s, const char *body, size_t len,
                         uint32_t timeout_default, struct api_error *e)
{
    memset(s, 0, sizeof *s);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    /* Nothing but white space may follow the object. */
    while (root && end && end < body + len && strchr(" \t\r\n", *end) && *end)
        end++;
    if (!root || !cJSON_IsObject(root) || (end && end < body + len)) {
        cJSON_Delete(root);
        api_error_set(e, 400, "bad_json", NULL, "the body must be a JSON object");
        return SG_ERR;
    }
    struct flat f = {{0}};
    int rc = flatten_object(root, &f, e);
    /* cJSON ends a string at an escaped NUL, which would silently shorten
     * a pattern: refuse the body instead. */
    if (rc == SG_OK && has_escaped_nul(body, len)) {
        api_error_set(e, 400, "bad_json", NULL, "strings must not contain NUL (\\u0000)");
        rc = SG_ERR;
    }
    if (rc == SG_OK)
        rc = query_spec_from_args(s, flat_get, &f, timeout_default, e);
    for (size_t i = 0; i < NFIELDS; i++)
        free(f.value[i]);
    cJSON_Delete(root);
    return rc;
}

void query_spec_free(struct query_spec *s)
{
    if (!s)
        return;
    free(s->q);
    free(s->path);
    free(s->exclude);
    free(s->trees);
    free(s->langs);
    s->q = s->path = s->exclude = s->trees = s->langs = NULL;
}

void query_spec_copy(struct query_spec *dst, const struct query_spec *src)
{
    *dst = *src;
    dst->q = xstrdup(src->q);
    dst->path = xstrdup(src->path ? src->path : "");
    dst->exclude = xstrdup(src->exclude ? src->exclude : "");
    dst->trees = xstrdup(src->trees ? src->trees : "");
    dst->langs = xstrdup(src->langs ? src->langs : "");
}

/*
 * Smart case.  A capital counts when it is text the pattern matches,
 * written as itself (plain, or quoted: \É, \Q...\E): the reader
 * (pattern.h) says which characters those are, so the letters of
 * escapes (\S \W \p{Lu}), of characters given by number (\x41 \cA),
 * of group names, option letters, verbs, conditions and comments do not
 * count.  In literal mode all text counts.  Text the reader does not
 * understand counts nothing: the search then ignores case, which finds
 * more lines, never fewer.
 *
 * Beyond ASCII, a capital is an upper-case or title-case letter (Unicode
 * general category Lu or Lt: É, Σ, ǅ), as PCRE2's own Unicode tables
 * class it, so that smart case and the engine that matches agree on one
 * Unicode version without a table of our own to keep up to date.  Other
 * characters that have a lower-case form but are not letters (Roman
 * numeral Ⅰ, circled Ⓐ) do not count, like \p{Lu} itself.
 */
static pcre2_code *capital_code;
static pthread_once_t capital_once = PTHREAD_ONCE_INIT;

static void capital_compile(void)
{
    int code;
    PCRE2_SIZE off;
    capital_code = pcre2_compile((PCRE2_SPTR) "[\\p{Lu}\\p{Lt}]", PCRE2_ZERO_TERMINATED,
                                 PCRE2_UTF | PCRE2_ANCHORED, &code, &off, NULL);
}

static bool is_capital(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 'A' && cp <= 'Z';
    if (cp > 0x10ffff) /* PAT_RAW_BYTE: not a character */
        return false;
    pthread_once(&capital_once, capital_compile);
    pcre2_match_data *md = capital_code ? pcre2_match_data_create(1, NULL) : NULL;
    if (!md)
        return false;
    unsigned char b[4];
    size_t n = pattern_char_bytes(cp, b);
    int rc = pcre2_match(capital_code, b, n, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc > 0;
}

static bool has_upper(const char *q, bool literal)
{
    struct pattern_reader r;
    struct pattern_token t;
    pattern_open(&r, q, strlen(q), literal, PAT_OPT_MULTILINE);
    while (pattern_next(&r, &t))
        if (t.kind == PAT_CHAR && (t.form == PAT_PLAIN || t.form == PAT_QUOTED) && is_capital(t.cp))
            return true;
    return false;
}

bool query_caseless(const struct query_spec *s)
{
    switch (s->cmode) {
    case CASE_YES:
        return false;
    case CASE_NO:
        return true;
    default:
        return !has_upper(s->q, s->literal);
    }
}

const char *query_case_name(enum case_mode m)
{
    return m == CASE_YES ? "yes" : m == CASE_NO ? "no" : "auto";
}
