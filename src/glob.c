/*
 * glob.c - glob matching for query filters and ignore files.
 *
 * Design decisions:
 *
 * - Globs reach us from HTTP clients, so the matcher must never go
 *   exponential.  It works on two levels, each with the classic
 *   "two-pointer" wildcard algorithm: within one path segment, '*' is a
 *   wildcard over characters; across segments, a "**" segment is a
 *   wildcard over whole segments.  On a mismatch each level only backtracks
 *   to its most recent wildcard (an earlier wildcard can never do better,
 *   because the later one can absorb whatever the earlier one would), so a
 *   segment costs O(pattern * segment) steps and a path at most
 *   O(pattern segments * path segments) segment matches.  The matcher
 *   never recurses.
 *
 * - Splitting on '/' first is what keeps '*', '?' and classes from ever
 *   matching '/', and makes "**" a whole-segment notion for free.  A '/'
 *   inside a bracket expression does not split (the class just can never
 *   match it) and "\/" is a plain separator.
 *
 * - The matcher works on the pattern text itself, with no compile step and
 *   no allocation, because ignore rules call it for every file a walk
 *   visits.  It is lenient (an unbalanced '[' is a literal '[') so that it
 *   is well defined on any input; glob_match() rejects what glob_check()
 *   rejects before calling it.
 *
 * - Braces are expanded into plain globs rather than matched directly,
 *   since alternation inside the matcher would need unbounded
 *   backtracking.  The expansion is parsed into a small tree whose nodes
 *   know how many strings they expand to (saturating at the limit), so an
 *   oversized expansion is refused before anything is built, and the i-th
 *   expansion is written in one pass by reading i as a mixed-radix number.
 *   Every expansion is at most as long as the glob, so the limits bound the
 *   memory at GLOB_MAX_ALTERNATIVES * GLOB_MAX_LEN.
 *
 * - '?' and classes match one UTF-8 character, not one byte, so that
 *   "?.txt" matches "é.txt" and "[!a]" matches "é"; '*' also steps over
 *   whole characters when it backtracks.  Invalid UTF-8 falls back to
 *   single bytes, which never compare equal to any code point.
 *
 * - Glob lists are compiled once.  What lies below a folder that glob G
 *   matches is what G followed by a "**" segment matches, so each list
 *   entry stores that text and "G matches one of the path's folders" costs
 *   one match instead of one per prefix of the path.  A glob with no '/'
 *   gets a leading "**" segment, which turns "matches a component by
 *   name" into the same anchored case.
 */
#include "glob.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Saturation value for expansion counts: anything above the limit. */
#define BRACE_CAP ((size_t)GLOB_MAX_ALTERNATIVES + 1)

/* ------------------------------------------------------------------ */
/* Characters and bracket expressions                                  */
/* ------------------------------------------------------------------ */

/* Decode one UTF-8 character.  Invalid bytes decode to 0x110000 + byte so
 * they can only ever equal the same invalid byte. */
static uint32_t utf8_decode(const char *s, const char *end, size_t *len)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned b = u[0];
    size_t n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
    uint32_t cp;

    *len = 1;
    if (b < 0x80)
        return b;
    if (b < 0xC2 || b > 0xF4 || (size_t)(end - s) < n)
        return 0x110000u + b;
    cp = b & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((u[i] & 0xC0) != 0x80)
            return 0x110000u + b;
        cp = (cp << 6) | (u[i] & 0x3Fu);
    }
    *len = n;
    return cp;
}

/* Just past the ']' closing the bracket expression that starts at p, or
 * NULL when it is not closed before end. */
static const char *class_end(const char *p, const char *end)
{
    const char *q = p + 1;

    if (q < end && (*q == '!' || *q == '^'))
        q++;
    if (q < end && *q == ']')
        q++; /* a ']' first is a member, not the end */
    while (q < end && *q != ']') {
        if (*q == '\\' && ++q == end)
            return NULL;
        q++;
    }
    return q < end ? q + 1 : NULL;
}

/* One class member (possibly escaped), advancing *p. */
static uint32_t class_char(const char **p, const char *end)
{
    size_t n;
    uint32_t c;

    if (**p == '\\')
        (*p)++;
    c = utf8_decode(*p, end, &n);
    *p += n;
    return c;
}

