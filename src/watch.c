/*
 * watch.c - the watcher thread (see watch.h for the design).
 *
 * Test switches (environment, read at start): SHARDGREP_TEST_MAX_WATCHES=N
 * makes every watch past the N-th fail as the kernel's limit would;
 * SHARDGREP_TEST_OVERFLOW_AFTER=N acts, once N events have been read, as
 * if the event queue had overflowed (the events of that read are dropped).
 */
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsopen.h"
#include "msg.h"
#include "util.h"

#define WATCH_MASK                                                                                 \
    (IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO |            \
     IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW | IN_ONLYDIR)
#define PENDING_MAX     4096 /* batches remembered per shard for the lag */
#define OUTBOX_RETRY_MS 10   /* a busy worker's queue is tried again after this */
/* CHANGES messages a worker may have taken and not yet applied.  More
 * would fill its queue: a query sent meanwhile waited behind a burst's
 * changes for 0.4-0.7 s for room in the socket.  Each message holds up
 * to MSG_MAX bytes of entries (hundreds of files): a few keep the worker
 * busy until the next are sent, which an APPLIED wakes the thread for. */
#define OUTBOX_WINDOW 4

/* A set of strings (paths), or a map from string to int: open
 * addressing, owned copies. */
struct strmap {
    char **key;
    int *val;
    size_t cap, n;
};

static size_t str_hash(const char *s)
{
    size_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static size_t strmap_slot(const struct strmap *m, const char *k)
{
    size_t i = str_hash(k) & (m->cap - 1);
    while (m->key[i] && strcmp(m->key[i], k))
        i = (i + 1) & (m->cap - 1);
    return i;
}

static void strmap_put(struct strmap *m, const char *k, int v);

static void strmap_grow(struct strmap *m)
{
    struct strmap old = *m;
    m->cap = old.cap ? 2 * old.cap : 256;
    m->key = xcalloc(m->cap, sizeof *m->key);
    m->val = xcalloc(m->cap, sizeof *m->val);
    m->n = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.key[i]) {
            size_t j = strmap_slot(m, old.key[i]);
            m->key[j] = old.key[i];
            m->val[j] = old.val[i];
            m->n++;
        }
    free(old.key);
    free(old.val);
}

/* Add or replace; true if the key is new. */
static bool strmap_set(struct strmap *m, const char *k, int v)
{
    if (2 * (m->n + 1) > m->cap)
        strmap_grow(m);
    size_t i = strmap_slot(m, k);
    bool is_new = !m->key[i];
    if (is_new) {
        m->key[i] = xstrdup(k);
        m->n++;
    }
    m->val[i] = v;
    return is_new;
}

static void strmap_put(struct strmap *m, const char *k, int v)
{
    (void)strmap_set(m, k, v);
}

static bool strmap_get(const struct strmap *m, const char *k, int *v)
{
    if (!m->cap)
        return false;
    size_t i = strmap_slot(m, k);
    if (!m->key[i])
        return false;
    if (v)
        *v = m->val[i];
    return true;
}

/* Remove by rebuilding the run after the slot (linear probing). */
static void strmap_del(struct strmap *m, const char *k)
{
    if (!m->cap)
        return;
    size_t i = strmap_slot(m, k);
    if (!m->key[i])
        return;
    free(m->key[i]);
    m->key[i] = NULL;
    m->n--;
    for (size_t j = (i + 1) & (m->cap - 1); m->key[j]; j = (j + 1) & (m->cap - 1)) {
        char *kk = m->key[j];
        int vv = m->val[j];
        m->key[j] = NULL;
        m->n--;
        strmap_put(m, kk, vv);
        free(kk);
    }
}

static void strmap_clear(struct strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->key[i]);
    free(m->key);
    free(m->val);
    memset(m, 0, sizeof *m);
}

/* A batch sent to a shard and not yet applied. */
struct pending {
    uint64_t seq;
    uint32_t changes;
    double first_event_ms;
    uint32_t last_id;
};

struct shard_pending {
    struct pending *v;
    size_t head, n, cap;
    uint64_t sent_upto; /* the last seq the transport took */
};

/* CHANGES messages made for a shard and not yet taken by the transport (a
 * busy worker's queue is full; a dead one's is being replaced), in the
 * order made: sent in that order, never dropped. */
struct outbox {
    struct {
        uint8_t *data;
        size_t len;
        uint64_t seq;
    } * v;
    size_t head, n, cap;
};

