/*
 * check_links.c - unit tests for src/links.c: templates checked at
 * start-up (schemes, placeholders, bytes), --link-url's [TREE=] and its
 * trees, expansion with percent-encoding, {line} kept for the file view,
 * and the length bound render.c counts on.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_suites.h"
#include "links.h"
#include "util.h"

static char err[SG_ERRLEN];

/* One template through links_check_template(): SG_OK or SG_ERR. */
static int check_one(const char *t)
{
    err[0] = '\0';
    return links_check_template("--editor-url", t, err, sizeof err);
}

START_TEST(test_good_templates)
{
    static const char *const good[] = {
        "vscode://file/{abspath}:{line}",
        "idea://open?file={abspath}&line={line}",
        "https://git.example.org/repo/blob/main/{path}#L{line}",
        "https://h/{tree}/{path}",
        "subl://open?url=file://{abspath}&line={line}",
        "x-editor+1.0://{path}",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        ck_assert_msg(check_one(good[i]) == SG_OK, "%s refused: %s", good[i], err);
}
END_TEST

START_TEST(test_bad_templates)
{
    static const struct {
        const char *t, *says;
    } bad[] = {
        {"javascript:alert({path})", "javascript:"},
        {"JavaScript:alert({path})", "javascript:"},
        {"data:text/html,{path}", "data:"},
        {"vbscript:{path}", "vbscript:"},
        {"file://{abspath}", "file:"},
        {"https://h/{paht}", "{paht}"},
        {"https://h/{path", "{path"},
        {"https://h/{path}}", "'}'"},
        {"https://h/{path} x", "0x20"},
        {"https://h/\"{path}", "0x22"},
        {"https://h/<{path}>", "0x3c"},
        {"https://h/\xc3\xa9{path}", "0xc3"},
        {"//h/{path}", "scheme"},
        {"1http://h/{path}", "scheme"},
        {"https://h/", "names no file"},
        {"", "1 to"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(check_one(bad[i].t) == SG_ERR, "%s accepted", bad[i].t);
        ck_assert_msg(strstr(err, bad[i].says) && strstr(err, "--editor-url"),
                      "%s: message \"%s\" should name --editor-url and say %s", bad[i].t, err,
                      bad[i].says);
    }
}
END_TEST

START_TEST(test_host_spec)
{
    struct links_spec spec = {0};
    ck_assert_int_eq(links_spec_add_host(&spec, "https://h/{path}?a=b", err, sizeof err), SG_OK);
    ck_assert_msg(spec.host[0].tree == NULL, "'=' after ':' is the URL's, not a tree");
    ck_assert_int_eq(links_spec_add_host(&spec, "site[2]=https://s/{path}", err, sizeof err),
                     SG_OK);
    ck_assert_int_eq((int)spec.host[1].tree_len, 7);
    ck_assert_str_eq(spec.host[1].url, "https://s/{path}");
    ck_assert_int_eq(links_spec_add_host(&spec, "https://other/{path}", err, sizeof err), SG_ERR);
    ck_assert_msg(strstr(err, "twice"), "two defaults: %s", err);
    ck_assert_int_eq(links_spec_add_host(&spec, "site[2]=https://x/{path}", err, sizeof err),
                     SG_ERR);
    ck_assert_msg(strstr(err, "site[2]"), "a tree twice: %s", err);
    ck_assert_int_eq(links_spec_add_host(&spec, "=https://x/{path}", err, sizeof err), SG_ERR);
    ck_assert_int_eq(links_spec_add_host(&spec, "a=javascript:{path}", err, sizeof err), SG_ERR);
    ck_assert_msg(strstr(err, "--link-url"), "names the option: %s", err);
}
END_TEST

/* Two trees under a temporary folder: "a" (its root given with a "/./"
 * and a trailing '/', which realpath() removes) and "b c". */
static char top[64];
static char root_a[128], root_b[128];

static void setup_trees(void)
{
    snprintf(top, sizeof top, "/tmp/check-links-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(top));
    char path[256];
    snprintf(path, sizeof path, "%s/a", top);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/b c", top);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    snprintf(root_a, sizeof root_a, "%s/./a/", top);
    snprintf(root_b, sizeof root_b, "%s/b c", top);
}

static void teardown_trees(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/a", top);
    rmdir(path);
    snprintf(path, sizeof path, "%s/b c", top);
    rmdir(path);
    rmdir(top);
}

static char *expand(const struct links *l, enum link_kind k, unsigned tree, const char *path,
                    uint32_t line)
{
    static char out[1024];
    struct strbuf b = {0};
    if (!links_write(l, k, tree, path, line, &b)) {
        free(b.buf);
        return NULL;
    }
    ck_assert_msg(b.len <= links_max_len(l, tree, path), "%zu bytes over the bound %zu", b.len,
                  links_max_len(l, tree, path));
    snprintf(out, sizeof out, "%s", b.buf);
    free(b.buf);
    return out;
}

static struct links *two_trees(struct links_spec *spec)
{
    const char *roots[] = {root_a, root_b};
    const char *names[] = {"a", "b c"};
    err[0] = 'x';
    return links_new(spec, roots, names, 2, err, sizeof err);
}

START_TEST(test_expand_and_encode)
{
    struct links_spec spec = {.editor = "vscode://file/{abspath}:{line}"};
    ck_assert_int_eq(
        links_spec_add_host(&spec, "a=https://g/a/blob/main/{path}#L{line}", err, sizeof err),
        SG_OK);
    ck_assert_int_eq(
        links_spec_add_host(&spec, "https://h/{tree}/{path}?l={line}", err, sizeof err), SG_OK);
    struct links *l = two_trees(&spec);
    ck_assert_msg(l, "links_new: %s", err);
    char want[512];
    snprintf(want, sizeof want, "vscode://file/%s/a/src/x.c:12", top);
    ck_assert_str_eq(expand(l, LINK_EDITOR, 0, "src/x.c", 12), want);
    snprintf(want, sizeof want,
             "vscode://file/%s/b%%20c/my%%20dir/f%%20%%231%%3F%%25%%7B%%7D.txt:1", top);
    ck_assert_str_eq(expand(l, LINK_EDITOR, 1, "my dir/f #1?%{}.txt", 1), want);
    ck_assert_str_eq(expand(l, LINK_HOST, 0, "src/x.c", 7), "https://g/a/blob/main/src/x.c#L7");
    /* the default for the tree without its own; non-ASCII bytes encoded */
    ck_assert_str_eq(expand(l, LINK_HOST, 1, "caf\xc3\xa9 \xe9.c", 3),
                     "https://h/b%20c/caf%C3%A9%20%E9.c?l=3");
    /* the file view: {line} kept */
    ck_assert_str_eq(expand(l, LINK_HOST, 0, "src/x.c", LINKS_KEEP_LINE),
                     "https://g/a/blob/main/src/x.c#L{line}");
    ck_assert(links_has(l, LINK_EDITOR, 1) && links_has(l, LINK_HOST, 1));
    ck_assert(!links_has(l, LINK_HOST, 2) && !links_has(NULL, LINK_EDITOR, 0));
    links_free(l);
}
END_TEST

START_TEST(test_per_tree_only)
{
    struct links_spec spec = {0};
    ck_assert_int_eq(links_spec_add_host(&spec, "b c=https://h/{path}", err, sizeof err), SG_OK);
    struct links *l = two_trees(&spec);
    ck_assert_msg(l, "links_new: %s", err);
    ck_assert_msg(!links_has(l, LINK_HOST, 0), "tree a has no link of its own, and no default");
    ck_assert_msg(!links_has(l, LINK_EDITOR, 0), "no --editor-url");
    ck_assert_ptr_null(expand(l, LINK_HOST, 0, "x", 1));
    ck_assert_str_eq(expand(l, LINK_HOST, 1, "x", 1), "https://h/x");
    ck_assert_int_eq((int)links_max_len(l, 0, "x"), 0);
    links_free(l);
}
END_TEST

START_TEST(test_unknown_tree_and_none)
{
    struct links_spec spec = {0};
    ck_assert_ptr_null(two_trees(&spec));
    ck_assert_msg(err[0] == '\0', "no links asked for is no error: %s", err);
    ck_assert_int_eq(links_spec_add_host(&spec, "nope=https://h/{path}", err, sizeof err), SG_OK);
    ck_assert_ptr_null(two_trees(&spec));
    ck_assert_msg(strstr(err, "'nope'") && strstr(err, "a, b c"),
                  "the message names the tree and those served: %s", err);
    links_free(NULL);
}
END_TEST

Suite *suite_links(void)
{
    Suite *s = suite_create("links");
    TCase *tc = tcase_create("links_check_template");
    tcase_add_test(tc, test_good_templates);
    tcase_add_test(tc, test_bad_templates);
    suite_add_tcase(s, tc);
    tc = tcase_create("links_spec_add_host");
    tcase_add_test(tc, test_host_spec);
    suite_add_tcase(s, tc);
    tc = tcase_create("links_write");
    tcase_add_checked_fixture(tc, setup_trees, teardown_trees);
    tcase_add_test(tc, test_expand_and_encode);
    tcase_add_test(tc, test_per_tree_only);
    tcase_add_test(tc, test_unknown_tree_and_none);
    suite_add_tcase(s, tc);
    return s;
}
