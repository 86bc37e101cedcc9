/*
 * worker.c - a shard's process: load, then serve requests (see worker.h).
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "corpus.h"
#include "msg.h"
#include "pathtext.h"
#include "search.h"
#include "snapshot.h"
#include "utf8.h"
#include "util.h"

#define CANCELLED_MEMORY 64
#define FOLD_POLL_MS     20 /* how often an idle worker looks whether a fold is built */
/* A step of applying changes is short: a query that comes during one
 * waits for its end (at 20 ms and 32 files, queries during a burst took
 * 15x their time; at 5 ms, 2.0-2.2x at p50 in bench/live's 10,000-file
 * burst).  It is one version, ended after the file that passes the time
 * (in slices of 8 files, a quarter of the steps took 4-50 ms), or, when
 * no search was running as it began, after the file during which a
 * request came. */
#define APPLY_STEP_MS 2

/* A CHANGES batch being applied, a step at a time (worker.h). */
struct apply_job {
    uint64_t seq;
    struct store_change *ch; /* paths owned */
    size_t n, next;
    struct store_applied done;
};

/* Messages kept while the file list was being received (worker.h). */
struct held {
    struct {
        uint8_t *data;
        size_t len;
    } * v;
    size_t n, cap;
};

/* The scheduler's state (worker.h). */
struct sched {
    const struct transport_end *end;
    unsigned shard;
    struct store *st;
    struct search **active; /* in the order they arrived */
    size_t nactive, cap, turn;
    struct apply_job *jobs; /* FIFO: jobs[jhead .. jhead + njobs) */
    size_t jhead, njobs, jcap;
    /* CANCELs that arrived before their QUERY (it was still in flight). */
    uint64_t cancelled[CANCELLED_MEMORY];
    unsigned ncancelled;
    bool gone;              /* the master is gone: stop */
    uint8_t *buf;           /* the request received last */
    size_t early_len;       /* in buf: a request that ended a step of applying changes */
    struct pathtext *paths; /* the store's paths, for path searches (pathtext.h) */
};

static int io_send(void *ctx, const void *msg, size_t len)
{
    struct sched *w = ctx;
    if (w->end->send(w->end->impl, msg, len) < 0) {
        w->gone = true;
        return -1;
    }
    return 0;
}

static void send_msg(struct sched *w, const struct msg_writer *mw)
{
    (void)io_send(w, mw->data, mw->len);
}

static bool was_cancelled(const struct sched *w, uint64_t seq)
{
    unsigned n = w->ncancelled < CANCELLED_MEMORY ? w->ncancelled : CANCELLED_MEMORY;
    for (unsigned i = 0; i < n; i++)
        if (w->cancelled[i] == seq)
            return true;
    return false;
}

static void send_done(struct sched *w, uint64_t seq, uint8_t status, const char *error)
{
    struct msg_done d = {
        .status = status, .error = error, .error_len = error ? (uint32_t)strlen(error) : 0};
    struct msg_writer mw;
    msg_writer_init(&mw);
    msg_done_encode(&mw, w->shard, seq, &d);
    send_msg(w, &mw);
    msg_writer_free(&mw);
}

/* Send every line of the live version of one file in LINES messages,
 * then DONE. */
static void serve_file(struct sched *w, uint64_t seq, uint32_t id)
{
    enum store_part part;
    size_t fi;
    if (!store_find(w->st, id, &part, &fi)) {
        send_done(w, seq, MSG_ST_NOT_FOUND, "file not in this shard");
        return;
    }
    size_t local;
    const struct corpus *c = store_locate(w->st, part, fi, &local);
    const struct corpus_file *f = &c->files[local];
    struct msg_writer mw;
    msg_writer_init(&mw);
    uint32_t line = 0;
    while (line < f->nlines && !w->gone) {
        msg_lines_begin(&mw, w->shard, seq, line + 1);
        for (; line < f->nlines; line++) {
            const char *t;
            size_t n;
            corpus_line(c, f, line, &t, &n);
            uint8_t flags = 0;
            if (n > WORKER_FILE_LINE_MAX) {
                n = utf8_floor(t, n, WORKER_FILE_LINE_MAX);
                flags = MSG_RF_CLIPPED;
            }
            if (!msg_lines_add(&mw, flags, t, n))
                break;
        }
        msg_lines_finish(&mw);
        send_msg(w, &mw);
    }
    msg_writer_free(&mw);
    send_done(w, seq, MSG_ST_DONE, NULL);
}

