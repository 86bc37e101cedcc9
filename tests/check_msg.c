/*
 * check_msg.c - unit tests for src/msg.c: the writer and the bounds-checked
 * reader, header parsing, and every message type's codec (QUERY, CANCEL,
 * PING, PONG, FILE, FILES, HELLO, PROGRESS, BATCH and its records, LINES,
 * DONE): each round-trips, and each refuses a message cut short.
 *
 * Decoders must refuse every malformed message without reading outside
 * it, so the negative tests hand them exact-size heap copies: under
 * valgrind an out-of-bounds read is an error even when the test passes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_suites.h"
#include "check_util.h"
#include "msg.h"
#include "util.h"

/* The writer every test uses; freed by the checked teardown even when an
 * assertion fails. */
static struct msg_writer w;

static void setup(void)
{
    msg_writer_init(&w);
}

static void teardown(void)
{
    msg_writer_free(&w);
}

/* An exact-size heap copy of w's bytes [from, from+n), so a read past its
 * end is visible to valgrind. */
static uint8_t *copy_of(size_t from, size_t n)
{
    uint8_t *p = xmalloc(n ? n : 1);
    memcpy(p, w.data + from, n);
    return p;
}

static uint32_t le32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ------------------------------------------------------------------ */
/* msg_put_* / msg_get_*                                               */
/* ------------------------------------------------------------------ */

START_TEST(test_integers_round_trip)
{
    static const uint64_t v64[] = {0, 1, 0x0102030405060708ull, UINT64_MAX, 1ull << 63};
    static const uint32_t v32[] = {0, 1, 0x01020304u, UINT32_MAX, 1u << 31};
    static const uint16_t v16[] = {0, 1, 0x0102, UINT16_MAX, 0x8000};
    static const uint8_t v8[] = {0, 1, 0x7f, 0x80, UINT8_MAX};
    struct msg_reader r;

    for (int i = 0; i < 5; i++) {
        msg_put_u8(&w, v8[i]);
        msg_put_u16(&w, v16[i]);
        msg_put_u32(&w, v32[i]);
        msg_put_u64(&w, v64[i]);
    }
    ck_assert_msg(w.len == 5 * 15, "wrote %zu bytes, want %d (no padding)", w.len, 5 * 15);
    msg_reader_init(&r, w.data, w.len);
    for (int i = 0; i < 5; i++) {
        uint8_t a = msg_get_u8(&r);
        uint16_t b = msg_get_u16(&r);
        uint32_t c = msg_get_u32(&r);
        uint64_t d = msg_get_u64(&r);
        ck_assert_msg(a == v8[i], "u8 #%d: got %u, want %u", i, a, v8[i]);
        ck_assert_msg(b == v16[i], "u16 #%d: got %u, want %u", i, b, v16[i]);
        ck_assert_msg(c == v32[i], "u32 #%d: got %u, want %u", i, c, v32[i]);
        ck_assert_msg(d == v64[i], "u64 #%d: got %llu, want %llu", i, (unsigned long long)d,
                      (unsigned long long)v64[i]);
    }
    ck_assert_msg(msg_reader_ok(&r), "reader went bad on a well-formed buffer");
    ck_assert_msg(r.pos == r.len, "reader stopped at %zu of %zu", r.pos, r.len);
}
END_TEST

START_TEST(test_integers_little_endian)
{
    static const uint8_t want[] = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
                                   0x44, 0x33, 0x22, 0x11, 0xbb, 0xaa, 0x5a};
    msg_put_u64(&w, 0x0102030405060708ull);
    msg_put_u32(&w, 0x11223344u);
    msg_put_u16(&w, 0xaabb);
    msg_put_u8(&w, 0x5a);
    ck_assert_msg(w.len == sizeof want, "wrote %zu bytes, want %zu", w.len, sizeof want);
    for (size_t i = 0; i < sizeof want; i++)
        ck_assert_msg(w.data[i] == want[i], "byte %zu is 0x%02x, want 0x%02x", i, w.data[i],
                      want[i]);
}
END_TEST

START_TEST(test_strings_round_trip)
{
    struct msg_reader r;
    uint32_t len;
    const char *s;

    msg_put_str(&w, "", 0);
    msg_put_str(&w, "hello", 5);
    msg_put_str(&w, "a\0b", 3); /* strings are lengths, not C strings */
    msg_put_str(&w, "caf\xc3\xa9", 5);
    ck_assert_msg(w.len == 4 * 4 + 0 + 5 + 3 + 5, "wrote %zu bytes", w.len);
    ck_assert_msg(le32_at(w.data + 4) == 5, "length prefix of \"hello\" is %u",
                  le32_at(w.data + 4));

    msg_reader_init(&r, w.data, w.len);
    s = msg_get_str(&r, &len);
    ck_assert_msg(len == 0, "empty string read back with length %u", len);
    s = msg_get_str(&r, &len);
    ck_assert_msg(len == 5 && memcmp(s, "hello", 5) == 0, "got \"%.*s\" (%u)", (int)len, s, len);
    s = msg_get_str(&r, &len);
    ck_assert_msg(len == 3 && memcmp(s, "a\0b", 3) == 0, "NUL string: length %u", len);
    s = msg_get_str(&r, &len);
    ck_assert_msg(len == 5 && memcmp(s, "caf\xc3\xa9", 5) == 0, "UTF-8 string: length %u", len);
    ck_assert_msg(s >= (const char *)w.data && s < (const char *)w.data + w.len,
                  "msg_get_str must point into the message");
    ck_assert_msg(msg_reader_ok(&r) && r.pos == r.len, "reader bad=%d pos=%zu len=%zu", r.bad,
                  r.pos, r.len);
}
END_TEST

START_TEST(test_raw_and_patch)
{
    struct msg_reader r;

    msg_put_u32(&w, 0);
    msg_put_raw(&w, "xyz", 3);
    msg_put_raw(&w, NULL, 0);
    msg_put_u16(&w, 7);
    msg_patch_u32(&w, 0, 0xdeadbeefu);
    ck_assert_msg(w.len == 9, "wrote %zu bytes, want 9", w.len);
    msg_reader_init(&r, w.data, w.len);
    uint32_t patched = msg_get_u32(&r);
    ck_assert_msg(patched == 0xdeadbeefu, "patched u32 reads 0x%x", patched);
    ck_assert_msg(memcmp(w.data + 4, "xyz", 3) == 0, "raw bytes not copied");
    (void)msg_get_u8(&r);
    (void)msg_get_u8(&r);
    (void)msg_get_u8(&r);
    uint16_t after = msg_get_u16(&r);
    ck_assert_msg(after == 7, "u16 after the raw bytes reads %u", after);
}
END_TEST

START_TEST(test_writer_grows)
{
    /* Far past the initial capacity: nothing lost on reallocation. */
    for (uint32_t i = 0; i < 10000; i++)
        msg_put_u32(&w, i * 2654435761u);
    ck_assert_msg(w.len == 40000, "wrote %zu bytes", w.len);
    struct msg_reader r;
    msg_reader_init(&r, w.data, w.len);
    for (uint32_t i = 0; i < 10000; i++) {
        uint32_t v = msg_get_u32(&r);
        if (v != i * 2654435761u)
            ck_abort_msg("value %u reads 0x%x, want 0x%x", i, v, i * 2654435761u);
    }
    ck_assert_msg(msg_reader_ok(&r), "reader went bad");
}
END_TEST

