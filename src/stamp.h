/*
 * stamp.h - what a file on disk was when it was looked at: its size,
 * device, inode and modification time.
 *
 * The walk and the watcher take a file's stamp, the master's file table
 * keeps it, FILES and CHANGES carry it to the worker that reads the file,
 * and the corpus and its snapshot keep it with the text.  An unchanged
 * stamp is taken to mean an unchanged file (as make and git do: a write
 * that keeps the size and the mtime to the nanosecond, on the same inode,
 * is not seen), so a rescan or a restart from a snapshot reads only the
 * files whose stamp moved.
 */
#ifndef SHARDGREP_STAMP_H
#define SHARDGREP_STAMP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

struct file_stamp {
    uint64_t size, dev, ino;
    int64_t mtime_ns;
};

static inline struct file_stamp stamp_of(const struct stat *st)
{
    return (struct file_stamp){.size = (uint64_t)st->st_size,
                               .dev = (uint64_t)st->st_dev,
                               .ino = (uint64_t)st->st_ino,
                               .mtime_ns =
                                   (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec};
}

static inline bool stamp_same(const struct file_stamp *a, const struct file_stamp *b)
{
    return a->size == b->size && a->dev == b->dev && a->ino == b->ino && a->mtime_ns == b->mtime_ns;
}

#endif
