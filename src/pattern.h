/*
 * pattern.h - the one reader of PCRE2 pattern syntax.
 *
 * Three parts of shardgrep need to know what a pattern says without
 * running it: smart case (query.c: is there an upper-case letter in the
 * text to match?), the trigram plan and anchor literal (qplan.c: which
 * characters must a match hold?), and the matcher (matcher.c: does the
 * pattern look behind, ahead, or at the subject's ends?).  Each used to
 * read the syntax on its own and each misread it somewhere (\c) closed a
 * group for one of them, "(*" inside [...] looked like a verb to
 * another).  Now all three read tokens from here.
 *
 * A token is one item of the pattern as PCRE2 10.42 parses it, in order:
 * a character to match (with its code point and how it was written), a
 * class-like item (. \d \p{..} [:alpha:]), the '[' ']' and range '-' of
 * a class (members come between them as tokens of their own), an
 * assertion (^ $ \b \A ...), a back-reference, a call, a callout, a verb,
 * a start-of-pattern setting, an option setting, a group's opening (with
 * its kind) and closing, '|', and a quantifier (with its counts and
 * whether it is lazy or possessive).  Each token knows the bytes it
 * covers, how deep in groups it sits, the options in force and whether it
 * is inside a class.  What PCRE2 ignores is not a token: comments (?#..),
 * \E, an empty \Q\E, and white space and #-comments in extended mode; a
 * quantifier's '+' or '?' suffix belongs to the quantifier even with such
 * text between them.  Literal mode (PCRE2_LITERAL) gives one character
 * token per character.
 *
 * It follows: escapes (\Q..\E anywhere, \cX for any printable X, \x41,
 * \x{..}, \o{..}, octal and the back-reference-or-octal rule for \12,
 * \N{U+..}, \p / \P, \g and \k references in every form), classes (a ']'
 * first, [:posix:], \Q..\E inside, ranges), groups of every kind (named,
 * atomic, reset, look-around in symbolic and (*pla: forms, conditions
 * with every kind of condition, (*sr:), option settings (?i) (?-i) (?^)
 * (?x) (?xx) with their scope, which changes how later text reads in
 * extended mode, (*VERB)s, leading settings such as (*UTF) (*CRLF)
 * (*LIMIT_MATCH=N) (and their newline convention, which ends a #-comment),
 * and quantifiers including {n,m} and its suffixes.  The caller says
 * which options the pattern is compiled with (pattern_open()).
 *
 * What it gives up on becomes a PAT_UNKNOWN token, and every caller must
 * treat one as "anything could be here": the plan gives ALL, the matcher
 * runs line by line and re-checks lookahead, and smart case counts no
 * capital inside it (so it ignores case and returns more lines, never
 * fewer).  Two kinds: PAT_WHY_SYNTAX, for text PCRE2 10.42 rejects
 * (unterminated constructs, unknown escapes, verbs or names; the token
 * then runs to the end of the pattern, since nothing after it can be
 * trusted), and PAT_WHY_VERSION, for text whose meaning differs between
 * PCRE2 versions ("{,3}" and "{ 2 }" are literal text in 10.42 and
 * quantifiers from 10.43 on; the token covers just that text).  The
 * reader does not validate what is PCRE2's job to reject (a range out of
 * order, a reference to a missing group, a quantifier after nothing): it
 * reads such patterns some reasonable way, and the compile fails anyway.
 * fuzz/fuzz_pattern.c checks it against PCRE2's own compile.
 */
#ifndef SHARDGREP_PATTERN_H
#define SHARDGREP_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The options the reader tracks, as bits (PCRE2's letters). */
#define PAT_OPT_CASELESS  0x01u /* i */
#define PAT_OPT_MULTILINE 0x02u /* m */
#define PAT_OPT_NOCAPTURE 0x04u /* n */
#define PAT_OPT_DOTALL    0x08u /* s */
#define PAT_OPT_EXTENDED  0x10u /* x */
#define PAT_OPT_EXTMORE   0x20u /* xx (implies x) */
#define PAT_OPT_UNGREEDY  0x40u /* U */
#define PAT_OPT_DUPNAMES  0x80u /* J */

/* Deeper nesting than PCRE2's default limit (250) is PAT_UNKNOWN. */
#define PATTERN_MAX_DEPTH 250

