#include "check_util.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int check_write_file(const char *dir, const char *rel, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    /* The folders on the way, as needed. */
    for (char *slash = strchr(path + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        int rc = mkdir(path, 0755);
        *slash = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    int rc = fwrite(data, 1, len, fp) == len ? 0 : -1;
    if (fclose(fp) != 0)
        rc = -1;
    return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void check_rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void check_put_record(struct msg_writer *w, const struct check_record *r)
{
    msg_put_u32(w, r->file);
    msg_put_u32(w, r->line);
    msg_put_u32(w, r->column);
    msg_put_u8(w, r->flags);
    msg_put_str(w, r->text, strlen(r->text));
    msg_put_u16(w, (uint16_t)r->nranges);
    for (unsigned i = 0; i < 2 * r->nranges; i++)
        msg_put_u32(w, r->ranges[i]);
    msg_put_u8(w, (uint8_t)r->nbefore);
    for (unsigned i = 0; i < r->nbefore; i++)
        msg_put_str(w, r->before[i], strlen(r->before[i]));
    msg_put_u8(w, (uint8_t)r->nafter);
    for (unsigned i = 0; i < r->nafter; i++)
        msg_put_str(w, r->after[i], strlen(r->after[i]));
}
