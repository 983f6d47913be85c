/*
 * libFuzzer target for the line framer (framing = "line"): conn_read_line
 * over a real socket, one end of a socketpair, as a worker reads a client.
 * The first two bytes choose max_line (1..256) and buffer_size (1..256),
 * which decide where reads cut the stream; the rest is what the client
 * sends before it closes.  The lines that come out must be the input, in
 * order, cut after each newline, none longer than max_line + 1 bytes; an
 * overlong line is reported exactly where no newline comes within
 * max_line + 1 bytes; the end comes only after the last byte.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Larger inputs could fill the socket buffer before anything reads it. */
#define MAX_INPUT 16384

static volatile sig_atomic_t never;

/* Write all of data to fd, then close our side; exits on failure. */
static void
send_and_close(int fd, const uint8_t *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n <= 0) {
			perror("write");
			exit(2);
		}
		data += n;
		len -= (size_t)n;
	}
	close(fd);
}

/* Whether an overlong report at data[off..len) is right. */
static int
is_overlong(const uint8_t *data, size_t len, size_t off, size_t max_line)
{
	size_t look = len - off < max_line + 1 ? len - off : max_line + 1;

	return len - off > max_line && memchr(data + off, '\n', look) == NULL;
}

/* Read every line of conn and check it against the data sent. */
static void
check_lines(struct conn *conn, const uint8_t *data, size_t len, size_t max_line)
{
	size_t off = 0;

	for (;;) {
		const char *line;
		size_t n;

		switch (conn_read_line(conn, &line, &n)) {
		case LINE_EOF:
			if (off != len)
				abort(); /* bytes lost at the end */
			return;
		case LINE_OVERLONG:
			if (!is_overlong(data, len, off, max_line))
				abort();
			return;
		case LINE_FAILED:
			abort();
		case LINE_OK:
			break;
		}
		if (n == 0 || n > max_line + 1 || n > len - off ||
		    memcmp(line, data + off, n) != 0)
			abort(); /* not the next bytes sent */
		if (memchr(line, '\n', n - 1) != NULL)
			abort(); /* two lines in one */
		off += n;
		if (line[n - 1] != '\n' && off != len)
			abort(); /* no newline, yet not the last line */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conn_buffers bufs;
	struct conn conn;
	size_t max_line, buffer_size;
	int sv[2];

	if (size < 2 || size - 2 > MAX_INPUT)
		return 0;
	max_line = (size_t)data[0] + 1;
	buffer_size = (size_t)data[1] + 1;
	data += 2;
	size -= 2;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    conn_buffers_init(&bufs, buffer_size, max_line) == -1) {
		perror("socketpair");
		exit(2);
	}
	send_and_close(sv[1], data, size);
	conn_open(&conn, sv[0], &bufs, &never);
	check_lines(&conn, data, size, max_line);
	conn_close(&conn);
	conn_buffers_free(&bufs);
	return 0;
}
