/*
 * api.c - routing and the handlers of the API (see api.h, doc/api.md).
 */
#include "api.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "render.h"
#include "util.h"

#define JSON_TYPE       "application/json; charset=utf-8"
#define FILE_WAIT_MS    15000
#define SEARCH_GRACE_MS 5000

/* A JSON answer whose text the response takes over. */
static void respond_text(struct api_response *res, int status, char *body, size_t len)
{
    res->status = status;
    res->content_type = JSON_TYPE;
    res->body = body;
    res->len = len;
    res->body_static = false;
}

static void respond_json(struct api_response *res, int status, cJSON *doc)
{
    size_t len;
    char *body = render_print(doc, &len);
    respond_text(res, status, body, len);
}

/* Reserve room for a large answer of about n bytes; false: over budget. */
static bool answer_reserve(struct answer_budget *b, size_t n)
{
    if (!b)
        return true;
    size_t before = atomic_fetch_add(&b->held, n);
    if (n > API_ANSWER_SMALL && before > 0 && before + n > b->max) {
        atomic_fetch_sub(&b->held, n);
        return false;
    }
    return true;
}

void api_answer_release(struct answer_budget *b, size_t n)
{
    if (b && n)
        atomic_fetch_sub(&b->held, n);
}

/* The answer built for a reservation of `reserved` bytes: count its real
 * size until it is sent. */
static void respond_counted(struct api_response *res, struct answer_budget *b, size_t reserved,
                            int status, char *body, size_t len)
{
    respond_text(res, status, body, len);
    if (!b)
        return;
    if (len > reserved)
        atomic_fetch_add(&b->held, len - reserved);
    else
        atomic_fetch_sub(&b->held, reserved - len);
    res->budget = b;
    res->counted = len;
}

static void respond_error(struct api_response *res, const struct api_error *e)
{
    respond_json(res, e->status, render_error(e));
    res->retry_after = e->retry_after;
}

static void error(struct api_response *res, int status, const char *code, const char *message)
{
    struct api_error e;
    api_error_set(&e, status, code, NULL, "%s", message);
    respond_error(res, &e);
}

static void over_budget(struct api_response *res, const struct answer_budget *b)
{
    struct api_error e;
    api_error_set(&e, 503, "overloaded", NULL,
                  "large answers being sent hold %zu MiB (--answer-memory %zu MiB): try again "
                  "shortly",
                  (size_t)(atomic_load(&b->held) >> 20), b->max >> 20);
    e.retry_after = 1;
    respond_error(res, &e);
}

static void method_not_allowed(struct api_response *res, const char *allow)
{
    char msg[128];
    snprintf(msg, sizeof msg, "method not allowed; allowed: %s", allow);
    error(res, 405, "method_not_allowed", msg);
    res->allow = allow;
}

/* Paging and waiting parameters shared by search and query answers. */
struct paging {
    uint32_t offset, limit, wait_ms;
};

static int parse_paging(const struct api_request *req, struct paging *p, struct api_error *e)
{
    p->offset = 0;
    p->limit = QUERY_MAX_LIMIT;
    p->wait_ms = 0;
    if (query_parse_uint(req->arg(req->arg_ctx, "offset"), "offset", 0, QUERY_MAX_LIMIT, &p->offset,
                         e) < 0 ||
        query_parse_uint(req->arg(req->arg_ctx, "limit"), "limit", 0, QUERY_MAX_LIMIT, &p->limit,
                         e) < 0 ||
        query_parse_uint(req->arg(req->arg_ctx, "wait_ms"), "wait_ms", 0, API_WAIT_MAX_MS,
                         &p->wait_ms, e) < 0)
        return SG_ERR;
    return SG_OK;
}

#define GONE_CHECK_MS     100
#define QUEUE_WAIT_MAX_MS 60000.0

/* Wait for q up to timeout_ms, looking every GONE_CHECK_MS whether the
 * client is still there.  Returns false if it left. */
static bool wait_for_client(const struct api_context *ctx, const struct api_request *req,
                            struct query *q, unsigned timeout_ms)
{
    double until = now_ms() + timeout_ms;
    for (;;) {
        double left = until - now_ms();
        if (left <= 0)
            return true;
        unsigned slice = left < GONE_CHECK_MS ? (unsigned)left + 1 : GONE_CHECK_MS;
        if (registry_wait(ctx->reg, q, req->client_gone ? slice : (unsigned)left + 1))
            return true;
        if (req->client_gone && req->client_gone(req->gone_ctx))
            return false;
    }
}

