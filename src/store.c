/*
 * store.c - a worker's base and delta corpora, versions and compaction
 * (see store.h for the design).
 */
#include "store.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "snapshot.h"
#include "util.h"

struct store_fold {
    pthread_t thread;
    atomic_bool built;
    atomic_bool stop;          /* the worker is exiting: give up */
    uint32_t version;          /* of the snapshot */
    const struct corpus *base; /* the store's base: never written meanwhile */
    size_t *base_live;         /* its files live at the snapshot, in order */
    size_t nbase;
    struct corpus delta; /* copies of the delta's live files, in order */
    size_t copied;       /* of them, those whose text is copied yet */
    bool started;        /* all copied: the thread runs (or ran) */
    bool joinable;       /* the thread is to be joined */
    struct corpus out;   /* the new base, built by the thread */
};

/* Snapshots being kept: the base is written in a thread, which must be
 * done before the base goes (a fold's swap, or the end). */
struct store_save {
    char *dir;
    unsigned shard, nshards;
    uint64_t config;
    pthread_t thread;
    bool running;
    atomic_bool stop; /* the worker is exiting: give up */
    const struct corpus *base;
};

/* The id map: open addressing; where = index << 1 | part. */
struct store_slot {
    uint32_t id;
    uint32_t where;
};
#define SLOT_EMPTY   UINT32_MAX
#define SLOT_REMOVED (UINT32_MAX - 1)

static size_t slot_of(const struct store *s, uint32_t id)
{
    size_t i = (id * 2654435761u) & (s->map_cap - 1);
    size_t first_removed = SIZE_MAX;
    while (s->map[i].id != SLOT_EMPTY) {
        if (s->map[i].id == id)
            return i;
        if (s->map[i].id == SLOT_REMOVED && first_removed == SIZE_MAX)
            first_removed = i;
        i = (i + 1) & (s->map_cap - 1);
    }
    return first_removed != SIZE_MAX ? first_removed : i;
}

static void map_reset(struct store *s, size_t want)
{
    size_t cap = 1024;
    while (cap < 2 * want + 16)
        cap *= 2;
    free(s->map);
    s->map = xmalloc(cap * sizeof *s->map);
    for (size_t i = 0; i < cap; i++)
        s->map[i].id = SLOT_EMPTY;
    s->map_cap = cap;
    s->map_used = 0;
}

static void map_put(struct store *s, uint32_t id, enum store_part part, size_t fi)
{
    if (2 * (s->map_used + 1) > s->map_cap) {
        struct store_slot *old = s->map;
        size_t cap = s->map_cap;
        s->map = NULL;
        map_reset(s, s->map_used + 1);
        for (size_t i = 0; i < cap; i++)
            if (old[i].id != SLOT_EMPTY && old[i].id != SLOT_REMOVED)
                s->map[slot_of(s, old[i].id)] = old[i], s->map_used++;
        free(old);
    }
    size_t i = slot_of(s, id);
    if (s->map[i].id != id)
        s->map_used++;
    s->map[i] = (struct store_slot){id, (uint32_t)(fi << 1) | (uint32_t)part};
}

static void map_remove(struct store *s, uint32_t id)
{
    size_t i = slot_of(s, id);
    if (s->map[i].id == id)
        s->map[i].id = SLOT_REMOVED; /* map_used keeps counting it: the probe chains stay */
}

bool store_find(const struct store *s, uint32_t id, enum store_part *part, size_t *fi)
{
    size_t i = slot_of(s, id);
    if (s->map[i].id != id)
        return false;
    *part = (enum store_part)(s->map[i].where & 1);
    *fi = s->map[i].where >> 1;
    return true;
}

const struct corpus *store_corpus(const struct store *s, enum store_part part)
{
    return part == STORE_BASE ? &s->base : &s->delta;
}

bool store_visible(const struct store *s, enum store_part part, size_t fi, uint32_t v)
{
    if (part == STORE_BASE)
        return s->base_dead[fi] == 0 || s->base_dead[fi] > v;
    return s->delta_born[fi] <= v && (s->delta_dead[fi] == 0 || s->delta_dead[fi] > v);
}

int store_file_cmp(const struct corpus_file *a, const struct corpus_file *b)
{
    if (a->tree != b->tree)
        return a->tree < b->tree ? -1 : 1;
    return strcmp(a->path, b->path);
}

