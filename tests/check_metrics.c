/*
 * check_metrics.c - unit tests for src/metrics.c: the counters and the
 * /metrics text (Prometheus' exposition format 0.0.4).
 *
 * The text is read back here by a small parser of the format's lines,
 * not compared with a stored copy: each test asks for the samples it
 * knows the value of.  tests/integration/test_metrics.py runs promtool
 * over the real server's text.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_suites.h"
#include "metrics.h"
#include "util.h"

/* The value of the sample whose name and labels are exactly `series`
 * ("shardgrep_x" or "shardgrep_x{k=\"v\"}"); fails if it is not there
 * once. */
static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    const char *found = NULL;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        ck_assert_msg(end != NULL, "the text does not end with a newline");
        if (!strncmp(line, series, n) && line[n] == ' ') {
            ck_assert_msg(!found, "%s appears twice", series);
            found = line + n + 1;
        }
        line = end + 1;
    }
    ck_assert_msg(found != NULL, "no sample %s in:\n%s", series, text);
    char *stop;
    double v = strtod(found, &stop);
    ck_assert_msg(stop != found && *stop == '\n', "the value of %s is not a number: %.20s", series,
                  found);
    return v;
}

static char *render(const struct metrics *m, const struct stats_doc *s)
{
    size_t len;
    char *text = metrics_render(m, s, &len);
    ck_assert_msg(text != NULL, "metrics_render() returned NULL");
    ck_assert_uint_eq(strlen(text), len);
    return text;
}

/* Three shards: up, up but silent, down. */
static struct shard_state shards[3];
static uint64_t rss[3] = {1000, 2000, 0};

static struct stats_doc sample_stats(void)
{
    memset(shards, 0, sizeof shards);
    shards[0] = (struct shard_state){.up = true, .pid = 10};
    shards[0].hello.files = 5;
    shards[0].hello.lines = 50;
    shards[0].hello.bytes = 500;
    shards[1] = (struct shard_state){.up = true, .unresponsive = true, .pid = 11};
    shards[1].hello.files = 7;
    shards[1].hello.lines = 70;
    shards[1].hello.bytes = 700;
    shards[2] = (struct shard_state){.up = false};
    shards[2].hello.files = 1;
    shards[2].hello.lines = 2;
    shards[2].hello.bytes = 3;
    struct stats_doc s = {.shards = shards,
                          .shard_rss = rss,
                          .nshards = 3,
                          .master_rss = 4096,
                          .answers_counted = true,
                          .answer_bytes = 77,
                          .uptime_s = 12.5};
    s.queries.running = 2;
    s.queries.queued = 3;
    s.queries.kept = 4;
    s.queries.kept_bytes = 9999;
    s.live.state = "polling";
    s.live.watches = 8;
    s.live.pending = 6;
    s.live.applied = 41;
    s.live.rescans = 2;
    s.live.overflows = 1;
    s.live.lag_ms = 250;
    return s;
}

/* ------------------------------------------------------------------ */
/* the histogram                                                      */
/* ------------------------------------------------------------------ */

START_TEST(test_histogram_cumulative)
{
    static struct metrics m;
    memset(&m, 0, sizeof m);
    /* Bounds are inclusive (le): 0.0005 falls in the first bucket. */
    const double took[] = {0.0001, 0.0005, -1, 0.003, 0.2, 11};
    double sum = 0.0001 + 0.0005 + 0.003 + 0.2 + 11;
    for (size_t i = 0; i < sizeof took / sizeof took[0]; i++)
        metrics_query_finished(&m, QS_DONE, took[i], 0);
    struct stats_doc s = sample_stats();
    char *t = render(&m, &s);
    const struct {
        const char *le;
        double want;
    } cases[] = {{"0.0005", 3}, {"0.001", 3}, {"0.0025", 3}, {"0.005", 4}, {"0.1", 4},
                 {"0.25", 5},   {"1", 5},     {"5", 5},      {"10", 5},    {"+Inf", 6}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char series[128];
        snprintf(series, sizeof series, "shardgrep_query_duration_seconds_bucket{le=\"%s\"}",
                 cases[i].le);
        double got = value_of(t, series);
        ck_assert_msg(got == cases[i].want, "bucket le=%s: %g, want %g", cases[i].le, got,
                      cases[i].want);
    }
    ck_assert_double_eq(value_of(t, "shardgrep_query_duration_seconds_count"), 6);
    double got_sum = value_of(t, "shardgrep_query_duration_seconds_sum");
    double off = got_sum > sum ? got_sum - sum : sum - got_sum;
    ck_assert_msg(off < 1e-5, "sum %.9f, want %.9f", got_sum, sum);
    free(t);
}
END_TEST

