/*
 * Client I/O: the only file that calls recv() and send().  The socket is
 * blocking and every call is made straight away: a request costs one recv()
 * and one send(), nothing more.  Timeouts are the socket's own SO_RCVTIMEO
 * and SO_SNDTIMEO (idle_timeout and send_timeout, set on the listening
 * socket by the master and inherited by every accepted one), so a silent
 * client or one that never reads cannot hold a worker for ever.
 *
 * Why this file is long: every recv() and send() of a connection lives
 * here by design (one place for EINTR, short writes, deadlines, lines and
 * the lingering close), so no other room needs to touch a socket.
 *
 * The limits that run on the clock -- max_session, and min_rate judged
 * once per window -- are enforced in the same blocking calls: before each
 * one the nearest deadline is found, and only when it comes before the
 * socket's timeout would is the timeout shortened to it (see limit.c; at
 * most once a second per direction).  A call that times out is then judged
 * by the clock: which deadline passed says how the connection ends.  With
 * the deadlines far away a call costs a clock read, no system call more.
 *
 * "Stop now" reaches a blocked call from the worker's signal handler: it sets
 * the flag conn->stop points to and shuts the socket down, which wakes any
 * recv() or send() at once and makes every later one fail -- no wake-up can
 * be lost between a check and a call.  Other signals only interrupt a call
 * (EINTR); it is made again.  EINTR, short writes and SIGPIPE are handled
 * here once.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"
#include "limit.h"

/* conn_linger reads for at most this long and this much. */
#define LINGER_MS 2000
#define LINGER_BYTES (1024 * 1024)

static const char *const end_names[] = {
	[END_CLOSED] = "closed",
	[END_RESET] = "reset",
	[END_TIMEOUT] = "timeout",
	[END_OVERLONG] = "overlong",
	[END_SHUTDOWN] = "shutdown",
	[END_ERROR] = "error",
	[END_SEND_TIMEOUT] = "send_timeout",
	[END_TOO_SLOW] = "too_slow",
	[END_SESSION_LIMIT] = "session_limit",
};

/*
 * One anonymous mapping, not malloc(): its pages cost nothing until a client
 * fills them, and the worker writes nothing to the heap it shares with the
 * master, so an idle pool stays small.
 */