static void count_live(struct store *s, const struct corpus_file *f, int sign)
{
    s->live_files += (uint64_t)sign;
    s->live_lines += (uint64_t)(sign * (int64_t)f->nlines);
    s->live_bytes += (uint64_t)(sign * (int64_t)f->len);
}

/* Index the ids of the live files of both parts, and count them. */
static void reindex(struct store *s)
{
    map_reset(s, s->base.nfiles + s->delta.nfiles);
    s->live_files = s->live_lines = s->live_bytes = 0;
    for (int part = STORE_BASE; part <= STORE_DELTA; part++) {
        const struct corpus *c = store_corpus(s, (enum store_part)part);
        for (size_t i = 0; i < c->nfiles; i++) {
            if (!store_visible(s, (enum store_part)part, i, s->version))
                continue;
            map_put(s, c->files[i].id, (enum store_part)part, i);
            count_live(s, &c->files[i], 1);
        }
    }
}

/* A new base: every file alive. */
static void new_base_marks(struct store *s)
{
    free(s->base_dead);
    s->base_dead = xcalloc(s->base.nfiles ? s->base.nfiles : 1, sizeof *s->base_dead);
}

static void delta_init(struct store *s)
{
    corpus_init(&s->delta);
    corpus_enable_live_index(&s->delta);
    s->delta_dead_bytes = 0;
    s->order_covers = 0;
}

static const struct corpus *order_corpus; /* for the qsort below (one thread) */
static int by_order(const void *a, const void *b)
{
    return store_file_cmp(&order_corpus->files[((const struct store_pos *)a)->fi],
                          &order_corpus->files[((const struct store_pos *)b)->fi]);
}

/* The delta files added since the order was last brought up to date:
 * placed among the base's files, sorted, and merged in.  A search then
 * pays a pass over the delta, not a sort of it (an insertion sort per
 * search took 25 million comparisons after a 10,000-file burst). */
