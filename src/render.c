/*
 * render.c - the JSON documents of the API (see render.h): small ones
 * through cJSON, results and file lines written as text.
 */
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang.h"
#include "links.h"
#include "msg.h"
#include "utf8.h"
#include "util.h"

/* Bytes of the query document besides the results and its strings. */
#define QUERY_HEAD_MAX 4096

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
    return item; /* NULL without memory: cJSON's Add functions then fail too */
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
    if (e->id[0])
        cJSON_AddStringToObject(err, "id", e->id);
    return doc;
}

char *render_error_text(const struct api_error *e, size_t *len)
{
    char *text = render_print(render_error(e), len);
    if (!text) {
        static const char oom[] =
            "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"the server is out of memory\"}}";
        text = strdup(oom);
        *len = text ? sizeof oom - 1 : 0;
    }
    return text;
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
    if (!strbuf_reserve(w, n * 6 + 2))
        return;
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
    char *z = malloc(UTF8_REPAIR_MAX(n) + 1);
    if (!z) {
        free(w->buf);
        *w = (struct strbuf){.soft = true, .failed = true};
        return;
    }
    size_t len = utf8_repair(s, n, z);
    jw_escaped(w, (const unsigned char *)z, len);
    free(z);
}

/* What JSON escaping makes of n bytes of valid UTF-8, quotes included. */
static size_t escaped_len(const unsigned char *s, size_t n)
{
    size_t len = n + 2;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
            len += 1;
        else if (c < 0x20)
            len += 5;
    }
    return len;
}

/* At least what jw_str() writes for n bytes. */
static size_t jw_str_len(const char *s, size_t n)
{
    if (utf8_valid(s, n, NULL))
        return escaped_len((const unsigned char *)s, n);
    return UTF8_REPAIR_MAX(n) * 6 + 2; /* rare: paths that are not UTF-8 */
}

static void jw_strings(struct strbuf *w, const uint8_t *list, unsigned n)
{
    jw_lit(w, "[");
    for (unsigned i = 0; i < n; i++) {
        uint32_t len;
        const char *s = msg_record_context(list, i, &len);
        if (i)
            jw_lit(w, ",");
        jw_str(w, s, len);
    }
    jw_lit(w, "]");
}

/* The text, NUL-terminated as everything that writes to it leaves it; NULL
 * when a soft buffer ran out of memory. */
static char *jw_finish(struct strbuf *w, size_t *len)
{
    if (w->failed) {
        *len = 0;
        return NULL;
    }
    *len = w->len;
    return w->buf;
}

/* ,"editor_url":"...","link_url":"..." for what tree has (nothing
 * without links).  A URL needs no escaping (links.h). */
static void write_links(struct strbuf *w, const struct links *links, unsigned tree,
                        const char *path, uint32_t line)
{
    static const char *const keys[LINK_KINDS] = {",\"editor_url\":\"", ",\"link_url\":\""};
    for (int k = 0; k < LINK_KINDS; k++) {
        if (!links_has(links, (enum link_kind)k, tree))
            continue;
        strbuf_add(w, keys[k], strlen(keys[k]));
        links_write(links, (enum link_kind)k, tree, path, line, w);
        jw_lit(w, "\"");
    }
}

/* Bytes write_links() adds at most. */
static size_t links_len(const struct links *links, unsigned tree, const char *path)
{
    return links ? 2 * 16 + links_max_len(links, tree, path) : 0;
}

static void write_record(struct strbuf *w, const uint8_t *rec, const struct ftable *files,
                         const struct links *links, unsigned context)
{
    struct msg_record m;
    msg_record_at(rec, &m); /* checked when it was filed */
    const char *path = ftable_path(files, m.file_id);
    if (ftable_ntrees(files) > 1) { /* one tree keeps the API as it was */
        const char *tree = ftable_tree_name(files, ftable_tree(files, m.file_id));
        jw_lit(w, "{\"tree\":");
        jw_str(w, tree, strlen(tree));
        jw_lit(w, ",\"path\":");
    } else {
        jw_lit(w, "{\"path\":");
    }
    jw_str(w, path, strlen(path));
    unsigned lang = lang_of(path, strlen(path));
    if (lang != LANG_NONE) {
        jw_lit(w, ",\"lang\":");
        jw_str(w, lang_name(lang), strlen(lang_name(lang)));
    }
    unsigned tree = ftable_tree(files, m.file_id);
    if (m.flags & MSG_RF_FILE) { /* a file and its count */
        jw_lit(w, ",\"count\":");
        jw_uint(w, m.line);
        write_links(w, links, tree, path, 1);
        jw_lit(w, "}");
        return;
    }
    if (!(m.flags & MSG_RF_PATH)) {
        jw_lit(w, ",\"line\":");
        jw_uint(w, m.line);
        jw_lit(w, ",\"text\":");
        jw_str(w, m.text, m.text_len);
    }
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
    if (context > 0 && !(m.flags & MSG_RF_PATH)) {
        jw_lit(w, ",\"before\":");
        jw_strings(w, m.before, m.nbefore);
        jw_lit(w, ",\"after\":");
        jw_strings(w, m.after, m.nafter);
    }
    if (m.flags & MSG_RF_CLIPPED) {
        jw_lit(w, ",\"clipped\":true,\"column\":");
        jw_uint(w, m.column);
    }
    write_links(w, links, tree, path, (m.flags & MSG_RF_PATH) ? 1 : m.line);
    jw_lit(w, "}");
}

