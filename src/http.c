/*
 * http.c - the HTTP front (see http.h for what it guards and why).
 *
 * Who touches what.  libmicrohttpd runs one thread per connection, and a
 * listening thread that accepts and cleans up.  Each connection has a
 * struct conn (its socket context), created when it is accepted and freed
 * when libmicrohttpd says it is closed -- which it says before it closes
 * the descriptor, as the reaper (reaper.h) needs.  The handler moves the
 * connection's request through the reaper's phases.
 *
 * Line ends.  libmicrohttpd 0.9.75 (Debian 12) takes a bare LF for CRLF
 * and has no option to refuse it.  It parses the head in place, writing
 * NUL over each CR and LF of a line end, so in the buffer a line ended by
 * CRLF is followed by exactly two NULs and then the next line, and a bare
 * LF leaves one: start_line_check() and check_line_end() walk the request
 * line and the headers in order and insist on the two.  (A NUL sent just before a bare LF
 * looks like CRLF; such a head is accepted as libmicrohttpd reads it.)
 * This reads the library's buffer, so it runs only with the version it
 * was checked against; later versions refuse bare LF themselves
 * (MHD_OPTION_CLIENT_DISCIPLINE_LVL).
 *
 * The books.  A request's state (struct req_state) is made when its
 * request line is read (target_sent(), which sees the target as sent) and
 * freed when libmicrohttpd says the request is done (completed()); the
 * status and size of the answer are noted when it is queued, and
 * completed() counts the request (metrics.h) and writes its log line
 * (http.h, struct http_log).  A request libmicrohttpd answered itself (a
 * request line it could not read, a head too large) is counted and
 * logged with the status it queued, when it says which; one that got no
 * answer (the client left, or a deadline shut it) is neither.  Refusals
 * at accept (the connection limits) are known only from libmicrohttpd's
 * log message, which mhd_said() counts.
 */
#include "http.h"

#include <errno.h>
#include <microhttpd.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "reaper.h"
#include "render.h"
#include "util.h"

/* The page must work without inline script; everything comes from here. */
#define CSP                                                                                        \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "             \
    "form-action 'self'"

#define JSON_TYPE "application/json; charset=utf-8"
/* RFC 9110's tchar: what a header name is made of. */
#define TOKEN_CHARS    "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#define REFUSE_SEND_MS 1000 /* for a 413 written in the middle of a body */
/* A log line is one write() of at most PIPE_BUF bytes, so that lines
 * written at once by several threads (or processes) never mix. */
#define LOG_LINE_MAX   4096
#define LOG_TARGET_MAX 2048 /* bytes of a request target kept for the log */
#define LOG_SHOWN_MAX  1200 /* of a path or a query shown, escapes included */

#if MHD_VERSION >= 0x00097701
#define STRICTNESS_OPTION MHD_OPTION_CLIENT_DISCIPLINE_LVL
#define STRICTNESS        1
#else
/* At 1, 0.9.75 refuses HTTP/1.1 without Host and spaces in the request
 * target -- and sends that 400's status line and headers twice (the state
 * after an error found in the headers is overwritten).  Both are checked
 * here instead (refuse_head(), target_sent()). */
#define STRICTNESS_OPTION MHD_OPTION_STRICT_FOR_CLIENT
#define STRICTNESS        0
#endif

/* A connection's socket context. */
struct conn {
    struct reaper_conn *deadline;
    /* The request target held a raw space or control character; only the
     * connection's own thread touches it (target_sent(), refuse_head()). */
    bool bad_target;
};

struct http_server {
    struct MHD_Daemon *daemon;
    const struct api_context *ctx;
    struct reaper *reaper;
    unsigned port;
    bool quiesced;
    bool check_line_ends;
    struct http_log log;
    struct metrics *metrics; /* the api_context's */
};

struct req_state {
    char *body;
    size_t len;
    bool chunked;           /* the connection ends with this request (head_read()) */
    const char **arg_names; /* the query string's names (MHD's strings) */
    size_t narg_names, arg_cap;
    /* The books (see the top of the file). */
    bool head_done;    /* head_read() ran */
    uint64_t start_ns; /* the request line was read */
    char method[16];   /* "" until the head is read */
    char *target;      /* as sent, at most LOG_TARGET_MAX bytes; NULL when not logged */
    bool target_cut;
    int status;      /* of the answer queued here; 0: none */
    uint64_t bytes;  /* its body's (a stream: what it sent so far) */
    bool wrote_self; /* refuse_mid_body() wrote it: the connection's end is no abort */
};