struct watcher {
    struct watch_options opt;
    struct ftable *files;
    struct transport t;
    int root_fd, ifd, wake[2];
    pthread_t thread;
    bool running;
    /* the thread's own */
    char **wd_dir; /* wd -> folder path (owned) */
    size_t wd_cap;
    struct strmap dir_wd; /* folder path -> wd */
    struct strmap paths, dirs;
    double first_event_ms, last_event_ms, next_poll_ms;
    bool limit_warned, overflow_warned;
    unsigned max_watches, overflow_after;
    uint64_t events_read;
    uint64_t next_seq;
    struct outbox *out; /* per shard */
    /* shared, under lock */
    pthread_mutex_t lock;
    bool stop, rescan_wanted, polling, rescanning;
    unsigned nwatches;
    struct shard_pending *pend;
    uint64_t pending, applied, rescans, overflows;
    char last_path[256];
    double last_at, last_lag_ms;
};

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void wake(struct watcher *w)
{
    char c = 1;
    if (write(w->wake[1], &c, 1) < 0 && errno != EAGAIN)
        log_info("watcher: cannot wake its thread: %s", strerror(errno));
}

/* ------------------------------------------------------------------ */
/* Watches                                                             */
/* ------------------------------------------------------------------ */

static void set_polling(struct watcher *w, const char *why)
{
    pthread_mutex_lock(&w->lock);
    bool was = w->polling;
    w->polling = true;
    pthread_mutex_unlock(&w->lock);
    if (!was) {
        log_info("warning: %s: the tree is rescanned every %u ms instead of watched", why,
                 w->opt.rescan_ms);
        w->next_poll_ms = now_ms() + w->opt.rescan_ms;
    }
}

static void forget_wd(struct watcher *w, int wd)
{
    if (wd < 0 || (size_t)wd >= w->wd_cap || !w->wd_dir[wd])
        return;
    strmap_del(&w->dir_wd, w->wd_dir[wd]);
    free(w->wd_dir[wd]);
    w->wd_dir[wd] = NULL;
    pthread_mutex_lock(&w->lock);
    w->nwatches--;
    pthread_mutex_unlock(&w->lock);
}

/* Watch folder rel (the walk is about to read it). */
/* Watch a folder as a walk enters it; false when the watcher is stopping
 * (the walk ends there). */
static bool add_watch(void *ctx, const char *rel)
{
    struct watcher *w = ctx;
    pthread_mutex_lock(&w->lock);
    bool over = w->max_watches && w->nwatches >= w->max_watches, stop = w->stop;
    pthread_mutex_unlock(&w->lock);
    if (stop)
        return false;
    if (w->ifd < 0)
        return true;
    char full[PATH_MAX];
    int n = snprintf(full, sizeof full, "%s%s%s", w->opt.root, *rel ? "/" : "", rel);
    if (n < 0 || (size_t)n >= sizeof full)
        return true; /* too deep to watch: the path is too long for the kernel */
    int wd;
    if (over) {
        wd = -1;
        errno = ENOSPC;
    } else {
        wd = inotify_add_watch(w->ifd, full, WATCH_MASK);
    }
    if (wd < 0) {
        if (errno == ENOSPC || errno == ENOMEM) {
            if (!w->limit_warned)
                log_info("warning: cannot watch %s: %s (the inotify watch limit, "
                         "/proc/sys/fs/inotify/max_user_watches?)",
                         *rel ? rel : ".", strerror(errno));
            w->limit_warned = true;
            set_polling(w, "not every folder can be watched");
        }
        return true; /* a folder gone meanwhile: its parent's event says so */
    }
    if ((size_t)wd >= w->wd_cap) {
        size_t cap = w->wd_cap ? w->wd_cap : 1024;
        while (cap <= (size_t)wd)
            cap *= 2;
        w->wd_dir = xrealloc(w->wd_dir, cap * sizeof *w->wd_dir);
        memset(w->wd_dir + w->wd_cap, 0, (cap - w->wd_cap) * sizeof *w->wd_dir);
        w->wd_cap = cap;
    }
    if (w->wd_dir[wd]) { /* the same folder under a new path (moved) */
        strmap_del(&w->dir_wd, w->wd_dir[wd]);
        free(w->wd_dir[wd]);
    } else {
        pthread_mutex_lock(&w->lock);
        w->nwatches++;
        pthread_mutex_unlock(&w->lock);
    }
    w->wd_dir[wd] = xstrdup(rel);
    strmap_put(&w->dir_wd, rel, wd);
    return true;
}

