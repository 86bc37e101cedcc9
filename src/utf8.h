/*
 * utf8.h - UTF-8 validation and repair.
 *
 * Workers store every line as valid UTF-8 so that PCRE2 can run in UTF mode
 * with PCRE2_NO_UTF_CHECK (checking on every call turns a buffer scan
 * quadratic) without undefined behaviour, and so that any line can be put in
 * a JSON string.  Repair replaces each byte that does not start a valid
 * sequence with U+FFFD (EF BF BD), the same rule as WHATWG's decoder; the
 * validity rules are PCRE2's: no overlong forms, no surrogates, nothing
 * above U+10FFFF.
 */
#ifndef SHARDGREP_UTF8_H
#define SHARDGREP_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid sequence starting at s[0] (1..4), or 0 if s[0] does
 * not start a valid sequence within the n bytes available. */
size_t utf8_seq_len(const unsigned char *s, size_t n);

/* True when all n bytes are valid UTF-8; otherwise *first_bad (if not
 * NULL) gets the offset of the first bad byte. */
bool utf8_valid(const char *s, size_t n, size_t *first_bad);

/* Worst-case output size of utf8_repair() for n input bytes. */
#define UTF8_REPAIR_MAX(n) ((n)*3)

/* Copy in[0..n) to out, replacing each invalid byte with U+FFFD; returns
 * the bytes written (at most UTF8_REPAIR_MAX(n)).  in and out must not
 * overlap. */
size_t utf8_repair(const char *in, size_t n, char *out);

/* Whether s holds U+212A KELVIN SIGN or U+017F LONG S: characters a
 * caseless search matches for k and s, which a caseless literal anchor
 * does not see (corpus.h: wide_fold; qplan.h). */
bool utf8_wide_fold(const char *s, size_t n);

/* Largest offset <= pos that is not inside a multi-byte sequence of the
 * valid UTF-8 string s (length n). */
size_t utf8_floor(const char *s, size_t n, size_t pos);

#endif
