/*
 * check_registry.c - unit tests for src/registry.c and the filing and
 * merge of src/aggregator.c, through a fake transport: no sockets, no
 * workers, no threads.
 *
 * The fake records every message the registry sends (to which shard), and
 * the tests play the workers: they build BATCH, LINES and DONE messages
 * with msg.c's encoders and hand them to registry_deliver(), as the
 * aggregator's intake thread would.  What is checked is what a client of
 * the registry sees: statuses, counts, the merged order, ids that expire,
 * admission, deadlines, shards that die or stop answering.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "check_suites.h"
#include "msg.h"
#include "registry.h"
#include "util.h"

#define NSHARDS 2

/* What the registry sent. */
static struct {
    struct {
        unsigned shard;
        uint8_t *data;
        size_t len;
    } * v;
    size_t n, cap;
    bool refuse[NSHARDS]; /* the shard is unreachable: sends fail */
} sent;

static int fake_send(void *impl, unsigned shard, const void *msg, size_t len, int wait_ms)
{
    (void)impl, (void)wait_ms;
    if (sent.refuse[shard])
        return -1;
    if (sent.n == sent.cap) {
        sent.cap = sent.cap ? 2 * sent.cap : 16;
        sent.v = xrealloc(sent.v, sent.cap * sizeof *sent.v);
    }
    sent.v[sent.n].shard = shard;
    sent.v[sent.n].data = xmalloc(len);
    memcpy(sent.v[sent.n].data, msg, len);
    sent.v[sent.n].len = len;
    sent.n++;
    return 0;
}

static ssize_t fake_recv(void *impl, void *buf, size_t cap, int timeout_ms)
{
    (void)impl, (void)buf, (void)cap, (void)timeout_ms;
    return 0;
}

static void forget_sent(void)
{
    for (size_t i = 0; i < sent.n; i++)
        free(sent.v[i].data);
    free(sent.v);
    memset(&sent, 0, sizeof sent);
}

/* How many messages of a type went to shard (or to any, shard < 0), and
 * the header of the last one. */
static unsigned count_sent(uint16_t type, int shard, struct msg_header *last)
{
    unsigned n = 0;
    for (size_t i = 0; i < sent.n; i++) {
        struct msg_header h;
        struct msg_reader r;
        ck_assert_msg(msg_parse(sent.v[i].data, sent.v[i].len, &h, &r) == SG_OK,
                      "message %zu does not parse", i);
        if (h.type == type && (shard < 0 || sent.v[i].shard == (unsigned)shard)) {
            n++;
            if (last)
                *last = h;
        }
    }
    return n;
}

static struct registry *reg;
static struct registry_options opts;

static void start(void)
{
    struct transport t = {.impl = NULL, .nshards = NSHARDS, .send = fake_send, .recv = fake_recv};
    reg = registry_new(&t, &opts);
    for (unsigned i = 0; i < NSHARDS; i++)
        registry_shard_up(reg, i, (pid_t)(100 + i), NULL);
}

static void setup(void)
{
    forget_sent();
    opts = (struct registry_options){.keep_count = 100,
                                     .keep_seconds = 600,
                                     .keep_bytes = 64 << 20,
                                     .query_bytes = 16 << 20,
                                     .max_running = 4,
                                     .max_queued = 4,
                                     .queue_wait_ms = 60000,
                                     .file_timeout_ms = 10000};
    reg = NULL;
}

static void teardown(void)
{
    registry_free(reg);
    forget_sent();
}

static struct query_spec spec_of(const char *q, uint32_t max, uint32_t timeout_ms)
{
    return (struct query_spec){.q = (char *)q,
                               .cmode = CASE_AUTO,
                               .path = "",
                               .exclude = "",
                               .max = max,
                               .timeout_ms = timeout_ms};
}

static struct query *submit(const char *q, uint32_t max, uint32_t timeout_ms)
{
    struct query_spec s = spec_of(q, max, timeout_ms);
    enum registry_refusal why;
    struct query *qq = registry_submit(reg, &s, &why);
    ck_assert_msg(qq != NULL, "submit %s refused (%d)", q, why);
    return qq;
}

/* The seq the query was sent under: the last QUERY's. */
static uint64_t seq_sent(void)
{
    struct msg_header h;
    ck_assert_msg(count_sent(MT_QUERY, -1, &h) > 0, "no QUERY sent");
    return h.seq;
}

static void deliver(struct msg_writer *w)
{
    registry_deliver(reg, w->data, w->len);
}

