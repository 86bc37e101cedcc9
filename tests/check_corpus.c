/*
 * check_corpus.c - unit tests for src/corpus.c: normalising and storing
 * files (corpus_add), mapping arena offsets back to files and lines, and
 * loading a shard from disk (corpus_load).
 *
 * The mapping tests check every byte of the arena against a table built
 * independently from the files' expected text, so an off-by-one at any
 * file or line boundary (including empty files, which share an offset
 * with their neighbour) shows up with the offset that broke.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "check_suites.h"
#include "check_util.h"
#include "corpus.h"
#include "tindex.h"
#include "utf8.h"
#include "util.h"
#include "walk.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))
#define FFFD      "\xef\xbf\xbd"

static struct corpus c;

static void setup(void)
{
    corpus_init(&c);
}

static void teardown(void)
{
    corpus_free(&c);
}

/* Add a file whose contents are a string literal (len given: may hold NUL). */
static enum corpus_add_result add(uint32_t id, const char *path, const char *data, size_t len)
{
    return corpus_add(&c, id, path, data, len);
}

/* s[0..n) with \n, \r and non-ASCII bytes escaped, for messages (two
 * static buffers, used in turn). */
static const char *esc(const char *s, size_t n)
{
    static char buf[2][512];
    static int which;
    char *out = buf[which++ % 2];
    size_t o = 0;
    for (size_t i = 0; i < n && o < sizeof buf[0] - 8; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n')
            o += (size_t)snprintf(out + o, sizeof buf[0] - o, "\\n");
        else if (ch == '\r')
            o += (size_t)snprintf(out + o, sizeof buf[0] - o, "\\r");
        else if (ch < 0x20 || ch >= 0x7f)
            o += (size_t)snprintf(out + o, sizeof buf[0] - o, "\\x%02x", ch);
        else
            out[o++] = (char)ch;
    }
    out[o] = '\0';
    return out;
}

/* The stored text of file f, compared with want. */
static void check_text(size_t fi, const char *want, size_t want_len)
{
    ck_assert_msg(fi < c.nfiles, "file %zu missing: %zu files", fi, c.nfiles);
    const struct corpus_file *f = &c.files[fi];
    ck_assert_msg(f->len == want_len && memcmp(c.buf + f->off, want, want_len) == 0,
                  "file %zu (%s) stored %llu bytes \"%s\", want %zu bytes \"%s\"", fi, f->path,
                  (unsigned long long)f->len, esc(c.buf + f->off, (size_t)f->len), want_len,
                  esc(want, want_len));
}

static void check_line_text(size_t fi, uint32_t n, const char *want)
{
    const char *s;
    size_t len;
    corpus_line(&c, &c.files[fi], n, &s, &len);
    ck_assert_msg(len == strlen(want) && memcmp(s, want, len) == 0,
                  "file %zu line %u is \"%s\", want \"%s\"", fi, n, esc(s, len),
                  esc(want, strlen(want)));
}

/* ------------------------------------------------------------------ */
/* corpus_add                                                          */
/* ------------------------------------------------------------------ */

START_TEST(test_add_plain)
{
    enum corpus_add_result r = add(3, "a.txt", "one\ntwo\n", 8);
    ck_assert_msg(r == CORPUS_ADDED, "corpus_add returned %d", r);
    ck_assert_msg(c.nfiles == 1 && c.nlines == 2 && c.len == 8,
                  "nfiles %zu nlines %llu len %llu, want 1 2 8", c.nfiles,
                  (unsigned long long)c.nlines, (unsigned long long)c.len);
    const struct corpus_file *f = &c.files[0];
    ck_assert_msg(f->id == 3 && strcmp(f->path, "a.txt") == 0 && f->off == 0 && f->nlines == 2 &&
                      f->first_line == 0,
                  "file: id %u path %s off %llu nlines %u first_line %llu", f->id, f->path,
                  (unsigned long long)f->off, f->nlines, (unsigned long long)f->first_line);
    check_text(0, "one\ntwo\n", 8);
    check_line_text(0, 0, "one");
    check_line_text(0, 1, "two");
    ck_assert_msg(c.raw_bytes == 8 && c.repaired == 0, "raw_bytes %llu repaired %u",
                  (unsigned long long)c.raw_bytes, c.repaired);
}
END_TEST

START_TEST(test_add_no_final_newline)
{
    add(0, "a", "one\ntwo", 7);
    check_text(0, "one\ntwo\n", 8);
    ck_assert_msg(c.files[0].nlines == 2, "nlines %u, want 2", c.files[0].nlines);
    check_line_text(0, 1, "two");
    ck_assert_msg(c.raw_bytes == 7, "raw_bytes %llu counts the added newline",
                  (unsigned long long)c.raw_bytes);
    add(1, "b", "x", 1);
    check_text(1, "x\n", 2);
    ck_assert_msg(c.files[1].off == 8 && c.files[1].nlines == 1, "second file at %llu, %u lines",
                  (unsigned long long)c.files[1].off, c.files[1].nlines);
}
END_TEST

