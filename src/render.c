#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "utf8.h"
#include "util.h"

cJSON *render_string(const char *s, size_t n)
{
    char stackbuf[2048];
    size_t need = utf8_valid(s, n, NULL) ? n + 1 : UTF8_REPAIR_MAX(n) + 1;
    char *z = need <= sizeof stackbuf ? stackbuf : xmalloc(need);
    size_t len = need == n + 1 ? (memcpy(z, s, n), n) : utf8_repair(s, n, z);
    z[len] = '\0';
    cJSON *item = cJSON_CreateString(z);
    if (z != stackbuf)
        free(z);
    if (!item)
        die("out of memory building JSON");
    return item;
}

cJSON *render_error(const struct api_error *e)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(doc, "error");
    cJSON_AddStringToObject(err, "code", e->code);
    cJSON_AddItemToObject(err, "message", render_string(e->message, strlen(e->message)));
    if (e->param[0])
        cJSON_AddItemToObject(err, "param", render_string(e->param, strlen(e->param)));
    if (e->offset >= 0)
        cJSON_AddNumberToObject(err, "offset", (double)e->offset);
    return doc;
}

/* Results and file lines are written straight into the text, not built as
 * a cJSON tree first: a page of 100,000 results with context made a tree
 * of millions of nodes (1.5 GB for a 119 MB answer).  Strings are escaped
 * as cJSON prints them. */
/* s must be a string literal. */
#define jw_lit(w, s) strbuf_add((w), "" s, sizeof(s) - 1)

static void jw_uint(struct strbuf *w, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    strbuf_add(w, tmp, (size_t)n);
}

/* A JSON string of valid UTF-8 bytes. */
static void jw_escaped(struct strbuf *w, const unsigned char *s, size_t n)
{
    strbuf_reserve(w, n * 6 + 2);
    char *o = w->buf + w->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *o++ = (char)c;
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default:
            o += sprintf(o, "u%04x", c);
            break;
        }
    }
    *o++ = '"';
    *o = '\0'; /* room for it was reserved */
    w->len = (size_t)(o - w->buf);
}

/* A JSON string of n bytes, repaired to valid UTF-8 if it is not. */
static void jw_str(struct strbuf *w, const char *s, size_t n)
{
    if (utf8_valid(s, n, NULL)) {
        jw_escaped(w, (const unsigned char *)s, n);
        return;
    }
    char *z = xmalloc(UTF8_REPAIR_MAX(n) + 1);
    size_t len = utf8_repair(s, n, z);
    jw_escaped(w, (const unsigned char *)z, len);
    free(z);
}

static void jw_strings(struct strbuf *w, const uint8_t *wire, unsigned n)
{
    struct msg_reader r;
    msg_reader_init(&r, wire, (size_t)-1 / 2);
    jw_lit(w, "[");
    for (unsigned i = 0; i < n; i++) {
        uint32_t len;
        const char *s = msg_get_str(&r, &len);
        if (i)
            jw_lit(w, ",");
        jw_str(w, s, len);
    }
    jw_lit(w, "]");
}

/* The text, NUL-terminated as everything that writes to it leaves it. */
static char *jw_finish(struct strbuf *w, size_t *len)
{
    *len = w->len;
    return w->buf;
}

static void write_record(struct strbuf *w, const uint8_t *rec, const struct file_list *files,
                         unsigned context)
{
    struct msg_reader r;
    struct msg_record m;
    /* The record was validated when it was filed; its end is not known
     * here, so the reader is given a large bound. */
    msg_reader_init(&r, rec, (size_t)-1 / 2);
    msg_record_decode(&r, &m);
    const char *path = m.file_id < files->n ? files->v[m.file_id].path : "";
    jw_lit(w, "{\"path\":");
    jw_str(w, path, strlen(path));
    jw_lit(w, ",\"line\":");
    jw_uint(w, m.line);
    jw_lit(w, ",\"text\":");
    jw_str(w, m.text, m.text_len);
    jw_lit(w, ",\"ranges\":[");
    for (unsigned i = 0; i < m.nranges; i++) {
        uint32_t a, b;
        msg_record_range(&m, i, &a, &b);
        if (i)
            jw_lit(w, ",");
        jw_lit(w, "[");
        jw_uint(w, a);
        jw_lit(w, ",");
        jw_uint(w, b);
        jw_lit(w, "]");
    }
    jw_lit(w, "]");
    if (context > 0) {
        jw_lit(w, ",\"before\":");
        jw_strings(w, m.before, m.nbefore);
        jw_lit(w, ",\"after\":");
        jw_strings(w, m.after, m.nafter);
    }
    if (m.flags & MSG_RF_CLIPPED) {
        jw_lit(w, ",\"clipped\":true,\"column\":");
        jw_uint(w, m.column);
    }
    jw_lit(w, "}");
}

char *render_record_text(const uint8_t *rec, const struct file_list *files, unsigned context,
                         size_t *len)
{
    struct strbuf w = {0};
    write_record(&w, rec, files, context);
    return jw_finish(&w, len);
}

