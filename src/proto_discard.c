/*
 * discard: read and drop.  With log_data every chunk (or datagram) is
 * logged, escaped, in pieces short enough for one log line each: at most
 * log_data_limit bytes of a connection or datagram, and at most
 * log_data_rate bytes of such lines a second from a worker, whoever sends
 * (escaping makes up to four bytes of log of one byte received).  Past the
 * rate one line says the data is not logged, and the first line after
 * says how much was not.
 */
#include <string.h>

#include "clock.h"
#include "config.h"
#include "conn.h"
#include "limit.h"
#include "log.h"
#include "proto.h"
#include "unforked.h"

#define PIECE 1024

/* log_data_rate's budget, this worker's; and the bytes of data of this
 * connection not logged for it. */
static struct rate_budget data_lines WORKER_DATA;
static unsigned long long unlogged WORKER_DATA;

/* May a line of len bytes of log be written now?  Says when the bound cuts
 * in, and what it left out at the first line after. */
static bool
within_rate(const struct service *svc, size_t len)
{
	long long now = clock_coarse_ms();
	struct rate_tally t;

	switch (limit_rate_take(
	    &data_lines, (unsigned long long)svc->log_data_rate, now, len)) {
	case RATE_TAKE:
		if (limit_rate_report(&data_lines, now, &t))
			log_notice("service %s: log_data: %llu lines (%llu "
			           "bytes) not logged in the last %lld s "
			           "(log_data_rate = %ld bytes a second)",
			    svc->name, t.items, t.units, t.seconds,
			    svc->log_data_rate);
		return true;
	case RATE_CUT:
		log_notice("service %s: log_data_rate = %ld bytes a second "
		           "reached: data not logged until the second is over",
		    svc->name, svc->log_data_rate);
		break;
	case RATE_DROP:
		break;
	}
	return false;
}

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
		if (within_rate(svc, strlen(text)))
			log_info("data service=%s client=%s%s%s len=%zu "
			         "\"%s\"",
			    svc->name, peer, id[0] != '\0' ? " id=" : "", id,
			    used, text);
		else
			unlogged += used;
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

/* The last line of a connection: how much came, how much was not logged
 * (past log_data_limit, and of that before it for log_data_rate). */
static void
log_closed(const struct conn *conn, const struct service *svc)
{
	unsigned long long over = conn->bytes_in > svc->log_data_limit
	                              ? conn->bytes_in - svc->log_data_limit
	                              : 0;

	if (over == 0 && unlogged == 0)
		log_info("data service=%s client=%s id=%s closed after %llu "
		         "bytes",
		    svc->name, conn->peer, conn->id, conn->bytes_in);
	else if (unlogged == 0)
		log_info("data service=%s client=%s id=%s closed after %llu "
		         "bytes, %llu not logged (log_data_limit %zu)",
		    svc->name, conn->peer, conn->id, conn->bytes_in, over,
		    svc->log_data_limit);
	else
		log_info("data service=%s client=%s id=%s closed after %llu "
		         "bytes, %llu not logged (log_data_limit %zu, "
		         "log_data_rate %ld)",
		    svc->name, conn->peer, conn->id, conn->bytes_in,
		    over + unlogged, svc->log_data_limit, svc->log_data_rate);
}

/*
 * With log_data, at most log_data_limit bytes of a connection are logged
 * (about three bytes of log for each), and log_data_rate bytes of log a
 * second: neither one client nor many must be able to fill the log's disk.
 */
enum conn_end
proto_discard_serve(struct conn *conn, const struct service *svc)
{
	unlogged = 0;
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
