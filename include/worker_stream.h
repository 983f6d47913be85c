/* Serve one stream connection with the service's protocol. */
#ifndef PREFORKD_WORKER_STREAM_H
#define PREFORKD_WORKER_STREAM_H

#include <signal.h>
#include <sys/socket.h>

#include "access.h"
#include "client.h"
#include "conn.h"

struct service;
struct worker_slot;

/* What a worker lends every stream connection it serves: set up once,
 * after fork(). */
struct worker_stream {
	const struct service *svc;
	const struct worker_slot *slot;
	const struct conn_buffers *bufs; /* the worker's, lent to each */
	struct conn_limits limits;       /* the service's, for each */
	/* The worker's flags: set by SIGTERM (drop the client now) and
	 * SIGQUIT (finish it, then exit). */
	const volatile sig_atomic_t *stop, *quit;
	/* The client's socket while one is served, else -1: for the SIGTERM
	 * handler, which shuts it down to wake a blocked call. */
	volatile sig_atomic_t *client_fd;
};

/* One connection, from accept() to close(). */
struct worker_stream_conn {
	struct conn conn;
	struct client client;
	struct access access;
	enum conn_end end; /* how it ended, once served */
};

/* The limits of svc, as conn.c wants them. */
void worker_stream_limits(
    struct conn_limits *limits, const struct service *svc);
/* Take the client accepted as fd from peer, on the listener bound to
 * bound, into sc: name it, start its access line and its limits, and show
 * the worker busy with it. */
void worker_stream_open(const struct worker_stream *ws,
    struct worker_stream_conn *sc, int fd, const struct sockaddr_storage *peer,
    const struct addr *bound);
/* Serve it: the banner, if any, then the protocol to its end (sc->end). */
void worker_stream_serve(
    const struct worker_stream *ws, struct worker_stream_conn *sc);
/* End it as sc->end calls for (conn_finish) -- or, when refused is a
 * word, as a client that was not served -- log its access line, close it
 * and show the worker idle again (or quitting). */
void worker_stream_close(const struct worker_stream *ws,
    struct worker_stream_conn *sc, const char *refused);

#endif
