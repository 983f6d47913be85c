/* addr_parse, addr_format, addr_equal, addr_conflict, addr_clashes, and the
 * CIDR blocks: addr_cidr_parse, addr_cidr_match, addr_cidr_list_match; Unix
 * addresses and sources. */
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"
#include "unit.h"

static bool
parses_to(const char *spec, const char *formatted)
{
	char err[128], buf[ADDR_NAMELEN];
	struct addr a;

	if (addr_parse(spec, &a, err, sizeof(err)) != 0)
		return false;
	addr_name(&a, buf, sizeof(buf));
	return strcmp(buf, formatted) == 0;
}

static bool
rejected_with(const char *spec, const char *reason)
{
	char err[128] = "";
	struct addr a;

	return addr_parse(spec, &a, err, sizeof(err)) == -1 &&
	       strstr(err, reason) != NULL;
}

static bool
conflict(const char *x, const char *y)
{
	char err[128];
	struct addr a, b;

	addr_parse(x, &a, err, sizeof(err));
	addr_parse(y, &b, err, sizeof(err));
	return addr_conflict(&a, &b);
}

/* addr_clashes on specs must agree with addr_conflict on every pair, and
 * name the earliest clash: want[i] is its answer written by hand. */
static bool
clashes_as(const char *const *specs, size_t n, const size_t *want)
{
	struct addr addrs[16];
	size_t first[16];
	char err[128];

	memset(addrs, 0, sizeof(addrs));
	for (size_t i = 0; i < n; i++)
		addr_parse(specs[i], &addrs[i], err, sizeof(err));
	if (addr_clashes(addrs, n, first) == -1)
		return false;
	for (size_t i = 0; i < n; i++) {
		size_t j = 0;
		while (j < i && !addr_conflict(&addrs[j], &addrs[i]))
			j++;
		if (first[i] != j || first[i] != want[i])
			return false;
	}
	return true;
}

static void
test_clashes(void)
{
	static const char *const specs[] = { "127.0.0.2:80", "[::1]:80",
		"127.0.0.1:80", "127.0.0.2:81", "*:80", "127.0.0.1:80",
		"[::]:80", "[::2]:80", "127.0.0.3:80", "[::]:80", "10.0.0.1:80",
		"*:81" };
	static const size_t want[] = { 0, 1, 2, 3, 0, 2, 1, 6, 4, 1, 4, 3 };
	static const char *const apart[] = { "127.0.0.1:80", "127.0.0.1:81",
		"[::1]:80", "*:82" };
	static const size_t none[] = { 0, 1, 2, 3 };

	CHECK(clashes_as(specs, 12, want),
	    "addr_clashes: the earliest clash of each, as addr_conflict says");
	static const char *const transports[] = { "udp:*:80", "127.0.0.1:80",
		"udp:127.0.0.1:80", "*:80", "tcp:127.0.0.1:80" };
	static const size_t by_transport[] = { 0, 1, 0, 1, 1 };

	CHECK(clashes_as(apart, 4, none), "addr_clashes: no clash");
	CHECK(clashes_as(transports, 5, by_transport),
	    "addr_clashes: TCP and UDP apart, each with its wildcard");
	CHECK(clashes_as(NULL, 0, NULL), "addr_clashes: an empty list");
}

/* Does the block spec hold the address host? */
static bool
holds(const char *spec, const char *host)
{
	char err[128];
	struct cidr c;
	struct addr a;

	if (addr_cidr_parse(spec, &c, err, sizeof(err)) == -1 ||
	    addr_parse(host, &a, err, sizeof(err)) == -1)
		return false;
	return addr_cidr_match(&c, (const struct sockaddr *)&a.ss);
}

static bool
cidr_rejected_with(const char *spec, const char *reason)
{
	char err[128] = "";
	struct cidr c;

	return addr_cidr_parse(spec, &c, err, sizeof(err)) == -1 &&
	       strstr(err, reason) != NULL;
}

/* Does one of the n blocks of specs hold the address host? */
static bool
list_holds(const char *const *specs, size_t n, const char *host)
{
	char err[128];
	struct cidr list[4];
	struct addr a;

	for (size_t i = 0; i < n; i++)
		if (addr_cidr_parse(specs[i], &list[i], err, sizeof(err)) == -1)
			return false;
	if (addr_parse(host, &a, err, sizeof(err)) == -1)
		return false;
	return addr_cidr_list_match(list, n, (const struct sockaddr *)&a.ss);
}

