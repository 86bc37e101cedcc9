/*
 * render.h - every JSON document of the API.
 *
 * Small documents (errors, stats, health, the submit answer, a query
 * document's head) are built with cJSON.  Results and file lines, which
 * can run to 100 MB, are written straight into the text, decoded from the
 * workers' records (msg.h) without a tree in between: a cJSON tree of a
 * page of 100,000 results with context took 1.5 GB for a 119 MB answer.
 *
 * Every string that reaches JSON is valid UTF-8: source lines were
 * repaired when loaded, and paths (which the file system does not promise
 * to be UTF-8) are repaired here.
 *
 * Memory: the large documents (render_query(), render_file()) return NULL
 * when memory runs out while they are written, and the caller answers 503
 * for that request alone.  Their estimates count what JSON escaping adds
 * (a control byte takes six), so a budget that admits an answer on the
 * estimate is not overrun by the answer.
 */
#ifndef SHARDGREP_RENDER_H
#define SHARDGREP_RENDER_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "aggregator.h"
#include "ftable.h"
#include "links.h"
#include "query.h"
#include "registry.h"
#include "walk.h"
#include "watch.h"

/* {"error": {...}} */
cJSON *render_error(const struct api_error *e);
/* The same as text; never NULL (a fixed text when memory runs out). */
char *render_error_text(const struct api_error *e, size_t *len);

/* POST /api/queries' answer: {"id", "status"[, "queue_position"]}. */
char *render_submitted(const struct query_view *v, size_t *len);

/* GET /api/stats. */
struct stats_doc {
    const struct shard_state *shards;
    const uint64_t *shard_rss; /* bytes, per shard */
    unsigned nshards;
    const struct file_list *walked; /* what the start-up walk left out */
    uint64_t master_rss;
    bool answers_counted;
    size_t answer_bytes;
    double uptime_s;
    struct registry_stats queries;
    struct watch_stats live;
    const struct ftable *files;    /* the trees' names */
    const char *const *tree_roots; /* and folders */
};
char *render_stats(const struct stats_doc *s, size_t *len);

/* GET /api/langs: {"langs": [{"name": "c", "globs": ["*.c", "*.h"]}, ...]}. */
char *render_langs(size_t *len);
/* POST /api/reindex's answer. */
char *render_reindex(size_t *len);

/* GET /healthz; *healthy: every shard up and answering. */
char *render_health(const struct shard_state *shards, unsigned n, bool *healthy, size_t *len);

/* Links (links.h): every result of the functions below that take them
 * ends with "editor_url" and "link_url" when its tree has them ({line}:
 * the result's line, 1 for a file or a path); NULL: none, and the
 * documents are as they were without --editor-url and --link-url. */

/* The query document's text, with results [offset, offset+limit); the
 * caller frees it.  NULL when memory ran out. */
char *render_query(const struct query_view *v, const struct ftable *files,
                   const struct links *links, size_t offset, size_t limit, size_t *len);

/* At least as many bytes as render_query() writes for that page (to
 * decide before building it whether there is room). */
size_t render_query_estimate(const struct query_view *v, const struct ftable *files,
                             const struct links *links, size_t offset, size_t limit);

/* One result record as JSON text (what render_query() writes for it). */
char *render_record_text(const uint8_t *rec, const struct ftable *files, const struct links *links,
                         unsigned context, size_t *len);

/* The records of a streamed query (stream.h), each one JSON object with
 * a "type": "begin" (id, status, query), "match" (a result, as in the
 * query document), "shard" (one shard ended: its status, counts and
 * time), "summary" (id, status, error, stats: as the query document's). */
char *render_stream_begin(const struct query_view *v, size_t *len);
char *render_stream_match(const uint8_t *rec, const struct ftable *files, const struct links *links,
                          unsigned context, size_t *len);
char *render_stream_shard(const struct results_shard_end *e, size_t *len);
char *render_stream_summary(const struct query_view *v, const struct ftable *files, size_t *len);
/* The file view's text: {["tree",] "path"[, "lang"][, "links"],
 * "line_count", "lines"[, "clipped_lines"]} (tree NULL: one tree is
 * served, and it is left out; tree_id: its index, for the links).
 * "links": {"editor", "link"} as the tree has them, with {line} left in
 * for the page to fill per line.  NULL when memory ran out. */
char *render_file(const struct links *links, unsigned tree_id, const char *tree, const char *path,
                  const struct result_ref *lines, size_t n, size_t *len);
/* At least as many bytes as render_file() writes for those lines. */
size_t render_file_estimate(const struct links *links, unsigned tree_id, const char *path,
                            const struct result_ref *lines, size_t n);

/* A string of n bytes, repaired to valid UTF-8 if it is not. */
cJSON *render_string(const char *s, size_t n);

/* Print and free: the caller owns the returned text (NULL when memory ran
 * out). */
char *render_print(cJSON *doc, size_t *len);

#endif
