/*
 * check_qplan.c - unit tests for src/qplan.c: the trigram query a pattern
 * gives (compared as qplan_describe() text), the byte folding shared with
 * the index, and above all soundness.  The query is only a filter, so it
 * must never be stricter than the pattern: whenever PCRE2 (the server's own
 * matcher, matcher.h) says a line matches, the line must hold the trigrams
 * the query asks for.  The one exception is the header's: a line holding
 * U+212A KELVIN SIGN or U+017F LONG S lies in a file the worker always
 * scans with the regex alone, so the query need not speak for it.  An
 * oracle checks that over a hand-written list of tricky patterns and over
 * patterns drawn from a small random grammar; a violation is shrunk to a
 * minimal pattern and line before it is reported.
 *
 * Table-driven tests collect every failing row before they fail, so one
 * run shows all of them, and free everything first, so a failure leaves
 * nothing behind under CK_FORK=no valgrind.  Subjects handed to PCRE2
 * live in zero-filled buffers: its JIT reads a little past the end of a
 * subject, which valgrind reports when those bytes were never written.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_suites.h"
#include "matcher.h"
#include "plan_oracle.h"
#include "qplan.h"
#include "strsearch.h"
#include "utf8.h"
#include "util.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))
#define MAXR      16

/* Characters that fold beyond ASCII under Unicode caseless matching. */
#define KELVIN     "\xe2\x84\xaa" /* U+212A, matches k caselessly */
#define LONG_S     "\xc5\xbf"     /* U+017F, matches s caselessly */
#define ANGSTROM   "\xe2\x84\xab" /* U+212B, matches \xc3\xa5 caselessly */
#define E_ACUTE    "\xc3\xa9"     /* é */
#define E_ACUTE_UP "\xc3\x89"     /* É */
#define A_RING_UP  "\xc3\x85"     /* Å */
#define SHARP_S    "\xc3\x9f"     /* ß */
#define SHARP_S_UP "\xe1\xba\x9e" /* U+1E9E, matches ß caselessly */
#define EURO       "\xe2\x82\xac"

enum { F_LIT = 1, F_CI = 2 }; /* literal, caseless */

/* ------------------------------------------------------------------ */
/* Helpers: messages                                                   */
/* ------------------------------------------------------------------ */

/* s[0..n) for a message, written as in a C string: \\ \" and \xNN for
 * bytes outside printable ASCII (a few rotating buffers, so several can
 * appear in one message). */
static const char *show(const char *s, size_t n)
{
    static char bufs[8][600];
    static unsigned next;
    char *b = bufs[next++ % 8];
    size_t o = 0;
    for (size_t i = 0; i < n && o + 8 < sizeof bufs[0]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == '"')
            o += (size_t)snprintf(b + o, sizeof bufs[0] - o, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            b[o++] = (char)c;
        else
            o += (size_t)snprintf(b + o, sizeof bufs[0] - o, "\\x%02x", c);
    }
    b[o] = '\0';
    return b;
}

static const char *shows(const char *s)
{
    return show(s, strlen(s));
}

static const char *flag_str(unsigned flags)
{
    static const char *const names[] = {"", " [literal]", " [caseless]", " [literal, caseless]"};
    return names[flags & 3];
}

/* Failures collected by a table-driven test, reported in one message. */
struct report {
    char text[3600];
    size_t len;
    unsigned n;
};

