/*
 * search.h - one query over one worker's corpus.
 *
 * The worker's side of a search: select the files the path filters allow,
 * scan them as runs of contiguous text (see matcher.h), map each hit to
 * its file and line, and stream result records to the master in batches
 * (msg.h), ending with one DONE message that carries the exact counts.
 * At most `max` records are sent; counting goes on to the end.
 *
 * The scan is cut into segments on line boundaries; between segments the
 * search asks the caller whether to stop (a cancel arrived) and checks
 * its deadline, so neither waits for a whole shard.  Segments adapt to
 * the pattern's speed: they start at SEARCH_SEGMENT_MIN bytes, double
 * while a segment takes under SEARCH_SEGMENT_FAST_NS (fewer checks for a
 * fast scan), and halve past SEARCH_SEGMENT_SLOW_NS (a slow pattern still
 * notices its deadline or a cancel within milliseconds).
 */
#ifndef SHARDGREP_SEARCH_H
#define SHARDGREP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "corpus.h"
#include "matcher.h"
#include "msg.h"

#define SEARCH_SEGMENT         (1u << 20) /* the largest segment */
#define SEARCH_SEGMENT_MIN     (4u << 10)
#define SEARCH_SEGMENT_FAST_NS 2000000u
#define SEARCH_SEGMENT_SLOW_NS 10000000u
#define SEARCH_TEXT_MAX        1024 /* bytes of a line sent in a result */

struct search_io {
    void *ctx;
    /* Send one message to the master; -1 when it cannot be delivered. */
    int (*send)(void *ctx, const void *msg, size_t len);
    /* True when the search must stop now (cancelled). */
    bool (*should_stop)(void *ctx);
};

/* Run the query and send its results and final DONE through io. */
void search_run(const struct corpus *c, uint32_t shard, uint64_t seq, const struct msg_query *q,
                const struct search_io *io);

/* Pick the window of a long line to send: [*ws, *we) holds at most
 * SEARCH_TEXT_MAX bytes, starts a little before the first range, and cuts
 * on UTF-8 character boundaries. */
void search_clip(const char *line, size_t len, const struct mrange *ranges, int nranges, size_t *ws,
                 size_t *we);

#endif