static void respond_query(const struct api_context *ctx, struct query *q, const struct paging *p,
                          int status, struct api_response *res)
{
    struct query_view v;
    registry_view(ctx->reg, q, &v);
    if (v.status == QS_CANCELLED && registry_closing(ctx->reg)) {
        /* Ended by the shutdown, not by a client: say so. */
        query_view_free(&v);
        error(res, 503, "shutting_down", "the server is shutting down");
        return;
    }
    size_t guess = render_query_estimate(&v, p->offset, p->limit);
    if (!answer_reserve(ctx->answers, guess)) {
        query_view_free(&v);
        over_budget(res, ctx->answers);
        return;
    }
    size_t len;
    char *body = render_query(&v, ctx->files, p->offset, p->limit, &len);
    respond_counted(res, ctx->answers, guess, status, body, len);
    query_view_free(&v);
}

static void handle_search(const struct api_context *ctx, const struct api_request *req,
                          struct api_response *res)
{
    struct query_spec spec;
    struct api_error e;
    struct paging p;
    if (parse_paging(req, &p, &e) < 0 ||
        query_spec_from_args(&spec, req->arg, req->arg_ctx, ctx->timeout_ms, &e) < 0) {
        respond_error(res, &e);
        return;
    }
    struct query *q = registry_submit(ctx->reg, &spec, &e);
    query_spec_free(&spec);
    if (!q) {
        respond_error(res, &e);
        return;
    }
    /* Waiting in the queue does not count against the deadline (it starts
     * at the workers), up to QUEUE_WAIT_MAX_MS; then the workers keep their
     * own deadline, and the grace covers a stuck one, which the registry
     * ends as overdue. */
    bool here = true;
    double queued_until = now_ms() + QUEUE_WAIT_MAX_MS;
    while (here && registry_queued(ctx->reg, q) && now_ms() < queued_until)
        here = wait_for_client(ctx, req, q, GONE_CHECK_MS);
    if (!here || !wait_for_client(ctx, req, q, ctx->timeout_ms + SEARCH_GRACE_MS)) {
        /* Nobody will read the answer: stop the workers' scanning. */
        registry_cancel(ctx->reg, q);
        error(res, 499, "client_closed", "the client went away");
        res->close = true;
        registry_put(ctx->reg, q);
        return;
    }
    respond_query(ctx, q, &p, 200, res);
    registry_put(ctx->reg, q);
}

static void handle_submit(const struct api_context *ctx, const struct api_request *req,
                          struct api_response *res)
{
    struct query_spec spec;
    struct api_error e;
    if (req->body_too_large) {
        api_error_set(&e, 413, "body_too_large", NULL, "the body is larger than %d bytes",
                      API_BODY_MAX);
        respond_error(res, &e);
        return;
    }
    if (query_spec_from_json(&spec, req->body ? req->body : "", req->body_len, ctx->timeout_ms,
                             &e) < 0) {
        respond_error(res, &e);
        return;
    }
    struct query *q = registry_submit(ctx->reg, &spec, &e);
    query_spec_free(&spec);
    if (!q) {
        respond_error(res, &e);
        return;
    }
    struct query_view v;
    registry_view(ctx->reg, q, &v);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "id", v.id);
    /* "running" even if it has already finished: it was started. */
    bool queued = v.status == QS_QUEUED;
    cJSON_AddStringToObject(doc, "status", queued ? "queued" : "running");
    if (queued)
        cJSON_AddNumberToObject(doc, "queue_position", v.queue_position);
    query_view_free(&v);
    respond_json(res, 202, doc);
    registry_put(ctx->reg, q);
}

static bool valid_id(const char *id)
{
    size_t n = strspn(id, "0123456789abcdef");
    return n == 32 && id[n] == '\0';
}

static void handle_query(const struct api_context *ctx, const struct api_request *req,
                         const char *id, struct api_response *res)
{
    bool is_get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
    if (!is_get && strcmp(req->method, "DELETE")) {
        method_not_allowed(res, "GET, DELETE");
        return;
    }
    struct api_error e;
    struct paging p;
    if (parse_paging(req, &p, &e) < 0) {
        respond_error(res, &e);
        return;
    }
    bool expired = false;
    struct query *q = valid_id(id) ? registry_get(ctx->reg, id, &expired) : NULL;
    if (!q) {
        char msg[128];
        snprintf(msg, sizeof msg, expired ? "query %.40s has expired" : "no query with id %.40s",
                 id);
        error(res, 404, expired ? "expired" : "not_found", msg);
        return;
    }
    if (is_get)
        (void)wait_for_client(ctx, req, q, p.wait_ms); /* a poll that left cancels nothing */
    else
        registry_cancel(ctx->reg, q);
    respond_query(ctx, q, &p, 200, res);
    registry_put(ctx->reg, q);
}

