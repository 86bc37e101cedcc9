/*
 * pathtext.c - a store's paths as one text (see pathtext.h).
 */
#include "pathtext.h"

#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "util.h"

struct builder {
    struct pathtext *p;
    size_t cap_e, cap_alone;
    uint64_t cap;
};

static void add(struct builder *b, const struct store *s, enum store_part part, size_t fi)
{
    struct pathtext *p = b->p;
    const char *path = store_file(s, part, fi)->path;
    size_t n = strlen(path);
    size_t room = utf8_valid(path, n, NULL) ? n : UTF8_REPAIR_MAX(n);
    if (p->len + room + 1 + CORPUS_PAD > b->cap) {
        b->cap = (p->len + room + 1 + CORPUS_PAD) * 2;
        p->buf = xrealloc(p->buf, b->cap);
    }
    if (room == n)
        memcpy(p->buf + p->len, path, n);
    else
        n = utf8_repair(path, n, p->buf + p->len);
    if (p->n == b->cap_e) {
        b->cap_e = b->cap_e ? 2 * b->cap_e : 1024;
        p->e = xrealloc(p->e, b->cap_e * sizeof *p->e);
    }
    const char *t = p->buf + p->len;
    bool alone = memchr(t, '\n', n) || utf8_wide_fold(t, n);
    p->e[p->n] = (struct pathtext_entry){.off = p->len,
                                         .len = (uint32_t)n,
                                         .fi = (uint32_t)fi,
                                         .part = (uint8_t)part,
                                         .alone = alone};
    if (alone) {
        if (p->nalone == b->cap_alone) {
            b->cap_alone = b->cap_alone ? 2 * b->cap_alone : 8;
            p->alone = xrealloc(p->alone, b->cap_alone * sizeof *p->alone);
        }
        p->alone[p->nalone++] = p->n;
    }
    p->n++;
    p->len += n;
    p->buf[p->len++] = '\n';
}

struct pathtext *pathtext_build(const struct store *s)
{
    struct pathtext *p = xcalloc(1, sizeof *p);
    struct builder b = {.p = p};
    p->refs = 1;
    p->layout = s->layout;
    size_t nd;
    const struct store_pos *order = store_delta_order(s, &nd);
    size_t nb = s->base_files, bi = 0;
    for (size_t k = 0; k <= nd; k++) {
        size_t until = k < nd ? order[k].base_at : nb;
        for (; bi < until && bi < nb; bi++)
            add(&b, s, STORE_BASE, bi);
        if (k < nd)
            add(&b, s, STORE_DELTA, order[k].fi);
    }
    if (!p->buf)
        p->buf = xmalloc(CORPUS_PAD);
    memset(p->buf + p->len, 0, CORPUS_PAD);
    return p;
}

struct pathtext *pathtext_current(struct pathtext **cache, const struct store *s)
{
    if (!*cache || (*cache)->layout != s->layout) {
        pathtext_unref(*cache);
        *cache = pathtext_build(s);
    }
    return pathtext_ref(*cache);
}

struct pathtext *pathtext_ref(struct pathtext *p)
{
    p->refs++;
    return p;
}

void pathtext_unref(struct pathtext *p)
{
    if (!p || --p->refs > 0)
        return;
    free(p->buf);
    free(p->e);
    free(p->alone);
    free(p);
}

size_t pathtext_entry_at(const struct pathtext *p, uint64_t off)
{
    size_t lo = 0, hi = p->n; /* the last entry starting at or before off */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->e[mid].off <= off)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}
