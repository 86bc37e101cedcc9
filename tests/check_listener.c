/*
 * check_listener.c - unit tests for src/listener.c: binding by address
 * and by name, and the error lines a user sees when it cannot (with the
 * system's reason).  Only loopback addresses are bound.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include "check_suites.h"
#include "listener.h"
#include "util.h"

static char err[SG_ERRLEN];

/* Whether a client can connect to port at the IPv4 loopback address. */
static bool connects(unsigned port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

START_TEST(test_open_numeric)
{
    struct listener *l = listener_open("127.0.0.1", 0, err, sizeof err);
    ck_assert_msg(l != NULL, "127.0.0.1 port 0: %s", err);
    unsigned port = listener_port(l);
    ck_assert_msg(port > 0 && port < 65536, "port %u", port);
    ck_assert_msg(listener_is_loopback(l), "127.0.0.1 is not loopback");
    ck_assert_msg(connects(port), "nothing listens on port %u", port);
    int fd = listener_release(l);
    ck_assert_int_ge(fd, 3);
    close(fd);
    listener_close(NULL);
}
END_TEST

START_TEST(test_port_in_use)
{
    struct listener *a = listener_open("127.0.0.1", 0, err, sizeof err);
    ck_assert_msg(a != NULL, "%s", err);
    unsigned port = listener_port(a);
    char want[128];
    snprintf(want, sizeof want, "cannot listen on 127.0.0.1 port %u: %s", port,
             strerror(EADDRINUSE));
    ck_assert_ptr_null(listener_open("127.0.0.1", port, err, sizeof err));
    ck_assert_msg(!strcmp(err, want), "error \"%s\", want \"%s\"", err, want);
    ck_assert_ptr_null(listener_open("localhost", port, err, sizeof err));
    ck_assert_msg(strstr(err, "port") && strstr(err, strerror(EADDRINUSE)) &&
                      !strncmp(err, "cannot listen on localhost", 26),
                  "error \"%s\" for localhost", err);
    listener_close(a);
}
END_TEST

START_TEST(test_open_by_name)
{
    struct listener *l = listener_open("localhost", 0, err, sizeof err);
    ck_assert_msg(l != NULL, "localhost: %s", err);
    ck_assert_msg(listener_is_loopback(l), "localhost is not loopback");
    listener_close(l);
}
END_TEST

START_TEST(test_name_that_does_not_resolve)
{
    ck_assert_ptr_null(listener_open("no-such-host.invalid", 0, err, sizeof err));
    const char *want = "cannot listen on no-such-host.invalid: ";
    ck_assert_msg(!strncmp(err, want, strlen(want)) && strlen(err) > strlen(want), "error \"%s\"",
                  err);
}
END_TEST

START_TEST(test_address_not_here)
{
    ck_assert_ptr_null(listener_open("192.0.2.1", 0, err, sizeof err));
    char want[128];
    snprintf(want, sizeof want, "cannot listen on 192.0.2.1 port 0: %s", strerror(EADDRNOTAVAIL));
    ck_assert_msg(!strcmp(err, want), "error \"%s\", want \"%s\"", err, want);
}
END_TEST

START_TEST(test_ipv6_loopback)
{
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool have = probe >= 0 && bind(probe, (struct sockaddr *)&a, sizeof a) == 0;
    if (probe >= 0)
        close(probe);
    if (!have)
        return; /* no IPv6 here: nothing to check */
    struct listener *l = listener_open("::1", 0, err, sizeof err);
    ck_assert_msg(l != NULL, "::1: %s", err);
    ck_assert_msg(listener_is_loopback(l), "::1 is not loopback");
    ck_assert_msg(listener_port(l) > 0, "port %u", listener_port(l));
    listener_close(l);
}
END_TEST

Suite *suite_listener(void)
{
    Suite *s = suite_create("listener");
    TCase *tc = tcase_create("listener_open");
    tcase_add_test(tc, test_open_numeric);
    tcase_add_test(tc, test_port_in_use);
    tcase_add_test(tc, test_open_by_name);
    tcase_add_test(tc, test_name_that_does_not_resolve);
    tcase_add_test(tc, test_address_not_here);
    tcase_add_test(tc, test_ipv6_loopback);
    suite_add_tcase(s, tc);
    return s;
}
