/*
 * shard.c - assigning files to shards, smallest shard first (see shard.h).
 */
#include "shard.h"

#include <stdlib.h>

#include "util.h"

void shard_assign(struct file_list *l, unsigned nshards)
{
    shard_assign_prefer(l, nshards, NULL, NULL);
}

void shard_assign_prefer(struct file_list *l, unsigned nshards,
                         long (*prefer)(void *ctx, const struct file_entry *e), void *ctx)
{
    uint64_t *load = xcalloc(nshards, sizeof *load);
    size_t *count = xcalloc(nshards, sizeof *count);
    /* The preferred ones first, so that the rest even the shards out. */
    for (size_t i = 0; prefer && i < l->n; i++) {
        long s = prefer(ctx, &l->v[i]);
        l->v[i].shard = s >= 0 && (unsigned long)s < nshards ? (uint32_t)s : UINT32_MAX;
        if (l->v[i].shard != UINT32_MAX) {
            load[s] += l->v[i].stamp.size;
            count[s]++;
        }
    }
    for (size_t i = 0; i < l->n; i++) {
        if (prefer && l->v[i].shard != UINT32_MAX)
            continue;
        unsigned best = 0;
        for (unsigned s = 1; s < nshards; s++)
            if (load[s] < load[best] || (load[s] == load[best] && count[s] < count[best]))
                best = s;
        l->v[i].shard = best;
        load[best] += l->v[i].stamp.size;
        count[best]++;
    }
    free(load);
    free(count);
}

void shard_totals(const struct file_list *l, unsigned shard, size_t *files, uint64_t *bytes)
{
    *files = 0;
    *bytes = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].shard == shard) {
            (*files)++;
            *bytes += l->v[i].stamp.size;
        }
    }
}
