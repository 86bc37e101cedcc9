/*
 * corpus.c - loading a shard into one arena and mapping offsets back to
 * files and lines (see corpus.h).
 */
#include "corpus.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsopen.h"
#include "utf8.h"
#include "lang.h"
#include "util.h"

void corpus_init(struct corpus *c)
{
    memset(c, 0, sizeof *c);
}

void corpus_free(struct corpus *c)
{
    if (!c)
        return;
    if (c->map) { /* a snapshot's (snapshot.h): the tables are in the mapping */
        munmap(c->map, c->map_len);
    } else {
        free(c->buf);
        free(c->line_off);
        free(c->blocks);
    }
    free(c->files);
    tindex_free(c->index);
    corpus_init(c);
}

void corpus_enable_index(struct corpus *c)
{
    if (!c->index)
        c->index = tindex_new();
    c->lasting = true;
}

void corpus_enable_live_index(struct corpus *c)
{
    if (!c->index)
        c->index = tindex_new_live();
}

void corpus_trim(struct corpus *c)
{
    tindex_live_trim(c->index);
}

static void block_text(void *ctx, uint32_t i, const char **text, size_t *len)
{
    const struct corpus *c = ctx;
    *text = c->buf + c->blocks[i].off;
    *len = (size_t)c->blocks[i].len;
}

void corpus_seal(struct corpus *c)
{
    if (c->index && !tindex_ready(c->index))
        tindex_finish(c->index, block_text, c);
}

/* Grow an array to hold at least need elements of size bytes: by half
 * again, or, when that much cannot be had, to exactly need.  False when
 * even that fails (the array is left as it was).  huge: a base's array,
 * whose part not written yet is to be backed by huge pages. */
static bool try_grow(void **p, uint64_t *cap, uint64_t need, size_t size, uint64_t first, bool huge)
{
    if (need <= *cap)
        return true;
    uint64_t n = *cap ? *cap : first;
    while (n < need)
        n += n / 2;
    void *q = realloc(*p, n * size);
    if (!q && n > need) {
        n = need;
        q = realloc(*p, n * size);
    }
    if (!q)
        return false;
    *p = q;
    *cap = n;
    if (huge)
        prefer_huge_pages(q, n * size);
    return true;
}

static bool reserve_bytes(struct corpus *c, uint64_t more)
{
    return try_grow((void **)&c->buf, &c->cap, c->len + more, 1, 1 << 16, c->lasting);
}

static bool reserve_lines(struct corpus *c, uint64_t more)
{
    return try_grow((void **)&c->line_off, &c->lines_cap, c->nlines + more, sizeof *c->line_off,
                    1 << 12, c->lasting);
}

#define CORPUS_BYTES_PER_LINE 24 /* fewer than most code has (the kernel: 36) */

void corpus_reserve(struct corpus *c, uint64_t bytes)
{
    (void)reserve_bytes(c, bytes);
    (void)reserve_lines(c, bytes / CORPUS_BYTES_PER_LINE + 1);
}

/* Drop every CR that precedes an LF in p[0..n); returns the new length. */
static size_t strip_crlf(char *p, size_t n)
{
    char *cr = memchr(p, '\r', n);
    if (!cr)
        return n;
    size_t w = (size_t)(cr - p);
    for (size_t r = w; r < n; r++) {
        if (p[r] == '\r' && r + 1 < n && p[r + 1] == '\n')
            continue;
        p[w++] = p[r];
    }
    return w;
}

/* Count lines in the new file's text and record their starts; false (and
 * nothing recorded) when the table cannot grow. */
static bool index_lines(struct corpus *c, uint64_t off, uint64_t len, uint32_t *nlines)
{
    const char *base = c->buf + off, *p = base, *end = base + len;
    uint64_t first = c->nlines;
    uint32_t n = 0;
    while (p < end) {
        if (!reserve_lines(c, 1)) {
            c->nlines = first;
            return false;
        }
        c->line_off[c->nlines++] = (uint32_t)(p - base);
        n++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl + 1; /* the text always ends with '\n' */
    }
    *nlines = n;
    return true;
}