START_TEST(test_add_empty)
{
    enum corpus_add_result r = add(0, "empty", "", 0);
    ck_assert_msg(r == CORPUS_ADDED, "an empty file returned %d", r);
    ck_assert_msg(c.nfiles == 1 && c.files[0].nlines == 0 && c.files[0].len == 0 && c.len == 0 &&
                      c.nlines == 0,
                  "empty file: nfiles %zu nlines %u len %llu; corpus len %llu", c.nfiles,
                  c.files[0].nlines, (unsigned long long)c.files[0].len, (unsigned long long)c.len);
    /* a file of one empty line is not empty */
    add(1, "nl", "\n", 1);
    ck_assert_msg(c.files[1].nlines == 1 && c.files[1].len == 1, "\"\\n\": %u lines, %llu bytes",
                  c.files[1].nlines, (unsigned long long)c.files[1].len);
    check_line_text(1, 0, "");
}
END_TEST

START_TEST(test_add_crlf)
{
    add(0, "dos", "a\r\nb\r\n", 6);
    check_text(0, "a\nb\n", 4);
    add(1, "lone", "a\rb\r\nc", 6); /* a lone CR is text */
    check_text(1, "a\rb\nc\n", 6);
    check_line_text(1, 0, "a\rb");
    add(2, "mixed", "x\r\n\r\n\ny", 7);
    check_text(2, "x\n\n\ny\n", 6);
    ck_assert_msg(c.files[2].nlines == 4, "mixed: %u lines, want 4", c.files[2].nlines);
    add(3, "no-final", "p\r\nq", 4);
    check_text(3, "p\nq\n", 4);
}
END_TEST

START_TEST(test_add_binary)
{
    add(0, "a", "text\n", 5);
    uint64_t len = c.len, nlines = c.nlines, raw = c.raw_bytes;
    enum corpus_add_result r = add(1, "bin", "ab\0cd\n", 6);
    ck_assert_msg(r == CORPUS_BINARY, "a file with a NUL returned %d, want CORPUS_BINARY", r);
    ck_assert_msg(c.nfiles == 1 && c.len == len && c.nlines == nlines && c.raw_bytes == raw,
                  "a binary file was stored: nfiles %zu len %llu nlines %llu raw %llu", c.nfiles,
                  (unsigned long long)c.len, (unsigned long long)c.nlines,
                  (unsigned long long)c.raw_bytes);
    r = add(2, "nul-last", "abc\0", 4);
    ck_assert_msg(r == CORPUS_BINARY, "a trailing NUL returned %d", r);
    r = add(3, "nul-only", "\0", 1);
    ck_assert_msg(r == CORPUS_BINARY && c.nfiles == 1, "\"\\0\" returned %d, nfiles %zu", r,
                  c.nfiles);
    /* the next text file lands right after the first */
    add(4, "b", "more\n", 5);
    ck_assert_msg(c.nfiles == 2 && c.files[1].off == 5 && c.files[1].id == 4,
                  "after binaries: nfiles %zu off %llu id %u", c.nfiles,
                  (unsigned long long)c.files[1].off, c.files[1].id);
}
END_TEST

/* AddressSanitizer maps terabytes of shadow memory: no address-space limit
 * can be set under it. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#ifndef UNDER_ASAN
static uint64_t mapped_bytes(void)
{
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    ck_assert_msg(f != NULL, "cannot open /proc/self/statm");
    ck_assert_int_eq(fscanf(f, "%lu", &pages), 1);
    fclose(f);
    return (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void assert_unchanged(const char *what, size_t nfiles, uint64_t len, uint64_t nlines)
{
    ck_assert_msg(c.nfiles == nfiles && c.len == len && c.nlines == nlines,
                  "%s: the corpus changed: nfiles %zu (was %zu), len %llu (was %llu), "
                  "nlines %llu (was %llu)",
                  what, c.nfiles, nfiles, (unsigned long long)c.len, (unsigned long long)len,
                  (unsigned long long)c.nlines, (unsigned long long)nlines);
}

/* With no memory for a file's text or for its line table, corpus_add
 * answers CORPUS_NOMEM and leaves the corpus as it was. */
