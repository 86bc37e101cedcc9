/*
 * lang.c - the language table and the lookups built from it.
 *
 * Design decisions:
 *
 * - The table below is the one source: lang_globs() answers from it, and
 *   lang_of()'s lookup structures are built from it once, under
 *   pthread_once(), on first use.  Adding a language is adding one line.
 *   The unit tests check the table (names unique, sorted, lower-case; each
 *   glob in one of the three forms of lang.h; no glob under two languages)
 *   and check lang_of() against glob_match() over the same globs, so the
 *   two readers of a glob cannot drift apart.
 *
 * - lang_of() runs for every file of a load and every result, so it does
 *   at most two hash probes and a short scan, with no allocation: exact
 *   names and extensions each go into an open-addressing hash table
 *   (FNV-1a, linear probing, kept under half full), prefixes into a short
 *   list sorted longest first.  A bitmap of the first bytes of the names
 *   and prefixes lets most file names ("x.c", "main.go") skip both and go
 *   straight to their extension (a fifth less time over the kernel's
 *   paths than hashing every name).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang.h"

struct lang_def {
    const char *name;
    const char *const *globs;
    size_t nglobs;
};

#define LANG(nm, ...)                                                                              \
    {                                                                                              \
        nm, (const char *const[]){__VA_ARGS__},                                                    \
            sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)                      \
    }

/* Sorted by name; id = index + 1 (0 is LANG_NONE). */
static const struct lang_def langs[] = {
    LANG("ada", "*.adb", "*.ads"),
    LANG("asciidoc", "*.adoc", "*.asciidoc"),
    LANG("asm", "*.asm", "*.s", "*.S"),
    LANG("autoconf", "configure.ac", "configure.in", "*.ac"),
    LANG("automake", "Makefile.am", "GNUmakefile.am", "*.am"),
    LANG("awk", "*.awk"),
    LANG("bat", "*.bat", "*.cmd"),
    LANG("bazel", "BUILD", "BUILD.bazel", "MODULE.bazel", "WORKSPACE", "WORKSPACE.bazel", "*.bazel",
         "*.bzl", "*.bazelrc"),
    LANG("c", "*.c", "*.h"),
    LANG("clojure", "*.clj", "*.cljc", "*.cljs", "*.cljx"),
    LANG("cmake", "CMakeLists.txt", "*.cmake"),
    LANG("coccinelle", "*.cocci"),
    LANG("config", "*.cfg", "*.conf", "*.config", "*.ini"),
    LANG("cpp", "*.cc", "*.cpp", "*.cxx", "*.hh", "*.hpp", "*.hxx", "*.C", "*.H", "*.inl"),
    LANG("csharp", "*.cs"),
    LANG("css", "*.css", "*.scss", "*.sass", "*.less"),
    LANG("csv", "*.csv"),
    LANG("cuda", "*.cu", "*.cuh"),
    LANG("dart", "*.dart"),
    LANG("diff", "*.diff", "*.patch"),
    LANG("docker", "Dockerfile", "Containerfile", "Dockerfile.*", "*.dockerfile", "*.Dockerfile"),
    LANG("dts", "*.dts", "*.dtsi", "*.dtso"),
    LANG("elisp", "*.el"),
    LANG("elixir", "*.ex", "*.exs", "*.eex", "*.heex", "*.leex"),
    LANG("erlang", "*.erl", "*.hrl"),
    LANG("fish", "*.fish"),
    LANG("fortran", "*.f", "*.F", "*.f77", "*.F77", "*.f90", "*.F90", "*.f95", "*.F95"),
    LANG("fsharp", "*.fs", "*.fsi", "*.fsx"),
    LANG("gn", "*.gn", "*.gni"),
    LANG("go", "*.go"),
    LANG("graphql", "*.graphql", "*.graphqls", "*.gql"),
    LANG("groovy", "*.groovy", "*.gradle"),
    LANG("haskell", "*.hs", "*.lhs"),
    LANG("html", "*.htm", "*.html"),
    LANG("java", "*.java"),
    LANG("js", "*.js", "*.mjs", "*.cjs", "*.jsx"),
    LANG("json", "*.json"),
    LANG("julia", "*.jl"),
    LANG("jupyter", "*.ipynb"),
    LANG("kconfig", "Kconfig", "Kconfig.*"),
    LANG("kotlin", "*.kt", "*.kts"),
    LANG("lex", "*.l", "*.lex"),
    LANG("license", "COPYING", "COPYING.*", "COPYRIGHT", "LICENCE", "LICENCE.*", "LICENSE",
         "LICENSE.*", "LICENSE-*"),
    LANG("lisp", "*.lisp", "*.lsp", "*.scm"),
    LANG("lua", "*.lua"),
    LANG("m4", "*.m4"),
    LANG("make", "Makefile", "makefile", "GNUmakefile", "Kbuild", "Makefile.*", "Kbuild.*", "*.mk",
         "*.mak"),
    LANG("markdown", "*.md", "*.markdown", "*.mdown", "*.mkd", "*.mdx"),
    LANG("meson", "meson.build", "meson_options.txt", "meson.options"),
    LANG("nim", "*.nim", "*.nims", "*.nimble"),
    LANG("nix", "*.nix"),
    LANG("objc", "*.m"),
    LANG("objcpp", "*.mm"),
    LANG("ocaml", "*.ml", "*.mli", "*.mll", "*.mly"),
    LANG("perl", "*.pl", "*.PL", "*.pm", "*.t", "*.perl"),
    LANG("php", "*.php", "*.phtml"),
    LANG("protobuf", "*.proto"),
    LANG("ps", "*.ps1", "*.psm1", "*.psd1"),
    LANG("python", "*.py", "*.pyi"),
    LANG("r", "*.R", "*.r", "*.Rmd", "*.rmd"),
    LANG("rst", "*.rst"),
    LANG("ruby", "Gemfile", "Rakefile", "*.rb", "*.rake", "*.gemspec"),
    LANG("rust", "*.rs"),
    LANG("scala", "*.scala", "*.sbt"),
    LANG("sh", ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc",
         ".zshenv", ".zprofile", ".zlogin", ".kshrc", ".cshrc", "*.sh", "*.bash", "*.zsh", "*.ksh",
         "*.csh"),
    LANG("sql", "*.sql", "*.psql"),
    LANG("svelte", "*.svelte"),
    LANG("svg", "*.svg"),
    LANG("swift", "*.swift"),
    LANG("tcl", "*.tcl"),
    LANG("tex", "*.tex", "*.ltx", "*.sty", "*.cls", "*.bib", "*.dtx", "*.ins"),
    LANG("texinfo", "*.texi", "*.texinfo"),
    LANG("tf", "*.tf", "*.tfvars"),
    LANG("toml", "Cargo.lock", "*.toml"),
    LANG("ts", "*.ts", "*.tsx", "*.mts", "*.cts"),
    LANG("txt", "*.txt"),
    LANG("verilog", "*.v", "*.vh", "*.sv", "*.svh"),
    LANG("vhdl", "*.vhd", "*.vhdl"),
    LANG("vim", "*.vim", ".vimrc", ".gvimrc", "vimrc", "gvimrc", "_vimrc"),
    LANG("vue", "*.vue"),
    LANG("xml", "*.xml", "*.xsd", "*.xsl", "*.xslt", "*.dtd", "*.xhtml"),
    LANG("yacc", "*.y", "*.yy"),
    LANG("yaml", "*.yml", "*.yaml"),
    LANG("zig", "*.zig"),
};

