/*
 * facets.h - counts of a query's matches by folder and by language, exact
 * whatever max cuts from the results.
 *
 * Worker side (struct facet_tally).  A search reports each matching file
 * once, with its count of matching lines, in (tree, path) order
 * (search.h).  Files that share a folder are neighbours in that order (all
 * the strings with a common prefix are), so a tally of folders is a list
 * that grows at its end: a file adds to the last entry when it is in the
 * same folder, or starts a new one.  Files at the root of a tree are the
 * exception (they sort among the folders): they may make several entries
 * under the key "", which the master adds up like any other.  Languages
 * are a small table by id (lang.h).  The tally points into the paths it
 * was given, which must outlive it (a search's store does).
 *
 * Master side (struct facet_sum).  The FACETS messages of every shard are
 * added up by (kind, tree, key); facet_sum_result() sorts them into what
 * the query document shows: top-level folders, the second-level folders
 * under the busiest top-level one, and languages, each by count (lines,
 * then files; a kind=path query counts files only), at most FACETS_SHOWN
 * of each.  A file at the root of its tree is in no folder entry.
 */
#ifndef SHARDGREP_FACETS_H
#define SHARDGREP_FACETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

#define FACETS_SHOWN 100 /* entries of each kind in a query document */

struct facet_tally;

struct facet_tally *facet_tally_new(void);
void facet_tally_free(struct facet_tally *t); /* accepts NULL */
/* One matching file: its tree, path (len bytes, kept by pointer), language
 * id and count of matching lines (0 for a path match). */
void facet_tally_file(struct facet_tally *t, uint32_t tree, const char *path, size_t len,
                      unsigned lang, uint64_t lines);
/* Send the tally as FACETS messages of shard and seq; send() returns -1
 * when the message cannot be delivered (then the rest is not sent). */
int facet_tally_send(const struct facet_tally *t, uint32_t shard, uint64_t seq,
                     int (*send)(void *ctx, const void *msg, size_t len), void *ctx);

/* One line of the document: a folder ("drivers/", "drivers/net/") or a
 * language name, with its counts. */
struct facet_row {
    uint32_t tree;
    char *key;
    uint64_t lines, files;
};
/* What a query document shows. */
struct facet_result {
    struct facet_row *rows[MSG_FACET_KINDS]; /* top folders, sub folders, languages */
    size_t n[MSG_FACET_KINDS];
};
void facet_result_free(struct facet_result *r); /* the rows, not r */

struct facet_sum;

struct facet_sum *facet_sum_new(void);
void facet_sum_free(struct facet_sum *s); /* accepts NULL */
/* Add the entries of one FACETS payload; -1 (and nothing added) when it is
 * malformed or memory runs out. */
int facet_sum_add(struct facet_sum *s, struct msg_reader *r);
/* Bytes held, for the query's memory account. */
size_t facet_sum_bytes(const struct facet_sum *s);
/* Add up entries with the same key (once every shard has sent its own:
 * what remains is what facet_sum_result() reads). */
void facet_sum_merge(struct facet_sum *s);
/* The rows to show, sorted (see above); false when memory ran out.  The
 * sum is merged in place (entries with the same key become one). */
bool facet_sum_result(struct facet_sum *s, struct facet_result *out);

#endif
