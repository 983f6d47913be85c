/* echo: every byte comes back exactly as it came, binary included. */
#include <stdint.h>

#include "config.h"
#include "conn.h"
#include "proto.h"

enum conn_end
proto_echo_serve(struct conn *conn, const struct service *svc)
{
	(void)svc;
	for (;;) {
		ssize_t n = conn_recv(conn);

		if (n == 0)
			return END_CLOSED;
		if (n == -1 ||
		    conn_send_all(conn, conn->chunk, (size_t)n) == -1)
			return conn->end;
	}
}

/* Over UDP (RFC 862): the datagram comes back as it came. */
void
proto_echo_answer(const struct service *svc, const struct dgram *d,
    const char *data, struct dgram_answer *out)
{
	(void)svc;
	out->iov[0].iov_base = (void *)(uintptr_t)data;
	out->iov[0].iov_len = d->len;
	out->iovcnt = 1;
}
