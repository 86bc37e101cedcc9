/*
 * shard.c - assigning files to shards, smallest shard first (see shard.h).
 */
#include "shard.h"

#include <stdlib.h>

#include "util.h"

void shard_assign(struct file_list *l, unsigned nshards)
{
    uint64_t *load = xcalloc(nshards, sizeof *load);
    size_t *count = xcalloc(nshards, sizeof *count);
    for (size_t i = 0; i < l->n; i++) {
        unsigned best = 0;
        for (unsigned s = 1; s < nshards; s++)
            if (load[s] < load[best] || (load[s] == load[best] && count[s] < count[best]))
                best = s;
        l->v[i].shard = best;
        load[best] += l->v[i].size;
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
            *bytes += l->v[i].size;
        }
    }
}
