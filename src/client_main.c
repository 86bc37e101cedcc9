/*
 * client_main.c - shardgrep-query: ripgrep's command line, answered by a
 * shardgrep server.
 *
 * The conversation (doc/api.md): POST /api/queries starts the query (max
 * up to 100000 results); GET /api/queries/{id}?wait_ms=... until its status
 * is final; then GET ...?offset=&limit= page after page, each printed as
 * it arrives, so memory holds one page.  The asynchronous route is used
 * rather than GET /api/search so that a long answer is paged, not sent
 * in one piece, and so that Ctrl-C can cancel the query (DELETE) instead
 * of leaving it to run on the server.
 *
 * Exit status, like grep and rg: 0 when a line (or file) matched, 1 when
 * none did, 2 on an error (bad pattern, no server, a partial answer: what
 * arrived is printed, and stderr says what is missing).  An answer cut at
 * --max is not an error: it is printed and stderr says how much was left.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client_buf.h"
#include "client_http.h"
#include "client_options.h"
#include "client_print.h"

#define EXIT_MATCH    0
#define EXIT_NO_MATCH 1
#define EXIT_TROUBLE  2

#define WAIT_MS     30000 /* per poll; the server takes up to 60000 */
#define PAGE_LINES  2000
#define PAGE_FILES  20000
#define MAX_RETRIES 5 /* on 503 overloaded */
#define ERRLEN      512

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Everything one run needs to talk to the server. */
struct session {
    struct client_url url;
    const char *token;
    char id[64];
};

static void complain(const char *msg)
{
    fprintf(stderr, "shardgrep-query: %s\n", msg);
}

/* Tells the server's error object to the user ("bad_regex: ..."). */
static void complain_answer(const struct client_response *r)
{
    cJSON *doc = cJSON_Parse(r->body);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
    if (cJSON_IsString(msg))
        fprintf(stderr, "shardgrep-query: %s%s%s\n", cJSON_IsString(code) ? code->valuestring : "",
                cJSON_IsString(code) ? ": " : "", msg->valuestring);
    else
        fprintf(stderr, "shardgrep-query: the server answered %d\n", r->status);
    if (r->status == 401)
        complain("give the server's token with --token or SHARDGREP_TOKEN");
    cJSON_Delete(doc);
}

/* One request, retried while the server says it is overloaded (503 with
 * Retry-After).  The parsed JSON answer if its status is want, else NULL
 * with the reason printed. */
static cJSON *call(struct session *s, const char *method, const char *target, const char *body,
                   int want)
{
    char err[ERRLEN];
    for (int attempt = 0;; attempt++) {
        struct client_response r;
        if (client_http_request(&s->url, method, target, s->token, body, &r, err, sizeof err)) {
            if (!interrupted)
                complain(err);
            return NULL;
        }
        if (r.status == 503 && r.retry_after > 0 && attempt < MAX_RETRIES && !interrupted) {
            sleep((unsigned)(r.retry_after > 5 ? 5 : r.retry_after));
            client_response_free(&r);
            continue;
        }
        cJSON *doc = r.status == want ? cJSON_Parse(r.body) : NULL;
        if (r.status != want)
            complain_answer(&r);
        else if (!doc)
            complain("the server's answer is not JSON");
        client_response_free(&r);
        return doc;
    }
}

static const char *status_of(const cJSON *doc)
{
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "status");
    return cJSON_IsString(st) ? st->valuestring : "";
}