START_TEST(test_add_nomem)
{
    const size_t mib = 1 << 20;
    size_t many_len = 8 * mib, huge_len = 96 * mib;
    char *many = xmalloc(many_len), *huge = xmalloc(huge_len);
    memset(many, '\n', many_len); /* 8 Mi lines: a 32 MiB line table */
    memset(huge, 'x', huge_len);
    huge[huge_len - 1] = '\n';
    add(0, "a", "alpha\n", 6);
    size_t nfiles = c.nfiles;
    uint64_t len = c.len, nlines = c.nlines;

    struct rlimit old, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_AS, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)(mapped_bytes() + 24 * mib);
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &lim), 0);
    enum corpus_add_result r1 = corpus_add(&c, 1, "many-lines", many, many_len);
    enum corpus_add_result r2 = corpus_add(&c, 2, "huge", huge, huge_len);
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &old), 0);

    ck_assert_msg(r1 == CORPUS_NOMEM, "no room for the line table: %d, want CORPUS_NOMEM", r1);
    assert_unchanged("after the line table failed", nfiles, len, nlines);
    ck_assert_msg(r2 == CORPUS_NOMEM, "no room for the text: %d, want CORPUS_NOMEM", r2);
    assert_unchanged("after the text failed", nfiles, len, nlines);

    /* with memory again, both go in, after "a" */
    ck_assert_int_eq(corpus_add(&c, 1, "many-lines", many, many_len), CORPUS_ADDED);
    ck_assert_int_eq(corpus_add(&c, 2, "huge", huge, huge_len), CORPUS_ADDED);
    ck_assert_msg(c.nfiles == 3 && c.files[1].off == 6 && c.files[1].nlines == many_len &&
                      c.files[2].nlines == 1 && c.files[2].len == huge_len,
                  "after the retry: nfiles %zu, many-lines at %llu with %u lines, huge %u "
                  "lines of %llu bytes",
                  c.nfiles, (unsigned long long)c.files[1].off, c.files[1].nlines,
                  c.files[2].nlines, (unsigned long long)c.files[2].len);
    free(many);
    free(huge);
}
END_TEST
#endif

START_TEST(test_add_invalid_utf8)
{
    add(0, "latin1", "caf\xe9\n", 5);
    check_text(0, "caf" FFFD "\n", 7);
    ck_assert_msg(c.repaired == 1, "repaired %u, want 1", c.repaired);
    ck_assert_msg(c.raw_bytes == 5, "raw_bytes %llu, want 5 (bytes read)",
                  (unsigned long long)c.raw_bytes);
    add(1, "mixed", "\xff\r\nok \xc3\xa9\n\xed\xa0\x80", 12);
    check_text(1, FFFD "\nok \xc3\xa9\n" FFFD FFFD FFFD "\n", 20);
    ck_assert_msg(c.files[1].nlines == 3, "mixed: %u lines, want 3", c.files[1].nlines);
    ck_assert_msg(utf8_valid(c.buf, c.len, NULL), "the arena is not valid UTF-8");
    ck_assert_msg(c.repaired == 2, "repaired %u, want 2", c.repaired);
    add(2, "valid", "\xc3\xa9\n", 3);
    ck_assert_msg(c.repaired == 2, "a valid file counted as repaired");
}
END_TEST

/* ------------------------------------------------------------------ */
/* corpus_file_at / corpus_line_at / corpus_line / corpus_line_start   */
/* ------------------------------------------------------------------ */

/* Files as added, with their stored text; empty ones between and at
 * both ends. */
static const struct {
    const char *path, *data, *stored;
} layout[] = {
    {"0-empty", "", ""},
    {"a.txt", "alpha\nbeta\n", "alpha\nbeta\n"},
    {"b-empty", "", ""},
    {"c.txt", "gamma", "gamma\n"},
    {"d-empty", "", ""},
    {"e-empty", "", ""},
    {"f.txt", "\n\ndelta\r\nx", "\n\ndelta\nx\n"},
    {"g.txt", "z\n", "z\n"},
    {"h-empty", "", ""},
};

static void setup_layout(void)
{
    corpus_init(&c);
    for (size_t i = 0; i < NCASES(layout); i++)
        corpus_add(&c, (uint32_t)(10 * i), layout[i].path, layout[i].data, strlen(layout[i].data));
}

START_TEST(test_layout_files)
{
    uint64_t off = 0, lines = 0;
    ck_assert_msg(c.nfiles == NCASES(layout), "nfiles %zu, want %zu", c.nfiles, NCASES(layout));
    for (size_t i = 0; i < NCASES(layout); i++) {
        const struct corpus_file *f = &c.files[i];
        size_t len = strlen(layout[i].stored);
        uint32_t nl = 0;
        for (size_t k = 0; k < len; k++)
            nl += layout[i].stored[k] == '\n';
        ck_assert_msg(f->off == off && f->len == len && f->nlines == nl && f->first_line == lines,
                      "%s: off %llu len %llu nlines %u first %llu, want %llu %zu %u %llu", f->path,
                      (unsigned long long)f->off, (unsigned long long)f->len, f->nlines,
                      (unsigned long long)f->first_line, (unsigned long long)off, len, nl,
                      (unsigned long long)lines);
        check_text(i, layout[i].stored, len);
        off += len;
        lines += nl;
    }
    ck_assert_msg(c.len == off && c.nlines == lines, "corpus len %llu nlines %llu",
                  (unsigned long long)c.len, (unsigned long long)c.nlines);
}
END_TEST

