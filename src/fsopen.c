/*
 * fsopen.c - opening beneath the root without links (see fsopen.h).
 */
#include "fsopen.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Relative, and no empty, "." or ".." component. */
static bool clean_path(const char *rel)
{
    if (!*rel || *rel == '/')
        return false;
    for (const char *p = rel;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        if (!slash)
            return true;
        p = slash + 1;
    }
}

int fs_open_beneath_walk(int root_fd, const char *rel, int flags)
{
    if (!clean_path(rel))
        return -EINVAL;
    if (strlen(rel) >= PATH_MAX)
        return -ENAMETOOLONG;
    char comp[NAME_MAX + 1];
    int dir = root_fd;
    const char *p = rel;
    for (;;) {
        const char *slash = strchr(p, '/');
        if (!slash)
            break;
        size_t n = (size_t)(slash - p);
        if (n > NAME_MAX) {
            if (dir != root_fd)
                close(dir);
            return -ENAMETOOLONG;
        }
        memcpy(comp, p, n);
        comp[n] = '\0';
        int next = openat(dir, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int err = errno;
        if (dir != root_fd)
            close(dir);
        if (next < 0)
            return -err;
        dir = next;
        p = slash + 1;
    }
    int fd = openat(dir, p, flags | O_NOFOLLOW | O_CLOEXEC);
    int err = errno;
    if (dir != root_fd)
        close(dir);
    return fd >= 0 ? fd : -err;
}

int fs_open_beneath(int root_fd, const char *rel, int flags)
{
    static int no_openat2; /* the kernel refused it once: do not ask again */
    if (!clean_path(rel))
        return -EINVAL;
    if (!no_openat2) {
        struct open_how how = {.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
                               .resolve =
                                   RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
        long fd = syscall(SYS_openat2, root_fd, rel, &how, sizeof how);
        if (fd >= 0)
            return (int)fd;
        /* ENOSYS: no openat2; EPERM: maybe a seccomp filter that refuses
         * it (the walk then says what the file's permissions say). */
        if (errno != ENOSYS && errno != EPERM)
            return -errno;
        if (errno == ENOSYS)
            no_openat2 = 1;
    }
    return fs_open_beneath_walk(root_fd, rel, flags);
}