/* ---- connections ------------------------------------------------------ */

static struct conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

/* The connection's request enters phase p (reaper.h). */
static void set_phase(struct http_server *h, struct MHD_Connection *c, enum reaper_phase p)
{
    struct conn *k = conn_of(c);
    reaper_set_phase(h->reaper, k ? k->deadline : NULL, p);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http_server *h = cls;
    struct conn *k = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *i =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!i)
            return;
        k = xcalloc(1, sizeof *k);
        k->deadline = reaper_add(h->reaper, i->connect_fd);
        *socket_context = k;
        metrics_connection(h->metrics, true);
        return;
    }
    if (!k)
        return;
    metrics_connection(h->metrics, false);
    reaper_remove(h->reaper, k->deadline);
    free(k);
    *socket_context = NULL;
}

/* ---- answers ------------------------------------------------------------ */

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

/* An error answer of the front's own, in the API's form; the connection
 * is closed after it. */
static void refusal(struct api_response *res, int status, const char *code, const char *message)
{
    struct api_error e;
    api_error_set(&e, status, code, NULL, "%s", message);
    memset(res, 0, sizeof *res);
    res->status = status;
    res->content_type = JSON_TYPE;
    res->body = render_print(render_error(&e), &res->len);
    res->close = true;
}

static void too_large(struct api_response *res)
{
    char msg[64];
    snprintf(msg, sizeof msg, "the body is larger than %d bytes", API_BODY_MAX);
    refusal(res, 413, "body_too_large", msg);
}

/* A response's body handed to libmicrohttpd: freed, and its room in the
 * answer budget given back, once sent. */
static void sent_free(void *cls)
{
    api_response_free(cls);
    free(cls);
}

/* A streamed answer (stream.h), read by this connection's thread: it may
 * wait a while for the next records, never return 0 at once (which would
 * spin), and ends with an error (closing) when the client has gone. */
struct streaming {
    struct stream *s;
    struct MHD_Connection *c;
    uint64_t *sent; /* the request's bytes (read only before it completes) */
};

#define STREAM_POLL_MS 100

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct streaming *st = cls;
    (void)pos;
    if (client_gone(st->c))
        return MHD_CONTENT_READER_END_WITH_ERROR;
    ssize_t n = stream_read(st->s, buf, max, STREAM_POLL_MS);
    if (n == STREAM_END)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n > 0)
        *st->sent += (uint64_t)n;
    return n;
}

static void stream_done(void *cls)
{
    struct streaming *st = cls;
    stream_free(st->s); /* the query is cancelled if the client left early */
    free(st);
}

/* Queue res on the connection; the request's state notes its status and
 * size. */
static enum MHD_Result send_response(struct MHD_Connection *c, struct api_response *res,
                                     struct req_state *rs)
{
    /* A built answer is handed over, not copied (it can be 100 MB): the
     * response frees it once sent, and gives its room in the budget back. */
    struct MHD_Response *r;
    bool streamed = res->stream != NULL;
    size_t len = res->len;
    rs->bytes = 0;
    if (res->stream) {
        struct streaming *st = xmalloc(sizeof *st);
        *st = (struct streaming){res->stream, c, &rs->bytes};
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_reader, st,
                                              stream_done);
        if (r)
            res->stream = NULL; /* the response's now */
        else
            free(st);
    } else if (res->body_static) {
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
    if (ok == MHD_YES) {
        rs->status = res->status;
        if (!streamed && strcmp(rs->method, "HEAD") != 0)
            rs->bytes = len; /* a HEAD answer has no body */
    }
    return ok;
}

/* Send all of buf on a non-blocking socket before until (ms). */
static bool send_all(int fd, const char *buf, size_t n, double until)
{
    while (n > 0) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            buf += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int left = (int)(until - now_ms());
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && left > 0 && poll(&p, 1, left) > 0)
            continue;
        return false;
    }
    return true;
}

/* 413 in the middle of a chunked body.  libmicrohttpd (0.9.75) queues no
 * answer until a body has been read to its end, which a hostile body never
 * reaches; so the answer is written here, by the connection's own thread
 * (nothing else writes to it while a body is read), the socket is shut for
 * writing, and the caller returns MHD_NO so that libmicrohttpd closes it. */
