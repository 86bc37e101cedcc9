/*
 * util.h - small helpers shared by every module: allocation that aborts on
 * failure, start-up fatal errors, logging to stderr, monotonic time.
 *
 * Allocation failure is not recoverable in this program (a worker that
 * cannot hold its shard is useless), so every allocation goes through
 * xmalloc() and friends, which print one line and abort.
 */
#ifndef SHARDGREP_UTIL_H
#define SHARDGREP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SG_OK  0
#define SG_ERR (-1)

/* Size of the error buffers callers hand to functions that can fail. */
#define SG_ERRLEN 256

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* Names what the process is doing ("loading", "a/b.c"; NULL: nothing in
 * particular; what may be NULL) in the message the x*alloc functions
 * print before they abort on no memory.  The strings must outlive the
 * context. */
void oom_context(const char *doing, const char *what);
char *xstrdup(const char *s);
/* Ask that the 2 MiB-aligned part of the n bytes at p be backed by huge
 * pages (transparent huge pages, which Debian enables "madvise"): for the
 * big arrays a worker keeps and scans, before they are first written, so
 * each page is huge when first touched.  A machine that pays for every
 * page-table miss (a guest with shadow page tables) then answers the
 * first query after a pause in a fraction of the time.  Advice only:
 * nothing changes where it is not honoured. */
void prefer_huge_pages(void *p, size_t n);
/* Make room for need elements of size bytes in the array *p of *cap
 * (doubling, from 16); false, with the array as it was, when there is no
 * memory for it: for code that serves one request. */
bool soft_grow(void **p, size_t *cap, size_t need, size_t size);
/* The index of the first of the n ascending values in v that is not below
 * x (n when every one is). */
static inline size_t lower_bound_u32(const uint32_t *v, size_t n, uint32_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The first n bytes of s, NUL-terminated (s may be NULL when n is 0). */
char *xstrndup(const char *s, size_t n);

/* A growable string, NUL-terminated once anything was added; the caller
 * frees buf (or takes it).  A soft one does not abort when memory runs
 * out: it sets failed, frees what it held, and ignores what is added
 * after; the caller checks failed at the end (serving one request must
 * not bring the server down, see STYLE.md). */
struct strbuf {
    char *buf;
    size_t len, cap;
    bool soft, failed;
};
/* Room for more bytes past len, and the NUL after them; false only for a
 * soft string that could not grow (or had failed before). */
bool strbuf_reserve(struct strbuf *b, size_t more);
void strbuf_add(struct strbuf *b, const char *s, size_t n);

/* Print "shardgrep: <message>" on stderr and exit with status 1.  Only for
 * start-up, before any worker or thread exists. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* One log line on stderr, prefixed with the program name. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write a formatted message into a caller's error buffer (may be NULL). */
void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Monotonic clock in nanoseconds and milliseconds. */
uint64_t now_ns(void);
double now_ms(void);

#endif