START_TEST(test_histogram_buckets_ordered)
{
    /* The bounds ascend, end at 10 s, and every bucket is written, in
     * order, each at least the one before. */
    for (unsigned i = 1; i < METRICS_BUCKETS; i++)
        ck_assert_msg(metrics_bucket_bounds[i] > metrics_bucket_bounds[i - 1],
                      "bound %u (%g) is not above bound %u (%g)", i, metrics_bucket_bounds[i],
                      i - 1, metrics_bucket_bounds[i - 1]);
    ck_assert_double_eq(metrics_bucket_bounds[0], 0.0005);
    ck_assert_double_eq(metrics_bucket_bounds[METRICS_BUCKETS - 1], 10);
    static struct metrics m;
    memset(&m, 0, sizeof m);
    for (int i = 0; i < 200; i++)
        metrics_query_finished(&m, QS_DONE, i * 0.07, 0);
    struct stats_doc s = sample_stats();
    char *t = render(&m, &s);
    const char *p = t;
    double last = -1;
    unsigned n = 0;
    const char *prefix = "shardgrep_query_duration_seconds_bucket{";
    while ((p = strstr(p, prefix))) {
        const char *v = strchr(p, ' ');
        double got = strtod(v + 1, NULL);
        ck_assert_msg(got >= last, "bucket %u holds %g, less than the one before (%g)", n, got,
                      last);
        last = got;
        n++;
        p = v;
    }
    ck_assert_uint_eq(n, METRICS_BUCKETS + 1);
    ck_assert_double_eq(last, 200);
    free(t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* counters                                                           */
/* ------------------------------------------------------------------ */

START_TEST(test_counters_by_label)
{
    static struct metrics m;
    memset(&m, 0, sizeof m);
    metrics_query_finished(&m, QS_DONE, 0.01, 10);
    metrics_query_finished(&m, QS_DONE, 0.01, 5);
    metrics_query_finished(&m, QS_CANCELLED, 0.01, 0);
    metrics_query_finished(&m, QS_TIMED_OUT, 0.01, 1);
    metrics_query_finished(&m, QS_PARTIAL, 0.01, 0);
    metrics_worker_restarted(&m);
    metrics_worker_restarted(&m);
    metrics_http_answered(&m, 200, 100);
    metrics_http_answered(&m, 404, 20);
    metrics_http_answered(&m, 404, 20);
    metrics_http_answered(&m, 99, 1);  /* not a status: bytes only */
    metrics_http_answered(&m, 600, 1); /* likewise */
    metrics_connection(&m, true);
    metrics_connection(&m, true);
    metrics_connection(&m, true);
    metrics_connection(&m, false);
    metrics_refused(&m, MR_OVERLOADED);
    metrics_refused(&m, MR_BAD_REQUEST);
    metrics_refused(&m, MR_BAD_REQUEST);
    metrics_refused(&m, MR_COUNT); /* out of range: ignored */
    struct stats_doc s = sample_stats();
    char *t = render(&m, &s);
    ck_assert_double_eq(value_of(t, "shardgrep_queries_total{status=\"done\"}"), 2);
    ck_assert_double_eq(value_of(t, "shardgrep_queries_total{status=\"cancelled\"}"), 1);
    ck_assert_double_eq(value_of(t, "shardgrep_queries_total{status=\"timed_out\"}"), 1);
    ck_assert_double_eq(value_of(t, "shardgrep_queries_total{status=\"partial\"}"), 1);
    ck_assert_double_eq(value_of(t, "shardgrep_queries_total{status=\"failed\"}"), 0);
    ck_assert_msg(!strstr(t, "status=\"running\"") && !strstr(t, "status=\"queued\""),
                  "a status that is not final is listed");
    ck_assert_double_eq(value_of(t, "shardgrep_results_returned_total"), 16);
    ck_assert_double_eq(value_of(t, "shardgrep_worker_restarts_total"), 2);
    ck_assert_double_eq(value_of(t, "shardgrep_http_requests_total{code=\"200\"}"), 1);
    ck_assert_double_eq(value_of(t, "shardgrep_http_requests_total{code=\"404\"}"), 2);
    ck_assert_msg(!strstr(t, "code=\"500\""), "a status never answered is listed");
    ck_assert_double_eq(value_of(t, "shardgrep_http_response_bytes_total"), 142);
    ck_assert_double_eq(value_of(t, "shardgrep_http_connections_accepted_total"), 3);
    ck_assert_double_eq(value_of(t, "shardgrep_http_connections_open"), 2);
    ck_assert_double_eq(value_of(t, "shardgrep_http_refused_total{reason=\"overloaded\"}"), 1);
    ck_assert_double_eq(value_of(t, "shardgrep_http_refused_total{reason=\"bad_request\"}"), 2);
    ck_assert_double_eq(value_of(t, "shardgrep_http_refused_total{reason=\"connection_limit\"}"),
                        0);
    ck_assert_double_eq(value_of(t, "shardgrep_http_refused_total{reason=\"body_too_large\"}"), 0);
    free(t);
}
END_TEST

START_TEST(test_null_metrics)
{
    /* Counting into NULL does nothing; rendering NULL gives zeros. */
    metrics_query_finished(NULL, QS_DONE, 1, 1);
    metrics_worker_restarted(NULL);
    metrics_http_answered(NULL, 200, 1);
    metrics_connection(NULL, true);
    metrics_refused(NULL, MR_OVERLOADED);
    struct stats_doc s = sample_stats();
    char *t = render(NULL, &s);
    ck_assert_double_eq(value_of(t, "shardgrep_queries_total{status=\"done\"}"), 0);
    ck_assert_double_eq(value_of(t, "shardgrep_query_duration_seconds_count"), 0);
    ck_assert_double_eq(value_of(t, "shardgrep_http_requests_total{code=\"200\"}"), 0);
    free(t);
}
END_TEST

struct bumper {
    struct metrics *m;
    int n;
};

static void *bump_many(void *arg)
{
    const struct bumper *b = arg;
    for (int i = 0; i < b->n; i++) {
        metrics_query_finished(b->m, QS_DONE, 0.001, 1);
        metrics_http_answered(b->m, 200, 3);
        metrics_connection(b->m, true);
        metrics_connection(b->m, false);
    }
    return NULL;
}

START_TEST(test_counters_threads)
{
    /* Counting takes no lock: from four threads at once, nothing is lost. */
    static struct metrics m;
    memset(&m, 0, sizeof m);
    enum { THREADS = 4, EACH = 50000 };
    pthread_t th[THREADS];
    struct bumper b = {&m, EACH};
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, bump_many, &b), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    struct stats_doc s = sample_stats();
    char *t = render(&m, &s);
    double all = THREADS * EACH;
    ck_assert_double_eq(value_of(t, "shardgrep_queries_total{status=\"done\"}"), all);
    ck_assert_double_eq(value_of(t, "shardgrep_query_duration_seconds_count"), all);
    ck_assert_double_eq(value_of(t, "shardgrep_results_returned_total"), all);
    ck_assert_double_eq(value_of(t, "shardgrep_http_requests_total{code=\"200\"}"), all);
    ck_assert_double_eq(value_of(t, "shardgrep_http_response_bytes_total"), 3 * all);
    ck_assert_double_eq(value_of(t, "shardgrep_http_connections_open"), 0);
    free(t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* gauges                                                             */
/* ------------------------------------------------------------------ */

START_TEST(test_gauges_from_stats)
{
    struct stats_doc s = sample_stats();
    char *t = render(NULL, &s);
    ck_assert_double_eq(value_of(t, "shardgrep_shards{state=\"up\"}"), 1);
    ck_assert_double_eq(value_of(t, "shardgrep_shards{state=\"unresponsive\"}"), 1);
    ck_assert_double_eq(value_of(t, "shardgrep_shards{state=\"down\"}"), 1);
    /* As GET /api/stats sums them: every shard's last counts. */
    ck_assert_double_eq(value_of(t, "shardgrep_files"), 13);
    ck_assert_double_eq(value_of(t, "shardgrep_lines"), 122);
    ck_assert_double_eq(value_of(t, "shardgrep_bytes"), 1203);
    ck_assert_double_eq(value_of(t, "shardgrep_master_rss_bytes"), 4096);
    ck_assert_double_eq(value_of(t, "shardgrep_worker_rss_bytes{shard=\"0\"}"), 1000);
    ck_assert_double_eq(value_of(t, "shardgrep_worker_rss_bytes{shard=\"1\"}"), 2000);
    ck_assert_double_eq(value_of(t, "shardgrep_worker_rss_bytes{shard=\"2\"}"), 0);
    ck_assert_double_eq(value_of(t, "shardgrep_answer_bytes"), 77);
    ck_assert_double_eq(value_of(t, "shardgrep_kept_results_bytes"), 9999);
    ck_assert_double_eq(value_of(t, "shardgrep_queries_running"), 2);
    ck_assert_double_eq(value_of(t, "shardgrep_queries_queued"), 3);
    ck_assert_double_eq(value_of(t, "shardgrep_queries_kept"), 4);
    ck_assert_double_eq(value_of(t, "shardgrep_uptime_seconds"), 12.5);
    ck_assert_double_eq(value_of(t, "shardgrep_live_state{state=\"polling\"}"), 1);
    ck_assert_double_eq(value_of(t, "shardgrep_live_state{state=\"watching\"}"), 0);
    ck_assert_double_eq(value_of(t, "shardgrep_live_state{state=\"off\"}"), 0);
    ck_assert_double_eq(value_of(t, "shardgrep_live_watches"), 8);
    ck_assert_double_eq(value_of(t, "shardgrep_live_pending_changes"), 6);
    ck_assert_double_eq(value_of(t, "shardgrep_live_lag_seconds"), 0.25);
    ck_assert_double_eq(value_of(t, "shardgrep_live_applied_changes_total"), 41);
    ck_assert_double_eq(value_of(t, "shardgrep_live_rescans_total"), 2);
    ck_assert_double_eq(value_of(t, "shardgrep_live_overflows_total"), 1);
    free(t);
    /* Without an answer budget, no answer_bytes. */
    s.answers_counted = false;
    t = render(NULL, &s);
    ck_assert_msg(!strstr(t, "shardgrep_answer_bytes"), "answer_bytes without a budget");
    free(t);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the format                                                         */
/* ------------------------------------------------------------------ */

/* The family a sample belongs to: its name, less a histogram's suffix. */
static bool in_family(const char *sample, size_t n, const char *fam, const char *type)
{
    size_t f = strlen(fam);
    if (n == f && !strncmp(sample, fam, f))
        return true;
    if (strcmp(type, "histogram") || n <= f || strncmp(sample, fam, f))
        return false;
    const char *rest = sample + f;
    size_t r = n - f;
    return (r == 7 && !strncmp(rest, "_bucket", 7)) || (r == 4 && !strncmp(rest, "_sum", 4)) ||
           (r == 6 && !strncmp(rest, "_count", 6));
}

START_TEST(test_format_lines)
{
    /* Each family: HELP, then TYPE, then its samples, none elsewhere;
     * names begin shardgrep_; counters (only they) end in _total. */
    static struct metrics m;
    memset(&m, 0, sizeof m);
    metrics_http_answered(&m, 503, 1);
    struct stats_doc s = sample_stats();
    char *t = render(&m, &s);
    char fam[128] = "", type[16] = "", seen[64][128];
    unsigned nseen = 0, samples = 0;
    for (char *line = t; *line;) {
        char *end = strchr(line, '\n');
        ck_assert_msg(end != NULL, "the last line has no newline");
        *end = '\0';
        if (!strncmp(line, "# HELP ", 7)) {
            ck_assert_msg(sscanf(line + 7, "%127s", fam) == 1, "HELP without a name: %s", line);
            ck_assert_msg(!strncmp(fam, "shardgrep_", 10), "a name without the prefix: %s", fam);
            for (unsigned i = 0; i < nseen; i++)
                ck_assert_msg(strcmp(seen[i], fam) != 0, "family %s twice", fam);
            ck_assert_uint_lt(nseen, 64);
            snprintf(seen[nseen++], sizeof seen[0], "%s", fam);
            type[0] = '\0';
        } else if (!strncmp(line, "# TYPE ", 7)) {
            char name[128];
            ck_assert_msg(sscanf(line + 7, "%127s %15s", name, type) == 2, "bad TYPE: %s", line);
            ck_assert_str_eq(name, fam);
            bool counter = !strcmp(type, "counter");
            size_t n = strlen(name);
            bool total = n > 6 && !strcmp(name + n - 6, "_total");
            ck_assert_msg(counter == total, "%s is a %s: _total is for counters", name, type);
            ck_assert_msg(counter || !strcmp(type, "gauge") || !strcmp(type, "histogram"),
                          "%s has type %s", name, type);
        } else {
            ck_assert_msg(type[0], "a sample before its family's TYPE: %s", line);
            size_t n = strcspn(line, "{ ");
            ck_assert_msg(in_family(line, n, fam, type), "sample %s is not of family %s", line,
                          fam);
            samples++;
        }
        line = end + 1;
    }
    ck_assert_uint_gt(nseen, 20);
    ck_assert_uint_gt(samples, nseen);
    free(t);
}
END_TEST

START_TEST(test_label_escaping)
{
    const struct {
        const char *in, *want;
    } cases[] = {
        {"plain", "plain"},
        {"", ""},
        {"a\"b", "a\\\"b"},
        {"back\\slash", "back\\\\slash"},
        {"two\nlines", "two\\nlines"},
        {"\\\"\n", "\\\\\\\"\\n"},
        {"tab\tstays", "tab\tstays"},
        {"caf\xc3\xa9", "caf\xc3\xa9"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct strbuf b = {0};
        metrics_label_value(&b, cases[i].in);
        const char *got = b.buf ? b.buf : "";
        ck_assert_msg(!strcmp(got, cases[i].want), "escaping \"%s\": got \"%s\", want \"%s\"",
                      cases[i].in, got, cases[i].want);
        free(b.buf);
    }
}
END_TEST

Suite *suite_metrics(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics_query_finished");
    tcase_add_test(tc, test_histogram_cumulative);
    tcase_add_test(tc, test_histogram_buckets_ordered);
    suite_add_tcase(s, tc);

    tc = tcase_create("counters");
    tcase_add_test(tc, test_counters_by_label);
    tcase_add_test(tc, test_null_metrics);
    tcase_add_test(tc, test_counters_threads);
    suite_add_tcase(s, tc);

    tc = tcase_create("metrics_render");
    tcase_add_test(tc, test_gauges_from_stats);
    tcase_add_test(tc, test_format_lines);
    suite_add_tcase(s, tc);

    tc = tcase_create("metrics_label_value");
    tcase_add_test(tc, test_label_escaping);
    suite_add_tcase(s, tc);
    return s;
}
