/*
 * links.c - editor and code-host URLs from templates (see links.h).
 */
#include "links.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum placeholder { PH_ABSPATH, PH_PATH, PH_LINE, PH_TREE, PH_COUNT };

static const char *const ph_names[PH_COUNT] = {"abspath", "path", "line", "tree"};

/* Schemes that would run in the page or read the reader's own disk (and
 * which browsers do not open from a web page anyway: file:). */
static const char *const refused_schemes[] = {"javascript", "data", "vbscript", "file"};

struct tmpl {
    const char *text; /* the option's own string (argv outlives us) */
    size_t len;
    unsigned count[PH_COUNT];
};

struct links {
    unsigned ntrees;
    char **abs_root; /* per tree, realpath()'d */
    char **name;
    struct tmpl editor; /* text NULL: none */
    struct tmpl *host;  /* per tree; text NULL: none */
};

/* The placeholder that starts at s ("{name}"), its length in *n; -1. */
static int placeholder_at(const char *s, size_t *n)
{
    for (int p = 0; p < PH_COUNT; p++) {
        size_t k = strlen(ph_names[p]);
        if (!strncmp(s + 1, ph_names[p], k) && s[1 + k] == '}') {
            *n = k + 2;
            return p;
        }
    }
    return -1;
}

/* The scheme: letters first, then letters, digits, '+', '.', '-', up to
 * ':'; its length, or 0. */
static size_t scheme_len(const char *t)
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    if (!*t || !strchr(alpha, *t))
        return 0;
    size_t n =
        1 + strspn(t + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-");
    return t[n] == ':' ? n : 0;
}

static bool bad_byte(unsigned char c)
{
    return c <= 0x20 || c >= 0x7f || strchr("\"'<>\\`", c);
}

/* The template's placeholders counted in t (checked). */
static int parse(const char *option, const char *tmpl, struct tmpl *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->text = tmpl;
    t->len = strlen(tmpl);
    for (size_t i = 0; i < t->len; i++) {
        unsigned char c = (unsigned char)tmpl[i];
        if (bad_byte(c)) {
            set_err(err, errlen,
                    "invalid %s '%s': byte %zu (0x%02x) is not allowed (printable ASCII without "
                    "spaces, quotes, <, >, \\ or `; percent-encode it)",
                    option, tmpl, i + 1, c);
            return SG_ERR;
        }
        if (c == '}') {
            set_err(err, errlen, "invalid %s '%s': '}' outside a placeholder", option, tmpl);
            return SG_ERR;
        }
        if (c != '{')
            continue;
        size_t n;
        int p = placeholder_at(tmpl + i, &n);
        if (p < 0) {
            size_t end = strcspn(tmpl + i, "}");
            set_err(err, errlen,
                    "invalid %s '%s': unknown placeholder '%.*s' (known: {abspath}, {path}, "
                    "{line}, {tree})",
                    option, tmpl, (int)(end + (tmpl[i + end] == '}')), tmpl + i);
            return SG_ERR;
        }
        t->count[p]++;
        i += n - 1;
    }
    return SG_OK;
}

int links_check_template(const char *option, const char *tmpl, char *err, size_t errlen)
{
    struct tmpl t;
    if (!*tmpl || strlen(tmpl) > LINKS_TEMPLATE_MAX) {
        set_err(err, errlen, "invalid %s: a URL of 1 to %d bytes expected", option,
                LINKS_TEMPLATE_MAX);
        return SG_ERR;
    }
    size_t sl = scheme_len(tmpl);
    if (!sl) {
        set_err(err, errlen,
                "invalid %s '%s': it must start with a scheme (https:, vscode:, idea:, ...)",
                option, tmpl);
        return SG_ERR;
    }
    for (size_t i = 0; i < sizeof refused_schemes / sizeof *refused_schemes; i++) {
        if (strlen(refused_schemes[i]) == sl && !strncasecmp(tmpl, refused_schemes[i], sl)) {
            set_err(err, errlen,
                    "invalid %s '%s': the scheme %s: is refused (only links that leave the "
                    "page are made)",
                    option, tmpl, refused_schemes[i]);
            return SG_ERR;
        }
    }
    if (parse(option, tmpl, &t, err, errlen) < 0)
        return SG_ERR;
    if (!t.count[PH_ABSPATH] && !t.count[PH_PATH]) {
        set_err(err, errlen, "invalid %s '%s': it names no file ({abspath} or {path} expected)",
                option, tmpl);
        return SG_ERR;
    }
    return SG_OK;
}

