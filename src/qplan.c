/*
 * qplan.c - a PCRE2 pattern to a trigram query (see qplan.h).
 *
 * A small recursive-descent reader of PCRE2 syntax.  It only needs to
 * know which bytes every match must contain: a concatenation collects
 * runs of literal characters (each run of three or more gives the AND of
 * its trigrams); an alternation gives the OR of its branches; anything
 * else (classes, dots, escapes for classes, lookaround, optional items)
 * ends the current run.  Constructs it does not follow (recursion,
 * conditionals, (*VERBS), extended mode) make the whole query ALL.
 */
#include "qplan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_DEPTH 64

/* A literal run being collected, and the AND it flushes into. */
struct run {
    unsigned char *buf;
    size_t len, cap;
};

struct parser {
    const unsigned char *p;
    size_t n, pos;
    bool caseless;
    bool bail; /* gave up: the whole query is ALL */
    int depth;
    /* The longest run the whole pattern requires (outside any group, and
     * with no top-level alternation), for qplan_anchor(). */
    struct run anchor;
    bool no_anchor;
    bool impure; /* saw anything but plain literal characters */
};

static struct qnode *node_new(enum qnode_kind kind)
{
    struct qnode *n = xcalloc(1, sizeof *n);
    n->kind = kind;
    return n;
}

void qplan_free(struct qnode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        qplan_free(n->kids[i]);
    free(n->kids);
    free(n);
}

static void add_kid(struct qnode *parent, struct qnode *kid)
{
    parent->kids = xrealloc(parent->kids, (parent->nkids + 1) * sizeof *parent->kids);
    parent->kids[parent->nkids++] = kid;
}

/* AND without ALL kids; OR is ALL if any kid is; one kid stands alone. */
static struct qnode *simplify(struct qnode *n)
{
    if (n->kind != QN_AND && n->kind != QN_OR)
        return n;
    size_t w = 0;
    bool any_all = false;
    for (size_t i = 0; i < n->nkids; i++) {
        if (n->kids[i]->kind == QN_ALL) {
            any_all = true;
            qplan_free(n->kids[i]);
        } else {
            n->kids[w++] = n->kids[i];
        }
    }
    n->nkids = w;
    if ((n->kind == QN_OR && any_all) || n->nkids == 0) {
        qplan_free(n);
        return node_new(QN_ALL);
    }
    if (n->nkids == 1) {
        struct qnode *only = n->kids[0];
        n->nkids = 0;
        qplan_free(n);
        return only;
    }
    return n;
}

static void run_push(struct run *r, const unsigned char *b, size_t len)
{
    if (r->len + len > r->cap) {
        r->cap = (r->len + len) * 2 + 16;
        r->buf = xrealloc(r->buf, r->cap);
    }
    memcpy(r->buf + r->len, b, len);
    r->len += len;
}

/* End the current run: its trigrams join the AND. */
static void run_flush(struct parser *ps, struct run *r, struct qnode *every)
{
    if (ps->depth <= 1 && r->len > ps->anchor.len) {
        ps->anchor.len = 0;
        run_push(&ps->anchor, r->buf, r->len);
    }
    for (size_t i = 0; i + 3 <= r->len; i++) {
        struct qnode *t = node_new(QN_TRI);
        t->tri = (uint32_t)qplan_fold(r->buf[i]) << 16 | (uint32_t)qplan_fold(r->buf[i + 1]) << 8 |
                 qplan_fold(r->buf[i + 2]);
        add_kid(every, t);
    }
    r->len = 0;
}

static int peek(const struct parser *ps, size_t ahead)
{
    return ps->pos + ahead < ps->n ? ps->p[ps->pos + ahead] : -1;
}

/* Bytes of the UTF-8 character starting at the current position. */
static size_t char_len(const struct parser *ps)
{
    unsigned c = ps->p[ps->pos];
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    return ps->pos + len <= ps->n ? len : ps->n - ps->pos;
}

/* Skip past the next `close` byte (for \p{..}, \g<..>, names). */
static void skip_past(struct parser *ps, int close)
{
    while (ps->pos < ps->n && ps->p[ps->pos] != close)
        ps->pos++;
    if (ps->pos < ps->n)
        ps->pos++;
}