START_TEST(test_layout_every_offset)
{
    /* Walk the expected text byte by byte: for each arena offset, the
     * non-empty file and the line that hold it. */
    uint64_t off = 0;
    for (size_t i = 0; i < NCASES(layout); i++) {
        const char *t = layout[i].stored;
        uint32_t line = 0;
        for (size_t k = 0; t[k]; k++, off++) {
            size_t fi = corpus_file_at(&c, off);
            ck_assert_msg(fi == i, "corpus_file_at(%llu) = %zu (%s), want %zu (%s)",
                          (unsigned long long)off, fi, fi < c.nfiles ? c.files[fi].path : "?", i,
                          layout[i].path);
            uint32_t got = corpus_line_at(&c, &c.files[fi], off);
            ck_assert_msg(got == line, "corpus_line_at(%s, %llu) = %u, want %u", layout[i].path,
                          (unsigned long long)off, got, line);
            if (t[k] == '\n')
                line++;
        }
    }
}
END_TEST

/* corpus_line_after() from any line at or before the right one (as the
 * scanner's cursor has it), over lines of many lengths, empty ones too. */
START_TEST(test_line_after)
{
    struct corpus lc;
    corpus_init(&lc);
    char text[8192];
    size_t n = 0;
    uint32_t nlines = 300;
    for (uint32_t i = 0; i < nlines; i++) {
        for (uint32_t k = 0; k < (i * 7) % 13; k++)
            text[n++] = (char)('a' + k);
        text[n++] = '\n';
    }
    corpus_add(&lc, 1, "lines.txt", text, n);
    const struct corpus_file *f = &lc.files[0];
    ck_assert_uint_eq(f->nlines, nlines);
    uint32_t line = 0;
    for (size_t off = 0; off < n; off++) {
        uint32_t froms[] = {0, 1, line / 3, line / 2, line > 0 ? line - 1 : 0, line};
        for (size_t j = 0; j < NCASES(froms); j++) {
            if (froms[j] > line)
                continue;
            uint32_t got = corpus_line_after(&lc, f, f->off + off, froms[j]);
            ck_assert_msg(got == line, "corpus_line_after(off %zu, from %u) = %u, want %u", off,
                          froms[j], got, line);
        }
        if (text[off] == '\n')
            line++;
    }
    corpus_free(&lc);
}
END_TEST

START_TEST(test_layout_lines)
{
    static const struct {
        size_t file;
        uint32_t line;
        const char *text;
    } want[] = {
        {1, 0, "alpha"}, {1, 1, "beta"},  {3, 0, "gamma"}, {6, 0, ""},
        {6, 1, ""},      {6, 2, "delta"}, {6, 3, "x"},     {7, 0, "z"},
    };
    for (size_t i = 0; i < NCASES(want); i++)
        check_line_text(want[i].file, want[i].line, want[i].text);
    /* line starts, and the end of the file as line nlines */
    const struct corpus_file *f = &c.files[6];
    uint64_t s2 = corpus_line_start(&c, f, 2), end = corpus_line_start(&c, f, f->nlines);
    ck_assert_msg(s2 == f->off + 2, "line 2 of f.txt starts at %llu, want %llu",
                  (unsigned long long)s2, (unsigned long long)(f->off + 2));
    ck_assert_msg(end == f->off + f->len, "end of f.txt at %llu, want %llu",
                  (unsigned long long)end, (unsigned long long)(f->off + f->len));
    f = &c.files[2]; /* empty: its end is its start */
    end = corpus_line_start(&c, f, 0);
    ck_assert_msg(end == f->off, "empty file: line 0 starts at %llu, want %llu",
                  (unsigned long long)end, (unsigned long long)f->off);
}
END_TEST

/* ------------------------------------------------------------------ */
/* corpus_find_file                                                    */
/* ------------------------------------------------------------------ */