int
conn_buffers_init(
    struct conn_buffers *bufs, size_t buffer_size, size_t max_line)
{
	size_t line_cap = max_line > 0 ? max_line + 1 : 0; /* + newline */
	char *mem = mmap(NULL, buffer_size + line_cap, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	memset(bufs, 0, sizeof(*bufs));
	if (mem == MAP_FAILED)
		return -1;
	bufs->chunk = mem;
	bufs->chunk_size = buffer_size;
	bufs->line = line_cap > 0 ? mem + buffer_size : NULL;
	bufs->line_cap = line_cap;
	return 0;
}

void
conn_buffers_free(struct conn_buffers *bufs)
{
	if (bufs->chunk != NULL)
		munmap(bufs->chunk, bufs->chunk_size + bufs->line_cap);
	memset(bufs, 0, sizeof(*bufs));
}

void
conn_open(struct conn *conn, int fd, const struct conn_buffers *bufs,
    const volatile sig_atomic_t *stop)
{
	memset(conn, 0, sizeof(*conn));
	conn->fd = fd;
	conn->stop = stop;
	conn->end = END_CLOSED;
	conn->chunk = bufs->chunk;
	conn->chunk_size = bufs->chunk_size;
	conn->line = bufs->line;
	conn->line_cap = bufs->line_cap;
	conn->session_end = LIMIT_NEVER;
	conn->window_end = LIMIT_NEVER;
}

void
conn_limit(struct conn *conn, const struct conn_limits *limits, long long now)
{
	conn->limits = limits;
	conn->rcv_timeout = limits->idle_ms;
	conn->snd_timeout = limits->send_ms;
	if (limits->session_ms > 0)
		conn->session_end = now + limits->session_ms;
	if (limits->min_rate > 0 && limits->window_ms > 0)
		conn->window_end = now + limits->window_ms;
	conn->window_start = conn->bytes_in + conn->bytes_out;
}

void
conn_close(struct conn *conn)
{
	if (conn->fd != -1)
		close(conn->fd);
	conn->fd = -1;
}

void
conn_reset(struct conn *conn)
{
	struct linger hard = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(conn->fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
}

const char *
conn_end_name(enum conn_end end)
{
	return end_names[end];
}

void
conn_finish(struct conn *conn, enum conn_end end)
{
	switch (end) {
	case END_SHUTDOWN:
	case END_SEND_TIMEOUT:
		conn_reset(conn);
		break;
	case END_CLOSED:
		/*
		 * The protocol answered and ends the connection before the
		 * client closed (status, daytime): what it sent past our
		 * recv() would turn the close into a reset, and a reset can
		 * destroy the answer before the client reads it.
		 */
		if (!conn->eof)
			conn_linger(conn);
		break;
	case END_TIMEOUT:
		/* Silent for idle_timeout: nothing of it is unread, so no
		 * reset threatens a reply, and waiting for its close would
		 * only hand the worker to a client that holds it. */
		if (conn->ended_sending)
			conn_reset(conn);
		else
			conn_drop_pending(conn);
		break;
	case END_TOO_SLOW:
	case END_SESSION_LIMIT:
		if (conn->ended_sending)
			conn_reset(conn);
		else
			conn_linger(conn);
		break;
	case END_OVERLONG:
		conn_linger(conn);
		break;
	default:
		break;
	}
}

/* Why a recv() or send() that returned -1 failed, for conn->end;
 * timed_out: what a socket timeout means in that direction. */
static enum conn_end
failure(const struct conn *conn, int err, enum conn_end timed_out)
{
	if (*conn->stop)
		return END_SHUTDOWN;
	if (err == EAGAIN || err == EWOULDBLOCK)
		return timed_out; /* SO_RCVTIMEO or SO_SNDTIMEO ran out */
	return END_RESET;
}

/* Bytes moved: tell the worker, if it asked (see on_moved in conn.h). */
static void
moved(const struct conn *conn)
{
	if (conn->on_moved != NULL)
		conn->on_moved(conn);
}

static bool
timed_out(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK;
}

/*
 * The deadlines of the whole connection: -1 with conn->end set when one
 * has passed at now.  A rate window that has passed is judged, and when
 * the client kept up, the next window begins.
 */
static int
check_clock(struct conn *conn, long long now)
{
	const struct conn_limits *l = conn->limits;
	unsigned long long both = conn->bytes_in + conn->bytes_out;

	if (now >= conn->session_end) {
		conn->end = END_SESSION_LIMIT;
		return -1;
	}
	if (now >= conn->window_end) {
		if (!limit_rate_ok(
		        both - conn->window_start, l->min_rate, l->window_ms)) {
			conn->end = END_TOO_SLOW;
			return -1;
		}
		conn->window_end = now + l->window_ms;
		conn->window_start = both;
	}
	return 0;
}

/*
 * Before a blocking call, at now, that has waited since since (ms) for the
 * client: -1 with conn->end set when a limit is reached, else 0 once the
 * socket's timeout in that direction (opt) makes the call return by the
 * nearest deadline.
 */
static int
arm(struct conn *conn, int opt, long long since, long long now)
{
	bool rcv = opt == SO_RCVTIMEO;
	long long base = rcv ? conn->limits->idle_ms : conn->limits->send_ms;
	long long *value = rcv ? &conn->rcv_timeout : &conn->snd_timeout;
	long long wait_end = base > 0 ? since + base : LIMIT_NEVER;
	long long deadline, t;
	struct timeval tv;

	if (check_clock(conn, now) == -1)
		return -1;
	if (now >= wait_end) {
		conn->end = rcv ? END_TIMEOUT : END_SEND_TIMEOUT;
		return -1;
	}
	deadline = limit_earlier(
	    wait_end, limit_earlier(conn->session_end, conn->window_end));
	if ((t = limit_timeout(now, deadline, *value)) == -1)
		return 0;
	tv.tv_sec = t / 1000;
	tv.tv_usec = (t % 1000) * 1000;
	if (setsockopt(conn->fd, SOL_SOCKET, opt, &tv, sizeof(tv)) == -1) {
		conn->end = END_ERROR;
		return -1;
	}
	*value = t;
	return 0;
}

/* Receive what is there, up to len bytes; as conn_recv. */
static ssize_t
recv_some(struct conn *conn, char *buf, size_t len)
{
	long long since = conn->limits != NULL ? clock_ms() : 0;
	long long now = since; /* one clock read per call, not two */

	for (;;) {
		ssize_t n;

		if (conn->limits != NULL &&
		    arm(conn, SO_RCVTIMEO, since, now) == -1)
			return -1;
		n = recv(conn->fd, buf, len, 0);

		/*
		 * Checked after every call, not only after a failure: a
		 * client that never pauses keeps recv() returning data
		 * even from a socket shut down for reading.
		 */
		if (*conn->stop) {
			conn->end = END_SHUTDOWN;
			return -1;
		}
		if (n >= 0) {
			conn->bytes_in += (unsigned long long)n;
			if (n > 0)
				moved(conn);
			else
				conn->eof = true;
			return n;
		}
		/* With limits, arm() tells which deadline a timeout was. */
		if (errno != EINTR && !(timed_out(errno) && conn->limits)) {
			conn->end = failure(conn, errno, END_TIMEOUT);
			return -1;
		}
		now = conn->limits != NULL ? clock_ms() : 0;
	}
}

void
conn_linger(struct conn *conn)
{
	unsigned long long limit = conn->bytes_in + LINGER_BYTES;
	long long deadline = clock_ms() + LINGER_MS;

	/* Once: the protocol may have lingered before conn_finish. */
	if (conn->lingered)
		return;
	conn->lingered = true;
	/* Past the limits now: this bounds itself. */
	conn->limits = NULL;
	if (shutdown(conn->fd, SHUT_WR) == -1)
		return;
	while (conn->bytes_in < limit) {
		long long left = deadline - clock_ms();
		struct timeval tv = { .tv_sec = left / 1000,
			.tv_usec = (left % 1000) * 1000 };

		/* Never 0: to SO_RCVTIMEO that means "for ever". */
		if (left <= 0 ||
		    setsockopt(conn->fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
		        sizeof(tv)) == -1 ||
		    conn_recv(conn) <= 0)
			break;
	}
}

void
conn_drop_pending(struct conn *conn)
{
	unsigned long long limit = conn->bytes_in + LINGER_BYTES;

	if (shutdown(conn->fd, SHUT_WR) == -1)
		return;
	while (conn->bytes_in < limit) {
		ssize_t n =
		    recv(conn->fd, conn->chunk, conn->chunk_size, MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* nothing more yet (EAGAIN), or the end */
		conn->bytes_in += (unsigned long long)n;
	}
}

ssize_t
conn_recv(struct conn *conn)
{
	return recv_some(conn, conn->chunk, conn->chunk_size);
}

/*
 * Peek without blocking, and wait in poll() for what has not come: the
 * deadline is the caller's, apart from the socket's idle timeout, which
 * stays as it is.  The caller takes what it peeked before it peeks again,
 * so poll() only ever waits for new bytes.
 */
ssize_t
conn_peek(struct conn *conn, void *buf, size_t len, long long deadline)
{
	for (;;) {
		ssize_t n = recv(conn->fd, buf, len, MSG_PEEK | MSG_DONTWAIT);
		long long left;

		if (*conn->stop) {
			conn->end = END_SHUTDOWN;
			return -1;
		}
		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			if (errno == EINTR)
				continue;
			conn->end = failure(conn, errno, END_TIMEOUT);
			return -1;
		}
		if ((left = deadline - clock_ms()) <= 0) {
			conn->end = END_TIMEOUT;
			return -1;
		}
		if (poll(&(struct pollfd){ .fd = conn->fd, .events = POLLIN },
		        1, left > INT32_MAX ? INT32_MAX : (int)left) == -1 &&
		    errno != EINTR) {
			conn->end = END_ERROR;
			return -1;
		}
	}
}

int
conn_skip(struct conn *conn, void *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = recv(conn->fd, buf, len, 0);

		if (*conn->stop) {
			conn->end = END_SHUTDOWN;
			return -1;
		}
		if (n == 0) {
			conn->end = END_RESET; /* it was there a moment ago */
			return -1;
		}
		if (n > 0) {
			buf = (char *)buf + n;
			len -= (size_t)n;
		} else if (errno != EINTR) {
			conn->end = failure(conn, errno, END_TIMEOUT);
			return -1;
		}
	}
	return 0;
}

/* Drop the first n bytes from the iovec array *iov of *iovcnt entries. */
static void
consume_iov(struct iovec **iov, size_t *iovcnt, size_t n)
{
	while (*iovcnt > 0 && n >= (*iov)->iov_len) {
		n -= (*iov)->iov_len;
		(*iov)++;
		(*iovcnt)--;
	}
	if (*iovcnt > 0) {
		(*iov)->iov_base = (char *)(*iov)->iov_base + n;
		(*iov)->iov_len -= n;
	}
}

/*
 * After a send that waited until its timeout: has the client taken any of
 * our bytes since the last look?  What our send buffer accepted says
 * nothing (the kernel grows the buffer for a client that reads nothing),
 * what the client acknowledged does: all we sent less what is still
 * queued (SIOCOUTQ).  One ioctl, on this slow path only.
 */
static bool
client_took_some(struct conn *conn)
{
	int queued;
	unsigned long long acked;

	if (ioctl(conn->fd, SIOCOUTQ, &queued) == -1 || queued < 0)
		return true; /* cannot tell: the kernel's own timeout rules */
	acked = conn->bytes_out - (unsigned long long)queued;
	if (acked == conn->acked)
		return false;
	conn->acked = acked;
	return true;
}

/* The bytes left to send in msg. */
static size_t
iov_bytes(const struct msghdr *msg)
{
	size_t n = 0;

	for (size_t i = 0; i < msg->msg_iovlen; i++)
		n += msg->msg_iov[i].iov_len;
	return n;
}

int
conn_send_iov(struct conn *conn, struct iovec *iov, int iovcnt)
{
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };
	long long since = -1; /* since the client last took a byte */
	bool stalled = false; /* the client's window filled up */

