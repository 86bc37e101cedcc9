/*
 * facets.c - counts by folder and language: the worker's tally and the
 * master's sum (see facets.h).
 */
#include "facets.h"

#include <stdlib.h>
#include <string.h>

#include "lang.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* Worker: the tally                                                   */
/* ------------------------------------------------------------------ */

struct run {
    uint32_t tree;
    const char *key;
    uint32_t len;
    uint64_t lines, files;
};

struct runs {
    struct run *v;
    size_t n, cap;
};

struct facet_tally {
    struct runs folders[2]; /* MSG_FACET_TOP, MSG_FACET_SUB */
    uint64_t *lang_lines, *lang_files;
};

struct facet_tally *facet_tally_new(void)
{
    struct facet_tally *t = xcalloc(1, sizeof *t);
    t->lang_lines = xcalloc(lang_count(), sizeof *t->lang_lines);
    t->lang_files = xcalloc(lang_count(), sizeof *t->lang_files);
    return t;
}

void facet_tally_free(struct facet_tally *t)
{
    if (!t)
        return;
    free(t->folders[0].v);
    free(t->folders[1].v);
    free(t->lang_lines);
    free(t->lang_files);
    free(t);
}

/* Add to the last run when it has this key, else start one. */
static void runs_add(struct runs *r, uint32_t tree, const char *key, size_t len, uint64_t lines)
{
    struct run *last = r->n ? &r->v[r->n - 1] : NULL;
    if (!last || last->tree != tree || last->len != len || memcmp(last->key, key, len) != 0) {
        if (r->n == r->cap) {
            r->cap = r->cap ? 2 * r->cap : 64;
            r->v = xrealloc(r->v, r->cap * sizeof *r->v);
        }
        last = &r->v[r->n++];
        *last = (struct run){.tree = tree, .key = key, .len = (uint32_t)len};
    }
    last->lines += lines;
    last->files++;
}

void facet_tally_file(struct facet_tally *t, uint32_t tree, const char *path, size_t len,
                      unsigned lang, uint64_t lines)
{
    const char *slash = memchr(path, '/', len);
    size_t top = slash ? (size_t)(slash - path) : 0;
    runs_add(&t->folders[0], tree, path, top, lines);
    if (slash) {
        const char *second = memchr(slash + 1, '/', len - top - 1);
        if (second)
            runs_add(&t->folders[1], tree, path, (size_t)(second - path), lines);
    }
    if (lang < lang_count()) {
        t->lang_lines[lang] += lines;
        t->lang_files[lang]++;
    }
}

struct sender {
    struct msg_writer w;
    uint32_t shard;
    uint64_t seq;
    int (*send)(void *ctx, const void *msg, size_t len);
    void *ctx;
    int rc;
};

static void sender_flush(struct sender *s)
{
    if (msg_facets_count(&s->w) == 0 || s->rc < 0)
        return;
    msg_facets_finish(&s->w);
    if (s->send(s->ctx, s->w.data, s->w.len) < 0)
        s->rc = -1;
    msg_facets_begin(&s->w, s->shard, s->seq);
}

static void sender_add(struct sender *s, const struct msg_facet *f)
{
    if (msg_facets_add(&s->w, f))
        return;
    sender_flush(s);
    (void)msg_facets_add(&s->w, f); /* a key is a path: it fits an empty message */
}

int facet_tally_send(const struct facet_tally *t, uint32_t shard, uint64_t seq,
                     int (*send)(void *ctx, const void *msg, size_t len), void *ctx)
{
    struct sender s = {.shard = shard, .seq = seq, .send = send, .ctx = ctx};
    msg_writer_init(&s.w);
    msg_facets_begin(&s.w, shard, seq);
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < t->folders[k].n && s.rc == 0; i++) {
            const struct run *r = &t->folders[k].v[i];
            sender_add(&s, &(struct msg_facet){.kind = (uint8_t)k,
                                               .tree = r->tree,
                                               .key = r->key,
                                               .key_len = r->len,
                                               .lines = r->lines,
                                               .files = r->files});
        }
    for (unsigned id = 0; id < lang_count() && s.rc == 0; id++)
        if (t->lang_files[id]) {
            const char *name = lang_name(id);
            sender_add(&s, &(struct msg_facet){.kind = MSG_FACET_LANG,
                                               .key = name,
                                               .key_len = (uint32_t)strlen(name),
                                               .lines = t->lang_lines[id],
                                               .files = t->lang_files[id]});
        }
    sender_flush(&s);
    msg_writer_free(&s.w);
    return s.rc;
}

/* ------------------------------------------------------------------ */
/* Master: the sum                                                     */
/* ------------------------------------------------------------------ */

struct entry {
    uint8_t kind;
    uint32_t tree;
    char *key;
    uint32_t len;
    uint64_t lines, files;
};

struct facet_sum {
    struct entry *v;
    size_t n, cap;
    size_t bytes;
    bool merged; /* v is sorted and holds each key once */
};

struct facet_sum *facet_sum_new(void)
{
    return xcalloc(1, sizeof(struct facet_sum));
}

void facet_sum_free(struct facet_sum *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].key);
    free(s->v);
    free(s);
}

