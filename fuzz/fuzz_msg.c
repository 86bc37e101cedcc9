/*
 * fuzz_msg.c - libFuzzer target for every decoder of the wire format
 * (msg.c, where every message type is encoded and decoded).
 *
 * Input: one datagram as it would come off a transport.  After msg_parse()
 * accepts its header, the payload is read in every layout, each from a
 * fresh reader, whatever the type says (the type only picks which decoder
 * a receiver calls, and a decoder must survive any payload): QUERY, FILE,
 * FILES (head and entries), CHANGES, APPLIED, HELLO, PROGRESS, BATCH (head
 * and records), LINES (head and lines), FACETS, DONE, and the empty
 * CANCEL/PING/PONG.
 *
 * libFuzzer hands the input in a heap block of exactly its size, so any
 * read past the datagram is an AddressSanitizer report.  Properties, with
 * abort() on a violation: whatever a decoder gives lies inside the
 * message; a record or line kept by its view (msg_record_at(),
 * msg_line_at(), msg_record_context(), as the master reads them later)
 * reads the same as the checked decode; and every message that decodes
 * encodes back to the same bytes with its encoder (so encoder and decoder
 * agree on the layout).
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
static struct msg_header head;

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

/* The writer's payload is the reader's, byte for byte. */
static void same_payload(const struct msg_writer *w, const struct msg_reader *r, const char *what)
{
    require(w->len == MSG_HEADER_SIZE + r->len && !memcmp(w->data + MSG_HEADER_SIZE, r->p, r->len),
            what);
}

static void read_empty(struct msg_reader r)
{
    if (msg_empty_decode(&r) < 0)
        return;
    require(r.len == 0, "an empty message has no payload");
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
    inside((const char *)q.trees, q.trees_len, "query trees inside the message");
    inside((const char *)q.langs, q.langs_len, "query languages inside the message");
    require(q.context <= MSG_MAX_CONTEXT && !(q.flags & ~MSG_QF_ALL),
            "context bounded, flags known");
    struct msg_writer w;
    msg_writer_init(&w);
    msg_query_encode(&w, head.seq, &q);
    same_payload(&w, &r, "a decoded QUERY encodes back to the same payload");
    msg_writer_free(&w);
}

static void read_file(struct msg_reader r)
{
    uint32_t id;
    if (msg_file_decode(&r, &id) < 0)
        return;
    struct msg_writer w;
    msg_writer_init(&w);
    msg_file_encode(&w, head.shard, head.seq, id);
    same_payload(&w, &r, "a decoded FILE encodes back to the same payload");
    msg_writer_free(&w);
}

/* FILES, as a restarted worker reads it, then encoded again entry by
 * entry. */
static void read_files(struct msg_reader r)
{
    struct msg_files f;
    if (msg_files_decode(&r, &f) < 0)
        return;
    struct msg_writer w;
    msg_writer_init(&w);
    msg_files_begin(&w, head.shard, f.total);
    bool all = true;
    for (uint32_t k = 0; k < f.count; k++) {
        struct msg_file_entry e;
        if (msg_files_next(&r, &f, &e) < 0) {
            all = false;
            break;
        }
        inside(e.path, e.path_len, "FILES path inside the message");
        require(e.id < f.total && e.path_len > 0 && !memchr(e.path, '\0', e.path_len),
                "a FILES entry has an id below total and a path without NUL");
        if (!msg_files_add(&w, &e))
            all = false;
    }
    msg_files_finish(&w, f.last);
    if (all && msg_decoded_all(&r))
        same_payload(&w, &r, "decoded FILES encode back to the same payload");
    msg_writer_free(&w);
}

/* CHANGES, as a worker applies it, then encoded again. */
static void read_changes(struct msg_reader r)
{
    uint32_t count;
    if (msg_changes_decode(&r, &count) < 0)
        return;
    struct msg_writer w;
    msg_writer_init(&w);
    msg_changes_begin(&w, head.shard, head.seq);
    bool all = true;
    for (uint32_t k = 0; k < count; k++) {
        uint8_t op;
        struct msg_file_entry e;
        if (msg_changes_next(&r, &op, &e) < 0) {
            all = false;
            break;
        }
        inside(e.path, e.path_len, "CHANGES path inside the message");
        require(op <= MSG_CH_REMOVE && e.path_len > 0 && !memchr(e.path, '\0', e.path_len),
                "a CHANGES entry has a known op and a path without NUL");
        if (!msg_changes_add(&w, op, &e))
            all = false;
    }
    msg_changes_finish(&w);
    if (all && msg_decoded_all(&r))
        same_payload(&w, &r, "decoded CHANGES encode back to the same payload");
    msg_writer_free(&w);
}