static void start_search(struct sched *w, uint64_t seq, const struct msg_query *q)
{
    if (was_cancelled(w, seq)) {
        send_done(w, seq, MSG_ST_CANCELLED, NULL);
        return;
    }
    if (w->nactive == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 8;
        w->active = xrealloc(w->active, w->cap * sizeof *w->active);
    }
    const struct search_io io = {.ctx = w, .send = io_send};
    struct pathtext *paths = q->flags & MSG_QF_PATHS ? pathtext_current(&w->paths, w->st) : NULL;
    w->active[w->nactive++] = search_start(w->st, w->st->version, w->shard, seq, q, &io, paths);
    pathtext_unref(paths);
}

static void cancel(struct sched *w, uint64_t seq)
{
    for (size_t i = 0; i < w->nactive; i++) {
        if (search_seq(w->active[i]) == seq) {
            search_cancel(w->active[i]);
            return;
        }
    }
    w->cancelled[w->ncancelled++ % CANCELLED_MEMORY] = seq;
}

/* A batch of changes: queued, to be applied in steps (apply_step()). */
static void apply_changes(struct sched *w, uint64_t seq, struct msg_reader *r)
{
    uint32_t count;
    if (msg_changes_decode(r, &count) < 0)
        return;
    struct store_change *ch = xcalloc(count ? count : 1, sizeof *ch);
    uint32_t n = 0;
    for (; n < count; n++) {
        uint8_t op;
        struct msg_file_entry e;
        if (msg_changes_next(r, &op, &e) < 0)
            break;
        /* The message's buffer is reused: the path is copied. */
        ch[n] = (struct store_change){.remove = op == MSG_CH_REMOVE,
                                      .id = e.id,
                                      .tree = e.tree,
                                      .stamp = e.stamp,
                                      .path = xstrndup(e.path, e.path_len),
                                      .path_len = e.path_len};
    }
    if (n < count || !msg_decoded_all(r))
        log_info("shard %u: a malformed CHANGES message (%u of %u entries read)", w->shard, n,
                 count);
    if (w->jhead + w->njobs == w->jcap) {
        if (w->jhead) {
            memmove(w->jobs, w->jobs + w->jhead, w->njobs * sizeof *w->jobs);
            w->jhead = 0;
        } else {
            w->jcap = w->jcap ? 2 * w->jcap : 8;
            w->jobs = xrealloc(w->jobs, w->jcap * sizeof *w->jobs);
        }
    }
    w->jobs[w->jhead + w->njobs++] = (struct apply_job){.seq = seq, .ch = ch, .n = n};
}

static void free_job(struct apply_job *j)
{
    for (size_t i = 0; i < j->n; i++)
        free((char *)j->ch[i].path);
    free(j->ch);
}

/* Whether a step of applying changes has had its time, or (yield) a
 * request has come, kept in w->buf for after the step. */
struct apply_clock {
    struct sched *w;
    double until;
    bool yield;
};

static bool step_done(void *ctx)
{
    struct apply_clock *c = ctx;
    if (now_ms() >= c->until)
        return true;
    if (!c->yield)
        return false;
    struct sched *w = c->w;
    ssize_t n = transport_end_recv(w->end, w->buf, MSG_MAX, 0);
    if (n < 0)
        w->gone = true; /* EOF: the master is gone */
    else
        w->early_len = (size_t)n;
    return n != 0;
}

/* Apply the oldest batch for up to APPLY_STEP_MS (or, yield, until a
 * request comes), as one version (each file is still seen wholly before
 * or after its change); when the batch is done, acknowledge it with the
 * shard's counts. */