char *render_record_text(const uint8_t *rec, const struct ftable *files, const struct links *links,
                         unsigned context, size_t *len)
{
    struct strbuf w = {0};
    write_record(&w, rec, files, links, context);
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
    if (s->trees && *s->trees)
        cJSON_AddItemToObject(q, "tree", render_string(s->trees, strlen(s->trees)));
    cJSON_AddStringToObject(q, "kind", query_kind_name(s->kind));
    cJSON_AddStringToObject(q, "select", query_select_name(s->select));
    cJSON_AddItemToObject(q, "lang", render_string(s->langs, strlen(s->langs)));
    cJSON_AddBoolToObject(q, "facets", s->facets);
    cJSON_AddNumberToObject(q, "max", s->max);
    cJSON_AddNumberToObject(q, "context", s->context);
    cJSON_AddNumberToObject(q, "timeout_ms", s->timeout_ms);
}

/* One facet row: a folder as a path glob ("drivers/"), or a language. */
static cJSON *facet_row(const struct facet_row *r, int kind, const struct ftable *files)
{
    cJSON *o = cJSON_CreateObject();
    if (kind == MSG_FACET_LANG) {
        cJSON_AddStringToObject(o, "lang", r->key);
    } else {
        if (ftable_ntrees(files) > 1) {
            const char *tree = ftable_tree_name(files, r->tree);
            cJSON_AddItemToObject(o, "tree", render_string(tree, strlen(tree)));
        }
        size_t n = strlen(r->key);
        char *folder = xmalloc(n + 2);
        memcpy(folder, r->key, n);
        memcpy(folder + n, "/", 2);
        cJSON_AddItemToObject(o, "path", render_string(folder, n + 1));
        free(folder);
    }
    cJSON_AddNumberToObject(o, "lines", (double)r->lines);
    cJSON_AddNumberToObject(o, "files", (double)r->files);
    return o;
}

static void add_facets(cJSON *st, const struct query_view *v, const struct ftable *files)
{
    static const char *const names[MSG_FACET_KINDS] = {"folders", "subfolders", "langs"};
    cJSON *f = cJSON_AddObjectToObject(st, "facets");
    for (int k = 0; k < MSG_FACET_KINDS; k++) {
        cJSON *list = cJSON_AddArrayToObject(f, names[k]);
        for (size_t i = 0; i < v->facets.n[k]; i++)
            cJSON_AddItemToArray(list, facet_row(&v->facets.rows[k][i], k, files));
    }
}

