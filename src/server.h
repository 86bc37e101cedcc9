/*
 * server.h - the master process from start to exit.
 *
 * Order matters, and is the point of this module:
 *   0. bind the listening socket, so that a port in use or an address
 *      that does not resolve fails now, not after the load (the workers
 *      forked later close it: the port is the master's alone);
 *   1. walk the root and assign files to shards (one thread: this one);
 *   2. block SIGINT, SIGTERM and SIGCHLD, so that only the main thread
 *      takes them, with sigwaitinfo(), and every later thread inherits
 *      the mask;
 *   3. fork one worker per shard -- before any thread exists, because a
 *      child of a threaded process may inherit locks held by threads that
 *      do not exist in it;
 *   4. wait for every worker's HELLO, logging what each loaded;
 *   5. start the aggregator thread and the HTTP daemon on that socket, print
 *      "listening on http://HOST:PORT";
 *   6. wait for signals: SIGCHLD marks a dead worker's shard down (its
 *      queries end partial); SIGINT/SIGTERM shut down: refuse new queries,
 *      end the running ones, stop HTTP, close the request queues (workers
 *      exit on EOF), reap every worker, exit 0.
 */
#ifndef SHARDGREP_SERVER_H
#define SHARDGREP_SERVER_H

#include "options.h"

/* Run the server; returns the process exit status. */
int server_run(const struct options *o);

#endif
