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
#include "search.h"
#include "utf8.h"
#include "util.h"

#define CANCELLED_MEMORY 64
/* A search that has run this long lets waiting searches run first, inside
 * it, up to NEST_MAX deep: a quick query is not stuck behind a slow one. */
#define NEST_AFTER_NS 20000000u
#define NEST_MAX      4

struct pending {
    uint8_t *data;
    size_t len;
};

struct worker {
    struct queue *q;
    unsigned shard;
    struct corpus corpus;
    uint64_t current; /* seq of the running request */
    uint64_t current_started;
    unsigned depth; /* searches interrupted by the one running */
    struct pending *fifo;
    size_t head, count, cap;
    uint64_t cancelled[CANCELLED_MEMORY];
    unsigned ncancelled;
    uint8_t *buf;
};

static void push_pending(struct worker *w, const uint8_t *data, size_t len)
{
    if (w->count == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        struct pending *f = xmalloc(cap * sizeof *f);
        for (size_t i = 0; i < w->count; i++)
            f[i] = w->fifo[(w->head + i) % w->cap];
        free(w->fifo);
        w->fifo = f;
        w->head = 0;
        w->cap = cap;
    }
    uint8_t *copy = xmalloc(len);
    memcpy(copy, data, len);
    w->fifo[(w->head + w->count) % w->cap] = (struct pending){copy, len};
    w->count++;
}

static bool was_cancelled(const struct worker *w, uint64_t seq)
{
    unsigned n = w->ncancelled < CANCELLED_MEMORY ? w->ncancelled : CANCELLED_MEMORY;
    for (unsigned i = 0; i < n; i++)
        if (w->cancelled[i] == seq)
            return true;
    return false;
}

static void serve_file(struct worker *w, uint64_t seq, uint32_t id);
static void serve(struct worker *w, const uint8_t *buf, size_t n);

/* Run the waiting requests now, inside the running search (which resumes
 * afterwards).  True if that search was cancelled meanwhile. */
static bool run_waiting(struct worker *w)
{
    uint64_t saved = w->current, saved_started = w->current_started;
    w->depth++;
    while (w->count > 0) {
        struct pending p = w->fifo[w->head];
        w->head = (w->head + 1) % w->cap;
        w->count--;
        serve(w, p.data, p.len);
        free(p.data);
    }
    w->depth--;
    w->current = saved;
    w->current_started = saved_started;
    return was_cancelled(w, saved);
}

/* Drain the request queue without waiting.  True if the running request
 * was cancelled.  Exits if the master is gone. */
static bool drain(struct worker *w)
{
    bool stop = false;
    for (;;) {
        ssize_t n = queue_worker_recv(w->q, w->buf, MSG_MAX, 0);
        if (n == 0) {
            if (!stop && w->count > 0 && w->depth < NEST_MAX &&
                now_ns() - w->current_started > NEST_AFTER_NS)
                stop = run_waiting(w);
            return stop;
        }
        if (n < 0)
            _exit(0);
        struct msg_header h;
        struct msg_reader r;
        if (msg_parse(w->buf, (size_t)n, &h, &r) < 0)
            continue;
        if (h.type == MT_CANCEL) {
            if (h.seq == w->current)
                stop = true;
            else
                w->cancelled[w->ncancelled++ % CANCELLED_MEMORY] = h.seq;
        } else if (h.type == MT_FILE) {
            /* A file view is quick: answer it now rather than after the
             * running search, so the page stays responsive. */
            uint32_t id = msg_get_u32(&r);
            if (msg_reader_ok(&r))
                serve_file(w, h.seq, id);
        } else {
            push_pending(w, w->buf, (size_t)n);
        }
    }
}

static int io_send(void *ctx, const void *msg, size_t len)
{
    struct worker *w = ctx;
    if (queue_worker_send(w->q, msg, len) < 0)
        _exit(0); /* the master is gone */
    return 0;
}

static bool io_should_stop(void *ctx)
{
    return drain(ctx);
}

static void send_done(struct worker *w, uint64_t seq, uint8_t status, const char *error)
{
    struct msg_done d = {
        .status = status, .error = error, .error_len = error ? (uint32_t)strlen(error) : 0};
    struct msg_writer mw;
    msg_writer_init(&mw);
    msg_done_encode(&mw, w->shard, seq, &d);
    io_send(w, mw.data, mw.len);
    msg_writer_free(&mw);
}