/* Past what follows a '\' (consumed) that is not \Q: one character, or
 * two for \cX, whose X can be any printable character: \c) \c] \c\
 * neither close a group or class nor escape what follows. */
static void skip_escaped(struct parser *ps)
{
    if (ps->pos >= ps->n)
        return;
    bool ctrl = ps->p[ps->pos] == 'c';
    ps->pos++;
    if (ctrl && ps->pos < ps->n)
        ps->pos++;
}

/* Skip \Q...\E; "\Q" is consumed.  Quoted text is plain characters
 * wherever it stands, classes and groups included. */
static void skip_quoted(struct parser *ps)
{
    while (ps->pos < ps->n && !(ps->p[ps->pos] == '\\' && peek(ps, 1) == 'E'))
        ps->pos++;
    if (ps->pos < ps->n)
        ps->pos += 2;
}

/* A POSIX class "[:name:]" (or "[:^name:]") starts here, at the '['. */
static size_t posix_class_len(const struct parser *ps)
{
    size_t i = ps->pos + 2;
    if (ps->pos + 1 >= ps->n || ps->p[ps->pos + 1] != ':')
        return 0;
    if (i < ps->n && ps->p[i] == '^')
        i++;
    while (i < ps->n && ps->p[i] >= 'a' && ps->p[i] <= 'z')
        i++;
    if (i + 1 < ps->n && ps->p[i] == ':' && ps->p[i + 1] == ']')
        return i + 2 - ps->pos;
    return 0; /* otherwise the '[' is an ordinary member */
}

/* Skip a character class; the '[' is already consumed. */
static void skip_class(struct parser *ps)
{
    if (peek(ps, 0) == '^')
        ps->pos++;
    if (peek(ps, 0) == ']')
        ps->pos++; /* a leading ']' is a member */
    while (ps->pos < ps->n) {
        size_t posix = posix_class_len(ps);
        int c = ps->p[ps->pos++];
        if (c == '\\' && peek(ps, 0) == 'Q') {
            ps->pos++;
            skip_quoted(ps);
        } else if (c == '\\') {
            skip_escaped(ps);
        } else if (posix) {
            ps->pos += posix - 1; /* [:alpha:] */
        } else if (c == ']') {
            return;
        }
    }
}

/* Skip a group whose '(' is consumed, up to its matching ')'. */
static void skip_group(struct parser *ps)
{
    int depth = 1;
    while (ps->pos < ps->n && depth > 0) {
        int c = ps->p[ps->pos++];
        if (c == '\\' && peek(ps, 0) == 'Q') {
            ps->pos++;
            skip_quoted(ps);
        } else if (c == '\\')
            skip_escaped(ps);
        else if (c == '(' && peek(ps, 0) == '?' && peek(ps, 1) == '#')
            skip_past(ps, ')'); /* a comment ends at the first ')' */
        else if (c == '[')
            skip_class(ps);
        else if (c == '(')
            depth++;
        else if (c == ')')
            depth--;
    }
}

/* What one atom of a concatenation contributes. */
enum atom_kind { ATOM_LIT, ATOM_NODE, ATOM_BREAK };

struct atom {
    enum atom_kind kind;
    unsigned char lit[8]; /* ATOM_LIT: one character */
    size_t len;
    struct qnode *node; /* ATOM_NODE */
};

/* An escape's argument: \p{..}, \x41, \g<..>, \1... must not be read as
 * literal characters. */
static void skip_escape_arg(struct parser *ps, int e)
{
    int c = peek(ps, 0);
    if (c == '{' && strchr("pPxogkN", e)) {
        /* Only these take a braced argument: after \w, "{+a|" is text
         * (and its '|' an alternation), not an argument to skip. */
        skip_past(ps, '}');
    } else if ((e == 'k' || e == 'g') && (c == '<' || c == '\'')) {
        ps->pos++; /* past the opening bracket or quote */
        skip_past(ps, c == '<' ? '>' : '\'');
    } else if (e == 'c' || ((e == 'p' || e == 'P') && c >= 0)) {
        ps->pos++;
    } else if (e == 'x') {
        for (int i = 0; i < 2 && strchr("0123456789abcdefABCDEF", peek(ps, 0)) && peek(ps, 0) > 0;
             i++)
            ps->pos++;
    } else if ((e >= '0' && e <= '9') || e == 'g') {
        if (e == 'g' && (c == '-' || c == '+'))
            ps->pos++; /* \g-1, \g+1 */
        while (peek(ps, 0) >= '0' && peek(ps, 0) <= '9')
            ps->pos++;
    }
}

