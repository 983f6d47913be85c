/* timestamp: each line comes back after the time, as time_format says. */
#include <time.h>

#include "clock.h"
#include "config.h"
#include "conn.h"
#include "proto.h"

/* The head for tm: strftime with the service's time_format (key); 0 for
 * an empty format.  config.c rejects formats that overflow. */
static size_t
format_head(char *buf, size_t size, const struct tm *tm, const void *key)
{
	return strftime(buf, size, key, tm);
}

/*
 * The head changes once a second, so it is formatted once a second: a busy
 * connection costs no strftime() per line.  A worker serves one service,
 * but the cache remembers which format it holds all the same.
 */
static size_t
timestamp_head(const struct service *svc, char *head, size_t size)
{
	static struct clock_text cache;

	return clock_text_copy(
	    &cache, time(NULL), svc->time_format, format_head, head, size);
}

enum conn_end
proto_timestamp_serve(struct conn *conn, const struct service *svc)
{
	return proto_serve_framed(conn, svc, timestamp_head);
}

/* Over UDP: the time and the datagram, in one datagram. */
void
proto_timestamp_answer(const struct service *svc, const struct dgram *d,
    const char *data, struct dgram_answer *out)
{
	size_t len = timestamp_head(svc, out->scratch, sizeof(out->scratch));

	proto_answer_with_head(out, out->scratch, len, d, data);
}
