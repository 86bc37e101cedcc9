/*
 * check_snapshot.c - unit tests for src/snapshot.c: a base of one or of
 * several segments written and mapped back holds and searches the same,
 * each segment a corpus of its own that can be freed alone; a snapshot
 * damaged anywhere (each section, in any segment, the header, the segment
 * table, the padding), cut short, or made for another shard, shard count,
 * configuration or format version is refused, saying why (and which
 * segment); so is one whose checksums match but whose tables are wrong
 * (as a writer bug would leave), within a segment or across two.
 *
 * The tests that reach into the file by offset follow snapshot.c's
 * layout: the 64-byte header (nseg at 48, its checksum at 56), the
 * segment table at 64 (16 bytes a segment: offset, length), and in each
 * segment a header whose section table starts at 64 (24 bytes a section:
 * offset from the segment, length, checksum), the first section at 320.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "check_suites.h"
#include "check_util.h"
#include "msg.h"
#include "qplan.h"
#include "search.h"
#include "snapshot.h"
#include "util.h"

#define CONFIG 0x1234abcdull

#define HEAD_NSEG     48
#define HEAD_SUM      56
#define TABLE         64
#define SEG_SECTIONS  64 /* in a segment's header */
#define SEG_FIRST_SEC 320
enum { SEC_ARENA = 2, SEC_POSTINGS = 8 }; /* snapshot.c's section numbers */

static char dir[64];
static struct corpus orig; /* written as the snapshot of shard 0 by setup() */
#define NPARTS 3
static struct corpus parts[NPARTS]; /* a base in three segments */

static void add_to(struct corpus *c, uint32_t id, uint32_t tree, const char *path, const char *text,
                   size_t len)
{
    ck_assert(corpus_add(c, id, path, text, len) == CORPUS_ADDED);
    struct corpus_file *f = &c->files[c->nfiles - 1];
    f->tree = tree;
    f->stamp =
        (struct file_stamp){.size = len, .dev = 7, .ino = 100 + id, .mtime_ns = 1000000000ll * id};
}

static void add(struct corpus *c, uint32_t id, uint32_t tree, const char *path, const char *text)
{
    add_to(c, id, tree, path, text, strlen(text));
}

/* 40,000 bytes of 50-byte lines: several blocks. */
static void add_big(struct corpus *c, uint32_t id, const char *path)
{
    char *big = xmalloc(40000);
    for (size_t i = 0; i < 40000; i++)
        big[i] = i % 50 == 49 ? '\n' : (char)('a' + i % 26);
    add_to(c, id, 0, path, big, 40000);
    free(big);
}

static void new_corpus(struct corpus *c)
{
    corpus_init(c);
    corpus_enable_index(c);
}

/* The parts, as the three segments of one base: ids count on across
 * them, as snapshot_open() numbers them. */
static void make_parts(void)
{
    for (int k = 0; k < NPARTS; k++)
        new_corpus(&parts[k]);
    add(&parts[0], 0, 0, "a.c", "int alpha;\nint beta;\n");
    add(&parts[0], 1, 0, "b/empty.txt", "");
    add_big(&parts[1], 2, "big.txt");
    add(&parts[1], 3, 0, "c.txt", "alpha needle\n");
    add(&parts[2], 4, 1, "caf\xc3\xa9.md", "needle\n");
    add(&parts[2], 5, 1, "zeta.txt", "int gamma;\nneedle alpha\n");
    for (int k = 0; k < NPARTS; k++)
        corpus_seal(&parts[k]);
}

static void write_segs(unsigned shard, struct corpus *const *segs, size_t n)
{
    char err[SG_ERRLEN];
    ck_assert_msg(snapshot_write(dir, shard, 2, CONFIG, segs, n, NULL, err, sizeof err) == SG_OK,
                  "%s", err);
}

