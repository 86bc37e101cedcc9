/*
 * stream.c - a query's results as they come (see stream.h).
 */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "util.h"

enum phase { PH_BEGIN, PH_BODY, PH_END };

struct stream {
    struct registry *reg;
    const struct ftable *files;
    const struct links *links;
    struct query *q;
    struct results_cursor *cursor;
    enum stream_format format;
    unsigned context;
    enum phase phase;
    struct strbuf out; /* rendered, not yet read: out.buf[taken .. out.len) */
    size_t taken;
};

const char *stream_content_type(enum stream_format format)
{
    return format == STREAM_SSE ? "text/event-stream; charset=utf-8"
                                : "application/x-ndjson; charset=utf-8";
}

struct stream *stream_new(struct registry *reg, const struct ftable *files,
                          const struct links *links, struct query *q, struct results_cursor *cursor,
                          enum stream_format format)
{
    struct stream *s = xcalloc(1, sizeof *s);
    s->reg = reg;
    s->files = files;
    s->links = links;
    s->q = q;
    s->format = format;
    s->cursor = cursor;
    return s;
}

/* One record, framed: a line of NDJSON, or an SSE event named by type. */
static void put(struct stream *s, const char *type, char *json, size_t len)
{
    if (!json)
        return; /* no memory for this one: the summary still says it all */
    if (s->format == STREAM_SSE) {
        strbuf_add(&s->out, "event: ", 7);
        strbuf_add(&s->out, type, strlen(type));
        strbuf_add(&s->out, "\ndata: ", 7);
        strbuf_add(&s->out, json, len);
        strbuf_add(&s->out, "\n\n", 2);
    } else {
        strbuf_add(&s->out, json, len);
        strbuf_add(&s->out, "\n", 1);
    }
    free(json);
}

static bool on_record(void *ctx, const uint8_t *rec)
{
    struct stream *s = ctx;
    if (s->out.len >= STREAM_WINDOW)
        return false; /* the rest next time */
    size_t len;
    char *json = render_stream_match(rec, s->files, s->links, s->context, &len);
    put(s, "match", json, len);
    return true;
}

static void on_shard(void *ctx, const struct results_shard_end *e)
{
    struct stream *s = ctx;
    size_t len;
    char *json = render_stream_shard(e, &len);
    put(s, "shard", json, len);
}

static void begin(struct stream *s)
{
    struct query_view v;
    registry_view(s->reg, s->q, &v);
    s->context = v.spec.context;
    size_t len;
    char *json = render_stream_begin(&v, &len);
    put(s, "begin", json, len);
    query_view_free(&v);
}

static void summary(struct stream *s)
{
    struct query_view v;
    registry_view(s->reg, s->q, &v);
    size_t len;
    char *json = render_stream_summary(&v, s->files, &len);
    put(s, "summary", json, len);
    query_view_free(&v);
}

/* Render what is next into out (which is empty). */
static void fill(struct stream *s, unsigned wait_ms)
{
    switch (s->phase) {
    case PH_BEGIN:
        begin(s);
        s->phase = PH_BODY;
        break;
    case PH_BODY: {
        const struct results_stream_events ev = {.ctx = s, .record = on_record, .shard = on_shard};
        if (registry_stream_poll(s->reg, s->q, s->cursor, wait_ms, &ev)) {
            summary(s);
            s->phase = PH_END;
        }
        break;
    }
    case PH_END:
        break;
    }
}

ssize_t stream_read(struct stream *s, char *buf, size_t max, unsigned wait_ms)
{
    if (s->taken == s->out.len) {
        s->out.len = s->taken = 0;
        if (s->phase == PH_END)
            return STREAM_END;
        fill(s, wait_ms);
    }
    size_t n = s->out.len - s->taken;
    if (n > max)
        n = max;
    if (n)
        memcpy(buf, s->out.buf + s->taken, n);
    s->taken += n;
    return (ssize_t)n;
}

void stream_free(struct stream *s)
{
    if (!s)
        return;
    if (s->phase != PH_END)
        registry_cancel(s->reg, s->q); /* nobody reads it any more */
    registry_stream_detach(s->reg, s->q, s->cursor);
    registry_put(s->reg, s->q);
    free(s->out.buf);
    free(s);
}