static void add_stats(cJSON *doc, const struct query_view *v, const struct ftable *files)
{
    cJSON *st = cJSON_AddObjectToObject(doc, "stats");
    cJSON_AddNumberToObject(st, "matched_lines", (double)v->matched_lines);
    cJSON_AddNumberToObject(st, "matched_files", (double)v->matched_files);
    cJSON_AddNumberToObject(st, "returned", (double)v->nresults);
    /* select=count returns nothing by design: nothing was cut. */
    cJSON_AddBoolToObject(
        st, "truncated",
        v->spec.select != SELECT_COUNT &&
            (query_returns_files(&v->spec) ? v->matched_files : v->matched_lines) > v->nresults);
    if (v->memory_cut)
        cJSON_AddBoolToObject(st, "memory_cut", true);
    cJSON_AddNumberToObject(st, "elapsed_ms", (double)(long long)(v->elapsed_ms * 1000) / 1000);
    if (v->limit_hits)
        cJSON_AddNumberToObject(st, "limit_hits", v->limit_hits);
    cJSON *gaps = cJSON_AddArrayToObject(st, "incomplete");
    for (unsigned bit = 1; bit & QG_ALL; bit <<= 1)
        if (v->gaps & bit)
            cJSON_AddItemToArray(gaps, cJSON_CreateString(query_gap_name(bit)));
    if (v->has_facets)
        add_facets(st, v, files);
    cJSON *sh = cJSON_AddObjectToObject(st, "shards");
    cJSON_AddNumberToObject(sh, "total", v->shards_total);
    cJSON_AddNumberToObject(sh, "done", v->shards_done);
    cJSON *failed = cJSON_AddArrayToObject(sh, "failed");
    for (unsigned i = 0; i < v->nfailed; i++)
        cJSON_AddItemToArray(failed, cJSON_CreateNumber(v->failed[i]));
    cJSON *silent = cJSON_AddArrayToObject(sh, "unresponsive");
    for (unsigned i = 0; i < v->nunresponsive; i++)
        cJSON_AddItemToArray(silent, cJSON_CreateNumber(v->unresponsive[i]));
}

char *render_langs(size_t *len)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(doc, "langs");
    for (unsigned id = 0; id < lang_count(); id++) {
        if (id == LANG_NONE)
            continue;
        size_t n;
        const char *const *globs = lang_globs(id, &n);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", lang_name(id));
        cJSON *g = cJSON_AddArrayToObject(o, "globs");
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(g, cJSON_CreateString(globs[i]));
        cJSON_AddItemToArray(list, o);
    }
    return render_print(doc, len);
}

char *render_query(const struct query_view *v, const struct ftable *files,
                   const struct links *links, size_t offset, size_t limit, size_t *len)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "id", v->id);
    cJSON_AddStringToObject(doc, "status", query_status_name(v->status));
    if (v->status == QS_QUEUED)
        cJSON_AddNumberToObject(doc, "queue_position", v->queue_position);
    if (v->gap_code[0]) {
        cJSON *err = cJSON_AddObjectToObject(doc, "error");
        cJSON_AddStringToObject(err, "code", v->gap_code);
        cJSON_AddItemToObject(err, "message", render_string(v->message, strlen(v->message)));
    }
    add_query_fields(doc, &v->spec);
    add_stats(doc, v, files);
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
    if (!head)
        return NULL;
    struct strbuf w = {.buf = head, .len = head_len - 1, .cap = head_len + 1, .soft = true};
    jw_lit(&w, ",\"results\":["); /* over the '}' */
    for (size_t i = from; i < to && !w.failed; i++) {
        if (i > from)
            jw_lit(&w, ",");
        write_record(&w, v->results[i].rec, files, links, v->spec.context);
    }
    jw_lit(&w, "]}");
    return jw_finish(&w, len);
}

char *render_stream_begin(const struct query_view *v, size_t *len)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "type", "begin");
    cJSON_AddStringToObject(doc, "id", v->id);
    cJSON_AddStringToObject(doc, "status", query_status_name(v->status));
    cJSON_AddNumberToObject(doc, "shards", v->shards_total);
    add_query_fields(doc, &v->spec);
    return render_print(doc, len);
}

char *render_stream_match(const uint8_t *rec, const struct ftable *files, const struct links *links,
                          unsigned context, size_t *len)
{
    struct strbuf w = {.soft = true};
    jw_lit(&w, "{\"type\":\"match\",");
    size_t at = w.len;
    write_record(&w, rec, files, links, context);
    if (w.failed)
        return jw_finish(&w, len);
    memmove(w.buf + at, w.buf + at + 1, w.len - at); /* the record's own '{' */
    w.len--;
    return jw_finish(&w, len);
}

char *render_stream_shard(const struct results_shard_end *e, size_t *len)
{
    static const char *const reasons[] = {"down", "unresponsive", "unreachable"};
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "type", "shard");
    cJSON_AddNumberToObject(doc, "shard", e->shard);
    const char *status = e->failed                       ? "failed"
                         : e->status == MSG_ST_CANCELLED ? "cancelled"
                         : e->status == MSG_ST_TIMED_OUT ? "timed_out"
                         : e->status == MSG_ST_FAILED    ? "failed"
                                                         : "done";
    cJSON_AddStringToObject(doc, "status", status);
    if (e->failed && (unsigned)e->why < 3)
        cJSON_AddStringToObject(doc, "reason", reasons[e->why]);
    if (!e->failed) {
        cJSON_AddNumberToObject(doc, "matched_lines", (double)e->matched_lines);
        cJSON_AddNumberToObject(doc, "matched_files", (double)e->matched_files);
        cJSON_AddNumberToObject(doc, "elapsed_ms",
                                (double)(long long)(e->elapsed_ms * 1000) / 1000);
    }
    return render_print(doc, len);
}