static void parse_escape(struct parser *ps, struct atom *a)
{
    int e = peek(ps, 0);
    if (e < 0) {
        ps->bail = true;
        return;
    }
    ps->pos++;
    static const char simple_from[] = "tnrfea", simple_to[] = "\t\n\r\f\x1b\x07";
    const char *s = e < 0x80 ? strchr(simple_from, e) : NULL;
    if (s && e) {
        a->kind = ATOM_LIT;
        a->lit[0] = (unsigned char)simple_to[s - simple_from];
        a->len = 1;
    } else if (e >= 0x80) {
        ps->pos--; /* \é: the whole character, as a literal */
        a->kind = ATOM_LIT;
        a->len = char_len(ps);
        memcpy(a->lit, ps->p + ps->pos, a->len);
        ps->pos += a->len;
    } else if (!((e >= '0' && e <= '9') || (e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z'))) {
        a->kind = ATOM_LIT; /* \. \( \\ \/ ... */
        a->lit[0] = (unsigned char)e;
        a->len = 1;
    } else {
        a->kind = ATOM_BREAK; /* a class, an anchor, a back-reference, a code point */
        skip_escape_arg(ps, e);
    }
}

static struct qnode *parse_alt(struct parser *ps);

/* "(?" is consumed: look-around, comments, names, flags, or give up. */
static void parse_special_group(struct parser *ps, struct atom *a)
{
    int c = peek(ps, 0);
    int c1 = peek(ps, 1);
    bool name_start = c1 == '_' || (c1 >= 'a' && c1 <= 'z') || (c1 >= 'A' && c1 <= 'Z');
    if (c == '#') {
        skip_past(ps, ')'); /* a comment ends at the first ')', whatever it holds */
        a->kind = ATOM_BREAK;
        return;
    }
    if (c == '=' || c == '!' || (c == '<' && (c1 == '=' || c1 == '!')) || (c == 'P' && c1 == '=')) {
        skip_group(ps); /* look-around, back-reference: no literal */
        a->kind = ATOM_BREAK;
        return;
    }
    if (((c == '<' || c == '\'') && name_start) || (c == 'P' && c1 == '<')) {
        ps->pos += c == 'P' ? 2 : 1; /* a named group: past the opening bracket */
        skip_past(ps, c == '\'' ? '\'' : '>');
    } else if (c == '<' || c == '\'') {
        ps->bail = true; /* (?<*...) and other forms we do not follow */
        return;
    } else if (c == ':' || c == '|' || c == '>') {
        ps->pos++;
    } else {
        /* Option letters, then ')' (a setting) or ':' (a group). */
        while (peek(ps, 0) > 0 && strchr("imnsUxJ-^", peek(ps, 0)))
            ps->pos++;
        if (peek(ps, 0) == ')') {
            ps->pos++;
            a->kind = ATOM_BREAK;
            return;
        }
        if (peek(ps, 0) != ':') {
            ps->bail = true; /* recursion, conditional, callout... */
            return;
        }
        ps->pos++;
    }
    a->kind = ATOM_NODE;
    a->node = parse_alt(ps);
    if (peek(ps, 0) == ')')
        ps->pos++;
}

static void parse_atom(struct parser *ps, struct atom *a)
{
    int c = ps->p[ps->pos];
    memset(a, 0, sizeof *a);
    a->kind = ATOM_BREAK;
    if (c == '\\') {
        ps->pos++;
        parse_escape(ps, a);
    } else if (c == '[') {
        ps->pos++;
        skip_class(ps);
    } else if (c == '(') {
        ps->pos++;
        if (peek(ps, 0) == '*') {
            ps->bail = true;
        } else if (peek(ps, 0) == '?') {
            ps->pos++;
            parse_special_group(ps, a);
        } else {
            a->kind = ATOM_NODE;
            a->node = parse_alt(ps);
            if (peek(ps, 0) == ')')
                ps->pos++;
        }
    } else if (c == '.' || c == '^' || c == '$' || c == '*' || c == '+' || c == '?') {
        ps->pos++;
    } else {
        a->kind = ATOM_LIT;
        a->len = char_len(ps);
        memcpy(a->lit, ps->p + ps->pos, a->len);
        ps->pos += a->len;
    }
}

/* Read a quantifier if one follows; returns its minimum count, or -1 when
 * there is none.  A '{' that is not a valid quantifier is a literal. */
static long parse_quantifier(struct parser *ps)
{
    /* PCRE2 lets comments and empty quotes stand between an item and its
     * quantifier: "abc(?#x)?" repeats the c. */
    for (;;) {
        if (peek(ps, 0) == '(' && peek(ps, 1) == '?' && peek(ps, 2) == '#')
            skip_past(ps, ')');
        else if (peek(ps, 0) == '\\' && peek(ps, 1) == 'E')
            ps->pos += 2;
        else if (peek(ps, 0) == '\\' && peek(ps, 1) == 'Q' && peek(ps, 2) == '\\' &&
                 peek(ps, 3) == 'E')
            ps->pos += 4;
        else
            break;
    }
    int c = peek(ps, 0);
    long min = -1;
    if (c == '*' || c == '?') {
        min = 0;
        ps->pos++;
    } else if (c == '+') {
        min = 1;
        ps->pos++;
    } else if (c == '{') {
        size_t i = ps->pos + 1;
        long v = 0;
        bool digits = false;
        while (i < ps->n && ps->p[i] >= '0' && ps->p[i] <= '9') {
            v = v * 10 + (ps->p[i++] - '0');
            digits = true;
            if (v > 1000000)
                v = 1000000;
        }
        /* "{,n}" is literal text before PCRE2 10.43 and a quantifier from
         * then on: either reading is wrong for one of them, so give up. */
        if (!digits && i < ps->n && ps->p[i] == ',') {
            ps->bail = true;
            return -1;
        }
        if (!digits)
            return -1;
        if (i < ps->n && ps->p[i] == ',') {
            i++;
            while (i < ps->n && ps->p[i] >= '0' && ps->p[i] <= '9')
                i++;
        }
        if (i >= ps->n || ps->p[i] != '}')
            return -1;
        ps->pos = i + 1;
        min = v;
    } else {
        return -1;
    }
    if (peek(ps, 0) == '?' || peek(ps, 0) == '+')
        ps->pos++; /* lazy or possessive */
    return min;
}

/* Whether a caseless search may match this character with other bytes. */
static bool folds_widely(const struct parser *ps, const struct atom *a)
{
    if (!ps->caseless)
        return false;
    return a->lit[0] >= 0x80; /* k and s: see wide_fold in qplan.h */
}

static void add_atom(struct parser *ps, struct atom *a, long min, struct run *run,
                     struct qnode *every)
{
    if (a->kind != ATOM_LIT || min >= 0 || folds_widely(ps, a))
        ps->impure = true;
    if (a->kind == ATOM_LIT && !folds_widely(ps, a)) {
        if (min == 0) {
            run_flush(ps, run, every); /* optional: the run cannot cross it */
            return;
        }
        run_push(run, a->lit, a->len);
        if (min > 0)
            run_flush(ps, run, every); /* repeated: what follows is not adjacent */
        return;
    }
    run_flush(ps, run, every);
    if (a->kind == ATOM_NODE) {
        if (min == 0)
            qplan_free(a->node);
        else
            add_kid(every, a->node);
    }
}

/* \Q...\E: literal characters; "\Q" is consumed.  A quantifier after
 * "\E" applies to the last character quoted. */
static void parse_quoted(struct parser *ps, struct run *run, struct qnode *every)
{
    size_t before_last = SIZE_MAX; /* run length before the last character */
    while (ps->pos < ps->n) {
        if (ps->p[ps->pos] == '\\' && peek(ps, 1) == 'E') {
            ps->pos += 2;
            break;
        }
        struct atom a = {.kind = ATOM_LIT, .len = char_len(ps)};
        memcpy(a.lit, ps->p + ps->pos, a.len);
        ps->pos += a.len;
        before_last = run->len;
        add_atom(ps, &a, -1, run, every);
        if (run->len != before_last + a.len)
            before_last = SIZE_MAX; /* it ended the run */
    }
    long min = parse_quantifier(ps);
    if (min < 0)
        return;
    ps->impure = true;
    if (before_last == SIZE_MAX) {
        /* "\Q\E*" repeats what came before: too subtle to follow. */
        ps->bail = run->len > 0;
        run_flush(ps, run, every);
        return;
    }
    if (min == 0)
        run->len = before_last;
    run_flush(ps, run, every);
}

static struct qnode *parse_concat(struct parser *ps)
{
    struct qnode *every = node_new(QN_AND);
    struct run run = {0};
    while (ps->pos < ps->n && !ps->bail) {
        int c = ps->p[ps->pos];
        if (c == '|' || c == ')')
            break;
        if (c == '\\' && peek(ps, 1) == 'Q') {
            ps->pos += 2;
            parse_quoted(ps, &run, every);
            continue;
        }
        struct atom a;
        parse_atom(ps, &a);
        long min = parse_quantifier(ps);
        add_atom(ps, &a, min, &run, every);
    }
    run_flush(ps, &run, every);
    free(run.buf);
    return simplify(every);
}

static struct qnode *parse_alt(struct parser *ps)
{
    if (++ps->depth > MAX_DEPTH) {
        ps->bail = true;
        return node_new(QN_ALL);
    }
    struct qnode *any = node_new(QN_OR);
    add_kid(any, parse_concat(ps));
    while (!ps->bail && peek(ps, 0) == '|') {
        ps->pos++;
        add_kid(any, parse_concat(ps));
        if (ps->depth == 1)
            ps->no_anchor = true; /* a run of one branch is not required */
        ps->impure = true;
    }
    ps->depth--;
    return simplify(any);
}

/* Settings that change how the whole pattern reads: (?x) makes white
 * space insignificant; (?i) anywhere makes us treat it all as caseless. */
static void prescan(struct parser *ps)
{
    for (size_t i = 0; i + 2 < ps->n; i++) {
        if (ps->p[i] != '(' || ps->p[i + 1] != '?')
            continue;
        for (size_t j = i + 2; j < ps->n && strchr("imnsUxJ-^", ps->p[j]) && ps->p[j]; j++) {
            if (ps->p[j] == 'x')
                ps->bail = true;
            if (ps->p[j] == 'i')
                ps->caseless = true;
        }
    }
}

static struct qnode *literal_plan(struct parser *pp)
{
    struct parser ps = *pp;
    struct qnode *every = node_new(QN_AND);
    struct run run = {0};
    while (ps.pos < ps.n) {
        struct atom a = {.kind = ATOM_LIT, .len = char_len(&ps)};
        memcpy(a.lit, ps.p + ps.pos, a.len);
        ps.pos += a.len;
        add_atom(&ps, &a, -1, &run, every);
    }
    run_flush(&ps, &run, every);
    free(run.buf);
    *pp = ps;
    return simplify(every);
}

/* Start-of-pattern settings such as (*UTF), (*UCP), (*NO_JIT),
 * (*LIMIT_MATCH=99) or (*CRLF) change how PCRE2 runs the pattern, not
 * which bytes a match holds: the plan reads on after them.  Returns the
 * offset past the leading ones.  Other verbs ((*ACCEPT) ends a match
 * early) still make the plan "all". */
static size_t skip_settings(const unsigned char *p, size_t n)
{
    static const char *const plain[] = {"UTF",
                                        "UCP",
                                        "NO_AUTO_POSSESS",
                                        "NO_DOTSTAR_ANCHOR",
                                        "NO_JIT",
                                        "NO_START_OPT",
                                        "NOTEMPTY",
                                        "NOTEMPTY_ATSTART",
                                        "CR",
                                        "LF",
                                        "CRLF",
                                        "ANYCRLF",
                                        "ANY",
                                        "NUL",
                                        "BSR_ANYCRLF",
                                        "BSR_UNICODE"};
    static const char *const with_number[] = {"LIMIT_HEAP", "LIMIT_MATCH", "LIMIT_DEPTH",
                                              "LIMIT_RECURSION"};
    size_t at = 0;
    while (at + 2 < n && p[at] == '(' && p[at + 1] == '*') {
        size_t name = at + 2, e = name;
        while (e < n && ((p[e] >= 'A' && p[e] <= 'Z') || p[e] == '_'))
            e++;
        size_t len = e - name;
        bool known = false;
        if (e < n && p[e] == ')') {
            for (size_t i = 0; i < sizeof plain / sizeof *plain && !known; i++)
                known = strlen(plain[i]) == len && !memcmp(p + name, plain[i], len);
        } else if (e < n && p[e] == '=') {
            for (size_t i = 0; i < sizeof with_number / sizeof *with_number && !known; i++)
                known = strlen(with_number[i]) == len && !memcmp(p + name, with_number[i], len);
            size_t d = e + 1;
            while (d < n && p[d] >= '0' && p[d] <= '9')
                d++;
            known = known && d > e + 1 && d < n && p[d] == ')';
            e = d;
        }
        if (!known)
            break;
        at = e + 1;
    }
    return at;
}

/* Parse into *ps; the caller frees ps->anchor.buf. */
static struct qnode *build(struct parser *ps, const char *pattern, size_t len, bool literal,
                           bool caseless)
{
    *ps = (struct parser){.p = (const unsigned char *)pattern, .n = len, .caseless = caseless};
    if (literal)
        return literal_plan(ps);
    prescan(ps);
    ps->pos = skip_settings(ps->p, ps->n);
    /* (*LIMIT_MATCH=1) can fail where the anchor alone would match: let
     * the regex confirm what the anchor finds. */
    if (ps->pos)
        ps->impure = true;
    struct qnode *root = ps->bail ? node_new(QN_ALL) : parse_alt(ps);
    if (ps->bail || ps->pos < ps->n) {
        /* Gave up, or stopped at an unmatched ')': claim nothing. */
        qplan_free(root);
        root = node_new(QN_ALL);
        ps->no_anchor = true;
    }
    return root;
}

struct qnode *qplan_build(const char *pattern, size_t len, bool literal, bool caseless)
{
    struct parser ps;
    struct qnode *root = build(&ps, pattern, len, literal, caseless);
    free(ps.anchor.buf);
    return root;
}

char *qplan_anchor(const char *pattern, size_t len, bool literal, bool caseless, size_t *alen,
                   bool *anchor_caseless, bool *exact)
{
    struct parser ps;
    qplan_free(build(&ps, pattern, len, literal, caseless));
    if (ps.no_anchor || ps.anchor.len < QPLAN_ANCHOR_MIN) {
        free(ps.anchor.buf);
        return NULL;
    }
    *alen = ps.anchor.len;
    *anchor_caseless = ps.caseless; /* (?i) in the pattern makes it so */
    /* A newline in it: no line holds it, let the regex say no. */
    *exact = !ps.impure && !ps.bail && !memchr(ps.anchor.buf, '\n', ps.anchor.len);
    return (char *)ps.anchor.buf;
}

static void describe(const struct qnode *n, struct strbuf *b)
{
    if (n->kind == QN_ALL) {
        strbuf_add(b, "all", 3);
    } else if (n->kind == QN_TRI) {
        char t[3] = {(char)(n->tri >> 16), (char)(n->tri >> 8), (char)n->tri};
        strbuf_add(b, t, 3);
    } else {
        strbuf_add(b, n->kind == QN_AND ? "and(" : "or(", n->kind == QN_AND ? 4 : 3);
        for (size_t i = 0; i < n->nkids; i++) {
            if (i)
                strbuf_add(b, ",", 1);
            describe(n->kids[i], b);
        }
        strbuf_add(b, ")", 1);
    }
}

char *qplan_describe(const struct qnode *n)
{
    struct strbuf b = {0};
    strbuf_add(&b, "", 0);
    describe(n, &b);
    return b.buf;
}
