/*
 * matcher.h - a compiled pattern and the two ways of running it.
 *
 * Semantics are grep's: a line matches when the pattern matches within the
 * line alone.  For speed a worker does not run the pattern line by line: it
 * runs it over a whole run of lines as one subject (multiline mode, so ^
 * and $ work at line ends) to find candidates, then confirms each
 * candidate's line alone, which also yields every match range on it.  A
 * candidate match may cross a newline (\s, [^x]); the confirmation settles
 * it.  A few constructs see differently in a long subject than in a line
 * (\A, \z, \G, ^ and $ under (?-m), lookbehind, (*VERB) settings):
 * patterns that hold them, as the pattern reader (pattern.h) says, are
 * run line by line (matcher_line_mode()).
 *
 * Subjects must be valid UTF-8 (the corpus guarantees it), which allows
 * PCRE2_NO_UTF_CHECK; without it each call would re-validate the rest of
 * the buffer.
 */
#ifndef SHARDGREP_MATCHER_H
#define SHARDGREP_MATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MATCHER_LIMIT (-2) /* PCRE2 gave up: match, depth or heap limit */

struct matcher;

struct mrange {
    uint32_t start, end;
};

/* Compile.  On a bad pattern returns NULL with PCRE2's message in err and
 * the byte offset of the problem in *erroff (-1 if none applies).  A
 * matcher is used by the thread that made it (it matches with that
 * thread's JIT stack). */
struct matcher *matcher_new(const char *pattern, size_t len, bool literal, bool caseless, char *err,
                            size_t errlen, long *erroff);
void matcher_free(struct matcher *m); /* accepts NULL */
/* Whether matcher_new() would take the pattern (SG_OK; SG_ERR with err
 * and *erroff as it gives them), without what matching needs: no JIT
 * code, no stack (the master checks every query's pattern this way). */
int matcher_check(const char *pattern, size_t len, bool literal, bool caseless, char *err,
                  size_t errlen, long *erroff);

bool matcher_line_mode(const struct matcher *m);

/* Find the first match starting at or after start in s[0..n).  Returns 1
 * with its start in *at and its end in *end, 0 when there is none,
 * MATCHER_LIMIT. */
int matcher_find(struct matcher *m, const char *s, size_t n, size_t start, size_t *at, size_t *end);

/* Whether a buffer match that lies inside one line is a match of that
 * line alone.  True unless the pattern looks ahead (it may have seen the
 * '\n' after the line); line-mode patterns never get here. */
bool matcher_local(const struct matcher *m);

/* Whether the line s[0..n) (no '\n') matches: 1 or 0, or MATCHER_LIMIT.
 * Cheaper than matcher_line() when the ranges are not needed. */
int matcher_test(struct matcher *m, const char *s, size_t n);

/* Match the line s[0..n) (no '\n') alone.  Stores up to cap non-empty
 * match ranges and returns how many were stored; *matched says whether
 * the line matches at all (an empty match counts).  MATCHER_LIMIT when
 * PCRE2 gave up. */
int matcher_line(struct matcher *m, const char *s, size_t n, struct mrange *out, int cap,
                 bool *matched);

#endif
