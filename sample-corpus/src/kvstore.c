#include <stdlib.h>
#include <string.h>

#include "kvstore.h"
#include "hash.h"
#include "wal.h"

/* The key lives inline after the entry; the value is a separate block. */
static struct kv_entry *entry_new(const char *key, size_t key_len,
                                  const void *value, size_t value_len)
{
    struct kv_entry *e = malloc(sizeof(*e) + key_len + 1);
    if (!e)
        return NULL;
    e->value = malloc(value_len ? value_len : 1);
    if (!e->value) {
        free(e);
        return NULL;
    }
    e->key = (char *)(e + 1);
    memcpy(e->key, key, key_len);
    e->key[key_len] = '\0';
    e->key_len = key_len;
    memcpy(e->value, value, value_len);
    e->value_len = value_len;
    e->next = NULL;
    return e;
}

static void entry_free(struct kv_entry *e)
{
    free(e->value);
    free(e);
}

struct kv_store *kv_open(const char *path, int flags)
{
    struct kv_store *kv = calloc(1, sizeof(*kv));
    if (!kv)
        return NULL;

    kv->nbuckets = KVSTORE_DEFAULT_BUCKETS;
    kv->buckets = calloc(kv->nbuckets, sizeof(*kv->buckets));
    if (!kv->buckets) {
        free(kv);
        return NULL;
    }
    kv->flags = flags;
    kv->next_seq = 1;

    if (path) {
        kv->wal = wal_open(path, !(flags & KV_FLAG_NOSYNC));
        if (!kv->wal || wal_replay(kv->wal, kv) != 0) {
            kv_close(kv);
            return NULL;
        }
    }
    return kv;
}

void kv_close(struct kv_store *kv)
{
    if (!kv)
        return;
    for (size_t i = 0; i < kv->nbuckets; i++) {
        struct kv_entry *e = kv->buckets[i];
        while (e) {
            struct kv_entry *next = e->next;
            entry_free(e);
            e = next;
        }
    }
    if (kv->wal)
        wal_close(kv->wal);
    free(kv->buckets);
    free(kv);
}

static struct kv_entry **find_slot(struct kv_store *kv, const char *key,
                                   size_t key_len)
{
    size_t b = hash_bucket(key, key_len, kv->nbuckets);
    struct kv_entry **pp = &kv->buckets[b];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->key_len == key_len && memcmp((*pp)->key, key, key_len) == 0)
            break;
    return pp;
}

int kv_get(struct kv_store *kv, const char *key, size_t key_len,
           void **value, size_t *value_len)
{
    struct kv_entry *e = *find_slot(kv, key, key_len);
    if (!e)
        return KV_NOT_FOUND;
    *value = e->value;
    *value_len = e->value_len;
    return KV_OK;
}

int kv_put(struct kv_store *kv, const char *key, size_t key_len,
           const void *value, size_t value_len)
{
    if (kv->flags & KV_FLAG_READONLY)
        return -1;
    if (key_len > KVSTORE_MAX_KEY || value_len > KVSTORE_MAX_VALUE)
        return KV_TOO_LARGE;

    if (kv->wal && wal_append(kv->wal, WAL_OP_PUT, key, key_len,
                              value, value_len) != 0)
        return -1;

    struct kv_entry **pp = find_slot(kv, key, key_len);
    if (*pp) {
        struct kv_entry *e = *pp;
        void *nv = malloc(value_len ? value_len : 1);
        if (!nv)
            return -1;
        memcpy(nv, value, value_len);
        free(e->value);
        e->value = nv;
        e->value_len = value_len;
        e->seq = kv->next_seq++;
        return KV_OK;
    }

    struct kv_entry *e = entry_new(key, key_len, value, value_len);
    if (!e)
        return -1;
    e->seq = kv->next_seq++;
    *pp = e;
    kv->count++;
    /* TODO: grow the table when count / nbuckets exceeds the load factor */
    return KV_OK;
}

int kv_del(struct kv_store *kv, const char *key, size_t key_len)
{
    if (kv->flags & KV_FLAG_READONLY)
        return -1;
    struct kv_entry **pp = find_slot(kv, key, key_len);
    struct kv_entry *e = *pp;
    if (!e)
        return KV_NOT_FOUND;
    if (kv->wal && wal_append(kv->wal, WAL_OP_DEL, key, key_len, NULL, 0) != 0)
        return -1;
    *pp = e->next;
    entry_free(e);
    kv->count--;
    return KV_OK;
}
