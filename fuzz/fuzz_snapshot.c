/*
 * fuzz_snapshot.c - libFuzzer target for the snapshot loader (snapshot.c):
 * a snapshot file of any bytes is refused or is a corpus that is safe to
 * search, and damage to a valid one is always refused.
 *
 * Input: the bytes of a snapshot file.  Each input is written to
 * DIR/shard-0.snap in a temporary folder and opened as the worker opens it
 * at start-up (snapshot_open(), shard 0 of 1, a fixed configuration), and
 * as the master reads it (snapshot_files()).  Then a second time,
 * "resealed": every checksum recomputed over what it covers (each
 * section's, as its segment's header places it; each segment header's;
 * the shard header's, over it and the segment table), so that the
 * structural checks behind the checksums are reached too (a fuzzer cannot
 * forge a 64-bit sum by chance; a writer bug, or anyone who means to,
 * can).  To reseal with the loader's own layout and checksum, never a
 * copy that could drift, this file includes snapshot.c (fuzz/run does not
 * link it a second time).
 *
 * Checked, with abort() on a violation:
 *   1. Whatever the bytes, no crash and no read out of bounds (ASan).
 *   2. A refusal says why, and leaves nothing allocated (ASan's leak
 *      check).  An accepted snapshot is at least one segment, each a
 *      consistent corpus over a mapping of its own no larger than the
 *      file: everything lies inside that mapping; files tile the text in
 *      (tree, path) order, within and across segments, ids counting on
 *      from one segment to the next, each ending in '\n'; each file's
 *      line table starts at 0, ascends, and has one entry per line ('\n');
 *      blocks tile the text in order, each inside its file and ending at
 *      a line end, and each file's first_block is its first block; paths
 *      are NUL-terminated inside the mapping; the wide-fold count is the
 *      files'; the zero pad follows the text; the index's keys ascend
 *      below 2^25 and its offsets ascend from 0 to the postings' bytes.
 *      Then each segment's tables are copied to heap blocks of exactly
 *      their sizes (in the mapping, a read past one section lands
 *      silently in the next; on the heap it is an ASan report), every
 *      posting list is read whole, a few trigram plans go through
 *      tindex_candidates(), and a few searches run (search_run(), with
 *      context lines) to their DONE.  Postings are
 *      not required to lie below the block count: snapshot.h documents
 *      that a search bounds them where it uses them, which the searches
 *      here put to the test.  snapshot_files() agrees with the open.
 *   3. A valid snapshot (made in LLVMFuzzerInitialize() by the real writer
 *      from small corpora, the seeds under fuzz/corpus/: one segment, an
 *      empty shard, two trees, and four segments one of them empty) with
 *      one byte changed anywhere, or with any bytes changed past its
 *      64-byte header while the header stays as it was, is refused: the
 *      header's fields are checked exactly, its checksum covers it and the
 *      segment table, each segment's header and sections are checksummed,
 *      and the padding after the table, between sections and between
 *      segments must be zero.  No byte of the file goes unchecked.
 *
 * Set FUZZ_SNAPSHOT_SEEDS=DIR to have the initialisation write its valid
 * snapshots into DIR (how the committed seeds were made).
 */
#include "snapshot.c"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"
#include "msg.h"
#include "qplan.h"
#include "search.h"
#include "store.h"
#include "tindex.h"
#include "util.h"

#define CONFIG  0x5eed5eedull
#define NSHARDS 1
#define NREFS   4

static char dir[64];
static char snap_path[128];

/* The valid snapshots the seeds are. */
static struct {
    uint8_t *p;
    size_t len;
} refs[NREFS];

static void require(bool cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_snapshot: property violated: %s\n", what);
        abort();
    }
}

/* ------------------------------------------------------------------ */
/* Making the valid snapshots                                           */
/* ------------------------------------------------------------------ */

static void add(struct corpus *c, uint32_t id, uint32_t tree, const char *path, const char *text)
{
    require(corpus_add(c, id, path, text, strlen(text)) == CORPUS_ADDED, "init: corpus_add()");
    struct corpus_file *f = &c->files[c->nfiles - 1];
    f->tree = tree;
    f->stamp = (struct file_stamp){
        .size = strlen(text), .dev = 3, .ino = 40 + id, .mtime_ns = 1000000007ll * id};
}

