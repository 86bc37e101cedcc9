/*
 * check_options.c - unit tests for src/options.c: the command line as
 * options_parse() reads it (it never prints or exits, so every result can
 * be checked here), and sizes with K/M/G suffixes.
 *
 * getopt keeps state between calls; the fixture resets it completely
 * (optind = 0) before each test so that one test cannot leak into the
 * next.  Whether options_parse() itself may be called twice is a test of
 * its own.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "check_suites.h"
#include "options.h"
#include "util.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))
#define MAXARGS   32

static struct options o;
static char err[SG_ERRLEN];

static void setup(void)
{
    char *dummy[] = {(char *)"check", NULL};
    optind = 0; /* glibc: a full re-initialisation */
    opterr = 0;
    while (getopt_long(1, dummy, "", NULL, NULL) != -1)
        ;
    memset(&o, 0, sizeof o);
    err[0] = '\0';
}

/* Parse "shardgrep" followed by the NULL-terminated arguments. */
static enum options_result parse_v(const char *const *args)
{
    char *argv[MAXARGS + 2];
    int argc = 0;
    argv[argc++] = (char *)"shardgrep";
    for (; *args && argc <= MAXARGS; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    err[0] = '\0';
    return options_parse(&o, argc, argv, err, sizeof err);
}

#define PARSE(...) parse_v((const char *const[]){__VA_ARGS__, NULL})

/* "--port 5 --bind x" for messages */
static const char *joined(const char *const *args)
{
    static char buf[256];
    size_t n = 0;
    buf[0] = '\0';
    for (; *args && n < sizeof buf - 1; args++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? " " : "", *args);
    return buf;
}

static unsigned expected_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > OPT_WORKERS_MAX ? OPT_WORKERS_MAX : (unsigned)n;
}

/* ------------------------------------------------------------------ */
/* options_parse                                                       */
/* ------------------------------------------------------------------ */

START_TEST(test_parse_defaults)
{
    const char *const none[] = {NULL};
    enum options_result r = parse_v(none);
    ck_assert_msg(r == OPTIONS_RUN, "no arguments: result %d, want OPTIONS_RUN (%s)", r, err);
    ck_assert_msg(o.ntrees == 0 && o.web_root == NULL, "%u trees, web_root %s", o.ntrees,
                  o.web_root);
    ck_assert_msg(o.bind && strcmp(o.bind, "127.0.0.1") == 0, "bind %s", o.bind);
    ck_assert_msg(o.port == 8080, "port %u, want 8080", o.port);
    ck_assert_msg(o.workers == expected_workers(), "workers %u, want %u (online CPUs)", o.workers,
                  expected_workers());
    ck_assert_msg(o.max_file_size == 16u * 1024 * 1024, "max_file_size %llu, want 16M",
                  (unsigned long long)o.max_file_size);
    ck_assert_msg(!o.no_ignore, "no_ignore set by default");
    ck_assert_msg(o.segment_bytes == 64ull << 20, "segment_bytes %llu, want 64M",
                  (unsigned long long)o.segment_bytes);
    ck_assert_msg(o.keep_queries == 1000 && o.keep_seconds == 600 && o.timeout_ms == 10000,
                  "keep_queries %u keep_seconds %u timeout_ms %u", o.keep_queries, o.keep_seconds,
                  o.timeout_ms);
    ck_assert_msg(o.keep_memory == 1ull << 30 && o.query_memory == 256ull << 20 &&
                      o.answer_memory == 1ull << 30,
                  "keep_memory %llu query_memory %llu answer_memory %llu, want 1G, 256M, 1G",
                  (unsigned long long)o.keep_memory, (unsigned long long)o.query_memory,
                  (unsigned long long)o.answer_memory);
    ck_assert_msg(o.head_timeout_s == 10 && o.body_timeout_s == 30,
                  "head_timeout_s %u body_timeout_s %u, want 10 and 30", o.head_timeout_s,
                  o.body_timeout_s);
}
END_TEST