static void write_parts(void)
{
    write_segs(0, (struct corpus *const[]){&parts[0], &parts[1], &parts[2]}, NPARTS);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/check_snapshot.XXXXXX");
    ck_assert(mkdtemp(dir) != NULL);
    new_corpus(&orig);
    add(&orig, 0, 0, "a.c", "int alpha;\nint beta;\n");
    add(&orig, 1, 0, "b/empty.txt", "");
    add_big(&orig, 2, "big.txt");
    add(&orig, 3, 1, "caf\xc3\xa9.md", "needle\n");
    corpus_seal(&orig);
    write_segs(0, (struct corpus *const[]){&orig}, 1);
    make_parts();
}

static void teardown(void)
{
    corpus_free(&orig);
    for (int k = 0; k < NPARTS; k++)
        corpus_free(&parts[k]);
    check_rm_tree(dir);
}

static char *snap_file(void)
{
    static char path[128];
    snapshot_path(dir, 0, path, sizeof path);
    return path;
}

/* Bytes of this process's address space mapped from files in dir: what
 * valgrind does not count. */
static size_t mapped_from_dir(void)
{
    FILE *fp = fopen("/proc/self/maps", "r");
    ck_assert(fp != NULL);
    char line[4096];
    size_t total = 0;
    while (fgets(line, sizeof line, fp)) {
        unsigned long lo, hi;
        if (strstr(line, dir) && sscanf(line, "%lx-%lx", &lo, &hi) == 2)
            total += hi - lo;
    }
    fclose(fp);
    return total;
}

static size_t pages(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return (n + page - 1) / page * page;
}

static void free_segs(struct corpus **segs, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        corpus_free(segs[k]);
        free(segs[k]);
    }
    free(segs);
}

static struct corpus **open_ok(unsigned shard, size_t want)
{
    struct corpus **segs;
    size_t n;
    char why[SG_ERRLEN];
    ck_assert_msg(snapshot_open(dir, shard, 2, CONFIG, &segs, &n, why, sizeof why) == SG_OK, "%s",
                  why);
    ck_assert_msg(n == want, "%zu segments, want %zu", n, want);
    return segs;
}

/* The index of a answers every query as b's does. */
static void same_index(const struct corpus *a, const struct corpus *b, size_t k)
{
    static const char *const pats[] = {"alpha", "needle|gamma", "int \\w+;",
                                       "zzz",   "caf",          "abcdefgh"};
    for (size_t i = 0; i < sizeof pats / sizeof *pats; i++) {
        struct qnode *q = qplan_build(pats[i], strlen(pats[i]), false, i & 1);
        size_t na = 0, nb = 0;
        uint32_t *va = tindex_candidates(a->index, q, &na);
        uint32_t *vb = tindex_candidates(b->index, q, &nb);
        ck_assert_msg(!va == !vb && na == nb && (!na || !memcmp(va, vb, na * sizeof *va)),
                      "segment %zu, query \"%s\": %zu candidates, want %zu", k, pats[i], na, nb);
        free(va);
        free(vb);
        qplan_free(q);
    }
}

/* Segment a, opened, holds what b, written, held; its files numbered
 * from first. */
