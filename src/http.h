/*
 * http.h - the HTTP front: libmicrohttpd in thread-per-connection mode.
 *
 * A handler may block while it waits for a query (GET /api/search, or
 * wait_ms), so each connection gets its own thread; the connection limit
 * bounds how many there are.  All the routing is in api.c; this file
 * translates, and guards the door:
 *
 *   - The listening socket was bound before the tree was loaded
 *     (listener.h); the daemon takes it over here.
 *   - A request's head is checked before anything of its body is read
 *     (RFC 9112's framing rules: one Content-Length, no Content-Length
 *     with Transfer-Encoding, chunked as the only coding, one Host and
 *     one for HTTP/1.1, CRLF line ends, header names that are tokens):
 *     400, or 501 for a coding we do not implement, and the connection is
 *     closed, so nothing of an ambiguous body is read as another request;
 *     a chunked request is the last on its connection for the same reason.
 *   - A body over API_BODY_MAX is refused with 413 and the connection
 *     closed as soon as that is known: from Content-Length (before any
 *     "100 Continue"), or once a chunked body passes the limit.
 *   - Deadlines (struct http_limits, reaper.h): a request head must be
 *     complete head_timeout_s after its first byte, and its body
 *     body_timeout_s after the head; past them the connection is shut.  A
 *     handler waiting for a query and an answer being sent have none.
 *
 * It also keeps the books: each answered request is counted (metrics.h,
 * through the api_context's metrics) and, unless turned off, logged as
 * one line on stderr when its answer is done (struct http_log).
 */
#ifndef SHARDGREP_HTTP_H
#define SHARDGREP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "api.h"
#include "listener.h"

/* A connection that sends nothing (or nothing more of its request) for
 * this long is closed; a handler waiting for a query is not idle. */
#define HTTP_IDLE_TIMEOUT_S 20
/* Defaults of the deadlines for a request's head and body. */
#define HTTP_HEAD_TIMEOUT_S 10
#define HTTP_BODY_TIMEOUT_S 30

struct http_server;

struct http_limits {
    unsigned connections;    /* open at once */
    unsigned per_ip;         /* of them from one address; 0: no limit */
    unsigned head_timeout_s; /* first byte of a request to its whole head; 0: default */
    unsigned body_timeout_s; /* end of the head to the end of the body; 0: default */
};

/* The request log: one line per answered request, written with one
 * write() once the answer is done (or its sending ended):
 *   text: shardgrep: GET /api/search 200 1234 B 2.1 ms
 *   json: {"time":"2026-12-06T10:00:00.123Z","method":"GET","path":"/api/search",
 *          "status":200,"bytes":1234,"ms":2.1}
 * The path is the target as sent, without the query string unless queries
 * is set (then "?..." in text, "query" in JSON, URL-encoded as received);
 * bytes outside printable ASCII, '"' and '\' are shown as %HH.  A stream's
 * bytes are those it sent; "-" (null) when unknown; " aborted" ("aborted":
 * true) when the connection ended before the answer was all sent. */
struct http_log {
    bool on;
    bool json;
    bool queries;
};

/* Serve ctx on the listener, which the server owns from now on (also when
 * it fails).  log may be NULL (no request log). */
struct http_server *http_start(const struct api_context *ctx, struct listener *l,
                               const struct http_limits *limits, const struct http_log *log,
                               char *err, size_t errlen);
unsigned http_port(const struct http_server *h);
/* Stop accepting new connections; those open go on. */
void http_quiesce(struct http_server *h);
/* Wait up to timeout_ms for the open connections to end. */
void http_drain(struct http_server *h, unsigned timeout_ms);
/* Close every connection and finish; joins every connection thread. */
void http_stop(struct http_server *h); /* accepts NULL */

#endif
