/*
 * server.c - the master process from start to exit (see server.h for the
 * order of start-up and why it matters), and the supervision of the
 * workers: a dead worker's shard goes down at once, and a new worker is
 * started after a back-off that doubles while workers keep dying young
 * (RESTART_FIRST_MS to RESTART_MAX_MS; one that lived RESTART_STABLE_MS
 * starts again from the first).  A restart that fails (no descriptor, no
 * process) is tried again on the same back-off: a shard is never left down
 * with nothing scheduled.  The master is threaded by then, so a new worker
 * is forked only to exec the program again (worker.h).
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aggregator.h"
#include "api.h"
#include "ftable.h"
#include "http.h"
#include "links.h"
#include "listener.h"
#include "loadbar.h"
#include "metrics.h"
#include "msg.h"
#include "queue.h"
#include "registry.h"
#include "shard.h"
#include "snapshot.h"
#include "walk.h"
#include "watch.h"
#include "webroot.h"
#include "worker.h"
#include "util.h"

#define REAP_GRACE_MS     5000
#define RESTART_FIRST_MS  100.0   /* delay before restarting a dead worker */
#define RESTART_MAX_MS    30000.0 /* the longest back-off */
#define RESTART_STABLE_MS 10000   /* a worker that lived this long resets it */
#define HTTP_DRAIN_MS     1000    /* for answers being sent at shutdown */
/* How long a query may wait for a free slot (registry.h, "One deadline"). */
#define SERVER_QUEUE_WAIT_MS 60000

struct server {
    const struct options *opt;
    /* The trees: their folders and names (tree i is files' tree i). */
    const char *roots[OPT_TREES_MAX];
    const char *names[OPT_TREES_MAX];
    unsigned ntrees;
    struct links *links;                  /* --editor-url, --link-url; NULL: none */
    struct file_list files;               /* the start-up walk's (workers forked with it) */
    struct ftable *table;                 /* the files from then on: the truth (ftable.h) */
    struct watcher *watch[OPT_TREES_MAX]; /* one per tree (watch.h) */
    struct walk_options walk_opt;
    uint64_t snap_config; /* what the shards' snapshots must be made for */
    struct queue *queue;
    pid_t *pids;
    struct msg_hello *hello;
    /* Supervision, per shard: when its worker started, when to restart
     * it (0: not scheduled), and the current back-off. */
    double *started_ms, *restart_at, *backoff_ms;
    struct transport transport;
    struct registry *reg;
    struct aggregator *agg;
    struct webroot *web;
    struct listener *listener; /* bound before the walk; then http's */
    struct http_server *http;
    struct api_context api;
    struct answer_budget answers;
    struct metrics metrics; /* GET /metrics' counters (metrics.h) */
    /* The program's own file, as resolved at start-up, and its identity:
     * a restarted worker execs it while it is still the same file. */
    char exe[4096];
    dev_t exe_dev;
    ino_t exe_ino;
};

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Whether this program runs from its build tree (not installed). */
static bool in_build_tree(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    size_t len = strlen(SG_BUILDDIR);
    return strncmp(exe, SG_BUILDDIR, len) == 0 && exe[len] == '/';
}

/* A bundled folder: the source tree's copy when the program runs from
 * its build tree (so a fresh build serves the page being edited), else
 * the installed one; an installed program looks at the folders it was
 * built in (which another machine may hold for anything) only when
 * nothing is installed (a copy of the binary run from elsewhere). */
static const char *bundled(const char *src_dir, const char *installed)
{
    if (in_build_tree() && is_dir(src_dir))
        return src_dir;
    return is_dir(installed) || !is_dir(src_dir) ? installed : src_dir;
}

static void fork_workers(struct server *s, const struct file_list *files)
{
    struct worker_config cfg = {.roots = s->roots,
                                .ntrees = s->ntrees,
                                .max_file_size = s->opt->max_file_size,
                                .segment_bytes = s->opt->segment_bytes,
                                .master_pid = getpid(),
                                .index_dir = s->opt->index_dir,
                                .nshards = s->opt->workers,
                                .config = s->snap_config};
    fflush(NULL); /* nothing buffered may be written twice */
    for (unsigned i = 0; i < s->opt->workers; i++) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork: %s", strerror(errno));
        if (pid == 0) {
            listener_close(s->listener); /* the port is the master's alone */
            worker_main(s->queue, i, files, &cfg);
        }
        s->pids[i] = pid;
        s->started_ms[i] = now_ms();
        queue_close_worker_end(s->queue, i);
    }
}