/* ------------------------------------------------------------------ */
/* Looking again                                                        */
/* ------------------------------------------------------------------ */

struct change {
    uint32_t id;
    uint8_t op; /* MSG_CH_* */
};

struct changes {
    struct change *v;
    size_t n, cap;
};

static void add_change(struct changes *c, uint32_t id, uint8_t op)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->v = xrealloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n++] = (struct change){id, op};
}

/* stat() of rel beneath the root, no link followed anywhere; -errno. */
static int stat_beneath(struct watcher *w, const char *rel, struct stat *st)
{
    int fd = fs_open_beneath(w->root_fd, rel, O_PATH);
    if (fd < 0)
        return fd;
    int rc = fstat(fd, st) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

static void gone(struct watcher *w, const char *rel, struct changes *out)
{
    uint32_t id;
    if (ftable_saw_nothing(w->files, w->opt.tree, rel, &id) == FT_CHANGE_REMOVE)
        add_change(out, id, MSG_CH_REMOVE);
}

struct under_ctx {
    struct watcher *w;
    struct changes *out;
};

static void gone_by_id(void *ctx, uint32_t id)
{
    struct under_ctx *u = ctx;
    gone(u->w, ftable_path(u->w->files, id), u->out);
}

/* A folder that is no longer one (deleted, moved away, replaced): every
 * file beneath it goes. */
static void folder_gone(struct watcher *w, const char *rel, struct changes *out)
{
    struct under_ctx u = {w, out};
    ftable_live_under(w->files, w->opt.tree, rel, gone_by_id, &u);
    int wd;
    if (strmap_get(&w->dir_wd, rel, &wd))
        forget_wd(w, wd);
}

static void saw(struct watcher *w, const char *rel, const struct stat *st, struct changes *out)
{
    struct ftable_seen seen = {.tree = w->opt.tree, .path = rel, .stamp = stamp_of(st)};
    uint32_t id;
    if (ftable_saw_file(w->files, &seen, &id) == FT_CHANGE_LOAD)
        add_change(out, id, MSG_CH_LOAD);
}

static void rescan_folder(struct watcher *w, const char *rel, struct changes *out);

/* One path named by an event. */
static void look_at(struct watcher *w, const char *rel, struct changes *out)
{
    struct stat st;
    int rc = stat_beneath(w, rel, &st);
    if (rc == 0 && S_ISDIR(st.st_mode)) {
        rescan_folder(w, rel, out);
        return;
    }
    if (strmap_get(&w->dir_wd, rel, NULL))
        folder_gone(w, rel, out); /* it was a folder */
    if (rc == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size <= w->opt.walk->max_file_size &&
        !walk_ignored(w->root_fd, rel, false, w->opt.walk))
        saw(w, rel, &st, out);
    else
        gone(w, rel, out);
}

/* The ids a rescan found again, to tell what it did not. */
struct idset {
    uint32_t *v; /* id + 1; 0: empty */
    size_t cap;
};

static void idset_add(void *ctx, uint32_t id)
{
    struct idset *s = ctx;
    size_t i = (id * 2654435761u) & (s->cap - 1);
    while (s->v[i])
        i = (i + 1) & (s->cap - 1);
    s->v[i] = id + 1;
}

static bool idset_take(struct idset *s, uint32_t id)
{
    size_t i = (id * 2654435761u) & (s->cap - 1);
    while (s->v[i] && s->v[i] != id + 1)
        i = (i + 1) & (s->cap - 1);
    if (!s->v[i])
        return false;
    s->v[i] = UINT32_MAX; /* taken; keeps the probe chain */
    return true;
}

/* Walk a folder again (""; the whole tree) and tell the table what is
 * there; what the table has beneath it and the walk did not find goes. */
static void rescan_folder(struct watcher *w, const char *rel, struct changes *out)
{
    struct stat st;
    if (*rel && (stat_beneath(w, rel, &st) < 0 || !S_ISDIR(st.st_mode))) {
        folder_gone(w, rel, out);
        return;
    }
    size_t before = ftable_count(w->files);
    struct idset was = {.cap = 64};
    while (was.cap < 2 * before + 2)
        was.cap *= 2;
    was.v = xcalloc(was.cap, sizeof *was.v);
    ftable_live_under(w->files, w->opt.tree, rel, idset_add, &was);
    struct walk_hooks hooks = {.dir = add_watch, .ctx = w};
    struct file_list found;
    if (!walk_subtree(w->root_fd, rel, w->opt.walk, &hooks, &found)) {
        /* Stopping: a part of the files says nothing of the rest. */
        file_list_free(&found);
        free(was.v);
        return;
    }
    for (size_t i = 0; i < found.n; i++) {
        const struct file_entry *f = &found.v[i];
        struct ftable_seen seen = {.tree = w->opt.tree, .path = f->path, .stamp = f->stamp};
        uint32_t id;
        if (ftable_saw_file(w->files, &seen, &id) == FT_CHANGE_LOAD)
            add_change(out, id, MSG_CH_LOAD);
        (void)idset_take(&was, id);
    }
    file_list_free(&found);
    for (size_t i = 0; i < was.cap; i++)
        if (was.v[i] && was.v[i] != UINT32_MAX)
            gone(w, ftable_path(w->files, was.v[i] - 1), out);
    free(was.v);
}

/* ------------------------------------------------------------------ */
/* Sending                                                              */
/* ------------------------------------------------------------------ */

static void remember_batch(struct watcher *w, unsigned shard, uint64_t seq, uint32_t n,
                           double first_ms, uint32_t last_id)
{
    struct shard_pending *p = &w->pend[shard];
    if (p->n == PENDING_MAX) { /* a shard that never answers: forget the oldest */
        w->pending -= p->v[p->head].changes;
        p->head = (p->head + 1) % p->cap;
        p->n--;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        struct pending *v = xmalloc(cap * sizeof *v);
        for (size_t i = 0; i < p->n; i++)
            v[i] = p->v[(p->head + i) % p->cap];
        free(p->v);
        p->v = v;
        p->head = 0;
        p->cap = cap;
    }
    p->v[(p->head + p->n) % p->cap] = (struct pending){seq, n, first_ms, last_id};
    p->n++;
    w->pending += n;
}

static void outbox_push(struct outbox *o, const struct msg_writer *mw, uint64_t seq)
{
    if (o->head + o->n == o->cap) {
        if (o->head) { /* room at the front: move down */
            memmove(o->v, o->v + o->head, o->n * sizeof *o->v);
            o->head = 0;
        } else {
            o->cap = o->cap ? 2 * o->cap : 16;
            o->v = xrealloc(o->v, o->cap * sizeof *o->v);
        }
    }
    uint8_t *copy = xmalloc(mw->len);
    memcpy(copy, mw->data, mw->len);
    o->v[o->head + o->n].data = copy;
    o->v[o->head + o->n].len = mw->len;
    o->v[o->head + o->n].seq = seq;
    o->n++;
}

/* Hand a shard's waiting messages to the transport, oldest first, without
 * waiting: what it cannot take now is tried again on the next turn of the
 * thread (OUTBOX_RETRY_MS).  A worker that is gone gets them once it is
 * restarted (changes it loaded already are loaded again: harmless). */
/* The batches a shard's transport took and the worker has not applied. */
static size_t in_flight_locked(const struct watcher *w, unsigned shard)
{
    const struct shard_pending *p = &w->pend[shard];
    size_t k = 0;
    while (k < p->n && p->v[(p->head + k) % p->cap].seq <= p->sent_upto)
        k++;
    return k;
}

static void flush_shard(struct watcher *w, unsigned shard)
{
    struct outbox *o = &w->out[shard];
    pthread_mutex_lock(&w->lock);
    size_t flying = in_flight_locked(w, shard);
    pthread_mutex_unlock(&w->lock);
    for (; o->n && flying < OUTBOX_WINDOW; flying++) {
        struct msg_writer mw = {.data = o->v[o->head].data, .len = o->v[o->head].len};
        if (transport_send(&w->t, shard, &mw, 0) < 0)
            return;
        pthread_mutex_lock(&w->lock);
        w->pend[shard].sent_upto = o->v[o->head].seq;
        pthread_mutex_unlock(&w->lock);
        free(o->v[o->head].data);
        o->head++;
        o->n--;
    }
    if (!o->n)
        o->head = 0;
}

static bool outbox_waiting(const struct watcher *w)
{
    for (unsigned s = 0; s < w->t.nshards; s++)
        if (w->out[s].n)
            return true;
    return false;
}

/* One shard's CHANGES messages (as many as it takes), queued and sent. */
static void send_shard(struct watcher *w, unsigned shard, const struct changes *c, double first_ms)
{
    struct msg_writer mw;
    msg_writer_init(&mw);
    size_t i = 0;
    while (i < c->n) {
        uint64_t seq = ++w->next_seq;
        msg_changes_begin(&mw, shard, seq);
        uint32_t n = 0, last = 0;
        for (; i < c->n; i++) {
            struct fentry f;
            if (!ftable_get(w->files, c->v[i].id, &f) || f.shard != shard)
                continue;
            struct msg_file_entry e = {.id = c->v[i].id,
                                       .stamp = f.stamp,
                                       .tree = f.tree,
                                       .path = f.path,
                                       .path_len = (uint32_t)strlen(f.path)};
            if (!msg_changes_add(&mw, c->v[i].op, &e))
                break;
            n++;
            last = c->v[i].id;
        }
        if (n == 0)
            break;
        msg_changes_finish(&mw);
        pthread_mutex_lock(&w->lock);
        remember_batch(w, shard, seq, n, first_ms, last);
        pthread_mutex_unlock(&w->lock);
        outbox_push(&w->out[shard], &mw, seq);
    }
    msg_writer_free(&mw);
    flush_shard(w, shard);
}

static void send_changes(struct watcher *w, const struct changes *c, double first_ms)
{
    for (unsigned s = 0; s < w->t.nshards; s++)
        send_shard(w, s, c, first_ms);
}

static void applied_locked(struct watcher *w, unsigned shard, uint64_t seq)
{
    struct shard_pending *p = &w->pend[shard];
    while (p->n && p->v[p->head].seq <= seq) {
        struct pending *b = &p->v[p->head];
        w->pending -= b->changes;
        w->applied += b->changes;
        w->last_lag_ms = now_ms() - b->first_event_ms;
        w->last_at = wall_s();
        snprintf(w->last_path, sizeof w->last_path, "%s", ftable_path(w->files, b->last_id));
        p->head = (p->head + 1) % p->cap;
        p->n--;
    }
}

void watch_applied(struct watcher *w, unsigned shard, uint64_t seq)
{
    if (!w || shard >= w->t.nshards)
        return;
    pthread_mutex_lock(&w->lock);
    applied_locked(w, shard, seq);
    pthread_mutex_unlock(&w->lock);
    wake(w); /* room in the shard's window: send what waits */
}

void watch_shard_back(struct watcher *w, unsigned shard)
{
    if (!w || shard >= w->t.nshards)
        return;
    pthread_mutex_lock(&w->lock);
    applied_locked(w, shard, w->pend[shard].sent_upto);
    pthread_mutex_unlock(&w->lock);
}

/* ------------------------------------------------------------------ */
/* The thread                                                           */
/* ------------------------------------------------------------------ */

static bool is_ignore_file(const char *name)
{
    return !strcmp(name, ".gitignore") || !strcmp(name, ".ignore");
}

static void mark(struct watcher *w, struct strmap *set, const char *rel)
{
    double now = now_ms();
    if (!w->first_event_ms)
        w->first_event_ms = now;
    w->last_event_ms = now;
    strmap_put(set, rel, 0);
}

static void overflowed(struct watcher *w)
{
    pthread_mutex_lock(&w->lock);
    w->overflows++;
    w->rescan_wanted = true;
    pthread_mutex_unlock(&w->lock);
    if (!w->overflow_warned)
        log_info("warning: the inotify event queue overflowed (events were lost): rescanning the "
                 "tree");
    w->overflow_warned = true;
}

static void on_event(struct watcher *w, const struct inotify_event *e)
{
    if (e->mask & IN_Q_OVERFLOW) {
        overflowed(w);
        return;
    }
    if (e->wd < 0 || (size_t)e->wd >= w->wd_cap || !w->wd_dir[e->wd])
        return;
    if (e->mask & IN_IGNORED) {
        forget_wd(w, e->wd);
        return;
    }
    const char *dir = w->wd_dir[e->wd];
    if (!e->len) { /* the folder itself */
        mark(w, &w->dirs, dir);
        return;
    }
    char rel[PATH_MAX];
    int n = snprintf(rel, sizeof rel, "%s%s%s", dir, *dir ? "/" : "", e->name);
    if (n < 0 || (size_t)n >= sizeof rel)
        return;
    if (e->mask & IN_ISDIR)
        mark(w, &w->dirs, rel);
    else if (is_ignore_file(e->name))
        mark(w, &w->dirs, dir);
    else
        mark(w, &w->paths, rel);
}

static void read_events(struct watcher *w)
{
    char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n = read(w->ifd, buf, sizeof buf);
    if (n <= 0)
        return;
    for (char *p = buf; p < buf + n;) {
        const struct inotify_event *e = (const struct inotify_event *)p;
        p += sizeof *e + e->len;
        if (w->overflow_after && ++w->events_read == w->overflow_after) {
            overflowed(w); /* the test switch: as if the rest were lost */
            return;
        }
        on_event(w, e);
    }
}

/* Is rel beneath one of the folders in dirs (or one of them)? */
static bool in_dirs(const struct strmap *dirs, const char *rel)
{
    char *p = xstrdup(rel);
    bool found = strmap_get(dirs, "", NULL) || strmap_get(dirs, p, NULL);
    for (char *slash = strrchr(p, '/'); slash && !found; slash = strrchr(p, '/')) {
        *slash = '\0';
        found = strmap_get(dirs, p, NULL);
    }
    free(p);
    return found;
}

/* Look at everything marked, and send what changed. */
static void process(struct watcher *w, bool full)
{
    struct changes c = {0};
    double first = w->first_event_ms ? w->first_event_ms : now_ms();
    if (full) {
        strmap_clear(&w->dirs);
        strmap_put(&w->dirs, "", 0);
        pthread_mutex_lock(&w->lock);
        w->rescanning = true;
        w->rescans++;
        pthread_mutex_unlock(&w->lock);
    }
    for (size_t i = 0; i < w->dirs.cap; i++) {
        const char *d = w->dirs.key[i];
        if (!d)
            continue;
        /* Beneath another marked folder: that one's walk covers it. */
        char *parent = xstrdup(d);
        char *slash = strrchr(parent, '/');
        bool covered = *d && (slash ? (*slash = '\0', in_dirs(&w->dirs, parent))
                                    : strmap_get(&w->dirs, "", NULL));
        free(parent);
        if (!covered)
            rescan_folder(w, d, &c);
    }
    for (size_t i = 0; i < w->paths.cap; i++)
        if (w->paths.key[i] && !in_dirs(&w->dirs, w->paths.key[i]))
            look_at(w, w->paths.key[i], &c);
    strmap_clear(&w->dirs);
    strmap_clear(&w->paths);
    w->first_event_ms = w->last_event_ms = 0;
    send_changes(w, &c, first);
    free(c.v);
    pthread_mutex_lock(&w->lock);
    w->rescanning = false;
    pthread_mutex_unlock(&w->lock);
}

/* How long to sleep: until the marked set settles, or the next poll. */
static int timeout_ms(const struct watcher *w, bool polling)
{
    double now = now_ms(), until = -1;
    if (w->first_event_ms) {
        double settle = w->last_event_ms + WATCH_SETTLE_MS,
               batch = w->first_event_ms + WATCH_BATCH_MS;
        until = settle < batch ? settle : batch;
    }
    if (polling && (until < 0 || w->next_poll_ms < until))
        until = w->next_poll_ms;
    if (outbox_waiting(w) && (until < 0 || now + OUTBOX_RETRY_MS < until))
        until = now + OUTBOX_RETRY_MS;
    if (until < 0)
        return -1;
    return until <= now ? 0 : (int)(until - now) + 1;
}

static void *run(void *arg)
{
    struct watcher *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        bool stop = w->stop, polling = w->polling, rescan = w->rescan_wanted;
        w->rescan_wanted = false;
        pthread_mutex_unlock(&w->lock);
        if (stop)
            break;
        if (rescan) {
            process(w, true);
            continue;
        }
        struct pollfd pfd[2] = {{.fd = w->wake[0], .events = POLLIN},
                                {.fd = w->ifd, .events = POLLIN}};
        int n = poll(pfd, w->ifd >= 0 ? 2 : 1, timeout_ms(w, polling));
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && (pfd[0].revents & POLLIN)) {
            char drain[64];
            while (read(w->wake[0], drain, sizeof drain) > 0)
                ;
        }
        if (n > 0 && w->ifd >= 0 && (pfd[1].revents & POLLIN))
            read_events(w);
        double now = now_ms();
        if (w->first_event_ms && (now - w->last_event_ms >= WATCH_SETTLE_MS ||
                                  now - w->first_event_ms >= WATCH_BATCH_MS))
            process(w, false);
        if (polling && now >= w->next_poll_ms) {
            w->next_poll_ms = now + w->opt.rescan_ms;
            process(w, true);
        }
        for (unsigned s = 0; s < w->t.nshards; s++)
            flush_shard(w, s);
    }
    return NULL;
}

