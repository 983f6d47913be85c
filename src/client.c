/*
 * Who a connection's client is: most of the time the peer accept() gave;
 * behind a trusted proxy, the client its PROXY header names (the header
 * is read, and the proxy trusted, by admission: worker_admit.c).
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "proxy.h"

void
client_from_peer(struct client *c, const struct sockaddr_storage *peer,
    const char *peer_name)
{
	c->addr = *peer;
	snprintf(c->name, sizeof(c->name), "%s", peer_name);
	c->proxy[0] = '\0';
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
