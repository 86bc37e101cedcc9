/*
 * snapshot.c - a shard's base on disk (see snapshot.h for the design).
 *
 * Layout: a header, then nine sections, each at the next 64-byte
 * boundary (the gaps zero), the file ending where the last one does:
 *   FILES    struct snap_file per file, in the arena's order
 *   PATHS    the paths, each NUL-terminated
 *   ARENA    the text, then CORPUS_PAD zero bytes
 *   LINES    u32 line starts (corpus.h)
 *   BLOCKS   struct corpus_block per block
 *   KEYS     u32 keys (trigrams and shapes: qplan.h), ascending
 *   COUNTS   u32 postings per key
 *   OFFSETS  u64, nkeys + 1 starts in POSTINGS
 *   POSTINGS the packed lists (tindex.c)
 */
#include "snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lang.h"
#include "util.h"

#define MAGIC "SGSNAP\r\n"

enum {
    S_FILES,
    S_PATHS,
    S_ARENA,
    S_LINES,
    S_BLOCKS,
    S_KEYS,
    S_COUNTS,
    S_OFFSETS,
    S_POSTINGS,
    NSECTIONS
};
static const char *const section_name[NSECTIONS] = {
    "file table", "paths",        "text",          "line table",    "block table",
    "index keys", "index counts", "index offsets", "index postings"};

struct snap_header {
    char magic[8];
    uint32_t version, header_size;
    uint32_t shard, nshards;
    uint32_t file_rec, block_rec; /* sizes of the records, as this build lays them out */
    uint64_t config;
    uint64_t nfiles, nlines, nblocks, arena_len, nkeys, postings_len, wide_fold;
    struct {
        uint64_t off, len, sum;
    } sec[NSECTIONS];
};

struct snap_file {
    uint64_t off, len, first_line, path_off;
    struct file_stamp stamp;
    uint32_t nlines, first_block, tree, path_len;
    uint32_t wide_fold, pad;
};

/* 64-bit checksum, four words at a time in four independent lanes (so it
 * runs at memory speed over a shard); it finds corruption, it is not a
 * signature. */
static uint64_t lane(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    return h ^ (h >> 29);
}

static uint64_t checksum(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h[4] = {0x9E3779B97F4A7C15ull ^ n, 0xC2B2AE3D27D4EB4Full, 0x165667B19E3779F9ull,
                     0x27D4EB2F165667C5ull};
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint64_t w[4];
        memcpy(w, b + i, 32);
        for (int k = 0; k < 4; k++)
            h[k] = lane(h[k], w[k]);
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h[0] = lane(h[0], w);
    }
    for (; i < n; i++)
        h[1] = (h[1] ^ b[i]) * 0x100000001b3ull;
    uint64_t x = lane(lane(lane(h[0], h[1]), h[2]), h[3]);
    return x ^ (x >> 32);
}

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    return checksum(p, n) ^ (h * 0x100000001b3ull);
}

uint64_t snapshot_config_hash(const char *const *roots, const char *const *names, unsigned ntrees,
                              uint64_t max_file_size, bool no_ignore)
{
    uint64_t h = mix(SNAPSHOT_VERSION, &max_file_size, sizeof max_file_size);
    h = mix(h, &no_ignore, sizeof no_ignore);
    for (unsigned i = 0; i < ntrees; i++) {
        h = mix(h, roots[i], strlen(roots[i]) + 1);
        h = mix(h, names[i], strlen(names[i]) + 1);
    }
    return h;
}

void snapshot_path(const char *dir, unsigned shard, char *buf, size_t len)
{
    snprintf(buf, len, "%s/shard-%u.snap", dir, shard);
}

/* ------------------------------------------------------------------ */
/* Writing                                                              */
/* ------------------------------------------------------------------ */

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

#define WRITE_CHUNK ((size_t)8 << 20) /* stop is read between chunks */

