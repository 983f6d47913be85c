/*
 * time (RFC 868): the time as a 32-bit count of seconds since 1900-01-01
 * 00:00 UTC, in network byte order, then the connection is closed; over
 * UDP, one datagram of the same 4 bytes whatever came in.  The count is
 * taken modulo 2^32, as xinetd's is: it wraps in 2036, and the RFC's
 * clients are expected to know which era they live in.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "conn.h"
#include "proto.h"

/* Seconds from 1900-01-01 to 1970-01-01: 70 years, 17 of them leap. */
#define SECONDS_1900_TO_1970 2208988800U

/* The time as RFC 868 sends it: already in network byte order. */
static uint32_t
time_since_1900(void)
{
	return htonl((uint32_t)((uint64_t)time(NULL) + SECONDS_1900_TO_1970));
}

enum conn_end
proto_time_serve(struct conn *conn, const struct service *svc)
{
	uint32_t now = time_since_1900();

	(void)svc;
	return proto_serve_once(conn, &now, sizeof(now));
}

/* Over UDP: the same 4 bytes, whatever the datagram held. */
void
proto_time_answer(const struct service *svc, const struct dgram *d,
    const char *data, struct dgram_answer *out)
{
	uint32_t now = time_since_1900();

	(void)svc;
	(void)d;
	(void)data;
	memcpy(out->scratch, &now, sizeof(now));
	out->iov[0].iov_base = out->scratch;
	out->iov[0].iov_len = sizeof(now);
	out->iovcnt = 1;
}
