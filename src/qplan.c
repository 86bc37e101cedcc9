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

/* clang-format off */
#define SH_ROW_OTHER16 SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER, \
                       SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER
#define SH_ROW_HIGH16 SH_HIGH, SH_HIGH, SH_HIGH, SH_HIGH, SH_HIGH, SH_HIGH, SH_HIGH, SH_HIGH, \
                      SH_HIGH, SH_HIGH, SH_HIGH, SH_HIGH, SH_HIGH, SH_HIGH, SH_HIGH, SH_HIGH
#define SH_L SH_LETTER
#define SH_H SH_HEX
const unsigned char qplan_shape_class[256] = {
    /* 0x00 */ SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER,
               SH_OTHER, SH_BLANK, SH_OTHER, SH_BLANK, SH_BLANK, SH_BLANK, SH_OTHER, SH_OTHER,
    /* 0x10 */ SH_ROW_OTHER16,
    /* 0x20 */ SH_BLANK, SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER,
               SH_LPAREN, SH_RPAREN, SH_STAR, SH_OTHER, SH_COMMA, SH_DASH, SH_DOT, SH_SLASH,
    /* 0x30 */ SH_DIGIT, SH_DIGIT, SH_DIGIT, SH_DIGIT, SH_DIGIT, SH_DIGIT, SH_DIGIT, SH_DIGIT,
               SH_DIGIT, SH_DIGIT, SH_COLON, SH_SEMI, SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER,
    /* 0x40 */ SH_OTHER, SH_H, SH_H, SH_H, SH_H, SH_H, SH_H, SH_L, SH_L, SH_L, SH_L, SH_L, SH_L, SH_L, SH_L, SH_L,
    /* 0x50 */ SH_L, SH_L, SH_L, SH_L, SH_L, SH_L, SH_L, SH_L, SH_L, SH_L, SH_L, SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER, SH_UNDER,
    /* 0x60 */ SH_OTHER, SH_H, SH_H, SH_H, SH_H, SH_H, SH_H, SH_L, SH_L, SH_L, SH_L, SH_L, SH_L, SH_L, SH_L, SH_L,
    /* 0x70 */ SH_L, SH_L, SH_L, SH_L, SH_L, SH_L, SH_L, SH_L, SH_L, SH_L, SH_L, SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER, SH_OTHER,
    /* 0x80 */ SH_ROW_HIGH16, SH_ROW_HIGH16, SH_ROW_HIGH16, SH_ROW_HIGH16,
               SH_ROW_HIGH16, SH_ROW_HIGH16, SH_ROW_HIGH16, SH_ROW_HIGH16,
};
/* clang-format on */
#undef SH_L
#undef SH_H

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
    bool impure;    /* saw anything but plain literal characters */
    bool no_shapes; /* a setting such as (*UCP) may change what \d \w \s match */
    /* The best pair of neighbouring byte sets outside any group, for
     * qplan_pair() (pair_cost 0: none yet). */
    struct pair_finder pair;
    unsigned pair_cost;
};

/* A set of at most PAIR_SET_MAX bytes (ok false: more, or unknown). */
struct bset {
    unsigned char b[PAIR_SET_MAX];
    unsigned n;
    bool ok;
};

