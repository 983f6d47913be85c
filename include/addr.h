/* Addresses.  Listen addresses: "127.0.0.1:7777", "[::1]:7777", "*:7777",
 * "7777", each for TCP, or for UDP after "udp:" ("udp:127.0.0.1:7777"), or
 * for TCP behind a proxy after "proxy:" ("proxy:127.0.0.1:7777"), or a
 * Unix domain stream socket's path ("unix:/run/preforkd/echo.sock").  Blocks
 * of client addresses (CIDR: allow, deny, proxy_from), and a client's
 * source as max_per_source counts it. */
#ifndef PREFORKD_ADDR_H
#define PREFORKD_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Long enough for "udp:[ffff:...:ffff%ifname]:65535", and for a Unix
 * peer's "unix:uid=4294967295,pid=4194304". */
#define ADDR_STRLEN 72
/* Long enough for any listen address, "unix:" and a 107-byte path too:
 * for names of listening sockets (not kept in shared memory). */
#define ADDR_NAMELEN 120

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
	/* SOCK_STREAM (TCP, or Unix when ss is AF_UNIX) or SOCK_DGRAM (UDP) */
	int socktype;
	/* "proxy:": each connection starts with a PROXY protocol header.  Not
	 * part of the socket's identity: addr_equal and addr_conflict ignore
	 * it. */
	bool proxy;
};

/* Parse a numeric listen address; 0 on success, -1 with a reason in err. */
int addr_parse(const char *spec, struct addr *out, char *err, size_t errsize);
/* Format an address as "host:port" or "[host]:port", a Unix one as
 * "unix:PATH" ("unix" when it has no path) into buf; returns buf. */
const char *addr_format(const struct sockaddr *sa, char *buf, size_t size);
/* Format a listen address as addr_format does, after "udp:" for UDP or
 * "proxy:" behind a proxy, as the configuration writes it; returns buf. */
const char *addr_name(const struct addr *a, char *buf, size_t size);
/* True when both are the same transport, family, host and port (the same
 * path, for Unix addresses). */
bool addr_equal(const struct addr *a, const struct addr *b);
/* True when binding both at once would clash: the same transport, and
 * equal, or one is the wildcard of the other's family on the same port. */
bool addr_conflict(const struct addr *a, const struct addr *b);
/* True when a is a Unix domain socket's address ("unix:PATH"). */
bool addr_is_unix(const struct addr *a);
/* The path of a Unix address; "" for any other. */
const char *addr_unix_path(const struct addr *a);
/* For each of the n addresses, set first[i] to the lowest j < i whose
 * address clashes with addrs[i] (as addr_conflict), or to i when none does.
 * n log n, for lists of thousands.  0, or -1 when out of memory. */
int addr_clashes(const struct addr *addrs, size_t n, size_t *first);

/* An address block, "10.0.0.0/8", "2001:db8::/32", or one address. */
struct cidr {
	int family; /* AF_INET or AF_INET6 */
	unsigned char bytes[16];
	unsigned prefix; /* leading bits that must match */
};

/* Parse a CIDR block (a bare address is /32 or /128); 0, or -1 with a
 * reason in err.  Host bits beyond the prefix must be zero. */
int addr_cidr_parse(
    const char *spec, struct cidr *out, char *err, size_t errsize);
/* True when the address sa is inside the block. */
bool addr_cidr_match(const struct cidr *c, const struct sockaddr *sa);
/* True when the address sa is inside one of the n blocks of list (never
 * when n is 0). */
bool addr_cidr_list_match(
    const struct cidr *list, size_t n, const struct sockaddr *sa);

/*
 * A client's address as max_per_source counts it: an IPv4 address whole,
 * an IPv6 one cut to its first prefix bits (one subscriber usually holds a
 * whole /64).  Plain bytes, so it can sit in shared memory.
 */
struct addr_source {
	/* AF_INET, AF_INET6, AF_UNIX (a local peer's uid in the first four
	 * bytes), or 0: none, never counted */
	uint32_t family;
	uint32_t prefix;         /* bits kept: 32, or source_prefix6 */
	unsigned char bytes[16]; /* host bits beyond prefix are zero */
};

/* The source of sa: IPv4 and IPv4-mapped IPv6 ("::ffff:192.0.2.1", what a
 * dual-stack socket reports) as the IPv4 address, other IPv6 addresses
 * masked to prefix6 bits (0 to 128); family 0 for any other family. */
void addr_source_of(
    const struct sockaddr *sa, unsigned prefix6, struct addr_source *out);
/* The source of a Unix peer: its user (SO_PEERCRED's uid). */
void addr_source_of_uid(unsigned long uid, struct addr_source *out);
/* True when both are the same source (never when family is 0). */
bool addr_source_equal(
    const struct addr_source *a, const struct addr_source *b);
/* "192.0.2.1", "2001:db8::/64" (the block), "uid 1000" (a Unix peer's
 * user); "-" for none; returns buf. */
const char *addr_source_format(
    const struct addr_source *s, char *buf, size_t size);

#endif
