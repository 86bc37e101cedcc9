/*
 * corpus.h - one worker's shard in memory.
 *
 * All the shard's text lives in one contiguous arena, file after file in
 * path order, and every line ends with '\n' (one is added after a last
 * line that has none), so the arena can be scanned as one buffer and a hit
 * maps back to (file, line) by two binary searches.  Beside it, one table
 * of line starts (u32, relative to the start of their file, so files may
 * be placed anywhere in a large arena) and one table of files: no
 * allocation per line.
 *
 * Text is normalised while loading: invalid UTF-8 bytes become U+FFFD and
 * a CR before LF is dropped (see utf8.h for why).  Files holding a NUL byte
 * are binary and are not stored.
 */
#ifndef SHARDGREP_CORPUS_H
#define SHARDGREP_CORPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tindex.h"
#include "walk.h"

struct corpus_file {
    uint32_t id;   /* the master's file id */
    uint32_t tree; /* index of its tree */
    uint32_t nlines;
    uint32_t first_block; /* index of its first block */
    uint64_t off;         /* arena offset of the file's first byte */
    uint64_t len;         /* bytes in the arena, final '\n' included */
    uint64_t first_line;  /* index of its first line in line_off */
    const char *path;
    /* The file on disk its text was read from: a snapshot (snapshot.h)
     * keeps it, to tell at the next start whether the file changed. */
    struct file_stamp stamp;
    /* Holds U+212A KELVIN SIGN or U+017F LONG S, which a caseless search
     * matches for k and s: such a file is always scanned with the regex
     * (see qplan.h). */
    bool wide_fold;
    uint16_t lang; /* language id, from the path (lang.h) */
};

/* A block: a file, or a piece of a big one cut at a line end.  Blocks are
 * the units of the trigram index, so that one huge generated header does
 * not make a whole file a candidate for every query. */
#define CORPUS_BLOCK_MAX (16u * 1024)
_Static_assert(CORPUS_BLOCK_MAX < 65536, "an eighth's start fits corpus_block.eighth");

struct corpus_block {
    uint64_t off, len; /* arena bytes, whole lines */
    uint32_t file;     /* index in files */
    /* Where eighths 1..7 of the block start, from off
     * (tindex_eighth_start()); 0 when no line starts in that eighth or
     * after it: the eighth is then empty (corpus_eighth_start()).  Kept
     * so that a query scanning some eighths does not read the text at
     * both ends of each to find them. */
    uint16_t eighth[TINDEX_EIGHTHS - 1];
    uint16_t pad; /* 0: blocks are written to snapshots as they are */
};

/* Where eighth e of block b starts, from its off (b->len past the last);
 * within the block whatever the table says. */
static inline uint64_t corpus_eighth_start(const struct corpus_block *b, unsigned e)
{
    if (e == 0)
        return 0;
    if (e >= TINDEX_EIGHTHS || !b->eighth[e - 1] || b->eighth[e - 1] > b->len)
        return b->len;
    return b->eighth[e - 1];
}

/* Zeroed bytes kept after the text: PCRE2's JIT may read a little past the
 * end of its subject, and it should find defined bytes there. */
#define CORPUS_PAD 64

struct corpus {
    /* A corpus mapped from a snapshot (snapshot.h): buf, line_off and
     * blocks point into the mapping, which corpus_free() unmaps.  It is
     * never added to. */
    void *map;
    size_t map_len;
    char *buf;
    uint64_t len, cap;
    uint32_t *line_off;
    uint64_t nlines, lines_cap;
    struct corpus_file *files;
    size_t nfiles, files_cap;
    struct corpus_block *blocks; /* in arena order; numbered as in the index */
    size_t nblocks, blocks_cap;
    uint64_t raw_bytes;   /* bytes read from disk */
    struct tindex *index; /* trigram index, when enabled */
    uint32_t binary, unreadable, too_large, repaired;
    uint32_t changed;   /* replaced since the walk saw them: skipped */
    uint32_t wide_fold; /* files with wide_fold set */
    bool lasting;       /* a base (corpus_enable_index()): its arrays
                         * prefer huge pages (prefer_huge_pages()) */
};

/* CORPUS_NOMEM: no memory for the file's text or line table; the corpus
 * is as it was before the call. */