#define PAT_UNLIMITED UINT32_MAX /* a quantifier's max for {n,} * + */

/* An invalid UTF-8 byte b reads as the "code point" PAT_RAW_BYTE(b),
 * which is none; pattern_char_bytes() gives the byte back. */
#define PAT_RAW_BYTE(b) (0x200000u | (uint32_t)(b))

enum pattern_kind {
    PAT_CHAR,        /* a character: cp, form */
    PAT_ANY,         /* one of many characters: . \d \w \s \h \v \R \X \N \C \p{..} [:alpha:] */
    PAT_CLASS_OPEN,  /* "[" or "[^" (negated) */
    PAT_CLASS_CLOSE, /* "]" */
    PAT_RANGE,       /* the '-' between the two ends of a range in a class */
    PAT_ASSERT,      /* zero-width: assert */
    PAT_BACKREF,     /* \1 \g{-1} \k<name> (?P=name) */
    PAT_CALL,        /* recursion or subroutine: (?R) (?1) (?&name) (?P>name) \g<1> */
    PAT_CALLOUT,     /* (?C1) (?C"text") */
    PAT_VERB,        /* (*ACCEPT) (*FAIL) (*MARK:name) (*SKIP) ... */
    PAT_SETTING,     /* (*UTF) (*CRLF) (*LIMIT_MATCH=N) ... at the start */
    PAT_OPTIONS,     /* (?i) (?-x): set, unset; to the end of the group */
    PAT_OPEN,        /* "(" and what follows it up to the group's body: group */
    PAT_CLOSE,       /* ")": group (what it closes) */
    PAT_ALT,         /* "|" */
    PAT_QUANT,       /* ? * + {n,m}: min, max, lazy, possessive */
    PAT_UNKNOWN,     /* not understood: why (see above) */
};

/* How a PAT_CHAR was written. */
enum pattern_form {
    PAT_PLAIN,  /* as itself: a, é, or anything in literal mode */
    PAT_QUOTED, /* as itself but quoted: \. \é, or inside \Q...\E */
    PAT_NAMED,  /* by a letter: \t \n \r \f \e \a, and \b in a class */
    PAT_CODED,  /* by number or control letter: \x41 \x{263a} \101 \0 \o{101} \N{U+41} \cA */
};

enum pattern_group {
    PG_CAPTURE,          /* ( (?<name> (?'name' (?P<name> */
    PG_NONCAPTURE,       /* (?: (?i: and ( under (?n) */
    PG_RESET,            /* (?| */
    PG_ATOMIC,           /* (?> (*atomic: */
    PG_LOOKAHEAD,        /* (?= (*pla: */
    PG_NEG_LOOKAHEAD,    /* (?! (*nla: */
    PG_NA_LOOKAHEAD,     /* (?* (*napla: */
    PG_LOOKBEHIND,       /* (?<= (*plb: */
    PG_NEG_LOOKBEHIND,   /* (?<! (*nlb: */
    PG_NA_LOOKBEHIND,    /* (?<* (*naplb: */
    PG_CONDITION,        /* (?(1) (?(<name>) (?(R) (?(DEFINE) ...; (?( then an assertion */
    PG_SCRIPT_RUN,       /* (*sr: */
    PG_ATOMIC_SCRIPT_RUN /* (*asr: */
};

enum pattern_assert {
    PA_CIRCUMFLEX, /* ^ (a line start under (?m), else the subject's) */
    PA_DOLLAR,     /* $ */
    PA_WORD,       /* \b */
    PA_NOT_WORD,   /* \B */
    PA_START,      /* \A */
    PA_END,        /* \z */
    PA_END_NL,     /* \Z */
    PA_FIRST,      /* \G */
    PA_KEEP,       /* \K (not zero-width in effect: it resets the match start) */
    PA_WORD_START, /* [[:<:]], which PCRE2 reads as \b(?=\w) */
    PA_WORD_END,   /* [[:>:]], which PCRE2 reads as \b(?<=\w) */
};

enum pattern_why { PAT_WHY_SYNTAX, PAT_WHY_VERSION };

