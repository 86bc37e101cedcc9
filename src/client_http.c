/*
 * client_http.c - one HTTP/1.1 request over a TCP socket (see
 * client_http.h for why not libcurl).
 *
 * The answer is read to the end of the connection (we send "Connection:
 * close"), or until Content-Length bytes of body arrived, whichever comes
 * first; then the head is parsed and a chunked body decoded in place.
 */
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "client_buf.h"
#include "client_http.h"

static char *dup_range(const char *s, size_t n)
{
    char *d = cbuf_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Splits "host[:port]" or "[v6]:port" (n bytes at s) into u. */
static int parse_authority(const char *s, size_t n, struct client_url *u)
{
    const char *end = s + n, *colon = NULL;
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close || close == s + 1)
            return -1;
        u->host = dup_range(s + 1, (size_t)(close - s - 1));
        if (close + 1 < end && close[1] != ':')
            return -1;
        colon = close + 1 < end ? close + 1 : NULL;
    } else {
        colon = memchr(s, ':', n);
        size_t hlen = colon ? (size_t)(colon - s) : n;
        if (hlen == 0)
            return -1;
        u->host = dup_range(s, hlen);
    }
    if (!colon) {
        u->port = cbuf_xstrdup("80");
        return 0;
    }
    size_t plen = (size_t)(end - colon - 1);
    if (plen == 0 || plen > 5 || strspn(colon + 1, "0123456789") < plen)
        return -1;
    u->port = dup_range(colon + 1, plen);
    return atoi(u->port) > 0 && atoi(u->port) < 65536 ? 0 : -1;
}

int client_url_parse(const char *url, struct client_url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    u->text = cbuf_xstrdup(url);
    if (strncasecmp(url, "https://", 8) == 0) {
        snprintf(err, errlen,
                 "%s: https is not supported; reach the server over http (an SSH tunnel to its "
                 "port, say)",
                 url);
        return -1;
    }
    const char *rest = url;
    if (strncasecmp(url, "http://", 7) == 0)
        rest = url + 7;
    else if (strstr(url, "://")) {
        snprintf(err, errlen, "%s: not an http:// URL", url);
        return -1;
    }
    size_t alen = strcspn(rest, "/?#");
    if (parse_authority(rest, alen, u) != 0) {
        snprintf(err, errlen, "%s: not a valid server URL (http://HOST[:PORT][/PREFIX])", url);
        return -1;
    }
    const char *path = rest + alen;
    if (*path == '?' || *path == '#') {
        snprintf(err, errlen, "%s: a server URL takes no query or fragment", url);
        return -1;
    }
    size_t plen = strlen(path);
    while (plen && path[plen - 1] == '/')
        plen--;
    u->prefix = dup_range(path, plen);
    return 0;
}

void client_url_free(struct client_url *u)
{
    if (!u)
        return;
    free(u->host);
    free(u->port);
    free(u->prefix);
    free(u->text);
    memset(u, 0, sizeof *u);
}

void client_response_free(struct client_response *r)
{
    if (!r)
        return;
    free(r->body);
    memset(r, 0, sizeof *r);
}

static int connect_to(const struct client_url *u, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(u->host, u->port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot reach the server at %s: %s", u->text, gai_strerror(rc));
        return -1;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        struct timeval tv = {.tv_sec = CLIENT_HTTP_TIMEOUT_S};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen,
                 "cannot connect to the server at %s: %s (is shardgrep running? "
                 "--server or SHARDGREP_URL names another)",
                 u->text, strerror(saved));
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The value of header name in the head (lines after the status line), or
 * NULL; *len gets its length. */
static const char *header_value(const char *head, const char *name, size_t *len)
{
    size_t nlen = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            v += strspn(v, " \t");
            const char *e = strstr(v, "\r\n");
            *len = e ? (size_t)(e - v) : strlen(v);
            return v;
        }
    }
    return NULL;
}

/* Decodes a chunked body of n bytes at p, in place; its length, or -1. */
static long dechunk(char *p, size_t n)
{
    size_t in = 0, out = 0;
    for (;;) {
        char *end;
        if (in >= n)
            return -1;
        unsigned long size = strtoul(p + in, &end, 16);
        char *eol = strstr(end, "\r\n");
        if (end == p + in || !eol || eol >= p + n)
            return -1;
        in = (size_t)(eol - p) + 2;
        if (size == 0)
            return (long)out;
        if (size > n - in)
            return -1;
        memmove(p + out, p + in, size);
        out += size;
        in += size + 2;
    }
}

