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
/* While the lists are filled, a posting is its file number with its
 * eighths mask in the top byte (files below 2^24); past that, every
 * posting says all eighths. */
#define MASKED_MAX (1u << 24)
/* The lists an AND reads, at most: its smallest.  A literal's trigrams
 * overlap, and past the rarest few each adds little but its reading (on
 * the Linux tree, 4 takes a fifth off ^static int __init \w+\(void\)
 * against all 20, and costs none of the bench queries). */
#define AND_KEYS    4
#define ALL_EIGHTHS 0xFFu

#define VARINT_MAX 5 /* bytes: a 32-bit number, 7 bits a byte */
static size_t put_varint(uint8_t *p, uint32_t v);

/* A live index's posting list: block numbers, ascending (appended), as
 * varint gaps from the one before (put_varint()): a byte or two each, a
 * quarter of what they took as 4-byte numbers with room to double. */
struct plist {
    uint8_t *v;
    uint32_t n;        /* postings */
    uint32_t len, cap; /* bytes */
    uint32_t last;     /* the last block number appended */
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
    size_t scratch_cap, nscratch;
    /* While filling with eighths: the file's keys in a small hash table
     * (key + 1, 0: empty), each with its eighths, and the slots used. */
    uint32_t *fkey, *fused;
    uint8_t *feighths;
    size_t fcap, nfused;
    uint32_t klo, khi; /* the keys of the pass being filled */
    uint32_t *present; /* the keys counted so far, as first seen */
    size_t npresent, present_cap;
    uint64_t total; /* the sum of count: postings to come */
    uint32_t nfiles;
    uint64_t budget; /* tindex_set_pass_budget(); 0: the default */
    bool masked;     /* postings carry their eighths while filled (MASKED_MAX) */
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

void tindex_live_trim(struct tindex *t)
{
    if (!t || !t->live)
        return;
    free(t->bits);
    free(t->scratch);
    t->bits = NULL;
    t->scratch = NULL;
    t->scratch_cap = 0;
    for (size_t i = 0; i < t->nlists; i++) {
        struct plist *l = &t->lists[i];
        if (l->cap > l->len + VARINT_MAX) { /* the next posting still fits */
            l->cap = l->len + VARINT_MAX;
            l->v = xrealloc(l->v, l->cap);
        }
    }
    if (t->lists_cap > t->nlists) {
        t->lists = xrealloc(t->lists, (t->nlists ? t->nlists : 1) * sizeof *t->lists);
        t->lists_cap = t->nlists ? t->nlists : 1;
    }
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

/* The slot holding key, or the free one where it would go, probing
 * from slot i on. */
static size_t probe_from(const struct tindex *t, uint32_t key, size_t i)
{
    while (t->hkey[i] && t->hkey[i] != key + 1)
        i = (i + 1) & (t->hcap - 1);
    return i;
}

static size_t hash_slot(const struct tindex *t, uint32_t key)
{
    return probe_from(t, key, slot_of(key, t->hcap));
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

/* Append block b to the list of key, probing from slot i (where an
 * earlier probe ended: a key of the same batch may have taken it since),
 * making the list if it is new.  The table has room (live_post()). */
static void live_post_at(struct tindex *t, uint32_t key, uint32_t b, size_t i)
{
    i = probe_from(t, key, i);
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
    if (l->cap - l->len < VARINT_MAX) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->v = xrealloc(l->v, l->cap);
    }
    l->len += (uint32_t)put_varint(l->v + l->len, l->n ? b - l->last : b);
    l->last = b;
    l->n++;
}

/* Append block b to the lists of keys[0..n), POST_BATCH at a time in
 * three passes: the slots' cache lines asked for, then the probes (each
 * list's entry asked for), then the appends.  One key after the other,
 * each waited on three misses in a row (the table, the list's entry, its
 * bytes), and applying a burst of changes was mostly that. */
#define POST_BATCH 16

static void live_post(struct tindex *t, const uint32_t *keys, size_t n, uint32_t b)
{
    for (size_t at = 0; at < n; at += POST_BATCH) {
        size_t m = n - at < POST_BATCH ? n - at : POST_BATCH;
        while (2 * (t->hused + m) > t->hcap)
            hash_grow(t);
        size_t slot[POST_BATCH];
        for (size_t j = 0; j < m; j++) {
            slot[j] = slot_of(keys[at + j], t->hcap);
            __builtin_prefetch(&t->hkey[slot[j]]);
            __builtin_prefetch(&t->hval[slot[j]]);
        }
        for (size_t j = 0; j < m; j++) {
            size_t i = slot[j] = probe_from(t, keys[at + j], slot[j]);
            if (t->hkey[i])
                __builtin_prefetch(&t->lists[t->hval[i]]);
        }
        for (size_t j = 0; j < m; j++)
            live_post_at(t, keys[at + j], b, slot[j]);
    }
}

static void free_building(struct tindex *t)
{
    free(t->bits);
    free(t->count);
    t->bits = NULL;
    free(t->scratch);
    free(t->present);
    free(t->fkey);
    free(t->fused);
    free(t->feighths);
    t->count = t->scratch = t->present = t->fkey = t->fused = NULL;
    t->feighths = NULL;
    t->scratch_cap = t->npresent = t->present_cap = t->fcap = t->nfused = 0;
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

/*
 * Every key of text that want asks for, with repeats, and where its line
 * starts: trigrams in one pass (none holds a '\n'); then shapes, which
 * start only at a byte of a class above QPLAN_SHAPE_WORD (qplan.h) and
 * never hold a '\n' either.  fn is called as fn(ctx, key, line start).
 * Inlined into each caller with its own fn.
 */
static inline __attribute__((always_inline)) void each_key(const char *text, size_t len,
                                                           unsigned want,
                                                           void (*fn)(void *, uint32_t, size_t),
                                                           void *ctx)
{
    const unsigned char *p = (const unsigned char *)text;
    if (want & WANT_TRI) {
        uint32_t key = 0;
        unsigned have = 0; /* folded bytes in key since the last newline */
        size_t line = 0;
        for (size_t i = 0; i < len; i++) {
            if (p[i] == '\n') {
                have = 0;
                line = i + 1;
                continue;
            }
            key = ((key << 8) | qplan_fold(p[i])) & (QPLAN_SHAPE_BIT - 1);
            if (++have >= 3)
                fn(ctx, key, line);
        }
    }
    if (want & WANT_SHAPE) {
        size_t line = 0;
        for (size_t i = 0; i + QPLAN_SHAPE_LEN <= len; i++) {
            if (p[i] == '\n')
                line = i + 1;
            if (qplan_shape_class[p[i]] <= QPLAN_SHAPE_WORD)
                continue;
            uint32_t key = qplan_shape_key(p + i);
            if (key)
                fn(ctx, key, line);
        }
    }
}

/* Mark key found in the file (into t->scratch) unless it was already. */
static void see(void *ctx, uint32_t key, size_t line)
{
    struct tindex *t = ctx;
    (void)line;
    /* Without a branch: whether a key was seen is a coin toss the
     * predictor loses, text after text. */
    uint64_t *w = &t->bits[key >> 6], bit = 1ull << (key & 63);
    t->scratch[t->nscratch] = key;
    t->nscratch += !(*w & bit);
    *w |= bit;
}

/* The distinct keys of text that want asks for into t->scratch; returns
 * how many, found once each with a bitmap of all 2^25 keys (4 MiB, left
 * clear). */
static size_t distinct(struct tindex *t, const char *text, size_t len, unsigned want)
{
    if (t->scratch_cap < 2 * len) {
        /* A file has at most len keys of each kind. */
        t->scratch_cap = 2 * len > 4096 ? 2 * len : 4096;
        free(t->scratch);
        t->scratch = xmalloc(t->scratch_cap * sizeof *t->scratch);
    }
    t->nscratch = 0;
    each_key(text, len, want, see, t);
    size_t n = t->nscratch;
    for (size_t i = 0; i < n; i++)
        t->bits[t->scratch[i] >> 6] &= ~(1ull << (t->scratch[i] & 63));
    return n;
}

void tindex_add(struct tindex *t, const char *text, size_t len)
{
    if (t->live && !t->bits)
        t->bits = xcalloc(NKEYS / 64, sizeof *t->bits); /* trimmed (tindex_live_trim()) */
    size_t n = distinct(t, text, len, WANT_TRI | WANT_SHAPE);
    if (t->live) {
        live_post(t, t->scratch, n, (uint32_t)t->nfiles);
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
 * A finished list of n postings is packed in groups of GROUP.  A posting
 * is its block number, as the gap from the one before it (a varint: 7
 * bits a byte, low first), then one byte: the block's eighths that hold
 * the key (tindex.h).  A list of more than one group starts with a skip
 * table, one entry per group (its first number and where its bytes
 * start, from the list's start, 4 + 4 bytes little-endian), so that an
 * intersection can jump to the group that may hold a number instead of
 * reading everything before it; a group's first posting is then its
 * eighths byte alone.  Every read is bounded by the list's end: a list
 * cut short or garbled (from a snapshot) yields fewer or wrong numbers,
 * never a read outside it.
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

/* The varint at *p, not past end, into *v, and *p past it; false when
 * it is cut short or longer than 32 bits take. */
static inline bool get_varint(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
    uint32_t x = 0;
    for (unsigned shift = 0; *p < end && shift <= 28; shift += 7) {
        uint8_t b = *(*p)++;
        x |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

static size_t ngroups(uint32_t n)
{
    return n > GROUP ? (n + GROUP - 1) / GROUP : 0;
}

/* The most bytes a list of n postings packs into. */
static size_t packed_max(uint32_t n)
{
    return 8 * ngroups(n) + 6 * (size_t)n;
}

/* Pack n postings as filled (masked: the eighths in the top byte). */
static size_t pack(const uint32_t *v, uint32_t n, bool masked, uint8_t *out)
{
    size_t ng = ngroups(n), at = 8 * ng;
    uint32_t prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t x = masked ? v[i] & (MASKED_MAX - 1) : v[i];
        if (ng && i % GROUP == 0) {
            put32(out + 8 * (i / GROUP), x);
            put32(out + 8 * (i / GROUP) + 4, (uint32_t)at);
        } else {
            at += put_varint(out + at, x - prev);
        }
        out[at++] = masked ? (uint8_t)(v[i] >> 24) : ALL_EIGHTHS;
        prev = x;
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
    uint32_t n, i; /* postings in the list; postings read */
    uint32_t v;    /* the last number read */
    uint8_t m;     /* and its eighths */
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

/* The next posting into c->v and c->m; false at the end. */
static bool cursor_next(struct cursor *c)
{
    if (c->i >= c->n)
        return false;
    uint32_t v;
    if (c->ng && c->i % GROUP == 0) {
        v = get32(c->list + 8 * (c->i / GROUP)); /* a group's first: in the table */
    } else {
        uint32_t x;
        if (!get_varint(&c->p, c->end, &x)) {
            c->n = c->i; /* cut short */
            return false;
        }
        v = (c->i ? c->v : 0) + x;
    }
    if (c->p >= c->end) {
        c->n = c->i;
        return false;
    }
    c->m = *c->p++;
    c->v = v;
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
        t->a.data_len +=
            pack(raw + start[k - lo], n, t->masked, (uint8_t *)t->a.data + t->a.data_len);
    }
}

/* Pack every list where the unpacked lists lie (raw, all keys), each
 * through a scratch buffer: with fewer than 2^20 files a list packs into
 * no more bytes than it held unpacked (4 a posting): a list of up to
 * GROUP takes at most 3 + 1 a posting; a longer one, whose gaps within
 * groups add up to less than 2^20 (so fewer than 64 take three bytes),
 * at most 3 a posting plus 63, plus 6 a group (the skip table's 8, less
 * its first posting's gap).  So what is written never reaches a list not
 * read yet.  The buffer becomes the data. */
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
        size_t len = pack(raw + start[k], n, t->masked, scratch);
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

/* Note key (of the pass's range) in the line starting at line: its
 * eighth's bit joins the key's in the file's table. */
static void note(void *ctx, uint32_t key, size_t line)
{
    struct tindex *t = ctx;
    if (key < t->klo || key > t->khi)
        return;
    size_t e = line >> TINDEX_EIGHTH_SHIFT;
    uint8_t bit = (uint8_t)(1u << (e < TINDEX_EIGHTHS ? e : TINDEX_EIGHTHS - 1));
    size_t i = slot_of(key, t->fcap);
    while (t->fkey[i] && t->fkey[i] != key + 1)
        i = (i + 1) & (t->fcap - 1);
    if (!t->fkey[i]) {
        t->fkey[i] = key + 1;
        t->feighths[i] = 0;
        t->fused[t->nfused++] = (uint32_t)i;
    }
    t->feighths[i] |= bit;
}

/* Files longer than this are posted as holding their keys in every
 * eighth (the corpus cuts files into blocks of 16 KiB, and a longer
 * block is one line: its first eighth is all of it). */
#define FILL_EIGHTHS_MAX (64u * 1024)

/* Post file f (its text) to the lists of its keys in [klo, khi] that
 * want asks for: raw[count[key]++], with the eighths of the key's lines
 * in the top byte when masked (a line's eighth is where it starts:
 * tindex_eighth_start()). */
static void fill_file(struct tindex *t, uint32_t *raw, uint32_t f, const char *text, size_t len,
                      unsigned want)
{
    if (!t->masked || len > FILL_EIGHTHS_MAX) {
        uint32_t posting = f | (t->masked ? ALL_EIGHTHS << 24 : 0);
        size_t n = distinct(t, text, len, want);
        for (size_t i = 0; i < n; i++)
            if (t->scratch[i] >= t->klo && t->scratch[i] <= t->khi)
                raw[t->count[t->scratch[i]]++] = posting;
        return;
    }
    if (t->fcap < 4 * len) { /* at most 2 len keys: the table stays half empty */
        size_t cap = 4096;
        while (cap < 4 * len)
            cap *= 2;
        free(t->fkey);
        free(t->fused);
        free(t->feighths);
        t->fkey = xcalloc(cap, sizeof *t->fkey);
        t->fused = xmalloc(cap / 2 * sizeof *t->fused);
        t->feighths = xmalloc(cap);
        t->fcap = cap;
    }
    t->nfused = 0;
    each_key(text, len, want, note, t);
    for (size_t j = 0; j < t->nfused; j++) {
        uint32_t i = t->fused[j], key = t->fkey[i] - 1;
        raw[t->count[key]++] = f | (uint32_t)t->feighths[i] << 24;
        t->fkey[i] = 0;
    }
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
    bool in_place = t->total <= budget && t->nfiles < (1u << 20);
    t->masked = t->nfiles < MASKED_MAX;
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
        t->klo = keys[lo];
        t->khi = keys[hi - 1];
        for (uint32_t f = 0; f < t->nfiles; f++) {
            const char *text;
            size_t len;
            text_of(ctx, f, &text, &len);
            fill_file(t, raw, f, text, len, want);
        }
        for (size_t k = lo; k < hi; k++)
            if (t->count[keys[k]] != start[k - lo] + counts[k])
                die("trigram index: a list was filled with %u postings of %u",
                    t->count[keys[k]] - (uint32_t)start[k - lo], counts[k]);
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

/* A set of file numbers, each with its eighths: all of them, a sorted
 * list (owned or not; m NULL: every eighth), or a packed or live list not
 * read yet (n is then its count). */
struct fset {
    bool all, owned;
    const uint32_t *v;
    const uint8_t *m;
    size_t n;
    bool packed, live;
    size_t key; /* packed: the key's index; live: its list's */
};

static void fset_release(struct fset *s)
{
    if (s->owned) {
        free((void *)s->v);
        free((void *)s->m);
    }
    s->owned = false;
}

/* An owned set with room for n. */
static struct fset fset_new(size_t n)
{
    return (struct fset){
        .owned = true, .v = xmalloc((n ? n : 1) * sizeof(uint32_t)), .m = xmalloc(n ? n : 1)};
}

static uint8_t eighths_of(const struct fset *s, size_t i)
{
    return s->m ? s->m[i] : ALL_EIGHTHS;
}

static struct fset lookup(const struct tindex *t, uint32_t key)
{
    struct fset s = {0};
    if (t->live) {
        size_t i = hash_slot(t, key);
        if (t->hkey[i]) {
            s.live = true;
            s.key = t->hval[i];
            s.n = t->lists[s.key].n;
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

/* A live list read into a set (every eighth). */
static struct fset unpack_live(const struct tindex *t, size_t k)
{
    const struct plist *l = &t->lists[k];
    uint32_t *v = xmalloc((l->n ? l->n : 1) * sizeof *v);
    const uint8_t *p = l->v;
    uint32_t x = 0, gap = 0;
    for (uint32_t i = 0; i < l->n && get_varint(&p, l->v + l->len, &gap); i++)
        v[i] = x += gap; /* the list was written here: never cut short */
    return (struct fset){.owned = true, .v = v, .n = l->n};
}

/* A packed or live set read into a list. */
static struct fset unpack(const struct tindex *t, struct fset s)
{
    if (s.live)
        return unpack_live(t, s.key);
    if (!s.packed)
        return s;
    struct fset out = fset_new(s.n);
    uint32_t *v = (uint32_t *)out.v;
    uint8_t *m = (uint8_t *)out.m;
    struct cursor c;
    cursor_open(&c, t, s.key);
    while (out.n < s.n && cursor_next(&c)) {
        v[out.n] = c.v;
        m[out.n++] = c.m;
    }
    return out;
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
 * is far longer (a near-universal trigram costs little once a is small).
 * A block stays when both hold it in one eighth at least: every key of a
 * query lies on the matching line, and a line is in one eighth. */
static struct fset intersect(const struct tindex *t, struct fset a, const struct fset *b)
{
    struct fset out = fset_new(a.n);
    uint32_t *v = (uint32_t *)out.v;
    uint8_t *m = (uint8_t *)out.m;
    if (b->packed) {
        struct cursor c;
        cursor_open(&c, t, b->key);
        for (size_t i = 0; i < a.n && cursor_seek(&c, a.v[i]); i++) {
            uint8_t both = eighths_of(&a, i) & c.m;
            if (c.v == a.v[i] && both) {
                v[out.n] = a.v[i];
                m[out.n++] = both;
            }
        }
    } else {
        struct fset bl = unpack(t, *b); /* a live list read */
        size_t j = 0;
        for (size_t i = 0; i < a.n && j < bl.n; i++) {
            j = gallop(bl.v, bl.n, j, a.v[i]);
            uint8_t both = j < bl.n ? eighths_of(&a, i) & eighths_of(&bl, j) : 0;
            if (j < bl.n && bl.v[j] == a.v[i] && both) {
                v[out.n] = a.v[i];
                m[out.n++] = both;
            }
        }
        if (b->live)
            fset_release(&bl);
    }
    fset_release(&a);
    return out;
}

/* a OR b: a block either holds, in the eighths either holds it. */
static struct fset unite(const struct tindex *t, struct fset a, struct fset b)
{
    a = unpack(t, a);
    b = unpack(t, b);
    struct fset out = fset_new(a.n + b.n);
    uint32_t *v = (uint32_t *)out.v;
    uint8_t *m = (uint8_t *)out.m;
    size_t i = 0, j = 0, k = 0;
    while (i < a.n || j < b.n) {
        if (j >= b.n || (i < a.n && a.v[i] < b.v[j])) {
            m[k] = eighths_of(&a, i);
            v[k++] = a.v[i++];
        } else if (i >= a.n || b.v[j] < a.v[i]) {
            m[k] = eighths_of(&b, j);
            v[k++] = b.v[j++];
        } else {
            m[k] = eighths_of(&a, i) | eighths_of(&b, j);
            v[k++] = a.v[i++], j++;
        }
    }
    out.n = k;
    fset_release(&a);
    fset_release(&b);
    return out;
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
        /* Smallest first: each step only shrinks the candidates, and
         * only the AND_KEYS smallest are read. */
        qsort(kids, n, sizeof *kids, by_size);
        acc = unpack(t, kids[0]);
        for (size_t i = 1; i < n; i++) {
            if (acc.n > 0 && i < AND_KEYS)
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

uint32_t *tindex_candidates_eighths(const struct tindex *t, const struct qnode *q, size_t *n,
                                    uint8_t **eighths)
{
    struct fset s = unpack(t, eval(t, q));
    if (s.all) {
        if (eighths)
            *eighths = NULL;
        return NULL;
    }
    uint32_t *out = xmalloc((s.n ? s.n : 1) * sizeof *out);
    if (s.n)
        memcpy(out, s.v, s.n * sizeof *out);
    if (eighths) {
        *eighths = xmalloc(s.n ? s.n : 1);
        for (size_t i = 0; i < s.n; i++)
            (*eighths)[i] = eighths_of(&s, i);
    }
    *n = s.n;
    fset_release(&s);
    return out;
}

uint32_t *tindex_candidates(const struct tindex *t, const struct qnode *q, size_t *n)
{
    return tindex_candidates_eighths(t, q, n, NULL);
}

bool tindex_ready(const struct tindex *t)
{
    return t && (t->a.keys || t->live);
}

size_t tindex_bytes(const struct tindex *t)
{
    if (t->live) {
        size_t b = t->hcap * 2 * sizeof(uint32_t) + t->lists_cap * sizeof *t->lists +
                   (t->bits ? NKEYS / 8 : 0) + t->scratch_cap * 4;
        for (size_t i = 0; i < t->nlists; i++)
            b += t->lists[i].cap;
        return b;
    }
    size_t building = t->count ? NKEYS / 8 + NKEYS * sizeof(uint32_t) + t->scratch_cap * 4 +
                                     t->present_cap * sizeof(uint32_t) + t->fcap * (4 + 2 + 1)
                               : 0;
    return t->a.nkeys * (2 * sizeof(uint32_t) + sizeof(uint64_t)) + t->a.data_len + building;
}
