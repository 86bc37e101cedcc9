/*
 * bytes.h - passes over a buffer at memory speed: a 64-bit checksum and a
 * newline count.
 *
 * A restart with --index-dir reads a shard's whole snapshot twice before
 * it serves: once for the sections' checksums and once for the text's
 * newlines (snapshot.c).  On a 2-core machine the two workers' checks and
 * the master's walk share the cores, so these two passes were most of a
 * restart (about 0.3 s of each worker's 0.6 s on the Linux tree).
 *
 * The checksum finds corruption, it is not a signature.  It keeps four
 * 64-bit accumulators over 32-byte groups; for word k of a group,
 *     x = w ^ key[k];  acc[k] += lo32(x) * hi32(x);  acc[k ^ 1] += w;
 * with key[k] stepped by a constant every group (so that words swapped
 * between groups change it), and every 32 KiB each accumulator is
 * scrambled (acc ^= acc >> 47; acc *= an odd constant: one to one).  The
 * plain sum of the words means any one word changed changes an
 * accumulator; the products spread the bits.  That is arithmetic SSE2 has
 * (a 32 x 32 -> 64-bit multiply per 64-bit lane), so on x86-64 it runs at
 * memory speed; elsewhere the same arithmetic is done a word at a time,
 * and both give the same value (check_bytes tests it).  The tail under 32
 * bytes and the length are mixed in a word, then a byte, at a time.
 */
#ifndef SHARDGREP_BYTES_H
#define SHARDGREP_BYTES_H

#include <stddef.h>
#include <stdint.h>

/* The checksum of p[0..n) (snapshot format 5 and later). */
uint64_t bytes_checksum(const void *p, size_t n);
/* How many '\n' bytes in p[0..n). */
uint64_t bytes_count_newlines(const char *p, size_t n);

/* The same, a word at a time whatever the machine has (for tests). */
uint64_t bytes_checksum_portable(const void *p, size_t n);
uint64_t bytes_count_newlines_portable(const char *p, size_t n);

#endif
