/*
 * check_shard.c - unit tests for src/shard.c: assigning files to shards
 * and counting what each shard holds.
 *
 * The properties come from shard.h: every file lands in exactly one shard
 * in range, the assignment depends only on the list, and shards differ in
 * size by at most the largest file.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_suites.h"
#include "shard.h"
#include "util.h"
#include "walk.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static struct file_list list;

static void setup(void)
{
    memset(&list, 0, sizeof list);
}

static void teardown(void)
{
    file_list_free(&list);
}

static void add(uint64_t size)
{
    char path[32];
    if (list.n == list.cap) {
        list.cap = list.cap ? 2 * list.cap : 64;
        list.v = xrealloc(list.v, list.cap * sizeof *list.v);
    }
    snprintf(path, sizeof path, "f%05zu", list.n);
    list.v[list.n].path = xstrdup(path);
    list.v[list.n].stamp.size = size;
    list.v[list.n].shard = 0xdead; /* must be overwritten */
    list.bytes += size;
    list.n++;
}

/* A deterministic spread of sizes, zeros and a few large files included. */
static void add_mixed(size_t n)
{
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        uint32_t r = (x >> 8) % 1000;
        add(r < 50 ? 0 : r < 950 ? r * 7 : 100000 + r);
    }
}

static uint64_t largest(void)
{
    uint64_t big = 0;
    for (size_t i = 0; i < list.n; i++)
        if (list.v[i].stamp.size > big)
            big = list.v[i].stamp.size;
    return big;
}

/* Every file in range; the totals add up to the list. */
static void check_partition(unsigned nshards)
{
    size_t files = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < list.n; i++)
        ck_assert_msg(list.v[i].shard < nshards, "%u shards: file %zu in shard %u", nshards, i,
                      list.v[i].shard);
    for (unsigned s = 0; s < nshards; s++) {
        size_t f;
        uint64_t b;
        shard_totals(&list, s, &f, &b);
        files += f;
        bytes += b;
    }
    ck_assert_msg(files == list.n && bytes == list.bytes,
                  "%u shards: totals give %zu files, %llu bytes; the list has %zu, %llu", nshards,
                  files, (unsigned long long)bytes, list.n, (unsigned long long)list.bytes);
}

/* Largest minus smallest shard, in bytes. */
static uint64_t spread(unsigned nshards)
{
    uint64_t lo = UINT64_MAX, hi = 0;
    for (unsigned s = 0; s < nshards; s++) {
        size_t f;
        uint64_t b;
        shard_totals(&list, s, &f, &b);
        if (b < lo)
            lo = b;
        if (b > hi)
            hi = b;
    }
    return hi - lo;
}

/* ------------------------------------------------------------------ */
/* shard_assign                                                        */
/* ------------------------------------------------------------------ */

START_TEST(test_assign_in_range)
{
    add_mixed(500);
    for (unsigned n = 1; n <= 9; n++) {
        shard_assign(&list, n);
        check_partition(n);
    }
}
END_TEST

START_TEST(test_assign_balanced)
{
    add_mixed(500);
    uint64_t big = largest();
    for (unsigned n = 2; n <= 9; n++) {
        shard_assign(&list, n);
        uint64_t d = spread(n);
        ck_assert_msg(d <= big, "%u shards differ by %llu bytes, more than the largest file (%llu)",
                      n, (unsigned long long)d, (unsigned long long)big);
    }
}
END_TEST

START_TEST(test_assign_balanced_many_empty)
{
    /* Small files and empty ones in turn: (1, 0, 0) x 30.  shard.h
     * promises shards differ in size by at most the largest file (1 byte). */
    for (int i = 0; i < 30; i++) {
        add(1);
        add(0);
        add(0);
    }
    shard_assign(&list, 2);
    check_partition(2);
    uint64_t d = spread(2);
    ck_assert_msg(d <= largest(),
                  "files (1,0,0)x30 over 2 shards: shards differ by %llu bytes, more than the "
                  "largest file (%llu)",
                  (unsigned long long)d, (unsigned long long)largest());
}
END_TEST

START_TEST(test_assign_greedy_order)
{
    /* Path order, fewest bytes first, ties to the lowest index. */
    static const uint64_t sizes[] = {10, 5, 3, 4, 0, 20};
    /* loads counted as size + 1: s0 11 | s1 6, 10, 15 | s0 12 | s0 33 */
    static const uint32_t want[] = {0, 1, 1, 1, 0, 0};
    for (size_t i = 0; i < NCASES(sizes); i++)
        add(sizes[i]);
    shard_assign(&list, 2);
    for (size_t i = 0; i < NCASES(want); i++)
        ck_assert_msg(list.v[i].shard == want[i], "file %zu (size %llu) in shard %u, want %u", i,
                      (unsigned long long)sizes[i], list.v[i].shard, want[i]);
    /* equal files go round the shards in order */
    file_list_free(&list);
    for (int i = 0; i < 6; i++)
        add(100);
    shard_assign(&list, 3);
    for (size_t i = 0; i < 6; i++)
        ck_assert_msg(list.v[i].shard == i % 3, "equal file %zu in shard %u, want %zu", i,
                      list.v[i].shard, i % 3);
}
END_TEST