/* A BATCH from shard of n (file, line) results, each with text "t<line>". */
static void batch(unsigned shard, uint64_t seq, const uint32_t (*fl)[2], size_t n)
{
    struct msg_writer w, rec;
    msg_writer_init(&w);
    msg_writer_init(&rec);
    msg_batch_begin(&w, shard, seq);
    for (size_t i = 0; i < n; i++) {
        char text[32];
        int len = snprintf(text, sizeof text, "t%u", fl[i][1]);
        struct msg_record_out r = {
            .file_id = fl[i][0], .line = fl[i][1], .text = text, .text_len = (uint32_t)len};
        rec.len = 0;
        msg_record_encode(&rec, &r);
        msg_batch_add(&w, rec.data, rec.len);
    }
    msg_batch_finish(&w);
    deliver(&w);
    msg_writer_free(&w);
    msg_writer_free(&rec);
}

static void done(unsigned shard, uint64_t seq, uint8_t status, uint64_t lines, uint64_t files)
{
    struct msg_writer w;
    msg_writer_init(&w);
    struct msg_done d = {.status = status, .matched_lines = lines, .matched_files = files};
    msg_done_encode(&w, shard, seq, &d);
    deliver(&w);
    msg_writer_free(&w);
}

static void view(struct query *q, struct query_view *v)
{
    registry_view(reg, q, v);
}

static void check_order(const struct query_view *v, const uint32_t (*want)[2], size_t n)
{
    ck_assert_msg(v->nresults == n, "%zu results, want %zu", v->nresults, n);
    for (size_t i = 0; i < n; i++) {
        struct msg_record m;
        msg_record_at(v->results[i].rec, &m);
        ck_assert_msg(m.file_id == want[i][0] && m.line == want[i][1],
                      "result %zu is (%u, %u), want (%u, %u)", i, m.file_id, m.line, want[i][0],
                      want[i][1]);
    }
}

/* ------------------------------------------------------------------ */

START_TEST(test_submit_sends_query)
{
    start();
    struct query *q = submit("foo+", 50, 2000);
    ck_assert_msg(count_sent(MT_QUERY, 0, NULL) == 1 && count_sent(MT_QUERY, 1, NULL) == 1,
                  "QUERY to shard 0: %u, to shard 1: %u", count_sent(MT_QUERY, 0, NULL),
                  count_sent(MT_QUERY, 1, NULL));
    struct msg_header h;
    struct msg_reader r;
    struct msg_query m;
    ck_assert(msg_parse(sent.v[0].data, sent.v[0].len, &h, &r) == SG_OK);
    ck_assert_msg(msg_query_decode(&r, &m) == SG_OK, "QUERY does not decode");
    ck_assert_msg(m.pattern_len == 4 && !memcmp(m.pattern, "foo+", 4) && m.max == 50,
                  "pattern %.*s max %u", (int)m.pattern_len, m.pattern, m.max);
    /* The worker gets what is left of the one deadline. */
    ck_assert_msg(m.timeout_ms >= 1 && m.timeout_ms <= 2000, "timeout_ms %u", m.timeout_ms);
    ck_assert_msg(!registry_wait(reg, q, 0), "finished before any shard answered");
    struct query_view v;
    view(q, &v);
    ck_assert_msg(v.status == QS_RUNNING, "status %s", query_status_name(v.status));
    query_view_free(&v);
    registry_put(reg, q);
}
END_TEST

START_TEST(test_results_merged_in_order)
{
    start();
    struct query *q = submit("x", 100, 5000);
    uint64_t seq = seq_sent();
    /* Shards hold interleaved files; each sends its own in order, and the
     * shards answer in any order. */
    static const uint32_t s1[][2] = {{1, 3}, {1, 9}, {5, 1}};
    static const uint32_t s0[][2] = {{0, 2}, {4, 7}};
    batch(1, seq, s1, 2);
    batch(0, seq, s0, 2);
    batch(1, seq, s1 + 2, 1);
    done(1, seq, MSG_ST_DONE, 3, 2);
    ck_assert_msg(!registry_wait(reg, q, 0), "finished with shard 0 still running");
    done(0, seq, MSG_ST_DONE, 2, 2);
    ck_assert_msg(registry_wait(reg, q, 0), "not finished after both DONEs");
    struct query_view v;
    view(q, &v);
    ck_assert_msg(v.status == QS_DONE, "status %s", query_status_name(v.status));
    ck_assert_msg(v.matched_lines == 5 && v.matched_files == 4, "counts %llu lines %llu files",
                  (unsigned long long)v.matched_lines, (unsigned long long)v.matched_files);
    static const uint32_t want[][2] = {{0, 2}, {1, 3}, {1, 9}, {4, 7}, {5, 1}};
    check_order(&v, want, 5);
    query_view_free(&v);
    registry_put(reg, q);
}
END_TEST