static void same_corpus(const struct corpus *a, const struct corpus *b, uint32_t first, size_t k)
{
    ck_assert_msg(a->nfiles == b->nfiles && a->len == b->len && a->nlines == b->nlines &&
                      a->nblocks == b->nblocks && a->wide_fold == b->wide_fold,
                  "segment %zu: counts differ", k);
    ck_assert_msg(a->map && a->map_len, "segment %zu is not a mapping", k);
    ck_assert(!memcmp(a->buf, b->buf, (size_t)b->len + CORPUS_PAD));
    ck_assert(!b->nlines || !memcmp(a->line_off, b->line_off, b->nlines * sizeof *b->line_off));
    ck_assert(!b->nblocks || !memcmp(a->blocks, b->blocks, b->nblocks * sizeof *b->blocks));
    for (size_t i = 0; i < a->nfiles; i++) {
        const struct corpus_file *x = &a->files[i], *y = &b->files[i];
        ck_assert_msg(!strcmp(x->path, y->path) && x->tree == y->tree && x->off == y->off &&
                          x->len == y->len && x->nlines == y->nlines &&
                          x->first_line == y->first_line && stamp_same(&x->stamp, &y->stamp) &&
                          x->first_block == y->first_block && x->lang == y->lang &&
                          x->wide_fold == y->wide_fold,
                      "segment %zu, file %zu differs", k, i);
        ck_assert_msg(x->id == first + i, "segment %zu, file %zu: id %u, want %zu", k, i, x->id,
                      first + i);
    }
    static const uint32_t tris[] = {'a' << 16 | 'l' << 8 | 'p', 'n' << 16 | 'e' << 8 | 'e',
                                    'z' << 16 | 'z' << 8 | 'z'};
    for (size_t t = 0; t < 3; t++)
        ck_assert_msg(tindex_count(a->index, tris[t]) == tindex_count(b->index, tris[t]),
                      "segment %zu, trigram %zu: %zu postings, want %zu", k, t,
                      tindex_count(a->index, tris[t]), tindex_count(b->index, tris[t]));
    same_index(a, b, k);
}

START_TEST(test_round_trip)
{
    struct corpus **segs = open_ok(0, 1);
    same_corpus(segs[0], &orig, 0, 0);
    free_segs(segs, 1);
}
END_TEST

struct listing {
    size_t n;
    char got[512];
};

static void on_file(void *ctx, uint32_t tree, const char *path)
{
    struct listing *l = ctx;
    size_t at = strlen(l->got);
    snprintf(l->got + at, sizeof l->got - at, "%u:%s ", tree, path);
    l->n++;
}

/* Three segments come back as three corpora, in order, ids counting on
 * across them; the master's listing runs through all of them. */
START_TEST(test_round_trip_segments)
{
    write_parts();
    struct corpus **segs = open_ok(0, NPARTS);
    uint32_t first = 0;
    for (size_t k = 0; k < NPARTS; k++) {
        same_corpus(segs[k], &parts[k], first, k);
        first += (uint32_t)parts[k].nfiles;
    }
    ck_assert(segs[0]->map != segs[1]->map && segs[1]->map != segs[2]->map);
    free_segs(segs, NPARTS);
    struct listing l = {0};
    ck_assert(snapshot_files(dir, 0, 2, CONFIG, on_file, &l) == SG_OK);
    ck_assert_str_eq(l.got, "0:a.c 0:b/empty.txt 0:big.txt 0:c.txt 1:caf\xc3\xa9.md 1:zeta.txt ");
}
END_TEST

/* A shard with no files (a small tree, many workers) is one empty
 * segment, and round-trips. */
START_TEST(test_empty_shard)
{
    struct corpus e;
    new_corpus(&e);
    corpus_seal(&e);
    write_segs(1, (struct corpus *const[]){&e}, 1);
    struct corpus **segs = open_ok(1, 1);
    struct corpus *c = segs[0];
    ck_assert(c->nfiles == 0 && c->len == 0 && c->nlines == 0 && c->nblocks == 0);
    ck_assert(tindex_count(c->index, 'a' << 16 | 'b' << 8 | 'c') == 0);
    free_segs(segs, 1);
    struct listing l = {0};
    ck_assert(snapshot_files(dir, 1, 2, CONFIG, on_file, &l) == SG_OK && l.n == 0);
    corpus_free(&e);
}
END_TEST

/* The writer takes 1 to SNAPSHOT_MAX_SEGMENTS segments. */
START_TEST(test_write_no_segment)
{
    char err[SG_ERRLEN];
    ck_assert(snapshot_write(dir, 1, 2, CONFIG, NULL, 0, NULL, err, sizeof err) == SG_ERR);
    ck_assert_msg(strstr(err, "0 segments") != NULL, "%s", err);
    char path[128];
    snapshot_path(dir, 1, path, sizeof path);
    ck_assert(access(path, F_OK) < 0);
}
END_TEST

