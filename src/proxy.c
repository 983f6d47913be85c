/*
 * The PROXY protocol header parser, v1 and v2, after HAProxy's
 * doc/proxy-protocol.txt.  Strict, as the spec asks: anything that does not
 * match exactly is PROXY_BAD, and a partial header is PROXY_MORE only while
 * it can still become a valid one.  Error messages never quote the client's
 * bytes: they end up in the log, and this room does not escape.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proxy.h"

static const char v1_sig[] = "PROXY ";
static const unsigned char v2_sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
	0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

/* v2 commands, families (high nibble of fam) and transports (low nibble). */
enum { V2_LOCAL, V2_PROXY };
enum { V2_UNSPEC, V2_INET, V2_INET6, V2_UNIX };
enum { V2_STREAM = 1, V2_DGRAM };

/* The address block each v2 family needs, indexed by family. */
static const size_t v2_block[] = { 0, 12, 36, 216 };

/* A v1 field: a run of the line between single spaces. */
struct field {
	const char *s;
	size_t n;
};

static enum proxy_result bad(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum proxy_result
bad(char *err, size_t errsize, const char *fmt, ...)
{
	if (err != NULL && errsize > 0) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(err, errsize, fmt, ap);
		va_end(ap);
	}
	return PROXY_BAD;
}

static size_t
min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/*
 * Find the CRLF that ends a v1 line in s[0..len), the line after its
 * signature, which may take max bytes with the CRLF.  A lone CR or LF is an
 * error at once (the spec forbids tolerating either), so is a line that
 * cannot end in time; otherwise wait for more.
 */
static enum proxy_result
v1_line_end(const unsigned char *s, size_t len, size_t max, size_t *n,
    char *err, size_t errsize)
{
	for (size_t i = 0; i < min_size(len, max); i++) {
		if (s[i] == '\n')
			return bad(err, errsize, "v1 header: LF without CR");
		if (s[i] != '\r')
			continue;
		if (i + 1 >= max)
			break; /* no room left for the LF: len >= max */
		if (i + 1 == len)
			return PROXY_MORE;
		if (s[i + 1] != '\n')
			return bad(err, errsize, "v1 header: CR without LF");
		*n = i;
		return PROXY_OK;
	}
	if (len < max)
		return PROXY_MORE;
	return bad(
	    err, errsize, "v1 header longer than %d bytes", PROXY_V1_MAX);
}

/* Split s[0..n) at each space into at most max fields; the count, or -1
 * when there are more.  Two spaces in a row make an empty field. */
static int
v1_split(const char *s, size_t n, struct field *f, int max)
{
	size_t i, start = 0;
	int count = 0;

	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != ' ')
			continue;
		if (count == max)
			return -1;
		f[count].s = s + start;
		f[count].n = i - start;
		count++;
		start = i + 1;
	}
	return count;
}

static bool
field_is(const struct field *f, const char *word)
{
	return f->n == strlen(word) && memcmp(f->s, word, f->n) == 0;
}

/* An address in the text of its family into dst (struct in_addr or
 * in6_addr); inet_pton already refuses leading zeros in IPv4 numbers. */
static bool
v1_addr(const struct field *f, int family, void *dst)
{
	char text[INET6_ADDRSTRLEN];

	/* A NUL inside would let inet_pton accept only a prefix. */
	if (f->n == 0 || f->n >= sizeof(text) || memchr(f->s, '\0', f->n))
		return false;
	memcpy(text, f->s, f->n);
	text[f->n] = '\0';
	return inet_pton(family, text, dst) == 1;
}