/* What a stream's cursor was given (registry_stream_poll()). */
struct seen {
    uint32_t recs[16][2];
    unsigned nrecs, shard_ends[4], nends;
    unsigned room; /* records it takes before saying "no room" */
};

static bool seen_record(void *ctx, const uint8_t *rec)
{
    struct seen *s = ctx;
    if (s->room == 0)
        return false;
    s->room--;
    struct msg_record m;
    msg_record_at(rec, &m);
    s->recs[s->nrecs][0] = m.file_id;
    s->recs[s->nrecs][1] = m.line;
    s->nrecs++;
    return true;
}

static void seen_shard(void *ctx, const struct results_shard_end *e)
{
    struct seen *s = ctx;
    s->shard_ends[s->nends++] = e->shard;
}

/* A stream's cursor gets records as they are filed, each shard's end
 * after its records, resumes where "no room" stopped it, and keeps
 * reading the shards' lists after the query finished; a cursor attached
 * after the finish reads the final list. */
START_TEST(test_stream_cursor)
{
    start();
    struct query *q = submit("x", 100, 5000);
    uint64_t seq = seq_sent();
    struct results_cursor *c = registry_stream_attach(reg, q);
    struct seen s = {.room = 100};
    const struct results_stream_events ev = {.ctx = &s, .record = seen_record, .shard = seen_shard};
    ck_assert_msg(!registry_stream_poll(reg, q, c, 0, &ev) && s.nrecs == 0 && s.nends == 0,
                  "something given before anything arrived");
    static const uint32_t s1[][2] = {{1, 3}, {1, 9}, {5, 1}};
    static const uint32_t s0[][2] = {{0, 2}, {4, 7}};
    batch(1, seq, s1, 3);
    done(1, seq, MSG_ST_DONE, 3, 2);
    s.room = 2;
    ck_assert_msg(!registry_stream_poll(reg, q, c, 0, &ev) && s.nrecs == 2 && s.nends == 0,
                  "with room for two: %u records, %u ends", s.nrecs, s.nends);
    s.room = 100;
    ck_assert_msg(!registry_stream_poll(reg, q, c, 1000, &ev) && s.nrecs == 3 && s.nends == 1 &&
                      s.shard_ends[0] == 1,
                  "shard 1 done: %u records, %u ends", s.nrecs, s.nends);
    batch(0, seq, s0, 2);
    done(0, seq, MSG_ST_DONE, 2, 2);
    ck_assert_msg(registry_wait(reg, q, 0), "not finished");
    ck_assert_msg(registry_stream_poll(reg, q, c, 0, &ev) && s.nrecs == 5 && s.nends == 2,
                  "after the finish: %u records, %u ends", s.nrecs, s.nends);
    static const uint32_t want[][2] = {{1, 3}, {1, 9}, {5, 1}, {0, 2}, {4, 7}};
    for (unsigned i = 0; i < 5; i++)
        ck_assert_msg(s.recs[i][0] == want[i][0] && s.recs[i][1] == want[i][1],
                      "record %u is %u:%u", i, s.recs[i][0], s.recs[i][1]);
    registry_stream_detach(reg, q, c);

    /* Attached after the finish and the release: the final list, ordered. */
    struct seen late = {.room = 100};
    const struct results_stream_events ev2 = {
        .ctx = &late, .record = seen_record, .shard = seen_shard};
    c = registry_stream_attach(reg, q);
    ck_assert_msg(registry_stream_poll(reg, q, c, 0, &ev2) && late.nrecs == 5 && late.nends == 2,
                  "late: %u records, %u ends", late.nrecs, late.nends);
    static const uint32_t ordered[][2] = {{0, 2}, {1, 3}, {1, 9}, {4, 7}, {5, 1}};
    for (unsigned i = 0; i < 5; i++)
        ck_assert_msg(late.recs[i][0] == ordered[i][0] && late.recs[i][1] == ordered[i][1],
                      "late record %u is %u:%u", i, late.recs[i][0], late.recs[i][1]);
    registry_stream_detach(reg, q, c);
    struct query_view v;
    view(q, &v);
    check_order(&v, ordered, 5);
    query_view_free(&v);
    registry_put(reg, q);
}
END_TEST

