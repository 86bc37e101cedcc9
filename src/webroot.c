/*
 * webroot.c - the search page's files, read once into memory (see
 * webroot.h: requests are only compared with the names loaded).
 */
#include "webroot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

struct webroot {
    struct web_file *files;
    size_t n;
    size_t bytes;
};

static const char *content_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
        {".webmanifest", "application/manifest+json"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(dot, types[i].ext))
            return types[i].type;
    return "application/octet-stream";
}

static void add(struct webroot *w, const char *rel, char *data, size_t len)
{
    w->files = xrealloc(w->files, (w->n + 1) * sizeof *w->files);
    struct web_file *f = &w->files[w->n++];
    size_t n = strlen(rel) + 2;
    f->path = xmalloc(n);
    snprintf(f->path, n, "/%s", rel);
    f->content_type = content_type(rel);
    f->data = data;
    f->len = len;
    w->bytes += len;
}

static void load_file(struct webroot *w, int dirfd, const char *name, const char *rel)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0)
        return;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        w->bytes + (size_t)st.st_size > WEBROOT_MAX_BYTES || w->n >= WEBROOT_MAX_FILES) {
        close(fd);
        return;
    }
    char *data = xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, data + got, (size_t)st.st_size - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    add(w, rel, data, got);
}

static void load_dir(struct webroot *w, int dirfd, const char *prefix, int depth)
{
    DIR *d = fdopendir(dirfd);
    if (!d) {
        close(dirfd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* no dotfiles, no "." or ".." */
        char rel[PATH_MAX];
        snprintf(rel, sizeof rel, "%s%s%s", prefix, *prefix ? "/" : "", e->d_name);
        struct stat st;
        if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth < 8) {
            int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
            if (sub >= 0)
                load_dir(w, sub, rel, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            load_file(w, dirfd, e->d_name, rel);
        }
    }
    closedir(d);
}

struct webroot *webroot_load(const char *dir, char *err, size_t errlen)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, errlen, "cannot open web root %s: %s", dir, strerror(errno));
        return NULL;
    }
    struct webroot *w = xcalloc(1, sizeof *w);
    load_dir(w, fd, "", 0);
    return w;
}

void webroot_free(struct webroot *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++) {
        free(w->files[i].path);
        free(w->files[i].data);
    }
    free(w->files);
    free(w);
}

const struct web_file *webroot_find(const struct webroot *w, const char *path)
{
    if (!w)
        return NULL;
    if (!strcmp(path, "/"))
        path = "/index.html";
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->files[i].path, path))
            return &w->files[i];
    return NULL;
}

size_t webroot_count(const struct webroot *w)
{
    return w ? w->n : 0;
}