/* A port: decimal 0..65535, no sign, no leading zero. */
static bool
v1_port(const struct field *f, in_port_t *port)
{
	unsigned long v = 0;

	if (f->n == 0 || f->n > 5 || (f->n > 1 && f->s[0] == '0'))
		return false;
	for (size_t i = 0; i < f->n; i++) {
		if (f->s[i] < '0' || f->s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(f->s[i] - '0');
	}
	if (v > 65535)
		return false;
	*port = htons((uint16_t)v);
	return true;
}

/* One address and port of a TCP4 or TCP6 line into ss. */
static bool
v1_endpoint(const struct field *addr, const struct field *port, int family,
    struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	ss->ss_family = (sa_family_t)family;
	if (family == AF_INET)
		return v1_addr(addr, family, &sin->sin_addr) &&
		       v1_port(port, &sin->sin_port);
	return v1_addr(addr, family, &sin6->sin6_addr) &&
	       v1_port(port, &sin6->sin6_port);
}

/* "TCP4|TCP6 src dst sport dport", each field exactly once. */
static enum proxy_result
v1_tcp(const char *s, size_t n, int family, struct proxy_header *h, char *err,
    size_t errsize)
{
	struct field f[4];

	if (v1_split(s, n, f, 4) != 4)
		return bad(err, errsize,
		    "v1 header: not \"%s src dst sport "
		    "dport\" with single spaces",
		    family == AF_INET ? "TCP4" : "TCP6");
	if (!v1_endpoint(&f[0], &f[2], family, &h->src))
		return bad(err, errsize,
		    "v1 header: bad source address or port for %s",
		    family == AF_INET ? "TCP4" : "TCP6");
	if (!v1_endpoint(&f[1], &f[3], family, &h->dst))
		return bad(err, errsize,
		    "v1 header: bad destination address or port for %s",
		    family == AF_INET ? "TCP4" : "TCP6");
	return PROXY_OK;
}

static enum proxy_result
v1_parse(const unsigned char *p, size_t len, struct proxy_header *h, char *err,
    size_t errsize)
{
	const size_t siglen = sizeof(v1_sig) - 1;
	const char *rest = (const char *)p + siglen;
	struct field proto;
	const char *space;
	size_t restlen = 0;
	enum proxy_result r;

	if (memcmp(p, v1_sig, min_size(len, siglen)) != 0)
		return bad(
		    err, errsize, "v1 header: does not start with \"PROXY \"");
	if (len <= siglen)
		return PROXY_MORE;
	r = v1_line_end(p + siglen, len - siglen, PROXY_V1_MAX - siglen,
	    &restlen, err, errsize);
	if (r != PROXY_OK)
		return r;
	space = memchr(rest, ' ', restlen);
	proto.s = rest;
	proto.n = space != NULL ? (size_t)(space - rest) : restlen;
	h->version = 1;
	h->len = siglen + restlen + 2;
	/* UNKNOWN: "the receiver must ignore anything presented before the
	 * CRLF", but only after a space: "UNKNOWNX" is no protocol. */
	if (field_is(&proto, "UNKNOWN")) {
		h->local = true;
		return PROXY_OK;
	}
	if (proto.n == restlen || rest[proto.n] != ' ')
		return bad(err, errsize,
		    "v1 header: no addresses after the "
		    "protocol, or unknown protocol");
	if (field_is(&proto, "TCP4"))
		r = v1_tcp(rest + 5, restlen - 5, AF_INET, h, err, errsize);
	else if (field_is(&proto, "TCP6"))
		r = v1_tcp(rest + 5, restlen - 5, AF_INET6, h, err, errsize);
	else
		r = bad(err, errsize,
		    "v1 header: unknown protocol, not TCP4, TCP6 or UNKNOWN");
	return r;
}

/* The fixed bytes after the signature, each checked as soon as it is in,
 * so that a wrong header is dropped without waiting for the rest. */
static enum proxy_result
v2_fixed(const unsigned char *p, size_t len, char *err, size_t errsize)
{
	if (len > 12 && p[12] >> 4 != 2)
		return bad(
		    err, errsize, "v2 header: unknown version %d", p[12] >> 4);
	if (len > 12 && (p[12] & 0xf) > V2_PROXY)
		return bad(err, errsize, "v2 header: unknown command 0x%x",
		    p[12] & 0xf);
	if (len > 13 && p[13] >> 4 > V2_UNIX)
		return bad(err, errsize, "v2 header: unknown family 0x%02x",
		    p[13] & 0xf0);
	if (len > 13 && (p[13] & 0xf) > V2_DGRAM)
		return bad(err, errsize, "v2 header: unknown transport 0x%02x",
		    p[13] & 0xf);
	return PROXY_OK;
}

/* The TLVs after the address block: skipped, but each must fit. */
static enum proxy_result
v2_tlvs(const unsigned char *p, size_t len, char *err, size_t errsize)
{
	size_t off = 0;

	while (off < len) {
		size_t vlen;

		if (len - off < 3)
			return bad(err, errsize,
			    "v2 header: %zu stray bytes after the last TLV",
			    len - off);
		vlen = (size_t)p[off + 1] << 8 | p[off + 2];
		if (vlen > len - off - 3)
			return bad(err, errsize,
			    "v2 header: TLV type 0x%02x "
			    "of %zu bytes overruns the header",
			    p[off], vlen);
		off += 3 + vlen;
	}
	return PROXY_OK;
}

/* The addresses and ports of an AF_INET or AF_INET6 block. */
static void
v2_addresses(const unsigned char *b, int family, struct proxy_header *h)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&h->src;
	struct sockaddr_in *d4 = (struct sockaddr_in *)&h->dst;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&h->src;
	struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&h->dst;

	if (family == V2_INET) {
		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, b, 4);
		memcpy(&d4->sin_addr, b + 4, 4);
		memcpy(&s4->sin_port, b + 8, 2);
		memcpy(&d4->sin_port, b + 10, 2);
		return;
	}
	s6->sin6_family = d6->sin6_family = AF_INET6;
	memcpy(&s6->sin6_addr, b, 16);
	memcpy(&d6->sin6_addr, b + 16, 16);
	memcpy(&s6->sin6_port, b + 32, 2);
	memcpy(&d6->sin6_port, b + 34, 2);
}