struct hits {
    size_t n;
    uint64_t sum; /* of file id * 1000 + line */
    bool done;
};

static int on_msg(void *ctx, const void *msg, size_t len)
{
    struct hits *h = ctx;
    struct msg_header mh;
    struct msg_reader r;
    ck_assert(msg_parse(msg, len, &mh, &r) == 0);
    if (mh.type == MT_BATCH) {
        uint32_t count = msg_get_u32(&r);
        for (uint32_t i = 0; i < count; i++) {
            struct msg_record rec;
            ck_assert(msg_record_decode(&r, &rec) == 0);
            h->n++;
            h->sum += (uint64_t)rec.file_id * 1000 + rec.line;
        }
    } else if (mh.type == MT_DONE)
        h->done = true;
    return 0;
}

static struct hits search(const struct corpus *c, const char *pat)
{
    struct msg_query q = {.flags = MSG_QF_CASELESS,
                          .max = 1000,
                          .timeout_ms = 60000,
                          .pattern = pat,
                          .pattern_len = (uint32_t)strlen(pat),
                          .path = "",
                          .exclude = ""};
    struct hits h = {0};
    struct search_io io = {.ctx = &h, .send = on_msg};
    search_run(c, 0, 1, &q, &io);
    ck_assert(h.done);
    return h;
}

/* Each segment is its own mapping: freeing segment 0 leaves the others
 * whole, searched as their originals are. */
START_TEST(test_free_one_segment)
{
    write_parts();
    struct corpus **segs = open_ok(0, NPARTS);
    size_t all = mapped_from_dir(), rest = pages(segs[1]->map_len) + pages(segs[2]->map_len);
    ck_assert_msg(all == pages(segs[0]->map_len) + rest, "%zu bytes mapped", all);
    corpus_free(segs[0]);
    free(segs[0]);
    segs[0] = NULL;
    ck_assert_msg(mapped_from_dir() == rest, "%zu bytes mapped after freeing segment 0, want %zu",
                  mapped_from_dir(), rest);
    uint32_t first = (uint32_t)parts[0].nfiles;
    for (size_t k = 1; k < NPARTS; k++) {
        same_corpus(segs[k], &parts[k], first, k);
        first += (uint32_t)parts[k].nfiles;
        static const char *const pats[] = {"needle", "alpha", "^[a-f]+$", "gamma"};
        for (size_t i = 0; i < 4; i++) {
            struct hits a = search(segs[k], pats[i]), b = search(&parts[k], pats[i]);
            ck_assert_msg(a.n == b.n && a.sum == b.sum, "segment %zu, \"%s\": %zu hits, want %zu",
                          k, pats[i], a.n, b.n);
        }
    }
    ck_assert(search(segs[1], "alpha").n == 1 && search(segs[2], "needle").n == 2);
    free_segs(segs, NPARTS); /* segs[0] NULL: corpus_free() and free() take it */
    ck_assert(mapped_from_dir() == 0);
}
END_TEST

static void expect_refused(unsigned shard, unsigned nshards, uint64_t config, const char *why_part)
{
    struct corpus **segs = NULL;
    size_t n = 0;
    char why[SG_ERRLEN] = "";
    int rc = snapshot_open(dir, shard, nshards, config, &segs, &n, why, sizeof why);
    if (rc == SG_OK)
        free_segs(segs, n);
    ck_assert_msg(rc == SG_ERR, "accepted, wanted refused for \"%s\"", why_part);
    ck_assert_msg(strstr(why, why_part) != NULL, "reason \"%s\", wanted \"%s\"", why, why_part);
    ck_assert_msg(mapped_from_dir() == 0, "refused, yet %zu bytes of it are still mapped",
                  mapped_from_dir());
    struct listing l = {0};
    (void)snapshot_files(dir, shard, nshards, config, on_file, &l);
    ck_assert(mapped_from_dir() == 0);
}

