/*
 * client_buf.c - the client's allocation wrappers and growable buffer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_buf.h"

static void out_of_memory(size_t n)
{
    fprintf(stderr, "shardgrep-query: out of memory (%zu bytes)\n", n);
    abort();
}

void *cbuf_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *cbuf_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

char *cbuf_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(cbuf_xmalloc(n), s, n);
}

/* Room for n more bytes and the terminating NUL. */
static void reserve(struct cbuf *b, size_t n)
{
    if (n > (size_t)-1 / 2 - b->len)
        out_of_memory(n);
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    b->buf = cbuf_xrealloc(b->buf, cap);
    b->cap = cap;
}

void cbuf_add(struct cbuf *b, const void *p, size_t n)
{
    reserve(b, n);
    if (n)
        memcpy(b->buf + b->len, p, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

void cbuf_adds(struct cbuf *b, const char *s)
{
    cbuf_add(b, s, strlen(s));
}

void cbuf_printf(struct cbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *cbuf_take(struct cbuf *b)
{
    char *s = b->buf ? b->buf : cbuf_xstrdup("");
    b->buf = NULL;
    b->len = b->cap = 0;
    return s;
}

void cbuf_free(struct cbuf *b)
{
    if (!b)
        return;
    free(b->buf);
    b->buf = NULL;
    b->len = b->cap = 0;
}
