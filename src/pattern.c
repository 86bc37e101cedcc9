/*
 * pattern.c - the PCRE2 pattern reader (see pattern.h).
 *
 * It follows PCRE2 10.42's own parser (parse_regex() and check_escape()
 * in pcre2_compile.c) step by step, in the same order: \Q..\E first, then
 * \E, extended-mode white space and #-comments, (?#..) comments, then the
 * item.  Where the order matters it says so.  Every error PCRE2 would
 * report ends the reading with a PAT_UNKNOWN token to the end of the
 * pattern (give_up()).
 */
#include "pattern.h"

#include <string.h>

#include "utf8.h"

enum { NL_LF, NL_CR, NL_CRLF, NL_ANY, NL_ANYCRLF, NL_NUL };
enum { RANGE_NO, RANGE_OK, RANGE_STARTED, RANGE_FIRST };

#define MAX_REPEAT 65535u
#define MAX_CP     0x10ffffu

static int byte_at(const struct pattern_reader *r, size_t i)
{
    return i < r->n ? r->p[i] : -1;
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_word(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
}

static int hex_value(int c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The character at i: its code point into *cp, its length returned. */
static size_t decode(const struct pattern_reader *r, size_t i, uint32_t *cp)
{
    size_t len = utf8_seq_len(r->p + i, r->n - i);
    if (len == 0) {
        *cp = PAT_RAW_BYTE(r->p[i]);
        return 1;
    }
    uint32_t c = r->p[i];
    if (len > 1)
        c &= 0x3fu >> (len - 1);
    for (size_t k = 1; k < len; k++)
        c = c << 6 | (r->p[i + k] & 0x3fu);
    *cp = c;
    return len;
}

size_t pattern_char_bytes(uint32_t cp, unsigned char out[4])
{
    if (cp > MAX_CP) {
        out[0] = (unsigned char)cp; /* PAT_RAW_BYTE */
        return 1;
    }
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

void pattern_open(struct pattern_reader *r, const char *pattern, size_t len, bool literal,
                  unsigned opts)
{
    memset(r, 0, sizeof *r);
    r->p = (const unsigned char *)pattern;
    r->n = len;
    r->literal = literal;
    r->at_start = !literal;
    r->newline = NL_LF;
    if (opts & PAT_OPT_EXTMORE)
        opts |= PAT_OPT_EXTENDED;
    r->opts = opts;
}

/* ------------------------------------------------------------------ */
/* Tokens                                                              */
/* ------------------------------------------------------------------ */

/* Fill in what every token has; the token ends at r->pos. */
static bool emit(struct pattern_reader *r, struct pattern_token *t, enum pattern_kind kind,
                 size_t start)
{
    t->kind = kind;
    t->start = start;
    t->len = r->pos - start;
    t->depth = r->depth;
    t->opts = r->opts;
    t->in_class = r->in_class && kind != PAT_CLASS_OPEN && kind != PAT_CLASS_CLOSE;
    return true;
}

/* Text PCRE2 rejects: nothing after it can be trusted. */
static bool give_up(struct pattern_reader *r, struct pattern_token *t, size_t start)
{
    r->pos = r->n;
    r->done = true;
    t->why = PAT_WHY_SYNTAX;
    return emit(r, t, PAT_UNKNOWN, start);
}

static bool emit_char(struct pattern_reader *r, struct pattern_token *t, size_t start, uint32_t cp,
                      enum pattern_form form)
{
    t->cp = cp;
    t->form = form;
    if (r->in_class)
        r->range = r->range == RANGE_STARTED ? RANGE_NO : RANGE_OK;
    return emit(r, t, PAT_CHAR, start);
}

static bool emit_any(struct pattern_reader *r, struct pattern_token *t, size_t start)
{
    if (r->in_class)
        r->range = RANGE_NO;
    return emit(r, t, PAT_ANY, start);
}

static bool emit_assert(struct pattern_reader *r, struct pattern_token *t, size_t start,
                        enum pattern_assert a)
{
    t->assert = a;
    return emit(r, t, PAT_ASSERT, start);
}

/* ------------------------------------------------------------------ */
/* What PCRE2 skips                                                    */
/* ------------------------------------------------------------------ */

/* Length of the extended-mode white space at i ("Pattern White Space":
 * the C locale's isspace() characters, NEL, LRM, RLM, LS and PS), or 0. */
static size_t space_len(const struct pattern_reader *r, size_t i)
{
    int c = r->p[i];
    if (c == ' ' || (c >= '\t' && c <= '\r'))
        return 1;
    if (c < 0x80)
        return 0;
    uint32_t cp;
    size_t len = decode(r, i, &cp);
    return cp == 0x85 || cp == 0x200e || cp == 0x200f || cp == 0x2028 || cp == 0x2029 ? len : 0;
}

/* Length of the newline at i under the pattern's convention, or 0. */
static size_t newline_len(const struct pattern_reader *r, size_t i)
{
    int c = r->p[i], c1 = byte_at(r, i + 1);
    switch (r->newline) {
    case NL_CR:
        return c == '\r';
    case NL_CRLF:
        return c == '\r' && c1 == '\n' ? 2 : 0;
    case NL_NUL:
        return c == 0;
    case NL_ANYCRLF:
        return c == '\r' && c1 == '\n' ? 2 : c == '\r' || c == '\n';
    case NL_ANY: {
        if (c == '\r' && c1 == '\n')
            return 2;
        if (c >= '\n' && c <= '\r')
            return 1;
        uint32_t cp;
        size_t len = c >= 0x80 ? decode(r, i, &cp) : 0;
        return len && (cp == 0x85 || cp == 0x2028 || cp == 0x2029) ? len : 0;
    }
    default:
        return c == '\n';
    }
}

/* Past an extended-mode comment; i is at its '#'. */
static size_t skip_comment(const struct pattern_reader *r, size_t i)
{
    i++;
    while (i < r->n) {
        size_t nl = newline_len(r, i);
        if (nl)
            return i + nl;
        uint32_t cp;
        i += decode(r, i, &cp);
    }
    return i;
}

/* Past a (?#...) comment at i: it ends at the first ')', whatever comes
 * before it; 0 when there is none. */
static size_t skip_paren_comment(const struct pattern_reader *r, size_t i)
{
    const unsigned char *close = memchr(r->p + i + 3, ')', r->n - i - 3);
    return close ? (size_t)(close - r->p) + 1 : 0;
}

static bool starts(const struct pattern_reader *r, size_t i, const char *s)
{
    size_t len = strlen(s);
    return i <= r->n && r->n - i >= len && !memcmp(r->p + i, s, len);
}

/* Where the text PCRE2 ignores at i ends, without entering a quote: \E,
 * an empty \Q\E, extended-mode space and comments, (?#..) (not in a
 * class).  Used to find a quantifier's suffix. */
static size_t ignorable_end(const struct pattern_reader *r, size_t i)
{
    for (;;) {
        if (i >= r->n)
            return i;
        if (starts(r, i, "\\E")) {
            i += 2;
        } else if (starts(r, i, "\\Q\\E")) {
            i += 4;
        } else if ((r->opts & PAT_OPT_EXTENDED) && space_len(r, i)) {
            i += space_len(r, i);
        } else if ((r->opts & PAT_OPT_EXTENDED) && r->p[i] == '#') {
            i = skip_comment(r, i);
        } else if (starts(r, i, "(?#") && skip_paren_comment(r, i)) {
            i = skip_paren_comment(r, i);
        } else {
            return i;
        }
    }
}

/* Skip what PCRE2 ignores before the next item, entering and leaving \Q
 * quotes on the way; false on an unterminated (?# comment. */
static bool skip_ignorable(struct pattern_reader *r)
{
    while (r->pos < r->n) {
        size_t i = r->pos;
        if (r->quoted) {
            if (!starts(r, i, "\\E"))
                return true;
            r->quoted = false;
            r->pos += 2;
        } else if (starts(r, i, "\\Q")) {
            r->quoted = true;
            r->pos += 2;
        } else if (starts(r, i, "\\E")) {
            r->pos += 2;
        } else if (r->in_class) {
            if (!((r->opts & PAT_OPT_EXTMORE) && (r->p[i] == ' ' || r->p[i] == '\t')))
                return true;
            r->pos++;
        } else if ((r->opts & PAT_OPT_EXTENDED) && space_len(r, i)) {
            r->pos += space_len(r, i);
        } else if ((r->opts & PAT_OPT_EXTENDED) && r->p[i] == '#') {
            r->pos = skip_comment(r, i);
        } else if (starts(r, i, "(?#")) {
            r->pos = skip_paren_comment(r, i);
            if (!r->pos)
                return false;
        } else {
            return true;
        }
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Numbers and names                                                   */
/* ------------------------------------------------------------------ */

/* Decimal digits at *i (an optional sign first when sign is set); true
 * with the value (at most max, else false) and *i past them. */
static bool read_number(const struct pattern_reader *r, size_t *i, bool sign, uint32_t max,
                        uint32_t *value)
{
    size_t k = *i;
    if (sign && (byte_at(r, k) == '+' || byte_at(r, k) == '-'))
        k++;
    if (!is_digit(byte_at(r, k)))
        return false;
    uint32_t v = 0;
    while (is_digit(byte_at(r, k))) {
        v = v * 10 + (uint32_t)(r->p[k++] - '0');
        if (v > max)
            return false;
    }
    *i = k;
    *value = v;
    return true;
}

/* A group name at *i followed by term: word characters (and, as UTF
 * mode allows letters and digits of any script, any non-ASCII
 * character), not starting with a digit; *i goes past term. */
static bool read_name(const struct pattern_reader *r, size_t *i, int term)
{
    size_t k = *i;
    if (is_digit(byte_at(r, k)))
        return false;
    while (k < r->n && (is_word(r->p[k]) || r->p[k] >= 0x80)) {
        uint32_t cp;
        k += decode(r, k, &cp);
    }
    if (k == *i || byte_at(r, k) != term)
        return false;
    *i = k + 1;
    return true;
}

/* A verb or alpha-assertion name (ASCII word characters) at *i. */
static size_t word_end(const struct pattern_reader *r, size_t i)
{
    while (i < r->n && is_word(r->p[i]))
        i++;
    return i;
}

/* ------------------------------------------------------------------ */
/* Quantifiers                                                         */
/* ------------------------------------------------------------------ */

/* A {n}, {n,} or {n,m} quantifier as PCRE2 10.42 reads it, i just past
 * the '{': 1 with the counts and *end past the '}', 0 when the text is
 * not a quantifier (the '{' is a literal), -1 when it is a bad one. */
static int repeat_counts(const struct pattern_reader *r, size_t i, uint32_t *min, uint32_t *max,
                         size_t *end)
{
    bool comma = false;
    size_t k = i;
    for (;; k++) {
        int c = byte_at(r, k);
        if (c == '}')
            break;
        if (c == ',' && !comma)
            comma = true;
        else if (!is_digit(c))
            return 0;
    }
    if (!is_digit(byte_at(r, i)))
        return 0;
    if (!read_number(r, &i, false, MAX_REPEAT, min))
        return -1; /* too big */
    *max = *min;
    if (r->p[i] == ',') {
        i++;
        *max = PAT_UNLIMITED;
        if (r->p[i] != '}' && (!read_number(r, &i, false, MAX_REPEAT, max) || *max < *min))
            return -1;
    }
    *end = i + 1;
    return 1;
}

/* Whether "{...}" at i (past the '{') is a quantifier to PCRE2 10.43 and
 * later, which allow spaces and tabs inside and "{,m}"; *end past it. */
static bool newer_quantifier(const struct pattern_reader *r, size_t i, size_t *end)
{
    size_t k = i;
    bool min = false, max = false, comma = false;
    while (byte_at(r, k) == ' ' || byte_at(r, k) == '\t')
        k++;
    for (; is_digit(byte_at(r, k)); k++)
        min = true;
    while (byte_at(r, k) == ' ' || byte_at(r, k) == '\t')
        k++;
    if (byte_at(r, k) == ',') {
        comma = true;
        k++;
        while (byte_at(r, k) == ' ' || byte_at(r, k) == '\t')
            k++;
        for (; is_digit(byte_at(r, k)); k++)
            max = true;
        while (byte_at(r, k) == ' ' || byte_at(r, k) == '\t')
            k++;
    }
    *end = k + 1;
    return byte_at(r, k) == '}' && (min || (comma && max));
}

/* A quantifier ends at r->pos; a '+' or '?' after it (past what PCRE2
 * ignores) makes it possessive or lazy. */
static bool emit_quant(struct pattern_reader *r, struct pattern_token *t, size_t start,
                       uint32_t min, uint32_t max)
{
    t->min = min;
    t->max = max;
    size_t k = ignorable_end(r, r->pos);
    if (byte_at(r, k) == '+' || byte_at(r, k) == '?') {
        t->possessive = r->p[k] == '+';
        t->lazy = r->p[k] == '?';
        r->pos = k + 1;
    }
    return emit(r, t, PAT_QUANT, start);
}

/* A '{' at r->pos: a quantifier, a literal, or text whose reading
 * depends on the PCRE2 version. */
static bool read_brace(struct pattern_reader *r, struct pattern_token *t)
{
    size_t start = r->pos, end;
    uint32_t min, max;
    int rc = repeat_counts(r, start + 1, &min, &max, &end);
    if (rc < 0)
        return give_up(r, t, start);
    if (rc > 0) {
        r->pos = end;
        return emit_quant(r, t, start, min, max);
    }
    if (newer_quantifier(r, start + 1, &end)) {
        r->pos = end;
        t->why = PAT_WHY_VERSION;
        return emit(r, t, PAT_UNKNOWN, start);
    }
    r->pos++;
    return emit_char(r, t, start, '{', PAT_PLAIN);
}

/* ------------------------------------------------------------------ */
/* Escapes                                                             */
/* ------------------------------------------------------------------ */

/* \x{hhh} or \o{ooo} at i (at the '{'); the code point, or -1. */
static long braced_code(const struct pattern_reader *r, size_t *i, int base)
{
    size_t k = *i + 1;
    uint32_t v = 0;
    int d;
    if (byte_at(r, k) == '}')
        return -1;
    while ((d = base == 16 ? hex_value(byte_at(r, k)) : byte_at(r, k) - '0') >= 0 && d < base) {
        v = v * (uint32_t)base + (uint32_t)d;
        if (v > MAX_CP)
            return -1;
        k++;
    }
    if (k == *i + 1 || byte_at(r, k) != '}' || (v >= 0xd800 && v <= 0xdfff))
        return -1;
    *i = k + 1;
    return (long)v;
}

/* \1..\9 and longer: a back-reference, or an octal character (PCRE2's
 * rule: outside a class \N is a reference when N < 10, starts with 8 or
 * 9, or names a group already opened; \8 and \9 in a class are the
 * digits).  r->pos is past the backslash, at the first digit. */
static bool read_digits_escape(struct pattern_reader *r, struct pattern_token *t, size_t start)
{
    size_t i = r->pos;
    int first = r->p[i];
    uint32_t s;
    if (!r->in_class && first != '0') {
        size_t k = i;
        bool fits = read_number(r, &k, false, 214748363u, &s);
        if (fits && (s < 10 || first >= '8' || s <= r->ncaptures)) {
            if (s > MAX_REPEAT)
                return give_up(r, t, start);
            r->pos = k;
            return emit(r, t, PAT_BACKREF, start);
        }
    }
    if (first >= '8') { /* the digit itself */
        r->pos = i + 1;
        return emit_char(r, t, start, (uint32_t)first, PAT_QUOTED);
    }
    uint32_t v = (uint32_t)(first - '0');
    i++;
    for (int k = 0; k < 2 && byte_at(r, i) >= '0' && byte_at(r, i) <= '7'; k++)
        v = v * 8 + (uint32_t)(r->p[i++] - '0');
    r->pos = i;
    return emit_char(r, t, start, v, PAT_CODED);
}

/* \p or \P: one ASCII letter, or a name in braces; r->pos at p/P. */
static bool read_property(struct pattern_reader *r, struct pattern_token *t, size_t start)
{
    size_t i = r->pos + 1;
    int c = byte_at(r, i);
    if (c == '{') {
        const unsigned char *close = memchr(r->p + i, '}', r->n - i);
        if (!close || memchr(r->p + i, 0, (size_t)(close - r->p) - i))
            return give_up(r, t, start);
        r->pos = (size_t)(close - r->p) + 1;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        r->pos = i + 1;
    } else {
        return give_up(r, t, start);
    }
    return emit_any(r, t, start);
}

/* \g and \k references; r->pos at g/k (outside a class). */
static bool read_reference(struct pattern_reader *r, struct pattern_token *t, size_t start)
{
    int e = r->p[r->pos];
    size_t i = r->pos + 1;
    int c = byte_at(r, i);
    uint32_t v;
    if (c == '<' || c == '\'' || c == '{') {
        int term = c == '<' ? '>' : c == '\'' ? '\'' : '}';
        /* \g<..> and \g'..' are calls; \g{..} and \k are back-references */
        enum pattern_kind kind = e == 'g' && term != '}' ? PAT_CALL : PAT_BACKREF;
        size_t k = i + 1;
        if (e == 'g' && read_number(r, &k, true, MAX_REPEAT, &v)) {
            if (byte_at(r, k) != term)
                return give_up(r, t, start);
            r->pos = k + 1;
            return emit(r, t, kind, start);
        }
        if (!read_name(r, &k, term))
            return give_up(r, t, start);
        r->pos = k;
        return emit(r, t, kind, start);
    }
    if (e == 'g' && read_number(r, &i, true, MAX_REPEAT, &v)) {
        r->pos = i;
        return emit(r, t, PAT_BACKREF, start);
    }
    return give_up(r, t, start);
}

/* \N: a code point \N{U+hh}, or "not a newline" (which a {n,m} after it
 * quantifies); r->pos at the N. */
static bool read_backslash_n(struct pattern_reader *r, struct pattern_token *t, size_t start)
{
    size_t i = r->pos + 1;
    uint32_t min, max;
    size_t end;
    if (starts(r, i, "{U+")) {
        size_t k = i + 2; /* braced_code() starts at the '+' as at a '{' */
        long cp = braced_code(r, &k, 16);
        if (cp < 0)
            return give_up(r, t, start);
        r->pos = k;
        return emit_char(r, t, start, (uint32_t)cp, PAT_CODED);
    }
    if (r->in_class || (byte_at(r, i) == '{' && repeat_counts(r, i + 1, &min, &max, &end) <= 0))
        return give_up(r, t, start);
    r->pos = i;
    return emit_any(r, t, start);
}

/* The letters after '\' that name a character, and the character. */
static int named_char(int c)
{
    static const char letters[] = "aefnrt";
    static const unsigned char chars[] = {7, 0x1b, '\f', '\n', '\r', '\t'};
    const char *l = c > 0 ? strchr(letters, c) : NULL;
    return l ? chars[l - letters] : -1;
}

/* Escapes that are characters: \x \o \c and octal digits. */
static bool read_coded(struct pattern_reader *r, struct pattern_token *t, size_t start, int e)
{
    size_t i = r->pos + 1;
    uint32_t v = 0;
    if (e == 'x' && byte_at(r, i) == '{') {
        long cp = braced_code(r, &i, 16);
        if (cp < 0)
            return give_up(r, t, start);
        v = (uint32_t)cp;
    } else if (e == 'x') {
        for (int k = 0; k < 2 && hex_value(byte_at(r, i)) >= 0; k++)
            v = v * 16 + (uint32_t)hex_value(r->p[i++]);
    } else if (e == 'o') {
        long cp = byte_at(r, i) == '{' ? braced_code(r, &i, 8) : -1;
        if (cp < 0)
            return give_up(r, t, start);
        v = (uint32_t)cp;
    } else { /* c: any printable ASCII character, letters upper-cased */
        int x = byte_at(r, i);
        if (x >= 'a' && x <= 'z')
            x -= 32;
        if (x < 32 || x > 126)
            return give_up(r, t, start);
        v = (uint32_t)x ^ 0x40;
        i++;
    }
    r->pos = i;
    return emit_char(r, t, start, v, PAT_CODED);
}

/* Letter escapes that are zero-width assertions (none in a class). */
static int assert_of(int c)
{
    static const char letters[] = "bBAzZGK";
    static const enum pattern_assert asserts[] = {PA_WORD,   PA_NOT_WORD, PA_START, PA_END,
                                                  PA_END_NL, PA_FIRST,    PA_KEEP};
    const char *l = c > 0 ? strchr(letters, c) : NULL;
    return l ? (int)asserts[l - letters] : -1;
}

/* An escape at r->pos (the backslash); \Q and \E never get here. */
static bool read_escape(struct pattern_reader *r, struct pattern_token *t)
{
    size_t start = r->pos;
    r->pos++;
    if (r->pos >= r->n)
        return give_up(r, t, start);
    int c = r->p[r->pos];
    if (c >= 0x80 || !is_word(c) || c == '_') { /* \. \( \é: the character */
        uint32_t cp;
        r->pos += decode(r, r->pos, &cp);
        return emit_char(r, t, start, cp, PAT_QUOTED);
    }
    if (is_digit(c))
        return read_digits_escape(r, t, start);
    if (named_char(c) >= 0 || (c == 'b' && r->in_class)) {
        r->pos++;
        return emit_char(r, t, start, c == 'b' ? 8u : (uint32_t)named_char(c), PAT_NAMED);
    }
    if (c == 'x' || c == 'o' || c == 'c')
        return read_coded(r, t, start, c);
    if (c == 'g' && r->in_class) { /* a plain g */
        r->pos++;
        return emit_char(r, t, start, 'g', PAT_QUOTED);
    }
    if (r->in_class ? strchr("dDsSwWhHvVpPN", c) == NULL
                    : strchr("dDsSwWhHvVRXCpPNgk", c) == NULL) {
        if (r->in_class || assert_of(c) < 0)
            return give_up(r, t, start); /* \y \L \u ... or \A in a class */
        r->pos++;
        return emit_assert(r, t, start, (enum pattern_assert)assert_of(c));
    }
    if (c == 'p' || c == 'P')
        return read_property(r, t, start);
    if (c == 'N')
        return read_backslash_n(r, t, start);
    if (c == 'g' || c == 'k')
        return read_reference(r, t, start);
    r->pos++;
    return emit_any(r, t, start); /* \d \w \s \h \v \R \X \C */
}

/* ------------------------------------------------------------------ */
/* Classes                                                             */
/* ------------------------------------------------------------------ */

/* PCRE2's check_posix_syntax(): does "[:" (or "[." "[=") at i start a
 * POSIX item?  i is at the ':'; *end at the closing ':'. */
static bool posix_syntax(const struct pattern_reader *r, size_t i, size_t *end)
{
    int term = r->p[i];
    for (size_t k = i + 1; r->n - k >= 2 && k < r->n; k++) {
        if (r->p[k] == '\\' && (r->p[k + 1] == ']' || r->p[k + 1] == '\\'))
            k++;
        else if ((r->p[k] == '[' && r->p[k + 1] == term) || r->p[k] == ']')
            return false;
        else if (r->p[k] == term && r->p[k + 1] == ']') {
            *end = k;
            return true;
        }
    }
    return false;
}

static bool posix_name(const unsigned char *s, size_t len)
{
    static const char *const names[] = {"alpha", "lower", "upper", "alnum", "ascii",
                                        "blank", "cntrl", "digit", "graph", "print",
                                        "punct", "space", "word",  "xdigit"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == len && !memcmp(s, names[i], len))
            return true;
    return false;
}

/* "[" at r->pos. */
static bool read_class_open(struct pattern_reader *r, struct pattern_token *t)
{
    size_t start = r->pos, i = r->pos + 1, end;
    if (starts(r, i, "[:<:]]") || starts(r, i, "[:>:]]")) {
        r->pos = i + 6;
        return emit_assert(r, t, start, r->p[i + 2] == '<' ? PA_WORD_START : PA_WORD_END);
    }
    int c = byte_at(r, i);
    if ((c == ':' || c == '.' || c == '=') && posix_syntax(r, i, &end))
        return give_up(r, t, start); /* [:alpha:] outside a class */
    /* \E, \Q\E, blanks under (?xx) and one '^' may come before the first
     * member, which may then be a ']'. */
    for (;;) {
        if (starts(r, i, "\\E"))
            i += 2;
        else if (starts(r, i, "\\Q\\E"))
            i += 4;
        else if ((r->opts & PAT_OPT_EXTMORE) && (byte_at(r, i) == ' ' || byte_at(r, i) == '\t'))
            i++;
        else if (!t->negated && byte_at(r, i) == '^')
            t->negated = true, i++;
        else
            break;
    }
    r->pos = i;
    emit(r, t, PAT_CLASS_OPEN, start);
    r->in_class = true;
    r->range = RANGE_FIRST;
    return true;
}

/* A '-' at r->pos in a class: a range when a character stands before it
 * and something other than the class's end follows. */
static bool read_hyphen(struct pattern_reader *r, struct pattern_token *t)
{
    size_t start = r->pos++;
    if (r->range == RANGE_OK) {
        size_t k = r->pos;
        for (;;) {
            if (starts(r, k, "\\E"))
                k += 2;
            else if (starts(r, k, "\\Q\\E"))
                k += 4;
            else if ((r->opts & PAT_OPT_EXTMORE) && (byte_at(r, k) == ' ' || byte_at(r, k) == '\t'))
                k++;
            else
                break;
        }
        if (byte_at(r, k) != ']') {
            r->range = RANGE_STARTED;
            return emit(r, t, PAT_RANGE, start);
        }
    }
    return emit_char(r, t, start, '-', PAT_PLAIN);
}

/* The next item of a class, at r->pos (not in a quote). */
static bool read_class_item(struct pattern_reader *r, struct pattern_token *t)
{
    size_t start = r->pos, end;
    int c = r->p[start];
    bool first = r->range == RANGE_FIRST;
    if (first)
        r->range = RANGE_NO;
    if (c == ']' && !first) {
        r->pos++;
        r->in_class = false;
        return emit(r, t, PAT_CLASS_CLOSE, start);
    }
    if (c == '[' && r->n - start >= 4 && r->p[start + 1] && strchr(":.=", r->p[start + 1]) &&
        posix_syntax(r, start + 1, &end)) {
        size_t name = start + 2 + (r->p[start + 2] == '^');
        if (r->p[start + 1] != ':' || r->range == RANGE_STARTED ||
            !posix_name(r->p + name, end - name))
            return give_up(r, t, start);
        r->pos = end + 2;
        return emit_any(r, t, start);
    }
    if (c == '-')
        return read_hyphen(r, t);
    if (c == '\\')
        return read_escape(r, t);
    uint32_t cp;
    r->pos += decode(r, start, &cp);
    return emit_char(r, t, start, cp, PAT_PLAIN);
}

/* ------------------------------------------------------------------ */
/* Groups                                                              */
/* ------------------------------------------------------------------ */

/* A group opens: its token spans start..r->pos; inner are the options
 * inside it. */
static bool open_group(struct pattern_reader *r, struct pattern_token *t, size_t start,
                       enum pattern_group g, unsigned inner)
{
    if (r->depth >= PATTERN_MAX_DEPTH)
        return give_up(r, t, start);
    t->group = g;
    if (g == PG_CAPTURE)
        t->number = ++r->ncaptures;
    r->stack[r->depth].opts = r->opts;
    r->stack[r->depth].group = g;
    r->stack[r->depth].reset_base = r->stack[r->depth].reset_max = r->ncaptures;
    r->opts = inner;
    emit(r, t, PAT_OPEN, start);
    r->depth++;
    return true;
}

static bool read_close(struct pattern_reader *r, struct pattern_token *t)
{
    size_t start = r->pos;
    if (r->depth == 0)
        return give_up(r, t, start); /* unmatched ')' */
    r->pos++;
    r->depth--;
    r->opts = r->stack[r->depth].opts;
    t->group = r->stack[r->depth].group;
    if (t->group == PG_RESET && r->stack[r->depth].reset_max > r->ncaptures)
        r->ncaptures = r->stack[r->depth].reset_max;
    return emit(r, t, PAT_CLOSE, start);
}

/* '|': in a (?| group each branch numbers its captures afresh. */
static bool read_alt(struct pattern_reader *r, struct pattern_token *t)
{
    size_t start = r->pos++;
    if (r->depth > 0 && r->stack[r->depth - 1].group == PG_RESET) {
        if (r->ncaptures > r->stack[r->depth - 1].reset_max)
            r->stack[r->depth - 1].reset_max = r->ncaptures;
        r->ncaptures = r->stack[r->depth - 1].reset_base;
    }
    return emit(r, t, PAT_ALT, start);
}

/* Option letters at *i after "(?": up to ')' (a setting) or ':' (a
 * group); returns ')' or ':', or 0 on bad syntax.  A leading '^' sets
 * *caret (and then no '-' may follow). */
static int read_option_letters(const struct pattern_reader *r, size_t *i, unsigned *set,
                               unsigned *unset, bool *caret)
{
    unsigned *to = set;
    size_t k = *i;
    *caret = byte_at(r, k) == '^';
    bool hyphen_ok = !*caret;
    k += *caret;
    for (; k < r->n && r->p[k] != ')' && r->p[k] != ':'; k++) {
        static const char letters[] = "imnsUJ";
        static const unsigned bits[] = {PAT_OPT_CASELESS, PAT_OPT_MULTILINE, PAT_OPT_NOCAPTURE,
                                        PAT_OPT_DOTALL,   PAT_OPT_UNGREEDY,  PAT_OPT_DUPNAMES};
        const char *l = strchr(letters, r->p[k]);
        if (r->p[k] == '-' && hyphen_ok) {
            to = unset;
            hyphen_ok = false;
        } else if (r->p[k] == 'x') {
            *to |= PAT_OPT_EXTENDED;
            if (byte_at(r, k + 1) == 'x')
                *to |= PAT_OPT_EXTMORE, k++;
        } else if (l && r->p[k]) {
            *to |= bits[l - letters];
        } else {
            return 0;
        }
    }
    if (k >= r->n)
        return 0;
    /* x without xx, or no x, ends xx */
    if ((*set & (PAT_OPT_EXTENDED | PAT_OPT_EXTMORE)) == PAT_OPT_EXTENDED ||
        (*unset & PAT_OPT_EXTENDED))
        *unset |= PAT_OPT_EXTMORE;
    *i = k + 1;
    return r->p[k];
}

/* (?i) (?-x) (?^) or (?i:..); r->pos at the '('. */
static bool read_options(struct pattern_reader *r, struct pattern_token *t)
{
    size_t start = r->pos, i = r->pos + 2;
    int end = read_option_letters(r, &i, &t->set, &t->unset, &t->caret);
    if (!end)
        return give_up(r, t, start);
    unsigned inner = r->opts;
    if (t->caret)
        inner &= ~(PAT_OPT_CASELESS | PAT_OPT_MULTILINE | PAT_OPT_NOCAPTURE | PAT_OPT_DOTALL |
                   PAT_OPT_EXTENDED | PAT_OPT_EXTMORE);
    inner = (inner | t->set) & ~t->unset;
    r->pos = i;
    if (end == ':')
        return open_group(r, t, start, PG_NONCAPTURE, inner);
    r->opts = inner;
    return emit(r, t, PAT_OPTIONS, start);
}

/* (?C), (?Cn) or (?C"text"), r->pos at the '('. */
static bool read_callout(struct pattern_reader *r, struct pattern_token *t)
{
    static const char open[] = "`'\"^%#${", close[] = "`'\"^%#$}";
    size_t start = r->pos, i = r->pos + 3;
    int c = byte_at(r, i);
    uint32_t v;
    if (is_digit(c)) {
        if (!read_number(r, &i, false, 255, &v))
            return give_up(r, t, start);
    } else if (c != ')') {
        const char *d = c > 0 ? strchr(open, c) : NULL;
        if (!d)
            return give_up(r, t, start);
        int delim = close[d - open];
        for (;;) { /* a doubled delimiter stands for itself */
            if (++i >= r->n)
                return give_up(r, t, start);
            if (r->p[i] == delim && (++i >= r->n || r->p[i] != delim))
                break;
        }
    }
    if (byte_at(r, i) != ')')
        return give_up(r, t, start);
    r->pos = i + 1;
    return emit(r, t, PAT_CALLOUT, start);
}

/* (?(VERSION>=10.4) and (?(VERSION=10) at i (at the V). */
static bool read_version(const struct pattern_reader *r, size_t *i)
{
    size_t k = *i + 7;
    uint32_t v;
    if (byte_at(r, k) == '>')
        k++;
    if (byte_at(r, k) != '=' || !is_digit(byte_at(r, k + 1)))
        return false;
    k++;
    if (!read_number(r, &k, false, 1000, &v))
        return false;
    if (byte_at(r, k) == '.') {
        if (!is_digit(byte_at(r, ++k)))
            return false;
        k += 1 + is_digit(byte_at(r, k + 1));
    }
    *i = k;
    return byte_at(r, k) == ')';
}

/* (?( ...: the condition, up to its ')', or an assertion that follows
 * (a group of its own).  r->pos at the first '('. */
static bool read_condition(struct pattern_reader *r, struct pattern_token *t)
{
    size_t start = r->pos, i = r->pos + 3;
    int c = byte_at(r, i);
    uint32_t v;
    if (c == '?' || c == '*') {
        r->pos = start + 2; /* the assertion is the next token */
        return open_group(r, t, start, PG_CONDITION, r->opts);
    }
    if (read_number(r, &i, true, MAX_REPEAT, &v)) {
        /* (?(1) (?(-1) (?(+1) */
    } else if (r->n - i >= 10 && starts(r, i, "VERSION") && r->p[i + 7] != ')') {
        if (!read_version(r, &i))
            return give_up(r, t, start);
    } else {
        int term = ')';
        if (starts(r, i, "R&")) {
            i += 2;
        } else if (c == '<' || c == '\'') {
            term = c == '<' ? '>' : '\'';
            i++;
        }
        if (!read_name(r, &i, term))
            return give_up(r, t, start);
        if (term == ')')
            i--; /* back to the ')' */
    }
    if (byte_at(r, i) != ')')
        return give_up(r, t, start);
    r->pos = i + 1;
    return open_group(r, t, start, PG_CONDITION, r->opts);
}

/* (?R) (?1) (?-1) (?+1) (?&name) (?P>name): r->pos at the '('; i at what
 * follows "(?" (or "(?P>"). */
static bool read_call(struct pattern_reader *r, struct pattern_token *t, size_t i, bool by_name)
{
    size_t start = r->pos;
    uint32_t v;
    if (by_name) {
        if (!read_name(r, &i, ')'))
            return give_up(r, t, start);
        r->pos = i;
        return emit(r, t, PAT_CALL, start);
    }
    if (r->p[i] == 'R')
        i++;
    else if (!read_number(r, &i, true, MAX_REPEAT, &v))
        return give_up(r, t, start);
    if (byte_at(r, i) != ')')
        return give_up(r, t, start);
    r->pos = i + 1;
    return emit(r, t, PAT_CALL, start);
}

/* A named capture: the name at i ends with term. */
static bool read_named_group(struct pattern_reader *r, struct pattern_token *t, size_t i, int term)
{
    size_t start = r->pos;
    if (!read_name(r, &i, term))
        return give_up(r, t, start);
    r->pos = i;
    return open_group(r, t, start, PG_CAPTURE, r->opts);
}

/* "(?" at r->pos. */
static bool read_query_group(struct pattern_reader *r, struct pattern_token *t)
{
    size_t start = r->pos, i = start + 2;
    int c = byte_at(r, i), c1 = byte_at(r, i + 1);
    static const char simple[] = "|>=*!";
    static const enum pattern_group simple_kind[] = {PG_RESET, PG_ATOMIC, PG_LOOKAHEAD,
                                                     PG_NA_LOOKAHEAD, PG_NEG_LOOKAHEAD};
    if (c < 0)
        return give_up(r, t, start);
    if (c && strchr(simple, c)) {
        r->pos = i + 1;
        return open_group(r, t, start, simple_kind[strchr(simple, c) - simple], r->opts);
    }
    if (c == '<' && (c1 == '=' || c1 == '!' || c1 == '*')) {
        r->pos = i + 2;
        return open_group(r, t, start,
                          c1 == '='   ? PG_LOOKBEHIND
                          : c1 == '!' ? PG_NEG_LOOKBEHIND
                                      : PG_NA_LOOKBEHIND,
                          r->opts);
    }
    if (c == '<' || c == '\'')
        return read_named_group(r, t, i + 1, c == '<' ? '>' : '\'');
    if (c == 'P' && c1 == '<')
        return read_named_group(r, t, i + 2, '>');
    if (c == 'P' && c1 == '>')
        return read_call(r, t, i + 2, true);
    if (c == 'P' && c1 == '=') {
        size_t k = i + 2;
        if (!read_name(r, &k, ')'))
            return give_up(r, t, start);
        r->pos = k;
        return emit(r, t, PAT_BACKREF, start);
    }
    if (c == 'P')
        return give_up(r, t, start);
    if (c == '&')
        return read_call(r, t, i + 1, true);
    if (c == 'R' || is_digit(c) || ((c == '+' || c == '-') && is_digit(c1)))
        return read_call(r, t, i, false);
    if (c == '+')
        return give_up(r, t, start);
    if (c == 'C')
        return read_callout(r, t);
    if (c == '(')
        return read_condition(r, t);
    return read_options(r, t);
}

/* The alpha-assertion names of (*name: groups. */
static const struct {
    const char *name;
    enum pattern_group group;
} alpha_groups[] = {
    {"pla", PG_LOOKAHEAD},
    {"plb", PG_LOOKBEHIND},
    {"napla", PG_NA_LOOKAHEAD},
    {"naplb", PG_NA_LOOKBEHIND},
    {"nla", PG_NEG_LOOKAHEAD},
    {"nlb", PG_NEG_LOOKBEHIND},
    {"positive_lookahead", PG_LOOKAHEAD},
    {"positive_lookbehind", PG_LOOKBEHIND},
    {"non_atomic_positive_lookahead", PG_NA_LOOKAHEAD},
    {"non_atomic_positive_lookbehind", PG_NA_LOOKBEHIND},
    {"negative_lookahead", PG_NEG_LOOKAHEAD},
    {"negative_lookbehind", PG_NEG_LOOKBEHIND},
    {"atomic", PG_ATOMIC},
    {"sr", PG_SCRIPT_RUN},
    {"asr", PG_ATOMIC_SCRIPT_RUN},
    {"script_run", PG_SCRIPT_RUN},
    {"atomic_script_run", PG_ATOMIC_SCRIPT_RUN},
};

/* (*VERB), (*VERB:NAME) or (*name: ...; r->pos at the '('. */
static bool read_star(struct pattern_reader *r, struct pattern_token *t)
{
    static const char *const verbs[] = {"",       "MARK",  "ACCEPT", "F",   "FAIL",
                                        "COMMIT", "PRUNE", "SKIP",   "THEN"};
    size_t start = r->pos, i = start + 2, end = word_end(r, i), len = end - i;
    int c = byte_at(r, i);
    if (c >= 'a' && c <= 'z') {
        for (size_t k = 0; k < sizeof alpha_groups / sizeof alpha_groups[0]; k++)
            if (strlen(alpha_groups[k].name) == len &&
                !memcmp(r->p + i, alpha_groups[k].name, len) && byte_at(r, end) == ':') {
                r->pos = end + 1;
                return open_group(r, t, start, alpha_groups[k].group, r->opts);
            }
        return give_up(r, t, start);
    }
    size_t v = 0;
    while (v < sizeof verbs / sizeof verbs[0] &&
           !(strlen(verbs[v]) == len && !memcmp(r->p + i, verbs[v], len)))
        v++;
    int after = byte_at(r, end);
    if (v == sizeof verbs / sizeof verbs[0] || (after != ':' && after != ')') ||
        (v < 2 && !(after == ':' && byte_at(r, end + 1) != ')')))
        return give_up(r, t, start); /* unknown, or (*MARK) without a name */
    if (after == ':') {              /* the name runs to the first ')', backslashes and all */
        const unsigned char *close = memchr(r->p + end, ')', r->n - end);
        if (!close)
            return give_up(r, t, start);
        end = (size_t)(close - r->p);
    }
    r->pos = end + 1;
    return emit(r, t, PAT_VERB, start);
}

/* "(" at r->pos. */
static bool read_paren(struct pattern_reader *r, struct pattern_token *t)
{
    size_t start = r->pos;
    int c = byte_at(r, start + 1);
    if (c < 0 || (c == '*' && (byte_at(r, start + 2) < 0 || byte_at(r, start + 2) == ')')))
        return give_up(r, t, start);
    if (c == '*')
        return read_star(r, t);
    if (c == '?')
        return read_query_group(r, t);
    r->pos++;
    return open_group(r, t, start, (r->opts & PAT_OPT_NOCAPTURE) ? PG_NONCAPTURE : PG_CAPTURE,
                      r->opts);
}

/* ------------------------------------------------------------------ */
/* Settings, items, the reader                                         */
/* ------------------------------------------------------------------ */

/* A start-of-pattern setting at r->pos: true with its token, false when
 * none is there. */
static bool read_setting(struct pattern_reader *r, struct pattern_token *t)
{
    static const struct {
        const char *name;
        int newline; /* -1: none, -2: takes a number */
    } settings[] = {
        {"UTF8)", -1},
        {"UTF)", -1},
        {"UCP)", -1},
        {"NOTEMPTY)", -1},
        {"NOTEMPTY_ATSTART)", -1},
        {"NO_AUTO_POSSESS)", -1},
        {"NO_DOTSTAR_ANCHOR)", -1},
        {"NO_JIT)", -1},
        {"NO_START_OPT)", -1},
        {"LIMIT_HEAP=", -2},
        {"LIMIT_MATCH=", -2},
        {"LIMIT_DEPTH=", -2},
        {"LIMIT_RECURSION=", -2},
        {"CR)", NL_CR},
        {"LF)", NL_LF},
        {"CRLF)", NL_CRLF},
        {"ANY)", NL_ANY},
        {"NUL)", NL_NUL},
        {"ANYCRLF)", NL_ANYCRLF},
        {"BSR_ANYCRLF)", -1},
        {"BSR_UNICODE)", -1},
    };
    size_t start = r->pos;
    if (!starts(r, start, "(*"))
        return false;
    for (size_t k = 0; k < sizeof settings / sizeof settings[0]; k++) {
        if (!starts(r, start + 2, settings[k].name))
            continue;
        r->pos = start + 2 + strlen(settings[k].name);
        if (settings[k].newline >= 0)
            r->newline = settings[k].newline;
        if (settings[k].newline == -2) { /* digits, then ')' */
            uint32_t v = 0;
            if (!is_digit(byte_at(r, r->pos)))
                return give_up(r, t, start);
            while (is_digit(byte_at(r, r->pos)) && v <= UINT32_MAX / 10 - 1)
                v = v * 10 + (uint32_t)(r->p[r->pos++] - '0');
            if (byte_at(r, r->pos) != ')')
                return give_up(r, t, start);
            r->pos++;
        }
        return emit(r, t, PAT_SETTING, start);
    }
    return false;
}

/* The next item outside a class, at r->pos (not in a quote). */
static bool read_item(struct pattern_reader *r, struct pattern_token *t)
{
    size_t start = r->pos;
    int c = r->p[start];
    uint32_t cp;
    switch (c) {
    case '\\':
        return read_escape(r, t);
    case '[':
        return read_class_open(r, t);
    case '(':
        return read_paren(r, t);
    case ')':
        return read_close(r, t);
    case '|':
        return read_alt(r, t);
    case '^':
    case '$':
        r->pos++;
        return emit_assert(r, t, start, c == '^' ? PA_CIRCUMFLEX : PA_DOLLAR);
    case '.':
        r->pos++;
        return emit_any(r, t, start);
    case '*':
    case '+':
    case '?':
        r->pos++;
        return emit_quant(r, t, start, c == '+', c == '?' ? 1 : PAT_UNLIMITED);
    case '{':
        return read_brace(r, t);
    default:
        r->pos += decode(r, start, &cp);
        return emit_char(r, t, start, cp, PAT_PLAIN);
    }
}

/* The pattern ended: inside a class or group, that is an error. */
static bool read_end(struct pattern_reader *r, struct pattern_token *t)
{
    r->done = true;
    if (!r->in_class && r->depth == 0)
        return false;
    t->why = PAT_WHY_SYNTAX;
    return emit(r, t, PAT_UNKNOWN, r->pos);
}

bool pattern_next(struct pattern_reader *r, struct pattern_token *t)
{
    memset(t, 0, sizeof *t);
    if (r->done)
        return false;
    if (r->literal) {
        if (r->pos >= r->n)
            return read_end(r, t);
        size_t start = r->pos;
        uint32_t cp;
        r->pos += decode(r, start, &cp);
        return emit_char(r, t, start, cp, PAT_PLAIN);
    }
    if (r->at_start) {
        if (read_setting(r, t))
            return true;
        r->at_start = false;
    }
    size_t start = r->pos;
    if (!skip_ignorable(r))
        return give_up(r, t, start); /* (?# without its ')' */
    if (r->pos >= r->n)
        return read_end(r, t);
    if (r->quoted) {
        uint32_t cp;
        start = r->pos;
        r->pos += decode(r, start, &cp);
        if (r->in_class && r->range == RANGE_FIRST)
            r->range = RANGE_NO;
        return emit_char(r, t, start, cp, PAT_QUOTED);
    }
    return r->in_class ? read_class_item(r, t) : read_item(r, t);
}

/* ------------------------------------------------------------------ */
/* Features                                                            */
/* ------------------------------------------------------------------ */

static unsigned group_features(enum pattern_group g)
{
    switch (g) {
    case PG_LOOKAHEAD:
    case PG_NA_LOOKAHEAD:
        return PAT_F_LOOKAHEAD;
    case PG_NEG_LOOKAHEAD:
        return PAT_F_NEG_LOOKAHEAD;
    case PG_LOOKBEHIND:
    case PG_NEG_LOOKBEHIND:
    case PG_NA_LOOKBEHIND:
        return PAT_F_LOOKBEHIND;
    case PG_ATOMIC:
    case PG_ATOMIC_SCRIPT_RUN:
        return PAT_F_ATOMIC;
    case PG_CONDITION:
        return PAT_F_CONDITION;
    default:
        return 0;
    }
}

static unsigned assert_features(const struct pattern_token *t)
{
    switch (t->assert) {
    case PA_CIRCUMFLEX:
    case PA_DOLLAR:
        return (t->opts & PAT_OPT_MULTILINE) ? 0 : PAT_F_SUBJECT_ANCHOR;
    case PA_START:
    case PA_END:
    case PA_END_NL:
    case PA_FIRST:
        return PAT_F_SUBJECT_ANCHOR;
    case PA_WORD_START:
        return PAT_F_LOOKAHEAD;
    case PA_WORD_END:
        return PAT_F_LOOKBEHIND;
    default:
        return 0;
    }
}

static unsigned token_features(const struct pattern_token *t)
{
    unsigned letters = t->set | t->unset;
    unsigned f = (letters & PAT_OPT_CASELESS ? PAT_F_OPT_CASELESS : 0) |
                 (letters & PAT_OPT_EXTENDED ? PAT_F_OPT_EXTENDED : 0);
    switch (t->kind) {
    case PAT_OPEN:
        return f | group_features(t->group);
    case PAT_OPTIONS:
        return f;
    case PAT_ASSERT:
        return assert_features(t);
    case PAT_QUANT:
        return t->possessive ? PAT_F_POSSESSIVE : 0;
    case PAT_VERB:
        return PAT_F_VERB;
    case PAT_SETTING:
        return PAT_F_SETTING;
    case PAT_CALL:
        return PAT_F_CALL;
    case PAT_CALLOUT:
        return PAT_F_CALLOUT;
    case PAT_BACKREF:
        return PAT_F_BACKREF;
    case PAT_UNKNOWN:
        return PAT_F_UNKNOWN;
    default:
        return 0;
    }
}

unsigned pattern_features(const char *pattern, size_t len, bool literal, unsigned opts)
{
    struct pattern_reader r;
    struct pattern_token t;
    unsigned f = 0;
    pattern_open(&r, pattern, len, literal, opts);
    while (pattern_next(&r, &t))
        f |= token_features(&t);
    return f;
}