/* In the child of a fork from the threaded master: only async-signal-safe
 * calls until exec.  Puts the two queue descriptors at 3 and 4 (through
 * high numbers, in case one already sits there) and drops the rest. */
static void exec_worker(const char *exe, int req_fd, int res_fd, char *const argv[])
{
    int a = fcntl(req_fd, F_DUPFD, 10), b = fcntl(res_fd, F_DUPFD, 10);
    if (a < 0 || b < 0 || dup2(a, WORKER_REQ_FD) < 0 || dup2(b, WORKER_RES_FD) < 0)
        _exit(127);
    if (close_range(WORKER_RES_FD + 1, ~0U, 0) < 0)
        for (int fd = WORKER_RES_FD + 1; fd < 1024; fd++)
            close(fd);
    execv(exe, argv);
    _exit(127);
}

static void note_own_exe(struct server *s)
{
    struct stat st;
    ssize_t n = readlink("/proc/self/exe", s->exe, sizeof s->exe - 1);
    if (n <= 0 || (size_t)n >= sizeof s->exe - 1 || stat(s->exe, &st) < 0) {
        s->exe[0] = '\0';
        return;
    }
    s->exe[n] = '\0';
    s->exe_dev = st.st_dev;
    s->exe_ino = st.st_ino;
}

/* The program to exec for a worker: the file we were started from while
 * it is unchanged (tools such as valgrind run us under another image, so
 * /proc/self/exe is not always us), else the image /proc still holds after
 * an upgrade or a rebuild replaced that file. */
static const char *worker_exe(const struct server *s)
{
    struct stat st;
    if (s->exe[0] && stat(s->exe, &st) == 0 && st.st_dev == s->exe_dev && st.st_ino == s->exe_ino)
        return s->exe;
    return "/proc/self/exe";
}

/* A restart that failed is tried again, backing off as a worker that
 * keeps dying does (run_restarts() waits for it). */
static void retry_restart(struct server *s, unsigned i, const char *why)
{
    s->backoff_ms[i] =
        s->backoff_ms[i] * 2 > RESTART_MAX_MS ? RESTART_MAX_MS : s->backoff_ms[i] * 2;
    s->restart_at[i] = now_ms() + s->backoff_ms[i];
    log_info("cannot restart shard %u: %s; trying again in %.0f ms", i, why, s->backoff_ms[i]);
}

static void restart_worker(struct server *s, unsigned i)
{
    char err[SG_ERRLEN], shard[16], size[32], segment[32], master[16];
    s->restart_at[i] = 0;
    if (queue_reset_shard(s->queue, i, err, sizeof err) < 0) {
        retry_restart(s, i, err);
        return;
    }
    snprintf(shard, sizeof shard, "%u", i);
    snprintf(size, sizeof size, "%llu", (unsigned long long)s->opt->max_file_size);
    snprintf(segment, sizeof segment, "%llu", (unsigned long long)s->opt->segment_bytes);
    snprintf(master, sizeof master, "%d", (int)getpid());
    char nshards[16], config[24];
    snprintf(nshards, sizeof nshards, "%u", s->opt->workers);
    snprintf(config, sizeof config, "%llx", (unsigned long long)s->snap_config);
    char *argv[10 + OPT_TREES_MAX] = {
        "shardgrep", WORKER_EXEC_ARG, shard,   size,
        segment,     master,          nshards, s->opt->index_dir ? (char *)s->opt->index_dir : "-",
        config};
    for (unsigned t = 0; t < s->ntrees; t++)
        argv[9 + t] = (char *)s->roots[t];
    int req_fd, res_fd;
    queue_worker_fds(s->queue, i, &req_fd, &res_fd);
    const char *exe = worker_exe(s);
    pid_t pid = fork();
    if (pid == 0)
        exec_worker(exe, req_fd, res_fd, argv);
    int fork_errno = errno;
    queue_close_worker_end(s->queue, i);
    if (pid < 0) {
        snprintf(err, sizeof err, "fork: %s", strerror(fork_errno));
        retry_restart(s, i, err);
        return;
    }
    s->pids[i] = pid;
    s->started_ms[i] = now_ms();
    log_info("restarted shard %u (pid %d); it reloads its files", i, (int)pid);
    metrics_worker_restarted(&s->metrics);
    /* If it dies while reading this, SIGCHLD schedules the next try. */
    struct file_list now; /* what the table says now, not what the walk saw */
    ftable_shard_list(s->table, i, &now);
    (void)worker_send_files(s->queue, i, &now, WORKER_FILES_WAIT_MS);
    file_list_free(&now);
}

