/*
 * ftable.h - the master's table of files: the truth about what is indexed.
 *
 * Every file the server has indexed has an entry, and its id is the
 * entry's index: the walk's files first (ids in path order), then each
 * file seen later, in the order seen.  Ids are never reused while the
 * server runs, and an entry's tree and path never change: a file that goes
 * away is marked gone, and comes back under the same id if its path
 * returns.  So a query's results, which name files by id, stay readable
 * whatever happens to the files after (their text is the query's own).
 *
 * Readers and one writer.  HTTP threads read paths (render, ordering) and
 * look files up (file views); the watcher (watch.h) adds and changes
 * entries.  Entries live in chunks that never move, and the count of
 * entries is published after an entry is complete, so reading an id's
 * tree and path takes no lock.  The mutable fields (shard, size, identity,
 * state) and the path index are under a mutex.
 *
 * Order: results are ordered by (tree, path), bytewise, which ftable_cmp()
 * gives for two ids.
 */
#ifndef SHARDGREP_FTABLE_H
#define SHARDGREP_FTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "walk.h"

enum fentry_state {
    FT_LIVE, /* indexed: a worker holds it */
    FT_GONE, /* deleted, moved away, ignored, too large, not regular */
};

/* A copy of an entry's fields. */
struct fentry {
    const char *path; /* the table's; lives as long as the table */
    uint32_t tree, shard;
    struct file_stamp stamp;
    enum fentry_state state;
};

struct ftable;

/* A table of the walked files (ids = their indexes in l), assigned to
 * shards as l says, in trees named names[0..ntrees).  The paths and names
 * are copied. */
struct ftable *ftable_new(const struct file_list *l, unsigned nshards, const char *const *names,
                          unsigned ntrees);
void ftable_free(struct ftable *t); /* accepts NULL */

/* How many ids exist (0 .. n-1).  Lock-free. */
size_t ftable_count(const struct ftable *t);
/* An id's path and tree; "" and 0 for an id that does not exist.
 * Lock-free. */
const char *ftable_path(const struct ftable *t, uint32_t id);
uint32_t ftable_tree(const struct ftable *t, uint32_t id);
/* The trees: how many, and their names. */
unsigned ftable_ntrees(const struct ftable *t);
const char *ftable_tree_name(const struct ftable *t, uint32_t tree);
/* The index of a tree by name; -1 if none. */
long ftable_tree_find(const struct ftable *t, const char *name, size_t len);

/* (tree, path) order of two ids. */
int ftable_cmp(const struct ftable *t, uint32_t a, uint32_t b);

/* An entry's fields now; false for an id that does not exist. */
bool ftable_get(struct ftable *t, uint32_t id, struct fentry *out);
/* The id of a live file by its tree and path as the API shows it (the
 * exact path, or one that reads so once its invalid UTF-8 bytes are
 * U+FFFD: the first such in path order); -1 if none. */
long ftable_find_shown(struct ftable *t, uint32_t tree, const char *path);
/* The id of a path, live or gone; -1 if never seen. */
long ftable_find(struct ftable *t, uint32_t tree, const char *path);

/* What the watcher (or a rescan) saw of a path: a regular file to index
 * (its size and identity), or nothing to index there.  Returns the file's
 * id and whether anything changed (*what: FT_CHANGE_*).  A new path gets a
 * new id and the shard with the fewest bytes. */
enum ftable_change { FT_CHANGE_NONE, FT_CHANGE_LOAD, FT_CHANGE_REMOVE };
struct ftable_seen {
    uint32_t tree;
    const char *path;
    struct file_stamp stamp;
};
enum ftable_change ftable_saw_file(struct ftable *t, const struct ftable_seen *seen, uint32_t *id);
enum ftable_change ftable_saw_nothing(struct ftable *t, uint32_t tree, const char *path,
                                      uint32_t *id);
/* Every live file whose path is prefix or beneath the folder prefix ("":
 * the whole tree), for a folder that went away or was rescanned: fn is
 * called with each id (the table's lock is not held). */
void ftable_live_under(struct ftable *t, uint32_t tree, const char *prefix,
                       void (*fn)(void *ctx, uint32_t id), void *ctx);

/* Live files of one shard, for a restarted worker: a file list indexed by
 * id (entries of other shards, and gone ones, have no path). */
void ftable_shard_list(struct ftable *t, unsigned shard, struct file_list *out);

/* Live files and bytes (by the sizes seen), in all and per shard. */
void ftable_totals(struct ftable *t, size_t *files, uint64_t *bytes);

#endif
