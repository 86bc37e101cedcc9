/*
 * msg.c - encoding and decoding of the master/worker messages (see msg.h
 * for the wire format).  Integers are written byte by byte in
 * little-endian order so the format does not depend on the host.
 */
#include "msg.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void msg_writer_init(struct msg_writer *w)
{
    w->data = NULL;
    w->len = w->cap = 0;
}

void msg_writer_free(struct msg_writer *w)
{
    free(w->data);
    msg_writer_init(w);
}

static void reserve(struct msg_writer *w, size_t more)
{
    if (w->len + more <= w->cap)
        return;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + more)
        cap *= 2;
    w->data = xrealloc(w->data, cap);
    w->cap = cap;
}

static void put_le(struct msg_writer *w, uint64_t v, int bytes)
{
    reserve(w, (size_t)bytes);
    for (int i = 0; i < bytes; i++)
        w->data[w->len++] = (uint8_t)(v >> (8 * i));
}

void msg_put_u8(struct msg_writer *w, uint8_t v)
{
    put_le(w, v, 1);
}
void msg_put_u16(struct msg_writer *w, uint16_t v)
{
    put_le(w, v, 2);
}
void msg_put_u32(struct msg_writer *w, uint32_t v)
{
    put_le(w, v, 4);
}
void msg_put_u64(struct msg_writer *w, uint64_t v)
{
    put_le(w, v, 8);
}

void msg_put_str(struct msg_writer *w, const char *s, size_t len)
{
    msg_put_u32(w, (uint32_t)len);
    msg_put_raw(w, s, len);
}

void msg_put_raw(struct msg_writer *w, const void *p, size_t len)
{
    reserve(w, len);
    if (len)
        memcpy(w->data + w->len, p, len);
    w->len += len;
}

