/*
 * http.h - the HTTP front: libmicrohttpd in thread-per-connection mode.
 *
 * A handler may block while it waits for a query (GET /api/search, or
 * wait_ms), so each connection gets its own thread; the connection limit
 * bounds how many there are.  Request bodies are collected up to
 * API_BODY_MAX and the rest is discarded (the API answers 413).  All the
 * routing is in api.c; this file only translates.
 */
#ifndef SHARDGREP_HTTP_H
#define SHARDGREP_HTTP_H

#include <stddef.h>

#include "api.h"

/* A connection that sends nothing (or nothing more of its request) for
 * this long is closed; a handler waiting for a query is not idle. */
#define HTTP_IDLE_TIMEOUT_S 20

struct http_server;

struct http_limits {
    unsigned connections; /* open at once */
    unsigned per_ip;      /* of them from one address; 0: no limit */
};

/* Listen on bind:port (port 0: any free port) and serve ctx. */
struct http_server *http_start(const struct api_context *ctx, const char *bind, unsigned port,
                               const struct http_limits *limits, char *err, size_t errlen);
unsigned http_port(const struct http_server *h);
/* Stop accepting new connections; those open go on. */
void http_quiesce(struct http_server *h);
/* Wait up to timeout_ms for the open connections to end. */
void http_drain(struct http_server *h, unsigned timeout_ms);
/* Close every connection and finish; joins every connection thread. */
void http_stop(struct http_server *h); /* accepts NULL */

#endif
