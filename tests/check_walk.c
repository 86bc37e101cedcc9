/*
 * check_walk.c - unit tests for src/walk.c: the start-up walk of a real
 * folder tree (made with mkdtemp for each test), and file_list_find.
 *
 * One tree (built once per TCase) holds a case of every rule in walk.h: nested folders whose
 * names sort around '/', symbolic links to a file and to a folder, VCS
 * folders at the top and below, files on both sides of max_file_size,
 * and .gitignore/.ignore files with folder, negated and anchored patterns
 * at two levels.  The walk's whole result is compared with the expected
 * list, so a file wrongly kept or dropped is named in the failure.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "check_suites.h"
#include "check_util.h"
#include "util.h"
#include "walk.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_SIZE  1000

/* The tree is built once per TCase by an unchecked fixture (in Check's
 * parent process), so it is removed even when a test fails in fork mode;
 * the tests only read it.  Building it does not assert (the parent must
 * not fail): the first problem is noted and each test's setup reports it. */
static char root[64];
static char tree_err[640];
static struct file_list list;
static char err[SG_ERRLEN];

static void note(const char *what, const char *path)
{
    if (!tree_err[0])
        snprintf(tree_err, sizeof tree_err, "%s %.100s: %s", what, path, strerror(errno));
}

static void make_dir(const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    if (mkdir(path, 0755) != 0)
        note("mkdir", path);
}

static void make_file(const char *rel, const char *data, size_t len)
{
    if (check_write_file(root, rel, data, len) < 0)
        note("write", rel);
}

static void make_text(const char *rel, const char *data)
{
    make_file(rel, data, strlen(data));
}

static void make_link(const char *target, const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    if (symlink(target, path) != 0)
        note("symlink", path);
}

/* special.log: excluded by .gitignore, re-included by .ignore (which wins) */
static const char gitignore[] = "# build output\nbuild/\n*.log\n!keep.log\n/top.txt\n";
static const char dot_ignore[] = "secret.txt\n!special.log\n";

static void make_tree(void)
{
    char blob[MAX_SIZE + 1];
    tree_err[0] = '\0';
    snprintf(root, sizeof root, "/tmp/check_walk.XXXXXX");
    if (!mkdtemp(root)) {
        note("mkdtemp", root);
        root[0] = '\0';
        return;
    }
    memset(blob, 'b', sizeof blob);

    make_text(".gitignore", gitignore);
    make_text(".ignore", dot_ignore);
    make_text("a-z.txt", "dash\n");
    make_text("a.c", "int a;\n");
    make_dir("a");
    make_text("a/b.c", "int b;\n");
    make_file("big.bin", blob, MAX_SIZE + 1); /* over the limit */
    make_file("edge.bin", blob, MAX_SIZE);    /* exactly the limit */
    make_dir("build");
    make_text("build/out.o", "obj");
    make_text("keep.log", "kept\n");
    make_text("x.log", "ignored\n");
    make_text("special.log", "re-included by .ignore\n");
    make_text("secret.txt", "s\n");
    make_text("top.txt", "anchored\n");
    make_text("t.tmp", "only sub/ ignores *.tmp\n");
    make_file("empty", "", 0);
    make_link("a.c", "link-file");
    make_link("a", "link-dir");
    make_link("/nonexistent/target", "link-dangling");
    make_dir(".git");
    make_text(".git/config", "[core]\n");
    make_dir(".git/objects");
    make_text(".git/objects/x", "x");
    make_dir(".hg");
    make_text(".hg/store", "s");
    make_dir(".svn");
    make_text(".svn/entries", "e");
    make_dir("sub");
    make_text("sub/.gitignore", "*.tmp\n");
    make_text("sub/build", "a file named build: 'build/' is for folders\n");
    make_text("sub/top.txt", "not at the top\n");
    make_text("sub/y.log", "ignored from the root's .gitignore\n");
    make_text("sub/t.tmp", "ignored\n");
    make_dir("sub/deep");
    make_text("sub/deep/z.tmp", "ignored from sub/.gitignore\n");
    make_dir("sub/.git");
    make_text("sub/.git/HEAD", "ref\n");
}

static void remove_tree(void)
{
    if (root[0])
        check_rm_tree(root);
    root[0] = '\0';
}

