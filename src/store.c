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

/* A base file for the fold thread: its segment and index there. */
struct fold_src {
    const struct corpus *c;
    size_t fi;
};

struct store_fold {
    pthread_t thread;
    atomic_bool built;
    atomic_bool stop;      /* the worker is exiting: give up */
    uint32_t version;      /* of the snapshot */
    size_t first, nsegs;   /* the segments it replaces */
    struct fold_src *base; /* their files live at the snapshot, in order */
    size_t nbase;
    struct corpus delta;             /* copies of the delta's live files among them, in order */
    uint32_t *delta_fi;              /* and each one's number in the delta */
    const struct corpus **delta_src; /* and its chunk */
    size_t copied;                   /* of them, those whose text is copied yet */
    bool started;                    /* all copied: the thread runs (or ran) */
    bool joinable;                   /* the thread is to be joined */
    uint64_t cut;                    /* the new segments' size (about) */
    struct corpus **out;             /* the new segments, built by the thread */
    size_t nout;
};

/* Snapshots being kept: the base is written in a thread, which must be
 * done before the base goes (a fold's swap, or the end). */
struct store_save {
    char *dir;
    unsigned shard, nshards;
    uint64_t config;
    pthread_t thread;
    bool running;
    atomic_bool stop;           /* the worker is exiting: give up */
    struct corpus *const *segs; /* the base */
    size_t nseg;
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

/* The last of n parts (numbered from first[]) starting at or before fi. */
static size_t part_of(const size_t *first, size_t n, size_t fi)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (first[mid] <= fi)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

size_t store_segment_of(const struct store *s, size_t fi)
{
    return part_of(s->seg_first, s->nseg, fi);
}

size_t store_chunk_of(const struct store *s, size_t fi)
{
    return part_of(s->chunk_first, s->nchunk, fi);
}

const struct corpus *store_locate(const struct store *s, enum store_part part, size_t fi,
                                  size_t *local)
{
    if (part == STORE_DELTA) {
        size_t k = store_chunk_of(s, fi);
        *local = fi - s->chunk_first[k];
        return s->chunk[k];
    }
    size_t k = store_segment_of(s, fi);
    *local = fi - s->seg_first[k];
    return s->seg[k];
}

const struct corpus_file *store_file(const struct store *s, enum store_part part, size_t fi)
{
    size_t local;
    const struct corpus *c = store_locate(s, part, fi, &local);
    return &c->files[local];
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
    map_reset(s, s->base_files + s->delta_files);
    s->live_files = s->live_lines = s->live_bytes = 0;
    for (size_t k = 0; k < s->nseg; k++) {
        const struct corpus *c = s->seg[k];
        for (size_t i = 0; i < c->nfiles; i++) {
            size_t fi = s->seg_first[k] + i;
            if (!store_visible(s, STORE_BASE, fi, s->version))
                continue;
            map_put(s, c->files[i].id, STORE_BASE, fi);
            count_live(s, &c->files[i], 1);
        }
    }
    for (size_t i = 0; i < s->delta_files; i++) {
        if (!store_visible(s, STORE_DELTA, i, s->version))
            continue;
        const struct corpus_file *f = store_file(s, STORE_DELTA, i);
        map_put(s, f->id, STORE_DELTA, i);
        count_live(s, f, 1);
    }
}

/* Number the base's files across its segments. */
static void number_segments(struct store *s)
{
    s->seg_first = xrealloc(s->seg_first, (s->nseg + 1) * sizeof *s->seg_first);
    size_t n = 0;
    for (size_t k = 0; k < s->nseg; k++) {
        s->seg_first[k] = n;
        n += s->seg[k]->nfiles;
    }
    s->seg_first[s->nseg] = s->base_files = n;
}

/* The text of the base's dead files. */
static void count_base_dead(struct store *s)
{
    s->base_dead_bytes = 0;
    for (size_t k = 0; k < s->nseg; k++)
        for (size_t i = 0; i < s->seg[k]->nfiles; i++)
            if (s->base_dead[s->seg_first[k] + i])
                s->base_dead_bytes += s->seg[k]->files[i].len;
}

/* Number the delta's files across its chunks. */
static void number_chunks(struct store *s)
{
    s->chunk_first = xrealloc(s->chunk_first, (s->nchunk + 1) * sizeof *s->chunk_first);
    size_t n = 0;
    uint64_t bytes = 0;
    for (size_t k = 0; k < s->nchunk; k++) {
        s->chunk_first[k] = n;
        n += s->chunk[k]->nfiles;
        bytes += s->chunk[k]->len;
    }
    s->chunk_first[s->nchunk] = s->delta_files = n;
    s->delta_bytes = bytes;
}

/* A new open chunk, after the others (the last one closed). */
static void open_chunk(struct store *s)
{
    if (s->nchunk)
        corpus_trim(s->chunk[s->nchunk - 1]);
    struct corpus *c = xmalloc(sizeof *c);
    corpus_init(c);
    corpus_enable_live_index(c);
    /* Its arena filled by moving from one copy to the next cost up to
     * 50 ms a step of applying changes during a burst. */
    corpus_reserve(c, STORE_CHUNK_ROOM);
    s->chunk = xrealloc(s->chunk, (s->nchunk + 1) * sizeof *s->chunk);
    s->chunk_dead = xrealloc(s->chunk_dead, (s->nchunk + 1) * sizeof *s->chunk_dead);
    s->chunk_dead[s->nchunk] = 0;
    s->chunk[s->nchunk++] = c;
    number_chunks(s);
}

static void delta_init(struct store *s)
{
    s->chunk = NULL;
    s->nchunk = 0;
    open_chunk(s);
    s->delta_dead_bytes = 0;
    s->order_covers = 0;
}

/* Two delta files' order: by the base files below each first (a base
 * file lies between them when those differ, so no path need be read),
 * then by (tree, path).  Every entry of the order is placed among the
 * same base (a fold's swap places them all again). */
static int pos_cmp(const struct store *s, const struct store_pos *a, const struct store_pos *b)
{
    if (a->base_at != b->base_at)
        return a->base_at < b->base_at ? -1 : 1;
    return store_file_cmp(store_file(s, STORE_DELTA, a->fi), store_file(s, STORE_DELTA, b->fi));
}

static const struct store *order_store; /* for the qsort below (one thread) */
static int by_order(const void *a, const void *b)
{
    return pos_cmp(order_store, a, b);
}

/* The number of base files that sort before f: the segment first (by its
 * last file), then within it. */
static size_t base_below(const struct store *s, const struct corpus_file *f)
{
    size_t lo = 0, hi = s->nseg; /* the first segment whose last file is not below f */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct corpus *c = s->seg[mid];
        if (c->nfiles == 0 || store_file_cmp(&c->files[c->nfiles - 1], f) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == s->nseg)
        return s->base_files;
    const struct corpus *c = s->seg[lo];
    size_t a = 0, b = c->nfiles;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (store_file_cmp(&c->files[mid], f) < 0)
            a = mid + 1;
        else
            b = mid;
    }
    return s->seg_first[lo] + a;
}

