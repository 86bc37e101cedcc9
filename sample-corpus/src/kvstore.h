#ifndef KVSTORE_H
#define KVSTORE_H

#include <stddef.h>
#include <stdint.h>

#define KVSTORE_MAX_KEY     256
#define KVSTORE_MAX_VALUE   (1u << 20)
#define KVSTORE_DEFAULT_BUCKETS 1024

#define KV_OK          0
#define KV_ERR        -1
#define KV_NOT_FOUND  -2
#define KV_TOO_LARGE  -3

struct kv_entry {
    char            *key;
    size_t           key_len;
    void            *value;
    size_t           value_len;
    uint64_t         seq;
    struct kv_entry *next;
};

struct kv_store {
    struct kv_entry **buckets;
    size_t            nbuckets;
    size_t            count;
    uint64_t          next_seq;
    struct kv_wal    *wal;
    int               flags;
};

#define KV_FLAG_READONLY  0x01
#define KV_FLAG_NOSYNC    0x02

struct kv_store *kv_open(const char *path, int flags);
void             kv_close(struct kv_store *kv);

int kv_get(struct kv_store *kv, const char *key, size_t key_len,
           void **value, size_t *value_len);
int kv_put(struct kv_store *kv, const char *key, size_t key_len,
           const void *value, size_t value_len);
int kv_del(struct kv_store *kv, const char *key, size_t key_len);

typedef int (*kv_iter_fn)(const struct kv_entry *e, void *arg);
int kv_foreach(struct kv_store *kv, kv_iter_fn fn, void *arg);

static inline size_t kv_count(const struct kv_store *kv)
{
    return kv->count;
}

#endif /* KVSTORE_H */
