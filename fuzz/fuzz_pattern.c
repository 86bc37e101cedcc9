/*
 * fuzz_pattern.c - libFuzzer target for the pattern reader (pattern.c),
 * checked against PCRE2's own compile of the same pattern.
 *
 * Input: flags, a pattern and a text, as for fuzz_qplan (fuzz_input.h).
 * The pattern is compiled as the matcher compiles it (matcher.c: UTF,
 * multiline, no \C, LF newlines).
 *
 * Checked, with abort() on a violation:
 *   1. On any bytes: tokens come in order, inside the pattern, without
 *      overlap; each token's depth is the number of groups open; nothing
 *      follows a PAT_UNKNOWN of PAT_WHY_SYNTAX, which reaches the end.
 *   2. When PCRE2 accepts the pattern, the reader understood it: no
 *      PAT_WHY_SYNTAX token, every group closed, the highest capture
 *      number is PCRE2's capture count, and back-references are seen iff
 *      PCRE2 has one (or a condition, which PCRE2 counts as one).
 *   3. And what it read is what PCRE2 read: the pattern rewritten from the
 *      tokens alone (every character as \x{hex}, every quantifier as
 *      {min,max} plus its suffix, every look-around and atomic group in
 *      its symbolic form, every stretch of ignored text between tokens as
 *      an empty \Q\E, the rest as written) compiles to the very same
 *      code (pcre2_serialize_encode() bytes, which PCRE2 makes the same
 *      for the same pattern; callouts, which record pattern offsets, are
 *      left out of this one), and matches every line of the text, and a
 *      line made of the pattern's characters, exactly as the original
 *      does (same result, same offsets).  A character, quantifier, group
 *      kind or ignored stretch read wrongly changes the code or a match.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "pattern.h"
#include "utf8.h"

#define MAX_TEXT   4096
#define MAX_LINES  32
#define MAX_TOKENS (MAX_TEXT + 8)

static const char *rewritten; /* for the report */

static void require(bool cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_pattern: property violated: %s\n", what);
        if (rewritten)
            fprintf(stderr, "fuzz_pattern: rewritten as: %s\n", rewritten);
        abort();
    }
}

struct rewrite {
    char *buf;
    size_t len, cap;
};