/* Does the class [p, q) (q just past the ']') contain character c? */
static bool class_match(const char *p, const char *q, uint32_t c)
{
    const char *end = q - 1;
    bool negate = false, hit = false;

    p++;
    if (*p == '!' || *p == '^') {
        negate = true;
        p++;
    }
    while (p < end) {
        uint32_t lo = class_char(&p, end), hi = lo;
        if (p + 1 < end && *p == '-') { /* a '-' last is literal */
            p++;
            hi = class_char(&p, end);
        }
        if (lo <= c && c <= hi)
            hit = true;
    }
    return hit != negate;
}

/* Past one pattern atom: an escape pair, a closed class, or one byte. */
static const char *skip_atom(const char *p, const char *end)
{
    if (*p == '\\')
        return p + 1 < end ? p + 2 : end;
    if (*p == '[') {
        const char *q = class_end(p, end);
        if (q)
            return q;
    }
    return p + 1;
}

/* ------------------------------------------------------------------ */
/* Matching                                                            */
/* ------------------------------------------------------------------ */

/* Match the atom at *pp (not '*') against the start of [s, send).  Returns
 * the number of path bytes it consumed and advances *pp, or 0. */
static size_t match_atom(const char **pp, const char *pend, const char *s, const char *send)
{
    const char *p = *pp, *q;
    size_t n = 1;

    if (*p == '?') {
        utf8_decode(s, send, &n);
        p++;
    } else if (*p == '[' && (q = class_end(p, pend))) {
        if (!class_match(p, q, utf8_decode(s, send, &n)))
            return 0;
        p = q;
    } else {
        if (*p == '\\' && p + 1 < pend)
            p++;
        if (*p != *s)
            return 0;
        p++;
    }
    *pp = p;
    return n;
}

/* One pattern segment against one path segment (neither holds a '/'). */
static bool segment_match(const char *p, const char *pend, const char *s, const char *send)
{
    const char *star_p = NULL, *star_s = NULL;
    size_t n;

    while (s < send) {
        if (p < pend && *p == '*') {
            while (p < pend && *p == '*')
                p++;
            star_p = p;
            star_s = s;
            continue;
        }
        if (p < pend && (n = match_atom(&p, pend, s, send)) > 0) {
            s += n;
            continue;
        }
        if (!star_p)
            return false;
        /* Let the last '*' absorb one more character, and retry. */
        utf8_decode(star_s, send, &n);
        star_s += n;
        p = star_p;
        s = star_s;
    }
    while (p < pend && *p == '*')
        p++;
    return p == pend;
}

/* End of the pattern segment at p: the first '/' outside a class, or the
 * backslash of a "\/". */
static const char *pat_seg_end(const char *p, const char *end)
{
    while (p < end && *p != '/') {
        if (p[0] == '\\' && p + 1 < end && p[1] == '/')
            return p;
        p = skip_atom(p, end);
    }
    return p;
}

/* Start of the segment after the one ending at e, or NULL at the end. */
static const char *pat_seg_next(const char *e, const char *end)
{
    if (e >= end)
        return NULL;
    return e + (*e == '\\' ? 2 : 1);
}

static const char *path_seg_end(const char *s, const char *end)
{
    const char *slash = memchr(s, '/', (size_t)(end - s));
    return slash ? slash : end;
}

static const char *path_seg_next(const char *e, const char *end)
{
    return e >= end ? NULL : e + 1;
}

static bool is_globstar(const char *p, const char *pe)
{
    return pe - p == 2 && p[0] == '*' && p[1] == '*';
}

/* Segments left in the pattern once the path is used up: only "**"
 * segments that may match nothing, i.e. not a trailing one. */
static bool rest_matches_empty(const char *p, const char *pend)
{
    while (p) {
        const char *pe = pat_seg_end(p, pend);
        if (!is_globstar(p, pe))
            return false;
        p = pat_seg_next(pe, pend);
        if (!p)
            return false; /* trailing "**" needs a segment */
    }
    return true;
}

/* The whole glob [pat, pend) against the whole path [s, send).  A segment
 * position of NULL means "past the last segment", which differs from "at
 * an empty last segment" (the path "a/" has segments "a" and ""). */
