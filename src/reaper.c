/*
 * reaper.c - deadlines for whole requests (see reaper.h).
 */
#include "reaper.h"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "util.h"

#define REAPER_TICK_MS 500

struct reaper_conn {
    struct reaper_conn *prev, *next;
    int fd;
    enum reaper_phase phase;
    double ready_ms; /* when this phase began */
    double since_ms; /* REAPER_HEAD: its first byte seen (0: not yet) */
    long long mark;  /* REAPER_HEAD: bytes received before it; -1: unknown */
    bool shut;
};

struct reaper {
    pthread_mutex_t lock; /* everything below, and every conn's fields */
    pthread_cond_t wake;
    struct reaper_conn *conns;
    double head_ms, body_ms;
    bool stopping;
    pthread_t thread;
};

/* Bytes the kernel has received on a TCP socket, or -1 if it cannot say. */
static long long bytes_received(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
        len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received)
        return -1;
    return (long long)ti.tcpi_bytes_received;
}

/* Whether k is past its phase's deadline at now (under r->lock). */
static bool overdue(const struct reaper *r, struct reaper_conn *k, double now)
{
    if (k->phase == REAPER_BODY)
        return now - k->ready_ms > r->body_ms;
    if (k->phase != REAPER_HEAD)
        return false;
    if (k->since_ms == 0) {
        long long got = k->mark < 0 ? -1 : bytes_received(k->fd);
        if (got < 0)
            k->since_ms = k->ready_ms; /* cannot tell: count from when it was ready */
        else if (got > k->mark)
            k->since_ms = now;
        else
            return false; /* silent: the idle timeout's business */
    }
    return now - k->since_ms > r->head_ms;
}

static void *reaper_main(void *arg)
{
    struct reaper *r = arg;
    pthread_mutex_lock(&r->lock);
    while (!r->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += REAPER_TICK_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&r->wake, &r->lock, &ts);
        double now = now_ms();
        for (struct reaper_conn *k = r->conns; k && !r->stopping; k = k->next) {
            if (!k->shut && overdue(r, k, now)) {
                shutdown(k->fd, SHUT_RDWR);
                k->shut = true;
            }
        }
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

struct reaper *reaper_start(unsigned head_ms, unsigned body_ms)
{
    struct reaper *r = xcalloc(1, sizeof *r);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&r->lock, NULL);
    r->head_ms = head_ms;
    r->body_ms = body_ms;
    if (pthread_create(&r->thread, NULL, reaper_main, r) != 0) {
        pthread_cond_destroy(&r->wake);
        pthread_mutex_destroy(&r->lock);
        free(r);
        return NULL;
    }
    return r;
}

void reaper_free(struct reaper *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stopping = true;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    while (r->conns) {
        struct reaper_conn *k = r->conns;
        r->conns = k->next;
        free(k);
    }
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

struct reaper_conn *reaper_add(struct reaper *r, int fd)
{
    struct reaper_conn *k = xcalloc(1, sizeof *k);
    k->fd = fd;
    k->phase = REAPER_HEAD;
    k->ready_ms = now_ms();
    pthread_mutex_lock(&r->lock);
    k->next = r->conns;
    if (r->conns)
        r->conns->prev = k;
    r->conns = k;
    pthread_mutex_unlock(&r->lock);
    return k;
}

void reaper_set_phase(struct reaper *r, struct reaper_conn *k, enum reaper_phase p)
{
    if (!k)
        return;
    long long mark = p == REAPER_HEAD ? bytes_received(k->fd) : 0;
    pthread_mutex_lock(&r->lock);
    k->phase = p;
    k->ready_ms = now_ms();
    k->since_ms = 0;
    k->mark = mark;
    pthread_mutex_unlock(&r->lock);
}

void reaper_remove(struct reaper *r, struct reaper_conn *k)
{
    if (!k)
        return;
    pthread_mutex_lock(&r->lock);
    if (k->prev)
        k->prev->next = k->next;
    else
        r->conns = k->next;
    if (k->next)
        k->next->prev = k->prev;
    pthread_mutex_unlock(&r->lock);
    free(k);
}