/* A stream submitted with its query (registry_submit_stream()) gives
 * every shard's records, at most max each, even when the query has
 * finished and released its shards' lists before the stream's first
 * poll; a cursor attached only then gets the final list, cut at max (the
 * race test_stream saw: two matches streamed where four were due). */
START_TEST(test_stream_submitted_with_its_query)
{
    start();
    struct query_spec sp = spec_of("x", 2, 5000);
    enum registry_refusal why;
    struct results_cursor *c = NULL;
    struct query *q = registry_submit_stream(reg, &sp, &c, &why);
    ck_assert_msg(q && c, "submit refused (%d)", why);
    uint64_t seq = seq_sent();
    static const uint32_t s0[][2] = {{0, 2}, {4, 7}, {4, 8}};
    static const uint32_t s1[][2] = {{1, 3}, {1, 9}, {5, 1}};
    batch(0, seq, s0, 3);
    done(0, seq, MSG_ST_DONE, 3, 2);
    batch(1, seq, s1, 3);
    done(1, seq, MSG_ST_DONE, 3, 2);
    ck_assert_msg(registry_wait(reg, q, 0), "not finished");

    struct seen s = {.room = 100};
    const struct results_stream_events ev = {.ctx = &s, .record = seen_record, .shard = seen_shard};
    ck_assert_msg(registry_stream_poll(reg, q, c, 0, &ev) && s.nrecs == 4 && s.nends == 2,
                  "submitted with it: %u records, %u ends", s.nrecs, s.nends);
    static const uint32_t want[][2] = {{0, 2}, {4, 7}, {1, 3}, {1, 9}};
    for (unsigned i = 0; i < 4; i++)
        ck_assert_msg(s.recs[i][0] == want[i][0] && s.recs[i][1] == want[i][1],
                      "record %u is %u:%u", i, s.recs[i][0], s.recs[i][1]);
    registry_stream_detach(reg, q, c);

    /* Attached after the finish and the release: the final list, cut. */
    struct seen late = {.room = 100};
    const struct results_stream_events ev_late = {
        .ctx = &late, .record = seen_record, .shard = seen_shard};
    struct results_cursor *lc = registry_stream_attach(reg, q);
    ck_assert_msg(registry_stream_poll(reg, q, lc, 0, &ev_late) && late.nrecs == 2 &&
                      late.nends == 2,
                  "attached late: %u records, %u ends", late.nrecs, late.nends);
    registry_stream_detach(reg, q, lc);
    registry_put(reg, q);
}
END_TEST

START_TEST(test_max_cuts_results_not_counts)
{
    start();
    struct query *q = submit("x", 2, 5000);
    uint64_t seq = seq_sent();
    static const uint32_t s0[][2] = {{0, 1}, {2, 1}};
    static const uint32_t s1[][2] = {{1, 1}, {3, 1}};
    batch(0, seq, s0, 2);
    batch(1, seq, s1, 2);
    done(0, seq, MSG_ST_DONE, 40, 2);
    done(1, seq, MSG_ST_DONE, 60, 2);
    struct query_view v;
    view(q, &v);
    static const uint32_t want[][2] = {{0, 1}, {1, 1}};
    check_order(&v, want, 2);
    ck_assert_msg(v.matched_lines == 100, "matched_lines %llu, want 100 (exact past max)",
                  (unsigned long long)v.matched_lines);
    query_view_free(&v);
    registry_put(reg, q);
}
END_TEST

