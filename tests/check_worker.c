/*
 * check_worker.c - unit tests for the worker's scheduler (worker_serve()
 * in src/worker.c), through a fake transport end: the requests a test
 * scripts arrive in order, and every message the worker sends is kept.
 *
 * Why the scheduler exists: a quick query must not wait behind a slow one
 * on the same worker.  The tests show it with a slow regex (one that
 * backtracks on every line) and a quick literal sent right after it: the
 * quick one's DONE comes first.  Also: a CANCEL stops a running search,
 * or one whose QUERY it overtook; a file view and a PING are answered
 * while a search runs; a burst of CHANGES is applied in steps that take
 * turns with the searches, and a request that comes during one ends it.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "check_suites.h"
#include "check_util.h"
#include "corpus.h"
#include "msg.h"
#include "worker.h"
#include "util.h"

#define SHARD 0

/* The script: requests (each arriving once recv has been called at least
 * at[i] times before: 0, at once), and what was sent back. */
static struct {
    struct msg_writer in[16];
    unsigned at[16];
    size_t nin, next;
    unsigned recvs;
    struct {
        uint8_t *data;
        size_t len;
    } out[8192];
    size_t nout;
} io;

static ssize_t fake_recv(void *impl, void *buf, size_t cap, int timeout_ms)
{
    (void)impl;
    if (io.next < io.nin && io.recvs++ >= io.at[io.next]) {
        struct msg_writer *w = &io.in[io.next++];
        ck_assert(w->len <= cap);
        memcpy(buf, w->data, w->len);
        return (ssize_t)w->len;
    }
    /* Nothing more: "none yet" to a poll, EOF to a wait (the test ends). */
    return timeout_ms == 0 ? 0 : -1;
}

static int fake_send(void *impl, const void *msg, size_t len)
{
    (void)impl;
    ck_assert_msg(io.nout < sizeof io.out / sizeof io.out[0], "too many messages");
    io.out[io.nout].data = xmalloc(len);
    memcpy(io.out[io.nout].data, msg, len);
    io.out[io.nout].len = len;
    io.nout++;
    return 0;
}

static struct corpus corp;
static struct store st;
static int root_fd = -1;

/* Lines of 18-letter words ending in " ;": (\w|\w\w)+; backtracks through
 * each word and never matches, so every line costs the regex thousands
 * of steps (the integration tests' HEAVY_Q).  One file holds "needle". */
static void setup(void)
{
    memset(&io, 0, sizeof io);
    corpus_init(&corp);
    corpus_enable_index(&corp);
    size_t nlines = 400, width = 40;
    char *heavy = xmalloc(nlines * width);
    for (size_t i = 0; i < nlines; i++) {
        char *l = heavy + i * width;
        memcpy(l, "abcdefghijklmnopqr abcdefghijklmnopqr ;\n", width);
    }
    ck_assert(corpus_add(&corp, 0, "heavy.txt", heavy, nlines * width) == CORPUS_ADDED);
    free(heavy);
    ck_assert(corpus_add(&corp, 1, "quick.txt", "a needle here\n", 14) == CORPUS_ADDED);
    corpus_seal(&corp);
    /* Defined bytes past the text (PCRE2's JIT reads a little beyond). */
    if (corp.cap > corp.len)
        memset(corp.buf + corp.len, 0, (size_t)(corp.cap - corp.len));
    struct corpus **segs = xmalloc(sizeof *segs);
    segs[0] = xmalloc(sizeof **segs);
    *segs[0] = corp; /* the store's now */
    store_init(&st, segs, 1, &root_fd, 1, 1 << 20, 0);
}

static void teardown(void)
{
    for (size_t i = 0; i < io.nin; i++)
        msg_writer_free(&io.in[i]);
    for (size_t i = 0; i < io.nout; i++)
        free(io.out[i].data);
    store_free(&st);
}

static void script_query(uint64_t seq, const char *pattern, uint32_t flags)
{
    struct msg_writer *w = &io.in[io.nin++];
    msg_writer_init(w);
    struct msg_query q = {.flags = flags,
                          .max = 100,
                          .timeout_ms = 60000,
                          .pattern = pattern,
                          .pattern_len = (uint32_t)strlen(pattern),
                          .path = "",
                          .exclude = ""};
    msg_query_encode(w, seq, &q);
}

static void script_empty(uint16_t type, uint64_t seq)
{
    struct msg_writer *w = &io.in[io.nin++];
    msg_writer_init(w);
    msg_empty_encode(w, type, SHARD, seq);
}

static void script_file(uint64_t seq, uint32_t id)
{
    struct msg_writer *w = &io.in[io.nin++];
    msg_writer_init(w);
    msg_file_encode(w, SHARD, seq, id);
}

static void serve(void)
{
    struct transport_end end = {.impl = NULL, .send = fake_send, .recv = fake_recv};
    worker_serve(&end, SHARD, &st);
}

