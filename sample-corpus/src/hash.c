#include <stdlib.h>

#include "hash.h"
#include "kvstore.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME  0x100000001b3ULL

uint64_t fnv1a_64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = FNV_OFFSET;
    while (len--) {
        h ^= *p++;
        h *= FNV_PRIME;
    }
    return h;
}

uint32_t murmur_mix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6b;
    h ^= h >> 13;
    h *= 0xc2b2ae35;
    h ^= h >> 16;
    return h;
}

size_t hash_bucket(const char *key, size_t key_len, size_t nbuckets)
{
    uint64_t h = fnv1a_64(key, key_len);
    /* FIXME: assumes nbuckets is a power of two; kv_open enforces this
     * but hash_resize callers do not. */
    return (size_t)(h & (nbuckets - 1));
}

int hash_resize(struct kv_store *kv, size_t new_nbuckets)
{
    struct kv_entry **nb = calloc(new_nbuckets, sizeof(*nb));
    if (!nb)
        return -1;

    for (size_t i = 0; i < kv->nbuckets; i++) {
        struct kv_entry *e = kv->buckets[i];
        while (e) {
            struct kv_entry *next = e->next;
            size_t b = hash_bucket(e->key, e->key_len, new_nbuckets);
            e->next = nb[b];
            nb[b] = e;
            e = next;
        }
    }
    free(kv->buckets);
    kv->buckets = nb;
    kv->nbuckets = new_nbuckets;
    return 0;
}

int kv_foreach(struct kv_store *kv, kv_iter_fn fn, void *arg)
{
    for (size_t i = 0; i < kv->nbuckets; i++)
        for (struct kv_entry *e = kv->buckets[i]; e; e = e->next)
            if (fn(e, arg) != 0)
                return -1;
    return 0;
}