static void order_update(struct store *s)
{
    const struct corpus *d = &s->delta, *b = &s->base;
    size_t old = s->order_covers, add = d->nfiles - old;
    if (!add)
        return;
    if (d->nfiles > s->order_cap) {
        s->order_cap = d->nfiles > 2 * s->order_cap ? d->nfiles : 2 * s->order_cap;
        s->order = xrealloc(s->order, s->order_cap * sizeof *s->order);
    }
    struct store_pos *fresh = xmalloc(add * sizeof *fresh);
    for (size_t k = 0; k < add; k++) {
        const struct corpus_file *f = &d->files[old + k];
        size_t lo = 0, hi = b->nfiles;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (store_file_cmp(&b->files[mid], f) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        fresh[k] = (struct store_pos){.fi = (uint32_t)(old + k), .base_at = (uint32_t)lo};
    }
    order_corpus = d;
    qsort(fresh, add, sizeof *fresh, by_order);
    /* Merge from the back, in place: the old entries move up at most
     * add places. */
    size_t i = old, j = add, out = old + add;
    while (j > 0) {
        if (i > 0 && store_file_cmp(&d->files[s->order[i - 1].fi], &d->files[fresh[j - 1].fi]) > 0)
            s->order[--out] = s->order[--i];
        else
            s->order[--out] = fresh[--j];
    }
    free(fresh);
    s->order_covers = d->nfiles;
}

const struct store_pos *store_delta_order(const struct store *s, size_t *n)
{
    *n = s->order_covers;
    return s->order;
}

void store_init(struct store *s, struct corpus *base, const int *root_fds, unsigned ntrees,
                uint64_t max_file_size)
{
    memset(s, 0, sizeof *s);
    s->base = *base;
    corpus_init(base);
    for (size_t i = 0; i < s->base.nfiles; i++)
        s->base.files[i].path = xstrdup(s->base.files[i].path);
    s->root_fds = root_fds;
    s->ntrees = ntrees;
    s->max_file_size = max_file_size;
    s->binary = s->base.binary;
    s->unreadable = s->base.unreadable;
    s->too_large = s->base.too_large;
    s->changed = s->base.changed;
    delta_init(s);
    new_base_marks(s);
    reindex(s);
}

static void free_paths(struct corpus *c)
{
    for (size_t i = 0; i < c->nfiles; i++)
        free((char *)c->files[i].path);
}

void store_view(struct store *s, const struct corpus *c)
{
    memset(s, 0, sizeof *s);
    s->base = *c; /* shared, not owned */
    s->borrowed = true;
    delta_init(s);
    new_base_marks(s);
    reindex(s);
}

/* A background thread (a fold, a snapshot) yields to the searches: on a
 * machine with as many busy threads as cores, two folds at full priority
 * made every query 5x slower until they ended.  Linux sets nice per
 * thread; lowering it needs no privilege. */
static void run_in_background(void)
{
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
}

static void *save_run(void *arg)
{
    run_in_background();
    struct store_save *v = arg;
    char err[SG_ERRLEN];
    double t0 = now_ms();
    if (snapshot_write(v->dir, v->shard, v->nshards, v->config, v->base, &v->stop, err,
                       sizeof err) < 0) {
        if (!atomic_load(&v->stop))
            log_info("shard %u: %s (the next start reads the tree)", v->shard, err);
    } else
        log_info("shard %u: snapshot written in %.0f ms", v->shard, now_ms() - t0);
    return NULL;
}

/* The base is about to go: the thread writing it must be done. */
static void save_wait(struct store *s)
{
    if (s->save && s->save->running) {
        pthread_join(s->save->thread, NULL);
        s->save->running = false;
    }
}

/* The base is about to be replaced: its snapshot, if still being written,
 * is given up (the new base's is written next). */
static void save_cancel(struct store *s)
{
    if (s->save && s->save->running) {
        atomic_store(&s->save->stop, true);
        save_wait(s);
        atomic_store(&s->save->stop, false);
    }
}

/* Freed memory goes back to the system: a fold frees a whole base, and
 * the delta's many small allocations leave holes the allocator keeps. */
static void give_back(void)
{
    malloc_trim(0);
}

static void save_begin(struct store *s)
{
    if (!s->save)
        return;
    save_wait(s);
    s->save->base = &s->base;
    s->save->running = pthread_create(&s->save->thread, NULL, save_run, s->save) == 0;
    if (!s->save->running)
        log_info("shard %u: cannot start a thread to write its snapshot", s->save->shard);
}

void store_keep_snapshots(struct store *s, const char *dir, unsigned shard, unsigned nshards,
                          uint64_t config, bool now)
{
    s->save = xcalloc(1, sizeof *s->save);
    s->save->dir = xstrdup(dir);
    s->save->shard = shard;
    s->save->nshards = nshards;
    s->save->config = config;
    atomic_init(&s->save->stop, false);
    snapshot_clean(dir, shard);
    if (now)
        save_begin(s);
}

/* A fold under way is given up: its thread told to stop and joined, what
 * it built freed. */
static void drop_fold(struct store *s)
{
    struct store_fold *f = s->fold;
    if (!f)
        return;
    atomic_store(&f->stop, true);
    if (f->joinable)
        pthread_join(f->thread, NULL);
    corpus_free(&f->out);
    corpus_free(&f->delta);
    free(f->base_live);
    free(f);
    s->fold = NULL;
}

void store_stop_threads(struct store *s)
{
    if (s->save) {
        atomic_store(&s->save->stop, true);
        save_wait(s);
    }
    drop_fold(s);
}

void store_free(struct store *s)
{
    save_wait(s);
    if (s->save) {
        free(s->save->dir);
        free(s->save);
    }
    drop_fold(s); /* its thread reads the base: ended first */
    if (!s->borrowed) {
        free_paths(&s->base);
        corpus_free(&s->base);
    }
    free_paths(&s->delta);
    corpus_free(&s->delta);
    free(s->base_dead);
    free(s->delta_born);
    free(s->delta_dead);
    free(s->map);
    free(s->order);
    memset(s, 0, sizeof *s);
}

/* The live version of id dies at version v. */
static void kill_live(struct store *s, uint32_t id, uint32_t v)
{
    enum store_part part;
    size_t fi;
    if (!store_find(s, id, &part, &fi))
        return;
    const struct corpus_file *f = &store_corpus(s, part)->files[fi];
    count_live(s, f, -1);
    if (part == STORE_BASE) {
        s->base_dead[fi] = v;
    } else {
        s->delta_dead[fi] = v;
        s->delta_dead_bytes += f->len;
    }
    map_remove(s, id);
}

static void grow_delta_tables(struct store *s)
{
    if (s->delta.nfiles <= s->delta_cap)
        return;
    size_t cap = s->delta_cap ? s->delta_cap : 64;
    while (cap < s->delta.nfiles)
        cap *= 2;
    s->delta_born = xrealloc(s->delta_born, cap * sizeof *s->delta_born);
    s->delta_dead = xrealloc(s->delta_dead, cap * sizeof *s->delta_dead);
    s->delta_cap = cap;
}

/* Read one changed file into the delta, born at v. */
static void load_changed(struct store *s, const struct store_change *ch, uint32_t v,
                         struct corpus_reader *rd, struct store_applied *out)
{
    if (ch->tree >= s->ntrees) {
        out->failed++;
        return;
    }
    char *path = xstrndup(ch->path, ch->path_len);
    struct file_entry e = {.path = path, .tree = ch->tree, .stamp = ch->stamp};
    size_t before = s->delta.nfiles;
    enum corpus_read_result r =
        corpus_read_add(&s->delta, s->root_fds[ch->tree], &e, ch->id, s->max_file_size, rd);
    if (r != CORPUS_READ_ADDED || s->delta.nfiles == before) {
        free(path);
        out->failed += r != CORPUS_READ_BINARY && r != CORPUS_READ_TOO_LARGE;
        return;
    }
    size_t fi = s->delta.nfiles - 1;
    grow_delta_tables(s);
    s->delta_born[fi] = v;
    s->delta_dead[fi] = 0;
    map_put(s, ch->id, STORE_DELTA, fi);
    count_live(s, &s->delta.files[fi], 1);
    out->loaded++;
}

void store_apply(struct store *s, const struct store_change *ch, size_t n,
                 struct store_applied *out)
{
    memset(out, 0, sizeof *out);
    uint32_t v = ++s->version;
    s->layout++;
    struct corpus_reader rd = {0};
    uint32_t bin0 = s->delta.binary, big0 = s->delta.too_large, unr0 = s->delta.unreadable;
    uint32_t chg0 = s->delta.changed;
    for (size_t i = 0; i < n; i++) {
        kill_live(s, ch[i].id, v);
        if (ch[i].remove)
            out->removed++;
        else
            load_changed(s, &ch[i], v, &rd, out);
    }
    free(rd.buf);
    order_update(s);
    s->binary += s->delta.binary - bin0;
    s->too_large += s->delta.too_large - big0;
    s->unreadable += s->delta.unreadable - unr0;
    s->changed += s->delta.changed - chg0;
}

static bool fold_worth_it(const struct store *s)
{
    uint64_t live_delta = s->delta.len - s->delta_dead_bytes;
    uint64_t fold_at = s->base.len / STORE_DELTA_FRACTION;
    if (fold_at < STORE_DELTA_MIN)
        fold_at = STORE_DELTA_MIN;
    return live_delta > fold_at;
}

bool store_rebuild_due(const struct store *s)
{
    /* Mostly garbage: the delta alone is worth rebuilding. */
    uint64_t live_delta = s->delta.len - s->delta_dead_bytes;
    return !s->fold && s->delta_dead_bytes > STORE_DELTA_MIN / 8 &&
           s->delta_dead_bytes > live_delta;
}

bool store_fold_due(const struct store *s)
{
    return !s->fold && fold_worth_it(s);
}

bool store_compact_due(const struct store *s)
{
    return store_fold_due(s) || store_rebuild_due(s);
}

/* The live files of one part, in (tree, path) order: the base's are in
 * that order, the delta's in the order the store keeps (order_update()). */
static size_t live_in_order(const struct store *s, enum store_part part, size_t **out)
{
    const struct corpus *c = store_corpus(s, part);
    size_t n = 0;
    size_t *v = xmalloc((c->nfiles ? c->nfiles : 1) * sizeof *v);
    for (size_t i = 0; i < c->nfiles; i++) {
        size_t fi = part == STORE_BASE ? i : s->order[i].fi;
        if (store_visible(s, part, fi, s->version))
            v[n++] = fi;
    }
    *out = v;
    return n;
}

/* Copy file fi of from into to (its text is already normalized), and its
 * path, tree and id. */
static void copy_file(struct corpus *to, const struct corpus *from, size_t fi)
{
    const struct corpus_file *f = &from->files[fi];
    oom_context("compacting", f->path);
    if (corpus_add(to, f->id, f->path, from->buf + f->off, (size_t)f->len) != CORPUS_ADDED)
        die("compaction lost %s", f->path); /* its text was added once already */
    oom_context(NULL, NULL);
    struct corpus_file *t = &to->files[to->nfiles - 1];
    t->tree = f->tree;
    t->stamp = f->stamp;
}

/* Rebuild the delta with its live files only (the base stays). */
static void compact_delta(struct store *s, const size_t *live, size_t n)
{
    s->layout++;
    struct corpus old = s->delta;
    delta_init(s);
    for (size_t k = 0; k < n; k++) {
        copy_file(&s->delta, &old, live[k]);
        grow_delta_tables(s);
        size_t fi = s->delta.nfiles - 1;
        s->delta_born[fi] = 0;
        s->delta_dead[fi] = 0;
        old.files[live[k]].path = NULL; /* moved */
    }
    free_paths(&old);
    corpus_free(&old);
    order_update(s);
}

/* Fold the live files of base and delta into a new base, in order. */
static void compact_all(struct store *s, const size_t *lb, size_t nb, const size_t *ld, size_t nd)
{
    struct corpus nb_c;
    corpus_init(&nb_c);
    corpus_enable_index(&nb_c);
    size_t i = 0, j = 0;
    while (i < nb || j < nd) {
        bool from_base = j >= nd || (i < nb && store_file_cmp(&s->base.files[lb[i]],
                                                              &s->delta.files[ld[j]]) < 0);
        struct corpus *from = from_base ? &s->base : &s->delta;
        size_t fi = from_base ? lb[i++] : ld[j++];
        copy_file(&nb_c, from, fi);
        from->files[fi].path = NULL; /* moved */
    }
    oom_context("building the trigram index", NULL);
    corpus_seal(&nb_c);
    oom_context(NULL, NULL);
    free_paths(&s->base);
    free_paths(&s->delta);
    corpus_free(&s->base);
    corpus_free(&s->delta);
    s->base = nb_c;
    delta_init(s);
}

void store_compact(struct store *s)
{
    s->layout++;
    size_t *lb, *ld;
    size_t nb = live_in_order(s, STORE_BASE, &lb);
    size_t nd = live_in_order(s, STORE_DELTA, &ld);
    if (!fold_worth_it(s)) {
        compact_delta(s, ld, nd);
    } else {
        save_cancel(s);
        compact_all(s, lb, nb, ld, nd);
        new_base_marks(s);
        save_begin(s);
    }
    free(lb);
    free(ld);
    reindex(s); /* renumbered: index the ids again */
    give_back();
}

void store_hello(const struct store *s, struct msg_hello *h)
{
    h->files = (uint32_t)s->live_files;
    h->lines = s->live_lines;
    h->bytes = s->live_bytes;
    h->binary = s->binary;
    h->unreadable = s->unreadable;
    h->too_large = s->too_large;
    h->changed = s->changed;
}

/* ------------------------------------------------------------------ */
/* Folding in a thread                                                  */
/* ------------------------------------------------------------------ */

/* The thread: merge the base's live files and the delta's copies, in
 * order, into a new corpus, and index it.  It reads only what the worker
 * does not write while it runs. */
static void *fold_run(void *arg)
{
    struct store_fold *f = arg;
    corpus_init(&f->out);
    corpus_enable_index(&f->out);
    size_t i = 0, j = 0;
    while ((i < f->nbase || j < f->delta.nfiles) && !atomic_load(&f->stop)) {
        bool from_base = j >= f->delta.nfiles ||
                         (i < f->nbase &&
                          store_file_cmp(&f->base->files[f->base_live[i]], &f->delta.files[j]) < 0);
        if (from_base)
            copy_file(&f->out, f->base, f->base_live[i++]);
        else
            copy_file(&f->out, &f->delta, j++);
    }
    if (atomic_load(&f->stop))
        return NULL; /* never swapped in */
    oom_context("building the trigram index", NULL);
    corpus_seal(&f->out);
    oom_context(NULL, NULL);
    atomic_store(&f->built, true);
    return NULL;
}

static void *fold_thread(void *arg)
{
    run_in_background();
    return fold_run(arg);
}

void store_fold_begin(struct store *s)
{
    struct store_fold *f = xcalloc(1, sizeof *f);
    f->version = s->version;
    f->base = &s->base;
    f->nbase = live_in_order(s, STORE_BASE, &f->base_live);
    /* The delta's live files at this version, in order (live_in_order()):
     * their entries now, their text copied out in steps (store_fold_step()),
     * as the worker goes on adding to the delta, which may move it.  The
     * text of a version stays in the delta until a rebuild, and none runs
     * while a fold is under way.  Paths borrowed: the delta keeps them past
     * the swap. */
    size_t *ld;
    size_t nd = live_in_order(s, STORE_DELTA, &ld);
    corpus_init(&f->delta);
    f->delta.files = xmalloc((nd ? nd : 1) * sizeof *f->delta.files);
    f->delta.files_cap = nd;
    for (size_t k = 0; k < nd; k++) {
        f->delta.files[f->delta.nfiles++] = s->delta.files[ld[k]]; /* off: the delta's */
        f->delta.cap += s->delta.files[ld[k]].len;
    }
    free(ld);
    f->delta.buf = xmalloc(f->delta.cap ? f->delta.cap : 1);
    atomic_init(&f->built, false);
    atomic_init(&f->stop, false);
    s->fold = f;
    store_fold_step(s);
}

bool store_fold_copying(const struct store *s)
{
    return s->fold && !s->fold->started;
}

void store_fold_step(struct store *s)
{
    struct store_fold *f = s->fold;
    uint64_t moved = 0;
    while (f->copied < f->delta.nfiles && moved < STORE_FOLD_STEP) {
        struct corpus_file *cf = &f->delta.files[f->copied++];
        memcpy(f->delta.buf + f->delta.len, s->delta.buf + cf->off, (size_t)cf->len);
        cf->off = f->delta.len;
        f->delta.len += cf->len;
        moved += cf->len;
    }
    if (f->copied < f->delta.nfiles)
        return;
    f->started = true;
    f->joinable = pthread_create(&f->thread, NULL, fold_thread, f) == 0;
    if (!f->joinable) {
        log_info("cannot start a thread to fold the delta in: folding at once");
        fold_run(f);
    }
}

bool store_fold_running(const struct store *s)
{
    return s->fold != NULL;
}

bool store_fold_ready(const struct store *s)
{
    return s->fold && atomic_load(&s->fold->built);
}

/* Whether the new base's file (its version as of the snapshot) is still
 * the live one. */
static bool still_live(const struct store *s, uint32_t id, uint32_t snapshot)
{
    enum store_part part;
    size_t fi;
    if (!store_find(s, id, &part, &fi))
        return false; /* removed since */
    return part == STORE_BASE || s->delta_born[fi] <= snapshot;
}

void store_fold_finish(struct store *s)
{
    s->layout++;
    struct store_fold *f = s->fold;
    if (f->joinable)
        pthread_join(f->thread, NULL);
    struct corpus nb = f->out;
    uint32_t *dead = xcalloc(nb.nfiles ? nb.nfiles : 1, sizeof *dead);
    for (size_t i = 0; i < nb.nfiles; i++) {
        nb.files[i].path = xstrdup(nb.files[i].path); /* the new base owns its paths */
        if (!still_live(s, nb.files[i].id, f->version))
            dead[i] = 1; /* dead for every search from now on */
    }
    /* The delta's versions as of the snapshot are in the new base: they
     * leave the delta (never visible again; their text is garbage until
     * the delta is rebuilt).  Those born since stay where they are: the
     * swap copies nothing (copying them took 10 s, with the worker held,
     * when every file had changed again during the fold). */
    for (size_t i = 0; i < s->delta.nfiles; i++) {
        if (s->delta_born[i] > f->version)
            continue;
        if (!s->delta_dead[i])
            s->delta_dead_bytes += s->delta.files[i].len;
        s->delta_born[i] = s->delta_dead[i] = UINT32_MAX;
    }
    save_cancel(s); /* it may still be writing the old base */
    free_paths(&s->base);
    corpus_free(&s->base);
    s->base = nb;
    free(s->base_dead);
    s->base_dead = dead;
    corpus_free(&f->delta);
    free(f->base_live);
    free(f);
    s->fold = NULL;
    reindex(s);
    s->order_covers = 0; /* placed among the old base's files */
    order_update(s);
    save_begin(s); /* the new base, for the next start */
    give_back();
}

void store_rebuild(struct store *s)
{
    uint64_t live_delta = s->delta.len - s->delta_dead_bytes;
    if (live_delta > STORE_REBUILD_NOW)
        store_fold_begin(s);
    else
        store_compact(s); /* a delta this small is rebuilt alone */
}