static void setup(void)
{
    memset(&list, 0, sizeof list);
    err[0] = '\0';
    ck_assert_msg(root[0] && !tree_err[0], "the test tree could not be built: %s", tree_err);
}

static void teardown(void)
{
    file_list_free(&list);
}

/* Size of root/rel on disk. */
static uint64_t disk_size(const char *rel)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", root, rel);
    if (lstat(path, &st) != 0)
        return UINT64_MAX;
    return (uint64_t)st.st_size;
}

/* The walk found exactly these paths, in this order, with their sizes. */
static void check_list(const char *what, const char *const *want, size_t n)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < n || i < list.n; i++) {
        const char *got = i < list.n ? list.v[i].path : "(end)";
        const char *exp = i < n ? want[i] : "(end)";
        ck_assert_msg(strcmp(got, exp) == 0, "%s: entry %zu is %s, want %s", what, i, got, exp);
        ck_assert_msg(list.v[i].stamp.size == disk_size(exp), "%s: %s has size %llu, want %llu",
                      what, exp, (unsigned long long)list.v[i].stamp.size,
                      (unsigned long long)disk_size(exp));
        bytes += list.v[i].stamp.size;
    }
    ck_assert_msg(list.bytes == bytes, "%s: bytes %llu, sizes add up to %llu", what,
                  (unsigned long long)list.bytes, (unsigned long long)bytes);
}

/* ------------------------------------------------------------------ */
/* walk_tree                                                           */
/* ------------------------------------------------------------------ */

START_TEST(test_walk_rules)
{
    static const char *const want[] = {
        ".gitignore", ".ignore",     "a-z.txt",  "a.c",         "a/b.c",
        "edge.bin",   "empty",       "keep.log", "special.log", "sub/.gitignore",
        "sub/build",  "sub/top.txt", "t.tmp",
    };
    const struct walk_options opt = {.max_file_size = MAX_SIZE, .no_ignore = false};
    int rc = walk_tree(root, &opt, &list, err, sizeof err);
    ck_assert_msg(rc == SG_OK, "walk_tree failed: %s", err);
    check_list("with ignore files", want, NCASES(want));
    /* build/, x.log, secret.txt, top.txt, sub/y.log, sub/t.tmp, sub/deep/z.tmp */
    ck_assert_msg(list.ignored == 7, "ignored %zu, want 7", list.ignored);
    ck_assert_msg(list.too_large == 1, "too_large %zu, want 1 (big.bin)", list.too_large);
    ck_assert_msg(list.special == 3, "special %zu, want 3 (three links)", list.special);
    ck_assert_msg(list.unreadable_dirs == 0, "unreadable_dirs %zu", list.unreadable_dirs);
}
END_TEST

START_TEST(test_walk_no_ignore)
{
    static const char *const want[] = {
        ".gitignore", ".ignore",        "a-z.txt",   "a.c",         "a/b.c",       "build/out.o",
        "edge.bin",   "empty",          "keep.log",  "secret.txt",  "special.log", "sub/.gitignore",
        "sub/build",  "sub/deep/z.tmp", "sub/t.tmp", "sub/top.txt", "sub/y.log",   "t.tmp",
        "top.txt",    "x.log",
    };
    const struct walk_options opt = {.max_file_size = MAX_SIZE, .no_ignore = true};
    int rc = walk_tree(root, &opt, &list, err, sizeof err);
    ck_assert_msg(rc == SG_OK, "walk_tree failed: %s", err);
    check_list("no_ignore", want, NCASES(want));
    ck_assert_msg(list.ignored == 0, "ignored %zu with no_ignore", list.ignored);
    ck_assert_msg(list.too_large == 1 && list.special == 3, "too_large %zu special %zu",
                  list.too_large, list.special);
}
END_TEST