static void apply_step(struct sched *w, bool yield)
{
    struct apply_job *j = &w->jobs[w->jhead];
    struct apply_clock clock = {.w = w, .until = now_ms() + APPLY_STEP_MS, .yield = yield};
    struct store_applied d;
    j->next += store_apply_some(w->st, j->ch + j->next, j->n - j->next, step_done, &clock, &d);
    j->done.loaded += d.loaded;
    j->done.removed += d.removed;
    j->done.failed += d.failed;
    if (j->next < j->n)
        return;
    struct msg_applied a = {.loaded = j->done.loaded,
                            .removed = j->done.removed,
                            .failed = j->done.failed,
                            .version = w->st->version};
    store_hello(w->st, &a.counts);
    struct msg_writer mw;
    msg_writer_init(&mw);
    msg_applied_encode(&mw, w->shard, j->seq, &a);
    send_msg(w, &mw);
    msg_writer_free(&mw);
    free_job(j);
    w->jhead++;
    if (--w->njobs == 0)
        w->jhead = 0;
}

/* One request. */
static void take(struct sched *w, const uint8_t *buf, size_t n)
{
    struct msg_header h;
    struct msg_reader r;
    if (msg_parse(buf, n, &h, &r) < 0)
        return;
    if (h.type == MT_QUERY) {
        struct msg_query q;
        if (msg_query_decode(&r, &q) < 0)
            send_done(w, h.seq, MSG_ST_FAILED, "malformed query message");
        else
            start_search(w, h.seq, &q);
    } else if (h.type == MT_CANCEL) {
        cancel(w, h.seq);
    } else if (h.type == MT_FILE) {
        uint32_t id;
        if (msg_file_decode(&r, &id) == 0)
            serve_file(w, h.seq, id);
    } else if (h.type == MT_CHANGES) {
        apply_changes(w, h.seq, &r);
    } else if (h.type == MT_PING) {
        struct msg_writer mw;
        msg_writer_init(&mw);
        msg_empty_encode(&mw, MT_PONG, w->shard, h.seq);
        send_msg(w, &mw);
        msg_writer_free(&mw);
    }
}

/* One step of the search whose turn it is; the ended one leaves the list. */
static void run_turn(struct sched *w)
{
    if (w->turn >= w->nactive)
        w->turn = 0;
    struct search *s = w->active[w->turn];
    if (!search_step(s)) {
        w->turn++;
        return;
    }
    search_free(s);
    memmove(w->active + w->turn, w->active + w->turn + 1,
            (w->nactive - w->turn - 1) * sizeof *w->active);
    w->nactive--;
}

/* How long an idle worker may block on its queue: not at all when
 * housekeeping is due, a little while a fold is being built (it is
 * swapped in when ready), else until a request comes. */
static int idle_wait(const struct store *st)
{
    if (store_fold_ready(st) || store_compact_due(st) || store_fold_copying(st))
        return 0;
    return store_fold_running(st) ? FOLD_POLL_MS : -1;
}

/* A step that keeps the worker from its queue this long (no query, PING
 * or change is read meanwhile) is logged: such stalls are what make a
 * shard look unresponsive. */
#define SLOW_STEP_MS 250

static void slow_step(unsigned shard, const char *what, double since)
{
    double ms = now_ms() - since;
    if (ms >= SLOW_STEP_MS)
        log_info("shard %u: %s held the worker for %.0f ms", shard, what, ms);
}

/* Path searches were asked for, and the store has moved since their text
 * was built: it is built again while idle, so that the next one does not
 * pay for it (10-30 ms a shard on the kernel). */
static bool paths_stale(const struct sched *w)
{
    return w->paths && w->paths->layout != w->st->layout;
}

