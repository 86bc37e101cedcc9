/*
 * tindex.c - trigram posting lists per shard (see tindex.h).
 */
#include "tindex.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define NTRI (1u << 24)

/* A live index's posting list: block numbers, ascending (appended). */
struct plist {
    uint32_t *v;
    uint32_t n, cap;
};

struct tindex {
    /* live mode: a hash from trigram to its growing list */
    bool live;
    uint32_t *hkey; /* trigram + 1; 0: empty */
    uint32_t *hval; /* index in lists */
    size_t hcap, hused;
    struct plist *lists;
    size_t nlists, lists_cap;
    /* while building */
    uint64_t *seen;    /* one bit per trigram, for the file being scanned */
    uint32_t *count;   /* per trigram, the files holding it; then a cursor */
    uint32_t *scratch; /* the distinct trigrams of the file being scanned */
    size_t scratch_cap;
    uint64_t total; /* the sum of count: postings to come */
    uint32_t nfiles;
    /* built (or, for a view, held elsewhere) */
    bool view;
    uint32_t *keys;     /* the trigrams present, ascending */
    uint32_t *offsets;  /* nkeys + 1 starts in postings */
    uint32_t *postings; /* file numbers */
    size_t nkeys;
};

struct tindex *tindex_new(void)
{
    struct tindex *t = xcalloc(1, sizeof *t);
    t->seen = xcalloc(NTRI / 64, sizeof *t->seen);
    t->count = xcalloc(NTRI, sizeof *t->count);
    return t;
}

struct tindex *tindex_new_live(void)
{
    struct tindex *t = xcalloc(1, sizeof *t);
    t->live = true;
    t->seen = xcalloc(NTRI / 64, sizeof *t->seen);
    t->hcap = 1024;
    t->hkey = xcalloc(t->hcap, sizeof *t->hkey);
    t->hval = xcalloc(t->hcap, sizeof *t->hval);
    return t;
}

struct tindex *tindex_view(const uint32_t *keys, size_t nkeys, const uint32_t *offsets,
                           const uint32_t *postings)
{
    struct tindex *t = xcalloc(1, sizeof *t);
    t->view = true;
    t->keys = (uint32_t *)keys; /* never written through */
    t->nkeys = nkeys;
    t->offsets = (uint32_t *)offsets;
    t->postings = (uint32_t *)postings;
    return t;
}

void tindex_arrays(const struct tindex *t, const uint32_t **keys, size_t *nkeys,
                   const uint32_t **offsets, const uint32_t **postings, size_t *npostings)
{
    *keys = t->keys;
    *nkeys = t->nkeys;
    *offsets = t->offsets;
    *postings = t->postings;
    *npostings = t->keys ? t->offsets[t->nkeys] : 0;
}

static size_t hash_slot(const struct tindex *t, uint32_t tri)
{
    size_t i = (tri * 2654435761u) & (t->hcap - 1);
    while (t->hkey[i] && t->hkey[i] != tri + 1)
        i = (i + 1) & (t->hcap - 1);
    return i;
}

static void hash_grow(struct tindex *t)
{
    uint32_t *keys = t->hkey, *vals = t->hval;
    size_t cap = t->hcap;
    t->hcap *= 2;
    t->hkey = xcalloc(t->hcap, sizeof *t->hkey);
    t->hval = xcalloc(t->hcap, sizeof *t->hval);
    for (size_t i = 0; i < cap; i++) {
        if (!keys[i])
            continue;
        size_t j = hash_slot(t, keys[i] - 1);
        t->hkey[j] = keys[i];
        t->hval[j] = vals[i];
    }
    free(keys);
    free(vals);
}

/* Append block b to the list of tri, making the list if it is new. */
static void live_post(struct tindex *t, uint32_t tri, uint32_t b)
{
    if (2 * (t->hused + 1) > t->hcap)
        hash_grow(t);
    size_t i = hash_slot(t, tri);
    if (!t->hkey[i]) {
        if (t->nlists == t->lists_cap) {
            t->lists_cap = t->lists_cap ? 2 * t->lists_cap : 1024;
            t->lists = xrealloc(t->lists, t->lists_cap * sizeof *t->lists);
        }
        t->lists[t->nlists] = (struct plist){0};
        t->hkey[i] = tri + 1;
        t->hval[i] = (uint32_t)t->nlists++;
        t->hused++;
    }
    struct plist *l = &t->lists[t->hval[i]];
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 4;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = b;
}

static void free_building(struct tindex *t)
{
    free(t->seen);
    free(t->count);
    free(t->scratch);
    t->seen = NULL;
    t->count = t->scratch = NULL;
    t->scratch_cap = 0;
}