static double stat_of(const cJSON *doc, const char *name)
{
    const cJSON *stats = cJSON_GetObjectItemCaseSensitive(doc, "stats");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(stats, name);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Submits the query; 0 with its id in s->id. */
static int submit(struct session *s, const struct client_options *o)
{
    char *body = client_options_query_json(o);
    cJSON *doc = call(s, "POST", "/api/queries", body, 202);
    free(body);
    if (!doc)
        return -1;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");
    int rc = -1;
    if (cJSON_IsString(id) && strlen(id->valuestring) < sizeof s->id &&
        strspn(id->valuestring, "0123456789abcdef") == strlen(id->valuestring)) {
        strcpy(s->id, id->valuestring);
        rc = 0;
    } else {
        complain("the server's answer to the query has no id");
    }
    cJSON_Delete(doc);
    return rc;
}

/* Polls until the query's status is final; its document without results. */
static cJSON *await(struct session *s)
{
    char target[160];
    snprintf(target, sizeof target, "/api/queries/%s?wait_ms=%d&limit=0", s->id, WAIT_MS);
    for (;;) {
        cJSON *doc = call(s, "GET", target, NULL, 200);
        if (!doc || interrupted)
            return doc;
        const char *st = status_of(doc);
        if (strcmp(st, "running") != 0 && strcmp(st, "queued") != 0)
            return doc;
        cJSON_Delete(doc);
    }
}

/* Prints results [0, total) page by page; -1 if a page did not come. */
static int print_pages(struct session *s, const struct client_options *o, struct client_printer *pr,
                       long total)
{
    long page = o->output == OUT_LINES ? PAGE_LINES : PAGE_FILES;
    /* A reader that went away (| head) ends the paging, quietly, as rg. */
    for (long off = 0; off < total && !interrupted && !ferror(stdout);) {
        char target[160];
        snprintf(target, sizeof target, "/api/queries/%s?offset=%ld&limit=%ld", s->id, off, page);
        cJSON *doc = call(s, "GET", target, NULL, 200);
        if (!doc)
            return -1;
        const cJSON *r, *results = cJSON_GetObjectItemCaseSensitive(doc, "results");
        long got = 0;
        cJSON_ArrayForEach(r, results)
        {
            client_printer_result(pr, r);
            got++;
        }
        cJSON_Delete(doc);
        if (got == 0) {
            complain("the server's answer ended before the results it counted");
            return -1;
        }
        off += got;
    }
    return 0;
}

/* What stderr says about an answer that is not whole; EXIT_TROUBLE if
 * matches may be missing, else EXIT_MATCH. */
static int report_gaps(const cJSON *doc, const struct client_options *o)
{
    const char *st = status_of(doc);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
    const cJSON *cut = cJSON_GetObjectItemCaseSensitive(doc, "stats");
    cut = cJSON_GetObjectItemCaseSensitive(cut, "truncated");
    if (cJSON_IsTrue(cut)) {
        bool files = o->output != OUT_LINES;
        char why[96];
        if (o->max < CLIENT_MAX_RESULTS)
            snprintf(why, sizeof why, "--max %ld", o->max);
        else
            snprintf(why, sizeof why, "the server keeps at most %d per query", CLIENT_MAX_RESULTS);
        fprintf(stderr,
                "shardgrep-query: the answer is truncated: %.0f of %.0f matching %s shown (%s); "
                "narrow the search with -g\n",
                stat_of(doc, "returned"), stat_of(doc, files ? "matched_files" : "matched_lines"),
                files ? "files" : "lines", why);
    }
    if (strcmp(st, "done") == 0)
        return EXIT_MATCH;
    fprintf(stderr, "shardgrep-query: the answer is %s%s%s%s: matches may be missing\n", st,
            cJSON_IsString(msg) ? " (" : "", cJSON_IsString(msg) ? msg->valuestring : "",
            cJSON_IsString(msg) ? ")" : "");
    return EXIT_TROUBLE;
}

static void cancel(struct session *s)
{
    char target[160], err[ERRLEN];
    struct client_response r;
    snprintf(target, sizeof target, "/api/queries/%s", s->id);
    if (client_http_request(&s->url, "DELETE", target, s->token, NULL, &r, err, sizeof err) == 0)
        client_response_free(&r);
}

static bool want_color(enum client_color c)
{
    if (c != COLOR_AUTO)
        return c == COLOR_ALWAYS;
    const char *term = getenv("TERM"), *no = getenv("NO_COLOR");
    return isatty(STDOUT_FILENO) && !(term && strcmp(term, "dumb") == 0) && !(no && *no);
}

static struct client_printer *printer_for(const struct client_options *o)
{
    struct client_print_style st = {
        .output = o->output,
        .json = o->json,
        .color = want_color(o->color),
        .heading = o->heading < 0 ? isatty(STDOUT_FILENO) : o->heading,
        .line_numbers = o->line_numbers,
        .context = o->context,
    };
    return client_printer_new(&st, stdout);
}

/* Runs the query and prints its answer; the exit status. */
static int run(struct session *s, const struct client_options *o)
{
    if (submit(s, o) != 0)
        return EXIT_TROUBLE;
    cJSON *doc = await(s);
    if (!doc || interrupted) {
        cJSON_Delete(doc);
        return EXIT_TROUBLE;
    }
    long total = (long)stat_of(doc, "returned");
    double matched = stat_of(doc, o->output == OUT_LINES ? "matched_lines" : "matched_files");
    struct client_printer *pr = printer_for(o);
    int rc = print_pages(s, o, pr, total);
    client_printer_finish(pr);
    client_printer_free(pr);
    int gaps = report_gaps(doc, o);
    cJSON_Delete(doc);
    if (rc != 0 || interrupted)
        return EXIT_TROUBLE;
    if (gaps != EXIT_MATCH)
        return gaps;
    return matched > 0 ? EXIT_MATCH : EXIT_NO_MATCH;
}

int main(int argc, char **argv)
{
    struct client_options o;
    enum client_parse pr = client_options_parse(&o, argc, argv);
    if (pr != PARSE_RUN) {
        client_options_free(&o);
        return pr == PARSE_EXIT_OK ? EXIT_MATCH : EXIT_TROUBLE;
    }
    struct session s = {.token = o.token};
    char err[ERRLEN];
    if (client_url_parse(o.server, &s.url, err, sizeof err) != 0) {
        complain(err);
        client_url_free(&s.url);
        client_options_free(&o);
        return EXIT_TROUBLE;
    }
    /* No SA_RESTART: a blocked read returns EINTR, and the query is
     * cancelled on the server before we go. */
    struct sigaction sa = {.sa_handler = on_interrupt};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc = run(&s, &o);
    if (interrupted && s.id[0]) {
        cancel(&s);
        rc = 130;
    }
    client_url_free(&s.url);
    client_options_free(&o);
    return rc;
}