static void refuse_mid_body(struct MHD_Connection *c, struct req_state *rs)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!i)
        return;
    struct api_response res;
    too_large(&res);
    rs->status = 413;
    rs->bytes = res.len;
    rs->wrote_self = true;
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 413 %s\r\nConnection: close\r\nContent-Length: %zu\r\n"
                     "Content-Type: %s\r\nX-Content-Type-Options: nosniff\r\n"
                     "Referrer-Policy: no-referrer\r\nCache-Control: no-store\r\n\r\n",
                     MHD_get_reason_phrase_for(413), res.len, res.content_type);
    double until = now_ms() + REFUSE_SEND_MS;
    if (send_all(i->connect_fd, head, (size_t)n, until))
        (void)send_all(i->connect_fd, res.body, res.len, until);
    shutdown(i->connect_fd, SHUT_WR);
    api_response_free(&res);
}

/* ---- the head ----------------------------------------------------------- */

/* What the headers of a request hold that its framing depends on. */
struct head_scan {
    const char *next; /* where the next line must begin; NULL: not checked */
    const char *end;  /* the end of the head */
    bool line_ends_bad;
    bool bad_name, bad_value;
    unsigned hosts, lengths, codings;
    const char *length, *coding;
};

/* The start of the line after one whose text ends at p, if it ended with
 * CRLF (two NULs in libmicrohttpd's buffer); NULL otherwise. */
static const char *after_crlf(const char *p, const char *end)
{
    if (p < end && end - p >= 2 && !p[0] && !p[1])
        return p + 2;
    return NULL;
}

/* One header line: it must begin where the last line ended, and end in
 * CRLF itself. */
static void check_line_end(struct head_scan *s, const char *key, const char *value)
{
    if (key != s->next || !value || value <= key || value >= s->end) {
        s->line_ends_bad = true;
        s->next = NULL;
        return;
    }
    s->next = after_crlf(value + strnlen(value, (size_t)(s->end - value)), s->end);
    s->line_ends_bad = !s->next;
}

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct head_scan *s = cls;
    (void)kind;
    if (!*key || strspn(key, TOKEN_CHARS) != strlen(key))
        s->bad_name = true; /* a space before the colon, say */
    if (value && strchr(value, '\r'))
        s->bad_value = true;
    if (!strcasecmp(key, "Host")) {
        s->hosts++;
    } else if (!strcasecmp(key, "Content-Length")) {
        s->lengths++;
        s->length = value;
    } else if (!strcasecmp(key, "Transfer-Encoding")) {
        s->codings++;
        s->coding = value;
    }
    if (s->next)
        check_line_end(s, key, value);
    return MHD_YES;
}

/* Begin the line-end check at the request line (see the top of the file). */
static void start_line_check(struct head_scan *s, struct MHD_Connection *c, const char *method,
                             const char *version)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    if (!i)
        return;
    s->end = method + i->header_size;
    if (version <= method || version >= s->end) {
        s->line_ends_bad = true;
        return;
    }
    s->next = after_crlf(version + strnlen(version, (size_t)(s->end - version)), s->end);
    s->line_ends_bad = !s->next;
}

/* The status for a Transfer-Encoding other than "chunked": 400 unless
 * chunked is its last coding and only there (then 501: a coding we do not
 * implement). */
static int coding_status(const char *v)
{
    unsigned chunked = 0;
    bool last = false;
    while (*v) {
        size_t skip = strspn(v, " \t,"), n;
        v += skip;
        n = strcspn(v, " \t,");
        if (!n)
            break;
        last = n == 7 && !strncasecmp(v, "chunked", 7);
        chunked += last;
        v += n;
    }
    return last && chunked == 1 ? 501 : 400;
}

/* Why the framing of a request is refused (status set), or NULL. */
static const char *framing_fault(const struct head_scan *s, bool http10, int *status)
{
    *status = 400;
    if (s->line_ends_bad)
        return "a line of the request head does not end in CRLF, or is folded";
    if (s->bad_name)
        return "a header name holds a character other than a token's (a space before the colon?)";
    if (s->bad_value)
        return "a header value holds a CR";
    if (s->hosts > 1)
        return "more than one Host header";
    if (s->hosts == 0 && !http10)
        return "an HTTP/1.1 request without a Host header";
    if (s->lengths > 1)
        return "more than one Content-Length header";
    if (s->codings && s->lengths)
        return "both Content-Length and Transfer-Encoding";
    if (s->codings > 1)
        return "more than one Transfer-Encoding header";
    if (s->codings && http10)
        return "Transfer-Encoding in an HTTP/1.0 request";
    if (s->codings && strcasecmp(s->coding, "chunked") != 0) {
        *status = coding_status(s->coding);
        return *status == 501 ? "no transfer coding other than chunked is supported"
                              : "Transfer-Encoding does not end in one chunked: the body's "
                                "length is unknown";
    }
    return NULL;
}

