/* Listening sockets: bound once, kept across reloads by address (by path,
 * for Unix ones). */
#ifndef PREFORKD_LISTENER_H
#define PREFORKD_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "addr.h"

struct config;
struct service;

/* What a service asks of each of its listening sockets. */
struct listen_opts {
	int backlog;
	int idle_timeout; /* seconds, inherited by accepted sockets; 0: none */
	int send_timeout; /* the same, for sending */
	bool nonblocking; /* the service has several listeners */
	int defer_accept; /* TCP_DEFER_ACCEPT's seconds; 0: off */
	/* A Unix socket's file: owner and group (-1: the master's), mode. */
	long socket_uid, socket_gid;
	int socket_mode;
};

struct listener {
	struct addr addr;
	int fd;
	bool wanted;   /* named by the config being applied */
	bool fresh;    /* bound by it, closed again if it fails */
	bool passed;   /* by a service manager, which holds it too */
	bool refusing; /* drops new connections (listener_refuse_new) */
	struct listen_opts opts; /* what the config being applied asks for */
	/* A Unix socket's file as bound, removed at close if still there. */
	dev_t dev;
	ino_t ino;
};

struct listener_set {
	struct listener *items;
	size_t count;
};

/*
 * Make set hold a socket for every address of every service in conf:
 * keep the ones already there, bind the new ones.  Returns 0, or -1 after
 * logging, with nothing newly bound left open and nothing else changed.
 * Until listener_commit, sockets no longer wanted stay open and kept ones
 * keep their old options.
 */
int listener_apply(struct listener_set *set, const struct config *conf);
/* A listening socket this process found open at start: passed by a
 * service manager (LISTEN_FDS), or handed over by the master this image
 * replaced (an upgrade), with what it knew of its Unix socket's file. */
struct listener_inherited {
	int fd;
	bool passed; /* the service manager's: it holds it too */
	dev_t dev;   /* a Unix socket's file as bound; 0 if none */
	ino_t ino;
};

/*
 * Take the n inherited listening sockets in into set (before the first
 * listener_apply, which then keeps them instead of binding), with the
 * options of the service whose listen address each is bound to: the one
 * path for socket activation and for an upgrade.  A socket that is not a
 * listening TCP socket, or that no service listens on, is closed, with a
 * warning.  0, or -1 after logging when out of memory, with every
 * inherited socket not in set closed.
 */
int listener_adopt(struct listener_set *set, const struct config *conf,
    const struct listener_inherited *in, size_t n);
/* Make the last listener_apply final: close and drop the sockets it did not
 * want, give the kept ones their new options. */
void listener_commit(struct listener_set *set);
/*
 * A graceful stop's first step: make the set's TCP sockets drop every new
 * connection while the handshakes already under way complete into the
 * listen queue.  Sockets a service manager passed are left as they are:
 * it holds them too, so their queue outlives this process.
 */
void listener_refuse_new(struct listener_set *set);
/* Clients waiting in the listen queue of l; 0 for a UDP socket; for a
 * Unix one, 1 when any is (Linux does not say how many). */
unsigned listener_queued(const struct listener *l);
/* The same over the sockets of set that refuse new connections. */
unsigned listener_queued_refusing(const struct listener_set *set);
/* Close every socket in the set and free it. */
void listener_close_all(struct listener_set *set);
/* The socket bound to addr, or -1 if there is none. */
int listener_fd(const struct listener_set *set, const struct addr *addr);
/* Close every socket in the set but the nkeep in keep, writing nothing: a
 * freshly forked worker keeps only its own sockets, and leaves the master's
 * memory untouched so that its pages stay shared. */
void listener_close_others(
    const struct listener_set *set, const int *keep, size_t nkeep);

/*
 * For -t: would binding the Unix address a of svc work?  0, or an errno:
 * ENOENT (no such directory), ENOTSOCK (a file that is no socket is
 * there), ELOOP (a symbolic link, never followed), EADDRINUSE (a live
 * socket), or EINVAL after logging that socket_user or socket_group does
 * not exist.  A stale socket is fine: start-up removes it.
 */
int listener_unix_check(const struct service *svc, const struct addr *a);

#endif
