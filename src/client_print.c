/*
 * client_print.c - rg-shaped output of results (see client_print.h).
 */
#include <stdlib.h>
#include <string.h>

#include "client_buf.h"
#include "client_print.h"

/* ripgrep's own escapes, byte for byte. */
#define SGR_PATH  "\x1b[0m\x1b[35m"
#define SGR_LINE  "\x1b[0m\x1b[32m"
#define SGR_MATCH "\x1b[0m\x1b[1m\x1b[31m"
#define SGR_RESET "\x1b[0m"

struct held_line {
    long no;
    char *text;
};

struct client_printer {
    struct client_print_style style;
    FILE *out;
    char *path;             /* the file being printed, NULL before the first */
    long last_line;         /* last line printed in it, 0 for none */
    bool any_output;        /* something was printed (for separators) */
    struct held_line *held; /* after-context of the last match */
    size_t nheld, capheld;
};

struct client_printer *client_printer_new(const struct client_print_style *style, FILE *out)
{
    struct client_printer *p = cbuf_xmalloc(sizeof *p);
    memset(p, 0, sizeof *p);
    p->style = *style;
    p->out = out;
    return p;
}

static void drop_held(struct client_printer *p)
{
    for (size_t i = 0; i < p->nheld; i++)
        free(p->held[i].text);
    p->nheld = 0;
}

void client_printer_free(struct client_printer *p)
{
    if (!p)
        return;
    drop_held(p);
    free(p->held);
    free(p->path);
    free(p);
}

/* "tree/path" when the server has several trees, else "path". */
static char *result_path(const cJSON *r)
{
    const cJSON *tree = cJSON_GetObjectItemCaseSensitive(r, "tree");
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(r, "path");
    struct cbuf b = {0};
    if (cJSON_IsString(tree))
        cbuf_printf(&b, "%s/", tree->valuestring);
    cbuf_adds(&b, cJSON_IsString(path) ? path->valuestring : "?");
    return cbuf_take(&b);
}

static void put_path(struct client_printer *p, const char *path)
{
    if (p->style.color)
        fprintf(p->out, SGR_PATH "%s" SGR_RESET, path);
    else
        fputs(path, p->out);
}

/* text with the byte ranges [[s, e], ...] in the match colour. */
static void put_text(struct client_printer *p, const char *text, const cJSON *ranges)
{
    size_t len = strlen(text), at = 0;
    const cJSON *r;
    if (p->style.color && cJSON_IsArray(ranges)) {
        cJSON_ArrayForEach(r, ranges)
        {
            const cJSON *s = cJSON_GetArrayItem(r, 0), *e = cJSON_GetArrayItem(r, 1);
            if (!cJSON_IsNumber(s) || !cJSON_IsNumber(e))
                continue;
            size_t a = (size_t)s->valuedouble, b = (size_t)e->valuedouble;
            if (a < at || b <= a || b > len)
                continue;
            fwrite(text + at, 1, a - at, p->out);
            fputs(SGR_MATCH, p->out);
            fwrite(text + a, 1, b - a, p->out);
            fputs(SGR_RESET, p->out);
            at = b;
        }
    }
    fputs(text + at, p->out);
    fputc('\n', p->out);
}

/* One line of the current file: a match (sep ':') or context ('-'). */
static void emit_line(struct client_printer *p, long no, const char *text, const cJSON *ranges,
                      char sep)
{
    if (p->style.context && p->last_line && no > p->last_line + 1)
        fputs("--\n", p->out);
    if (!p->style.heading) {
        put_path(p, p->path);
        fputc(sep, p->out);
    }
    if (p->style.line_numbers) {
        if (p->style.color)
            fprintf(p->out, SGR_LINE "%ld" SGR_RESET "%c", no, sep);
        else
            fprintf(p->out, "%ld%c", no, sep);
    }
    put_text(p, text, ranges);
    p->last_line = no;
}

/* Prints the held after-context up to (not including) line stop. */
static void flush_held(struct client_printer *p, long stop)
{
    for (size_t i = 0; i < p->nheld; i++)
        if (p->held[i].no > p->last_line && (stop <= 0 || p->held[i].no < stop))
            emit_line(p, p->held[i].no, p->held[i].text, NULL, '-');
    drop_held(p);
}

/* Switches to the file of path, closing the one before. */
static void begin_file(struct client_printer *p, const char *path)
{
    if (p->path && strcmp(p->path, path) == 0)
        return;
    flush_held(p, 0);
    if (p->any_output) {
        if (p->style.heading)
            fputc('\n', p->out);
        else if (p->style.context)
            fputs("--\n", p->out);
    }
    free(p->path);
    p->path = cbuf_xstrdup(path);
    p->last_line = 0;
    p->any_output = true;
    if (p->style.heading) {
        put_path(p, path);
        fputc('\n', p->out);
    }
}

static void hold_after(struct client_printer *p, const cJSON *after, long line)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, after)
    {
        if (!cJSON_IsString(a))
            continue;
        if (p->nheld == p->capheld) {
            p->capheld = p->capheld ? 2 * p->capheld : 16;
            p->held = cbuf_xrealloc(p->held, p->capheld * sizeof *p->held);
        }
        p->held[p->nheld].no = ++line;
        p->held[p->nheld++].text = cbuf_xstrdup(a->valuestring);
    }
}

static void print_match(struct client_printer *p, const cJSON *r, const char *path)
{
    const cJSON *line = cJSON_GetObjectItemCaseSensitive(r, "line");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(r, "text");
    const cJSON *before = cJSON_GetObjectItemCaseSensitive(r, "before");
    if (!cJSON_IsNumber(line) || !cJSON_IsString(text))
        return;
    long no = (long)line->valuedouble;
    int nb = cJSON_IsArray(before) ? cJSON_GetArraySize(before) : 0;
    begin_file(p, path);
    flush_held(p, no - nb);
    for (int i = 0; i < nb; i++) {
        const cJSON *b = cJSON_GetArrayItem(before, i);
        long bno = no - nb + i;
        if (cJSON_IsString(b) && bno > p->last_line)
            emit_line(p, bno, b->valuestring, NULL, '-');
    }
    emit_line(p, no, text->valuestring, cJSON_GetObjectItemCaseSensitive(r, "ranges"), ':');
    hold_after(p, cJSON_GetObjectItemCaseSensitive(r, "after"), no);
}

void client_printer_result(struct client_printer *p, const cJSON *r)
{
    if (p->style.json) {
        char *s = cJSON_PrintUnformatted(r);
        if (s)
            fprintf(p->out, "%s\n", s);
        free(s);
        return;
    }
    char *path = result_path(r);
    if (p->style.output == OUT_LINES) {
        print_match(p, r, path);
    } else {
        put_path(p, path);
        if (p->style.output == OUT_COUNT) {
            const cJSON *count = cJSON_GetObjectItemCaseSensitive(r, "count");
            fprintf(p->out, ":%ld", cJSON_IsNumber(count) ? (long)count->valuedouble : 0L);
        }
        fputc('\n', p->out);
    }
    free(path);
}

void client_printer_finish(struct client_printer *p)
{
    flush_held(p, 0);
    fflush(p->out);
}
