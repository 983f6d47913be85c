/* prefix: each line comes back as the configured prefix plus the line. */
#include <string.h>

#include "config.h"
#include "conn.h"
#include "proto.h"

static size_t
prefix_head(const struct service *svc, char *head, size_t size)
{
	size_t len = strlen(svc->prefix);

	/* config.c caps prefix below the size of the head buffer. */
	if (len >= size)
		len = size - 1;
	memcpy(head, svc->prefix, len);
	return len;
}

enum conn_end
proto_prefix_serve(struct conn *conn, const struct service *svc)
{
	return proto_serve_framed(conn, svc, prefix_head);
}

/* Over UDP: the prefix and the datagram, in one datagram. */
void
proto_prefix_answer(const struct service *svc, const struct dgram *d,
    const char *data, struct dgram_answer *out)
{
	proto_answer_with_head(out, svc->prefix, strlen(svc->prefix), d, data);
}