START_TEST(test_find_file)
{
    long got = corpus_find_file(&c, 0);
    ck_assert_msg(got == -1, "find in an empty corpus = %ld", got);
    static const uint32_t ids[] = {2, 5, 9, 10, 400};
    for (size_t i = 0; i < NCASES(ids); i++)
        add(ids[i], "f", "x\n", 2);
    for (size_t i = 0; i < NCASES(ids); i++) {
        got = corpus_find_file(&c, ids[i]);
        ck_assert_msg(got == (long)i, "corpus_find_file(%u) = %ld, want %zu", ids[i], got, i);
    }
    static const uint32_t absent[] = {0, 1, 3, 6, 11, 399, 401, UINT32_MAX};
    for (size_t i = 0; i < NCASES(absent); i++) {
        got = corpus_find_file(&c, absent[i]);
        ck_assert_msg(got == -1, "corpus_find_file(%u) = %ld, want -1", absent[i], got);
    }
}
END_TEST

START_TEST(test_find_file_binary_not_stored)
{
    add(1, "a", "x\n", 2);
    add(2, "bin", "\0", 1);
    add(3, "empty", "", 0);
    long got = corpus_find_file(&c, 2);
    ck_assert_msg(got == -1, "a binary file is found at %ld", got);
    got = corpus_find_file(&c, 3);
    ck_assert_msg(got == 1, "an empty file is at %ld, want 1", got);
}
END_TEST

/* ------------------------------------------------------------------ */
/* corpus_load                                                         */
/* ------------------------------------------------------------------ */

/* The tree and its file list are built once per TCase by an unchecked
 * fixture (in Check's parent process), so the folder is removed even when
 * a test fails in fork mode; the tests only read them.  Building does not
 * assert: the first problem is noted and each test's setup reports it. */
static char tmpdir[64];
static char tree_err[640];
static int root_fd = -1;
static struct file_list list;

static void note(const char *what, const char *path)
{
    if (!tree_err[0])
        snprintf(tree_err, sizeof tree_err, "%s %s: %s", what, path, strerror(errno));
}

static void write_file(const char *rel, const char *data, size_t len)
{
    if (check_write_file(tmpdir, rel, data, len) < 0)
        note("write", rel);
}

/* Append an entry to the file list (the caller keeps it sorted). */
static void list_add(const char *path, uint64_t size, uint32_t shard)
{
    if (list.n == list.cap) {
        list.cap = list.cap ? 2 * list.cap : 16;
        list.v = xrealloc(list.v, list.cap * sizeof *list.v);
    }
    list.v[list.n] = (struct file_entry){.path = xstrdup(path), .stamp.size = size, .shard = shard};
    /* The identity the walk records, where there is a file to see. */
    char full[256];
    struct stat st;
    snprintf(full, sizeof full, "%s/%s", tmpdir, path);
    if (lstat(full, &st) == 0) {
        list.v[list.n].stamp.dev = (uint64_t)st.st_dev;
        list.v[list.n].stamp.ino = (uint64_t)st.st_ino;
    }
    list.n++;
}

/* A tree with files for two shards and files that cannot be loaded:
 *   0 a.txt       shard 0  "one\ntwo\n"
 *   1 b.txt       shard 1  "bee"
 *   2 big.txt     shard 0  200 bytes (the load uses max 100)
 *   3 bin.dat     shard 0  holds a NUL
 *   4 dir         shard 0  a folder, not a file
 *   5 gone.txt    shard 0  listed, then deleted
 *   6 link        shard 0  a symbolic link to a.txt (never followed)
 *   7 sub/c.txt   shard 0  "see\r\n"
 *   8 sub/d.txt   shard 1  ""
 */
static void make_tree(void)
{
    char big[200], path[128];
    tree_err[0] = '\0';
    memset(&list, 0, sizeof list);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/check_corpus.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        note("mkdtemp", tmpdir);
        tmpdir[0] = '\0';
        return;
    }
    snprintf(path, sizeof path, "%s/sub", tmpdir);
    if (mkdir(path, 0755) != 0)
        note("mkdir", path);
    snprintf(path, sizeof path, "%s/dir", tmpdir);
    if (mkdir(path, 0755) != 0)
        note("mkdir", path);
    memset(big, 'x', sizeof big);
    write_file("a.txt", "one\ntwo\n", 8);
    write_file("b.txt", "bee", 3);
    write_file("big.txt", big, sizeof big);
    write_file("bin.dat", "ab\0cd", 5);
    write_file("gone.txt", "gone\n", 5);
    write_file("sub/c.txt", "see\r\n", 5);
    write_file("sub/d.txt", "", 0);
    snprintf(path, sizeof path, "%s/link", tmpdir);
    if (symlink("a.txt", path) != 0)
        note("symlink", path);
    list_add("a.txt", 8, 0);
    list_add("b.txt", 3, 1);
    list_add("big.txt", 50, 0); /* the walk saw it small: it grew since */
    list_add("bin.dat", 5, 0);
    list_add("dir", 0, 0);
    list_add("gone.txt", 5, 0);
    list_add("link", 5, 0);
    list_add("sub/c.txt", 5, 0);
    list_add("sub/d.txt", 0, 1);
    snprintf(path, sizeof path, "%s/gone.txt", tmpdir);
    if (unlink(path) != 0)
        note("unlink", path);
    root_fd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        note("open", tmpdir);
}

