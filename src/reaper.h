/*
 * reaper.h - deadlines for whole requests on a server's connections.
 *
 * An idle timeout only measures silence: a client that sends a byte a
 * second is never idle, and held its connection forever (a few addresses
 * filled every slot).  So each connection's current request has a phase,
 * set by the server as it goes, and a deadline for it:
 *
 *   REAPER_HEAD   reading a head: complete head_ms after its first byte;
 *   REAPER_BODY   reading a body: complete body_ms after the head;
 *   REAPER_ANSWER the handler runs (it may wait for a query) and the
 *                 answer is sent: no deadline here.
 *
 * A head's clock starts at its first byte, not when the connection became
 * ready for it, so a kept-alive connection may stay silent for the whole
 * idle timeout: the kernel's count of bytes received on the socket
 * (TCP_INFO) says when the next request has begun.  Where it cannot say,
 * the clock starts when the phase does.
 *
 * A thread wakes twice a second and shuts (shutdown(), never close()) the
 * sockets of connections past their deadline; the server's own thread
 * for that connection then sees EOF and ends it the usual way.  The
 * server must remove a connection (reaper_remove()) before it closes the
 * descriptor, so that a listed connection always names an open socket of
 * its own.  Every function is safe from any thread.
 */
#ifndef SHARDGREP_REAPER_H
#define SHARDGREP_REAPER_H

enum reaper_phase { REAPER_HEAD, REAPER_BODY, REAPER_ANSWER };

struct reaper;
struct reaper_conn;

/* NULL if its thread cannot be started. */
struct reaper *reaper_start(unsigned head_ms, unsigned body_ms);
/* Stop the thread and free what is left. */
void reaper_free(struct reaper *r); /* accepts NULL */

/* A connection on TCP socket fd, waiting for its first head. */
struct reaper_conn *reaper_add(struct reaper *r, int fd);
/* Its request enters phase p (REAPER_HEAD: the next request). */
void reaper_set_phase(struct reaper *r, struct reaper_conn *k,
                      enum reaper_phase p); /* accepts NULL k */
/* Forget it; before its descriptor is closed. */
void reaper_remove(struct reaper *r, struct reaper_conn *k); /* accepts NULL k */

#endif
