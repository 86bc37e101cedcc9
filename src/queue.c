/*
 * queue.c - local transport: Unix-domain SOCK_SEQPACKET socket pairs (see
 * queue.h for the design and who owns which descriptor).
 */
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "msg.h"
#include "util.h"

struct channel {
    int master_fd; /* master writes requests here */
    int worker_fd; /* the worker reads them here */
};

struct queue {
    unsigned nshards;
    struct channel *req;
    int res_read;  /* master reads results */
    int res_write; /* workers write results (shared by all of them) */
    unsigned self; /* in a worker: its shard */
};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static int make_pair(int fds[2], char *err, size_t errlen)
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0) {
        set_err(err, errlen, "socketpair: %s", strerror(errno));
        return SG_ERR;
    }
    /* Room for several full batches in flight, both ways (a Unix socket
     * charges what waits to its sender's buffer).  The kernel caps it at
     * net.core.wmem_max unless the process may force it (root).  The test
     * switch SHARDGREP_TEST_QUEUE_BYTES leaves room for about one message,
     * so that tests find queues full (test_live.py). */
    int size = 4 * 1024 * 1024;
    const char *test = getenv("SHARDGREP_TEST_QUEUE_BYTES");
    if (test && *test) {
        size = atoi(test);
        for (int i = 0; i < 2; i++) {
            setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
            setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        }
        return SG_OK;
    }
    for (int i = 0; i < 2; i++) {
        if (setsockopt(fds[i], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
            setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        if (setsockopt(fds[i], SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
            setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
    return SG_OK;
}

struct queue *queue_new(unsigned nshards, char *err, size_t errlen)
{
    struct queue *q = xcalloc(1, sizeof *q);
    q->nshards = nshards;
    q->req = xcalloc(nshards, sizeof *q->req);
    q->res_read = q->res_write = -1;
    for (unsigned i = 0; i < nshards; i++)
        q->req[i].master_fd = q->req[i].worker_fd = -1;
    int fds[2];
    if (make_pair(fds, err, errlen) < 0)
        goto fail;
    q->res_read = fds[0];
    q->res_write = fds[1];
    for (unsigned i = 0; i < nshards; i++) {
        if (make_pair(fds, err, errlen) < 0)
            goto fail;
        q->req[i].master_fd = fds[0];
        q->req[i].worker_fd = fds[1];
    }
    return q;
fail:
    queue_free(q);
    return NULL;
}

void queue_free(struct queue *q)
{
    if (!q)
        return;
    for (unsigned i = 0; i < q->nshards; i++) {
        close_fd(&q->req[i].master_fd);
        close_fd(&q->req[i].worker_fd);
    }
    close_fd(&q->res_read);
    close_fd(&q->res_write);
    free(q->req);
    free(q);
}

unsigned queue_shards(const struct queue *q)
{
    return q->nshards;
}

/* Send one whole message.  A full socket (a worker far behind, or
 * stopped) is waited on for at most wait_ms (-1: forever), then the send
 * fails as if the peer were gone: a stuck worker must not stop the master's
 * thread that sends. */
static int send_all(int fd, const void *msg, size_t len, int wait_ms)
{
    for (;;) {
        ssize_t n = send(fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n == (ssize_t)len)
            return SG_OK;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            int r = poll(&pfd, 1, wait_ms);
            if (r < 0 && errno == EINTR)
                continue;
            if (r > 0)
                continue;
            return SG_ERR; /* still full */
        }
        return SG_ERR; /* EPIPE: the peer is gone; a short send cannot happen */
    }
}

static ssize_t recv_one(int fd, void *buf, size_t cap, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    for (;;) {
        int r = poll(&pfd, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        ssize_t n = recv(fd, buf, cap, MSG_TRUNC);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return -1; /* error, or EOF: the other side is gone */
        if ((size_t)n > cap)
            return -1; /* larger than any valid message */
        return n;
    }
}

int queue_send(struct queue *q, unsigned shard, const void *msg, size_t len, int wait_ms)
{
    if (shard >= q->nshards || q->req[shard].master_fd < 0)
        return SG_ERR;
    return send_all(q->req[shard].master_fd, msg, len, wait_ms);
}

ssize_t queue_recv(struct queue *q, void *buf, size_t cap, int timeout_ms)
{
    return recv_one(q->res_read, buf, cap, timeout_ms);
}

void queue_close_worker_end(struct queue *q, unsigned shard)
{
    close_fd(&q->req[shard].worker_fd);
}

int queue_reset_shard(struct queue *q, unsigned shard, char *err, size_t errlen)
{
    int fds[2];
    if (make_pair(fds, err, errlen) < 0)
        return SG_ERR;
    struct channel *c = &q->req[shard];
    if (c->master_fd >= 0) {
        /* Atomically, for threads sending on the old number. */
        if (dup3(fds[0], c->master_fd, O_CLOEXEC) < 0) {
            set_err(err, errlen, "dup3: %s", strerror(errno));
            close(fds[0]);
            close(fds[1]);
            return SG_ERR;
        }
        close(fds[0]);
    } else {
        c->master_fd = fds[0];
    }
    close_fd(&c->worker_fd);
    c->worker_fd = fds[1];
    return SG_OK;
}

void queue_close_requests(struct queue *q)
{
    for (unsigned i = 0; i < q->nshards; i++)
        close_fd(&q->req[i].master_fd);
}

void queue_enter_worker(struct queue *q, unsigned shard)
{
    for (unsigned i = 0; i < q->nshards; i++) {
        close_fd(&q->req[i].master_fd);
        if (i != shard)
            close_fd(&q->req[i].worker_fd);
    }
    close_fd(&q->res_read);
    q->self = shard;
}

int queue_worker_send(struct queue *q, const void *msg, size_t len)
{
    /* The master reads all the time; waiting for it is back-pressure. */
    return send_all(q->res_write, msg, len, -1);
}

ssize_t queue_worker_recv(struct queue *q, void *buf, size_t cap, int timeout_ms)
{
    return recv_one(q->req[q->self].worker_fd, buf, cap, timeout_ms);
}

void queue_worker_fds(const struct queue *q, unsigned shard, int *req_fd, int *res_fd)
{
    *req_fd = q->req[shard].worker_fd;
    *res_fd = q->res_write;
}

struct queue *queue_attach(int req_fd, int res_fd, unsigned shard)
{
    struct queue *q = xcalloc(1, sizeof *q);
    q->nshards = shard + 1;
    q->req = xcalloc(q->nshards, sizeof *q->req);
    for (unsigned i = 0; i < q->nshards; i++)
        q->req[i].master_fd = q->req[i].worker_fd = -1;
    q->req[shard].worker_fd = req_fd;
    q->res_read = -1;
    q->res_write = res_fd;
    q->self = shard;
    return q;
}

static int master_send(void *impl, unsigned shard, const void *msg, size_t len, int wait_ms)
{
    return queue_send(impl, shard, msg, len, wait_ms);
}

static ssize_t master_recv(void *impl, void *buf, size_t cap, int timeout_ms)
{
    return queue_recv(impl, buf, cap, timeout_ms);
}

void queue_transport(struct queue *q, struct transport *t)
{
    *t = (struct transport){
        .impl = q, .nshards = q->nshards, .send = master_send, .recv = master_recv};
}

static int worker_send(void *impl, const void *msg, size_t len)
{
    return queue_worker_send(impl, msg, len);
}

static ssize_t worker_recv(void *impl, void *buf, size_t cap, int timeout_ms)
{
    return queue_worker_recv(impl, buf, cap, timeout_ms);
}

void queue_transport_end(struct queue *q, struct transport_end *e)
{
    *e = (struct transport_end){.impl = q, .send = worker_send, .recv = worker_recv};
}