/*
 * The variable part of a complete v2 header.  LOCAL: the spec says to
 * discard the whole block, family included.  PROXY: the block of the family
 * fits in the length (v2_parse saw to it); its addresses are used only for
 * AF_INET and AF_INET6 over a known transport (UNSPEC: "the receiver should
 * ignore address information"; AF_UNIX: a path is no client address).
 */
static enum proxy_result
v2_body(const unsigned char *p, size_t body, struct proxy_header *h, char *err,
    size_t errsize)
{
	const unsigned char *b = p + PROXY_V2_HEAD;
	int family = p[13] >> 4, transport = p[13] & 0xf;

	if ((p[12] & 0xf) == V2_LOCAL) {
		h->local = true;
		return PROXY_OK;
	}
	if (family == V2_INET || family == V2_INET6) {
		if (transport == V2_UNSPEC)
			h->local = true;
		else
			v2_addresses(b, family, h);
	} else
		h->local = true;
	return v2_tlvs(
	    b + v2_block[family], body - v2_block[family], err, errsize);
}

static enum proxy_result
v2_parse(const unsigned char *p, size_t len, struct proxy_header *h, char *err,
    size_t errsize)
{
	enum proxy_result r;
	size_t body;

	if (memcmp(p, v2_sig, min_size(len, sizeof(v2_sig))) != 0)
		return bad(err, errsize, "v2 header: wrong signature");
	if ((r = v2_fixed(p, len, err, errsize)) != PROXY_OK)
		return r;
	if (len < PROXY_V2_HEAD)
		return PROXY_MORE;
	body = (size_t)p[14] << 8 | p[15];
	/* LOCAL discards the block, family included: any length will do. */
	if ((p[12] & 0xf) == V2_PROXY && body < v2_block[p[13] >> 4])
		return bad(err, errsize,
		    "v2 header: length %zu is shorter than the %zu-byte "
		    "address block of family 0x%02x",
		    body, v2_block[p[13] >> 4], p[13] & 0xf0);
	if (len < PROXY_V2_HEAD + body)
		return PROXY_MORE;
	h->version = 2;
	h->len = PROXY_V2_HEAD + body;
	return v2_body(p, body, h, err, errsize);
}

enum proxy_result
proxy_parse(const void *buf, size_t len, struct proxy_header *h, char *err,
    size_t errsize)
{
	const unsigned char *p = buf;
	enum proxy_result r;

	memset(h, 0, sizeof(*h));
	if (err != NULL && errsize > 0)
		err[0] = '\0';
	if (len == 0)
		return PROXY_MORE;
	/* The spec's own test: v1 starts with 'P', v2 with CR. */
	if (p[0] == v1_sig[0])
		r = v1_parse(p, len, h, err, errsize);
	else if (p[0] == v2_sig[0])
		r = v2_parse(p, len, h, err, errsize);
	else
		r = bad(err, errsize,
		    "not a PROXY protocol header (first byte 0x%02x)", p[0]);
	/* A caller that misses the result must not use half a header. */
	if (r != PROXY_OK)
		memset(h, 0, sizeof(*h));
	return r;
}

size_t
proxy_header_bound(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t bound = PROXY_V1_MAX;

	if (len > 0 && p[0] == v2_sig[0])
		bound = len < PROXY_V2_HEAD
		            ? PROXY_V2_HEAD
		            : PROXY_V2_HEAD + ((size_t)p[14] << 8 | p[15]);
	return bound > len ? bound : len;
}
