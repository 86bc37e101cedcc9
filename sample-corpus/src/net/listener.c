#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listener.h"
#include "protocol/frame.h"

#define MAX_CONNS 128
#define RX_BUF    (64 * 1024)

struct conn {
    int            fd;
    unsigned char *rx;
    size_t         rx_len;
};

struct kv_listener {
    int         fd;
    struct conn conns[MAX_CONNS];
    int         nconns;
};

struct kv_listener *listener_start(const char *addr, int port)
{
    struct kv_listener *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;

    l->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (l->fd < 0)
        goto fail;
    int one = 1;
    setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));

    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
        goto fail;
    if (bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        goto fail;
    if (listen(l->fd, 64) != 0)
        goto fail;
    return l;

fail:
    if (l->fd >= 0)
        close(l->fd);
    free(l);
    return NULL;
}

static void conn_drop(struct kv_listener *l, int i)
{
    close(l->conns[i].fd);
    free(l->conns[i].rx);
    l->conns[i] = l->conns[--l->nconns];
}

static int conn_service(struct conn *c, listener_handler_fn fn, void *ctx)
{
    ssize_t n = read(c->fd, c->rx + c->rx_len, RX_BUF - c->rx_len);
    if (n <= 0)
        return -1;
    c->rx_len += (size_t)n;

    for (;;) {
        struct kv_frame req = {0}, resp = {0};
        int used = frame_decode(c->rx, c->rx_len, &req);
        if (used < 0)
            return -1;
        if (used == 0)
            break;
        fn(ctx, &req, &resp);
        unsigned char out[FRAME_HEADER_SIZE + 4096];
        int len = frame_encode(&resp, out, sizeof(out));
        /* TODO: large values need a streaming write path */
        if (len > 0 && write(c->fd, out, (size_t)len) != len) {
            frame_clear(&req);
            frame_clear(&resp);
            return -1;
        }
        frame_clear(&req);
        frame_clear(&resp);
        memmove(c->rx, c->rx + used, c->rx_len - (size_t)used);
        c->rx_len -= (size_t)used;
    }
    return 0;
}

int listener_poll(struct kv_listener *l, int timeout_ms,
                  listener_handler_fn fn, void *ctx)
{
    struct pollfd pfd[MAX_CONNS + 1];
    pfd[0].fd = l->fd;
    pfd[0].events = POLLIN;
    for (int i = 0; i < l->nconns; i++) {
        pfd[i + 1].fd = l->conns[i].fd;
        pfd[i + 1].events = POLLIN;
    }
    int n = poll(pfd, (nfds_t)l->nconns + 1, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -1;

    for (int i = l->nconns - 1; i >= 0; i--)
        if ((pfd[i + 1].revents & (POLLIN | POLLHUP)) &&
            conn_service(&l->conns[i], fn, ctx) != 0)
            conn_drop(l, i);

    if ((pfd[0].revents & POLLIN) && l->nconns < MAX_CONNS) {
        int fd = accept(l->fd, NULL, NULL);
        if (fd >= 0) {
            struct conn *c = &l->conns[l->nconns++];
            c->fd = fd;
            c->rx = malloc(RX_BUF);
            c->rx_len = 0;
        }
    }
    return 0;
}

void listener_stop(struct kv_listener *l)
{
    while (l->nconns > 0)
        conn_drop(l, l->nconns - 1);
    close(l->fd);
    free(l);
}
