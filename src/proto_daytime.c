/*
 * daytime (RFC 867): the date and time as one line of text, then the
 * connection is closed; over UDP, one datagram of the same text whatever
 * came in.  The RFC leaves the format open; this is xinetd's, byte for
 * byte, so clients written against xinetd parse it:
 *
 *	22 NOV 2026 21:20:33 UTC\r\n
 *
 * the day of the month in two digits, the month in English capitals
 * whatever the locale, the time of day and the zone's abbreviation in the
 * daemon's local time.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "conn.h"
#include "proto.h"

static const char months[12][4] = { "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
	"JUL", "AUG", "SEP", "OCT", "NOV", "DEC" };

/* "22 NOV 2026 21:20:33 UTC\r\n" for tm; key unused. */
static size_t
format_daytime(char *buf, size_t size, const struct tm *tm, const void *key)
{
	int n;

	(void)key;
	n = snprintf(buf, size, "%02d %s %d %02d:%02d:%02d", tm->tm_mday,
	    months[tm->tm_mon], 1900 + tm->tm_year, tm->tm_hour, tm->tm_min,
	    tm->tm_sec);
	if (n < 0 || (size_t)n >= size)
		return 0;
	/* As xinetd: the zone through strftime, which knows tm_zone. */
	return (size_t)n + strftime(buf + n, size - (size_t)n, " %Z\r\n", tm);
}

/* The current text, formatted once a second; valid until the next call. */
static const char *
daytime_text(size_t *len)
{
	static struct clock_text cache;

	return clock_text(&cache, time(NULL), NULL, format_daytime, len);
}

enum conn_end
proto_daytime_serve(struct conn *conn, const struct service *svc)
{
	size_t len;
	const char *text = daytime_text(&len);

	(void)svc;
	return proto_serve_once(conn, text, len);
}

/* Over UDP: the same line, in one datagram, whatever the datagram held. */
void
proto_daytime_answer(const struct service *svc, const struct dgram *d,
    const char *data, struct dgram_answer *out)
{
	size_t len;
	const char *text = daytime_text(&len);

	(void)svc;
	(void)d;
	(void)data;
	memcpy(out->scratch, text, len);
	out->iov[0].iov_base = out->scratch;
	out->iov[0].iov_len = len;
	out->iovcnt = 1;
}
