/*
 * client_print.h - prints the server's results the way ripgrep does.
 *
 * Shapes (rg's, for the same flags):
 *   heading (default on a terminal)    path          no heading (piped)
 *                                      12:text       path:12:text
 *                                      13-context    path-13-context
 *                                      --            --
 *   a blank line between files; with no heading and context, "--" between
 *   files too.  Line numbers are printed in both shapes (rg prints them
 *   piped only with -n); -N leaves them out.  -l prints paths, -c
 *   path:count, --json each result object as the server sent it, one a
 *   line.  With colour, rg's escapes: path magenta, line numbers green,
 *   matches bold red (from the result's byte ranges).
 *
 * Context: the server sends each match with its own before/after lines,
 * so neighbouring matches overlap.  The printer merges them as rg does:
 * the after lines of a match are held back until the next result shows
 * whether they are context, the next match itself, or past a gap ("--").
 * Results must arrive in the server's order (path, then line), page after
 * page; nothing else is buffered.
 */
#ifndef SHARDGREP_CLIENT_PRINT_H
#define SHARDGREP_CLIENT_PRINT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

#include "client_options.h"

struct client_print_style {
    enum client_output output;
    bool json, color, heading, line_numbers;
    int context;
};

struct client_printer;

struct client_printer *client_printer_new(const struct client_print_style *style, FILE *out);
/* Prints one element of a query document's "results". */
void client_printer_result(struct client_printer *p, const cJSON *result);
/* Prints what is held back; call once after the last result. */
void client_printer_finish(struct client_printer *p);
void client_printer_free(struct client_printer *p);

#endif
