#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

void config_defaults(struct kv_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->bind_addr, sizeof(cfg->bind_addr), "127.0.0.1");
    cfg->port = 7379;
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "/var/lib/kvlite");
    cfg->fsync = 1;
    cfg->max_clients = 128;
    cfg->compaction_threshold_mb = 64;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int parse_bool(const char *v)
{
    return strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 ||
           strcmp(v, "true") == 0 || strcmp(v, "on") == 0;
}

int config_load(struct kv_config *cfg, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;

    char line[512];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';' || *s == '[')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            fprintf(stderr, "%s:%d: expected key = value\n", path, lineno);
            fclose(f);
            return -1;
        }
        *eq = '\0';
        char *key = trim(s);
        char *val = trim(eq + 1);

        if (strcmp(key, "bind") == 0)
            snprintf(cfg->bind_addr, sizeof(cfg->bind_addr), "%s", val);
        else if (strcmp(key, "port") == 0)
            cfg->port = atoi(val);
        else if (strcmp(key, "data_dir") == 0)
            snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", val);
        else if (strcmp(key, "fsync") == 0)
            cfg->fsync = parse_bool(val);
        else if (strcmp(key, "max_clients") == 0)
            cfg->max_clients = atoi(val);
        else if (strcmp(key, "compaction_threshold_mb") == 0)
            cfg->compaction_threshold_mb = atoi(val);
        else
            fprintf(stderr, "%s:%d: unknown key '%s'\n", path, lineno, key);
    }
	/* TODO: validate port range and data_dir existence */   
    fclose(f);
    return 0;
}