__attribute__((format(printf, 2, 3))) static void report_add(struct report *r, const char *fmt, ...)
{
    r->n++;
    if (r->len + 8 >= sizeof r->text)
        return;
    r->text[r->len++] = '\n';
    r->text[r->len++] = ' ';
    r->text[r->len++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(r->text + r->len, sizeof r->text - r->len, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= sizeof r->text - r->len) {
        r->len = sizeof r->text - 5;
        memcpy(r->text + r->len, " ...", 5);
        r->len = sizeof r->text - 1;
    } else {
        r->len += (size_t)k;
    }
}

/* ------------------------------------------------------------------ */
/* Helpers: plans                                                      */
/* ------------------------------------------------------------------ */

static char *plan_text(const char *pattern, size_t len, unsigned flags)
{
    struct qnode *q = qplan_build(pattern, len, flags & F_LIT, flags & F_CI);
    if (!q)
        return xstrdup("(NULL)");
    char *d = qplan_describe(q);
    qplan_free(q);
    return d;
}

struct plan_case {
    const char *pattern;
    unsigned flags;
    const char *want;
};

/* Build every row's plan and compare its description. */
static void check_plans(const char *what, const struct plan_case *c, size_t n)
{
    struct report r = {0};
    for (size_t i = 0; i < n; i++) {
        char *got = plan_text(c[i].pattern, strlen(c[i].pattern), c[i].flags);
        if (strcmp(got, c[i].want) != 0)
            report_add(&r, "\"%s\"%s -> \"%s\", want \"%s\"", shows(c[i].pattern),
                       flag_str(c[i].flags), shows(got), shows(c[i].want));
        free(got);
    }
    ck_assert_msg(r.n == 0, "qplan_build, %s: %u of %zu plans wrong:%s", what, r.n, n, r.text);
}

/* ------------------------------------------------------------------ */
/* Helpers: the soundness oracle                                       */
/* ------------------------------------------------------------------ */

/* A pattern compiled by the real matcher, with its plan and anchor. */
struct oracle {
    struct matcher *m;
    struct qnode *plan;
    char *anchor; /* qplan_anchor(), or NULL */
    size_t anchor_len;
    bool anchor_ci, exact;
    struct pair_finder pair; /* qplan_pair(), when have_pair */
    bool have_pair;
};

/* V_EXEMPT: the line matches but holds KELVIN or LONG S (see above). */
enum verdict { V_NOMATCH, V_SOUND, V_VIOLATION, V_EXEMPT, V_LIMIT };

#define LINE_CAP 512
static char line_buf[LINE_CAP + 64]; /* zero past the line for the JIT */

static bool oracle_open(struct oracle *o, const char *p, size_t n, unsigned flags)
{
    char err[SG_ERRLEN];
    long erroff;
    o->m = matcher_new(p, n, flags & F_LIT, flags & F_CI, err, sizeof err, &erroff);
    o->plan = o->m ? qplan_build(p, n, flags & F_LIT, flags & F_CI) : NULL;
    o->anchor = o->m ? qplan_anchor(p, n, flags & F_LIT, flags & F_CI, &o->anchor_len,
                                    &o->anchor_ci, &o->exact)
                     : NULL;
    o->have_pair = o->m && qplan_pair(p, n, flags & F_LIT, flags & F_CI, &o->pair);
    return o->m != NULL;
}

/* Whether a line holds the oracle's anchor, searched as the worker does. */
static bool holds_anchor(const struct oracle *o, const char *line, size_t n)
{
    return o->anchor_ci ? memmem_ci(line, n, o->anchor, o->anchor_len) != NULL
                        : memmem(line, n, o->anchor, o->anchor_len) != NULL;
}

/* Whether a line holds the oracle's pair, found as the worker finds it. */
static bool holds_pair(const struct oracle *o, const char *line, size_t n)
{
    return pair_find(&o->pair, line, n) != NULL;
}

static void oracle_close(struct oracle *o)
{
    matcher_free(o->m);
    qplan_free(o->plan);
    free(o->anchor);
    o->m = NULL;
    o->plan = NULL;
    o->anchor = NULL;
}

static enum verdict oracle_line(struct oracle *o, const char *line, size_t n)
{
    struct mrange r[MAXR];
    bool matched = false;
    if (n > LINE_CAP)
        return V_LIMIT;
    memset(line_buf, 0, sizeof line_buf);
    memcpy(line_buf, line, n);
    int rc = matcher_line(o->m, line_buf, n, r, MAXR, &matched);
    if (rc == MATCHER_LIMIT)
        return V_LIMIT;
    bool wide = memmem(line, n, KELVIN, 3) || memmem(line, n, LONG_S, 2);
    if (!matched) {
        /* An exact anchor stands for the whole pattern: where it is, the
         * pattern matches (the worker then skips the regex). */
        if (o->anchor && o->exact && !wide && holds_anchor(o, line, n))
            return V_VIOLATION;
        return V_NOMATCH;
    }
    if (wide)
        return V_EXEMPT;
    if (o->anchor && !holds_anchor(o, line, n))
        return V_VIOLATION;
    if (o->have_pair && !holds_pair(o, line, n))
        return V_VIOLATION;
    return oracle_plan_holds(o->plan, line, n) ? V_SOUND : V_VIOLATION;
}

static bool violates(const char *p, size_t pn, unsigned flags, const char *l, size_t ln)
{
    struct oracle o;
    if (!oracle_open(&o, p, pn, flags))
        return false;
    bool v = oracle_line(&o, l, ln) == V_VIOLATION;
    oracle_close(&o);
    return v;
}

/* Bytes of the UTF-8 character whose lead byte is c. */
static size_t lead_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

/* Shrink a violating (pattern, line) while it still violates: delete
 * byte spans of the pattern (an invalid result simply does not compile)
 * and whole characters of the line. */
static void shrink(char *p, size_t *pn, unsigned flags, char *l, size_t *ln)
{
    char cand[LINE_CAP];
    bool progress = true;
    while (progress) {
        progress = false;
        for (size_t w = 4; w >= 1 && !progress; w--) {
            for (size_t i = 0; i + w <= *pn && !progress; i++) {
                memcpy(cand, p, i);
                memcpy(cand + i, p + i + w, *pn - i - w);
                if (violates(cand, *pn - w, flags, l, *ln)) {
                    memcpy(p, cand, *pn - w);
                    *pn -= w;
                    progress = true;
                }
            }
        }
        for (size_t i = 0; i < *ln && !progress; i += lead_len((unsigned char)l[i])) {
            size_t w = lead_len((unsigned char)l[i]);
            memcpy(cand, l, i);
            memcpy(cand + i, l + i + w, *ln - i - w);
            if (violates(p, *pn, flags, cand, *ln - w)) {
                memcpy(l, cand, *ln - w);
                *ln -= w;
                progress = true;
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* qplan_fold                                                          */
/* ------------------------------------------------------------------ */

START_TEST(test_fold_bytes)
{
    for (unsigned c = 0; c < 256; c++) {
        unsigned want = (c >= 'A' && c <= 'Z') ? c + 32 : c;
        unsigned got = qplan_fold((unsigned char)c);
        ck_assert_msg(got == want, "qplan_fold(0x%02x) = 0x%02x, want 0x%02x", c, got, want);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* qplan_describe                                                      */
/* ------------------------------------------------------------------ */

/* Hand-built trees (test-owned memory, freed by tree_free). */
static struct qnode *mk(enum qnode_kind kind, const char *tri, size_t nkids, ...)
{
    struct qnode *n = xcalloc(1, sizeof *n);
    n->kind = kind;
    if (tri)
        n->key = (uint32_t)(unsigned char)tri[0] << 16 | (uint32_t)(unsigned char)tri[1] << 8 |
                 (unsigned char)tri[2];
    n->nkids = nkids;
    n->kids = xcalloc(nkids ? nkids : 1, sizeof *n->kids);
    va_list ap;
    va_start(ap, nkids);
    for (size_t i = 0; i < nkids; i++)
        n->kids[i] = va_arg(ap, struct qnode *);
    va_end(ap);
    return n;
}

static void tree_free(struct qnode *n)
{
    for (size_t i = 0; i < n->nkids; i++)
        tree_free(n->kids[i]);
    free(n->kids);
    free(n);
}

START_TEST(test_describe_trees)
{
    struct {
        struct qnode *tree;
        const char *want;
    } c[] = {
        {mk(QN_ALL, NULL, 0), "all"},
        {mk(QN_KEY, "abc", 0), "abc"},
        {mk(QN_KEY, E_ACUTE "x", 0), E_ACUTE "x"},
        {mk(QN_AND, NULL, 2, mk(QN_KEY, "abc", 0), mk(QN_KEY, "bcd", 0)), "and(abc,bcd)"},
        {mk(QN_AND, NULL, 2, mk(QN_KEY, "abc", 0),
            mk(QN_OR, NULL, 2, mk(QN_KEY, "xyz", 0), mk(QN_ALL, NULL, 0))),
         "and(abc,or(xyz,all))"},
        {mk(QN_OR, NULL, 3, mk(QN_AND, NULL, 1, mk(QN_KEY, "a,b", 0)), mk(QN_KEY, "( )", 0),
            mk(QN_OR, NULL, 0)),
         "or(and(a,b),( ),or())"},
    };
    struct report r = {0};
    for (size_t i = 0; i < NCASES(c); i++) {
        char *got = qplan_describe(c[i].tree);
        if (strcmp(got, c[i].want) != 0)
            report_add(&r, "tree #%zu: \"%s\", want \"%s\"", i, shows(got), shows(c[i].want));
        free(got);
        tree_free(c[i].tree);
    }
    ck_assert_msg(r.n == 0, "qplan_describe: %u of %zu wrong:%s", r.n, NCASES(c), r.text);
}
END_TEST

START_TEST(test_describe_built)
{
    /* The description of a built plan reads back the folded trigrams. */
    struct qnode *q = qplan_build("Hello|WORLD", 11, false, false);
    char *got = qplan_describe(q);
    bool ok = strcmp(got, "or(and(hel,ell,llo),and(wor,orl,rld))") == 0;
    char msg[256];
    snprintf(msg, sizeof msg, "%s", shows(got));
    free(got);
    qplan_free(q);
    ck_assert_msg(ok,
                  "plan of /Hello|WORLD/ reads \"%s\", want "
                  "\"or(and(hel,ell,llo),and(wor,orl,rld))\"",
                  msg);
}
END_TEST

/* ------------------------------------------------------------------ */
/* qplan_free                                                          */
/* ------------------------------------------------------------------ */

START_TEST(test_free)
{
    qplan_free(NULL); /* accepted */
    static const char *const p[] = {"abc", "abc|def", "(abc|d.e)fgh(ij|klm)", "", "(?x)a"};
    for (size_t i = 0; i < NCASES(p); i++) {
        struct qnode *q = qplan_build(p[i], strlen(p[i]), false, false);
        ck_assert_msg(q != NULL, "qplan_build(\"%s\") returned NULL", p[i]);
        qplan_free(q); /* valgrind checks that nothing is left */
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* qplan_build: descriptions                                           */
/* ------------------------------------------------------------------ */

START_TEST(test_build_literals)
{
    static const struct plan_case c[] = {
        {"hello", 0, "and(hel,ell,llo)"},
        {"abc", 0, "abc"},
        {"ab", 0, "all"},
        {"", 0, "all"},
        {"ABCD", 0, "and(abc,bcd)"},
        {"Hello World", 0, "and(hel,ell,llo,lo ,o w, wo,wor,orl,rld)"},
        {"a_b-c=d", 0, "and(a_b,_b-,b-c,-c=,c=d)"},
        {"#abc", 0, "and(#ab,abc)"},
        {"x]yz", 0, "and(x]y,]yz)"},
        {"a}bc", 0, "and(a}b,}bc)"},
        /* a '{' that does not start a quantifier is a literal */
        {"{x}", 0, "{x}"},
        {"abc{x", 0, "and(abc,bc{,c{x)"},
        {"ab{2,3", 0, "and(ab{,b{2,{2,,2,3)"},
    };
    check_plans("literals", c, NCASES(c));
}
END_TEST

START_TEST(test_build_classes)
{
    static const struct plan_case c[] = {
        {"abc[de]fgh", 0, "and(abc,fgh)"},
        {"ab[cd]ef", 0, "all"},
        {"abc[]x]def", 0, "and(abc,def)"},
        {"abc[^]x]def", 0, "and(abc,def)"},
        {"abc[\\]x]def", 0, "and(abc,def)"},
        {"abc[[:alpha:]]def", 0, "and(abc,def)"},
        {"abc[[:^digit:]xyz]def", 0, "and(abc,def)"},
        {"abc[(|)]def", 0, "and(abc,def)"},
        {"abc[a-z]+def", 0, "and(abc,def)"},
        {"abc.def", 0, "and(abc,def)"},
        {"abc[^a]*def", 0, "and(abc,def)"},
        /* \Q...\E inside a class quotes ']': the class is [\]x] */
        {"abc[\\Q]x\\E]def", 0, "and(abc,def)"},
        /* "[:" without ":]" is no POSIX class: the class ends at the first
         * ']', so '|' is a top-level alternation */
        {"[[:a]|]abc", 0, "all"},
    };
    check_plans("classes", c, NCASES(c));
}
END_TEST

START_TEST(test_build_shapes)
{
    /* Shapes ("@" and a character per class: 9 digit, a a-f, z g-z, # other
     * ASCII punctuation, ~ non-ASCII) from windows of six bytes that start
     * with punctuation, when each position's classes are known. */
    static const struct plan_case c[] = {
        {"[0-9a-f]{4}-[0-9a-f]{4}-", 0,
         "or(@-9999-,@-999a-,@-99a9-,@-99aa-,@-9a99-,@-9a9a-,@-9aa9-,@-9aaa-,@-a999-,@-a99a-,"
         "@-a9a9-,@-a9aa-,@-aa99-,@-aa9a-,@-aaa9-,@-aaaa-)"},
        {"\\d{4}-\\d{2}-\\d{2}", 0, "@-99-99"},
        {"\\b\\d{4}-\\d{2}-\\d{2}\\b", 0, "@-99-99"}, /* \b is zero-width */
        {"\\d+-\\d{2}-\\d{2}", 0, "@-99-99"},
        {"\\d\\d:\\d\\d:\\d\\d", 0, "@:99:99"},
        {"\\(\\d\\d\\d\\) ", 0, "@(999) "},
        {"\\(\\w\\)\\s\\d\\d", 0, "or(@(9) 99,@(a) 99,@(z) 99,@(_) 99)"},
        {"x[-/]\\d{5}", 0, "or(@-99999,@/99999)"},
        /* the first copies of a varying count follow what precedes, the last
         * ones precede what follows, nothing joins them */
        {"-\\d{2,4}-\\d{5}", 0, "@-99999"},
        {"-\\d{2,4}-\\d{3}", 0, "all"},
        {"-\\d+-\\d{3}", 0, "all"},
        {"-\\d*-\\d{3}", 0, "all"},
        {"-\\d?\\d{4}x", 0, "all"},
        /* a class of any byte, of more than one, or of non-ASCII: a cut */
        {"-.\\d{4}x", 0, "all"},
        {"-[^a]\\d{4}", 0, "all"},
        {"-\\D\\d{4}", 0, "all"},
        {"-\\h\\d{4}", 0, "all"},
        {"-[\\x{e9}a]\\d{4}", 0, "all"},
        {"-[[:digit:]]\\d{4}", 0, "all"},
        {"-(\\d)\\d{4}", 0, "all"},
        {"-\\1\\d{4}", 0, "all"},
        /* a class holding a letter or a blank cannot start a window */
        {"[-a]\\d{5}", 0, "all"},
        /* too many keys: 10 classes at five places */
        {"-[-.,():/*;a]{5}", 0, "all"},
        /* a setting may make \d match more than ASCII digits */
        {"(*UCP)-\\d{5}", 0, "all"},
        {"(*UTF)-\\d{5}", 0, "all"},
        /* caseless: a letter's class is its other case's too; a non-ASCII
         * character may fold to other bytes */
        {"-[A-F]{5}", F_CI, "@-aaaaa"},
        {"-\\d{4}\xc3\xa9", F_CI, "all"},
        {"-\\d{3}\xc3\xa9", 0, "@-999~~"},
        /* inside a required group; none from an optional one */
        {"x(-\\d{5})y", 0, "@-99999"},
        {"x(-\\d{5})?y", 0, "all"},
        {"-\\d{5}|:\\d{5}", 0, "or(@-99999,@:99999)"},
    };
    check_plans("shapes", c, NCASES(c));
}
END_TEST

START_TEST(test_shape_classes)
{
    /* The class table, against its definition byte by byte. */
    for (int c = 0; c < 256; c++) {
        unsigned want = c >= '0' && c <= '9'                                ? SH_DIGIT
                        : (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')  ? SH_HEX
                        : (c >= 'g' && c <= 'z') || (c >= 'G' && c <= 'Z')  ? SH_LETTER
                        : c == '_'                                          ? SH_UNDER
                        : c == ' ' || c == '\t' || (c >= 0x0b && c <= 0x0d) ? SH_BLANK
                        : c == '-'                                          ? SH_DASH
                        : c == '.'                                          ? SH_DOT
                        : c == ','                                          ? SH_COMMA
                        : c == '('                                          ? SH_LPAREN
                        : c == ')'                                          ? SH_RPAREN
                        : c == ':'                                          ? SH_COLON
                        : c == '/'                                          ? SH_SLASH
                        : c == '*'                                          ? SH_STAR
                        : c == ';'                                          ? SH_SEMI
                        : c >= 0x80                                         ? SH_HIGH
                                                                            : SH_OTHER;
        ck_assert_msg(qplan_shape_class[c] == want, "class of byte 0x%02x is %u, want %u", c,
                      qplan_shape_class[c], want);
    }
}
END_TEST

START_TEST(test_build_escapes)
{
    static const struct plan_case c[] = {
        /* escaped metacharacters and character escapes are literals */
        {"a\\.b\\(c", 0, "and(a.b,.b(,b(c)"},
        {"\\\\abc", 0, "and(\\ab,abc)"},
        {"ab\\tcd", 0, "and(ab\t,b\tc,\tcd)"},
        {"a\\|b\\*c", 0, "and(a|b,|b*,b*c)"},
        /* classes, properties, code points, back-references: the run ends
         * and no part of the escape's argument becomes a literal */
        {"abc\\d+def", 0, "and(abc,def)"},
        {"abc\\wdef", 0, "and(abc,def)"},
        {"abc\\sdef", 0, "and(abc,def)"},
        {"abc\\Sdef", 0, "and(abc,def)"},
        {"abc\\Kdef", 0, "and(abc,def)"},
        {"abc\\p{Lu}def", 0, "and(abc,def)"},
        {"abc\\P{Lu}def", 0, "and(abc,def)"},
        {"abc\\p{^Lu}def", 0, "and(abc,def)"},
        {"abc\\pLdef", 0, "and(abc,def)"},
        {"abc\\PLdef", 0, "and(abc,def)"},
        {"abc\\x41def", 0, "and(abc,def)"},
        {"abc\\x41BCD", 0, "and(abc,bcd)"}, /* \x takes two hex digits, no more */
        {"abc\\x{263a}def", 0, "and(abc,def)"},
        {"abc\\o{101}def", 0, "and(abc,def)"},
        {"abc\\N{U+41}def", 0, "and(abc,def)"},
        {"abc\\cAdef", 0, "and(abc,def)"},
        /* \cX takes any printable X: \c) \c] \c\ close nothing and
         * escape nothing, so the '|' after them is at the top here (the
         * fuzzer's find: the plan required f1oo of a pattern matching every
         * line) */
        {"f1oo(?=x\\c\\)|", 0, "all"},
        {"f1oo(?=x\\c))|", 0, "all"},
        {"f1oo[\\c\\]|", 0, "all"},
        {"f1oo[\\c]]|", 0, "all"},
        {"(?=\\c)abc)def", 0, "def"},
        {"[\\c]abc]def", 0, "def"},
        {"abc\\012def", 0, "and(abc,def)"},
        {"(abc)\\1def", 0, "and(abc,def)"},
        {"(abc)\\g1def", 0, "and(abc,def)"},
        {"(abc)\\g{1}def", 0, "and(abc,def)"},
        {"(abc)\\g{-1}def", 0, "and(abc,def)"},
        {"(?<n>abc)\\k<n>def", 0, "and(abc,def)"},
        {"(?<n>abc)\\k{n}def", 0, "and(abc,def)"},
        {"(?<n>abc)\\g{n}def", 0, "and(abc,def)"},
        {"(?<n>abc)\\k'n'def", 0, "and(abc,def)"}, /* Perl's quoted form */
        {"(abc)\\g-1def", 0, "and(abc,def)"},      /* relative, without braces */
        /* an escaped non-ASCII character is that character: with '+'
         * after it, what follows is not adjacent to what precedes */
        {"\\" E_ACUTE "+abc", 0, "abc"},
    };
    check_plans("escapes", c, NCASES(c));
}
END_TEST

START_TEST(test_build_quantifiers)
{
    static const struct plan_case c[] = {
        /* optional: the item is dropped and the run ends */
        {"abcd?efgh", 0, "and(abc,efg,fgh)"},
        {"abcd*efgh", 0, "and(abc,efg,fgh)"},
        {"abcd{0,3}efgh", 0, "and(abc,efg,fgh)"},
        {"abcd{0}efgh", 0, "and(abc,efg,fgh)"},
        {"abcd{0,}efgh", 0, "and(abc,efg,fgh)"},
        /* lazy and possessive suffixes change nothing */
        {"abcd??efgh", 0, "and(abc,efg,fgh)"},
        {"abcd*?efgh", 0, "and(abc,efg,fgh)"},
        {"abcd*+efgh", 0, "and(abc,efg,fgh)"},
        {"abcd{0,3}?efgh", 0, "and(abc,efg,fgh)"},
        /* required: the item is kept, and ends the run */
        {"abcd+efgh", 0, "and(abc,bcd,efg,fgh)"},
        {"abcd{2}efgh", 0, "and(abc,bcd,efg,fgh)"},
        {"abcd{2,}efgh", 0, "and(abc,bcd,efg,fgh)"},
        {"abcd{2,5}efgh", 0, "and(abc,bcd,efg,fgh)"},
        {"abcd+?efgh", 0, "and(abc,bcd,efg,fgh)"},
        {"abcd++efgh", 0, "and(abc,bcd,efg,fgh)"},
        {"abcd{2}+efgh", 0, "and(abc,bcd,efg,fgh)"},
        {"abx{2}yz", 0, "abx"},
        {"ab+cd", 0, "all"},
        /* on groups */
        {"(abcd)?efgh", 0, "and(efg,fgh)"},
        {"(abcd)*efgh", 0, "and(efg,fgh)"},
        {"(abcd){0,2}efgh", 0, "and(efg,fgh)"},
        {"(abcd)+efgh", 0, "and(abc,bcd,cde,def,efg,fgh)"},
        {"(abcd){2}efgh", 0, "and(abc,bcd,cde,def,efg,fgh)"},
        {"ab(cd)+ef", 0, "and(abc,bcd,cde,def)"},
        /* a comment or an isolated \E between an item and its quantifier
         * is ignored: the quantifier applies to the item */
        {"abc(?#x)?", 0, "all"},
        {"abc\\E?", 0, "all"},
        {"(abc)\\E*def", 0, "def"},
        {"(abc)\\Q\\E*def", 0, "def"},
        {"abc\\Q\\E?", 0, "all"},
    };
    check_plans("quantifiers", c, NCASES(c));
}
END_TEST

START_TEST(test_build_groups)
{
    static const struct plan_case c[] = {
        {"(abc)", 0, "abc"},
        {"x(abcd)y", 0, "and(xab,abc,bcd,cdy)"},
        {"((abc))", 0, "abc"},
        {"(?:abc)def", 0, "and(abc,bcd,cde,def)"},
        {"(?:)abc", 0, "abc"},
        {"(?<n>abc)", 0, "abc"},
        {"(?P<n>abc)", 0, "abc"},
        {"(?'n'abc)", 0, "abc"},
        {"(?'name'abc)", 0, "abc"},
        {"(?>abc)", 0, "abc"},
        {"(?|(abc)|(abd))", 0, "or(abc,abd)"},
        {"(?n)(abc)def", 0, "and(abc,bcd,cde,def)"},
        {"(?m)abc", 0, "abc"},
        {"(?s:a.c)", 0, "all"},
        {"(?U)abc+", 0, "abc"},
        /* flags: a setting ends the run */
        {"(?i)abc", 0, "abc"},
        {"(?i:abc)", 0, "abc"},
        {"ab(?i)cd", 0, "all"},
        {"(?-i)abc", 0, "abc"},
        {"(?^)abc", 0, "abc"},
    };
    check_plans("groups", c, NCASES(c));
}
END_TEST

START_TEST(test_build_alternation)
{
    static const struct plan_case c[] = {
        {"abc|def", 0, "or(abc,def)"},
        {"abc|def|ghi", 0, "or(abc,def,ghi)"},
        {"x(abc|def)y", 0, "or(abc,def)"},
        {"abcd(efg|hij)", 0, "and(abc,bcd,or(efg,hij))"},
        {"(abc|def)(ghi|jkl)", 0, "and(or(abc,def),or(ghi,jkl))"},
        {"(abc|def)|ghi", 0, "or(or(abc,def),ghi)"},
        {"(abcd|efgh)", 0, "or(and(abc,bcd),and(efg,fgh))"},
        /* a branch without trigrams makes the OR "all" */
        {"abc|de", 0, "all"},
        {"abc|", 0, "all"},
        {"|abc", 0, "all"},
        {"(abc|)def", 0, "def"},
        {"(abc|d.e)fgh", 0, "fgh"},
        {"(a|b)cde", 0, "cde"},
        {"((abc|def)|gh)ijk", 0, "ijk"},
        {"(ab|cd)|efg", 0, "all"},
    };
    check_plans("alternation", c, NCASES(c));
}
END_TEST

START_TEST(test_build_lookaround)
{
    static const struct plan_case c[] = {
        {"abc(?=def)ghi", 0, "and(abc,ghi)"},
        {"(?!xyz)abc", 0, "abc"},
        {"(?<=xyz)abc", 0, "abc"},
        {"(?<!xyz)abc", 0, "abc"},
        {"abc(?=[)])def", 0, "and(abc,def)"},
        {"abc(?=(x|y))def", 0, "and(abc,def)"},
        {"abc(?=\\))def", 0, "and(abc,def)"},
        /* \Q...\E inside a look-around quotes its ')' */
        {"(?!\\Q)(abc\\E)", 0, "all"},
        /* non-atomic look-behind (PCRE2 10.34+) is look-around too */
        {"(?<*x)|y>abc", 0, "all"},
    };
    check_plans("look-around", c, NCASES(c));
}
END_TEST

START_TEST(test_build_comments)
{
    static const struct plan_case c[] = {
        /* PCRE2 ignores a comment altogether: the run goes on across it. */
        {"abc(?#comment)def", 0, "and(abc,bcd,cde,def)"},
        /* found by fuzz_qplan: "{" after \w is no argument; the '|' counts */
        {"struct \\w{+opera|", 0, "all"},
        {"abc(?#a|b)def", 0, "and(abc,bcd,cde,def)"},
        {"(?#xyz)abc", 0, "abc"},
        /* A comment ends at the first ')', whatever comes before it: '(',
         * '\\' and '[' in it are plain.  Read as nesting, an escape or a
         * class, the comment swallows the ')' that closes the optional
         * group, and abc looks required. */
        {"(abc(?#()d)?xyz", 0, "xyz"},
        {"(abc(?#\\)d)?xyz", 0, "xyz"},
        {"(abc(?#[)d])?xyz", 0, "xyz"},
        {"x(?#()|\\Q)\\Eabc", 0, "all"},
    };
    check_plans("comments", c, NCASES(c));
}
END_TEST

START_TEST(test_build_quoting)
{
    static const struct plan_case c[] = {
        {"\\Qa.b(c\\E", 0, "and(a.b,.b(,b(c)"},
        {"\\Qa|b", 0, "a|b"}, /* no \E: quoted to the end */
        {"x\\Qa*b\\Ey", 0, "and(xa*,a*b,*by)"},
        {"\\Q\\Eabc", 0, "abc"},
        {"ab\\Q\\Ecd", 0, "and(abc,bcd)"}, /* \Q\E is ignored */
        /* a quantifier after \E applies to the last quoted character */
        {"\\Qabcd\\E?", 0, "abc"},
        {"\\Qabcd\\E{0}", 0, "abc"},
        {"\\Qabcd\\E*xyz", 0, "and(abc,xyz)"},
        {"\\Qabc\\E+def", 0, "and(abc,def)"},
        {"\\Qabc\\E{2}def", 0, "and(abc,def)"},
        {"xy\\Qz\\E?abc", 0, "abc"},
        {"\\Qabc" E_ACUTE "\\E?def", 0, "and(abc,def)"},
        /* "\Q\E" then a quantifier: it applies to what came before */
        {"abc\\Q\\E?", 0, "all"},
        {"(abc)\\Q\\E?def", 0, "def"},
    };
    check_plans("\\Q...\\E", c, NCASES(c));
}
END_TEST

/* Start-of-pattern settings do not change what a match holds. */
START_TEST(test_build_settings)
{
    static const char *const prefixes[] = {"(*UTF)",
                                           "(*UCP)",
                                           "(*NO_JIT)",
                                           "(*UTF)(*UCP)(*NO_JIT)",
                                           "(*CRLF)",
                                           "(*ANYCRLF)",
                                           "(*NOTEMPTY)",
                                           "(*NO_START_OPT)(*NO_AUTO_POSSESS)",
                                           "(*BSR_UNICODE)",
                                           "(*LIMIT_MATCH=5)",
                                           "(*LIMIT_DEPTH=100)(*LIMIT_HEAP=1)",
                                           "(*NUL)"};
    static const char *const bodies[] = {"tcp_v4_do_rcv", "foo(bar|baz)qux", "ab", "(?i)Hello"};
    struct report r = {0};
    for (size_t i = 0; i < NCASES(prefixes); i++) {
        for (size_t j = 0; j < NCASES(bodies); j++) {
            char pat[128];
            snprintf(pat, sizeof pat, "%s%s", prefixes[i], bodies[j]);
            char *want = plan_text(bodies[j], strlen(bodies[j]), 0);
            char *got = plan_text(pat, strlen(pat), 0);
            if (strcmp(got, want))
                report_add(&r, "%s: %s, want %s (as without the settings)", pat, got, want);
            free(want);
            free(got);
        }
    }
    ck_assert_msg(r.n == 0, "settings: %u wrong:%s", r.n, r.text);
}
END_TEST

START_TEST(test_build_bailouts)
{
    static const struct plan_case c[] = {
        {"(?x)abc", 0, "all"},
        {"(?x: a b c )abcd", 0, "all"},
        {"abcd(?xx)", 0, "all"},
        {"abc(*UTF)", 0, "all"}, /* a setting is only one at the start */
        {"(*ACCEPT)abc", 0, "all"},
        {"(*UTF)(*ACCEPT)abc", 0, "all"},
        {"(*LIMIT_MATCH)abc", 0, "all"}, /* malformed settings: PCRE2 refuses them */
        {"(*LIMIT_MATCH=)abc", 0, "all"},
        {"(*LIMIT_MATCH=9abc", 0, "all"},
        {"(*UTF=1)abc", 0, "all"},
        {"(*utf)abc", 0, "all"},
        {"abc(*ACCEPT)def", 0, "all"},
        {"(*napla:abc)def", 0, "all"},
        {"abc(?R)?", 0, "all"},
        {"(abc)(?1)", 0, "all"},
        {"(abc)(?-1)", 0, "all"},
        {"(?+1)(abc)", 0, "all"},
        {"(?<n>abc)(?&n)", 0, "all"},
        {"(?P<n>abc)(?P>n)", 0, "all"},
        {"(?(1)abc|def)", 0, "all"},
        {"(abc)?(?(1)def|ghi)", 0, "all"},
        {"(?(?=a)abc|def)", 0, "all"},
        {"(?C1)abc", 0, "all"},
        {"abc)", 0, "all"},
        {"abc))def", 0, "all"},
        {"(abc)def)ghi", 0, "all"},
        {"abc\\", 0, "all"},
    };
    check_plans("bail-outs", c, NCASES(c));
}
END_TEST

START_TEST(test_build_caseless)
{
    static const struct plan_case c[] = {
        /* caseless: non-ASCII characters end runs (é matches É) */
        {"caf" E_ACUTE "_bar", F_CI, "and(caf,_ba,bar)"},
        {E_ACUTE "t" E_ACUTE "_xyz", F_CI, "and(_xy,xyz)"},
        {"ab" EURO "cd", F_CI, "all"},
        {"\\Qcaf" E_ACUTE "_bar\\E", F_CI, "and(caf,_ba,bar)"},
        {"(caf" E_ACUTE "_bar)", F_CI, "and(caf,_ba,bar)"},
        /* but k, s, K and S stay: files holding KELVIN SIGN or LONG S are
         * scanned without the index (qplan.h) */
        {"desk", F_CI, "and(des,esk)"},
        {"DESK", F_CI, "and(des,esk)"},
        {"KISS", F_CI, "and(kis,iss)"},
        {"ask_for", F_CI, "and(ask,sk_,k_f,_fo,for)"},
        {"ABCD", F_CI, "and(abc,bcd)"},
        /* case-sensitive: non-ASCII characters stay in the run */
        {"caf" E_ACUTE "_bar", 0,
         "and(caf,af\xc3,f" E_ACUTE "," E_ACUTE "_,\xa9_b,_ba,bar,@~~_aaz)"},
        {"ab" EURO "cd", 0,
         "and(ab\xe2,b\xe2\x82," EURO ",\x82\xac"
         "c,\xac"
         "cd)"},
        /* (?i) anywhere makes the whole pattern caseless */
        {"caf" E_ACUTE "_bar(?i)", 0, "and(caf,_ba,bar)"},
        {"(?i)caf" E_ACUTE "_bar", 0, "and(caf,_ba,bar)"},
        {"x(?i:y)caf" E_ACUTE "_bar", 0, "and(xyc,yca,caf,_ba,bar)"},
        {"caf" E_ACUTE "_bar(?-i)", 0, "and(caf,_ba,bar)"},
    };
    check_plans("caseless", c, NCASES(c));
}
END_TEST

START_TEST(test_build_literal_mode)
{
    static const struct plan_case c[] = {
        {"a.b(c)", F_LIT, "and(a.b,.b(,b(c,(c))"},
        {"(?x)abc", F_LIT, "and((?x,?x),x)a,)ab,abc,@(#z)aa,@#z)aaa)"},
        {"a|b*c", F_LIT, "and(a|b,|b*,b*c)"},
        {"\\d\\w", F_LIT, "and(\\d\\,d\\w)"},
        {"abc)", F_LIT, "and(abc,bc))"},
        {"\\Qab", F_LIT, "and(\\qa,qab)"},
        {"[ab]", F_LIT, "and([ab,ab])"},
        {"ABC", F_LIT, "abc"},
        {"ab", F_LIT, "all"},
        {"", F_LIT, "all"},
        {"desk", F_LIT, "and(des,esk)"},
        {"desk", F_LIT | F_CI, "and(des,esk)"},
        {"caf" E_ACUTE "x", F_LIT | F_CI, "caf"},
        {"caf" E_ACUTE "x", F_LIT, "and(caf,af\xc3,f" E_ACUTE "," E_ACUTE "x)"},
        {"(?i)desk", F_LIT, "and((?i,?i),i)d,)de,des,esk,@(#z)aa,@#z)aaz)"},
    };
    check_plans("literal mode", c, NCASES(c));
}
END_TEST

START_TEST(test_build_utf8)
{
    static const struct plan_case c[] = {
        {"caf" E_ACUTE "?_bar", 0, "and(caf,_ba,bar)"},
        {"caf" E_ACUTE "*_bar", 0, "and(caf,_ba,bar)"},
        {"caf" E_ACUTE "{0}_bar", 0, "and(caf,_ba,bar)"},
        {"ab" EURO "+cd", 0, "and(ab\xe2,b\xe2\x82," EURO ")"},
        {EURO "{2}abc", 0, "and(" EURO ",abc,@~~~~~~,@~~~~~a,@~~~~aa,@~~~aaa)"},
        {"x\xf0\x9f\x98\x80?yz", 0, "all"},
        {"(" E_ACUTE ")?abc", 0, "abc"},
        {E_ACUTE "t" E_ACUTE, 0, "and(" E_ACUTE "t,\xa9t\xc3,t" E_ACUTE ")"},
    };
    check_plans("UTF-8", c, NCASES(c));
}
END_TEST

START_TEST(test_build_reader)
{
    /* Plans that changed when the plan began reading tokens (pattern.h):
     * syntax the old reader gave up on, text it took for syntax, and text
     * whose meaning depends on the PCRE2 version. */
    static const struct plan_case c[] = {
        {"(*UTF8)abcd", 0, "and(abc,bcd)"},
        {"(*pla:ab)abc", 0, "abc"},
        {"(*atomic:abcd)", 0, "and(abc,bcd)"},
        {"(*sr:abcd)", 0, "and(abc,bcd)"},
        {"[(?x)]abc", 0, "abc"},
        {"x\\Q(?x)\\Eabcd", 0, "and(x(?,(?x,?x),x)a,)ab,abc,bcd,@(#z)aa,@#z)aaa)"},
        {"[(?i)]caf" E_ACUTE "x", 0, "and(caf,af\xc3,f" E_ACUTE "," E_ACUTE "x)"},
        /* literal text to PCRE2 10.42, a quantifier from 10.43 on */
        {"abc{ 2 }def", 0, "all"},
        {"abc{2 ,3}def", 0, "all"},
        /* a subroutine call */
        {"\\g<1>(abc)", 0, "all"},
    };
    check_plans("read by pattern.h", c, NCASES(c));
    /* and each is sound on a line it matches */
    static const struct {
        const char *pattern, *line;
    } s[] = {
        {"(*UTF8)abcd", "xabcdx"},      {"(*pla:ab)abc", "abc"},
        {"(*atomic:abcd)", "abcd"},     {"(*sr:abcd)", "abcd"},
        {"[(?x)]abc", "xabc"},          {"x\\Q(?x)\\Eabcd", "x(?x)abcd"},
        {"abc{ 2 }def", "abc{ 2 }def"}, {"[(?i)]caf" E_ACUTE "x", ")caf" E_ACUTE "x"},
    };
    for (size_t i = 0; i < NCASES(s); i++) {
        struct oracle o;
        ck_assert_msg(oracle_open(&o, s[i].pattern, strlen(s[i].pattern), 0), "%s does not compile",
                      s[i].pattern);
        enum verdict v = oracle_line(&o, s[i].line, strlen(s[i].line));
        oracle_close(&o);
        ck_assert_msg(v == V_SOUND, "/%s/ on \"%s\": verdict %d, want %d (sound)",
                      shows(s[i].pattern), shows(s[i].line), v, V_SOUND);
    }
}
END_TEST

/* n opening parentheses, the middle, n closing ones. */
static char *nested(size_t n, const char *middle, bool close)
{
    size_t m = strlen(middle);
    char *p = xmalloc(2 * n + m + 1);
    memset(p, '(', n);
    memcpy(p + n, middle, m);
    memset(p + n + m, ')', close ? n : 0);
    p[n + m + (close ? n : 0)] = '\0';
    return p;
}

START_TEST(test_build_depth)
{
    static const struct {
        size_t depth;
        bool close;
        const char *want;
    } c[] = {
        {10, true, "abc"},   {60, true, "abc"},      {100, true, "all"},
        {1000, true, "all"}, {100000, false, "all"}, /* unbalanced, and deep: no crash */
    };
    struct report r = {0};
    for (size_t i = 0; i < NCASES(c); i++) {
        char *p = nested(c[i].depth, "abc", c[i].close);
        char *got = plan_text(p, strlen(p), 0);
        if (strcmp(got, c[i].want) != 0)
            report_add(&r, "abc nested %zu deep%s: %s, want %s", c[i].depth,
                       c[i].close ? "" : " (unclosed)", shows(got), c[i].want);
        free(got);
        free(p);
    }
    ck_assert_msg(r.n == 0, "qplan_build, depth: %u wrong:%s", r.n, r.text);
}
END_TEST

START_TEST(test_build_never_null)
{
    /* Every input gives a plan, even ones PCRE2 rejects. */
    static const char *const p[] = {"",     "(",  ")",   "[",    "\\",  "(?", "(?<", "\\Q",
                                    "\\x{", "a{", "(?'", "\\k'", "[[:", "(*", "\xc3"};
    for (size_t i = 0; i < NCASES(p); i++)
        for (unsigned f = 0; f < 4; f++) {
            struct qnode *q = qplan_build(p[i], strlen(p[i]), f & F_LIT, f & F_CI);
            bool ok = q != NULL;
            qplan_free(q);
            ck_assert_msg(ok, "qplan_build(\"%s\"%s) returned NULL", shows(p[i]), flag_str(f));
        }
}
END_TEST

/* ------------------------------------------------------------------ */
/* qplan_build: soundness against PCRE2, hand-written cases            */
/* ------------------------------------------------------------------ */

struct sound_case {
    const char *pattern;
    unsigned flags;
    const char *lines[4]; /* each must match */
};

static const struct sound_case sound_cases[] = {
    /* literals and case */
    {"hello", 0, {"say hello", "hello"}},
    {"hello", F_CI, {"HELLO", "HeLLo world"}},
    {"Hello", 0, {"Hello"}},
    {"desk", F_CI, {"DES" KELVIN, "desK", "de" LONG_S "k"}},
    {"sky", F_CI, {LONG_S "ky", "S" KELVIN "Y"}},
    {"kiss", F_CI, {KELVIN "iss", "ki" LONG_S LONG_S, "KISS"}},
    {"ask_for", F_CI, {"A" LONG_S KELVIN "_FOR"}},
    {"task", F_CI, {"TA" LONG_S KELVIN}},
    {"caf" E_ACUTE, F_CI, {"CAF" E_ACUTE_UP, "caf" E_ACUTE}},
    {"caf" E_ACUTE_UP "s", F_CI, {"caf" E_ACUTE LONG_S}},
    {E_ACUTE_UP "t" E_ACUTE, F_CI, {E_ACUTE "T" E_ACUTE_UP}},
    {E_ACUTE "t" E_ACUTE "s", F_CI, {E_ACUTE_UP "T" E_ACUTE_UP LONG_S}},
    {A_RING_UP "ngstr", F_CI, {ANGSTROM "NGSTR"}},
    {"stra" SHARP_S "e", F_CI, {"STRA" SHARP_S_UP "E"}},
    {"(?i)desk", 0, {"DES" KELVIN}},
    {"x(?i)desk", 0, {"xDES" KELVIN}},
    {"(?i:desk)top", 0, {"DE" LONG_S "Ktop"}},
    {"(?i:ask)for", 0, {"A" LONG_S KELVIN "for"}},
    {"abc(?i)desk", 0, {"abcde" LONG_S KELVIN}},
    {"desk(?-i)", F_CI, {"DES" KELVIN}},
    /* literal mode */
    {"kelvin", F_LIT | F_CI, {KELVIN "ELVIN"}},
    {"sks", F_LIT | F_CI, {LONG_S KELVIN LONG_S}},
    {"a.b", F_LIT, {"xa.by"}},
    {"A.B(c)", F_LIT | F_CI, {"a.b(C)"}},
    {"(?x) a", F_LIT, {"(?x) a"}},
    /* escapes */
    {"abc\\d+def", 0, {"abc12def"}},
    {"abc\\wdef", 0, {"abcXdef"}},
    {"abc\\sdef", 0, {"abc def"}},
    {"abc\\p{Lu}def", 0, {"abcQdef"}},
    {"abc\\pLdef", 0, {"abcqdef"}},
    {"abc\\x41def", 0, {"abcAdef"}},
    {"abc\\x41BCD", 0, {"abcABCD"}},
    {"abc\\x{263a}def",
     0,
     {"abc\xe2\x98\xba"
      "def"}},
    {"(abc)\\1def", 0, {"abcabcdef"}},
    {"(abc)\\g{-1}def", 0, {"abcabcdef"}},
    {"(abc)\\g-1def", 0, {"abcabcdef"}},
    {"(?<n>abc)\\k<n>def", 0, {"abcabcdef"}},
    {"(?<n>abc)\\k'n'def", 0, {"abcabcdef"}},
    {"(?<n>abc)\\k{n}def", 0, {"abcabcdef"}},
    {"(?<n>abc)\\g'n'def", 0, {"abcabcdef"}},
    {"abc\\cAdef",
     0,
     {"abc\x01"
      "def"}},
    {"abc\\101def", 0, {"abcAdef"}},
    {"abc\\o{101}def", 0, {"abcAdef"}},
    {"abc\\N{U+41}def", 0, {"abcAdef"}},
    {"a\\.b\\(c", 0, {"a.b(c"}},
    {"\\\\abc", 0, {"\\abc"}},
    {"ab\\tcd", 0, {"ab\tcd"}},
    {"a\\x{6b}b", F_CI, {"a" KELVIN "b"}},
    {"\\" E_ACUTE "+ab", 0, {E_ACUTE "ab", E_ACUTE E_ACUTE "ab"}},
    {"a\\" E_ACUTE "*bc", 0, {"abc"}},
    {"\\" E_ACUTE "xyz", 0, {E_ACUTE "xyz"}},
    /* classes */
    {"abc[de]fgh", 0, {"abcdfgh"}},
    {"abc[]x]def", 0, {"abc]def"}},
    {"abc[^]x]def", 0, {"abcydef"}},
    {"abc[[:alpha:]]def", 0, {"abcQdef"}},
    {"[[:a]|]abc", 0, {":", "a", "]abc"}},
    {"abc[(|)]def", 0, {"abc|def"}},
    {"abc[\\]]def", 0, {"abc]def"}},
    {"[\\Q]x\\E]bc", 0, {"xbc", "]bc"}},
    {"abc[\\Q]\\E]def", 0, {"abc]def"}},
    /* quantifiers */
    {"abcd?efgh", 0, {"abcefgh", "abcdefgh"}},
    {"abcd*efgh", 0, {"abcefgh", "abcddefgh"}},
    {"abcd{0,3}efgh", 0, {"abcefgh"}},
    {"abcd+efgh", 0, {"abcdddefgh"}},
    {"abcd{2}efgh", 0, {"abcddefgh"}},
    {"abcd{2,}efgh", 0, {"abcdddefgh"}},
    {"abcd??efgh", 0, {"abcefgh"}},
    {"abcd*+efgh", 0, {"abcefgh"}},
    {"abcd{0,2}?efgh", 0, {"abcefgh"}},
    {"(abc)?def", 0, {"def"}},
    {"(abc)*def", 0, {"def"}},
    {"(abc){0}def", 0, {"def"}},
    {"(abc)+def", 0, {"abcabcdef"}},
    {"abc{x", 0, {"abc{x"}},
    {"ab{2,3", 0, {"ab{2,3"}},
    {"ab{,3}", 0, {"ab{,3}"}},
    {"abc(?#x)?", 0, {"ab"}},
    {"abc(?#x)*d", 0, {"abd"}},
    {"abc\\E?", 0, {"ab"}},
    {"(abc)\\E*", 0, {"x"}},
    {"(abc)\\Q\\E*", 0, {"x"}},
    {"(abc)\\Q\\E{0}def", 0, {"def"}},
    {"abc\\Q\\E?", 0, {"ab"}},
    {"caf" E_ACUTE "?_bar", 0, {"caf_bar"}},
    {"ab" EURO "+cd", 0, {"ab" EURO EURO "cd"}},
    {"ab" EURO "?cde", 0, {"abcde"}},
    /* groups */
    {"(?:abc)def", 0, {"abcdef"}},
    {"(?<n>abc)", 0, {"abc"}},
    {"(?P<n>abc)", 0, {"abc"}},
    {"(?'n'abc)", 0, {"abc"}},
    {"(?>abcd)e", 0, {"abcde"}},
    {"(?|(abc)|(abd))\\1", 0, {"abcabc", "abdabd"}},
    {"(?i)abc", 0, {"ABC"}},
    {"(?i:abc)", 0, {"aBc"}},
    {"(?-i)abc", F_CI, {"abc"}},
    {"a(?i)bc", 0, {"aBC"}},
    /* alternation */
    {"abc|def", 0, {"xdefx", "abc"}},
    {"x(abc|def)y", 0, {"xdefy"}},
    {"abcd(efg|hij)", 0, {"abcdhij"}},
    {"abc|de", 0, {"de"}},
    {"abc|", 0, {"zz", ""}},
    {"(abc|)def", 0, {"def"}},
    {"(abc|d.e)fgh", 0, {"dxefgh"}},
    {"(ab|cd)|efg", 0, {"cd"}},
    /* a group's shared ends join the runs around it */
    {"\\b(kmalloc|kzalloc|kcalloc)\\(", 0, {"p = kzalloc(n)", "kcalloc("}},
    {"x(ab|cab)+y", 0, {"xabcaby", "xcaby"}},
    {"(abcd)+efgh", 0, {"abcdabcdefgh"}},
    {"ab(cd)+ef", 0, {"abcdcdef"}},
    {"(abc|abd)?post", 0, {"post", "abdpost"}},
    {"(a(bc)|d(bc))e", 0, {"dbce"}},
    {"(ab(?=c)|db)c", 0, {"abc", "dbc"}},
    {"(x|\\x41bc)bc", 0, {"Abcbc"}},
    {"((?i)ab|cd)ef", 0, {"ABef"}},
    {"(foo|bar)_ops", F_CI, {"BAR_OPS"}},
    {"(?i)(desk|task)s", 0, {"DESKS"}},
    {"(zz|\\Qa|b\\E)cd", 0, {"a|bcd"}},
    {"(a+|ba)bc", 0, {"aaabc"}},
    /* look-around and comments */
    {"abc(?=def)", 0, {"abcdef"}},
    {"(?!xyz)abc", 0, {"abc"}},
    {"(?<=xyz)abc", 0, {"xyzabc"}},
    {"(?<!xyz)abc", 0, {"abc"}},
    {"abc(?#comment)def", 0, {"abcdef"}},
    {"(?=(abc))\\w+", 0, {"abc"}},
    {"(?!\\Q)(abc\\E)", 0, {"x"}},
    {"x(?#()|\\Q)\\Eabc", 0, {"x"}},
    {"(abc(?#()d)?xyz", 0, {"xyz", "abcdxyz"}},
    {"(abc(?#\\)d)?xyz", 0, {"xyz"}},
    {"(abc(?#[)d])?xyz", 0, {"xyz", "abcd]xyz"}},
    {"(?<*x)|y>abc", 0, {"x"}},
    {"^abc$", 0, {"abc"}},
    {"\\babc\\b", 0, {"x abc y"}},
    {"a\\Kbcd", 0, {"abcd"}},
    /* \Q...\E */
    {"\\Qa.b(c\\E", 0, {"a.b(c"}},
    {"\\Qabcd\\E?", 0, {"abc"}},
    {"\\Qab\\E+cd", 0, {"abbbcd"}},
    {"\\Qa|b", 0, {"a|b"}},
    {"x\\Qy\\E{0}z", 0, {"xz"}},
    {"\\Qdesk\\E", F_CI, {"DES" KELVIN}},
    {"\\Qab" E_ACUTE "\\E?cd", 0, {"abcd"}},
    /* bail-outs */
    {"(?x) a b c", 0, {"abc"}},
    {"(*UCP)abc", 0, {"abc"}},
    {"(abc)(?1)", 0, {"abcabc"}},
    {"(?(?=a)abc|def)", 0, {"def"}},
    {"a(*ACCEPT)bcd", 0, {"a"}},
    {"(a|b(?R))c", 0, {"ac"}},
};

/* Extra subjects tried against every pattern. */
static const char *const sound_pool[] = {
    "",           "x",
    "abc",        "ABC",
    "desk",       "DESK",
    "des" KELVIN, LONG_S,
    KELVIN,       E_ACUTE,
    E_ACUTE_UP,   "caf" E_ACUTE_UP,
    "(",          ")",
    "a.b",        "]",
    ":",          "abcdef",
    "ab",         "de",
    "xyz",        "s" KELVIN "s",
    "_bar",       "abc def",
};

START_TEST(test_build_sound_cases)
{
    /* Each pattern against its own lines (which must match) and against
     * every line of the list; one report per pattern. */
    struct report r = {0};
    unsigned pairs = 0, judged = 0;
    for (size_t i = 0; i < NCASES(sound_cases); i++) {
        const struct sound_case *c = &sound_cases[i];
        struct oracle o;
        if (!oracle_open(&o, c->pattern, strlen(c->pattern), c->flags)) {
            report_add(&r, "\"%s\"%s does not compile (the test case is wrong)", shows(c->pattern),
                       flag_str(c->flags));
            continue;
        }
        const char *bad_line = NULL;
        unsigned nbad = 0;
        for (size_t k = 0; k <= NCASES(sound_cases); k++) {
            const char *const *lines = k < NCASES(sound_cases) ? sound_cases[k].lines : sound_pool;
            size_t nlines =
                k < NCASES(sound_cases) ? NCASES(sound_cases[k].lines) : NCASES(sound_pool);
            for (size_t j = 0; j < nlines && lines[j]; j++, pairs++) {
                enum verdict v = oracle_line(&o, lines[j], strlen(lines[j]));
                judged += v == V_SOUND || v == V_VIOLATION;
                if (v == V_VIOLATION && nbad++ == 0)
                    bad_line = lines[j];
                if (k == i && v == V_NOMATCH)
                    report_add(&r, "\"%s\"%s does not match \"%s\" (the test case is wrong)",
                               shows(c->pattern), flag_str(c->flags), shows(lines[j]));
            }
        }
        if (nbad) {
            char *d = qplan_describe(o.plan);
            report_add(&r, "\"%s\"%s matches \"%s\" but the plan \"%s\" rejects it (%u lines)",
                       shows(c->pattern), flag_str(c->flags), shows(bad_line), shows(d), nbad);
            free(d);
        }
        oracle_close(&o);
    }
    ck_assert_msg(judged > 1000, "only %u matching pattern/line pairs were judged", judged);
    ck_assert_msg(r.n == 0,
                  "soundness over %zu hand-written patterns (%u pattern/line pairs): "
                  "%u failures:%s",
                  NCASES(sound_cases), pairs, r.n, r.text);
}
END_TEST

START_TEST(test_anchor_groups)
{
    /* The anchor reaches into a group whose branches are plain strings:
     * their shared prefix ends the run before it, their shared suffix
     * starts the one after; anything else in a branch stops it. */
    static const struct {
        const char *pattern, *anchor; /* NULL: none */
    } cases[] = {
        {"\\b(kmalloc|kzalloc|kcalloc)\\(", "alloc("},
        {"(?:struct|union) (foo|bar)_operations", "_operations"},
        {"x(abcd)y", "xabcdy"},
        {"(abcd)+efgh", "abcdefgh"},
        {"ab(cd)*ef", NULL},
        {"pre(abc|abd)?post", "post"},
        {"(a(bc)|d(bc))e", "bce"},
        {"(ab(?=c)|db)cde", "cde"},
        {"(abx|ab\\x78)cde", "cde"},
        {"(ab|a+b)cde", "cde"},
        {"(xyzab|xyzcd)", "xyz"},
        {"(abc|abc)|q", NULL},
        {"(|abc)def", "def"},
        {"x(|abc|)def", "def"},
    };
    struct report r = {0};
    for (size_t i = 0; i < NCASES(cases); i++) {
        size_t n = 0;
        bool ci, exact;
        char *a =
            qplan_anchor(cases[i].pattern, strlen(cases[i].pattern), false, false, &n, &ci, &exact);
        bool ok = cases[i].anchor ? a && n == strlen(cases[i].anchor) &&
                                        !memcmp(a, cases[i].anchor, n) && !exact
                                  : !a;
        if (!ok)
            report_add(&r, "\"%s\": anchor \"%.*s\"%s, want \"%s\"", cases[i].pattern,
                       a ? (int)n : 0, a ? a : "", a && exact ? " (exact)" : "",
                       cases[i].anchor ? cases[i].anchor : "(none)");
        free(a);
    }
    ck_assert_msg(r.n == 0, "%u of %zu anchors wrong:%s", r.n, NCASES(cases), r.text);
}
END_TEST

START_TEST(test_pairs)
{
    /* Two neighbouring characters or groups of plain strings outside any
     * group; a quantifier of 0 breaks the neighbourhood, zero-width items
     * do not. */
    static const struct {
        const char *pattern;
        unsigned flags;
        const char *first, *second; /* NULL: no pair */
    } cases[] = {
        {"\\bu(8|16|32|64)\\b", 0, "u", "8136"},
        {"u8", 0, "u", "8"},
        {"\\bif\\b", F_CI, "iI", "fF"},
        {"a?b", 0, NULL, NULL},
        {"a+b", 0, "a", "b"},
        {"a\\b\\bb", 0, "a", "b"},
        {"(ab|cd)(ef|gh)", 0, "bd", "eg"},
        {"(ab|c)d", 0, "bc", "d"},
        {"(ab|)d", 0, NULL, NULL},
        {"x|y", 0, NULL, NULL},
        {"a.b", 0, NULL, NULL},
        {"(a(b))c", 0, "b", "c"},
        {"(x)(abcde|fghij|klmno|pqrst|uvwxy)", 0, NULL, NULL},
        {"a\\nb", 0, NULL, NULL},
    };
    struct report r = {0};
    for (size_t i = 0; i < NCASES(cases); i++) {
        struct pair_finder p;
        const char *pat = cases[i].pattern;
        bool have = qplan_pair(pat, strlen(pat), false, cases[i].flags & F_CI, &p);
        bool ok = cases[i].first ? have && p.nfirst == strlen(cases[i].first) &&
                                       p.nsecond == strlen(cases[i].second) &&
                                       !memcmp(p.first, cases[i].first, p.nfirst) &&
                                       !memcmp(p.second, cases[i].second, p.nsecond)
                                 : !have;
        if (!ok)
            report_add(&r, "\"%s\": %s [%.*s] [%.*s], want [%s] [%s]", pat,
                       have ? "pair" : "no pair", have ? (int)p.nfirst : 0, (char *)p.first,
                       have ? (int)p.nsecond : 0, (char *)p.second,
                       cases[i].first ? cases[i].first : "-",
                       cases[i].second ? cases[i].second : "-");
    }
    ck_assert_msg(r.n == 0, "%u of %zu pairs wrong:%s", r.n, NCASES(cases), r.text);
}
END_TEST

START_TEST(test_oracle_detects)
{
    /* The oracle itself must be able to fail: a plan stricter than its
     * pattern is caught.  /ab+c/ matches "abbc"; a plan that asks for
     * "abc" is wrong there. */
    struct oracle o;
    ck_assert_msg(oracle_open(&o, "ab+c", 4, 0), "ab+c does not compile");
    qplan_free(o.plan);
    o.plan = qplan_build("abc", 3, true, false);
    enum verdict v1 = oracle_line(&o, "abbc", 4);
    enum verdict v2 = oracle_line(&o, "xabcx", 5);
    enum verdict v3 = oracle_line(&o, "xyz", 3);
    oracle_close(&o);
    ck_assert_msg(v1 == V_VIOLATION, "a too strict plan on \"abbc\": verdict %d, want %d", v1,
                  V_VIOLATION);
    ck_assert_msg(v2 == V_SOUND, "\"xabcx\": verdict %d, want %d", v2, V_SOUND);
    ck_assert_msg(v3 == V_NOMATCH, "\"xyz\": verdict %d, want %d", v3, V_NOMATCH);
    /* the line's trigrams are folded; none crosses a newline */
    struct qnode *q = qplan_build("abc", 3, false, false);
    bool h1 = oracle_plan_holds(q, "xABCx", 5), h2 = oracle_plan_holds(q, "ab\nc", 4);
    qplan_free(q);
    ck_assert_msg(h1 && !h2,
                  "oracle_plan_holds(abc): \"xABCx\" %d (want 1), \"ab\\nc\" %d (want 0)", h1, h2);
}
END_TEST

/* ------------------------------------------------------------------ */
/* qplan_build: soundness against PCRE2, random patterns               */
/* ------------------------------------------------------------------ */

#define GEN_CAP 200

/* A bounded string builder; on overflow the result is marked unusable. */
struct sb {
    char b[GEN_CAP + 1];
    size_t n;
    bool full;
};

static void sb_put(struct sb *s, const char *t, size_t n)
{
    if (!s)
        return;
    if (s->n + n > GEN_CAP) {
        s->full = true;
        return;
    }
    memcpy(s->b + s->n, t, n);
    s->n += n;
    s->b[s->n] = '\0';
}

static void sb_puts(struct sb *s, const char *t)
{
    sb_put(s, t, strlen(t));
}

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545F4914F6CDD1DULL) >> 33) % n;
}

#define PICK(a) ((a)[rnd((uint32_t)NCASES(a))])

/* Subject characters: the pattern alphabet, with Unicode fold partners. */
static const char *const subject_chars[] = {
    "a", "b", "k", "K", "s",     "S",        "_",    "(",    ".",
    ")", "|", "]", ":", E_ACUTE, E_ACUTE_UP, KELVIN, LONG_S,
};

struct piece {
    const char *pat, *sample;
};

/* Atoms other than plain letters: escapes, classes, anchors, settings. */
static const struct piece atoms[] = {
    {"\\(", "("},        {"\\.", "."},
    {"\\)", ")"},        {"\\|", "|"},
    {"\\\\", "\\"},      {".", "_"},
    {"{", "{"},          {"}", "}"},
    {"{,2}", "{,2}"},    {"\\d", "1"},
    {"\\w", "a"},        {"\\s", " "},
    {"\\W", "("},        {"\\b", ""},
    {"\\B", ""},         {"\\x41", "A"},
    {"\\x{6b}", "k"},    {"\\x{212a}", KELVIN},
    {"\\pL", "s"},       {"\\p{Lu}", "K"},
    {"\\K", ""},         {"\\E", ""},
    {"\\Q\\E", ""},      {"\\101", "A"},
    {"\\N{U+61}", "a"},  {"\\" E_ACUTE, E_ACUTE},
    {"\\1", ""},         {"\\g{-1}", ""},
    {"\\g-1", ""},       {"\\k'n'", ""},
    {"\\k<n>", ""},      {"^", ""},
    {"$", ""},           {"(?i)", ""},
    {"(?-i)", ""},       {"[ab]", "a"},
    {"[^a]", "b"},       {"[(.]", "("},
    {"[k-s]", "k"},      {"[]a]", "]"},
    {"[^]a]", "b"},      {"[[:alpha:]]", "s"},
    {"[[:a]", ":"},      {"[[:a]", "a"},
    {"[\\Q]a\\E]", "]"}, {"[\\Q]a\\E]", "a"},
    {"[\\]]", "]"},      {"[|)]", ")"},
    {E_ACUTE, E_ACUTE},  {E_ACUTE_UP, E_ACUTE_UP},
    {KELVIN, KELVIN},    {LONG_S, LONG_S},
};

/* Group openings; kind 0 consumes its contents, 1 and 2 are look-around
 * (no sample), 3 a comment. */
static const struct {
    const char *open;
    int kind;
} groups[] = {
    {"(", 0},    {"(", 0},    {"(?:", 0},  {"(?<n>", 0}, {"(?'n'", 0}, {"(?P<n>", 0},
    {"(?>", 0},  {"(?|", 0},  {"(?i:", 0}, {"(?-i:", 0}, {"(?=", 1},   {"(?!", 2},
    {"(?<=", 2}, {"(?<!", 2}, {"(?<*", 2}, {"(?#", 3},   {"(?#", 3},
};

static const struct {
    const char *q;
    unsigned min, max;
} quants[] = {
    {"?", 0, 1},   {"*", 0, 2},  {"+", 1, 2},  {"{2}", 2, 2}, {"{0,2}", 0, 2}, {"{1,}", 1, 2},
    {"{0}", 0, 0}, {"??", 0, 1}, {"*+", 0, 2}, {"++", 1, 2},  {"{2,}?", 2, 3}, {"{1,2}+", 1, 2},
};

static void gen_alt(unsigned depth, struct sb *pat, struct sb *sample);

static void gen_atom(unsigned depth, struct sb *pat, struct sb *sample)
{
    static const char letters[] = "abkKsS_abks";
    static const char quoted[] = "ab(k|.)*sK";
    static const char comment[] = "ab(|[\\Q";
    unsigned kind = rnd(100);
    if (kind < 50 || (kind >= 85 && depth >= 3)) {
        char c[2] = {letters[rnd(sizeof letters - 1)], '\0'};
        sb_puts(pat, c);
        sb_puts(sample, c);
    } else if (kind < 75) {
        struct piece a = PICK(atoms);
        sb_puts(pat, a.pat);
        sb_puts(sample, a.sample);
    } else if (kind < 85) {
        sb_puts(pat, "\\Q");
        for (unsigned i = 0, n = 1 + rnd(3); i < n; i++) {
            char c[2] = {quoted[rnd(sizeof quoted - 1)], '\0'};
            sb_puts(pat, c);
            sb_puts(sample, c);
        }
        if (rnd(10) != 0)
            sb_puts(pat, "\\E");
    } else {
        unsigned g = rnd((uint32_t)NCASES(groups));
        sb_puts(pat, groups[g].open);
        if (groups[g].kind == 3) {
            for (unsigned i = 0, n = rnd(4); i < n; i++) {
                char c[2] = {comment[rnd(sizeof comment - 1)], '\0'};
                sb_puts(pat, c);
            }
        } else {
            gen_alt(depth + 1, pat, groups[g].kind == 0 ? sample : NULL);
        }
        sb_puts(pat, ")");
    }
}

static void gen_piece(unsigned depth, struct sb *pat, struct sb *sample)
{
    struct sb ap = {0}, as = {0};
    gen_atom(depth, &ap, &as);
    pat->full |= ap.full;
    sb_put(pat, ap.b, ap.n);
    unsigned reps = 1;
    if (rnd(10) < 4) {
        unsigned q = rnd((uint32_t)NCASES(quants));
        sb_puts(pat, quants[q].q);
        reps = quants[q].min + rnd(quants[q].max - quants[q].min + 1);
    }
    for (unsigned i = 0; i < reps; i++)
        sb_put(sample, as.b, as.n);
}

static void gen_concat(unsigned depth, struct sb *pat, struct sb *sample)
{
    for (unsigned i = 0, n = rnd(6); i < n; i++)
        gen_piece(depth, pat, sample);
}

static void gen_alt(unsigned depth, struct sb *pat, struct sb *sample)
{
    unsigned nb = rnd(5) == 0 ? 2 + rnd(2) : 1;
    unsigned pick = rnd(nb);
    for (unsigned b = 0; b < nb; b++) {
        if (b)
            sb_puts(pat, "|");
        gen_concat(depth, pat, b == pick ? sample : NULL);
    }
}

/* A variant of a valid UTF-8 subject, edited character by character:
 * 0 surround, 1 flip the case of letters, 2 swap characters for their
 * Unicode fold partners, 3 insert a character, 4 delete one. */
static void mutate(const struct sb *in, struct sb *out, unsigned how)
{
    out->n = 0;
    out->full = false;
    out->b[0] = '\0';
    if (how == 0) { /* surrounded */
        sb_puts(out, PICK(subject_chars));
        sb_put(out, in->b, in->n);
        sb_puts(out, PICK(subject_chars));
        return;
    }
    size_t nchars = 0;
    for (size_t i = 0; i < in->n; i += lead_len((unsigned char)in->b[i]))
        nchars++;
    size_t at = rnd((uint32_t)nchars + 1), k = 0;
    for (size_t i = 0; i <= in->n; k++) {
        if (how == 3 && k == at)
            sb_puts(out, PICK(subject_chars)); /* insert */
        if (i == in->n)
            break;
        size_t w = lead_len((unsigned char)in->b[i]);
        unsigned char c = (unsigned char)in->b[i];
        if (how == 1 && (c | 32) >= 'a' && (c | 32) <= 'z' && rnd(2)) {
            char f = (char)(c ^ 32); /* flip the case */
            sb_put(out, &f, 1);
        } else if (how == 2 && (c == 'k' || c == 'K') && rnd(2)) {
            sb_puts(out, KELVIN);
        } else if (how == 2 && (c == 's' || c == 'S') && rnd(2)) {
            sb_puts(out, LONG_S);
        } else if (how == 2 && w == 2 && !memcmp(in->b + i, E_ACUTE, 2)) {
            sb_puts(out, E_ACUTE_UP);
        } else if (how == 2 && w == 2 && !memcmp(in->b + i, E_ACUTE_UP, 2)) {
            sb_puts(out, E_ACUTE);
        } else if (!(how == 4 && k == at)) { /* 4: delete */
            sb_put(out, in->b + i, w);
        }
        i += w;
    }
}

#define RANDOM_PATTERNS 20000
#define MAX_REPORTED    10

struct found {
    char key[GEN_CAP + 1];
    size_t keylen;
    unsigned flags;
};

/* Shrunk patterns that differ only in letters and digits ("\\é{0}",
 * "\\é{2}") count as one report. */
static size_t report_key(const char *p, size_t n, char *key)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        bool alnum = (c | 32) >= 'a' && (c | 32) <= 'z' ? true : c >= '0' && c <= '9';
        if (!alnum)
            key[k++] = (char)c;
        else if (k == 0 || key[k - 1] != '#')
            key[k++] = '#';
    }
    return k;
}

#define MAX_SHRINKS 60

/* Shrink a violation and add it to the report unless one like it is
 * there. */
static void report_violation(struct report *r, struct found *seen, unsigned *nseen,
                             unsigned *nshrinks, const struct sb *pat, unsigned flags,
                             const struct sb *line)
{
    if (*nseen >= MAX_REPORTED || *nshrinks >= MAX_SHRINKS)
        return;
    ++*nshrinks;
    char p[GEN_CAP + 1], l[LINE_CAP];
    size_t pn = pat->n, ln = line->n;
    memcpy(p, pat->b, pn);
    memcpy(l, line->b, ln);
    shrink(p, &pn, flags, l, &ln);
    struct found f = {.flags = flags};
    f.keylen = report_key(p, pn, f.key);
    for (unsigned i = 0; i < *nseen; i++)
        if (seen[i].keylen == f.keylen && seen[i].flags == flags &&
            !memcmp(seen[i].key, f.key, f.keylen))
            return;
    seen[(*nseen)++] = f;
    char *d = plan_text(p, pn, flags);
    report_add(r,
               "\"%s\"%s matches \"%s\" but the plan \"%s\" rejects it (found as \"%s\" on "
               "\"%s\")",
               show(p, pn), flag_str(flags), show(l, ln), shows(d), show(pat->b, pat->n),
               show(line->b, line->n));
    free(d);
}

START_TEST(test_build_sound_random)
{
    static struct found seen[MAX_REPORTED];
    unsigned nseen = 0, nshrinks = 0;
    struct report r = {0};
    unsigned compiled = 0, matched = 0, matched_strict = 0, violations = 0;
    rng = 0x5eed2024c0ffee01ULL;
    for (unsigned it = 0; it < RANDOM_PATTERNS; it++) {
        struct sb pat = {0}, sample = {0};
        gen_alt(0, &pat, &sample);
        unsigned flags = (rnd(4) == 0 ? F_CI : 0) | (rnd(8) == 0 ? F_LIT : 0);
        if (flags & F_LIT) {
            sample = pat;
        }
        if (pat.full || sample.full || !utf8_valid(pat.b, pat.n, NULL))
            continue;
        struct oracle o;
        if (!oracle_open(&o, pat.b, pat.n, flags))
            continue;
        compiled++;
        bool strict = o.plan->kind != QN_ALL;
        /* the sample, its case and fold variants, edits, random strings */
        struct sb subjects[9];
        subjects[0] = sample;
        mutate(&subjects[0], &subjects[1], 1);
        mutate(&subjects[0], &subjects[2], 2);
        mutate(&subjects[1], &subjects[3], 2);
        mutate(&subjects[0], &subjects[4], 0);
        mutate(&subjects[0], &subjects[5], 3);
        mutate(&subjects[0], &subjects[6], 4);
        for (unsigned k = 7; k < 9; k++) {
            subjects[k].n = 0;
            subjects[k].full = false;
            subjects[k].b[0] = '\0';
            for (unsigned i = 0, n = rnd(7); i < n; i++)
                sb_puts(&subjects[k], PICK(subject_chars));
        }
        for (unsigned k = 0; k < 9; k++) {
            if (subjects[k].full || !utf8_valid(subjects[k].b, subjects[k].n, NULL))
                continue;
            enum verdict v = oracle_line(&o, subjects[k].b, subjects[k].n);
            if (v == V_SOUND || v == V_VIOLATION) {
                matched++;
                matched_strict += strict;
            }
            if (v == V_VIOLATION) {
                violations++;
                report_violation(&r, seen, &nseen, &nshrinks, &pat, flags, &subjects[k]);
            }
        }
        oracle_close(&o);
    }
    /* The oracle must have had something to judge. */
    ck_assert_msg(compiled > RANDOM_PATTERNS / 4 && matched_strict > 5000,
                  "random patterns: %u of %u compiled, %u matching pairs, only %u with a plan "
                  "other than \"all\"",
                  compiled, RANDOM_PATTERNS, matched, matched_strict);
    ck_assert_msg(violations == 0,
                  "%u of %u matching pattern/line pairs (%u patterns compiled, %u pairs with a "
                  "plan other than \"all\") break the plan; shrunk:%s",
                  violations, matched, compiled, matched_strict, r.text);
}
END_TEST

Suite *suite_qplan(void)
{
    Suite *s = suite_create("qplan");
    TCase *tc;

    tc = tcase_create("qplan_fold");
    tcase_add_test(tc, test_fold_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("qplan_describe");
    tcase_add_test(tc, test_describe_trees);
    tcase_add_test(tc, test_describe_built);
    suite_add_tcase(s, tc);

    tc = tcase_create("qplan_free");
    tcase_add_test(tc, test_free);
    suite_add_tcase(s, tc);

    tc = tcase_create("qplan_build");
    tcase_set_timeout(tc, 300); /* the random soundness test; no timing is asserted */
    tcase_add_test(tc, test_build_literals);
    tcase_add_test(tc, test_build_classes);
    tcase_add_test(tc, test_build_shapes);
    tcase_add_test(tc, test_shape_classes);
    tcase_add_test(tc, test_build_escapes);
    tcase_add_test(tc, test_build_quantifiers);
    tcase_add_test(tc, test_build_groups);
    tcase_add_test(tc, test_build_alternation);
    tcase_add_test(tc, test_build_lookaround);
    tcase_add_test(tc, test_build_comments);
    tcase_add_test(tc, test_build_quoting);
    tcase_add_test(tc, test_build_settings);
    tcase_add_test(tc, test_build_bailouts);
    tcase_add_test(tc, test_build_caseless);
    tcase_add_test(tc, test_build_literal_mode);
    tcase_add_test(tc, test_build_utf8);
    tcase_add_test(tc, test_build_reader);
    tcase_add_test(tc, test_build_depth);
    tcase_add_test(tc, test_build_never_null);
    tcase_add_test(tc, test_anchor_groups);
    tcase_add_test(tc, test_pairs);
    tcase_add_test(tc, test_oracle_detects);
    tcase_add_test(tc, test_build_sound_cases);
    tcase_add_test(tc, test_build_sound_random);
    suite_add_tcase(s, tc);

    return s;
}
