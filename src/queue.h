/*
 * queue.h - the local transport (transport.h) between the master and its
 * forked workers, and the descriptors behind it.
 *
 * Two directions: one request queue per shard (master -> worker i) and one
 * shared result queue (every worker -> master).  Callers see whole
 * messages of at most MSG_MAX bytes; how they travel is this module's
 * business.  The local implementation uses Unix-domain SOCK_SEQPACKET
 * sockets, which keep message boundaries and make each send atomic, so
 * messages from different workers on the shared result socket never
 * interleave.  A transport between machines would implement the same
 * functions.
 *
 * Descriptor ownership: queue_new() creates every socket in the master.
 * After fork(), the worker calls queue_enter_worker(), which closes every
 * descriptor but its own request end and the shared result end; the master
 * calls queue_close_worker_end() for that shard.  So a worker sees EOF on
 * its request queue when the master dies, and the master sees EPIPE when
 * it writes to a dead worker.  The master keeps a write end of the result
 * queue so it can hand it to a restarted worker.
 */
#ifndef SHARDGREP_QUEUE_H
#define SHARDGREP_QUEUE_H

#include <stddef.h>
#include <sys/types.h>

#include "transport.h"

struct queue;

struct queue *queue_new(unsigned nshards, char *err, size_t errlen);
void queue_free(struct queue *q); /* accepts NULL */
unsigned queue_shards(const struct queue *q);

/* The two ends as transport.h's interface: the master's over q, and, in a
 * worker, its own end. */
void queue_transport(struct queue *q, struct transport *t);
void queue_transport_end(struct queue *q, struct transport_end *e);

/* Master side.  Send one message to shard, waiting up to wait_ms (-1:
 * forever, 0: not at all) while its request socket is full.  0, or -1 if
 * the worker is gone or there is still no room (nothing was sent). */
int queue_send(struct queue *q, unsigned shard, const void *msg, size_t len, int wait_ms);
/* Receive one message from any worker into buf (cap >= MSG_MAX).  Waits at
 * most timeout_ms (-1: forever).  Returns its length, 0 on timeout, -1 on
 * error. */
ssize_t queue_recv(struct queue *q, void *buf, size_t cap, int timeout_ms);
/* After forking shard's worker: drop the master's copy of its end. */
void queue_close_worker_end(struct queue *q, unsigned shard);
/* Replace shard's request channel with a fresh one (before restarting its
 * worker); -1 on failure.  The master's end keeps its descriptor number
 * (the new socket is dup2()ed onto it), so a thread sending meanwhile
 * reaches the old worker or the new one, never an unrelated file. */
int queue_reset_shard(struct queue *q, unsigned shard, char *err, size_t errlen);
/* Close every request channel: workers see EOF and exit. */
void queue_close_requests(struct queue *q);
/* The two descriptors a worker process for shard needs (its request end
 * and the shared result end), for a worker started by exec. */
void queue_worker_fds(const struct queue *q, unsigned shard, int *req_fd, int *res_fd);

/* Worker side, in the child after fork(). */
void queue_enter_worker(struct queue *q, unsigned shard);
/* Worker side after exec: a queue over the inherited descriptors. */
struct queue *queue_attach(int req_fd, int res_fd, unsigned shard);
int queue_worker_send(struct queue *q, const void *msg, size_t len);
/* Like queue_recv() on this worker's request queue; -1 also on EOF (the
 * master is gone). */
ssize_t queue_worker_recv(struct queue *q, void *buf, size_t cap, int timeout_ms);

#endif
