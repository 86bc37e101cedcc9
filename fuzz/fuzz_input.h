/*
 * fuzz_input.h - the input format that fuzz_qplan and fuzz_pattern share,
 * so that one's seeds and findings can be run through the other.
 *
 * Byte 0 holds flags (bit 0: literal, bit 1: caseless); the rest is cut
 * at the first NUL into a pattern (NUL-free, as every pattern that reaches
 * a worker is) and a text; with no NUL, the pattern's own bytes are the
 * text too.
 */
#ifndef SHARDGREP_FUZZ_INPUT_H
#define SHARDGREP_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fuzz_input {
    bool literal, caseless;
    const char *pat, *text;
    size_t plen, tlen;
};

/* Split data[0..size) (size >= 1) as above. */
static inline void fuzz_input_split(const uint8_t *data, size_t size, struct fuzz_input *in)
{
    in->literal = data[0] & 1;
    in->caseless = data[0] & 2;
    in->pat = (const char *)data + 1;
    const char *nul = memchr(in->pat, '\0', size - 1);
    in->plen = nul ? (size_t)(nul - in->pat) : size - 1;
    in->text = nul ? nul + 1 : in->pat;
    in->tlen = nul ? size - 1 - in->plen - 1 : in->plen;
}

#endif
