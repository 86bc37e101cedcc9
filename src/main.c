/*
 * main.c - shardgrep's entry point: parse the command line, then run the
 * server (server.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "options.h"
#include "server.h"
#include "util.h"
#include "worker.h"

/* Started with descriptor 0, 1 or 2 closed, the first sockets opened
 * would take its number: a worker's result socket became descriptor 2,
 * and log lines went into it as messages.  Hold each closed one with
 * /dev/null before anything else is opened. */
static void hold_standard_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        int null = open("/dev/null", O_RDWR);
        if (null < 0)
            _exit(127); /* nowhere to say it, and nothing is safe to open */
        if (null != fd) {
            dup2(null, fd);
            close(null);
        }
    }
}

/* When stderr is a file, log lines go to its end whatever its offset:
 * whoever shares the descriptor (a test reading the log back through it,
 * say) may move the offset, and a line written there would overwrite
 * others.  With one line a request, that is no longer rare. */
static void append_to_log_file(void)
{
    struct stat st;
    int flags = fcntl(STDERR_FILENO, F_GETFL);
    if (flags >= 0 && !(flags & O_APPEND) && fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode))
        (void)fcntl(STDERR_FILENO, F_SETFL, flags | O_APPEND);
}

/* Under a limit on the address space (ulimit -v), every thread's malloc
 * arena reserves 64 MB of it up front: the master's five threads and one
 * per HTTP connection took the room its answer budgets were sized from
 * (options.c), and a large search failed for memory it never used.  Keep
 * to the main arena and one more then; without a limit, glibc decides. */
static void fit_arenas_to_limit(void)
{
    struct rlimit as;
    if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY)
        mallopt(M_ARENA_MAX, 2);
}

int main(int argc, char **argv)
{
    struct options o;
    char err[SG_ERRLEN];
    hold_standard_fds();
    append_to_log_file();
    fit_arenas_to_limit();
    /* A replacement worker started by the master (worker.h). */
    if (argc > 1 && !strcmp(argv[1], WORKER_EXEC_ARG))
        return worker_exec_main(argc, argv);
    switch (options_parse(&o, argc, argv, err, sizeof err)) {
    case OPTIONS_HELP:
        fputs(options_help(), stdout);
        return 0;
    case OPTIONS_VERSION:
        printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
        return 0;
    case OPTIONS_ERROR:
        fprintf(stderr, "shardgrep: %s\n", err);
        return 2;
    case OPTIONS_RUN:
        break;
    }
    for (unsigned i = 0; i < o.ntrees; i++) {
        struct stat st;
        errno = 0;
        if (stat(o.roots[i], &st) < 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "shardgrep: cannot serve %s: %s\n", o.roots[i],
                    errno ? strerror(errno) : "not a directory");
            return 2;
        }
    }
    return server_run(&o);
}