static void serve(const struct transport_end *end, unsigned shard, struct store *st,
                  struct held *held)
{
    struct sched w = {.end = end, .shard = shard, .st = st, .buf = xmalloc(MSG_MAX)};
    double searched_ms = 0; /* search time since the last step of applying changes */
    /* What came while the file list was read, in its order. */
    for (size_t i = 0; held && i < held->n && !w.gone; i++)
        take(&w, held->v[i].data, held->v[i].len);
    while (!w.gone) {
        /* Every request that has arrived; wait for one only when idle
         * (changes waiting for room in the delta wait with the fold). */
        bool waiting = w.njobs && store_hold_changes(st);
        int wait = w.nactive || (w.njobs && !waiting) || paths_stale(&w) ? 0 : idle_wait(st);
        for (; !w.gone; wait = 0) {
            ssize_t n = transport_end_recv(end, w.buf, MSG_MAX, wait);
            if (n == 0)
                break;
            if (n < 0)
                w.gone = true; /* EOF: the master closed our queue or died */
            else
                take(&w, w.buf, (size_t)n);
        }
        if (w.gone)
            break;
        double t = now_ms();
        /* The chunks are tidied (in steps, when idle) before the next
         * fold, which would keep them as they are until it is swapped in. */
        if (store_fold_due(st) && !store_tidy_due(st)) {
            store_fold_begin(st); /* built in a thread; searches go on */
            slow_step(shard, "starting a fold", t);
        } else if (store_fold_copying(st)) {
            store_fold_step(st);
            slow_step(shard, "a step of copying the delta for a fold", t);
        }
        /* Changes and searches share the time: a step of applying changes
         * once the searches have had a search step's time (or none is
         * running).  By turns instead, a search of many short steps waited
         * a whole apply step after each: 0.5-0.8 s for a 2 ms query during
         * a burst. */
        if (w.njobs && !store_hold_changes(st) &&
            (!w.nactive || searched_ms >= SEARCH_STEP_NS / 1e6)) {
            t = now_ms();
            apply_step(&w, !w.nactive); /* one owed to the changes runs whole */
            slow_step(shard, "a step of applying changes", t);
            searched_ms = 0;
            if (w.early_len) {
                take(&w, w.buf, w.early_len);
                w.early_len = 0;
            }
            if (w.gone)
                break;
        }
        t = now_ms();
        if (w.nactive) {
            run_turn(&w);
            searched_ms += now_ms() - t;
            slow_step(shard, "a step of a search", t);
        } else if (store_fold_ready(st)) {
            store_fold_finish(st); /* nothing running holds the old numbering */
            slow_step(shard, "swapping a fold in", t);
        } else if (store_tidy_due(st)) {
            store_tidy(st); /* a step: little is copied */
            slow_step(shard, "tidying the delta", t);
        } else if (!w.njobs && paths_stale(&w)) {
            pathtext_unref(pathtext_current(&w.paths, st));
            slow_step(shard, "building the paths' text", t);
        }
    }
    for (size_t i = 0; i < w.nactive; i++)
        search_free(w.active[i]);
    for (size_t i = 0; i < w.njobs; i++)
        free_job(&w.jobs[w.jhead + i]);
    free(w.jobs);
    free(w.active);
    pathtext_unref(w.paths);
    free(w.buf);
}

void worker_serve(const struct transport_end *end, unsigned shard, struct store *st)
{
    serve(end, shard, st, NULL);
}

#define PROGRESS_EVERY_NS 100000000u

struct progress {
    const struct transport_end *end;
    unsigned shard;
    uint64_t last_ns;
};

/* At most ten PROGRESS messages a second; the master draws them. */
static void send_progress(void *ctx, size_t files, uint64_t bytes)
{
    struct progress *p = ctx;
    uint64_t now = now_ns();
    if (now - p->last_ns < PROGRESS_EVERY_NS)
        return;
    p->last_ns = now;
    struct msg_writer mw;
    msg_writer_init(&mw);
    msg_progress_encode(&mw, p->shard, (uint32_t)files, bytes);
    if (transport_end_send(p->end, &mw) < 0)
        _exit(0); /* the master is gone */
    msg_writer_free(&mw);
}

/* Open each tree's folder; -1 for one that cannot be (logged: its files
 * count as unreadable). */
static int *open_roots(const struct worker_config *cfg, unsigned shard)
{
    int *fds = xcalloc(cfg->ntrees ? cfg->ntrees : 1, sizeof *fds);
    for (unsigned t = 0; t < cfg->ntrees; t++) {
        fds[t] = open(cfg->roots[t], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fds[t] < 0)
            log_info("shard %u: cannot open %s: %s", shard, cfg->roots[t], strerror(errno));
    }
    return fds;
}

/* The snapshot's files against the list: the same file (same tree, path
 * and identity) keeps its text and takes the list's id; a changed or new
 * one is read again, a gone one dropped, all as one batch of changes. */
