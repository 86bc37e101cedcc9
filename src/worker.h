/*
 * worker.h - the process that holds one shard.
 *
 * A worker is forked by the master, loads its files into one corpus, says
 * HELLO, then serves requests from its end of the transport until that
 * reports EOF (the master closed it or died).  The worker also asks the
 * kernel to kill it if the master dies (PR_SET_PDEATHSIG), so no worker
 * outlives it.
 *
 * The scheduler (worker_serve()).  Searches are resumable (search.h): a
 * step scans one segment of a few milliseconds.  The worker keeps a list
 * of active searches and runs one step of each in turn (round robin);
 * between two steps it takes every request that has arrived, without
 * waiting: a QUERY joins the list, a CANCEL stops its search at its next
 * step (or is remembered, when it overtook its query), a FILE view is
 * answered at once (it is quick, and the page waits for it), a PING gets
 * its PONG, and a CHANGES batch is queued.  Batches are applied in steps
 * too, sharing the time with the searches: a step applies changes as one
 * version of the store (store.h) for APPLY_STEP_MS, and comes when no
 * search is active (then it ends early, after the file during which a
 * request came: the request is kept and taken after it) or once the
 * searches have run a search step's time (SEARCH_STEP_NS) since the last
 * one (then it runs its time), so a burst of thousands of files neither stalls the queries nor
 * leaves the queue unread (the watcher keeps a few batches in flight);
 * searches running keep the version they started with, the next ones see
 * the changes so far.  A batch is acknowledged (APPLIED) when all of it is
 * in.  Folds (store.h) are copied out in steps and built in a thread, and
 * swapped in, and the delta's chunks tidied, when no search is active.  A step that
 * holds the worker 250 ms or more is logged.  So a quick query is not
 * stuck behind a slow one: with k searches active, each gets a step in k,
 * and one that needs few steps ends first (check_worker.c shows it).  With
 * nothing to do the worker blocks on its transport.
 *
 * Workers start in one of two ways.  At start-up the master forks them
 * before it has any thread, and they inherit the file list.  A worker
 * that replaces a dead one is started later, when the master has threads:
 * forking a threaded process and going on in the child is unsafe, so the
 * child only moves two descriptors into place and execs the program again
 * with WORKER_EXEC_ARG; the new image receives its files in FILES
 * messages on its request queue (worker_send_files()).
 */
#ifndef SHARDGREP_WORKER_H
#define SHARDGREP_WORKER_H

#include <stdint.h>
#include <sys/types.h>

#include "msg.h"
#include "queue.h"
#include "store.h"
#include "transport.h"
#include "walk.h"

/* Longest line sent in a file view: one line must fit in one message. */
#define WORKER_FILE_LINE_MAX (MSG_MAX - 1024)

struct worker_config {
    const char *const *roots; /* one folder per tree */
    unsigned ntrees;
    uint64_t max_file_size;
    uint64_t segment_bytes; /* --segment-size (store.h) */
    pid_t master_pid;
    /* --index-dir: where the shard's snapshot is kept (snapshot.h); NULL:
     * none.  config: what the snapshot must have been made for. */
    const char *index_dir;
    unsigned nshards;
    uint64_t config;
};

/* The scheduler: serve requests from end over the shard's store until end
 * reports EOF or a send fails (the master is gone); then return.  Batches
 * not yet applied then are dropped (the master is gone or stopping). */
void worker_serve(const struct transport_end *end, unsigned shard, struct store *st);

/* Run worker `shard` in the current (freshly forked) process; never
 * returns.  files NULL: the master sends the list (worker_send_files())
 * once it has made it. */
void worker_main(struct queue *q, unsigned shard, const struct file_list *files,
                 const struct worker_config *cfg) __attribute__((noreturn));

/* argv[1] of an exec'd worker: "shardgrep --internal-worker SHARD
 * MAX_FILE_SIZE SEGMENT_SIZE MASTER_PID NSHARDS INDEX_DIR CONFIG ROOT..." (INDEX_DIR
 * "-" for none), request queue on WORKER_REQ_FD, result queue on
 * WORKER_RES_FD. */
#define WORKER_EXEC_ARG "--internal-worker"
#define WORKER_REQ_FD   3
#define WORKER_RES_FD   4
int worker_exec_main(int argc, char **argv);

/* Master side: send shard's part of the file list to an exec'd worker,
 * waiting up to wait_ms for room on each message (it reads them at once;
 * under valgrind, slowly). */
#define WORKER_FILES_WAIT_MS 30000
int worker_send_files(struct queue *q, unsigned shard, const struct file_list *files, int wait_ms);

#endif
