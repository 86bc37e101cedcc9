/*
 * snapshot.c - a shard's base on disk (see snapshot.h for the design).
 *
 * Layout (format 5), every number in the host's byte order:
 *   0      struct snap_header: magic, version, the sizes of the header and
 *          of the records, shard, shard count, configuration hash, nseg,
 *          and a checksum of the header (that field 0) and the table
 *   64     the segment table: nseg struct snap_extent {off, len}, where
 *          each segment lies in the file
 *   then zeros to the next 4096-byte boundary, where segment 0 starts.
 *   Each further segment starts at the first 4096-byte boundary after the
 *   one before it ends (zeros between), and the file ends where the last
 *   one does: with the header and table checked and each segment
 *   checksummed, no byte of the file goes unchecked.
 *
 * A segment is what a whole format 3 file was, for one corpus: a segment
 * header (struct snap_seg: the counts; each section's offset from the
 * segment's start, length and checksum; a checksum of itself), then nine
 * sections, each at the next 64-byte boundary (the gaps zero), the
 * segment ending where its last section does:
 *   FILES    struct snap_file per file, in the arena's order
 *   PATHS    the paths, each NUL-terminated
 *   ARENA    the text, then CORPUS_PAD zero bytes
 *   LINES    u32 line starts (corpus.h)
 *   BLOCKS   struct corpus_block per block
 *   KEYS     u32 keys (trigrams and shapes: qplan.h), ascending
 *   COUNTS   u32 postings per key
 *   OFFSETS  u64, nkeys + 1 starts in POSTINGS
 *   POSTINGS the packed lists (tindex.c)
 *
 * Segments start on page boundaries so that each is mapped on its own
 * (snapshot_open(): one mapping per corpus, which corpus_free() unmaps
 * alone).  A segment's mapping runs to the next segment's start, taking
 * the zeros after it; on a host whose pages are larger than 4096 bytes it
 * starts at the page boundary below the segment (two mappings may then
 * share a page of the file, never a mapping).
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

#include "bytes.h"
#include "lang.h"
#include "util.h"

#define MAGIC     "SGSNAP\r\n"
#define SEG_MAGIC "SGSEG\r\n" /* and its NUL: 8 bytes */
#define SEG_ALIGN 4096

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
    /* The sizes of the records, as this build lays them out. */
    uint32_t file_rec, block_rec, seg_rec, extent_rec;
    uint64_t config;
    uint64_t nseg;
    uint64_t sum; /* of this header (this field 0) and the segment table */
};
_Static_assert(sizeof(struct snap_header) == 64, "the table follows the header at 64");

/* A segment's place in the file (the segment table). */
struct snap_extent {
    uint64_t off, len;
};

/* At the start of each segment; offsets from there. */
struct snap_seg {
    char magic[8];
    uint64_t nfiles, nlines, nblocks, arena_len, nkeys, postings_len, wide_fold;
    struct {
        uint64_t off, len, sum;
    } sec[NSECTIONS];
    uint64_t sum; /* of this header, this field excluded */
};

struct snap_file {
    uint64_t off, len, first_line, path_off;
    struct file_stamp stamp;
    uint32_t nlines, first_block, tree, path_len;
    uint32_t wide_fold, pad;
};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    return bytes_checksum(p, n) ^ (h * 0x100000001b3ull);
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

static uint64_t align_to(uint64_t n, uint64_t a)
{
    return (n + a - 1) & ~(a - 1);
}

static uint64_t seg_sum(const struct snap_seg *s)
{
    return bytes_checksum(s, offsetof(struct snap_seg, sum));
}

