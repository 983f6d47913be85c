/*
 * Who a connection's client is: most of the time the peer accept() gave;
 * behind a trusted proxy, the client its PROXY header names (the header
 * is read, and the proxy trusted, by admission: worker_admit.c).  A
 * Unix peer, which has no address, is the user and process the kernel
 * says connected (SO_PEERCRED): what max_per_source counts by is its uid.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "client.h"
#include "proxy.h"

/* A Unix peer's name from its credentials. */
static void
name_unix_peer(struct client *c, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    len != sizeof(cred)) {
		snprintf(c->name, sizeof(c->name), "unix:uid=-,pid=-");
		return;
	}
	c->uid = (long)cred.uid;
	c->pid = (long)cred.pid;
	snprintf(
	    c->name, sizeof(c->name), "unix:uid=%ld,pid=%ld", c->uid, c->pid);
}

void
client_from_peer(struct client *c, int fd, const struct sockaddr_storage *peer)
{
	c->addr = *peer;
	c->proxy[0] = '\0';
	c->uid = c->pid = -1;
	if (peer->ss_family == AF_UNIX)
		name_unix_peer(c, fd);
	else
		addr_format(
		    (const struct sockaddr *)peer, c->name, sizeof(c->name));
}

/*
 * An IPv4 client that a dual-stack proxy names as an IPv4-mapped IPv6
 * address (::ffff:192.0.2.1) is an IPv4 client: so allow, deny and the
 * log see it, as they would see it connect directly.
 */
static void
unmap_ipv4(struct sockaddr_storage *ss)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	struct sockaddr_in sin = { .sin_family = AF_INET };

	if (ss->ss_family != AF_INET6 ||
	    !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return;
	sin.sin_port = sin6->sin6_port;
	memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &sin, sizeof(sin));
}

void
client_from_proxy(struct client *c, const struct proxy_header *h)
{
	snprintf(c->proxy, sizeof(c->proxy), "%s", c->name);
	/* LOCAL, UNKNOWN, UNSPEC: the proxy speaks for itself. */
	if (h->local)
		return;
	c->addr = h->src;
	unmap_ipv4(&c->addr);
	addr_format(
	    (const struct sockaddr *)&c->addr, c->name, sizeof(c->name));
}