static uint8_t *read_whole(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    require(fp != NULL, "init: the snapshot written can be read");
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    rewind(fp);
    uint8_t *p = xmalloc(n > 0 ? (size_t)n : 1);
    require(n > 0 && fread(p, 1, (size_t)n, fp) == (size_t)n, "init: read the snapshot");
    fclose(fp);
    *len = (size_t)n;
    return p;
}

#define MAX_PARTS 4

/* Snapshot k's segments (0: one, a few files, an empty one and a wide
 * fold among them; 1: one with no file; 2: one, two trees; 3: four, the
 * third empty, the last in another tree), in c; their number. */
static size_t fill_ref(int k, struct corpus *c)
{
    size_t n = k == 3 ? 4 : 1;
    for (size_t i = 0; i < n; i++) {
        corpus_init(&c[i]);
        corpus_enable_index(&c[i]);
    }
    if (k == 0) {
        add(&c[0], 0, 0, "a.c", "int alpha;\nint beta;\n");
        add(&c[0], 1, 0, "b/empty.txt", "");
        add(&c[0], 2, 0, "b/kelvin.txt", "273 \xe2\x84\xaa\nStill\n");
        add(&c[0], 3, 0, "z.md", "needle\nhay\r\nno newline at the end");
    } else if (k == 2) {
        add(&c[0], 0, 0, "x", "one\n");
        add(&c[0], 1, 1, "caf\xc3\xa9.py", "def f():\n    return 'caf\xc3\xa9'\n");
        add(&c[0], 2, 1, "last-empty", "");
    } else if (k == 3) {
        add(&c[0], 0, 0, "a.c", "int alpha;\n");
        add(&c[0], 1, 0, "b/empty.txt", "");
        add(&c[1], 2, 0, "b/kelvin.txt", "273 \xe2\x84\xaa\nneedle\n");
        add(&c[1], 3, 0, "x", "hay\n");
        add(&c[3], 4, 1, "a.c", "return alpha;\n");
    }
    for (size_t i = 0; i < n; i++)
        corpus_seal(&c[i]);
    return n;
}

/* Snapshot k, written by the real writer and read back. */
static void make_ref(int k)
{
    struct corpus c[MAX_PARTS];
    size_t n = fill_ref(k, c);
    struct corpus *segs[MAX_PARTS];
    for (size_t i = 0; i < n; i++)
        segs[i] = &c[i];
    char err[SG_ERRLEN];
    if (snapshot_write(dir, 0, NSHARDS, CONFIG, segs, n, NULL, err, sizeof err) != SG_OK) {
        fprintf(stderr, "fuzz_snapshot: init: %s\n", err);
        abort();
    }
    for (size_t i = 0; i < n; i++)
        corpus_free(&c[i]);
    refs[k].p = read_whole(snap_path, &refs[k].len);
}

/* The temporary folder goes when the fuzzer exits (not after a crash:
 * the input is saved as an artifact anyway). */
static void remove_dir(void)
{
    unlink(snap_path);
    rmdir(dir);
}