static int write_all(int fd, uint64_t off, const void *p, size_t n, const atomic_bool *stop)
{
    const char *b = p;
    while (n) {
        if (stop && atomic_load(stop)) {
            errno = ECANCELED;
            return SG_ERR;
        }
        ssize_t w = pwrite(fd, b, n < WRITE_CHUNK ? n : WRITE_CHUNK, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return SG_ERR;
        b += w;
        off += (uint64_t)w;
        n -= (size_t)w;
    }
    return SG_OK;
}

/* The file table and the paths blob of c. */
static void tables(const struct corpus *c, struct snap_file **files, char **paths,
                   size_t *paths_len)
{
    size_t total = 0;
    for (size_t i = 0; i < c->nfiles; i++)
        total += strlen(c->files[i].path) + 1;
    *paths = xmalloc(total ? total : 1);
    *files = xcalloc(c->nfiles ? c->nfiles : 1, sizeof **files);
    size_t at = 0;
    for (size_t i = 0; i < c->nfiles; i++) {
        const struct corpus_file *f = &c->files[i];
        size_t n = strlen(f->path);
        memcpy(*paths + at, f->path, n + 1);
        (*files)[i] = (struct snap_file){.off = f->off,
                                         .len = f->len,
                                         .first_line = f->first_line,
                                         .path_off = at,
                                         .stamp = f->stamp,
                                         .nlines = f->nlines,
                                         .first_block = f->first_block,
                                         .tree = f->tree,
                                         .path_len = (uint32_t)n,
                                         .wide_fold = f->wide_fold};
        at += n + 1;
    }
    *paths_len = total;
}

int snapshot_write(const char *dir, unsigned shard, unsigned nshards, uint64_t config,
                   const struct corpus *c, const atomic_bool *stop, char *err, size_t errlen)
{
    if (!tindex_ready(c->index)) {
        set_err(err, errlen, "the corpus has no index");
        return SG_ERR;
    }
    struct tindex_arrays ix;
    tindex_arrays(c->index, &ix);
    struct snap_file *files;
    char *paths;
    size_t paths_len;
    tables(c, &files, &paths, &paths_len);
    const void *data[NSECTIONS] = {files,   paths,     c->buf,     c->line_off, c->blocks,
                                   ix.keys, ix.counts, ix.offsets, ix.data};
    /* The text with the zero pad every corpus keeps after it (corpus.h). */
    size_t len[NSECTIONS] = {c->nfiles * sizeof *files,
                             paths_len,
                             (size_t)c->len + CORPUS_PAD,
                             c->nlines * sizeof *c->line_off,
                             c->nblocks * sizeof *c->blocks,
                             ix.nkeys * sizeof *ix.keys,
                             ix.nkeys * sizeof *ix.counts,
                             (ix.nkeys + 1) * sizeof *ix.offsets,
                             ix.data_len};
    /* An empty shard has no arrays: its text is the pad alone and its
     * offsets one 0, written from zeros. */
    static const uint8_t zeros[CORPUS_PAD + sizeof(uint64_t)];
    for (int i = 0; i < NSECTIONS; i++)
        if (!data[i] && len[i]) {
            if (len[i] > sizeof zeros) {
                free(files);
                free(paths);
                set_err(err, errlen, "the corpus's %s is missing", section_name[i]);
                return SG_ERR;
            }
            data[i] = zeros;
        }
    struct snap_header h = {.version = SNAPSHOT_VERSION,
                            .header_size = sizeof h,
                            .shard = shard,
                            .nshards = nshards,
                            .file_rec = sizeof(struct snap_file),
                            .block_rec = sizeof(struct corpus_block),
                            .config = config,
                            .nfiles = c->nfiles,
                            .nlines = c->nlines,
                            .nblocks = c->nblocks,
                            .arena_len = c->len,
                            .nkeys = ix.nkeys,
                            .postings_len = ix.data_len,
                            .wide_fold = c->wide_fold};
    memcpy(h.magic, MAGIC, 8);
    uint64_t off = align64(sizeof h), end = off;
    for (int i = 0; i < NSECTIONS; i++) {
        h.sec[i].off = off;
        h.sec[i].len = len[i];
        h.sec[i].sum = checksum(data[i], len[i]);
        end = off + len[i];
        off = align64(end);
    }
    char final[4096], tmp[4200];
    snapshot_path(dir, shard, final, sizeof final);
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", final, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = fd < 0 ? SG_ERR : SG_OK;
    for (int i = 0; rc == SG_OK && i < NSECTIONS; i++)
        rc = write_all(fd, h.sec[i].off, data[i], len[i], stop);
    if (rc == SG_OK)
        rc = write_all(fd, 0, &h, sizeof h, stop);    /* last: a torn file has no valid header */
    if (rc == SG_OK && ftruncate(fd, (off_t)end) < 0) /* it ends where its last section does */
        rc = SG_ERR;
    int e = errno;
    if (fd >= 0 && close(fd) < 0 && rc == SG_OK) {
        rc = SG_ERR;
        e = errno;
    }
    if (rc == SG_OK && rename(tmp, final) < 0) {
        rc = SG_ERR;
        e = errno;
    }
    if (rc != SG_OK) {
        set_err(err, errlen, "cannot write %s: %s", final, strerror(e));
        unlink(tmp);
    }
    free(files);
    free(paths);
    return rc;
}

void snapshot_clean(const char *dir, unsigned shard)
{
    char prefix[64];
    int plen = snprintf(prefix, sizeof prefix, "shard-%u.snap.tmp.", shard);
    DIR *d = opendir(dir);
    if (!d)
        return;
    int dfd = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (!strncmp(e->d_name, prefix, (size_t)plen))
            unlinkat(dfd, e->d_name, 0);
    closedir(d);
}

/* ------------------------------------------------------------------ */
/* Reading                                                              */
/* ------------------------------------------------------------------ */

struct mapped {
    const uint8_t *p;
    size_t len;
    const struct snap_header *h;
};

static int fail(char *why, size_t whylen, const char *what)
{
    set_err(why, whylen, "%s", what);
    return SG_ERR;
}

/* "the <section> <what>" */
static int fail_in(char *why, size_t whylen, int section, const char *what)
{
    set_err(why, whylen, "the %s %s", section_name[section], what);
    return SG_ERR;
}

/* The sections lie where snapshot_write() puts them, the file ends where
 * the last one does, and the alignment padding before each (a hole the
 * writer skipped) is zero: with the header's fields checked and the
 * sections checksummed, no byte of the file goes unchecked.  The
 * sections' bounds are checked already. */
static int check_layout(const struct mapped *m, char *why, size_t whylen)
{
    uint64_t at = sizeof *m->h;
    for (int i = 0; i < NSECTIONS; i++) {
        uint64_t off = align64((size_t)at);
        if (m->h->sec[i].off != off)
            return fail_in(why, whylen, i, "is not where the format puts it");
        for (; at < off; at++)
            if (m->p[at])
                return fail_in(why, whylen, i, "follows padding that is not zero");
        at = off + m->h->sec[i].len;
    }
    if (at != m->len)
        return fail(why, whylen, "the file goes on past its last section");
    return SG_OK;
}

/* The header says what this build would have written. */
static int check_header(const struct mapped *m, unsigned shard, unsigned nshards, uint64_t config,
                        char *why, size_t whylen)
{
    const struct snap_header *h = m->h;
    if (m->len < sizeof *h || memcmp(h->magic, MAGIC, 8))
        return fail(why, whylen, "not a snapshot (or truncated)");
    if (h->version != SNAPSHOT_VERSION || h->header_size != sizeof *h ||
        h->file_rec != sizeof(struct snap_file) || h->block_rec != sizeof(struct corpus_block))
        return fail(why, whylen, "written by another version");
    if (h->shard != shard || h->nshards != nshards)
        return fail(why, whylen, "made for another number of workers");
    if (h->config != config)
        return fail(why, whylen,
                    "made for other trees or options (folders, names, --max-file-size, "
                    "--no-ignore)");
    if (h->nfiles > UINT32_MAX || h->nblocks > UINT32_MAX || h->nkeys > (1u << 25) ||
        h->nlines > m->len || h->postings_len > m->len || h->arena_len > m->len)
        return fail(why, whylen, "its counts do not fit in the file (truncated?)");
    const uint64_t want[NSECTIONS] = {h->nfiles * sizeof(struct snap_file),
                                      0,
                                      h->arena_len + CORPUS_PAD,
                                      h->nlines * 4,
                                      h->nblocks * sizeof(struct corpus_block),
                                      h->nkeys * 4,
                                      h->nkeys * 4,
                                      (h->nkeys + 1) * 8,
                                      h->postings_len};
    for (int i = 0; i < NSECTIONS; i++) {
        uint64_t off = h->sec[i].off, len = h->sec[i].len;
        if (off % 8 || off > m->len || len > m->len - off || (i != S_PATHS && len != want[i]))
            return fail_in(why, whylen, i, "lies outside the file (truncated?)");
    }
    return check_layout(m, why, whylen);
}

static int check_sums(const struct mapped *m, int first, int last, char *why, size_t whylen)
{
    for (int i = first; i <= last; i++)
        if (checksum(m->p + m->h->sec[i].off, m->h->sec[i].len) != m->h->sec[i].sum)
            return fail_in(why, whylen, i, "does not match its checksum");
    return SG_OK;
}

static const void *section(const struct mapped *m, int i)
{
    return m->p + m->h->sec[i].off;
}

/* File x's line table (its first entry at lines) starts at 0 and has one
 * entry per line, each line ending at the first '\n' after its start
 * (corpus.h): a search takes a line's length from the table, so a file
 * with text but no line, or a line start past the file, would make it
 * read outside the text.  This reads the text once more, at memchr()'s
 * speed (a fraction of the checksum's). */
static int check_lines(const char *text, const uint32_t *lines, const struct snap_file *x)
{
    if ((x->nlines == 0) != (x->len == 0) || (x->nlines && lines[0] != 0))
        return SG_ERR;
    for (uint32_t k = 0; k < x->nlines; k++) {
        uint64_t start = lines[k], next = k + 1 < x->nlines ? lines[k + 1] : x->len;
        if (next <= start || next > x->len ||
            memchr(text + start, '\n', (size_t)(next - start)) != text + next - 1)
            return SG_ERR;
    }
    return SG_OK;
}

/* Every file's path, text, lines and blocks lie where they must. */
static int check_files(const struct mapped *m, char *why, size_t whylen)
{
    const struct snap_header *h = m->h;
    const struct snap_file *f = section(m, S_FILES);
    const char *paths = section(m, S_PATHS);
    const char *arena = section(m, S_ARENA);
    const uint32_t *lines = section(m, S_LINES);
    uint64_t at = 0, wide = 0;
    for (uint64_t i = 0; i < h->nfiles; i++) {
        const struct snap_file *x = &f[i];
        wide += x->wide_fold != 0;
        if (x->path_off >= h->sec[S_PATHS].len ||
            x->path_len >= h->sec[S_PATHS].len - x->path_off || !x->path_len ||
            paths[x->path_off + x->path_len] != '\0' ||
            memchr(paths + x->path_off, '\0', x->path_len))
            return fail(why, whylen, "a path lies outside the paths");
        /* The worker matches the files against the tree's list by merging
         * the two in this order (worker.c), and places new ones by it. */
        if (i &&
            (x[-1].tree > x->tree ||
             (x[-1].tree == x->tree && strcmp(paths + x[-1].path_off, paths + x->path_off) >= 0)))
            return fail(why, whylen, "the files are not in (tree, path) order");
        if (x->off != at || x->len > h->arena_len - at || x->nlines > x->len ||
            x->first_line > h->nlines || x->nlines > h->nlines - x->first_line ||
            (x->len && arena[x->off + x->len - 1] != '\n') || x->first_block >= h->nblocks)
            return fail(why, whylen, "a file lies outside the text or its tables");
        if (check_lines(arena + x->off, lines + x->first_line, x) < 0)
            return fail(why, whylen, "a file's line table does not match its lines");
        at += x->len;
    }
    if (at != h->arena_len)
        return fail(why, whylen, "the files do not cover the text");
    for (int i = 0; i < CORPUS_PAD; i++) /* zeroed, as corpus.h has it */
        if (arena[h->arena_len + i])
            return fail(why, whylen, "the text's pad is not zero");
    /* A search skips to the index's candidates only when no file holds a
     * wide fold (search.c): a wrong count would hide such files. */
    if (wide != h->wide_fold)
        return fail(why, whylen, "the count of files with a wide fold is wrong");
    return SG_OK;
}

/* Blocks tile the text in order, as corpus.c cuts them (whole lines; an
 * empty file is one empty block): each inside its file and ending at a
 * line end, and each file's first_block its first.  A search reads the
 * text from a block's offset to the end of a run of blocks. */
static int check_blocks(const struct mapped *m, char *why, size_t whylen)
{
    const struct snap_header *h = m->h;
    const struct snap_file *f = section(m, S_FILES);
    const struct corpus_block *b = section(m, S_BLOCKS);
    const char *arena = section(m, S_ARENA);
    uint64_t at = 0;
    for (uint64_t i = 0; i < h->nblocks; i++) {
        uint32_t fi = b[i].file;
        if (fi >= h->nfiles || (i && fi < b[i - 1].file))
            return fail(why, whylen, "a block lies outside its file");
        const struct snap_file *x = &f[fi];
        bool first = !i || b[i - 1].file != fi;
        if (b[i].off != at || at < x->off || at > x->off + x->len ||
            b[i].len > x->off + x->len - at || (first && (at != x->off || x->first_block != i)) ||
            (!b[i].len && x->len) || (b[i].len && arena[at + b[i].len - 1] != '\n'))
            return fail(why, whylen, "a block lies outside its file");
        at += b[i].len;
    }
    if (at != h->arena_len)
        return fail(why, whylen, "the blocks do not cover the text");
    for (uint64_t i = 0; i < h->nfiles; i++) /* first_block < nblocks: check_files() */
        if (b[f[i].first_block].file != i)
            return fail(why, whylen, "a file's first block is another file's");
    return SG_OK;
}

/* The index's keys ascend and its offsets stay within its postings.
 * The packed lists themselves are not read: their reader stays within
 * each list's bytes (tindex.h), a block number is only ever compared,
 * and a search bounds it by the block count (search.c), so a wrong one
 * costs a wrong answer, never a wrong read; the checksum stands for them. */
static int check_index(const struct mapped *m, char *why, size_t whylen)
{
    const struct snap_header *h = m->h;
    const uint32_t *keys = section(m, S_KEYS);
    const uint64_t *offsets = section(m, S_OFFSETS);
    for (uint64_t i = 0; i < h->nkeys; i++)
        if ((i && keys[i] <= keys[i - 1]) || keys[i] >= 1u << 25 || offsets[i] > offsets[i + 1])
            return fail(why, whylen, "the index's keys are out of order");
    if (offsets[0] != 0 || offsets[h->nkeys] != h->postings_len)
        return fail(why, whylen, "the index's offsets do not cover its postings");
    return SG_OK;
}

/* Map shard's snapshot; populate: read it all in now (it is about to be
 * checked and searched), rather than a page fault at a time. */
static int map_file(const char *dir, unsigned shard, bool populate, struct mapped *m, char *why,
                    size_t whylen)
{
    char path[4096];
    snapshot_path(dir, shard, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(why, whylen, errno == ENOENT ? "none yet" : strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof *m->h) {
        close(fd);
        return fail(why, whylen, "not a snapshot (or truncated)");
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0),
                   fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return fail(why, whylen, strerror(errno));
    m->p = p;
    m->len = (size_t)st.st_size;
    m->h = p;
    return SG_OK;
}

int snapshot_open(const char *dir, unsigned shard, unsigned nshards, uint64_t config,
                  struct corpus *c, char *why, size_t whylen)
{
    struct mapped m;
    if (map_file(dir, shard, true, &m, why, whylen) < 0)
        return SG_ERR;
    if (check_header(&m, shard, nshards, config, why, whylen) < 0 ||
        check_sums(&m, 0, NSECTIONS - 1, why, whylen) < 0 || check_files(&m, why, whylen) < 0 ||
        check_blocks(&m, why, whylen) < 0 || check_index(&m, why, whylen) < 0) {
        munmap((void *)m.p, m.len);
        return SG_ERR;
    }
    const struct snap_header *h = m.h;
    corpus_init(c);
    c->map = (void *)m.p;
    c->map_len = m.len;
    c->buf = (char *)section(&m, S_ARENA);
    c->len = c->cap = h->arena_len;
    c->line_off = (uint32_t *)section(&m, S_LINES);
    c->nlines = c->lines_cap = h->nlines;
    c->blocks = (struct corpus_block *)section(&m, S_BLOCKS);
    c->nblocks = c->blocks_cap = h->nblocks;
    c->nfiles = c->files_cap = h->nfiles;
    c->files = xcalloc(h->nfiles ? h->nfiles : 1, sizeof *c->files);
    const struct snap_file *f = section(&m, S_FILES);
    const char *paths = section(&m, S_PATHS);
    for (size_t i = 0; i < h->nfiles; i++)
        c->files[i] = (struct corpus_file){.id = (uint32_t)i,
                                           .tree = f[i].tree,
                                           .nlines = f[i].nlines,
                                           .first_block = f[i].first_block,
                                           .off = f[i].off,
                                           .len = f[i].len,
                                           .first_line = f[i].first_line,
                                           .path = paths + f[i].path_off,
                                           .stamp = f[i].stamp,
                                           .wide_fold = f[i].wide_fold != 0};
    for (size_t i = 0; i < h->nfiles; i++)
        c->files[i].lang = (uint16_t)lang_of(c->files[i].path, strlen(c->files[i].path));
    c->wide_fold = (uint32_t)h->wide_fold;
    c->index = tindex_view(&(struct tindex_arrays){.keys = section(&m, S_KEYS),
                                                   .counts = section(&m, S_COUNTS),
                                                   .offsets = section(&m, S_OFFSETS),
                                                   .data = section(&m, S_POSTINGS),
                                                   .nkeys = h->nkeys,
                                                   .data_len = h->postings_len});
    return SG_OK;
}

int snapshot_files(const char *dir, unsigned shard, unsigned nshards, uint64_t config,
                   void (*fn)(void *ctx, uint32_t tree, const char *path), void *ctx)
{
    struct mapped m;
    char why[SG_ERRLEN];
    if (map_file(dir, shard, false, &m, why, sizeof why) < 0)
        return SG_ERR;
    int rc = check_header(&m, shard, nshards, config, why, sizeof why);
    if (rc == SG_OK)
        rc = check_sums(&m, S_FILES, S_PATHS, why, sizeof why);
    const struct snap_file *f = rc == SG_OK ? section(&m, S_FILES) : NULL;
    const char *paths = rc == SG_OK ? section(&m, S_PATHS) : NULL;
    for (uint64_t i = 0; rc == SG_OK && i < m.h->nfiles; i++)
        if (f[i].path_off >= m.h->sec[S_PATHS].len ||
            f[i].path_len >= m.h->sec[S_PATHS].len - f[i].path_off ||
            paths[f[i].path_off + f[i].path_len] != '\0')
            rc = SG_ERR;
    for (uint64_t i = 0; rc == SG_OK && i < m.h->nfiles; i++)
        fn(ctx, f[i].tree, paths + f[i].path_off);
    munmap((void *)m.p, m.len);
    return rc;
}
