/*
 * Addresses: where to listen, which clients a block (CIDR) holds, and a
 * client's source as max_per_source counts it.  Listen addresses are
 * numeric only: a daemon that resolves names at start-up
 * depends on DNS to boot, and a name with several addresses makes "which
 * socket is this" ambiguous.  "*:PORT" (or just "PORT") is IPv4's wildcard
 * and "[::]:PORT" IPv6's, as in nginx; IPv6 sockets are IPv6-only so both can
 * be listed side by side.  An address is TCP unless it starts with "udp:"
 * (or "tcp:", for symmetry); the same port may serve both.  "proxy:" is TCP
 * whose clients come through a proxy that sends a PROXY protocol header.
 * "unix:PATH" is a Unix domain stream socket, named by an absolute path;
 * datagram Unix sockets and Linux's abstract names are not served.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"

#define UNIX_PREFIX "unix:"

static int
parse_port(const char *s, in_port_t *port, char *err, size_t errsize)
{
	char *end;
	long n;

	if (*s < '0' || *s > '9') {
		snprintf(err, errsize, "missing port number");
		return -1;
	}
	errno = 0;
	n = strtol(s, &end, 10);
	if (*end != '\0' || errno != 0 || n < 1 || n > 65535) {
		snprintf(err, errsize, "port must be a number from 1 to 65535");
		return -1;
	}
	*port = htons((in_port_t)n);
	return 0;
}

static int
parse_ipv6(const char *spec, struct addr *out, char *err, size_t errsize)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
	const char *close = strchr(spec, ']');
	char host[INET6_ADDRSTRLEN];
	size_t hostlen;

	if (close == NULL || close[1] != ':') {
		snprintf(err, errsize, "expected [IPv6]:port");
		return -1;
	}
	hostlen = (size_t)(close - spec - 1);
	if (hostlen == 0 || hostlen >= sizeof(host)) {
		snprintf(err, errsize, "not an IPv6 address");
		return -1;
	}
	memcpy(host, spec + 1, hostlen);
	host[hostlen] = '\0';
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
		snprintf(
		    err, errsize, "\"%s\" is not a numeric IPv6 address", host);
		return -1;
	}
	sin6->sin6_family = AF_INET6;
	out->len = sizeof(*sin6);
	return parse_port(close + 2, &sin6->sin6_port, err, errsize);
}

static int
parse_ipv4(const char *spec, struct addr *out, char *err, size_t errsize)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	const char *colon = strrchr(spec, ':');
	const char *port = spec;

	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_ANY);
	out->len = sizeof(*sin);
	if (colon != NULL) {
		char host[INET_ADDRSTRLEN];
		size_t hostlen = (size_t)(colon - spec);

		port = colon + 1;
		if (hostlen >= sizeof(host)) {
			snprintf(err, errsize,
			    "not a numeric IPv4 address "
			    "(names are not resolved)");
			return -1;
		}
		memcpy(host, spec, hostlen);
		host[hostlen] = '\0';
		if (strcmp(host, "*") != 0 &&
		    inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			snprintf(err, errsize,
			    "\"%s\" is not a numeric IPv4 "
			    "address (names are not resolved)",
			    host);
			return -1;
		}
	}
	return parse_port(port, &sin->sin_port, err, errsize);
}

/* "unix:PATH", the prefix gone: an absolute path that fits sun_path. */
static int
parse_unix(const char *path, struct addr *out, char *err, size_t errsize)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;
	size_t len = strlen(path);

	if (path[0] == '@' || path[0] == '\0') {
		snprintf(err, errsize,
		    "abstract Unix sockets are not supported: write "
		    "unix:/absolute/path");
		return -1;
	}
	if (path[0] != '/') {
		snprintf(err, errsize, "a Unix socket's path must be absolute");
		return -1;
	}
	if (len >= sizeof(sun->sun_path)) {
		snprintf(err, errsize,
		    "a Unix socket's path is at most %zu bytes",
		    sizeof(sun->sun_path) - 1);
		return -1;
	}
	if (path[len - 1] == '/') {
		snprintf(err, errsize,
		    "a Unix socket's path names a file, "
		    "not a directory");
		return -1;
	}
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len + 1);
	out->len =
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	return 0;
}

