/*
 * snapshot.h - a shard's base on disk, so that a restart does not read the
 * tree again (--index-dir DIR).
 *
 * A worker writes its base corpus (store.h) to DIR/shard-N.snap when it
 * has loaded it, and again after each fold: the files with the identity
 * they were read from (size, device, inode, mtime), the text, the line
 * and block tables and the trigram index, in one file written to a
 * temporary name and renamed into place, in a thread (the base is never
 * written while it exists).  At the next start the worker maps it back
 * (mmap: nothing is read until searched) and the files whose identity
 * changed since, or that came or went, are applied as one batch of changes
 * (store_apply()): only they are read from disk.  The master assigns each
 * file to the shard whose snapshot holds it, so the snapshots stay usable.
 *
 * Never trusted.  A header says what the file is (magic, format version,
 * shard and shard count, a hash of what decides the content: the trees'
 * folders and names, --max-file-size, --no-ignore) and where each section
 * lies, with a checksum of each.  Opening checks all of it (sizes, that
 * every offset and count lies within the text and tables, that the index's
 * keys ascend and its offsets stay within its postings, the checksums; a
 * posting's block number is bounded where a search uses it); anything
 * wrong makes the worker log why ("snapshot shard-0.snap: checksum of the
 * text does not match: rebuilding") and load the tree instead.
 *
 * The layout is the host's (little-endian 64-bit structs, checked by the
 * header's sizes): a snapshot moves between runs, not between machines.
 */
#ifndef SHARDGREP_SNAPSHOT_H
#define SHARDGREP_SNAPSHOT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "corpus.h"

#define SNAPSHOT_VERSION 3 /* 2: packed posting lists, shape keys; 3: eighths */

/* What decides a shard's content besides the files. */
uint64_t snapshot_config_hash(const char *const *roots, const char *const *names, unsigned ntrees,
                              uint64_t max_file_size, bool no_ignore);

/* The path of shard's snapshot in dir, in buf. */
void snapshot_path(const char *dir, unsigned shard, char *buf, size_t len);

/* Write c (a sealed corpus with an index) as shard's snapshot.  0, or -1
 * with err filled.  stop (may be NULL) is read as it goes: once true, the
 * write ends, leaving no file (the worker is exiting). */
int snapshot_write(const char *dir, unsigned shard, unsigned nshards, uint64_t config,
                   const struct corpus *c, const atomic_bool *stop, char *err, size_t errlen);

/* Remove what a write cut short (a worker killed while writing) left of
 * shard's temporary files in dir. */
void snapshot_clean(const char *dir, unsigned shard);

/* Map shard's snapshot and check it; on success *c is a sealed corpus
 * over the mapping (corpus_free() unmaps it) whose files' ids are their
 * indexes in the snapshot (the caller renumbers them).  -1 with why filled
 * (a missing file, or what is wrong with it). */
int snapshot_open(const char *dir, unsigned shard, unsigned nshards, uint64_t config,
                  struct corpus *c, char *why, size_t whylen);

/* For the master: call fn with each file (tree, path) that shard's
 * snapshot holds, without reading its text.  -1 (and no call) when the
 * snapshot is missing or its header or file table is wrong. */
int snapshot_files(const char *dir, unsigned shard, unsigned nshards, uint64_t config,
                   void (*fn)(void *ctx, uint32_t tree, const char *path), void *ctx);

#endif
