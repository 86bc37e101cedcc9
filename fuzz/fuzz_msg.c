/*
 * fuzz_msg.c - libFuzzer target for the message decoder (msg.c) and for
 * the reads the master and the workers make of each message layout.
 *
 * Input: one datagram as it would come off the queue.  After msg_parse()
 * accepts its header, the payload is read in every layout, each from a
 * fresh reader: QUERY (msg_query_decode), CANCEL, FILE and PROGRESS
 * (as worker.c and server.c read them), FILES (as worker.c's
 * receive_files() reads them), HELLO and DONE (msg_*_decode), BATCH (as
 * registry.c's file_batch() reads it, then every kept record again as
 * render.c does, with an unbounded reader), LINES (as registry.c's
 * file_lines() reads it, then as api.c's file_doc() does).
 *
 * libFuzzer hands the input in a heap block of exactly its size, so any
 * read past the datagram is an AddressSanitizer report.  Properties, with
 * abort() on a violation: a decoded string lies inside the message; a
 * record read again as render.c reads it gives the same fields and ends
 * where the checked decode ended; a decoded HELLO or DONE encodes back to
 * the same bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "util.h"

static const uint8_t *msg_lo, *msg_hi; /* the datagram being read */

static void require(bool cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_msg: property violated: %s\n", what);
        abort();
    }
}

/* Touch every byte of a decoded view, so ASan sees an out-of-bounds one. */
static unsigned touch(const void *p, size_t n)
{
    const volatile uint8_t *b = p;
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += b[i];
    return sum;
}

static void inside(const void *p, size_t n, const char *what)
{
    const uint8_t *b = p;
    if (n == 0)
        return;
    require(b >= msg_lo && b + n <= msg_hi, what);
    touch(p, n);
}

static void read_query(struct msg_reader r)
{
    struct msg_query q;
    if (msg_query_decode(&r, &q) < 0)
        return;
    inside(q.pattern, q.pattern_len, "query pattern inside the message");
    inside(q.path, q.path_len, "query path inside the message");
    inside(q.exclude, q.exclude_len, "query exclude inside the message");
    require(!memchr(q.pattern, '\0', q.pattern_len) && !memchr(q.path, '\0', q.path_len) &&
                !memchr(q.exclude, '\0', q.exclude_len),
            "decoded query strings hold no NUL");
    require(q.context <= MSG_MAX_CONTEXT, "context bounded");
}

/* worker.c: drain() and serve() read a FILE request's id; server.c reads
 * PROGRESS while loading. */
static void read_file_and_progress(struct msg_reader r)
{
    struct msg_reader f = r;
    (void)msg_get_u32(&f);
    (void)msg_reader_ok(&f);
    (void)msg_get_u32(&r);
    (void)msg_get_u64(&r);
    (void)msg_reader_ok(&r);
}

/* worker.c: receive_files().  The entries land in a table of "total"
 * slots; instead of allocating it (a bogus total would ask for gigabytes,
 * see the report), a small bitmap stands for the first slots. */
static void read_files(struct msg_reader r)
{
    static uint8_t seen[4096 / 8];
    memset(seen, 0, sizeof seen);
    (void)msg_get_u8(&r); /* last */
    uint32_t total = msg_get_u32(&r), count = msg_get_u32(&r);
    for (uint32_t k = 0; k < count && msg_reader_ok(&r); k++) {
        uint32_t id = msg_get_u32(&r), len;
        (void)msg_get_u64(&r);
        const char *path = msg_get_str(&r, &len);
        if (!msg_reader_ok(&r) || id >= total)
            break;
        inside(path, len, "FILES path inside the message");
        if (id < 4096) {
            if (seen[id / 8] & (1u << (id % 8)))
                break; /* receive_files() stops at a duplicate too */
            seen[id / 8] |= (uint8_t)(1u << (id % 8));
        }
        char *copy = xstrndup(path, len);
        free(copy);
    }
}

static void read_hello(const struct msg_header *h, struct msg_reader r)
{
    struct msg_hello hello;
    if (msg_hello_decode(&r, &hello) < 0)
        return;
    struct msg_writer w;
    msg_writer_init(&w);
    msg_hello_encode(&w, h->shard, &hello);
    require(w.len == MSG_HEADER_SIZE + r.len && !memcmp(w.data + MSG_HEADER_SIZE, r.p, r.len),
            "a decoded HELLO encodes back to the same payload");
    msg_writer_free(&w);
}

