/*
 * check_fsopen.c - unit tests for src/fsopen.c: a path opens beneath the
 * root, and a link anywhere on it (a folder or the file), an absolute
 * path or a ".." component is refused, by openat2() and by the component
 * walk it falls back to.
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
#include "fsopen.h"

static char root[64], outside[64];
static int root_fd = -1;

static void setup(void)
{
    snprintf(root, sizeof root, "/tmp/check_fsopen.XXXXXX");
    snprintf(outside, sizeof outside, "/tmp/check_fsout.XXXXXX");
    ck_assert_msg(mkdtemp(root) && mkdtemp(outside), "mkdtemp: %s", strerror(errno));
    ck_assert(check_write_file(root, "a/b/c.txt", "inside\n", 7) == 0);
    ck_assert(check_write_file(root, "top.txt", "top\n", 4) == 0);
    ck_assert(check_write_file(outside, "c.txt", "SECRET\n", 7) == 0);
    char link[128];
    snprintf(link, sizeof link, "%s/a/out", root); /* a folder link, out of the tree */
    ck_assert(symlink(outside, link) == 0);
    snprintf(link, sizeof link, "%s/a/in", root); /* a folder link inside the tree */
    ck_assert(symlink("b", link) == 0);
    snprintf(link, sizeof link, "%s/file.lnk", root); /* a file link */
    ck_assert(symlink("top.txt", link) == 0);
    root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ck_assert(root_fd >= 0);
}

static void teardown(void)
{
    if (root_fd >= 0)
        close(root_fd);
    check_rm_tree(root);
    check_rm_tree(outside);
}

typedef int (*open_fn)(int, const char *, int);
static const open_fn opens[] = {fs_open_beneath, fs_open_beneath_walk};
static const char *const names[] = {"fs_open_beneath", "fs_open_beneath_walk"};

/* What the file opened holds, or the error. */
static void expect_text(int which, const char *rel, const char *want)
{
    int fd = opens[which](root_fd, rel, O_RDONLY);
    ck_assert_msg(fd >= 0, "%s(%s): %s", names[which], rel, strerror(-fd));
    char buf[64] = {0};
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    ck_assert_msg(n >= 0 && !strcmp(buf, want), "%s(%s) read \"%s\", want \"%s\"", names[which],
                  rel, buf, want);
}

static void expect_refused(int which, const char *rel)
{
    int fd = opens[which](root_fd, rel, O_RDONLY);
    if (fd >= 0) {
        char buf[64] = {0};
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        ck_abort_msg("%s(%s) opened it (%zd bytes: \"%s\")", names[which], rel, n, buf);
    }
}

START_TEST(test_plain_paths)
{
    expect_text(_i, "a/b/c.txt", "inside\n");
    expect_text(_i, "top.txt", "top\n");
}
END_TEST

START_TEST(test_links_refused)
{
    expect_refused(_i, "a/out/c.txt"); /* a folder link out of the tree */
    expect_refused(_i, "a/in/c.txt");  /* even one that stays inside */
    expect_refused(_i, "file.lnk");    /* the file itself a link */
}
END_TEST

START_TEST(test_bad_shapes)
{
    static const char *const bad[] = {"",           "/etc/passwd", "../x",       "a/../top.txt",
                                      "a//b/c.txt", "./top.txt",   "a/b/c.txt/", "a/b/./c.txt",
                                      ".."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int fd = opens[_i](root_fd, bad[i], O_RDONLY);
        if (fd >= 0)
            close(fd);
        ck_assert_msg(fd == -EINVAL, "%s(\"%s\") gave %d, want -EINVAL", names[_i], bad[i], fd);
    }
}
END_TEST

START_TEST(test_folder_opens)
{
    int fd = opens[_i](root_fd, "a/b", O_RDONLY | O_DIRECTORY);
    ck_assert_msg(fd >= 0, "%s(a/b, O_DIRECTORY): %s", names[_i], strerror(-fd));
    close(fd);
    fd = opens[_i](root_fd, "a/out", O_RDONLY | O_DIRECTORY);
    if (fd >= 0)
        close(fd);
    ck_assert_msg(fd < 0, "%s opened the folder link a/out", names[_i]);
}
END_TEST

START_TEST(test_same_file)
{
    struct stat st;
    char path[128];
    snprintf(path, sizeof path, "%s/top.txt", root);
    ck_assert(stat(path, &st) == 0);
    ck_assert(fs_same_file(&st, (uint64_t)st.st_dev, (uint64_t)st.st_ino));
    ck_assert(!fs_same_file(&st, (uint64_t)st.st_dev, (uint64_t)st.st_ino + 1));
    ck_assert(fs_same_file(&st, 0, 0)); /* not recorded */
}
END_TEST

Suite *suite_fsopen(void)
{
    Suite *s = suite_create("fsopen");
    TCase *tc = tcase_create("fs_open_beneath");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_plain_paths, 0, 2);
    tcase_add_loop_test(tc, test_links_refused, 0, 2);
    tcase_add_loop_test(tc, test_bad_shapes, 0, 2);
    tcase_add_loop_test(tc, test_folder_opens, 0, 2);
    tcase_add_test(tc, test_same_file);
    suite_add_tcase(s, tc);
    return s;
}
