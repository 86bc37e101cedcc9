/*
 * msg.h - the messages between the master and its workers: their one
 * home.  Every message type's encoder and decoder is here, beside each
 * other, so one round-trip test (check_msg.c) and one fuzzer (fuzz_msg.c)
 * cover the whole format, and a transport (transport.h) carries the bytes
 * unchanged, whether between processes or, later, between machines.
 *
 * Every message is one datagram of at most MSG_MAX bytes and starts with a
 * fixed 24-byte header, all integers little-endian whatever the host:
 *
 *   offset size field
 *   0      4    magic   "SGRP" (0x50524753 read as little-endian u32)
 *   4      2    version MSG_VERSION; a receiver rejects any other
 *   6      2    type    enum msg_type
 *   8      4    shard   the worker's shard index
 *   12     4    length  payload bytes after the header
 *   16     8    seq     the master's number for the request it belongs to
 *
 * Payload fields are written in order with no padding: u8/u16/u32/u64
 * integers, and strings as a u32 length followed by the bytes (no NUL).
 * Decoders never trust a message: every read is bounds-checked, and a
 * malformed message is an error, never a crash.  A decoder that returns
 * SG_OK has consumed the payload exactly (no trailing bytes).
 *
 *   QUERY   master->worker  u32 flags (MSG_QF_*), u32 max, u32 context,
 *                           u32 timeout_ms (what is left of the query's
 *                           deadline when it was sent), str pattern,
 *                           str path globs, str exclude globs, str trees
 *                           (a bitmap: bit i of byte i/8 set for each tree
 *                           searched; empty: every tree), str langs (the
 *                           same, for language ids (lang.h))
 *   CANCEL  master->worker  (empty)
 *   FILE    master->worker  u32 file id
 *   FILES   master->worker  (to a restarted worker, before anything else)
 *                           u8 last, u32 total files, u32 count, then count
 *                           entries: u32 file id, u64 size, u64 device,
 *                           u64 inode, u64 mtime (ns), u32 tree, str path
 *   CHANGES master->worker  u32 count, then count entries: u8 op (0: load
 *                           the file, replacing any version of it; 1:
 *                           drop it), then a FILES entry; seq: the batch's
 *                           number.  One batch is one version (store.h)
 *   PING    master->worker  (empty) a heartbeat: answered by PONG, also in
 *                           the middle of a search
 *   HELLO   worker->master  u32 files, u64 lines, u64 bytes, u32 binary,
 *                           u32 unreadable, u32 too_large, u64 load_us,
 *                           u32 pid, u32 changed
 *   PROGRESS worker->master u32 files read, u64 bytes read (while loading)
 *   BATCH   worker->master  u32 count, then count records:
 *                           u32 file id, u32 line, u32 column, u8 flags,
 *                           str text, u16 nranges, nranges x (u32, u32),
 *                           u8 nbefore, strs, u8 nafter, strs.  A record
 *                           flagged MSG_RF_FILE is a file (MSG_QF_FILES):
 *                           line holds its count of matching lines, text
 *                           is empty; one flagged MSG_RF_PATH is a file
 *                           whose path matched (MSG_QF_PATHS): line 0,
 *                           text the path as matched (invalid UTF-8
 *                           repaired), ranges into it
 *   FACETS  worker->master  u32 count, then count entries: u8 kind
 *                           (enum msg_facet_kind), u32 tree, str key,
 *                           u64 lines, u64 files; sent before the DONE of a
 *                           MSG_QF_FACETS query, in as many messages as
 *                           it takes
 *   LINES   worker->master  u32 first line number, u32 count, then count
 *                           lines: u8 flags (MSG_RF_CLIPPED), str text
 *   DONE    worker->master  u8 status, u64 matched_lines, u64 matched_files,
 *                           u64 elapsed_us, u32 limit_hits, str error
 *   PONG    worker->master  (empty) the answer to a PING, same seq
 *   APPLIED worker->master  u32 loaded, u32 removed, u32 failed, u32 version,
 *                           then the shard's counts as in a HELLO (without
 *                           load_us and pid); seq: the CHANGES batch
 *
 * BATCH records and LINES lines stay where they arrived: the master keeps
 * the datagram and points into it.  Such a view was checked once, when it
 * was filed (msg_batch_next(), msg_lines_next()); msg_record_at() and
 * msg_line_at() read it again later without a bound.
 */
#ifndef SHARDGREP_MSG_H
#define SHARDGREP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stamp.h"

#define MSG_MAGIC       0x50524753u
#define MSG_VERSION     3
#define MSG_HEADER_SIZE 24
#define MSG_MAX         65536

enum msg_type {
    MT_QUERY = 1,
    MT_CANCEL = 2,
    MT_FILE = 3,
    MT_FILES = 4,
    MT_PING = 5,
    MT_CHANGES = 6,
    MT_HELLO = 16,
    MT_BATCH = 17,
    MT_LINES = 18,
    MT_DONE = 19,
    MT_PROGRESS = 20,
    MT_PONG = 21,
    MT_APPLIED = 22,
    MT_FACETS = 23,
};

