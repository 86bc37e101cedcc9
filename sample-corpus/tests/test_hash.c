#include <stdio.h>
#include <string.h>

#include "../src/hash.h"

int main(void)
{
    int fail = 0;

    /* Known FNV-1a vectors. */
    if (fnv1a_64("", 0) != 0xcbf29ce484222325ULL) {
        fprintf(stderr, "fnv1a_64(\"\") mismatch\n");
        fail = 1;
    }
    if (fnv1a_64("a", 1) != 0xaf63dc4c8601ec8cULL) {
        fprintf(stderr, "fnv1a_64(\"a\") mismatch\n");
        fail = 1;
    }

    /* hash_bucket must stay inside the table. */
    for (size_t n = 1; n <= 4096; n <<= 1) {
        char key[32];
        for (int i = 0; i < 1000; i++) {
            int len = snprintf(key, sizeof(key), "key-%d", i);
            size_t b = hash_bucket(key, (size_t)len, n);
            if (b >= n) {
                fprintf(stderr, "hash_bucket(%s, %zu) = %zu\n", key, n, b);
                fail = 1;
            }
        }
    }

    /* Rough distribution check: no bucket should get more than 4x its share. */
    size_t counts[64] = {0};
    for (int i = 0; i < 6400; i++) {
        char key[32];
        int len = snprintf(key, sizeof(key), "user:%d", i);
        counts[hash_bucket(key, (size_t)len, 64)]++;
    }
    for (int i = 0; i < 64; i++) {
        if (counts[i] > 400) {
            fprintf(stderr, "bucket %d overloaded: %zu\n", i, counts[i]);
            fail = 1;
        }
    }

    if (!fail)
        puts("test_hash: ok");
    return fail;
}
