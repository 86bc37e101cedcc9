/*
 * fuzz_glob.c - libFuzzer target for globs (glob.c) and ignore rules
 * (ignore.c), which both read text from outside: the path= and exclude=
 * parameters of every query, and the .gitignore files of the tree served.
 *
 * Input: byte 0 holds flags (bit 0: braces for glob_match, bit 1: is_dir
 * for the ignore rules); the rest is cut at the first '\n' into a pattern
 * (a glob list, a single glob, or the text of an ignore file) and a path.
 * Properties checked, abort() on a violation:
 *   - glob_match() matches nothing that glob_check() rejects;
 *   - a glob with no special character matches itself exactly;
 *   - glob_list_parse() accepts a list iff it has an item and every item
 *     passes glob_check() (its own error message says which does not; we
 *     only check it returns a message on failure).
 * Time and memory are bounded by the header's limits; libFuzzer's -timeout
 * and -rss_limit_mb catch a blow-up.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glob.h"
#include "ignore.h"
#include "util.h"

static void require(bool cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_glob: property violated: %s\n", what);
        abort();
    }
}

static char *cstr(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static bool plain(const char *s)
{
    return strpbrk(s, "*?[]{}\\") == NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    data++, size--;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t plen = nl ? (size_t)(nl - data) : size;
    /* As C strings, the way they reach these functions (cut at a NUL). */
    char *pattern = cstr(data, plen);
    char *path = nl ? cstr(nl + 1, size - plen - 1) : cstr(data, plen);
    int gflags = flags & 1 ? GLOB_BRACES : 0;
    char err[SG_ERRLEN];

    /* One glob. */
    err[0] = '\0';
    bool ok = glob_check(pattern, gflags, err, sizeof err) == SG_OK;
    if (!ok)
        require(err[0] != '\0', "glob_check() explains a refusal");
    bool m = glob_match(pattern, path, gflags);
    if (!ok)
        require(!m, "a glob that glob_check() rejects matches nothing");
    if (ok && *pattern && plain(pattern) && strlen(pattern) <= GLOB_MAX_LEN)
        require(glob_match(pattern, pattern, gflags), "a plain glob matches itself");

    /* A comma-separated list, as path= and exclude= are. */
    err[0] = '\0';
    struct glob_list *gl = glob_list_parse(pattern, err, sizeof err);
    if (gl) {
        (void)glob_list_match(gl, path);
        (void)glob_list_match(gl, "");
        (void)glob_list_match(gl, pattern);
        glob_list_free(gl);
    } else {
        require(err[0] != '\0', "glob_list_parse() explains a refusal");
    }

    /* The pattern part as an ignore file, with the path as both the base
     * folder and a path to judge. */
    struct ignore_rules *r = ignore_rules_parse((const char *)data, plen, "");
    enum ignore_verdict v = ignore_rules_match(r, path, flags & 2);
    require(v == IGNORE_NONE || v == IGNORE_EXCLUDE || v == IGNORE_INCLUDE, "a verdict");
    struct ignore_rules *based = ignore_rules_parse((const char *)data, plen, path);
    (void)ignore_rules_match(based, path, flags & 2);
    (void)ignore_rules_match(based, pattern, !(flags & 2));
    struct ignore_stack *st = ignore_stack_new();
    ignore_stack_push(st, r);
    ignore_stack_push(st, NULL);
    ignore_stack_push(st, based);
    (void)ignore_stack_ignored(st, path, flags & 2);
    ignore_stack_pop(st);
    (void)ignore_stack_ignored(st, path, flags & 2);
    ignore_stack_free(st);

    free(pattern);
    free(path);
    return 0;
}
