/*
 * check_bytes.c - the checksum and the newline count (bytes.h): the fast
 * path and the portable one agree, and both agree with the plain answer.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "check_suites.h"

/* A fixed pseudo-random buffer (xorshift), some of it newlines. */
static unsigned char *random_bytes(size_t n, unsigned seed, unsigned nl_one_in)
{
    unsigned char *b = malloc(n + 64);
    uint64_t x = 0x9E3779B97F4A7C15ull ^ seed;
    for (size_t i = 0; i < n + 64; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b[i] = nl_one_in && x % nl_one_in == 0 ? '\n' : (unsigned char)(x >> 24);
    }
    return b;
}

static uint64_t plain_newlines(const char *p, size_t n)
{
    uint64_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += p[i] == '\n';
    return c;
}

/* Every length around a group and past a scramble (32 KiB), at every
 * alignment: the two ways give one checksum. */
START_TEST(test_checksum_ways_agree)
{
    size_t lens[] = {0,  1,   7,    8,     9,     31,    32,    33,     63,    64,
                     65, 100, 4095, 32767, 32768, 32769, 32800, 100000, 262147};
    unsigned char *b = random_bytes(262147 + 16, 1, 0);
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++)
        for (size_t off = 0; off < 16; off += 5) {
            uint64_t fast = bytes_checksum(b + off, lens[k]);
            uint64_t port = bytes_checksum_portable(b + off, lens[k]);
            ck_assert_msg(fast == port, "len %zu off %zu: %llx vs %llx", lens[k], off,
                          (unsigned long long)fast, (unsigned long long)port);
        }
    free(b);
}
END_TEST

/* Any one bit flipped, anywhere (the groups, past a scramble, the tail),
 * changes the checksum; so do two groups swapped, and a length that
 * differs only by a zero byte. */
START_TEST(test_checksum_sees_changes)
{
    size_t n = 70000 + 13;
    unsigned char *b = random_bytes(n, 2, 0);
    uint64_t sum = bytes_checksum(b, n);
    for (size_t i = 0; i < n; i += (i < 200 || i > n - 200) ? 1 : 97)
        for (int bit = 0; bit < 8; bit += 3) {
            b[i] ^= (unsigned char)(1u << bit);
            ck_assert_msg(bytes_checksum(b, n) != sum, "byte %zu bit %d not seen", i, bit);
            ck_assert_msg(bytes_checksum_portable(b, n) != sum, "byte %zu bit %d not seen", i, bit);
            b[i] ^= (unsigned char)(1u << bit);
        }
    ck_assert(bytes_checksum(b, n) == sum);
    unsigned char g[32];
    memcpy(g, b + 320, 32);
    memcpy(b + 320, b + 40000, 32);
    memcpy(b + 40000, g, 32);
    ck_assert_msg(bytes_checksum(b, n) != sum, "two groups swapped not seen");
    unsigned char *z = calloc(1, 65);
    ck_assert(bytes_checksum(z, 64) != bytes_checksum(z, 65));
    ck_assert(bytes_checksum(z, 0) != bytes_checksum(z, 1));
    free(z);
    free(b);
}
END_TEST

/* Counts agree with the plain loop at every length and alignment,
 * including runs of newlines longer than the byte counters' 255 rounds. */
START_TEST(test_count_newlines)
{
    unsigned char *b = random_bytes(20000, 3, 5);
    for (size_t n = 0; n < 300; n++)
        for (size_t off = 0; off < 3; off++) {
            uint64_t want = plain_newlines((const char *)b + off, n);
            ck_assert_uint_eq(bytes_count_newlines((const char *)b + off, n), want);
            ck_assert_uint_eq(bytes_count_newlines_portable((const char *)b + off, n), want);
        }
    ck_assert_uint_eq(bytes_count_newlines((const char *)b + 1, 19999),
                      plain_newlines((const char *)b + 1, 19999));
    memset(b, '\n', 20000);
    for (size_t n = 4000; n <= 20000; n += 4001) {
        ck_assert_uint_eq(bytes_count_newlines((const char *)b, n), n);
        ck_assert_uint_eq(bytes_count_newlines_portable((const char *)b + 3, n - 3), n - 3);
    }
    free(b);
}
END_TEST

Suite *suite_bytes(void)
{
    Suite *s = suite_create("bytes");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_checksum_ways_agree);
    tcase_add_test(tc, test_checksum_sees_changes);
    tcase_add_test(tc, test_count_newlines);
    suite_add_tcase(s, tc);
    return s;
}