START_TEST(test_memory_cut_keeps_first_results)
{
    /* Each shard may keep one batch (the share's floor is MSG_MAX): a
     * shard whose second batch is not kept stops the merge where its kept
     * records end, so what is shown is still the first in order. */
    opts.query_bytes = 1;
    start();
    struct query *q = submit("x", 1000, 5000);
    uint64_t seq = seq_sent();
    enum { PER = 200 };
    uint32_t b[PER][2];
    for (uint32_t i = 0; i < PER; i++) {
        b[i][0] = 2 * i + 1;
        b[i][1] = 1;
    }
    /* Shard 0 sends three batches of about 42 KB (even files 0..598): the
     * first fits its share, the second does not. */
    for (int k = 0; k < 3; k++) {
        struct msg_writer w, rec;
        msg_writer_init(&w);
        msg_writer_init(&rec);
        msg_batch_begin(&w, 0, seq);
        char text[400];
        memset(text, 'y', sizeof text);
        for (uint32_t i = 0; i < 100; i++) {
            struct msg_record_out r = {.file_id = (uint32_t)(2 * (k * 100 + i)),
                                       .line = 1,
                                       .text = text,
                                       .text_len = sizeof text};
            rec.len = 0;
            msg_record_encode(&rec, &r);
            msg_batch_add(&w, rec.data, rec.len);
        }
        msg_batch_finish(&w);
        deliver(&w);
        msg_writer_free(&w);
        msg_writer_free(&rec);
    }
    batch(1, seq, b, PER);
    done(0, seq, MSG_ST_DONE, 300, 300);
    done(1, seq, MSG_ST_DONE, PER, PER);
    struct query_view v;
    view(q, &v);
    ck_assert_msg(v.memory_cut, "results not marked memory_cut");
    ck_assert_msg(v.nresults > 0 && v.nresults < 300 + PER, "%zu results", v.nresults);
    for (size_t i = 1; i < v.nresults; i++) {
        struct msg_record m0, m1;
        msg_record_at(v.results[i - 1].rec, &m0);
        msg_record_at(v.results[i].rec, &m1);
        ck_assert_msg(m1.file_id == m0.file_id + 1, "result %zu is file %u after %u: a gap", i,
                      m1.file_id, m0.file_id);
    }
    ck_assert_msg(v.matched_lines == 300 + PER, "counts stay exact: %llu",
                  (unsigned long long)v.matched_lines);
    query_view_free(&v);
    registry_put(reg, q);
}
END_TEST

START_TEST(test_cancel_tells_shards)
{
    start();
    struct query *q = submit("x", 10, 5000);
    uint64_t seq = seq_sent();
    done(0, seq, MSG_ST_DONE, 1, 1); /* shard 0 has answered: nothing to tell it */
    registry_cancel(reg, q);
    struct msg_header h;
    ck_assert_msg(count_sent(MT_CANCEL, 1, &h) == 1 && h.seq == seq, "CANCEL to shard 1: %u",
                  count_sent(MT_CANCEL, 1, NULL));
    ck_assert_msg(count_sent(MT_CANCEL, 0, NULL) == 0, "CANCEL sent to a shard that was done");
    struct query_view v;
    view(q, &v);
    ck_assert_msg(v.status == QS_CANCELLED, "status %s", query_status_name(v.status));
    query_view_free(&v);
    /* A late answer changes nothing. */
    done(1, seq, MSG_ST_CANCELLED, 0, 0);
    view(q, &v);
    ck_assert_msg(v.status == QS_CANCELLED, "status after a late DONE: %s",
                  query_status_name(v.status));
    query_view_free(&v);
    registry_put(reg, q);
}
END_TEST

START_TEST(test_shard_death_is_partial)
{
    start();
    struct query *q = submit("x", 10, 5000);
    uint64_t seq = seq_sent();
    static const uint32_t s0[][2] = {{0, 1}};
    batch(0, seq, s0, 1);
    done(0, seq, MSG_ST_DONE, 1, 1);
    registry_shard_down(reg, 1);
    ck_assert_msg(registry_wait(reg, q, 0), "not finished once the last shard died");
    struct query_view v;
    view(q, &v);
    ck_assert_msg(v.status == QS_PARTIAL && v.nfailed == 1 && v.failed[0] == 1,
                  "status %s, %u failed", query_status_name(v.status), v.nfailed);
    ck_assert_msg(v.nresults == 1, "%zu results: what shard 0 found", v.nresults);
    query_view_free(&v);
    registry_put(reg, q);
    /* A query sent while it is down ends its part at once. */
    forget_sent();
    q = submit("y", 10, 5000);
    ck_assert_msg(count_sent(MT_QUERY, 1, NULL) == 0, "QUERY sent to a dead shard");
    done(0, seq_sent(), MSG_ST_DONE, 0, 0);
    view(q, &v);
    ck_assert_msg(v.status == QS_PARTIAL, "status %s", query_status_name(v.status));
    query_view_free(&v);
    registry_put(reg, q);
}
END_TEST

START_TEST(test_unreachable_shard_fails_its_part)
{
    start();
    sent.refuse[1] = true;
    struct query *q = submit("x", 10, 5000);
    done(0, seq_sent(), MSG_ST_DONE, 0, 0);
    ck_assert_msg(registry_wait(reg, q, 0), "waits for a shard it could not reach");
    struct query_view v;
    view(q, &v);
    ck_assert_msg(v.status == QS_PARTIAL && v.nfailed == 1 && v.failed[0] == 1, "status %s",
                  query_status_name(v.status));
    query_view_free(&v);
    registry_put(reg, q);
}
END_TEST

