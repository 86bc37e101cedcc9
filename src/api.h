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

#include "query.h"
#include "registry.h"
#include "walk.h"
#include "webroot.h"

#define API_BODY_MAX    (64 * 1024)
#define API_WAIT_MAX_MS 60000

struct api_context {
    struct registry *reg;
    const struct file_list *files;
    const struct webroot *web;
    uint32_t timeout_ms; /* default and largest query deadline */
    double started_ms;
    const char *token; /* when set, /api/ wants "Authorization: Bearer <token>" */
};

struct api_request {
    const char *method;
    const char *path; /* decoded, without the query string */
    query_arg_fn arg; /* query-string parameters */
    void *arg_ctx;
    const char *body;
    size_t body_len;
    bool body_too_large;
    const char *authorization; /* the Authorization header, or NULL */
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
};

void api_handle(const struct api_context *ctx, const struct api_request *req,
                struct api_response *res);
void api_response_free(struct api_response *res);

#endif