/* Index in io.out of the last message of this type and seq; -1: none. */
static long find(uint16_t type, uint64_t seq, struct msg_done *done)
{
    long at = -1;
    for (size_t i = 0; i < io.nout; i++) {
        struct msg_header h;
        struct msg_reader r;
        ck_assert_msg(msg_parse(io.out[i].data, io.out[i].len, &h, &r) == SG_OK,
                      "message %zu does not parse", i);
        if (h.type == type && h.seq == seq) {
            at = (long)i;
            if (done)
                ck_assert_msg(msg_done_decode(&r, done) == SG_OK, "DONE %zu does not decode", i);
        }
    }
    return at;
}

START_TEST(test_quick_query_passes_slow_one)
{
    script_query(1, "(\\w|\\w\\w)+;", 0);
    script_query(2, "needle", MSG_QF_LITERAL);
    serve();
    struct msg_done slow, quick;
    long at_slow = find(MT_DONE, 1, &slow), at_quick = find(MT_DONE, 2, &quick);
    ck_assert_msg(at_slow >= 0 && at_quick >= 0, "DONE slow at %ld, quick at %ld", at_slow,
                  at_quick);
    ck_assert_msg(at_quick < at_slow, "the quick query ended after the slow one (%ld, %ld)",
                  at_quick, at_slow);
    ck_assert_msg(quick.status == MSG_ST_DONE && quick.matched_lines == 1,
                  "quick: status %u, %llu lines", quick.status,
                  (unsigned long long)quick.matched_lines);
    ck_assert_msg(slow.status == MSG_ST_DONE && slow.matched_lines == 0,
                  "slow: status %u, %llu lines", slow.status,
                  (unsigned long long)slow.matched_lines);
}
END_TEST

START_TEST(test_cancel_stops_running_search)
{
    script_query(3, "(\\w|\\w\\w)+;", 0);
    script_empty(MT_CANCEL, 3);
    serve();
    struct msg_done d;
    ck_assert_msg(find(MT_DONE, 3, &d) >= 0, "no DONE");
    ck_assert_msg(d.status == MSG_ST_CANCELLED, "status %u, want cancelled", d.status);
}
END_TEST

START_TEST(test_cancel_before_query)
{
    /* The CANCEL overtook its QUERY: the query never runs. */
    script_empty(MT_CANCEL, 4);
    script_query(4, "needle", MSG_QF_LITERAL);
    serve();
    struct msg_done d;
    ck_assert_msg(find(MT_DONE, 4, &d) >= 0, "no DONE");
    ck_assert_msg(d.status == MSG_ST_CANCELLED && d.matched_lines == 0,
                  "status %u, %llu lines: it ran", d.status, (unsigned long long)d.matched_lines);
    ck_assert_msg(find(MT_BATCH, 4, NULL) < 0, "results sent for a cancelled query");
}
END_TEST

START_TEST(test_file_and_ping_during_search)
{
    script_query(5, "(\\w|\\w\\w)+;", 0);
    script_file(6, 1);
    script_empty(MT_PING, 7);
    serve();
    long slow = find(MT_DONE, 5, NULL), file = find(MT_DONE, 6, NULL);
    long lines = find(MT_LINES, 6, NULL), pong = find(MT_PONG, 7, NULL);
    ck_assert_msg(lines >= 0 && file >= 0 && pong >= 0, "LINES %ld DONE %ld PONG %ld", lines, file,
                  pong);
    ck_assert_msg(file < slow && pong < slow, "file view %ld / PONG %ld after the search %ld", file,
                  pong, slow);
    struct msg_header h;
    struct msg_reader r;
    uint32_t first, count;
    ck_assert(msg_parse(io.out[lines].data, io.out[lines].len, &h, &r) == SG_OK);
    ck_assert(msg_lines_decode(&r, &first, &count) == SG_OK);
    ck_assert_msg(first == 1 && count == 1, "LINES first %u count %u", first, count);
}
END_TEST

/* Five CHANGES messages, 5,000 loads in all (100 files on disk, each
 * loaded 50 times: far more than one step's worth), then a quick query:
 * it is answered before the burst is applied, every batch is acknowledged
 * in order, and the burst went in as many versions (slices), not one per
 * batch. */
#define CHANGED_FILES 100

/* CHANGED_FILES files f000.txt... in a new folder, the worker's root,
 * each holding "changed text". */
static void make_changed_files(char *dir)
{
    ck_assert(mkdtemp(dir) != NULL);
    char full[128];
    for (int i = 0; i < CHANGED_FILES; i++) {
        snprintf(full, sizeof full, "%s/f%03d.txt", dir, i);
        FILE *f = fopen(full, "w");
        ck_assert(f != NULL);
        fputs("changed text\n", f);
        fclose(f);
    }
    root_fd = open(dir, O_RDONLY | O_DIRECTORY);
    ck_assert(root_fd >= 0);
}

/* A CHANGES batch seq of n loads, the files of make_changed_files() in
 * turn from the first'th on. */