START_TEST(test_foreign)
{
    expect_refused(0, 3, CONFIG, "number of workers");
    expect_refused(0, 2, CONFIG + 1, "other trees or options");
    char path[128];
    snapshot_path(dir, 1, path, sizeof path);
    ck_assert(rename(snap_file(), path) == 0);
    expect_refused(1, 2, CONFIG, "number of workers"); /* made for shard 0 */
    expect_refused(0, 2, CONFIG, "none yet");
}
END_TEST

static void put_u64(off_t off, uint64_t v)
{
    int fd = open(snap_file(), O_WRONLY);
    ck_assert(fd >= 0);
    ck_assert(pwrite(fd, &v, 8, off) == 8);
    close(fd);
}

static uint64_t get_u64(off_t off)
{
    int fd = open(snap_file(), O_RDONLY);
    ck_assert(fd >= 0);
    uint64_t v;
    ck_assert(pread(fd, &v, 8, off) == 8);
    close(fd);
    return v;
}

/* A snapshot from another version of the format is not read: format 3
 * (one corpus, no segments) has the same magic and its version at the
 * same place. */
START_TEST(test_other_version)
{
    int fd = open(snap_file(), O_RDWR);
    ck_assert(fd >= 0);
    uint32_t v;
    ck_assert(pread(fd, &v, 4, 8) == 4); /* after the 8-byte magic */
    ck_assert_uint_eq(v, SNAPSHOT_VERSION);
    v = SNAPSHOT_VERSION - 1;
    ck_assert(pwrite(fd, &v, 4, 8) == 4);
    close(fd);
    char want[128];
    snprintf(want, sizeof want, "written by another version (format %u; this build reads %u)",
             SNAPSHOT_VERSION - 1, SNAPSHOT_VERSION);
    expect_refused(0, 2, CONFIG, want);
}
END_TEST

/* A count of 0 segments is refused, and so is one too large to be true,
 * before anything is allocated for it. */
START_TEST(test_segment_count)
{
    ck_assert_uint_eq(get_u64(HEAD_NSEG), 1);
    put_u64(HEAD_NSEG, 0);
    expect_refused(0, 2, CONFIG, "no segment");
    put_u64(HEAD_NSEG, (uint64_t)1 << 40);
    expect_refused(0, 2, CONFIG, "segment table does not fit");
    put_u64(HEAD_NSEG, SNAPSHOT_MAX_SEGMENTS + 1);
    expect_refused(0, 2, CONFIG, "segment table does not fit");
    put_u64(HEAD_NSEG, 2); /* the table then holds bytes of the padding */
    expect_refused(0, 2, CONFIG, "segment 1: ");
    put_u64(HEAD_NSEG, 1);
    struct corpus **segs = open_ok(0, 1);
    free_segs(segs, 1);
}
END_TEST

/* Segment k's table entry. */
static off_t seg_entry(size_t k)
{
    return TABLE + 16 * (off_t)k;
}

/* Add d to the table's field at off (of the file), see it refused for
 * why, and put it back. */
static void table_refused(off_t off, int64_t d, const char *why)
{
    uint64_t was = get_u64(off);
    put_u64(off, was + (uint64_t)d);
    expect_refused(0, 2, CONFIG, why);
    put_u64(off, was);
}