/* Schedule a restart, backing off when a worker keeps dying young. */
static void schedule_restart(struct server *s, unsigned i)
{
    double now = now_ms();
    if (now - s->started_ms[i] >= RESTART_STABLE_MS || s->backoff_ms[i] == 0)
        s->backoff_ms[i] = RESTART_FIRST_MS;
    else if (s->backoff_ms[i] < RESTART_MAX_MS)
        s->backoff_ms[i] =
            s->backoff_ms[i] * 2 > RESTART_MAX_MS ? RESTART_MAX_MS : s->backoff_ms[i] * 2;
    s->restart_at[i] = now + s->backoff_ms[i];
    log_info("restarting shard %u in %.0f ms", i, s->backoff_ms[i]);
}

/* Restart the workers that are due; returns ms until the next one is, or
 * -1.  A restart that failed has rescheduled itself, and counts. */
static long run_restarts(struct server *s)
{
    long next = -1;
    for (unsigned i = 0; i < s->opt->workers; i++) {
        if (s->restart_at[i] != 0 && s->restart_at[i] <= now_ms())
            restart_worker(s, i);
        if (s->restart_at[i] == 0)
            continue;
        double wait = s->restart_at[i] - now_ms();
        long ms = wait <= 0 ? 0 : (long)wait + 1;
        if (next < 0 || ms < next)
            next = ms;
    }
    return next;
}

static long shard_of_pid(const struct server *s, pid_t pid)
{
    for (unsigned i = 0; i < s->opt->workers; i++)
        if (s->pids[i] == pid)
            return (long)i;
    return -1;
}

static void kill_workers(struct server *s)
{
    for (unsigned i = 0; i < s->opt->workers; i++)
        if (s->pids[i] > 0)
            kill(s->pids[i], SIGKILL);
}

/* One message while loading: PROGRESS or HELLO.  Returns 1 for a HELLO. */
static int on_load_message(struct server *s, struct loadbar *bar, const uint8_t *buf, size_t n)
{
    struct msg_header h;
    struct msg_reader r;
    if (msg_parse(buf, n, &h, &r) < 0 || h.shard >= s->opt->workers)
        return 0;
    if (h.type == MT_PROGRESS) {
        uint32_t files;
        uint64_t bytes;
        if (msg_progress_decode(&r, &files, &bytes) == 0)
            loadbar_update(bar, h.shard, files, bytes);
        return 0;
    }
    struct msg_hello hello;
    if (h.type != MT_HELLO || msg_hello_decode(&r, &hello) < 0)
        return 0;
    s->hello[h.shard] = hello;
    loadbar_done(bar, h.shard);
    log_info("shard %u (pid %u): %u files, %llu lines, %llu bytes in %.0f ms", h.shard, hello.pid,
             hello.files, (unsigned long long)hello.lines, (unsigned long long)hello.bytes,
             (double)hello.load_us / 1000.0);
    return 1;
}

/* Read every worker's HELLO; dies if a worker dies or a stop is asked. */
static void await_workers(struct server *s, const sigset_t *sigs)
{
    uint8_t *buf = xmalloc(MSG_MAX);
    unsigned ready = 0;
    struct timespec zero = {0, 0};
    struct loadbar *bar = loadbar_new(&s->files, s->opt->workers, isatty(STDERR_FILENO));
    while (ready < s->opt->workers) {
        ssize_t n = transport_recv(&s->transport, buf, MSG_MAX, 100);
        if (n > 0)
            ready += (unsigned)on_load_message(s, bar, buf, (size_t)n);
        int sig = sigtimedwait(sigs, NULL, &zero);
        if (sig == SIGINT || sig == SIGTERM) {
            kill_workers(s);
            while (wait(NULL) > 0)
                ;
            log_info("stopped while loading");
            exit(0);
        }
        pid_t dead = waitpid(-1, NULL, WNOHANG);
        if (dead > 0) {
            kill_workers(s);
            die("worker for shard %ld died while loading", shard_of_pid(s, dead));
        }
    }
    loadbar_free(bar);
    free(buf);
}