	consume_iov(&msg.msg_iov, &msg.msg_iovlen, 0); /* skip empty ones */
	while (msg.msg_iovlen > 0) {
		ssize_t n;

		if (conn->limits != NULL) {
			long long now = clock_ms();

			if (since == -1)
				since = now;
			if (arm(conn, SO_SNDTIMEO, since, now) == -1) {
				conn->ended_sending = stalled;
				return -1;
			}
		}
		n = sendmsg(conn->fd, &msg, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR && !*conn->stop)
			continue;
		stalled =
		    n == -1 ? timed_out(errno) : n < (ssize_t)iov_bytes(&msg);
		if (n == -1 && (*conn->stop || !stalled || !conn->limits)) {
			conn->end = failure(conn, errno, END_SEND_TIMEOUT);
			conn->ended_sending = true;
			return -1;
		}
		if (n > 0) {
			conn->bytes_out += (unsigned long long)n;
			moved(conn);
			consume_iov(&msg.msg_iov, &msg.msg_iovlen, (size_t)n);
		}
		if (!stalled)
			since = -1;
		else if (conn->limits != NULL && client_took_some(conn))
			since = clock_ms();
	}
	return 0;
}

int
conn_send_all(struct conn *conn, const void *data, size_t len)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)data,
		.iov_len = len };

	return conn_send_iov(conn, &iov, 1);
}

