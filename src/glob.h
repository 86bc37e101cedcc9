/*
 * glob.h - shell-style globs over '/'-separated relative paths, and the
 * comma-separated glob lists of the search query's path= and exclude=
 * parameters.
 *
 * Syntax: '*' matches any run of characters except '/'; '?' matches one
 * character (one UTF-8 sequence, or one byte when the bytes are not valid
 * UTF-8) except '/'; "[...]" matches one character from a class (ranges
 * "a-z", negation with '!' or '^', a ']' first is literal), never '/';
 * a backslash escapes the next character; "**" as a whole path segment
 * matches zero or more segments: leading, any folder prefix; in the
 * middle, any run of folders (including none); trailing, everything below
 * the folder before it but not that folder itself; alone, everything.
 * "**" inside a segment acts like '*'.  With GLOB_BRACES, "{a,b}"
 * alternatives (nested, "\," escapes a comma).  Matching is
 * case-sensitive.
 *
 * Globs may come from HTTP clients: every function here bounds its time
 * and memory (no exponential backtracking; the limits below are enforced
 * and reported by glob_check()).
 */
#ifndef SHARDGREP_GLOB_H
#define SHARDGREP_GLOB_H

#include <stdbool.h>
#include <stddef.h>

/* Allow {a,b,c} alternatives (query globs); gitignore has none. */
#define GLOB_BRACES 1

/* Longest glob accepted, in bytes. */
#define GLOB_MAX_LEN 4096
/* Deepest brace nesting accepted ("{a,{b,c}}" is depth 2). */
#define GLOB_MAX_BRACE_DEPTH 8
/* Most alternatives one glob may expand to ("{a,b}{c,d}" is 4). */
#define GLOB_MAX_ALTERNATIVES 256
/* Most globs in one list, and most patterns after brace expansion. */
#define GLOB_LIST_MAX_GLOBS    256
#define GLOB_LIST_MAX_PATTERNS 1024

/* Whole-string match of a glob against a '/'-separated relative path.
 * A glob that glob_check() rejects matches nothing. */
bool glob_match(const char *pattern, const char *path, int flags);

/* Check a single glob's syntax (unbalanced '[' or '{', trailing
 * backslash, too long, braces too deep or expanding to too many
 * alternatives).  SG_OK, or SG_ERR with a message in err. */
int glob_check(const char *pattern, int flags, char *err, size_t errlen);

struct glob_list;

/* Parse a comma-separated list of globs ("*.c,src,lib/x.h"; commas
 * inside {} or [] and escaped commas do not split; spaces and tabs around
 * an item are dropped).  Empty items are ignored; a list with no items or
 * a bad glob is an error (NULL, with a message naming the glob). */
struct glob_list *glob_list_parse(const char *spec, char *err, size_t errlen);

/* True when any glob in the list selects the path: a glob with no '/'
 * matches any path component by name ("*.c", "tests"); a glob holding a
 * '/' anywhere, a trailing one included, is anchored at the root (a
 * leading '/' is ignored; "src/" is the top-level src folder); a trailing
 * '/' means the glob names a folder; a glob that matches a folder selects
 * everything beneath it.  A path ending in '/' names a folder. */
bool glob_list_match(const struct glob_list *gl, const char *path);

/* The first item of the list (its text, spaces around it dropped) that
 * selects none of the n paths, or NULL when each selects one at least:
 * for telling a user which of the names typed is a slip.  Valid while
 * gl is. */
const char *glob_list_unused(const struct glob_list *gl, const char *const *paths, size_t n);

/* Accepts NULL. */
void glob_list_free(struct glob_list *gl);

#endif