/* QUERY flags. */
#define MSG_QF_LITERAL  1u
#define MSG_QF_CASELESS 2u
#define MSG_QF_PATHS    4u  /* match the pattern against paths, not lines */
#define MSG_QF_FILES    8u  /* send each matching file once, with its count */
#define MSG_QF_FACETS   16u /* send FACETS before DONE */
#define MSG_QF_ALL      31u

/* Record flags in a BATCH. */
#define MSG_RF_CLIPPED 1u
#define MSG_RF_FILE    2u /* a file and its count of matching lines (in line) */
#define MSG_RF_PATH    4u /* a file whose path matched: ranges are in the path */

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

/* A message with no payload (CANCEL, PING, PONG). */
void msg_empty_encode(struct msg_writer *w, uint16_t type, uint32_t shard, uint64_t seq);
int msg_empty_decode(struct msg_reader *r);

/* QUERY.  Decoded strings point into the message and hold no NUL. */
struct msg_query {
    uint32_t flags, max, context, timeout_ms;
    const char *pattern, *path, *exclude;
    uint32_t pattern_len, path_len, exclude_len;
    const uint8_t *trees; /* bitmap; NULL or empty: every tree */
    uint32_t trees_len;
    const uint8_t *langs; /* bitmap of language ids; NULL or empty: every file */
    uint32_t langs_len;
};
/* Whether bit i is set in a bitmap of n bytes; an empty one selects all. */
static inline bool msg_bitmap_has(const uint8_t *map, uint32_t n, uint32_t i)
{
    return n == 0 || (i / 8 < n && (map[i / 8] >> (i % 8) & 1));
}
/* Whether a QUERY searches tree t, and files of language id lang. */
static inline bool msg_query_tree(const struct msg_query *q, uint32_t t)
{
    return msg_bitmap_has(q->trees, q->trees_len, t);
}
static inline bool msg_query_lang(const struct msg_query *q, uint32_t lang)
{
    return msg_bitmap_has(q->langs, q->langs_len, lang);
}
void msg_query_encode(struct msg_writer *w, uint64_t seq, const struct msg_query *q);
int msg_query_decode(struct msg_reader *r, struct msg_query *q);

/* FILE: the lines of one file, for the file view. */
void msg_file_encode(struct msg_writer *w, uint32_t shard, uint64_t seq, uint32_t file_id);
int msg_file_decode(struct msg_reader *r, uint32_t *file_id);

/* FILES: a restarted worker's part of the file list, in as many messages
 * as it takes.  msg_files_begin() starts one; msg_files_add() appends an
 * entry, or returns false (and appends nothing) when it would not fit;
 * msg_files_finish() closes the message. */
struct msg_file_entry {
    uint32_t id;
    struct file_stamp stamp;
    uint32_t tree;
    const char *path; /* not NUL-terminated when decoded */
    uint32_t path_len;
};
void msg_files_begin(struct msg_writer *w, uint32_t shard, uint32_t total);
bool msg_files_add(struct msg_writer *w, const struct msg_file_entry *e);
void msg_files_finish(struct msg_writer *w, bool last);
/* The head of a FILES payload; then msg_files_next() count times. */
struct msg_files {
    bool last;
    uint32_t total, count;
};
int msg_files_decode(struct msg_reader *r, struct msg_files *f);
/* The next entry: SG_OK, or SG_ERR when malformed (a path with a NUL, an
 * id not below total, or past the end).  After the last entry, the reader
 * must be at the end: check with msg_decoded_all(). */
int msg_files_next(struct msg_reader *r, const struct msg_files *f, struct msg_file_entry *e);
bool msg_decoded_all(const struct msg_reader *r);

/* CHANGES: a batch of files to load or drop.  msg_changes_begin(), then
 * msg_changes_add() while it returns true, msg_changes_finish(). */
#define MSG_CH_LOAD   0
#define MSG_CH_REMOVE 1
void msg_changes_begin(struct msg_writer *w, uint32_t shard, uint64_t seq);
bool msg_changes_add(struct msg_writer *w, uint8_t op, const struct msg_file_entry *e);
void msg_changes_finish(struct msg_writer *w);
/* The count; then msg_changes_next() that many times, then check
 * msg_decoded_all(). */
int msg_changes_decode(struct msg_reader *r, uint32_t *count);
int msg_changes_next(struct msg_reader *r, uint8_t *op, struct msg_file_entry *e);

/* HELLO: the worker's load report. */
struct msg_hello {
    uint32_t files;
    uint64_t lines, bytes;
    uint32_t binary, unreadable, too_large;
    uint64_t load_us;
    uint32_t pid;
    uint32_t changed; /* files skipped: replaced since the walk saw them */
};
void msg_hello_encode(struct msg_writer *w, uint32_t shard, const struct msg_hello *h);
int msg_hello_decode(struct msg_reader *r, struct msg_hello *h);