static void read_applied(struct msg_reader r)
{
    struct msg_applied a;
    if (msg_applied_decode(&r, &a) < 0)
        return;
    struct msg_writer w;
    msg_writer_init(&w);
    msg_applied_encode(&w, head.shard, head.seq, &a);
    same_payload(&w, &r, "a decoded APPLIED encodes back to the same payload");
    msg_writer_free(&w);
}

static void read_hello(struct msg_reader r)
{
    struct msg_hello hello;
    if (msg_hello_decode(&r, &hello) < 0)
        return;
    struct msg_writer w;
    msg_writer_init(&w);
    msg_hello_encode(&w, head.shard, &hello);
    same_payload(&w, &r, "a decoded HELLO encodes back to the same payload");
    msg_writer_free(&w);
}

static void read_progress(struct msg_reader r)
{
    uint32_t files;
    uint64_t bytes;
    if (msg_progress_decode(&r, &files, &bytes) < 0)
        return;
    struct msg_writer w;
    msg_writer_init(&w);
    msg_progress_encode(&w, head.shard, files, bytes);
    same_payload(&w, &r, "a decoded PROGRESS encodes back to the same payload");
    msg_writer_free(&w);
}

static void read_done(struct msg_reader r)
{
    struct msg_done d;
    if (msg_done_decode(&r, &d) < 0)
        return;
    inside(d.error, d.error_len, "DONE error inside the message");
    require(d.status <= MSG_ST_NOT_FOUND, "DONE status known");
    struct msg_writer w;
    msg_writer_init(&w);
    msg_done_encode(&w, head.shard, head.seq, &d);
    same_payload(&w, &r, "a decoded DONE encodes back to the same payload");
    msg_writer_free(&w);
}

/* A context list read through its view, each line inside the record. */
static void context_inside(const uint8_t *list, unsigned n, const uint8_t *rec_end)
{
    for (unsigned i = 0; i < n; i++) {
        uint32_t len;
        const char *s = msg_record_context(list, i, &len);
        inside(s, len, "context line inside the message");
        require((const uint8_t *)s + len <= rec_end, "context line inside its record");
    }
}

/* A record the master kept, read again by its view as render.c does,
 * and encoded again from what was decoded. */
static void record_again(const uint8_t *at, const uint8_t *end, const struct msg_record *ref,
                         struct msg_writer *w)
{
    struct msg_record m;
    msg_record_at(at, &m);
    require(m.file_id == ref->file_id && m.line == ref->line && m.column == ref->column &&
                m.flags == ref->flags && m.text == ref->text && m.text_len == ref->text_len &&
                m.nranges == ref->nranges && m.nbefore == ref->nbefore && m.nafter == ref->nafter,
            "the view of a kept record gives the same record");
    inside(m.text, m.text_len, "record text inside the message");
    uint32_t ranges[2 * MSG_MAX_RANGES];
    for (unsigned i = 0; i < m.nranges; i++) {
        msg_record_range(&m, i, &ranges[2 * i], &ranges[2 * i + 1]);
        require(ranges[2 * i] <= ranges[2 * i + 1] && ranges[2 * i + 1] <= m.text_len,
                "a range lies within the text");
    }
    context_inside(m.before, m.nbefore, end);
    context_inside(m.after, m.nafter, end);
    const char *before[MSG_MAX_CONTEXT], *after[MSG_MAX_CONTEXT];
    uint32_t blen[MSG_MAX_CONTEXT], alen[MSG_MAX_CONTEXT];
    for (unsigned i = 0; i < m.nbefore; i++)
        before[i] = msg_record_context(m.before, i, &blen[i]);
    for (unsigned i = 0; i < m.nafter; i++)
        after[i] = msg_record_context(m.after, i, &alen[i]);
    struct msg_record_out out = {.file_id = m.file_id,
                                 .line = m.line,
                                 .column = m.column,
                                 .flags = m.flags,
                                 .text = m.text,
                                 .text_len = m.text_len,
                                 .ranges = ranges,
                                 .nranges = m.nranges,
                                 .before = before,
                                 .before_len = blen,
                                 .nbefore = m.nbefore,
                                 .after = after,
                                 .after_len = alen,
                                 .nafter = m.nafter};
    size_t from = w->len;
    msg_record_encode(w, &out);
    require(w->len - from == (size_t)(end - at) && !memcmp(w->data + from, at, w->len - from),
            "a decoded record encodes back to the same bytes");
}

