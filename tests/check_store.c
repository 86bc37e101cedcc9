/*
 * check_store.c - unit tests for src/store.c and the search over it: files
 * that change on disk are applied as versions; a search sees exactly one
 * version, in (tree, path) order across the base and the delta; compaction
 * changes nothing a search sees.
 *
 * The tree is real (a temporary folder): a change is read from disk as a
 * worker reads it.
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
#include "search.h"
#include "store.h"
#include "util.h"

static char root[64];
static int root_fd = -1;
static struct file_list list;
static struct store st;

/* What a search found: (file id, line) pairs in the order sent, and DONE. */
static struct {
    uint32_t id[4096], line[4096];
    size_t n;
    struct msg_done done;
    bool got_done;
} found;

static int collect(void *ctx, const void *msg, size_t len)
{
    (void)ctx;
    struct msg_header h;
    struct msg_reader r;
    ck_assert(msg_parse(msg, len, &h, &r) == SG_OK);
    if (h.type == MT_BATCH) {
        uint32_t count;
        ck_assert(msg_batch_decode(&r, &count) == SG_OK);
        for (uint32_t i = 0; i < count; i++) {
            struct msg_record rec;
            const uint8_t *at;
            ck_assert(msg_batch_next(&r, &rec, &at) == SG_OK);
            ck_assert(found.n < 4096);
            found.id[found.n] = rec.file_id;
            found.line[found.n++] = rec.line;
        }
    } else if (h.type == MT_DONE) {
        ck_assert(msg_done_decode(&r, &found.done) == SG_OK);
        found.got_done = true;
    }
    return 0;
}

static struct search *start_flags(const char *pattern, uint32_t flags, uint32_t version)
{
    memset(&found, 0, sizeof found);
    struct msg_query q = {.flags = flags,
                          .max = 1000,
                          .timeout_ms = 60000,
                          .pattern = pattern,
                          .pattern_len = (uint32_t)strlen(pattern),
                          .path = "",
                          .exclude = ""};
    const struct search_io io = {.send = collect};
    return search_start(&st, version, 0, 1, &q, &io, NULL);
}

static struct search *start(const char *pattern, uint32_t version)
{
    return start_flags(pattern, 0, version);
}

static void finish(struct search *s)
{
    while (!search_step(s))
        ;
    search_free(s);
    ck_assert_msg(found.got_done && found.done.status == MSG_ST_DONE, "DONE status %u",
                  found.done.status);
}

static void search(const char *pattern)
{
    finish(start(pattern, st.version));
}

/* The paths of what was found, joined by spaces ("a.txt:1 b.txt:2"). */
static const char *path_of(uint32_t id)
{
    enum store_part part;
    size_t fi;
    if (store_find(&st, id, &part, &fi))
        return store_file(&st, part, fi)->path;
    return id < list.n ? list.v[id].path : "?";
}

static char *hits(void)
{
    static char out[8192];
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < found.n && o < sizeof out - 200; i++)
        o += (size_t)snprintf(out + o, sizeof out - o, "%s%s:%u", i ? " " : "",
                              path_of(found.id[i]), found.line[i]);
    return out;
}

static void write_file(const char *rel, const char *text)
{
    ck_assert_msg(check_write_file(root, rel, text, strlen(text)) == 0, "write %s", rel);
}

static void list_add(const char *rel)
{
    char full[256];
    struct stat sb;
    snprintf(full, sizeof full, "%s/%s", root, rel);
    ck_assert(lstat(full, &sb) == 0);
    list.v = xrealloc(list.v, (list.n + 1) * sizeof *list.v);
    list.v[list.n++] = (struct file_entry){.path = xstrdup(rel), .stamp = stamp_of(&sb)};
}

/* The base's segments: of at most load_bytes each as loaded (0: one),
 * of about fold_bytes as folds cut them. */
static uint64_t load_bytes, fold_bytes;

/* b.txt, d.txt, f.txt in the base (ids 0, 1, 2). */
static void setup(void)
{
    snprintf(root, sizeof root, "/tmp/check_store.XXXXXX");
    ck_assert(mkdtemp(root) != NULL);
    memset(&list, 0, sizeof list);
    write_file("b.txt", "bee one\nneedle b\n");
    write_file("d.txt", "dee\nneedle d\n");
    write_file("f.txt", "needle f\n");
    list_add("b.txt");
    list_add("d.txt");
    list_add("f.txt");
    root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert(root_fd >= 0);
    struct corpus **segs;
    size_t nseg = corpus_load(&segs, &list, 0, &root_fd, 1 << 20, load_bytes, NULL);
    store_init(&st, segs, nseg, &root_fd, 1, 1 << 20, fold_bytes);
}

