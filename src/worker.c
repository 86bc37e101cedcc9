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

/* The scheduler's state (worker.h). */
struct sched {
    const struct transport_end *end;
    unsigned shard;
    const struct corpus *c;
    struct search **active; /* in the order they arrived */
    size_t nactive, cap, turn;
    /* CANCELs that arrived before their QUERY (it was still in flight). */
    uint64_t cancelled[CANCELLED_MEMORY];
    unsigned ncancelled;
    bool gone; /* the master is gone: stop */
    uint8_t *buf;
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

/* Send every line of one file in LINES messages, then DONE. */
static void serve_file(struct sched *w, uint64_t seq, uint32_t id)
{
    long fi = corpus_find_file(w->c, id);
    if (fi < 0) {
        send_done(w, seq, MSG_ST_NOT_FOUND, "file not in this shard");
        return;
    }
    const struct corpus_file *f = &w->c->files[fi];
    struct msg_writer mw;
    msg_writer_init(&mw);
    uint32_t line = 0;
    while (line < f->nlines && !w->gone) {
        msg_lines_begin(&mw, w->shard, seq, line + 1);
        for (; line < f->nlines; line++) {
            const char *t;
            size_t n;
            corpus_line(w->c, f, line, &t, &n);
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
    w->active[w->nactive++] = search_start(w->c, w->shard, seq, q, &io);
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

void worker_serve(const struct transport_end *end, unsigned shard, const struct corpus *c)
{
    struct sched w = {.end = end, .shard = shard, .c = c, .buf = xmalloc(MSG_MAX)};
    while (!w.gone) {
        /* Every request that has arrived; wait for one only when idle. */
        for (int wait = w.nactive ? 0 : -1; !w.gone; wait = 0) {
            ssize_t n = transport_end_recv(end, w.buf, MSG_MAX, wait);
            if (n == 0)
                break;
            if (n < 0)
                w.gone = true; /* EOF: the master closed our queue or died */
            else
                take(&w, w.buf, (size_t)n);
        }
        if (!w.gone && w.nactive)
            run_turn(&w);
    }
    for (size_t i = 0; i < w.nactive; i++)
        search_free(w.active[i]);
    free(w.active);
    free(w.buf);
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

static void load(struct corpus *c, const struct transport_end *end, unsigned shard,
                 const struct file_list *files, const struct worker_config *cfg)
{
    uint64_t t0 = now_ns();
    int root_fd = open(cfg->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    corpus_init(c);
    struct progress p = {.end = end, .shard = shard, .last_ns = t0};
    const struct corpus_progress cp = {.fn = send_progress, .ctx = &p};
    if (root_fd >= 0) {
        corpus_load(c, files, shard, root_fd, cfg->max_file_size, &cp);
        close(root_fd);
    } else {
        log_info("shard %u: cannot open %s: %s", shard, cfg->root, strerror(errno));
    }
    struct msg_hello h = {.files = (uint32_t)c->nfiles,
                          .lines = c->nlines,
                          .bytes = c->len,
                          .binary = c->binary,
                          .unreadable = c->unreadable,
                          .too_large = c->too_large,
                          .load_us = (now_ns() - t0) / 1000,
                          .pid = (uint32_t)getpid(),
                          .changed = c->changed};
    struct msg_writer mw;
    msg_writer_init(&mw);
    msg_hello_encode(&mw, shard, &h);
    if (transport_end_send(end, &mw) < 0)
        _exit(0);
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
    struct transport_end end;
    queue_transport_end(q, &end);
    struct corpus c;
    load(&c, &end, shard, files, cfg);
    worker_serve(&end, shard, &c);
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
                                       .size = f->size,
                                       .dev = f->dev,
                                       .ino = f->ino,
                                       .path = f->path,
                                       .path_len = (uint32_t)strlen(f->path)};
            if (!msg_files_add(&w, &e))
                break;
        }
        msg_files_finish(&w, i == files->n);
        rc = queue_send_wait(q, shard, w.data, w.len, wait_ms);
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
        files->v[e.id] = (struct file_entry){.path = xstrndup(e.path, e.path_len),
                                             .size = e.size,
                                             .shard = shard,
                                             .dev = e.dev,
                                             .ino = e.ino};
    }
    if (!msg_decoded_all(&r))
        return SG_ERR;
    return head.last;
}

/* Build this shard's view of the file list from FILES messages: entries
 * keep their global index; the other shards' slots stay empty. */
static int receive_files(struct queue *q, unsigned shard, struct file_list *files)
{
    uint8_t *buf = xmalloc(MSG_MAX);
    memset(files, 0, sizeof *files);
    int last = 0;
    while (last == 0) {
        ssize_t n = queue_worker_recv(q, buf, MSG_MAX, -1);
        last = n <= 0 ? SG_ERR : take_files(buf, (size_t)n, shard, files);
    }
    free(buf);
    return last > 0 ? SG_OK : SG_ERR;
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