static void add_query_fields(cJSON *doc, const struct query_spec *s)
{
    cJSON *q = cJSON_AddObjectToObject(doc, "query");
    cJSON_AddItemToObject(q, "q", render_string(s->q, strlen(s->q)));
    cJSON_AddBoolToObject(q, "literal", s->literal);
    cJSON_AddStringToObject(q, "case", query_case_name(s->cmode));
    cJSON_AddBoolToObject(q, "ignore_case", query_caseless(s)); /* what case=auto decided */
    cJSON_AddItemToObject(q, "path", render_string(s->path, strlen(s->path)));
    cJSON_AddItemToObject(q, "exclude", render_string(s->exclude, strlen(s->exclude)));
    cJSON_AddNumberToObject(q, "max", s->max);
    cJSON_AddNumberToObject(q, "context", s->context);
    cJSON_AddNumberToObject(q, "timeout_ms", s->timeout_ms);
}

static void add_stats(cJSON *doc, const struct query_view *v)
{
    cJSON *st = cJSON_AddObjectToObject(doc, "stats");
    cJSON_AddNumberToObject(st, "matched_lines", (double)v->matched_lines);
    cJSON_AddNumberToObject(st, "matched_files", (double)v->matched_files);
    cJSON_AddNumberToObject(st, "returned", (double)v->nresults);
    cJSON_AddBoolToObject(st, "truncated", v->matched_lines > v->nresults);
    if (v->memory_cut)
        cJSON_AddBoolToObject(st, "memory_cut", true);
    cJSON_AddNumberToObject(st, "elapsed_ms", (double)(long long)(v->elapsed_ms * 1000) / 1000);
    if (v->limit_hits)
        cJSON_AddNumberToObject(st, "limit_hits", v->limit_hits);
    cJSON *sh = cJSON_AddObjectToObject(st, "shards");
    cJSON_AddNumberToObject(sh, "total", v->shards_total);
    cJSON_AddNumberToObject(sh, "done", v->shards_done);
    cJSON *failed = cJSON_AddArrayToObject(sh, "failed");
    for (unsigned i = 0; i < v->nfailed; i++)
        cJSON_AddItemToArray(failed, cJSON_CreateNumber(v->failed[i]));
}

char *render_query(const struct query_view *v, const struct file_list *files, size_t offset,
                   size_t limit, size_t *len)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "id", v->id);
    cJSON_AddStringToObject(doc, "status", query_status_name(v->status));
    if (v->status == QS_QUEUED)
        cJSON_AddNumberToObject(doc, "queue_position", v->queue_position);
    if (v->error[0])
        cJSON_AddItemToObject(doc, "error", render_string(v->error, strlen(v->error)));
    add_query_fields(doc, &v->spec);
    add_stats(doc, v);
    size_t from = offset < v->nresults ? offset : v->nresults;
    size_t to = v->nresults - from < limit ? v->nresults : from + limit;
    cJSON *page = cJSON_AddObjectToObject(doc, "page");
    cJSON_AddNumberToObject(page, "offset", (double)offset);
    cJSON_AddNumberToObject(page, "limit", (double)limit);
    cJSON_AddNumberToObject(page, "count", (double)(to - from));
    /* The small part as cJSON; the results written after it, inside the
     * same object. */
    size_t head_len;
    char *head = render_print(doc, &head_len);
    struct strbuf w = {.buf = head, .len = head_len - 1, .cap = head_len + 1}; /* drop the '}' */
    jw_lit(&w, ",\"results\":[");
    for (size_t i = from; i < to; i++) {
        if (i > from)
            jw_lit(&w, ",");
        write_record(&w, v->results[i].rec, files, v->spec.context);
    }
    jw_lit(&w, "]}");
    return jw_finish(&w, len);
}

size_t render_query_estimate(const struct query_view *v, size_t offset, size_t limit)
{
    size_t from = offset < v->nresults ? offset : v->nresults;
    size_t to = v->nresults - from < limit ? v->nresults : from + limit;
    size_t est = 4096;
    for (size_t i = from; i < to; i++) {
        struct msg_reader r;
        struct msg_record m;
        msg_reader_init(&r, v->results[i].rec, (size_t)-1 / 2);
        msg_record_decode(&r, &m);
        /* The record's bytes, its keys, and the context lines' quotes. */
        est += r.pos + 96 + 4 * (size_t)(m.nbefore + m.nafter);
    }
    return est;
}

char *render_file(const char *path, const struct result_ref *lines, size_t n, size_t *len)
{
    struct strbuf w = {0};
    jw_lit(&w, "{\"path\":");
    jw_str(&w, path, strlen(path));
    jw_lit(&w, ",\"line_count\":");
    jw_uint(&w, n);
    jw_lit(&w, ",\"lines\":[");
    size_t nclipped = 0;
    for (size_t i = 0; i < n; i++) {
        struct msg_reader r;
        uint32_t slen;
        /* Validated when it was filed (registry.c). */
        msg_reader_init(&r, lines[i].rec, (size_t)-1 / 2);
        uint8_t flags = msg_get_u8(&r);
        const char *s = msg_get_str(&r, &slen);
        if (i)
            jw_lit(&w, ",");
        jw_str(&w, s, slen);
        nclipped += (flags & MSG_RF_CLIPPED) != 0;
    }
    jw_lit(&w, "]");
    if (nclipped) {
        jw_lit(&w, ",\"clipped_lines\":[");
        for (size_t i = 0, k = 0; i < n; i++) {
            if (!(*lines[i].rec & MSG_RF_CLIPPED))
                continue;
            if (k++)
                jw_lit(&w, ",");
            jw_uint(&w, lines[i].line);
        }
        jw_lit(&w, "]");
    }
    jw_lit(&w, "}");
    return jw_finish(&w, len);
}

char *render_print(cJSON *doc, size_t *len)
{
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!text)
        die("out of memory printing JSON");
    *len = strlen(text);
    return text;
}
