/*
 * Admission: may this client be served, and who is it?  allow/deny,
 * max_per_source, and the PROXY header of a trusted proxy.
 */
#ifndef PREFORKD_WORKER_ADMIT_H
#define PREFORKD_WORKER_ADMIT_H

#include <stdbool.h>
#include <sys/socket.h>

struct client;
struct conn;
struct service;
struct worker_slot;

/* Whether a client may be served, and why not, for the access line. */
enum admit_end {
	ADMIT_OK,
	ADMIT_CONN,       /* the connection ended first: conn->end says how */
	ADMIT_REFUSED,    /* allow/deny turned the client away */
	ADMIT_PER_SOURCE, /* its address already had max_per_source */
	/* proxy_protocol: the peer may not send a PROXY header, its header
	 * is malformed or cut short, or it did not come in proxy_timeout. */
	ADMIT_PROXY_UNTRUSTED,
	ADMIT_PROXY_BAD,
	ADMIT_PROXY_TIMEOUT,
};

/* A word for a refusal, "refused", "per_source", ...; NULL for ADMIT_OK
 * and ADMIT_CONN, whose word is conn_end_name(conn->end). */
const char *worker_admit_end_name(enum admit_end end);
/* Should the access line of a refused client be written?  Within
 * refusal_log_rate a second, yes; past it, no, and a line says so once a
 * second and, at the first refusal logged after, how many were not. */
bool worker_admit_log_refused(const struct service *svc);
/* May peer use svc?  Not when a deny block holds it; when there are allow
 * blocks, only when one holds it. */
bool worker_admit_allowed(
    const struct service *svc, const struct sockaddr *peer);
/*
 * Whether to serve the client c on conn, before any byte of service.  When
 * proxied: check that the peer may speak for a client (proxy_from), read
 * its PROXY header within proxy_timeout, and make the client the one it
 * names (conn->peer, the slot and the title too), leaving every byte after
 * the header to the protocol.  Then allow/deny, and max_per_source counted
 * in the scoreboard, for the client (the real one, behind a proxy).
 * ADMIT_OK, or why not, once logged and the client told.  start: when the
 * connection began (ms), which the slot goes on showing.
 */
enum admit_end worker_admit(const struct service *svc,
    const struct worker_slot *slot, struct conn *conn, struct client *c,
    bool proxied, long long start);

#endif
