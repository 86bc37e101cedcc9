/*
 * check_utf8.c - unit tests for src/utf8.c: sequence lengths, validation,
 * repair to valid UTF-8 and the character-boundary floor.
 *
 * The invalid forms are PCRE2's (overlongs, surrogates, > U+10FFFF,
 * truncated sequences, stray continuation bytes): each one must be refused
 * by utf8_seq_len() and utf8_valid(), and replaced by utf8_repair() so
 * that the output passes utf8_valid().
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_suites.h"
#include "utf8.h"
#include "util.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))
#define FFFD      "\xef\xbf\xbd"

/* bytes as "41 c3 a9" for failure messages (static buffer: one per call) */
static const char *hex(const char *s, size_t n)
{
    static char buf[4][256];
    static int which;
    char *out = buf[which++ % 4];
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n && o + 4 < sizeof buf[0]; i++)
        o += (size_t)snprintf(out + o, sizeof buf[0] - o, "%s%02x", i ? " " : "",
                              (unsigned char)s[i]);
    return out;
}

struct seq_case {
    const char *bytes;
    size_t n; /* bytes available */
    size_t want;
};

/* ------------------------------------------------------------------ */
/* utf8_seq_len                                                        */
/* ------------------------------------------------------------------ */

static void check_seq_cases(const struct seq_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t got = utf8_seq_len((const unsigned char *)c[i].bytes, c[i].n);
        ck_assert_msg(got == c[i].want, "utf8_seq_len(%s, %zu) = %zu, want %zu",
                      hex(c[i].bytes, c[i].n), c[i].n, got, c[i].want);
    }
}

START_TEST(test_seq_len_valid)
{
    static const struct seq_case c[] = {
        {"A", 1, 1},
        {"\x00", 1, 1},
        {"\x7f", 1, 1},
        {"Abc", 3, 1},
        {"\xc2\x80", 2, 2},         /* U+0080, smallest 2-byte */
        {"\xc3\xa9", 2, 2},         /* é */
        {"\xdf\xbf", 2, 2},         /* U+07FF */
        {"\xe0\xa0\x80", 3, 3},     /* U+0800, smallest 3-byte */
        {"\xe2\x82\xac", 3, 3},     /* € */
        {"\xed\x9f\xbf", 3, 3},     /* U+D7FF, just below the surrogates */
        {"\xee\x80\x80", 3, 3},     /* U+E000, just above them */
        {"\xef\xbf\xbd", 3, 3},     /* U+FFFD */
        {"\xf0\x90\x80\x80", 4, 4}, /* U+10000, smallest 4-byte */
        {"\xf0\x9f\x98\x80", 4, 4}, /* U+1F600 */
        {"\xf4\x8f\xbf\xbf", 4, 4}, /* U+10FFFF, the largest */
        {"\xc3\xa9xyz", 5, 2},      /* only the first sequence counts */
    };
    check_seq_cases(c, NCASES(c));
}
END_TEST

START_TEST(test_seq_len_invalid)
{
    static const struct seq_case c[] = {
        {"\x80", 1, 0}, /* lone continuation bytes */
        {"\xbf", 1, 0},
        {"\xc0\x80", 2, 0},         /* overlong NUL */
        {"\xc1\xbf", 2, 0},         /* overlong 2-byte */
        {"\xe0\x80\x80", 3, 0},     /* overlong 3-byte */
        {"\xe0\x9f\xbf", 3, 0},     /* overlong U+07FF */
        {"\xf0\x80\x80\x80", 4, 0}, /* overlong 4-byte */
        {"\xf0\x8f\xbf\xbf", 4, 0}, /* overlong U+FFFF */
        {"\xed\xa0\x80", 3, 0},     /* U+D800, a surrogate */
        {"\xed\xbf\xbf", 3, 0},     /* U+DFFF */
        {"\xf4\x90\x80\x80", 4, 0}, /* U+110000 */
        {"\xf5\x80\x80\x80", 4, 0}, /* lead bytes that cannot occur */
        {"\xf8\x88\x80\x80\x80", 5, 0},
        {"\xff", 1, 0},
        {"\xfe", 1, 0},
        {"\xc3\x41", 2, 0}, /* continuation missing */
        {"\xe2\x82\x41", 3, 0},
        {"\xf0\x9f\x98\x41", 4, 0},
        {"\xe2\x41\xac", 3, 0},
    };
    check_seq_cases(c, NCASES(c));
}
END_TEST

