/*
 * loadbar.h - a progress bar on stderr while the workers load, when
 * stderr is a terminal (a big tree takes seconds).  Workers report with
 * PROGRESS messages; the master draws one line, redrawn in place at most
 * ten times a second, and ends it when every shard is loaded.  When
 * stderr is not a terminal nothing is drawn: the per-worker log lines say
 * what was loaded.
 */
#ifndef SHARDGREP_LOADBAR_H
#define SHARDGREP_LOADBAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "walk.h"

struct loadbar;

/* Totals per shard come from the file list; draw only if tty. */
struct loadbar *loadbar_new(const struct file_list *files, unsigned nshards, bool tty);
void loadbar_update(struct loadbar *b, unsigned shard, size_t files, uint64_t bytes);
/* A shard finished; the line is ended once all are. */
void loadbar_done(struct loadbar *b, unsigned shard);
void loadbar_free(struct loadbar *b); /* accepts NULL */

#endif