char *render_stream_summary(const struct query_view *v, const struct ftable *files, size_t *len)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "type", "summary");
    cJSON_AddStringToObject(doc, "id", v->id);
    cJSON_AddStringToObject(doc, "status", query_status_name(v->status));
    if (v->gap_code[0]) {
        cJSON *err = cJSON_AddObjectToObject(doc, "error");
        cJSON_AddStringToObject(err, "code", v->gap_code);
        cJSON_AddItemToObject(err, "message", render_string(v->message, strlen(v->message)));
    }
    add_stats(doc, v, files);
    return render_print(doc, len);
}

/* At least what write_record() writes for the record at rec. */
static size_t record_len(const uint8_t *rec, const struct ftable *files, const struct links *links,
                         unsigned context)
{
    struct msg_record m;
    msg_record_at(rec, &m);
    const char *path = ftable_path(files, m.file_id);
    /* Keys, commas, brackets and numbers of at most 10 digits. */
    const char *tree = ftable_tree_name(files, ftable_tree(files, m.file_id));
    size_t est = 160 + jw_str_len(path, strlen(path)) + jw_str_len(m.text, m.text_len) +
                 jw_str_len(tree, strlen(tree));
    est += (size_t)m.nranges * 24;
    est += links_len(links, ftable_tree(files, m.file_id), path);
    if (context > 0) {
        for (unsigned i = 0; i < m.nbefore; i++) {
            uint32_t n;
            const char *t = msg_record_context(m.before, i, &n);
            est += 1 + jw_str_len(t, n);
        }
        for (unsigned i = 0; i < m.nafter; i++) {
            uint32_t n;
            const char *t = msg_record_context(m.after, i, &n);
            est += 1 + jw_str_len(t, n);
        }
    }
    return est;
}

size_t render_query_estimate(const struct query_view *v, const struct ftable *files,
                             const struct links *links, size_t offset, size_t limit)
{
    size_t from = offset < v->nresults ? offset : v->nresults;
    size_t to = v->nresults - from < limit ? v->nresults : from + limit;
    const struct query_spec *q = &v->spec;
    size_t est = QUERY_HEAD_MAX + 12 * v->nfailed;
    est += jw_str_len(q->q, strlen(q->q)) + jw_str_len(q->path, strlen(q->path)) +
           jw_str_len(q->exclude, strlen(q->exclude)) + jw_str_len(v->message, strlen(v->message)) +
           (q->trees ? jw_str_len(q->trees, strlen(q->trees)) : 0) +
           (q->langs ? jw_str_len(q->langs, strlen(q->langs)) : 0);
    for (int k = 0; v->has_facets && k < MSG_FACET_KINDS; k++)
        for (size_t i = 0; i < v->facets.n[k]; i++) {
            const struct facet_row *r = &v->facets.rows[k][i];
            const char *tree = ftable_tree_name(files, r->tree);
            est += 96 + jw_str_len(r->key, strlen(r->key)) + jw_str_len(tree, strlen(tree));
        }
    for (size_t i = from; i < to; i++)
        est += record_len(v->results[i].rec, files, links, q->context);
    return est;
}

/* ,"links":{"editor":"...","link":"..."} with {line} left in (links.h),
 * when the tree has any. */
static void write_file_links(struct strbuf *w, const struct links *links, unsigned tree_id,
                             const char *path)
{
    static const char *const keys[LINK_KINDS] = {"\"editor\":\"", "\"link\":\""};
    bool first = true;
    for (int k = 0; k < LINK_KINDS; k++) {
        if (!links_has(links, (enum link_kind)k, tree_id))
            continue;
        if (first)
            jw_lit(w, ",\"links\":{");
        else
            jw_lit(w, ",");
        first = false;
        strbuf_add(w, keys[k], strlen(keys[k]));
        links_write(links, (enum link_kind)k, tree_id, path, LINKS_KEEP_LINE, w);
        jw_lit(w, "\"");
    }
    if (!first)
        jw_lit(w, "}");
}

