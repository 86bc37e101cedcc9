/*
 * ftable.c - the master's table of files (see ftable.h for the design:
 * chunks that never move, lock-free paths, a mutex for the rest).
 */
#include "ftable.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "util.h"

#define CHUNK_BITS 12
#define CHUNK      (1u << CHUNK_BITS)
#define MAX_CHUNKS (1u << 16) /* 268 million ids */

struct entry {
    char *path; /* immutable */
    uint32_t tree;
    /* under the lock */
    uint32_t shard;
    struct file_stamp stamp;
    enum fentry_state state;
    bool not_utf8;
};

struct ftable {
    pthread_mutex_t lock;
    char **names; /* of the trees */
    unsigned ntrees;
    struct entry **chunks; /* MAX_CHUNKS pointers, allocated as needed */
    _Atomic size_t n;
    /* (tree, path) -> id + 1; 0: empty */
    uint32_t *slots;
    size_t nslots;
    unsigned nshards;
    uint64_t *shard_bytes; /* live bytes per shard, for placing new files */
    size_t *shard_files;
    size_t live_files;
    uint64_t live_bytes;
    uint32_t *not_utf8; /* ids whose path is not valid UTF-8 */
    size_t nnot_utf8, not_utf8_cap;
};

static struct entry *at(const struct ftable *t, size_t id)
{
    return &t->chunks[id >> CHUNK_BITS][id & (CHUNK - 1)];
}

