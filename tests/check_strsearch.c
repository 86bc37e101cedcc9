/*
 * check_strsearch.c - unit tests for src/strsearch.c: the exact and the
 * caseless finder against a naive search, on hand-picked cases (needles at
 * the very end, overlapping candidates, bytes >= 0x80, 16-byte block
 * edges) and on many random haystacks over a small alphabet, where
 * near-misses of the rare-byte pair are frequent.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_suites.h"
#include "strsearch.h"

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* The reference: first i with hay[i..i+nlen) equal to the needle. */
static long naive(const char *hay, size_t hlen, const char *needle, size_t nlen, bool caseless)
{
    for (size_t i = 0; i + nlen <= hlen; i++) {
        size_t k = 0;
        while (k < nlen &&
               (caseless ? lower((unsigned char)hay[i + k]) == lower((unsigned char)needle[k])
                         : hay[i + k] == needle[k]))
            k++;
        if (k == nlen)
            return (long)i;
    }
    return -1;
}

static long found(const char *hay, size_t hlen, const char *needle, size_t nlen, bool caseless)
{
    struct finder f;
    finder_init(&f, needle, nlen, caseless);
    const char *p = finder_find(&f, hay, hlen);
    return p ? (long)(p - hay) : -1;
}

static void expect(const char *hay, size_t hlen, const char *needle, size_t nlen, bool caseless)
{
    long want = naive(hay, hlen, needle, nlen, caseless);
    long got = found(hay, hlen, needle, nlen, caseless);
    ck_assert_msg(got == want, "%s search for \"%.*s\" (%zu bytes) in %zu bytes: at %ld, want %ld",
                  caseless ? "caseless" : "exact", (int)nlen, needle, nlen, hlen, got, want);
}

START_TEST(test_cases)
{
    static const struct {
        const char *hay, *needle;
    } cases[] = {
        {"", ""},
        {"abc", ""},
        {"", "a"},
        {"a", "a"},
        {"ab", "b"},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "aab"},
        {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx_ops {", "_ops {"},
        {"struct file_operations fops = {\nstruct foo_operations {\n", "_operations {"},
        {"Container_Of container_of CONTAINER_OF", "container_of"},
        {"Container_Of container_of CONTAINER_OF", "CONTAINER_OF"},
        {"caf\xc3\xa9 CAF\xc3\x89 caf\xc3\xa9!", "caf\xc3\xa9!"},
        {"0123456789abcdef0123456789abcdeXY", "XY"},
        {"0123456789abcdef0123456789abcdefX", "fX"},
        {"needle at the end of a block....needle", "needle"},
        {"nearly: neede needl needlf needle", "needle"},
        {"\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\xc1\xdb", "\xc1\xdb"},
        {"[Z] [z] [@] [`]", "[`]"},
        {"[Z] [z] [@] [`]", "[@]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int ci = 0; ci < 2; ci++)
            expect(cases[i].hay, strlen(cases[i].hay), cases[i].needle, strlen(cases[i].needle),
                   ci);
}
END_TEST

/* '@' and '`' sit next to 'A' and 'a' but are not letters: they never
 * fold, not even in a caseless search. */
START_TEST(test_caseless_folds_letters_only)
{
    ck_assert_int_eq(found("x@y", 3, "x`y", 3, true), -1);
    ck_assert_int_eq(found("x[y", 3, "x{y", 3, true), -1);
    ck_assert_int_eq(found("xAy", 3, "xay", 3, true), 0);
    ck_assert_int_eq(found("xAy", 3, "xay", 3, false), -1);
}
END_TEST

/* The finder never reads past hay[hlen): the haystack ends at the end of
 * a page-sized heap block checked by the sanitizers, at every length. */
START_TEST(test_no_read_past_end)
{
    for (size_t hlen = 0; hlen < 80; hlen++) {
        char *hay = malloc(hlen ? hlen : 1);
        memset(hay, 'a', hlen);
        if (hlen)
            hay[hlen - 1] = 'b';
        for (size_t nlen = 1; nlen <= 20 && nlen <= hlen + 1; nlen++) {
            char needle[32];
            memset(needle, 'a', nlen);
            needle[nlen - 1] = 'b';
            expect(hay, hlen, needle, nlen, false);
            expect(hay, hlen, needle, nlen, true);
        }
        free(hay);
    }
}
END_TEST

START_TEST(test_random)
{
    static const char alphabet[] = "abAB_ {\n\xc3";
    uint32_t seed = 12345;
    char hay[300], needle[40];
    for (int round = 0; round < 40000; round++) {
        seed = seed * 1103515245u + 12345u;
        size_t hlen = (seed >> 8) % sizeof hay;
        seed = seed * 1103515245u + 12345u;
        size_t nlen = 1 + (seed >> 8) % 12;
        for (size_t i = 0; i < hlen; i++) {
            seed = seed * 1103515245u + 12345u;
            hay[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        /* Half the needles are cut from the haystack, so most are found. */
        seed = seed * 1103515245u + 12345u;
        if ((seed >> 20) & 1 && hlen >= nlen) {
            size_t at = (seed >> 8) % (hlen - nlen + 1);
            memcpy(needle, hay + at, nlen);
        } else {
            for (size_t i = 0; i < nlen; i++) {
                seed = seed * 1103515245u + 12345u;
                needle[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
            }
        }
        expect(hay, hlen, needle, nlen, round & 1);
    }
}
END_TEST

START_TEST(test_pair_random)
{
    /* pair_find() against a loop over every position, on haystacks of
     * every length up to 300 (the vector loop and its tail), each in a
     * heap block of its own size (a read past it is an ASan report). */
    static const char alphabet[] = "abcu8\n1 ";
    uint32_t seed = 777;
    for (int round = 0; round < 20000; round++) {
        seed = seed * 1103515245u + 12345u;
        size_t hlen = (seed >> 8) % 300;
        char *hay = malloc(hlen ? hlen : 1);
        for (size_t i = 0; i < hlen; i++) {
            seed = seed * 1103515245u + 12345u;
            hay[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        struct pair_finder p = {0};
        seed = seed * 1103515245u + 12345u;
        p.nfirst = 1 + (seed >> 8) % 4;
        p.nsecond = 1 + (seed >> 12) % 4;
        for (unsigned k = 0; k < 4; k++) {
            seed = seed * 1103515245u + 12345u;
            p.first[k] = (unsigned char)alphabet[(seed >> 16) % (sizeof alphabet - 1)];
            p.second[k] = (unsigned char)alphabet[(seed >> 20) % (sizeof alphabet - 1)];
        }
        const char *want = NULL;
        for (size_t i = 0; !want && i + 1 < hlen; i++)
            if (memchr(p.first, hay[i], p.nfirst) && memchr(p.second, hay[i + 1], p.nsecond))
                want = hay + i;
        const char *got = pair_find(&p, hay, hlen);
        ck_assert_msg(got == want, "round %d: pair_find gave %td, want %td (hlen %zu)", round,
                      got ? got - hay : -1, want ? want - hay : -1, hlen);
        free(hay);
    }
}
END_TEST

Suite *suite_strsearch(void)
{
    Suite *s = suite_create("strsearch");
    TCase *tc = tcase_create("finder");
    tcase_add_test(tc, test_cases);
    tcase_add_test(tc, test_caseless_folds_letters_only);
    tcase_add_test(tc, test_no_read_past_end);
    tcase_add_test(tc, test_random);
    tcase_add_test(tc, test_pair_random);
    suite_add_tcase(s, tc);
    return s;
}
