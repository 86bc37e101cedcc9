/*
 * transport.h - the seam between the master and its workers: how the
 * messages of msg.h travel, and nothing else.
 *
 * The master's end sends a message to shard i (or to every shard) and
 * receives the next message from any shard; a worker's end receives its
 * requests and sends its answers.  A transport carries whole messages of
 * at most MSG_MAX bytes, byte for byte: it never looks inside them, so
 * every transport carries the same wire format (msg.h).  What callers may
 * rely on:
 *
 *   - messages from one sender to one receiver arrive in the order sent;
 *     messages from several workers interleave whole, never mixed;
 *   - a send waits at most wait_ms (0: not at all) for room at a busy
 *     receiver, and fails (-1) when the receiver is known to be gone or
 *     still has no room then; a failed send delivered nothing, so it may
 *     be sent again (the watcher does, until it lands: watch.h), or the
 *     caller ends that shard's part of a request as failed; a message
 *     lost without a failure shows as a shard that misses its deadline or
 *     its heartbeat (registry.h), never as a silent wrong answer;
 *   - a receive waits at most timeout_ms (-1: forever) and returns the
 *     message's length, 0 on timeout, or -1 when the other side is gone.
 *
 * The local transport (queue.h: Unix-domain SOCK_SEQPACKET sockets
 * between forked processes) is the one today; a transport between
 * machines implements the same two ends.  Tests drive the registry and
 * the worker's scheduler through fake ends that record what is sent.
 */
#ifndef SHARDGREP_TRANSPORT_H
#define SHARDGREP_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "msg.h"

/* How long a request to a busy worker may wait for room before it fails
 * (a stopped worker must not stop the master's threads). */
#define TRANSPORT_WAIT_MS 1000

/* The master's end. */
struct transport {
    void *impl;
    unsigned nshards;
    int (*send)(void *impl, unsigned shard, const void *msg, size_t len, int wait_ms);
    ssize_t (*recv)(void *impl, void *buf, size_t cap, int timeout_ms);
};

/* A worker's end. */
struct transport_end {
    void *impl;
    int (*send)(void *impl, const void *msg, size_t len);
    ssize_t (*recv)(void *impl, void *buf, size_t cap, int timeout_ms);
};

static inline int transport_send(const struct transport *t, unsigned shard,
                                 const struct msg_writer *w, int wait_ms)
{
    return t->send(t->impl, shard, w->data, w->len, wait_ms);
}

/* Send to every shard whose want[i] is true (NULL: every shard), each
 * waiting at most wait_ms; failed[i] is set for each shard that could not
 * be reached (failed may be NULL).  Returns how many failed. */
unsigned transport_broadcast(const struct transport *t, const struct msg_writer *w,
                             const bool *want, bool *failed, int wait_ms);

static inline ssize_t transport_recv(const struct transport *t, void *buf, size_t cap,
                                     int timeout_ms)
{
    return t->recv(t->impl, buf, cap, timeout_ms);
}

static inline int transport_end_send(const struct transport_end *e, const struct msg_writer *w)
{
    return e->send(e->impl, w->data, w->len);
}

static inline ssize_t transport_end_recv(const struct transport_end *e, void *buf, size_t cap,
                                         int timeout_ms)
{
    return e->recv(e->impl, buf, cap, timeout_ms);
}

#endif
