#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "../src/kvstore.h"

static int failures;

#define CHECK(cond) do { \
    if (!(cond)) { \
        fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        failures++; \
    } \
} while (0)

static void test_put_get(void)
{
    struct kv_store *kv = kv_open(NULL, 0);
    CHECK(kv != NULL);
    CHECK(kv_put(kv, "alpha", 5, "1", 1) == KV_OK);
    CHECK(kv_put(kv, "beta", 4, "22", 2) == KV_OK);

    void *v;
    size_t vlen;
    CHECK(kv_get(kv, "alpha", 5, &v, &vlen) == KV_OK);
    CHECK(vlen == 1 && memcmp(v, "1", 1) == 0);
    CHECK(kv_get(kv, "gamma", 5, &v, &vlen) == KV_NOT_FOUND);
    CHECK(kv_count(kv) == 2);
    kv_close(kv);
}

static void test_overwrite(void)
{
    struct kv_store *kv = kv_open(NULL, 0);
    kv_put(kv, "k", 1, "old", 3);
    kv_put(kv, "k", 1, "new-value", 9);
    void *v;
    size_t vlen;
    CHECK(kv_get(kv, "k", 1, &v, &vlen) == KV_OK);
    CHECK(vlen == 9);
    CHECK(kv_count(kv) == 1);
    kv_close(kv);
}

static void test_delete(void)
{
    struct kv_store *kv = kv_open(NULL, 0);
    kv_put(kv, "gone", 4, "x", 1);
    CHECK(kv_del(kv, "gone", 4) == KV_OK);
    CHECK(kv_del(kv, "gone", 4) == KV_NOT_FOUND);
    CHECK(kv_count(kv) == 0);
    kv_close(kv);
}

static void test_readonly(void)
{
    struct kv_store *kv = kv_open(NULL, KV_FLAG_READONLY);
    CHECK(kv_put(kv, "a", 1, "b", 1) == -1);
    kv_close(kv);
}

static void test_key_too_large(void)
{
    char big[KVSTORE_MAX_KEY + 10];
    memset(big, 'k', sizeof(big));
    struct kv_store *kv = kv_open(NULL, 0);
    CHECK(kv_put(kv, big, sizeof(big), "v", 1) == KV_TOO_LARGE);
    kv_close(kv);
}

int main(void)
{
    test_put_get();
    test_overwrite();
    test_delete();
    test_readonly();
    test_key_too_large();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    puts("test_kvstore: ok");
    return 0;
}