static void remove_tree(void)
{
    file_list_free(&list);
    if (root_fd >= 0)
        close(root_fd);
    root_fd = -1;
    if (tmpdir[0])
        check_rm_tree(tmpdir);
    tmpdir[0] = '\0';
}

static void setup_load(void)
{
    corpus_init(&c);
    ck_assert_msg(tmpdir[0] && !tree_err[0], "the test tree could not be built: %s", tree_err);
}

/* Load shard into c, as one segment. */
static void load_one(unsigned shard, uint64_t max)
{
    struct corpus **segs;
    size_t n = corpus_load(&segs, &list, shard, &root_fd, max, 0, NULL);
    ck_assert_msg(n == 1, "no segment size: %zu segments, want 1", n);
    corpus_free(&c);
    c = *segs[0];
    free(segs[0]);
    free(segs);
}

START_TEST(test_load_shard0)
{
    load_one(0, 100);
    ck_assert_msg(c.nfiles == 2, "shard 0 loaded %zu files, want 2 (a.txt, sub/c.txt)", c.nfiles);
    ck_assert_msg(c.files[0].id == 0 && strcmp(c.files[0].path, "a.txt") == 0,
                  "first file: id %u %s", c.files[0].id, c.files[0].path);
    ck_assert_msg(c.files[1].id == 7 && strcmp(c.files[1].path, "sub/c.txt") == 0,
                  "second file: id %u %s, want 7 sub/c.txt", c.files[1].id, c.files[1].path);
    check_text(0, "one\ntwo\n", 8);
    check_text(1, "see\n", 4);
    ck_assert_msg(c.binary == 1, "binary %u, want 1 (bin.dat)", c.binary);
    ck_assert_msg(c.too_large == 1, "too_large %u, want 1 (big.txt)", c.too_large);
    ck_assert_msg(c.unreadable == 3, "unreadable %u, want 3 (dir, gone.txt, link)", c.unreadable);
    ck_assert_msg(c.raw_bytes == 8 + 5, "raw_bytes %llu, want 13", (unsigned long long)c.raw_bytes);
}
END_TEST

START_TEST(test_load_shard1)
{
    load_one(1, 100);
    ck_assert_msg(c.nfiles == 2, "shard 1 loaded %zu files, want 2", c.nfiles);
    ck_assert_msg(c.files[0].id == 1 && c.files[1].id == 8, "ids %u %u, want 1 8", c.files[0].id,
                  c.files[1].id);
    check_text(0, "bee\n", 4);
    check_text(1, "", 0);
    ck_assert_msg(c.binary == 0 && c.too_large == 0 && c.unreadable == 0,
                  "shard 1: binary %u too_large %u unreadable %u", c.binary, c.too_large,
                  c.unreadable);
}
END_TEST

START_TEST(test_load_size_limit)
{
    /* With room for big.txt it loads; the limit is the load's, not the
     * size the walk recorded. */
    load_one(0, 200);
    ck_assert_msg(c.nfiles == 3 && c.too_large == 0, "max 200: %zu files, too_large %u", c.nfiles,
                  c.too_large);
    ck_assert_msg(c.files[1].id == 2 && c.files[1].len == 201, "big.txt: id %u len %llu",
                  c.files[1].id, (unsigned long long)c.files[1].len);
}
END_TEST

START_TEST(test_load_empty_shard)
{
    load_one(5, 100);
    ck_assert_msg(c.nfiles == 0 && c.len == 0 && c.unreadable == 0,
                  "a shard with no files: nfiles %zu len %llu", c.nfiles,
                  (unsigned long long)c.len);
}
END_TEST

/* A segment of at most one byte: each file its own, in order, sealed,
 * what was skipped counted in the segment it would have been in. */
START_TEST(test_load_segments)
{
    struct corpus **segs;
    size_t n = corpus_load(&segs, &list, 0, &root_fd, 100, 1, NULL);
    uint32_t binary = 0, unreadable = 0, too_large = 0;
    size_t files = 0;
    for (size_t k = 0; k < n; k++) {
        ck_assert_msg(tindex_ready(segs[k]->index), "segment %zu is not sealed", k);
        files += segs[k]->nfiles;
        binary += segs[k]->binary;
        unreadable += segs[k]->unreadable;
        too_large += segs[k]->too_large;
    }
    ck_assert_msg(n == 2 && files == 2, "%zu segments, %zu files: want one file each", n, files);
    ck_assert_msg(binary == 1 && too_large == 1 && unreadable == 3,
                  "binary %u too_large %u unreadable %u across the segments", binary, too_large,
                  unreadable);
    const char *want[] = {"a.txt", "sub/c.txt"};
    size_t at = 0;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < segs[k]->nfiles; i++, at++)
            ck_assert_str_eq(segs[k]->files[i].path, want[at]);
    for (size_t k = 0; k < n; k++) {
        corpus_free(segs[k]);
        free(segs[k]);
    }
    free(segs);
}
END_TEST

