/*
 * walk.h - the one walk of the root at start-up.
 *
 * The master walks the tree once and produces the sorted list of files to
 * index.  Rules (DESIGN.md, "What gets indexed"): regular files only,
 * symbolic links are never followed, VCS folders (.git, .hg, .svn) are
 * skipped, files over max_file_size are skipped, and .gitignore / .ignore
 * files are honoured unless no_ignore is set.  Binary files (a NUL byte)
 * are detected later, by the worker that reads the file, so each file is
 * read only once.
 */
#ifndef SHARDGREP_WALK_H
#define SHARDGREP_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stamp.h"

struct file_entry {
    char *path; /* relative to the root, '/'-separated */
    uint32_t shard;
    uint32_t tree; /* index of its tree (0 when one is served) */
    /* The file the walk saw (lstat): a reader opens the path beneath the
     * root and checks it is still this one (fsopen.h). */
    struct file_stamp stamp;
};

struct file_list {
    struct file_entry *v;
    size_t n, cap;
    /* What the walk left out. */
    size_t ignored, too_large, special, unreadable_dirs;
    size_t too_long; /* paths of PATH_MAX bytes or more: cannot be opened */
    uint64_t bytes;  /* sum of sizes */
    /* Indexes of the paths that are not valid UTF-8 (the API shows them
     * with U+FFFD for each bad byte), in path order. */
    size_t *not_utf8;
    size_t nnot_utf8;
};

struct walk_options {
    uint64_t max_file_size;
    bool no_ignore;
};

/* Walk root; fills *out (sorted by path, byte order).  Fails only if root
 * itself cannot be opened; unreadable folders below are counted and logged. */
int walk_tree(const char *root, const struct walk_options *opt, struct file_list *out, char *err,
              size_t errlen);
void file_list_free(struct file_list *l);

/* For the watcher (watch.h), which walks again what changed. */
struct walk_hooks {
    /* Each folder entered; false ends the walk there (the server is
     * stopping: a deep tree's walk is not waited for). */
    bool (*dir)(void *ctx, const char *rel);
    void *ctx;
};
/* Walk the folder dir ("": the root) of the tree open as root_fd, with
 * the ignore rules of the folders above it as a walk from the root would
 * have them; out gets its files (unsorted).  Nothing when dir is itself
 * left out.  False when a hook ended the walk early: out is then part of
 * the files only. */
bool walk_subtree(int root_fd, const char *dir, const struct walk_options *opt,
                  const struct walk_hooks *hooks, struct file_list *out);
/* Whether a walk would leave rel out: ignored, a VCS folder, or beneath
 * one of those. */
bool walk_ignored(int root_fd, const char *rel, bool is_dir, const struct walk_options *opt);

/* Binary search for an exact relative path; returns the index or -1. */
long file_list_find(const struct file_list *l, const char *path);

/* A path as the API shows it: the exact path, or else the first path that
 * is not valid UTF-8 and reads as the given one once each bad byte is
 * U+FFFD (several such paths can read the same: the first in path order
 * wins).  Returns the index or -1. */
long file_list_find_shown(const struct file_list *l, const char *path);

#endif