static void
test_cidr_list(void)
{
	static const char *const mixed[] = { "10.0.0.0/8", "2001:db8::/32",
		"192.168.1.7" };

	CHECK(list_holds(mixed, 3, "10.1.2.3:1"), "a list: its first block");
	CHECK(list_holds(mixed, 3, "[2001:db8::9]:1"), "a list: an IPv6 block");
	CHECK(list_holds(mixed, 3, "192.168.1.7:1"), "a list: its last block");
	CHECK(!list_holds(mixed, 3, "192.168.1.8:1"), "a list: none holds it");
	CHECK(!list_holds(mixed, 2, "192.168.1.7:1"),
	    "a list: only its first n blocks count");
	CHECK(!list_holds(mixed, 0, "10.1.2.3:1"), "an empty list holds none");
}

static void
test_cidr(void)
{
	CHECK(holds("10.0.0.0/8", "10.255.1.2:1"), "inside an IPv4 /8");
	CHECK(!holds("10.0.0.0/8", "11.0.0.1:1"), "outside an IPv4 /8");
	CHECK(holds("192.168.1.128/25", "192.168.1.200:1"), "a /25 boundary");
	CHECK(!holds("192.168.1.128/25", "192.168.1.127:1"), "below a /25");
	CHECK(holds("127.0.0.1", "127.0.0.1:5"), "a bare address is /32");
	CHECK(!holds("127.0.0.1", "127.0.0.2:5"), "and holds only itself");
	CHECK(holds("0.0.0.0/0", "203.0.113.9:1"), "/0 holds every IPv4");
	CHECK(!holds("0.0.0.0/0", "[::1]:1"), "but no IPv6");
	CHECK(
	    holds("2001:db8::/32", "[2001:db8:1::5]:1"), "inside an IPv6 /32");
	CHECK(!holds("2001:db8::/32", "[2001:db9::1]:1"), "outside it");
	CHECK(holds("::1", "[::1]:1"), "a bare IPv6 address is /128");
	CHECK(
	    cidr_rejected_with("10.0.0.1/8", "beyond the /8"), "host bits set");
	CHECK(cidr_rejected_with("10.0.0.0/33", "0 to 32"), "prefix too long");
	CHECK(cidr_rejected_with("::/129", "0 to 128"), "IPv6 prefix too long");
	CHECK(cidr_rejected_with("10.0.0.0/", "0 to 32"), "empty prefix");
	CHECK(cidr_rejected_with("example.com/8", "not a numeric"), "a name");
	CHECK(cidr_rejected_with("", "expected an address"), "nothing");
}

/* "unix:PATH": parsed, named, matched by path, refused where unserved. */
static void
test_unix(void)
{
	static const char *const specs[] = { "unix:/run/a.sock", "127.0.0.1:80",
		"unix:/run/b.sock", "unix:/run/a.sock", "*:80",
		"unix:/run/b.sock" };
	static const size_t want[] = { 0, 1, 2, 0, 1, 2 };
	char err[128], name[ADDR_NAMELEN], src[ADDR_STRLEN], path[120];
	struct sockaddr_un peer = { .sun_family = AF_UNIX };
	struct addr_source s, t;
	struct addr a;

	CHECK(parses_to("unix:/run/preforkd/echo.sock",
	          "unix:/run/preforkd/echo.sock"),
	    "a Unix address is named as written");
	CHECK(addr_parse("unix:/run/x.sock", &a, err, sizeof(err)) == 0 &&
	          addr_is_unix(&a) && a.socktype == SOCK_STREAM &&
	          strcmp(addr_unix_path(&a), "/run/x.sock") == 0,
	    "a Unix address is a stream socket at its path");
	CHECK(!addr_is_unix(&(struct addr){ .len = 0 }) &&
	          *addr_unix_path(&(struct addr){ .len = 0 }) == '\0',
	    "an IP address has no path");
	CHECK(rejected_with("unix:run/x.sock", "absolute"), "a relative path");
	CHECK(rejected_with("unix:@x", "abstract"), "an abstract name");
	CHECK(rejected_with("unix:", "abstract"), "an empty path");
	CHECK(rejected_with("unix:/run/", "not a directory"), "a directory");
	CHECK(rejected_with("unix-dgram:/run/x", "datagram"), "unix-dgram:");
	CHECK(rejected_with("udp:unix:/run/x", "datagram"), "udp:unix:");
	CHECK(rejected_with("proxy:unix:/run/x", "PROXY"), "proxy:unix:");
	CHECK(rejected_with("tcp:unix:/run/x", "without tcp:"), "tcp:unix:");
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	snprintf(name, sizeof(name), "unix:%.107s", path);
	CHECK(parses_to(name, name), "a path of 107 bytes fits");
	snprintf(name, sizeof(name), "unix:%.108s", path);
	CHECK(rejected_with(name, "at most 107"), "one of 108 does not");
	CHECK(conflict("unix:/run/a", "unix:/run/a"), "the same path clashes");
	CHECK(!conflict("unix:/run/a", "unix:/run/b"), "paths differ");
	CHECK(!conflict("unix:/run/a", "*:80"), "Unix and TCP never clash");
	CHECK(clashes_as(specs, 6, want),
	    "addr_clashes: Unix paths among IP addresses");
	CHECK(strcmp(addr_format(
	                 (const struct sockaddr *)&peer, name, sizeof(name)),
	          "unix") == 0,
	    "an unnamed Unix peer is \"unix\"");
	addr_source_of_uid(1000, &s);
	addr_source_of_uid(1001, &t);
	CHECK(addr_source_equal(&s, &s) && !addr_source_equal(&s, &t),
	    "Unix sources are their uid");
	CHECK(strcmp(addr_source_format(&s, src, sizeof(src)), "uid 1000") == 0,
	    "a Unix source is named by its uid");
	addr_source_of((const struct sockaddr *)&peer, 64, &t);
	CHECK(t.family == 0, "a Unix address is no IP source");
}