int links_spec_add_host(struct links_spec *spec, const char *arg, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '='), *colon = strchr(arg, ':');
    bool named = eq && (!colon || eq < colon);
    const char *tree = named ? arg : NULL;
    size_t tree_len = named ? (size_t)(eq - arg) : 0;
    const char *url = named ? eq + 1 : arg;
    if (named && !tree_len) {
        set_err(err, errlen, "invalid --link-url '%s': a tree name is missing before '='", arg);
        return SG_ERR;
    }
    if (links_check_template("--link-url", url, err, errlen) < 0)
        return SG_ERR;
    for (unsigned i = 0; i < spec->nhost; i++) {
        const struct links_host *h = &spec->host[i];
        if (!h->tree != !tree ||
            (tree && (h->tree_len != tree_len || strncmp(h->tree, tree, tree_len))))
            continue;
        if (tree)
            set_err(err, errlen, "--link-url is given twice for tree '%.*s'", (int)tree_len, tree);
        else
            set_err(err, errlen, "--link-url is given twice without TREE=");
        return SG_ERR;
    }
    if (spec->nhost == LINKS_HOST_MAX) {
        set_err(err, errlen, "too many --link-url: at most %d", LINKS_HOST_MAX);
        return SG_ERR;
    }
    spec->host[spec->nhost++] = (struct links_host){.tree = tree, .tree_len = tree_len, .url = url};
    return SG_OK;
}

static long tree_named(const char *const *names, unsigned ntrees, const char *s, size_t n)
{
    for (unsigned t = 0; t < ntrees; t++)
        if (strlen(names[t]) == n && !strncmp(names[t], s, n))
            return (long)t;
    return -1;
}

/* Each tree's code-host template: its own, else the default. */
static int assign_hosts(struct links *l, const struct links_spec *spec, const char *const *names,
                        char *err, size_t errlen)
{
    const char *fallback = NULL;
    for (unsigned i = 0; i < spec->nhost; i++) {
        const struct links_host *h = &spec->host[i];
        if (!h->tree) {
            fallback = h->url;
            continue;
        }
        long t = tree_named(names, l->ntrees, h->tree, h->tree_len);
        if (t < 0) {
            char served[160] = "";
            for (unsigned k = 0, at = 0; k < l->ntrees && at < sizeof served; k++)
                at += (unsigned)snprintf(served + at, sizeof served - at, "%s%s", k ? ", " : "",
                                         names[k]);
            set_err(err, errlen, "--link-url names tree '%.*s', which is not served (trees: %s)",
                    (int)h->tree_len, h->tree, served);
            return SG_ERR;
        }
        (void)parse("--link-url", h->url, &l->host[t], NULL, 0);
    }
    for (unsigned t = 0; t < l->ntrees && fallback; t++)
        if (!l->host[t].text)
            (void)parse("--link-url", fallback, &l->host[t], NULL, 0);
    return SG_OK;
}