static bool try_open(const uint8_t *p, size_t n);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/fuzz_snapshot.XXXXXX", tmp && strlen(tmp) < 32 ? tmp : "/tmp");
    require(mkdtemp(dir) != NULL, "init: a temporary folder");
    snapshot_path(dir, 0, snap_path, sizeof snap_path);
    atexit(remove_dir);
    for (int k = 0; k < NREFS; k++)
        make_ref(k);
    for (int k = 0; k < NREFS; k++) /* else property 3 would hold of nothing */
        require(try_open(refs[k].p, refs[k].len), "init: a valid snapshot is accepted");
    const char *out = getenv("FUZZ_SNAPSHOT_SEEDS");
    for (int k = 0; out && k < NREFS; k++) {
        static const char *const names[NREFS] = {"valid", "empty-shard", "two-trees", "segments"};
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", out, names[k]);
        FILE *fp = fopen(path, "wb");
        require(fp && fwrite(refs[k].p, 1, refs[k].len, fp) == refs[k].len && !fclose(fp),
                "init: write a seed");
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Property 2: an accepted snapshot is consistent                       */
/* ------------------------------------------------------------------ */

static const uint8_t *map_lo, *map_hi;

static void inside(const void *p, uint64_t n, const char *what)
{
    const uint8_t *b = p;
    require(b >= map_lo && b <= map_hi && n <= (uint64_t)(map_hi - b), what);
}

static uint64_t count_nl(const char *s, uint64_t n)
{
    uint64_t k = 0;
    for (uint64_t i = 0; i < n; i++)
        k += s[i] == '\n';
    return k;
}

static void ok_lines(const struct corpus *c, const struct corpus_file *f)
{
    require(f->first_line <= c->nlines && f->nlines <= c->nlines - f->first_line,
            "a file's lines lie in the line table");
    require(f->nlines == count_nl(c->buf + f->off, f->len), "a file has one line entry per line");
    for (uint32_t k = 0; k < f->nlines; k++) {
        uint32_t s = c->line_off[f->first_line + k];
        if (k == 0) {
            require(s == 0, "a file's first line starts at 0");
            continue;
        }
        require(s > c->line_off[f->first_line + k - 1] && s < f->len, "line starts ascend");
        require(c->buf[f->off + s - 1] == '\n', "a line starts after a newline");
    }
}

/* last: the last file of the segments before (NULL: none); first: the
 * id of this segment's first file. */
static void ok_files(const struct corpus *c, const struct corpus_file *last, uint32_t first)
{
    uint64_t at = 0, wide = 0;
    for (size_t i = 0; i < c->nfiles; i++) {
        const struct corpus_file *f = &c->files[i];
        inside(f->path, 1, "a path lies in the mapping");
        require(memchr(f->path, '\0', (size_t)(map_hi - (const uint8_t *)f->path)) != NULL,
                "a path ends inside the mapping");
        require(f->path[0] != '\0', "a path is not empty");
        require(f->id == first + i, "a file's id is its index across the segments");
        require(i == 0 || store_file_cmp(&c->files[i - 1], f) < 0, "files in (tree, path) order");
        require(i > 0 || !last || store_file_cmp(last, f) < 0,
                "files in (tree, path) order across segments");
        require(f->off == at && f->len <= c->len - at, "files tile the text");
        require(!f->len || c->buf[f->off + f->len - 1] == '\n', "a file ends with a newline");
        ok_lines(c, f);
        require(f->first_block < c->nblocks && c->blocks[f->first_block].file == i &&
                    (f->first_block == 0 || c->blocks[f->first_block - 1].file < i),
                "a file's first_block is its first block");
        wide += f->wide_fold;
        at += f->len;
    }
    require(at == c->len, "the files cover the text");
    require(wide == c->wide_fold, "the wide-fold count is the files'");
}

static void ok_blocks(const struct corpus *c)
{
    uint64_t at = 0;
    for (size_t i = 0; i < c->nblocks; i++) {
        const struct corpus_block *b = &c->blocks[i];
        require(b->file < c->nfiles, "a block's file exists");
        require(i == 0 || b->file >= c->blocks[i - 1].file, "blocks in file order");
        const struct corpus_file *f = &c->files[b->file];
        require(b->off == at, "blocks tile the text");
        require(b->off >= f->off && b->off <= f->off + f->len && b->len <= f->off + f->len - b->off,
                "a block lies in its file");
        require(b->len > 0 || f->len == 0, "only an empty file has an empty block");
        require(b->off + b->len == f->off + f->len || c->buf[b->off + b->len - 1] == '\n',
                "a block ends at a line end");
        at += b->len;
    }
    require(at == c->len, "the blocks cover the text");
}

static void ok_index(const struct tindex_arrays *a)
{
    inside(a->keys, (uint64_t)a->nkeys * 4, "the index's keys lie in the mapping");
    inside(a->counts, (uint64_t)a->nkeys * 4, "the index's counts lie in the mapping");
    inside(a->offsets, (uint64_t)(a->nkeys + 1) * 8, "the index's offsets lie in the mapping");
    inside(a->data, a->data_len, "the index's postings lie in the mapping");
    require(a->offsets[0] == 0 && a->offsets[a->nkeys] == a->data_len, "offsets span the postings");
    for (size_t i = 0; i < a->nkeys; i++)
        require(a->keys[i] < 1u << 25 && (i == 0 || a->keys[i] > a->keys[i - 1]) &&
                    a->offsets[i] <= a->offsets[i + 1],
                "keys ascend, offsets ascend");
}

static void ok_corpus(const struct corpus *c, size_t size, const struct corpus_file *last,
                      uint32_t first)
{
    require(c->map != NULL && c->map_len <= size, "the corpus is a mapping of part of the file");
    map_lo = c->map;
    map_hi = map_lo + c->map_len;
    inside(c->buf, c->len + CORPUS_PAD, "the text and its pad lie in the mapping");
    for (int i = 0; i < CORPUS_PAD; i++)
        require(c->buf[c->len + i] == 0, "the pad after the text is zero");
    inside(c->line_off, c->nlines * 4, "the line table lies in the mapping");
    inside(c->blocks, (uint64_t)c->nblocks * sizeof *c->blocks, "the blocks lie in the mapping");
    require(c->nfiles == 0 || c->nblocks > 0, "files have blocks");
    ok_files(c, last, first);
    ok_blocks(c);
    require(tindex_ready(c->index), "the index is ready");
}

/* ------------------------------------------------------------------ */
/* Property 2: searching it                                             */
/* ------------------------------------------------------------------ */

struct heap_copy {
    char *buf;
    uint32_t *lines, *keys, *counts;
    uint64_t *offsets;
    uint8_t *postings;
    struct corpus_block *blocks;
};

static void *dup_exact(const void *p, size_t n)
{
    void *q = xmalloc(n ? n : 1);
    if (n)
        memcpy(q, p, n);
    return q;
}

/* h: c with its tables (and index) on the heap, each in a block of its
 * own size. */
static void copy_to_heap(const struct corpus *c, struct corpus *h, struct heap_copy *hc)
{
    struct tindex_arrays a;
    tindex_arrays(c->index, &a);
    ok_index(&a);
    hc->buf = dup_exact(c->buf, (size_t)c->len + CORPUS_PAD);
    hc->lines = dup_exact(c->line_off, (size_t)c->nlines * 4);
    hc->blocks = dup_exact(c->blocks, c->nblocks * sizeof *c->blocks);
    hc->keys = dup_exact(a.keys, a.nkeys * 4);
    hc->counts = dup_exact(a.counts, a.nkeys * 4);
    hc->offsets = dup_exact(a.offsets, (a.nkeys + 1) * 8);
    hc->postings = dup_exact(a.data, a.data_len);
    *h = *c;
    h->map = NULL;
    h->buf = hc->buf;
    h->line_off = hc->lines;
    h->blocks = hc->blocks;
    h->index = tindex_view(&(struct tindex_arrays){.keys = hc->keys,
                                                   .counts = hc->counts,
                                                   .offsets = hc->offsets,
                                                   .data = hc->postings,
                                                   .nkeys = a.nkeys,
                                                   .data_len = a.data_len});
    /* Read every posting list whole (ASan sees a read that runs off, in
     * lists as garbled as the input makes them). */
    for (size_t i = 0; i < a.nkeys; i++) {
        struct qnode q = {.kind = QN_KEY, .key = hc->keys[i]};
        size_t n;
        free(tindex_candidates(h->index, &q, &n));
    }
}

static void free_heap(struct corpus *h, struct heap_copy *hc)
{
    tindex_free(h->index);
    free(hc->buf);
    free(hc->lines);
    free(hc->blocks);
    free(hc->keys);
    free(hc->counts);
    free(hc->offsets);
    free(hc->postings);
}

static void candidates(const struct corpus *h)
{
    static const char *const pats[] = {"alpha", "needle|hay", "ret.*caf", "xyz", "on"};
    for (size_t i = 0; i < sizeof pats / sizeof *pats; i++) {
        struct qnode *q = qplan_build(pats[i], strlen(pats[i]), false, i & 1);
        size_t n = 0;
        uint32_t *v = tindex_candidates(h->index, q, &n);
        volatile uint32_t sink = 0;
        for (size_t k = 0; v && k < n; k++)
            sink += v[k];
        (void)sink;
        free(v);
        qplan_free(q);
    }
}

struct collected {
    const struct corpus *c;
    bool done;
};

static int collect(void *ctx, const void *msg, size_t len)
{
    struct collected *got = ctx;
    struct msg_header h;
    struct msg_reader r;
    require(msg_parse(msg, len, &h, &r) == 0, "search_run() sends well-formed messages");
    if (h.type == MT_BATCH) {
        uint32_t count = msg_get_u32(&r);
        for (uint32_t i = 0; i < count; i++) {
            struct msg_record rec;
            require(msg_record_decode(&r, &rec) == 0, "search_run() sends well-formed records");
            /* Ids count on across the segments: this one's start at its
             * first file's. */
            const struct corpus *c = got->c;
            uint32_t fi = c->nfiles ? rec.file_id - c->files[0].id : 0;
            require(c->nfiles && rec.file_id >= c->files[0].id && fi < c->nfiles,
                    "a record's file is in the segment");
            require(rec.line >= 1 && rec.line <= c->files[fi].nlines,
                    "a record's line is in its file");
        }
    } else if (h.type == MT_DONE) {
        struct msg_done d;
        require(msg_done_decode(&r, &d) == 0, "search_run() sends a well-formed DONE");
        got->done = true;
    }
    return 0;
}

static void searches(const struct corpus *h)
{
    static const struct {
        const char *pat;
        uint32_t flags;
    } qs[] = {{"a", MSG_QF_LITERAL},
              {"needle", MSG_QF_CASELESS},
              {"[a-z]+\\d*;$", 0},
              {"k", MSG_QF_CASELESS},
              {"^", 0}};
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
        struct msg_query q = {.flags = qs[i].flags,
                              .max = 1000,
                              .context = 1,
                              .timeout_ms = 60000,
                              .pattern = qs[i].pat,
                              .pattern_len = (uint32_t)strlen(qs[i].pat),
                              .path = "",
                              .exclude = ""};
        struct collected got = {.c = h};
        struct search_io io = {.ctx = &got, .send = collect};
        search_run(h, 0, 1, &q, &io);
        require(got.done, "search_run() ends with DONE");
    }
}

