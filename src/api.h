/*
 * api.h - the routes of the HTTP API, independent of the HTTP library.
 *
 * http.c turns each request into a struct api_request and sends back the
 * struct api_response this module fills, so every route can be driven by
 * a test or a fuzzer without a socket.  The contract is doc/api.md.
 */
#ifndef SHARDGREP_API_H
#define SHARDGREP_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ftable.h"
#include "links.h"
#include "query.h"
#include "registry.h"
#include "stream.h"
#include "walk.h"
#include "watch.h"
#include "webroot.h"

struct metrics;

#define API_BODY_MAX    (64 * 1024)
#define API_WAIT_MAX_MS 60000

/* The bytes of the large answers (query pages, file views) built and not
 * yet sent: past max, another large one is refused with 503 overloaded
 * rather than built.  Answers under API_ANSWER_SMALL always go. */
#define API_ANSWER_SMALL (64 * 1024)
struct answer_budget {
    _Atomic size_t held;
    size_t max;
};

struct api_context {
    struct registry *reg;
    struct answer_budget *answers;  /* NULL: not counted */
    struct ftable *files;           /* the files, by id (ftable.h) */
    const struct file_list *walked; /* what the start-up walk counted */
    struct watcher *const *watch;   /* one per tree, following it */
    unsigned ntrees;
    const char *const *tree_roots; /* their folders */
    const struct links *links;     /* editor and code-host URLs; NULL: none */
    const struct webroot *web;
    uint32_t timeout_ms; /* default and largest query deadline */
    double started_ms;
    /* when set, /api/ and /metrics want "Authorization: Bearer <token>" */
    const char *token;
    struct metrics *metrics; /* counters (metrics.h), for GET /metrics; NULL: none */
};

struct api_request {
    const char *method;
    const char *path; /* decoded, without the query string */
    query_arg_fn arg; /* query-string parameters */
    void *arg_ctx;
    /* Every query-string parameter's name, in order, repeats included:
     * a route refuses those it does not take.  NULL: not checked. */
    const char *const *arg_names;
    size_t narg_names;
    const char *body;
    size_t body_len;
    bool body_too_large;
    const char *authorization; /* the Authorization header, or NULL */
    const char *accept;        /* the Accept header, or NULL */
    /* True once the client has closed its connection (NULL: never asked). */
    bool (*client_gone)(void *ctx);
    void *gone_ctx;
};

struct api_response {
    int status;
    const char *content_type;
    char *body; /* owned unless body_static */
    size_t len;
    bool body_static;
    const char *allow;   /* for 405 */
    bool auth_challenge; /* for 401: send WWW-Authenticate */
    int retry_after;     /* seconds, for a Retry-After header; 0: none */
    bool close;          /* close the connection after this answer */
    /* Counted in this budget until sent: api_answer_release() it. */
    struct answer_budget *budget;
    size_t counted;
    /* A streamed answer (stream.h) instead of a body: the HTTP layer reads
     * it as it comes, and frees it. */
    struct stream *stream;
};

void api_handle(const struct api_context *ctx, const struct api_request *req,
                struct api_response *res);
/* Frees what the response still owns (a counted body included). */
void api_response_free(struct api_response *res);
/* Reserves room for an answer of about n bytes; false (nothing reserved):
 * over budget.  Under API_ANSWER_SMALL always goes.  One answer bigger than
 * the room left still goes when what is held is at most API_ANSWER_SMALL:
 * a small answer the client has read, but whose connection libmicrohttpd
 * has not yet finished, must not turn a big file view into "try again
 * shortly".  b NULL: nothing is counted. */
bool api_answer_reserve(struct answer_budget *b, size_t n);
/* A counted answer of n bytes is gone. */
void api_answer_release(struct answer_budget *b, size_t n);

#endif