/* APPLIED: what a CHANGES batch did, and the shard's counts after it. */
struct msg_applied {
    uint32_t loaded, removed, failed, version;
    struct msg_hello counts; /* load_us and pid not sent */
};
void msg_applied_encode(struct msg_writer *w, uint32_t shard, uint64_t seq,
                        const struct msg_applied *a);
int msg_applied_decode(struct msg_reader *r, struct msg_applied *a);

/* PROGRESS, while loading. */
void msg_progress_encode(struct msg_writer *w, uint32_t shard, uint32_t files, uint64_t bytes);
int msg_progress_decode(struct msg_reader *r, uint32_t *files, uint64_t *bytes);

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
/* What a worker sends of one matching line.  ranges holds nranges
 * (start, end) pairs relative to text; before/after the context lines. */
struct msg_record_out {
    uint32_t file_id, line, column;
    uint8_t flags;
    const char *text;
    uint32_t text_len;
    const uint32_t *ranges;
    uint16_t nranges;
    const char *const *before, *const *after;
    const uint32_t *before_len, *after_len;
    uint8_t nbefore, nafter;
};
/* Append one record (no header) to w: a BATCH is built from records. */
void msg_record_encode(struct msg_writer *w, const struct msg_record_out *r);
/* Decode the record at the reader's position and advance past it. */
int msg_record_decode(struct msg_reader *r, struct msg_record *rec);
/* The i-th range of a decoded record. */
void msg_record_range(const struct msg_record *rec, unsigned i, uint32_t *start, uint32_t *end);
/* The i-th context line of a list (rec->before or rec->after). */
const char *msg_record_context(const uint8_t *list, unsigned i, uint32_t *len);
/* A record checked when it was filed, read again from its first byte. */
void msg_record_at(const uint8_t *at, struct msg_record *rec);

/* FACETS: counts of matching lines and files by folder and language (see
 * facets.h).  msg_facets_begin(), msg_facets_add() while it returns true
 * (false: the entry does not fit, and nothing was added), then
 * msg_facets_finish(). */
enum msg_facet_kind {
    MSG_FACET_TOP = 0,  /* key: a top-level folder ("" for files at the root) */
    MSG_FACET_SUB = 1,  /* key: a second-level folder, "top/sub" */
    MSG_FACET_LANG = 2, /* key: a language's name ("" for none) */
    MSG_FACET_KINDS = 3,
};
struct msg_facet {
    uint8_t kind;
    uint32_t tree;
    const char *key; /* not NUL-terminated when decoded */
    uint32_t key_len;
    uint64_t lines, files;
};
void msg_facets_begin(struct msg_writer *w, uint32_t shard, uint64_t seq);
bool msg_facets_add(struct msg_writer *w, const struct msg_facet *f);
void msg_facets_finish(struct msg_writer *w);
uint32_t msg_facets_count(const struct msg_writer *w);
int msg_facets_decode(struct msg_reader *r, uint32_t *count);
int msg_facets_next(struct msg_reader *r, struct msg_facet *f);

/* BATCH: msg_batch_begin(), msg_batch_add() for each encoded record while
 * msg_batch_fits(), msg_batch_finish(). */
void msg_batch_begin(struct msg_writer *w, uint32_t shard, uint64_t seq);
bool msg_batch_fits(const struct msg_writer *w, size_t rec_len);
void msg_batch_add(struct msg_writer *w, const void *rec, size_t rec_len);
void msg_batch_finish(struct msg_writer *w);
uint32_t msg_batch_count(const struct msg_writer *w);
/* The head of a BATCH payload; then msg_batch_next() count times, which
 * gives each record and where it starts in the message. */
int msg_batch_decode(struct msg_reader *r, uint32_t *count);
int msg_batch_next(struct msg_reader *r, struct msg_record *rec, const uint8_t **at);

/* LINES: msg_lines_begin(), msg_lines_add() while it returns true (a
 * first line is always taken), msg_lines_finish(). */
void msg_lines_begin(struct msg_writer *w, uint32_t shard, uint64_t seq, uint32_t first);
bool msg_lines_add(struct msg_writer *w, uint8_t flags, const char *text, size_t len);
void msg_lines_finish(struct msg_writer *w);
int msg_lines_decode(struct msg_reader *r, uint32_t *first, uint32_t *count);
/* The next line and where it starts in the message. */
int msg_lines_next(struct msg_reader *r, uint8_t *flags, const char **text, uint32_t *len,
                   const uint8_t **at);
/* A line checked when it was filed, read again from its first byte. */
void msg_line_at(const uint8_t *at, uint8_t *flags, const char **text, uint32_t *len);

/* DONE: a request's outcome and exact counts. */
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