/* ------------------------------------------------------------------ */
/* One file                                                             */
/* ------------------------------------------------------------------ */

struct listed {
    struct corpus **segs; /* what snapshot_open() opened, or NULL */
    size_t nseg;
    size_t seg, i; /* the next file expected: segs[seg]->files[i] */
    size_t n;
    bool differs;
};

static void on_file(void *ctx, uint32_t tree, const char *path)
{
    struct listed *l = ctx;
    l->n++;
    if (!l->segs)
        return;
    while (l->seg < l->nseg && l->i >= l->segs[l->seg]->nfiles) {
        l->seg++;
        l->i = 0;
    }
    if (l->seg >= l->nseg || l->segs[l->seg]->files[l->i].tree != tree ||
        strcmp(l->segs[l->seg]->files[l->i].path, path))
        l->differs = true;
    l->i++;
}

static void write_snapshot(const uint8_t *p, size_t n)
{
    FILE *fp = fopen(snap_path, "wb");
    require(fp && (n == 0 || fwrite(p, 1, n, fp) == n) && !fclose(fp), "write the input");
}

/* Segment c of an accepted snapshot of size bytes: consistent, and safe
 * to search. */
static void try_segment(const struct corpus *c, size_t size, const struct corpus_file *last,
                        uint32_t first)
{
    ok_corpus(c, size, last, first);
    struct corpus h;
    struct heap_copy hc;
    copy_to_heap(c, &h, &hc);
    candidates(&h);
    searches(&h);
    free_heap(&h, &hc);
}

