/* timestamp: each line comes back after the time, as time_format says. */
#include <string.h>
#include <time.h>

#include "config.h"
#include "conn.h"
#include "proto.h"

/*
 * The head changes once a second, so it is formatted once a second: a busy
 * connection costs no strftime() per line.  A worker serves one service,
 * but the cache remembers which format it holds all the same.
 */
static struct {
	const char *format;
	time_t second;
	size_t len;
	char text[1024 + 1];
} cache = { .second = -1 };

static size_t
timestamp_head(const struct service *svc, char *head, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;

	if (now != cache.second || cache.format != svc->time_format) {
		localtime_r(&now, &tm);
		/* 0 for an empty format; config.c rejects formats that
		 * overflow. */
		cache.len =
		    strftime(cache.text, sizeof(cache.text), svc->time_format, &tm);
		cache.second = now;
		cache.format = svc->time_format;
	}
	if (cache.len > size)
		return 0;
	memcpy(head, cache.text, cache.len);
	return cache.len;
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