int
conn_send_now(struct conn *conn, const void *data, size_t len)
{
	ssize_t n;

	do
		n = send(conn->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n > 0) {
		conn->bytes_out += (unsigned long long)n;
		moved(conn);
	}
	if (n == (ssize_t)len)
		return 0;
	conn->end =
	    n == -1 ? failure(conn, errno, END_SEND_TIMEOUT) : END_SEND_TIMEOUT;
	return -1;
}

enum line_scan
conn_line_find(const char *buf, size_t len, size_t max_line, size_t *linelen)
{
	size_t limit = len < max_line + 1 ? len : max_line + 1;
	const char *nl = memchr(buf, '\n', limit);

	if (nl != NULL) {
		*linelen = (size_t)(nl - buf) + 1;
		return LINE_FOUND;
	}
	return len > max_line ? LINE_TOO_LONG : LINE_MORE;
}

/* Move unread bytes to the front, then append what the client sent next,
 * at most buffer_size bytes at a time; as conn_recv. */
static ssize_t
fill_line_buffer(struct conn *conn)
{
	size_t room;

	if (conn->line_start > 0) {
		memmove(conn->line, conn->line + conn->line_start,
		    conn->line_end - conn->line_start);
		conn->line_end -= conn->line_start;
		conn->line_start = 0;
	}
	room = conn->line_cap - conn->line_end;
	if (room > conn->chunk_size)
		room = conn->chunk_size;
	ssize_t n = recv_some(conn, conn->line + conn->line_end, room);
	if (n > 0)
		conn->line_end += (size_t)n;
	return n;
}

enum line_read
conn_read_line(struct conn *conn, const char **line, size_t *len)
{
	for (;;) {
		const char *start = conn->line + conn->line_start;
		size_t avail = conn->line_end - conn->line_start;
		ssize_t n;

		switch (conn_line_find(start, avail, conn->line_cap - 1, len)) {
		case LINE_FOUND:
			*line = start;
			conn->line_start += *len;
			return LINE_OK;
		case LINE_TOO_LONG:
			return LINE_OVERLONG;
		case LINE_MORE:
			break;
		}
		if ((n = fill_line_buffer(conn)) == -1)
			return LINE_FAILED;
		if (n == 0) {
			if (conn->line_end == 0)
				return LINE_EOF;
			/* The last line, without its newline. */
			*line = conn->line;
			*len = conn->line_end;
			conn->line_start = conn->line_end;
			return LINE_OK;
		}
	}
}