#define NLANGS (sizeof langs / sizeof langs[0])

/* Ids are kept in a uint16_t in the lookup tables. */
_Static_assert(NLANGS < UINT16_MAX, "too many languages for the lookup tables");

/* ------------------------------------------------------------------ */
/* The lookup structures                                               */
/* ------------------------------------------------------------------ */

/* Slots per hash table: a power of two, kept at least twice the keys. */
#define HASH_SLOTS   1024u
#define MAX_PREFIXES 32u

struct slot {
    const char *key; /* NULL: empty */
    uint16_t len;
    uint16_t lang;
};

struct prefix {
    const char *text;
    size_t len;
    unsigned lang;
};

static struct {
    struct slot exact[HASH_SLOTS], ext[HASH_SLOTS];
    size_t nexact, next;
    struct prefix prefixes[MAX_PREFIXES]; /* longest first */
    size_t nprefixes;
    uint8_t named_first[256]; /* 1: a name or prefix starts with that byte */
} idx;

static pthread_once_t idx_once = PTHREAD_ONCE_INIT;

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static unsigned hash_find(const struct slot *t, const char *key, size_t len)
{
    for (uint32_t i = hash_bytes(key, len);; i++) {
        const struct slot *s = &t[i & (HASH_SLOTS - 1)];
        if (!s->key)
            return LANG_NONE;
        if (s->len == len && memcmp(s->key, key, len) == 0)
            return s->lang;
    }
}

/* A table that outgrew its constants is a bug in this file, found by the
 * first test that runs: abort rather than probe forever. */
static __attribute__((noreturn)) void idx_full(const char *what)
{
    fprintf(stderr, "shardgrep: lang.c: too many %s for the lookup tables\n", what);
    abort();
}

