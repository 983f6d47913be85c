/*
 * Who a connection's client is.  Most of the time the peer accept() gave;
 * behind a proxy that speaks the PROXY protocol (HAProxy's send-proxy and
 * send-proxy-v2), the client the proxy's header names -- but only when the
 * peer is one the service trusts (proxy_from), since anyone else could
 * claim any address.
 *
 * The header is read exactly, never a byte past it: peek at what has come,
 * parse it, and take off the socket only the header's bytes.  What the
 * client sent after it, often in the same segment, stays in the socket for
 * the protocol, whatever the protocol's framing.  A header that comes
 * whole, as a proxy sends it, costs two recv() calls.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "client.h"
#include "clock.h"
#include "config.h"
#include "conn.h"
#include "log.h"
#include "proxy.h"

/* What reading a header came to. */
enum header_read {
	HEADER_OK,
	HEADER_BAD,    /* malformed: err says how */
	HEADER_EOF,    /* the peer closed first */
	HEADER_FAILED, /* see conn->end */
};

void
client_from_peer(struct client *c, const struct sockaddr_storage *peer,
    const char *peer_name)
{
	c->addr = *peer;
	snprintf(c->name, sizeof(c->name), "%s", peer_name);
	c->proxy[0] = '\0';
}

static bool
trusted(const struct service *svc, const struct sockaddr *peer)
{
	return addr_cidr_list_match(svc->proxy_from, svc->nproxy_from, peer);
}

/* Room for the longest header, mapped once per worker: its pages cost
 * nothing until a header fills them.  NULL when out of memory. */
static unsigned char *
header_buffer(void)
{
	static unsigned char *buf;
	void *mem;

	if (buf == NULL) {
		mem = mmap(NULL, PROXY_V2_MAX, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		buf = mem != MAP_FAILED ? mem : NULL;
	}
	return buf;
}

/*
 * Read the header into buf, up to its last byte and no further; *got says
 * how many bytes were taken.  While the parser asks for more, every byte
 * seen so far belongs to the header, so it is taken off the socket before
 * waiting for the rest: the next peek then waits for new bytes instead of
 * seeing the same ones again.
 */
static enum header_read
read_header(struct conn *conn, unsigned char *buf, long long deadline,
    struct proxy_header *h, char *err, size_t errsize, size_t *got)
{
	for (*got = 0;;) {
		size_t want = proxy_header_bound(buf, *got) - *got, take;
		ssize_t n = conn_peek(conn, buf + *got, want, deadline);
		enum proxy_result r;

		if (n <= 0)
			return n == 0 ? HEADER_EOF : HEADER_FAILED;
		r = proxy_parse(buf, *got + (size_t)n, h, err, errsize);
		if (r == PROXY_BAD)
			return HEADER_BAD;
		take = r == PROXY_OK ? h->len - *got : (size_t)n;
		if (conn_skip(conn, buf + *got, take) == -1)
			return HEADER_FAILED;
		*got += take;
		if (r == PROXY_OK)
			return HEADER_OK;
	}
}

/* Say why the connection ends without a valid header: conn->end, and a
 * warning, but none for a peer that closed before sending a byte, as a
 * proxy's health check does. */
static void
refuse(struct conn *conn, const struct service *svc, enum header_read r,
    const char *err, size_t got)
{
	switch (r) {
	case HEADER_BAD:
		conn->end = END_PROXY_BAD;
		log_warnx("service %s: id=%s from %s: bad PROXY header: %s",
		    svc->name, conn->id, conn->peer, err);
		break;
	case HEADER_EOF:
		if (got == 0)
			return; /* end=closed */
		conn->end = END_PROXY_BAD;
		log_warnx("service %s: id=%s from %s: PROXY header cut short: "
		          "closed after %zu bytes",
		    svc->name, conn->id, conn->peer, got);
		break;
	case HEADER_FAILED:
		if (conn->end != END_TIMEOUT)
			return; /* reset, shutdown: the access line says */
		conn->end = END_PROXY_TIMEOUT;
		log_warnx("service %s: id=%s from %s: no complete PROXY header "
		          "within proxy_timeout (%d s, %zu bytes came)",
		    svc->name, conn->id, conn->peer, svc->proxy_timeout, got);
		break;
	case HEADER_OK:
		break;
	}
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

/* The header named a client: it is the client from now on. */
static void
take_client(struct client *c, struct conn *conn, const struct proxy_header *h)
{
	snprintf(c->proxy, sizeof(c->proxy), "%s", c->name);
	/* LOCAL, UNKNOWN, UNSPEC: the proxy speaks for itself. */
	if (h->local)
		return;
	c->addr = h->src;
	unmap_ipv4(&c->addr);
	addr_format(
	    (const struct sockaddr *)&c->addr, c->name, sizeof(c->name));
	snprintf(conn->peer, sizeof(conn->peer), "%s", c->name);
}

int
client_read_proxy(
    struct client *c, struct conn *conn, const struct service *svc)
{
	unsigned char *buf = header_buffer();
	struct proxy_header h = { .version = 0 };
	char err[160];
	size_t got = 0;
	enum header_read r;

	if (!trusted(svc, (const struct sockaddr *)&c->addr)) {
		conn->end = END_PROXY_UNTRUSTED;
		log_warnx("service %s: id=%s from %s: not in proxy_from, "
		          "closed before reading a PROXY header",
		    svc->name, conn->id, conn->peer);
		return -1;
	}
	if (buf == NULL) {
		conn->end = END_ERROR;
		log_warn("service %s: id=%s: PROXY header buffer", svc->name,
		    conn->id);
		return -1;
	}
	r = read_header(conn, buf, clock_ms() + svc->proxy_timeout * 1000LL, &h,
	    err, sizeof(err), &got);
	if (r != HEADER_OK) {
		refuse(conn, svc, r, err, got);
		return -1;
	}
	take_client(c, conn, &h);
	log_debug("service %s: id=%s: PROXY v%d header from %s: client %s",
	    svc->name, conn->id, h.version, c->proxy,
	    h.local ? "not named (local)" : c->name);
	return 0;
}
