/*
 * snapshot.h - a shard's base on disk, so that a restart does not read the
 * tree again (--index-dir DIR).
 *
 * A worker writes its base (store.h) to DIR/shard-N.snap when it has
 * loaded it, and again after each fold: the files with the identity they
 * were read from (size, device, inode, mtime), the text, the line and
 * block tables and the trigram index, in one file written to a temporary
 * name and renamed into place, in a thread (the base is never written
 * while it exists).  At the next start the worker maps it back (mmap:
 * nothing is read until searched) and the files whose identity changed
 * since, or that came or went, are applied as one batch of changes
 * (store_apply()): only they are read from disk.  The master assigns each
 * file to the shard whose snapshot holds it, so the snapshots stay usable.
 *
 * Segments.  A base is a list of segments: sealed corpora, each with its
 * own text and index, in (tree, path) order, which concatenated are the
 * shard's base.  The file holds them as they are: a shard header and a
 * table of where each segment lies, then each segment on a 4096-byte
 * boundary, holding what a whole file held in format 3 for one corpus
 * (its counts, nine sections, their checksums).  Each is mapped on its
 * own and becomes a corpus of its own, so a segment that is merged away
 * later is unmapped without the others.  An empty shard is one empty
 * segment; a file with none is refused.
 *
 * Never trusted.  The shard header says what the file is (magic, format
 * version, shard and shard count, a hash of what decides the content: the
 * trees' folders and names, --max-file-size, --no-ignore), how many
 * segments it holds (at most SNAPSHOT_MAX_SEGMENTS) and where, with a
 * checksum of itself and its table; the segments must lie where the
 * writer puts them (page-aligned, in order, apart, within the file, which
 * ends where the last ends).  Each segment is checked as a format 3 file
 * was (sizes, that every offset and count lies within its text and
 * tables, that the index's keys ascend and its offsets stay within its
 * postings, the checksums; a posting's block number is bounded where a
 * search uses it), and the files must be in (tree, path) order across
 * segments too.  Anything wrong makes the worker log why ("snapshot in
 * DIR: segment 2: the text does not match its checksum; reading the
 * tree") and load the tree instead.
 *
 * The layout is the host's (little-endian 64-bit structs, checked by the
 * header's sizes): a snapshot moves between runs, not between machines.
 * snapshot.c's top comment has it byte by byte.
 */
#ifndef SHARDGREP_SNAPSHOT_H
#define SHARDGREP_SNAPSHOT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "corpus.h"

/* The format: 2: packed posting lists, shape keys; 3: eighths; 4: the
 * base in segments; 5: bytes.h's checksum (SSE2-friendly). */
#define SNAPSHOT_VERSION 5

/* The most segments a snapshot may hold: a garbled count is refused
 * before anything is allocated for it. */
#define SNAPSHOT_MAX_SEGMENTS (1u << 16)

/* What decides a shard's content besides the files. */
uint64_t snapshot_config_hash(const char *const *roots, const char *const *names, unsigned ntrees,
                              uint64_t max_file_size, bool no_ignore);

/* The path of shard's snapshot in dir, in buf. */
void snapshot_path(const char *dir, unsigned shard, char *buf, size_t len);

/* Write segs[0..nseg) (sealed corpora with an index, in (tree, path)
 * order: the shard's base) as shard's snapshot, one segment each.  1 <=
 * nseg <= SNAPSHOT_MAX_SEGMENTS; an empty shard is one empty corpus.  0,
 * or -1 with err filled.  stop (may be NULL) is read as it goes: once
 * true, the write ends, leaving no file (the worker is exiting). */
int snapshot_write(const char *dir, unsigned shard, unsigned nshards, uint64_t config,
                   struct corpus *const *segs, size_t nseg, const atomic_bool *stop, char *err,
                   size_t errlen);

/* Remove what a write cut short (a worker killed while writing) left of
 * shard's temporary files in dir. */
void snapshot_clean(const char *dir, unsigned shard);

/* Map shard's snapshot and check it.  On success *segs is an xmalloc'd
 * array of *nseg (>= 1) xcalloc'd sealed corpora, the segments in order,
 * each over its own mapping of its part of the file: corpus_free() then
 * free() each (freeing one unmaps only its part), free() the array.
 * Files' ids are their indexes counted across the segments in order (0,
 * 1, ... over segment 0, then on over segment 1, ...); the caller
 * renumbers them.  -1 with why filled (a missing file, or what is wrong
 * with it, naming the segment), nothing left mapped or allocated. */
int snapshot_open(const char *dir, unsigned shard, unsigned nshards, uint64_t config,
                  struct corpus ***segs, size_t *nseg, char *why, size_t whylen);

/* For the master: call fn with each file (tree, path) that shard's
 * snapshot holds, segment after segment, without reading its text.  -1
 * (and no call) when the snapshot is missing or its header, segment
 * table, or a segment's header or file table is wrong. */
int snapshot_files(const char *dir, unsigned shard, unsigned nshards, uint64_t config,
                   void (*fn)(void *ctx, uint32_t tree, const char *path), void *ctx);

#endif
