/*
 * Who a connection's client is: the peer accept() gave, or, behind a proxy
 * the service trusts, the client its PROXY protocol header names.  What
 * allow/deny, the scoreboard, the process title and the log lines see.
 * A Unix peer has no address: it is named by the user and process the
 * kernel vouches for (SO_PEERCRED), "unix:uid=1000,pid=4242".
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
	/* A Unix peer's uid and pid (SO_PEERCRED); -1 when not one, or
	 * unknown. */
	long uid, pid;
};

/* The client is the peer accept() gave as fd from peer: named "host:port",
 * or for a Unix peer after its credentials, "unix:uid=U,pid=P" (one
 * getsockopt, for Unix peers alone). */
void client_from_peer(
    struct client *c, int fd, const struct sockaddr_storage *peer);
/* The proxy that was the client sent header h: the client is the one h
 * names from now on (the proxy itself for a LOCAL header), and the proxy
 * is c->proxy. */
void client_from_proxy(struct client *c, const struct proxy_header *h);

#endif