static void read_done(const struct msg_header *h, struct msg_reader r)
{
    struct msg_done d;
    if (msg_done_decode(&r, &d) < 0)
        return;
    inside(d.error, d.error_len, "DONE error inside the message");
    require(d.status <= MSG_ST_NOT_FOUND, "DONE status known");
    struct msg_writer w;
    msg_writer_init(&w);
    msg_done_encode(&w, h->shard, h->seq, &d);
    require(w.len == MSG_HEADER_SIZE + r.len && !memcmp(w.data + MSG_HEADER_SIZE, r.p, r.len),
            "a decoded DONE encodes back to the same payload");
    msg_writer_free(&w);
}

/* render.c's jw_strings(): n strings from p with an unbounded reader. */
static const uint8_t *read_strings_unbounded(const uint8_t *p, unsigned n)
{
    struct msg_reader r;
    msg_reader_init(&r, p, (size_t)-1 / 2);
    for (unsigned i = 0; i < n; i++) {
        uint32_t len;
        const char *s = msg_get_str(&r, &len);
        inside(s, len, "context line inside the message");
    }
    return r.p + r.pos;
}

/* render.c's write_record(), on a record that file_batch() kept. */
static void render_like(const uint8_t *at, const struct msg_record *ref, const uint8_t *ref_end)
{
    struct msg_reader r;
    struct msg_record m;
    msg_reader_init(&r, at, (size_t)-1 / 2);
    require(msg_record_decode(&r, &m) == 0, "a kept record decodes again");
    require(r.p + r.pos == ref_end, "the unbounded decode ends where the checked one did");
    require(m.file_id == ref->file_id && m.line == ref->line && m.column == ref->column &&
                m.flags == ref->flags && m.text == ref->text && m.text_len == ref->text_len &&
                m.nranges == ref->nranges && m.nbefore == ref->nbefore && m.nafter == ref->nafter,
            "the unbounded decode gives the same record");
    inside(m.text, m.text_len, "record text inside the message");
    for (unsigned i = 0; i < m.nranges; i++) {
        uint32_t a, b;
        msg_record_range(&m, i, &a, &b);
        require(a <= b && b <= m.text_len, "a range lies within the text");
    }
    const uint8_t *end_before = read_strings_unbounded(m.before, m.nbefore);
    require(end_before <= ref_end, "before lines inside the record");
    const uint8_t *end_after = read_strings_unbounded(m.after, m.nafter);
    require(end_after <= ref_end, "after lines inside the record");
}

/* registry.c: file_batch(). */
static void read_batch(struct msg_reader rd)
{
    uint32_t count = msg_get_u32(&rd);
    for (uint32_t i = 0; i < count && msg_reader_ok(&rd); i++) {
        const uint8_t *at = rd.p + rd.pos;
        struct msg_record rec;
        if (msg_record_decode(&rd, &rec) < 0)
            break;
        render_like(at, &rec, rd.p + rd.pos);
    }
}

/* registry.c: file_lines(), then api.c: file_doc(). */
static void read_lines(struct msg_reader rd)
{
    (void)msg_get_u32(&rd); /* first line number */
    uint32_t count = msg_get_u32(&rd);
    for (uint32_t i = 0; i < count && msg_reader_ok(&rd); i++) {
        const uint8_t *at = rd.p + rd.pos;
        uint32_t len;
        (void)msg_get_u8(&rd);
        (void)msg_get_str(&rd, &len);
        if (!msg_reader_ok(&rd))
            break;
        struct msg_reader r;
        msg_reader_init(&r, at, (size_t)-1 / 2);
        (void)msg_get_u8(&r);
        uint32_t len2;
        const char *s = msg_get_str(&r, &len2);
        require(len2 == len && r.p + r.pos == rd.p + rd.pos, "file_doc() reads what was checked");
        inside(s, len2, "file line inside the message");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct msg_header h;
    struct msg_reader r;
    if (msg_parse(data, size, &h, &r) < 0)
        return 0;
    require(size >= MSG_HEADER_SIZE && size <= MSG_MAX, "msg_parse() size bounds");
    require(r.p == data + MSG_HEADER_SIZE && r.len == size - MSG_HEADER_SIZE,
            "the reader covers exactly the payload");
    msg_lo = data;
    msg_hi = data + size;
    /* Every layout, whatever the type says: a decoder must survive any
     * payload, and the type only picks which one the receiver calls. */
    read_query(r);
    read_file_and_progress(r);
    read_files(r);
    read_hello(&h, r);
    read_done(&h, r);
    read_batch(r);
    read_lines(r);
    return 0;
}
