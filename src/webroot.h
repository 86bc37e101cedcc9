/*
 * webroot.h - the static files of the search page, held in memory.
 *
 * The web root is read once at start-up (regular files only, links not
 * followed, at most WEBROOT_MAX_FILES files of WEBROOT_MAX_BYTES in all)
 * and requests are answered from that table: a request path is only ever
 * compared with the names loaded, never joined to a directory and opened,
 * so no path a client sends can reach another file.
 */
#ifndef SHARDGREP_WEBROOT_H
#define SHARDGREP_WEBROOT_H

#include <stddef.h>

#define WEBROOT_MAX_FILES 1000
#define WEBROOT_MAX_BYTES (64u * 1024 * 1024)

struct webroot;

struct web_file {
    char *path; /* "/index.html" */
    const char *content_type;
    char *data;
    size_t len;
};

/* Load dir; NULL with a message if it cannot be read. */
struct webroot *webroot_load(const char *dir, char *err, size_t errlen);
void webroot_free(struct webroot *w); /* accepts NULL */
/* The file for a request path ("/" means "/index.html"), or NULL. */
const struct web_file *webroot_find(const struct webroot *w, const char *path);
size_t webroot_count(const struct webroot *w);

#endif