static bool match_path(const char *pat, size_t plen, const char *path, size_t slen)
{
    const char *pend = pat + plen, *send = path + slen;
    const char *p = pat, *s = path;
    const char *star_p = NULL, *star_s = NULL;

    while (s) {
        const char *se = path_seg_end(s, send);
        if (p) {
            const char *pe = pat_seg_end(p, pend);
            if (is_globstar(p, pe)) {
                p = pat_seg_next(pe, pend);
                if (!p)
                    return true; /* trailing "**" takes the >= 1 left */
                star_p = p;
                star_s = s;
                continue;
            }
            if (segment_match(p, pe, s, se)) {
                p = pat_seg_next(pe, pend);
                s = path_seg_next(se, send);
                continue;
            }
        }
        if (!star_s)
            return false;
        /* Let the last "**" absorb one more segment, and retry. */
        star_s = path_seg_next(path_seg_end(star_s, send), send);
        p = star_p;
        s = star_s;
    }
    return rest_matches_empty(p, pend);
}

/* ------------------------------------------------------------------ */
/* Brace expansion                                                     */
/* ------------------------------------------------------------------ */

struct brace_seq;

/* A literal run of the glob (escapes kept, so the expansions are globs
 * with the same meaning), or a {group} of alternative sequences. */
struct brace_item {
    const char *lit;
    size_t litlen;
    struct brace_seq *alts;
    size_t nalts;
    size_t count;
};

struct brace_seq {
    struct brace_item *items;
    size_t nitems;
    size_t count; /* expansions, saturating at BRACE_CAP */
};

struct brace_parse {
    const char *base; /* the whole glob, for error offsets */
    char *err;
    size_t errlen;
};

static size_t sat_add(size_t a, size_t b)
{
    return a + b > BRACE_CAP ? BRACE_CAP : a + b;
}

static size_t sat_mul(size_t a, size_t b)
{
    /* Both are at most BRACE_CAP, so the product cannot overflow. */
    return a * b > BRACE_CAP ? BRACE_CAP : a * b;
}

static struct brace_item *brace_add_item(struct brace_seq *seq, size_t *cap)
{
    if (seq->nitems == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        seq->items = xrealloc(seq->items, *cap * sizeof *seq->items);
    }
    memset(&seq->items[seq->nitems], 0, sizeof *seq->items);
    return &seq->items[seq->nitems++];
}

static struct brace_seq *brace_add_alt(struct brace_item *item, size_t *cap)
{
    if (item->nalts == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        item->alts = xrealloc(item->alts, *cap * sizeof *item->alts);
    }
    memset(&item->alts[item->nalts], 0, sizeof *item->alts);
    return &item->alts[item->nalts++];
}

static void brace_free_seq(struct brace_seq *seq)
{
    for (size_t i = 0; i < seq->nitems; i++) {
        struct brace_item *item = &seq->items[i];
        for (size_t j = 0; j < item->nalts; j++)
            brace_free_seq(&item->alts[j]);
        free(item->alts);
    }
    free(seq->items);
}

static int brace_parse_seq(struct brace_parse *bp, const char *p, const char *end, int depth,
                           struct brace_seq *seq);

/* Parse the group opening at `open` into item; returns the position past
 * its '}', or NULL with a message.  Recursion is bounded by the depth
 * check, which comes first. */
static const char *brace_parse_group(struct brace_parse *bp, const char *open, const char *end,
                                     int depth, struct brace_item *item)
{
    const char *alt = open + 1;
    size_t cap = 0;
    int level = 0;

    if (depth > GLOB_MAX_BRACE_DEPTH) {
        set_err(bp->err, bp->errlen, "braces nested deeper than %d", GLOB_MAX_BRACE_DEPTH);
        return NULL;
    }
    for (const char *q = open + 1; q < end; q = skip_atom(q, end)) {
        if (*q == '{') {
            level++;
        } else if (*q == '}' && level > 0) {
            level--;
        } else if ((*q == ',' || *q == '}') && level == 0) {
            struct brace_seq *seq = brace_add_alt(item, &cap);
            if (brace_parse_seq(bp, alt, q, depth, seq) != SG_OK)
                return NULL;
            item->count = sat_add(item->count, seq->count);
            if (*q == '}')
                return q + 1;
            alt = q + 1;
        }
    }
    set_err(bp->err, bp->errlen, "unbalanced '{' at offset %zu", (size_t)(open - bp->base));
    return NULL;
}

/* Parse [p, end) into seq.  seq is left freeable even on error. */
static int brace_parse_seq(struct brace_parse *bp, const char *p, const char *end, int depth,
                           struct brace_seq *seq)
{
    size_t cap = 0;