static void add_block(struct corpus *c, uint64_t off, uint64_t len)
{
    if (c->nblocks == c->blocks_cap) {
        c->blocks_cap = c->blocks_cap ? c->blocks_cap * 2 : 256;
        c->blocks = xrealloc(c->blocks, c->blocks_cap * sizeof *c->blocks);
        if (c->lasting)
            prefer_huge_pages(c->blocks, c->blocks_cap * sizeof *c->blocks);
    }
    struct corpus_block *b = &c->blocks[c->nblocks++];
    *b = (struct corpus_block){.off = off, .len = len, .file = (uint32_t)(c->nfiles - 1)};
    for (unsigned e = 1; e < TINDEX_EIGHTHS; e++) {
        size_t at = tindex_eighth_start(c->buf + off, (size_t)len, e);
        b->eighth[e - 1] = at < len ? (uint16_t)at : 0; /* below 16 KiB: see cut_blocks() */
    }
    if (c->index)
        tindex_add(c->index, c->buf + off, (size_t)len);
}

/* Cut the last file into blocks of at most CORPUS_BLOCK_MAX bytes at line
 * ends (a longer line is a block of its own); an empty file is one empty
 * block, so every file has at least one. */
static void cut_blocks(struct corpus *c, struct corpus_file *f)
{
    uint64_t start = f->off, end = f->off + f->len;
    f->first_block = (uint32_t)c->nblocks;
    if (f->len <= CORPUS_BLOCK_MAX) {
        add_block(c, start, f->len);
        return;
    }
    uint32_t line = 0;
    while (start < end) {
        uint64_t stop = start;
        while (line < f->nlines) {
            uint64_t next = corpus_line_start(c, f, line + 1);
            if (next - start > CORPUS_BLOCK_MAX && stop > start)
                break;
            stop = next;
            line++;
        }
        add_block(c, start, stop - start);
        start = stop;
    }
}

enum corpus_add_result corpus_add(struct corpus *c, uint32_t id, const char *path, const char *data,
                                  size_t len)
{
    if (len && memchr(data, '\0', len))
        return CORPUS_BINARY;
    bool valid = utf8_valid(data, len, NULL);
    if (!reserve_bytes(c, (valid ? len : UTF8_REPAIR_MAX(len)) + 1 + CORPUS_PAD))
        return CORPUS_NOMEM;
    uint64_t off = c->len;
    size_t n = len;
    if (valid)
        memcpy(c->buf + off, data, len);
    else
        n = utf8_repair(data, len, c->buf + off);
    n = strip_crlf(c->buf + off, n);
    if (n && c->buf[off + n - 1] != '\n')
        c->buf[off + n++] = '\n';
    uint64_t first_line = c->nlines;
    uint32_t nlines;
    if (!index_lines(c, off, n, &nlines))
        return CORPUS_NOMEM;

    c->len += n;
    c->raw_bytes += len;
    c->repaired += !valid;
    memset(c->buf + c->len, 0, CORPUS_PAD);
    if (c->nfiles == c->files_cap) {
        c->files_cap = c->files_cap ? c->files_cap * 2 : 256;
        c->files = xrealloc(c->files, c->files_cap * sizeof *c->files);
    }
    struct corpus_file *f = &c->files[c->nfiles++];
    f->id = id;
    f->tree = 0;
    f->stamp = (struct file_stamp){0};
    f->path = path;
    f->lang = (uint16_t)lang_of(path, strlen(path));
    f->off = off;
    f->len = n;
    f->first_line = first_line;
    f->nlines = nlines;
    f->wide_fold = utf8_wide_fold(c->buf + off, n);
    c->wide_fold += f->wide_fold;
    cut_blocks(c, f);
    return CORPUS_ADDED;
}

/* Read a whole file of at most max bytes into *buf (grown as needed).  It
 * is opened beneath the root without following links, and must still be
 * the file the walk saw (fsopen.h); -ESTALE when it was replaced since. */