/* Add a key; the first language to claim a key keeps it (the unit tests
 * make sure none is claimed twice). */
static void hash_add(struct slot *t, size_t *used, const char *key, size_t len, unsigned lang)
{
    if (++*used * 2 > HASH_SLOTS || len > UINT16_MAX)
        idx_full("globs");
    for (uint32_t i = hash_bytes(key, len);; i++) {
        struct slot *s = &t[i & (HASH_SLOTS - 1)];
        if (!s->key) {
            *s = (struct slot){key, (uint16_t)len, (uint16_t)lang};
            return;
        }
        if (s->len == len && memcmp(s->key, key, len) == 0)
            return;
    }
}

static void prefix_add(const char *text, size_t len, unsigned lang)
{
    if (idx.nprefixes == MAX_PREFIXES)
        idx_full("prefixes");
    size_t i = idx.nprefixes++;
    while (i > 0 && idx.prefixes[i - 1].len < len) {
        idx.prefixes[i] = idx.prefixes[i - 1];
        i--;
    }
    idx.prefixes[i] = (struct prefix){text, len, lang};
}

/* File one glob under its form (lang.h): "*.EXT", "PREFIX*" or a name. */
static void idx_add_glob(const char *glob, unsigned lang)
{
    size_t len = strlen(glob);

    if (len > 2 && glob[0] == '*' && glob[1] == '.') {
        hash_add(idx.ext, &idx.next, glob + 2, len - 2, lang);
        return;
    }
    if (len > 1 && glob[len - 1] == '*')
        prefix_add(glob, len - 1, lang);
    else
        hash_add(idx.exact, &idx.nexact, glob, len, lang);
    idx.named_first[(unsigned char)glob[0]] = 1;
}

static void idx_build(void)
{
    for (size_t i = 0; i < NLANGS; i++)
        for (size_t j = 0; j < langs[i].nglobs; j++)
            idx_add_glob(langs[i].globs[j], (unsigned)i + 1);
}

/* ------------------------------------------------------------------ */
/* The interface                                                       */
/* ------------------------------------------------------------------ */

unsigned lang_count(void)
{
    return (unsigned)NLANGS + 1;
}

const char *lang_name(unsigned id)
{
    return id == LANG_NONE || id > NLANGS ? "" : langs[id - 1].name;
}

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

int lang_find(const char *name, size_t n)
{
    for (size_t i = 0; i < NLANGS; i++) {
        const char *s = langs[i].name;
        size_t k = 0;
        while (k < n && s[k] != '\0' && ascii_lower((unsigned char)name[k]) == (unsigned char)s[k])
            k++;
        if (k == n && s[k] == '\0')
            return (int)i + 1;
    }
    return -1;
}

int lang_select(const char *name, size_t n)
{
    if (n == 4 && ascii_lower((unsigned char)name[0]) == 'n' &&
        ascii_lower((unsigned char)name[1]) == 'o' && ascii_lower((unsigned char)name[2]) == 'n' &&
        ascii_lower((unsigned char)name[3]) == 'e')
        return (int)LANG_NONE;
    return lang_find(name, n);
}

static unsigned prefix_find(const char *name, size_t len)
{
    for (size_t i = 0; i < idx.nprefixes; i++) {
        const struct prefix *p = &idx.prefixes[i];
        if (p->len <= len && memcmp(p->text, name, p->len) == 0)
            return p->lang;
    }
    return LANG_NONE;
}

unsigned lang_of(const char *path, size_t n)
{
    if (n == 0)
        return LANG_NONE;
    const char *slash = memrchr(path, '/', n);
    const char *name = slash ? slash + 1 : path;
    size_t len = (size_t)(path + n - name);
    if (len == 0)
        return LANG_NONE;

    pthread_once(&idx_once, idx_build);
    if (idx.named_first[(unsigned char)name[0]]) {
        unsigned id = hash_find(idx.exact, name, len);
        if (id == LANG_NONE)
            id = prefix_find(name, len);
        if (id != LANG_NONE)
            return id;
    }
    const char *dot = memrchr(name, '.', len);
    if (!dot || dot + 1 == name + len)
        return LANG_NONE;
    return hash_find(idx.ext, dot + 1, (size_t)(name + len - dot - 1));
}

const char *const *lang_globs(unsigned id, size_t *n)
{
    static const char *const none[1] = {NULL};

    if (id == LANG_NONE || id > NLANGS) {
        *n = 0;
        return none;
    }
    *n = langs[id - 1].nglobs;
    return langs[id - 1].globs;
}