char *render_file(const struct links *links, unsigned tree_id, const char *tree, const char *path,
                  const struct result_ref *lines, size_t n, size_t *len)
{
    struct strbuf w = {.soft = true};
    if (tree) {
        jw_lit(&w, "{\"tree\":");
        jw_str(&w, tree, strlen(tree));
        jw_lit(&w, ",\"path\":");
    } else {
        jw_lit(&w, "{\"path\":");
    }
    jw_str(&w, path, strlen(path));
    unsigned lang = lang_of(path, strlen(path));
    if (lang != LANG_NONE) {
        jw_lit(&w, ",\"lang\":");
        jw_str(&w, lang_name(lang), strlen(lang_name(lang)));
    }
    write_file_links(&w, links, tree_id, path);
    jw_lit(&w, ",\"line_count\":");
    jw_uint(&w, n);
    jw_lit(&w, ",\"lines\":[");
    size_t nclipped = 0;
    for (size_t i = 0; i < n && !w.failed; i++) {
        uint8_t flags;
        const char *s;
        uint32_t slen;
        msg_line_at(lines[i].rec, &flags, &s, &slen); /* checked when it was filed */
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

size_t render_file_estimate(const struct links *links, unsigned tree_id, const char *path,
                            const struct result_ref *lines, size_t n)
{
    size_t est = 160 + jw_str_len(path, strlen(path)) + links_len(links, tree_id, path);
    for (size_t i = 0; i < n; i++) {
        uint8_t flags;
        const char *s;
        uint32_t slen;
        msg_line_at(lines[i].rec, &flags, &s, &slen);
        est += 1 + jw_str_len(s, slen) + ((flags & MSG_RF_CLIPPED) ? 12 : 0);
    }
    return est;
}

char *render_submitted(const struct query_view *v, size_t *len)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "id", v->id);
    /* "running" even if it has already finished: it was started. */
    bool queued = v->status == QS_QUEUED;
    cJSON_AddStringToObject(doc, "status", queued ? "queued" : "running");
    if (queued)
        cJSON_AddNumberToObject(doc, "queue_position", v->queue_position);
    return render_print(doc, len);
}

static void add_shard(cJSON *arr, unsigned i, const struct shard_state *sh, uint64_t rss)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "shard", i);
    cJSON_AddNumberToObject(o, "pid", sh->pid);
    cJSON_AddBoolToObject(o, "up", sh->up);
    cJSON_AddBoolToObject(o, "responsive", sh->up && !sh->unresponsive);
    cJSON_AddNumberToObject(o, "silent_ms", (double)(long long)sh->silent_ms);
    cJSON_AddNumberToObject(o, "files", sh->hello.files);
    cJSON_AddNumberToObject(o, "lines", (double)sh->hello.lines);
    cJSON_AddNumberToObject(o, "bytes", (double)sh->hello.bytes);
    cJSON_AddNumberToObject(o, "load_ms", (double)sh->hello.load_us / 1000.0);
    cJSON_AddNumberToObject(o, "rss_bytes", (double)rss);
    cJSON_AddItemToArray(arr, o);
}

