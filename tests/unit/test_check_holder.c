/* check_holder_clashes: which /proc/net/{tcp,udp}{,6} local addresses a
 * bind of a listen address clashes with (the kernel's words, in hex, as a
 * little-endian machine prints them). */
#include <stdbool.h>

#include "addr.h"
#include "check_holder.h"
#include "unit.h"

static bool
clashes(const char *field, const char *spec)
{
	char err[128];
	struct addr a;

	return addr_parse(spec, &a, err, sizeof(err)) == 0 &&
	       check_holder_clashes(field, &a);
}

#define V6_LOOPBACK "00000000000000000000000001000000"
#define V6_ANY "00000000000000000000000000000000"

void
test_check_holder(void)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	CHECK(clashes("0100007F:1B59", "127.0.0.1:7001"), "the same address");
	CHECK(!clashes("0100007F:1B5A", "127.0.0.1:7001"), "another port");
	CHECK(!clashes("0200007F:1B59", "127.0.0.1:7001"),
	    "another address, the same port");
	CHECK(clashes("00000000:1B59", "127.0.0.1:7001"),
	    "a wildcard holder takes every address");
	CHECK(clashes("0100007F:1B59", "*:7001"),
	    "a wildcard bind clashes with any address of the port");
	CHECK(clashes(V6_LOOPBACK ":1B59", "[::1]:7001"), "IPv6 loopback");
	CHECK(!clashes(V6_LOOPBACK ":1B59", "[::2]:7001"), "another IPv6");
	CHECK(clashes(V6_ANY ":1B59", "[::1]:7001"), "IPv6 wildcard holder");
	CHECK(clashes(V6_ANY ":1B59", "127.0.0.1:7001"),
	    "a v6 wildcard (not v6-only) takes v4 too");
	CHECK(!clashes(V6_LOOPBACK ":1B59", "127.0.0.1:7001"),
	    "a v6 address never takes a v4 one");
	CHECK(clashes("0100007F:1B59", "udp:127.0.0.1:7001"),
	    "UDP: the table tells the protocol, not the field");
#endif
	CHECK(!clashes("0100007F", "127.0.0.1:7001"), "no port: no clash");
	CHECK(!clashes("0100007:1B59", "127.0.0.1:7001"),
	    "a field of the wrong length");
	CHECK(!clashes("", "127.0.0.1:7001"), "an empty field");
}