struct links *links_new(const struct links_spec *spec, const char *const *roots,
                        const char *const *names, unsigned ntrees, char *err, size_t errlen)
{
    set_err(err, errlen, "%s", "");
    if (!spec->editor && !spec->nhost)
        return NULL;
    struct links *l = xcalloc(1, sizeof *l);
    l->ntrees = ntrees;
    l->abs_root = xcalloc(ntrees ? ntrees : 1, sizeof *l->abs_root);
    l->name = xcalloc(ntrees ? ntrees : 1, sizeof *l->name);
    l->host = xcalloc(ntrees ? ntrees : 1, sizeof *l->host);
    for (unsigned t = 0; t < ntrees; t++) {
        l->name[t] = xstrdup(names[t]);
        l->abs_root[t] = realpath(roots[t], NULL);
        if (!l->abs_root[t]) {
            set_err(err, errlen, "cannot resolve %s for its links: %s", roots[t], strerror(errno));
            links_free(l);
            return NULL;
        }
    }
    if (spec->editor) {
        if (parse("--editor-url", spec->editor, &l->editor, err, errlen) < 0) {
            links_free(l);
            return NULL;
        }
    }
    if (assign_hosts(l, spec, names, err, errlen) < 0) {
        links_free(l);
        return NULL;
    }
    return l;
}

void links_free(struct links *l)
{
    if (!l)
        return;
    for (unsigned t = 0; t < l->ntrees; t++) {
        free(l->abs_root[t]);
        free(l->name[t]);
    }
    free(l->abs_root);
    free(l->name);
    free(l->host);
    free(l);
}

static const struct tmpl *template_of(const struct links *l, enum link_kind kind, unsigned tree)
{
    if (!l || tree >= l->ntrees)
        return NULL;
    const struct tmpl *t = kind == LINK_EDITOR ? &l->editor : &l->host[tree];
    return t->text ? t : NULL;
}

bool links_has(const struct links *l, enum link_kind kind, unsigned tree)
{
    return template_of(l, kind, tree) != NULL;
}

/* n bytes of s, each but the unreserved ones and '/' as %HH. */
static void put_encoded(struct strbuf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char keep[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/";
    if (!strbuf_reserve(out, 3 * n))
        return;
    char *o = out->buf + out->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c && strchr(keep, c)) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    out->len = (size_t)(o - out->buf);
}

static void put_value(struct strbuf *out, const struct links *l, int p, unsigned tree,
                      const char *path, uint32_t line)
{
    char digits[16];
    switch (p) {
    case PH_ABSPATH: {
        const char *root = l->abs_root[tree];
        size_t rn = strlen(root);
        while (rn > 0 && root[rn - 1] == '/') /* "/" itself: no "//" */
            rn--;
        put_encoded(out, root, rn);
        strbuf_add(out, "/", 1);
        put_encoded(out, path, strlen(path));
        break;
    }
    case PH_PATH:
        put_encoded(out, path, strlen(path));
        break;
    case PH_TREE:
        put_encoded(out, l->name[tree], strlen(l->name[tree]));
        break;
    case PH_LINE:
    default:
        if (line == LINKS_KEEP_LINE) {
            strbuf_add(out, "{line}", 6);
        } else {
            int n = snprintf(digits, sizeof digits, "%u", line);
            strbuf_add(out, digits, (size_t)n);
        }
        break;
    }
}

bool links_write(const struct links *l, enum link_kind kind, unsigned tree, const char *path,
                 uint32_t line, struct strbuf *out)
{
    const struct tmpl *t = template_of(l, kind, tree);
    if (!t)
        return false;
    const char *s = t->text;
    for (;;) {
        size_t plain = strcspn(s, "{");
        strbuf_add(out, s, plain);
        s += plain;
        if (!*s)
            break;
        size_t n;
        int p = placeholder_at(s, &n); /* checked at start-up */
        put_value(out, l, p, tree, path, line);
        s += n;
    }
    return true;
}

size_t links_max_len(const struct links *l, unsigned tree, const char *path)
{
    size_t total = 0;
    for (int k = 0; k < LINK_KINDS; k++) {
        const struct tmpl *t = template_of(l, (enum link_kind)k, tree);
        if (!t)
            continue;
        size_t pn = strlen(path);
        total += t->len + t->count[PH_LINE] * 10;
        total += t->count[PH_PATH] * 3 * pn;
        total += t->count[PH_ABSPATH] * 3 * (strlen(l->abs_root[tree]) + 1 + pn);
        total += t->count[PH_TREE] * 3 * strlen(l->name[tree]);
    }
    return total;
}