static void script_changes(const char *dir, uint64_t seq, int first, int n)
{
    char path[64], full[128];
    struct msg_writer *w = &io.in[io.nin++];
    msg_writer_init(w);
    msg_changes_begin(w, SHARD, seq);
    for (int k = 0; k < n; k++) {
        int i = (first + k) % CHANGED_FILES;
        snprintf(path, sizeof path, "f%03d.txt", i);
        struct stat sb;
        snprintf(full, sizeof full, "%s/%s", dir, path);
        ck_assert(lstat(full, &sb) == 0);
        struct msg_file_entry e = {.id = 10 + (uint32_t)i,
                                   .stamp = stamp_of(&sb),
                                   .path = path,
                                   .path_len = (uint32_t)strlen(path)};
        ck_assert_msg(msg_changes_add(w, MSG_CH_LOAD, &e), "entry %d did not fit", k);
    }
    msg_changes_finish(w);
}

static void remove_changed_files(char *dir)
{
    close(root_fd);
    root_fd = -1;
    check_rm_tree(dir);
}

START_TEST(test_changes_take_turns_with_searches)
{
    char dir[] = "/tmp/check_worker.XXXXXX";
    make_changed_files(dir);
    enum { BATCHES = 5, PER_BATCH = 1000 };
    for (int b = 0; b < BATCHES; b++)
        script_changes(dir, 100 + (uint64_t)b, b * PER_BATCH, PER_BATCH);
    script_query(9, "needle", MSG_QF_LITERAL);
    serve();
    long quick = find(MT_DONE, 9, NULL), last = find(MT_APPLIED, 100 + BATCHES - 1, NULL);
    ck_assert_msg(quick >= 0 && last >= 0, "DONE at %ld, last APPLIED at %ld", quick, last);
    ck_assert_msg(quick < last, "the query waited for the whole burst (DONE %ld, APPLIED %ld)",
                  quick, last);
    long prev = -1;
    uint32_t loaded = 0, version = 0;
    for (int b = 0; b < BATCHES; b++) {
        long at = find(MT_APPLIED, 100 + (uint64_t)b, NULL);
        ck_assert_msg(at > prev, "batch %d acknowledged at %ld, after %ld", b, at, prev);
        prev = at;
        struct msg_header h;
        struct msg_reader r;
        struct msg_applied a;
        ck_assert(msg_parse(io.out[at].data, io.out[at].len, &h, &r) == SG_OK);
        ck_assert(msg_applied_decode(&r, &a) == SG_OK);
        loaded += a.loaded;
        version = a.version;
        ck_assert_msg(a.failed == 0, "batch %d: %u failed", b, a.failed);
    }
    ck_assert_msg(loaded == BATCHES * PER_BATCH, "%u loaded", loaded);
    ck_assert_msg(version > BATCHES, "version %u: applied a batch at a time", version);
    struct msg_hello counts;
    store_hello(&st, &counts);
    ck_assert_msg(counts.files == 2 + CHANGED_FILES, "%u files live", counts.files);
    remove_changed_files(dir);
}
END_TEST

/* A query that comes while changes are applied and no search runs ends
 * the step after the file being read: it waits for one file, not for a
 * step's time.  The query arrives at the fifth receive: the first brings
 * the batch, the second finds nothing, and each file applied asks again,
 * so at most three files are in when the query starts. */
START_TEST(test_request_ends_a_step_of_changes)
{
    char dir[] = "/tmp/check_worker.XXXXXX";
    make_changed_files(dir);
    script_changes(dir, 100, 0, CHANGED_FILES);
    script_query(9, "changed", MSG_QF_LITERAL);
    io.at[1] = 4;
    serve();
    struct msg_done d;
    long done = find(MT_DONE, 9, &d), applied = find(MT_APPLIED, 100, NULL);
    ck_assert_msg(done >= 0 && applied > done, "DONE at %ld, APPLIED at %ld", done, applied);
    ck_assert_msg(d.matched_files >= 1 && d.matched_files <= 3,
                  "the query saw %" PRIu64 " changed files (a whole step's, not one's)",
                  d.matched_files);
    struct msg_hello counts;
    store_hello(&st, &counts);
    ck_assert_msg(counts.files == 2 + CHANGED_FILES, "%u files live", counts.files);
    remove_changed_files(dir);
}
END_TEST

START_TEST(test_file_not_in_shard)
{
    script_file(8, 99);
    serve();
    struct msg_done d;
    ck_assert_msg(find(MT_DONE, 8, &d) >= 0 && d.status == MSG_ST_NOT_FOUND, "status %u", d.status);
}
END_TEST

Suite *suite_worker(void)
{
    Suite *s = suite_create("worker");
    TCase *tc = tcase_create("worker_serve");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_quick_query_passes_slow_one);
    tcase_add_test(tc, test_cancel_stops_running_search);
    tcase_add_test(tc, test_cancel_before_query);
    tcase_add_test(tc, test_file_and_ping_during_search);
    tcase_add_test(tc, test_file_not_in_shard);
    tcase_add_test(tc, test_changes_take_turns_with_searches);
    tcase_add_test(tc, test_request_ends_a_step_of_changes);
    suite_add_tcase(s, tc);
    return s;
}