struct pattern_token {
    enum pattern_kind kind;
    size_t start, len;        /* the pattern bytes it covers */
    unsigned depth;           /* groups around it (a group's PAT_OPEN and PAT_CLOSE: outside it) */
    unsigned opts;            /* PAT_OPT_* in force at the token */
    bool in_class;            /* a member of a class (PAT_CHAR, PAT_ANY, PAT_RANGE) */
    uint32_t cp;              /* PAT_CHAR: the code point (or PAT_RAW_BYTE) */
    enum pattern_form form;   /* PAT_CHAR */
    enum pattern_group group; /* PAT_OPEN, PAT_CLOSE */
    uint32_t number;          /* PAT_OPEN of a capture: its number */
    enum pattern_assert assert;
    uint32_t min, max;     /* PAT_QUANT */
    bool lazy, possessive; /* PAT_QUANT */
    bool negated;          /* PAT_CLASS_OPEN */
    unsigned set, unset;   /* PAT_OPTIONS, and PAT_OPEN of (?i:...): the letters */
    bool caret;            /* ... and "(?^": i m n s x xx unset before set applies */
    enum pattern_why why;  /* PAT_UNKNOWN */
};

/* The reader's state; opaque to callers, on their stack. */
struct pattern_reader {
    const unsigned char *p;
    size_t n, pos;
    bool literal, quoted, in_class, at_start, done;
    int range;          /* where a class range stands */
    int newline;        /* the newline convention, for #-comments */
    unsigned opts;      /* options in force */
    unsigned depth;     /* open groups */
    uint32_t ncaptures; /* capture groups so far, numbered as PCRE2 does */
    struct {
        unsigned opts; /* to restore at the group's end */
        enum pattern_group group;
        uint32_t reset_base, reset_max; /* (?| groups */
    } stack[PATTERN_MAX_DEPTH + 1];
};

/* Start reading pattern[0..len).  opts are the PAT_OPT_* the pattern is
 * compiled with (the matcher's: PAT_OPT_MULTILINE, and PAT_OPT_CASELESS
 * for a caseless search); literal: the whole text is characters.  The
 * newline convention is LF unless the pattern sets another. */
void pattern_open(struct pattern_reader *r, const char *pattern, size_t len, bool literal,
                  unsigned opts);

/* The next token into *t; false at the end of the pattern.  After a
 * PAT_UNKNOWN of PAT_WHY_SYNTAX there is nothing more.  A pattern that
 * ends inside a class or a group ends with a PAT_UNKNOWN (of length 0). */
bool pattern_next(struct pattern_reader *r, struct pattern_token *t);

/* A character's bytes as UTF-8 (or its raw byte) into out; returns how
 * many (1..4). */
size_t pattern_char_bytes(uint32_t cp, unsigned char out[4]);

/* What a whole pattern holds, for callers that need only a yes or no. */
#define PAT_F_LOOKAHEAD      0x0001u /* (?= (?* (*pla: (*napla: [[:<:]] */
#define PAT_F_NEG_LOOKAHEAD  0x0002u /* (?! (*nla: */
#define PAT_F_LOOKBEHIND     0x0004u /* (?<= (?<! (?<* and their (*..: forms, [[:>:]] */
#define PAT_F_ATOMIC         0x0008u /* (?> (*atomic: (*asr: */
#define PAT_F_POSSESSIVE     0x0010u /* *+ ++ ?+ {n,m}+ */
#define PAT_F_CONDITION      0x0020u /* (?(...) */
#define PAT_F_SUBJECT_ANCHOR 0x0040u /* \A \z \Z \G, or ^ $ outside multiline mode */
#define PAT_F_VERB           0x0080u /* (*ACCEPT) (*MARK:x) ... */
#define PAT_F_SETTING        0x0100u /* (*UTF) (*CR) ... */
#define PAT_F_CALL           0x0200u /* recursion, subroutine call */
#define PAT_F_CALLOUT        0x0400u
#define PAT_F_BACKREF        0x0800u
#define PAT_F_OPT_CASELESS   0x1000u /* an option setting names i (set or unset) */
#define PAT_F_OPT_EXTENDED   0x2000u /* an option setting names x (set or unset) */
#define PAT_F_UNKNOWN        0x4000u /* a PAT_UNKNOWN token */

/* The PAT_F_* flags of a pattern, read as pattern_open() would. */
unsigned pattern_features(const char *pattern, size_t len, bool literal, unsigned opts);

#endif