/* Prefixes that ask for what is not served: say so plainly. */
static bool
unix_refused(const char *spec, char *err, size_t errsize)
{
	if (strncmp(spec, "unix-dgram:", 11) == 0 ||
	    strncmp(spec, "udp:unix:", 9) == 0) {
		snprintf(err, errsize,
		    "datagram Unix sockets are not supported (unix: is a "
		    "stream socket)");
		return true;
	}
	if (strncmp(spec, "proxy:unix:", 11) == 0) {
		snprintf(err, errsize,
		    "a PROXY header over a Unix socket is not supported");
		return true;
	}
	if (strncmp(spec, "tcp:unix:", 9) == 0) {
		snprintf(err, errsize, "write unix:PATH, without tcp:");
		return true;
	}
	return false;
}

int
addr_parse(const char *spec, struct addr *out, char *err, size_t errsize)
{
	memset(out, 0, sizeof(*out));
	out->socktype = SOCK_STREAM;
	if (unix_refused(spec, err, errsize))
		return -1;
	if (strncmp(spec, UNIX_PREFIX, strlen(UNIX_PREFIX)) == 0)
		return parse_unix(
		    spec + strlen(UNIX_PREFIX), out, err, errsize);
	if (strncmp(spec, "udp:", 4) == 0) {
		out->socktype = SOCK_DGRAM;
		spec += 4;
	} else if (strncmp(spec, "tcp:", 4) == 0) {
		spec += 4;
	} else if (strncmp(spec, "proxy:", 6) == 0) {
		out->proxy = true;
		spec += 6;
		if (strncmp(spec, "udp:", 4) == 0 ||
		    strncmp(spec, "tcp:", 4) == 0) {
			snprintf(err, errsize,
			    "proxy: is TCP already: write proxy:ADDRESS "
			    "(no PROXY header comes over UDP)");
			return -1;
		}
	}
	if (*spec == '\0') {
		snprintf(err, errsize, "empty address");
		return -1;
	}
	if (*spec == '[')
		return parse_ipv6(spec, out, err, errsize);
	if (strchr(spec, ':') != strrchr(spec, ':')) {
		snprintf(err, errsize, "write IPv6 addresses as [host]:port");
		return -1;
	}
	return parse_ipv4(spec, out, err, errsize);
}

const char *
addr_format(const struct sockaddr *sa, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin =
		    (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *sun =
		    (const struct sockaddr_un *)(const void *)sa;
		/* A peer that did not bind has no path; an abstract name
		 * starts with a NUL: neither is a file to name. */
		if (sun->sun_path[0] == '\0')
			snprintf(buf, size, "unix");
		else
			snprintf(buf, size, UNIX_PREFIX "%.*s",
			    (int)sizeof(sun->sun_path), sun->sun_path);
	} else {
		snprintf(buf, size, "(family %d)", sa->sa_family);
	}
	return buf;
}

const char *
addr_name(const struct addr *a, char *buf, size_t size)
{
	const char *prefix = a->socktype == SOCK_DGRAM ? "udp:"
	                     : a->proxy                ? "proxy:"
	                                               : "";
	size_t skip = strlen(prefix);

	if (skip >= size)
		skip = 0;
	memcpy(buf, prefix, skip);
	addr_format((const struct sockaddr *)&a->ss, buf + skip, size - skip);
	return buf;
}

bool
addr_is_unix(const struct addr *a)
{
	return a->ss.ss_family == AF_UNIX;
}

const char *
addr_unix_path(const struct addr *a)
{
	if (!addr_is_unix(a))
		return "";
	return ((const struct sockaddr_un *)&a->ss)->sun_path;
}

/* Two Unix addresses' paths, compared as strcmp does. */
static int
path_cmp(const struct addr *a, const struct addr *b)
{
	return strncmp(((const struct sockaddr_un *)&a->ss)->sun_path,
	    ((const struct sockaddr_un *)&b->ss)->sun_path,
	    sizeof(((struct sockaddr_un *)0)->sun_path));
}

/* The port; 0 for a Unix address, whose path is all its identity. */
static in_port_t
port_of(const struct addr *a)
{
	if (a->ss.ss_family == AF_UNIX)
		return 0;
	if (a->ss.ss_family == AF_INET6)
		return ((const struct sockaddr_in6 *)&a->ss)->sin6_port;
	return ((const struct sockaddr_in *)&a->ss)->sin_port;
}

