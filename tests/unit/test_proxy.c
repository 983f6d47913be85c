/* proxy_parse: PROXY protocol v1 and v2 headers, valid and malformed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "proxy.h"
#include "unit.h"

#define SIG "\r\n\r\n\0\r\nQUIT\n"
/* A string literal's length without its NUL: headers hold NULs. */
#define LIT(s) (s), (sizeof(s) - 1)

/* One endpoint of a parsed header, as "addr port", for comparisons. */
static bool
endpoint_is(const struct sockaddr_storage *ss, const char *addr, int port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	char text[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET)
		return inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text)) !=
		           NULL &&
		       strcmp(text, addr) == 0 && ntohs(sin->sin_port) == port;
	if (ss->ss_family == AF_INET6)
		return inet_ntop(AF_INET6, &sin6->sin6_addr, text,
		           sizeof(text)) != NULL &&
		       strcmp(text, addr) == 0 &&
		       ntohs(sin6->sin6_port) == port;
	return false;
}

/* A header parsed OK, with its length, version and both endpoints. */
static bool
parses(const char *buf, size_t len, size_t hlen, int version, const char *src,
    int sport, const char *dst, int dport)
{
	struct proxy_header h;
	char err[128];

	return proxy_parse(buf, len, &h, err, sizeof(err)) == PROXY_OK &&
	       h.len == hlen && h.version == version && !h.local &&
	       endpoint_is(&h.src, src, sport) &&
	       endpoint_is(&h.dst, dst, dport);
}

/* A header parsed OK as local: no addresses, the connection's own. */
static bool
parses_local(const char *buf, size_t len, size_t hlen, int version)
{
	struct proxy_header h;
	char err[128];

	return proxy_parse(buf, len, &h, err, sizeof(err)) == PROXY_OK &&
	       h.len == hlen && h.version == version && h.local &&
	       h.src.ss_family == AF_UNSPEC && h.dst.ss_family == AF_UNSPEC;
}

static bool
rejected(const char *buf, size_t len, const char *reason)
{
	struct proxy_header h;
	char err[128] = "";

	return proxy_parse(buf, len, &h, err, sizeof(err)) == PROXY_BAD &&
	       strstr(err, reason) != NULL;
}

static bool
wants_more(const char *buf, size_t len)
{
	struct proxy_header h;
	char err[128];

	return proxy_parse(buf, len, &h, err, sizeof(err)) == PROXY_MORE;
}

/* Every proper prefix wants more, the whole is OK: a header that arrives
 * one byte at a time is never judged early. */
static bool
byte_at_a_time(const char *buf, size_t len)
{
	struct proxy_header h;
	char err[128];

	for (size_t i = 0; i < len; i++)
		if (proxy_parse(buf, i, &h, err, sizeof(err)) != PROXY_MORE)
			return false;
	return proxy_parse(buf, len, &h, err, sizeof(err)) == PROXY_OK &&
	       h.len == len;
}