/* BATCH, as the aggregator files it. */
static void read_batch(struct msg_reader r)
{
    uint32_t count;
    if (msg_batch_decode(&r, &count) < 0)
        return;
    struct msg_writer w;
    msg_writer_init(&w);
    uint32_t n = 0;
    for (; n < count; n++) {
        struct msg_record rec;
        const uint8_t *at;
        if (msg_batch_next(&r, &rec, &at) < 0)
            break;
        record_again(at, r.p + r.pos, &rec, &w);
    }
    if (n == count && msg_decoded_all(&r)) {
        struct msg_writer b;
        msg_writer_init(&b);
        msg_batch_begin(&b, head.shard, head.seq);
        msg_put_raw(&b, w.data, w.len); /* the records, re-encoded in order */
        msg_patch_u32(&b, MSG_HEADER_SIZE, count);
        msg_batch_finish(&b);
        same_payload(&b, &r, "a decoded BATCH encodes back to the same payload");
        msg_writer_free(&b);
    }
    msg_writer_free(&w);
}

/* FACETS, as the master sums them, then encoded again. */
static void read_facets(struct msg_reader r)
{
    uint32_t count;
    if (msg_facets_decode(&r, &count) < 0)
        return;
    struct msg_writer w;
    msg_writer_init(&w);
    msg_facets_begin(&w, head.shard, head.seq);
    bool all = true;
    for (uint32_t k = 0; k < count; k++) {
        struct msg_facet f;
        if (msg_facets_next(&r, &f) < 0) {
            all = false;
            break;
        }
        inside(f.key, f.key_len, "FACETS key inside the message");
        require(f.kind < MSG_FACET_KINDS && !memchr(f.key, '\0', f.key_len),
                "a FACETS entry has a known kind and a key without NUL");
        if (!msg_facets_add(&w, &f))
            all = false;
    }
    msg_facets_finish(&w);
    if (all && msg_decoded_all(&r))
        same_payload(&w, &r, "decoded FACETS encode back to the same payload");
    msg_writer_free(&w);
}

/* LINES, as the aggregator files it and render.c reads it. */
static void read_lines(struct msg_reader r)
{
    uint32_t first, count;
    if (msg_lines_decode(&r, &first, &count) < 0)
        return;
    struct msg_writer w;
    msg_writer_init(&w);
    msg_lines_begin(&w, head.shard, head.seq, first);
    uint32_t n = 0;
    bool fits = true;
    for (; n < count; n++) {
        uint8_t flags, flags2;
        const char *text, *text2;
        uint32_t len, len2;
        const uint8_t *at;
        if (msg_lines_next(&r, &flags, &text, &len, &at) < 0)
            break;
        inside(text, len, "file line inside the message");
        msg_line_at(at, &flags2, &text2, &len2);
        require(flags2 == flags && text2 == text && len2 == len,
                "the view of a kept line reads what was checked");
        fits = fits && msg_lines_add(&w, flags, text, len);
    }
    msg_lines_finish(&w);
    if (n == count && fits && msg_decoded_all(&r))
        same_payload(&w, &r, "decoded LINES encode back to the same payload");
    msg_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct msg_reader r;
    if (msg_parse(data, size, &head, &r) < 0)
        return 0;
    require(size >= MSG_HEADER_SIZE && size <= MSG_MAX, "msg_parse() size bounds");
    require(r.p == data + MSG_HEADER_SIZE && r.len == size - MSG_HEADER_SIZE,
            "the reader covers exactly the payload");
    msg_lo = data;
    msg_hi = data + size;
    read_empty(r);
    read_query(r);
    read_file(r);
    read_files(r);
    read_changes(r);
    read_applied(r);
    read_hello(r);
    read_progress(r);
    read_done(r);
    read_batch(r);
    read_lines(r);
    read_facets(r);
    return 0;
}