/* The delta files added since the order was last brought up to date:
 * placed among the base's files, sorted, and merged in.  A search then
 * pays a pass over the delta, not a sort of it (an insertion sort per
 * search took 25 million comparisons after a 10,000-file burst). */
static void order_update(struct store *s)
{
    size_t old = s->order_covers, add = s->delta_files - old;
    if (!add)
        return;
    if (s->delta_files > s->order_cap) {
        s->order_cap = s->delta_files > 2 * s->order_cap ? s->delta_files : 2 * s->order_cap;
        s->order = xrealloc(s->order, s->order_cap * sizeof *s->order);
    }
    struct store_pos *fresh = xmalloc(add * sizeof *fresh);
    for (size_t k = 0; k < add; k++)
        fresh[k] = (struct store_pos){
            .fi = (uint32_t)(old + k),
            .base_at = (uint32_t)base_below(s, store_file(s, STORE_DELTA, old + k))};
    order_store = s;
    qsort(fresh, add, sizeof *fresh, by_order);
    /* Merge from the back, in place: the old entries move up at most
     * add places. */
    size_t i = old, j = add, out = old + add;
    while (j > 0) {
        if (i > 0 && pos_cmp(s, &s->order[i - 1], &fresh[j - 1]) > 0)
            s->order[--out] = s->order[--i];
        else
            s->order[--out] = fresh[--j];
    }
    free(fresh);
    s->order_covers = s->delta_files;
}