static int read_file(int root_fd, const struct file_entry *e, uint64_t max, char **buf, size_t *cap,
                     size_t *len)
{
    /* O_NONBLOCK: a file replaced by a FIFO since the walk must not block
     * the open (it has no effect on a regular file's reads). */
    int fd = fs_open_beneath(root_fd, e->path, O_RDONLY | O_NONBLOCK);
    if (fd < 0)
        return fd;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL; /* no longer a regular file */
    }
    if (!fs_same_file(&st, e->stamp.dev, e->stamp.ino)) {
        close(fd);
        return -ESTALE;
    }
    size_t n = 0;
    for (;;) {
        if (n + 65536 > *cap) {
            char *q = realloc(*buf, (n + 65536) * 2);
            if (!q) {
                close(fd);
                return -ENOMEM;
            }
            *buf = q;
            *cap = (n + 65536) * 2;
        }
        ssize_t r = read(fd, *buf + n, *cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int err = errno;
            close(fd);
            return -err;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            close(fd);
            return -EFBIG; /* it grew since the walk */
        }
    }
    close(fd);
    *len = n;
    return 0;
}

enum corpus_read_result corpus_read_add(struct corpus *c, int root_fd, const struct file_entry *e,
                                        uint32_t id, uint64_t max_file_size,
                                        struct corpus_reader *rd)
{
    size_t len = 0;
    int r = read_file(root_fd, e, max_file_size, &rd->buf, &rd->cap, &len);
    enum corpus_read_result out = CORPUS_READ_ADDED;
    if (r == -EFBIG) {
        c->too_large++;
        out = CORPUS_READ_TOO_LARGE;
    } else if (r == -ESTALE) {
        log_info("%s was replaced since it was listed (skipped)", e->path);
        c->changed++;
        out = CORPUS_READ_CHANGED;
    } else if (r < 0 && r != -ENOMEM) {
        log_info("cannot read %s: %s (skipped)", e->path, strerror(-r));
        c->unreadable++;
        out = CORPUS_READ_UNREADABLE;
    } else {
        /* Should the trigram index find no memory for it either, the
         * last words name the file. */
        oom_context("loading", e->path);
        enum corpus_add_result added =
            r == -ENOMEM ? CORPUS_NOMEM : corpus_add(c, id, e->path, rd->buf, len);
        oom_context(NULL, NULL);
        if (added == CORPUS_BINARY) {
            c->binary++;
            out = CORPUS_READ_BINARY;
        } else if (added == CORPUS_NOMEM) {
            log_info("out of memory loading %s (%llu bytes); skipped", e->path,
                     (unsigned long long)e->stamp.size);
            c->unreadable++;
            out = CORPUS_READ_UNREADABLE;
        } else {
            struct corpus_file *f = &c->files[c->nfiles - 1];
            f->tree = e->tree;
            f->stamp = e->stamp;
        }
    }
    /* A huge file's read buffer is not kept for the small ones. */
    if (rd->cap > (size_t)64 << 20) {
        free(rd->buf);
        rd->buf = NULL;
        rd->cap = 0;
    }
    return out;
}

static const struct file_list *order_list; /* for the qsort below (one thread) */
static int by_tree_path(const void *a, const void *b)
{
    const struct file_entry *x = &order_list->v[*(const size_t *)a];
    const struct file_entry *y = &order_list->v[*(const size_t *)b];
    if (x->tree != y->tree)
        return x->tree < y->tree ? -1 : 1;
    return strcmp(x->path, y->path);
}

size_t corpus_shard_order(const struct file_list *l, unsigned shard, size_t **out)
{
    size_t n = 0;
    size_t *v = xmalloc((l->n ? l->n : 1) * sizeof *v);
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].shard == shard && l->v[i].path)
            v[n++] = i;
    order_list = l;
    qsort(v, n, sizeof *v, by_tree_path);
    *out = v;
    return n;
}