static void log_totals(const struct server *s, double t0)
{
    uint64_t files = 0, lines = 0, bytes = 0, binary = 0, unreadable = 0, changed = 0;
    for (unsigned i = 0; i < s->opt->workers; i++) {
        files += s->hello[i].files;
        lines += s->hello[i].lines;
        bytes += s->hello[i].bytes;
        binary += s->hello[i].binary;
        unreadable += s->hello[i].unreadable;
        changed += s->hello[i].changed;
    }
    log_info("loaded %llu files, %llu lines, %llu bytes across %u shards in %.0f ms "
             "(skipped: %zu ignored, %llu binary, %zu too large, %zu not regular files, "
             "%zu paths too long, %llu unreadable, %llu replaced since the walk)",
             (unsigned long long)files, (unsigned long long)lines, (unsigned long long)bytes,
             s->opt->workers, now_ms() - t0, s->files.ignored, (unsigned long long)binary,
             s->files.too_large, s->files.special, s->files.too_long,
             (unsigned long long)unreadable, (unsigned long long)changed);
}

static void on_child_exit(struct server *s)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        long shard = shard_of_pid(s, pid);
        if (shard < 0)
            continue;
        s->pids[shard] = 0;
        if (WIFSIGNALED(status))
            log_info("worker for shard %ld (pid %d) was killed by signal %d", shard, (int)pid,
                     WTERMSIG(status));
        else
            log_info("worker for shard %ld (pid %d) exited with status %d", shard, (int)pid,
                     WEXITSTATUS(status));
        registry_shard_down(s->reg, (unsigned)shard);
        schedule_restart(s, (unsigned)shard);
    }
}

static void reap_all(struct server *s)
{
    double until = now_ms() + REAP_GRACE_MS;
    unsigned left = 0;
    for (unsigned i = 0; i < s->opt->workers; i++)
        left += s->pids[i] > 0;
    while (left > 0) {
        pid_t pid = waitpid(-1, NULL, WNOHANG);
        if (pid > 0) {
            long shard = shard_of_pid(s, pid);
            if (shard >= 0) {
                s->pids[shard] = 0;
                left--;
            }
            continue;
        }
        if (pid < 0 && errno == ECHILD)
            break;
        if (now_ms() > until) {
            kill_workers(s);
            until = now_ms() + REAP_GRACE_MS;
        }
        usleep(10000);
    }
}

static void shutdown_server(struct server *s)
{
    http_quiesce(s->http);     /* no new connections */
    registry_shutdown(s->reg); /* waiting handlers answer now, with 503 */
    for (unsigned t = 0; t < s->ntrees; t++)
        watch_stop(s->watch[t]); /* no more changes sent */
    http_drain(s->http, HTTP_DRAIN_MS);
    http_stop(s->http); /* closes what is left; joins every connection thread */
    queue_close_requests(s->queue);
    reap_all(s);
    aggregator_stop(s->agg);
    for (unsigned t = 0; t < s->ntrees; t++)
        watch_free(s->watch[t]); /* after the aggregator: it delivers APPLIED */
    registry_free(s->reg);
    webroot_free(s->web);
    links_free(s->links);
    queue_free(s->queue);
    file_list_free(&s->files);
    ftable_free(s->table);
    free(s->pids);
    free(s->hello);
    free(s->started_ms);
    free(s->restart_at);
    free(s->backoff_ms);
}

/* Bind first: a port in use or a bad address is reported before the tree
 * is walked and loaded, not after. */