/* Whether the head of a request is refused; if so, res holds the answer. */
static bool refuse_head(const struct http_server *h, struct MHD_Connection *c, const char *method,
                        const char *version, struct api_response *res)
{
    struct head_scan s = {0};
    struct conn *k = conn_of(c);
    if (k && k->bad_target) {
        refusal(res, 400, "bad_request", "the request target holds a space or a control character");
        return true;
    }
    if (h->check_line_ends)
        start_line_check(&s, c, method, version);
    MHD_get_connection_values(c, MHD_HEADER_KIND, scan_header, &s);
    if (s.next && after_crlf(s.next, s.end) != s.end)
        s.line_ends_bad = true; /* the empty line that ends the head */
    int status;
    const char *why = framing_fault(&s, !strcmp(version, MHD_HTTP_VERSION_1_0), &status);
    if (why) {
        refusal(res, status, status == 501 ? "not_implemented" : "bad_request", why);
        return true;
    }
    /* libmicrohttpd has checked that it is all digits. */
    unsigned long long n = 0;
    for (const char *p = s.length; p && *p >= '0' && *p <= '9' && n <= API_BODY_MAX; p++)
        n = n * 10 + (unsigned long long)(*p - '0');
    if (n > API_BODY_MAX) {
        too_large(res);
        return true;
    }
    return false;
}

/* ---- requests ----------------------------------------------------------- */

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

/* The request target as sent (before '+' in the arguments becomes a space
 * and %HH is decoded): a raw space or control character in it is noted
 * for refuse_head().  Returns the request's state, kept from here to
 * completed(). */
static void *target_sent(void *cls, const char *uri, struct MHD_Connection *c)
{
    const struct http_server *h = cls;
    struct conn *k = conn_of(c);
    if (k) {
        k->bad_target = false;
        for (const unsigned char *p = (const unsigned char *)uri; *p; p++)
            k->bad_target |= *p <= ' ' || *p == 0x7f;
    }
    struct req_state *st = xcalloc(1, sizeof *st);
    st->start_ns = now_ns();
    if (h->log.on) {
        size_t n = strlen(uri);
        st->target_cut = n > LOG_TARGET_MAX;
        st->target = xstrndup(uri, st->target_cut ? LOG_TARGET_MAX : n);
    }
    return st;
}

