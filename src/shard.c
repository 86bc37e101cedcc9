#include "shard.h"

#include <stdlib.h>

#include "util.h"

void shard_assign(struct file_list *l, unsigned nshards)
{
    uint64_t *load = xcalloc(nshards, sizeof *load);
    for (size_t i = 0; i < l->n; i++) {
        unsigned best = 0;
        for (unsigned s = 1; s < nshards; s++)
            if (load[s] < load[best])
                best = s;
        l->v[i].shard = best;
        /* Count every file as at least one byte so that empty files spread too. */
        load[best] += l->v[i].size + 1;
    }
    free(load);
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