static void open_listener(struct server *s, const struct options *o)
{
    char err[SG_ERRLEN];
    s->listener = listener_open(o->bind, o->port, err, sizeof err);
    if (!s->listener)
        die("%s", err);
    if (!listener_is_loopback(s->listener) && !o->token)
        log_info("warning: listening on %s without --token: anyone who can reach it can read "
                 "every indexed file",
                 o->bind);
}

/* A worker applied a batch of changes (registry.h): the watcher that sent
 * it (its tree is in the seq: watch.h) counts it. */
static void on_applied(void *ctx, unsigned shard, uint64_t seq)
{
    const struct server *s = ctx;
    unsigned t = watch_seq_tree(seq);
    if (t < s->ntrees)
        watch_applied(s->watch[t], shard, seq);
}

/* A restarted worker loaded what the table says: the watchers forget the
 * batches they sent its predecessor. */
static void on_back(void *ctx, unsigned shard)
{
    const struct server *s = ctx;
    for (unsigned t = 0; t < s->ntrees; t++)
        watch_shard_back(s->watch[t], shard);
}

static void start_front(struct server *s)
{
    char err[SG_ERRLEN];
    struct registry_options ro = {.keep_count = s->opt->keep_queries,
                                  .keep_seconds = s->opt->keep_seconds,
                                  .keep_bytes = (size_t)s->opt->keep_memory,
                                  .query_bytes = (size_t)s->opt->query_memory,
                                  .max_running = s->opt->max_running,
                                  .max_queued = s->opt->max_queued,
                                  .queue_wait_ms = SERVER_QUEUE_WAIT_MS,
                                  .file_timeout_ms = s->opt->timeout_ms,
                                  .ping_ms = s->opt->unresponsive_ms / 5,
                                  .unresponsive_ms = s->opt->unresponsive_ms,
                                  .files = s->table,
                                  .metrics = &s->metrics};
    for (unsigned t = 0; t < s->ntrees; t++) {
        struct watch_options wopt = {.root = s->roots[t],
                                     .tree = t,
                                     .walk = &s->walk_opt,
                                     .inotify = !s->opt->no_watch,
                                     .poll = s->opt->no_watch && s->opt->rescan_interval_set,
                                     .rescan_ms = s->opt->rescan_interval_s * 1000};
        s->watch[t] = watch_start(&wopt, s->table, &s->transport);
    }
    ro.applied = on_applied;
    ro.back = on_back;
    ro.applied_ctx = s;
    s->reg = registry_new(&s->transport, &ro);
    for (unsigned i = 0; i < s->opt->workers; i++)
        registry_shard_up(s->reg, i, s->pids[i], &s->hello[i]);
    struct aggregator_sink sink;
    registry_sink(s->reg, &sink);
    s->agg = aggregator_start(&s->transport, &sink);
    s->answers.max = (size_t)s->opt->answer_memory;
    s->api = (struct api_context){.reg = s->reg,
                                  .answers = &s->answers,
                                  .files = s->table,
                                  .walked = &s->files,
                                  .watch = s->watch,
                                  .ntrees = s->ntrees,
                                  .tree_roots = s->roots,
                                  .links = s->links,
                                  .web = s->web,
                                  .timeout_ms = s->opt->timeout_ms,
                                  .token = s->opt->token,
                                  .metrics = &s->metrics,
                                  .started_ms = now_ms()};
    struct http_limits limits = {.connections = s->opt->max_connections,
                                 .per_ip = s->opt->max_per_ip,
                                 .head_timeout_s = s->opt->head_timeout_s,
                                 .body_timeout_s = s->opt->body_timeout_s};
    struct http_log log = {
        .on = s->opt->request_log, .json = s->opt->log_json, .queries = s->opt->log_queries};
    s->http = http_start(&s->api, s->listener, &limits, &log, err, sizeof err);
    s->listener = NULL;
    if (!s->http) {
        kill_workers(s);
        die("%s", err);
    }
}

/* The trees to serve: the command line's, or the bundled sample corpus. */
static void name_trees(struct server *s, const struct options *o)
{
    s->ntrees = o->ntrees;
    for (unsigned t = 0; t < o->ntrees; t++) {
        s->roots[t] = o->roots[t];
        s->names[t] = o->tree_names[t];
    }
    if (!o->ntrees) {
        s->roots[0] = bundled(SG_SRCDIR "/sample-corpus", SG_PKGDATADIR "/sample-corpus");
        s->names[0] = "sample-corpus";
        s->ntrees = 1;
    }
}

