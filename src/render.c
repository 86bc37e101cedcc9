#include "render.h"

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

static cJSON *string_array(const uint8_t *wire, unsigned n)
{
    cJSON *arr = cJSON_CreateArray();
    struct msg_reader r;
    msg_reader_init(&r, wire, (size_t)-1 / 2);
    for (unsigned i = 0; i < n; i++) {
        uint32_t len;
        const char *s = msg_get_str(&r, &len);
        cJSON_AddItemToArray(arr, render_string(s, len));
    }
    return arr;
}

cJSON *render_record(const uint8_t *rec, const struct file_list *files, unsigned context)
{
    struct msg_reader r;
    struct msg_record m;
    /* The record was validated when it was filed; its end is not known
     * here, so the reader is given a large bound. */
    msg_reader_init(&r, rec, (size_t)-1 / 2);
    msg_record_decode(&r, &m);
    cJSON *o = cJSON_CreateObject();
    const char *path = m.file_id < files->n ? files->v[m.file_id].path : "";
    cJSON_AddItemToObject(o, "path", render_string(path, strlen(path)));
    cJSON_AddNumberToObject(o, "line", m.line);
    cJSON_AddItemToObject(o, "text", render_string(m.text, m.text_len));
    cJSON *ranges = cJSON_AddArrayToObject(o, "ranges");
    for (unsigned i = 0; i < m.nranges; i++) {
        uint32_t a, b;
        msg_record_range(&m, i, &a, &b);
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateNumber(a));
        cJSON_AddItemToArray(pair, cJSON_CreateNumber(b));
        cJSON_AddItemToArray(ranges, pair);
    }
    if (context > 0) {
        cJSON_AddItemToObject(o, "before", string_array(m.before, m.nbefore));
        cJSON_AddItemToObject(o, "after", string_array(m.after, m.nafter));
    }
    if (m.flags & MSG_RF_CLIPPED) {
        cJSON_AddTrueToObject(o, "clipped");
        cJSON_AddNumberToObject(o, "column", m.column);
    }
    return o;
}

static void add_query_fields(cJSON *doc, const struct query_spec *s)
{
    cJSON *q = cJSON_AddObjectToObject(doc, "query");
    cJSON_AddItemToObject(q, "q", render_string(s->q, strlen(s->q)));
    cJSON_AddBoolToObject(q, "literal", s->literal);
    cJSON_AddStringToObject(q, "case", query_case_name(s->cmode));
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

cJSON *render_query(const struct query_view *v, const struct file_list *files, size_t offset,
                    size_t limit)
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
    cJSON *results = cJSON_AddArrayToObject(doc, "results");
    for (size_t i = from; i < to; i++)
        cJSON_AddItemToArray(results, render_record(v->results[i].rec, files, v->spec.context));
    return doc;
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