START_TEST(test_assign_deterministic)
{
    add_mixed(300);
    shard_assign(&list, 5);
    uint32_t *first = xmalloc(list.n * sizeof *first);
    for (size_t i = 0; i < list.n; i++) {
        first[i] = list.v[i].shard;
        list.v[i].shard = (uint32_t)(i * 7919); /* stale values must not matter */
    }
    shard_assign(&list, 5);
    size_t differ = list.n;
    for (size_t i = 0; i < list.n && differ == list.n; i++)
        if (list.v[i].shard != first[i])
            differ = i;
    uint32_t was = differ < list.n ? first[differ] : 0;
    free(first);
    ck_assert_msg(differ == list.n, "second assignment differs at file %zu: shard %u, then %u",
                  differ, was, differ < list.n ? list.v[differ].shard : 0);
}
END_TEST

START_TEST(test_assign_one_shard)
{
    add_mixed(50);
    shard_assign(&list, 1);
    for (size_t i = 0; i < list.n; i++)
        ck_assert_msg(list.v[i].shard == 0, "1 shard: file %zu in shard %u", i, list.v[i].shard);
    size_t f;
    uint64_t b;
    shard_totals(&list, 0, &f, &b);
    ck_assert_msg(f == list.n && b == list.bytes, "shard 0 holds %zu files, %llu bytes", f,
                  (unsigned long long)b);
}
END_TEST

START_TEST(test_assign_more_shards_than_files)
{
    /* Each file gets a shard of its own, empty files included. */
    add(500);
    add(0);
    add(7);
    shard_assign(&list, 8);
    check_partition(8);
    for (size_t i = 0; i < list.n; i++)
        ck_assert_msg(list.v[i].shard == i, "file %zu in shard %u, want %zu", i, list.v[i].shard,
                      i);
    for (unsigned s = 3; s < 8; s++) {
        size_t f = 99;
        uint64_t b = 99;
        shard_totals(&list, s, &f, &b);
        ck_assert_msg(f == 0 && b == 0, "unused shard %u holds %zu files, %llu bytes", s, f,
                      (unsigned long long)b);
    }
}
END_TEST

START_TEST(test_assign_empty_list)
{
    shard_assign(&list, 4);
    size_t f = 99;
    uint64_t b = 99;
    shard_totals(&list, 0, &f, &b);
    ck_assert_msg(f == 0 && b == 0, "an empty list: %zu files, %llu bytes", f,
                  (unsigned long long)b);
}
END_TEST

/* ------------------------------------------------------------------ */
/* shard_totals                                                        */
/* ------------------------------------------------------------------ */

START_TEST(test_totals)
{
    static const uint64_t sizes[] = {10, 0, 30, 40, 5};
    static const uint32_t shards[] = {1, 1, 0, 2, 1};
    for (size_t i = 0; i < NCASES(sizes); i++) {
        add(sizes[i]);
        list.v[i].shard = shards[i];
    }
    static const struct {
        unsigned shard;
        size_t files;
        uint64_t bytes;
    } want[] = {{0, 1, 30}, {1, 3, 15}, {2, 1, 40}, {3, 0, 0}};
    for (size_t i = 0; i < NCASES(want); i++) {
        size_t f = 99;
        uint64_t b = 99;
        shard_totals(&list, want[i].shard, &f, &b);
        ck_assert_msg(f == want[i].files && b == want[i].bytes,
                      "shard_totals(%u) = %zu files, %llu bytes; want %zu, %llu", want[i].shard, f,
                      (unsigned long long)b, want[i].files, (unsigned long long)want[i].bytes);
    }
}
END_TEST

Suite *suite_shard(void)
{
    Suite *s = suite_create("shard");
    TCase *tc;

    tc = tcase_create("shard_assign");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_assign_in_range);
    tcase_add_test(tc, test_assign_balanced);
    tcase_add_test(tc, test_assign_balanced_many_empty);
    tcase_add_test(tc, test_assign_greedy_order);
    tcase_add_test(tc, test_assign_deterministic);
    tcase_add_test(tc, test_assign_one_shard);
    tcase_add_test(tc, test_assign_more_shards_than_files);
    tcase_add_test(tc, test_assign_empty_list);
    suite_add_tcase(s, tc);

    tc = tcase_create("shard_totals");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_totals);
    suite_add_tcase(s, tc);

    return s;
}