START_TEST(test_seq_len_truncated)
{
    /* The bytes would be valid but n says the buffer ends early. */
    static const struct seq_case c[] = {
        {"\xc3\xa9", 1, 0},         {"\xe2\x82\xac", 1, 0},     {"\xe2\x82\xac", 2, 0},
        {"\xf0\x9f\x98\x80", 1, 0}, {"\xf0\x9f\x98\x80", 2, 0}, {"\xf0\x9f\x98\x80", 3, 0},
    };
    check_seq_cases(c, NCASES(c));
}
END_TEST

/* ------------------------------------------------------------------ */
/* utf8_valid                                                          */
/* ------------------------------------------------------------------ */

struct valid_case {
    const char *s;
    size_t n;
    bool want;
    size_t bad; /* offset of the first bad byte when !want */
};

static void check_valid_cases(const struct valid_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t bad = (size_t)-1;
        bool got = utf8_valid(c[i].s, c[i].n, &bad);
        ck_assert_msg(got == c[i].want, "utf8_valid(%s) = %d, want %d", hex(c[i].s, c[i].n), got,
                      c[i].want);
        if (!c[i].want)
            ck_assert_msg(bad == c[i].bad, "utf8_valid(%s): first_bad = %zu, want %zu",
                          hex(c[i].s, c[i].n), bad, c[i].bad);
        /* first_bad is optional. */
        ck_assert_msg(utf8_valid(c[i].s, c[i].n, NULL) == c[i].want,
                      "utf8_valid(%s, NULL) disagrees", hex(c[i].s, c[i].n));
    }
}

START_TEST(test_valid_good)
{
    static const struct valid_case c[] = {
        {"", 0, true, 0},
        {"hello, world", 12, true, 0},
        {"a\0b", 3, true, 0}, /* NUL is valid UTF-8 */
        {"caf\xc3\xa9", 5, true, 0},
        {"\xe2\x82\xac 5", 5, true, 0},
        {"\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", 8, true, 0},
        /* long ASCII runs go through the 8-byte fast path */
        {"0123456789abcdef0123456789abcdef\xc3\xa9", 34, true, 0},
        {"0123456\xc3\xa9"
         "0123456789abcdef",
         25, true, 0},
    };
    check_valid_cases(c, NCASES(c));
}
END_TEST

START_TEST(test_valid_bad)
{
    static const struct valid_case c[] = {
        {"caf\xe9", 4, false, 3}, /* Latin-1 */
        {"\x80", 1, false, 0},    /* lone continuation */
        {"ab\xbf"
         "cd",
         5, false, 2},
        {"x\xc0\x80", 3, false, 1},          /* overlong NUL */
        {"\xe0\x80\x80", 3, false, 0},       /* overlong */
        {"ok\xf0\x80\x80\x80", 6, false, 2}, /* overlong */
        {"\xed\xa0\x80", 3, false, 0},       /* surrogate */
        {"\xf4\x90\x80\x80", 4, false, 0},   /* > U+10FFFF */
        {"abc\xe2\x82", 5, false, 3},        /* truncated at the end */
        {"abc\xf0\x9f\x98", 6, false, 3},
        {"abc\xc3", 4, false, 3},
        /* the bad byte after a long ASCII run (fast path) */
        {"0123456789abcdef0123456789abcdef\xff", 33, false, 32},
        {"01234567\xc3\xa9"
         "89abcdef\x80",
         19, false, 18},
    };
    check_valid_cases(c, NCASES(c));
}
END_TEST