START_TEST(test_finished_queries_expire)
{
    opts.keep_count = 1;
    start();
    char ids[2][33];
    for (int i = 0; i < 2; i++) {
        forget_sent();
        struct query *q = submit("x", 10, 5000);
        memcpy(ids[i], query_id(q), 33);
        uint64_t seq = seq_sent();
        done(0, seq, MSG_ST_DONE, 0, 0);
        done(1, seq, MSG_ST_DONE, 0, 0);
        registry_put(reg, q);
    }
    bool expired;
    struct query *q = registry_get(reg, ids[0], &expired);
    ck_assert_msg(!q && expired, "the older query: %s, expired %d", q ? "still there" : "gone",
                  expired);
    q = registry_get(reg, ids[1], &expired);
    ck_assert_msg(q != NULL, "the newer query is gone");
    registry_put(reg, q);
    q = registry_get(reg, "00000000000000000000000000000000", &expired);
    ck_assert_msg(!q && !expired, "an unknown id is said to have expired");
    struct registry_stats st;
    registry_stats(reg, &st);
    ck_assert_msg(st.kept == 1 && st.expired == 1, "kept %llu expired %llu",
                  (unsigned long long)st.kept, (unsigned long long)st.expired);
}
END_TEST

START_TEST(test_admission)
{
    opts.max_running = 1;
    opts.max_queued = 1;
    start();
    struct query *a = submit("a", 10, 5000);
    uint64_t seq_a = seq_sent();
    struct query *b = submit("b", 10, 5000);
    ck_assert_msg(count_sent(MT_QUERY, 0, NULL) == 1, "the queued query was sent");
    struct query_view v;
    view(b, &v);
    ck_assert_msg(v.status == QS_QUEUED && v.queue_position == 1, "b: %s at %u",
                  query_status_name(v.status), v.queue_position);
    query_view_free(&v);
    struct query_spec s = spec_of("c", 10, 5000);
    enum registry_refusal why;
    ck_assert_msg(registry_submit(reg, &s, &why) == NULL && why == REG_OVERLOADED,
                  "a third query was admitted (%d)", why);
    done(0, seq_a, MSG_ST_DONE, 0, 0);
    done(1, seq_a, MSG_ST_DONE, 0, 0);
    ck_assert_msg(count_sent(MT_QUERY, 0, NULL) == 2, "b was not sent when a finished");
    view(b, &v);
    ck_assert_msg(v.status == QS_RUNNING, "b: %s", query_status_name(v.status));
    query_view_free(&v);
    registry_put(reg, a);
    registry_put(reg, b);
}
END_TEST

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

START_TEST(test_deadline_ends_a_stuck_query)
{
    start();
    struct query *q = submit("x", 10, 20);
    uint64_t seq = seq_sent();
    done(0, seq, MSG_ST_DONE, 0, 0); /* shard 1 never answers */
    registry_tick(reg);
    ck_assert_msg(!registry_wait(reg, q, 0), "ended before its deadline and grace");
    sleep_ms(20 + (unsigned)REGISTRY_GRACE_MS + 50);
    registry_tick(reg);
    ck_assert_msg(registry_wait(reg, q, 0), "still running past its deadline and grace");
    struct query_view v;
    view(q, &v);
    ck_assert_msg(v.status == QS_TIMED_OUT, "status %s", query_status_name(v.status));
    query_view_free(&v);
    ck_assert_msg(count_sent(MT_CANCEL, 1, NULL) == 1, "the stuck shard was not told to stop");
    registry_put(reg, q);
}
END_TEST

START_TEST(test_queue_wait_has_a_deadline)
{
    opts.max_running = 1;
    opts.queue_wait_ms = 30;
    start();
    struct query *a = submit("a", 10, 60000);
    struct query *b = submit("b", 10, 60000);
    sleep_ms(60);
    registry_tick(reg);
    ck_assert_msg(registry_wait(reg, b, 0), "still queued past its wait");
    struct query_view v;
    view(b, &v);
    ck_assert_msg(v.status == QS_TIMED_OUT && !strcmp(v.gap_code, "timed_out") &&
                      strstr(v.message, "free slot"),
                  "b: %s (%s: %s)", query_status_name(v.status), v.gap_code, v.message);
    query_view_free(&v);
    ck_assert_msg(count_sent(MT_QUERY, 0, NULL) == 1, "the query that waited too long was sent");
    registry_put(reg, a);
    registry_put(reg, b);
}
END_TEST