void tindex_free(struct tindex *t)
{
    if (!t)
        return;
    free_building(t);
    if (!t->view) {
        free(t->keys);
        free(t->offsets);
        free(t->postings);
    }
    for (size_t i = 0; i < t->nlists; i++)
        free(t->lists[i].v);
    free(t->lists);
    free(t->hkey);
    free(t->hval);
    free(t);
}

/* The distinct trigrams of text into t->scratch; returns how many.  The
 * bitmap is left clear. */
static size_t distinct(struct tindex *t, const char *text, size_t len)
{
    if (t->scratch_cap < len) {
        /* A file has at most len distinct trigrams. */
        t->scratch_cap = len > 4096 ? len : 4096;
        free(t->scratch);
        t->scratch = xmalloc(t->scratch_cap * sizeof *t->scratch);
    }
    size_t n = 0;
    uint32_t key = 0;
    unsigned have = 0; /* folded bytes in key since the last newline */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n') {
            have = 0;
            continue;
        }
        key = ((key << 8) | qplan_fold(c)) & (NTRI - 1);
        if (++have < 3)
            continue;
        uint64_t bit = 1ull << (key & 63);
        if (t->seen[key >> 6] & bit)
            continue;
        t->seen[key >> 6] |= bit;
        t->scratch[n++] = key;
    }
    for (size_t i = 0; i < n; i++)
        t->seen[t->scratch[i] >> 6] &= ~(1ull << (t->scratch[i] & 63));
    return n;
}

void tindex_add(struct tindex *t, const char *text, size_t len)
{
    size_t n = distinct(t, text, len);
    if (t->live) {
        for (size_t i = 0; i < n; i++)
            live_post(t, t->scratch[i], t->nfiles);
        t->total += n;
        t->nfiles++;
        return;
    }
    for (size_t i = 0; i < n; i++)
        t->count[t->scratch[i]]++;
    t->total += n;
    t->nfiles++;
}

void tindex_finish(struct tindex *t, tindex_text_fn text_of, void *ctx)
{
    size_t nkeys = 0;
    for (uint32_t k = 0; k < NTRI; k++)
        nkeys += t->count[k] != 0;
    if (t->total > UINT32_MAX)
        die("trigram index: %llu postings are more than 32-bit offsets can hold",
            (unsigned long long)t->total);
    t->nkeys = nkeys;
    t->keys = xmalloc((nkeys ? nkeys : 1) * sizeof *t->keys);
    t->offsets = xmalloc((nkeys + 1) * sizeof *t->offsets);
    /* count[k] becomes the next free slot of k's list. */
    uint32_t at = 0;
    size_t j = 0;
    for (uint32_t k = 0; k < NTRI; k++) {
        if (!t->count[k])
            continue;
        t->keys[j] = k;
        t->offsets[j++] = at;
        uint32_t c = t->count[k];
        t->count[k] = at;
        at += c;
    }
    t->offsets[nkeys] = at;
    /* The second pass finds each file's trigrams again: cheaper in memory
     * than keeping every (file, trigram) pair of the first. */
    t->postings = xmalloc((t->total ? t->total : 1) * sizeof *t->postings);
    for (uint32_t f = 0; f < t->nfiles; f++) {
        const char *text;
        size_t len;
        text_of(ctx, f, &text, &len);
        size_t n = distinct(t, text, len);
        for (size_t i = 0; i < n; i++)
            t->postings[t->count[t->scratch[i]]++] = f;
    }
    free_building(t);
}

/* A set of file numbers: all of them, or a sorted list (owned or a view
 * into the postings). */
struct fset {
    bool all, owned;
    const uint32_t *v;
    size_t n;
};

static void fset_release(struct fset *s)
{
    if (s->owned)
        free((void *)s->v);
    s->owned = false;
}

static struct fset lookup(const struct tindex *t, uint32_t tri)
{
    if (t->live) {
        size_t i = hash_slot(t, tri);
        struct fset s = {0};
        if (t->hkey[i]) {
            s.v = t->lists[t->hval[i]].v;
            s.n = t->lists[t->hval[i]].n;
        }
        return s;
    }
    size_t lo = lower_bound_u32(t->keys, t->nkeys, tri);
    struct fset s = {0};
    if (lo < t->nkeys && t->keys[lo] == tri) {
        s.v = t->postings + t->offsets[lo];
        s.n = t->offsets[lo + 1] - t->offsets[lo];
    }
    return s;
}

size_t tindex_count(const struct tindex *t, uint32_t tri)
{
    return lookup(t, tri).n;
}

/* The first index at or after lo whose value is >= x (n if none):
 * steps of 1, 2, 4, ... from lo, then a binary search in the last step. */
