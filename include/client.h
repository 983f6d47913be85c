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

struct proxy_header;

struct client {
	struct sockaddr_storage addr; /* the client */
	char name[ADDR_STRLEN];       /* addr as "host:port" */
	/* The peer, when it sent a PROXY header; "" when it did not. */
	char proxy[ADDR_STRLEN];
};

/* The client is the peer itself, named peer_name ("host:port"). */
void client_from_peer(struct client *c, const struct sockaddr_storage *peer,
    const char *peer_name);
/* The proxy that was the client sent header h: the client is the one h
 * names from now on (the proxy itself for a LOCAL header), and the proxy
 * is c->proxy. */
void client_from_proxy(struct client *c, const struct proxy_header *h);

#endif
