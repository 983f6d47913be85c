/*
 * Client I/O: the only file that calls recv() and send().  Every wait is a
 * poll() on the client and on the worker's signalfd, with the idle timeout,
 * so a worker never sleeps through "stop now" -- even while its client keeps
 * the socket ready -- and a silent client cannot hold it for ever.  EINTR,
 * short writes and SIGPIPE are handled here once.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"

int
conn_open(struct conn *conn, int fd, size_t buffer_size, size_t max_line,
    int idle_timeout)
{
	memset(conn, 0, sizeof(*conn));
	conn->fd = fd;
	conn->timeout_ms = idle_timeout > 0 ? idle_timeout * 1000 : -1;
	conn->end = END_CLOSED;
	conn->signal_fd = -1;
	conn->chunk_size = buffer_size;
	conn->line_cap = max_line + 1; /* room for the newline */
	conn->chunk = malloc(conn->chunk_size);
	conn->line = malloc(conn->line_cap);
	if (conn->chunk == NULL || conn->line == NULL) {
		free(conn->chunk);
		free(conn->line);
		conn->chunk = conn->line = NULL;
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void
conn_close(struct conn *conn)
{
	if (conn->fd != -1)
		close(conn->fd);
	conn->fd = -1;
	free(conn->chunk);
	free(conn->line);
	conn->chunk = conn->line = NULL;
}

void
conn_reset(struct conn *conn)
{
	struct linger hard = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(conn->fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
}

/* conn_linger reads for at most this long and this much. */
#define LINGER_MS 2000
#define LINGER_BYTES (1024 * 1024)
/* Full reads in a row before conn_recv waits again regardless. */
#define READS_WITHOUT_WAIT 32

/* Let the worker see its signals; -1 with conn->end set if told to stop. */
static int
check_signals(struct conn *conn, const struct pollfd *sig)
{
	if (sig->revents == 0)
		return 0;
	conn->on_signal();
	if (*conn->stop) {
		conn->end = END_SHUTDOWN;
		return -1;
	}
	return 0;
}

/* Wait until the socket is ready for events; -1 with conn->end set. */
static int
wait_ready(struct conn *conn, short events)
{
	long long deadline = clock_ms() + conn->timeout_ms;
	struct pollfd pfd[2] = {
		{ .fd = conn->fd, .events = events },
		{ .fd = conn->signal_fd, .events = POLLIN },
	};

	for (;;) {
		int timeout = -1, n;

		if (conn->timeout_ms >= 0) {
			long long left = deadline - clock_ms();
			timeout = left > 0 ? (int)left : 0;
		}
		n = poll(pfd, 2, timeout);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			conn->end = END_ERROR;
			return -1;
		}
		if (check_signals(conn, &pfd[1]) == -1)
			return -1;
		if (pfd[0].revents != 0)
			return 0; /* ready, or an error recv will see */
		if (n == 0) {
			conn->end = END_TIMEOUT;
			return -1;
		}
	}
}

static int
is_transient(int err)
{
	return err == EINTR || err == EAGAIN || err == EWOULDBLOCK;
}

/* Receive what is there, up to len bytes; as conn_recv. */
static ssize_t
recv_some(struct conn *conn, char *buf, size_t len)
{
	/*
	 * A read that filled the buffer says more is probably waiting: read
	 * again straight away, but wait (and so let signals in) at least
	 * every READS_WITHOUT_WAIT reads, so a fast stop is never held up by
	 * a client that keeps streaming.
	 */
	bool skip_wait =
	    conn->full_reads > 0 && conn->full_reads < READS_WITHOUT_WAIT;

	for (;;) {
		ssize_t n;

		if (!skip_wait && wait_ready(conn, POLLIN) == -1)
			return -1;
		n = recv(conn->fd, buf, len, MSG_DONTWAIT);
		if (n >= 0) {
			conn->bytes_in += (unsigned long long)n;
			conn->full_reads =
			    (size_t)n == len
			        ? (skip_wait ? conn->full_reads + 1 : 1)
			        : 0;
			return n;
		}
		if (!is_transient(errno)) {
			conn->end = END_RESET;
			return -1;
		}
		skip_wait = false;
	}
}

void
conn_linger(struct conn *conn)
{
	unsigned long long limit = conn->bytes_in + LINGER_BYTES;
	long long deadline = clock_ms() + LINGER_MS;
	int saved_timeout = conn->timeout_ms;

	if (shutdown(conn->fd, SHUT_WR) == -1)
		return;
	while (conn->bytes_in < limit) {
		/* Never 0 or less: to wait_ready a negative time is "for ever".
		 */
		long long left = deadline - clock_ms();
		if (left <= 0)
			break;
		conn->timeout_ms = (int)left;
		if (conn_recv(conn) <= 0)
			break;
	}
	conn->timeout_ms = saved_timeout;
}

ssize_t
conn_recv(struct conn *conn)
{
	return recv_some(conn, conn->chunk, conn->chunk_size);
}

int
conn_send_all(struct conn *conn, const void *data, size_t len)
{
	const char *p = data;

	/*
	 * Try first, wait only when the socket buffer is full: there is
	 * usually room, and the wait in conn_recv before every request has
	 * already let pending signals in.
	 */
	while (len > 0) {
		ssize_t n = send(conn->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n == -1) {
			if (!is_transient(errno)) {
				conn->end = END_RESET;
				return -1;
			}
			if (wait_ready(conn, POLLOUT) == -1)
				return -1;
			continue;
		}
		p += n;
		len -= (size_t)n;
		conn->bytes_out += (unsigned long long)n;
	}
	return 0;
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