static unsigned env_number(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? (unsigned)strtoul(v, NULL, 10) : 0;
}

struct watcher *watch_start(const struct watch_options *o, struct ftable *files,
                            const struct transport *t)
{
    struct watcher *w = xcalloc(1, sizeof *w);
    w->opt = *o;
    w->files = files;
    w->t = *t;
    w->pend = xcalloc(t->nshards ? t->nshards : 1, sizeof *w->pend);
    w->out = xcalloc(t->nshards ? t->nshards : 1, sizeof *w->out);
    pthread_mutex_init(&w->lock, NULL);
    w->max_watches = env_number("SHARDGREP_TEST_MAX_WATCHES");
    w->overflow_after = env_number("SHARDGREP_TEST_OVERFLOW_AFTER");
    w->ifd = -1;
    w->next_seq = (uint64_t)o->tree << WATCH_SEQ_TREE_SHIFT;
    w->root_fd = open(o->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->root_fd < 0)
        die("cannot open %s: %s", o->root, strerror(errno));
    if (pipe2(w->wake, O_CLOEXEC | O_NONBLOCK) < 0)
        die("pipe: %s", strerror(errno));
    if (!o->inotify && o->poll) {
        w->polling = true;
        w->next_poll_ms = now_ms() + o->rescan_ms;
    }
    if (o->inotify) {
        w->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (w->ifd < 0) {
            log_info("warning: inotify: %s", strerror(errno));
            set_polling(w, "the tree cannot be watched");
        } else {
            /* Watch every folder, then look at the whole tree once: files
             * may have changed between the start-up walk and the watches. */
            w->rescan_wanted = true;
        }
    }
    if (pthread_create(&w->thread, NULL, run, w) != 0)
        die("cannot start the watcher thread");
    w->running = true;
    return w;
}

