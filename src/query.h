/*
 * query.h - a search as a client asks for it: the fields, their defaults
 * and limits, parsed from a query string or a JSON body, and the API error
 * that describes what was wrong.
 *
 * Both entry points share one validator, so GET and POST accept exactly
 * the same values.  Nothing here trusts its input: every number is parsed
 * strictly and range-checked, strings are bounded and must be free of NUL.
 */
#ifndef SHARDGREP_QUERY_H
#define SHARDGREP_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUERY_Q_MAX       4096
#define QUERY_GLOBS_MAX   4096
#define QUERY_MAX_DEFAULT 1000
#define QUERY_MAX_LIMIT   100000
#define QUERY_CONTEXT_MAX 10

enum case_mode { CASE_AUTO, CASE_YES, CASE_NO };
/* What the pattern is matched against: lines of text, or paths. */
enum query_kind { KIND_LINES, KIND_PATH };
/* What a lines query returns: the lines, each matching file once with its
 * count (rg -c), or the totals only. */
enum query_select { SELECT_LINES, SELECT_FILES, SELECT_COUNT };

struct query_spec {
    char *q;
    bool literal;
    enum case_mode cmode;
    char *path;    /* comma-separated globs, "" for none */
    char *exclude; /* comma-separated globs, "" for none */
    char *trees;   /* tree names or globs, comma-separated; "" for all */
    char *langs;   /* language names (lang.h), comma-separated; "" for all */
    enum query_kind kind;
    enum query_select select;
    bool facets; /* count matches by folder and language (facets.h) */
    uint32_t max, context, timeout_ms;
};

/* An error as the API reports it: {"error": {"code", "message", "param"?,
 * "offset"?}} with an HTTP status. */
struct api_error {
    int status;
    char code[32];
    char param[32];
    char message[512];
    long offset;     /* byte offset in a bad regex, or -1 */
    int retry_after; /* seconds, for a 503 that may pass; 0: none */
    char id[33];     /* a query that ran and is kept, to page later; "" for none */
};

void api_error_set(struct api_error *e, int status, const char *code, const char *param,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Looks a parameter up by name; NULL when absent. */
typedef const char *(*query_arg_fn)(void *ctx, const char *key);

/* Whether name is a field of a query (a GET parameter of /api/search, a
 * key of POST /api/queries' body). */
bool query_field_known(const char *name);

/* Parse a query from GET parameters.  timeout_default is the server's
 * deadline, which is also the largest timeout_ms a client may ask for. */
int query_spec_from_args(struct query_spec *s, query_arg_fn get, void *ctx,
                         uint32_t timeout_default, struct api_error *e);
/* Parse a query from a JSON object body. */
int query_spec_from_json(struct query_spec *s, const char *body, size_t len,
                         uint32_t timeout_default, struct api_error *e);
void query_spec_free(struct query_spec *s);
void query_spec_copy(struct query_spec *dst, const struct query_spec *src);

/* Whether the search ignores case, resolving "auto" (smart case: ignore
 * case unless the text the pattern matches holds an upper-case letter,
 * ASCII or Unicode (Lu, Lt), written as itself; see query.c). */
bool query_caseless(const struct query_spec *s);
const char *query_case_name(enum case_mode m);
const char *query_kind_name(enum query_kind k);
const char *query_select_name(enum query_select s);
/* Whether the results are files (a path search, or select=files) rather
 * than lines. */
bool query_returns_files(const struct query_spec *s);

/* Parse an optional boolean parameter (0, 1, true, false; empty is
 * false); *out keeps its value when absent.  On a bad value fills e. */
int query_parse_bool(const char *value, const char *name, bool *out, struct api_error *e);
/* Parse an optional unsigned parameter in [lo, hi]; *out keeps its value
 * when the parameter is absent.  On a bad value fills e (bad_parameter). */
int query_parse_uint(const char *value, const char *name, uint32_t lo, uint32_t hi, uint32_t *out,
                     struct api_error *e);

#endif