/* Walk every tree; their lists, one after the other, are in (tree, path)
 * order, which gives the ids. */
static void walk_trees(struct server *s)
{
    char err[SG_ERRLEN];
    memset(&s->files, 0, sizeof s->files);
    for (unsigned t = 0; t < s->ntrees; t++) {
        struct file_list one;
        if (walk_tree(s->roots[t], &s->walk_opt, &one, err, sizeof err) < 0)
            die("%s", err);
        if (one.n == 0 && one.ignored > 0)
            log_info("warning: ignore rules exclude every file under %s (a .gitignore holding "
                     "'/*'?); --no-ignore indexes them",
                     s->roots[t]);
        s->files.v = xrealloc(s->files.v, (s->files.n + one.n + 1) * sizeof *s->files.v);
        for (size_t i = 0; i < one.n; i++) {
            one.v[i].tree = t;
            s->files.v[s->files.n++] = one.v[i];
        }
        s->files.cap = s->files.n;
        s->files.bytes += one.bytes;
        s->files.ignored += one.ignored;
        s->files.too_large += one.too_large;
        s->files.special += one.special;
        s->files.unreadable_dirs += one.unreadable_dirs;
        s->files.too_long += one.too_long;
        free(one.v);
        free(one.not_utf8);
    }
}

/* The shard whose snapshot holds each file of the table (-1: none), found
 * by merging each snapshot's listing, in (tree, path) order as the table
 * is, with the table.  A listing out of that order (snapshot.c's reader
 * refuses such a snapshot) only misses files: they are read again. */
struct snap_owner {
    const struct file_list *files;
    long *shard; /* one per file */
    long shard_now;
    size_t at;
};

static int tree_path_cmp(uint32_t tree_a, const char *path_a, uint32_t tree_b, const char *path_b)
{
    return tree_a != tree_b ? (tree_a < tree_b ? -1 : 1) : strcmp(path_a, path_b);
}

static void owner_add(void *ctx, uint32_t tree, const char *path)
{
    struct snap_owner *o = ctx;
    const struct file_entry *v = o->files->v;
    int c = 1;
    while (o->at < o->files->n && (c = tree_path_cmp(v[o->at].tree, v[o->at].path, tree, path)) < 0)
        o->at++;
    if (o->at < o->files->n && c == 0 && o->shard[o->at] < 0) /* the first shard claims it */
        o->shard[o->at] = o->shard_now;
}

static long owner_of(void *ctx, const struct file_entry *e)
{
    const struct snap_owner *o = ctx;
    return o->shard[e - o->files->v];
}

/* Shards for the files: with --index-dir, a file goes to the shard whose
 * snapshot holds it (so the snapshot can be used), the rest to the
 * lightest shards. */
static void assign_shards(struct server *s, const struct options *o)
{
    if (!o->index_dir) {
        shard_assign(&s->files, o->workers);
        return;
    }
    struct snap_owner own = {.files = &s->files, .shard = xmalloc((s->files.n + 1) * sizeof(long))};
    for (size_t i = 0; i < s->files.n; i++)
        own.shard[i] = -1;
    for (unsigned i = 0; i < o->workers; i++) {
        own.shard_now = i;
        own.at = 0;
        (void)snapshot_files(o->index_dir, i, o->workers, s->snap_config, owner_add, &own);
    }
    shard_assign_prefer(&s->files, o->workers, owner_of, &own);
    free(own.shard);
}

/* --index-dir must be a folder we can write in; made if missing. */
static void check_index_dir(const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        die("cannot make --index-dir %s: %s", dir, strerror(errno));
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) < 0)
        die("--index-dir %s is not a folder this user can write in", dir);
}

/* Walk the trees, give each file a shard and an id: the file table. */
static void make_file_table(struct server *s, const struct options *o)
{
    double t0 = now_ms();
    walk_trees(s);
    double t1 = now_ms();
    assign_shards(s, o);
    s->table = ftable_new(&s->files, o->workers, s->names, s->ntrees);
    if (o->index_dir)
        log_info("walked %zu files in %.0f ms, assigned them to shards in %.0f ms", s->files.n,
                 t1 - t0, now_ms() - t1);
    if (s->ntrees == 1)
        log_info("serving %s: %zu files to load on %u workers", s->roots[0], s->files.n,
                 o->workers);
    else
        log_info("serving %u trees: %zu files to load on %u workers", s->ntrees, s->files.n,
                 o->workers);
}