size_t corpus_load(struct corpus ***segs, const struct file_list *l, unsigned shard,
                   const int *root_fds, uint64_t max_file_size, uint64_t segment_bytes,
                   const struct corpus_progress *progress)
{
    size_t *order;
    size_t n = corpus_shard_order(l, shard, &order), nseg = 0, cap = 0;
    uint64_t before = 0; /* bytes read into the segments sealed */
    struct corpus **v = NULL;
    struct corpus_reader rd = {0};
    if (!segment_bytes)
        segment_bytes = UINT64_MAX; /* one segment */
    for (size_t k = 0; k < n || nseg == 0;) {
        /* The next segment: files from k on until it holds segment_bytes
         * (room made for what the walk saw of their sizes). */
        uint64_t expect = 0;
        for (size_t e = k; e < n && expect < segment_bytes; e++)
            expect += l->v[order[e]].stamp.size + 1;
        if (nseg == cap) {
            cap = cap ? 2 * cap : 8;
            v = xrealloc(v, cap * sizeof *v);
        }
        struct corpus *c = v[nseg++] = xmalloc(sizeof *c);
        corpus_init(c);
        corpus_enable_index(c);         /* first: the arena is a base's */
        (void)reserve_bytes(c, expect); /* if it fails, the arena grows per file */
        for (; k < n && (c->nfiles == 0 || c->len < segment_bytes); k++) {
            const struct file_entry *e = &l->v[order[k]];
            if (progress && (k + 1) % 64 == 0)
                progress->fn(progress->ctx, k + 1, before + c->raw_bytes);
            (void)corpus_read_add(c, root_fds[e->tree], e, (uint32_t)order[k], max_file_size, &rd);
        }
        before += c->raw_bytes;
        if (c->nfiles == 0 && nseg > 1) { /* the last files could not be read */
            struct corpus *prev = v[nseg - 2];
            prev->binary += c->binary;
            prev->unreadable += c->unreadable;
            prev->too_large += c->too_large;
            prev->changed += c->changed;
            prev->repaired += c->repaired;
            prev->raw_bytes += c->raw_bytes;
            corpus_free(c);
            free(c);
            nseg--;
            continue;
        }
        oom_context("building the trigram index", NULL);
        corpus_seal(c);
        oom_context(NULL, NULL);
    }
    free(rd.buf);
    free(order);
    *segs = v;
    return nseg;
}

size_t corpus_file_at(const struct corpus *c, uint64_t off)
{
    size_t lo = 0, hi = c->nfiles;
    /* Last file whose start is <= off. */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->files[mid].off <= off)
            lo = mid;
        else
            hi = mid;
    }
    /* Skip empty files that share the start offset of the next one. */
    while (lo + 1 < c->nfiles && c->files[lo + 1].off <= off)
        lo++;
    return lo;
}

long corpus_find_file(const struct corpus *c, uint32_t id)
{
    size_t lo = 0, hi = c->nfiles;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->files[mid].id == id)
            return (long)mid;
        if (c->files[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

uint32_t corpus_line_after(const struct corpus *c, const struct corpus_file *f, uint64_t off,
                           uint32_t from)
{
    const uint32_t *lines = c->line_off + f->first_line;
    uint32_t rel = (uint32_t)(off - f->off);
    uint32_t lo = from, hi = f->nlines;
    if (from > 0) { /* steps of 1, 2, 4... from it, then a binary search */
        uint32_t step = 1;
        while (step <= f->nlines - lo - 1 && lines[lo + step] <= rel) {
            lo += step;
            step *= 2;
        }
        hi = step <= f->nlines - lo - 1 ? lo + step : f->nlines;
    }
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (lines[mid] <= rel)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

uint32_t corpus_line_at(const struct corpus *c, const struct corpus_file *f, uint64_t off)
{
    return corpus_line_after(c, f, off, 0);
}

uint64_t corpus_line_start(const struct corpus *c, const struct corpus_file *f, uint32_t n)
{
    if (n >= f->nlines)
        return f->off + f->len;
    return f->off + c->line_off[f->first_line + n];
}

void corpus_line(const struct corpus *c, const struct corpus_file *f, uint32_t n, const char **s,
                 size_t *len)
{
    uint64_t start = corpus_line_start(c, f, n);
    uint64_t end = corpus_line_start(c, f, n + 1);
    *s = c->buf + start;
    *len = (size_t)(end - start - 1); /* without the '\n' */
}