static void put(struct rewrite *w, const void *s, size_t n)
{
    if (w->len + n + 1 > w->cap) {
        w->cap = (w->len + n + 1) * 2;
        w->buf = realloc(w->buf, w->cap);
        require(w->buf != NULL, "memory");
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void puts_(struct rewrite *w, const char *s)
{
    put(w, s, strlen(s));
}

static const char *symbolic_open(enum pattern_group g)
{
    switch (g) {
    case PG_ATOMIC:
        return "(?>";
    case PG_LOOKAHEAD:
        return "(?=";
    case PG_NEG_LOOKAHEAD:
        return "(?!";
    case PG_NA_LOOKAHEAD:
        return "(?*";
    case PG_LOOKBEHIND:
        return "(?<=";
    case PG_NEG_LOOKBEHIND:
        return "(?<!";
    case PG_NA_LOOKBEHIND:
        return "(?<*";
    default:
        return NULL;
    }
}

/* One token in the rewritten pattern. */
static void rewrite_token(struct rewrite *w, const char *pat, const struct pattern_token *t)
{
    char b[64];
    if (t->kind == PAT_CHAR) {
        snprintf(b, sizeof b, "\\x{%x}", t->cp);
        puts_(w, b);
    } else if (t->kind == PAT_QUANT) {
        if (t->max == PAT_UNLIMITED)
            snprintf(b, sizeof b, "{%u,}", t->min);
        else
            snprintf(b, sizeof b, "{%u,%u}", t->min, t->max);
        puts_(w, b);
        puts_(w, t->lazy ? "?" : t->possessive ? "+" : "");
    } else if (t->kind == PAT_OPEN && symbolic_open(t->group)) {
        puts_(w, symbolic_open(t->group));
    } else {
        put(w, pat + t->start, t->len);
    }
}

struct reading {
    struct pattern_token tok[MAX_TOKENS];
    size_t n;
    bool syntax_unknown, unclosed, backref, condition, callout;
    char sample[2 * MAX_TEXT]; /* the characters outside classes, as a subject */
    size_t sample_len;
    uint32_t max_capture;
};

/* Property 1, and the summary for 2 and 3. */
static void read_all(const char *pat, size_t len, bool literal, unsigned opts, struct reading *rd)
{
    struct pattern_reader r;
    struct pattern_token t;
    size_t end = 0;
    unsigned depth = 0;
    memset(rd, 0, sizeof *rd);
    pattern_open(&r, pat, len, literal, opts);
    while (pattern_next(&r, &t)) {
        require(rd->n < MAX_TOKENS, "fewer tokens than bytes");
        require(!rd->syntax_unknown, "nothing follows a syntax PAT_UNKNOWN");
        require(t.start >= end && t.start + t.len <= len, "tokens in order, inside the pattern");
        require(t.len > 0 || t.kind == PAT_UNKNOWN, "only an unknown token is empty");
        if (t.kind == PAT_CLOSE)
            require(depth-- > 0, "a ')' closes an open group");
        require(t.depth == depth, "a token's depth is the groups open");
        if (t.kind == PAT_OPEN)
            depth++;
        if (literal)
            require(t.kind == PAT_CHAR && t.form == PAT_PLAIN, "literal: plain characters");
        if (t.kind == PAT_UNKNOWN && t.why == PAT_WHY_SYNTAX) {
            rd->syntax_unknown = true;
            require(t.start + t.len == len, "a syntax PAT_UNKNOWN runs to the end");
            rd->unclosed = t.len == 0;
        }
        if (t.kind == PAT_OPEN && t.group == PG_CAPTURE && t.number > rd->max_capture)
            rd->max_capture = t.number;
        rd->backref |= t.kind == PAT_BACKREF;
        rd->condition |= t.kind == PAT_OPEN && t.group == PG_CONDITION;
        rd->callout |= t.kind == PAT_CALLOUT;
        if (t.kind == PAT_CHAR && !t.in_class && rd->sample_len + 4 <= sizeof rd->sample)
            rd->sample_len +=
                pattern_char_bytes(t.cp, (unsigned char *)rd->sample + rd->sample_len);
        end = t.start + t.len;
        rd->tok[rd->n++] = t;
    }
    (void)pattern_features(pat, len, literal, opts);
}

static pcre2_code *compile(const char *pat, size_t len, uint32_t opts)
{
    int code;
    PCRE2_SIZE off;
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, opts, &code, &off, cc);
    pcre2_compile_context_free(cc);
    return re;
}

/* Both compiled codes are the same bytes. */
static void same_code(const pcre2_code *a, const pcre2_code *b)
{
    uint8_t *sa, *sb;
    PCRE2_SIZE na, nb;
    require(pcre2_serialize_encode(&a, 1, &sa, &na, NULL) == 1 &&
                pcre2_serialize_encode(&b, 1, &sb, &nb, NULL) == 1,
            "serialize");
    require(na == nb && !memcmp(sa, sb, na), "the rewritten pattern compiles to the same code");
    pcre2_serialize_free(sa);
    pcre2_serialize_free(sb);
}

static uint32_t info(const pcre2_code *re, uint32_t what)
{
    uint32_t v = 0;
    pcre2_pattern_info(re, what, &v);
    return v;
}

/* Property 3 on each line of the (repaired) text. */
static void same_matches(pcre2_code *a, pcre2_code *b, const char *text, size_t tlen)
{
    pcre2_match_data *ma = pcre2_match_data_create_from_pattern(a, NULL);
    pcre2_match_data *mb = pcre2_match_data_create_from_pattern(b, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    pcre2_set_match_limit(mc, 20000);
    pcre2_set_depth_limit(mc, 2000);
    size_t pos = 0;
    for (int line = 0; line < MAX_LINES && pos <= tlen; line++) {
        const char *nl = memchr(text + pos, '\n', tlen - pos);
        size_t n = nl ? (size_t)(nl - text) - pos : tlen - pos;
        int ra = pcre2_match(a, (PCRE2_SPTR)text + pos, n, 0, 0, ma, mc);
        int rb = pcre2_match(b, (PCRE2_SPTR)text + pos, n, 0, 0, mb, mc);
        bool limit = (ra < 0 && ra != PCRE2_ERROR_NOMATCH) || (rb < 0 && rb != PCRE2_ERROR_NOMATCH);
        if (!limit) {
            require((ra > 0) == (rb > 0), "the rewritten pattern matches the same lines");
            if (ra > 0) {
                PCRE2_SIZE *oa = pcre2_get_ovector_pointer(ma), *ob = pcre2_get_ovector_pointer(mb);
                require(oa[0] == ob[0] && oa[1] == ob[1], "... at the same offsets");
            }
        }
        if (!nl)
            break;
        pos += n + 1;
    }
    pcre2_match_context_free(mc);
    pcre2_match_data_free(ma);
    pcre2_match_data_free(mb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct reading rd;
    if (size < 1 || size > MAX_TEXT)
        return 0;
    struct fuzz_input in;
    fuzz_input_split(data, size, &in);
    unsigned popts = PAT_OPT_MULTILINE | (in.caseless ? PAT_OPT_CASELESS : 0);
    read_all(in.pat, in.plen, in.literal, popts, &rd);

    uint32_t copts = PCRE2_UTF | (in.caseless ? PCRE2_CASELESS : 0) |
                     (in.literal ? PCRE2_LITERAL : PCRE2_MULTILINE | PCRE2_NEVER_BACKSLASH_C);
    pcre2_code *re = compile(in.pat, in.plen, copts);
    if (!re || in.literal) {
        pcre2_code_free(re);
        return 0;
    }
    /* 2 */
    require(!rd.syntax_unknown, "PCRE2 accepts it: the reader reads all of it");
    require(rd.max_capture == info(re, PCRE2_INFO_CAPTURECOUNT), "capture count as PCRE2's");
    /* PCRE2 counts a condition on a group, (?(1)..), as a reference too */
    uint32_t backrefmax = info(re, PCRE2_INFO_BACKREFMAX);
    require(!rd.backref || backrefmax > 0, "a back-reference read is one to PCRE2");
    require(rd.backref || rd.condition || backrefmax == 0, "PCRE2's back-references are read");

    /* 3 */
    struct rewrite w = {0};
    size_t end = 0;
    puts_(&w, "");
    for (size_t i = 0; i < rd.n; i++) {
        /* Ignored text stays ignorable, except right after the "(?(" of
         * a condition, where PCRE2 takes a comment before an assertion,
         * (?(?#c)(?=x)..), but no \Q\E: there it is left out. */
        bool after_condition =
            i > 0 && rd.tok[i - 1].kind == PAT_OPEN && rd.tok[i - 1].group == PG_CONDITION;
        if (rd.tok[i].start > end && !after_condition)
            puts_(&w, "\\Q\\E");
        rewrite_token(&w, in.pat, &rd.tok[i]);
        end = rd.tok[i].start + rd.tok[i].len;
    }
    if (in.plen > end)
        puts_(&w, "\\Q\\E");
    rewritten = w.buf;
    pcre2_code *re2 = compile(w.buf, w.len, copts);
    require(re2 != NULL, "the rewritten pattern compiles");
    require(info(re2, PCRE2_INFO_CAPTURECOUNT) == info(re, PCRE2_INFO_CAPTURECOUNT),
            "the rewritten pattern has as many captures");
    if (!rd.callout)
        same_code(re, re2);
    char *fixed = malloc(UTF8_REPAIR_MAX(in.tlen) + 1);
    size_t flen = utf8_repair(in.text, in.tlen, fixed);
    same_matches(re, re2, fixed, flen);
    free(fixed);
    char *own = malloc(UTF8_REPAIR_MAX(rd.sample_len) + 1);
    size_t olen = utf8_repair(rd.sample, rd.sample_len, own);
    for (size_t i = 0; i < olen; i++)
        if (own[i] == '\n')
            own[i] = ' ';
    same_matches(re, re2, own, olen);
    free(own);
    rewritten = NULL;
    free(w.buf);
    pcre2_code_free(re2);
    pcre2_code_free(re);
    return 0;
}