/* Add byte c to *set, and its other case when caseless. */
static void bset_add(struct bset *set, unsigned char c, bool caseless)
{
    unsigned char both[2] = {c, c};
    if (caseless && ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
        both[1] = (unsigned char)(c ^ 0x20);
    for (int k = 0; k < 2 && set->ok; k++) {
        if (both[k] == '\n') { /* no line holds it */
            set->ok = false;
            return;
        }
        if (memchr(set->b, both[k], set->n))
            continue;
        if (set->n == PAIR_SET_MAX)
            set->ok = false;
        else
            set->b[set->n++] = both[k];
    }
}

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

/* Whether kid is a key that one of kids[0..n) is too. */
static bool key_among(const struct qnode *kid, struct qnode *const *kids, size_t n)
{
    if (kid->kind != QN_KEY)
        return false;
    for (size_t i = 0; i < n; i++)
        if (kids[i]->kind == QN_KEY && kids[i]->key == kid->key)
            return true;
    return false;
}

/* AND without ALL kids or a key twice; OR is ALL if any kid is; one kid
 * stands alone. */
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
        } else if (key_among(n->kids[i], n->kids, w)) {
            qplan_free(n->kids[i]); /* "(abc)+abc": once is enough */
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
    if (len == 0)
        return; /* b may be NULL */
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
        struct qnode *t = node_new(QN_KEY);
        t->key = (uint32_t)qplan_fold(r->buf[i]) << 16 | (uint32_t)qplan_fold(r->buf[i + 1]) << 8 |
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

/* What a group says of the text next to it, when each of its branches is
 * a plain string (characters only: no class, quantifier, assertion or
 * inner group): every match of the group begins with pre, the longest
 * prefix the branches share, and ends with suf, the longest suffix; with
 * one branch, both are the whole string (whole).  So a run can go on
 * into and out of the group: "\b(kmalloc|kzalloc)\(" holds "alloc(". */
struct affix {
    bool known, whole;
    struct run pre, suf;
    /* The branches' first and last bytes (not ok when a branch is empty
     * or there are too many: struct bset). */
    struct bset first, last;
};

struct atom {
    enum atom_kind kind;
    unsigned char lit[8]; /* ATOM_LIT: one character */
    size_t len;
    struct qnode *node; /* ATOM_NODE */
    struct affix affix; /* ATOM_NODE */
    /* For shapes: the classes (a bit each) of the one byte an ATOM_BREAK
     * always matches, e.g. \d or [0-9a-f]; 0 when it matches more or
     * fewer bytes, or bytes of any class. */
    uint16_t shape;
    bool zero; /* zero-width (an assertion, a look-around): the bytes on
                * either side of it are adjacent */
};

/* ------------------------------------------------------------------ */
/* Shapes                                                               */
/* ------------------------------------------------------------------ */

#define SHAPE_SEQ_MAX     64  /* positions of a sequence (then it is cut) */
#define SHAPE_WINDOW_KEYS 64  /* keys a window may expand to */
#define SHAPE_KEYS_MAX    256 /* keys of all windows of one sequence */
#define SHAPE_WORDS       ((1u << (QPLAN_SHAPE_WORD + 1)) - 1) /* no indexed shape starts with one */

/* A run of consecutive byte positions that every match holds, each as the
 * set of classes its byte may be of (qplan.h). */
struct shapes {
    uint16_t mask[SHAPE_SEQ_MAX];
    size_t len;
};

/* The classes of the ASCII bytes lo..hi, caseless or not (a letter's
 * class is its other case's too). */
static uint16_t shape_range(uint32_t lo, uint32_t hi)
{
    uint16_t m = 0;
    for (uint32_t c = lo; c <= hi && c < 0x80; c++)
        m |= (uint16_t)(1u << qplan_shape_class[c]);
    return m;
}

/* What a class-like item (\d \w \s, in a class or not) matches, as
 * classes; 0 for anything else (., \h, \p{..}, [:alpha:]...: they may
 * match a character of several bytes, or are not worth reading). */
static uint16_t shape_any(const struct parser *ps, const struct pattern_token *t)
{
    if (t->len != 2 || ps->rd.p[t->start] != '\\')
        return 0;
    switch (ps->rd.p[t->start + 1]) {
    case 'd':
        return 1u << SH_DIGIT;
    case 'w':
        return 1u << SH_DIGIT | 1u << SH_HEX | 1u << SH_LETTER | 1u << SH_UNDER;
    case 's':
        return 1u << SH_BLANK; /* and \n, which no line holds */
    default:
        return 0;
    }
}

/* The members of a class up to its ']' (consumed), as classes; 0 when it
 * may match a non-ASCII character (negated, or a member or range beyond
 * ASCII) or holds what shape_any() does not read. */
static uint16_t shape_class(struct parser *ps, const struct pattern_token *open)
{
    uint16_t m = 0;
    bool ok = !open->negated;
    uint32_t low = 0;
    bool range = false, have_low = false;
    const struct pattern_token *t;
    while ((t = next(ps)) && !(t->kind == PAT_CLASS_CLOSE && t->depth == open->depth)) {
        if (t->kind == PAT_CHAR && t->cp < 0x80) {
            if (range)
                m |= shape_range(low, t->cp);
            else
                m |= shape_range(t->cp, t->cp);
            low = t->cp;
            have_low = !range;
            range = false;
        } else if (t->kind == PAT_RANGE && have_low) {
            range = true;
        } else if (t->kind == PAT_ANY) {
            uint16_t a = shape_any(ps, t);
            ok = ok && a;
            m |= a;
            have_low = range = false;
        } else {
            ok = false;
            if (t->kind == PAT_UNKNOWN)
                break;
        }
    }
    return ok && !range ? m : 0;
}

/* End the current sequence: the AND gets an OR of the keys of its best
 * windows (a window is QPLAN_SHAPE_LEN positions; usable when its first
 * position can only be punctuation, so that each of its keys is indexed,
 * and it expands to at most SHAPE_WINDOW_KEYS keys).  The windows of
 * fewest keys go first, up to SHAPE_KEYS_MAX keys in all. */
static void shape_flush(struct parser *ps, struct shapes *sh, struct qnode *every)
{
    size_t n = sh->len;
    sh->len = 0;
    if (ps->no_shapes || n < QPLAN_SHAPE_LEN)
        return;
    struct {
        size_t at, keys;
    } win[SHAPE_SEQ_MAX];
    size_t nwin = 0;
    for (size_t i = 0; i + QPLAN_SHAPE_LEN <= n; i++) {
        size_t keys = 1;
        for (size_t j = i; j < i + QPLAN_SHAPE_LEN; j++)
            keys *= (size_t)__builtin_popcount(sh->mask[j]);
        if (!(sh->mask[i] & SHAPE_WORDS) && keys <= SHAPE_WINDOW_KEYS)
            win[nwin++] = (typeof(win[0])){i, keys};
    }
    /* fewest keys first (insertion sort: a few dozen at most) */
    for (size_t i = 1; i < nwin; i++)
        for (size_t j = i; j > 0 && win[j].keys < win[j - 1].keys; j--) {
            typeof(win[0]) x = win[j];
            win[j] = win[j - 1];
            win[j - 1] = x;
        }
    size_t budget = SHAPE_KEYS_MAX;
    for (size_t w = 0; w < nwin && win[w].keys <= budget; w++) {
        budget -= win[w].keys;
        const uint16_t *m = sh->mask + win[w].at;
        struct qnode *any = node_new(QN_OR);
        /* every combination: an odometer over the positions' classes */
        unsigned cls[QPLAN_SHAPE_LEN];
        for (size_t j = 0; j < QPLAN_SHAPE_LEN; j++)
            cls[j] = (unsigned)__builtin_ctz(m[j]);
        for (;;) {
            struct qnode *k = node_new(QN_KEY);
            k->key = QPLAN_SHAPE_BIT;
            for (size_t j = 0; j < QPLAN_SHAPE_LEN; j++)
                k->key |= (uint32_t)cls[j] << (4 * (QPLAN_SHAPE_LEN - 1 - j));
            add_kid(any, k);
            size_t j = QPLAN_SHAPE_LEN;
            while (j > 0) {
                j--;
                unsigned rest = m[j] >> (cls[j] + 1);
                if (rest) {
                    cls[j] += 1 + (unsigned)__builtin_ctz(rest);
                    break;
                }
                cls[j] = (unsigned)__builtin_ctz(m[j]);
                if (j == 0)
                    goto done;
            }
        }
    done:
        add_kid(every, simplify(any));
    }
}

static void shape_push(struct shapes *sh, uint16_t mask, struct parser *ps, struct qnode *every)
{
    if (sh->len == SHAPE_SEQ_MAX)
        shape_flush(ps, sh, every); /* cut: what follows is a new sequence */
    sh->mask[sh->len++] = mask;
}

/* What an atom adds to the current sequence: its bytes' classes, min
 * times (a few copies are as good as many: a window spans six bytes);
 * when its count varies (min != max), the first copies follow what came
 * before and the last ones precede what comes after, but nothing joins
 * the two; an optional atom or one of unknown bytes ends the sequence. */
static void add_shape(struct parser *ps, const struct atom *a, long min, long max,
                      struct shapes *sh, struct qnode *every)
{
    uint16_t mask[8];
    size_t n = 0;
    if (a->zero)
        return;
    if (a->kind == ATOM_LIT && !(ps->caseless && a->lit[0] >= 0x80))
        for (n = 0; n < a->len; n++)
            mask[n] = (uint16_t)(1u << qplan_shape_class[a->lit[n]]);
    else if (a->kind == ATOM_BREAK && a->shape)
        mask[n++] = a->shape;
    if (n == 0 || min == 0) {
        shape_flush(ps, sh, every);
        return;
    }
    long reps = min < 0 ? 1 : min;
    if (reps > QPLAN_SHAPE_LEN)
        reps = QPLAN_SHAPE_LEN;
    for (int pass = 0; pass < (min < 0 || min == max ? 1 : 2); pass++) {
        if (pass == 1)
            shape_flush(ps, sh, every);
        for (long r = 0; r < reps; r++)
            for (size_t i = 0; i < n; i++)
                shape_push(sh, mask[i], ps, every);
    }
}

static struct qnode *parse_alt(struct parser *ps, struct affix *af);

/* A group's body as a node, up to its ')'. */
static void group_node(struct parser *ps, struct atom *a)
{
    a->kind = ATOM_NODE;
    a->node = parse_alt(ps, &a->affix);
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
        a->zero = true;
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
         * (\x41) ends the run (but is a byte of a shape). */
        if (t->form != PAT_CODED) {
            a->kind = ATOM_LIT;
            a->len = pattern_char_bytes(t->cp, a->lit);
        } else if (t->cp < 0x80) {
            a->shape = (uint16_t)(1u << qplan_shape_class[t->cp]);
        }
        break;
    case PAT_ANY:
        a->shape = shape_any(ps, t);
        break;
    case PAT_ASSERT:
        a->zero = true;
        break;
    case PAT_CLASS_OPEN:
        a->shape = shape_class(ps, t);
        break;
    case PAT_OPEN:
        parse_group(ps, t, a);
        break;
    case PAT_SETTING:
        /* (*UTF), (*LIMIT_MATCH=1)...: the same bytes match, but the
         * regex must confirm what the anchor finds */
        ps->impure = true;
        ps->no_shapes = true;
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

/* The counts of a quantifier if one follows (*max: -1 for no limit), or
 * -1 for none. */
static long parse_quantifier(struct parser *ps, long *max)
{
    const struct pattern_token *t = peek(ps);
    *max = -1;
    if (!t || t->kind != PAT_QUANT)
        return -1;
    long min = (long)t->min;
    if (t->max != PAT_UNLIMITED)
        *max = (long)t->max;
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

static void add_atom(struct parser *ps, struct atom *a, long min, long max, struct run *run,
                     struct shapes *sh, struct qnode *every)
{
    add_shape(ps, a, min, max, sh, every);
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
    const struct affix *af = &a->affix;
    if (a->kind == ATOM_NODE && af->known && min != 0) {
        /* The first copy begins with pre, the last ends with suf: the
         * run goes on into the group, and out of it after it. */
        run_push(run, af->pre.buf, af->pre.len);
        if (af->whole) {
            qplan_free(a->node); /* the run's trigrams say as much */
            if (min < 0)
                return; /* "(abc)": the run goes on through it */
            run_flush(ps, run, every);
        } else {
            run_flush(ps, run, every);
            add_kid(every, a->node);
        }
        run_push(run, af->suf.buf, af->suf.len);
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

static void affix_free(struct affix *af)
{
    free(af->pre.buf);
    free(af->suf.buf);
}

/* The bytes an atom's text may begin and end with (struct bset). */
static void atom_ends(const struct parser *ps, const struct atom *a, struct bset *first,
                      struct bset *last)
{
    *first = *last = (struct bset){.ok = true};
    if (a->kind == ATOM_LIT && !folds_widely(ps, a)) {
        bset_add(first, a->lit[0], ps->caseless);
        bset_add(last, a->lit[a->len - 1], ps->caseless);
    } else if (a->kind == ATOM_NODE && a->affix.known) {
        *first = a->affix.first;
        *last = a->affix.last;
    } else {
        first->ok = last->ok = false;
    }
}

/* Two atoms side by side outside any group, as their end and start
 * bytes: kept when fewer combinations than the pair found so far. */
static void consider_pair(struct parser *ps, const struct bset *before, const struct bset *after)
{
    unsigned cost = before->n * after->n;
    if (!before->ok || !after->ok || (ps->pair_cost && cost >= ps->pair_cost))
        return;
    ps->pair_cost = cost;
    memcpy(ps->pair.first, before->b, before->n);
    memcpy(ps->pair.second, after->b, after->n);
    ps->pair.nfirst = before->n;
    ps->pair.nsecond = after->n;
}

/* A concatenation; *plain says whether it was characters only, and str
 * gets them (a branch of a group: struct affix). */
static struct qnode *parse_concat(struct parser *ps, bool *plain, struct run *str)
{
    struct qnode *every = node_new(QN_AND);
    struct run run = {0};
    struct shapes sh = {0};
    const struct pattern_token *t;
    struct bset prev = {.ok = false}; /* the last bytes of the atom before */
    *plain = true;
    while (!ps->bail && (t = peek(ps)) && t->kind != PAT_ALT && t->kind != PAT_CLOSE) {
        struct atom a;
        parse_atom(ps, &a);
        long max, min = parse_quantifier(ps, &max);
        if (ps->depth == 1 && !a.zero) {
            struct bset first, last;
            atom_ends(ps, &a, &first, &last);
            if (min == 0) {
                prev.ok = false; /* it may not be there: no neighbours */
            } else {
                consider_pair(ps, &prev, &first);
                prev = last;
            }
        }
        if (a.kind == ATOM_LIT && min < 0 && !folds_widely(ps, &a))
            run_push(str, a.lit, a.len);
        else if (a.kind == ATOM_NODE && min < 0 && a.affix.known && a.affix.whole)
            run_push(str, a.affix.pre.buf, a.affix.pre.len); /* "(bc)" in "a(bc)" */
        else
            *plain = false;
        add_atom(ps, &a, min, max, &run, &sh, every);
        affix_free(&a.affix);
    }
    run_flush(ps, &run, every);
    shape_flush(ps, &sh, every);
    free(run.buf);
    return simplify(every);
}

/* How many bytes a and b share at their starts (or ends: from_end). */
static size_t shared(const struct run *a, const struct run *b, bool from_end)
{
    size_t n = 0, max = a->len < b->len ? a->len : b->len;
    if (from_end)
        while (n < max && a->buf[a->len - 1 - n] == b->buf[b->len - 1 - n])
            n++;
    else
        while (n < max && a->buf[n] == b->buf[n])
            n++;
    return n;
}

/* Branches separated by '|', as an OR; *af (when given) says what a
 * group of them holds at its ends (struct affix). */
static struct qnode *parse_alt(struct parser *ps, struct affix *af)
{
    if (++ps->depth > MAX_DEPTH) {
        ps->bail = true;
        return node_new(QN_ALL);
    }
    struct qnode *any = node_new(QN_OR);
    struct run str = {0};
    bool plain, all_plain;
    add_kid(any, parse_concat(ps, &plain, &str));
    all_plain = plain;
    if (af) {
        run_push(&af->pre, str.buf, str.len);
        run_push(&af->suf, str.buf, str.len);
        af->whole = true;
        af->first = af->last = (struct bset){.ok = str.len > 0};
        if (str.len) {
            bset_add(&af->first, str.buf[0], ps->caseless);
            bset_add(&af->last, str.buf[str.len - 1], ps->caseless);
        }
    }
    while (!ps->bail && peek(ps) && peek(ps)->kind == PAT_ALT) {
        next(ps);
        str.len = 0;
        add_kid(any, parse_concat(ps, &plain, &str));
        all_plain = all_plain && plain;
        if (af) {
            af->pre.len = shared(&af->pre, &str, false);
            size_t n = shared(&af->suf, &str, true);
            if (n) /* the buffer may be NULL when n is 0 */
                memmove(af->suf.buf, af->suf.buf + af->suf.len - n, n);
            af->suf.len = n;
            af->whole = false;
            af->first.ok = af->first.ok && str.len > 0;
            af->last.ok = af->last.ok && str.len > 0;
            if (str.len) {
                bset_add(&af->first, str.buf[0], ps->caseless);
                bset_add(&af->last, str.buf[str.len - 1], ps->caseless);
            }
        }
        if (ps->depth == 1)
            ps->no_anchor = true; /* a run of one branch is not required */
        ps->impure = true;
    }
    free(str.buf);
    if (af)
        af->known = all_plain && !ps->bail;
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
    struct qnode *root = ps->bail ? node_new(QN_ALL) : parse_alt(ps, NULL);
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

bool qplan_pair(const char *pattern, size_t len, bool literal, bool caseless,
                struct pair_finder *out)
{
    struct parser ps;
    qplan_free(build(&ps, pattern, len, literal, caseless));
    free(ps.anchor.buf);
    if (ps.no_anchor || ps.bail || !ps.pair_cost)
        return false;
    *out = ps.pair;
    return true;
}

static void describe(const struct qnode *n, struct strbuf *b)
{
    if (n->kind == QN_ALL) {
        strbuf_add(b, "all", 3);
    } else if (n->kind == QN_KEY && n->key & QPLAN_SHAPE_BIT) {
        /* "@" and a character per class (QPLAN_SHAPE_LETTERS) */
        char t[1 + QPLAN_SHAPE_LEN] = {'@'};
        for (int j = 0; j < QPLAN_SHAPE_LEN; j++)
            t[1 + j] = QPLAN_SHAPE_LETTERS[n->key >> (4 * (QPLAN_SHAPE_LEN - 1 - j)) & 15];
        strbuf_add(b, t, sizeof t);
    } else if (n->kind == QN_KEY) {
        char t[3] = {(char)(n->key >> 16), (char)(n->key >> 8), (char)n->key};
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
