/*
 * links.h - "open in my editor" and "on the code host": the URLs a result
 * and a file view link to, made from the templates of --editor-url and
 * --link-url (issue 14).
 *
 * A template is a URL with placeholders, expanded per file:
 *
 *   {abspath}  the tree's root (absolute, links resolved) + "/" + path
 *   {path}     the path within its tree, as results show it
 *   {line}     the line number (1 for a file named without a line)
 *   {tree}     the tree's name
 *
 * The values put in for {abspath}, {path} and {tree} are percent-encoded
 * byte by byte (all but the unreserved characters and '/': a space, '#',
 * '?', '%', '{' and every byte past ASCII become %HH), so a file name can
 * never end the path early, start a query or a fragment, or make a
 * placeholder.  A template itself is printable ASCII without quotes,
 * '<', '>', '\' or '`', starts with a scheme, and may not use one that
 * runs in or reads from the browser (javascript:, data:, vbscript:,
 * file:); it is checked once, at start-up, so an expanded URL needs no
 * escaping in JSON or HTML attributes.
 *
 * One --editor-url serves every tree.  --link-url [TREE=]TEMPLATE may be
 * given once per tree, and once without TREE= for the trees that have
 * none of their own.
 *
 * Ownership and threads: links_new() builds everything at start-up;
 * after that a struct links is never written, so any thread may read it.
 * A NULL struct links means no links, everywhere.
 */
#ifndef SHARDGREP_LINKS_H
#define SHARDGREP_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define LINKS_TEMPLATE_MAX 2048
#define LINKS_HOST_MAX     65 /* a default and one per tree (OPT_TREES_MAX) */
/* The line to expand {line} with when the page fills it in itself (the
 * file view): the placeholder is left as it is. */
#define LINKS_KEEP_LINE 0

enum link_kind { LINK_EDITOR, LINK_HOST, LINK_KINDS };

/* What the command line asked for (options.h holds one): the templates
 * as given, checked for syntax; the trees are checked by links_new(). */
struct links_spec {
    const char *editor; /* --editor-url, or NULL */
    unsigned nhost;
    struct links_host {
        const char *tree; /* NULL: every tree without its own */
        size_t tree_len;
        const char *url;
    } host[LINKS_HOST_MAX];
};

/* Checks one template (option names it in the message: "--editor-url");
 * SG_ERR with one line in err. */
int links_check_template(const char *option, const char *tmpl, char *err, size_t errlen);

/* Adds one --link-url [TREE=]TEMPLATE: TREE= is the text before the first
 * '=' when that comes before the first ':'.  Refuses a bad template, and a
 * tree (or the default) given twice. */
int links_spec_add_host(struct links_spec *spec, const char *arg, char *err, size_t errlen);

struct links;

/* The links for trees 0..ntrees-1 (roots: their folders, made absolute
 * and real here; names: their names).  NULL with err set when a --link-url
 * names no tree served or a root cannot be resolved; NULL with err empty
 * when spec asks for no link at all. */
struct links *links_new(const struct links_spec *spec, const char *const *roots,
                        const char *const *names, unsigned ntrees, char *err, size_t errlen);
void links_free(struct links *l);

/* Whether tree has a link of this kind (false for l NULL). */
bool links_has(const struct links *l, enum link_kind kind, unsigned tree);

/* Appends the URL of this kind for path (within tree) at line
 * (LINKS_KEEP_LINE: "{line}" stays) to out; false, and nothing added,
 * when tree has none. */
bool links_write(const struct links *l, enum link_kind kind, unsigned tree, const char *path,
                 uint32_t line, struct strbuf *out);

/* At least the bytes links_write() adds for path in tree, both kinds
 * together (0 when there are none). */
size_t links_max_len(const struct links *l, unsigned tree, const char *path);

#endif