START_TEST(test_parse_memory)
{
    enum options_result r =
        PARSE("--keep-memory", "4G", "--query-memory", "512M", "--answer-memory", "3M");
    ck_assert_msg(r == OPTIONS_RUN, "result %d: %s", r, err);
    ck_assert_msg(o.keep_memory == 4ull << 30 && o.query_memory == 512ull << 20 &&
                      o.answer_memory == 3ull << 20,
                  "keep_memory %llu query_memory %llu answer_memory %llu",
                  (unsigned long long)o.keep_memory, (unsigned long long)o.query_memory,
                  (unsigned long long)o.answer_memory);
    r = PARSE("--keep-memory", "1M", "--query-memory", "1M");
    ck_assert_msg(r == OPTIONS_RUN, "the smallest sizes refused: %s", err);
    r = PARSE("--keep-memory", "1024G", "--query-memory", "1024G");
    ck_assert_msg(r == OPTIONS_RUN, "the largest sizes refused: %s", err);

    static const char *const bad[][2] = {
        {"--keep-memory", "0"},    {"--keep-memory", "1023K"}, {"--keep-memory", "1025G"},
        {"--keep-memory", "lots"}, {"--query-memory", ""},     {"--query-memory", "-1M"},
        {"--query-memory", "2T"},  {"--query-memory", "512"},  {"--answer-memory", "0"},
        {"--answer-memory", "1x"},
    };
    for (size_t i = 0; i < NCASES(bad); i++) {
        r = PARSE(bad[i][0], bad[i][1]);
        ck_assert_msg(r == OPTIONS_ERROR, "%s '%s' accepted", bad[i][0], bad[i][1]);
        ck_assert_msg(strstr(err, bad[i][0]) && strstr(err, bad[i][1]),
                      "%s '%s': message \"%s\" names neither option nor value", bad[i][0],
                      bad[i][1], err);
    }
    /* One finished query must fit in what is kept. */
    r = PARSE("--keep-memory", "64M", "--query-memory", "65M");
    ck_assert_msg(r == OPTIONS_ERROR && strstr(err, "--query-memory") &&
                      strstr(err, "--keep-memory"),
                  "query-memory over keep-memory: result %d, \"%s\"", r, err);
    r = PARSE("--query-memory", "2G");
    ck_assert_msg(r == OPTIONS_ERROR, "query-memory 2G over the default keep-memory accepted");
}
END_TEST

START_TEST(test_parse_long_options)
{
    enum options_result r =
        PARSE("--port", "0", "--bind", "0.0.0.0", "--workers", "3", "--max-file-size", "512K",
              "--no-ignore", "--web-root", "/srv/web", "--keep-queries", "5", "--keep-seconds", "7",
              "--timeout-ms", "250", "/data/src");
    ck_assert_msg(r == OPTIONS_RUN, "result %d: %s", r, err);
    ck_assert_msg(o.port == 0 && strcmp(o.bind, "0.0.0.0") == 0 && o.workers == 3,
                  "port %u bind %s workers %u", o.port, o.bind, o.workers);
    ck_assert_msg(o.max_file_size == 512 * 1024, "max_file_size %llu, want 524288",
                  (unsigned long long)o.max_file_size);
    ck_assert_msg(o.no_ignore && o.web_root && strcmp(o.web_root, "/srv/web") == 0,
                  "no_ignore %d web_root %s", o.no_ignore, o.web_root);
    ck_assert_msg(o.keep_queries == 5 && o.keep_seconds == 7 && o.timeout_ms == 250,
                  "keep_queries %u keep_seconds %u timeout_ms %u", o.keep_queries, o.keep_seconds,
                  o.timeout_ms);
    ck_assert_msg(o.ntrees == 1 && strcmp(o.roots[0], "/data/src") == 0 &&
                      strcmp(o.tree_names[0], "src") == 0,
                  "%u trees, root %s named %s", o.ntrees, o.roots[0], o.tree_names[0]);
}
END_TEST