static void setup_one_segment(void)
{
    load_bytes = fold_bytes = 0;
    setup();
    ck_assert_msg(st.nseg == 1, "%zu segments", st.nseg);
}

/* Each base file its own segment; folds cut at 64 KiB. */
static void setup_segments(void)
{
    load_bytes = 1;
    fold_bytes = 64 << 10;
    setup();
    ck_assert_msg(st.nseg == 3, "%zu segments, want one a file", st.nseg);
}

static void teardown(void)
{
    store_free(&st);
    file_list_free(&list);
    close(root_fd);
    check_rm_tree(root);
}

/* A change to load rel as file id (its identity read from disk now). */
static struct store_change load(uint32_t id, const char *rel)
{
    char full[256];
    struct stat sb;
    snprintf(full, sizeof full, "%s/%s", root, rel);
    ck_assert_msg(lstat(full, &sb) == 0, "lstat %s", rel);
    return (struct store_change){
        .id = id, .stamp = stamp_of(&sb), .path = rel, .path_len = (uint32_t)strlen(rel)};
}

static void apply1(struct store_change ch, struct store_applied *out)
{
    store_apply(&st, &ch, 1, out);
}

/* Take the fold begun through to its swap, as a worker does: the delta
 * copied out in steps, the thread waited for, the swap. */
static void fold_through(void)
{
    while (store_fold_copying(&st))
        store_fold_step(&st);
    while (!store_fold_ready(&st))
        usleep(1000);
    store_fold_finish(&st);
}

/* Write rel as 4 KiB: first (a line), then a line of 'q's; load it as
 * file id, a batch of its own. */
static void apply_big(const char *rel, uint32_t id, const char *first)
{
    static char big[4096];
    size_t n = strlen(first);
    ck_assert(n < sizeof big - 2);
    memcpy(big, first, n);
    big[n] = '\n';
    memset(big + n + 1, 'q', sizeof big - n - 2);
    big[sizeof big - 1] = '\n';
    ck_assert_msg(check_write_file(root, rel, big, sizeof big) == 0, "write %s", rel);
    struct store_applied a;
    apply1(load(id, rel), &a);
    ck_assert_msg(a.loaded == 1, "%s not loaded", rel);
}

START_TEST(test_base_only)
{
    search("needle");
    ck_assert_str_eq(hits(), "b.txt:2 d.txt:2 f.txt:1");
}
END_TEST

START_TEST(test_modified_file)
{
    struct store_applied a;
    write_file("d.txt", "needle new d\nneedle again\n");
    apply1(load(1, "d.txt"), &a);
    ck_assert_msg(a.loaded == 1 && st.version == 1, "loaded %u version %u", a.loaded, st.version);
    search("needle");
    ck_assert_str_eq(hits(), "b.txt:2 d.txt:1 d.txt:2 f.txt:1");
    search("dee");
    ck_assert_msg(found.n == 0, "the old text is still found: %s", hits());
    ck_assert_msg(st.live_files == 3, "live files %llu", (unsigned long long)st.live_files);
}
END_TEST

START_TEST(test_new_file_in_path_order)
{
    struct store_applied a;
    write_file("c.txt", "needle c\n");
    write_file("a.txt", "needle a\n");
    write_file("g.txt", "needle g\n");
    struct store_change ch[] = {load(10, "c.txt"), load(11, "g.txt"), load(12, "a.txt")};
    store_apply(&st, ch, 3, &a);
    search("needle");
    ck_assert_str_eq(hits(), "a.txt:1 b.txt:2 c.txt:1 d.txt:2 f.txt:1 g.txt:1");
    ck_assert_msg(found.done.matched_files == 6 && found.done.matched_lines == 6,
                  "counts %llu files %llu lines", (unsigned long long)found.done.matched_files,
                  (unsigned long long)found.done.matched_lines);
}
END_TEST