START_TEST(test_walk_links_and_vcs)
{
    const struct walk_options opt = {.max_file_size = MAX_SIZE, .no_ignore = true};
    walk_tree(root, &opt, &list, err, sizeof err);
    for (size_t i = 0; i < list.n; i++) {
        const char *p = list.v[i].path;
        ck_assert_msg(strncmp(p, "link", 4) != 0, "a link (or a path through one) is listed: %s",
                      p);
        ck_assert_msg(strstr(p, ".git/") == NULL && strncmp(p, ".hg/", 4) != 0 &&
                          strncmp(p, ".svn/", 5) != 0,
                      "a VCS folder's file is listed: %s", p);
        ck_assert_msg(p[0] != '/' && strstr(p, "//") == NULL && strstr(p, "./") != p,
                      "path %s is not clean and relative", p);
    }
}
END_TEST

START_TEST(test_walk_size_limit)
{
    struct walk_options opt = {.max_file_size = MAX_SIZE + 1, .no_ignore = false};
    walk_tree(root, &opt, &list, err, sizeof err);
    ck_assert_msg(list.too_large == 0 && file_list_find(&list, "big.bin") >= 0,
                  "max %d: too_large %zu, big.bin %s", MAX_SIZE + 1, list.too_large,
                  file_list_find(&list, "big.bin") >= 0 ? "listed" : "missing");
    file_list_free(&list);
    opt.max_file_size = 0; /* only empty files fit */
    walk_tree(root, &opt, &list, err, sizeof err);
    ck_assert_msg(list.n == 1 && strcmp(list.v[0].path, "empty") == 0, "max 0: %zu files, first %s",
                  list.n, list.n ? list.v[0].path : "-");
    ck_assert_msg(list.too_large == 13, "max 0: too_large %zu, want 13", list.too_large);
}
END_TEST

START_TEST(test_walk_missing_root)
{
    char missing[128];
    snprintf(missing, sizeof missing, "%s/no-such-folder", root);
    list.n = 99; /* must be reset */
    int rc = walk_tree(missing, &(struct walk_options){.max_file_size = MAX_SIZE}, &list, err,
                       sizeof err);
    ck_assert_msg(rc == SG_ERR, "walking a missing folder succeeded");
    ck_assert_msg(strstr(err, missing) != NULL && strstr(err, strerror(ENOENT)) != NULL,
                  "message \"%s\" names neither the folder nor the cause", err);
    ck_assert_msg(list.n == 0 && list.v == NULL, "the list holds %zu entries after a failure",
                  list.n);

    snprintf(missing, sizeof missing, "%s/a.c", root);
    rc = walk_tree(missing, &(struct walk_options){.max_file_size = MAX_SIZE}, &list, err,
                   sizeof err);
    ck_assert_msg(rc == SG_ERR && strstr(err, "a.c") != NULL,
                  "walking a file: rc %d, message \"%s\"", rc, err);
}
END_TEST

START_TEST(test_walk_empty_root)
{
    char empty[128];
    snprintf(empty, sizeof empty, "%s/sub/deep", root);
    int rc = walk_tree(empty, &(struct walk_options){.max_file_size = MAX_SIZE, .no_ignore = true},
                       &list, err, sizeof err);
    ck_assert_msg(rc == SG_OK && list.n == 1 && strcmp(list.v[0].path, "z.tmp") == 0,
                  "walking sub/deep: rc %d, %zu files", rc, list.n);
}
END_TEST

/* The hook (the watcher's watch) is called for a folder before its names
 * are read: what is created by the time it returns is walked.  Read
 * first, a folder made between the read and the watch was never seen. */
struct made_in_hook {
    int calls;
    bool made;
};

static bool make_on_first_call(void *ctx, const char *rel)
{
    struct made_in_hook *m = ctx;
    m->calls++;
    if (!*rel && !m->made) {
        char text[] = "made while the walk watched the root\n";
        m->made = check_write_file(root, "late/new.txt", text, sizeof text - 1) == 0;
    }
    return true;
}

static bool end_at_once(void *ctx, const char *rel)
{
    (void)rel;
    ++*(int *)ctx;
    return false;
}