struct reuse {
    struct store_change *ch;
    size_t n, cap;
    size_t kept;
};

static void add_change(struct reuse *r, struct store_change c)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 256;
        r->ch = xrealloc(r->ch, r->cap * sizeof *r->ch);
    }
    r->ch[r->n++] = c;
}

static int cmp_entry_file(const struct file_entry *e, const struct corpus_file *f)
{
    if (e->tree != f->tree)
        return e->tree < f->tree ? -1 : 1;
    return strcmp(e->path, f->path);
}

static struct store_change load_change(const struct file_list *l, size_t i)
{
    const struct file_entry *e = &l->v[i];
    return (struct store_change){.id = (uint32_t)i,
                                 .tree = e->tree,
                                 .stamp = e->stamp,
                                 .path = e->path,
                                 .path_len = (uint32_t)strlen(e->path)};
}

/* A snapshot: its segments, whose files are in (tree, path) order one
 * segment after the other. */
struct snap {
    struct corpus **seg;
    size_t nseg;
};

/* File j of the snapshot, counting across its segments from segment *k
 * on (moved forward as j grows); NULL past the last. */
static struct corpus_file *snap_file(const struct snap *sn, size_t *k, size_t *base, size_t j)
{
    while (*k < sn->nseg && j - *base >= sn->seg[*k]->nfiles)
        *base += sn->seg[(*k)++]->nfiles;
    return *k < sn->nseg ? &sn->seg[*k]->files[j - *base] : NULL;
}

static void diff_snapshot(const struct snap *sn, const struct file_list *l, unsigned shard,
                          struct reuse *r)
{
    size_t *order;
    size_t n = corpus_shard_order(l, shard, &order), i = 0, j = 0, k = 0, base = 0;
    uint32_t gone = UINT32_MAX;
    for (;;) {
        struct corpus_file *f = snap_file(sn, &k, &base, j);
        const struct file_entry *e = i < n ? &l->v[order[i]] : NULL;
        if (!e && !f)
            break;
        int c = !e ? 1 : !f ? -1 : cmp_entry_file(e, f);
        if (c < 0) { /* new since */
            add_change(r, load_change(l, order[i++]));
        } else if (c > 0) { /* gone since: a placeholder id, dropped */
            f->id = gone--;
            add_change(r, (struct store_change){.remove = true,
                                                .id = f->id,
                                                .path = f->path,
                                                .path_len = (uint32_t)strlen(f->path)});
            j++;
        } else {
            f->id = (uint32_t)order[i];
            if (stamp_same(&e->stamp, &f->stamp))
                r->kept++;
            else /* changed since: read again (it replaces the old text) */
                add_change(r, load_change(l, order[i]));
            i++;
            j++;
        }
    }
    free(order);
}

/* Open the shard's snapshot, if one is kept: done first, while the
 * master walks the tree.  False (logged) when there is none to use. */
static bool open_snapshot(struct snap *sn, unsigned shard, const struct worker_config *cfg,
                          double *took_ms)
{
    char why[SG_ERRLEN];
    double t0 = now_ms();
    if (!cfg->index_dir)
        return false;
    if (snapshot_open(cfg->index_dir, shard, cfg->nshards, cfg->config, &sn->seg, &sn->nseg, why,
                      sizeof why) < 0) {
        log_info("shard %u: snapshot in %s: %s; reading the tree", shard, cfg->index_dir, why);
        return false;
    }
    *took_ms = now_ms() - t0;
    return true;
}

/* Start from the snapshot: the files that changed since are read again. */
static void load_snapshot(struct store *st, struct snap *sn, double checked_ms, const int *root_fds,
                          unsigned shard, const struct file_list *files,
                          const struct worker_config *cfg)
{
    double t1 = now_ms();
    struct reuse r = {0};
    diff_snapshot(sn, files, shard, &r);
    store_init(st, sn->seg, sn->nseg, root_fds, cfg->ntrees, cfg->max_file_size,
               cfg->segment_bytes);
    double t2 = now_ms();
    struct store_applied done;
    store_apply(st, r.ch, r.n, &done);
    log_info("shard %u: from its snapshot (checked in %.0f ms, matched in %.0f ms, changes read "
             "in %.0f ms): %zu files as they were, %u read again, %u gone",
             shard, checked_ms, t2 - t1, now_ms() - t2, r.kept, done.loaded + done.failed,
             done.removed);
    free(r.ch);
    /* The snapshot on disk is the base: written again after a fold. */
    store_keep_snapshots(st, cfg->index_dir, shard, cfg->nshards, cfg->config, false);
}