static const char *get_arg(void *cls, const char *key)
{
    return MHD_lookup_connection_value(cls, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result add_arg_name(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    struct req_state *st = cls;
    (void)kind;
    (void)value;
    if (st->narg_names == st->arg_cap) {
        st->arg_cap = st->arg_cap ? 2 * st->arg_cap : 8;
        st->arg_names = xrealloc(st->arg_names, st->arg_cap * sizeof *st->arg_names);
    }
    st->arg_names[st->narg_names++] = key;
    return MHD_YES;
}

/* Add n bytes to the body; -1 once it would pass API_BODY_MAX. */
static int collect(struct req_state *st, const char *data, size_t n)
{
    if (st->len + n > API_BODY_MAX)
        return SG_ERR;
    st->body = xrealloc(st->body, st->len + n + 1);
    memcpy(st->body + st->len, data, n);
    st->len += n;
    st->body[st->len] = '\0';
    return SG_OK;
}

/* The first call for a request comes once its head is read, before any of
 * its body: the place to refuse it. */
static enum MHD_Result head_read(struct http_server *h, struct MHD_Connection *c,
                                 const char *method, const char *version, struct req_state *st)
{
    st->head_done = true;
    snprintf(st->method, sizeof st->method, "%s", method);
    set_phase(h, c, REAPER_BODY);
    struct api_response res;
    if (!refuse_head(h, c, method, version, &res)) {
        /* 0.9.75 takes a bare LF for CRLF in chunk lines too, out of our
         * sight: whatever it makes of a chunked body, nothing after it on
         * the connection is run as another request. */
        st->chunked = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
        return MHD_YES;
    }
    /* An answer queued now makes libmicrohttpd skip "100 Continue", read
     * none of the body, and close the connection after the answer. */
    metrics_refused(h->metrics, res.status == 413 ? MR_BODY_TOO_LARGE : MR_BAD_REQUEST);
    set_phase(h, c, REAPER_ANSWER);
    enum MHD_Result ok = send_response(c, &res, st);
    api_response_free(&res);
    return ok;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    struct http_server *h = cls;
    struct req_state *st = *con_cls;
    if (!st) { /* target_sent() makes it; in case it was not called */
        st = *con_cls = xcalloc(1, sizeof *st);
        st->start_ns = now_ns();
    }
    if (!st->head_done)
        return head_read(h, c, method, version, st);
    if (*upload_size) {
        if (collect(st, upload, *upload_size) < 0) {
            metrics_refused(h->metrics, MR_BODY_TOO_LARGE);
            refuse_mid_body(c, st);
            return MHD_NO;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    set_phase(h, c, REAPER_ANSWER);
    st->narg_names = 0;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg_name, st);
    struct api_request req = {
        .method = method,
        .path = url,
        .arg = get_arg,
        .arg_ctx = c,
        .arg_names = st->arg_names,
        .narg_names = st->narg_names,
        .body = st->body,
        .body_len = st->len,
        .authorization =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
        .accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT),
        .client_gone = client_gone,
        .gone_ctx = c};
    struct api_response res;
    api_handle(h->ctx, &req, &res);
    res.close = res.close || st->chunked;
    enum MHD_Result ok = send_response(c, &res, st);
    api_response_free(&res);
    return ok;
}

/* ---- the books ------------------------------------------------------------ */

/* A log line being written, cut (not overrun) at LOG_LINE_MAX - 1 bytes
 * so that the newline always fits. */
struct log_line {
    char buf[LOG_LINE_MAX];
    size_t len;
};

static void log_add(struct log_line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_add(struct log_line *l, const char *fmt, ...)
{
    size_t room = sizeof l->buf - 1 - l->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->buf + l->len, room + 1, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->len += (size_t)n < room ? (size_t)n : room;
}

/* n bytes of a request target as the log shows them: printable ASCII
 * as it is, every other byte (space, '"' and '\' included) as %HH, so
 * that a line stays one line and a JSON string needs no escape.  At most
 * LOG_SHOWN_MAX bytes, then "...". */
static void log_target(struct log_line *l, const char *s, size_t n, bool cut)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t shown = 0;
    for (size_t i = 0; i < n && l->len + 4 < sizeof l->buf; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool plain = ch > ' ' && ch < 0x7f && ch != '"' && ch != '\\';
        if (shown + (plain ? 1 : 3) > LOG_SHOWN_MAX) {
            cut = true;
            break;
        }
        if (plain) {
            l->buf[l->len++] = (char)ch;
        } else {
            l->buf[l->len++] = '%';
            l->buf[l->len++] = hex[ch >> 4];
            l->buf[l->len++] = hex[ch & 15];
        }
        shown += plain ? 1 : 3;
    }
    if (cut)
        log_add(l, "...");
}

/* The time now as RFC 3339 UTC, to the millisecond. */
static void log_time(struct log_line *l)
{
    struct timespec ts;
    struct tm tm;
    char when[32];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    log_add(l, "%s.%03ldZ", when, ts.tv_nsec / 1000000);
}

/* One request's log line (http.h, struct http_log), in one write(). */
static void log_request(const struct http_server *h, const struct req_state *st, int status,
                        bool bytes_known, bool aborted)
{
    struct log_line l = {.len = 0};
    const char *target = st->target ? st->target : "";
    size_t path_len = strcspn(target, "?");
    bool has_query = target[path_len] == '?';
    const char *query = has_query ? target + path_len + 1 : "";
    bool path_cut = st->target_cut && !has_query;
    double ms = (double)(now_ns() - st->start_ns) / 1e6;
    const char *method = st->method[0] ? st->method : "-";
    if (h->log.json) {
        log_add(&l, "{\"time\":\"");
        log_time(&l);
        log_add(&l, "\",\"method\":\"");
        log_target(&l, method, strlen(method), false);
        log_add(&l, "\",\"path\":\"");
        log_target(&l, target, path_len, path_cut);
        if (h->log.queries && has_query) {
            log_add(&l, "\",\"query\":\"");
            log_target(&l, query, strlen(query), st->target_cut);
        }
        log_add(&l, "\",\"status\":%d,\"bytes\":", status);
        if (bytes_known)
            log_add(&l, "%llu", (unsigned long long)st->bytes);
        else
            log_add(&l, "null");
        log_add(&l, ",\"ms\":%.3f%s}", ms, aborted ? ",\"aborted\":true" : "");
    } else {
        log_add(&l, "shardgrep: ");
        log_target(&l, method, strlen(method), false);
        log_add(&l, " ");
        log_target(&l, target, path_len, path_cut);
        if (h->log.queries && has_query) {
            log_add(&l, "?");
            log_target(&l, query, strlen(query), st->target_cut);
        }
        if (bytes_known)
            log_add(&l, " %d %llu B %.1f ms%s", status, (unsigned long long)st->bytes, ms,
                    aborted ? " aborted" : "");
        else
            log_add(&l, " %d - B %.1f ms%s", status, ms, aborted ? " aborted" : "");
    }
    l.buf[l.len++] = '\n';
    while (write(STDERR_FILENO, l.buf, l.len) < 0 && errno == EINTR)
        ;
}

/* The request is done: count it and log it, if it got an answer. */
static void request_done(const struct http_server *h, struct MHD_Connection *c,
                         const struct req_state *st, enum MHD_RequestTerminationCode toe)
{
    int status = st->status;
    bool bytes_known = status != 0;
    if (!status) { /* libmicrohttpd's own answer, if it queued one */
        const union MHD_ConnectionInfo *i =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
        status = i ? (int)i->http_status : 0;
    }
    if (!status)
        return;
    metrics_http_answered(h->metrics, status, bytes_known ? st->bytes : 0);
    /* libmicrohttpd closes after an answer of its own: that is no abort. */
    bool aborted = toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && bytes_known && !st->wrote_self;
    if (h->log.on)
        log_request(h, st, status, bytes_known, aborted);
}

/* libmicrohttpd's log: only its refusals at accept are of interest (it
 * logs them, and tells nothing else). */
static void mhd_said(void *cls, const char *fmt, va_list ap)
{
    const struct http_server *h = cls;
    (void)ap;
    if (strstr(fmt, "connection limit"))
        metrics_refused(h->metrics, MR_CONNECTION_LIMIT);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct req_state *st = *con_cls;
    if (st) {
        request_done(cls, c, st, toe);
        free(st->body);
        free(st->arg_names);
        free(st->target);
        free(st);
    }
    *con_cls = NULL;
    set_phase(cls, c, REAPER_HEAD); /* a kept-alive connection waits for the next one */
}

/* ---- the server --------------------------------------------------------- */

struct http_server *http_start(const struct api_context *ctx, struct listener *l,
                               const struct http_limits *limits, const struct http_log *log,
                               char *err, size_t errlen)
{
    unsigned head_s = limits->head_timeout_s ? limits->head_timeout_s : HTTP_HEAD_TIMEOUT_S;
    unsigned body_s = limits->body_timeout_s ? limits->body_timeout_s : HTTP_BODY_TIMEOUT_S;
    struct http_server *h = xcalloc(1, sizeof *h);
    h->ctx = ctx;
    h->metrics = ctx->metrics;
    if (log)
        h->log = *log;
    h->port = listener_port(l);
    /* The version whose buffer layout check_line_ends() was written for. */
    h->check_line_ends = !strcmp(MHD_get_version(), "0.9.75");
    int fd = listener_release(l); /* the daemon's from here, even if it fails */
    h->reaper = reaper_start(head_s * 1000, body_s * 1000);
    if (!h->reaper) {
        set_err(err, errlen, "cannot start the HTTP server's reaper thread");
        close(fd);
        free(h);
        return NULL;
    }
    /* ITC lets MHD_quiesce_daemon() wake the listening thread; its log
     * goes to mhd_said(), which counts refusals and prints nothing. */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    h->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, h, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_CONNECTION_LIMIT, limits->connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        limits->per_ip, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_UNESCAPE_CALLBACK,
        unescape, NULL, MHD_OPTION_URI_LOG_CALLBACK, target_sent, h, MHD_OPTION_NOTIFY_COMPLETED,
        completed, h, MHD_OPTION_NOTIFY_CONNECTION, on_connection, h, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_said, h, STRICTNESS_OPTION, (int)STRICTNESS, MHD_OPTION_END);
    if (!h->daemon) {
        set_err(err, errlen, "cannot start the HTTP server on port %u", h->port);
        reaper_free(h->reaper);
        free(h);
        return NULL;
    }
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
    MHD_stop_daemon(h->daemon); /* every connection's CLOSED leaves the reaper */
    reaper_free(h->reaper);
    free(h);
}
