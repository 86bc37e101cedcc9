#ifndef KV_CONFIG_H
#define KV_CONFIG_H

struct kv_config {
    char bind_addr[64];
    int  port;
    char data_dir[256];
    int  fsync;
    int  max_clients;
    int  compaction_threshold_mb;
};

void config_defaults(struct kv_config *cfg);
int  config_load(struct kv_config *cfg, const char *path);

#endif