/* ------------------------------------------------------------------ */
/* utf8_repair                                                         */
/* ------------------------------------------------------------------ */

struct repair_case {
    const char *in;
    size_t n;
    const char *want;
    size_t want_len;
};

static void check_repair_cases(const struct repair_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *out = xmalloc(UTF8_REPAIR_MAX(c[i].n) + 1);
        size_t got = utf8_repair(c[i].in, c[i].n, out);
        bool same = got == c[i].want_len && memcmp(out, c[i].want, got) == 0;
        bool valid = utf8_valid(out, got, NULL);
        char got_hex[256];
        snprintf(got_hex, sizeof got_hex, "%s", hex(out, got));
        free(out);
        ck_assert_msg(same, "utf8_repair(%s) = %s (%zu bytes), want %s", hex(c[i].in, c[i].n),
                      got_hex, got, hex(c[i].want, c[i].want_len));
        ck_assert_msg(valid, "utf8_repair(%s) = %s is not valid UTF-8", hex(c[i].in, c[i].n),
                      got_hex);
        ck_assert_msg(got <= UTF8_REPAIR_MAX(c[i].n), "utf8_repair(%s) wrote %zu > %zu bytes",
                      hex(c[i].in, c[i].n), got, (size_t)UTF8_REPAIR_MAX(c[i].n));
    }
}

START_TEST(test_repair_valid_unchanged)
{
    static const struct repair_case c[] = {
        {"", 0, "", 0},
        {"plain ascii", 11, "plain ascii", 11},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
         "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14},
        {"a\0b", 3, "a\0b", 3},
        {FFFD, 3, FFFD, 3},
    };
    check_repair_cases(c, NCASES(c));
}
END_TEST

