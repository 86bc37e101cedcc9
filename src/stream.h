/*
 * stream.h - a query's results as the shards send them: NDJSON or
 * Server-Sent Events (GET /api/search?stream=1).
 *
 * A stream is a reader over one query: a "begin" record, then "match"
 * records as each shard's batches arrive (each shard's in (path, line)
 * order, the shards interleaved as they come), a "shard" record when a
 * shard ends (after all of its matches), and a "summary" record with the
 * final status and stats (render.h).  The final, ordered results stay
 * readable by the query's id, like any query's.
 *
 * Memory: the stream renders at most STREAM_WINDOW bytes ahead of what
 * the client has taken; what it has not rendered yet is the query's own
 * kept results (at most max records a shard, within --query-memory), so a
 * client that reads slowly makes nothing grow; the workers stop sending
 * past max as they always do.
 *
 * The reader is called by the HTTP layer's connection thread (one per
 * connection) and may block up to wait_ms for the next records.  A stream
 * freed before its query finished (the client went away) cancels it.
 */
#ifndef SHARDGREP_STREAM_H
#define SHARDGREP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ftable.h"
#include "links.h"
#include "registry.h"

#define STREAM_WINDOW (64u * 1024)
#define STREAM_END    ((ssize_t)-1)

enum stream_format { STREAM_NDJSON, STREAM_SSE };

struct stream;

/* A stream over q and cursor (registry_submit_stream()), both of which it
 * takes over; its match records carry links (NULL: none). */
struct stream *stream_new(struct registry *reg, const struct ftable *files,
                          const struct links *links, struct query *q, struct results_cursor *cursor,
                          enum stream_format format);
/* Up to max bytes of the stream into buf: their count; 0 when nothing
 * came within wait_ms; STREAM_END once all of it was read. */
ssize_t stream_read(struct stream *s, char *buf, size_t max, unsigned wait_ms);
/* Cancels the query if it has not finished; accepts NULL. */
void stream_free(struct stream *s);
const char *stream_content_type(enum stream_format format);

#endif