START_TEST(test_parse_trees)
{
    enum options_result r = PARSE("/a/linux/", "web=/srv/site", "x/odd,name", "b=c=d");
    ck_assert_msg(r == OPTIONS_RUN && o.ntrees == 4, "result %d, %u trees (%s)", r, o.ntrees, err);
    ck_assert_msg(!strcmp(o.tree_names[0], "linux") && !strcmp(o.roots[0], "/a/linux/"),
                  "tree 0: %s=%s", o.tree_names[0], o.roots[0]);
    ck_assert_msg(!strcmp(o.tree_names[1], "web") && !strcmp(o.roots[1], "/srv/site"),
                  "tree 1: %s=%s", o.tree_names[1], o.roots[1]);
    ck_assert_msg(!strcmp(o.tree_names[2], "odd_name"), "tree 2 named %s", o.tree_names[2]);
    ck_assert_msg(!strcmp(o.tree_names[3], "b") && !strcmp(o.roots[3], "c=d"), "tree 3: %s=%s",
                  o.tree_names[3], o.roots[3]);
    r = PARSE("/a/src", "/b/src");
    ck_assert_msg(r == OPTIONS_ERROR && strstr(err, "two trees are named 'src'"),
                  "two trees named src: result %d (%s)", r, err);
    r = PARSE("one=/a/src", "two=/b/src");
    ck_assert_msg(r == OPTIONS_RUN && o.ntrees == 2, "named apart: result %d (%s)", r, err);
    r = PARSE("name=");
    ck_assert_msg(r == OPTIONS_ERROR && strstr(err, "folder is missing"), "NAME= alone: %d (%s)", r,
                  err);
}
END_TEST

START_TEST(test_parse_short_and_equals)
{
    enum options_result r = PARSE("-p", "9", "-b", "::1", "-w", "2");
    ck_assert_msg(r == OPTIONS_RUN && o.port == 9 && strcmp(o.bind, "::1") == 0 && o.workers == 2,
                  "-p 9 -b ::1 -w 2: result %d port %u bind %s workers %u (%s)", r, o.port, o.bind,
                  o.workers, err);
    r = PARSE("--port=123", "--workers=4", "--max-file-size=16M");
    ck_assert_msg(r == OPTIONS_RUN && o.port == 123 && o.workers == 4 &&
                      o.max_file_size == 16u * 1024 * 1024,
                  "--opt=value: result %d port %u workers %u max %llu (%s)", r, o.port, o.workers,
                  (unsigned long long)o.max_file_size, err);
    r = PARSE("-p123", "-w7");
    ck_assert_msg(r == OPTIONS_RUN && o.port == 123 && o.workers == 7,
                  "-p123 -w7: result %d port %u workers %u", r, o.port, o.workers);
    /* the folder may come first, and the last of a repeated option wins */
    r = PARSE("corpus", "--port", "1", "--port", "2");
    ck_assert_msg(r == OPTIONS_RUN && o.port == 2 && o.ntrees == 1 &&
                      strcmp(o.roots[0], "corpus") == 0,
                  "DIR first: result %d port %u root %s", r, o.port, o.roots[0]);
    r = PARSE("--", "-odd-name");
    ck_assert_msg(r == OPTIONS_RUN && o.ntrees == 1 && strcmp(o.roots[0], "-odd-name") == 0,
                  "-- DIR: result %d root %s (%s)", r, o.roots[0], err);
}
END_TEST

START_TEST(test_parse_max_file_size)
{
    static const struct {
        const char *arg;
        uint64_t want;
    } ok[] = {
        {"512K", 512ull * 1024}, {"16M", 16ull << 20}, {"1G", 1ull << 30}, {"1", 1},
        {"1024m", 1ull << 30},
    };
    for (size_t i = 0; i < NCASES(ok); i++) {
        enum options_result r = PARSE("--max-file-size", ok[i].arg);
        ck_assert_msg(r == OPTIONS_RUN && o.max_file_size == ok[i].want,
                      "--max-file-size %s: result %d size %llu, want %llu (%s)", ok[i].arg, r,
                      (unsigned long long)o.max_file_size, (unsigned long long)ok[i].want, err);
    }
    static const char *const bad[] = {"x", "0", "0K", "", "16Q", "1.5M", "-1", "1073741825"};
    for (size_t i = 0; i < NCASES(bad); i++) {
        enum options_result r = PARSE("--max-file-size", bad[i]);
        ck_assert_msg(r == OPTIONS_ERROR, "--max-file-size '%s' accepted (%llu)", bad[i],
                      (unsigned long long)o.max_file_size);
        ck_assert_msg(strstr(err, "--max-file-size") != NULL && strstr(err, bad[i]) != NULL,
                      "--max-file-size '%s': message \"%s\"", bad[i], err);
    }
}
END_TEST

