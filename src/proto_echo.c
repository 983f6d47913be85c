/* echo: every byte comes back exactly as it came, binary included. */
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