static size_t hash_of(uint32_t tree, const char *path)
{
    size_t h = 1469598103934665603ull ^ tree;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

/* The slot holding (tree, path), or the empty slot where it would go. */
static size_t slot_for(const struct ftable *t, uint32_t tree, const char *path)
{
    size_t i = hash_of(tree, path) & (t->nslots - 1);
    while (t->slots[i]) {
        const struct entry *e = at(t, t->slots[i] - 1);
        if (e->tree == tree && !strcmp(e->path, path))
            return i;
        i = (i + 1) & (t->nslots - 1);
    }
    return i;
}

static void grow_slots(struct ftable *t)
{
    uint32_t *old = t->slots;
    size_t n = t->nslots;
    t->nslots = n ? 2 * n : 4096;
    t->slots = xcalloc(t->nslots, sizeof *t->slots);
    for (size_t i = 0; i < n; i++)
        if (old[i]) {
            const struct entry *e = at(t, old[i] - 1);
            t->slots[slot_for(t, e->tree, e->path)] = old[i];
        }
    free(old);
}

static void count(struct ftable *t, const struct entry *e, int sign)
{
    if (e->state != FT_LIVE)
        return;
    t->live_files += (size_t)sign;
    t->live_bytes += (uint64_t)(sign * (int64_t)e->stamp.size);
    t->shard_files[e->shard] += (size_t)sign;
    t->shard_bytes[e->shard] += (uint64_t)(sign * (int64_t)e->stamp.size);
}

/* A new entry; the caller holds the lock (or is alone).  Published last. */
static uint32_t append(struct ftable *t, uint32_t tree, const char *path)
{
    size_t id = atomic_load(&t->n);
    if (id >> CHUNK_BITS >= MAX_CHUNKS)
        die("more than %u files seen", MAX_CHUNKS * CHUNK);
    if (!t->chunks[id >> CHUNK_BITS])
        t->chunks[id >> CHUNK_BITS] = xcalloc(CHUNK, sizeof **t->chunks);
    struct entry *e = at(t, id);
    size_t len = strlen(path);
    e->path = xstrndup(path, len);
    e->tree = tree;
    e->state = FT_GONE;
    e->not_utf8 = !utf8_valid(path, len, NULL);
    if (e->not_utf8) {
        if (t->nnot_utf8 == t->not_utf8_cap) {
            t->not_utf8_cap = t->not_utf8_cap ? 2 * t->not_utf8_cap : 8;
            t->not_utf8 = xrealloc(t->not_utf8, t->not_utf8_cap * sizeof *t->not_utf8);
        }
        t->not_utf8[t->nnot_utf8++] = (uint32_t)id;
    }
    if (2 * (id + 1) > t->nslots)
        grow_slots(t);
    t->slots[slot_for(t, tree, e->path)] = (uint32_t)id + 1;
    atomic_store(&t->n, id + 1);
    return (uint32_t)id;
}

struct ftable *ftable_new(const struct file_list *l, unsigned nshards, const char *const *names,
                          unsigned ntrees)
{
    struct ftable *t = xcalloc(1, sizeof *t);
    pthread_mutex_init(&t->lock, NULL);
    t->ntrees = ntrees ? ntrees : 1;
    t->names = xcalloc(t->ntrees, sizeof *t->names);
    for (unsigned i = 0; i < t->ntrees; i++)
        t->names[i] = xstrdup(names && i < ntrees ? names[i] : "");
    t->chunks = xcalloc(MAX_CHUNKS, sizeof *t->chunks);
    t->nshards = nshards ? nshards : 1;
    t->shard_bytes = xcalloc(t->nshards, sizeof *t->shard_bytes);
    t->shard_files = xcalloc(t->nshards, sizeof *t->shard_files);
    /* Room for the walk's files from the start: growing on the way hashed
     * every path again at each doubling. */
    for (t->nslots = 4096; t->nslots < 2 * (l->n + 1);)
        t->nslots *= 2;
    t->slots = xcalloc(t->nslots, sizeof *t->slots);
    for (size_t i = 0; i < l->n; i++) {
        const struct file_entry *f = &l->v[i];
        struct entry *e = at(t, append(t, f->tree, f->path));
        e->shard = f->shard < t->nshards ? f->shard : 0;
        e->stamp = f->stamp;
        e->state = FT_LIVE;
        count(t, e, 1);
    }
    return t;
}

void ftable_free(struct ftable *t)
{
    if (!t)
        return;
    size_t n = atomic_load(&t->n);
    for (size_t i = 0; i < n; i++)
        free(at(t, i)->path);
    for (size_t c = 0; c < MAX_CHUNKS && t->chunks[c]; c++)
        free(t->chunks[c]);
    free(t->chunks);
    free(t->slots);
    free(t->shard_bytes);
    free(t->shard_files);
    free(t->not_utf8);
    for (unsigned i = 0; i < t->ntrees; i++)
        free(t->names[i]);
    free(t->names);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

unsigned ftable_ntrees(const struct ftable *t)
{
    return t->ntrees;
}

const char *ftable_tree_name(const struct ftable *t, uint32_t tree)
{
    return tree < t->ntrees ? t->names[tree] : "";
}

long ftable_tree_find(const struct ftable *t, const char *name, size_t len)
{
    for (unsigned i = 0; i < t->ntrees; i++)
        if (strlen(t->names[i]) == len && !memcmp(t->names[i], name, len))
            return (long)i;
    return -1;
}

size_t ftable_count(const struct ftable *t)
{
    return atomic_load(&((struct ftable *)t)->n);
}

const char *ftable_path(const struct ftable *t, uint32_t id)
{
    return id < ftable_count(t) ? at(t, id)->path : "";
}

uint32_t ftable_tree(const struct ftable *t, uint32_t id)
{
    return id < ftable_count(t) ? at(t, id)->tree : 0;
}

int ftable_cmp(const struct ftable *t, uint32_t a, uint32_t b)
{
    if (a == b)
        return 0;
    uint32_t ta = ftable_tree(t, a), tb = ftable_tree(t, b);
    if (ta != tb)
        return ta < tb ? -1 : 1;
    return strcmp(ftable_path(t, a), ftable_path(t, b));
}

static void copy_out(const struct entry *e, struct fentry *out)
{
    *out = (struct fentry){
        .path = e->path, .tree = e->tree, .shard = e->shard, .stamp = e->stamp, .state = e->state};
}

bool ftable_get(struct ftable *t, uint32_t id, struct fentry *out)
{
    if (id >= ftable_count(t))
        return false;
    pthread_mutex_lock(&t->lock);
    copy_out(at(t, id), out);
    pthread_mutex_unlock(&t->lock);
    return true;
}

/* The id of (tree, path), or -1.  Caller holds the lock. */
static long find_locked(const struct ftable *t, uint32_t tree, const char *path)
{
    if (!t->nslots)
        return -1;
    size_t i = slot_for(t, tree, path);
    return t->slots[i] ? (long)t->slots[i] - 1 : -1;
}

long ftable_find(struct ftable *t, uint32_t tree, const char *path)
{
    pthread_mutex_lock(&t->lock);
    long id = find_locked(t, tree, path);
    pthread_mutex_unlock(&t->lock);
    return id;
}

/* The first live id in path order whose path, repaired, reads as want.
 * Caller holds the lock. */
static long find_repaired(struct ftable *t, uint32_t tree, const char *want)
{
    size_t wlen = strlen(want);
    long best = -1;
    for (size_t k = 0; k < t->nnot_utf8; k++) {
        const struct entry *e = at(t, t->not_utf8[k]);
        size_t n = strlen(e->path);
        if (e->tree != tree || e->state != FT_LIVE || n > wlen) /* repair never shortens */
            continue;
        char *shown = xmalloc(UTF8_REPAIR_MAX(n) + 1);
        size_t len = utf8_repair(e->path, n, shown);
        bool same = len == wlen && !memcmp(shown, want, len);
        free(shown);
        if (same && (best < 0 || strcmp(e->path, at(t, (size_t)best)->path) < 0))
            best = (long)t->not_utf8[k];
    }
    return best;
}

long ftable_find_shown(struct ftable *t, uint32_t tree, const char *path)
{
    pthread_mutex_lock(&t->lock);
    long id = find_locked(t, tree, path);
    if (id >= 0 && at(t, (size_t)id)->state != FT_LIVE)
        id = -1;
    if (id < 0)
        id = find_repaired(t, tree, path);
    pthread_mutex_unlock(&t->lock);
    return id;
}

/* The shard with the fewest live bytes (then files, then index). */
static uint32_t lightest_shard(const struct ftable *t)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < t->nshards; i++)
        if (t->shard_bytes[i] < t->shard_bytes[best] ||
            (t->shard_bytes[i] == t->shard_bytes[best] && t->shard_files[i] < t->shard_files[best]))
            best = i;
    return best;
}

