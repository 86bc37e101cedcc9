/*
 * loadbar.c - the load progress line (see loadbar.h): totals per shard from
 * the file list, the workers' PROGRESS counts, one line redrawn in place.
 */
#include "loadbar.h"

#include <stdio.h>
#include <stdlib.h>

#include "shard.h"
#include "util.h"

#define REDRAW_MS 100.0
#define BAR_WIDTH 30

struct shard_progress {
    size_t files, total_files;
    uint64_t bytes, total_bytes;
    bool done;
};

struct loadbar {
    bool tty, drawn;
    unsigned n;
    struct shard_progress *p;
    double last_ms;
};

struct loadbar *loadbar_new(const struct file_list *files, unsigned nshards, bool tty)
{
    struct loadbar *b = xcalloc(1, sizeof *b);
    b->tty = tty;
    b->n = nshards;
    b->p = xcalloc(nshards, sizeof *b->p);
    for (unsigned i = 0; i < nshards; i++)
        shard_totals(files, i, &b->p[i].total_files, &b->p[i].total_bytes);
    return b;
}

static void draw(struct loadbar *b)
{
    uint64_t bytes = 0, total = 0;
    size_t nfiles = 0, total_files = 0;
    for (unsigned i = 0; i < b->n; i++) {
        bytes += b->p[i].bytes;
        total += b->p[i].total_bytes;
        nfiles += b->p[i].files;
        total_files += b->p[i].total_files;
    }
    double frac = total ? (double)bytes / (double)total : 1.0;
    if (frac > 1)
        frac = 1;
    char bar[BAR_WIDTH + 1];
    int full = (int)(frac * BAR_WIDTH);
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < full ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    fprintf(stderr, "\rshardgrep: loading [%s] %3.0f%%  %zu/%zu files  %.0f/%.0f MB  ", bar,
            frac * 100, nfiles, total_files, (double)bytes / 1e6, (double)total / 1e6);
    for (unsigned i = 0; i < b->n && i < 8; i++)
        fprintf(stderr, "w%u:%s ", i, b->p[i].done ? "ok" : "..");
    fflush(stderr);
    b->drawn = true;
}

void loadbar_update(struct loadbar *b, unsigned shard, size_t files, uint64_t bytes)
{
    if (!b || shard >= b->n)
        return;
    b->p[shard].files = files;
    b->p[shard].bytes = bytes;
    if (b->tty && now_ms() - b->last_ms >= REDRAW_MS) {
        b->last_ms = now_ms();
        draw(b);
    }
}

void loadbar_done(struct loadbar *b, unsigned shard)
{
    if (!b || shard >= b->n)
        return;
    b->p[shard].done = true;
    b->p[shard].files = b->p[shard].total_files;
    b->p[shard].bytes = b->p[shard].total_bytes;
    bool all = true;
    for (unsigned i = 0; i < b->n; i++)
        all &= b->p[i].done;
    if (b->tty && b->drawn) {
        draw(b);
        if (all)
            fputc('\n', stderr);
    }
}

void loadbar_free(struct loadbar *b)
{
    if (!b)
        return;
    free(b->p);
    free(b);
}
