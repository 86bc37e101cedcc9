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

#include "glob.h"
#include "matcher.h"
#include "metrics.h"
#include "render.h"
#include "util.h"

#define JSON_TYPE "application/json; charset=utf-8"

/* A JSON answer whose text the response takes over. */
static void respond_text(struct api_response *res, int status, char *body, size_t len)
{
    res->status = status;
    res->content_type = JSON_TYPE;
    res->body = body;
    res->len = len;
    res->body_static = false;
}

bool api_answer_reserve(struct answer_budget *b, size_t n)
{
    if (!b)
        return true;
    size_t before = atomic_fetch_add(&b->held, n);
    if (n > API_ANSWER_SMALL && before > API_ANSWER_SMALL && before + n > b->max) {
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
    size_t len;
    char *body = render_error_text(e, &len);
    respond_text(res, e->status, body, len);
    res->retry_after = e->retry_after;
}

static void error(struct api_response *res, int status, const char *code, const char *message)
{
    struct api_error e;
    api_error_set(&e, status, code, NULL, "%s", message);
    respond_error(res, &e);
}

static void out_of_memory(struct api_response *res, const char *id)
{
    struct api_error e;
    api_error_set(&e, 503, "out_of_memory", NULL,
                  "the server ran out of memory building this answer: try a smaller page");
    e.retry_after = 1;
    if (id)
        snprintf(e.id, sizeof e.id, "%s", id);
    respond_error(res, &e);
}

/* A small document built by render.c; 503 if memory ran out building it. */
static void respond_doc(struct api_response *res, int status, char *body, size_t len)
{
    if (!body) {
        out_of_memory(res, NULL);
        return;
    }
    respond_text(res, status, body, len);
}

/* A large answer over the budget; id names a query that ran and is kept,
 * so the client can page it later instead of running it again. */
static void over_budget(const struct api_context *ctx, struct api_response *res, const char *id)
{
    const struct answer_budget *b = ctx->answers;
    struct api_error e;
    metrics_refused(ctx->metrics, MR_OVERLOADED);
    api_error_set(&e, 503, "overloaded", NULL,
                  "large answers being sent hold %.1f MiB (--answer-memory %zu MiB): try again "
                  "shortly%s%s",
                  (double)atomic_load(&b->held) / (1 << 20), b->max >> 20,
                  id ? "; the query is kept as /api/queries/" : "", id ? id : "");
    e.retry_after = 1;
    if (id)
        snprintf(e.id, sizeof e.id, "%s", id);
    respond_error(res, &e);
}

static void method_not_allowed(struct api_response *res, const char *allow)
{
    char msg[128];
    snprintf(msg, sizeof msg, "method not allowed; allowed: %s", allow);
    error(res, 405, "method_not_allowed", msg);
    res->allow = allow;
}

/* A submission the registry refused, as the API answers it. */
static void refused(const struct api_context *ctx, enum registry_refusal why,
                    struct api_response *res)
{
    struct api_error e;
    struct registry_stats rs;
    switch (why) {
    case REG_OVERLOADED:
        metrics_refused(ctx->metrics, MR_OVERLOADED);
        registry_stats(ctx->reg, &rs);
        api_error_set(&e, 503, "overloaded", NULL,
                      "%llu queries are running and %llu waiting: try again shortly",
                      (unsigned long long)rs.running, (unsigned long long)rs.queued);
        e.retry_after = 1;
        break;
    case REG_SHARD_DOWN:
        api_error_set(&e, 503, "shard_down", NULL, "the shard holding this file is not available");
        break;
    case REG_SHUTTING_DOWN:
    case REG_OK:
    default:
        api_error_set(&e, 503, "shutting_down", NULL, "the server is shutting down");
        break;
    }
    respond_error(res, &e);
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

/* The query-string parameters a route takes (takes(name) is true): any
 * other, or one given twice, is refused, as POST refuses an unknown field
 * (a typo such as paths= must not quietly search everything). */
static int check_args(const struct api_request *req, bool (*takes)(const char *name),
                      struct api_error *e)
{
    for (size_t i = 0; req->arg_names && i < req->narg_names; i++) {
        const char *name = req->arg_names[i];
        if (!takes(name)) {
            api_error_set(e, 400, "bad_parameter", name, "unknown parameter \"%.64s\"", name);
            return SG_ERR;
        }
        /* Each name is known, so a repeat shows within the first few. */
        for (size_t j = 0; j < i; j++) {
            if (!strcmp(req->arg_names[j], name)) {
                api_error_set(e, 400, "bad_parameter", name, "%s is given more than once", name);
                return SG_ERR;
            }
        }
    }
    return SG_OK;
}

static bool paging_arg(const char *name)
{
    return !strcmp(name, "offset") || !strcmp(name, "limit") || !strcmp(name, "wait_ms");
}

static bool search_arg(const char *name)
{
    return query_field_known(name) || paging_arg(name) || !strcmp(name, "stream");
}

static bool no_arg(const char *name)
{
    (void)name;
    return false;
}

/* check_args(), answered: false when refused. */
static bool args_ok(const struct api_request *req, bool (*takes)(const char *name),
                    struct api_response *res)
{
    struct api_error e;
    if (check_args(req, takes, &e) == SG_OK)
        return true;
    respond_error(res, &e);
    return false;
}

/* The pattern must compile before a query is registered. */
static int check_pattern(const struct query_spec *spec, struct api_error *e)
{
    char err[SG_ERRLEN];
    long off;
    if (matcher_check(spec->q, strlen(spec->q), spec->literal, query_caseless(spec), err,
                      sizeof err, &off) < 0) {
        api_error_set(e, 400, "bad_regex", "q", "%s", err);
        e->offset = off;
        return SG_ERR;
    }
    return SG_OK;
}

/* Each item of tree= must select one tree at least: a name typed wrong
 * is said, not quietly searched without. */
static int check_trees(const struct api_context *ctx, const struct query_spec *spec,
                       struct api_error *e)
{
    if (!spec->trees || !*spec->trees)
        return SG_OK;
    char why[SG_ERRLEN];
    struct glob_list *gl = glob_list_parse(spec->trees, why, sizeof why);
    if (!gl) {
        api_error_set(e, 400, "bad_parameter", "tree", "tree: %s", why);
        return SG_ERR;
    }
    unsigned n = ftable_ntrees(ctx->files);
    const char **names = xcalloc(n ? n : 1, sizeof *names);
    char list[512] = "";
    for (unsigned t = 0; t < n; t++) {
        names[t] = ftable_tree_name(ctx->files, t);
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, "%s%s", t ? ", " : "", names[t]);
    }
    const char *unused = glob_list_unused(gl, names, n);
    if (unused)
        api_error_set(e, 400, "bad_parameter", "tree", "tree: no tree is named %.100s (trees: %s)",
                      unused, list);
    free(names);
    glob_list_free(gl);
    return unused ? SG_ERR : SG_OK;
}

/* Check the pattern and register the query, then free spec; NULL when
 * refused, with the answer in res.  cursor non-NULL: a stream's, attached
 * before the query is sent. */
static struct query *submit(const struct api_context *ctx, struct query_spec *spec,
                            struct results_cursor **cursor, struct api_response *res)
{
    struct api_error e;
    enum registry_refusal why = REG_OK;
    struct query *q = NULL;
    if (check_pattern(spec, &e) < 0 || check_trees(ctx, spec, &e) < 0)
        respond_error(res, &e);
    else if (!(q = cursor ? registry_submit_stream(ctx->reg, spec, cursor, &why)
                          : registry_submit(ctx->reg, spec, &why)))
        refused(ctx, why, res);
    query_spec_free(spec);
    return q;
}

#define GONE_CHECK_MS 100

/* Wait for q up to timeout_ms (API_WAIT_FOREVER: until it finishes, which
 * the registry's deadline guarantees), looking every GONE_CHECK_MS whether
 * the client is still there.  Returns false if it left. */
#define API_WAIT_FOREVER UINT32_MAX
static bool wait_for_client(const struct api_context *ctx, const struct api_request *req,
                            struct query *q, uint32_t timeout_ms)
{
    double until = timeout_ms == API_WAIT_FOREVER ? -1 : now_ms() + timeout_ms;
    for (;;) {
        double left = until < 0 ? GONE_CHECK_MS : until - now_ms();
        if (left <= 0)
            return true;
        unsigned slice = left < GONE_CHECK_MS ? (unsigned)left + 1 : GONE_CHECK_MS;
        if (!req->client_gone)
            slice = (unsigned)left + 1;
        if (registry_wait(ctx->reg, q, slice))
            return true;
        if (req->client_gone && req->client_gone(req->gone_ctx))
            return false;
    }
}

/* The client went away while its query ran: the answer nobody reads, and
 * the handler's reference dropped. */
static void client_left(const struct api_context *ctx, struct query *q, struct api_response *res)
{
    error(res, 499, "client_closed", "the client went away");
    res->close = true;
    registry_put(ctx->reg, q);
}

static void respond_query(const struct api_context *ctx, struct query *q, const struct paging *p,
                          bool kept_id, struct api_response *res)
{
    struct query_view v;
    registry_view(ctx->reg, q, &v);
    if (v.status == QS_CANCELLED && registry_closing(ctx->reg)) {
        /* Ended by the shutdown, not by a client: say so. */
        query_view_free(&v);
        error(res, 503, "shutting_down", "the server is shutting down");
        return;
    }
    size_t guess = render_query_estimate(&v, ctx->files, ctx->links, p->offset, p->limit);
    if (!api_answer_reserve(ctx->answers, guess)) {
        over_budget(ctx, res, kept_id ? v.id : NULL);
        query_view_free(&v);
        return;
    }
    size_t len;
    char *body = render_query(&v, ctx->files, ctx->links, p->offset, p->limit, &len);
    if (!body) {
        api_answer_release(ctx->answers, guess);
        out_of_memory(res, kept_id ? v.id : NULL);
    } else {
        respond_counted(res, ctx->answers, guess, 200, body, len);
    }
    query_view_free(&v);
}

/* GET /api/search?stream=1: the records as they come (stream.h), as
 * Server-Sent Events when the client accepts those. */
static void handle_stream(const struct api_context *ctx, const struct api_request *req,
                          struct api_response *res)
{
    struct query_spec spec;
    struct api_error e;
    static const char *const paging[] = {"offset", "limit", "wait_ms"};
    for (size_t i = 0; i < 3; i++)
        if (req->arg(req->arg_ctx, paging[i])) {
            api_error_set(&e, 400, "bad_parameter", paging[i],
                          "%s does not apply to a stream (page the query by its id after)",
                          paging[i]);
            respond_error(res, &e);
            return;
        }
    if (query_spec_from_args(&spec, req->arg, req->arg_ctx, ctx->timeout_ms, &e) < 0) {
        respond_error(res, &e);
        return;
    }
    struct results_cursor *cursor = NULL;
    struct query *q = submit(ctx, &spec, &cursor, res);
    if (!q)
        return;
    enum stream_format f =
        req->accept && strstr(req->accept, "text/event-stream") ? STREAM_SSE : STREAM_NDJSON;
    res->status = 200;
    res->content_type = stream_content_type(f);
    res->stream = stream_new(ctx->reg, ctx->files, ctx->links, q, cursor, f);
}

static void handle_search(const struct api_context *ctx, const struct api_request *req,
                          struct api_response *res)
{
    struct query_spec spec;
    struct api_error e;
    struct paging p;
    bool stream = false;
    if (query_parse_bool(req->arg(req->arg_ctx, "stream"), "stream", &stream, &e) < 0) {
        respond_error(res, &e);
        return;
    }
    if (stream) {
        handle_stream(ctx, req, res);
        return;
    }
    if (parse_paging(req, &p, &e) < 0 ||
        query_spec_from_args(&spec, req->arg, req->arg_ctx, ctx->timeout_ms, &e) < 0) {
        respond_error(res, &e);
        return;
    }
    struct query *q = submit(ctx, &spec, NULL, res);
    if (!q)
        return;
    /* The registry ends every query by its deadline (registry.h). */
    if (!wait_for_client(ctx, req, q, API_WAIT_FOREVER)) {
        registry_cancel(ctx->reg, q); /* nobody will read it: stop the workers */
        client_left(ctx, q, res);
        return;
    }
    respond_query(ctx, q, &p, true, res);
    registry_put(ctx->reg, q);
}

static void handle_submit(const struct api_context *ctx, const struct api_request *req,
                          struct api_response *res)
{
    struct query_spec spec;
    struct api_error e;
    if (req->body_too_large) {
        metrics_refused(ctx->metrics, MR_BODY_TOO_LARGE);
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
    struct query *q = submit(ctx, &spec, NULL, res);
    if (!q)
        return;
    struct query_view v;
    registry_view(ctx->reg, q, &v);
    size_t len;
    char *body = render_submitted(&v, &len);
    respond_doc(res, 202, body, len);
    query_view_free(&v);
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
    respond_query(ctx, q, &p, false, res);
    registry_put(ctx->reg, q);
}

/* The file's lines are in: check the budget on their real size, then
 * render.  `held` bytes were reserved before asking the shard. */
static void respond_file(const struct api_context *ctx, uint32_t tree_id, const char *tree,
                         const char *path, const struct result_ref *lines, size_t n, size_t held,
                         struct api_response *res)
{
    size_t need = render_file_estimate(ctx->links, tree_id, path, lines, n);
    if (need > held) {
        /* Admitted again on the whole of it, as if it came now: one answer
         * larger than the budget still goes when little else is held
         * (topped up, it would be refused for what it holds itself). */
        api_answer_release(ctx->answers, held);
        if (!api_answer_reserve(ctx->answers, need)) {
            over_budget(ctx, res, NULL);
            return;
        }
        held = need;
    }
    size_t len;
    char *body = render_file(ctx->links, tree_id, tree, path, lines, n, &len);
    if (!body) {
        api_answer_release(ctx->answers, held);
        out_of_memory(res, NULL);
        return;
    }
    respond_counted(res, ctx->answers, held, 200, body, len);
}

static void handle_file(const struct api_context *ctx, const struct api_request *req,
                        const char *path, struct api_response *res)
{
    /* Only an indexed path is looked up (exact, or as results show it);
     * nothing touches the disk.  With several trees the path starts with
     * the tree's name. */
    long tree = 0;
    if (ftable_ntrees(ctx->files) > 1) {
        const char *slash = strchr(path, '/');
        tree = slash ? ftable_tree_find(ctx->files, path, (size_t)(slash - path)) : -1;
        path = slash ? slash + 1 : "";
    }
    long id = *path && tree >= 0 ? ftable_find_shown(ctx->files, (uint32_t)tree, path) : -1;
    struct fentry f;
    if (id < 0 || !ftable_get(ctx->files, (uint32_t)id, &f)) {
        error(res, 404, "not_found", "no such file in the index");
        return;
    }
    /* Reserved before the shard is even asked: the lines, then their
     * text, take about the file's size each (checked again on the real
     * lines before rendering). */
    size_t guess = (size_t)f.stamp.size + 64;
    if (!api_answer_reserve(ctx->answers, guess)) {
        over_budget(ctx, res, NULL);
        return;
    }
    enum registry_refusal why;
    struct query *q = registry_submit_file(ctx->reg, (uint32_t)id, f.shard, &why);
    if (!q) {
        api_answer_release(ctx->answers, guess);
        refused(ctx, why, res);
        return;
    }
    if (!wait_for_client(ctx, req, q, API_WAIT_FOREVER)) {
        api_answer_release(ctx->answers, guess);
        client_left(ctx, q, res);
        return;
    }
    const struct result_ref *lines;
    size_t n;
    uint8_t status;
    registry_file_lines(ctx->reg, q, &lines, &n, &status);
    if (status == MSG_ST_NOT_FOUND) {
        api_answer_release(ctx->answers, guess);
        error(res, 404, "not_found", "no such file in the index");
    } else if (status != MSG_ST_DONE) {
        api_answer_release(ctx->answers, guess);
        error(res, 503, "shard_down", "the shard holding this file did not answer");
    } else {
        respond_file(ctx, f.tree,
                     ftable_ntrees(ctx->files) > 1 ? ftable_tree_name(ctx->files, f.tree) : NULL,
                     f.path, lines, n, guess, res);
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

/* How busy a watcher's state is: the busiest of several trees is shown. */
static int state_rank(const char *state)
{
    static const char *const rank[] = {"off", "watching", "polling", "rescanning"};
    for (int i = 3; i > 0; i--)
        if (!strcmp(rank[i], state))
            return i;
    return 0;
}

/* The watchers' stats, as one: counts added up, the busiest state, the
 * latest change. */
static void live_stats(const struct api_context *ctx, struct watch_stats *out)
{
    memset(out, 0, sizeof *out);
    out->state = "off";
    for (unsigned t = 0; t < ctx->ntrees; t++) {
        struct watch_stats one;
        watch_stats(ctx->watch[t], &one);
        out->watches += one.watches;
        out->pending += one.pending;
        out->applied += one.applied;
        out->rescans += one.rescans;
        out->overflows += one.overflows;
        if (one.lag_ms > out->lag_ms)
            out->lag_ms = one.lag_ms;
        if (state_rank(one.state) > state_rank(out->state))
            out->state = one.state;
        if (one.last_at > out->last_at) {
            out->last_at = one.last_at;
            out->last_lag_ms = one.last_lag_ms;
            snprintf(out->last_path, sizeof out->last_path, "%s", one.last_path);
        }
    }
}

/* What GET /api/stats and GET /metrics show; stats_release() it. */
static void stats_gather(const struct api_context *ctx, struct stats_doc *doc)
{
    unsigned n = registry_nshards(ctx->reg);
    struct shard_state *sh = xcalloc(n ? n : 1, sizeof *sh);
    uint64_t *rss = xcalloc(n ? n : 1, sizeof *rss);
    registry_shards(ctx->reg, sh);
    for (unsigned i = 0; i < n; i++)
        rss[i] = sh[i].up ? rss_of(sh[i].pid) : 0;
    *doc = (struct stats_doc){.shards = sh,
                              .shard_rss = rss,
                              .nshards = n,
                              .walked = ctx->walked,
                              .files = ctx->files,
                              .tree_roots = ctx->tree_roots,
                              .master_rss = rss_of(getpid()),
                              .answers_counted = ctx->answers != NULL,
                              .answer_bytes = ctx->answers ? atomic_load(&ctx->answers->held) : 0,
                              .uptime_s = (now_ms() - ctx->started_ms) / 1000.0};
    registry_stats(ctx->reg, &doc->queries);
    live_stats(ctx, &doc->live);
}

static void stats_release(struct stats_doc *doc)
{
    free((void *)doc->shards);
    free((void *)doc->shard_rss);
}

static void handle_stats(const struct api_context *ctx, struct api_response *res)
{
    struct stats_doc doc;
    stats_gather(ctx, &doc);
    size_t len;
    char *body = render_stats(&doc, &len);
    respond_doc(res, 200, body, len);
    stats_release(&doc);
}

/* GET /metrics: the counters, and the gauges /api/stats shows, for
 * Prometheus (metrics.h). */
static void handle_metrics(const struct api_context *ctx, struct api_response *res)
{
    struct stats_doc doc;
    stats_gather(ctx, &doc);
    size_t len;
    char *body = metrics_render(ctx->metrics, &doc, &len);
    stats_release(&doc);
    if (!body) {
        out_of_memory(res, NULL);
        return;
    }
    respond_text(res, 200, body, len);
    res->content_type = METRICS_CONTENT_TYPE;
}

static void handle_health(const struct api_context *ctx, struct api_response *res)
{
    unsigned n = registry_nshards(ctx->reg);
    struct shard_state *sh = xcalloc(n, sizeof *sh);
    registry_shards(ctx->reg, sh);
    bool healthy;
    size_t len;
    char *body = render_health(sh, n, &healthy, &len);
    respond_doc(res, healthy ? 200 : 503, body, len);
    free(sh);
}

/* GET /api/langs: the languages lang= knows, and the file names of each. */
static void handle_langs(struct api_response *res)
{
    size_t len;
    char *body = render_langs(&len);
    respond_doc(res, 200, body, len);
}

/* POST /api/reindex: walk the whole tree again; the index answers
 * meanwhile, and each change is applied as it is found. */
static void handle_reindex(const struct api_context *ctx, struct api_response *res)
{
    if (!ctx->ntrees) {
        error(res, 503, "no_watcher", "this server does not follow its trees");
        return;
    }
    for (unsigned t = 0; t < ctx->ntrees; t++)
        watch_rescan(ctx->watch[t]);
    size_t len;
    char *body = render_reindex(&len);
    respond_doc(res, 202, body, len);
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
    bool guarded = !strncmp(p, "/api/", 5) || !strcmp(p, "/api") || !strcmp(p, "/metrics");
    if (guarded && !authorized(ctx, req)) {
        error(res, 401, "unauthorized", "this server wants \"Authorization: Bearer <token>\"");
        res->auth_challenge = true;
        return;
    }
    if (!strcmp(p, "/api/search")) {
        if (!is(req, "GET"))
            method_not_allowed(res, "GET");
        else if (args_ok(req, search_arg, res))
            handle_search(ctx, req, res);
    } else if (!strcmp(p, "/api/queries")) {
        if (!is(req, "POST"))
            method_not_allowed(res, "POST");
        else if (args_ok(req, no_arg, res))
            handle_submit(ctx, req, res);
    } else if (!strncmp(p, "/api/queries/", 13)) {
        if (args_ok(req, paging_arg, res))
            handle_query(ctx, req, p + 13, res);
    } else if (!strncmp(p, "/api/files/", 11)) {
        if (!is(req, "GET"))
            method_not_allowed(res, "GET");
        else if (args_ok(req, no_arg, res))
            handle_file(ctx, req, p + 11, res);
    } else if (!strcmp(p, "/api/reindex")) {
        if (!is(req, "POST"))
            method_not_allowed(res, "POST");
        else if (args_ok(req, no_arg, res))
            handle_reindex(ctx, res);
    } else if (!strcmp(p, "/api/stats")) {
        if (!is(req, "GET"))
            method_not_allowed(res, "GET");
        else if (args_ok(req, no_arg, res))
            handle_stats(ctx, res);
    } else if (!strcmp(p, "/api/langs")) {
        if (!is(req, "GET"))
            method_not_allowed(res, "GET");
        else if (args_ok(req, no_arg, res))
            handle_langs(res);
    } else if (!strcmp(p, "/metrics")) {
        if (!is(req, "GET"))
            method_not_allowed(res, "GET");
        else if (args_ok(req, no_arg, res))
            handle_metrics(ctx, res);
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
    stream_free(res->stream); /* not handed to the HTTP layer */
    res->stream = NULL;
    if (!res->body_static && res->body) {
        free(res->body);
        api_answer_release(res->budget, res->counted);
    }
    res->body = NULL;
    res->counted = 0;
}