START_TEST(test_parse_segment_size)
{
    enum options_result r = PARSE("--segment-size", "4K");
    ck_assert_msg(r == OPTIONS_RUN && o.segment_bytes == 4096, "--segment-size 4K: %d %llu (%s)", r,
                  (unsigned long long)o.segment_bytes, err);
    r = PARSE("--segment-size=2G");
    ck_assert_msg(r == OPTIONS_RUN && o.segment_bytes == 2ull << 30, "--segment-size=2G: %d %llu",
                  r, (unsigned long long)o.segment_bytes);
    static const char *const bad[] = {"x", "0", "4095", "", "1.5M", "-1", "2T"};
    for (size_t i = 0; i < NCASES(bad); i++) {
        r = PARSE("--segment-size", bad[i]);
        ck_assert_msg(r == OPTIONS_ERROR, "--segment-size '%s' accepted (%llu)", bad[i],
                      (unsigned long long)o.segment_bytes);
        ck_assert_msg(strstr(err, "--segment-size") != NULL && strstr(err, "at least 4K") != NULL,
                      "--segment-size '%s': message \"%s\"", bad[i], err);
    }
}
END_TEST

START_TEST(test_parse_max_file_size_over_1g)
{
    /* The help and the error message say "at most 1G"; 1073741825 bytes
     * is refused, and so must be the same limit written with a suffix. */
    static const char *const over[] = {"2G", "1025M", "1048577K"};
    for (size_t i = 0; i < NCASES(over); i++) {
        enum options_result r = PARSE("--max-file-size", over[i]);
        ck_assert_msg(r == OPTIONS_ERROR,
                      "--max-file-size %s accepted as %llu bytes, more than 1G (%llu)", over[i],
                      (unsigned long long)o.max_file_size, (unsigned long long)OPT_FILE_SIZE_MAX);
    }
}
END_TEST

START_TEST(test_parse_out_of_range)
{
    static const struct {
        const char *opt, *arg;
    } c[] = {
        {"--port", "65536"},     {"--port", "-1"},
        {"--port", "abc"},       {"--port", ""},
        {"--workers", "0"},      {"--workers", "257"},
        {"--keep-queries", "0"}, {"--keep-queries", "1000001"},
        {"--keep-seconds", "0"}, {"--keep-seconds", "604801"},
        {"--timeout-ms", "0"},   {"--timeout-ms", "3600001"},
        {"--head-timeout", "0"}, {"--head-timeout", "3601"},
        {"--body-timeout", "0"}, {"--body-timeout", "x"},
        {"-p", "70000"},         {"-w", "x"},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        enum options_result r = PARSE(c[i].opt, c[i].arg);
        ck_assert_msg(r == OPTIONS_ERROR, "%s '%s' accepted", c[i].opt, c[i].arg);
        const char *name = c[i].opt[1] == '-'   ? c[i].opt + 2
                           : c[i].opt[1] == 'p' ? "port"
                                                : "workers";
        ck_assert_msg(strstr(err, name) != NULL && strstr(err, c[i].arg) != NULL,
                      "%s '%s': message \"%s\" names neither option nor value", c[i].opt, c[i].arg,
                      err);
    }
    /* the bounds themselves are accepted */
    static const char *const edges[][2] = {
        {"--port", "65535"},           {"--workers", "256"},         {"--workers", "1"},
        {"--keep-queries", "1000000"}, {"--keep-seconds", "604800"}, {"--timeout-ms", "3600000"},
        {"--timeout-ms", "1"},         {"--head-timeout", "1"},      {"--body-timeout", "3600"},
    };
    for (size_t i = 0; i < NCASES(edges); i++) {
        enum options_result r = PARSE(edges[i][0], edges[i][1]);
        ck_assert_msg(r == OPTIONS_RUN, "%s %s refused: %s", edges[i][0], edges[i][1], err);
    }
}
END_TEST

START_TEST(test_parse_unknown_and_missing)
{
    static const struct {
        const char *const args[3];
        const char *in_message;
    } c[] = {
        {{"--bogus", NULL, NULL}, "--bogus"},
        {{"-z", NULL, NULL}, "-z"},
        {{"--port", NULL, NULL}, "--port"},
        {{"-p", NULL, NULL}, "-p"},
        {{"--bind", NULL, NULL}, "--bind"},
        {{"DIR", "--web-root", NULL}, "--web-root"},
        {{"--no-ignore=yes", NULL, NULL}, "--no-ignore"},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        setup();
        enum options_result r = parse_v(c[i].args);
        ck_assert_msg(r == OPTIONS_ERROR, "%s: result %d, want OPTIONS_ERROR", joined(c[i].args),
                      r);
        ck_assert_msg(strstr(err, c[i].in_message) != NULL, "%s: message \"%s\" lacks \"%s\"",
                      joined(c[i].args), err, c[i].in_message);
    }
    setup();
    PARSE("--port");
    ck_assert_msg(strstr(err, "value") != NULL, "missing value: message \"%s\"", err);
    setup();
    PARSE("--bogus");
    ck_assert_msg(strstr(err, "unknown") != NULL, "unknown option: message \"%s\"", err);
}
END_TEST