    seq->items = NULL;
    seq->nitems = 0;
    seq->count = 1;
    while (p < end) {
        const char *q = p;
        struct brace_item *item;

        while (q < end && *q != '{' && *q != '}')
            q = skip_atom(q, end);
        if (q > p) {
            item = brace_add_item(seq, &cap);
            item->lit = p;
            item->litlen = (size_t)(q - p);
            item->count = 1;
        }
        if (q == end)
            break;
        if (*q == '}') {
            set_err(bp->err, bp->errlen, "unbalanced '}' at offset %zu", (size_t)(q - bp->base));
            return SG_ERR;
        }
        item = brace_add_item(seq, &cap);
        p = brace_parse_group(bp, q, end, depth + 1, item);
        if (!p)
            return SG_ERR;
        seq->count = sat_mul(seq->count, item->count);
    }
    return SG_OK;
}

/* Write expansion number idx of seq at *out. */
static void brace_emit(const struct brace_seq *seq, size_t idx, char **out)
{
    for (size_t i = 0; i < seq->nitems; i++) {
        const struct brace_item *item = &seq->items[i];
        size_t k, a;

        if (!item->alts) {
            memcpy(*out, item->lit, item->litlen);
            *out += item->litlen;
            continue;
        }
        k = idx % item->count;
        idx /= item->count;
        for (a = 0; k >= item->alts[a].count; a++)
            k -= item->alts[a].count;
        brace_emit(&item->alts[a], k, out);
    }
}

/* Expand the braces of a glob whose other syntax is already checked.
 * Returns an array of *n strings (each freed, then the array), or NULL
 * with a message. */
