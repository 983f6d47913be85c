/*
 * discard: read and drop.  With log_data every chunk (or datagram) is
 * logged, escaped, in pieces short enough for one log line each.
 */
#include "config.h"
#include "conn.h"
#include "log.h"
#include "proto.h"

#define PIECE 1024

static void
log_data(const struct service *svc, const char *peer, const char *data,
    size_t len)
{
	char text[PIECE * 4 + 1];
	size_t done = 0;

	while (done < len) {
		size_t piece = len - done < PIECE ? len - done : PIECE;
		size_t used = log_escape(data + done, piece, text, sizeof(text));
		log_info("data service=%s client=%s len=%zu \"%s\"", svc->name,
		    peer, used, text);
		done += used;
	}
}

enum conn_end
proto_discard_serve(struct conn *conn, const struct service *svc)
{
	for (;;) {
		ssize_t n = conn_recv(conn);

		if (n == -1)
			return conn->end;
		if (n == 0) {
			if (svc->log_data)
				log_info("data service=%s client=%s closed "
				         "after %llu bytes",
				    svc->name, conn->peer, conn->bytes_in);
			return END_CLOSED;
		}
		if (svc->log_data)
			log_data(svc, conn->peer, conn->chunk, (size_t)n);
	}
}

/* Over UDP (RFC 863): nothing comes back; log_data logs the datagram. */
void
proto_discard_answer(const struct service *svc, const struct dgram *d,
    const char *data, struct dgram_answer *out)
{
	out->iovcnt = 0;
	if (svc->log_data)
		log_data(svc, d->peer_name, data, d->len);
}