enum ftable_change ftable_saw_file(struct ftable *t, const struct ftable_seen *seen, uint32_t *id)
{
    pthread_mutex_lock(&t->lock);
    size_t i = t->nslots ? slot_for(t, seen->tree, seen->path) : 0;
    uint32_t fid = t->nslots && t->slots[i] ? t->slots[i] - 1 : append(t, seen->tree, seen->path);
    struct entry *e = at(t, fid);
    enum ftable_change what = FT_CHANGE_LOAD;
    if (e->state == FT_LIVE && stamp_same(&e->stamp, &seen->stamp))
        what = FT_CHANGE_NONE; /* the same file as indexed */
    if (what == FT_CHANGE_LOAD) {
        count(t, e, -1);
        if (e->state != FT_LIVE)
            e->shard = lightest_shard(t);
        e->stamp = seen->stamp;
        e->state = FT_LIVE;
        count(t, e, 1);
    }
    pthread_mutex_unlock(&t->lock);
    *id = fid;
    return what;
}

enum ftable_change ftable_saw_nothing(struct ftable *t, uint32_t tree, const char *path,
                                      uint32_t *id)
{
    pthread_mutex_lock(&t->lock);
    enum ftable_change what = FT_CHANGE_NONE;
    size_t i = t->nslots ? slot_for(t, tree, path) : 0;
    if (t->nslots && t->slots[i]) {
        struct entry *e = at(t, t->slots[i] - 1);
        *id = t->slots[i] - 1;
        if (e->state == FT_LIVE) {
            count(t, e, -1);
            e->state = FT_GONE;
            what = FT_CHANGE_REMOVE;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return what;
}

/* prefix "" holds everything; else path is prefix or lies beneath it. */
static bool under(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    return n == 0 || (!strncmp(path, prefix, n) && (path[n] == '\0' || path[n] == '/'));
}

void ftable_live_under(struct ftable *t, uint32_t tree, const char *prefix,
                       void (*fn)(void *ctx, uint32_t id), void *ctx)
{
    size_t n = ftable_count(t), k = 0, cap = 0;
    uint32_t *ids = NULL;
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < n; i++) {
        const struct entry *e = at(t, i);
        if (e->state != FT_LIVE || e->tree != tree || !under(e->path, prefix))
            continue;
        if (k == cap) {
            cap = cap ? 2 * cap : 64;
            ids = xrealloc(ids, cap * sizeof *ids);
        }
        ids[k++] = (uint32_t)i;
    }
    pthread_mutex_unlock(&t->lock);
    for (size_t i = 0; i < k; i++)
        fn(ctx, ids[i]);
    free(ids);
}

void ftable_shard_list(struct ftable *t, unsigned shard, struct file_list *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&t->lock);
    size_t n = ftable_count(t);
    out->n = out->cap = n;
    out->v = xcalloc(n ? n : 1, sizeof *out->v);
    for (size_t i = 0; i < n; i++) {
        const struct entry *e = at(t, i);
        out->v[i].shard = UINT32_MAX;
        if (e->state != FT_LIVE || e->shard != shard)
            continue;
        out->v[i] = (struct file_entry){
            .path = xstrdup(e->path), .shard = shard, .tree = e->tree, .stamp = e->stamp};
    }
    pthread_mutex_unlock(&t->lock);
}

void ftable_totals(struct ftable *t, size_t *files, uint64_t *bytes)
{
    pthread_mutex_lock(&t->lock);
    *files = t->live_files;
    *bytes = t->live_bytes;
    pthread_mutex_unlock(&t->lock);
}
