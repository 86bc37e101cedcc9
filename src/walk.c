/*
 * walk.c - directory walk with ignore rules (see walk.h).
 *
 * The walk is iterative: a stack of open folders on the heap (the folder's
 * path and its sorted names), so a tree of any depth costs no C stack; a
 * recursive walk took about 4 KB of stack a level and crashed near 2,000
 * levels.  Each folder's entries are read with readdir() and classified
 * by lstat() (d_type is a hint only on some file systems), so links are
 * seen as links and never followed.  The lstat() is of the name in the
 * folder's own descriptor, kept open while the folder is walked (for the
 * top WALK_FDS levels; deeper ones by their path from the root): by the
 * path from the root, each call looked up every folder above again, and
 * a restart with --index-dir waited on the walk.  Ignore files are pushed
 * on a stack while their folder is being walked.  A path of PATH_MAX
 * bytes or more cannot be opened by the workers: it is skipped, counted
 * (too_long) and logged, for its folder, once.
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

#include "fsopen.h"
#include "ignore.h"
#include "utf8.h"
#include "util.h"

#define IGNORE_FILE_MAX (1u << 20)
/* Folders deeper than this are not held open while walked (the limit on
 * open descriptors is often 1,024). */
#define WALK_FDS 64

struct walker {
    const struct walk_options *opt;
    struct file_list *out;
    struct ignore_stack *ignores;
    int root_fd;
    const struct walk_hooks *hooks; /* may be NULL */
    bool logged_long;               /* a too-long path was logged for the folder on top */
    bool ended;                     /* a hook ended the walk */
};

/* dir/name (name alone at the root); NULL when PATH_MAX or longer. */
static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    if (a + 1 + b >= PATH_MAX)
        return NULL;
    char *p = xmalloc(a + b + 2);
    if (a) {
        memcpy(p, dir, a);
        p[a++] = '/';
    }
    memcpy(p + a, name, b + 1);
    return p;
}

static bool is_vcs_dir(const char *name)
{
    return strcmp(name, ".git") == 0 || strcmp(name, ".hg") == 0 || strcmp(name, ".svn") == 0;
}

static void add_file(struct file_list *l, const char *rel, const struct stat *st)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n] = (struct file_entry){.path = xstrdup(rel), .shard = 0, .stamp = stamp_of(st)};
    l->n++;
    l->bytes += (uint64_t)st->st_size;
}