char *render_stats(const struct stats_doc *s, size_t *len)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(doc, "shards");
    uint64_t files = 0, lines = 0, bytes = 0, binary = 0, unreadable = 0, too_large = 0;
    uint64_t changed = 0, workers_rss = 0;
    for (unsigned i = 0; i < s->nshards; i++) {
        const struct shard_state *sh = &s->shards[i];
        add_shard(arr, i, sh, s->shard_rss[i]);
        files += sh->hello.files;
        lines += sh->hello.lines;
        bytes += sh->hello.bytes;
        binary += sh->hello.binary;
        unreadable += sh->hello.unreadable;
        too_large += sh->hello.too_large;
        changed += sh->hello.changed;
        workers_rss += s->shard_rss[i];
    }
    cJSON_AddNumberToObject(doc, "files", (double)files);
    cJSON_AddNumberToObject(doc, "lines", (double)lines);
    cJSON_AddNumberToObject(doc, "bytes", (double)bytes);
    cJSON *sk = cJSON_AddObjectToObject(doc, "skipped");
    cJSON_AddNumberToObject(sk, "binary", (double)binary);
    cJSON_AddNumberToObject(sk, "too_large", (double)(too_large + s->walked->too_large));
    cJSON_AddNumberToObject(sk, "ignored", (double)s->walked->ignored);
    cJSON_AddNumberToObject(sk, "unreadable", (double)unreadable);
    cJSON_AddNumberToObject(sk, "not_regular", (double)s->walked->special);
    cJSON_AddNumberToObject(sk, "path_too_long", (double)s->walked->too_long);
    cJSON_AddNumberToObject(sk, "changed", (double)changed);
    cJSON *mem = cJSON_AddObjectToObject(doc, "memory");
    cJSON_AddNumberToObject(mem, "rss_bytes", (double)(s->master_rss + workers_rss));
    cJSON_AddNumberToObject(mem, "master_rss_bytes", (double)s->master_rss);
    cJSON_AddNumberToObject(mem, "workers_rss_bytes", (double)workers_rss);
    if (s->answers_counted)
        cJSON_AddNumberToObject(mem, "answer_bytes", (double)s->answer_bytes);
    cJSON_AddNumberToObject(doc, "uptime_s", s->uptime_s);
    const struct watch_stats *l = &s->live;
    cJSON *live = cJSON_AddObjectToObject(doc, "live");
    cJSON_AddStringToObject(live, "state", l->state);
    cJSON_AddNumberToObject(live, "watches", l->watches);
    cJSON_AddNumberToObject(live, "pending", (double)l->pending);
    cJSON_AddNumberToObject(live, "applied", (double)l->applied);
    cJSON_AddNumberToObject(live, "lag_ms", (double)(long long)l->lag_ms);
    cJSON_AddNumberToObject(live, "rescans", (double)l->rescans);
    cJSON_AddNumberToObject(live, "overflows", (double)l->overflows);
    if (l->last_at > 0) {
        cJSON *last = cJSON_AddObjectToObject(live, "last_change");
        cJSON_AddItemToObject(last, "path", render_string(l->last_path, strlen(l->last_path)));
        cJSON_AddNumberToObject(last, "at", l->last_at);
        cJSON_AddNumberToObject(last, "lag_ms", (double)(long long)(l->last_lag_ms * 1000) / 1000);
    }
    if (s->files) {
        cJSON *trees = cJSON_AddArrayToObject(doc, "trees");
        for (unsigned t = 0; t < ftable_ntrees(s->files); t++) {
            cJSON *o = cJSON_CreateObject();
            const char *name = ftable_tree_name(s->files, t);
            cJSON_AddItemToObject(o, "name", render_string(name, strlen(name)));
            if (s->tree_roots)
                cJSON_AddItemToObject(o, "root",
                                      render_string(s->tree_roots[t], strlen(s->tree_roots[t])));
            cJSON_AddItemToArray(trees, o);
        }
    }
    cJSON *qs = cJSON_AddObjectToObject(doc, "queries");
    cJSON_AddNumberToObject(qs, "total", (double)s->queries.total);
    cJSON_AddNumberToObject(qs, "running", (double)s->queries.running);
    cJSON_AddNumberToObject(qs, "queued", (double)s->queries.queued);
    cJSON_AddNumberToObject(qs, "kept", (double)s->queries.kept);
    cJSON_AddNumberToObject(qs, "kept_bytes", (double)s->queries.kept_bytes);
    cJSON_AddNumberToObject(qs, "expired", (double)s->queries.expired);
    return render_print(doc, len);
}

char *render_reindex(size_t *len)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "status", "rescanning");
    return render_print(doc, len);
}

char *render_health(const struct shard_state *shards, unsigned n, bool *healthy, size_t *len)
{
    unsigned up = 0, ok = 0;
    cJSON *doc = cJSON_CreateObject();
    cJSON *down = cJSON_CreateArray();
    cJSON *silent = cJSON_CreateArray();
    for (unsigned i = 0; i < n; i++) {
        if (!shards[i].up)
            cJSON_AddItemToArray(down, cJSON_CreateNumber(i));
        else if (shards[i].unresponsive)
            cJSON_AddItemToArray(silent, cJSON_CreateNumber(i));
        up += shards[i].up;
        ok += shards[i].up && !shards[i].unresponsive;
    }
    *healthy = ok == n;
    cJSON_AddStringToObject(doc, "status", *healthy ? "ok" : "degraded");
    cJSON_AddNumberToObject(doc, "shards_up", up);
    cJSON_AddNumberToObject(doc, "shards_total", n);
    cJSON_AddItemToObject(doc, "down", down);
    cJSON_AddItemToObject(doc, "unresponsive", silent);
    return render_print(doc, len);
}

char *render_print(cJSON *doc, size_t *len)
{
    char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    *len = text ? strlen(text) : 0;
    return text;
}
