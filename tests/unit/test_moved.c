/* conn's on_moved callback, which keeps the scoreboard's byte counts
 * live, and conn_drop_pending, which lets a refusal's line survive. */
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "unit.h"

/* What on_moved saw: the calls, and the counts at the last one. */
static struct {
	int calls;
	unsigned long long in, out;
} seen;

static void
note(const struct conn *c)
{
	seen.calls++;
	seen.in = c->bytes_in;
	seen.out = c->bytes_out;
}

static const volatile sig_atomic_t no_stop;

static void
callbacks(int fd, int peer, const struct conn_buffers *bufs)
{
	char buf[16];
	struct conn c;

	conn_open(&c, fd, bufs, &no_stop);
	c.on_moved = note;
	memset(&seen, 0, sizeof(seen));
	CHECK(write(peer, "12345", 5) == 5 && conn_recv(&c) == 5 &&
	          seen.calls == 1 && seen.in == 5 && seen.out == 0,
	    "on_moved: after a recv, with the bytes received so far");
	CHECK(conn_send_all(&c, "abc", 3) == 0 && seen.calls == 2 &&
	          seen.in == 5 && seen.out == 3,
	    "on_moved: after a send, with the bytes sent so far");
	CHECK(read(peer, buf, sizeof(buf)) == 3, "the peer got them");
	shutdown(peer, SHUT_WR);
	CHECK(conn_recv(&c) == 0 && seen.calls == 2,
	    "on_moved: not called at the end of input");
}

static void
drop_pending(int fd, int peer, const struct conn_buffers *bufs)
{
	char buf[64];
	struct conn c;

	conn_open(&c, fd, bufs, &no_stop);
	CHECK(write(peer, "request\n", 8) == 8, "the peer sent a request");
	CHECK(conn_send_all(&c, "no\n", 3) == 0, "and gets a refusal");
	conn_drop_pending(&c);
	CHECK(c.bytes_in == 8, "conn_drop_pending: read what was there");
	CHECK(read(peer, buf, sizeof(buf)) == 3 && read(peer, buf, 1) == 0,
	    "conn_drop_pending: the peer gets the line, then the end");
}

void
test_moved(void)
{
	struct conn_buffers bufs;
	int a[2], b[2];

	if (conn_buffers_init(&bufs, 64, 0) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, a) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, b) == -1) {
		CHECK(false, "on_moved: set up");
		return;
	}
	callbacks(a[0], a[1], &bufs);
	drop_pending(b[0], b[1], &bufs);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	conn_buffers_free(&bufs);
}