START_TEST(test_delta_files_the_index_leaves)
{
    /* A search walks only the delta files its plan leaves in, and those
     * with a wide fold (U+212A KELVIN SIGN matches k caselessly, though
     * its trigrams differ): each still found in its place among the
     * base's files. */
    struct store_applied a;
    write_file("a.txt", "p = kmalloc(n);\nneedle a\n");
    write_file("c.txt", "p = \xe2\x84\xaamalloc(n);\n");
    write_file("e.txt", "nothing of it\n");
    write_file("g.txt", "q = kmalloc(m);\n");
    struct store_change ch[] = {load(10, "a.txt"), load(11, "c.txt"), load(12, "e.txt"),
                                load(13, "g.txt")};
    store_apply(&st, ch, 4, &a);
    ck_assert_msg(a.loaded == 4, "%u loaded", a.loaded);
    finish(start_flags("kmalloc\\(", MSG_QF_CASELESS, st.version));
    ck_assert_str_eq(hits(), "a.txt:1 c.txt:1 g.txt:1");
    finish(start_flags("kmalloc\\(", 0, st.version));
    ck_assert_str_eq(hits(), "a.txt:1 g.txt:1");
    search("needle");
    ck_assert_str_eq(hits(), "a.txt:2 b.txt:2 d.txt:2 f.txt:1");
    search("of it");
    ck_assert_str_eq(hits(), "e.txt:1");
    search("absent_everywhere");
    ck_assert_str_eq(hits(), "");
}
END_TEST

START_TEST(test_removed_file)
{
    struct store_applied a;
    struct store_change rm = {.remove = true, .id = 0, .path = "b.txt", .path_len = 5};
    apply1(rm, &a);
    ck_assert_msg(a.removed == 1, "removed %u", a.removed);
    search("needle");
    ck_assert_str_eq(hits(), "d.txt:2 f.txt:1");
    enum store_part part;
    size_t fi;
    ck_assert_msg(!store_find(&st, 0, &part, &fi), "a removed file is still found by id");
}
END_TEST

START_TEST(test_search_keeps_its_version)
{
    /* A search started before a change sees the files as they were, even
     * when the change is applied between its steps. */
    struct store_applied a;
    struct search *s = start("needle", st.version);
    write_file("d.txt", "nothing here\n");
    write_file("e.txt", "needle e\n");
    struct store_change ch[] = {load(1, "d.txt"), load(20, "e.txt")};
    store_apply(&st, ch, 2, &a);
    finish(s);
    ck_assert_str_eq(hits(), "b.txt:2 d.txt:2 f.txt:1");
    search("needle");
    ck_assert_str_eq(hits(), "b.txt:2 e.txt:1 f.txt:1");
}
END_TEST

START_TEST(test_changed_twice_and_compacted)
{
    struct store_applied a;
    for (int k = 0; k < 5; k++) {
        char text[64];
        snprintf(text, sizeof text, "round %d\nneedle d%d\n", k, k);
        write_file("d.txt", text);
        apply1(load(1, "d.txt"), &a);
    }
    write_file("e.txt", "needle e\n");
    apply1(load(30, "e.txt"), &a);
    search("needle|round");
    char *before = xstrdup(hits());
    ck_assert_str_eq(before, "b.txt:2 d.txt:1 d.txt:2 e.txt:1 f.txt:1");
    ck_assert_msg(st.delta_dead_bytes > 0, "no garbage after four replacements");
    store_compact(&st);
    search("needle|round");
    ck_assert_str_eq(hits(), before);
    ck_assert_msg(st.live_files == 4 && st.delta_dead_bytes == 0, "after: %llu files, %llu dead",
                  (unsigned long long)st.live_files, (unsigned long long)st.delta_dead_bytes);
    free(before);
    /* Still changes afterwards. */
    write_file("b.txt", "gone\n");
    apply1(load(0, "b.txt"), &a);
    search("needle");
    ck_assert_str_eq(hits(), "d.txt:2 e.txt:1 f.txt:1");
}
END_TEST

START_TEST(test_full_compaction)
{
    /* A delta over STORE_DELTA_MIN folds into the base: the same results,
     * an empty delta, the ids still found. */
    size_t n = STORE_DELTA_MIN / 4096 + 8;
    for (size_t i = 0; i < n; i++) {
        char rel[32];
        snprintf(rel, sizeof rel, "z/%05zu.txt", i);
        apply_big(rel, (uint32_t)(100 + i), "needle z");
    }
    ck_assert_msg(store_compact_due(&st), "a delta of %llu bytes is not due",
                  (unsigned long long)st.delta_bytes);
    search("needle");
    size_t hits_before = found.n;
    store_compact(&st);
    ck_assert_msg(st.delta_files == 0 && st.base_files == 3 + n, "base %zu delta %zu files",
                  st.base_files, st.delta_files);
    search("needle");
    ck_assert_msg(found.n == hits_before, "%zu hits after, %zu before", found.n, hits_before);
    enum store_part part;
    size_t fi;
    ck_assert(store_find(&st, 100, &part, &fi) && part == STORE_BASE);
    ck_assert_str_eq(store_file(&st, STORE_BASE, fi)->path, "z/00000.txt");
}
END_TEST

