/*
 * walk.c - directory walk with ignore rules (see walk.h).
 *
 * The walk is recursive with an explicit path buffer; recursion depth is
 * bounded by the tree's depth (PATH_MAX limits it).  Each folder's entries
 * are read with readdir() and classified by lstat() (d_type is a hint only
 * on some file systems), so links are seen as links and never followed.
 * Ignore files are pushed on a stack while their folder is being walked.
 */
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ignore.h"
#include "utf8.h"
#include "util.h"

#define IGNORE_FILE_MAX (1u << 20)

struct walker {
    const struct walk_options *opt;
    struct file_list *out;
    struct ignore_stack *ignores;
    int root_fd;
};

static bool is_vcs_dir(const char *name)
{
    return strcmp(name, ".git") == 0 || strcmp(name, ".hg") == 0 || strcmp(name, ".svn") == 0;
}

static void add_file(struct file_list *l, const char *rel, uint64_t size)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n].path = xstrdup(rel);
    l->v[l->n].size = size;
    l->v[l->n].shard = 0;
    l->n++;
    l->bytes += size;
}

/* Read a small ignore file relative to the root; NULL if absent. */
static struct ignore_rules *load_ignore_file(int root_fd, const char *dir, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s%s", dir, *dir ? "/" : "", name);
    int fd = openat(root_fd, *path ? path : ".", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > IGNORE_FILE_MAX) {
        close(fd);
        return NULL;
    }
    char *text = xmalloc((size_t)st.st_size + 1);
    ssize_t n = read(fd, text, (size_t)st.st_size);
    close(fd);
    struct ignore_rules *r = n >= 0 ? ignore_rules_parse(text, (size_t)n, dir) : NULL;
    free(text);
    return r;
}

static size_t push_ignores(struct walker *w, const char *dir)
{
    static const char *const names[] = {".gitignore", ".ignore"};
    size_t pushed = 0;
    if (w->opt->no_ignore)
        return 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct ignore_rules *r = load_ignore_file(w->root_fd, dir, names[i]);
        if (r) {
            ignore_stack_push(w->ignores, r);
            pushed++;
        }
    }
    return pushed;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in a folder, sorted so that the walk order is deterministic. */
static char **read_names(int root_fd, const char *dir, size_t *count)
{
    int fd = openat(root_fd, *dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = xrealloc(names, cap * sizeof *names);
        }
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    *count = n;
    return names ? names : xcalloc(1, sizeof *names);
}

static void walk_dir(struct walker *w, const char *dir);

static void visit(struct walker *w, const char *dir, const char *name)
{
    char rel[PATH_MAX];
    int len = snprintf(rel, sizeof rel, "%s%s%s", dir, *dir ? "/" : "", name);
    if (len < 0 || (size_t)len >= sizeof rel) {
        w->out->special++;
        return;
    }
    struct stat st;
    if (fstatat(w->root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        w->out->special++;
        return;
    }
    bool is_dir = S_ISDIR(st.st_mode);
    if (!is_dir && !S_ISREG(st.st_mode)) {
        w->out->special++; /* symbolic links, sockets, devices */
        return;
    }
    if (is_dir && is_vcs_dir(name))
        return;
    if (!w->opt->no_ignore && ignore_stack_ignored(w->ignores, rel, is_dir)) {
        w->out->ignored++;
        return;
    }
    if (is_dir) {
        walk_dir(w, rel);
    } else if ((uint64_t)st.st_size > w->opt->max_file_size) {
        w->out->too_large++;
    } else {
        add_file(w->out, rel, (uint64_t)st.st_size);
    }
}

static void walk_dir(struct walker *w, const char *dir)
{
    size_t count = 0;
    char **names = read_names(w->root_fd, dir, &count);
    if (!names) {
        log_info("cannot read folder %s: %s", *dir ? dir : ".", strerror(errno));
        w->out->unreadable_dirs++;
        return;
    }
    size_t pushed = push_ignores(w, dir);
    for (size_t i = 0; i < count; i++) {
        visit(w, dir, names[i]);
        free(names[i]);
    }
    free(names);
    while (pushed--)
        ignore_stack_pop(w->ignores);
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct file_entry *)a)->path, ((const struct file_entry *)b)->path);
}

int walk_tree(const char *root, const struct walk_options *opt, struct file_list *out, char *err,
              size_t errlen)
{
    memset(out, 0, sizeof *out);
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, errlen, "cannot open %s: %s", root, strerror(errno));
        return SG_ERR;
    }
    struct walker w = {.opt = opt, .out = out, .ignores = ignore_stack_new(), .root_fd = fd};
    walk_dir(&w, "");
    ignore_stack_free(w.ignores);
    close(fd);
    /* Folder order is not path order ("a/b" vs "a.c"): sort the result. */
    if (out->n)
        qsort(out->v, out->n, sizeof *out->v, cmp_entry);
    size_t cap = 0;
    for (size_t i = 0; i < out->n; i++) {
        if (utf8_valid(out->v[i].path, strlen(out->v[i].path), NULL))
            continue;
        if (out->nnot_utf8 == cap) {
            cap = cap ? 2 * cap : 8;
            out->not_utf8 = xrealloc(out->not_utf8, cap * sizeof *out->not_utf8);
        }
        out->not_utf8[out->nnot_utf8++] = i;
    }
    return SG_OK;
}

void file_list_free(struct file_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].path);
    free(l->v);
    free(l->not_utf8);
    memset(l, 0, sizeof *l);
}

long file_list_find(const struct file_list *l, const char *path)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(l->v[mid].path, path);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

long file_list_find_shown(const struct file_list *l, const char *path)
{
    long idx = file_list_find(l, path);
    if (idx >= 0 || !l->nnot_utf8)
        return idx;
    size_t want = strlen(path);
    for (size_t k = 0; k < l->nnot_utf8; k++) {
        const char *raw = l->v[l->not_utf8[k]].path;
        size_t n = strlen(raw);
        if (n > want) /* repairing never shortens */
            continue;
        char *shown = xmalloc(UTF8_REPAIR_MAX(n) + 1);
        size_t len = utf8_repair(raw, n, shown);
        bool same = len == want && !memcmp(shown, path, len);
        free(shown);
        if (same)
            return (long)l->not_utf8[k];
    }
    return -1;
}