void
test_addr(void)
{
	test_cidr();
	test_cidr_list();
	test_unix();
	CHECK(parses_to("127.0.0.1:7777", "127.0.0.1:7777"), "IPv4 address");
	CHECK(parses_to("[::1]:7777", "[::1]:7777"), "IPv6 address");
	CHECK(parses_to("*:80", "0.0.0.0:80"), "* is the IPv4 wildcard");
	CHECK(parses_to("8080", "0.0.0.0:8080"), "a bare port is *:port");
	CHECK(parses_to("[::]:1", "[::]:1"), "IPv6 wildcard");
	CHECK(parses_to("10.1.2.3:65535", "10.1.2.3:65535"), "highest port");
	CHECK(rejected_with("127.0.0.1:0", "1 to 65535"), "port 0");
	CHECK(rejected_with("127.0.0.1:65536", "1 to 65535"), "port 65536");
	CHECK(rejected_with("127.0.0.1:12ab", "1 to 65535"), "port with junk");
	CHECK(rejected_with("127.0.0.1:", "missing port"), "no port");
	CHECK(rejected_with("localhost:80", "not a numeric IPv4"),
	    "names are not resolved");
	CHECK(rejected_with("300.1.1.1:80", "not a numeric IPv4"),
	    "IPv4 octet out of range");
	CHECK(rejected_with("::1:80", "[host]:port"), "IPv6 without brackets");
	CHECK(rejected_with("[::1]80", "[IPv6]:port"), "IPv6 without colon");
	CHECK(rejected_with("[]:80", "not an IPv6"), "empty IPv6 host");
	CHECK(rejected_with("[fe80::zz]:80", "not a numeric IPv6"),
	    "bad IPv6 host");
	CHECK(rejected_with("", "empty"), "empty address");
	CHECK(conflict("127.0.0.1:80", "127.0.0.1:80"), "same address clashes");
	CHECK(conflict("*:80", "127.0.0.1:80"), "wildcard clashes with IPv4");
	CHECK(!conflict("*:80", "[::1]:80"), "families do not clash");
	CHECK(!conflict("127.0.0.1:80", "127.0.0.2:80"), "hosts differ");
	CHECK(!conflict("127.0.0.1:80", "127.0.0.1:81"), "ports differ");
	CHECK(conflict("[::]:80", "[::1]:80"), "IPv6 wildcard clashes");
	CHECK(parses_to("udp:127.0.0.1:7", "udp:127.0.0.1:7"), "UDP address");
	CHECK(parses_to("udp:[::1]:7", "udp:[::1]:7"), "UDP over IPv6");
	CHECK(parses_to("udp:*:7", "udp:0.0.0.0:7"), "UDP wildcard");
	CHECK(
	    parses_to("tcp:127.0.0.1:7", "127.0.0.1:7"), "tcp: is the default");
	CHECK(rejected_with("udp:", "empty"), "udp: alone");
	CHECK(rejected_with("udp:localhost:7", "not a numeric IPv4"),
	    "UDP names are not resolved either");
	CHECK(!conflict("udp:127.0.0.1:80", "127.0.0.1:80"),
	    "UDP and TCP on one port do not clash");
	CHECK(conflict("udp:*:80", "udp:127.0.0.1:80"), "UDP wildcard clashes");
	CHECK(parses_to("proxy:127.0.0.1:7", "proxy:127.0.0.1:7"),
	    "proxy: address");
	CHECK(parses_to("proxy:[::1]:7", "proxy:[::1]:7"), "proxy: over IPv6");
	CHECK(conflict("proxy:127.0.0.1:80", "127.0.0.1:80"),
	    "proxy: is the same TCP socket");
	CHECK(rejected_with("proxy:udp:127.0.0.1:7", "comes over UDP"),
	    "no PROXY header over UDP");
	test_clashes();
}