/* Read the shard's files from the tree. */
static void load_tree(struct store *st, const int *root_fds, const struct transport_end *end,
                      unsigned shard, const struct file_list *files,
                      const struct worker_config *cfg)
{
    struct corpus **segs;
    struct progress p = {.end = end, .shard = shard, .last_ns = now_ns()};
    const struct corpus_progress cp = {.fn = send_progress, .ctx = &p};
    size_t nseg =
        corpus_load(&segs, files, shard, root_fds, cfg->max_file_size, cfg->segment_bytes, &cp);
    store_init(st, segs, nseg, root_fds, cfg->ntrees, cfg->max_file_size, cfg->segment_bytes);
    if (cfg->index_dir)
        store_keep_snapshots(st, cfg->index_dir, shard, cfg->nshards, cfg->config, true);
}

static void say_hello(struct store *st, const struct transport_end *end, unsigned shard,
                      uint64_t t0)
{
    struct msg_hello h = {.load_us = (now_ns() - t0) / 1000, .pid = (uint32_t)getpid()};
    store_hello(st, &h);
    struct msg_writer mw;
    msg_writer_init(&mw);
    msg_hello_encode(&mw, shard, &h);
    if (transport_end_send(end, &mw) < 0) {
        store_stop_threads(st);
        _exit(0);
    }
    msg_writer_free(&mw);
}

/* Process set-up common to both ways of starting. */
static void become_worker(const struct worker_config *cfg)
{
    /* Die with the master; and if it died before we got here, go now. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != cfg->master_pid)
        _exit(0);
    /* Ctrl-C reaches the whole process group: shutdown is the master's job. */
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN); /* the master's: it rescans the tree */
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
}

static void run(struct queue *q, unsigned shard, const struct file_list *files,
                const struct worker_config *cfg) __attribute__((noreturn));
static int receive_files(struct queue *q, unsigned shard, struct file_list *files,
                         struct held *held);

void worker_main(struct queue *q, unsigned shard, const struct file_list *files,
                 const struct worker_config *cfg)
{
    become_worker(cfg);
    queue_enter_worker(q, shard);
    run(q, shard, files, cfg);
}

/* Load (from the snapshot, or the tree), say HELLO, serve.  files NULL:
 * the list comes in FILES messages (a worker started before the master's
 * walk, or exec'd to replace one), so the snapshot is checked first,
 * while the list is being made. */
static void run(struct queue *q, unsigned shard, const struct file_list *files,
                const struct worker_config *cfg)
{
    uint64_t t0 = now_ns();
    struct transport_end end;
    queue_transport_end(q, &end);
    int *root_fds = open_roots(cfg, shard);
    struct snap snap;
    double checked_ms = 0;
    bool have_snap = open_snapshot(&snap, shard, cfg, &checked_ms);
    struct file_list received;
    struct held held = {0};
    if (!files) {
        if (receive_files(q, shard, &received, &held) < 0) {
            log_info("shard %u: no file list from the master", shard);
            _exit(1);
        }
        files = &received;
    }
    struct store st;
    if (have_snap)
        load_snapshot(&st, &snap, checked_ms, root_fds, shard, files, cfg);
    else
        load_tree(&st, root_fds, &end, shard, files, cfg);
    say_hello(&st, &end, shard, t0);
    serve(&end, shard, &st, &held);
    store_stop_threads(&st);
    _exit(0); /* EOF, or the master is gone */
}