void watch_stop(struct watcher *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_mutex_unlock(&w->lock);
    wake(w);
    if (w->running)
        pthread_join(w->thread, NULL);
    w->running = false;
}

void watch_free(struct watcher *w)
{
    if (!w)
        return;
    watch_stop(w);
    for (size_t i = 0; i < w->wd_cap; i++)
        free(w->wd_dir[i]);
    free(w->wd_dir);
    strmap_clear(&w->dir_wd);
    strmap_clear(&w->paths);
    strmap_clear(&w->dirs);
    for (unsigned s = 0; s < w->t.nshards; s++) {
        free(w->pend[s].v);
        for (size_t i = 0; i < w->out[s].n; i++)
            free(w->out[s].v[w->out[s].head + i].data);
        free(w->out[s].v);
    }
    free(w->pend);
    free(w->out);
    if (w->ifd >= 0)
        close(w->ifd);
    close(w->root_fd);
    close(w->wake[0]);
    close(w->wake[1]);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

void watch_rescan(struct watcher *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->rescan_wanted = true;
    pthread_mutex_unlock(&w->lock);
    wake(w);
}

void watch_stats(struct watcher *w, struct watch_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!w) {
        out->state = "off";
        return;
    }
    pthread_mutex_lock(&w->lock);
    out->state = w->rescanning ? "rescanning"
                 : w->polling  ? "polling"
                 : w->ifd >= 0 ? "watching"
                               : "off";
    out->watches = w->nwatches;
    out->pending = w->pending;
    out->applied = w->applied;
    out->rescans = w->rescans;
    out->overflows = w->overflows;
    double oldest = 0;
    for (unsigned s = 0; s < w->t.nshards; s++) {
        const struct shard_pending *p = &w->pend[s];
        if (p->n && (!oldest || p->v[p->head].first_event_ms < oldest))
            oldest = p->v[p->head].first_event_ms;
    }
    out->lag_ms = oldest ? now_ms() - oldest : 0;
    snprintf(out->last_path, sizeof out->last_path, "%s", w->last_path);
    out->last_at = w->last_at;
    out->last_lag_ms = w->last_lag_ms;
    pthread_mutex_unlock(&w->lock);
}
