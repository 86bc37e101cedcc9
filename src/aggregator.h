/*
 * aggregator.h - the master's one reader of the shared result queue.
 *
 * A single thread receives every worker message and files it in the
 * registry; having one reader keeps the queue's order per worker, and the
 * registry's lock is the only synchronisation needed.  Between messages
 * (at least every AGGREGATOR_TICK_MS) it lets the registry end overdue
 * queries and drop expired ones.
 */
#ifndef SHARDGREP_AGGREGATOR_H
#define SHARDGREP_AGGREGATOR_H

#include "queue.h"
#include "registry.h"

#define AGGREGATOR_TICK_MS 100

struct aggregator;

struct aggregator *aggregator_start(struct queue *q, struct registry *r);
/* Stop the thread and free it; accepts NULL. */
void aggregator_stop(struct aggregator *a);

#endif