static bool
is_wildcard(const struct addr *a)
{
	if (a->ss.ss_family == AF_UNIX)
		return false;
	if (a->ss.ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(
		    &((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
	return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr ==
	       htonl(INADDR_ANY);
}

bool
addr_equal(const struct addr *a, const struct addr *b)
{
	if (a->socktype != b->socktype || a->ss.ss_family != b->ss.ss_family ||
	    port_of(a) != port_of(b))
		return false;
	if (a->ss.ss_family == AF_UNIX)
		return path_cmp(a, b) == 0;
	if (a->ss.ss_family == AF_INET6)
		return IN6_ARE_ADDR_EQUAL(
		    &((const struct sockaddr_in6 *)&a->ss)->sin6_addr,
		    &((const struct sockaddr_in6 *)&b->ss)->sin6_addr);
	return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr ==
	       ((const struct sockaddr_in *)&b->ss)->sin_addr.s_addr;
}

bool
addr_conflict(const struct addr *a, const struct addr *b)
{
	if (a->socktype != b->socktype || a->ss.ss_family != b->ss.ss_family ||
	    port_of(a) != port_of(b))
		return false;
	return is_wildcard(a) || is_wildcard(b) || addr_equal(a, b);
}

static bool
same_port(const struct addr *a, const struct addr *b)
{
	return a->socktype == b->socktype &&
	       a->ss.ss_family == b->ss.ss_family && port_of(a) == port_of(b);
}

/* Sorts by transport, family, port, host (the wildcard, all zeros, first),
 * then by place in the list: addresses that may clash end up side by
 * side. */
static int
slot_cmp(const void *x, const void *y)
{
	const struct addr *a = *(const struct addr *const *)x;
	const struct addr *b = *(const struct addr *const *)y;
	const void *ha = &((const struct sockaddr_in *)&a->ss)->sin_addr;
	const void *hb = &((const struct sockaddr_in *)&b->ss)->sin_addr;
	size_t hostlen = sizeof(struct in_addr);
	int c;

	if (a->socktype != b->socktype)
		return a->socktype < b->socktype ? -1 : 1;
	if (a->ss.ss_family != b->ss.ss_family)
		return a->ss.ss_family < b->ss.ss_family ? -1 : 1;
	if (port_of(a) != port_of(b))
		return ntohs(port_of(a)) < ntohs(port_of(b)) ? -1 : 1;
	if (a->ss.ss_family == AF_UNIX && (c = path_cmp(a, b)) != 0)
		return c;
	if (a->ss.ss_family == AF_UNIX)
		return a < b ? -1 : a > b;
	if (a->ss.ss_family == AF_INET6) {
		ha = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
		hb = &((const struct sockaddr_in6 *)&b->ss)->sin6_addr;
		hostlen = sizeof(struct in6_addr);
	}
	if ((c = memcmp(ha, hb, hostlen)) != 0)
		return c;
	return a < b ? -1 : a > b;
}

/* One family and port, sorted: set first[] for each of its n addresses;
 * base is the start of the whole list. */
static void
group_clashes(const struct addr *const *s, size_t n, const struct addr *base,
    size_t *first)
{
	size_t groupmin = SIZE_MAX, wildmin = SIZE_MAX, j;

	for (size_t k = 0; k < n; k++)
		if ((size_t)(s[k] - base) < groupmin)
			groupmin = (size_t)(s[k] - base);
	/* The wildcards sort first, the earliest of them at their head. */
	if (is_wildcard(s[0]))
		wildmin = (size_t)(s[0] - base);
	for (size_t run = 0, end; run < n; run = end) {
		/* Equal addresses, by place: the first is the earliest. */
		for (end = run + 1; end < n && addr_equal(s[run], s[end]);
		     end++)
			;
		/* A wildcard clashes with its whole group, another address
		 * with its equals and the wildcards. */
		if (is_wildcard(s[run]))
			j = groupmin;
		else if ((j = (size_t)(s[run] - base)) > wildmin)
			j = wildmin;
		for (size_t k = run; k < end; k++) {
			size_t i = (size_t)(s[k] - base);
			first[i] = j < i ? j : i;
		}
	}
}

/*
 * The same answers as addr_conflict on every pair, in n log n: a wildcard
 * clashes with its whole group (family and port), any other address with
 * its equals and the group's wildcard.  Keep in step with addr_conflict.
 */
int
addr_clashes(const struct addr *addrs, size_t n, size_t *first)
{
	const struct addr **s = malloc(n * sizeof(*s) + 1);

	if (s == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		s[i] = &addrs[i];
	qsort(s, n, sizeof(*s), slot_cmp);
	for (size_t g = 0, end; g < n; g = end) {
		for (end = g + 1; end < n && same_port(s[g], s[end]); end++)
			;
		group_clashes(s + g, end - g, addrs, first);
	}
	free(s);
	return 0;
}

int
addr_cidr_parse(const char *spec, struct cidr *out, char *err, size_t errsize)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(spec, '/');
	size_t hostlen = slash != NULL ? (size_t)(slash - spec) : strlen(spec);
	unsigned max;
	char *end;

	memset(out, 0, sizeof(*out));
	if (hostlen == 0 || hostlen >= sizeof(host)) {
		snprintf(err, errsize, "expected an address or address/prefix");
		return -1;
	}
	memcpy(host, spec, hostlen);
	host[hostlen] = '\0';
	if (inet_pton(AF_INET, host, out->bytes) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, out->bytes) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		snprintf(
		    err, errsize, "\"%s\" is not a numeric IP address", host);
		return -1;
	}
	out->prefix = max;
	if (slash != NULL) {
		unsigned long n;
		errno = 0;
		n = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' ||
		    errno != 0 || n > max) {
			snprintf(err, errsize, "prefix must be 0 to %u", max);
			return -1;
		}
		out->prefix = (unsigned)n;
	}
	for (unsigned bit = out->prefix; bit < max; bit++)
		if (out->bytes[bit / 8] & (0x80 >> (bit % 8))) {
			snprintf(err, errsize, "bits set beyond the /%u prefix",
			    out->prefix);
			return -1;
		}
	return 0;
}

bool
addr_cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	const unsigned char *bytes;
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (sa->sa_family != c->family)
		return false;
	if (sa->sa_family == AF_INET6)
		bytes = ((const struct sockaddr_in6 *)(const void *)sa)
		            ->sin6_addr.s6_addr;
	else
		bytes = (const unsigned char *)&(
		    (const struct sockaddr_in *)(const void *)sa)
		            ->sin_addr.s_addr;
	if (memcmp(bytes, c->bytes, full) != 0)
		return false;
	return rest == 0 ||
	       ((bytes[full] ^ c->bytes[full]) & (0xff00 >> rest)) == 0;
}

bool
addr_cidr_list_match(
    const struct cidr *list, size_t n, const struct sockaddr *sa)
{
	for (size_t i = 0; i < n; i++)
		if (addr_cidr_match(&list[i], sa))
			return true;
	return false;
}

void
addr_source_of(
    const struct sockaddr *sa, unsigned prefix6, struct addr_source *out)
{
	const struct sockaddr_in6 *sin6 =
	    (const struct sockaddr_in6 *)(const void *)sa;
	const unsigned char *bytes;

	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		out->family = AF_INET;
		out->prefix = 32;
		memcpy(out->bytes,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    4);
		return;
	}
	if (sa->sa_family != AF_INET6)
		return;
	bytes = sin6->sin6_addr.s6_addr;
	/* One IPv4 client is one source whichever socket took it. */
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		out->family = AF_INET;
		out->prefix = 32;
		memcpy(out->bytes, bytes + 12, 4);
		return;
	}
	out->family = AF_INET6;
	out->prefix = prefix6 > 128 ? 128 : prefix6;
	memcpy(out->bytes, bytes, out->prefix / 8);
	if (out->prefix % 8 != 0)
		out->bytes[out->prefix / 8] =
		    bytes[out->prefix / 8] & (0xff00 >> (out->prefix % 8));
}

void
addr_source_of_uid(unsigned long uid, struct addr_source *out)
{
	uint32_t u = (uint32_t)uid;

	memset(out, 0, sizeof(*out));
	out->family = AF_UNIX;
	out->prefix = 32;
	memcpy(out->bytes, &u, sizeof(u));
}

bool
addr_source_equal(const struct addr_source *a, const struct addr_source *b)
{
	return a->family != 0 && a->family == b->family &&
	       a->prefix == b->prefix &&
	       memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

const char *
addr_source_format(const struct addr_source *s, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	if (s->family == AF_INET) {
		inet_ntop(AF_INET, s->bytes, host, sizeof(host));
		snprintf(buf, size, "%s", host);
	} else if (s->family == AF_INET6) {
		inet_ntop(AF_INET6, s->bytes, host, sizeof(host));
		snprintf(buf, size, "%s/%u", host, (unsigned)s->prefix);
	} else if (s->family == AF_UNIX) {
		uint32_t uid;
		memcpy(&uid, s->bytes, sizeof(uid));
		snprintf(buf, size, "uid %lu", (unsigned long)uid);
	} else {
		snprintf(buf, size, "-");
	}
	return buf;
}
