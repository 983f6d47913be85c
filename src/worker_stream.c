/*
 * One stream connection, from accept() to close(): name its client, start
 * its access line and its limits, show the worker busy; once the worker
 * has admitted it, send the banner and hand it to the protocol; end it the
 * way its end calls for (conn_finish), log its access line, and show the
 * worker idle again.  Nothing is allocated: the buffers are the worker's,
 * lent to each connection in turn.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "access.h"
#include "client.h"
#include "config.h"
#include "conn.h"
#include "proto.h"
#include "scoreboard.h"
#include "unforked.h"
#include "worker_admit.h"
#include "worker_slot.h"
#include "worker_stream.h"

/* The slot of the worker serving each connection, for show_progress,
 * which conn calls with the connection alone. */
static int progress_slot WORKER_DATA = -1;

void
worker_stream_limits(struct conn_limits *limits, const struct service *svc)
{
	limits->idle_ms = svc->idle_timeout * 1000LL;
	limits->send_ms = svc->send_timeout * 1000LL;
	limits->session_ms = svc->max_session * 1000LL;
	limits->min_rate = (unsigned long long)svc->min_rate;
	limits->window_ms = svc->min_rate_window * 1000LL;
}

/* conn's on_moved: the slot shows the connection's bytes as they move. */
static void
show_progress(const struct conn *conn)
{
	scoreboard_progress(progress_slot, conn->bytes_in, conn->bytes_out);
}

/*
 * What a TCP socket inherits from its listener, a Unix one does not (Linux
 * creates it afresh): its timeouts, which conn takes as the socket's own.
 * Two system calls, for Unix clients alone.
 */
static void
unix_timeouts(int fd, const struct conn_limits *limits)
{
	struct timeval idle = { .tv_sec = limits->idle_ms / 1000 };
	struct timeval send = { .tv_sec = limits->send_ms / 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send, sizeof(send));
}

void
worker_stream_open(const struct worker_stream *ws,
    struct worker_stream_conn *sc, int fd, const struct sockaddr_storage *peer,
    const struct addr *bound)
{
	struct conn *conn = &sc->conn;

	progress_slot = ws->slot->index;
	conn_open(conn, fd, ws->bufs, ws->stop);
	conn->on_moved = show_progress;
	*ws->client_fd = fd;
	client_from_peer(&sc->client, fd, peer);
	snprintf(conn->peer, sizeof(conn->peer), "%s", sc->client.name);
	if (peer->ss_family == AF_UNIX)
		unix_timeouts(fd, &ws->limits);
	access_begin(&sc->access, conn, bound);
	conn_limit(conn, &ws->limits, sc->access.start_ms);
	worker_slot_busy(ws->slot, sc->client.name, sc->access.start_ms);
	sc->end = END_CLOSED;
}

void
worker_stream_serve(
    const struct worker_stream *ws, struct worker_stream_conn *sc)
{
	const struct service *svc = ws->svc;

	if (svc->banner != NULL &&
	    conn_send_all(&sc->conn, svc->banner, strlen(svc->banner)) == -1)
		sc->end = sc->conn.end;
	else
		sc->end = proto_of(svc)->serve(&sc->conn, svc);
}

void
worker_stream_close(const struct worker_stream *ws,
    struct worker_stream_conn *sc, const char *refused)
{
	struct conn *conn = &sc->conn;

	/* A linger may take up to 2 s without a byte: not stuck. */
	show_progress(conn);
	/* A refused client gets neither a linger nor a reset: its line is
	 * sent and what it had sent dropped already (worker_admit.c). */
	if (refused == NULL)
		conn_finish(conn, sc->end);
	if (refused == NULL || worker_admit_log_refused(ws->svc))
		access_log(&sc->access, ws->svc, conn, &sc->client,
		    refused != NULL ? refused : conn_end_name(sc->end));
	/* Forget the descriptor before closing it: the handler must never
	 * shut down a number that has been reused. */
	*ws->client_fd = -1;
	conn_close(conn);
	worker_slot_done(ws->slot, conn->bytes_in, conn->bytes_out, *ws->quit);
}
