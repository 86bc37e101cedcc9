/*
 * qplan.c - a PCRE2 pattern to a trigram query (see qplan.h).
 *
 * A small recursive-descent parser over the tokens of pattern.h (the
 * one reader of the syntax).  It only needs to know which bytes every
 * match must contain: a concatenation collects runs of literal
 * characters (each run of three or more gives the AND of its trigrams);
 * an alternation gives the OR of its branches; anything else (classes,
 * dots, escapes for classes, characters given by number, look-around,
 * optional items) ends the current run.  Constructs it does not follow
 * (recursion and calls, conditionals, callouts, (*VERBS), non-atomic
 * look-around, extended mode, and whatever the reader calls unknown)
 * make the whole query ALL.
 */
#include "qplan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"
#include "util.h"

#define MAX_DEPTH 64

/* A literal run being collected, and the AND it flushes into. */
struct run {
    unsigned char *buf;
    size_t len, cap;
};

struct parser {
    struct pattern_reader rd;
    struct pattern_token tok; /* the next token, when have is set */
    bool have;
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

/* The next token, or NULL at the end. */
static const struct pattern_token *peek(struct parser *ps)
{
    if (!ps->have)
        ps->have = pattern_next(&ps->rd, &ps->tok);
    return ps->have ? &ps->tok : NULL;
}

/* The next token, consumed. */
static const struct pattern_token *next(struct parser *ps)
{
    const struct pattern_token *t = peek(ps);
    ps->have = false;
    return t;
}

/* Skip the rest of a class or group whose opening token was at depth d. */
static void skip_to_close(struct parser *ps, enum pattern_kind close, unsigned d)
{
    const struct pattern_token *t;
    while ((t = next(ps)) && !(t->kind == close && t->depth == d))
        ;
}

/* What one atom of a concatenation contributes. */
enum atom_kind { ATOM_LIT, ATOM_NODE, ATOM_BREAK };

struct atom {
    enum atom_kind kind;
    unsigned char lit[8]; /* ATOM_LIT: one character */
    size_t len;
    struct qnode *node; /* ATOM_NODE */
};

static struct qnode *parse_alt(struct parser *ps);

/* A group's body as a node, up to its ')'. */
static void group_node(struct parser *ps, struct atom *a)
{
    a->kind = ATOM_NODE;
    a->node = parse_alt(ps);
    if (peek(ps) && peek(ps)->kind == PAT_CLOSE)
        next(ps);
}

static void parse_group(struct parser *ps, const struct pattern_token *t, struct atom *a)
{
    switch (t->group) {
    case PG_CAPTURE:
    case PG_NONCAPTURE:
    case PG_RESET:
    case PG_ATOMIC:
    case PG_SCRIPT_RUN:
    case PG_ATOMIC_SCRIPT_RUN:
        group_node(ps, a);
        break;
    case PG_LOOKAHEAD:
    case PG_NEG_LOOKAHEAD:
    case PG_LOOKBEHIND:
    case PG_NEG_LOOKBEHIND:
        skip_to_close(ps, PAT_CLOSE, t->depth); /* look-around: no literal */
        break;
    default:
        ps->bail = true; /* conditions, non-atomic look-around */
        break;
    }
}

static void parse_atom(struct parser *ps, struct atom *a)
{
    const struct pattern_token tok = *next(ps), *t = &tok; /* peek() reuses ps->tok */
    memset(a, 0, sizeof *a);
    a->kind = ATOM_BREAK;
    switch (t->kind) {
    case PAT_CHAR:
        /* Characters written as themselves or as \t; one given by number
         * (\x41) ends the run. */
        if (t->form != PAT_CODED) {
            a->kind = ATOM_LIT;
            a->len = pattern_char_bytes(t->cp, a->lit);
        }
        break;
    case PAT_CLASS_OPEN:
        skip_to_close(ps, PAT_CLASS_CLOSE, t->depth);
        break;
    case PAT_OPEN:
        parse_group(ps, t, a);
        break;
    case PAT_SETTING:
        /* (*UTF), (*LIMIT_MATCH=1)...: the same bytes match, but the
         * regex must confirm what the anchor finds */
        ps->impure = true;
        break;
    case PAT_CALL:
    case PAT_CALLOUT:
    case PAT_VERB:
    case PAT_UNKNOWN:
        ps->bail = true;
        break;
    default: /* ., \d, anchors, back-references, option settings */
        break;
    }
}

/* The minimum count of a quantifier if one follows, or -1. */
static long parse_quantifier(struct parser *ps)
{
    const struct pattern_token *t = peek(ps);
    if (!t || t->kind != PAT_QUANT)
        return -1;
    long min = (long)t->min;
    next(ps);
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

static struct qnode *parse_concat(struct parser *ps)
{
    struct qnode *every = node_new(QN_AND);
    struct run run = {0};
    const struct pattern_token *t;
    while (!ps->bail && (t = peek(ps)) && t->kind != PAT_ALT && t->kind != PAT_CLOSE) {
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
    while (!ps->bail && peek(ps) && peek(ps)->kind == PAT_ALT) {
        next(ps);
        add_kid(any, parse_concat(ps));
        if (ps->depth == 1)
            ps->no_anchor = true; /* a run of one branch is not required */
        ps->impure = true;
    }
    ps->depth--;
    return simplify(any);
}

/* Parse into *ps; the caller frees ps->anchor.buf.  (?i) anywhere makes
 * us treat the whole pattern as caseless (the plan may only be looser);
 * extended mode makes it ALL. */
static struct qnode *build(struct parser *ps, const char *pattern, size_t len, bool literal,
                           bool caseless)
{
    memset(ps, 0, sizeof *ps);
    ps->caseless = caseless;
    unsigned opts = PAT_OPT_MULTILINE | (caseless ? PAT_OPT_CASELESS : 0);
    unsigned f = pattern_features(pattern, len, literal, opts);
    if (f & PAT_F_OPT_CASELESS)
        ps->caseless = true;
    if (f & PAT_F_OPT_EXTENDED)
        ps->bail = true;
    pattern_open(&ps->rd, pattern, len, literal, opts);
    struct qnode *root = ps->bail ? node_new(QN_ALL) : parse_alt(ps);
    if (ps->bail || peek(ps)) {
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