static void handle_file(const struct api_context *ctx, const char *path, struct api_response *res)
{
    /* Only an indexed path is looked up (exact, or as results show it);
     * nothing touches the disk. */
    long idx = *path ? file_list_find_shown(ctx->files, path) : -1;
    if (idx < 0) {
        error(res, 404, "not_found", "no such file in the index");
        return;
    }
    /* Reserved before the shard is even asked: the lines, then their text,
     * take about the file's size each. */
    size_t guess = (size_t)ctx->files->v[idx].size + 64;
    if (!answer_reserve(ctx->answers, guess)) {
        over_budget(res, ctx->answers);
        return;
    }
    struct api_error e;
    struct query *q = registry_submit_file(ctx->reg, (uint32_t)idx, ctx->files->v[idx].shard, &e);
    if (!q) {
        api_answer_release(ctx->answers, guess);
        respond_error(res, &e);
        return;
    }
    registry_wait(ctx->reg, q, FILE_WAIT_MS);
    struct result_ref *lines;
    size_t n;
    uint8_t status;
    bool done = registry_file_lines(ctx->reg, q, &lines, &n, &status);
    if (!done || status == MSG_ST_FAILED || status == MSG_ST_NOT_FOUND) {
        api_answer_release(ctx->answers, guess);
        if (status == MSG_ST_NOT_FOUND && done)
            error(res, 404, "not_found", "no such file in the index");
        else
            error(res, 503, "shard_down", "the shard holding this file did not answer");
    } else {
        size_t len;
        char *body = render_file(ctx->files->v[idx].path, lines, n, &len);
        respond_counted(res, ctx->answers, guess, 200, body, len);
    }
    registry_put(ctx->reg, q);
}

static uint64_t rss_of(pid_t pid)
{
    char path[64];
    unsigned long size = 0, resident = 0;
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void handle_stats(const struct api_context *ctx, struct api_response *res)
{
    unsigned n = registry_nshards(ctx->reg);
    struct shard_state *sh = xcalloc(n, sizeof *sh);
    registry_shards(ctx->reg, sh);
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(doc, "shards");
    uint64_t files = 0, lines = 0, bytes = 0, binary = 0, unreadable = 0, too_large = 0;
    uint64_t workers_rss = 0;
    for (unsigned i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "shard", i);
        cJSON_AddNumberToObject(o, "pid", sh[i].pid);
        cJSON_AddBoolToObject(o, "up", sh[i].up);
        cJSON_AddNumberToObject(o, "files", sh[i].hello.files);
        cJSON_AddNumberToObject(o, "lines", (double)sh[i].hello.lines);
        cJSON_AddNumberToObject(o, "bytes", (double)sh[i].hello.bytes);
        cJSON_AddNumberToObject(o, "load_ms", (double)sh[i].hello.load_us / 1000.0);
        uint64_t rss = sh[i].up ? rss_of(sh[i].pid) : 0;
        cJSON_AddNumberToObject(o, "rss_bytes", (double)rss);
        cJSON_AddItemToArray(arr, o);
        files += sh[i].hello.files;
        lines += sh[i].hello.lines;
        bytes += sh[i].hello.bytes;
        binary += sh[i].hello.binary;
        unreadable += sh[i].hello.unreadable;
        too_large += sh[i].hello.too_large;
        workers_rss += rss;
    }
    free(sh);
    cJSON_AddNumberToObject(doc, "files", (double)files);
    cJSON_AddNumberToObject(doc, "lines", (double)lines);
    cJSON_AddNumberToObject(doc, "bytes", (double)bytes);
    cJSON *sk = cJSON_AddObjectToObject(doc, "skipped");
    cJSON_AddNumberToObject(sk, "binary", (double)binary);
    cJSON_AddNumberToObject(sk, "too_large", (double)(too_large + ctx->files->too_large));
    cJSON_AddNumberToObject(sk, "ignored", (double)ctx->files->ignored);
    cJSON_AddNumberToObject(sk, "unreadable", (double)unreadable);
    cJSON_AddNumberToObject(sk, "not_regular", (double)ctx->files->special);
    uint64_t master_rss = rss_of(getpid());
    cJSON *mem = cJSON_AddObjectToObject(doc, "memory");
    cJSON_AddNumberToObject(mem, "rss_bytes", (double)(master_rss + workers_rss));
    cJSON_AddNumberToObject(mem, "master_rss_bytes", (double)master_rss);
    cJSON_AddNumberToObject(mem, "workers_rss_bytes", (double)workers_rss);
    if (ctx->answers)
        cJSON_AddNumberToObject(mem, "answer_bytes", (double)atomic_load(&ctx->answers->held));
    cJSON_AddNumberToObject(doc, "uptime_s", (now_ms() - ctx->started_ms) / 1000.0);
    struct registry_stats rs;
    registry_stats(ctx->reg, &rs);
    cJSON *qs = cJSON_AddObjectToObject(doc, "queries");
    cJSON_AddNumberToObject(qs, "total", (double)rs.total);
    cJSON_AddNumberToObject(qs, "running", (double)rs.running);
    cJSON_AddNumberToObject(qs, "queued", (double)rs.queued);
    cJSON_AddNumberToObject(qs, "kept", (double)rs.kept);
    cJSON_AddNumberToObject(qs, "kept_bytes", (double)rs.kept_bytes);
    cJSON_AddNumberToObject(qs, "expired", (double)rs.expired);
    respond_json(res, 200, doc);
}

