/*
 * client_http.h - the HTTP/1.1 client of shardgrep-query.
 *
 * Why a socket and not libcurl: shardgrep speaks plain HTTP on loopback
 * (a reverse proxy terminates TLS when it faces a network), and what the
 * client needs of HTTP is one request per connection ("Connection:
 * close"), a JSON body, and an answer framed by Content-Length (what the
 * server sends for every route the client uses) or chunked.  That is a
 * couple of hundred lines against a new build dependency on every machine
 * that builds shardgrep.  The cost: only http:// URLs; an https://
 * address is refused with a message saying so (reach such a server
 * through an SSH tunnel, or with curl).
 *
 * One request opens one connection and reads the answer to its end; a
 * connection that fails, or an answer that stops short, is an error with
 * its reason (naming the URL) in the caller's buffer; so is a signal
 * that interrupts it (EINTR is not retried: Ctrl-C must end the wait).
 * Sockets time out after CLIENT_HTTP_TIMEOUT_S without progress, beyond
 * the longest wait_ms the server takes (60 s).
 */
#ifndef SHARDGREP_CLIENT_HTTP_H
#define SHARDGREP_CLIENT_HTTP_H

#include <stddef.h>

#define CLIENT_HTTP_TIMEOUT_S 90

/* A parsed http:// URL: host (without brackets for IPv6), port, and the
 * path prefix the API lives under ("" or "/prefix", no trailing slash). */
struct client_url {
    char *host;
    char *port;
    char *prefix;
    char *text; /* the URL as given, for messages */
};

/* 0, or -1 with the reason in err (an https:// URL, a missing host ...). */
int client_url_parse(const char *url, struct client_url *u, char *err, size_t errlen);
void client_url_free(struct client_url *u);

struct client_response {
    int status;
    int retry_after; /* seconds, from Retry-After; 0 when absent */
    char *body;      /* NUL-terminated, body_len bytes before the NUL */
    size_t body_len;
};

/* Sends METHOD prefix+target (target starts with '/') with an optional
 * JSON body and a Bearer token (NULL: none), and reads the whole answer
 * into *resp.  0 once an answer arrived, whatever its status; -1 with the
 * reason in err when none did. */
int client_http_request(const struct client_url *u, const char *method, const char *target,
                        const char *token, const char *body, struct client_response *resp,
                        char *err, size_t errlen);
void client_response_free(struct client_response *r);

#endif