/* Send every line of one file in LINES batches, then DONE. */
static void serve_file(struct worker *w, uint64_t seq, uint32_t id)
{
    /* Called from drain() too: it must not touch the running search. */
    long fi = corpus_find_file(&w->corpus, id);
    if (fi < 0) {
        send_done(w, seq, MSG_ST_NOT_FOUND, "file not in this shard");
        return;
    }
    const struct corpus_file *f = &w->corpus.files[fi];
    struct msg_writer mw;
    msg_writer_init(&mw);
    uint32_t line = 0;
    while (line < f->nlines) {
        msg_begin(&mw, MT_LINES, w->shard, seq);
        msg_put_u32(&mw, line + 1);
        msg_put_u32(&mw, 0);
        uint32_t count = 0;
        while (line < f->nlines) {
            const char *t;
            size_t n;
            corpus_line(&w->corpus, f, line, &t, &n);
            uint8_t flags = 0;
            if (n > WORKER_FILE_LINE_MAX) {
                n = utf8_floor(t, n, WORKER_FILE_LINE_MAX);
                flags = MSG_RF_CLIPPED;
            }
            if (count > 0 && mw.len + n + 5 > MSG_MAX)
                break;
            msg_put_u8(&mw, flags);
            msg_put_str(&mw, t, n);
            count++;
            line++;
        }
        msg_patch_u32(&mw, MSG_HEADER_SIZE + 4, count);
        msg_finish(&mw);
        io_send(w, mw.data, mw.len);
    }
    msg_writer_free(&mw);
    send_done(w, seq, MSG_ST_DONE, NULL);
}

static void serve(struct worker *w, const uint8_t *buf, size_t n)
{
    struct msg_header h;
    struct msg_reader r;
    if (msg_parse(buf, n, &h, &r) < 0)
        return;
    w->current = h.seq;
    w->current_started = now_ns();
    if (h.type == MT_QUERY) {
        struct msg_query q;
        if (msg_query_decode(&r, &q) < 0) {
            send_done(w, h.seq, MSG_ST_FAILED, "malformed query message");
        } else if (was_cancelled(w, h.seq)) {
            send_done(w, h.seq, MSG_ST_CANCELLED, NULL);
        } else {
            struct search_io io = {.ctx = w, .send = io_send, .should_stop = io_should_stop};
            search_run(&w->corpus, w->shard, h.seq, &q, &io);
        }
    } else if (h.type == MT_FILE) {
        uint32_t id = msg_get_u32(&r);
        if (msg_reader_ok(&r))
            serve_file(w, h.seq, id);
    }
    w->current = 0;
}

#define PROGRESS_EVERY_NS 100000000u

struct progress {
    struct worker *w;
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
    msg_begin(&mw, MT_PROGRESS, p->w->shard, 0);
    msg_put_u32(&mw, (uint32_t)files);
    msg_put_u64(&mw, bytes);
    msg_finish(&mw);
    io_send(p->w, mw.data, mw.len);
    msg_writer_free(&mw);
}