const struct store_pos *store_delta_order(const struct store *s, size_t *n)
{
    *n = s->order_covers;
    return s->order;
}

/* The segment a delta file placed before base file base_at falls in: the
 * one holding that file (the last one past them all). */
static size_t pos_segment(const struct store *s, size_t base_at)
{
    return base_at >= s->base_files ? s->nseg - 1 : store_segment_of(s, base_at);
}

/* A sealed corpus with no files: the base of an empty shard. */
static struct corpus *empty_segment(void)
{
    struct corpus *c = xmalloc(sizeof *c);
    corpus_init(c);
    corpus_enable_index(c);
    corpus_seal(c);
    return c;
}

void store_init(struct store *s, struct corpus **segs, size_t nseg, const int *root_fds,
                unsigned ntrees, uint64_t max_file_size, uint64_t segment_bytes)
{
    memset(s, 0, sizeof *s);
    s->seg = segs;
    s->nseg = nseg;
    if (!nseg) {
        s->seg = xrealloc(s->seg, sizeof *s->seg);
        s->seg[0] = empty_segment();
        s->nseg = 1;
    }
    for (size_t k = 0; k < s->nseg; k++) {
        struct corpus *c = s->seg[k];
        for (size_t i = 0; i < c->nfiles; i++)
            c->files[i].path = xstrdup(c->files[i].path);
        s->binary += c->binary;
        s->unreadable += c->unreadable;
        s->too_large += c->too_large;
        s->changed += c->changed;
    }
    s->root_fds = root_fds;
    s->ntrees = ntrees;
    s->max_file_size = max_file_size;
    s->segment_bytes = segment_bytes ? segment_bytes : STORE_SEGMENT_BYTES;
    number_segments(s);
    s->base_dead = xcalloc(s->base_files ? s->base_files : 1, sizeof *s->base_dead);
    delta_init(s);
    reindex(s);
}

static void free_paths(struct corpus *c)
{
    for (size_t i = 0; i < c->nfiles; i++)
        free((char *)c->files[i].path);
}

static void free_segment(struct corpus *c)
{
    free_paths(c);
    corpus_free(c);
    free(c);
}