/* Files added to the delta out of order, in several batches and changed
 * again, stay in (tree, path) order for searches, each placed among the
 * base's files (the store keeps the order; a search only filters it). */
START_TEST(test_delta_order_kept)
{
    struct store_applied a;
    static const char *const names[] = {"m.txt",  "a.txt", "z.txt",  "c.txt", "e.txt",
                                        "b0.txt", "g.txt", "d0.txt", "y.txt", "aa.txt"};
    size_t nn = sizeof names / sizeof names[0];
    for (size_t i = 0; i < nn; i++) {
        write_file(names[i], "needle\n");
        apply1(load((uint32_t)(20 + i), names[i]), &a);
    }
    write_file("d.txt", "needle changed\n"); /* a base file, now in the delta */
    write_file("m.txt", "needle m again\n"); /* a delta file, changed */
    struct store_change ch[] = {load(1, "d.txt"), load(20, "m.txt")};
    store_apply(&st, ch, 2, &a);
    size_t n;
    const struct store_pos *o = store_delta_order(&st, &n);
    ck_assert_msg(n == st.delta_files, "the order covers %zu of %zu delta files", n,
                  st.delta_files);
    for (size_t i = 0; i < n; i++) {
        const struct corpus_file *f = store_file(&st, STORE_DELTA, o[i].fi);
        if (i > 0)
            ck_assert_msg(store_file_cmp(store_file(&st, STORE_DELTA, o[i - 1].fi), f) <= 0,
                          "%s before %s", store_file(&st, STORE_DELTA, o[i - 1].fi)->path, f->path);
        size_t below = 0;
        for (size_t k = 0; k < st.base_files; k++)
            below += store_file_cmp(store_file(&st, STORE_BASE, k), f) < 0;
        ck_assert_msg(o[i].base_at == below, "%s placed after %u base files, not %zu", f->path,
                      o[i].base_at, below);
    }
    search("needle");
    ck_assert_str_eq(hits(), "a.txt:1 aa.txt:1 b.txt:2 b0.txt:1 c.txt:1 d.txt:1 d0.txt:1 e.txt:1 "
                             "f.txt:1 g.txt:1 m.txt:1 y.txt:1 z.txt:1");
}
END_TEST

