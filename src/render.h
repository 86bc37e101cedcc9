/*
 * render.h - the JSON documents of the API, built with cJSON.
 *
 * Every string that reaches JSON is valid UTF-8: source lines were
 * repaired when loaded, and paths (which the file system does not promise
 * to be UTF-8) are repaired here.  Results are decoded from the workers'
 * records (msg.h) straight into the document.
 */
#ifndef SHARDGREP_RENDER_H
#define SHARDGREP_RENDER_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "query.h"
#include "registry.h"
#include "walk.h"

/* {"error": {...}} */
cJSON *render_error(const struct api_error *e);

/* The query document's text, with results [offset, offset+limit); the
 * caller frees it. */
char *render_query(const struct query_view *v, const struct file_list *files, size_t offset,
                   size_t limit, size_t *len);

/* About how many bytes render_query() writes for that page (to decide
 * before building it whether there is room). */
size_t render_query_estimate(const struct query_view *v, size_t offset, size_t limit);

/* One result record as JSON text (what render_query() writes for it). */
char *render_record_text(const uint8_t *rec, const struct file_list *files, unsigned context,
                         size_t *len);

/* The file view's text: {"path", "line_count", "lines"[, "clipped_lines"]}. */
char *render_file(const char *path, const struct result_ref *lines, size_t n, size_t *len);

/* A string of n bytes, repaired to valid UTF-8 if it is not. */
cJSON *render_string(const char *s, size_t n);

/* Print and free: the caller owns the returned text. */
char *render_print(cJSON *doc, size_t *len);

#endif