static void handle_health(const struct api_context *ctx, struct api_response *res)
{
    unsigned n = registry_nshards(ctx->reg), up = 0;
    struct shard_state *sh = xcalloc(n, sizeof *sh);
    registry_shards(ctx->reg, sh);
    cJSON *doc = cJSON_CreateObject();
    cJSON *down = cJSON_CreateArray();
    for (unsigned i = 0; i < n; i++) {
        if (sh[i].up)
            up++;
        else
            cJSON_AddItemToArray(down, cJSON_CreateNumber(i));
    }
    free(sh);
    cJSON_AddStringToObject(doc, "status", up == n ? "ok" : "degraded");
    cJSON_AddNumberToObject(doc, "shards_up", up);
    cJSON_AddNumberToObject(doc, "shards_total", n);
    cJSON_AddItemToObject(doc, "down", down);
    respond_json(res, up == n ? 200 : 503, doc);
}

static void handle_static(const struct api_context *ctx, const struct api_request *req,
                          struct api_response *res)
{
    const struct web_file *f = webroot_find(ctx->web, req->path);
    if (!f) {
        char msg[256];
        snprintf(msg, sizeof msg, "no route for %.200s", req->path);
        error(res, 404, "not_found", msg);
        return;
    }
    res->status = 200;
    res->content_type = f->content_type;
    res->body = f->data;
    res->len = f->len;
    res->body_static = true;
}

/* Compare without leaking, through timing, how much of the token matched. */
static bool same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

static bool authorized(const struct api_context *ctx, const struct api_request *req)
{
    if (!ctx->token)
        return true;
    const char *h = req->authorization;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    while (*h == ' ')
        h++;
    return same_secret(h, ctx->token);
}

static bool is(const struct api_request *req, const char *method)
{
    return !strcmp(req->method, method) || (!strcmp(method, "GET") && !strcmp(req->method, "HEAD"));
}

void api_handle(const struct api_context *ctx, const struct api_request *req,
                struct api_response *res)
{
    memset(res, 0, sizeof *res);
    res->close = registry_closing(ctx->reg);
    const char *p = req->path;
    if ((!strncmp(p, "/api/", 5) || !strcmp(p, "/api")) && !authorized(ctx, req)) {
        error(res, 401, "unauthorized", "this server wants \"Authorization: Bearer <token>\"");
        res->auth_challenge = true;
        return;
    }
    if (!strcmp(p, "/api/search")) {
        if (is(req, "GET"))
            handle_search(ctx, req, res);
        else
            method_not_allowed(res, "GET");
    } else if (!strcmp(p, "/api/queries")) {
        if (is(req, "POST"))
            handle_submit(ctx, req, res);
        else
            method_not_allowed(res, "POST");
    } else if (!strncmp(p, "/api/queries/", 13)) {
        handle_query(ctx, req, p + 13, res);
    } else if (!strncmp(p, "/api/files/", 11)) {
        if (is(req, "GET"))
            handle_file(ctx, p + 11, res);
        else
            method_not_allowed(res, "GET");
    } else if (!strcmp(p, "/api/stats")) {
        if (is(req, "GET"))
            handle_stats(ctx, res);
        else
            method_not_allowed(res, "GET");
    } else if (!strcmp(p, "/healthz")) {
        if (is(req, "GET"))
            handle_health(ctx, res);
        else
            method_not_allowed(res, "GET");
    } else if (!strncmp(p, "/api/", 5) || !strcmp(p, "/api")) {
        char msg[256];
        snprintf(msg, sizeof msg, "no route for %.200s", p);
        error(res, 404, "not_found", msg);
    } else if (webroot_find(ctx->web, p) && !is(req, "GET")) {
        method_not_allowed(res, "GET, HEAD");
    } else {
        handle_static(ctx, req, res);
    }
}

void api_response_free(struct api_response *res)
{
    if (!res->body_static && res->body) {
        free(res->body);
        api_answer_release(res->budget, res->counted);
    }
    res->body = NULL;
    res->counted = 0;
}
