/*
 * options.h - the command line.
 *
 * Parsing is separate from acting on it: options_parse() never prints or
 * exits, so it can be tested; main() prints the help, the version, or the
 * one-line error and exits 2.
 */
#ifndef SHARDGREP_OPTIONS_H
#define SHARDGREP_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "links.h"

#define OPT_WORKERS_MAX     256
#define OPT_FILE_SIZE_MAX   (1024ull * 1024 * 1024)
#define OPT_SEGMENT_MIN     (4ull << 10)
#define OPT_SEGMENT_DEFAULT (64ull << 20)
#define OPT_MEMORY_MIN      (1ull << 20)
#define OPT_MEMORY_MAX      (1ull << 40)
#define OPT_TREES_MAX       64
#define OPT_TREE_NAME_MAX   63

struct options {
    /* The trees served: shardgrep [NAME=]DIR...  None: the bundled
     * sample-corpus.  A name is the folder's base name unless given;
     * names are unique. */
    const char *roots[OPT_TREES_MAX];
    char tree_names[OPT_TREES_MAX][OPT_TREE_NAME_MAX + 1];
    unsigned ntrees;
    const char *bind;
    unsigned port;
    unsigned workers;
    uint64_t max_file_size;
    uint64_t segment_bytes; /* --segment-size (store.h) */
    bool no_ignore;
    const char *web_root; /* NULL: the bundled web/ */
    unsigned keep_queries;
    unsigned keep_seconds;
    uint64_t keep_memory;   /* bytes of results kept for finished queries */
    uint64_t query_memory;  /* bytes of results one query may hold */
    uint64_t answer_memory; /* bytes of large answers built and not yet sent */
    uint32_t timeout_ms;
    uint32_t unresponsive_ms; /* a worker silent this long is unresponsive */
    bool no_watch;            /* --no-watch: no inotify */
    const char *index_dir;    /* --index-dir: shards' snapshots; NULL: none */
    unsigned rescan_interval_s;
    bool rescan_interval_set; /* given: with --no-watch, poll */
    const char *token;        /* --token, or $SHARDGREP_TOKEN */
    unsigned max_running;
    unsigned max_queued;
    unsigned max_connections; /* open HTTP connections */
    unsigned max_per_ip;      /* of them from one address; 0: no limit */
    unsigned head_timeout_s;  /* a request's head, from its first byte */
    unsigned body_timeout_s;  /* its body, from the end of the head */
    bool request_log;         /* a line per request on stderr (--no-request-log: off) */
    bool log_json;            /* --log-format json: those lines as JSON objects */
    bool log_queries;         /* --log-queries: with the query string */
    /* --editor-url and --link-url, checked for syntax; the trees a
     * --link-url names are checked against those served (links_new()). */
    struct links_spec links;
};

enum options_result { OPTIONS_RUN, OPTIONS_HELP, OPTIONS_VERSION, OPTIONS_ERROR };

/* Fill o from argv (defaults first).  On OPTIONS_ERROR, err holds one line. */
enum options_result options_parse(struct options *o, int argc, char **argv, char *err,
                                  size_t errlen);
/* The --help text. */
const char *options_help(void);
/* "16M" -> 16777216; K, M, G suffixes (powers of 1024), an optional B or
 * iB after them.  -1 if malformed or over max. */
int options_parse_size(const char *s, uint64_t max, uint64_t *out);

#endif
