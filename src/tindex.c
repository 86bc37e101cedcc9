/*
 * tindex.c - trigram posting lists per shard (see tindex.h).
 */
#include "tindex.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define NKEYS    (1u << 25) /* trigrams below QPLAN_SHAPE_BIT, shapes above */
#define GROUP    128u       /* postings per group of a packed list */
#define PASS_MAX (1u << 31) /* postings a pass of tindex_finish() holds unpacked, at most */

/* A live index's posting list: block numbers, ascending (appended). */
struct plist {
    uint32_t *v;
    uint32_t n, cap;
};

struct tindex {
    /* live mode: a hash from key to its growing list */
    bool live;
    uint32_t *hkey; /* key + 1; 0: empty */
    uint32_t *hval; /* index in lists */
    size_t hcap, hused;
    struct plist *lists;
    size_t nlists, lists_cap;
    /* while building */
    uint64_t *bits;    /* one bit per key, for the file being scanned */
    uint32_t *count;   /* per key, the files holding it; then a cursor */
    uint32_t *scratch; /* the distinct keys of the file being scanned */
    size_t scratch_cap;
    uint32_t *present; /* the keys counted so far, as first seen */
    size_t npresent, present_cap;
    uint64_t total; /* the sum of count: postings to come */
    uint32_t nfiles;
    uint64_t budget; /* tindex_set_pass_budget(); 0: the default */
    /* built (or, for a view, held elsewhere) */
    bool view;
    struct tindex_arrays a;
};

struct tindex *tindex_new(void)
{
    struct tindex *t = xcalloc(1, sizeof *t);
    t->bits = xcalloc(NKEYS / 64, sizeof *t->bits);
    t->count = xcalloc(NKEYS, sizeof *t->count);
    return t;
}

struct tindex *tindex_new_live(void)
{
    struct tindex *t = xcalloc(1, sizeof *t);
    t->live = true;
    t->bits = xcalloc(NKEYS / 64, sizeof *t->bits);
    t->hcap = 1024;
    t->hkey = xcalloc(t->hcap, sizeof *t->hkey);
    t->hval = xcalloc(t->hcap, sizeof *t->hval);
    return t;
}

struct tindex *tindex_view(const struct tindex_arrays *a)
{
    struct tindex *t = xcalloc(1, sizeof *t);
    t->view = true;
    t->a = *a; /* never written through */
    return t;
}

void tindex_arrays(const struct tindex *t, struct tindex_arrays *a)
{
    *a = t->a;
}

/* Where key's search starts in a table of cap (a power of two) slots:
 * the product's high bits, which depend on every bit of the key (the
 * low ones depend only on the key's low bits). */