/* Reads the answer on fd into raw; stops at EOF or when the body declared
 * by Content-Length is complete. */
static int read_answer(int fd, struct cbuf *raw)
{
    char chunk[65536];
    long want = -1; /* total bytes, once the head is known */
    for (;;) {
        ssize_t r = recv(fd, chunk, sizeof chunk, 0);
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        cbuf_add(raw, chunk, (size_t)r);
        if (want < 0) {
            char *eoh = strstr(raw->buf, "\r\n\r\n");
            size_t vlen;
            if (eoh) {
                *eoh = '\0';
                const char *cl = header_value(raw->buf, "Content-Length", &vlen);
                const char *te = header_value(raw->buf, "Transfer-Encoding", &vlen);
                *eoh = '\r';
                if (cl && !te)
                    want = (long)(eoh - raw->buf) + 4 + atol(cl);
            }
        }
        if (want >= 0 && (long)raw->len >= want)
            return 0;
    }
}

/* Parses the raw answer into resp; -1 if it is not HTTP. */
static int parse_answer(struct cbuf *raw, struct client_response *resp)
{
    if (!raw->buf || strncmp(raw->buf, "HTTP/1.", 7) != 0 || raw->len < 12)
        return -1;
    char *eoh = strstr(raw->buf, "\r\n\r\n");
    if (!eoh)
        return -1;
    *eoh = '\0';
    resp->status = atoi(raw->buf + 9);
    size_t vlen;
    const char *ra = header_value(raw->buf, "Retry-After", &vlen);
    resp->retry_after = ra ? atoi(ra) : 0;
    const char *te = header_value(raw->buf, "Transfer-Encoding", &vlen);
    bool chunked = te && vlen >= 7 && strncasecmp(te + vlen - 7, "chunked", 7) == 0;
    const char *cl = header_value(raw->buf, "Content-Length", &vlen);
    char *body = eoh + 4;
    size_t blen = raw->len - (size_t)(body - raw->buf);
    if (chunked) {
        long n = dechunk(body, blen);
        if (n < 0)
            return -1;
        blen = (size_t)n;
    } else if (cl) {
        long n = atol(cl);
        if (n < 0 || (size_t)n > blen)
            return -1;
        blen = (size_t)n;
    }
    resp->body = dup_range(body, blen);
    resp->body_len = blen;
    return 0;
}

static char *build_request(const struct client_url *u, const char *method, const char *target,
                           const char *token, const char *body)
{
    struct cbuf req = {0};
    bool v6 = strchr(u->host, ':') != NULL;
    cbuf_printf(&req, "%s %s%s HTTP/1.1\r\nHost: %s%s%s", method, u->prefix, target, v6 ? "[" : "",
                u->host, v6 ? "]" : "");
    if (strcmp(u->port, "80") != 0)
        cbuf_printf(&req, ":%s", u->port);
    cbuf_printf(&req,
                "\r\nUser-Agent: %s/%s\r\nAccept: application/json\r\n"
                "Connection: close\r\n",
                "shardgrep-query", PACKAGE_VERSION);
    if (token && *token)
        cbuf_printf(&req, "Authorization: Bearer %s\r\n", token);
    if (body)
        cbuf_printf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                    strlen(body));
    cbuf_adds(&req, "\r\n");
    if (body)
        cbuf_adds(&req, body);
    return cbuf_take(&req);
}

int client_http_request(const struct client_url *u, const char *method, const char *target,
                        const char *token, const char *body, struct client_response *resp,
                        char *err, size_t errlen)
{
    memset(resp, 0, sizeof *resp);
    int fd = connect_to(u, err, errlen);
    if (fd < 0)
        return -1;
    char *req = build_request(u, method, target, token, body);
    struct cbuf raw = {0};
    int rc = send_all(fd, req, strlen(req));
    free(req);
    if (rc != 0 || read_answer(fd, &raw) != 0) {
        snprintf(err, errlen, "talking to the server at %s: %s", u->text,
                 errno == EAGAIN || errno == EWOULDBLOCK ? "no answer (timed out)"
                                                         : strerror(errno));
        rc = -1;
    } else if (parse_answer(&raw, resp) != 0) {
        snprintf(err, errlen, "the server at %s sent %s", u->text,
                 raw.len ? "an answer that is not HTTP or stops short" : "no answer");
        client_response_free(resp);
        rc = -1;
    }
    close(fd);
    cbuf_free(&raw);
    return rc;
}