START_TEST(test_subtree_hook_before_read)
{
    const struct walk_options opt = {.max_file_size = MAX_SIZE, .no_ignore = true};
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert(fd >= 0);
    struct made_in_hook m = {0};
    struct walk_hooks hooks = {.dir = make_on_first_call, .ctx = &m};
    ck_assert(walk_subtree(fd, "", &opt, &hooks, &list));
    ck_assert_msg(m.made, "could not write late/new.txt");
    bool found = false;
    for (size_t i = 0; i < list.n; i++)
        found |= !strcmp(list.v[i].path, "late/new.txt");
    ck_assert_msg(found, "late/new.txt, made when the root was entered, was not walked");
    file_list_free(&list);
    /* A hook that ends the walk: nothing is read after it, and the walk
     * says it ended early. */
    int calls = 0;
    hooks = (struct walk_hooks){.dir = end_at_once, .ctx = &calls};
    ck_assert_msg(!walk_subtree(fd, "", &opt, &hooks, &list) && calls == 1 && list.n == 0,
                  "ended walk: calls %d, %zu files", calls, list.n);
    close(fd);
    char late[128];
    snprintf(late, sizeof late, "%s/late", root);
    check_rm_tree(late);
}
END_TEST

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Folders are walked by their own descriptor down to WALK_FDS (64)
 * levels, by their path from the root below that: a chain of 100 folders
 * with a file, a link to a file and a link to a folder at levels 10 and
 * 90 lists the two files, never the links, and leaves no descriptor open. */
START_TEST(test_walk_deeper_than_held_folders)
{
    char path[512];
    int len = snprintf(path, sizeof path, "%s/chain", root);
    ck_assert(mkdir(path, 0755) == 0);
    for (int level = 1; level <= 100; level++) {
        len += snprintf(path + len, sizeof path - (size_t)len, "/d");
        ck_assert(mkdir(path, 0755) == 0);
        if (level == 10 || level == 90) {
            char f[600];
            snprintf(f, sizeof f, "%s/f%d.txt", path, level);
            ck_assert(check_write_file("/", f, "x\n", 2) == 0);
            snprintf(f, sizeof f, "%s/file-link", path);
            ck_assert(symlink("/etc/hostname", f) == 0);
            snprintf(f, sizeof f, "%s/folder-link", path);
            ck_assert(symlink("/etc", f) == 0);
        }
    }
    snprintf(path, sizeof path, "%s/chain", root);
    int before = open_fds();
    ck_assert(walk_tree(path, &(struct walk_options){.max_file_size = MAX_SIZE, .no_ignore = true},
                        &list, err, sizeof err) == SG_OK);
    ck_assert_int_eq(open_fds(), before);
    ck_assert_msg(list.n == 2 && list.special == 4, "%zu files, %zu not regular; want 2 and 4",
                  list.n, list.special);
    for (size_t i = 0; i < list.n; i++) {
        const char *name = strrchr(list.v[i].path, '/') + 1;
        size_t depth = (size_t)(name - list.v[i].path) / 2;
        ck_assert_msg((!strcmp(name, "f10.txt") && depth == 10) ||
                          (!strcmp(name, "f90.txt") && depth == 90),
                      "listed %s", list.v[i].path);
    }
    check_rm_tree(path);
}
END_TEST

/* ------------------------------------------------------------------ */
/* file_list_find                                                      */
/* ------------------------------------------------------------------ */

START_TEST(test_find)
{
    ck_assert_msg(file_list_find(&list, "a.c") == -1, "found a.c in an empty list");
    const struct walk_options opt = {.max_file_size = MAX_SIZE, .no_ignore = true};
    walk_tree(root, &opt, &list, err, sizeof err);
    ck_assert_msg(list.n > 10, "the walk found only %zu files", list.n);
    for (size_t i = 0; i < list.n; i++) {
        long got = file_list_find(&list, list.v[i].path);
        ck_assert_msg(got == (long)i, "file_list_find(\"%s\") = %ld, want %zu", list.v[i].path, got,
                      i);
    }
    static const char *const absent[] = {
        "",    "a", "a.c/",    "/a.c",        "A.c",       "sub",    "sub/",
        "zzz", "!", "big.bin", ".git/config", "link-file", "a/b.c/x"};
    for (size_t i = 0; i < NCASES(absent); i++) {
        long got = file_list_find(&list, absent[i]);
        ck_assert_msg(got == -1, "file_list_find(\"%s\") = %ld, want -1", absent[i], got);
    }
}
END_TEST

/* A tree whose names are not all valid UTF-8: the API shows each bad byte
 * as U+FFFD, and file_list_find_shown() takes the path as shown. */