START_TEST(test_fold_in_a_thread)
{
    /* A fold built from a snapshot while changes go on: the ones made
     * meanwhile survive the swap, in the new delta or as dead marks. */
    struct store_applied a;
    size_t n = STORE_DELTA_MIN / 4096 + 8;
    for (size_t i = 0; i < n; i++) {
        char rel[32];
        snprintf(rel, sizeof rel, "z/%05zu.txt", i);
        apply_big(rel, (uint32_t)(100 + i), "needle z");
    }
    ck_assert_msg(store_fold_due(&st), "no fold due with %llu delta bytes",
                  (unsigned long long)st.delta_bytes);
    store_fold_begin(&st);
    ck_assert(store_fold_running(&st) && !store_fold_due(&st) && !store_compact_due(&st));
    /* The delta (over STORE_FOLD_STEP) is copied out in steps, the thread
     * starting after the last. */
    ck_assert_msg(store_fold_copying(&st), "%llu delta bytes copied in one step",
                  (unsigned long long)st.delta_bytes);
    /* Meanwhile: a base file changed, a delta file removed (while its
     * text is being copied), a file added, a folded file changed. */
    write_file("d.txt", "changed during the fold\n");
    apply1(load(1, "d.txt"), &a);
    struct store_change rm = {.remove = true, .id = 100, .path = "z/00000.txt", .path_len = 11};
    apply1(rm, &a);
    while (store_fold_copying(&st))
        store_fold_step(&st);
    write_file("y.txt", "needle y during\n");
    apply1(load(7, "y.txt"), &a);
    write_file("z/00001.txt", "rewritten\n");
    apply1(load(101, "z/00001.txt"), &a);
    search("needle|changed|rewritten");
    char *before = xstrdup(hits());
    while (!store_fold_ready(&st))
        usleep(1000);
    store_fold_finish(&st);
    ck_assert_msg(!store_fold_running(&st), "still folding after the swap");
    size_t visible = 0;
    for (size_t i = 0; i < st.delta_files; i++)
        visible += store_visible(&st, STORE_DELTA, i, st.version);
    ck_assert_msg(st.base_files == 3 + n && visible == 3,
                  "after the swap: base %zu files, delta %zu visible (the three loaded "
                  "meanwhile)",
                  st.base_files, visible);
    search("needle|changed|rewritten");
    ck_assert_str_eq(hits(), before);
    /* The swap copied nothing: what the fold took is dead in the delta,
     * and the chunk it left all dead was freed. */
    ck_assert_msg(!store_tidy_due(&st) && st.nchunk == 1 &&
                      st.delta_dead_bytes <= STORE_CHUNK_BYTES,
                  "after the swap: %zu chunks, %llu of %llu delta bytes dead, tidying due %d",
                  st.nchunk, (unsigned long long)st.delta_dead_bytes,
                  (unsigned long long)st.delta_bytes, store_tidy_due(&st));
    store_compact(&st);
    ck_assert_msg(!store_fold_running(&st) && st.delta_files == 0 && st.delta_dead_bytes == 0,
                  "after compacting: delta %zu files, %llu bytes dead", st.delta_files,
                  (unsigned long long)st.delta_dead_bytes);
    search("needle|changed|rewritten");
    ck_assert_str_eq(hits(), before);
    free(before);
    ck_assert_msg(st.live_files == 3 + n, "live files %llu", (unsigned long long)st.live_files);
}
END_TEST

START_TEST(test_unreadable_changes)
{
    struct store_applied a;
    /* f.txt became a link: not read, and its old version is gone. */
    char full[128];
    snprintf(full, sizeof full, "%s/f.txt", root);
    struct store_change was = load(2, "f.txt");
    ck_assert(unlink(full) == 0 && symlink("b.txt", full) == 0);
    apply1(was, &a);
    ck_assert_msg(a.failed == 1 && a.loaded == 0, "failed %u loaded %u", a.failed, a.loaded);
    /* d.txt turned binary: dropped, counted. */
    ck_assert(check_write_file(root, "d.txt", "nee\0dle", 7) == 0);
    apply1(load(1, "d.txt"), &a);
    ck_assert_msg(a.failed == 0 && a.loaded == 0 && st.binary == 1, "binary: failed %u, %u",
                  a.failed, st.binary);
    search("needle|b");
    ck_assert_str_eq(hits(), "b.txt:1 b.txt:2");
}
END_TEST

/* The segments in (tree, path) order, each one's files too, and
 * numbered one after the other. */
static void check_segments(void)
{
    const struct corpus_file *prev = NULL;
    for (size_t k = 0; k < st.nseg; k++) {
        ck_assert_msg(st.seg_first[k] + st.seg[k]->nfiles == st.seg_first[k + 1],
                      "segment %zu numbered from %zu, %zu files, the next from %zu", k,
                      st.seg_first[k], st.seg[k]->nfiles, st.seg_first[k + 1]);
        for (size_t i = 0; i < st.seg[k]->nfiles; i++) {
            const struct corpus_file *f = &st.seg[k]->files[i];
            ck_assert_msg(!prev || store_file_cmp(prev, f) < 0, "%s before %s (segment %zu)",
                          prev->path, f->path, k);
            prev = f;
        }
    }
}

/* A change in one segment folds that one (with a small neighbour), and
 * leaves the others as they are. */
START_TEST(test_fold_one_segment)
{
    struct store_applied a;
    write_file("f.txt", "needle f, changed\n");
    apply1(load(2, "f.txt"), &a);
    write_file("g.txt", "needle g\n");
    apply1(load(9, "g.txt"), &a);
    search("needle");
    char *before = xstrdup(hits());
    struct corpus *b_seg = st.seg[0];
    store_fold_begin(&st);
    fold_through();
    /* f.txt's segment is small: folded with d.txt's, b.txt's untouched. */
    ck_assert_msg(st.nseg == 2 && st.seg[0] == b_seg, "%zu segments; b.txt's %s", st.nseg,
                  st.seg[0] == b_seg ? "kept" : "rebuilt");
    ck_assert_msg(st.seg[1]->nfiles == 3 && st.base_dead_bytes == 0,
                  "the new segment: %zu files (d, f, g), %llu dead bytes", st.seg[1]->nfiles,
                  (unsigned long long)st.base_dead_bytes);
    check_segments();
    search("needle");
    ck_assert_str_eq(hits(), before);
    free(before);
    ck_assert_msg(st.delta_files == 0 && st.delta_dead_bytes == 0,
                  "the delta still holds %zu files, %llu bytes dead, after its files were taken",
                  st.delta_files, (unsigned long long)st.delta_dead_bytes);
}
END_TEST

