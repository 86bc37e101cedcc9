/*
 * worker.h - the process that holds one shard.
 *
 * A worker is forked by the master, loads its files into one corpus, says
 * HELLO, then serves requests from its queue one at a time until the queue
 * reports EOF (the master closed it or died).  While a search runs it
 * drains its queue between segments, so a CANCEL stops the search and new
 * requests wait in a local FIFO.  The worker also asks the kernel to kill
 * it if the master dies (PR_SET_PDEATHSIG), so no worker outlives it.
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
#include "walk.h"

/* Longest line sent in a file view: one line must fit in one message. */
#define WORKER_FILE_LINE_MAX (MSG_MAX - 1024)

struct worker_config {
    const char *root;
    uint64_t max_file_size;
    pid_t master_pid;
};

/* Run worker `shard` in the current (freshly forked) process; never
 * returns. */
void worker_main(struct queue *q, unsigned shard, const struct file_list *files,
                 const struct worker_config *cfg) __attribute__((noreturn));

/* argv[1] of an exec'd worker: "shardgrep --internal-worker SHARD ROOT
 * MAX_FILE_SIZE MASTER_PID", request queue on WORKER_REQ_FD, result queue
 * on WORKER_RES_FD. */
#define WORKER_EXEC_ARG "--internal-worker"
#define WORKER_REQ_FD   3
#define WORKER_RES_FD   4
int worker_exec_main(int argc, char **argv);

/* Master side: send shard's part of the file list to an exec'd worker. */
int worker_send_files(struct queue *q, unsigned shard, const struct file_list *files);

#endif
