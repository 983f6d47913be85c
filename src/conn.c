/*
 * Client I/O: the only file that calls recv() and send().  The socket is
 * blocking and every call is made straight away: a request costs one recv()
 * and one send(), nothing more.  Timeouts are the socket's own SO_RCVTIMEO
 * and SO_SNDTIMEO (set on the listening socket by the master and inherited
 * by every accepted one), so a silent client or one that never reads cannot
 * hold a worker for ever.
 *
 * "Stop now" reaches a blocked call from the worker's signal handler: it sets
 * the flag conn->stop points to and shuts the socket down, which wakes any
 * recv() or send() at once and makes every later one fail -- no wake-up can
 * be lost between a check and a call.  Other signals only interrupt a call
 * (EINTR); it is made again.  EINTR, short writes and SIGPIPE are handled
 * here once.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"

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
	[END_REFUSED] = "refused",
	[END_PER_SOURCE] = "per_source",
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

/* Why a recv() or send() that returned -1 failed, for conn->end. */
static enum conn_end
failure(const struct conn *conn, int err)
{
	if (*conn->stop)
		return END_SHUTDOWN;
	if (err == EAGAIN || err == EWOULDBLOCK)
		return END_TIMEOUT; /* SO_RCVTIMEO or SO_SNDTIMEO ran out */
	return END_RESET;
}

/* Bytes moved: tell the worker, if it asked (see on_moved in conn.h). */
static void
moved(const struct conn *conn)
{
	if (conn->on_moved != NULL)
		conn->on_moved(conn);
}

/* Receive what is there, up to len bytes; as conn_recv. */
static ssize_t
recv_some(struct conn *conn, char *buf, size_t len)
{
	for (;;) {
		ssize_t n = recv(conn->fd, buf, len, 0);

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
			return n;
		}
		if (errno != EINTR) {
			conn->end = failure(conn, errno);
			return -1;
		}
	}
}

void
conn_linger(struct conn *conn)
{
	unsigned long long limit = conn->bytes_in + LINGER_BYTES;
	long long deadline = clock_ms() + LINGER_MS;

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

int
conn_send_iov(struct conn *conn, struct iovec *iov, int iovcnt)
{
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };

	consume_iov(&msg.msg_iov, &msg.msg_iovlen, 0); /* skip empty ones */
	while (msg.msg_iovlen > 0) {
		ssize_t n = sendmsg(conn->fd, &msg, MSG_NOSIGNAL);

		if (n == -1) {
			if (errno == EINTR && !*conn->stop)
				continue;
			conn->end = failure(conn, errno);
			return -1;
		}
		conn->bytes_out += (unsigned long long)n;
		moved(conn);
		consume_iov(&msg.msg_iov, &msg.msg_iovlen, (size_t)n);
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
