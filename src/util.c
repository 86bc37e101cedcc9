/*
 * util.c - the small helpers of util.h.  Allocation failure aborts through
 * one function (oom()), with what the process was doing in its message;
 * code that serves one request uses soft strings instead (struct strbuf),
 * so that running out of memory there fails the request, not the server.
 */
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* What this process is busy with, for the last words of oom(). */
static _Thread_local const char *oom_doing, *oom_what; /* each thread its own */

void oom_context(const char *doing, const char *what)
{
    oom_doing = doing;
    oom_what = what;
}

static void oom(size_t n)
{
    if (oom_doing)
        fprintf(stderr, "shardgrep: out of memory (allocating %zu bytes) while %s%s%s\n", n,
                oom_doing, oom_what ? " " : "", oom_what ? oom_what : "");
    else
        fprintf(stderr, "shardgrep: out of memory (allocating %zu bytes)\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

bool strbuf_reserve(struct strbuf *b, size_t more)
{
    if (b->failed)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + more + 1)
        cap *= 2;
    if (!b->soft) {
        b->buf = xrealloc(b->buf, cap);
        b->cap = cap;
        return true;
    }
    char *grown = realloc(b->buf, cap);
    if (!grown) {
        free(b->buf);
        b->buf = NULL;
        b->len = b->cap = 0;
        b->failed = true;
        return false;
    }
    b->buf = grown;
    b->cap = cap;
    return true;
}

void strbuf_add(struct strbuf *b, const char *s, size_t n)
{
    if (!strbuf_reserve(b, n))
        return;
    if (n)
        memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

bool soft_grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *grown = realloc(*p, n * size);
    if (!grown)
        return false;
    *p = grown;
    *cap = n;
    return true;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);
    if (n) /* s may be NULL when n is 0 */
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void die(const char *fmt, ...)
{
    va_list ap;
    fputs("shardgrep: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

void log_info(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One write per line so lines from several processes do not mix. */
    fprintf(stderr, "shardgrep: %s\n", line);
}

void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double now_ms(void)
{
    return (double)now_ns() / 1e6;
}

#define HUGE_PAGE ((uintptr_t)2 << 20)

void prefer_huge_pages(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    uintptr_t from = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uintptr_t to = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);
    if (to > from)
        (void)madvise((void *)from, to - from, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}