START_TEST(test_parse_unknown_bundled)
{
    /* "-zq": the message names the unknown option, not another argument. */
    enum options_result r = PARSE("-zq");
    ck_assert_msg(r == OPTIONS_ERROR, "-zq: result %d", r);
    ck_assert_msg(strstr(err, "-z") != NULL && strstr(err, "shardgrep") == NULL,
                  "-zq: message \"%s\" does not name -z", err);
}
END_TEST

START_TEST(test_parse_two_dirs)
{
    /* Several trees (issue "A living index"): folders around options. */
    enum options_result r = PARSE("a", "--port", "1", "b");
    ck_assert_msg(r == OPTIONS_RUN && o.ntrees == 2 && !strcmp(o.roots[1], "b"),
                  "two folders around an option: result %d, %u trees (%s)", r, o.ntrees, err);
}
END_TEST

START_TEST(test_parse_help_version)
{
    static const struct {
        const char *const args[3];
        enum options_result want;
    } c[] = {
        {{"--help", NULL, NULL}, OPTIONS_HELP},       {{"-h", NULL, NULL}, OPTIONS_HELP},
        {{"--version", NULL, NULL}, OPTIONS_VERSION}, {{"-V", NULL, NULL}, OPTIONS_VERSION},
        {{"--port", "1", NULL}, OPTIONS_RUN},         {{"--port", "1", "--help"}, OPTIONS_HELP},
        {{"DIR", "-V", NULL}, OPTIONS_VERSION},       {{"--bogus", "--help", NULL}, OPTIONS_ERROR},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        setup();
        enum options_result r = parse_v(c[i].args);
        ck_assert_msg(r == c[i].want, "%s: result %d, want %d", joined(c[i].args), r, c[i].want);
    }
}
END_TEST

START_TEST(test_parse_twice)
{
    /* options_parse() is meant to be callable more than once (options.h:
     * it never exits, so it can be tested); a previous call that stopped
     * in the middle of "-hV" must not leak into the next one. */
    enum options_result first = PARSE("-hV");
    const char *const none[] = {NULL};
    enum options_result second = parse_v(none);
    ck_assert_msg(first == OPTIONS_HELP, "-hV: result %d, want OPTIONS_HELP", first);
    ck_assert_msg(second == OPTIONS_RUN,
                  "no arguments after a call with \"-hV\": result %d, want OPTIONS_RUN (%d)",
                  second, OPTIONS_RUN);
}
END_TEST

/* ------------------------------------------------------------------ */
/* options_help                                                        */
/* ------------------------------------------------------------------ */

START_TEST(test_help_text)
{
    static const char *const opts[] = {
        "--port",          "--bind",         "--workers",      "--max-file-size", "--no-ignore",
        "--web-root",      "--keep-queries", "--keep-seconds", "--keep-memory",   "--query-memory",
        "--answer-memory", "--timeout-ms",   "--help",         "--version",       "Usage:"};
    const char *h = options_help();
    ck_assert_msg(h != NULL && h[strlen(h) - 1] == '\n', "the help does not end with a newline");
    for (size_t i = 0; i < NCASES(opts); i++)
        ck_assert_msg(strstr(h, opts[i]) != NULL, "the help does not mention %s", opts[i]);
}
END_TEST

/* ------------------------------------------------------------------ */
/* options_parse_size                                                  */
/* ------------------------------------------------------------------ */

