/*
 * worker.h - the process that holds one shard.
 *
 * A worker is forked by the master, loads its files into one corpus, says
 * HELLO, then serves requests from its queue one at a time until the queue
 * reports EOF (the master closed it or died).  While a search runs it
 * drains its queue between segments, so a CANCEL stops the search and new
 * requests wait in a local FIFO.  The worker also asks the kernel to kill
 * it if the master dies (PR_SET_PDEATHSIG), so no worker outlives it.
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

#endif