static inline size_t slot_of(uint32_t key, size_t cap)
{
    return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static size_t hash_slot(const struct tindex *t, uint32_t key)
{
    size_t i = slot_of(key, t->hcap);
    while (t->hkey[i] && t->hkey[i] != key + 1)
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

/* Append block b to the list of key, making the list if it is new. */
static void live_post(struct tindex *t, uint32_t key, uint32_t b)
{
    if (2 * (t->hused + 1) > t->hcap)
        hash_grow(t);
    size_t i = hash_slot(t, key);
    if (!t->hkey[i]) {
        if (t->nlists == t->lists_cap) {
            t->lists_cap = t->lists_cap ? 2 * t->lists_cap : 1024;
            t->lists = xrealloc(t->lists, t->lists_cap * sizeof *t->lists);
        }
        t->lists[t->nlists] = (struct plist){0};
        t->hkey[i] = key + 1;
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
    free(t->bits);
    free(t->count);
    t->bits = NULL;
    free(t->scratch);
    free(t->present);
    t->count = t->scratch = t->present = NULL;
    t->scratch_cap = t->npresent = t->present_cap = 0;
}

void tindex_free(struct tindex *t)
{
    if (!t)
        return;
    free_building(t);
    if (!t->view) {
        free((void *)t->a.keys);
        free((void *)t->a.counts);
        free((void *)t->a.offsets);
        free((void *)t->a.data);
    }
    for (size_t i = 0; i < t->nlists; i++)
        free(t->lists[i].v);
    free(t->lists);
    free(t->hkey);
    free(t->hval);
    free(t);
}

/* Which keys distinct() finds. */
#define WANT_TRI   1u
#define WANT_SHAPE 2u

/* Mark key found in the file (into t->scratch) unless it was already. */
static inline void see(struct tindex *t, uint32_t key, size_t *n)
{
    uint64_t bit = 1ull << (key & 63);
    if (t->bits[key >> 6] & bit)
        return;
    t->bits[key >> 6] |= bit;
    t->scratch[(*n)++] = key;
}

/*
 * The distinct keys of text that want asks for into t->scratch; returns
 * how many, found once each with a bitmap of all 2^25 keys (4 MiB, left
 * clear).  Trigrams in one pass; then shapes, which start only at a byte
 * of a class above QPLAN_SHAPE_WORD (qplan.h).
 */
static size_t distinct(struct tindex *t, const char *text, size_t len, unsigned want)
{
    if (t->scratch_cap < 2 * len) {
        /* A file has at most len keys of each kind. */
        t->scratch_cap = 2 * len > 4096 ? 2 * len : 4096;
        free(t->scratch);
        t->scratch = xmalloc(t->scratch_cap * sizeof *t->scratch);
    }
    const unsigned char *p = (const unsigned char *)text;
    size_t n = 0;
    if (want & WANT_TRI) {
        uint32_t key = 0;
        unsigned have = 0; /* folded bytes in key since the last newline */
        for (size_t i = 0; i < len; i++) {
            if (p[i] == '\n') {
                have = 0;
                continue;
            }
            key = ((key << 8) | qplan_fold(p[i])) & (QPLAN_SHAPE_BIT - 1);
            if (++have >= 3)
                see(t, key, &n);
        }
    }
    if (want & WANT_SHAPE)
        for (size_t i = 0; i + QPLAN_SHAPE_LEN <= len; i++) {
            if (qplan_shape_class[p[i]] <= QPLAN_SHAPE_WORD)
                continue;
            uint32_t key = qplan_shape_key(p + i);
            if (key)
                see(t, key, &n);
        }
    for (size_t i = 0; i < n; i++)
        t->bits[t->scratch[i] >> 6] &= ~(1ull << (t->scratch[i] & 63));
    return n;
}

void tindex_add(struct tindex *t, const char *text, size_t len)
{
    size_t n = distinct(t, text, len, WANT_TRI | WANT_SHAPE);
    if (t->live) {
        for (size_t i = 0; i < n; i++)
            live_post(t, t->scratch[i], t->nfiles);
        t->total += n;
        t->nfiles++;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t k = t->scratch[i];
        if (t->count[k]++ == 0) {
            if (t->npresent == t->present_cap) {
                t->present_cap = t->present_cap ? 2 * t->present_cap : 4096;
                t->present = xrealloc(t->present, t->present_cap * sizeof *t->present);
            }
            t->present[t->npresent++] = k;
        }
    }
    t->total += n;
    t->nfiles++;
}

static int by_value(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

/* ------------------------------------------------------------------ */
/* Packed posting lists                                                 */
/* ------------------------------------------------------------------ */

/*
 * A finished list of n block numbers is packed in groups of GROUP: in
 * each, the first number and then the gaps between neighbours, each as a
 * varint (7 bits a byte, low first; the kernel's lists take 1.3 bytes a
 * posting where they took 4).  A list of more than one group starts with
 * a skip table, one entry per group (its first number and where its bytes
 * start, from the list's start, 4 + 4 bytes little-endian), so that an
 * intersection can jump to the group that may hold a number instead of
 * reading everything before it.  Every read is bounded by the list's end:
 * a list cut short or garbled (from a snapshot) yields fewer or wrong
 * numbers, never a read outside it.
 */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static size_t put_varint(uint8_t *p, uint32_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static size_t ngroups(uint32_t n)
{
    return n > GROUP ? (n + GROUP - 1) / GROUP : 0;
}

/* The most bytes a list of n numbers packs into. */
static size_t packed_max(uint32_t n)
{
    return 8 * ngroups(n) + 5 * (size_t)n;
}

static size_t pack(const uint32_t *v, uint32_t n, uint8_t *out)
{
    size_t ng = ngroups(n), at = 8 * ng;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t prev = i % GROUP ? v[i - 1] : 0;
        if (ng && i % GROUP == 0) {
            put32(out + 8 * (i / GROUP), v[i]);
            put32(out + 8 * (i / GROUP) + 4, (uint32_t)at);
        }
        at += put_varint(out + at, v[i] - prev);
    }
    return at;
}

/* Key k's count of postings; no more than its bytes (each takes one at
 * least), whatever a garbled count says. */
static uint32_t list_count(const struct tindex *t, size_t k)
{
    uint64_t bytes = t->a.offsets[k + 1] - t->a.offsets[k];
    return t->a.counts[k] < bytes ? t->a.counts[k] : (uint32_t)bytes;
}

/* A reader of one packed list. */
struct cursor {
    const uint8_t *list, *p, *end;
    uint32_t n, i; /* numbers in the list; numbers read */
    uint32_t v;    /* the last number read */
    size_t ng;
};

static void cursor_open(struct cursor *c, const struct tindex *t, size_t k)
{
    c->list = t->a.data + t->a.offsets[k];
    c->end = t->a.data + t->a.offsets[k + 1];
    c->n = list_count(t, k);
    c->ng = ngroups(c->n);
    c->i = 0;
    c->v = 0;
    if (8 * c->ng > (size_t)(c->end - c->list))
        c->n = 0, c->ng = 0; /* no room for its skip table: garbled */
    c->p = c->list + 8 * c->ng;
}

/* The next number into c->v; false at the end. */
static bool cursor_next(struct cursor *c)
{
    if (c->i >= c->n)
        return false;
    uint32_t prev = c->i % GROUP ? c->v : 0, x = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (c->p >= c->end || shift > 28) {
            c->n = c->i; /* cut short */
            return false;
        }
        uint8_t b = *c->p++;
        x |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
    }
    c->v = prev + x;
    c->i++;
    return true;
}

/* Move to the first number >= x (into c->v); false if there is none.
 * Through the skip table to the last group that starts at or below x,
 * when that is past the group being read. */
static bool cursor_seek(struct cursor *c, uint32_t x)
{
    if (c->i > 0 && c->v >= x)
        return true;
    if (c->ng) {
        size_t g = c->i ? (c->i - 1) / GROUP + 1 : 0; /* the next group not yet begun */
        if (g < c->ng && get32(c->list + 8 * g) <= x) {
            size_t lo = g, hi = c->ng; /* the last group from g whose first is <= x */
            while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;
                if (get32(c->list + 8 * mid) <= x)
                    lo = mid;
                else
                    hi = mid;
            }
            uint32_t at = get32(c->list + 8 * lo + 4);
            if (at > (size_t)(c->end - c->list)) {
                c->n = c->i;
                return false;
            }
            c->p = c->list + at;
            c->i = (uint32_t)(lo * GROUP);
        }
    }
    while (cursor_next(c))
        if (c->v >= x)
            return true;
    return false;
}

/* Pack the lists of keys [lo, hi) (their postings in raw, from the
 * starts in start[]) onto the end of the data, of *cap bytes. */
static void pack_range(struct tindex *t, size_t lo, size_t hi, const uint32_t *raw,
                       const uint64_t *start, size_t *cap)
{
    for (size_t k = lo; k < hi; k++) {
        uint32_t n = t->a.counts[k];
        size_t need = t->a.data_len + packed_max(n);
        if (need > *cap) {
            *cap = need > 2 * *cap ? need : 2 * *cap;
            t->a.data = xrealloc((void *)t->a.data, *cap);
            prefer_huge_pages((void *)t->a.data, *cap);
        }
        ((uint64_t *)t->a.offsets)[k] = t->a.data_len;
        t->a.data_len += pack(raw + start[k - lo], n, (uint8_t *)t->a.data + t->a.data_len);
    }
}

/* Pack every list where the unpacked lists lie (raw, all keys), each
 * through a scratch buffer: a list packs into no more bytes than it held
 * unpacked while every gap is below 2^21 (three bytes a posting, and
 * eight a group of GROUP for the skip table), so what is written never
 * reaches a list not read yet.  The buffer becomes the data. */
static void pack_in_place(struct tindex *t, uint32_t *raw, const uint64_t *start)
{
    uint8_t *out = (uint8_t *)raw, *scratch = NULL;
    size_t scratch_cap = 0, at = 0;
    for (size_t k = 0; k < t->a.nkeys; k++) {
        uint32_t n = t->a.counts[k];
        if (packed_max(n) > scratch_cap) {
            free(scratch);
            scratch_cap = packed_max(n);
            scratch = xmalloc(scratch_cap);
        }
        size_t len = pack(raw + start[k], n, scratch);
        if (at + len > 4 * (start[k] + n))
            die("trigram index: a list packed into more bytes than it held");
        memcpy(out + at, scratch, len);
        ((uint64_t *)t->a.offsets)[k] = at;
        at += len;
    }
    free(scratch);
    t->a.data = xrealloc(raw, at ? at : 1);
    t->a.data_len = at;
}

void tindex_set_pass_budget(struct tindex *t, uint64_t postings)
{
    t->budget = postings;
}

/*
 * The lists are filled in one pass over the files, unpacked, and then
 * packed where they lie, so the peak of a load is the unpacked lists.
 * Past 2^31 postings (or below a budget set for tests), or with 2^21
 * files or more (gaps that may not pack smaller), they are filled in
 * passes over ranges of keys instead, each range packed onto the end of
 * a growing buffer: the files are then read once per pass.
 */
void tindex_finish(struct tindex *t, tindex_text_fn text_of, void *ctx)
{
    /* the keys present, ascending */
    size_t nkeys = t->npresent;
    /* copied into memory that prefers huge pages: every query's lookups
     * land all over it */
    uint32_t *keys = xmalloc((nkeys ? nkeys : 1) * sizeof *keys);
    prefer_huge_pages(keys, (nkeys ? nkeys : 1) * sizeof *keys);
    if (nkeys) /* none: present may be NULL */
        memcpy(keys, t->present, nkeys * sizeof *keys);
    free(t->present);
    t->present = NULL;
    t->npresent = t->present_cap = 0;
    qsort(keys, nkeys, sizeof *keys, by_value);
    uint32_t *counts = xmalloc((nkeys ? nkeys : 1) * sizeof *counts);
    uint64_t *offsets = xmalloc((nkeys + 1) * sizeof *offsets);
    prefer_huge_pages(counts, (nkeys ? nkeys : 1) * sizeof *counts); /* read by every query */
    prefer_huge_pages(offsets, (nkeys + 1) * sizeof *offsets);
    for (size_t j = 0; j < nkeys; j++)
        counts[j] = t->count[keys[j]];
    t->a =
        (struct tindex_arrays){.keys = keys, .counts = counts, .offsets = offsets, .nkeys = nkeys};
    uint64_t budget = t->budget ? t->budget : PASS_MAX;
    if (budget > PASS_MAX)
        budget = PASS_MAX;
    bool in_place = t->total <= budget && t->nfiles < (1u << 21);
    uint64_t *start = xmalloc((nkeys ? nkeys : 1) * sizeof *start);
    uint32_t *raw = NULL;
    size_t raw_cap = 0, data_cap = 0;
    for (size_t lo = 0; lo < nkeys;) {
        /* the range [lo, hi): at least one key, then while within budget */
        uint64_t sum = counts[lo];
        size_t hi = lo + 1;
        while (hi < nkeys && sum + counts[hi] <= budget)
            sum += counts[hi++];
        if (sum > raw_cap) {
            free(raw);
            raw_cap = sum;
            raw = xmalloc(raw_cap * sizeof *raw);
            prefer_huge_pages(raw, raw_cap * sizeof *raw); /* packed in place: the data */
        }
        /* count[key] becomes the next free slot of its list in raw */
        uint64_t at = 0;
        for (size_t k = lo; k < hi; k++) {
            start[k - lo] = at;
            t->count[keys[k]] = (uint32_t)at;
            at += counts[k];
        }
        unsigned want = (keys[lo] < QPLAN_SHAPE_BIT ? WANT_TRI : 0) |
                        (keys[hi - 1] >= QPLAN_SHAPE_BIT ? WANT_SHAPE : 0);
        uint32_t klo = keys[lo], khi = keys[hi - 1];
        for (uint32_t f = 0; f < t->nfiles; f++) {
            const char *text;
            size_t len;
            text_of(ctx, f, &text, &len);
            size_t n = distinct(t, text, len, want);
            for (size_t i = 0; i < n; i++)
                if (t->scratch[i] >= klo && t->scratch[i] <= khi)
                    raw[t->count[t->scratch[i]]++] = f;
        }
        if (in_place) {
            pack_in_place(t, raw, start);
            raw = NULL;
        } else {
            pack_range(t, lo, hi, raw, start, &data_cap);
        }
        lo = hi;
    }
    free(raw);
    free(start);
    offsets[nkeys] = t->a.data_len;
    if (!in_place || !t->a.data) /* to its size; never NULL, even with no key */
        t->a.data = xrealloc((void *)t->a.data, t->a.data_len ? t->a.data_len : 1);
    free_building(t);
}

/* ------------------------------------------------------------------ */
/* Queries                                                              */
/* ------------------------------------------------------------------ */

/* A set of file numbers: all of them, a sorted list (owned or a view into
 * a live list), or a packed list not read yet (n is then its count). */
struct fset {
    bool all, owned;
    const uint32_t *v;
    size_t n;
    bool packed;
    size_t key; /* packed: the key's index */
};

static void fset_release(struct fset *s)
{
    if (s->owned)
        free((void *)s->v);
    s->owned = false;
}

static struct fset lookup(const struct tindex *t, uint32_t key)
{
    struct fset s = {0};
    if (t->live) {
        size_t i = hash_slot(t, key);
        if (t->hkey[i]) {
            s.v = t->lists[t->hval[i]].v;
            s.n = t->lists[t->hval[i]].n;
        }
        return s;
    }
    size_t lo = lower_bound_u32(t->a.keys, t->a.nkeys, key);
    if (lo < t->a.nkeys && t->a.keys[lo] == key) {
        s.packed = true;
        s.key = lo;
        s.n = list_count(t, lo);
    }
    return s;
}

size_t tindex_count(const struct tindex *t, uint32_t key)
{
    return lookup(t, key).n;
}

/* A packed set read into a list. */
static struct fset unpack(const struct tindex *t, struct fset s)
{
    if (!s.packed)
        return s;
    uint32_t *out = xmalloc((s.n ? s.n : 1) * sizeof *out);
    struct cursor c;
    cursor_open(&c, t, s.key);
    size_t k = 0;
    while (k < s.n && cursor_next(&c))
        out[k++] = c.v;
    return (struct fset){.owned = true, .v = out, .n = k};
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

/* a AND b, where a is the smaller and unpacked; a is consumed.  Each
 * member of a is looked for in b by moving on from the last one found:
 * galloping in a list, through the skip table in a packed one.  About a
 * merge's cost for lists of like sizes, about a.n * log(b.n / a.n) when b
 * is far longer (a near-universal trigram costs little once a is small). */
static struct fset intersect(const struct tindex *t, struct fset a, const struct fset *b)
{
    uint32_t *out = xmalloc((a.n ? a.n : 1) * sizeof *out);
    size_t k = 0;
    if (b->packed) {
        struct cursor c;
        cursor_open(&c, t, b->key);
        for (size_t i = 0; i < a.n && cursor_seek(&c, a.v[i]); i++)
            if (c.v == a.v[i])
                out[k++] = a.v[i];
    } else {
        size_t j = 0;
        for (size_t i = 0; i < a.n && j < b->n; i++) {
            j = gallop(b->v, b->n, j, a.v[i]);
            if (j < b->n && b->v[j] == a.v[i])
                out[k++] = a.v[i];
        }
    }
    fset_release(&a);
    return (struct fset){.owned = true, .v = out, .n = k};
}

static struct fset unite(const struct tindex *t, struct fset a, struct fset b)
{
    a = unpack(t, a);
    b = unpack(t, b);
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
        acc = unpack(t, kids[0]);
        for (size_t i = 1; i < n; i++) {
            if (acc.n > 0)
                acc = intersect(t, acc, &kids[i]);
            fset_release(&kids[i]);
        }
    }
    free(kids);
    return acc;
}

static struct fset eval(const struct tindex *t, const struct qnode *q)
{
    switch (q->kind) {
    case QN_KEY:
        return lookup(t, q->key);
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
            acc = unite(t, acc, s);
        }
        return acc;
    }
    default:
        return (struct fset){.all = true};
    }
}

uint32_t *tindex_candidates(const struct tindex *t, const struct qnode *q, size_t *n)
{
    struct fset s = unpack(t, eval(t, q));
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
    return t && (t->a.keys || t->live);
}

size_t tindex_bytes(const struct tindex *t)
{
    if (t->live) {
        size_t b = t->hcap * 2 * sizeof(uint32_t) + t->lists_cap * sizeof *t->lists + NKEYS / 8 +
                   t->scratch_cap * 4;
        for (size_t i = 0; i < t->nlists; i++)
            b += t->lists[i].cap * sizeof(uint32_t);
        return b;
    }
    size_t building = t->count ? NKEYS / 8 + NKEYS * sizeof(uint32_t) + t->scratch_cap * 4 +
                                     t->present_cap * sizeof(uint32_t)
                               : 0;
    return t->a.nkeys * (2 * sizeof(uint32_t) + sizeof(uint64_t)) + t->a.data_len + building;
}
