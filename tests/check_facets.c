/*
 * check_facets.c - unit tests for src/facets.c: a worker's tally sent as
 * FACETS messages, and the master's sum of several shards' messages read
 * back as the rows a query document shows.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_suites.h"
#include "facets.h"
#include "lang.h"
#include "util.h"

/* The FACETS messages a tally sent, and the sum they go into. */
static struct facet_sum *sum;
static int nsent, fail_after = -1;

static int capture(void *ctx, const void *msg, size_t len)
{
    (void)ctx;
    if (fail_after >= 0 && nsent >= fail_after)
        return -1;
    nsent++;
    struct msg_header h;
    struct msg_reader r;
    ck_assert_msg(msg_parse(msg, len, &h, &r) == SG_OK && h.type == MT_FACETS,
                  "a tally sent something that is not a FACETS message");
    ck_assert_msg(facet_sum_add(sum, &r) == 0, "the sum refused a tally's message");
    return 0;
}

static void setup(void)
{
    sum = facet_sum_new();
    nsent = 0;
    fail_after = -1;
}

static void teardown(void)
{
    facet_sum_free(sum);
}

struct hit {
    uint32_t tree;
    const char *path;
    uint64_t lines;
};

/* One shard's matching files (in path order) through a tally into sum. */
static void shard(const struct hit *hits, size_t n)
{
    struct facet_tally *t = facet_tally_new();
    for (size_t i = 0; i < n; i++)
        facet_tally_file(t, hits[i].tree, hits[i].path, strlen(hits[i].path),
                         lang_of(hits[i].path, strlen(hits[i].path)), hits[i].lines);
    ck_assert_msg(facet_tally_send(t, 0, 1, capture, NULL) == 0, "the tally could not send");
    facet_tally_free(t);
}

static const struct facet_row *row(const struct facet_result *r, int kind, const char *key)
{
    for (size_t i = 0; i < r->n[kind]; i++)
        if (!strcmp(r->rows[kind][i].key, key))
            return &r->rows[kind][i];
    return NULL;
}

static void check_row(const struct facet_result *r, int kind, const char *key, uint64_t lines,
                      uint64_t files)
{
    const struct facet_row *x = row(r, kind, key);
    ck_assert_msg(x, "no row \"%s\" of kind %d", key, kind);
    ck_assert_msg(x->lines == lines && x->files == files,
                  "\"%s\": %llu lines %llu files, want %llu %llu", key,
                  (unsigned long long)x->lines, (unsigned long long)x->files,
                  (unsigned long long)lines, (unsigned long long)files);
}

/* Two shards whose files interleave in path order: each folder is the sum
 * of both, root files are in no folder, the busiest folder's subfolders
 * are listed and no other's, rows are busiest first. */
START_TEST(test_two_shards_summed)
{
    const struct hit a[] = {
        {0, "Makefile", 2},           {0, "arch/x86/boot.c", 3}, {0, "drivers/net/e1000.c", 5},
        {0, "drivers/usb/core.c", 1}, {0, "drivers/x.c", 4},     {0, "zlib.c", 1}};
    const struct hit b[] = {{0, "README", 1},
                            {0, "arch/arm/head.S", 2},
                            {0, "drivers/net/tg3.c", 7},
                            {0, "drivers/net/tg3.h", 1},
                            {0, "fs/ext4/inode.c", 30}};
    shard(a, sizeof a / sizeof a[0]);
    shard(b, sizeof b / sizeof b[0]);
    struct facet_result r;
    ck_assert_msg(facet_sum_result(sum, &r), "no result");
    ck_assert_msg(r.n[MSG_FACET_TOP] == 3, "%zu folders, want 3 (arch, drivers, fs)",
                  r.n[MSG_FACET_TOP]);
    check_row(&r, MSG_FACET_TOP, "drivers", 18, 5);
    check_row(&r, MSG_FACET_TOP, "fs", 30, 1);
    check_row(&r, MSG_FACET_TOP, "arch", 5, 2);
    ck_assert_msg(!strcmp(r.rows[MSG_FACET_TOP][0].key, "fs") &&
                      !strcmp(r.rows[MSG_FACET_TOP][1].key, "drivers"),
                  "folders not busiest first: %s, %s", r.rows[MSG_FACET_TOP][0].key,
                  r.rows[MSG_FACET_TOP][1].key);
    /* The busiest is fs: only its subfolders. */
    ck_assert_msg(r.n[MSG_FACET_SUB] == 1, "%zu subfolders, want 1", r.n[MSG_FACET_SUB]);
    check_row(&r, MSG_FACET_SUB, "fs/ext4", 30, 1);
    check_row(&r, MSG_FACET_LANG, "c", 52, 8);
    check_row(&r, MSG_FACET_LANG, "asm", 2, 1);
    check_row(&r, MSG_FACET_LANG, "make", 2, 1);
    check_row(&r, MSG_FACET_LANG, "", 1, 1); /* README */
    facet_result_free(&r);
    /* Asking again reads the same (the sum was merged in place). */
    ck_assert_msg(facet_sum_result(sum, &r) && r.n[MSG_FACET_TOP] == 3, "a second read differs");
    check_row(&r, MSG_FACET_TOP, "drivers", 18, 5);
    facet_result_free(&r);
}
END_TEST