/* A fold that takes more than a segment's worth cuts it into segments
 * near the size; a sweep goes on until the changes are few. */
START_TEST(test_fold_cuts_and_sweeps)
{
    size_t n = STORE_DELTA_MIN / 4096 + 8;
    for (size_t i = 0; i < n; i++) {
        char rel[32], first[32];
        snprintf(rel, sizeof rel, "%c/%05zu.txt", i % 2 ? 'c' : 'e', i);
        snprintf(first, sizeof first, "needle %05zu", i);
        apply_big(rel, (uint32_t)(100 + i), first);
    }
    search("needle");
    uint64_t hits_before = found.done.matched_lines;
    ck_assert_msg(hits_before == n + 3, "%llu lines before", (unsigned long long)hits_before);
    int folds = 0;
    while (store_fold_due(&st)) {
        store_fold_begin(&st);
        fold_through();
        ck_assert_msg(++folds < 100, "a sweep that does not end");
        check_segments();
    }
    ck_assert_msg(folds >= 2 && !st.sweeping, "%d folds, sweeping %d", folds, st.sweeping);
    for (size_t k = 0; k < st.nseg; k++)
        ck_assert_msg(st.seg[k]->len <= 2 * fold_bytes + 4096,
                      "segment %zu holds %llu bytes (cut at %llu)", k,
                      (unsigned long long)st.seg[k]->len, (unsigned long long)fold_bytes);
    ck_assert_msg(st.nseg >= n * 4096 / (2 * fold_bytes), "%zu segments for %zu files", st.nseg, n);
    search("needle");
    ck_assert_msg(found.done.matched_lines == hits_before, "%llu lines after, %llu before",
                  (unsigned long long)found.done.matched_lines, (unsigned long long)hits_before);
    ck_assert_str_eq(path_of(100), "e/00000.txt");
}
END_TEST

/* Past a tenth of the live text (and twice STORE_DELTA_MIN) in the
 * delta, changes wait, with a fold due to make room; once folds took the
 * changes in, they go on. */
START_TEST(test_full_delta_holds_changes)
{
    size_t n = 0, most = 2 * STORE_DELTA_MIN / 4096 + 8;
    for (; n < most && !store_hold_changes(&st); n++) {
        char rel[32];
        snprintf(rel, sizeof rel, "z/%05zu.txt", n);
        apply_big(rel, (uint32_t)(100 + n), "needle z");
    }
    ck_assert_msg(n == 2 * STORE_DELTA_MIN / 4096 + 1, "held after %zu files of 4 KiB", n);
    ck_assert_msg(store_hold_changes(&st) && store_fold_due(&st),
                  "%llu delta bytes of %llu: held %d, fold due %d",
                  (unsigned long long)st.delta_bytes, (unsigned long long)st.live_bytes,
                  store_hold_changes(&st), store_fold_due(&st));
    while (store_fold_due(&st) && store_hold_changes(&st)) {
        store_fold_begin(&st);
        ck_assert_msg(store_hold_changes(&st), "a fold begun made room before it was done");
        fold_through();
    }
    ck_assert_msg(!store_hold_changes(&st), "still held after the folds");
    search("needle");
    ck_assert_msg(found.done.matched_lines == n + 3, "%llu lines",
                  (unsigned long long)found.done.matched_lines);
}
END_TEST

/* A closed chunk left mostly dead gives its live files to the open one
 * and goes: the same answers, the ids still found, the garbage gone. */
