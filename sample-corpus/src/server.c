#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvstore.h"
#include "config.h"
#include "version.h"
#include "net/listener.h"
#include "net/protocol/frame.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int handle_frame(struct kv_store *kv, const struct kv_frame *req,
                        struct kv_frame *resp)
{
    void *val;
    size_t val_len;
    int rc;

    switch (req->op) {
    case FRAME_OP_GET:
        rc = kv_get(kv, req->key, req->key_len, &val, &val_len);
        if (rc == KV_OK)
            return frame_reply_value(resp, val, val_len);
        return frame_reply_status(resp, rc);
    case FRAME_OP_PUT:
        rc = kv_put(kv, req->key, req->key_len, req->value, req->value_len);
        return frame_reply_status(resp, rc);
    case FRAME_OP_DEL:
        rc = kv_del(kv, req->key, req->key_len);
        return frame_reply_status(resp, rc);
    case FRAME_OP_PING:
        return frame_reply_status(resp, KV_OK);
    default:
        /* FIXME: unknown ops should close the connection, not just fail */
        return frame_reply_status(resp, KV_ERR);
    }
}

static int usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [-c config] [-p port] [-d datadir]\n", argv0);
    return 2;
}

int main(int argc, char **argv)
{
    struct kv_config cfg;
    config_defaults(&cfg);

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            if (config_load(&cfg, argv[++i]) != 0) {
                fprintf(stderr, "kvlite: cannot load %s\n", argv[i]);
                return 1;
            }
        } else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
            cfg.port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
            snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", argv[++i]);
        } else if (strcmp(argv[i], "-V") == 0) {
            printf("kvlite %s\n", kvlite_version());
            return 0;
        } else {
            return usage(argv[0]);
        }
    }

    char wal_path[512];
    snprintf(wal_path, sizeof(wal_path), "%s/kvlite.wal", cfg.data_dir);

    struct kv_store *kv = kv_open(wal_path, cfg.fsync ? 0 : KV_FLAG_NOSYNC);
    if (!kv) {
        perror("kv_open");
        return 1;
    }

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    struct kv_listener *l = listener_start(cfg.bind_addr, cfg.port);
    if (!l) {
        kv_close(kv);
        return 1;
    }
    fprintf(stderr, "kvlite %s listening on %s:%d\n",
            KVLITE_VERSION_STRING, cfg.bind_addr, cfg.port);

    while (!g_stop)
        listener_poll(l, 250, (listener_handler_fn)handle_frame, kv);

    listener_stop(l);
    kv_close(kv);
    return 0;
}