START_TEST(test_read_past_end)
{
    struct msg_reader r;
    uint32_t len = 99;

    msg_put_u16(&w, 0x1234);
    uint8_t *buf = copy_of(0, w.len);
    msg_reader_init(&r, buf, 2);
    uint32_t v = msg_get_u32(&r); /* 4 bytes from 2 */
    bool bad1 = !msg_reader_ok(&r);
    size_t pos1 = r.pos;
    /* Once bad, reads return zero/empty even where data would fit. */
    uint8_t v8 = msg_get_u8(&r);
    uint64_t v64 = msg_get_u64(&r);
    const char *s = msg_get_str(&r, &len);
    free(buf);
    ck_assert_msg(v == 0, "u32 past the end read %u, want 0", v);
    ck_assert_msg(bad1, "reading past the end did not set bad");
    ck_assert_msg(pos1 == 0, "a failed read moved the cursor to %zu", pos1);
    ck_assert_msg(v8 == 0 && v64 == 0, "reads after bad returned %u, %llu", v8,
                  (unsigned long long)v64);
    ck_assert_msg(len == 0 && s != NULL && *s == '\0', "string after bad: len %u", len);

    /* An empty reader. */
    msg_reader_init(&r, NULL, 0);
    ck_assert_msg(msg_reader_ok(&r), "a fresh empty reader is bad");
    ck_assert_msg(msg_get_u8(&r) == 0 && !msg_reader_ok(&r), "u8 from an empty reader");
}
END_TEST

START_TEST(test_string_past_end)
{
    struct msg_reader r;
    uint32_t len = 99;

    /* A length prefix that claims more bytes than follow. */
    msg_put_u32(&w, 10);
    msg_put_raw(&w, "abc", 3);
    uint8_t *buf = copy_of(0, w.len);
    msg_reader_init(&r, buf, w.len);
    const char *s = msg_get_str(&r, &len);
    bool bad = !msg_reader_ok(&r);
    free(buf);
    ck_assert_msg(bad, "a string longer than the buffer did not set bad");
    ck_assert_msg(len == 0 && *s == '\0', "got length %u for a truncated string", len);

    /* A huge length must not wrap the bounds check. */
    msg_writer_free(&w);
    msg_put_u32(&w, UINT32_MAX);
    msg_put_raw(&w, "abc", 3);
    buf = copy_of(0, w.len);
    msg_reader_init(&r, buf, w.len);
    (void)msg_get_str(&r, &len);
    bad = !msg_reader_ok(&r);
    free(buf);
    ck_assert_msg(bad && len == 0, "length 0xffffffff: bad=%d len=%u", bad, len);
}
END_TEST

/* ------------------------------------------------------------------ */
/* msg_begin / msg_finish / msg_parse                                  */
/* ------------------------------------------------------------------ */

START_TEST(test_header_layout)
{
    msg_begin(&w, MT_FILE, 7, 0x1122334455667788ull);
    msg_put_u32(&w, 42);
    msg_finish(&w);
    ck_assert_msg(w.len == MSG_HEADER_SIZE + 4, "message is %zu bytes", w.len);
    ck_assert_msg(memcmp(w.data, "SGRP", 4) == 0, "magic is %02x %02x %02x %02x", w.data[0],
                  w.data[1], w.data[2], w.data[3]);
    ck_assert_msg(w.data[4] == MSG_VERSION && w.data[5] == 0, "version bytes %u %u", w.data[4],
                  w.data[5]);
    ck_assert_msg(w.data[6] == MT_FILE && w.data[7] == 0, "type bytes %u %u", w.data[6], w.data[7]);
    ck_assert_msg(le32_at(w.data + 8) == 7, "shard %u", le32_at(w.data + 8));
    ck_assert_msg(le32_at(w.data + 12) == 4, "length %u, want 4", le32_at(w.data + 12));
    ck_assert_msg(w.data[16] == 0x88 && w.data[23] == 0x11, "seq bytes %02x..%02x", w.data[16],
                  w.data[23]);
}
END_TEST

START_TEST(test_parse_ok)
{
    struct msg_header h;
    struct msg_reader r;

    msg_begin(&w, MT_QUERY, 3, 99);
    msg_put_u32(&w, 0xabcdef01u);
    msg_put_str(&w, "pat", 3);
    msg_finish(&w);
    uint8_t *buf = copy_of(0, w.len);
    int rc = msg_parse(buf, w.len, &h, &r);
    uint32_t v = msg_get_u32(&r);
    uint32_t len;
    const char *s = msg_get_str(&r, &len);
    bool ok = msg_reader_ok(&r) && r.pos == r.len && len == 3 && memcmp(s, "pat", 3) == 0;
    free(buf);
    ck_assert_msg(rc == SG_OK, "msg_parse of a good message returned %d", rc);
    ck_assert_msg(h.version == MSG_VERSION && h.type == MT_QUERY && h.shard == 3 && h.seq == 99,
                  "header: version %u type %u shard %u seq %llu", h.version, h.type, h.shard,
                  (unsigned long long)h.seq);
    ck_assert_msg(h.length == 4 + 4 + 3, "payload length %u, want 11", h.length);
    ck_assert_msg(v == 0xabcdef01u && ok, "payload read back wrong (0x%x)", v);

    /* An empty payload (CANCEL). */
    msg_begin(&w, MT_CANCEL, 0, 5);
    msg_finish(&w);
    rc = msg_parse(w.data, w.len, &h, &r);
    ck_assert_msg(rc == SG_OK && h.type == MT_CANCEL && h.length == 0 && r.len == 0,
                  "empty payload: rc %d type %u length %u", rc, h.type, h.length);
}
END_TEST

/* A valid 28-byte message in w, then one byte changed. */
static int parse_with_byte(size_t at, uint8_t value, size_t n)
{
    struct msg_header h;
    struct msg_reader r;
    msg_begin(&w, MT_FILE, 1, 2);
    msg_put_u32(&w, 3);
    msg_finish(&w);
    if (at < w.len)
        w.data[at] = value;
    uint8_t *buf = copy_of(0, n);
    int rc = msg_parse(buf, n, &h, &r);
    free(buf);
    return rc;
}

START_TEST(test_parse_bad_magic)
{
    ck_assert_msg(parse_with_byte(99, 0, 28) == SG_OK, "the unmodified message is refused");
    ck_assert_msg(parse_with_byte(0, 'X', 28) == SG_ERR, "magic XGRP accepted");
    ck_assert_msg(parse_with_byte(3, 'p', 28) == SG_ERR, "magic SGRp accepted");
}
END_TEST

START_TEST(test_parse_bad_version)
{
    ck_assert_msg(parse_with_byte(4, 0, 28) == SG_ERR, "version 0 accepted");
    ck_assert_msg(parse_with_byte(4, MSG_VERSION + 1, 28) == SG_ERR, "version %d accepted",
                  MSG_VERSION + 1);
    ck_assert_msg(parse_with_byte(5, 1, 28) == SG_ERR, "version 0x%x accepted",
                  0x100 | MSG_VERSION);
}
END_TEST