/* Workers started before the walk (with --index-dir) get their lists. */
static void send_file_lists(struct server *s)
{
    for (unsigned i = 0; i < s->opt->workers; i++)
        if (worker_send_files(s->queue, i, &s->files, WORKER_FILES_WAIT_MS) < 0) {
            kill_workers(s);
            die("worker for shard %u did not take its file list", i);
        }
}

/* The links of --editor-url and --link-url, for the trees now named: a
 * --link-url for a tree not served is a mistake on the command line
 * (exit 2, as options.c's are), found before anything is started. */
static void make_links(struct server *s, const struct options *o)
{
    char err[SG_ERRLEN];
    s->links = links_new(&o->links, s->roots, s->names, s->ntrees, err, sizeof err);
    if (!s->links && err[0]) {
        fprintf(stderr, "shardgrep: %s\n", err);
        exit(2);
    }
}

static void prepare(struct server *s, const struct options *o)
{
    char err[SG_ERRLEN];
    s->opt = o;
    if (o->index_dir)
        check_index_dir(o->index_dir);
    const char *web = o->web_root ? o->web_root : bundled(SG_SRCDIR "/web", SG_PKGDATADIR "/web");
    s->web = webroot_load(web, err, sizeof err);
    if (!s->web) {
        if (o->web_root)
            die("%s", err);
        log_info("%s: serving the API only", err);
    }
    s->walk_opt =
        (struct walk_options){.max_file_size = o->max_file_size, .no_ignore = o->no_ignore};
    s->snap_config =
        snapshot_config_hash(s->roots, s->names, s->ntrees, o->max_file_size, o->no_ignore);
    s->queue = queue_new(o->workers, err, sizeof err);
    if (!s->queue)
        die("%s", err);
    queue_transport(s->queue, &s->transport);
    s->pids = xcalloc(o->workers, sizeof *s->pids);
    s->hello = xcalloc(o->workers, sizeof *s->hello);
    s->started_ms = xcalloc(o->workers, sizeof *s->started_ms);
    s->restart_at = xcalloc(o->workers, sizeof *s->restart_at);
    s->backoff_ms = xcalloc(o->workers, sizeof *s->backoff_ms);
}

int server_run(const struct options *o)
{
    struct server s = {0};
    double t0 = now_ms();
    name_trees(&s, o);
    make_links(&s, o);
    open_listener(&s, o);
    prepare(&s, o);
    note_own_exe(&s);

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGCHLD);
    sigaddset(&sigs, SIGHUP);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* With snapshots, the workers check theirs while the master walks the
     * tree; then they get their lists.  Without, they inherit them. */
    if (o->index_dir)
        fork_workers(&s, NULL);
    make_file_table(&s, o);
    if (o->index_dir)
        send_file_lists(&s);
    else
        fork_workers(&s, &s.files);
    await_workers(&s, &sigs);
    log_totals(&s, t0);
    start_front(&s);

    bool v6 = strchr(o->bind, ':') != NULL;
    printf("listening on http://%s%s%s:%u\n", v6 ? "[" : "", o->bind, v6 ? "]" : "",
           http_port(s.http));
    fflush(stdout);

    for (;;) {
        long next = run_restarts(&s);
        struct timespec ts = {next / 1000, (next % 1000) * 1000000L};
        int sig = next < 0 ? sigwaitinfo(&sigs, NULL) : sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGCHLD) {
            on_child_exit(&s);
        } else if (sig == SIGHUP) {
            log_info("SIGHUP: rescanning the tree%s", s.ntrees > 1 ? "s" : "");
            for (unsigned t = 0; t < s.ntrees; t++)
                watch_rescan(s.watch[t]);
        } else if (sig == SIGINT || sig == SIGTERM) {
            break;
        }
    }
    log_info("shutting down");
    shutdown_server(&s);
    log_info("stopped");
    return 0;
}