static char odd_root[64];

static void make_odd_tree(void)
{
    snprintf(odd_root, sizeof odd_root, "/tmp/check_walk_odd.XXXXXX");
    if (!mkdtemp(odd_root)) {
        odd_root[0] = '\0';
        return;
    }
    /* \xfe and \xff both show as U+FFFD: "x\xfe.c" sorts first. */
    static const char *const names[] = {"x\xff.c",       "x\xfe.c", "caf\xe9.c",
                                        "caf\xc3\xa9.c", "ok.c",    "d\xc3(/in.c"};
    char dir[128];
    snprintf(dir, sizeof dir, "%s/d\xc3(", odd_root);
    mkdir(dir, 0755);
    for (size_t i = 0; i < NCASES(names); i++)
        check_write_file(odd_root, names[i], names[i], strlen(names[i]));
}

static void setup_odd(void)
{
    memset(&list, 0, sizeof list);
    err[0] = '\0';
}

static void remove_odd_tree(void)
{
    if (odd_root[0])
        check_rm_tree(odd_root);
    odd_root[0] = '\0';
}

START_TEST(test_find_shown)
{
    ck_assert_msg(odd_root[0], "the test tree could not be made");
    const struct walk_options opt = {.max_file_size = MAX_SIZE, .no_ignore = true};
    ck_assert_msg(walk_tree(odd_root, &opt, &list, err, sizeof err) == SG_OK, "walk: %s", err);
    ck_assert_msg(list.n == 6, "the walk found %zu files, want 6", list.n);
    ck_assert_msg(list.nnot_utf8 == 4, "%zu paths are not valid UTF-8, want 4", list.nnot_utf8);
    for (size_t i = 0; i < list.n; i++) /* every exact path still finds itself */
        ck_assert_msg(file_list_find_shown(&list, list.v[i].path) == (long)i, "exact %zu", i);
    static const struct {
        const char *shown, *raw; /* raw NULL: not found */
    } c[] = {
        {"x\xef\xbf\xbd.c", "x\xfe.c"}, /* two read the same: the first in path order */
        {"caf\xef\xbf\xbd.c", "caf\xe9.c"},
        {"caf\xc3\xa9.c", "caf\xc3\xa9.c"}, /* the valid name is not confused with it */
        {"d\xef\xbf\xbd(/in.c", "d\xc3(/in.c"},
        {"x\xef\xbf\xbd\xef\xbf\xbd.c", NULL},
        {"x.c", NULL},
        {"\xef\xbf\xbd", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        long got = file_list_find_shown(&list, c[i].shown);
        long want = c[i].raw ? file_list_find(&list, c[i].raw) : -1;
        ck_assert_msg(!c[i].raw || want >= 0, "case %zu: the raw path is not listed", i);
        ck_assert_msg(got == want, "case %zu: found %ld (%s), want %ld", i, got,
                      got >= 0 ? list.v[got].path : "-", want);
    }
}
END_TEST

Suite *suite_walk(void)
{
    Suite *s = suite_create("walk");
    TCase *tc;

    tc = tcase_create("walk_tree");
    tcase_add_unchecked_fixture(tc, make_tree, remove_tree);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_walk_rules);
    tcase_add_test(tc, test_walk_no_ignore);
    tcase_add_test(tc, test_walk_links_and_vcs);
    tcase_add_test(tc, test_walk_size_limit);
    tcase_add_test(tc, test_walk_missing_root);
    tcase_add_test(tc, test_walk_empty_root);
    tcase_add_test(tc, test_subtree_hook_before_read);
    tcase_add_test(tc, test_walk_deeper_than_held_folders);
    suite_add_tcase(s, tc);

    tc = tcase_create("file_list_find");
    tcase_add_unchecked_fixture(tc, make_tree, remove_tree);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_find);
    suite_add_tcase(s, tc);

    tc = tcase_create("file_list_find_shown");
    tcase_add_unchecked_fixture(tc, make_odd_tree, remove_odd_tree);
    tcase_add_checked_fixture(tc, setup_odd, teardown);
    tcase_add_test(tc, test_find_shown);
    suite_add_tcase(s, tc);

    return s;
}