enum corpus_add_result { CORPUS_ADDED, CORPUS_BINARY, CORPUS_NOMEM };

void corpus_init(struct corpus *c);
void corpus_free(struct corpus *c);

/* Append one file's contents.  Files must be added in increasing id order.
 * The path is not copied: it must outlive the corpus. */
enum corpus_add_result corpus_add(struct corpus *c, uint32_t id, const char *path, const char *data,
                                  size_t len);

/* Build a trigram index of the files added from now on (tindex.h). */
void corpus_enable_index(struct corpus *c);
/* The same, growing as files are added: ready at every moment (for a
 * corpus that changes; tindex.h, live mode).  No corpus_seal() needed. */
void corpus_enable_live_index(struct corpus *c);
/* Make room for about bytes more of text, and its lines, so that the
 * arena is not moved (copied into fresh pages) while it fills; only what
 * is written is backed by memory.  If the room cannot be had, the arrays
 * grow as files come, as without it. */
void corpus_reserve(struct corpus *c, uint64_t bytes);
/* No more files for a while (a delta chunk closed, store.h): a live
 * index gives back its room to grow (tindex_live_trim()). */
void corpus_trim(struct corpus *c);
/* No more files: finish the index. */
void corpus_seal(struct corpus *c);

/* Read every file of the list assigned to shard, in (tree, path) order
 * (ids are the list's indexes, in whatever order), into segments of about
 * segment_bytes of text each (store.h), each indexed and sealed; *segs
 * gets the array (of at least one corpus, maybe empty), and the count is
 * returned.  Each file is opened beneath root_fd without following a
 * link, and must be the file the walk saw (fsopen.h).  Problems with
 * single files are counted and logged; the rest still loads. */
struct corpus_progress {
    /* Called every few files with the files and bytes read so far. */
    void (*fn)(void *ctx, size_t files, uint64_t bytes);
    void *ctx;
};
size_t corpus_load(struct corpus ***segs, const struct file_list *l, unsigned shard,
                   const int *root_fds, uint64_t max_file_size, uint64_t segment_bytes,
                   const struct corpus_progress *progress);

/* The shard's entries of l, as indexes, in (tree, path) order: the order
 * the arena must have (store.h), whatever order the ids are in.  The
 * caller frees *out. */
size_t corpus_shard_order(const struct file_list *l, unsigned shard, size_t **out);

/* Read one file (beneath root_fd, checked against e's dev and ino) and
 * add it as file id, in e's tree; what went wrong is counted in c and
 * logged.  rd is a read buffer kept between calls (free rd->buf after). */
struct corpus_reader {
    char *buf;
    size_t cap;
};
enum corpus_read_result {
    CORPUS_READ_ADDED,
    CORPUS_READ_BINARY,
    CORPUS_READ_TOO_LARGE,
    CORPUS_READ_CHANGED,
    CORPUS_READ_UNREADABLE,
};
enum corpus_read_result corpus_read_add(struct corpus *c, int root_fd, const struct file_entry *e,
                                        uint32_t id, uint64_t max_file_size,
                                        struct corpus_reader *rd);

/* Index of the file holding arena offset off (off < c->len). */
size_t corpus_file_at(const struct corpus *c, uint64_t off);
/* Index of the file with this id, or -1 if it is not in this shard. */
long corpus_find_file(const struct corpus *c, uint32_t id);
/* 0-based line number within file f of arena offset off. */
uint32_t corpus_line_at(const struct corpus *c, const struct corpus_file *f, uint64_t off);
/* The same, knowing it is line from or a later one (line from starts at
 * or before off): steps forward from there, for lines met in order. */
uint32_t corpus_line_after(const struct corpus *c, const struct corpus_file *f, uint64_t off,
                           uint32_t from);
/* Line n (0-based) of file f, without its '\n'. */
void corpus_line(const struct corpus *c, const struct corpus_file *f, uint32_t n, const char **s,
                 size_t *len);
/* Arena offset where line n (0-based) of file f starts; n may be f->nlines
 * (the end of the file). */
uint64_t corpus_line_start(const struct corpus *c, const struct corpus_file *f, uint32_t n);

#endif