static void load(struct worker *w, const struct file_list *files, const struct worker_config *cfg)
{
    uint64_t t0 = now_ns();
    int root_fd = open(cfg->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    corpus_init(&w->corpus);
    struct progress p = {.w = w, .last_ns = t0};
    const struct corpus_progress cp = {.fn = send_progress, .ctx = &p};
    if (root_fd >= 0) {
        corpus_load(&w->corpus, files, w->shard, root_fd, cfg->max_file_size, &cp);
        close(root_fd);
    } else {
        log_info("shard %u: cannot open %s: %s", w->shard, cfg->root, strerror(errno));
    }
    const struct corpus *c = &w->corpus;
    struct msg_hello h = {.files = (uint32_t)c->nfiles,
                          .lines = c->nlines,
                          .bytes = c->len,
                          .binary = c->binary,
                          .unreadable = c->unreadable,
                          .too_large = c->too_large,
                          .load_us = (now_ns() - t0) / 1000,
                          .pid = (uint32_t)getpid()};
    struct msg_writer mw;
    msg_writer_init(&mw);
    msg_hello_encode(&mw, w->shard, &h);
    io_send(w, mw.data, mw.len);
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
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
}

static void run(struct queue *q, unsigned shard, const struct file_list *files,
                const struct worker_config *cfg) __attribute__((noreturn));

void worker_main(struct queue *q, unsigned shard, const struct file_list *files,
                 const struct worker_config *cfg)
{
    become_worker(cfg);
    queue_enter_worker(q, shard);
    run(q, shard, files, cfg);
}

static void run(struct queue *q, unsigned shard, const struct file_list *files,
                const struct worker_config *cfg)
{
    struct worker w = {.q = q, .shard = shard};
    w.buf = xmalloc(MSG_MAX);
    load(&w, files, cfg);
    for (;;) {
        if (w.count > 0) {
            struct pending p = w.fifo[w.head];
            w.head = (w.head + 1) % w.cap;
            w.count--;
            serve(&w, p.data, p.len);
            free(p.data);
            continue;
        }
        ssize_t n = queue_worker_recv(q, w.buf, MSG_MAX, -1);
        if (n < 0)
            _exit(0); /* EOF: the master closed our queue or died */
        serve(&w, w.buf, (size_t)n);
    }
}

int worker_send_files(struct queue *q, unsigned shard, const struct file_list *files)
{
    struct msg_writer w;
    msg_writer_init(&w);
    size_t i = 0;
    int rc = SG_OK;
    do {
        msg_begin(&w, MT_FILES, shard, 0);
        size_t flag_at = w.len;
        msg_put_u8(&w, 0);
        msg_put_u32(&w, (uint32_t)files->n);
        size_t count_at = w.len;
        msg_put_u32(&w, 0);
        uint32_t count = 0;
        for (; i < files->n; i++) {
            const struct file_entry *e = &files->v[i];
            if (e->shard != shard)
                continue;
            size_t len = strlen(e->path);
            if (w.len + len + 16 > MSG_MAX)
                break;
            msg_put_u32(&w, (uint32_t)i);
            msg_put_u64(&w, e->size);
            msg_put_str(&w, e->path, len);
            count++;
        }
        w.data[flag_at] = i == files->n;
        msg_patch_u32(&w, count_at, count);
        msg_finish(&w);
        rc = queue_send(q, shard, w.data, w.len);
    } while (rc == SG_OK && i < files->n);
    msg_writer_free(&w);
    return rc;
}

/* Build this shard's view of the file list from FILES messages: entries
 * keep their global index; the other shards' slots stay empty. */
static int receive_files(struct queue *q, unsigned shard, struct file_list *files)
{
    uint8_t *buf = xmalloc(MSG_MAX);
    memset(files, 0, sizeof *files);
    bool last = false;
    while (!last) {
        ssize_t n = queue_worker_recv(q, buf, MSG_MAX, -1);
        struct msg_header h;
        struct msg_reader r;
        if (n <= 0 || msg_parse(buf, (size_t)n, &h, &r) < 0 || h.type != MT_FILES)
            break;
        last = msg_get_u8(&r);
        uint32_t total = msg_get_u32(&r), count = msg_get_u32(&r);
        if (!files->v && msg_reader_ok(&r)) {
            files->n = files->cap = total;
            files->v = xcalloc(total ? total : 1, sizeof *files->v);
            for (size_t i = 0; i < total; i++)
                files->v[i].shard = UINT32_MAX;
        }
        for (uint32_t k = 0; k < count && msg_reader_ok(&r); k++) {
            uint32_t id = msg_get_u32(&r), len;
            uint64_t size = msg_get_u64(&r);
            const char *path = msg_get_str(&r, &len);
            if (!msg_reader_ok(&r) || id >= files->n || files->v[id].path)
                break;
            files->v[id] = (struct file_entry){xstrndup(path, len), size, shard};
        }
        if (!msg_reader_ok(&r))
            break;
    }
    free(buf);
    return last ? SG_OK : SG_ERR;
}

int worker_exec_main(int argc, char **argv)
{
    if (argc != 6)
        return 2;
    unsigned shard = (unsigned)strtoul(argv[2], NULL, 10);
    struct worker_config cfg = {.root = argv[3],
                                .max_file_size = strtoull(argv[4], NULL, 10),
                                .master_pid = (pid_t)strtol(argv[5], NULL, 10)};
    become_worker(&cfg);
    struct queue *q = queue_attach(WORKER_REQ_FD, WORKER_RES_FD, shard);
    struct file_list files;
    if (receive_files(q, shard, &files) < 0) {
        log_info("shard %u: no file list from the master", shard);
        _exit(1);
    }
    run(q, shard, &files, &cfg);
}