static size_t gallop(const uint32_t *v, size_t n, size_t lo, uint32_t x)
{
    size_t hi = lo, step = 1;
    while (hi < n && v[hi] < x) {
        lo = hi + 1;
        hi += step;
        step *= 2;
    }
    if (hi > n)
        hi = n;
    return lo + lower_bound_u32(v + lo, hi - lo, x);
}

/* a AND b, where a is the smaller; a is consumed.  Each member of a is
 * looked for in b by galloping on from the last one found: about a merge's
 * cost for lists of like sizes, about a.n * log(b.n / a.n) when b is far
 * longer (a near-universal trigram costs little once a is small). */
static struct fset intersect(struct fset a, const struct fset *b)
{
    uint32_t *out = xmalloc((a.n ? a.n : 1) * sizeof *out);
    size_t k = 0, j = 0;
    for (size_t i = 0; i < a.n && j < b->n; i++) {
        j = gallop(b->v, b->n, j, a.v[i]);
        if (j < b->n && b->v[j] == a.v[i])
            out[k++] = a.v[i];
    }
    fset_release(&a);
    return (struct fset){.owned = true, .v = out, .n = k};
}

static struct fset unite(struct fset a, struct fset b)
{
    uint32_t *out = xmalloc((a.n + b.n ? a.n + b.n : 1) * sizeof *out);
    size_t i = 0, j = 0, k = 0;
    while (i < a.n || j < b.n) {
        if (j >= b.n || (i < a.n && a.v[i] < b.v[j]))
            out[k++] = a.v[i++];
        else if (i >= a.n || b.v[j] < a.v[i])
            out[k++] = b.v[j++];
        else
            out[k++] = a.v[i++], j++;
    }
    fset_release(&a);
    fset_release(&b);
    return (struct fset){.owned = true, .v = out, .n = k};
}

static int by_size(const void *x, const void *y)
{
    const struct fset *a = x, *b = y;
    return (a->n > b->n) - (a->n < b->n);
}

static struct fset eval(const struct tindex *t, const struct qnode *q);

static struct fset eval_and(const struct tindex *t, const struct qnode *q)
{
    struct fset *kids = xmalloc(q->nkids * sizeof *kids);
    size_t n = 0;
    for (size_t i = 0; i < q->nkids; i++) {
        struct fset s = eval(t, q->kids[i]);
        if (s.all)
            continue;
        kids[n++] = s;
    }
    struct fset acc = {.all = true};
    if (n > 0) {
        /* Smallest first: each step only shrinks the candidates. */
        qsort(kids, n, sizeof *kids, by_size);
        acc = kids[0];
        for (size_t i = 1; i < n; i++) {
            if (acc.n > 0)
                acc = intersect(acc, &kids[i]);
            fset_release(&kids[i]);
        }
    }
    free(kids);
    return acc;
}

static struct fset eval(const struct tindex *t, const struct qnode *q)
{
    switch (q->kind) {
    case QN_TRI:
        return lookup(t, q->tri);
    case QN_AND:
        return eval_and(t, q);
    case QN_OR: {
        struct fset acc = {0};
        for (size_t i = 0; i < q->nkids; i++) {
            struct fset s = eval(t, q->kids[i]);
            if (s.all) {
                fset_release(&acc);
                return s;
            }
            acc = unite(acc, s);
        }
        return acc;
    }
    default:
        return (struct fset){.all = true};
    }
}

uint32_t *tindex_candidates(const struct tindex *t, const struct qnode *q, size_t *n)
{
    struct fset s = eval(t, q);
    if (s.all)
        return NULL;
    uint32_t *out = xmalloc((s.n ? s.n : 1) * sizeof *out);
    if (s.n)
        memcpy(out, s.v, s.n * sizeof *out);
    *n = s.n;
    fset_release(&s);
    return out;
}

bool tindex_ready(const struct tindex *t)
{
    return t && (t->keys || t->live);
}

size_t tindex_bytes(const struct tindex *t)
{
    if (t->live) {
        size_t b = t->hcap * 2 * sizeof(uint32_t) + t->lists_cap * sizeof *t->lists + NTRI / 8 +
                   t->scratch_cap * 4;
        for (size_t i = 0; i < t->nlists; i++)
            b += t->lists[i].cap * sizeof(uint32_t);
        return b;
    }
    size_t postings = t->keys ? (size_t)t->offsets[t->nkeys] : 0;
    size_t building = t->seen ? NTRI / 8 + NTRI * sizeof(uint32_t) + t->scratch_cap * 4 : 0;
    return t->nkeys * 2 * sizeof(uint32_t) + postings * sizeof(uint32_t) + building;
}
