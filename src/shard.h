/*
 * shard.h - which worker holds which file.
 *
 * Files are taken in path order and each goes to the shard holding the
 * fewest bytes so far (ties: the fewest files, so empty files spread too;
 * then the lowest index).  The assignment depends only on the file list,
 * so a restarted worker gets the same files, and shards differ in size by
 * at most the largest file.
 */
#ifndef SHARDGREP_SHARD_H
#define SHARDGREP_SHARD_H

#include "walk.h"

/* Set l->v[i].shard for every file; nshards >= 1. */
void shard_assign(struct file_list *l, unsigned nshards);
/* The same, but a file for which prefer() names a shard goes there (a
 * shard whose snapshot holds it: snapshot.h); the others as above. */
void shard_assign_prefer(struct file_list *l, unsigned nshards,
                         long (*prefer)(void *ctx, const struct file_entry *e), void *ctx);

/* Number of files and bytes assigned to one shard. */
void shard_totals(const struct file_list *l, unsigned shard, size_t *files, uint64_t *bytes);

#endif