/* Read a small ignore file relative to the root; NULL if absent. */
static struct ignore_rules *load_ignore_file(int root_fd, const char *dir, const char *name)
{
    char *path = join(dir, name);
    int fd = path ? fs_open_beneath(root_fd, path, O_RDONLY | O_NONBLOCK) : -1;
    free(path);
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

/* Names in a folder, sorted so that the walk order is deterministic.
 * With keep, *fd is the folder's descriptor, to be closed by the caller
 * (-1 when it could not be kept); else it is closed here. */
static char **read_names(int root_fd, const char *dir, size_t *count, bool keep, int *fd_out)
{
    int fd = *dir ? fs_open_beneath(root_fd, dir, O_RDONLY | O_DIRECTORY)
                  : openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        errno = -fd;
    *fd_out = -1;
    if (fd >= 0 && keep)
        *fd_out = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        if (*fd_out >= 0)
            close(*fd_out);
        *fd_out = -1;
        errno = e;
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

/* A folder being walked: its path, its names, the next one to visit, how
 * many ignore rule sets it pushed, and its descriptor (-1: none kept). */
struct frame {
    char *dir;
    char **names;
    size_t count, next, pushed;
    int fd;
};

struct frames {
    struct frame *v;
    size_t n, cap;
};

/* Enter a folder: read its names and push its ignore files.  False when
 * it cannot be read (counted and logged), or the hook ended the walk. */
static bool enter(struct walker *w, struct frames *st, char *dir)
{
    /* The hook (a watch on the folder) comes before its names are read:
     * a file created after that is reported by the watch, one created
     * before is among the names.  The other way round, a folder made just
     * after the names were read and before the watch was set was never
     * seen (found under valgrind, in a test that writes right after the
     * start). */
    if (w->hooks && w->hooks->dir && !w->hooks->dir(w->hooks->ctx, dir)) {
        w->ended = true;
        free(dir);
        return false;
    }
    size_t count = 0;
    int fd;
    char **names = read_names(w->root_fd, dir, &count, st->n < WALK_FDS, &fd);
    if (!names) {
        log_info("cannot read folder %s: %s", *dir ? dir : ".", strerror(errno));
        w->out->unreadable_dirs++;
        free(dir);
        return false;
    }
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 64;
        st->v = xrealloc(st->v, st->cap * sizeof *st->v);
    }
    st->v[st->n++] = (struct frame){dir, names, count, 0, push_ignores(w, dir), fd};
    return true;
}

static void leave(struct walker *w, struct frames *st)
{
    struct frame *f = &st->v[--st->n];
    while (f->pushed--)
        ignore_stack_pop(w->ignores);
    while (f->next < f->count) /* names not visited: the walk ended early */
        free(f->names[f->next++]);
    free(f->names);
    free(f->dir);
    if (f->fd >= 0)
        close(f->fd);
}

/* One entry of the folder on top: a file is listed, a folder is entered
 * (pushed), the rest counted.  name is consumed. */
static void visit(struct walker *w, struct frames *st, char *name)
{
    const char *dir = st->v[st->n - 1].dir;
    int dir_fd = st->v[st->n - 1].fd;
    char *rel = join(dir, name);
    if (!rel) {
        w->out->too_long++;
        if (!w->logged_long) /* the reason first: the folder's path is long */
            log_info("skipped: a path of %d bytes or more, in folder %.60s...%s (%zu bytes)",
                     PATH_MAX, dir, dir + strlen(dir) - (strlen(dir) > 60 ? 60 : strlen(dir)),
                     strlen(dir));
        w->logged_long = true;
        free(name);
        return;
    }
    struct stat st_;
    bool is_dir = false;
    int at = dir_fd >= 0 ? fstatat(dir_fd, name, &st_, AT_SYMLINK_NOFOLLOW)
                         : fstatat(w->root_fd, rel, &st_, AT_SYMLINK_NOFOLLOW);
    if (at < 0 || (!(is_dir = S_ISDIR(st_.st_mode)) && !S_ISREG(st_.st_mode))) {
        w->out->special++; /* gone, symbolic links, sockets, devices */
    } else if (is_dir && is_vcs_dir(name)) {
        /* skipped */
    } else if (!w->opt->no_ignore && ignore_stack_ignored(w->ignores, rel, is_dir)) {
        w->out->ignored++;
    } else if (is_dir) {
        free(name);
        enter(w, st, rel);
        return;
    } else if ((uint64_t)st_.st_size > w->opt->max_file_size) {
        w->out->too_large++;
    } else {
        add_file(w->out, rel, &st_);
    }
    free(name);
    free(rel);
}

static void walk_all(struct walker *w, const char *from)
{
    struct frames st = {0};
    enter(w, &st, xstrdup(from));
    while (st.n > 0) {
        struct frame *top = &st.v[st.n - 1];
        if (top->next == top->count || w->ended) {
            w->logged_long = false;
            leave(w, &st);
            continue;
        }
        visit(w, &st, top->names[top->next++]);
    }
    free(st.v);
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
    walk_all(&w, "");
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

/* Push the ignore rules of every folder above rel (the root, then down),
 * as a walk would have on its way there; false if one of those folders is
 * itself left out (ignored, or a VCS folder): nothing beneath it counts. */
static bool descend_to(struct walker *w, const char *rel)
{
    char *dir = xstrdup(rel);
    bool ok = true;
    push_ignores(w, "");
    for (char *slash = strchr(dir, '/'); slash && ok; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        const char *name = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
        ok = !is_vcs_dir(name) &&
             (w->opt->no_ignore || !ignore_stack_ignored(w->ignores, dir, true));
        if (ok)
            push_ignores(w, dir);
        *slash = '/';
    }
    free(dir);
    return ok;
}

bool walk_ignored(int root_fd, const char *rel, bool is_dir, const struct walk_options *opt)
{
    struct walker w = {.opt = opt, .ignores = ignore_stack_new(), .root_fd = root_fd};
    const char *name = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    bool out = !descend_to(&w, rel) || (is_dir && is_vcs_dir(name)) ||
               (!opt->no_ignore && ignore_stack_ignored(w.ignores, rel, is_dir));
    ignore_stack_free(w.ignores);
    return out;
}

bool walk_subtree(int root_fd, const char *dir, const struct walk_options *opt,
                  const struct walk_hooks *hooks, struct file_list *out)
{
    memset(out, 0, sizeof *out);
    if (*dir && walk_ignored(root_fd, dir, true, opt))
        return true;
    struct walker w = {
        .opt = opt, .out = out, .ignores = ignore_stack_new(), .root_fd = root_fd, .hooks = hooks};
    if (!*dir || descend_to(&w, dir))
        walk_all(&w, dir);
    ignore_stack_free(w.ignores);
    return !w.ended;
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
