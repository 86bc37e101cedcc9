#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wal.h"
#include "kvstore.h"
#include "util/crc32.h"

#define WAL_MAGIC 0x4b564c31u /* "KVL1" */

struct wal_header {
    uint32_t magic;
    uint32_t crc;
    uint8_t  op;
    uint8_t  pad[3];
    uint32_t key_len;
    uint32_t value_len;
};

struct kv_wal *wal_open(const char *path, int sync)
{
    struct kv_wal *w = malloc(sizeof(*w));
    if (!w)
        return NULL;
    w->fd = open(path, O_RDWR | O_CREAT | O_APPEND, 0644);
    if (w->fd < 0) {
        free(w);
        return NULL;
    }
    w->sync = sync;
    w->bytes_written = 0;
    w->path = strdup(path);
    return w;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int wal_append(struct kv_wal *w, enum wal_op op,
               const char *key, size_t key_len,
               const void *value, size_t value_len)
{
    struct wal_header h = {
        .magic = WAL_MAGIC,
        .op = (uint8_t)op,
        .key_len = (uint32_t)key_len,
        .value_len = (uint32_t)value_len,
    };
    h.crc = crc32_update(0, key, key_len);
    h.crc = crc32_update(h.crc, value, value_len);

    if (write_all(w->fd, &h, sizeof(h)) != 0)
        return -1;
    if (write_all(w->fd, key, key_len) != 0)
        return -1;
    if (value_len && write_all(w->fd, value, value_len) != 0)
        return -1;
    if (w->sync && fsync(w->fd) != 0)
        return -1;
    w->bytes_written += sizeof(h) + key_len + value_len;
    return 0;
}

int wal_replay(struct kv_wal *w, struct kv_store *kv)
{
    struct wal_header h;
    struct kv_wal *saved = kv->wal;

    /* Detach the log so that kv_put does not re-append what we read. */
    kv->wal = NULL;
    lseek(w->fd, 0, SEEK_SET);
    while (read(w->fd, &h, sizeof(h)) == (ssize_t)sizeof(h)) {
        if (h.magic != WAL_MAGIC)
            break; /* torn write at the tail */
        char *buf = malloc(h.key_len + h.value_len + 1);
        if (!buf) {
            kv->wal = saved;
            return -1;
        }
        if (read(w->fd, buf, h.key_len + h.value_len) !=
            (ssize_t)(h.key_len + h.value_len)) {
            free(buf);
            break;
        }
        if (h.op == WAL_OP_PUT)
            kv_put(kv, buf, h.key_len, buf + h.key_len, h.value_len);
        else if (h.op == WAL_OP_DEL)
            kv_del(kv, buf, h.key_len);
        free(buf);
    }
    kv->wal = saved;
    return 0;
}

int wal_truncate(struct kv_wal *w)
{
    /* TODO: write a snapshot first, then truncate (see docs/architecture.md) */
    if (ftruncate(w->fd, 0) != 0)
        return -1;
    w->bytes_written = 0;
    return 0;
}

void wal_close(struct kv_wal *w)
{
    if (!w)
        return;
    close(w->fd);
    free(w->path);
    free(w);
}