START_TEST(test_repair_invalid)
{
    /* One U+FFFD per byte that does not start a valid sequence (utf8.h). */
    static const struct repair_case c[] = {
        {"caf\xe9", 4, "caf" FFFD, 6}, /* Latin-1 */
        {"\xe9t\xe9", 3, FFFD "t" FFFD, 7},
        {"\x80", 1, FFFD, 3}, /* lone continuation */
        {"a\x80\x80"
         "b",
         4, "a" FFFD FFFD "b", 8},
        {"\xc0\x80", 2, FFFD FFFD, 6}, /* overlong */
        {"\xe0\x80\x80", 3, FFFD FFFD FFFD, 9},
        {"\xf0\x80\x80\x80", 4, FFFD FFFD FFFD FFFD, 12},
        {"\xed\xa0\x80", 3, FFFD FFFD FFFD, 9},           /* surrogate */
        {"\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD, 12}, /* > U+10FFFF */
        {"ab\xe2\x82", 4, "ab" FFFD FFFD, 8},             /* truncated at the end */
        {"\xf0\x9f\x98", 3, FFFD FFFD FFFD, 9},
        {"\xc3", 1, FFFD, 3},
        /* a bad lead followed by a valid sequence keeps the valid one */
        {"\xc3\xc3\xa9", 3, FFFD "\xc3\xa9", 5},
        {"\xff\xe2\x82\xac", 4, FFFD "\xe2\x82\xac", 6},
    };
    check_repair_cases(c, NCASES(c));
}
END_TEST

START_TEST(test_repair_always_valid)
{
    /* Every pair of bytes (and each with a valid 3-byte tail): whatever the
     * input, the output is valid and no longer than the bound. */
    char in[5], out[UTF8_REPAIR_MAX(5)];
    for (unsigned a = 0; a < 256; a++) {
        for (unsigned b = 0; b < 256; b++) {
            in[0] = (char)a;
            in[1] = (char)b;
            in[2] = (char)0xe2;
            in[3] = (char)0x82;
            in[4] = (char)0xac;
            for (size_t n = 1; n <= 5; n++) {
                size_t got = utf8_repair(in, n, out);
                size_t bad = 0;
                bool valid = utf8_valid(out, got, &bad);
                bool kept = !utf8_valid(in, n, NULL) || (got == n && memcmp(in, out, n) == 0);
                /* assert only on failure: 300k passing asserts would be slow */
                if (got > UTF8_REPAIR_MAX(n) || !valid || !kept)
                    ck_abort_msg("utf8_repair(%s) = %s (%zu bytes): %s", hex(in, n), hex(out, got),
                                 got,
                                 !valid  ? "invalid output"
                                 : !kept ? "valid input changed"
                                         : "longer than UTF8_REPAIR_MAX");
            }
        }
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* utf8_floor                                                          */
/* ------------------------------------------------------------------ */

START_TEST(test_floor_ascii)
{
    const char *s = "abcdef";
    for (size_t pos = 0; pos <= 6; pos++) {
        size_t got = utf8_floor(s, 6, pos);
        ck_assert_msg(got == pos, "utf8_floor(\"abcdef\", 6, %zu) = %zu", pos, got);
    }
    ck_assert_msg(utf8_floor(s, 6, 100) == 6, "utf8_floor past the end = %zu, want 6",
                  utf8_floor(s, 6, 100));
}
END_TEST

START_TEST(test_floor_multibyte)
{
    /* a é(2) €(3) 😀(4) b: offsets 0 1 3 6 10, length 11 */
    const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
                    "b";
    static const size_t want[] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 11};
    for (size_t pos = 0; pos < NCASES(want); pos++) {
        size_t got = utf8_floor(s, 11, pos);
        ck_assert_msg(got == want[pos], "utf8_floor(%s, 11, %zu) = %zu, want %zu", hex(s, 11), pos,
                      got, want[pos]);
    }
}
END_TEST

START_TEST(test_floor_never_inside)
{
    /* On a repaired mix of everything, the floor of every position starts
     * a whole sequence and the tail from there is valid. */
    const char raw[] = "x\xe9y\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xed\xa0\x80z\xf4\x90\x80\x80";
    char s[UTF8_REPAIR_MAX(sizeof raw)];
    size_t n = utf8_repair(raw, sizeof raw - 1, s);
    ck_assert_msg(utf8_valid(s, n, NULL), "repaired fixture is invalid");
    for (size_t pos = 0; pos <= n + 1; pos++) {
        size_t f = utf8_floor(s, n, pos);
        ck_assert_msg(f <= pos && f <= n, "utf8_floor(.., %zu, %zu) = %zu", n, pos, f);
        ck_assert_msg(utf8_valid(s, f, NULL) && utf8_valid(s + f, n - f, NULL),
                      "utf8_floor(%s, %zu, %zu) = %zu splits a character", hex(s, n), n, pos, f);
        /* and it is the largest such offset: nothing between f and pos is
         * a sequence start */
        for (size_t k = f + 1; k <= pos && k < n; k++)
            ck_assert_msg(((unsigned char)s[k] & 0xC0) == 0x80,
                          "utf8_floor(.., %zu) = %zu skipped the boundary at %zu", pos, f, k);
    }
}
END_TEST

Suite *suite_utf8(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc;

    tc = tcase_create("utf8_seq_len");
    tcase_add_test(tc, test_seq_len_valid);
    tcase_add_test(tc, test_seq_len_invalid);
    tcase_add_test(tc, test_seq_len_truncated);
    suite_add_tcase(s, tc);

    tc = tcase_create("utf8_valid");
    tcase_add_test(tc, test_valid_good);
    tcase_add_test(tc, test_valid_bad);
    suite_add_tcase(s, tc);

    tc = tcase_create("utf8_repair");
    tcase_add_test(tc, test_repair_valid_unchanged);
    tcase_add_test(tc, test_repair_invalid);
    tcase_add_test(tc, test_repair_always_valid);
    suite_add_tcase(s, tc);

    tc = tcase_create("utf8_floor");
    tcase_add_test(tc, test_floor_ascii);
    tcase_add_test(tc, test_floor_multibyte);
    tcase_add_test(tc, test_floor_never_inside);
    suite_add_tcase(s, tc);

    return s;
}