START_TEST(test_parse_wrong_length)
{
    /* The length field must equal the bytes after the header. */
    ck_assert_msg(parse_with_byte(12, 5, 28) == SG_ERR, "length 5 with 4 payload bytes accepted");
    ck_assert_msg(parse_with_byte(12, 3, 28) == SG_ERR, "length 3 with 4 payload bytes accepted");
    ck_assert_msg(parse_with_byte(15, 1, 28) == SG_ERR, "length 2^24+4 accepted");
    /* A datagram cut short, or with bytes to spare. */
    ck_assert_msg(parse_with_byte(99, 0, 27) == SG_ERR, "27 bytes with length 4 accepted");
}
END_TEST

START_TEST(test_parse_short)
{
    struct msg_header h;
    struct msg_reader r;
    msg_begin(&w, MT_CANCEL, 0, 0);
    msg_finish(&w);
    for (size_t n = 0; n < MSG_HEADER_SIZE; n++) {
        uint8_t *buf = copy_of(0, n);
        int rc = msg_parse(buf, n, &h, &r);
        free(buf);
        ck_assert_msg(rc == SG_ERR, "a %zu-byte message was accepted", n);
    }
}
END_TEST

START_TEST(test_parse_max)
{
    struct msg_header h;
    struct msg_reader r;
    uint8_t *pad = xcalloc(1, MSG_MAX);

    /* Exactly MSG_MAX bytes: accepted. */
    msg_begin(&w, MT_LINES, 0, 0);
    msg_put_raw(&w, pad, MSG_MAX - MSG_HEADER_SIZE);
    msg_finish(&w);
    int rc_max = msg_parse(w.data, w.len, &h, &r);
    size_t len_max = w.len;
    /* One byte more, with a length field that agrees: refused. */
    msg_begin(&w, MT_LINES, 0, 0);
    msg_put_raw(&w, pad, MSG_MAX - MSG_HEADER_SIZE + 1);
    msg_finish(&w);
    int rc_over = msg_parse(w.data, w.len, &h, &r);
    size_t len_over = w.len;
    free(pad);
    ck_assert_msg(rc_max == SG_OK, "a %zu-byte message (MSG_MAX) was refused", len_max);
    ck_assert_msg(rc_over == SG_ERR, "a %zu-byte message (> MSG_MAX) was accepted", len_over);
}
END_TEST

/* ------------------------------------------------------------------ */
/* msg_query_decode                                                    */
/* ------------------------------------------------------------------ */

static void put_query(uint32_t flags, uint32_t max, uint32_t context, uint32_t timeout,
                      const char *pat, size_t plen, const char *path, size_t pathlen,
                      const char *exc, size_t exclen)
{
    w.len = 0;
    msg_put_u32(&w, flags);
    msg_put_u32(&w, max);
    msg_put_u32(&w, context);
    msg_put_u32(&w, timeout);
    msg_put_str(&w, pat, plen);
    msg_put_str(&w, path, pathlen);
    msg_put_str(&w, exc, exclen);
    msg_put_str(&w, "", 0); /* trees: all */
    msg_put_str(&w, "", 0); /* languages: all */
}

/* Decode w's bytes from an exact-size copy. */
static int decode_query(struct msg_query *q)
{
    struct msg_reader r;
    uint8_t *buf = copy_of(0, w.len);
    msg_reader_init(&r, buf, w.len);
    int rc = msg_query_decode(&r, q);
    free(buf); /* q's strings pointed into buf: callers only check rc */
    return rc;
}

START_TEST(test_query_round_trip)
{
    struct msg_query q;
    struct msg_reader r;

    put_query(MSG_QF_LITERAL | MSG_QF_CASELESS, 500, 3, 2500, "fo+", 3, "src,*.c", 7, "", 0);
    msg_reader_init(&r, w.data, w.len);
    int rc = msg_query_decode(&r, &q);
    ck_assert_msg(rc == SG_OK, "msg_query_decode returned %d", rc);
    ck_assert_msg(q.flags == (MSG_QF_LITERAL | MSG_QF_CASELESS) && q.max == 500 && q.context == 3 &&
                      q.timeout_ms == 2500,
                  "flags %u max %u context %u timeout %u", q.flags, q.max, q.context, q.timeout_ms);
    ck_assert_msg(q.pattern_len == 3 && memcmp(q.pattern, "fo+", 3) == 0, "pattern \"%.*s\"",
                  (int)q.pattern_len, q.pattern);
    ck_assert_msg(q.path_len == 7 && memcmp(q.path, "src,*.c", 7) == 0, "path \"%.*s\"",
                  (int)q.path_len, q.path);
    ck_assert_msg(q.exclude_len == 0, "exclude length %u", q.exclude_len);
}
END_TEST

START_TEST(test_query_rejects_nul)
{
    struct msg_query q;
    put_query(0, 1, 0, 1, "a\0b", 3, "", 0, "", 0);
    ck_assert_msg(decode_query(&q) == SG_ERR, "NUL inside the pattern accepted");
    put_query(0, 1, 0, 1, "ab", 2, "x\0", 2, "", 0);
    ck_assert_msg(decode_query(&q) == SG_ERR, "NUL inside the path globs accepted");
    put_query(0, 1, 0, 1, "ab", 2, "", 0, "\0", 1);
    ck_assert_msg(decode_query(&q) == SG_ERR, "NUL inside the exclude globs accepted");
}
END_TEST

START_TEST(test_query_trailing_garbage)
{
    struct msg_query q;
    put_query(0, 1, 0, 1, "ab", 2, "", 0, "", 0);
    ck_assert_msg(decode_query(&q) == SG_OK, "the well-formed query is refused");
    msg_put_u8(&w, 0);
    ck_assert_msg(decode_query(&q) == SG_ERR, "one byte of trailing garbage accepted");
}
END_TEST

START_TEST(test_query_context_limit)
{
    struct msg_query q;
    put_query(0, 1, MSG_MAX_CONTEXT, 1, "ab", 2, "", 0, "", 0);
    ck_assert_msg(decode_query(&q) == SG_OK, "context %d refused", MSG_MAX_CONTEXT);
    put_query(0, 1, MSG_MAX_CONTEXT + 1, 1, "ab", 2, "", 0, "", 0);
    ck_assert_msg(decode_query(&q) == SG_ERR, "context %d accepted", MSG_MAX_CONTEXT + 1);
    put_query(0, 1, UINT32_MAX, 1, "ab", 2, "", 0, "", 0);
    ck_assert_msg(decode_query(&q) == SG_ERR, "context 0xffffffff accepted");
}
END_TEST