/* Open p[0..n) as the worker would; true if accepted. */
static bool try_open(const uint8_t *p, size_t n)
{
    write_snapshot(p, n);
    struct corpus **segs = NULL;
    size_t nseg = 0;
    char why[SG_ERRLEN] = "";
    int rc = snapshot_open(dir, 0, NSHARDS, CONFIG, &segs, &nseg, why, sizeof why);
    struct listed l = {.segs = rc == SG_OK ? segs : NULL, .nseg = nseg};
    int frc = snapshot_files(dir, 0, NSHARDS, CONFIG, on_file, &l);
    if (rc != SG_OK) {
        require(rc == SG_ERR && why[0] != '\0', "a refusal says why");
        require(frc == SG_OK || l.n == 0, "snapshot_files() calls nothing when it refuses");
        return false;
    }
    require(nseg >= 1 && nseg <= SNAPSHOT_MAX_SEGMENTS, "an accepted snapshot has segments");
    size_t total = 0;
    const struct corpus_file *last = NULL;
    for (size_t k = 0; k < nseg; k++) {
        require(k == 0 || segs[k]->map != segs[k - 1]->map, "each segment has its own mapping");
        try_segment(segs[k], n, last, (uint32_t)total);
        total += segs[k]->nfiles;
        if (segs[k]->nfiles)
            last = &segs[k]->files[segs[k]->nfiles - 1];
    }
    require(frc == SG_OK && l.n == total && !l.differs,
            "snapshot_files() lists what snapshot_open() opened");
    for (size_t k = 0; k < nseg; k++) {
        corpus_free(segs[k]);
        free(segs[k]);
    }
    free(segs);
    return true;
}