int worker_send_files(struct queue *q, unsigned shard, const struct file_list *files, int wait_ms)
{
    struct msg_writer w;
    msg_writer_init(&w);
    size_t i = 0;
    int rc = SG_OK;
    do {
        msg_files_begin(&w, shard, (uint32_t)files->n);
        for (; i < files->n; i++) {
            const struct file_entry *f = &files->v[i];
            if (f->shard != shard)
                continue;
            struct msg_file_entry e = {.id = (uint32_t)i,
                                       .stamp = f->stamp,
                                       .tree = f->tree,
                                       .path = f->path,
                                       .path_len = (uint32_t)strlen(f->path)};
            if (!msg_files_add(&w, &e))
                break;
        }
        msg_files_finish(&w, i == files->n);
        rc = queue_send(q, shard, w.data, w.len, wait_ms);
    } while (rc == SG_OK && i < files->n);
    msg_writer_free(&w);
    return rc;
}

/* One FILES message into the shard's view of the file list; true when it
 * was the last.  -1 when it is malformed. */
static int take_files(const uint8_t *buf, size_t n, unsigned shard, struct file_list *files)
{
    struct msg_header h;
    struct msg_reader r;
    struct msg_files head;
    if (msg_parse(buf, n, &h, &r) < 0 || h.type != MT_FILES || msg_files_decode(&r, &head) < 0)
        return SG_ERR;
    if (!files->v) {
        files->n = files->cap = head.total;
        files->v = xcalloc(head.total ? head.total : 1, sizeof *files->v);
        for (size_t i = 0; i < head.total; i++)
            files->v[i].shard = UINT32_MAX;
    } else if (head.total != files->n) {
        return SG_ERR;
    }
    for (uint32_t k = 0; k < head.count; k++) {
        struct msg_file_entry e;
        if (msg_files_next(&r, &head, &e) < 0 || files->v[e.id].path)
            return SG_ERR;
        files->v[e.id] = (struct file_entry){
            .path = xstrndup(e.path, e.path_len), .stamp = e.stamp, .shard = shard, .tree = e.tree};
    }
    if (!msg_decoded_all(&r))
        return SG_ERR;
    return head.last;
}

/* Build this shard's view of the file list from FILES messages: entries
 * keep their global index; the other shards' slots stay empty.  Other
 * messages may come first (the watcher's CHANGES, sent to the new queue
 * as soon as it exists): they are held, and taken once the files are
 * loaded, in their order (a change the list already holds is applied
 * again: harmless, each file ends as its last change says). */
static int receive_files(struct queue *q, unsigned shard, struct file_list *files,
                         struct held *held)
{
    uint8_t *buf = xmalloc(MSG_MAX);
    memset(files, 0, sizeof *files);
    int last = 0;
    while (last == 0) {
        ssize_t n = queue_worker_recv(q, buf, MSG_MAX, -1);
        struct msg_header h;
        struct msg_reader r;
        if (n > 0 && msg_parse(buf, (size_t)n, &h, &r) == 0 && h.type != MT_FILES) {
            if (held->n == held->cap) {
                held->cap = held->cap ? 2 * held->cap : 16;
                held->v = xrealloc(held->v, held->cap * sizeof *held->v);
            }
            held->v[held->n].data = xmalloc((size_t)n);
            memcpy(held->v[held->n].data, buf, (size_t)n);
            held->v[held->n++].len = (size_t)n;
            continue;
        }
        last = n <= 0 ? SG_ERR : take_files(buf, (size_t)n, shard, files);
    }
    free(buf);
    return last > 0 ? SG_OK : SG_ERR;
}

int worker_exec_main(int argc, char **argv)
{
    if (argc < 10)
        return 2;
    unsigned shard = (unsigned)strtoul(argv[2], NULL, 10);
    struct worker_config cfg = {.max_file_size = strtoull(argv[3], NULL, 10),
                                .segment_bytes = strtoull(argv[4], NULL, 10),
                                .master_pid = (pid_t)strtol(argv[5], NULL, 10),
                                .nshards = (unsigned)strtoul(argv[6], NULL, 10),
                                .index_dir = strcmp(argv[7], "-") ? argv[7] : NULL,
                                .config = strtoull(argv[8], NULL, 16),
                                .roots = (const char *const *)argv + 9,
                                .ntrees = (unsigned)(argc - 9)};
    become_worker(&cfg);
    struct queue *q = queue_attach(WORKER_REQ_FD, WORKER_RES_FD, shard);
    run(q, shard, NULL, &cfg);
}