START_TEST(test_query_truncated)
{
    struct msg_query q;
    put_query(0, 1, 0, 1, "abc", 3, "x", 1, "y", 1);
    size_t full = w.len;
    for (size_t n = 0; n < full; n++) {
        w.len = n;
        int rc = decode_query(&q);
        ck_assert_msg(rc == SG_ERR, "a query cut to %zu of %zu bytes was accepted", n, full);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* msg_record_decode                                                   */
/* ------------------------------------------------------------------ */

/* A record written field by field, as the worker's wire format says. */
static void put_record(uint32_t file, uint32_t line, uint32_t col, uint8_t flags, const char *text,
                       const uint32_t *ranges, unsigned nranges, const char *const *before,
                       unsigned nbefore, const char *const *after, unsigned nafter)
{
    struct check_record r = {file,    line,   col,   flags,   text,  ranges,
                             nranges, before, after, nbefore, nafter};
    check_put_record(&w, &r);
}

static int decode_record_copy(size_t n)
{
    struct msg_reader r;
    struct msg_record rec;
    uint8_t *buf = copy_of(0, n);
    msg_reader_init(&r, buf, n);
    int rc = msg_record_decode(&r, &rec);
    free(buf);
    return rc;
}

/* The i-th string of a before/after list, as on the wire. */
static const char *wire_str(const uint8_t *p, unsigned i, uint32_t *len)
{
    struct msg_reader r;
    msg_reader_init(&r, p, 1 << 20);
    const char *s = "";
    for (unsigned k = 0; k <= i; k++)
        s = msg_get_str(&r, len);
    return s;
}

START_TEST(test_record_decode)
{
    static const uint32_t ranges[] = {0, 3, 8, 11};
    static const char *const before[] = {"line 1", ""};
    static const char *const after[] = {"line 4"};
    struct msg_reader r;
    struct msg_record rec;
    uint32_t a, b, len;

    put_record(12, 3, 0, 0, "foo bar foo", ranges, 2, before, 2, after, 1);
    put_record(13, 1, 40, MSG_RF_CLIPPED, "x", NULL, 0, NULL, 0, NULL, 0);
    msg_reader_init(&r, w.data, w.len);
    int rc = msg_record_decode(&r, &rec);
    ck_assert_msg(rc == SG_OK, "msg_record_decode returned %d", rc);
    ck_assert_msg(rec.file_id == 12 && rec.line == 3 && rec.column == 0 && rec.flags == 0,
                  "file %u line %u column %u flags %u", rec.file_id, rec.line, rec.column,
                  rec.flags);
    ck_assert_msg(rec.text_len == 11 && memcmp(rec.text, "foo bar foo", 11) == 0, "text \"%.*s\"",
                  (int)rec.text_len, rec.text);
    ck_assert_msg(rec.nranges == 2, "nranges %u, want 2", rec.nranges);
    msg_record_range(&rec, 0, &a, &b);
    ck_assert_msg(a == 0 && b == 3, "range 0 is [%u, %u), want [0, 3)", a, b);
    msg_record_range(&rec, 1, &a, &b);
    ck_assert_msg(a == 8 && b == 11, "range 1 is [%u, %u), want [8, 11)", a, b);
    ck_assert_msg(rec.nbefore == 2 && rec.nafter == 1, "nbefore %u nafter %u", rec.nbefore,
                  rec.nafter);
    const char *s = wire_str(rec.before, 0, &len);
    ck_assert_msg(len == 6 && memcmp(s, "line 1", 6) == 0, "before[0] \"%.*s\"", (int)len, s);
    s = wire_str(rec.before, 1, &len);
    ck_assert_msg(len == 0, "before[1] has length %u, want 0", len);
    s = wire_str(rec.after, 0, &len);
    ck_assert_msg(len == 6 && memcmp(s, "line 4", 6) == 0, "after[0] \"%.*s\"", (int)len, s);

    /* The reader is left at the next record. */
    rc = msg_record_decode(&r, &rec);
    ck_assert_msg(rc == SG_OK, "second record: %d", rc);
    ck_assert_msg(rec.file_id == 13 && rec.line == 1 && rec.column == 40 &&
                      rec.flags == MSG_RF_CLIPPED && rec.nranges == 0 && rec.nbefore == 0 &&
                      rec.nafter == 0,
                  "second record: file %u line %u column %u flags %u", rec.file_id, rec.line,
                  rec.column, rec.flags);
    ck_assert_msg(r.pos == r.len, "reader at %zu of %zu after two records", r.pos, r.len);
}
END_TEST

START_TEST(test_record_bad_ranges)
{
    static const uint32_t end_past_text[] = {2, 6}; /* text is 5 bytes */
    static const uint32_t start_after_end[] = {3, 2};
    static const uint32_t at_end[] = {5, 5}; /* empty, at the end: fine */
    static const uint32_t second_bad[] = {0, 1, 4, 9};

    put_record(0, 1, 0, 0, "hello", at_end, 1, NULL, 0, NULL, 0);
    ck_assert_msg(decode_record_copy(w.len) == SG_OK, "range [5, 5) of a 5-byte text refused");
    w.len = 0;
    put_record(0, 1, 0, 0, "hello", end_past_text, 1, NULL, 0, NULL, 0);
    ck_assert_msg(decode_record_copy(w.len) == SG_ERR, "range end 6 > text length 5 accepted");
    w.len = 0;
    put_record(0, 1, 0, 0, "hello", start_after_end, 1, NULL, 0, NULL, 0);
    ck_assert_msg(decode_record_copy(w.len) == SG_ERR, "range [3, 2) accepted");
    w.len = 0;
    put_record(0, 1, 0, 0, "hello", second_bad, 2, NULL, 0, NULL, 0);
    ck_assert_msg(decode_record_copy(w.len) == SG_ERR, "bad second range [4, 9) accepted");
}
END_TEST

START_TEST(test_record_too_many_ranges)
{
    uint32_t *ranges = xcalloc(2 * (MSG_MAX_RANGES + 1), sizeof *ranges);
    put_record(0, 1, 0, 0, "hello", ranges, MSG_MAX_RANGES, NULL, 0, NULL, 0);
    int rc_max = decode_record_copy(w.len);
    w.len = 0;
    put_record(0, 1, 0, 0, "hello", ranges, MSG_MAX_RANGES + 1, NULL, 0, NULL, 0);
    int rc_over = decode_record_copy(w.len);
    free(ranges);
    ck_assert_msg(rc_max == SG_OK, "%d empty ranges refused", MSG_MAX_RANGES);
    ck_assert_msg(rc_over == SG_ERR, "%d ranges (> MSG_MAX_RANGES) accepted", MSG_MAX_RANGES + 1);
}
END_TEST

START_TEST(test_record_truncated)
{
    static const uint32_t ranges[] = {0, 2};
    static const char *const before[] = {"b1", "b2"};
    static const char *const after[] = {"a1"};
    put_record(5, 9, 0, 0, "hello", ranges, 1, before, 2, after, 1);
    size_t full = w.len;
    ck_assert_msg(decode_record_copy(full) == SG_OK, "the whole record is refused");
    for (size_t n = 0; n < full; n++)
        ck_assert_msg(decode_record_copy(n) == SG_ERR,
                      "a record cut to %zu of %zu bytes was "
                      "accepted",
                      n, full);
}
END_TEST

/* ------------------------------------------------------------------ */
/* msg_hello_encode / msg_hello_decode                                 */
/* ------------------------------------------------------------------ */

START_TEST(test_hello_round_trip)
{
    const struct msg_hello in = {.files = 12345,
                                 .lines = 1ull << 40,
                                 .bytes = UINT64_MAX - 1,
                                 .binary = 3,
                                 .unreadable = 4,
                                 .too_large = 5,
                                 .load_us = 987654321ull,
                                 .pid = 4242,
                                 .changed = 6};
    struct msg_hello out;
    struct msg_header h;
    struct msg_reader r;

    msg_hello_encode(&w, 6, &in);
    uint8_t *buf = copy_of(0, w.len);
    int rc = msg_parse(buf, w.len, &h, &r);
    int rc2 = rc == SG_OK ? msg_hello_decode(&r, &out) : SG_ERR;
    free(buf);
    ck_assert_msg(rc == SG_OK && h.type == MT_HELLO && h.shard == 6,
                  "parse: rc %d type %u shard %u", rc, h.type, h.shard);
    ck_assert_msg(rc2 == SG_OK, "msg_hello_decode returned %d", rc2);
    ck_assert_msg(out.files == in.files && out.lines == in.lines && out.bytes == in.bytes &&
                      out.binary == in.binary && out.unreadable == in.unreadable &&
                      out.too_large == in.too_large && out.load_us == in.load_us &&
                      out.pid == in.pid && out.changed == in.changed,
                  "hello: files %u lines %llu bytes %llu binary %u unreadable %u too_large %u "
                  "load_us %llu pid %u",
                  out.files, (unsigned long long)out.lines, (unsigned long long)out.bytes,
                  out.binary, out.unreadable, out.too_large, (unsigned long long)out.load_us,
                  out.pid);
}
END_TEST

START_TEST(test_hello_bad_length)
{
    const struct msg_hello in = {.files = 1};
    struct msg_hello out;
    struct msg_reader r;

    msg_hello_encode(&w, 0, &in);
    size_t payload = w.len - MSG_HEADER_SIZE;
    uint8_t *buf = copy_of(MSG_HEADER_SIZE, payload);
    msg_reader_init(&r, buf, payload - 1);
    int rc_short = msg_hello_decode(&r, &out);
    free(buf);
    msg_put_u8(&w, 0);
    buf = copy_of(MSG_HEADER_SIZE, payload + 1);
    msg_reader_init(&r, buf, payload + 1);
    int rc_long = msg_hello_decode(&r, &out);
    free(buf);
    ck_assert_msg(rc_short == SG_ERR, "a HELLO one byte short was accepted");
    ck_assert_msg(rc_long == SG_ERR, "a HELLO with a trailing byte was accepted");
}
END_TEST

/* ------------------------------------------------------------------ */
/* msg_done_encode / msg_done_decode                                   */
/* ------------------------------------------------------------------ */

START_TEST(test_done_round_trip)
{
    const struct msg_done in = {.status = MSG_ST_TIMED_OUT,
                                .matched_lines = 77,
                                .matched_files = 5,
                                .elapsed_us = 123456,
                                .limit_hits = 2,
                                .error = "too slow",
                                .error_len = 8};
    struct msg_done out;
    struct msg_header h;
    struct msg_reader r;

    msg_done_encode(&w, 2, 314, &in);
    int rc = msg_parse(w.data, w.len, &h, &r);
    ck_assert_msg(rc == SG_OK && h.type == MT_DONE && h.shard == 2 && h.seq == 314,
                  "parse: rc %d type %u shard %u seq %llu", rc, h.type, h.shard,
                  (unsigned long long)h.seq);
    rc = msg_done_decode(&r, &out);
    ck_assert_msg(rc == SG_OK, "msg_done_decode returned %d", rc);
    ck_assert_msg(out.status == in.status && out.matched_lines == 77 && out.matched_files == 5 &&
                      out.elapsed_us == 123456 && out.limit_hits == 2,
                  "done: status %u lines %llu files %llu us %llu limit %u", out.status,
                  (unsigned long long)out.matched_lines, (unsigned long long)out.matched_files,
                  (unsigned long long)out.elapsed_us, out.limit_hits);
    ck_assert_msg(out.error_len == 8 && memcmp(out.error, "too slow", 8) == 0, "error \"%.*s\"",
                  (int)out.error_len, out.error);
}
END_TEST

START_TEST(test_done_no_error)
{
    const struct msg_done in = {.status = MSG_ST_NOT_FOUND, .error = NULL, .error_len = 5};
    struct msg_done out;
    struct msg_header h;
    struct msg_reader r;

    msg_done_encode(&w, 0, 1, &in);
    int rc = msg_parse(w.data, w.len, &h, &r);
    int rc2 = msg_done_decode(&r, &out);
    ck_assert_msg(rc == SG_OK && rc2 == SG_OK, "parse %d, decode %d", rc, rc2);
    ck_assert_msg(out.status == MSG_ST_NOT_FOUND, "status %u", out.status);
    ck_assert_msg(out.error_len == 0, "a NULL error came back with length %u", out.error_len);
}
END_TEST

START_TEST(test_done_bad_status)
{
    struct msg_done in = {.status = MSG_ST_NOT_FOUND + 1};
    struct msg_done out;
    struct msg_header h;
    struct msg_reader r;

    for (unsigned st = MSG_ST_NOT_FOUND + 1; st <= 255; st += 50) {
        in.status = (uint8_t)st;
        msg_done_encode(&w, 0, 1, &in);
        int rc = msg_parse(w.data, w.len, &h, &r);
        ck_assert_msg(rc == SG_OK, "parse: %d", rc);
        rc = msg_done_decode(&r, &out);
        ck_assert_msg(rc == SG_ERR, "DONE with unknown status %u accepted", st);
    }
    /* every known status is accepted */
    for (unsigned st = MSG_ST_DONE; st <= MSG_ST_NOT_FOUND; st++) {
        in.status = (uint8_t)st;
        msg_done_encode(&w, 0, 1, &in);
        msg_parse(w.data, w.len, &h, &r);
        int rc = msg_done_decode(&r, &out);
        ck_assert_msg(rc == SG_OK && out.status == st, "status %u: rc %d, read back %u", st, rc,
                      out.status);
    }
}
END_TEST

START_TEST(test_done_truncated)
{
    const struct msg_done in = {.status = MSG_ST_DONE, .error = "e", .error_len = 1};
    struct msg_done out;
    struct msg_reader r;

    msg_done_encode(&w, 0, 1, &in);
    size_t payload = w.len - MSG_HEADER_SIZE;
    for (size_t n = 0; n < payload; n++) {
        uint8_t *buf = copy_of(MSG_HEADER_SIZE, n);
        msg_reader_init(&r, buf, n);
        int rc = msg_done_decode(&r, &out);
        free(buf);
        ck_assert_msg(rc == SG_ERR, "a DONE payload cut to %zu of %zu bytes was accepted", n,
                      payload);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* The other codecs: each round-trips, and refuses every truncation     */
/* ------------------------------------------------------------------ */

/* Parse w as a whole message of the given type; the reader covers its
 * payload (pointing into w, which the test keeps). */
static void parse_w(uint16_t type, struct msg_header *h, struct msg_reader *r)
{
    int rc = msg_parse(w.data, w.len, h, r);
    ck_assert_msg(rc == SG_OK && h->type == type, "parse: rc %d type %u, want %u", rc, h->type,
                  type);
}

/* Every prefix of the payload is refused by decode (called on an
 * exact-size copy). */
typedef int (*decode_fn)(struct msg_reader *r);
static void check_truncations(decode_fn decode, const char *what)
{
    size_t payload = w.len - MSG_HEADER_SIZE;
    for (size_t n = 0; n < payload; n++) {
        uint8_t *buf = copy_of(MSG_HEADER_SIZE, n);
        struct msg_reader r;
        msg_reader_init(&r, buf, n);
        int rc = decode(&r);
        free(buf);
        ck_assert_msg(rc == SG_ERR, "%s cut to %zu of %zu payload bytes was accepted", what, n,
                      payload);
    }
}

START_TEST(test_query_encode_round_trip)
{
    struct msg_query in = {.flags = MSG_QF_CASELESS | MSG_QF_FILES | MSG_QF_FACETS,
                           .max = 7,
                           .context = 3,
                           .timeout_ms = 1234,
                           .pattern = "a(b|c)",
                           .pattern_len = 6,
                           .path = "src/",
                           .path_len = 4,
                           .exclude = "*.md",
                           .exclude_len = 4,
                           .trees = (const uint8_t *)"\x05",
                           .trees_len = 1,
                           .langs = (const uint8_t *)"\x00\x82",
                           .langs_len = 2};
    msg_query_encode(&w, 99, &in);
    struct msg_header h;
    struct msg_reader r;
    struct msg_query out;
    parse_w(MT_QUERY, &h, &r);
    ck_assert_msg(h.seq == 99, "seq %llu", (unsigned long long)h.seq);
    ck_assert_msg(msg_query_decode(&r, &out) == SG_OK, "decode failed");
    ck_assert_msg(
        out.flags == in.flags && out.max == 7 && out.context == 3 && out.timeout_ms == 1234 &&
            out.pattern_len == 6 && !memcmp(out.pattern, "a(b|c)", 6) && out.path_len == 4 &&
            !memcmp(out.path, "src/", 4) && out.exclude_len == 4 && !memcmp(out.exclude, "*.md", 4),
        "QUERY fields differ after the round trip");
    ck_assert_msg(out.langs_len == 2 && msg_query_lang(&out, 9) && msg_query_lang(&out, 15) &&
                      !msg_query_lang(&out, 8) && !msg_query_lang(&out, 0) &&
                      !msg_query_lang(&out, 16),
                  "the language bitmap differs after the round trip");
    ck_assert_msg(msg_query_tree(&out, 0) && !msg_query_tree(&out, 1) && msg_query_tree(&out, 2),
                  "the tree bitmap differs after the round trip");
    in.langs_len = 0;
    msg_query_encode(&w, 99, &in);
    parse_w(MT_QUERY, &h, &r);
    ck_assert_msg(msg_query_decode(&r, &out) == SG_OK && msg_query_lang(&out, 0) &&
                      msg_query_lang(&out, 1000),
                  "an empty language bitmap does not select every language");
}
END_TEST

START_TEST(test_query_unknown_flags)
{
    struct msg_query q;
    put_query(MSG_QF_ALL, 1, 0, 1, "ab", 2, "", 0, "", 0);
    ck_assert_msg(decode_query(&q) == SG_OK, "every known flag refused");
    put_query(MSG_QF_ALL + 1, 1, 0, 1, "ab", 2, "", 0, "", 0);
    ck_assert_msg(decode_query(&q) == SG_ERR, "a flag this version does not know accepted");
}
END_TEST

/* FACETS: entries survive the trip, a full message refuses the next entry,
 * and a bad kind, a NUL in a key or a cut message is an error. */
START_TEST(test_facets_round_trip)
{
    msg_facets_begin(&w, 1, 42);
    struct msg_facet in[3] = {
        {.kind = MSG_FACET_TOP, .tree = 0, .key = "drivers", .key_len = 7, .lines = 9, .files = 2},
        {.kind = MSG_FACET_SUB,
         .tree = 3,
         .key = "drivers/net",
         .key_len = 11,
         .lines = 5,
         .files = 1},
        {.kind = MSG_FACET_LANG, .key = "", .key_len = 0, .lines = UINT64_MAX, .files = 7}};
    for (int i = 0; i < 3; i++)
        ck_assert_msg(msg_facets_add(&w, &in[i]), "entry %d refused", i);
    ck_assert_msg(msg_facets_count(&w) == 3, "count %u", msg_facets_count(&w));
    msg_facets_finish(&w);
    struct msg_header h;
    struct msg_reader r;
    parse_w(MT_FACETS, &h, &r);
    ck_assert_msg(h.shard == 1 && h.seq == 42, "header %u %llu", h.shard,
                  (unsigned long long)h.seq);
    uint32_t count;
    ck_assert_msg(msg_facets_decode(&r, &count) == SG_OK && count == 3, "count %u", count);
    for (int i = 0; i < 3; i++) {
        struct msg_facet out;
        ck_assert_msg(msg_facets_next(&r, &out) == SG_OK, "entry %d refused", i);
        ck_assert_msg(out.kind == in[i].kind && out.tree == in[i].tree &&
                          out.key_len == in[i].key_len &&
                          !memcmp(out.key, in[i].key, out.key_len) && out.lines == in[i].lines &&
                          out.files == in[i].files,
                      "entry %d differs", i);
    }
    ck_assert_msg(msg_decoded_all(&r), "bytes left after the entries");

    /* Fill one message: the entry that does not fit is refused whole. */
    char key[1000];
    memset(key, 'k', sizeof key);
    msg_facets_begin(&w, 0, 1);
    uint32_t added = 0;
    while (msg_facets_add(
        &w, &(struct msg_facet){.kind = MSG_FACET_TOP, .key = key, .key_len = sizeof key}))
        added++;
    size_t len = w.len;
    ck_assert_msg(added > 0 && msg_facets_count(&w) == added && len <= MSG_MAX,
                  "added %u, count %u, %zu bytes", added, msg_facets_count(&w), len);
    msg_facets_finish(&w);
    parse_w(MT_FACETS, &h, &r);

    /* A bad kind, a NUL in a key. */
    for (int bad = 0; bad < 2; bad++) {
        msg_facets_begin(&w, 0, 1);
        ck_assert(
            msg_facets_add(&w, &(struct msg_facet){.kind = bad ? MSG_FACET_TOP : MSG_FACET_KINDS,
                                                   .key = bad ? "a\0b" : "ab",
                                                   .key_len = 3}));
        msg_facets_finish(&w);
        parse_w(MT_FACETS, &h, &r);
        struct msg_facet out;
        ck_assert_msg(msg_facets_decode(&r, &count) == SG_OK && msg_facets_next(&r, &out) == SG_ERR,
                      bad ? "a key holding NUL accepted" : "an unknown kind accepted");
    }
}
END_TEST

START_TEST(test_empty_messages)
{
    static const uint16_t types[] = {MT_CANCEL, MT_PING, MT_PONG};
    for (size_t i = 0; i < 3; i++) {
        msg_empty_encode(&w, types[i], 3, 1000 + i);
        struct msg_header h;
        struct msg_reader r;
        parse_w(types[i], &h, &r);
        ck_assert_msg(h.shard == 3 && h.seq == 1000 + i && h.length == 0, "header %u %llu %u",
                      h.shard, (unsigned long long)h.seq, h.length);
        ck_assert_msg(msg_empty_decode(&r) == SG_OK, "empty message refused");
        msg_put_u8(&w, 0);
        msg_finish(&w);
        parse_w(types[i], &h, &r);
        ck_assert_msg(msg_empty_decode(&r) == SG_ERR, "a payload byte was accepted");
    }
}
END_TEST

static int decode_file(struct msg_reader *r)
{
    uint32_t id;
    return msg_file_decode(r, &id);
}

START_TEST(test_file_round_trip)
{
    msg_file_encode(&w, 1, 5, 0xdeadbeef);
    struct msg_header h;
    struct msg_reader r;
    uint32_t id = 0;
    parse_w(MT_FILE, &h, &r);
    ck_assert_msg(msg_file_decode(&r, &id) == SG_OK && id == 0xdeadbeef && h.seq == 5, "id %x", id);
    check_truncations(decode_file, "FILE");
}
END_TEST

/* FILES: the head, then every entry. */
static int decode_files(struct msg_reader *r)
{
    struct msg_files f;
    if (msg_files_decode(r, &f) < 0)
        return SG_ERR;
    for (uint32_t i = 0; i < f.count; i++) {
        struct msg_file_entry e;
        if (msg_files_next(r, &f, &e) < 0)
            return SG_ERR;
    }
    return msg_decoded_all(r) ? SG_OK : SG_ERR;
}

START_TEST(test_files_round_trip)
{
    static const struct msg_file_entry in[] = {{3, {120, 2049, 77, 1234567890123}, 0, "src/a.c", 7},
                                               {9, {0, 2050, 1ull << 40, -5}, 2, "d/e f.txt", 9}};
    msg_files_begin(&w, 1, 10);
    for (size_t i = 0; i < 2; i++)
        ck_assert_msg(msg_files_add(&w, &in[i]), "entry %zu did not fit", i);
    msg_files_finish(&w, true);
    struct msg_header h;
    struct msg_reader r;
    struct msg_files f;
    parse_w(MT_FILES, &h, &r);
    ck_assert_msg(msg_files_decode(&r, &f) == SG_OK && f.last && f.total == 10 && f.count == 2,
                  "head: last %d total %u count %u", f.last, f.total, f.count);
    for (size_t i = 0; i < 2; i++) {
        struct msg_file_entry e;
        ck_assert_msg(msg_files_next(&r, &f, &e) == SG_OK, "entry %zu refused", i);
        ck_assert_msg(e.id == in[i].id && stamp_same(&e.stamp, &in[i].stamp) &&
                          e.tree == in[i].tree && e.path_len == in[i].path_len &&
                          !memcmp(e.path, in[i].path, e.path_len),
                      "entry %zu differs", i);
    }
    ck_assert_msg(msg_decoded_all(&r), "bytes left after the entries");
    check_truncations(decode_files, "FILES");
}
END_TEST

START_TEST(test_files_bad_entries)
{
    struct msg_header h;
    struct msg_reader r;
    struct msg_files f;
    struct msg_file_entry e;
    /* an id not below total */
    const struct msg_file_entry big = {10, {1, 1, 1, 0}, 0, "x", 1};
    msg_files_begin(&w, 0, 10);
    msg_files_add(&w, &big);
    msg_files_finish(&w, false);
    parse_w(MT_FILES, &h, &r);
    ck_assert(msg_files_decode(&r, &f) == SG_OK);
    ck_assert_msg(msg_files_next(&r, &f, &e) == SG_ERR, "id 10 of 10 accepted");
    /* a path holding NUL, an empty path */
    const struct msg_file_entry nul = {1, {1, 1, 1, 0}, 0, "a\0b", 3},
                                empty = {1, {1, 1, 1, 0}, 0, "", 0};
    const struct msg_file_entry *bad[] = {&nul, &empty};
    for (size_t i = 0; i < 2; i++) {
        msg_files_begin(&w, 0, 10);
        msg_files_add(&w, bad[i]);
        msg_files_finish(&w, false);
        parse_w(MT_FILES, &h, &r);
        ck_assert(msg_files_decode(&r, &f) == SG_OK);
        ck_assert_msg(msg_files_next(&r, &f, &e) == SG_ERR, "bad path %zu accepted", i);
    }
}
END_TEST

START_TEST(test_files_fill_one_message)
{
    /* Entries go in while they fit; the message never passes MSG_MAX. */
    char path[200];
    memset(path, 'p', sizeof path);
    msg_files_begin(&w, 0, 100000);
    uint32_t n = 0;
    struct msg_file_entry e = {0, {1, 1, 1, 0}, 0, path, sizeof path};
    while (msg_files_add(&w, &e))
        e.id = ++n;
    msg_files_finish(&w, false);
    ck_assert_msg(w.len <= MSG_MAX && n > 100, "%u entries in %zu bytes", n, w.len);
    struct msg_header h;
    struct msg_reader r;
    parse_w(MT_FILES, &h, &r);
    ck_assert_msg(decode_files(&r) == SG_OK, "a full FILES message does not decode");
}
END_TEST

static int decode_progress(struct msg_reader *r)
{
    uint32_t files;
    uint64_t bytes;
    return msg_progress_decode(r, &files, &bytes);
}

START_TEST(test_progress_round_trip)
{
    msg_progress_encode(&w, 1, 640, 1ull << 33);
    struct msg_header h;
    struct msg_reader r;
    uint32_t files;
    uint64_t bytes;
    parse_w(MT_PROGRESS, &h, &r);
    ck_assert_msg(msg_progress_decode(&r, &files, &bytes) == SG_OK && files == 640 &&
                      bytes == 1ull << 33 && h.shard == 1,
                  "progress %u %llu", files, (unsigned long long)bytes);
    check_truncations(decode_progress, "PROGRESS");
}
END_TEST

/* BATCH: records encoded by msg_record_encode() read as the format says
 * (check_put_record() writes the same record field by field). */
START_TEST(test_batch_round_trip)
{
    static const uint32_t ranges[] = {1, 3, 5, 6};
    static const char *const before[] = {"b1", "b2"}, *const after[] = {"a1"};
    static const uint32_t blen[] = {2, 2}, alen[] = {2};
    const struct msg_record_out out = {.file_id = 4,
                                       .line = 10,
                                       .column = 2,
                                       .flags = MSG_RF_CLIPPED,
                                       .text = "foofoo",
                                       .text_len = 6,
                                       .ranges = ranges,
                                       .nranges = 2,
                                       .before = before,
                                       .before_len = blen,
                                       .nbefore = 2,
                                       .after = after,
                                       .after_len = alen,
                                       .nafter = 1};
    struct msg_writer rec, ref;
    msg_writer_init(&rec);
    msg_writer_init(&ref);
    msg_record_encode(&rec, &out);
    struct check_record cr = {4, 10, 2, MSG_RF_CLIPPED, "foofoo", ranges, 2, before, after, 2, 1};
    check_put_record(&ref, &cr);
    ck_assert_msg(rec.len == ref.len && !memcmp(rec.data, ref.data, rec.len),
                  "msg_record_encode() and the format disagree (%zu and %zu bytes)", rec.len,
                  ref.len);
    msg_batch_begin(&w, 1, 77);
    ck_assert(msg_batch_fits(&w, rec.len));
    msg_batch_add(&w, rec.data, rec.len);
    msg_batch_add(&w, rec.data, rec.len);
    msg_batch_finish(&w);
    ck_assert_msg(msg_batch_count(&w) == 2, "count %u", msg_batch_count(&w));
    struct msg_header h;
    struct msg_reader r;
    uint32_t count;
    parse_w(MT_BATCH, &h, &r);
    ck_assert(msg_batch_decode(&r, &count) == SG_OK && count == 2);
    for (uint32_t i = 0; i < count; i++) {
        struct msg_record m, again;
        const uint8_t *at;
        ck_assert_msg(msg_batch_next(&r, &m, &at) == SG_OK, "record %u refused", i);
        msg_record_at(at, &again);
        uint32_t len;
        const char *b2 = msg_record_context(m.before, 1, &len);
        ck_assert_msg(m.file_id == 4 && m.line == 10 && m.column == 2 && m.nranges == 2 &&
                          again.text == m.text && len == 2 && !memcmp(b2, "b2", 2),
                      "record %u differs", i);
    }
    ck_assert_msg(msg_decoded_all(&r), "bytes left after the records");
    msg_writer_free(&rec);
    msg_writer_free(&ref);
}
END_TEST

/* LINES: the head, then every line. */
static int decode_lines(struct msg_reader *r)
{
    uint32_t first, count;
    if (msg_lines_decode(r, &first, &count) < 0)
        return SG_ERR;
    for (uint32_t i = 0; i < count; i++) {
        uint8_t flags;
        const char *text;
        uint32_t len;
        const uint8_t *at;
        if (msg_lines_next(r, &flags, &text, &len, &at) < 0)
            return SG_ERR;
    }
    return msg_decoded_all(r) ? SG_OK : SG_ERR;
}

START_TEST(test_lines_round_trip)
{
    msg_lines_begin(&w, 0, 3, 41);
    ck_assert(msg_lines_add(&w, 0, "one", 3));
    ck_assert(msg_lines_add(&w, MSG_RF_CLIPPED, "", 0));
    msg_lines_finish(&w);
    struct msg_header h;
    struct msg_reader r;
    uint32_t first, count;
    parse_w(MT_LINES, &h, &r);
    ck_assert(msg_lines_decode(&r, &first, &count) == SG_OK && first == 41 && count == 2);
    uint8_t flags, f2;
    const char *text, *t2;
    uint32_t len, l2;
    const uint8_t *at;
    ck_assert(msg_lines_next(&r, &flags, &text, &len, &at) == SG_OK);
    msg_line_at(at, &f2, &t2, &l2);
    ck_assert_msg(flags == 0 && len == 3 && !memcmp(text, "one", 3) && t2 == text && l2 == 3,
                  "line 1 differs");
    ck_assert(msg_lines_next(&r, &flags, &text, &len, &at) == SG_OK);
    ck_assert_msg(flags == MSG_RF_CLIPPED && len == 0, "line 2 differs");
    ck_assert(msg_decoded_all(&r));
    check_truncations(decode_lines, "LINES");
}
END_TEST

START_TEST(test_lines_fill_one_message)
{
    /* The first line always goes in (the worker clips it to fit); later
     * ones while they fit. */
    static char big[MSG_MAX - 100];
    memset(big, 'z', sizeof big);
    msg_lines_begin(&w, 0, 1, 1);
    ck_assert_msg(msg_lines_add(&w, 0, big, sizeof big), "a first line was refused");
    ck_assert_msg(!msg_lines_add(&w, 0, big, 100), "a second line past MSG_MAX was taken");
    msg_lines_finish(&w);
    ck_assert_msg(w.len <= MSG_MAX, "%zu bytes", w.len);
}
END_TEST

Suite *suite_msg(void)
{
    Suite *s = suite_create("msg");
    TCase *tc;

    tc = tcase_create("msg_put_get");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_integers_round_trip);
    tcase_add_test(tc, test_integers_little_endian);
    tcase_add_test(tc, test_strings_round_trip);
    tcase_add_test(tc, test_raw_and_patch);
    tcase_add_test(tc, test_writer_grows);
    suite_add_tcase(s, tc);

    tc = tcase_create("msg_reader");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_read_past_end);
    tcase_add_test(tc, test_string_past_end);
    suite_add_tcase(s, tc);

    tc = tcase_create("msg_parse");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_header_layout);
    tcase_add_test(tc, test_parse_ok);
    tcase_add_test(tc, test_parse_bad_magic);
    tcase_add_test(tc, test_parse_bad_version);
    tcase_add_test(tc, test_parse_wrong_length);
    tcase_add_test(tc, test_parse_short);
    tcase_add_test(tc, test_parse_max);
    suite_add_tcase(s, tc);

    tc = tcase_create("msg_query_decode");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_query_round_trip);
    tcase_add_test(tc, test_query_rejects_nul);
    tcase_add_test(tc, test_query_trailing_garbage);
    tcase_add_test(tc, test_query_context_limit);
    tcase_add_test(tc, test_query_truncated);
    suite_add_tcase(s, tc);

    tc = tcase_create("msg_record_decode");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_record_decode);
    tcase_add_test(tc, test_record_bad_ranges);
    tcase_add_test(tc, test_record_too_many_ranges);
    tcase_add_test(tc, test_record_truncated);
    suite_add_tcase(s, tc);

    tc = tcase_create("msg_hello");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_hello_round_trip);
    tcase_add_test(tc, test_hello_bad_length);
    suite_add_tcase(s, tc);

    tc = tcase_create("msg_done");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_done_round_trip);
    tcase_add_test(tc, test_done_no_error);
    tcase_add_test(tc, test_done_bad_status);
    tcase_add_test(tc, test_done_truncated);
    suite_add_tcase(s, tc);

    tc = tcase_create("msg_codecs");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_query_encode_round_trip);
    tcase_add_test(tc, test_query_unknown_flags);
    tcase_add_test(tc, test_facets_round_trip);
    tcase_add_test(tc, test_empty_messages);
    tcase_add_test(tc, test_file_round_trip);
    tcase_add_test(tc, test_files_round_trip);
    tcase_add_test(tc, test_files_bad_entries);
    tcase_add_test(tc, test_files_fill_one_message);
    tcase_add_test(tc, test_progress_round_trip);
    tcase_add_test(tc, test_batch_round_trip);
    tcase_add_test(tc, test_lines_round_trip);
    tcase_add_test(tc, test_lines_fill_one_message);
    suite_add_tcase(s, tc);

    return s;
}