/* Lines PCRE2 gave up on leave the results incomplete: partial, not
 * done, and the view says why (it said done, with a bare message). */
START_TEST(test_match_limit_is_partial)
{
    start();
    struct query *q = submit("x", 10, 60000);
    uint64_t seq = seq_sent();
    struct msg_writer w;
    msg_writer_init(&w);
    struct msg_done d = {
        .status = MSG_ST_DONE, .matched_lines = 4, .matched_files = 1, .limit_hits = 3};
    msg_done_encode(&w, 0, seq, &d);
    deliver(&w);
    msg_writer_free(&w);
    done(1, seq, MSG_ST_DONE, 1, 1);
    ck_assert_msg(registry_wait(reg, q, 0), "not finished");
    struct query_view v;
    view(q, &v);
    ck_assert_msg(v.status == QS_PARTIAL && v.gaps == QG_MATCH_LIMIT && v.limit_hits == 3 &&
                      v.nfailed == 0 && !strcmp(v.gap_code, "match_limit") &&
                      strstr(v.message, "3 lines"),
                  "status %s gaps %#x hits %u (%s: %s)", query_status_name(v.status), v.gaps,
                  v.limit_hits, v.gap_code, v.message);
    query_view_free(&v);
    registry_put(reg, q);
    /* A whole answer has no gap and nothing to explain. */
    q = submit("y", 10, 60000);
    seq = seq_sent();
    done(0, seq, MSG_ST_DONE, 1, 1);
    done(1, seq, MSG_ST_DONE, 1, 1);
    view(q, &v);
    ck_assert_msg(v.status == QS_DONE && v.gaps == 0 && !v.gap_code[0] && !v.message[0],
                  "status %s gaps %#x (%s)", query_status_name(v.status), v.gaps, v.gap_code);
    query_view_free(&v);
    registry_put(reg, q);
}
END_TEST

/* The timings leave room for a loaded machine: the test only needs the
 * second tick within unresponsive_ms of the first (a PING is owed until
 * then), and shard 0 heard from more often than that. */
START_TEST(test_unresponsive_shard)
{
    opts.ping_ms = 10;
    opts.unresponsive_ms = 400;
    start();
    double t0 = now_ms();
    sleep_ms(15);
    registry_tick(reg);
    ck_assert_msg(count_sent(MT_PING, 0, NULL) == 1 && count_sent(MT_PING, 1, NULL) == 1,
                  "PINGs: %u and %u", count_sent(MT_PING, 0, NULL), count_sent(MT_PING, 1, NULL));
    struct msg_header h;
    count_sent(MT_PING, 0, &h);
    /* Shard 0 answers; shard 1 has stopped. */
    struct msg_writer w;
    msg_writer_init(&w);
    msg_empty_encode(&w, MT_PONG, 0, h.seq);
    deliver(&w);
    struct query *q = submit("x", 10, 60000);
    uint64_t seq = seq_sent();
    sleep_ms(15);
    registry_tick(reg);
    ck_assert_msg(count_sent(MT_PING, 1, NULL) == 1, "a second PING to a shard that owes one");
    while (now_ms() - t0 < 2.5 * opts.unresponsive_ms) { /* shard 0 keeps answering */
        sleep_ms(10);
        deliver(&w);
        registry_tick(reg);
    }
    struct shard_state sh[NSHARDS];
    registry_shards(reg, sh);
    ck_assert_msg(!sh[0].unresponsive && sh[1].unresponsive, "unresponsive: %d %d",
                  sh[0].unresponsive, sh[1].unresponsive);
    done(0, seq, MSG_ST_DONE, 0, 0);
    ck_assert_msg(registry_wait(reg, q, 0), "waits for a shard that stopped answering");
    struct query_view v;
    view(q, &v);
    ck_assert_msg(v.status == QS_PARTIAL && v.nfailed == 1 && v.failed[0] == 1 &&
                      v.gaps == QG_SHARD_UNRESPONSIVE &&
                      !strcmp(v.gap_code, "shard_unresponsive") && strstr(v.message, "shard 1"),
                  "status %s gaps %#x (%s: %s)", query_status_name(v.status), v.gaps, v.gap_code,
                  v.message);
    query_view_free(&v);
    registry_put(reg, q);
    /* It answers again. */
    msg_writer_free(&w);
    msg_empty_encode(&w, MT_PONG, 1, h.seq);
    deliver(&w);
    registry_shards(reg, sh);
    ck_assert_msg(!sh[1].unresponsive, "still unresponsive after its PONG");
    msg_writer_free(&w);
}
END_TEST

