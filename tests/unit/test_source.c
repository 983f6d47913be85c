/* addr_source_of, addr_source_equal, addr_source_format: what
 * max_per_source counts as one client. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "addr.h"
#include "unit.h"

/* The source of the numeric address host (IPv4 or IPv6), as text. */
static const char *
source_text(const char *host, unsigned prefix6, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	struct addr_source src;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) ==
	    1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, host,
	             &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	addr_source_of((const struct sockaddr *)&ss, prefix6, &src);
	return addr_source_format(&src, buf, size);
}

static bool
source_is(const char *host, unsigned prefix6, const char *want)
{
	char buf[80];

	return strcmp(source_text(host, prefix6, buf, sizeof(buf)), want) == 0;
}

/* Do hosts a and b count as one source under prefix6? */
static bool
same_source(const char *a, const char *b, unsigned prefix6)
{
	struct sockaddr_in6 x = { .sin6_family = AF_INET6 },
	                    y = { .sin6_family = AF_INET6 };
	struct addr_source sa, sb;

	inet_pton(AF_INET6, a, &x.sin6_addr);
	inet_pton(AF_INET6, b, &y.sin6_addr);
	x.sin6_port = htons(1000);
	y.sin6_port = htons(2000); /* ports never matter */
	addr_source_of((const struct sockaddr *)&x, prefix6, &sa);
	addr_source_of((const struct sockaddr *)&y, prefix6, &sb);
	return addr_source_equal(&sa, &sb);
}

void
test_source(void)
{
	struct sockaddr_in v4a = { .sin_family = AF_INET },
	                   v4b = { .sin_family = AF_INET };
	struct addr_source sa, sb;
	struct sockaddr unix_like = { .sa_family = AF_UNIX };

	CHECK(source_is("192.0.2.7", 64, "192.0.2.7"), "IPv4 is counted whole");
	CHECK(source_is("2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::/64"),
	    "IPv6 is cut to /64");
	CHECK(
	    source_is("2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6/128"),
	    "IPv6 /128 keeps the whole address");
	CHECK(source_is("2001:db8:1:2:3:4:5:6", 0, "::/0"),
	    "IPv6 /0: every IPv6 client is one source");
	CHECK(source_is("2001:db8:ffff::", 36, "2001:db8:f000::/36"),
	    "a prefix inside a byte keeps only its bits");
	CHECK(source_is("2001:db8:ffff::", 200, "2001:db8:ffff::/128"),
	    "a prefix past 128 is 128");
	CHECK(source_is("::ffff:192.0.2.7", 64, "192.0.2.7"),
	    "an IPv4-mapped address is its IPv4 address");
	CHECK(same_source("2001:db8::1", "2001:db8::ffff:1", 64),
	    "two hosts of one /64 are one source");
	CHECK(!same_source("2001:db8:0:1::1", "2001:db8:0:2::1", 64),
	    "neighbouring /64s are two sources");
	CHECK(same_source("2001:db8:0:1::1", "2001:db8:0:2::1", 48),
	    "... but one /48");
	CHECK(!same_source("2001:db8::1", "2001:db8::2", 128),
	    "at /128 every address is its own source");
	inet_pton(AF_INET, "127.0.0.1", &v4a.sin_addr);
	inet_pton(AF_INET, "127.0.0.2", &v4b.sin_addr);
	addr_source_of((const struct sockaddr *)&v4a, 0, &sa);
	addr_source_of((const struct sockaddr *)&v4b, 0, &sb);
	CHECK(!addr_source_equal(&sa, &sb),
	    "IPv4 ignores source_prefix6: two addresses, two sources");
	v4b.sin_addr = v4a.sin_addr;
	v4b.sin_port = htons(4242);
	addr_source_of((const struct sockaddr *)&v4b, 0, &sb);
	CHECK(addr_source_equal(&sa, &sb), "the same IPv4 address, one source");
	addr_source_of(&unix_like, 64, &sa);
	addr_source_of(&unix_like, 64, &sb);
	CHECK(sa.family == 0 && !addr_source_equal(&sa, &sb),
	    "another family is no source and matches nothing");
}
