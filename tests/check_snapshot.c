/*
 * check_snapshot.c - unit tests for src/snapshot.c: a corpus written and
 * mapped back searches the same; a snapshot damaged anywhere (each
 * section), cut short, or made for another shard, shard count or
 * configuration is refused, saying why; so is one whose checksums match
 * but whose tables are wrong (as a writer bug would leave).
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
#include "snapshot.h"
#include "util.h"

#define CONFIG 0x1234abcdull

static char dir[64];
static struct corpus orig;

static void add(uint32_t id, uint32_t tree, const char *path, const char *text)
{
    ck_assert(corpus_add(&orig, id, path, text, strlen(text)) == CORPUS_ADDED);
    struct corpus_file *f = &orig.files[orig.nfiles - 1];
    f->tree = tree;
    f->stamp = (struct file_stamp){
        .size = strlen(text), .dev = 7, .ino = 100 + id, .mtime_ns = 1000000000ll * id};
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/check_snapshot.XXXXXX");
    ck_assert(mkdtemp(dir) != NULL);
    corpus_init(&orig);
    corpus_enable_index(&orig);
    add(0, 0, "a.c", "int alpha;\nint beta;\n");
    add(1, 0, "b/empty.txt", "");
    char *big = xmalloc(40000);
    for (size_t i = 0; i < 40000; i++)
        big[i] = i % 50 == 49 ? '\n' : (char)('a' + i % 26);
    big[39999] = '\n';
    ck_assert(corpus_add(&orig, 2, "big.txt", big, 40000) == CORPUS_ADDED);
    free(big);
    add(3, 1, "caf\xc3\xa9.md", "needle\n");
    corpus_seal(&orig);
    char err[SG_ERRLEN];
    ck_assert_msg(snapshot_write(dir, 0, 2, CONFIG, &orig, NULL, err, sizeof err) == SG_OK, "%s",
                  err);
}

static void teardown(void)
{
    corpus_free(&orig);
    check_rm_tree(dir);
}

static char *snap_file(void)
{
    static char path[128];
    snapshot_path(dir, 0, path, sizeof path);
    return path;
}

START_TEST(test_round_trip)
{
    struct corpus c;
    char why[SG_ERRLEN];
    ck_assert_msg(snapshot_open(dir, 0, 2, CONFIG, &c, why, sizeof why) == SG_OK, "%s", why);
    ck_assert_msg(c.nfiles == orig.nfiles && c.len == orig.len && c.nlines == orig.nlines &&
                      c.nblocks == orig.nblocks,
                  "counts differ");
    ck_assert(!memcmp(c.buf, orig.buf, (size_t)orig.len));
    for (size_t i = 0; i < c.nfiles; i++) {
        const struct corpus_file *a = &c.files[i], *b = &orig.files[i];
        ck_assert_msg(!strcmp(a->path, b->path) && a->tree == b->tree && a->off == b->off &&
                          a->len == b->len && a->nlines == b->nlines &&
                          stamp_same(&a->stamp, &b->stamp) && a->first_block == b->first_block,
                      "file %zu differs", i);
    }
    /* The index answers as the original's does. */
    static const uint32_t tris[] = {'a' << 16 | 'l' << 8 | 'p', 'n' << 16 | 'e' << 8 | 'e',
                                    'z' << 16 | 'z' << 8 | 'z'};
    for (size_t k = 0; k < 3; k++)
        ck_assert_msg(tindex_count(c.index, tris[k]) == tindex_count(orig.index, tris[k]),
                      "trigram %zu: %zu postings, want %zu", k, tindex_count(c.index, tris[k]),
                      tindex_count(orig.index, tris[k]));
    corpus_free(&c);
}
END_TEST

/* A shard with no files (a small tree, many workers) round-trips too. */
START_TEST(test_empty_shard)
{
    struct corpus e, c;
    char why[SG_ERRLEN];
    corpus_init(&e);
    corpus_enable_index(&e);
    corpus_seal(&e);
    ck_assert_msg(snapshot_write(dir, 1, 2, CONFIG, &e, NULL, why, sizeof why) == SG_OK, "%s", why);
    ck_assert_msg(snapshot_open(dir, 1, 2, CONFIG, &c, why, sizeof why) == SG_OK, "%s", why);
    ck_assert(c.nfiles == 0 && c.len == 0 && c.nlines == 0 && c.nblocks == 0);
    ck_assert(tindex_count(c.index, 'a' << 16 | 'b' << 8 | 'c') == 0);
    corpus_free(&c);
    corpus_free(&e);
}
END_TEST

