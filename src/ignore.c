/*
 * ignore.c - .gitignore / .ignore rules and the walker's stack of them.
 *
 * Design decisions:
 *
 * - Each line is reduced at parse time to a glob plus three flags
 *   (negate, folder-only, anchored), so matching a path is a loop over
 *   glob_match() calls with no string work.  The rules are walked from the
 *   last one backwards and the first hit decides, which is the same as
 *   "the last matching rule wins" but stops early.
 *
 * - Escapes are left in the glob: "\#" and "\!" and "\ " are valid glob
 *   escapes meaning '#', '!' and ' ', so only the leading '#'/'!' tests and
 *   the trailing-space trim need to know about backslashes.
 *
 * - The file's folder (base) is stored once; a path is judged relative to
 *   it, and paths that are not strictly below it get no verdict (a
 *   .gitignore cannot ignore the folder that holds it).
 *
 * - Folder exclusion is the walker's business: it never descends into an
 *   excluded folder, so a rule only judges the exact path it is given.
 *   This also gives git's "a file cannot be re-included if its folder is
 *   excluded" for free.
 *
 * - Ignore files come from the indexed tree, which may hold anything:
 *   lines with NUL bytes, unbalanced '[' or a trailing backslash are
 *   skipped rather than failing the walk, and glob_match() itself is
 *   linear-ish on any pattern.
 */
#include "ignore.h"

#include <stdlib.h>
#include <string.h>

#include "glob.h"
#include "util.h"

struct ignore_rule {
    char *glob;
    bool negate;   /* "!pattern": re-include */
    bool dir_only; /* "pattern/": folders only */
    bool anchored; /* matched against the path below base */
};

struct ignore_rules {
    char *base; /* "" for the root */
    size_t baselen;
    struct ignore_rule *rules;
    size_t n, cap;
};

struct ignore_stack {
    struct ignore_rules **sets;
    size_t n, cap;
};

/* Length of a line without its trailing unescaped spaces. */
static size_t trim_trailing_spaces(const char *line, size_t len)
{
    size_t keep = 0;

    for (size_t i = 0; i < len; i++) {
        if (line[i] == '\\' && i + 1 < len) {
            i++; /* an escaped character is never trimmed */
            keep = i + 1;
        } else if (line[i] != ' ') {
            keep = i + 1;
        }
    }
    return keep;
}

static void add_rule(struct ignore_rules *r, const struct ignore_rule *rule)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->rules = xrealloc(r->rules, r->cap * sizeof *r->rules);
    }
    r->rules[r->n++] = *rule;
}

/* Turn one line (no newline, no CR) into a rule, or skip it. */
static void parse_line(struct ignore_rules *r, const char *line, size_t len)
{
    struct ignore_rule rule = {NULL, false, false, false};
    size_t start = 0;

    if (len == 0 || line[0] == '#' || memchr(line, '\0', len))
        return;
    len = trim_trailing_spaces(line, len);
    if (len > 0 && line[0] == '!') {
        rule.negate = true;
        start = 1;
    }
    if (len > start && line[len - 1] == '/') {
        rule.dir_only = true;
        len--;
    }
    /* A '/' at the start or in the middle anchors; a trailing one was
     * removed above and does not. */
    if (len > start && memchr(line + start, '/', len - start)) {
        rule.anchored = true;
        if (line[start] == '/')
            start++;
    }
    if (len <= start)
        return;
    rule.glob = xstrndup(line + start, len - start);
    if (glob_check(rule.glob, 0, NULL, 0) != SG_OK) {
        free(rule.glob);
        return;
    }
    add_rule(r, &rule);
}

struct ignore_rules *ignore_rules_parse(const char *text, size_t len, const char *base)
{
    struct ignore_rules *r = xcalloc(1, sizeof *r);
    const char *p = text, *end = text ? text + len : text;
    size_t blen;

    if (!base)
        base = "";
    /* Tolerate a stray leading or trailing '/' in base. */
    while (*base == '/')
        base++;
    blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    r->base = xstrndup(base, blen);
    r->baselen = blen;

    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        size_t n = (size_t)(eol - p);

        if (n > 0 && p[n - 1] == '\r')
            n--;
        parse_line(r, p, n);
        p = nl ? nl + 1 : end;
    }
    return r;
}

void ignore_rules_free(struct ignore_rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->rules[i].glob);
    free(r->rules);
    free(r->base);
    free(r);
}

/* relpath relative to base, or NULL when it is not strictly below it. */
static const char *below_base(const struct ignore_rules *r, const char *relpath)
{
    if (r->baselen == 0)
        return *relpath ? relpath : NULL;
    if (strncmp(relpath, r->base, r->baselen) != 0 || relpath[r->baselen] != '/' ||
        relpath[r->baselen + 1] == '\0')
        return NULL;
    return relpath + r->baselen + 1;
}

enum ignore_verdict ignore_rules_match(const struct ignore_rules *r, const char *relpath,
                                       bool is_dir)
{
    const char *rel, *name;

    if (!r || !relpath || !(rel = below_base(r, relpath)))
        return IGNORE_NONE;
    name = strrchr(rel, '/');
    name = name ? name + 1 : rel;
    for (size_t i = r->n; i-- > 0;) {
        const struct ignore_rule *rule = &r->rules[i];
        if (rule->dir_only && !is_dir)
            continue;
        if (glob_match(rule->glob, rule->anchored ? rel : name, 0))
            return rule->negate ? IGNORE_INCLUDE : IGNORE_EXCLUDE;
    }
    return IGNORE_NONE;
}

struct ignore_stack *ignore_stack_new(void)
{
    return xcalloc(1, sizeof(struct ignore_stack));
}

void ignore_stack_free(struct ignore_stack *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        ignore_rules_free(s->sets[i]);
    free(s->sets);
    free(s);
}

void ignore_stack_push(struct ignore_stack *s, struct ignore_rules *r)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->sets = xrealloc(s->sets, s->cap * sizeof *s->sets);
    }
    s->sets[s->n++] = r;
}

void ignore_stack_pop(struct ignore_stack *s)
{
    if (!s || s->n == 0)
        return;
    ignore_rules_free(s->sets[--s->n]);
}

size_t ignore_stack_depth(const struct ignore_stack *s)
{
    return s ? s->n : 0;
}

bool ignore_stack_ignored(const struct ignore_stack *s, const char *relpath, bool is_dir)
{
    if (!s)
        return false;
    for (size_t i = s->n; i-- > 0;) {
        enum ignore_verdict v = ignore_rules_match(s->sets[i], relpath, is_dir);
        if (v != IGNORE_NONE)
            return v == IGNORE_EXCLUDE;
    }
    return false;
}
