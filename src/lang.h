/*
 * lang.h - the language table: which language a file is written in, told
 * from its name, for the lang= query filter, per-result language labels,
 * language facets and GET /api/langs.
 *
 * The table has the shape of ripgrep's type list (rg --type-list): a name
 * ("c", "python", "make") mapped to globs over file names, and ripgrep's
 * names where ripgrep has one.  Unlike ripgrep's types, the languages do
 * not overlap: a file has at most one language, so no glob appears under
 * two of them (*.h is C, *.H and *.C are C++, *.m is Objective-C,
 * *.gradle is Groovy, *.v is Verilog).
 *
 * A glob takes one of three forms, and a file name is matched against
 * them in this order, the first that matches deciding:
 *
 *   1. an exact name: "Makefile", "CMakeLists.txt", "Makefile.am", ".bashrc";
 *   2. a prefix, "PREFIX*": "Makefile.*", "Kconfig.*", "LICENSE-*"; the
 *      longest prefix wins;
 *   3. an extension, "*.EXT" with no '.' in EXT: "*.c", "*.mk".
 *
 * So a more specific rule wins over a more general one: Makefile.am is
 * automake (exact) although Makefile.* is make, CMakeLists.txt is cmake
 * and not txt, LICENSE.md is license (prefix) and not markdown.  Within
 * each form the globs mean what they mean to glob_match(): matching is
 * byte for byte and case-sensitive, and the extension is what follows the
 * last '.' of the name, wherever that '.' is, so ".c" is C (as "*.c"
 * matches it) while "x." and "README" have no extension.  Where a
 * language's usual files differ only in case, the table lists each
 * spelling as its own glob (*.s and *.S for asm, *.r and *.R for r, *.pl
 * and *.PL for perl); other case variants are no language ("x.PY").
 *
 * Only the last path component counts: folder names never give a file a
 * language ("dir.c/README" has none, "a.b/Makefile" is make).
 *
 * Ids index this build's table (LANG_NONE, then the languages in name
 * order): they change when a language is added, so anything kept across
 * versions or sent to clients holds names, not ids.
 *
 * lang_of() is called for every file a load visits and for every result,
 * from several threads: it allocates nothing and takes no lock beyond a
 * pthread_once() that builds the lookup tables from the language table
 * on first use.
 */
#ifndef SHARDGREP_LANG_H
#define SHARDGREP_LANG_H

#include <stddef.h>

/* Id of "no known language". */
#define LANG_NONE 0u

/* Number of ids, LANG_NONE included: ids are 0 .. lang_count()-1. */
unsigned lang_count(void);

/* The name of an id ("c", "cpp", "go", "python", "make", "docker", ...);
 * "" for LANG_NONE or an id out of range. */
const char *lang_name(unsigned id);

/* The id of a name (exact, case-insensitive ASCII, n bytes, no NUL
 * needed); -1 if unknown (LANG_NONE's "" is not findable). */
int lang_find(const char *name, size_t n);

/* The id a lang= filter names: a language's name as lang_find() reads
 * it, or "none" (any case) for LANG_NONE, the files of no language; -1
 * for anything else. */
int lang_select(const char *name, size_t n);

/* The language of a path of n bytes (no NUL needed), decided by its last
 * component only, by the rules above; LANG_NONE when no glob matches. */
unsigned lang_of(const char *path, size_t n);

/* The globs of an id, in the order listings show them ("*.c", "*.h"):
 * *n gets their count.  LANG_NONE and ids out of range have none (*n is
 * 0; the array returned is then empty, never NULL). */
const char *const *lang_globs(unsigned id, size_t *n);

#endif
