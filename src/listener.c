/*
 * listener.c - the listening socket (see listener.h).
 */
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

struct listener {
    int fd;
    unsigned port;
    bool loopback;
};

static bool sockaddr_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

/* A socket listening on one address, or -1 with errno set.  As
 * libmicrohttpd set its own: SO_REUSEADDR (a restart need not wait for
 * the last run's connections in TIME_WAIT), and IPv6 only on an IPv6
 * address.  Close-on-exec, for the workers that are exec'd. */
static int listen_on(const struct addrinfo *ai)
{
    int on = 1;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (ai->ai_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* "127.0.0.1", or "localhost (127.0.0.1)" when bind was a name. */
static void describe(const char *bind, const struct addrinfo *ai, char *out, size_t n)
{
    char num[INET6_ADDRSTRLEN];
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, num, sizeof num, NULL, 0, NI_NUMERICHOST) != 0 ||
        !strcmp(num, bind))
        snprintf(out, n, "%s", bind);
    else
        snprintf(out, n, "%s (%s)", bind, num);
}

static unsigned bound_port(int fd, unsigned asked)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return asked;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

struct listener *listener_open(const char *bind, unsigned port, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
    struct addrinfo *list = NULL;
    char service[16], where[300];
    snprintf(service, sizeof service, "%u", port);
    int rc = getaddrinfo(bind, service, &hints, &list);
    if (rc != 0) {
        set_err(err, errlen, "cannot listen on %s: %s", bind,
                rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return NULL;
    }
    /* A name may stand for addresses this host does not have (::1 where
     * IPv6 is off): those are skipped; any other failure is the answer. */
    int fd = -1, e = 0;
    const struct addrinfo *ai = list;
    for (; ai; ai = ai->ai_next) {
        fd = listen_on(ai);
        e = errno;
        if (fd >= 0 || (e != EADDRNOTAVAIL && e != EAFNOSUPPORT) || !ai->ai_next)
            break;
    }
    if (fd < 0) {
        describe(bind, ai, where, sizeof where);
        set_err(err, errlen, "cannot listen on %s port %u: %s", where, port, strerror(e));
        freeaddrinfo(list);
        return NULL;
    }
    struct listener *l = xcalloc(1, sizeof *l);
    l->fd = fd;
    l->loopback = sockaddr_loopback(ai->ai_addr);
    l->port = bound_port(fd, port);
    freeaddrinfo(list);
    return l;
}

bool listener_is_loopback(const struct listener *l)
{
    return l->loopback;
}

unsigned listener_port(const struct listener *l)
{
    return l->port;
}

int listener_release(struct listener *l)
{
    int fd = l->fd;
    free(l);
    return fd;
}

void listener_close(struct listener *l)
{
    if (l)
        close(listener_release(l));
}