/* A tree whose files change after the walk listed them: a folder
 * replaced by a link to a folder outside the tree, and a file replaced by
 * another one (a rename over it).  Each test builds its own. */
static char outside[64];

static void make_changing_tree(void)
{
    tree_err[0] = '\0';
    memset(&list, 0, sizeof list);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/check_corpus.XXXXXX");
    snprintf(outside, sizeof outside, "/tmp/check_outside.XXXXXX");
    if (!mkdtemp(tmpdir) || !mkdtemp(outside)) {
        note("mkdtemp", tmpdir);
        return;
    }
    write_file("keep/a.txt", "inside a\n", 9);
    write_file("keep/b.txt", "inside b\n", 9);
    write_file("top.txt", "old top\n", 8);
    if (check_write_file(outside, "a.txt", "SECRET a\n", 9) < 0 ||
        check_write_file(outside, "b.txt", "SECRET b\n", 9) < 0)
        note("write", outside);
    list_add("keep/a.txt", 9, 0);
    list_add("keep/b.txt", 9, 0);
    list_add("top.txt", 8, 0);
    root_fd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        note("open", tmpdir);
}

static void remove_changing_tree(void)
{
    remove_tree();
    if (outside[0])
        check_rm_tree(outside);
    outside[0] = '\0';
}

static void setup_changing(void)
{
    corpus_init(&c);
    make_changing_tree();
    ck_assert_msg(!tree_err[0], "the test tree could not be built: %s", tree_err);
}

static void teardown_changing(void)
{
    corpus_free(&c);
    remove_changing_tree();
}

/* A restarted worker reads its old list: the folder is a link now. */
START_TEST(test_load_folder_became_link)
{
    char keep[256];
    snprintf(keep, sizeof keep, "%s/keep", tmpdir);
    check_rm_tree(keep);
    ck_assert_msg(symlink(outside, keep) == 0, "symlink %s -> %s", keep, outside);
    load_one(0, 100);
    ck_assert_msg(c.nfiles == 1 && strcmp(c.files[0].path, "top.txt") == 0,
                  "%zu files loaded, want top.txt alone", c.nfiles);
    ck_assert_msg(!memmem(c.buf, (size_t)c.len, "SECRET", 6),
                  "a file outside the tree was read through a link: %.*s", (int)c.len, c.buf);
    ck_assert_msg(c.unreadable == 2, "unreadable %u, want 2 (keep/a.txt, keep/b.txt)",
                  c.unreadable);
}
END_TEST

START_TEST(test_load_file_replaced)
{
    /* An editor's save: a new file renamed over the old one. */
    write_file("top.new", "new top\n", 8);
    char from[256], to[256];
    snprintf(from, sizeof from, "%s/top.new", tmpdir);
    snprintf(to, sizeof to, "%s/top.txt", tmpdir);
    ck_assert_msg(rename(from, to) == 0, "rename %s %s", from, to);
    load_one(0, 100);
    ck_assert_msg(c.nfiles == 2, "%zu files loaded, want 2 (keep/a.txt, keep/b.txt)", c.nfiles);
    ck_assert_msg(c.changed == 1, "changed %u, want 1 (top.txt)", c.changed);
    ck_assert_msg(!memmem(c.buf, (size_t)c.len, "top", 3), "the replaced file was loaded");
}
END_TEST

/* ------------------------------------------------------------------ */
/* blocks (cut by corpus_add)                                          */
/* ------------------------------------------------------------------ */

/* Blocks cover every file exactly, in order, each at most CORPUS_BLOCK_MAX
 * bytes unless it is one long line, each ending at a line end. */
