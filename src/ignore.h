/*
 * ignore.h - .gitignore / .ignore rules, and the stack of rule sets a
 * directory walk keeps as it descends.
 *
 * Patterns follow gitignore(5): '#' comments, '!' re-includes, a trailing
 * '/' matches folders only, a pattern with a '/' at the start or in the
 * middle is anchored to the folder holding the ignore file, any other
 * pattern matches a name at any depth below it, and the last matching
 * rule wins.  Globs are those of glob.h, without braces.
 */
#ifndef SHARDGREP_IGNORE_H
#define SHARDGREP_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

/* The rules of one ignore file. */
struct ignore_rules;

/* text/len: file contents (need not be NUL-terminated); base: the folder
 * holding the file, relative to the root, no leading/trailing '/', "" (or
 * NULL) for the root.  Never fails: bad lines are skipped. */
struct ignore_rules *ignore_rules_parse(const char *text, size_t len, const char *base);

/* Accepts NULL. */
void ignore_rules_free(struct ignore_rules *r);

enum ignore_verdict { IGNORE_NONE, IGNORE_EXCLUDE, IGNORE_INCLUDE };

/* The verdict of the LAST rule in the file that matches relpath (relative
 * to the root).  IGNORE_NONE when no rule matches or relpath is not
 * strictly under base. */
enum ignore_verdict ignore_rules_match(const struct ignore_rules *r, const char *relpath,
                                       bool is_dir);

/* A stack of rule sets, as a directory walk descends: push when entering a
 * folder that has ignore files (push .gitignore first, then .ignore, so
 * .ignore wins), pop when leaving. */
struct ignore_stack;

struct ignore_stack *ignore_stack_new(void);

/* Frees the rule sets it holds; accepts NULL. */
void ignore_stack_free(struct ignore_stack *s);

/* Takes ownership of r.  r may be NULL (a level with no rules), so that
 * pushes and pops can stay paired without special cases. */
void ignore_stack_push(struct ignore_stack *s, struct ignore_rules *r);

/* Frees the popped set; does nothing on an empty stack (or NULL). */
void ignore_stack_pop(struct ignore_stack *s);

size_t ignore_stack_depth(const struct ignore_stack *s);

/* True when the path is ignored: the most recently pushed set with a
 * verdict decides. */
bool ignore_stack_ignored(const struct ignore_stack *s, const char *relpath, bool is_dir);

#endif