static char **brace_expand(const char *pat, size_t len, size_t *n, char *err, size_t errlen)
{
    struct brace_parse bp = {pat, err, errlen};
    struct brace_seq root;
    char **out = NULL;

    if (brace_parse_seq(&bp, pat, pat + len, 0, &root) == SG_OK) {
        if (root.count > GLOB_MAX_ALTERNATIVES) {
            set_err(err, errlen, "braces expand to more than %d alternatives",
                    GLOB_MAX_ALTERNATIVES);
        } else {
            out = xcalloc(root.count, sizeof *out);
            for (size_t i = 0; i < root.count; i++) {
                char *w = out[i] = xmalloc(len + 1);
                brace_emit(&root, i, &w);
                *w = '\0';
            }
            *n = root.count;
        }
    }
    brace_free_seq(&root);
    return out;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ------------------------------------------------------------------ */
/* Single globs                                                        */
/* ------------------------------------------------------------------ */

/* Everything but the braces: length, escapes, classes. */
static int check_plain(const char *pattern, size_t len, char *err, size_t errlen)
{
    const char *end = pattern + len;

    if (len > GLOB_MAX_LEN) {
        set_err(err, errlen, "glob is longer than %d bytes", GLOB_MAX_LEN);
        return SG_ERR;
    }
    for (const char *p = pattern; p < end; p = skip_atom(p, end)) {
        if (*p == '\\' && p + 1 == end) {
            set_err(err, errlen, "trailing backslash");
            return SG_ERR;
        }
        if (*p == '[' && !class_end(p, end)) {
            set_err(err, errlen, "unbalanced '[' at offset %zu", (size_t)(p - pattern));
            return SG_ERR;
        }
    }
    return SG_OK;
}

int glob_check(const char *pattern, int flags, char *err, size_t errlen)
{
    size_t len, n;
    char **alts;

    if (!pattern) {
        set_err(err, errlen, "no glob");
        return SG_ERR;
    }
    /* strnlen: no need to walk a megabyte to learn it is too long. */
    len = strnlen(pattern, GLOB_MAX_LEN + 1);
    if (check_plain(pattern, len, err, errlen) != SG_OK)
        return SG_ERR;
    if (!(flags & GLOB_BRACES) || !strpbrk(pattern, "{}"))
        return SG_OK;
    alts = brace_expand(pattern, len, &n, err, errlen);
    if (!alts)
        return SG_ERR;
    free_strings(alts, n);
    return SG_OK;
}

bool glob_match(const char *pattern, const char *path, int flags)
{
    size_t plen, slen, n;
    char **alts;
    bool hit = false;

    if (!pattern || !path || glob_check(pattern, 0, NULL, 0) != SG_OK)
        return false;
    plen = strlen(pattern);
    slen = strlen(path);
    if (!(flags & GLOB_BRACES) || !strpbrk(pattern, "{}"))
        return match_path(pattern, plen, path, slen);
    alts = brace_expand(pattern, plen, &n, NULL, 0);
    if (!alts)
        return false;
    for (size_t i = 0; i < n && !hit; i++)
        hit = match_path(alts[i], strlen(alts[i]), path, slen);
    free_strings(alts, n);
    return hit;
}

/* ------------------------------------------------------------------ */
/* Glob lists                                                          */
/* ------------------------------------------------------------------ */

/* One pattern of a list.  G, the first glen bytes of pat, is the glob
 * anchored at the root (with a leading "**" segment for globs that match a
 * name at any depth).  All of pat, G followed by a "**" segment (see
 * list_add_alt() for when G ends in one), matches whatever lies below a
 * folder that G matches. */
struct glob_entry {
    char *pat;
    size_t glen, len;
    size_t item; /* which item of the list it came from */
    bool dir_only;
};

struct glob_list {
    struct glob_entry *entries;
    size_t n, cap;
    char **items; /* each item's text, as typed (spaces around dropped) */
    size_t nitems;
};

/* End of the list item starting at p: the first ',' outside braces and
 * classes that is not escaped. */
static const char *list_item_end(const char *p, const char *end)
{
    size_t depth = 0;

    while (p < end) {
        if (*p == ',' && depth == 0)
            return p;
        if (*p == '{')
            depth++;
        else if (*p == '}' && depth > 0)
            depth--;
        p = skip_atom(p, end);
    }
    return end;
}

/* Is the character before e escaped, i.e. preceded by an odd run of
 * backslashes that starts at or after s? */
static bool escaped_before(const char *s, const char *e)
{
    const char *q = e - 1;
    size_t run = 0;

    while (q > s && q[-1] == '\\') {
        q--;
        run++;
    }
    return run % 2 == 1;
}

/* Is the last segment of the glob [s, e) a "**"? */
static bool ends_in_globstar(const char *s, const char *e)
{
    return e - s >= 2 && e[-1] == '*' && e[-2] == '*' && (e - s == 2 || e[-3] == '/');
}

/* Add one brace-free alternative; returns false when it names no path
 * (only slashes, or empty). */
static bool list_add_alt(struct glob_list *gl, const char *s, const char *e)
{
    bool anchored = false, dir_only = false;
    struct glob_entry *ent;
    const char *below;
    size_t prefix, glen;

    while (s < e && (*s == '/' || (s[0] == '\\' && s + 1 < e && s[1] == '/'))) {
        s += *s == '/' ? 1 : 2;
        anchored = true;
    }
    while (e > s && e[-1] == '/') {
        dir_only = true;
        e -= escaped_before(s, e) ? 2 : 1;
    }
    if (s == e)
        return false;
    /* Any '/' anchors a query glob, a trailing one too: "src/" means the
     * top-level src folder, as a user typing it expects ("**" + "/src/"
     * reaches one at any depth).  This is where query globs part from
     * gitignore. */
    if (dir_only || memchr(s, '/', (size_t)(e - s)))
        anchored = true;
    prefix = anchored ? 0 : 3;
    glen = prefix + (size_t)(e - s);
    /* A trailing "**" of G matches at least one segment, but once another
     * "**" follows it may match none.  Put that segment back, or a folder
     * glob ending in a "**" segment would select the files right inside
     * the folder before it. */
    below = ends_in_globstar(s, e) ? "/*/**" : "/**";
    if (gl->n == gl->cap) {
        gl->cap = gl->cap ? gl->cap * 2 : 8;
        gl->entries = xrealloc(gl->entries, gl->cap * sizeof *gl->entries);
    }
    ent = &gl->entries[gl->n++];
    ent->item = gl->nitems;
    ent->pat = xmalloc(glen + strlen(below) + 1);
    memcpy(ent->pat, "**/", prefix);
    memcpy(ent->pat + prefix, s, (size_t)(e - s));
    strcpy(ent->pat + glen, below);
    ent->glen = glen;
    ent->len = glen + strlen(below);
    ent->dir_only = dir_only;
    return true;
}

/* Check, expand and add the glob [s, e). */
static int list_add_glob(struct glob_list *gl, const char *s, const char *e, char *err,
                         size_t errlen)
{
    char msg[SG_ERRLEN];
    char *glob = xstrndup(s, (size_t)(e - s));
    char **alts = NULL;
    size_t n = 0, added = 0;
    int rc = SG_ERR;

    /* brace_expand() checks the braces, and copes with a glob that has
     * none; no need for glob_check() to expand everything twice. */
    if (check_plain(glob, strlen(glob), msg, sizeof msg) == SG_OK)
        alts = brace_expand(glob, strlen(glob), &n, msg, sizeof msg);
    if (alts && gl->n + n > GLOB_LIST_MAX_PATTERNS)
        set_err(msg, sizeof msg, "the list expands to more than %d patterns",
                GLOB_LIST_MAX_PATTERNS);
    else if (alts) {
        for (size_t i = 0; i < n; i++)
            added += list_add_alt(gl, alts[i], alts[i] + strlen(alts[i]));
        if (added)
            rc = SG_OK;
        else
            set_err(msg, sizeof msg, "names no path");
    }
    if (rc != SG_OK)
        set_err(err, errlen, "bad glob \"%.100s%s\": %s", glob, strlen(glob) > 100 ? "..." : "",
                msg);
    if (alts)
        free_strings(alts, n);
    free(glob);
    return rc;
}

struct glob_list *glob_list_parse(const char *spec, char *err, size_t errlen)
{
    struct glob_list *gl;
    const char *p, *end;
    size_t nglobs = 0;

    if (!spec) {
        set_err(err, errlen, "no glob list");
        return NULL;
    }
    gl = xcalloc(1, sizeof *gl);
    end = spec + strlen(spec);
    for (p = spec;;) {
        const char *q = list_item_end(p, end), *s = p, *e = q;

        /* Spaces around items are almost always "a, b" typing. */
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t') && !escaped_before(s, e))
            e--;
        if (s < e && ++nglobs > GLOB_LIST_MAX_GLOBS) {
            set_err(err, errlen, "more than %d globs in the list", GLOB_LIST_MAX_GLOBS);
            goto fail;
        }
        if (s < e) {
            if (list_add_glob(gl, s, e, err, errlen) != SG_OK)
                goto fail;
            gl->items = xrealloc(gl->items, (gl->nitems + 1) * sizeof *gl->items);
            gl->items[gl->nitems++] = xstrndup(s, (size_t)(e - s));
        }
        if (q == end)
            break;
        p = q + 1;
    }
    if (gl->n == 0) {
        set_err(err, errlen, "empty glob list");
        goto fail;
    }
    return gl;
fail:
    glob_list_free(gl);
    return NULL;
}

/* Does entry i of the list select the path (len bytes, is_dir)? */
static bool entry_matches(const struct glob_entry *ent, const char *path, size_t len, bool is_dir)
{
    /* The glob names the path itself... */
    if ((!ent->dir_only || is_dir) && match_path(ent->pat, ent->glen, path, len))
        return true;
    /* ...or one of the folders it lies in. */
    return match_path(ent->pat, ent->len, path, len);
}

/* Drop leading and trailing slashes; false when nothing is left. */
static bool trim_path(const char **path, size_t *len, bool *is_dir)
{
    const char *p = *path;

    while (*p == '/')
        p++;
    *len = strlen(p);
    *is_dir = false;
    while (*len > 0 && p[*len - 1] == '/') {
        (*len)--;
        *is_dir = true;
    }
    *path = p;
    return *len > 0;
}

bool glob_list_match(const struct glob_list *gl, const char *path)
{
    size_t len;
    bool is_dir;

    if (!gl || !path || !trim_path(&path, &len, &is_dir))
        return false;
    for (size_t i = 0; i < gl->n; i++)
        if (entry_matches(&gl->entries[i], path, len, is_dir))
            return true;
    return false;
}

const char *glob_list_unused(const struct glob_list *gl, const char *const *paths, size_t n)
{
    if (!gl)
        return NULL;
    for (size_t item = 0; item < gl->nitems; item++) {
        bool used = false;
        for (size_t i = 0; i < gl->n && !used; i++) {
            if (gl->entries[i].item != item)
                continue;
            for (size_t k = 0; k < n && !used; k++) {
                const char *path = paths[k];
                size_t len;
                bool is_dir;
                used = path && trim_path(&path, &len, &is_dir) &&
                       entry_matches(&gl->entries[i], path, len, is_dir);
            }
        }
        if (!used)
            return gl->items[item];
    }
    return NULL;
}

void glob_list_free(struct glob_list *gl)
{
    if (!gl)
        return;
    for (size_t i = 0; i < gl->n; i++)
        free(gl->entries[i].pat);
    for (size_t i = 0; i < gl->nitems; i++)
        free(gl->items[i]);
    free(gl->items);
    free(gl->entries);
    free(gl);
}