void store_view(struct store *s, const struct corpus *c)
{
    memset(s, 0, sizeof *s);
    s->seg = xmalloc(sizeof *s->seg);
    s->seg[0] = (struct corpus *)c; /* shared, not owned: never written */
    s->nseg = 1;
    s->borrowed = true;
    s->segment_bytes = STORE_SEGMENT_BYTES;
    number_segments(s);
    s->base_dead = xcalloc(s->base_files ? s->base_files : 1, sizeof *s->base_dead);
    delta_init(s);
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
    if (snapshot_write(v->dir, v->shard, v->nshards, v->config, v->segs, v->nseg, &v->stop, err,
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

/* Freed memory goes back to the system: a fold frees whole segments, and
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
    s->save->segs = s->seg;
    s->save->nseg = s->nseg;
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

static void free_fold(struct store_fold *f)
{
    for (size_t k = 0; k < f->nout; k++)
        if (f->out[k]) {
            corpus_free(f->out[k]); /* paths borrowed */
            free(f->out[k]);
        }
    free(f->out);
    corpus_free(&f->delta);
    free(f->delta_fi);
    free(f->delta_src);
    free(f->base);
    free(f);
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
    free_fold(f);
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
    if (!s->borrowed)
        for (size_t k = 0; k < s->nseg; k++)
            free_segment(s->seg[k]);
    free(s->seg);
    free(s->seg_first);
    for (size_t k = 0; k < s->nchunk; k++)
        free_segment(s->chunk[k]);
    free(s->chunk);
    free(s->chunk_first);
    free(s->chunk_dead);
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
    const struct corpus_file *f = store_file(s, part, fi);
    count_live(s, f, -1);
    if (part == STORE_BASE) {
        s->base_dead[fi] = v;
        s->base_dead_bytes += f->len;
    } else {
        s->delta_dead[fi] = v;
        s->delta_dead_bytes += f->len;
        s->chunk_dead[store_chunk_of(s, fi)] += f->len;
    }
    map_remove(s, id);
}

static void grow_delta_tables(struct store *s)
{
    if (s->delta_files <= s->delta_cap)
        return;
    size_t cap = s->delta_cap ? s->delta_cap : 64;
    while (cap < s->delta_files)
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
    struct corpus *open = s->chunk[s->nchunk - 1];
    size_t before = open->nfiles;
    uint64_t len0 = open->len;
    enum corpus_read_result r =
        corpus_read_add(open, s->root_fds[ch->tree], &e, ch->id, s->max_file_size, rd);
    if (r != CORPUS_READ_ADDED || open->nfiles == before) {
        free(path);
        out->failed += r != CORPUS_READ_BINARY && r != CORPUS_READ_TOO_LARGE;
        return;
    }
    size_t fi = s->delta_files++;
    s->chunk_first[s->nchunk] = s->delta_files;
    s->delta_bytes += open->len - len0;
    grow_delta_tables(s);
    s->delta_born[fi] = v;
    s->delta_dead[fi] = 0;
    map_put(s, ch->id, STORE_DELTA, fi);
    count_live(s, &open->files[before], 1);
    out->loaded++;
}

void store_apply(struct store *s, const struct store_change *ch, size_t n,
                 struct store_applied *out)
{
    (void)store_apply_some(s, ch, n, NULL, NULL, out);
}

size_t store_apply_some(struct store *s, const struct store_change *ch, size_t n,
                        bool (*enough)(void *ctx), void *ctx, struct store_applied *out)
{
    memset(out, 0, sizeof *out);
    uint32_t v = ++s->version;
    s->layout++;
    struct corpus_reader rd = {0};
    if (s->chunk[s->nchunk - 1]->len >= STORE_CHUNK_BYTES)
        open_chunk(s); /* the batch goes to a new chunk */
    const struct corpus *open = s->chunk[s->nchunk - 1];
    uint32_t bin0 = open->binary, big0 = open->too_large, unr0 = open->unreadable;
    uint32_t chg0 = open->changed;
    size_t i = 0;
    while (i < n) {
        kill_live(s, ch[i].id, v);
        if (ch[i].remove)
            out->removed++;
        else
            load_changed(s, &ch[i], v, &rd, out);
        if (++i < n && enough && enough(ctx))
            break;
    }
    free(rd.buf);
    order_update(s);
    s->binary += open->binary - bin0;
    s->too_large += open->too_large - big0;
    s->unreadable += open->unreadable - unr0;
    s->changed += open->changed - chg0;
    return i;
}

/* ------------------------------------------------------------------ */
/* When to fold                                                         */
/* ------------------------------------------------------------------ */

static uint64_t live_delta_bytes(const struct store *s)
{
    return s->delta_bytes - s->delta_dead_bytes;
}

/* How much has changed, for folds to take in: the delta's live text or
 * the base's dead text, the larger (a file rewritten is in both). */
static uint64_t changes(const struct store *s)
{
    uint64_t live = live_delta_bytes(s);
    return live > s->base_dead_bytes ? live : s->base_dead_bytes;
}

static uint64_t fold_threshold(const struct store *s)
{
    uint64_t at = s->live_bytes / STORE_DELTA_FRACTION;
    return at < STORE_DELTA_MIN ? STORE_DELTA_MIN : at;
}

bool store_hold_changes(const struct store *s)
{
    uint64_t at = s->live_bytes / STORE_HOLD_FRACTION;
    return live_delta_bytes(s) > (at < 2 * STORE_DELTA_MIN ? 2 * STORE_DELTA_MIN : at);
}

bool store_fold_due(const struct store *s)
{
    if (s->fold || changes(s) == 0)
        return false;
    return changes(s) > (s->sweeping ? fold_threshold(s) / 4 : fold_threshold(s));
}

bool store_compact_due(const struct store *s)
{
    return store_fold_due(s) || store_tidy_due(s);
}

/* Which segments to fold next: the one with the most changes, and a
 * small one with its smaller neighbour.  False when none has any. */
static bool fold_range(const struct store *s, size_t *first, size_t *n)
{
    uint64_t *dead = xcalloc(s->nseg, sizeof *dead), *fresh = xcalloc(s->nseg, sizeof *fresh);
    uint64_t *live = xcalloc(s->nseg, sizeof *live);
    for (size_t k = 0; k < s->nseg; k++)
        for (size_t i = 0; i < s->seg[k]->nfiles; i++)
            *(s->base_dead[s->seg_first[k] + i] ? &dead[k] : &live[k]) += s->seg[k]->files[i].len;
    for (size_t i = 0; i < s->order_covers; i++)
        if (store_visible(s, STORE_DELTA, s->order[i].fi, s->version))
            fresh[pos_segment(s, s->order[i].base_at)] +=
                store_file(s, STORE_DELTA, s->order[i].fi)->len;
    size_t best = 0;
    uint64_t gain = 0;
    for (size_t k = 0; k < s->nseg; k++) {
        uint64_t g = fresh[k] + dead[k];
        if (g > gain)
            gain = g, best = k;
    }
    *first = best;
    *n = 1;
    if (gain && s->nseg > 1 && live[best] + fresh[best] < s->segment_bytes / 4) {
        size_t l = best > 0 ? best - 1 : SIZE_MAX, r = best + 1 < s->nseg ? best + 1 : SIZE_MAX;
        size_t with = l == SIZE_MAX                              ? r
                      : r == SIZE_MAX                            ? l
                      : live[l] + fresh[l] <= live[r] + fresh[r] ? l
                                                                 : r;
        *first = with < best ? with : best;
        *n = 2;
    }
    free(dead);
    free(fresh);
    free(live);
    return gain > 0;
}

/* ------------------------------------------------------------------ */
/* Rebuilding the delta alone                                           */
/* ------------------------------------------------------------------ */

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

/* ------------------------------------------------------------------ */
/* Tidying the delta's chunks                                           */
/* ------------------------------------------------------------------ */

/* The text of chunk k's dead files. */
static uint64_t chunk_dead(const struct store *s, size_t k)
{
    uint64_t dead = 0;
    const struct corpus *c = s->chunk[k];
    for (size_t i = 0; i < c->nfiles; i++)
        if (!store_visible(s, STORE_DELTA, s->chunk_first[k] + i, s->version))
            dead += c->files[i].len;
    return dead;
}

/* Whether chunk k is worth tidying: closed and a third dead, or (the
 * open one) holding only dead files.  So the closed chunks' garbage stays
 * within half their live text, and a tidy copies at most two thirds of a
 * chunk. */
static bool chunk_tidy(const struct store *s, size_t k)
{
    const struct corpus *c = s->chunk[k];
    if (!c->nfiles)
        return false;
    uint64_t dead = s->chunk_dead[k];
    return k + 1 < s->nchunk ? 3 * dead >= c->len : dead == c->len && c->len > 0;
}

bool store_tidy_due(const struct store *s)
{
    if (s->fold)
        return false;
    for (size_t k = 0; k < s->nchunk; k++)
        if (chunk_tidy(s, k))
            return true;
    return false;
}

/* Each chunk's dead text, counted again (after a renumbering). */
static void count_chunk_dead(struct store *s)
{
    s->chunk_dead = xrealloc(s->chunk_dead, s->nchunk * sizeof *s->chunk_dead);
    s->delta_dead_bytes = 0;
    for (size_t k = 0; k < s->nchunk; k++)
        s->delta_dead_bytes += s->chunk_dead[k] = chunk_dead(s, k);
}

/* What a call of tidy_chunks() did. */
enum tidied { TIDIED_NOTHING, TIDIED_MOVED, TIDIED_FREED };

/* Tidy the chunks worth it, copying at most STORE_TIDY_STEP bytes of
 * live files to the open chunk; the delta renumbered (the caller indexes
 * the ids and orders the delta again). */
static enum tidied tidy_chunks(struct store *s)
{
    bool *drop = xcalloc(s->nchunk + 1, sizeof *drop);
    bool any = false, freed = false;
    if (chunk_tidy(s, s->nchunk - 1)) { /* the open one, all dead: a new one */
        drop[s->nchunk - 1] = any = true;
        open_chunk(s);
    }
    /* A file at a time, so that a call copies about STORE_TIDY_STEP (a
     * chunk's live files at once held the worker up to 400 ms): a copy
     * moved is never visible again, as after a fold, and the chunk is
     * freed once none is left. */
    uint64_t copied = 0;
    for (size_t k = 0; k + 1 < s->nchunk && copied < STORE_TIDY_STEP; k++) {
        if (drop[k] || !chunk_tidy(s, k))
            continue;
        struct corpus *c = s->chunk[k], *open = s->chunk[s->nchunk - 1];
        bool left = false;
        for (size_t i = 0; i < c->nfiles; i++) {
            size_t fi = s->chunk_first[k] + i;
            if (!store_visible(s, STORE_DELTA, fi, s->version))
                continue;
            if (copied >= STORE_TIDY_STEP) {
                left = true;
                break;
            }
            copy_file(open, c, i); /* numbered after every chunk, for now */
            open->files[open->nfiles - 1].path = xstrdup(c->files[i].path);
            size_t to = s->delta_files++;
            s->chunk_first[s->nchunk] = s->delta_files;
            grow_delta_tables(s);
            s->delta_born[to] = s->delta_born[fi];
            s->delta_dead[to] = 0;
            s->delta_born[fi] = s->delta_dead[fi] = UINT32_MAX;
            copied += c->files[i].len;
            any = true;
        }
        if (!left)
            drop[k] = any = true;
    }
    if (any) {
        /* The chunks kept, and their files' marks, in order. */
        uint32_t *born = xmalloc((s->delta_files ? s->delta_files : 1) * sizeof *born);
        uint32_t *dead = xmalloc((s->delta_files ? s->delta_files : 1) * sizeof *dead);
        size_t nk = 0, nf = 0;
        for (size_t k = 0; k < s->nchunk; k++) {
            size_t from = s->chunk_first[k],
                   to = k + 1 < s->nchunk ? s->chunk_first[k + 1] : s->delta_files;
            if (drop[k]) {
                free_segment(s->chunk[k]);
                freed = true;
                continue;
            }
            memcpy(born + nf, s->delta_born + from, (to - from) * sizeof *born);
            memcpy(dead + nf, s->delta_dead + from, (to - from) * sizeof *dead);
            nf += to - from;
            s->chunk[nk++] = s->chunk[k];
        }
        free(s->delta_born);
        free(s->delta_dead);
        s->delta_born = born;
        s->delta_dead = dead;
        s->delta_cap = s->delta_files ? s->delta_files : 1;
        s->nchunk = nk;
        number_chunks(s);
        if (!s->nchunk)
            open_chunk(s);
        count_chunk_dead(s);
        s->order_covers = 0;
    }
    free(drop);
    return freed ? TIDIED_FREED : any ? TIDIED_MOVED : TIDIED_NOTHING;
}

void store_tidy(struct store *s)
{
    enum tidied done = tidy_chunks(s);
    if (done == TIDIED_NOTHING)
        return;
    s->layout++;
    reindex(s); /* renumbered: index the ids again */
    order_update(s);
    if (done == TIDIED_FREED)
        give_back(); /* a step that only moved files freed little (malloc_trim: 20-90 ms) */
}

/* ------------------------------------------------------------------ */
/* Folding in a thread                                                  */
/* ------------------------------------------------------------------ */

/* The thread: merge the segments' live files and the delta's copies, in
 * order, into new segments of about f->cut bytes, and index them.  It
 * reads only what the worker does not write while it runs. */
static void fold_run(struct store_fold *f)
{
    uint64_t total = 0;
    for (size_t i = 0; i < f->nbase; i++)
        total += f->base[i].c->files[f->base[i].fi].len;
    total += f->delta.len;
    size_t m = (size_t)((total + f->cut / 2) / f->cut);
    m = m < f->nbase + f->delta.nfiles ? m : f->nbase + f->delta.nfiles;
    m = m ? m : 1;
    uint64_t each = total / m + 1;
    f->out = xcalloc(m, sizeof *f->out);
    struct corpus *cur = NULL;
    size_t i = 0, j = 0;
    while ((i < f->nbase || j < f->delta.nfiles) && !atomic_load(&f->stop)) {
        if (!cur || (cur->len >= each && f->nout < m)) {
            if (cur) {
                oom_context("building the trigram index", NULL);
                corpus_seal(cur);
                oom_context(NULL, NULL);
            }
            cur = f->out[f->nout++] = xmalloc(sizeof *cur);
            corpus_init(cur);
            corpus_enable_index(cur);
        }
        bool from_base = j >= f->delta.nfiles ||
                         (i < f->nbase && store_file_cmp(&f->base[i].c->files[f->base[i].fi],
                                                         &f->delta.files[j]) < 0);
        if (from_base) {
            copy_file(cur, f->base[i].c, f->base[i].fi);
            i++;
        } else
            copy_file(cur, &f->delta, j++);
    }
    if (atomic_load(&f->stop))
        return; /* never swapped in */
    if (!cur) { /* nothing lives there any more */
        cur = f->out[f->nout++] = xmalloc(sizeof *cur);
        corpus_init(cur);
        corpus_enable_index(cur);
    }
    oom_context("building the trigram index", NULL);
    corpus_seal(cur);
    oom_context(NULL, NULL);
    atomic_store(&f->built, true);
}

static void *fold_thread(void *arg)
{
    run_in_background();
    fold_run(arg);
    return NULL;
}

/* Begin folding segments [first, first + n): their live files and the
 * delta's that fall among them, as of now. */
static void fold_begin(struct store *s, size_t first, size_t n)
{
    struct store_fold *f = xcalloc(1, sizeof *f);
    f->version = s->version;
    f->first = first;
    f->nsegs = n;
    f->cut = s->segment_bytes;
    size_t from = s->seg_first[first], to = s->seg_first[first + n];
    f->base = xmalloc((to - from ? to - from : 1) * sizeof *f->base);
    for (size_t k = first; k < first + n; k++)
        for (size_t i = 0; i < s->seg[k]->nfiles; i++)
            if (store_visible(s, STORE_BASE, s->seg_first[k] + i, s->version))
                f->base[f->nbase++] = (struct fold_src){.c = s->seg[k], .fi = i};
    /* The delta's live files among them, in order: their entries now,
     * their text copied out in steps (store_fold_step()), as the worker
     * goes on adding to the open chunk, which may move it.  A version's
     * text stays in its chunk until the chunk is tidied, and none is while
     * a fold is under way.  Paths borrowed: the delta keeps them past the
     * swap. */
    size_t most = s->order_covers ? s->order_covers : 1;
    corpus_init(&f->delta);
    f->delta.files = xmalloc(most * sizeof *f->delta.files);
    f->delta_fi = xmalloc(most * sizeof *f->delta_fi);
    f->delta_src = xmalloc(most * sizeof *f->delta_src);
    f->delta.files_cap = most;
    for (size_t i = 0; i < s->order_covers; i++) {
        const struct store_pos *p = &s->order[i];
        size_t k = pos_segment(s, p->base_at);
        if (k < first || k >= first + n || !store_visible(s, STORE_DELTA, p->fi, s->version))
            continue;
        f->delta_fi[f->delta.nfiles] = p->fi;
        size_t local;
        f->delta_src[f->delta.nfiles] = store_locate(s, STORE_DELTA, p->fi, &local);
        f->delta.files[f->delta.nfiles] = f->delta_src[f->delta.nfiles]->files[local];
        f->delta.cap += f->delta.files[f->delta.nfiles++].len; /* off: its chunk's */
    }
    f->delta.buf = xmalloc(f->delta.cap ? f->delta.cap : 1);
    atomic_init(&f->built, false);
    atomic_init(&f->stop, false);
    s->fold = f;
    s->sweeping = true;
    store_fold_step(s);
}

void store_fold_begin(struct store *s)
{
    size_t first, n;
    (void)fold_range(s, &first, &n);
    fold_begin(s, first, n);
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
        memcpy(f->delta.buf + f->delta.len, f->delta_src[f->copied - 1]->buf + cf->off,
               (size_t)cf->len);
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

/* Whether the new segments' file (its version as of the snapshot) is
 * still the live one. */
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
    /* The new segments in place of the old, empty ones left out (but
     * one, when nothing else is left). */
    size_t others = s->nseg - f->nsegs, keep = 0, files = 0;
    for (size_t o = 0; o < f->nout; o++) {
        if (f->out[o]->nfiles == 0 && (others > 0 || keep > 0 || o + 1 < f->nout)) {
            corpus_free(f->out[o]);
            free(f->out[o]);
            f->out[o] = NULL;
            continue;
        }
        keep++;
        files += f->out[o]->nfiles;
    }
    for (size_t k = 0; k < s->nseg; k++)
        if (k < f->first || k >= f->first + f->nsegs)
            files += s->seg[k]->nfiles;
    struct corpus **seg = xmalloc((others + keep) * sizeof *seg);
    uint32_t *dead = xcalloc(files ? files : 1, sizeof *dead);
    size_t at = 0, nf = 0;
    for (size_t k = 0; k < s->nseg; k++) {
        if (k == f->first)
            for (size_t o = 0; o < f->nout; o++) {
                struct corpus *c = f->out[o];
                if (!c)
                    continue;
                for (size_t i = 0; i < c->nfiles; i++) {
                    c->files[i].path = xstrdup(c->files[i].path); /* its own paths */
                    if (!still_live(s, c->files[i].id, f->version))
                        dead[nf + i] = 1; /* dead for every search from now on */
                }
                nf += c->nfiles;
                seg[at++] = c;
                f->out[o] = NULL; /* the store's now */
            }
        if (k >= f->first && k < f->first + f->nsegs)
            continue;
        memcpy(dead + nf, s->base_dead + s->seg_first[k], s->seg[k]->nfiles * sizeof *dead);
        nf += s->seg[k]->nfiles;
        seg[at++] = s->seg[k];
    }
    /* The delta's versions the fold took are in the new segments: they
     * leave the delta (never visible again; their text is garbage until
     * the delta is rebuilt).  The others stay where they are: the swap
     * copies nothing (copying them took 10 s, with the worker held, when
     * every file had changed again during a fold). */
    for (size_t k = 0; k < f->delta.nfiles; k++) {
        size_t i = f->delta_fi[k];
        if (!s->delta_dead[i]) {
            uint64_t len = store_file(s, STORE_DELTA, i)->len;
            s->delta_dead_bytes += len;
            s->chunk_dead[store_chunk_of(s, i)] += len;
        }
        s->delta_born[i] = s->delta_dead[i] = UINT32_MAX;
    }
    save_cancel(s); /* it may still be writing the old base */
    for (size_t k = f->first; k < f->first + f->nsegs; k++)
        free_segment(s->seg[k]);
    free(s->seg);
    s->seg = seg;
    s->nseg = at;
    free(s->base_dead);
    s->base_dead = dead;
    number_segments(s);
    count_base_dead(s);
    free_fold(f);
    s->fold = NULL;
    (void)tidy_chunks(s); /* what the fold took may leave chunks mostly dead */
    reindex(s);
    s->order_covers = 0; /* placed among the old segments' files */
    order_update(s);
    if (changes(s) <= fold_threshold(s) / 4)
        s->sweeping = false;
    save_begin(s); /* the new base, for the next start */
    give_back();
}

/* Fold segments [first, first + n) at once. */
static void fold_now(struct store *s, size_t first, size_t n)
{
    fold_begin(s, first, n);
    while (store_fold_copying(s))
        store_fold_step(s);
    while (!store_fold_ready(s))
        usleep(1000);
    store_fold_finish(s);
}

void store_compact(struct store *s)
{
    size_t first, n;
    while (fold_range(s, &first, &n))
        fold_now(s, first, n);
    s->sweeping = false;
    while (store_tidy_due(s))
        store_tidy(s);
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
