/*
 * libFuzzer target for proxy_parse: any bytes, never a crash, and answers
 * that agree with themselves: an OK header is OK on its own bytes, and a
 * prefix of it is only MORE; a BAD one always says why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_ok(const uint8_t *data, const struct proxy_header *h)
{
	struct proxy_header again;
	char err[128];

	if (h->version != 1 && h->version != 2)
		abort();
	if (h->local &&
	    (h->src.ss_family != AF_UNSPEC || h->dst.ss_family != AF_UNSPEC))
		abort();
	if (!h->local && h->src.ss_family != h->dst.ss_family)
		abort();
	if (!h->local && h->src.ss_family != AF_INET &&
	    h->src.ss_family != AF_INET6)
		abort();
	/* The header alone parses the same; what follows it is not read. */
	if (proxy_parse(data, h->len, &again, err, sizeof(err)) != PROXY_OK ||
	    memcmp(&again, h, sizeof(again)) != 0)
		abort();
	/* Every shorter prefix is only MORE: a header sent a byte at a time
	 * is judged the same (all of them for short headers, for speed). */
	for (size_t n = h->len > 256 ? h->len - 1 : 0; n < h->len; n++)
		if (proxy_parse(data, n, &again, err, sizeof(err)) !=
		    PROXY_MORE)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_header h;
	char err[128];

	switch (proxy_parse(data, size, &h, err, sizeof(err))) {
	case PROXY_OK:
		if (h.len == 0 || h.len > size)
			abort();
		check_ok(data, &h);
		break;
	case PROXY_BAD:
		if (err[0] == '\0')
			abort();
		break;
	case PROXY_MORE:
		break;
	}
	/* No error buffer at all must be fine too. */
	proxy_parse(data, size, &h, NULL, 0);
	return 0;
}