static void expect_refused(unsigned shard, unsigned nshards, uint64_t config, const char *why_part)
{
    struct corpus c;
    char why[SG_ERRLEN] = "";
    int rc = snapshot_open(dir, shard, nshards, config, &c, why, sizeof why);
    if (rc == SG_OK)
        corpus_free(&c);
    ck_assert_msg(rc == SG_ERR, "accepted, wanted refused for \"%s\"", why_part);
    ck_assert_msg(strstr(why, why_part) != NULL, "reason \"%s\", wanted \"%s\"", why, why_part);
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

/* A snapshot from another version of the format is not read. */
START_TEST(test_other_version)
{
    int fd = open(snap_file(), O_RDWR);
    ck_assert(fd >= 0);
    uint32_t v;
    ck_assert(pread(fd, &v, 4, 8) == 4); /* after the 8-byte magic */
    ck_assert_uint_eq(v, SNAPSHOT_VERSION);
    v++;
    ck_assert(pwrite(fd, &v, 4, 8) == 4);
    close(fd);
    expect_refused(0, 2, CONFIG, "another version");
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

START_TEST(test_damaged_anywhere)
{
    struct stat st;
    ck_assert(stat(snap_file(), &st) == 0);
    /* Every 97th byte past the header, one at a time: each is refused
     * (a section's checksum covers it, or it is padding, which must be
     * zero). */
    unsigned refused = 0, tried = 0;
    for (off_t off = 256; off < st.st_size; off += 97) {
        damage(off);
        struct corpus c;
        char why[SG_ERRLEN];
        tried++;
        if (snapshot_open(dir, 0, 2, CONFIG, &c, why, sizeof why) == SG_OK)
            corpus_free(&c);
        else
            refused++;
        damage(off); /* back */
    }
    ck_assert_msg(refused == tried, "only %u of %u damaged bytes refused", refused, tried);
    damage(12); /* the header's version */
    expect_refused(0, 2, CONFIG, "another version");
}
END_TEST

START_TEST(test_truncated)
{
    struct stat st;
    ck_assert(stat(snap_file(), &st) == 0);
    for (off_t len = st.st_size - 1; len > 0; len = len * 2 / 3) {
        ck_assert(truncate(snap_file(), len) == 0);
        struct corpus c;
        char why[SG_ERRLEN];
        int rc = snapshot_open(dir, 0, 2, CONFIG, &c, why, sizeof why);
        if (rc == SG_OK)
            corpus_free(&c);
        ck_assert_msg(rc == SG_ERR, "cut to %lld bytes: accepted", (long long)len);
    }
}
END_TEST

/* Write orig, spoilt by the caller, as the snapshot: its checksums match
 * (what a writer bug, or a forger, would leave), so only the structural
 * checks stand between it and a search; it must be refused. */
static void rewritten_refused(const char *why_part)
{
    char err[SG_ERRLEN];
    ck_assert_msg(snapshot_write(dir, 0, 2, CONFIG, &orig, NULL, err, sizeof err) == SG_OK, "%s",
                  err);
    expect_refused(0, 2, CONFIG, why_part);
}

/* A block past the end of its file passed the old check (its length was
 * compared with the file's end minus its offset, which wrapped) and a
 * search read the text from there: found by fuzz/fuzz_snapshot.c. */
START_TEST(test_block_past_its_file)
{
    orig.blocks[0].off = orig.files[0].off + orig.files[0].len + 0x20000;
    rewritten_refused("a block lies outside its file");
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
    rewritten_refused("(tree, path) order");
}
END_TEST

START_TEST(test_text_pad)
{
    orig.buf[orig.len] = 'x';
    rewritten_refused("pad");
}
END_TEST

/* No byte of the file goes unchecked: the padding before a section (here
 * the header's tail), and bytes past the last section, were read by
 * nothing. */
START_TEST(test_padding_and_tail)
{
    damage(316); /* the header is 312 bytes; the first section is at 320 */
    expect_refused(0, 2, CONFIG, "padding that is not zero");
    damage(316);
    int fd = open(snap_file(), O_WRONLY | O_APPEND);
    ck_assert(fd >= 0);
    ck_assert(write(fd, "", 1) == 1);
    close(fd);
    expect_refused(0, 2, CONFIG, "past its last section");
}
END_TEST

Suite *suite_snapshot(void)
{
    Suite *s = suite_create("snapshot");
    TCase *tc = tcase_create("snapshot_open");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_foreign);
    tcase_add_test(tc, test_other_version);
    tcase_add_test(tc, test_empty_shard);
    tcase_add_test(tc, test_damaged_anywhere);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_block_past_its_file);
    tcase_add_test(tc, test_block_tables_wrong);
    tcase_add_test(tc, test_file_without_lines);
    tcase_add_test(tc, test_line_table_wrong);
    tcase_add_test(tc, test_wide_fold_count);
    tcase_add_test(tc, test_files_out_of_order);
    tcase_add_test(tc, test_text_pad);
    tcase_add_test(tc, test_padding_and_tail);
    suite_add_tcase(s, tc);
    return s;
}