static void
test_v1_valid(void)
{
	static const char data[] =
	    "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET /";
	char line[PROXY_V1_MAX + 1];

	CHECK(parses(LIT(data), 45, 1, "192.0.2.1", 56324, "198.51.100.2", 443),
	    "v1 TCP4: addresses, ports, and the length before the data");
	CHECK(parses(LIT("PROXY TCP6 2001:db8::1 ::1 65535 0\r\n"), 36, 1,
	          "2001:db8::1", 65535, "::1", 0),
	    "v1 TCP6, ports 65535 and 0");
	CHECK(parses(LIT("PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n"), 37, 1,
	          "::ffff:192.0.2.1", 1, "::1", 2),
	    "v1 TCP6 with an IPv4-mapped address");
	CHECK(parses_local(LIT("PROXY UNKNOWN\r\n"), 15, 1),
	    "v1 UNKNOWN alone is local");
	CHECK(parses_local(LIT("PROXY UNKNOWN ffff:f::f ::1 65535 65535\r\n"
	                       "data"),
	          41, 1),
	    "v1 UNKNOWN ignores the rest of its line");
	/* The spec's worst case: 107 bytes exactly. */
	memcpy(line, "PROXY UNKNOWN ", 14);
	memset(line + 14, 'f', PROXY_V1_MAX - 16);
	memcpy(line + PROXY_V1_MAX - 2, "\r\n", 2);
	CHECK(parses_local(line, PROXY_V1_MAX, PROXY_V1_MAX, 1),
	    "v1 line of 107 bytes is accepted");
	CHECK(byte_at_a_time(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n")),
	    "v1 byte at a time: MORE until the CRLF");
	CHECK(byte_at_a_time(LIT("PROXY TCP6 ::1 ::2 1 2\r\n")),
	    "v1 TCP6 byte at a time");
}

static void
test_v1_length(void)
{
	char line[PROXY_V1_MAX + 8];

	memcpy(line, "PROXY UNKNOWN ", 14);
	memset(line + 14, 'f', sizeof(line) - 14);
	CHECK(wants_more(line, PROXY_V1_MAX - 1),
	    "v1 106 bytes without CRLF: more");
	CHECK(rejected(line, PROXY_V1_MAX, "v1 header longer than 107 bytes"),
	    "v1 107 bytes without CRLF: too long");
	memcpy(line + PROXY_V1_MAX - 1, "\r\n", 2);
	CHECK(
	    rejected(line, PROXY_V1_MAX + 1, "v1 header longer than 107 bytes"),
	    "v1 108-byte line: too long");
	CHECK(rejected(line, PROXY_V1_MAX, "v1 header longer than 107 bytes"),
	    "v1 CR as byte 107: too long, not more");
	CHECK(rejected(line, sizeof(line), "v1 header longer than 107 bytes"),
	    "v1 longer buffer without a CRLF in 107 bytes: too long");
}

static void
test_v1_malformed(void)
{
	CHECK(
	    rejected(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), "LF without CR"),
	    "v1 bare LF");
	CHECK(
	    rejected(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rx"), "CR without LF"),
	    "v1 CR not followed by LF");
	CHECK(wants_more(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r")),
	    "v1 CR last: more, the LF may follow");
	CHECK(rejected(LIT("PROXY\r\n"), "does not start with"),
	    "v1 PROXY without a space");
	CHECK(rejected(LIT("PROXX TCP4"), "does not start with"),
	    "v1 wrong signature");
	CHECK(rejected(LIT("PR0"), "does not start with"),
	    "v1 wrong signature seen in a prefix");
	CHECK(wants_more(LIT("PROX")), "v1 signature prefix: more");
	CHECK(rejected(LIT("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"),
	          "unknown protocol"),
	    "v1 unknown protocol");
	CHECK(rejected(LIT("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"),
	          "unknown protocol"),
	    "v1 UDP4 is no v1 protocol");
	CHECK(rejected(LIT("PROXY UNKNOWNX\r\n"), "unknown protocol"),
	    "v1 UNKNOWN must end at a space or the CRLF");
	CHECK(rejected(LIT("PROXY TCP4\r\n"), "no addresses"),
	    "v1 TCP4 without addresses");
	CHECK(rejected(LIT("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n"),
	          "unknown protocol"),
	    "v1 two spaces before the protocol");
	CHECK(rejected(
	          LIT("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n"), "single spaces"),
	    "v1 two spaces between addresses");
	CHECK(rejected(
	          LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"), "single spaces"),
	    "v1 trailing space");
	CHECK(
	    rejected(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), "single spaces"),
	    "v1 missing port");
	CHECK(rejected(
	          LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"), "single spaces"),
	    "v1 extra field");
	CHECK(rejected(LIT("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n"),
	          "bad source address"),
	    "v1 IPv4 with three numbers");
	CHECK(rejected(LIT("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n"),
	          "bad source address"),
	    "v1 IPv4 number over 255");
	CHECK(rejected(LIT("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n"),
	          "bad source address"),
	    "v1 IPv4 with a leading zero");
	CHECK(rejected(
	          LIT("PROXY TCP4 ::1 5.6.7.8 1 2\r\n"), "bad source address"),
	    "v1 TCP4 with an IPv6 address");
	CHECK(rejected(LIT("PROXY TCP6 ::1 5.6.7.8 1 2\r\n"),
	          "bad destination address"),
	    "v1 TCP6 with an IPv4 address");
	CHECK(rejected(
	          LIT("PROXY TCP6 1::2::3 ::1 1 2\r\n"), "bad source address"),
	    "v1 IPv6 with two double colons");
	CHECK(rejected(LIT("PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n"),
	          "bad source address"),
	    "v1 NUL inside an address");
	CHECK(rejected(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"),
	          "bad source address or port"),
	    "v1 port over 65535");
	CHECK(rejected(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n"),
	          "bad source address or port"),
	    "v1 port with a leading zero");
	CHECK(rejected(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 +80 2\r\n"),
	          "bad source address or port"),
	    "v1 port with a sign");
	CHECK(rejected(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 -2\r\n"),
	          "bad destination address or port"),
	    "v1 negative port");
	CHECK(rejected(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2x\r\n"),
	          "bad destination address or port"),
	    "v1 port with a letter");
	CHECK(rejected(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 100000 2\r\n"),
	          "bad source address or port"),
	    "v1 six-digit port");
	CHECK(rejected(LIT("GET / HTTP/1.0\r\n"), "not a PROXY protocol"),
	    "a request with no header at all");
	CHECK(wants_more("", 0), "nothing yet: more");
}

static void
test_v2_valid(void)
{
	static const char v4[] = SIG "\x21\x11\x00\x0c"
	                             "\xc0\x00\x02\x01\xc6\x33\x64\x02"
	                             "\xdc\x04\x01\xbb"
	                             "data";
	static const char v4_tlv[] = SIG "\x21\x11\x00\x1a"
	                                 "\x0a\x00\x00\x01\x0a\x00\x00\x02"
	                                 "\x00\x50\x1f\x90"
	                                 "\x04\x00\x02\x00\x00" /* NOOP */
	                                 "\x05\x00\x03uid"      /* unique id */
	                                 "\x01\x00\x00";        /* empty ALPN */
	static const char v6[] =
	    SIG "\x21\x21\x00\x24"
	        "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
	        "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"
	        "\x30\x39\x00\x16";
	static const char v6_udp[] =
	    SIG "\x21\x22\x00\x24"
	        "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02"
	        "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"
	        "\x00\x35\x00\x35";
	static const char local[] = SIG "\x20\x00\x00\x00";
	static const char local_tlv[] = SIG "\x20\x00\x00\x05"
	                                    "\x04\x00\x02\x00\x00";
	static const char local_v4[] = SIG "\x20\x11\x00\x0c"
	                                   "\x01\x02\x03\x04\x05\x06\x07\x08"
	                                   "\x00\x01\x00\x02";
	static const char unspec[] = SIG "\x21\x00\x00\x00";
	static const char unspec_tlv[] = SIG "\x21\x00\x00\x04"
	                                     "\x05\x00\x01x";
	char unix_hdr[PROXY_V2_HEAD + 216];

	CHECK(parses(LIT(v4), 28, 2, "192.0.2.1", 56324, "198.51.100.2", 443),
	    "v2 PROXY TCP over IPv4: addresses, ports, length");
	CHECK(parses(LIT(v4_tlv), 42, 2, "10.0.0.1", 80, "10.0.0.2", 8080),
	    "v2 IPv4 with TLVs: skipped, counted in the length");
	CHECK(parses(LIT(v6), 52, 2, "2001:db8::1", 12345, "::1", 22),
	    "v2 PROXY TCP over IPv6");
	CHECK(parses(LIT(v6_udp), 52, 2, "2001:db8::2", 53, "::1", 53),
	    "v2 PROXY UDP over IPv6");
	CHECK(parses_local(LIT(local), 16, 2), "v2 LOCAL is local");
	CHECK(parses_local(LIT(local_tlv), 21, 2), "v2 LOCAL with a TLV");
	CHECK(parses_local(LIT(local_v4), 28, 2),
	    "v2 LOCAL ignores the addresses it carries");
	CHECK(parses_local(LIT(unspec), 16, 2),
	    "v2 PROXY with family UNSPEC is local");
	CHECK(
	    parses_local(LIT(unspec_tlv), 20, 2), "v2 PROXY UNSPEC with a TLV");
	CHECK(parses_local(LIT(SIG "\x21\x10\x00\x0c"
	                           "\x01\x02\x03\x04\x05\x06\x07\x08"
	                           "\x00\x01\x00\x02"),
	          28, 2),
	    "v2 PROXY IPv4 with transport UNSPEC is local");
	memcpy(unix_hdr, SIG "\x21\x31\x00\xd8", PROXY_V2_HEAD);
	memset(unix_hdr + PROXY_V2_HEAD, 0, 216);
	strcpy(unix_hdr + PROXY_V2_HEAD, "/run/client.sock");
	CHECK(parses_local(unix_hdr, sizeof(unix_hdr), sizeof(unix_hdr), 2),
	    "v2 PROXY AF_UNIX is local");
	CHECK(byte_at_a_time(LIT(v4_tlv)), "v2 byte at a time, with TLVs");
	CHECK(byte_at_a_time(LIT(v6)), "v2 IPv6 byte at a time");
	CHECK(byte_at_a_time(LIT(local)), "v2 LOCAL byte at a time");
}

static void
test_v2_malformed(void)
{
	CHECK(rejected(LIT("\r\n\r\n\0\r\nQUIX\n\x21\x11\x00\x0c"),
	          "wrong signature"),
	    "v2 wrong signature");
	CHECK(rejected(LIT("\r\n\r\r"), "wrong signature"),
	    "v2 wrong signature seen in a prefix");
	CHECK(wants_more(LIT("\r\n\r\n\0\r")), "v2 signature prefix: more");
	CHECK(rejected(LIT(SIG "\x11"), "unknown version 1"),
	    "v2 version 1 in the binary form");
	CHECK(rejected(LIT(SIG "\x31\x11\x00\x0c"), "unknown version 3"),
	    "v2 version 3");
	CHECK(rejected(LIT(SIG "\x22"), "unknown command 0x2"),
	    "v2 unknown command, seen before the rest arrives");
	CHECK(rejected(LIT(SIG "\x21\x41"), "unknown family 0x40"),
	    "v2 unknown family");
	CHECK(rejected(LIT(SIG "\x20\x41\x00\x00"), "unknown family 0x40"),
	    "v2 unknown family under LOCAL too");
	CHECK(rejected(LIT(SIG "\x21\x13"), "unknown transport 0x03"),
	    "v2 unknown transport");
	CHECK(rejected(LIT(SIG "\x21\x11\x00\x08"
	                       "\x01\x02\x03\x04\x05\x06\x07\x08"),
	          "length 8 is shorter than the 12-byte address block"),
	    "v2 IPv4 length shorter than its block");
	CHECK(rejected(LIT(SIG "\x21\x11\x00\x08"), "shorter than the 12"),
	    "v2 short length refused before the block arrives");
	CHECK(parses_local(LIT(SIG "\x20\x21\x00\x00"), 16, 2),
	    "v2 LOCAL with family IPv6 and no block: the family is ignored");
	CHECK(rejected(LIT(SIG "\x21\x21\x00\x0c"
	                       "\x01\x02\x03\x04\x05\x06\x07\x08"
	                       "\x00\x01\x00\x02"),
	          "shorter than the 36-byte"),
	    "v2 IPv6 with an IPv4-sized block");
	CHECK(rejected(LIT(SIG "\x21\x31\x00\x0c"
	                       "\x01\x02\x03\x04\x05\x06\x07\x08"
	                       "\x00\x01\x00\x02"),
	          "shorter than the 216-byte"),
	    "v2 AF_UNIX with a short block");
	CHECK(wants_more(LIT(SIG "\x21\x11\x00\x0c"
	                         "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01")),
	    "v2 truncated address block: more");
	CHECK(wants_more(LIT(SIG "\x21\x11\xff\xff")),
	    "v2 65535-byte length: more until it is all in");
	CHECK(rejected(LIT(SIG "\x21\x11\x00\x10"
	                       "\x01\x02\x03\x04\x05\x06\x07\x08"
	                       "\x00\x01\x00\x02"
	                       "\x04\x00\x02\x00"),
	          "TLV type 0x04 of 2 bytes overruns"),
	    "v2 TLV longer than the header");
	CHECK(rejected(LIT(SIG "\x21\x11\x00\x0e"
	                       "\x01\x02\x03\x04\x05\x06\x07\x08"
	                       "\x00\x01\x00\x02"
	                       "\x04\x00"),
	          "2 stray bytes after the last TLV"),
	    "v2 half a TLV");
	CHECK(rejected(LIT(SIG "\x21\x00\x00\x02\x04\x00"), "stray bytes"),
	    "v2 UNSPEC with half a TLV");
}

/* How far a reader may go: never past the end of a v2 header whose length
 * it knows, at most a v1 line's worst case before that. */
static void
test_bound(void)
{
	static const char v2[] = SIG "\x21\x11\x01\x02";

	CHECK(proxy_header_bound("", 0) == PROXY_V1_MAX, "bound: nothing yet");
	CHECK(proxy_header_bound(LIT("PROXY TCP4 ")) == PROXY_V1_MAX,
	    "bound: v1 start");
	CHECK(proxy_header_bound(LIT("\r\n\r")) == PROXY_V2_HEAD,
	    "bound: v2 start, length not in yet");
	CHECK(proxy_header_bound(v2, 16) == 16 + 258,
	    "bound: v2 length 0x0102 read");
	CHECK(proxy_header_bound(v2, 300) == 300,
	    "bound: never less than what is there");
	CHECK(proxy_header_bound(LIT(SIG "\x20\x00\x00\x00")) == 16,
	    "bound: v2 LOCAL without a body");
}

void
test_proxy(void)
{
	test_bound();
	test_v1_valid();
	test_v1_length();
	test_v1_malformed();
	test_v2_valid();
	test_v2_malformed();
}