START_TEST(test_size_ok)
{
    static const struct {
        const char *s;
        uint64_t want;
    } c[] = {
        {"0", 0},
        {"512", 512},
        {"512K", 512ull << 10},
        {"512k", 512ull << 10},
        {"16M", 16ull << 20},
        {"16m", 16ull << 20},
        {"1G", 1ull << 30},
        {"1g", 1ull << 30},
        {"16MiB", 16ull << 20},
        {"16MB", 16ull << 20},
        {"4KB", 4096},
        {"1073741824", 1ull << 30},
        {"007K", 7ull << 10},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        uint64_t out = 12345;
        int rc = options_parse_size(c[i].s, OPT_FILE_SIZE_MAX, &out);
        ck_assert_msg(rc == SG_OK && out == c[i].want,
                      "options_parse_size(\"%s\"): rc %d, %llu, want %llu", c[i].s, rc,
                      (unsigned long long)out, (unsigned long long)c[i].want);
    }
}
END_TEST

START_TEST(test_size_bad)
{
    static const char *const c[] = {
        "",      "K",  "16Q", "16MX", "16Mi", "16iB",       "1.5M",
        "-1",    " 1", "1 ",  "0x10", "16 M", "1073741825", "99999999999999999999999G",
        "16MiBB"};
    for (size_t i = 0; i < NCASES(c); i++) {
        uint64_t out = 12345;
        int rc = options_parse_size(c[i], OPT_FILE_SIZE_MAX, &out);
        ck_assert_msg(rc == SG_ERR, "options_parse_size(\"%s\") accepted: %llu", c[i],
                      (unsigned long long)out);
        ck_assert_msg(out == 12345, "options_parse_size(\"%s\") changed out on error", c[i]);
    }
    uint64_t out = 1;
    ck_assert_msg(options_parse_size(NULL, OPT_FILE_SIZE_MAX, &out) == SG_ERR, "NULL accepted");
}
END_TEST

/* The limit is the caller's: up to it, and not one byte more, whatever the
 * suffix; no overflow on the way (2^40 digits times 2^30 would wrap). */
START_TEST(test_size_limit)
{
    static const struct {
        const char *s;
        uint64_t max;
        int rc;
        uint64_t want;
    } c[] = {
        {"1024G", 1ull << 40, SG_OK, 1ull << 40},
        {"1025G", 1ull << 40, SG_ERR, 0},
        {"1048576M", 1ull << 40, SG_OK, 1ull << 40},
        {"1099511627776", 1ull << 40, SG_OK, 1ull << 40},
        {"1099511627777", 1ull << 40, SG_ERR, 0},
        {"1099511627776K", 1ull << 40, SG_ERR, 0},
        {"17179869184G", 1ull << 40, SG_ERR, 0}, /* 2^34 G: 2^64 */
        {"2K", 2048, SG_OK, 2048},
        {"3K", 2048, SG_ERR, 0},
        {"0", 0, SG_OK, 0},
        {"1", 0, SG_ERR, 0},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        uint64_t out = 12345;
        int rc = options_parse_size(c[i].s, c[i].max, &out);
        ck_assert_msg(rc == c[i].rc && (rc != SG_OK || out == c[i].want),
                      "options_parse_size(\"%s\", max %llu): rc %d, %llu", c[i].s,
                      (unsigned long long)c[i].max, rc, (unsigned long long)out);
    }
}
END_TEST

Suite *suite_options(void)
{
    Suite *s = suite_create("options");
    TCase *tc;

    tc = tcase_create("options_parse");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_parse_defaults);
    tcase_add_test(tc, test_parse_memory);
    tcase_add_test(tc, test_parse_segment_size);
    tcase_add_test(tc, test_parse_long_options);
    tcase_add_test(tc, test_parse_short_and_equals);
    tcase_add_test(tc, test_parse_trees);
    tcase_add_test(tc, test_parse_max_file_size);
    tcase_add_test(tc, test_parse_max_file_size_over_1g);
    tcase_add_test(tc, test_parse_out_of_range);
    tcase_add_test(tc, test_parse_unknown_and_missing);
    tcase_add_test(tc, test_parse_unknown_bundled);
    tcase_add_test(tc, test_parse_two_dirs);
    tcase_add_test(tc, test_parse_help_version);
    tcase_add_test(tc, test_parse_twice);
    suite_add_tcase(s, tc);

    tc = tcase_create("options_help");
    tcase_add_test(tc, test_help_text);
    suite_add_tcase(s, tc);

    tc = tcase_create("options_parse_size");
    tcase_add_test(tc, test_size_ok);
    tcase_add_test(tc, test_size_bad);
    tcase_add_test(tc, test_size_limit);
    suite_add_tcase(s, tc);

    return s;
}
