/*
 * Who a connection's client is: the peer accept() gave, or, behind a proxy
 * the service trusts, the client its PROXY protocol header names.  What
 * allow/deny, the scoreboard, the process title and the log lines see.
 */
#ifndef PREFORKD_CLIENT_H
#define PREFORKD_CLIENT_H

#include <stdbool.h>
#include <sys/socket.h>

#include "addr.h"

struct conn;
struct service;

struct client {
	struct sockaddr_storage addr; /* the client */
	char name[ADDR_STRLEN];       /* addr as "host:port" */
	/* The peer, when it sent a PROXY header; "" when it did not. */
	char proxy[ADDR_STRLEN];
};

/* The client is the peer itself, named peer_name ("host:port"). */
void client_from_peer(struct client *c, const struct sockaddr_storage *peer,
    const char *peer_name);
/*
 * proxy_protocol: check that the peer may speak for a client (proxy_from),
 * read its PROXY header off conn within proxy_timeout, and make the client
 * the one it names (conn->peer too), leaving every byte after the header
 * to the protocol.  0, or -1 with conn->end saying why, after logging it.
 */
int client_read_proxy(
    struct client *c, struct conn *conn, const struct service *svc);

#endif