/* A PING the transport could not take (the worker's queue full) is sent
 * again at the next tick, not owed for ever: a worker busy for a moment
 * used to stay unresponsive until restarted. */
START_TEST(test_ping_not_taken_is_sent_again)
{
    opts.ping_ms = 10;
    opts.unresponsive_ms = 60;
    start();
    sent.refuse[1] = true;
    sleep_ms(15);
    registry_tick(reg);
    ck_assert_msg(count_sent(MT_PING, 0, NULL) == 1 && count_sent(MT_PING, 1, NULL) == 0,
                  "PINGs: %u and %u", count_sent(MT_PING, 0, NULL), count_sent(MT_PING, 1, NULL));
    sent.refuse[1] = false;
    registry_tick(reg);
    ck_assert_msg(count_sent(MT_PING, 1, NULL) == 1, "the PING not taken was not sent again");
}
END_TEST

START_TEST(test_file_view)
{
    start();
    enum registry_refusal why;
    struct query *q = registry_submit_file(reg, 7, 1, &why);
    ck_assert_msg(q != NULL, "file view refused (%d)", why);
    struct msg_header h;
    ck_assert_msg(count_sent(MT_FILE, 1, &h) == 1 && count_sent(MT_FILE, 0, NULL) == 0,
                  "FILE to the wrong shard");
    struct msg_writer w;
    msg_writer_init(&w);
    msg_lines_begin(&w, 1, h.seq, 1);
    msg_lines_add(&w, 0, "first", 5);
    msg_lines_add(&w, MSG_RF_CLIPPED, "second", 6);
    msg_lines_finish(&w);
    deliver(&w);
    msg_writer_free(&w);
    done(1, h.seq, MSG_ST_DONE, 0, 0);
    ck_assert_msg(registry_wait(reg, q, 0), "file view not finished");
    const struct result_ref *lines;
    size_t n;
    uint8_t status;
    registry_file_lines(reg, q, &lines, &n, &status);
    ck_assert_msg(status == MSG_ST_DONE && n == 2, "status %u, %zu lines", status, n);
    uint8_t flags;
    const char *text;
    uint32_t len;
    msg_line_at(lines[1].rec, &flags, &text, &len);
    ck_assert_msg(lines[1].line == 2 && flags == MSG_RF_CLIPPED && len == 6 &&
                      !memcmp(text, "second", 6),
                  "line 2: %u %.*s", lines[1].line, (int)len, text);
    registry_put(reg, q);
    registry_shard_down(reg, 0);
    ck_assert_msg(registry_submit_file(reg, 1, 0, &why) == NULL && why == REG_SHARD_DOWN,
                  "a file view on a dead shard: %d", why);
}
END_TEST

START_TEST(test_shutdown_refuses)
{
    start();
    struct query *q = submit("x", 10, 5000);
    registry_shutdown(reg);
    ck_assert_msg(registry_wait(reg, q, 0), "a running query survived the shutdown");
    struct query_spec s = spec_of("y", 10, 5000);
    enum registry_refusal why;
    ck_assert_msg(registry_submit(reg, &s, &why) == NULL && why == REG_SHUTTING_DOWN,
                  "submitted while shutting down (%d)", why);
    registry_put(reg, q);
}
END_TEST

Suite *suite_registry(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("registry_submit");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_submit_sends_query);
    tcase_add_test(tc, test_results_merged_in_order);
    tcase_add_test(tc, test_stream_cursor);
    tcase_add_test(tc, test_stream_submitted_with_its_query);
    tcase_add_test(tc, test_max_cuts_results_not_counts);
    tcase_add_test(tc, test_memory_cut_keeps_first_results);
    tcase_add_test(tc, test_admission);
    tcase_add_test(tc, test_file_view);
    suite_add_tcase(s, tc);

    tc = tcase_create("registry_life");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_cancel_tells_shards);
    tcase_add_test(tc, test_shard_death_is_partial);
    tcase_add_test(tc, test_unreachable_shard_fails_its_part);
    tcase_add_test(tc, test_finished_queries_expire);
    tcase_add_test(tc, test_deadline_ends_a_stuck_query);
    tcase_add_test(tc, test_queue_wait_has_a_deadline);
    tcase_add_test(tc, test_unresponsive_shard);
    tcase_add_test(tc, test_match_limit_is_partial);
    tcase_add_test(tc, test_ping_not_taken_is_sent_again);
    tcase_add_test(tc, test_shutdown_refuses);
    suite_add_tcase(s, tc);
    return s;
}
