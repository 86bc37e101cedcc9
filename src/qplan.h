/*
 * qplan.h - which trigrams a line must hold for a pattern to match it.
 *
 * From a PCRE2 pattern, qplan_build() derives a boolean query over
 * the index's keys (AND / OR of trigrams and shapes, below, or ALL when
 * nothing can be said),
 * in the spirit of codesearch and zoekt: a literal run that every match
 * must contain gives its trigrams, alternatives give an OR.  A worker's
 * trigram index (tindex.h) turns the query into candidate files, and only
 * those are scanned.
 *
 * The query is only a filter, so it must never be stricter than the
 * pattern: whatever the parser does not understand becomes ALL (for a
 * part of the pattern, or the whole), which costs speed, never results.
 * Trigrams are case-folded (ASCII letters lowered), as is the index, so
 * one index serves case-sensitive and caseless searches.  A caseless
 * search may match other bytes than the pattern's under Unicode folding:
 * é matches É, so in caseless parts non-ASCII characters end a literal
 * run.  The only non-ASCII characters that fold to ASCII letters are
 * U+212A KELVIN SIGN (k) and U+017F LONG S (s); rather than give up k and
 * s, the corpus flags the (rare) files that hold them and the worker
 * always scans those with the regex alone (corpus.h, wide_fold).
 */
#ifndef SHARDGREP_QPLAN_H
#define SHARDGREP_QPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strsearch.h"

enum qnode_kind { QN_ALL, QN_KEY, QN_AND, QN_OR };

/*
 * The index has two kinds of key.  A trigram: three folded bytes, the
 * first in the high byte (below QPLAN_SHAPE_BIT).  A shape: QPLAN_SHAPE_BIT
 * and the classes (qplan_shape_class) of six bytes in a row, four bits
 * each, the first in the high nibble.  Shapes are what a pattern without
 * literals still says: [0-9a-f]{4}-[0-9a-f]{4} has no trigram, but every
 * match holds the shape "-hhhh-" (h: a digit or a-f).  Only shapes whose
 * first byte is of a class above QPLAN_SHAPE_WORD (punctuation, a
 * non-ASCII byte) are indexed: shapes of letters, digits and blanks alone
 * are in nearly every block, and one key per punctuation mark keeps the
 * index small and quick to build.
 */
#define QPLAN_SHAPE_BIT (1u << 24)
#define QPLAN_SHAPE_LEN 6
enum qplan_shape {
    SH_DIGIT,  /* 0-9 */
    SH_HEX,    /* a-f A-F */
    SH_LETTER, /* g-z G-Z */
    SH_UNDER,  /* _ */
    SH_BLANK,  /* space \t \v \f \r */
    SH_DASH,   /* - */
    SH_DOT,    /* . */
    SH_COMMA,  /* , */
    SH_LPAREN, /* ( */
    SH_RPAREN, /* ) */
    SH_COLON,  /* : */
    SH_SLASH,  /* / */
    SH_STAR,   /* * */
    SH_SEMI,   /* ; */
    SH_OTHER,  /* any other byte below 0x80 */
    SH_HIGH,   /* a byte of a non-ASCII character (0x80-0xFF) */
};
/* How qplan_describe() writes each class of a shape, in enum order:
 * 9 a digit, a a-f, z g-z, # other ASCII, ~ a non-ASCII byte. */
#define QPLAN_SHAPE_LETTERS "9az_ -.,():/*;#~"
#define QPLAN_SHAPE_WORD    SH_BLANK /* classes up to it: no indexed shape starts with one */
extern const unsigned char qplan_shape_class[256];

/* The shape key of the QPLAN_SHAPE_LEN bytes at p, or 0 (never a key)
 * when one of them is a newline: no key spans a line end. */
static inline uint32_t qplan_shape_key(const unsigned char *p)
{
    uint32_t key = QPLAN_SHAPE_BIT;
    for (int j = 0; j < QPLAN_SHAPE_LEN; j++) {
        if (p[j] == '\n')
            return 0;
        key |= (uint32_t)qplan_shape_class[p[j]] << (4 * (QPLAN_SHAPE_LEN - 1 - j));
    }
    return key;
}

struct qnode {
    enum qnode_kind kind;
    uint32_t key; /* QN_KEY: a trigram or a shape (above) */
    struct qnode **kids;
    size_t nkids;
};

/* Build the query for a pattern (never NULL; QN_ALL when nothing helps). */
struct qnode *qplan_build(const char *pattern, size_t len, bool literal, bool caseless);
void qplan_free(struct qnode *n); /* accepts NULL */

/* The longest literal run that every match contains, for a fast
 * substring search ahead of the regex.  *anchor_caseless says how to
 * search for it: memmem_ci() when set (the run then holds no k, s or
 * non-ASCII character), memmem() otherwise; a (?i) in the pattern sets it
 * even for a case-sensitive search.  NULL when there is no run of at
 * least QPLAN_ANCHOR_MIN bytes; else a buffer of *alen bytes (not
 * NUL-terminated) that the caller frees.  *exact says the pattern is
 * nothing but that literal: its matches are the anchor's occurrences. */
#define QPLAN_ANCHOR_MIN 3
char *qplan_anchor(const char *pattern, size_t len, bool literal, bool caseless, size_t *alen,
                   bool *anchor_caseless, bool *exact);

/* Two sets of at most PAIR_SET_MAX bytes such that every match holds a
 * byte of the first right before a byte of the second: a filter ahead of
 * the regex where no literal of QPLAN_ANCHOR_MIN bytes is there to search
 * for ("\\bu(8|16|32|64)\\b": u, then 1 3 6 or 8).  Read from two
 * characters, or groups of plain strings, next to each other in the
 * pattern outside any group (zero-width items between them do not
 * count); a letter brings its other case when the search ignores case.
 * False when there is no such pair. */
bool qplan_pair(const char *pattern, size_t len, bool literal, bool caseless,
                struct pair_finder *out);

/* A readable form for tests and logs: "and(abc,bcd,or(xyz,all))". */
char *qplan_describe(const struct qnode *n);

/* The byte folding shared with the index. */
static inline unsigned char qplan_fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

#endif
