/*
 * fsopen.h - opening a file of the tree beneath its root, never through a
 * symbolic link.
 *
 * The walk vets every path (regular files, no links followed), but the
 * tree can change after it: a folder replaced by a link to /etc, and a
 * worker restarted later (a crash, the OOM killer) would read whatever the
 * link points to and serve it.  So every open of a file of the tree goes
 * through here: the path must stay beneath the root, and no component,
 * folder or file, may be a link.  With Linux's openat2() that is one call
 * (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, and no magic links); where the
 * kernel lacks it (before 5.6, or a sandbox that filters it) the path is
 * walked a component at a time, each folder opened with O_NOFOLLOW |
 * O_DIRECTORY from the one before.  Either way a link anywhere fails with
 * ELOOP (or ENOTDIR).
 *
 * The caller then checks, with fstat(), that what it opened is still the
 * file the walk saw (device and inode: fs_same_file()), so a file replaced
 * since is not taken for the one vetted.
 */
#ifndef SHARDGREP_FSOPEN_H
#define SHARDGREP_FSOPEN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

/* Open rel (relative, '/'-separated, no "." or ".." component, no empty
 * one) beneath the folder root_fd with flags (O_RDONLY and the like;
 * O_NOFOLLOW and O_CLOEXEC are added).  Returns a descriptor, or -errno:
 * EINVAL for a path of the wrong shape, ELOOP or ENOTDIR for a link on
 * the way, ENAMETOOLONG, and what open() says. */
int fs_open_beneath(int root_fd, const char *rel, int flags);

/* The same by the component walk alone (what fs_open_beneath() falls back
 * to; for tests). */
int fs_open_beneath_walk(int root_fd, const char *rel, int flags);

/* What the walk saw is what fstat() says now (a dev and ino of 0 mean
 * "not recorded": any file passes). */
static inline bool fs_same_file(const struct stat *st, uint64_t dev, uint64_t ino)
{
    return (dev == 0 && ino == 0) || ((uint64_t)st->st_dev == dev && (uint64_t)st->st_ino == ino);
}

#endif
