/* conn_peek and conn_skip over a socketpair: what the PROXY header reader
 * stands on.  Peeking takes nothing; skipping takes exactly what it is
 * told, outside the byte counts; the deadline and the peer's close are
 * told apart. */
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"
#include "unit.h"

static const volatile sig_atomic_t no_stop;

/* A conn on one end of a socketpair; *other is the peer's end. */
static bool
open_pair(struct conn *c, struct conn_buffers *bufs, int *other)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 ||
	    conn_buffers_init(bufs, 64, 0) == -1)
		return false;
	conn_open(c, sv[0], bufs, &no_stop);
	*other = sv[1];
	return true;
}

static void
test_peek_and_skip(void)
{
	struct conn_buffers bufs;
	struct conn c;
	char buf[16];
	int peer;

	if (!open_pair(&c, &bufs, &peer)) {
		CHECK(false, "peek: socketpair");
		return;
	}
	CHECK(write(peer, "HEADERdata", 10) == 10, "peek: peer writes");
	CHECK(conn_peek(&c, buf, 6, clock_ms() + 1000) == 6 &&
	          memcmp(buf, "HEADER", 6) == 0,
	    "peek: sees the first bytes");
	CHECK(conn_peek(&c, buf, sizeof(buf), clock_ms() + 1000) == 10,
	    "peek: took nothing, all is still there");
	CHECK(conn_skip(&c, buf, 6) == 0 && c.bytes_in == 0,
	    "skip: the header, outside bytes_in");
	CHECK(conn_recv(&c) == 4 && memcmp(c.chunk, "data", 4) == 0 &&
	          c.bytes_in == 4,
	    "recv: the data after it, whole, counted");
	close(peer);
	CHECK(conn_peek(&c, buf, sizeof(buf), clock_ms() + 1000) == 0,
	    "peek: 0 once the peer closed");
	conn_close(&c);
	conn_buffers_free(&bufs);
}

static void
test_peek_deadline(void)
{
	struct conn_buffers bufs;
	struct conn c;
	char buf[16];
	long long start;
	int peer;

	if (!open_pair(&c, &bufs, &peer)) {
		CHECK(false, "peek deadline: socketpair");
		return;
	}
	start = clock_ms();
	CHECK(conn_peek(&c, buf, sizeof(buf), start + 100) == -1 &&
	          c.end == END_TIMEOUT,
	    "peek: END_TIMEOUT at the deadline");
	CHECK(clock_ms() - start >= 100 && clock_ms() - start < 5000,
	    "peek: waited until the deadline, not for ever");
	close(peer);
	conn_close(&c);
	conn_buffers_free(&bufs);
}

void
test_peek(void)
{
	test_peek_and_skip();
	test_peek_deadline();
}