/* The segment of len bytes at p (within the input) with its sections'
 * checksums and its header's made to match what they cover. */
static void reseal_segment(uint8_t *p, size_t len)
{
    struct snap_seg s;
    if (len < sizeof s)
        return;
    memcpy(&s, p, sizeof s);
    for (int i = 0; i < NSECTIONS; i++)
        if (s.sec[i].off <= len && s.sec[i].len <= len - s.sec[i].off)
            s.sec[i].sum = bytes_checksum(p + s.sec[i].off, (size_t)s.sec[i].len);
    s.sum = seg_sum(&s);
    memcpy(p, &s, sizeof s);
}

/* p with every checksum made to match what it covers: each segment's
 * (those the table places inside the input), then the header's. */
static bool reseal(uint8_t *p, size_t n)
{
    struct snap_header h;
    if (n < sizeof h)
        return false;
    memcpy(&h, p, sizeof h);
    if (h.nseg > SNAPSHOT_MAX_SEGMENTS || table_end(h.nseg) > n)
        return false;
    uint8_t *before = dup_exact(p, n);
    struct snap_extent *ext = dup_exact(p + sizeof h, (size_t)h.nseg * sizeof *ext);
    for (size_t k = 0; k < h.nseg; k++)
        if (ext[k].off <= n && ext[k].len <= n - ext[k].off)
            reseal_segment(p + ext[k].off, (size_t)ext[k].len);
    h.sum = head_sum(&h, ext);
    memcpy(p, &h, sizeof h);
    bool changed = memcmp(before, p, n) != 0;
    free(ext);
    free(before);
    return changed;
}

/* Property 3 against one valid snapshot. */
static void check_damage(const uint8_t *data, size_t size, bool accepted)
{
    for (int k = 0; k < NREFS; k++) {
        if (size != refs[k].len)
            continue;
        size_t ndiff = 0, nhead = 0;
        for (size_t i = 0; i < size; i++)
            if (data[i] != refs[k].p[i]) {
                ndiff++;
                nhead += i < sizeof(struct snap_header);
            }
        if (ndiff == 1)
            require(!accepted, "a valid snapshot with one byte changed is refused");
        if (ndiff > 0 && nhead == 0)
            require(!accepted, "a valid snapshot changed past its header is refused");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool accepted = try_open(data, size);
    check_damage(data, size, accepted);
    uint8_t *copy = dup_exact(data, size);
    if (reseal(copy, size))
        (void)try_open(copy, size);
    free(copy);
    return 0;
}
