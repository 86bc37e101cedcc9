#ifndef KV_WAL_H
#define KV_WAL_H

#include <stddef.h>
#include <stdint.h>

enum wal_op {
    WAL_OP_PUT = 1,
    WAL_OP_DEL = 2,
};

struct kv_store;

struct kv_wal {
    int      fd;
    int      sync;
    uint64_t bytes_written;
    char    *path;
};

struct kv_wal *wal_open(const char *path, int sync);
int  wal_append(struct kv_wal *w, enum wal_op op,
                const char *key, size_t key_len,
                const void *value, size_t value_len);
int  wal_replay(struct kv_wal *w, struct kv_store *kv);
int  wal_truncate(struct kv_wal *w);
void wal_close(struct kv_wal *w);

#endif
