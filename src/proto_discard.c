/*
 * discard: read and drop.  With log_data every chunk (or datagram) is
 * logged, escaped, in pieces short enough for one log line each.
 */
#include "config.h"
#include "conn.h"
#include "log.h"
#include "proto.h"

#define PIECE 1024

/* id: the connection's, "" for a datagram. */
static void
log_data(const struct service *svc, const char *peer, const char *id,
    const char *data, size_t len)
{
	char text[PIECE * 4 + 1];
	size_t done = 0;

	while (done < len) {
		size_t piece = len - done < PIECE ? len - done : PIECE;
		size_t used =
		    log_escape(data + done, piece, text, sizeof(text));
		log_info("data service=%s client=%s%s%s len=%zu \"%s\"",
		    svc->name, peer, id[0] != '\0' ? " id=" : "", id, used,
		    text);
		done += used;
	}
}

/* How much of the n bytes just received is still within log_data_limit. */
static size_t
within_limit(const struct conn *conn, const struct service *svc, size_t n)
{
	unsigned long long before = conn->bytes_in - n;

	if (before >= svc->log_data_limit)
		return 0;
	return svc->log_data_limit - before < n
	           ? (size_t)(svc->log_data_limit - before)
	           : n;
}

/* The last line of a connection: how much came, how much was not logged. */
static void
log_closed(const struct conn *conn, const struct service *svc)
{
	if (conn->bytes_in <= svc->log_data_limit)
		log_info("data service=%s client=%s id=%s closed after %llu "
		         "bytes",
		    svc->name, conn->peer, conn->id, conn->bytes_in);
	else
		log_info("data service=%s client=%s id=%s closed after %llu "
		         "bytes, %llu not logged (log_data_limit %zu)",
		    svc->name, conn->peer, conn->id, conn->bytes_in,
		    conn->bytes_in - svc->log_data_limit, svc->log_data_limit);
}

/*
 * With log_data, at most log_data_limit bytes of a connection are logged
 * (about three bytes of log for each): one client must not be able to fill
 * the log's disk.
 */
enum conn_end
proto_discard_serve(struct conn *conn, const struct service *svc)
{
	for (;;) {
		ssize_t n = conn_recv(conn);

		if (n == -1)
			return conn->end;
		if (n == 0) {
			if (svc->log_data)
				log_closed(conn, svc);
			return END_CLOSED;
		}
		if (svc->log_data)
			log_data(svc, conn->peer, conn->id, conn->chunk,
			    within_limit(conn, svc, (size_t)n));
	}
}

/* Over UDP (RFC 863): nothing comes back; log_data logs the datagram. */
void
proto_discard_answer(const struct service *svc, const struct dgram *d,
    const char *data, struct dgram_answer *out)
{
	out->iovcnt = 0;
	if (svc->log_data)
		log_data(svc, d->peer_name, "", data,
		    d->len < svc->log_data_limit ? d->len
		                                 : svc->log_data_limit);
}
