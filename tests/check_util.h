/*
 * check_util.h - helpers shared by the unit tests: temporary trees on
 * disk, and result records encoded field by field as msg.h describes them
 * (independently of the worker's encoder, so the decoder is tested
 * against the format, not against its twin).
 */
#ifndef SHARDGREP_CHECK_UTIL_H
#define SHARDGREP_CHECK_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

/* Write len bytes to dir/rel, making the folders on the way; 0, or -1
 * with errno set. */
int check_write_file(const char *dir, const char *rel, const void *data, size_t len);
/* Remove dir and everything below it, links not followed. */
void check_rm_tree(const char *dir);

/* One BATCH record, as the wire format lays it out. */
struct check_record {
    uint32_t file, line, column;
    uint8_t flags;
    const char *text;
    const uint32_t *ranges; /* nranges (start, end) pairs */
    unsigned nranges;
    const char *const *before, *const *after;
    unsigned nbefore, nafter;
};
void check_put_record(struct msg_writer *w, const struct check_record *r);

#endif
