/*
 * check_api.c - unit tests for the answer budget of src/api.c
 * (--answer-memory): what api_answer_reserve() admits and refuses, and
 * that a refusal reserves nothing.
 */
#include <check.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "api.h"
#include "check_suites.h"

#define MIB ((size_t)1 << 20)

static size_t held(struct answer_budget *b)
{
    return atomic_load(&b->held);
}

START_TEST(test_within_budget)
{
    struct answer_budget b = {.max = 8 * MIB};
    ck_assert(api_answer_reserve(&b, 3 * MIB));
    ck_assert(api_answer_reserve(&b, 5 * MIB)); /* exactly full */
    ck_assert_uint_eq(held(&b), 8 * MIB);
    ck_assert(!api_answer_reserve(&b, 1 * MIB));
    ck_assert_uint_eq(held(&b), 8 * MIB); /* the refusal reserved nothing */
    api_answer_release(&b, 3 * MIB);
    ck_assert(api_answer_reserve(&b, 1 * MIB));
    ck_assert_uint_eq(held(&b), 6 * MIB);
}
END_TEST

START_TEST(test_small_always_go)
{
    struct answer_budget b = {.max = 1 * MIB};
    ck_assert(api_answer_reserve(&b, 4 * MIB)); /* nothing held: the big one goes */
    for (int i = 0; i < 10; i++)
        ck_assert(api_answer_reserve(&b, API_ANSWER_SMALL));
    ck_assert_uint_eq(held(&b), 4 * MIB + 10 * (size_t)API_ANSWER_SMALL);
    ck_assert(!api_answer_reserve(&b, API_ANSWER_SMALL + 1));
}
END_TEST

/* One answer bigger than the whole budget goes when no more than a small
 * answer's worth is held (a small answer read by its client, not yet
 * released by the HTTP layer); past that it waits its turn. */
START_TEST(test_big_one_past_small_ones)
{
    struct answer_budget b = {.max = 1 * MIB};
    ck_assert(api_answer_reserve(&b, 300)); /* a small answer being sent */
    ck_assert(api_answer_reserve(&b, 300 * MIB));
    ck_assert_uint_eq(held(&b), 300 * MIB + 300);
    ck_assert(!api_answer_reserve(&b, 2 * MIB)); /* the big one holds it all */
    api_answer_release(&b, 300 * MIB);

    ck_assert(api_answer_reserve(&b, API_ANSWER_SMALL - 300)); /* held: exactly one small */
    ck_assert(api_answer_reserve(&b, 2 * MIB));
    api_answer_release(&b, 2 * MIB);
    ck_assert(api_answer_reserve(&b, 1)); /* one byte past a small answer's worth */
    ck_assert(!api_answer_reserve(&b, 2 * MIB));
    ck_assert_uint_eq(held(&b), (size_t)API_ANSWER_SMALL + 1);
}
END_TEST

START_TEST(test_uncounted)
{
    ck_assert(api_answer_reserve(NULL, 100 * MIB));
    api_answer_release(NULL, 100 * MIB);
    struct answer_budget b = {.max = 1 * MIB};
    api_answer_release(&b, 0);
    ck_assert_uint_eq(held(&b), 0);
}
END_TEST

Suite *suite_api(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("api_answer_reserve");
    tcase_add_test(tc, test_within_budget);
    tcase_add_test(tc, test_small_always_go);
    tcase_add_test(tc, test_big_one_past_small_ones);
    tcase_add_test(tc, test_uncounted);
    suite_add_tcase(s, tc);
    return s;
}