static void check_blocks(const char *what)
{
    uint64_t at = 0;
    size_t file = 0;
    for (size_t b = 0; b < c.nblocks; b++) {
        const struct corpus_block *k = &c.blocks[b];
        ck_assert_msg(k->off == at, "%s: block %zu starts at %llu, want %llu", what, b,
                      (unsigned long long)k->off, (unsigned long long)at);
        while (file < c.nfiles && c.files[file].off + c.files[file].len <= k->off &&
               !(c.files[file].len == 0 && c.files[file].off == k->off && k->len == 0))
            file++;
        ck_assert_msg(k->file == file, "%s: block %zu in file %u, want %zu", what, b, k->file,
                      file);
        const struct corpus_file *f = &c.files[file];
        ck_assert_msg(k->off + k->len <= f->off + f->len, "%s: block %zu runs past its file", what,
                      b);
        if (k->len > 0)
            ck_assert_msg(c.buf[k->off + k->len - 1] == '\n', "%s: block %zu ends inside a line",
                          what, b);
        bool one_line = k->len > 0 && memchr(c.buf + k->off, '\n', k->len - 1) == NULL;
        ck_assert_msg(k->len <= CORPUS_BLOCK_MAX || one_line,
                      "%s: block %zu has %llu bytes and several lines", what, b,
                      (unsigned long long)k->len);
        at += k->len;
    }
    ck_assert_msg(at == c.len, "%s: blocks cover %llu bytes of %llu", what, (unsigned long long)at,
                  (unsigned long long)c.len);
}

START_TEST(test_blocks)
{
    /* 3000 lines of 50 bytes (150,000 bytes: as many blocks as it takes
     * whole lines of at most CORPUS_BLOCK_MAX bytes), an empty file, one
     * line of 100,000 bytes between two short ones, a small file. */
    size_t n = 3000 * 50;
    char *big = malloc(n);
    for (size_t i = 0; i < 3000; i++) {
        memset(big + i * 50, 'a' + (int)(i % 26), 49);
        big[i * 50 + 49] = '\n';
    }
    size_t m = 100000 + 8;
    char *wide = malloc(m);
    memcpy(wide, "top\n", 4);
    memset(wide + 4, 'w', 100000);
    memcpy(wide + 100004, "\nen", 3);
    wide[m - 1] = 'd';
    add(0, "big.txt", big, n);
    add(1, "empty.txt", "", 0);
    add(2, "wide.txt", wide, m);
    add(3, "small.txt", "x\n", 2);
    free(big);
    free(wide);
    check_blocks("mixed files");
    size_t per_file[4] = {0};
    for (size_t b = 0; b < c.nblocks; b++)
        per_file[c.blocks[b].file]++;
    size_t lines_per_block = CORPUS_BLOCK_MAX / 50;
    size_t want_big = (3000 + lines_per_block - 1) / lines_per_block;
    ck_assert_msg(want_big > 1, "the test's big file fits one block of %u bytes", CORPUS_BLOCK_MAX);
    ck_assert_msg(per_file[0] == want_big && per_file[1] == 1 && per_file[2] == 3 &&
                      per_file[3] == 1,
                  "blocks per file %zu %zu %zu %zu, want %zu 1 3 1", per_file[0], per_file[1],
                  per_file[2], per_file[3], want_big);
}
END_TEST

Suite *suite_corpus(void)
{
    Suite *s = suite_create("corpus");
    TCase *tc;

    tc = tcase_create("corpus_add");
    tcase_set_timeout(tc, 60); /* test_add_nomem fills 40 MB: slow on a busy machine */
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_add_plain);
    tcase_add_test(tc, test_add_no_final_newline);
    tcase_add_test(tc, test_add_empty);
    tcase_add_test(tc, test_add_crlf);
    tcase_add_test(tc, test_add_binary);
#ifndef UNDER_ASAN
    tcase_add_test(tc, test_add_nomem);
#endif
    tcase_add_test(tc, test_add_invalid_utf8);
    tcase_add_test(tc, test_blocks);
    suite_add_tcase(s, tc);

    tc = tcase_create("corpus_line");
    tcase_add_checked_fixture(tc, setup_layout, teardown);
    tcase_add_test(tc, test_layout_files);
    tcase_add_test(tc, test_layout_every_offset);
    tcase_add_test(tc, test_layout_lines);
    tcase_add_test(tc, test_line_after);
    suite_add_tcase(s, tc);

    tc = tcase_create("corpus_find_file");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_find_file);
    tcase_add_test(tc, test_find_file_binary_not_stored);
    suite_add_tcase(s, tc);

    tc = tcase_create("corpus_load");
    tcase_add_unchecked_fixture(tc, make_tree, remove_tree);
    tcase_add_checked_fixture(tc, setup_load, teardown);
    tcase_add_test(tc, test_load_shard0);
    tcase_add_test(tc, test_load_shard1);
    tcase_add_test(tc, test_load_size_limit);
    tcase_add_test(tc, test_load_empty_shard);
    tcase_add_test(tc, test_load_segments);
    suite_add_tcase(s, tc);

    tc = tcase_create("corpus_load_changed");
    tcase_add_checked_fixture(tc, setup_changing, teardown_changing);
    tcase_add_test(tc, test_load_folder_became_link);
    tcase_add_test(tc, test_load_file_replaced);
    suite_add_tcase(s, tc);

    return s;
}
