/*
 * client_options.h - the command line of shardgrep-query, and the query
 * it asks the server.
 *
 * The flags are ripgrep's where shardgrep can answer them; each maps onto a
 * field of POST /api/queries (doc/api.md):
 *
 *   -i / -s / -S     case "no" / "yes" / "auto"; the last one given wins.
 *                    No flag means "yes", ripgrep's default, not the
 *                    server's "auto".
 *   -F               literal
 *   -w               the pattern wrapped as (?<!\w)(?:PATTERN)(?!\w), rg's
 *                    rule (with -F, escaped first and sent as a regex)
 *   -g GLOB          path (repeatable, comma-joined); -g '!GLOB' exclude
 *   -C N             context (0..10: the server's bound)
 *   -l, -c           select=files (-l prints the paths, -c path:count)
 *   --max N          max (default and at most 100000)
 *
 * Where the server comes from: --server beats SHARDGREP_URL, which beats
 * http://127.0.0.1:8080; the token: --token beats SHARDGREP_TOKEN.
 */
#ifndef SHARDGREP_CLIENT_OPTIONS_H
#define SHARDGREP_CLIENT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#define CLIENT_DEFAULT_URL "http://127.0.0.1:8080"
#define CLIENT_MAX_RESULTS 100000
#define CLIENT_MAX_CONTEXT 10

enum client_output { OUT_LINES, OUT_FILES, OUT_COUNT };
enum client_color { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

struct client_options {
    const char *server; /* URL */
    const char *token;  /* NULL: none */
    const char *pattern;
    const char *case_mode; /* "yes", "no", "auto" */
    const char *tree;      /* NULL: every tree */
    bool literal, word, json, line_numbers;
    int heading; /* -1: on a terminal only */
    enum client_output output;
    enum client_color color;
    int context;
    long max;
    char *path;    /* comma-joined -g globs, or NULL; owned */
    char *exclude; /* comma-joined -g '!' globs, or NULL; owned */
};

enum client_parse { PARSE_RUN, PARSE_EXIT_OK, PARSE_EXIT_USAGE };

/* Fills o from argv and the environment.  PARSE_EXIT_OK after --help or
 * --version (printed on stdout); PARSE_EXIT_USAGE with a message printed
 * on stderr. */
enum client_parse client_options_parse(struct client_options *o, int argc, char **argv);
void client_options_free(struct client_options *o);

/* The JSON body for POST /api/queries; the caller frees it. */
char *client_options_query_json(const struct client_options *o);

#endif
