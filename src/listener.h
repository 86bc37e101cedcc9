/*
 * listener.h - the server's listening socket, bound before anything else.
 *
 * The master binds it first thing, before the tree is walked and the
 * workers load it, so that a port in use or an address that does not
 * resolve is reported at once, with the system's reason, instead of after
 * the load; the HTTP daemon takes it over once the workers are ready
 * (http_start()), and connections made in between wait in its backlog.
 * The workers forked in between close it: the port is the master's alone
 * (a worker outliving the master must not keep it).
 */
#ifndef SHARDGREP_LISTENER_H
#define SHARDGREP_LISTENER_H

#include <stdbool.h>
#include <stddef.h>

struct listener;

/* Resolve bind (a numeric address or a host name; of several addresses,
 * the first that this host has) and listen on it at port (0: any free
 * port).  On error err says why: "cannot listen on 127.0.0.1 port 8080:
 * Address already in use". */
struct listener *listener_open(const char *bind, unsigned port, char *err, size_t errlen);
/* Whether the address listened on is a loopback one (127/8, ::1). */
bool listener_is_loopback(const struct listener *l);
/* The port listened on (the one picked, for port 0). */
unsigned listener_port(const struct listener *l);
/* Hand the socket over: returns its descriptor and frees the rest. */
int listener_release(struct listener *l);
/* Close the socket (in a forked child too). */
void listener_close(struct listener *l); /* accepts NULL */

#endif