/* A segment table entry out of place is refused, saying how. */
START_TEST(test_segment_table)
{
    write_parts();
    uint64_t off0 = get_u64(seg_entry(0)), off1 = get_u64(seg_entry(1));
    uint64_t len1 = get_u64(seg_entry(1) + 8), off2 = get_u64(seg_entry(2));
    ck_assert(off0 == 4096 && off1 % 4096 == 0 && off1 > off0 && len1 > 40000);
    table_refused(seg_entry(1), 1 << 30, "segment 1: lies outside the file (truncated?)");
    table_refused(seg_entry(1) + 8, 1 << 30, "segment 1: lies outside the file (truncated?)");
    table_refused(seg_entry(1), 8, "segment 1: does not start on a 4096-byte boundary");
    table_refused(seg_entry(1), -4096, "segment 1: overlaps the segment before it");
    table_refused(seg_entry(1), (int64_t)(off0 - off1), "segment 1: overlaps the segment before");
    table_refused(seg_entry(0), -4096, "segment 0: overlaps the segment table");
    table_refused(seg_entry(1) + 8, (int64_t)(off2 - off1 - len1) + 8,
                  "segment 2: overlaps the segment before it");
    table_refused(seg_entry(2) + 8, -1, "the file goes on past its last segment");
    /* A gap of a page more than the format puts: segment 1 starts a page
     * late and ends where it did. */
    put_u64(seg_entry(1), off1 + 4096);
    table_refused(seg_entry(1) + 8, -4096, "segment 1: is not where the format puts it");
    put_u64(seg_entry(1), off1);
    /* A table that passes the structural checks is still covered by the
     * header's checksum: here the last segment a byte shorter, and the
     * file cut to match. */
    struct stat st;
    ck_assert(stat(snap_file(), &st) == 0);
    put_u64(seg_entry(2) + 8, get_u64(seg_entry(2) + 8) - 1);
    ck_assert(truncate(snap_file(), st.st_size - 1) == 0);
    expect_refused(0, 2, CONFIG, "header or segment table does not match its checksum");
}
END_TEST

/* Flip one byte at off of the file. */
static void damage(off_t off)
{
    int fd = open(snap_file(), O_RDWR);
    ck_assert(fd >= 0);
    unsigned char b;
    ck_assert(pread(fd, &b, 1, off) == 1);
    b ^= 0x5a;
    ck_assert(pwrite(fd, &b, 1, off) == 1);
    close(fd);
}

/* Every 97th byte from the first, one at a time: each is refused (the
 * header's fields are checked one by one, the rest is checksummed or is
 * padding, which must be zero). */
static void each_byte_refused(void)
{
    struct stat st;
    ck_assert(stat(snap_file(), &st) == 0);
    unsigned refused = 0, tried = 0;
    for (off_t off = 0; off < st.st_size; off += 97) {
        damage(off);
        struct corpus **segs;
        size_t n;
        char why[SG_ERRLEN];
        tried++;
        if (snapshot_open(dir, 0, 2, CONFIG, &segs, &n, why, sizeof why) == SG_OK)
            free_segs(segs, n);
        else
            refused++;
        damage(off); /* back */
    }
    ck_assert_msg(refused == tried, "only %u of %u damaged bytes refused", refused, tried);
    ck_assert(mapped_from_dir() == 0);
}

START_TEST(test_damaged_anywhere)
{
    each_byte_refused();
    damage(12); /* the header's version */
    expect_refused(0, 2, CONFIG, "another version");
    damage(12);
    damage(HEAD_SUM);
    expect_refused(0, 2, CONFIG, "header or segment table does not match its checksum");
}
END_TEST

START_TEST(test_segments_damaged_anywhere)
{
    write_parts();
    each_byte_refused();
}
END_TEST

/* Segment k's section i: where it starts in the file, and its length. */
static off_t section_at(size_t k, int i, uint64_t *len)
{
    uint64_t seg = get_u64(seg_entry(k));
    off_t at = (off_t)seg + SEG_SECTIONS + 24 * i;
    *len = get_u64(at + 8);
    return (off_t)(seg + get_u64(at));
}

/* Damage to the second segment is found and named. */
START_TEST(test_second_segment_damaged)
{
    write_parts();
    uint64_t len;
    off_t text = section_at(1, SEC_ARENA, &len);
    ck_assert(len > 40000);
    damage(text + 20000);
    expect_refused(0, 2, CONFIG, "segment 1: the text does not match its checksum");
    damage(text + 20000);
    off_t postings = section_at(1, SEC_POSTINGS, &len);
    ck_assert(len > 0);
    damage(postings + (off_t)len / 2);
    expect_refused(0, 2, CONFIG, "segment 1: the index postings does not match its checksum");
    damage(postings + (off_t)len / 2);
    damage((off_t)get_u64(seg_entry(1)) + 20); /* in its header's counts */
    expect_refused(0, 2, CONFIG, "segment 1: its header does not match its checksum");
    damage((off_t)get_u64(seg_entry(1)) + 20);
    struct corpus **segs = open_ok(0, NPARTS);
    free_segs(segs, NPARTS);
    ck_assert(truncate(snap_file(), text + 100) == 0);
    expect_refused(0, 2, CONFIG, "segment 1: lies outside the file (truncated?)");
}
END_TEST