size_t facet_sum_bytes(const struct facet_sum *s)
{
    return s ? s->bytes + s->cap * sizeof *s->v : 0;
}

int facet_sum_add(struct facet_sum *s, struct msg_reader *r)
{
    uint32_t count;
    if (msg_facets_decode(r, &count) < 0)
        return -1;
    size_t start = s->n;
    for (uint32_t i = 0; i < count; i++) {
        struct msg_facet f;
        char *key;
        if (msg_facets_next(r, &f) < 0 ||
            !soft_grow((void **)&s->v, &s->cap, s->n + 1, sizeof *s->v) ||
            !(key = malloc(f.key_len + 1u)))
            goto undo;
        memcpy(key, f.key, f.key_len);
        key[f.key_len] = '\0';
        s->v[s->n++] = (struct entry){f.kind, f.tree, key, f.key_len, f.lines, f.files};
        s->bytes += f.key_len + 1u;
    }
    if (!msg_decoded_all(r))
        goto undo;
    s->merged = s->merged && s->n == start;
    return 0;
undo:
    while (s->n > start) {
        s->n--;
        s->bytes -= s->v[s->n].len + 1u;
        free(s->v[s->n].key);
    }
    return -1;
}

static int cmp_key(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->tree != y->tree)
        return x->tree < y->tree ? -1 : 1;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Each (kind, tree, key) once, counts added up. */
void facet_sum_merge(struct facet_sum *s)
{
    if (s->merged)
        return;
    if (s->n > 1)
        qsort(s->v, s->n, sizeof *s->v, cmp_key);
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (k && cmp_key(&s->v[k - 1], &s->v[i]) == 0) {
            s->v[k - 1].lines += s->v[i].lines;
            s->v[k - 1].files += s->v[i].files;
            s->bytes -= s->v[i].len + 1u;
            free(s->v[i].key);
        } else {
            s->v[k++] = s->v[i];
        }
    }
    s->n = k;
    s->merged = true;
}

/* Busiest first: lines, then files; then key order. */
static int cmp_count(const void *a, const void *b)
{
    const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;
    if (x->lines != y->lines)
        return x->lines > y->lines ? -1 : 1;
    if (x->files != y->files)
        return x->files > y->files ? -1 : 1;
    return cmp_key(x, y);
}

/* The entries of one kind that pass keep(), busiest first, at most
 * FACETS_SHOWN of them, as rows. */
static bool pick(const struct facet_sum *s, uint8_t kind,
                 bool (*keep)(const struct entry *e, const struct entry *top),
                 const struct entry *top, struct facet_row **rows, size_t *n)
{
    const struct entry **sel = malloc((s->n ? s->n : 1) * sizeof *sel);
    if (!sel)
        return false;
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].kind == kind && keep(&s->v[i], top))
            sel[k++] = &s->v[i];
    qsort(sel, k, sizeof *sel, cmp_count);
    if (k > FACETS_SHOWN)
        k = FACETS_SHOWN;
    *rows = calloc(k ? k : 1, sizeof **rows);
    bool ok = *rows != NULL;
    for (size_t i = 0; ok && i < k; i++) {
        (*rows)[i] =
            (struct facet_row){sel[i]->tree, strdup(sel[i]->key), sel[i]->lines, sel[i]->files};
        ok = (*rows)[i].key != NULL;
        *n = i + 1;
    }
    free(sel);
    return ok;
}

static bool in_a_folder(const struct entry *e, const struct entry *top)
{
    (void)top;
    return e->len > 0; /* "": files at the root of a tree */
}

static bool under(const struct entry *e, const struct entry *top)
{
    return top && e->tree == top->tree && e->len > top->len && e->key[top->len] == '/' &&
           memcmp(e->key, top->key, top->len) == 0;
}

static bool any(const struct entry *e, const struct entry *top)
{
    (void)e;
    (void)top;
    return true;
}

void facet_result_free(struct facet_result *r)
{
    for (int k = 0; k < MSG_FACET_KINDS; k++) {
        for (size_t i = 0; i < r->n[k]; i++)
            free(r->rows[k][i].key);
        free(r->rows[k]);
        r->rows[k] = NULL;
        r->n[k] = 0;
    }
}

bool facet_sum_result(struct facet_sum *s, struct facet_result *out)
{
    memset(out, 0, sizeof *out);
    facet_sum_merge(s);
    bool ok = pick(s, MSG_FACET_TOP, in_a_folder, NULL, &out->rows[0], &out->n[0]);
    const struct entry *top = NULL;
    for (size_t i = 0; ok && out->n[0] && i < s->n; i++)
        if (s->v[i].kind == MSG_FACET_TOP && s->v[i].tree == out->rows[0][0].tree &&
            strcmp(s->v[i].key, out->rows[0][0].key) == 0)
            top = &s->v[i];
    ok = ok && pick(s, MSG_FACET_SUB, under, top, &out->rows[1], &out->n[1]);
    ok = ok && pick(s, MSG_FACET_LANG, any, NULL, &out->rows[2], &out->n[2]);
    if (!ok)
        facet_result_free(out);
    return ok;
}