void msg_patch_u32(struct msg_writer *w, size_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        w->data[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

void msg_begin(struct msg_writer *w, uint16_t type, uint32_t shard, uint64_t seq)
{
    w->len = 0;
    msg_put_u32(w, MSG_MAGIC);
    msg_put_u16(w, MSG_VERSION);
    msg_put_u16(w, type);
    msg_put_u32(w, shard);
    msg_put_u32(w, 0); /* length, set by msg_finish() */
    msg_put_u64(w, seq);
}

void msg_finish(struct msg_writer *w)
{
    msg_patch_u32(w, 12, (uint32_t)(w->len - MSG_HEADER_SIZE));
}

void msg_reader_init(struct msg_reader *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->pos = 0;
    r->bad = false;
}

static uint64_t get_le(struct msg_reader *r, int bytes)
{
    if (r->bad || r->len - r->pos < (size_t)bytes) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[r->pos + (size_t)i] << (8 * i);
    r->pos += (size_t)bytes;
    return v;
}

uint8_t msg_get_u8(struct msg_reader *r)
{
    return (uint8_t)get_le(r, 1);
}
uint16_t msg_get_u16(struct msg_reader *r)
{
    return (uint16_t)get_le(r, 2);
}
uint32_t msg_get_u32(struct msg_reader *r)
{
    return (uint32_t)get_le(r, 4);
}
uint64_t msg_get_u64(struct msg_reader *r)
{
    return get_le(r, 8);
}

const char *msg_get_str(struct msg_reader *r, uint32_t *len)
{
    uint32_t n = msg_get_u32(r);
    if (r->bad || r->len - r->pos < n) {
        r->bad = true;
        *len = 0;
        return "";
    }
    const char *s = (const char *)r->p + r->pos;
    r->pos += n;
    *len = n;
    return s;
}

bool msg_reader_ok(const struct msg_reader *r)
{
    return !r->bad;
}

int msg_parse(const void *buf, size_t n, struct msg_header *h, struct msg_reader *r)
{
    struct msg_reader hr;
    if (n < MSG_HEADER_SIZE || n > MSG_MAX)
        return SG_ERR;
    msg_reader_init(&hr, buf, MSG_HEADER_SIZE);
    uint32_t magic = msg_get_u32(&hr);
    h->version = msg_get_u16(&hr);
    h->type = msg_get_u16(&hr);
    h->shard = msg_get_u32(&hr);
    h->length = msg_get_u32(&hr);
    h->seq = msg_get_u64(&hr);
    if (magic != MSG_MAGIC || h->version != MSG_VERSION)
        return SG_ERR;
    if (h->length != n - MSG_HEADER_SIZE)
        return SG_ERR;
    msg_reader_init(r, (const uint8_t *)buf + MSG_HEADER_SIZE, h->length);
    return SG_OK;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A string field that will be used as a C string must hold no NUL. */
static const char *get_cstr_view(struct msg_reader *r, uint32_t *len)
{
    const char *s = msg_get_str(r, len);
    if (*len && memchr(s, '\0', *len))
        r->bad = true;
    return s;
}

bool msg_decoded_all(const struct msg_reader *r)
{
    return msg_reader_ok(r) && r->pos == r->len;
}

static int whole(const struct msg_reader *r)
{
    return msg_decoded_all(r) ? SG_OK : SG_ERR;
}

void msg_empty_encode(struct msg_writer *w, uint16_t type, uint32_t shard, uint64_t seq)
{
    msg_begin(w, type, shard, seq);
    msg_finish(w);
}

int msg_empty_decode(struct msg_reader *r)
{
    return whole(r);
}

void msg_query_encode(struct msg_writer *w, uint64_t seq, const struct msg_query *q)
{
    msg_begin(w, MT_QUERY, 0, seq);
    msg_put_u32(w, q->flags);
    msg_put_u32(w, q->max);
    msg_put_u32(w, q->context);
    msg_put_u32(w, q->timeout_ms);
    msg_put_str(w, q->pattern, q->pattern_len);
    msg_put_str(w, q->path, q->path_len);
    msg_put_str(w, q->exclude, q->exclude_len);
    msg_put_str(w, (const char *)q->trees, q->trees ? q->trees_len : 0);
    msg_put_str(w, (const char *)q->langs, q->langs ? q->langs_len : 0);
    msg_finish(w);
}

int msg_query_decode(struct msg_reader *r, struct msg_query *q)
{
    q->flags = msg_get_u32(r);
    q->max = msg_get_u32(r);
    q->context = msg_get_u32(r);
    q->timeout_ms = msg_get_u32(r);
    q->pattern = get_cstr_view(r, &q->pattern_len);
    q->path = get_cstr_view(r, &q->path_len);
    q->exclude = get_cstr_view(r, &q->exclude_len);
    q->trees = (const uint8_t *)msg_get_str(r, &q->trees_len);
    q->langs = (const uint8_t *)msg_get_str(r, &q->langs_len);
    if (q->context > MSG_MAX_CONTEXT || (q->flags & ~MSG_QF_ALL))
        r->bad = true;
    return whole(r);
}

void msg_file_encode(struct msg_writer *w, uint32_t shard, uint64_t seq, uint32_t file_id)
{
    msg_begin(w, MT_FILE, shard, seq);
    msg_put_u32(w, file_id);
    msg_finish(w);
}

int msg_file_decode(struct msg_reader *r, uint32_t *file_id)
{
    *file_id = msg_get_u32(r);
    return whole(r);
}

/* FILES: the "last" flag and the count are patched in at the end. */
#define FILES_LAST_AT  MSG_HEADER_SIZE
#define FILES_COUNT_AT (MSG_HEADER_SIZE + 5)

void msg_files_begin(struct msg_writer *w, uint32_t shard, uint32_t total)
{
    msg_begin(w, MT_FILES, shard, 0);
    msg_put_u8(w, 0);
    msg_put_u32(w, total);
    msg_put_u32(w, 0);
}

/* One file entry, as FILES and CHANGES carry it. */
#define ENTRY_FIXED (4 + 8 * 4 + 4 + 4)
static void put_entry(struct msg_writer *w, const struct msg_file_entry *e)
{
    msg_put_u32(w, e->id);
    msg_put_u64(w, e->stamp.size);
    msg_put_u64(w, e->stamp.dev);
    msg_put_u64(w, e->stamp.ino);
    msg_put_u64(w, (uint64_t)e->stamp.mtime_ns);
    msg_put_u32(w, e->tree);
    msg_put_str(w, e->path, e->path_len);
}

/* An entry's path must be a C string's worth: not empty, no NUL. */
static void get_entry(struct msg_reader *r, struct msg_file_entry *e)
{
    e->id = msg_get_u32(r);
    e->stamp.size = msg_get_u64(r);
    e->stamp.dev = msg_get_u64(r);
    e->stamp.ino = msg_get_u64(r);
    e->stamp.mtime_ns = (int64_t)msg_get_u64(r);
    e->tree = msg_get_u32(r);
    e->path = get_cstr_view(r, &e->path_len);
    if (e->path_len == 0)
        r->bad = true;
}

bool msg_files_add(struct msg_writer *w, const struct msg_file_entry *e)
{
    if (w->len + ENTRY_FIXED + e->path_len > MSG_MAX)
        return false;
    put_entry(w, e);
    msg_patch_u32(w, FILES_COUNT_AT, le32(w->data + FILES_COUNT_AT) + 1);
    return true;
}

void msg_files_finish(struct msg_writer *w, bool last)
{
    w->data[FILES_LAST_AT] = last;
    msg_finish(w);
}

int msg_files_decode(struct msg_reader *r, struct msg_files *f)
{
    uint8_t last = msg_get_u8(r);
    f->total = msg_get_u32(r);
    f->count = msg_get_u32(r);
    if (last > 1)
        r->bad = true;
    f->last = last;
    return msg_reader_ok(r) ? SG_OK : SG_ERR;
}

int msg_files_next(struct msg_reader *r, const struct msg_files *f, struct msg_file_entry *e)
{
    get_entry(r, e);
    if (e->id >= f->total)
        r->bad = true;
    return msg_reader_ok(r) ? SG_OK : SG_ERR;
}

#define CHANGES_COUNT_AT MSG_HEADER_SIZE

void msg_changes_begin(struct msg_writer *w, uint32_t shard, uint64_t seq)
{
    msg_begin(w, MT_CHANGES, shard, seq);
    msg_put_u32(w, 0);
}

bool msg_changes_add(struct msg_writer *w, uint8_t op, const struct msg_file_entry *e)
{
    if (w->len + 1 + ENTRY_FIXED + e->path_len > MSG_MAX)
        return false;
    msg_put_u8(w, op);
    put_entry(w, e);
    msg_patch_u32(w, CHANGES_COUNT_AT, le32(w->data + CHANGES_COUNT_AT) + 1);
    return true;
}

void msg_changes_finish(struct msg_writer *w)
{
    msg_finish(w);
}

int msg_changes_decode(struct msg_reader *r, uint32_t *count)
{
    *count = msg_get_u32(r);
    return msg_reader_ok(r) ? SG_OK : SG_ERR;
}

int msg_changes_next(struct msg_reader *r, uint8_t *op, struct msg_file_entry *e)
{
    *op = msg_get_u8(r);
    get_entry(r, e);
    if (*op > MSG_CH_REMOVE)
        r->bad = true;
    return msg_reader_ok(r) ? SG_OK : SG_ERR;
}

/* FACETS: the count is patched in as entries are added. */
#define FACETS_COUNT_AT MSG_HEADER_SIZE
#define FACET_FIXED     (1 + 4 + 4 + 8 + 8)

void msg_facets_begin(struct msg_writer *w, uint32_t shard, uint64_t seq)
{
    msg_begin(w, MT_FACETS, shard, seq);
    msg_put_u32(w, 0);
}

bool msg_facets_add(struct msg_writer *w, const struct msg_facet *f)
{
    if (w->len + FACET_FIXED + f->key_len > MSG_MAX)
        return false;
    msg_put_u8(w, f->kind);
    msg_put_u32(w, f->tree);
    msg_put_str(w, f->key, f->key_len);
    msg_put_u64(w, f->lines);
    msg_put_u64(w, f->files);
    msg_patch_u32(w, FACETS_COUNT_AT, le32(w->data + FACETS_COUNT_AT) + 1);
    return true;
}

void msg_facets_finish(struct msg_writer *w)
{
    msg_finish(w);
}

uint32_t msg_facets_count(const struct msg_writer *w)
{
    return w->len >= FACETS_COUNT_AT + 4 ? le32(w->data + FACETS_COUNT_AT) : 0;
}

int msg_facets_decode(struct msg_reader *r, uint32_t *count)
{
    *count = msg_get_u32(r);
    return msg_reader_ok(r) ? SG_OK : SG_ERR;
}

int msg_facets_next(struct msg_reader *r, struct msg_facet *f)
{
    f->kind = msg_get_u8(r);
    f->tree = msg_get_u32(r);
    f->key = get_cstr_view(r, &f->key_len);
    f->lines = msg_get_u64(r);
    f->files = msg_get_u64(r);
    if (f->kind >= MSG_FACET_KINDS)
        r->bad = true;
    return msg_reader_ok(r) ? SG_OK : SG_ERR;
}

void msg_hello_encode(struct msg_writer *w, uint32_t shard, const struct msg_hello *h)
{
    msg_begin(w, MT_HELLO, shard, 0);
    msg_put_u32(w, h->files);
    msg_put_u64(w, h->lines);
    msg_put_u64(w, h->bytes);
    msg_put_u32(w, h->binary);
    msg_put_u32(w, h->unreadable);
    msg_put_u32(w, h->too_large);
    msg_put_u64(w, h->load_us);
    msg_put_u32(w, h->pid);
    msg_put_u32(w, h->changed);
    msg_finish(w);
}

int msg_hello_decode(struct msg_reader *r, struct msg_hello *h)
{
    h->files = msg_get_u32(r);
    h->lines = msg_get_u64(r);
    h->bytes = msg_get_u64(r);
    h->binary = msg_get_u32(r);
    h->unreadable = msg_get_u32(r);
    h->too_large = msg_get_u32(r);
    h->load_us = msg_get_u64(r);
    h->pid = msg_get_u32(r);
    h->changed = msg_get_u32(r);
    return whole(r);
}

static void put_counts(struct msg_writer *w, const struct msg_hello *h)
{
    msg_put_u32(w, h->files);
    msg_put_u64(w, h->lines);
    msg_put_u64(w, h->bytes);
    msg_put_u32(w, h->binary);
    msg_put_u32(w, h->unreadable);
    msg_put_u32(w, h->too_large);
    msg_put_u32(w, h->changed);
}

static void get_counts(struct msg_reader *r, struct msg_hello *h)
{
    h->files = msg_get_u32(r);
    h->lines = msg_get_u64(r);
    h->bytes = msg_get_u64(r);
    h->binary = msg_get_u32(r);
    h->unreadable = msg_get_u32(r);
    h->too_large = msg_get_u32(r);
    h->changed = msg_get_u32(r);
}

void msg_applied_encode(struct msg_writer *w, uint32_t shard, uint64_t seq,
                        const struct msg_applied *a)
{
    msg_begin(w, MT_APPLIED, shard, seq);
    msg_put_u32(w, a->loaded);
    msg_put_u32(w, a->removed);
    msg_put_u32(w, a->failed);
    msg_put_u32(w, a->version);
    put_counts(w, &a->counts);
    msg_finish(w);
}

int msg_applied_decode(struct msg_reader *r, struct msg_applied *a)
{
    memset(a, 0, sizeof *a);
    a->loaded = msg_get_u32(r);
    a->removed = msg_get_u32(r);
    a->failed = msg_get_u32(r);
    a->version = msg_get_u32(r);
    get_counts(r, &a->counts);
    return whole(r);
}

void msg_progress_encode(struct msg_writer *w, uint32_t shard, uint32_t files, uint64_t bytes)
{
    msg_begin(w, MT_PROGRESS, shard, 0);
    msg_put_u32(w, files);
    msg_put_u64(w, bytes);
    msg_finish(w);
}

int msg_progress_decode(struct msg_reader *r, uint32_t *files, uint64_t *bytes)
{
    *files = msg_get_u32(r);
    *bytes = msg_get_u64(r);
    return whole(r);
}

void msg_record_encode(struct msg_writer *w, const struct msg_record_out *r)
{
    msg_put_u32(w, r->file_id);
    msg_put_u32(w, r->line);
    msg_put_u32(w, r->column);
    msg_put_u8(w, r->flags);
    msg_put_str(w, r->text, r->text_len);
    msg_put_u16(w, r->nranges);
    for (unsigned i = 0; i < r->nranges; i++) {
        msg_put_u32(w, r->ranges[2 * i]);
        msg_put_u32(w, r->ranges[2 * i + 1]);
    }
    msg_put_u8(w, r->nbefore);
    for (unsigned i = 0; i < r->nbefore; i++)
        msg_put_str(w, r->before[i], r->before_len[i]);
    msg_put_u8(w, r->nafter);
    for (unsigned i = 0; i < r->nafter; i++)
        msg_put_str(w, r->after[i], r->after_len[i]);
}

/* Skip n strings, returning where they started. */
static const uint8_t *skip_strs(struct msg_reader *r, unsigned n)
{
    const uint8_t *start = r->p + r->pos;
    uint32_t len;
    for (unsigned i = 0; i < n && !r->bad; i++)
        (void)msg_get_str(r, &len);
    return start;
}

int msg_record_decode(struct msg_reader *r, struct msg_record *rec)
{
    rec->file_id = msg_get_u32(r);
    rec->line = msg_get_u32(r);
    rec->column = msg_get_u32(r);
    rec->flags = msg_get_u8(r);
    rec->text = msg_get_str(r, &rec->text_len);
    rec->nranges = msg_get_u16(r);
    if (rec->nranges > MSG_MAX_RANGES || r->len - r->pos < (size_t)rec->nranges * 8u) {
        r->bad = true;
        return SG_ERR;
    }
    rec->ranges = r->p + r->pos;
    for (unsigned i = 0; i < rec->nranges; i++) {
        uint32_t s = msg_get_u32(r), e = msg_get_u32(r);
        if (s > e || e > rec->text_len)
            r->bad = true;
    }
    rec->nbefore = msg_get_u8(r);
    rec->before = skip_strs(r, rec->nbefore);
    rec->nafter = msg_get_u8(r);
    rec->after = skip_strs(r, rec->nafter);
    return msg_reader_ok(r) ? SG_OK : SG_ERR;
}

void msg_record_range(const struct msg_record *rec, unsigned i, uint32_t *start, uint32_t *end)
{
    *start = le32(rec->ranges + 8 * i);
    *end = le32(rec->ranges + 8 * i + 4);
}

/* A reader over bytes that were checked when filed: their end is not kept,
 * so it is given a bound no read can reach. */
static void unbounded(struct msg_reader *r, const uint8_t *at)
{
    msg_reader_init(r, at, (size_t)-1 / 2);
}

const char *msg_record_context(const uint8_t *list, unsigned i, uint32_t *len)
{
    struct msg_reader r;
    unbounded(&r, list);
    const char *s = "";
    for (unsigned k = 0; k <= i; k++)
        s = msg_get_str(&r, len);
    return s;
}

void msg_record_at(const uint8_t *at, struct msg_record *rec)
{
    struct msg_reader r;
    unbounded(&r, at);
    (void)msg_record_decode(&r, rec);
}

#define BATCH_COUNT_AT MSG_HEADER_SIZE

void msg_batch_begin(struct msg_writer *w, uint32_t shard, uint64_t seq)
{
    msg_begin(w, MT_BATCH, shard, seq);
    msg_put_u32(w, 0);
}

bool msg_batch_fits(const struct msg_writer *w, size_t rec_len)
{
    return w->len + rec_len <= MSG_MAX;
}

uint32_t msg_batch_count(const struct msg_writer *w)
{
    return le32(w->data + BATCH_COUNT_AT);
}

void msg_batch_add(struct msg_writer *w, const void *rec, size_t rec_len)
{
    msg_put_raw(w, rec, rec_len);
    msg_patch_u32(w, BATCH_COUNT_AT, msg_batch_count(w) + 1);
}

void msg_batch_finish(struct msg_writer *w)
{
    msg_finish(w);
}

int msg_batch_decode(struct msg_reader *r, uint32_t *count)
{
    *count = msg_get_u32(r);
    return msg_reader_ok(r) ? SG_OK : SG_ERR;
}

int msg_batch_next(struct msg_reader *r, struct msg_record *rec, const uint8_t **at)
{
    *at = r->p + r->pos;
    return msg_record_decode(r, rec);
}

#define LINES_COUNT_AT (MSG_HEADER_SIZE + 4)

void msg_lines_begin(struct msg_writer *w, uint32_t shard, uint64_t seq, uint32_t first)
{
    msg_begin(w, MT_LINES, shard, seq);
    msg_put_u32(w, first);
    msg_put_u32(w, 0);
}

bool msg_lines_add(struct msg_writer *w, uint8_t flags, const char *text, size_t len)
{
    uint32_t count = le32(w->data + LINES_COUNT_AT);
    if (count > 0 && w->len + 1 + 4 + len > MSG_MAX)
        return false;
    msg_put_u8(w, flags);
    msg_put_str(w, text, len);
    msg_patch_u32(w, LINES_COUNT_AT, count + 1);
    return true;
}

void msg_lines_finish(struct msg_writer *w)
{
    msg_finish(w);
}

int msg_lines_decode(struct msg_reader *r, uint32_t *first, uint32_t *count)
{
    *first = msg_get_u32(r);
    *count = msg_get_u32(r);
    return msg_reader_ok(r) ? SG_OK : SG_ERR;
}

int msg_lines_next(struct msg_reader *r, uint8_t *flags, const char **text, uint32_t *len,
                   const uint8_t **at)
{
    *at = r->p + r->pos;
    *flags = msg_get_u8(r);
    *text = msg_get_str(r, len);
    return msg_reader_ok(r) ? SG_OK : SG_ERR;
}

void msg_line_at(const uint8_t *at, uint8_t *flags, const char **text, uint32_t *len)
{
    struct msg_reader r;
    unbounded(&r, at);
    *flags = msg_get_u8(&r);
    *text = msg_get_str(&r, len);
}

void msg_done_encode(struct msg_writer *w, uint32_t shard, uint64_t seq, const struct msg_done *d)
{
    msg_begin(w, MT_DONE, shard, seq);
    msg_put_u8(w, d->status);
    msg_put_u64(w, d->matched_lines);
    msg_put_u64(w, d->matched_files);
    msg_put_u64(w, d->elapsed_us);
    msg_put_u32(w, d->limit_hits);
    msg_put_str(w, d->error ? d->error : "", d->error ? d->error_len : 0);
    msg_finish(w);
}

int msg_done_decode(struct msg_reader *r, struct msg_done *d)
{
    d->status = msg_get_u8(r);
    d->matched_lines = msg_get_u64(r);
    d->matched_files = msg_get_u64(r);
    d->elapsed_us = msg_get_u64(r);
    d->limit_hits = msg_get_u32(r);
    d->error = msg_get_str(r, &d->error_len);
    if (d->status > MSG_ST_NOT_FOUND)
        r->bad = true;
    return whole(r);
}