/* Subfolders under the busiest only, by prefix and not by string start:
 * "drivers2/x" is not under "drivers". */
START_TEST(test_subfolders_of_the_busiest)
{
    const struct hit a[] = {{0, "drivers/net/a.c", 5},
                            {0, "drivers/usb/b.c", 9},
                            {0, "drivers2/x/c.c", 1},
                            {1, "drivers/zz/d.c", 1}};
    shard(a, sizeof a / sizeof a[0]);
    struct facet_result r;
    ck_assert(facet_sum_result(sum, &r));
    ck_assert_msg(r.n[MSG_FACET_SUB] == 2, "%zu subfolders, want 2", r.n[MSG_FACET_SUB]);
    ck_assert_msg(!strcmp(r.rows[MSG_FACET_SUB][0].key, "drivers/usb") &&
                      !strcmp(r.rows[MSG_FACET_SUB][1].key, "drivers/net"),
                  "subfolders %s, %s", r.rows[MSG_FACET_SUB][0].key, r.rows[MSG_FACET_SUB][1].key);
    /* The same folder name in another tree is another row. */
    ck_assert_msg(r.n[MSG_FACET_TOP] == 3, "%zu folders, want 3", r.n[MSG_FACET_TOP]);
    facet_result_free(&r);
}
END_TEST

/* Many folders: a tally spreads over several messages, and the document
 * shows the FACETS_SHOWN busiest. */
START_TEST(test_many_folders)
{
    size_t n = 3000;
    struct hit *h = xcalloc(n, sizeof *h);
    char **paths = xcalloc(n, sizeof *paths);
    for (size_t i = 0; i < n; i++) {
        paths[i] = xmalloc(64);
        /* Long keys, so the tally needs more than one message. */
        snprintf(paths[i], 64, "folder-with-a-long-name-%05zu/sub/file.c", i);
        h[i] = (struct hit){0, paths[i], i + 1};
    }
    shard(h, n);
    ck_assert_msg(nsent > 1, "%d message(s) for %zu folders", nsent, n);
    struct facet_result r;
    ck_assert(facet_sum_result(sum, &r));
    ck_assert_msg(r.n[MSG_FACET_TOP] == FACETS_SHOWN, "%zu folders shown", r.n[MSG_FACET_TOP]);
    ck_assert_msg(r.rows[MSG_FACET_TOP][0].lines == n &&
                      r.rows[MSG_FACET_TOP][FACETS_SHOWN - 1].lines == n - FACETS_SHOWN + 1,
                  "not the busiest: first %llu, last %llu",
                  (unsigned long long)r.rows[MSG_FACET_TOP][0].lines,
                  (unsigned long long)r.rows[MSG_FACET_TOP][FACETS_SHOWN - 1].lines);
    facet_result_free(&r);
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    free(h);
}
END_TEST

/* A send that fails stops the tally; a malformed message adds nothing. */
START_TEST(test_failures)
{
    struct facet_tally *t = facet_tally_new();
    facet_tally_file(t, 0, "a/b/c.c", 7, lang_of("c.c", 3), 1);
    fail_after = 0;
    ck_assert_msg(facet_tally_send(t, 0, 1, capture, NULL) < 0, "a failed send was not reported");
    facet_tally_free(t);

    struct msg_writer w;
    msg_writer_init(&w);
    msg_facets_begin(&w, 0, 1);
    ck_assert(msg_facets_add(
        &w, &(struct msg_facet){
                .kind = MSG_FACET_TOP, .key = "a", .key_len = 1, .lines = 1, .files = 1}));
    msg_facets_finish(&w);
    struct msg_header h;
    struct msg_reader r;
    ck_assert(msg_parse(w.data, w.len - 3, &h, &r) == SG_ERR); /* cut: the header says so */
    msg_reader_init(&r, w.data + MSG_HEADER_SIZE, w.len - MSG_HEADER_SIZE - 3);
    ck_assert_msg(facet_sum_add(sum, &r) < 0, "a cut payload was added");
    struct facet_result res;
    ck_assert(facet_sum_result(sum, &res));
    ck_assert_msg(res.n[MSG_FACET_TOP] == 0, "a malformed message left %zu rows",
                  res.n[MSG_FACET_TOP]);
    facet_result_free(&res);
    msg_writer_free(&w);
}
END_TEST

Suite *suite_facets(void)
{
    Suite *s = suite_create("facets");
    TCase *tc = tcase_create("tally_and_sum");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_two_shards_summed);
    tcase_add_test(tc, test_subfolders_of_the_busiest);
    tcase_add_test(tc, test_many_folders);
    tcase_add_test(tc, test_failures);
    suite_add_tcase(s, tc);
    return s;
}