static uint64_t head_sum(const struct snap_header *h, const struct snap_extent *ext)
{
    struct snap_header z = *h;
    z.sum = 0;
    return mix(bytes_checksum(&z, sizeof z), ext, (size_t)h->nseg * sizeof *ext);
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

/* One corpus as a segment, ready to write: its header (offsets from the
 * segment's start, checksums) and where each section's bytes are. */
struct seg_out {
    struct snap_seg h;
    const void *data[NSECTIONS];
    struct snap_file *files;
    char *paths;
};

static void seg_out_free(struct seg_out *s)
{
    free(s->files);
    free(s->paths);
}

/* Where each section's bytes are, or -1 with err filled. */
static int seg_data(const struct corpus *c, const struct tindex_arrays *ix, struct seg_out *s,
                    const size_t *len, char *err, size_t errlen)
{
    const void *data[NSECTIONS] = {s->files, s->paths,   c->buf,      c->line_off, c->blocks,
                                   ix->keys, ix->counts, ix->offsets, ix->data};
    /* An empty corpus has no arrays: its text is the pad alone and its
     * offsets one 0, written from zeros. */
    static const uint8_t zeros[CORPUS_PAD + sizeof(uint64_t)];
    for (int i = 0; i < NSECTIONS; i++) {
        if (!data[i] && len[i]) {
            if (len[i] > sizeof zeros) {
                set_err(err, errlen, "the corpus's %s is missing", section_name[i]);
                return SG_ERR;
            }
            data[i] = zeros;
        }
        s->data[i] = data[i];
    }
    return SG_OK;
}

/* c (sealed, indexed) as a segment; -1 with err filled. */
static int seg_prepare(const struct corpus *c, struct seg_out *s, char *err, size_t errlen)
{
    *s = (struct seg_out){0};
    if (!tindex_ready(c->index)) {
        set_err(err, errlen, "the corpus has no index");
        return SG_ERR;
    }
    struct tindex_arrays ix;
    tindex_arrays(c->index, &ix);
    size_t paths_len;
    tables(c, &s->files, &s->paths, &paths_len);
    /* The text with the zero pad every corpus keeps after it (corpus.h). */
    const size_t len[NSECTIONS] = {c->nfiles * sizeof *s->files,
                                   paths_len,
                                   (size_t)c->len + CORPUS_PAD,
                                   c->nlines * sizeof *c->line_off,
                                   c->nblocks * sizeof *c->blocks,
                                   ix.nkeys * sizeof *ix.keys,
                                   ix.nkeys * sizeof *ix.counts,
                                   (ix.nkeys + 1) * sizeof *ix.offsets,
                                   ix.data_len};
    if (seg_data(c, &ix, s, len, err, errlen) < 0) {
        seg_out_free(s);
        return SG_ERR;
    }
    struct snap_seg *h = &s->h;
    memcpy(h->magic, SEG_MAGIC, 8);
    h->nfiles = c->nfiles;
    h->nlines = c->nlines;
    h->nblocks = c->nblocks;
    h->arena_len = c->len;
    h->nkeys = ix.nkeys;
    h->postings_len = ix.data_len;
    h->wide_fold = c->wide_fold;
    uint64_t off = align_to(sizeof *h, 64);
    for (int i = 0; i < NSECTIONS; i++) {
        h->sec[i].off = off;
        h->sec[i].len = len[i];
        h->sec[i].sum = bytes_checksum(s->data[i], len[i]);
        off = align_to(off + len[i], 64);
    }
    h->sum = seg_sum(h);
    return SG_OK;
}

/* The segment's length: it ends where its last section does. */
static uint64_t seg_out_len(const struct seg_out *s)
{
    return s->h.sec[NSECTIONS - 1].off + s->h.sec[NSECTIONS - 1].len;
}

/* Its sections, then its header. */
static int seg_write(int fd, uint64_t at, const struct seg_out *s, const atomic_bool *stop)
{
    for (int i = 0; i < NSECTIONS; i++)
        if (write_all(fd, at + s->h.sec[i].off, s->data[i], (size_t)s->h.sec[i].len, stop) < 0)
            return SG_ERR;
    return write_all(fd, at, &s->h, sizeof s->h, stop);
}

/* Each segment at its place, filling ext.  -1 with errno set (an I/O
 * error), or with *bad set and err filled (a corpus that cannot be
 * written). */
static int write_segments(int fd, struct corpus *const *segs, size_t nseg, struct snap_extent *ext,
                          const atomic_bool *stop, bool *bad, char *err, size_t errlen)
{
    uint64_t at = align_to(sizeof(struct snap_header) + nseg * sizeof *ext, SEG_ALIGN);
    for (size_t k = 0; k < nseg; k++) {
        struct seg_out s;
        char e[SG_ERRLEN];
        if (seg_prepare(segs[k], &s, e, sizeof e) < 0) {
            set_err(err, errlen, "segment %zu: %s", k, e);
            *bad = true;
            return SG_ERR;
        }
        ext[k] = (struct snap_extent){.off = at, .len = seg_out_len(&s)};
        int rc = seg_write(fd, at, &s, stop), saved = errno;
        seg_out_free(&s);
        if (rc < 0) {
            errno = saved;
            return SG_ERR;
        }
        at = align_to(ext[k].off + ext[k].len, SEG_ALIGN);
    }
    return SG_OK;
}

/* The header and the segment table, last: a torn file has no valid
 * header.  Then the file is cut where its last segment ends. */
static int write_head(int fd, unsigned shard, unsigned nshards, uint64_t config,
                      const struct snap_extent *ext, size_t nseg, const atomic_bool *stop)
{
    struct snap_header h = {.version = SNAPSHOT_VERSION,
                            .header_size = sizeof h,
                            .shard = shard,
                            .nshards = nshards,
                            .file_rec = sizeof(struct snap_file),
                            .block_rec = sizeof(struct corpus_block),
                            .seg_rec = sizeof(struct snap_seg),
                            .extent_rec = sizeof(struct snap_extent),
                            .config = config,
                            .nseg = nseg};
    memcpy(h.magic, MAGIC, 8);
    h.sum = head_sum(&h, ext);
    size_t tlen = nseg * sizeof *ext;
    uint8_t *buf = xmalloc(sizeof h + tlen);
    memcpy(buf, &h, sizeof h);
    memcpy(buf + sizeof h, ext, tlen);
    int rc = write_all(fd, 0, buf, sizeof h + tlen, stop);
    free(buf);
    if (rc == SG_OK && ftruncate(fd, (off_t)(ext[nseg - 1].off + ext[nseg - 1].len)) < 0)
        rc = SG_ERR;
    return rc;
}

int snapshot_write(const char *dir, unsigned shard, unsigned nshards, uint64_t config,
                   struct corpus *const *segs, size_t nseg, const atomic_bool *stop, char *err,
                   size_t errlen)
{
    if (nseg == 0 || nseg > SNAPSHOT_MAX_SEGMENTS) {
        set_err(err, errlen, "cannot write %zu segments (1 to %u)", nseg, SNAPSHOT_MAX_SEGMENTS);
        return SG_ERR;
    }
    char final[4096], tmp[4200];
    snapshot_path(dir, shard, final, sizeof final);
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", final, (int)getpid());
    struct snap_extent *ext = xcalloc(nseg, sizeof *ext);
    bool bad = false;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = fd < 0 ? SG_ERR : SG_OK;
    if (rc == SG_OK)
        rc = write_segments(fd, segs, nseg, ext, stop, &bad, err, errlen);
    if (rc == SG_OK)
        rc = write_head(fd, shard, nshards, config, ext, nseg, stop);
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
        if (!bad)
            set_err(err, errlen, "cannot write %s: %s", final, strerror(e));
        if (fd >= 0)
            unlink(tmp);
    }
    free(ext);
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

/* Shard's file, open, its header and segment table read and checked. */
struct shard_head {
    int fd;
    uint64_t size;
    struct snap_header h;
    struct snap_extent *ext; /* h.nseg of them */
};

/* One segment: len bytes at p (its header first), then the zeros up to
 * the next segment's start, span bytes in all.  map and map_len: the
 * mapping that holds it, when it is the segment's own (else NULL). */
struct seg_view {
    const uint8_t *p;
    size_t len, span;
    const struct snap_seg *h;
    void *map;
    size_t map_len;
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

/* why, said of segment k: "segment 2: the text does not match ...". */
static int in_segment(char *why, size_t whylen, size_t k)
{
    char what[SG_ERRLEN];
    snprintf(what, sizeof what, "%s", why ? why : "");
    set_err(why, whylen, "segment %zu: %s", k, what);
    return SG_ERR;
}

static int read_at(int fd, void *p, size_t n, uint64_t off)
{
    uint8_t *b = p;
    while (n) {
        ssize_t r = pread(fd, b, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return SG_ERR;
        b += r;
        off += (uint64_t)r;
        n -= (size_t)r;
    }
    return SG_OK;
}

/* Where the segment table ends (segment 0 starts at the next 4096-byte
 * boundary). */
static uint64_t table_end(uint64_t nseg)
{
    return sizeof(struct snap_header) + nseg * sizeof(struct snap_extent);
}

/* The header says what this build would have written. */
static int check_header(const struct snap_header *h, uint64_t size, unsigned shard,
                        unsigned nshards, uint64_t config, char *why, size_t whylen)
{
    if (memcmp(h->magic, MAGIC, 8))
        return fail(why, whylen, "not a snapshot (or truncated)");
    if (h->version != SNAPSHOT_VERSION) {
        set_err(why, whylen, "written by another version (format %u; this build reads %u)",
                h->version, SNAPSHOT_VERSION);
        return SG_ERR;
    }
    if (h->header_size != sizeof *h || h->file_rec != sizeof(struct snap_file) ||
        h->block_rec != sizeof(struct corpus_block) || h->seg_rec != sizeof(struct snap_seg) ||
        h->extent_rec != sizeof(struct snap_extent))
        return fail(why, whylen, "written by another version (its records' sizes differ)");
    if (h->shard != shard || h->nshards != nshards)
        return fail(why, whylen, "made for another number of workers");
    if (h->config != config)
        return fail(why, whylen,
                    "made for other trees or options (folders, names, --max-file-size, "
                    "--no-ignore)");
    if (h->nseg == 0)
        return fail(why, whylen, "it has no segment (an empty shard has one, empty)");
    if (h->nseg > SNAPSHOT_MAX_SEGMENTS || align_to(table_end(h->nseg), SEG_ALIGN) > size)
        return fail(why, whylen, "its segment table does not fit in the file (truncated?)");
    return SG_OK;
}

/* The segments lie where snapshot_write() puts them, each within the
 * file, on a page boundary, after the one before, the file ending where
 * the last one does.  Checked before the table's checksum, so that a
 * table that is wrong says how; the checksum finds the rest. */
static int check_extents(const struct shard_head *sh, char *why, size_t whylen)
{
    uint64_t end = table_end(sh->h.nseg); /* of what comes before */
    for (size_t k = 0; k < sh->h.nseg; k++) {
        uint64_t off = sh->ext[k].off, len = sh->ext[k].len;
        const char *bad = NULL;
        if (off > sh->size || len > sh->size - off)
            bad = "lies outside the file (truncated?)";
        else if (off % SEG_ALIGN)
            bad = "does not start on a 4096-byte boundary";
        else if (off < end)
            bad = k ? "overlaps the segment before it, or comes before it"
                    : "overlaps the segment table";
        else if (off != align_to(end, SEG_ALIGN))
            bad = "is not where the format puts it";
        else if (len < sizeof(struct snap_seg))
            bad = "is too short to be a segment";
        if (bad) {
            fail(why, whylen, bad);
            return in_segment(why, whylen, k);
        }
        end = off + len;
    }
    if (end != sh->size)
        return fail(why, whylen, "the file goes on past its last segment");
    return SG_OK;
}

/* The segment table (its entries, then its checksum, which covers the
 * header too) and the zeros after it. */
static int read_table(struct shard_head *sh, char *why, size_t whylen)
{
    size_t tlen = (size_t)sh->h.nseg * sizeof *sh->ext;
    size_t end = (size_t)table_end(sh->h.nseg), pad = (size_t)align_to(end, SEG_ALIGN) - end;
    uint8_t *buf = xmalloc(tlen + pad);
    if (read_at(sh->fd, buf, tlen + pad, sizeof sh->h) < 0) {
        free(buf);
        return fail(why, whylen, "its segment table cannot be read (truncated?)");
    }
    sh->ext = xmalloc(tlen);
    memcpy(sh->ext, buf, tlen);
    int rc = check_extents(sh, why, whylen);
    if (rc == SG_OK && head_sum(&sh->h, sh->ext) != sh->h.sum)
        rc = fail(why, whylen, "its header or segment table does not match its checksum");
    for (size_t i = tlen; rc == SG_OK && i < tlen + pad; i++)
        if (buf[i])
            rc = fail(why, whylen, "the segment table is followed by padding that is not zero");
    free(buf);
    return rc;
}

static void close_head(struct shard_head *sh)
{
    if (sh->fd >= 0)
        close(sh->fd);
    free(sh->ext);
    sh->fd = -1;
    sh->ext = NULL;
}

static int open_head(const char *dir, unsigned shard, unsigned nshards, uint64_t config,
                     struct shard_head *sh, char *why, size_t whylen)
{
    char path[4096];
    snapshot_path(dir, shard, path, sizeof path);
    *sh = (struct shard_head){.fd = open(path, O_RDONLY | O_CLOEXEC)};
    if (sh->fd < 0)
        return fail(why, whylen, errno == ENOENT ? "none yet" : strerror(errno));
    struct stat st;
    int rc = SG_OK;
    if (fstat(sh->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof sh->h ||
        read_at(sh->fd, &sh->h, sizeof sh->h, 0) < 0)
        rc = fail(why, whylen, "not a snapshot (or truncated)");
    if (rc == SG_OK) {
        sh->size = (uint64_t)st.st_size;
        rc = check_header(&sh->h, sh->size, shard, nshards, config, why, whylen);
    }
    if (rc == SG_OK)
        rc = read_table(sh, why, whylen);
    if (rc != SG_OK)
        close_head(sh);
    return rc;
}

/* Segment k's bytes and the zeros after it, up to the next one. */
static size_t seg_span(const struct shard_head *sh, size_t k)
{
    uint64_t next = k + 1 < sh->h.nseg ? sh->ext[k + 1].off : sh->size;
    return (size_t)(next - sh->ext[k].off);
}

/* Segment k where its bytes are, at p. */
static void view_at(const struct shard_head *sh, size_t k, const uint8_t *p, struct seg_view *v)
{
    *v = (struct seg_view){.p = p,
                           .len = (size_t)sh->ext[k].len,
                           .span = seg_span(sh, k),
                           .h = (const struct snap_seg *)p};
}

/* Map segment k on its own, read in at once (it is about to be checked
 * and searched) rather than a page fault at a time. */
static int map_segment(const struct shard_head *sh, size_t k, struct seg_view *v, char *why,
                       size_t whylen)
{
    long page = sysconf(_SC_PAGESIZE);
    uint64_t off = sh->ext[k].off;
    size_t lead = page > 0 ? (size_t)(off % (uint64_t)page) : 0, span = seg_span(sh, k);
    void *p =
        mmap(NULL, lead + span, PROT_READ, MAP_PRIVATE | MAP_POPULATE, sh->fd, (off_t)(off - lead));
    if (p == MAP_FAILED)
        return fail(why, whylen, strerror(errno));
    view_at(sh, k, (const uint8_t *)p + lead, v);
    v->map = p;
    v->map_len = lead + span;
    return SG_OK;
}

/* The sections lie where snapshot_write() puts them, the segment ends
 * where the last one does, and the alignment padding before each (a hole
 * the writer skipped) and after the segment is zero: with the header's
 * fields checked and the sections checksummed, no byte of the segment
 * goes unchecked.  The sections' bounds are checked already. */
static int check_layout(const struct seg_view *v, char *why, size_t whylen)
{
    uint64_t at = sizeof *v->h;
    for (int i = 0; i < NSECTIONS; i++) {
        uint64_t off = align_to(at, 64);
        if (v->h->sec[i].off != off)
            return fail_in(why, whylen, i, "is not where the format puts it");
        for (; at < off; at++)
            if (v->p[at])
                return fail_in(why, whylen, i, "follows padding that is not zero");
        at = off + v->h->sec[i].len;
    }
    if (at != v->len)
        return fail(why, whylen, "the segment goes on past its last section");
    for (; at < v->span; at++)
        if (v->p[at])
            return fail(why, whylen, "the segment is followed by padding that is not zero");
    return SG_OK;
}

/* The segment's header says what snapshot_write() would have written. */
static int check_seg_header(const struct seg_view *v, char *why, size_t whylen)
{
    const struct snap_seg *h = v->h;
    if (memcmp(h->magic, SEG_MAGIC, 8))
        return fail(why, whylen, "it does not start with a segment header");
    if (seg_sum(h) != h->sum)
        return fail(why, whylen, "its header does not match its checksum");
    if (h->nfiles > UINT32_MAX || h->nblocks > UINT32_MAX || h->nkeys > (1u << 25) ||
        h->nlines > v->len || h->postings_len > v->len || h->arena_len > v->len)
        return fail(why, whylen, "its counts do not fit in its length");
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
        if (off % 8 || off > v->len || len > v->len - off || (i != S_PATHS && len != want[i]))
            return fail_in(why, whylen, i, "lies outside its segment");
    }
    return check_layout(v, why, whylen);
}

/* Sections first..last match their checksums. */
static int check_sums(const struct seg_view *v, int first, int last, char *why, size_t whylen)
{
    for (int i = first; i <= last; i++)
        if (bytes_checksum(v->p + v->h->sec[i].off, (size_t)v->h->sec[i].len) != v->h->sec[i].sum)
            return fail_in(why, whylen, i, "does not match its checksum");
    return SG_OK;
}

static const void *section(const struct seg_view *v, int i)
{
    return v->p + v->h->sec[i].off;
}

/* (tree, path) order: the worker matches the files against the tree's
 * list by merging the two in this order (worker.c), and places new ones
 * by it (store_file_cmp()). */
static bool before(uint32_t tree_a, const char *path_a, uint32_t tree_b, const char *path_b)
{
    return tree_a < tree_b || (tree_a == tree_b && strcmp(path_a, path_b) < 0);
}

/* File x's line table (its first entry at lines) starts at 0 and has one
 * entry per line, each line ending at the first '\n' after its start
 * (corpus.h): a search takes a line's length from the table, so a file
 * with text but no line, or a line start past the file, would make it
 * read outside the text.  The starts rise, each line's last byte is a
 * '\n', and the text holds no other: as many as the lines.  (A memchr()
 * a line took 0.3 s of a restart on the Linux tree.) */
static int check_lines(const char *text, const uint32_t *lines, const struct snap_file *x)
{
    if ((x->nlines == 0) != (x->len == 0) || (x->nlines && lines[0] != 0))
        return SG_ERR;
    for (uint32_t k = 0; k < x->nlines; k++) {
        uint64_t start = lines[k], next = k + 1 < x->nlines ? lines[k + 1] : x->len;
        if (next <= start || next > x->len || text[next - 1] != '\n')
            return SG_ERR;
    }
    return bytes_count_newlines(text, (size_t)x->len) == x->nlines ? SG_OK : SG_ERR;
}

/* File x's path lies inside the paths, NUL-terminated, and is not empty. */
static bool path_ok(const struct seg_view *v, const struct snap_file *x)
{
    const char *paths = section(v, S_PATHS);
    uint64_t len = v->h->sec[S_PATHS].len;
    return x->path_off < len && x->path_len < len - x->path_off && x->path_len &&
           paths[x->path_off + x->path_len] == '\0' &&
           !memchr(paths + x->path_off, '\0', x->path_len);
}

/* Every file's path, text, lines and blocks lie where they must. */
static int check_files(const struct seg_view *v, char *why, size_t whylen)
{
    const struct snap_seg *h = v->h;
    const struct snap_file *f = section(v, S_FILES);
    const char *paths = section(v, S_PATHS);
    const char *arena = section(v, S_ARENA);
    const uint32_t *lines = section(v, S_LINES);
    uint64_t at = 0, wide = 0;
    for (uint64_t i = 0; i < h->nfiles; i++) {
        const struct snap_file *x = &f[i];
        wide += x->wide_fold != 0;
        if (!path_ok(v, x))
            return fail(why, whylen, "a path lies outside the paths");
        if (i && !before(x[-1].tree, paths + x[-1].path_off, x->tree, paths + x->path_off))
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
static int check_blocks(const struct seg_view *v, char *why, size_t whylen)
{
    const struct snap_seg *h = v->h;
    const struct snap_file *f = section(v, S_FILES);
    const struct corpus_block *b = section(v, S_BLOCKS);
    const char *arena = section(v, S_ARENA);
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
static int check_index(const struct seg_view *v, char *why, size_t whylen)
{
    const struct snap_seg *h = v->h;
    const uint32_t *keys = section(v, S_KEYS);
    const uint64_t *offsets = section(v, S_OFFSETS);
    for (uint64_t i = 0; i < h->nkeys; i++)
        if ((i && keys[i] <= keys[i - 1]) || keys[i] >= 1u << 25 || offsets[i] > offsets[i + 1])
            return fail(why, whylen, "the index's keys are out of order");
    if (offsets[0] != 0 || offsets[h->nkeys] != h->postings_len)
        return fail(why, whylen, "the index's offsets do not cover its postings");
    return SG_OK;
}

/* Everything in the segment, as snapshot_open() needs it. */
static int check_segment(const struct seg_view *v, char *why, size_t whylen)
{
    if (check_seg_header(v, why, whylen) < 0 || check_sums(v, 0, NSECTIONS - 1, why, whylen) < 0 ||
        check_files(v, why, whylen) < 0 || check_blocks(v, why, whylen) < 0 ||
        check_index(v, why, whylen) < 0)
        return SG_ERR;
    return SG_OK;
}

/* The segment's first file comes after last, the last file of the
 * segments before it (NULL: none), and its ids after first_id fit. */
static int check_follows(const struct seg_view *v, const struct corpus_file *last,
                         uint64_t first_id, char *why, size_t whylen)
{
    if (v->h->nfiles > UINT32_MAX - first_id)
        return fail(why, whylen, "its files are more than a shard can number");
    if (!last || !v->h->nfiles)
        return SG_OK;
    const struct snap_file *x = section(v, S_FILES);
    const char *paths = section(v, S_PATHS);
    if (!before(last->tree, last->path, x->tree, paths + x->path_off))
        return fail(why, whylen,
                    "its first file is not after the last file of the segment before it in "
                    "(tree, path) order");
    return SG_OK;
}

/* c: a sealed corpus over v's mapping (its own), ids from first_id. */
static void view_corpus(const struct seg_view *v, uint32_t first_id, struct corpus *c)
{
    const struct snap_seg *h = v->h;
    corpus_init(c);
    c->map = v->map;
    c->map_len = v->map_len;
    c->buf = (char *)section(v, S_ARENA);
    c->len = c->cap = h->arena_len;
    c->line_off = (uint32_t *)section(v, S_LINES);
    c->nlines = c->lines_cap = h->nlines;
    c->blocks = (struct corpus_block *)section(v, S_BLOCKS);
    c->nblocks = c->blocks_cap = h->nblocks;
    c->nfiles = c->files_cap = h->nfiles;
    c->files = xcalloc(h->nfiles ? h->nfiles : 1, sizeof *c->files);
    const struct snap_file *f = section(v, S_FILES);
    const char *paths = section(v, S_PATHS);
    for (size_t i = 0; i < h->nfiles; i++) {
        const char *path = paths + f[i].path_off;
        c->files[i] = (struct corpus_file){.id = first_id + (uint32_t)i,
                                           .tree = f[i].tree,
                                           .nlines = f[i].nlines,
                                           .first_block = f[i].first_block,
                                           .off = f[i].off,
                                           .len = f[i].len,
                                           .first_line = f[i].first_line,
                                           .path = path,
                                           .stamp = f[i].stamp,
                                           .wide_fold = f[i].wide_fold != 0,
                                           .lang = (uint16_t)lang_of(path, f[i].path_len)};
    }
    c->wide_fold = (uint32_t)h->wide_fold;
    c->index = tindex_view(&(struct tindex_arrays){.keys = section(v, S_KEYS),
                                                   .counts = section(v, S_COUNTS),
                                                   .offsets = section(v, S_OFFSETS),
                                                   .data = section(v, S_POSTINGS),
                                                   .nkeys = h->nkeys,
                                                   .data_len = h->postings_len});
}

/* Segment k mapped, checked and made a corpus (*out); -1 with why
 * naming the segment, nothing left mapped. */
static int open_segment(const struct shard_head *sh, size_t k, const struct corpus_file *last,
                        uint64_t first_id, struct corpus **out, char *why, size_t whylen)
{
    struct seg_view v;
    if (map_segment(sh, k, &v, why, whylen) < 0)
        return in_segment(why, whylen, k);
    if (check_segment(&v, why, whylen) < 0 || check_follows(&v, last, first_id, why, whylen) < 0) {
        munmap(v.map, v.map_len);
        return in_segment(why, whylen, k);
    }
    *out = xcalloc(1, sizeof **out);
    view_corpus(&v, (uint32_t)first_id, *out);
    return SG_OK;
}

static void free_segments(struct corpus **segs, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        corpus_free(segs[k]);
        free(segs[k]);
    }
    free(segs);
}

int snapshot_open(const char *dir, unsigned shard, unsigned nshards, uint64_t config,
                  struct corpus ***segs, size_t *nseg, char *why, size_t whylen)
{
    struct shard_head sh;
    if (open_head(dir, shard, nshards, config, &sh, why, whylen) < 0)
        return SG_ERR;
    size_t n = (size_t)sh.h.nseg;
    struct corpus **out = xcalloc(n, sizeof *out);
    const struct corpus_file *last = NULL;
    uint64_t nfiles = 0;
    for (size_t k = 0; k < n; k++) {
        if (open_segment(&sh, k, last, nfiles, &out[k], why, whylen) < 0) {
            free_segments(out, k);
            close_head(&sh);
            return SG_ERR;
        }
        nfiles += out[k]->nfiles;
        if (out[k]->nfiles)
            last = &out[k]->files[out[k]->nfiles - 1];
    }
    close_head(&sh);
    *segs = out;
    *nseg = n;
    return SG_OK;
}

/* What snapshot_files() reads of segment v is sound: its header, its
 * file table and paths. */
static int check_listing(const struct seg_view *v, char *why, size_t whylen)
{
    if (check_seg_header(v, why, whylen) < 0 || check_sums(v, S_FILES, S_PATHS, why, whylen) < 0)
        return SG_ERR;
    const struct snap_file *f = section(v, S_FILES);
    for (uint64_t i = 0; i < v->h->nfiles; i++)
        if (!path_ok(v, &f[i]))
            return fail(why, whylen, "a path lies outside the paths");
    return SG_OK;
}

int snapshot_files(const char *dir, unsigned shard, unsigned nshards, uint64_t config,
                   void (*fn)(void *ctx, uint32_t tree, const char *path), void *ctx)
{
    struct shard_head sh;
    char why[SG_ERRLEN];
    if (open_head(dir, shard, nshards, config, &sh, why, sizeof why) < 0)
        return SG_ERR;
    /* The whole file, read a page at a time as the tables are: one
     * mapping, however many segments. */
    uint8_t *p = mmap(NULL, (size_t)sh.size, PROT_READ, MAP_PRIVATE, sh.fd, 0);
    int rc = p == MAP_FAILED ? SG_ERR : SG_OK;
    struct seg_view v;
    for (size_t k = 0; rc == SG_OK && k < sh.h.nseg; k++) {
        view_at(&sh, k, p + sh.ext[k].off, &v);
        rc = check_listing(&v, why, sizeof why);
    }
    for (size_t k = 0; rc == SG_OK && k < sh.h.nseg; k++) {
        view_at(&sh, k, p + sh.ext[k].off, &v);
        const struct snap_file *f = section(&v, S_FILES);
        const char *paths = section(&v, S_PATHS);
        for (uint64_t i = 0; i < v.h->nfiles; i++)
            fn(ctx, f[i].tree, paths + f[i].path_off);
    }
    if (p != MAP_FAILED)
        munmap(p, (size_t)sh.size);
    close_head(&sh);
    return rc;
}
