/*
 * msg.h - the messages between the master and its workers.
 *
 * Every message is one datagram on the queue layer (queue.h), at most
 * MSG_MAX bytes, and starts with a fixed 24-byte header, all integers
 * little-endian whatever the host:
 *
 *   offset size field
 *   0      4    magic   "SGRP" (0x50524753 read as little-endian u32)
 *   4      2    version MSG_VERSION; a receiver rejects any other
 *   6      2    type    enum msg_type
 *   8      4    shard   the worker's shard index
 *   12     4    length  payload bytes after the header
 *   16     8    seq     the master's internal query number
 *
 * Payload fields are written in order with no padding: u8/u16/u32/u64
 * integers, and strings as a u32 length followed by the bytes (no NUL).
 * Because the layout is explicit, the same messages can later travel
 * between machines over another transport.  Decoders never trust a
 * message: every read is bounds-checked and a malformed message is an
 * error, never a crash.
 *
 *   QUERY   master->worker  u32 flags, u32 max, u32 context, u32 timeout_ms,
 *                           str pattern, str path globs, str exclude globs
 *   CANCEL  master->worker  (empty)
 *   FILE    master->worker  u32 file id
 *   FILES   master->worker  (to a restarted worker, before anything else)
 *                           u8 last, u32 total files, u32 count, then count
 *                           entries: u32 file id, u64 size, str path
 *   HELLO   worker->master  u32 files, u64 lines, u64 bytes, u32 binary,
 *                           u32 unreadable, u32 too_large, u64 load_us,
 *                           u32 pid
 *   PROGRESS worker->master u32 files read, u64 bytes read (while loading)
 *   BATCH   worker->master  u32 count, then count records:
 *                           u32 file id, u32 line, u32 column, u8 flags,
 *                           str text, u16 nranges, nranges x (u32, u32),
 *                           u8 nbefore, strs, u8 nafter, strs
 *   LINES   worker->master  u32 first line number, u32 count, then count
 *                           lines: u8 flags (MSG_RF_CLIPPED), str text
 *   DONE    worker->master  u8 status, u64 matched_lines, u64 matched_files,
 *                           u64 elapsed_us, u32 limit_hits, str error
 */
#ifndef SHARDGREP_MSG_H
#define SHARDGREP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MSG_MAGIC       0x50524753u
#define MSG_VERSION     1
#define MSG_HEADER_SIZE 24
#define MSG_MAX         65536

enum msg_type {
    MT_QUERY = 1,
    MT_CANCEL = 2,
    MT_FILE = 3,
    MT_FILES = 4,
    MT_HELLO = 16,
    MT_BATCH = 17,
    MT_LINES = 18,
    MT_DONE = 19,
    MT_PROGRESS = 20,
};

/* QUERY flags. */
#define MSG_QF_LITERAL  1u
#define MSG_QF_CASELESS 2u

/* Record flags in a BATCH. */
#define MSG_RF_CLIPPED 1u

/* Worker-side outcome of a request, carried by DONE. */
enum msg_status {
    MSG_ST_DONE = 0,
    MSG_ST_CANCELLED = 1,
    MSG_ST_TIMED_OUT = 2,
    MSG_ST_FAILED = 3,
    MSG_ST_NOT_FOUND = 4,
};

struct msg_header {
    uint16_t version;
    uint16_t type;
    uint32_t shard;
    uint32_t length;
    uint64_t seq;
};

/* A growable message being written.  msg_begin() writes the header;
 * msg_finish() fills in the payload length. */
struct msg_writer {
    uint8_t *data;
    size_t len, cap;
};

void msg_writer_init(struct msg_writer *w);
void msg_writer_free(struct msg_writer *w);
void msg_begin(struct msg_writer *w, uint16_t type, uint32_t shard, uint64_t seq);
void msg_finish(struct msg_writer *w);
void msg_put_u8(struct msg_writer *w, uint8_t v);
void msg_put_u16(struct msg_writer *w, uint16_t v);
void msg_put_u32(struct msg_writer *w, uint32_t v);
void msg_put_u64(struct msg_writer *w, uint64_t v);
void msg_put_str(struct msg_writer *w, const char *s, size_t len);
/* Append bytes already encoded (a record built in another writer). */
void msg_put_raw(struct msg_writer *w, const void *p, size_t len);
/* Overwrite a u32 already written at offset off (for counts known late). */
void msg_patch_u32(struct msg_writer *w, size_t off, uint32_t v);

/* A bounds-checked cursor over a received payload.  Any read past the end
 * sets bad and returns zero/empty; check msg_reader_ok() once at the end. */
struct msg_reader {
    const uint8_t *p;
    size_t len, pos;
    bool bad;
};

/* Parse and check the header of a received message of n bytes; on success
 * the reader covers exactly its payload. */
int msg_parse(const void *buf, size_t n, struct msg_header *h, struct msg_reader *r);
void msg_reader_init(struct msg_reader *r, const void *p, size_t len);
uint8_t msg_get_u8(struct msg_reader *r);
uint16_t msg_get_u16(struct msg_reader *r);
uint32_t msg_get_u32(struct msg_reader *r);
uint64_t msg_get_u64(struct msg_reader *r);
/* A string as pointer and length into the message (not NUL-terminated). */
const char *msg_get_str(struct msg_reader *r, uint32_t *len);
bool msg_reader_ok(const struct msg_reader *r);

/* A decoded QUERY payload (strings point into the message, NUL-free). */
struct msg_query {
    uint32_t flags, max, context, timeout_ms;
    const char *pattern, *path, *exclude;
    uint32_t pattern_len, path_len, exclude_len;
};
int msg_query_decode(struct msg_reader *r, struct msg_query *q);

/* One result record of a BATCH, decoded as views into the message. */
#define MSG_MAX_RANGES  512
#define MSG_MAX_CONTEXT 255
struct msg_record {
    uint32_t file_id, line, column;
    uint8_t flags;
    const char *text;
    uint32_t text_len;
    uint16_t nranges;
    const uint8_t *ranges; /* nranges pairs of little-endian u32 */
    uint8_t nbefore, nafter;
    const uint8_t *before; /* nbefore strings, as on the wire */
    const uint8_t *after;
};
/* Decode the record at the reader's position and advance past it. */
int msg_record_decode(struct msg_reader *r, struct msg_record *rec);
/* The i-th range of a decoded record. */
void msg_record_range(const struct msg_record *rec, unsigned i, uint32_t *start, uint32_t *end);

/* The worker's load report. */
struct msg_hello {
    uint32_t files;
    uint64_t lines, bytes;
    uint32_t binary, unreadable, too_large;
    uint64_t load_us;
    uint32_t pid;
};
void msg_hello_encode(struct msg_writer *w, uint32_t shard, const struct msg_hello *h);
int msg_hello_decode(struct msg_reader *r, struct msg_hello *h);

struct msg_done {
    uint8_t status;
    uint64_t matched_lines, matched_files, elapsed_us;
    uint32_t limit_hits;
    const char *error;
    uint32_t error_len;
};
void msg_done_encode(struct msg_writer *w, uint32_t shard, uint64_t seq, const struct msg_done *d);
int msg_done_decode(struct msg_reader *r, struct msg_done *d);

#endif
