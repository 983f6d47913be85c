/* conn_line_find (line framing), and conn_read_line over a socketpair. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"
#include "unit.h"

static bool
finds(const char *buf, size_t max, enum line_scan want, size_t want_len)
{
	size_t len = 0;
	enum line_scan got = conn_line_find(buf, strlen(buf), max, &len);

	return got == want && (want != LINE_FOUND || len == want_len);
}

static void
test_line_find(void)
{
	CHECK(finds("abc\ndef", 10, LINE_FOUND, 4), "line with its newline");
	CHECK(finds("\n", 10, LINE_FOUND, 1), "empty line");
	CHECK(finds("abc", 10, LINE_MORE, 0), "no newline yet");
	CHECK(finds("", 10, LINE_MORE, 0), "nothing yet");
	CHECK(finds("0123456789\n", 10, LINE_FOUND, 11),
	    "exactly max_line bytes before the newline");
	CHECK(finds("01234567890\n", 10, LINE_TOO_LONG, 0),
	    "one byte over max_line");
	CHECK(finds("0123456789", 10, LINE_MORE, 0),
	    "max_line bytes, no newline: could still end");
	CHECK(finds("01234567890", 10, LINE_TOO_LONG, 0),
	    "over max_line with no newline");
	CHECK(finds("a\r\nb", 10, LINE_FOUND, 3), "CRLF stays in the line");
}

/* Feed input through a socketpair, closed after it; collect the lines. */
static bool
reads_lines(
    const char *input, size_t max_line, size_t bufsize, const char *want)
{
	char got[256] = "";
	static const volatile sig_atomic_t no_stop;
	struct conn_buffers bufs;
	struct conn c;
	int sv[2];
	enum line_read r;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return false;
	if (write(sv[1], input, strlen(input)) != (ssize_t)strlen(input))
		return false;
	close(sv[1]);
	if (conn_buffers_init(&bufs, bufsize, max_line) == -1)
		return false;
	conn_open(&c, sv[0], &bufs, &no_stop);
	for (;;) {
		const char *line;
		size_t len;

		r = conn_read_line(&c, &line, &len);
		if (r != LINE_OK)
			break;
		strcat(got, "[");
		strncat(got, line, len);
		strcat(got, "]");
	}
	strcat(got, r == LINE_EOF        ? "EOF"
	            : r == LINE_OVERLONG ? "LONG"
	                                 : "FAIL");
	conn_close(&c);
	conn_buffers_free(&bufs);
	return strcmp(got, want) == 0;
}

static void
test_read_line(void)
{
	CHECK(reads_lines("a\nbc\n", 8, 4096, "[a\n][bc\n]EOF"),
	    "two lines then EOF");
	CHECK(reads_lines("a\nlast", 8, 4096, "[a\n][last]EOF"),
	    "a last line without newline is still a line");
	CHECK(reads_lines(
	          "one\ntwo\nthree\n", 8, 1, "[one\n][two\n][three\n]EOF"),
	    "lines framed across one-byte reads");
	CHECK(reads_lines("ok\n0123456789\n", 8, 4096, "[ok\n]LONG"),
	    "an overlong line ends the reading");
	CHECK(reads_lines("01234567\n", 8, 3, "[01234567\n]EOF"),
	    "a line filling the buffer exactly");
	CHECK(reads_lines("", 8, 4096, "EOF"), "nothing at all");
}

/*
 * A client that sends nothing, on a socketpair whose receive timeout is
 * lim->idle_ms (as if inherited from the listener): how the limits end
 * conn_recv, and after how many ms.
 */
static enum conn_end
silent_client_ends(const struct conn_limits *lim, long long *took)
{
	static const volatile sig_atomic_t no_stop;
	struct timeval idle = { .tv_sec = lim->idle_ms / 1000,
		.tv_usec = lim->idle_ms % 1000 * 1000 };
	struct conn_buffers bufs;
	struct conn c;
	long long start;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 ||
	    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle)) ==
	        -1 ||
	    conn_buffers_init(&bufs, 64, 0) == -1)
		return END_ERROR;
	conn_open(&c, sv[0], &bufs, &no_stop);
	start = clock_ms();
	conn_limit(&c, lim, start);
	if (conn_recv(&c) != -1)
		c.end = END_CLOSED;
	*took = clock_ms() - start;
	conn_close(&c);
	close(sv[1]);
	conn_buffers_free(&bufs);
	return c.end;
}

static void
test_limits(void)
{
	struct conn_limits session = { .idle_ms = 5000, .session_ms = 150 };
	struct conn_limits rate = {
		.idle_ms = 5000, .min_rate = 10, .window_ms = 150
	};
	struct conn_limits idle = { .idle_ms = 200, .session_ms = 60000 };
	long long took;

	CHECK(silent_client_ends(&session, &took) == END_SESSION_LIMIT &&
	          took >= 150 && took < 2000,
	    "max_session ends a recv() blocked on a silent client");
	CHECK(silent_client_ends(&rate, &took) == END_TOO_SLOW && took >= 150 &&
	          took < 2000,
	    "min_rate ends a recv() blocked on a silent client");
	CHECK(silent_client_ends(&idle, &took) == END_TIMEOUT && took >= 200 &&
	          took < 2000,
	    "idle_timeout, the socket's own, still ends it first");
}

void
test_conn(void)
{
	test_line_find();
	test_read_line();
	test_limits();
}
