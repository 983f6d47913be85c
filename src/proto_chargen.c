/*
 * chargen (RFC 864): the RFC's pattern of 72-character lines, sent until
 * the client goes away; what the client sends is never read (the RFC says
 * it is thrown away).  Over UDP, one datagram of a random 0 to 512 bytes of
 * the same pattern answers each datagram (chargen_udp_max lowers the 512:
 * an empty datagram of 28 bytes on the wire draws up to 540, so a forged
 * sender makes chargen a reflector; udp_rate bounds how often).
 *
 * The 95 printable characters, ' ' to '~', form a ring; line N holds
 * characters N to N + 71 of it, then "\r\n".  The stream starts at line 1,
 * '!' to 'h', as xinetd's does, so its first 22 lines are xinetd's byte for
 * byte.  (After that they part: xinetd's ring lacks ' ' and '~'.)
 *
 * The pattern repeats every 95 lines, so those 95 lines are made once per
 * worker and sent over and over, many copies in one write.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "config.h"
#include "conn.h"
#include "proto.h"
#include "rand.h"
#include "unforked.h"

#define RING 95 /* the printable characters, ' ' to '~' */
#define LINE_CHARS 72
#define LINE_SIZE (LINE_CHARS + 2)
#define FIRST_LINE 1 /* as xinetd: see above */
#define COPIES 16    /* copies of the pattern per write: 110 KiB */

static char pattern[RING * LINE_SIZE];

/* The 95 lines from FIRST_LINE on, once per worker. */
static const char *
chargen_pattern(void)
{
	static bool made WORKER_DATA;

	if (!made) {
		for (int line = 0; line < RING; line++) {
			char *p = pattern + line * LINE_SIZE;
			int first = FIRST_LINE + line;

			for (int i = 0; i < LINE_CHARS; i++)
				p[i] = (char)(' ' + (first + i) % RING);
			p[LINE_CHARS] = '\r';
			p[LINE_CHARS + 1] = '\n';
		}
		made = true;
	}
	return pattern;
}

/*
 * Send until sending fails: the client closed or reset the connection
 * (end=reset: the RFC's only way to end), stopped reading for send_timeout
 * (end=send_timeout), or the worker was told to stop.  A client that only
 * half-closes still gets the stream, as from xinetd.
 */
enum conn_end
proto_chargen_serve(struct conn *conn, const struct service *svc)
{
	const char *text = chargen_pattern();
	struct iovec iov[COPIES];

	(void)svc;
	for (;;) {
		for (int i = 0; i < COPIES; i++) {
			iov[i].iov_base = (void *)(uintptr_t)text;
			iov[i].iov_len = sizeof(pattern);
		}
		if (conn_send_iov(conn, iov, COPIES) == -1)
			return conn->end;
	}
}

/* The generator of a datagram's length: 0 in a new worker, seeded on its
 * first datagram, so workers forked from one master draw apart. */
static uint32_t lengths WORKER_DATA;

/* Over UDP: 0 to chargen_udp_max (512, at most) bytes from the start of
 * the pattern, whatever the datagram held. */
void
proto_chargen_answer(const struct service *svc, const struct dgram *d,
    const char *data, struct dgram_answer *out)
{
	(void)d;
	(void)data;
	out->iov[0].iov_base = (void *)(uintptr_t)chargen_pattern();
	out->iov[0].iov_len =
	    rand_u32(&lengths) % ((uint32_t)svc->chargen_udp_max + 1);
	out->iovcnt = 1;
}