START_TEST(test_truncated)
{
    for (int many = 0; many < 2; many++) {
        if (many)
            write_parts();
        struct stat st;
        ck_assert(stat(snap_file(), &st) == 0);
        for (off_t len = st.st_size - 1; len > 0; len = len * 2 / 3) {
            ck_assert(truncate(snap_file(), len) == 0);
            struct corpus **segs;
            size_t n;
            char why[SG_ERRLEN];
            int rc = snapshot_open(dir, 0, 2, CONFIG, &segs, &n, why, sizeof why);
            if (rc == SG_OK)
                free_segs(segs, n);
            ck_assert_msg(rc == SG_ERR, "cut to %lld bytes: accepted", (long long)len);
        }
    }
}
END_TEST

/* Write orig, spoilt by the caller, as the snapshot: its checksums match
 * (what a writer bug, or a forger, would leave), so only the structural
 * checks stand between it and a search; it must be refused. */
static void rewritten_refused(const char *why_part)
{
    write_segs(0, (struct corpus *const[]){&orig}, 1);
    expect_refused(0, 2, CONFIG, why_part);
}

/* A block past the end of its file passed the old check (its length was
 * compared with the file's end minus its offset, which wrapped) and a
 * search read the text from there: found by fuzz/fuzz_snapshot.c. */
START_TEST(test_block_past_its_file)
{
    orig.blocks[0].off = orig.files[0].off + orig.files[0].len + 0x20000;
    rewritten_refused("segment 0: a block lies outside its file");
}
END_TEST

START_TEST(test_block_tables_wrong)
{
    orig.files[3].first_block = orig.files[2].first_block; /* big.txt's */
    rewritten_refused("block");
}
END_TEST

/* A file with text but no line entry: a search took a line's length as
 * 0 - 1. */
START_TEST(test_file_without_lines)
{
    orig.files[3].nlines = 0;
    rewritten_refused("line table does not match");
}
END_TEST

START_TEST(test_line_table_wrong)
{
    orig.line_off[orig.files[0].first_line + 1]++; /* "int beta;" starts a byte late */
    rewritten_refused("line table does not match");
}
END_TEST

/* A line that runs past a '\n' (its file one line short): every start
 * rises and every line ends in one, but the text holds one more. */
START_TEST(test_newline_inside_a_line)
{
    ck_assert(orig.files[0].nlines >= 2);
    orig.files[0].nlines--;
    rewritten_refused("line table does not match");
}
END_TEST

/* The header's count of files with a wide fold was covered by no
 * checksum and checked against nothing: a wrong one made searches skip
 * such files. */
START_TEST(test_wide_fold_count)
{
    orig.wide_fold = 1; /* no file holds one */
    rewritten_refused("wide fold");
}
END_TEST

START_TEST(test_files_out_of_order)
{
    orig.files[0].path = "zz.c"; /* after b/empty.txt */
    rewritten_refused("segment 0: the files are not in (tree, path) order");
}
END_TEST

/* Files in order within each segment, not across them: the last of one
 * segment must sort before the first of the next, by path, and by tree
 * before that. */
