/*
 * client_buf.h - memory helpers of shardgrep-query, the terminal client.
 *
 * The client shares no object with the server (it links cJSON and libc
 * only), so it carries its own two helpers: allocation that aborts on
 * failure (a command-line tool that cannot get a few kilobytes has nothing
 * sensible left to do), and a growable byte buffer, always NUL-terminated,
 * that requests and answers are built and read into.
 */
#ifndef SHARDGREP_CLIENT_BUF_H
#define SHARDGREP_CLIENT_BUF_H

#include <stddef.h>

void *cbuf_xmalloc(size_t n);
void *cbuf_xrealloc(void *p, size_t n);
char *cbuf_xstrdup(const char *s);

/* A zeroed struct cbuf is an empty buffer; buf is NULL until something is
 * added, then NUL-terminated.  cbuf_free() accepts an empty one. */
struct cbuf {
    char *buf;
    size_t len, cap;
};

void cbuf_add(struct cbuf *b, const void *p, size_t n);
void cbuf_adds(struct cbuf *b, const char *s);
void cbuf_printf(struct cbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the bytes to the caller (an empty string if none) and empties b. */
char *cbuf_take(struct cbuf *b);
void cbuf_free(struct cbuf *b);

#endif
