/*
 * check_reaper.c - unit tests for src/reaper.c: which connections the
 * reaper shuts, over real TCP connections on 127.0.0.1.
 *
 * Deadlines of 200 ms against a 500 ms tick: a connection past its
 * deadline must be shut within a generous bound (5 s), and one that is
 * not (silent, answering, removed) must still be open after 1.5 s, three
 * ticks.  Seen from the client: a shut connection reads EOF.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include "check_suites.h"
#include "reaper.h"
#include "util.h"

#define DEADLINE_MS 200
#define SHUT_WITHIN 5000.0
#define OPEN_FOR    1500.0

static struct reaper *r;
static int client = -1, server = -1;

static void setup(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(l, 0);
    ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(l, 1), 0);
    ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
    client = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(client, (struct sockaddr *)&a, sizeof a), 0);
    server = accept(l, NULL, NULL);
    ck_assert_int_ge(server, 0);
    close(l);
    r = reaper_start(DEADLINE_MS, DEADLINE_MS);
    ck_assert_ptr_nonnull(r);
}

static void teardown(void)
{
    reaper_free(r);
    close(client);
    close(server);
}

/* Whether the client reads EOF within ms, sending a byte every 100 ms
 * meanwhile if trickle (as a slow client would). */
static bool shut_within(double ms, bool trickle)
{
    double until = now_ms() + ms;
    while (now_ms() < until) {
        struct pollfd p = {.fd = client, .events = POLLIN};
        if (poll(&p, 1, 100) > 0) {
            char c;
            return recv(client, &c, 1, 0) <= 0;
        }
        if (trickle && send(client, "x", 1, MSG_NOSIGNAL) < 0)
            return true;
    }
    return false;
}

START_TEST(test_trickled_head_is_shut)
{
    reaper_add(r, server);
    ck_assert_msg(shut_within(SHUT_WITHIN, true),
                  "a head trickled a byte per 100 ms still open %.0f ms on, deadline %d ms",
                  SHUT_WITHIN, DEADLINE_MS);
}
END_TEST

START_TEST(test_silence_starts_no_clock)
{
    reaper_add(r, server);
    ck_assert_msg(!shut_within(OPEN_FOR, false),
                  "a connection that sent nothing was shut: the head's clock starts at its "
                  "first byte");
    ck_assert_msg(shut_within(SHUT_WITHIN, true), "then a trickled head was not shut");
}
END_TEST

START_TEST(test_answer_has_no_deadline)
{
    struct reaper_conn *k = reaper_add(r, server);
    reaper_set_phase(r, k, REAPER_BODY);
    reaper_set_phase(r, k, REAPER_ANSWER);
    ck_assert_msg(!shut_within(OPEN_FOR, true), "a connection in its answer was shut");
}
END_TEST

START_TEST(test_body_deadline)
{
    struct reaper_conn *k = reaper_add(r, server);
    reaper_set_phase(r, k, REAPER_BODY);
    ck_assert_msg(shut_within(SHUT_WITHIN, true), "a body past its deadline still open");
}
END_TEST

START_TEST(test_kept_alive_waits_for_its_next_head)
{
    struct reaper_conn *k = reaper_add(r, server);
    ck_assert_int_eq(send(client, "GET", 3, 0), 3); /* the first request's bytes */
    reaper_set_phase(r, k, REAPER_BODY);
    reaper_set_phase(r, k, REAPER_ANSWER);
    usleep(100000);
    reaper_set_phase(r, k, REAPER_HEAD); /* the answer was sent */
    ck_assert_msg(!shut_within(OPEN_FOR, false),
                  "a kept-alive connection silent after its answer was shut");
    ck_assert_msg(shut_within(SHUT_WITHIN, true), "then its trickled next head was not shut");
}
END_TEST

START_TEST(test_removed_is_left_alone)
{
    struct reaper_conn *k = reaper_add(r, server);
    reaper_set_phase(r, k, REAPER_BODY);
    reaper_remove(r, k);
    reaper_set_phase(r, NULL, REAPER_BODY); /* NULL is accepted */
    reaper_remove(r, NULL);
    ck_assert_msg(!shut_within(OPEN_FOR, true), "a removed connection was shut");
}
END_TEST

START_TEST(test_free_with_connections_listed)
{
    reaper_add(r, server);
    reaper_add(r, client);
    reaper_free(r); /* frees them (LeakSanitizer would say otherwise) */
    r = NULL;
    reaper_free(NULL);
}
END_TEST

Suite *suite_reaper(void)
{
    Suite *s = suite_create("reaper");
    TCase *tc = tcase_create("reaper");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_trickled_head_is_shut);
    tcase_add_test(tc, test_silence_starts_no_clock);
    tcase_add_test(tc, test_answer_has_no_deadline);
    tcase_add_test(tc, test_body_deadline);
    tcase_add_test(tc, test_kept_alive_waits_for_its_next_head);
    tcase_add_test(tc, test_removed_is_left_alone);
    tcase_add_test(tc, test_free_with_connections_listed);
    suite_add_tcase(s, tc);
    return s;
}