START_TEST(test_mostly_dead_chunk_is_tidied)
{
    size_t n = STORE_CHUNK_BYTES / 4096 + 50;
    for (size_t round = 0; round < 2; round++)
        for (size_t i = 0; i < (round ? n / 2 + 100 : n); i++) {
            char rel[32], first[40];
            snprintf(rel, sizeof rel, "c/%05zu.txt", i);
            snprintf(first, sizeof first, "needle %05zu round %zu", i, round);
            apply_big(rel, (uint32_t)(100 + i), first);
        }
    ck_assert_msg(st.nchunk >= 2 && store_tidy_due(&st), "%zu chunks, tidying due %d", st.nchunk,
                  store_tidy_due(&st));
    search("needle \\d+ round 1");
    uint64_t round1 = found.done.matched_lines;
    search("needle \\d+ round 0");
    uint64_t round0 = found.done.matched_lines;
    uint64_t dead = st.delta_dead_bytes, live = st.live_files;
    /* In steps of about STORE_TIDY_STEP copied (a chunk holds more live
     * text than that), each leaving the answers as they were. */
    size_t steps = 0;
    while (store_tidy_due(&st)) {
        uint64_t open = st.chunk[st.nchunk - 1]->len;
        size_t chunks = st.nchunk;
        store_tidy(&st);
        steps++;
        if (st.nchunk == chunks)
            ck_assert_msg(st.chunk[st.nchunk - 1]->len - open <= STORE_TIDY_STEP + 4096,
                          "one step copied %llu bytes",
                          (unsigned long long)(st.chunk[st.nchunk - 1]->len - open));
        search("needle \\d+ round 1");
        ck_assert_msg(found.done.matched_lines == round1, "round 1 after step %zu: %llu", steps,
                      (unsigned long long)found.done.matched_lines);
    }
    ck_assert_msg(steps > 1, "tidied in %zu step", steps);
    ck_assert_msg(st.delta_dead_bytes < dead && st.live_files == live,
                  "dead %llu -> %llu bytes, live files %llu -> %llu", (unsigned long long)dead,
                  (unsigned long long)st.delta_dead_bytes, (unsigned long long)live,
                  (unsigned long long)st.live_files);
    search("needle \\d+ round 1");
    ck_assert_msg(found.done.matched_lines == round1 && round1 == n / 2 + 100, "round 1: %llu",
                  (unsigned long long)found.done.matched_lines);
    search("needle \\d+ round 0");
    ck_assert_msg(found.done.matched_lines == round0 && round0 == n - (n / 2 + 100),
                  "round 0: %llu", (unsigned long long)found.done.matched_lines);
    ck_assert_str_eq(path_of(100), "c/00000.txt");
    char last[32];
    snprintf(last, sizeof last, "c/%05zu.txt", n - 1);
    ck_assert_str_eq(path_of((uint32_t)(100 + n - 1)), last);
    /* The order the searches walk stays whole and sorted. */
    size_t no;
    const struct store_pos *o = store_delta_order(&st, &no);
    ck_assert_msg(no == st.delta_files, "the order covers %zu of %zu", no, st.delta_files);
    for (size_t i = 1; i < no; i++)
        ck_assert(store_file_cmp(store_file(&st, STORE_DELTA, o[i - 1].fi),
                                 store_file(&st, STORE_DELTA, o[i].fi)) <= 0);
}
END_TEST

static void add_store_tests(TCase *tc)
{
    tcase_add_test(tc, test_base_only);
    tcase_add_test(tc, test_modified_file);
    tcase_add_test(tc, test_new_file_in_path_order);
    tcase_add_test(tc, test_delta_files_the_index_leaves);
    tcase_add_test(tc, test_removed_file);
    tcase_add_test(tc, test_search_keeps_its_version);
    tcase_add_test(tc, test_changed_twice_and_compacted);
    tcase_add_test(tc, test_full_compaction);
    tcase_add_test(tc, test_delta_order_kept);
    tcase_add_test(tc, test_fold_in_a_thread);
    tcase_add_test(tc, test_unreadable_changes);
    tcase_add_test(tc, test_full_delta_holds_changes);
    tcase_add_test(tc, test_mostly_dead_chunk_is_tidied);
}

Suite *suite_store(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store_apply");
    tcase_add_checked_fixture(tc, setup_one_segment, teardown);
    tcase_set_timeout(tc, 60);
    add_store_tests(tc);
    suite_add_tcase(s, tc);
    tc = tcase_create("store_segments");
    tcase_add_checked_fixture(tc, setup_segments, teardown);
    tcase_set_timeout(tc, 60);
    add_store_tests(tc);
    tcase_add_test(tc, test_fold_one_segment);
    tcase_add_test(tc, test_fold_cuts_and_sweeps);
    suite_add_tcase(s, tc);
    return s;
}