START_TEST(test_order_across_segments)
{
    write_segs(0, (struct corpus *const[]){&parts[1], &parts[0], &parts[2]}, NPARTS);
    expect_refused(0, 2, CONFIG, "segment 1: its first file is not after the last file");
    expect_refused(0, 2, CONFIG, "(tree, path) order");
    write_segs(0, (struct corpus *const[]){&parts[0], &parts[2], &parts[1]}, NPARTS);
    expect_refused(0, 2, CONFIG, "segment 2: its first file is not after"); /* tree 1, then 0 */
    /* The same (tree, path) on both sides of the boundary: a file twice. */
    struct corpus dup, e;
    new_corpus(&dup);
    add(&dup, 9, 0, "b/empty.txt", "");
    corpus_seal(&dup);
    write_segs(0, (struct corpus *const[]){&parts[0], &dup}, 2);
    expect_refused(0, 2, CONFIG, "segment 1: its first file is not after");
    corpus_free(&dup);
    /* An empty segment between two is no boundary to hide behind. */
    new_corpus(&e);
    corpus_seal(&e);
    write_segs(0, (struct corpus *const[]){&parts[1], &e, &parts[0]}, 3);
    expect_refused(0, 2, CONFIG, "segment 2: its first file is not after");
    write_segs(0, (struct corpus *const[]){&parts[0], &e, &parts[1], &e}, 4);
    struct corpus **segs = open_ok(0, 4);
    ck_assert(segs[2]->files[0].id == 2 && segs[3]->nfiles == 0);
    free_segs(segs, 4);
    corpus_free(&e);
}
END_TEST

START_TEST(test_text_pad)
{
    orig.buf[orig.len] = 'x';
    rewritten_refused("pad");
}
END_TEST

/* No byte of the file goes unchecked: the padding after the segment
 * table, before a section, after a segment, and bytes past the last
 * segment, were read by nothing. */
START_TEST(test_padding_and_tail)
{
    damage(TABLE + 16 + 8); /* the table of one segment ends at 80 */
    expect_refused(0, 2, CONFIG, "segment table is followed by padding that is not zero");
    damage(TABLE + 16 + 8);
    damage(4096 + SEG_FIRST_SEC - 4); /* segment 0's header is 288 bytes */
    expect_refused(0, 2, CONFIG, "segment 0: the file table follows padding that is not zero");
    damage(4096 + SEG_FIRST_SEC - 4);
    int fd = open(snap_file(), O_WRONLY | O_APPEND);
    ck_assert(fd >= 0);
    ck_assert(write(fd, "", 1) == 1);
    close(fd);
    expect_refused(0, 2, CONFIG, "past its last segment");
    write_parts();
    off_t end0 = (off_t)(get_u64(seg_entry(0)) + get_u64(seg_entry(0) + 8));
    ck_assert(end0 % 4096 != 0);
    damage(end0);
    expect_refused(0, 2, CONFIG, "segment 0: the segment is followed by padding that is not zero");
}
END_TEST

Suite *suite_snapshot(void)
{
    Suite *s = suite_create("snapshot");
    TCase *tc = tcase_create("snapshot_open");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_round_trip_segments);
    tcase_add_test(tc, test_foreign);
    tcase_add_test(tc, test_other_version);
    tcase_add_test(tc, test_segment_count);
    tcase_add_test(tc, test_segment_table);
    tcase_add_test(tc, test_empty_shard);
    tcase_add_test(tc, test_write_no_segment);
    tcase_add_test(tc, test_free_one_segment);
    tcase_add_test(tc, test_damaged_anywhere);
    tcase_add_test(tc, test_segments_damaged_anywhere);
    tcase_add_test(tc, test_second_segment_damaged);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_block_past_its_file);
    tcase_add_test(tc, test_block_tables_wrong);
    tcase_add_test(tc, test_file_without_lines);
    tcase_add_test(tc, test_line_table_wrong);
    tcase_add_test(tc, test_newline_inside_a_line);
    tcase_add_test(tc, test_wide_fold_count);
    tcase_add_test(tc, test_files_out_of_order);
    tcase_add_test(tc, test_order_across_segments);
    tcase_add_test(tc, test_text_pad);
    tcase_add_test(tc, test_padding_and_tail);
    suite_add_tcase(s, tc);
    return s;
}
