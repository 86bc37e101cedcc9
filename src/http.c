#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

/* The page must work without inline script; everything comes from here. */
#define CSP                                                                                        \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "             \
    "form-action 'self'"

struct http_server {
    struct MHD_Daemon *daemon;
    const struct api_context *ctx;
    unsigned port;
    bool quiesced;
};

struct req_state {
    char *body;
    size_t len;
    bool too_large;
};

/* Whether the peer of a connection closed it: EOF or a hang-up on its
 * socket, seen without reading anything it may have sent. */
static bool client_gone(void *cls)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(cls, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!info)
        return false;
    struct pollfd pfd = {.fd = info->connect_fd, .events = POLLIN | POLLRDHUP};
    if (poll(&pfd, 1, 0) <= 0)
        return false;
    if (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))
        return true;
    char c;
    return recv(info->connect_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode %HH in a URL path or argument, in place.  A C string cannot hold
 * "%00", and cutting the string there would serve "a.txt" for
 * "a.txt%00/../x": it becomes C0 80 instead (an overlong, invalid UTF-8
 * form of NUL), which no indexed path, no web file and no valid pattern
 * holds, so such requests get 404 or 400 rather than another answer. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls, (void)c;
    char *w = s;
    for (const char *r = s; *r;) {
        int hi = r[0] == '%' ? hexval((unsigned char)r[1]) : -1;
        int lo = hi >= 0 ? hexval((unsigned char)r[2]) : -1;
        if (lo < 0) {
            *w++ = *r++;
            continue;
        }
        int v = hi * 16 + lo;
        if (v == 0) {
            *w++ = (char)0xC0;
            *w++ = (char)0x80;
        } else {
            *w++ = (char)v;
        }
        r += 3;
    }
    *w = '\0';
    return (size_t)(w - s);
}

static const char *get_arg(void *cls, const char *key)
{
    return MHD_lookup_connection_value(cls, MHD_GET_ARGUMENT_KIND, key);
}

static void collect(struct req_state *st, const char *data, size_t n)
{
    if (st->too_large || st->len + n > API_BODY_MAX) {
        st->too_large = true;
        return;
    }
    st->body = xrealloc(st->body, st->len + n + 1);
    memcpy(st->body + st->len, data, n);
    st->len += n;
    st->body[st->len] = '\0';
}

/* A response's body handed to libmicrohttpd: freed, and its room in the
 * answer budget given back, once sent. */
static void sent_free(void *cls)
{
    api_response_free(cls);
    free(cls);
}

static enum MHD_Result send_response(struct MHD_Connection *c, struct api_response *res)
{
    /* A built answer is handed over, not copied (it can be 100 MB): the
     * response frees it once sent, and gives its room in the budget back. */
    struct MHD_Response *r;
    if (res->body_static) {
        r = MHD_create_response_from_buffer(res->len, res->body, MHD_RESPMEM_PERSISTENT);
    } else {
        struct api_response *sent = xmalloc(sizeof *sent);
        *sent = *res;
        r = MHD_create_response_from_buffer_with_free_callback_cls(res->len, res->body, sent_free,
                                                                   sent);
        if (r) {
            res->body = NULL; /* the response's now */
            res->counted = 0;
        } else {
            free(sent);
        }
    }
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", res->content_type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    if (res->body_static) {
        MHD_add_response_header(r, "Content-Security-Policy", CSP);
        MHD_add_response_header(r, "Cache-Control", "no-cache");
    } else {
        MHD_add_response_header(r, "Cache-Control", "no-store");
    }
    if (res->allow)
        MHD_add_response_header(r, "Allow", res->allow);
    if (res->retry_after > 0) {
        char secs[16];
        snprintf(secs, sizeof secs, "%d", res->retry_after);
        MHD_add_response_header(r, "Retry-After", secs);
    }
    if (res->auth_challenge)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"shardgrep\"");
    if (res->close)
        MHD_add_response_header(r, "Connection", "close");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)res->status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    struct http_server *h = cls;
    struct req_state *st = *con_cls;
    (void)version;
    if (!st) {
        *con_cls = xcalloc(1, sizeof *st);
        return MHD_YES;
    }
    if (*upload_size) {
        collect(st, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    struct api_request req = {.method = method,
                              .path = url,
                              .arg = get_arg,
                              .arg_ctx = c,
                              .body = st->body,
                              .body_len = st->len,
                              .body_too_large = st->too_large,
                              .authorization = MHD_lookup_connection_value(
                                  c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
                              .client_gone = client_gone,
                              .gone_ctx = c};
    struct api_response res;
    api_handle(h->ctx, &req, &res);
    enum MHD_Result ok = send_response(c, &res);
    api_response_free(&res);
    return ok;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct req_state *st = *con_cls;
    (void)cls, (void)c, (void)toe;
    if (st) {
        free(st->body);
        free(st);
    }
    *con_cls = NULL;
}

static int resolve(const char *bind, unsigned port, struct sockaddr_storage *ss, socklen_t *len,
                   char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_PASSIVE, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    char service[16];
    snprintf(service, sizeof service, "%u", port);
    int rc = getaddrinfo(bind, service, &hints, &ai);
    if (rc != 0 || !ai) {
        set_err(err, errlen, "bad bind address %s: %s", bind, gai_strerror(rc));
        return SG_ERR;
    }
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return SG_OK;
}

struct http_server *http_start(const struct api_context *ctx, const char *bind, unsigned port,
                               const struct http_limits *limits, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (resolve(bind, port, &ss, &sslen, err, errlen) < 0)
        return NULL;
    struct http_server *h = xcalloc(1, sizeof *h);
    h->ctx = ctx;
    /* ITC lets MHD_quiesce_daemon() wake the listening thread. */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, handle, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_LIMIT, limits->connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        limits->per_ip, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_UNESCAPE_CALLBACK,
        unescape, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
    if (!h->daemon) {
        set_err(err, errlen, "cannot listen on %s port %u (in use, or not allowed?)", bind, port);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : port;
    return h;
}

unsigned http_port(const struct http_server *h)
{
    return h->port;
}

void http_quiesce(struct http_server *h)
{
    if (!h || h->quiesced)
        return;
    MHD_socket fd = MHD_quiesce_daemon(h->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd); /* pending connections get a reset, not a hang */
    h->quiesced = true;
}

void http_drain(struct http_server *h, unsigned timeout_ms)
{
    if (!h)
        return;
    double until = now_ms() + timeout_ms;
    while (now_ms() < until) {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (!info || info->num_connections == 0)
            return;
        usleep(10000);
    }
}

void http_stop(struct http_server *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->daemon);
    free(h);
}
