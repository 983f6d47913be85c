/*
 * loadgen: the load generator of the benchmark (tests/bench/run).  C client
 * processes drive HOST:PORT for D seconds; the parent adds up what they did
 * and prints one line of figures, so the script can take medians:
 *
 *   loadgen -m conn -c C -d D HOST PORT
 *       connect, send a 32-byte line, read the answer up to its newline,
 *       close.  Prints connections per second.
 *   loadgen -m req -c C -d D HOST PORT
 *       one connection per client kept open: a 64-byte line, its answer up
 *       to the newline, the next line.  Prints requests per second and the
 *       p50 and p99 of the request latency in microseconds.
 *   loadgen -m stream -c C -d D HOST PORT
 *       64 KiB writes through an echo service while reading what comes back;
 *       at the end every byte must have come back, in order (checksummed).
 *       Prints MB/s echoed.
 *   loadgen -m first -x daytime|time|text:STRING -c C -d D HOST PORT
 *       a service that speaks first: connect, read its answer (until the
 *       server closes, or the STRING's length for text:), close.  daytime
 *       must be one printable line naming this year, time 4 bytes within a
 *       minute of the clock, text: STRING itself.  Prints connections per
 *       second.
 *   loadgen -m sink -c C -d D HOST PORT
 *       a byte sink (discard): connect, send a 32-byte line, shut the
 *       sending side, read until the server closes; any byte back is a
 *       wrong answer.  Prints connections per second.
 *   loadgen -m chargen -c C -d D HOST PORT
 *       read a chargen stream per client for D seconds, each byte checked
 *       against RFC 864's ring of 95 characters (or xinetd's of 93, which
 *       lacks ' ' and '~', and starts over every 95 lines).  Prints MB/s
 *       read.
 *   loadgen -m status -c C -d D HOST PORT
 *       GET /metrics per connection, answer read until the server closes:
 *       an HTTP 200 naming preforkd_workers.  Prints requests per second.
 *   loadgen -m udp -x echo|daytime|time [-w W] [-n N] -c C -d D HOST PORT
 *       C clients, each from its own socket and source address, keep at
 *       most W datagrams (default 4) unanswered; one not answered within
 *       UDP_WAIT_MS is lost.  At most N datagrams in all (default: as many
 *       as D seconds take).  echo's answer must be a datagram sent, the
 *       others as for first.  Prints datagrams sent and answers received
 *       per second.
 *   loadgen -m respawn -k PID HOST PORT
 *       SIGKILL the worker PID, then connect and time until the answer to a
 *       line arrives.  Prints milliseconds.
 *   loadgen -m burst -c C [-d D] HOST PORT
 *       C clients connect at once, from one process, each sends a 32-byte
 *       line and keeps its connection open once answered, as a session
 *       would: a server needs C workers at once.  Prints the milliseconds
 *       from the first connect() to the last answer, which must come
 *       within D seconds (default IO_TIMEOUT).
 *
 * An answer must end with the line sent: echo, prefix and timestamp all
 * answer so.  On 127.0.0.1 the client sockets are bound to source addresses
 * 127.0.0.1 to 127.0.0.64 in turn: from one address, TIME_WAIT caps the
 * connection rate at the same figure for every server.
 *
 * With -v, conn, first, sink and status print after their rate the totals:
 * connections made, failed (refused, reset, timed out) and wrong.
 *
 * Exit status: 0; 1 when nothing could be measured; 2 usage; 3 when an
 * answer was wrong (the figures are printed all the same).  Every wait is
 * bounded: a run ends at most IO_TIMEOUT seconds after its time is up.
 *
 * Over 600 lines: one program, a mode per workload of the benchmark, each
 * with the check of its answers; they share the clients, the tally and the
 * report, and the bench builds it as one file.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define IO_TIMEOUT 5 /* seconds one connect, send or recv may take */
#define SOURCES 64   /* source addresses 127.0.0.1 to .64 */
#define CONN_LINE 32
#define REQ_LINE 64
#define CHUNK 65536 /* one stream write */
/* The stream's pattern repeats every PERIOD bytes: a prime, so that no
 * write lines up with it and a lost or doubled piece shows. */
#define PERIOD 65521
#define MAX_CLIENTS 256
#define UDP_WAIT_MS 50   /* an unanswered datagram is lost after this */
#define ANSWER_MAX 65536 /* of a status or server-first answer */
/* RFC 864's lines: 72 characters of a ring, then CR LF; line N + 1 starts
 * one character further on. */
#define LINE_CHARS 72
#define LINE_SIZE (LINE_CHARS + 2)
#define NTP_EPOCH 2208988800u /* 1900 to 1970, in seconds (RFC 868) */

/* What one client did; sent to the parent with its latencies after it. */
struct tally {
	double done;     /* connections, requests or bytes */
	uint64_t failed; /* connects or answers that did not come */
	uint64_t wrong;  /* answers that came back different */
	uint64_t nlat;   /* latencies (ns) that follow on the pipe */
	uint64_t sent;   /* datagrams sent (udp) */
};

/* What an answer must be (-x). */
enum expect {
	EXPECT_NONE,
	EXPECT_ECHO,
	EXPECT_DAYTIME,
	EXPECT_TIME,
	EXPECT_TEXT
};

/* A chargen stream, as one of its rings makes it. */
struct ring {
	size_t period;       /* bytes before the stream repeats */
	unsigned char *text; /* the stream, period + CHUNK bytes */
};

/* A running FNV-1a over 64-bit words of a byte stream cut anywhere. */
struct sum {
	uint64_t h, n;
	unsigned char part[8];
	size_t npart;
};

static struct sockaddr_storage target;
static socklen_t target_len;
static uint64_t *lat; /* this client's latencies, in ns */
static size_t nlat, lat_cap;
static unsigned char pattern[PERIOD + CHUNK];
static enum expect expect;
static const char *expect_text;
static size_t expect_len;
static unsigned window = 4;
static uint64_t max_datagrams; /* per client; 0: no bound */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Room for n more latencies; -1 when there is none. */
static int
lat_reserve(size_t n)
{
	size_t cap = lat_cap ? lat_cap : 4096;
	uint64_t *p;

	while (cap < nlat + n)
		cap *= 2;
	if (cap == lat_cap)
		return 0;
	if ((p = realloc(lat, cap * sizeof(*p))) == NULL)
		return -1;
	lat = p;
	lat_cap = cap;
	return 0;
}

static void
lat_add(double seconds)
{
	/* Out of memory costs a figure, not the run. */
	if (lat_reserve(1) == 0)
		lat[nlat++] = (uint64_t)(seconds * 1e9);
}

/*
 * Bind to 127.0.0.(1 + k % 64) when the target is on loopback, leaving the
 * port to connect() (IP_BIND_ADDRESS_NO_PORT), so that each source address
 * has its own range of ports.
 */
static void
bind_source(int fd, unsigned k)
{
	const struct sockaddr_in *dst = (const struct sockaddr_in *)&target;
	struct sockaddr_in src = { .sin_family = AF_INET };
	int on = 1;

	if (target.ss_family != AF_INET ||
	    (ntohl(dst->sin_addr.s_addr) >> 24) != 127)
		return;
	src.sin_addr.s_addr = htonl(0x7f000001 + k % SOURCES);
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof(on));
	bind(fd, (struct sockaddr *)&src, sizeof(src));
}

/* A connected socket whose every wait ends after IO_TIMEOUT, or -1. */
static int
dial(unsigned k)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT };
	int fd = socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return -1;
	/* SO_SNDTIMEO bounds connect() too. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	bind_source(fd, k);
	if (connect(fd, (struct sockaddr *)&target, target_len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* After a refused connect: a millisecond, rather than a busy loop. */
static void
backoff(struct tally *t)
{
	struct timespec ms = { .tv_nsec = 1000000 };

	t->failed++;
	nanosleep(&ms, NULL);
}

/* A line of len bytes, ending in a newline, that names request n. */
static void
make_line(char *line, size_t len, unsigned long n)
{
	int w = snprintf(line, len, "%lu ", n);

	memset(line + w, 'x', len - 1 - (size_t)w);
	line[len - 1] = '\n';
}

/*
 * Send a line and read its answer up to the first newline.  Returns 0 when
 * the answer ends with the line, 1 when it came but differs, -1 when it did
 * not come (error, close or timeout).
 */
static int
ask(int fd, const char *line, size_t len)
{
	char buf[4096];
	size_t got = 0;

	if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len)
		return -1;
	while (got < sizeof(buf)) {
		ssize_t n = recv(fd, buf + got, sizeof(buf) - got, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
		if (memchr(buf + got - (size_t)n, '\n', (size_t)n) != NULL)
			break;
	}
	if (got < len || buf[got - 1] != '\n' ||
	    memcmp(buf + got - len, line, len) != 0)
		return 1;
	return 0;
}

static void
count(struct tally *t, int answer)
{
	if (answer == 0)
		t->done++;
	else if (answer > 0)
		t->wrong++;
	else
		t->failed++;
}

/* A connection per line. */
static void
run_conn(unsigned client, unsigned clients, double end, struct tally *t)
{
	char line[CONN_LINE];

	for (unsigned long n = 0; now() < end; n++) {
		int fd = dial(client + clients * (unsigned)n);
		if (fd == -1) {
			backoff(t);
			continue;
		}
		make_line(line, sizeof(line), n);
		count(t, ask(fd, line, sizeof(line)));
		close(fd);
	}
}

/* Lines on one connection, each timed; a lost connection is redialled. */
static void
run_req(unsigned client, unsigned clients, double end, struct tally *t)
{
	char line[REQ_LINE];
	int fd = -1;

	(void)clients;
	for (unsigned long n = 0; now() < end; n++) {
		double start;
		int answer;

		if (fd == -1 && (fd = dial(client)) == -1) {
			backoff(t);
			continue;
		}
		make_line(line, sizeof(line), n);
		start = now();
		answer = ask(fd, line, sizeof(line));
		if (answer == 0)
			lat_add(now() - start);
		count(t, answer);
		if (answer != 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd != -1)
		close(fd);
}

static void
sum_word(struct sum *s, const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	s->h = (s->h ^ w) * 0x100000001b3ULL;
}

static void
sum_byte(struct sum *s, unsigned char c)
{
	s->part[s->npart++] = c;
	if (s->npart == sizeof(s->part)) {
		sum_word(s, s->part);
		s->npart = 0;
	}
}

/* Word at a time: a byte-wise hash would cost more than the echo. */
static void
sum_add(struct sum *s, const unsigned char *p, size_t len)
{
	s->n += len;
	for (; len > 0 && s->npart > 0; len--)
		sum_byte(s, *p++);
	for (; len >= 8; len -= 8, p += 8)
		sum_word(s, p);
	for (; len > 0; len--)
		sum_byte(s, *p++);
}

static uint64_t
sum_end(struct sum *s)
{
	unsigned char len[8];

	while (s->npart > 0)
		sum_byte(s, 0);
	memcpy(len, &s->n, sizeof(len));
	sum_word(s, len);
	return s->h;
}

/* Byte i of the stream is pattern[i % PERIOD]: pseudo-random, every value. */
static void
make_pattern(unsigned char *p, size_t len)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = i < PERIOD ? (unsigned char)x : p[i - PERIOD];
	}
}

/* One step of the stream: send what the socket takes, read what came. */
static int
stream_step(int fd, short revents, uint64_t *sent, uint64_t *rcvd,
    struct sum *out, struct sum *in)
{
	ssize_t n;

	if (revents & POLLOUT) {
		const unsigned char *p = pattern + *sent % PERIOD;
		n = send(fd, p, CHUNK, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno != EAGAIN)
			return -1;
		if (n > 0) {
			sum_add(out, p, (size_t)n);
			*sent += (uint64_t)n;
		}
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		static unsigned char buf[CHUNK];

		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n == -1 && errno != EAGAIN))
			return -1;
		if (n > 0) {
			sum_add(in, buf, (size_t)n);
			*rcvd += (uint64_t)n;
		}
	}
	return 0;
}

/*
 * Write and read at once until the time is up, counting the bytes that came
 * back by then; then stop writing and wait (bounded) for the rest, so that
 * the two checksums cover the same stream.  The shutdown tells a server
 * that echoes whole lines (Apache's mod_echo) to send its last piece.
 */
static void
run_stream(unsigned client, unsigned clients, double end, struct tally *t)
{
	struct sum out = { .h = 0xcbf29ce484222325ULL }, in = out;
	uint64_t sent = 0, rcvd = 0;
	struct pollfd p = { .events = POLLIN | POLLOUT };
	double drain_end = end + IO_TIMEOUT;

	(void)clients;
	make_pattern(pattern, sizeof(pattern));
	if ((p.fd = dial(client)) == -1) {
		t->failed++;
		return;
	}
	while (now() < end && poll(&p, 1, IO_TIMEOUT * 1000) > 0)
		if (stream_step(p.fd, p.revents, &sent, &rcvd, &out, &in) == -1)
			break;
	t->done = (double)rcvd;
	shutdown(p.fd, SHUT_WR);
	p.events = POLLIN;
	while (rcvd < sent && now() < drain_end &&
	       poll(&p, 1, IO_TIMEOUT * 1000) > 0)
		if (stream_step(p.fd, p.revents, &sent, &rcvd, &out, &in) == -1)
			break;
	if (rcvd < sent)
		t->failed++;
	else if (rcvd > sent || sum_end(&out) != sum_end(&in))
		t->wrong++;
	close(p.fd);
}

/*
 * Kill the worker, wait until it is gone (so it cannot take the connection
 * itself), then time connect and answer.  Prints ms from the kill.
 */
static int
run_respawn(pid_t pid)
{
	struct pollfd p = { .events = POLLIN };
	char line[CONN_LINE];
	double start;
	int fd, answer;

	if ((p.fd = pidfd_open(pid, 0)) == -1) {
		perror("loadgen: pidfd_open");
		return 1;
	}
	start = now();
	if (pidfd_send_signal(p.fd, SIGKILL, NULL, 0) == -1 ||
	    poll(&p, 1, IO_TIMEOUT * 1000) != 1) {
		fprintf(stderr, "loadgen: worker %d did not die\n", (int)pid);
		return 1;
	}
	if ((fd = dial(0)) == -1) {
		fprintf(stderr, "loadgen: no connection after the kill\n");
		return 1;
	}
	make_line(line, sizeof(line), 0);
	answer = ask(fd, line, sizeof(line));
	if (answer != 0) {
		fprintf(stderr, "loadgen: %s after the kill\n",
		    answer > 0 ? "wrong answer" : "no answer");
		return answer > 0 ? 3 : 1;
	}
	printf("%.2f\n", (now() - start) * 1e3);
	return 0;
}

/* One client of a burst: its socket, what it has read, whether it has
 * sent its line. */
struct burst_client {
	int fd;
	bool sent;
	size_t got;
	char buf[CONN_LINE * 2];
};

/* Advance client b after poll() said revents: 1 once answered, 0 while
 * not yet, -1 on a failure, 3 on a wrong answer. */
static int
burst_step(struct burst_client *b, short revents, const char *line)
{
	ssize_t n;

	if (revents & (POLLERR | POLLHUP) && !(revents & POLLIN))
		return -1;
	if (!b->sent && (revents & POLLOUT)) {
		if (send(b->fd, line, CONN_LINE, MSG_NOSIGNAL) != CONN_LINE)
			return -1;
		b->sent = true;
	}
	if (!(revents & POLLIN))
		return 0;
	n = recv(b->fd, b->buf + b->got, sizeof(b->buf) - b->got, 0);
	if (n <= 0)
		return n == -1 && errno == EAGAIN ? 0 : -1;
	b->got += (size_t)n;
	if (b->buf[b->got - 1] != '\n')
		return b->got < sizeof(b->buf) ? 0 : 3;
	return b->got >= CONN_LINE &&
	               memcmp(b->buf + b->got - CONN_LINE, line, CONN_LINE) == 0
	           ? 1
	           : 3;
}

static int
run_burst(unsigned clients, double wait)
{
	static struct burst_client b[MAX_CLIENTS];
	struct pollfd p[MAX_CLIENTS];
	char line[CONN_LINE];
	unsigned answered = 0, wrong = 0;
	double start, deadline;

	make_line(line, sizeof(line), 0);
	start = now();
	deadline = start + wait;
	for (unsigned i = 0; i < clients; i++) {
		b[i].fd = socket(target.ss_family,
		    SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (b[i].fd == -1) {
			perror("loadgen: socket");
			return 1;
		}
		bind_source(b[i].fd, i);
		if (connect(b[i].fd, (struct sockaddr *)&target, target_len) ==
		        -1 &&
		    errno != EINPROGRESS) {
			perror("loadgen: connect");
			return 1;
		}
		p[i] = (struct pollfd){ .fd = b[i].fd, .events = POLLOUT };
	}
	while (answered + wrong < clients && now() < deadline) {
		if (poll(p, clients, 100) == -1 && errno != EINTR)
			break;
		for (unsigned i = 0; i < clients; i++) {
			int r;
			if (p[i].fd < 0 || p[i].revents == 0)
				continue;
			r = burst_step(&b[i], p[i].revents, line);
			if (r == 0) {
				p[i].events = b[i].sent ? POLLIN : POLLOUT;
				continue;
			}
			if (r == -1) {
				fprintf(stderr,
				    "loadgen: burst: client %u "
				    "failed\n",
				    i);
				return 1;
			}
			if (r == 1)
				answered++;
			else
				wrong++;
			p[i].fd = -1; /* kept open, no longer watched */
		}
	}
	if (answered + wrong < clients) {
		fprintf(stderr, "loadgen: burst: %u of %u answered\n", answered,
		    clients);
		return 1;
	}
	printf("%.2f\n", (now() - start) * 1e3);
	for (unsigned i = 0; i < clients; i++)
		close(b[i].fd);
	return wrong > 0 ? 3 : 0;
}

/* This year, as gmtime and localtime both may name it. */
static bool
names_this_year(const char *text)
{
	time_t t = time(NULL);
	struct tm tm;
	char year[16];

	gmtime_r(&t, &tm);
	snprintf(year, sizeof(year), "%d", 1900 + tm.tm_year);
	if (strstr(text, year) != NULL)
		return true;
	localtime_r(&t, &tm);
	snprintf(year, sizeof(year), "%d", 1900 + tm.tm_year);
	return strstr(text, year) != NULL;
}

/* RFC 867 leaves the format open: one printable line that names the year
 * (xinetd's and preforkd's: "08 DEC 2026 01:19:37 UTC\r\n"). */
static bool
daytime_ok(const char *buf, size_t len)
{
	char text[128];

	if (len < 8 || len >= sizeof(text) || buf[len - 2] != '\r' ||
	    buf[len - 1] != '\n')
		return false;
	for (size_t i = 0; i < len - 2; i++)
		if (buf[i] < ' ' || buf[i] > '~')
			return false;
	memcpy(text, buf, len);
	text[len] = '\0';
	return names_this_year(text);
}

/* RFC 868: 32 bits, big-endian, seconds since 1900; within a minute. */
static bool
time_ok(const unsigned char *buf, size_t len)
{
	uint32_t t, clock = (uint32_t)time(NULL) + NTP_EPOCH;

	if (len != 4)
		return false;
	t = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
	    (uint32_t)buf[2] << 8 | buf[3];
	return t - clock + 60 <= 120; /* |t - clock| <= 60, mod 2^32 */
}

/* Whether an answer of len bytes is what -x asks for. */
static bool
answer_ok(const char *buf, size_t len)
{
	switch (expect) {
	case EXPECT_DAYTIME:
		return daytime_ok(buf, len);
	case EXPECT_TIME:
		return time_ok((const unsigned char *)buf, len);
	case EXPECT_TEXT:
		return len == expect_len && memcmp(buf, expect_text, len) == 0;
	default:
		return false;
	}
}

/*
 * Read until the server closes, up to want bytes, or until size bytes came
 * (then 1: more than an answer may be).  Returns 0 with *got set, -1 when
 * the connection failed or timed out first.
 */
static int
read_answer(int fd, char *buf, size_t size, size_t want, size_t *got)
{
	*got = 0;
	while (*got < want) {
		ssize_t n = recv(fd, buf + *got, size - *got, 0);
		if (n == 0)
			return 0;
		if (n < 0)
			return -1;
		*got += (size_t)n;
		if (*got == size)
			return 1;
	}
	return 0;
}

/* A service that speaks first: connect, read its answer, close. */
static void
run_first(unsigned client, unsigned clients, double end, struct tally *t)
{
	static char buf[4096];
	size_t want = expect == EXPECT_TEXT ? expect_len : sizeof(buf);

	for (unsigned long n = 0; now() < end; n++) {
		size_t got;
		int fd = dial(client + clients * (unsigned)n), r;

		if (fd == -1) {
			backoff(t);
			continue;
		}
		r = read_answer(fd, buf, sizeof(buf), want, &got);
		count(t, r == -1 ? -1 : r == 0 && answer_ok(buf, got) ? 0 : 1);
		close(fd);
	}
}

/* A byte sink: a line in, nothing back, the server closes after us. */
static void
run_sink(unsigned client, unsigned clients, double end, struct tally *t)
{
	char line[CONN_LINE], buf[256];

	for (unsigned long n = 0; now() < end; n++) {
		size_t got;
		int fd = dial(client + clients * (unsigned)n), r = -1;

		if (fd == -1) {
			backoff(t);
			continue;
		}
		make_line(line, sizeof(line), n);
		if (send(fd, line, sizeof(line), MSG_NOSIGNAL) ==
		        (ssize_t)sizeof(line) &&
		    shutdown(fd, SHUT_WR) == 0)
			r = read_answer(
			    fd, buf, sizeof(buf), sizeof(buf), &got);
		count(t, r == -1 ? -1 : r == 0 && got == 0 ? 0 : 1);
		close(fd);
	}
}

/*
 * The stream of a ring of size characters from low on, in lines of
 * period lines that start over, the first one at '!', as preforkd and
 * xinetd both start; repeated so that any CHUNK from any offset of the
 * period can be compared in one memcmp.
 */
static int
ring_make(struct ring *r, char low, int size, int lines)
{
	size_t first = (size_t)('!' - low);

	r->period = (size_t)lines * LINE_SIZE;
	if ((r->text = malloc(r->period + CHUNK)) == NULL)
		return -1;
	for (size_t i = 0; i < r->period + CHUNK; i++) {
		size_t line = i / LINE_SIZE % (size_t)lines,
		       col = i % LINE_SIZE;

		r->text[i] = col == LINE_CHARS ? '\r'
		             : col == LINE_CHARS + 1
		                 ? '\n'
		                 : (unsigned char)(low + (first + line + col) %
		                                             (size_t)size);
	}
	return 0;
}

/* Read a chargen stream until the time is up; each piece must be the next
 * bytes of a ring (RFC 864's or xinetd's): of the ones the stream matched
 * so far, which agree for its first 22 lines. */
static void
run_chargen(unsigned client, unsigned clients, double end, struct tally *t)
{
	static unsigned char buf[CHUNK];
	struct ring rings[2];
	bool fits[2] = { true, true };
	uint64_t pos = 0;
	int fd;

	(void)clients;
	/* RFC 864's: 95 lines of the 95 printable characters; xinetd's: 95
	 * lines too, of 93 (no ' ' or '~'), so each period starts at '!'. */
	if (ring_make(&rings[0], ' ', 95, 95) == -1 ||
	    ring_make(&rings[1], '!', 93, 95) == -1 ||
	    (fd = dial(client)) == -1) {
		t->failed++;
		return;
	}
	while (now() < end) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n <= 0) {
			t->failed++;
			break;
		}
		for (int i = 0; i < 2; i++)
			fits[i] =
			    fits[i] &&
			    memcmp(buf, rings[i].text + pos % rings[i].period,
			        (size_t)n) == 0;
		if (!fits[0] && !fits[1]) {
			t->wrong++;
			break;
		}
		pos += (uint64_t)n;
	}
	t->done = (double)pos;
	close(fd);
	free(rings[0].text);
	free(rings[1].text);
}

/* One GET /metrics per connection, the answer read to the server's close. */
static void
run_status(unsigned client, unsigned clients, double end, struct tally *t)
{
	static const char get[] = "GET /metrics HTTP/1.0\r\n\r\n";
	static char buf[ANSWER_MAX + 1];

	for (unsigned long n = 0; now() < end; n++) {
		size_t got;
		int fd = dial(client + clients * (unsigned)n), r = -1;

		if (fd == -1) {
			backoff(t);
			continue;
		}
		if (send(fd, get, sizeof(get) - 1, MSG_NOSIGNAL) ==
		    (ssize_t)sizeof(get) - 1)
			r = read_answer(fd, buf, ANSWER_MAX, ANSWER_MAX, &got);
		if (r == 0) {
			buf[got] = '\0';
			r = strncmp(buf, "HTTP/1.", 7) == 0 &&
			            strncmp(buf + 8, " 200", 4) == 0 &&
			            strstr(buf, "\npreforkd_workers") != NULL
			        ? 0
			        : 1;
		}
		count(t, r);
		close(fd);
	}
}

/* A UDP socket from 127.0.0.(1 + k % 64) when the target is on loopback,
 * connected, so that only the target's datagrams come in; -1 on failure. */
static int
dial_udp(unsigned k)
{
	const struct sockaddr_in *dst = (const struct sockaddr_in *)&target;
	struct sockaddr_in src = { .sin_family = AF_INET };
	int fd = socket(target.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return -1;
	if (target.ss_family == AF_INET &&
	    (ntohl(dst->sin_addr.s_addr) >> 24) == 127) {
		src.sin_addr.s_addr = htonl(0x7f000001 + k % SOURCES);
		bind(fd, (struct sockaddr *)&src, sizeof(src));
	}
	if (connect(fd, (struct sockaddr *)&target, target_len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* An echo answer is a datagram sent: line n, n below next. */
static bool
udp_echo_ok(const char *buf, size_t len, unsigned long next)
{
	char line[CONN_LINE];
	unsigned long n;
	char *end;

	if (len != CONN_LINE)
		return false;
	n = strtoul(buf, &end, 10);
	if (end == buf || *end != ' ' || n >= next)
		return false;
	make_line(line, sizeof(line), n);
	return memcmp(buf, line, sizeof(line)) == 0;
}

/* Take every answer waiting; the window opens by one per answer. */
static void
udp_take(int fd, unsigned long next, unsigned *unanswered, struct tally *t)
{
	static char buf[2048];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
		bool ok = expect == EXPECT_ECHO
		              ? udp_echo_ok(buf, (size_t)n, next)
		              : answer_ok(buf, (size_t)n);
		if (ok)
			t->done++;
		else
			t->wrong++;
		if (*unanswered > 0)
			(*unanswered)--;
	}
}

/*
 * At most window datagrams unanswered at once; when none comes back for
 * UDP_WAIT_MS, the ones out are lost and the window is whole again.  Then
 * a last UDP_WAIT_MS for answers still on their way.
 */
static void
run_udp(unsigned client, unsigned clients, double end, struct tally *t)
{
	struct pollfd p = { .events = POLLIN };
	char line[CONN_LINE];
	unsigned unanswered = 0;
	unsigned long next = 0;

	(void)clients;
	if ((p.fd = dial_udp(client)) == -1) {
		t->failed++;
		return;
	}
	while (now() < end && (max_datagrams == 0 || t->sent < max_datagrams)) {
		while (unanswered < window &&
		       (max_datagrams == 0 || t->sent < max_datagrams)) {
			make_line(line, sizeof(line), next);
			if (send(p.fd, line, sizeof(line), 0) != sizeof(line))
				break;
			next++;
			t->sent++;
			unanswered++;
		}
		if (poll(&p, 1, UDP_WAIT_MS) == 1)
			udp_take(p.fd, next, &unanswered, t);
		else
			unanswered = 0; /* lost */
	}
	while (unanswered > 0 && poll(&p, 1, UDP_WAIT_MS) == 1)
		udp_take(p.fd, next, &unanswered, t);
	close(p.fd);
}

static int
write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len > 0) {
		ssize_t n = write(fd, c, len);
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
read_all(int fd, void *p, size_t len)
{
	char *c = p;

	while (len > 0) {
		ssize_t n = read(fd, c, len);
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

typedef void mode_fn(unsigned, unsigned, double, struct tally *);

/* Fork a client; it runs the mode and writes its tally to the pipe. */
static int
start_client(mode_fn *run, unsigned client, unsigned clients, double end)
{
	struct tally t = { 0 };
	int fds[2];

	if (pipe(fds) == -1)
		return -1;
	switch (fork()) {
	case -1:
		close(fds[0]);
		close(fds[1]);
		return -1;
	case 0:
		close(fds[0]);
		run(client, clients, end, &t);
		t.nlat = nlat;
		if (write_all(fds[1], &t, sizeof(t)) == -1 ||
		    write_all(fds[1], lat, nlat * sizeof(*lat)) == -1)
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	return fds[0];
}

/* Add a client's tally to the total and its latencies to lat[]. */
static void
collect(int fd, struct tally *total)
{
	struct tally t;

	if (read_all(fd, &t, sizeof(t)) == -1) {
		total->failed++;
		return;
	}
	total->done += t.done;
	total->failed += t.failed;
	total->wrong += t.wrong;
	total->sent += t.sent;
	if (t.nlat > 0 && lat_reserve(t.nlat) == 0 &&
	    read_all(fd, lat + nlat, t.nlat * sizeof(*lat)) == 0)
		nlat += t.nlat;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The q-quantile (nearest rank) of lat[], in microseconds. */
static double
percentile(double q)
{
	size_t rank = (size_t)(q * (double)nlat + 0.999999);

	if (nlat == 0)
		return 0;
	if (rank < 1)
		rank = 1;
	return (double)lat[rank - 1] / 1e3;
}

static bool totals; /* -v */

static void
report(const char *mode, const struct tally *t, double seconds)
{
	if (t->failed > 0 || t->wrong > 0)
		fprintf(stderr, "loadgen: %s: %llu failed, %llu wrong\n", mode,
		    (unsigned long long)t->failed,
		    (unsigned long long)t->wrong);
	if (strcmp(mode, "req") == 0) {
		qsort(lat, nlat, sizeof(*lat), cmp_u64);
		printf("%.0f %.1f %.1f\n", t->done / seconds, percentile(0.50),
		    percentile(0.99));
	} else if (strcmp(mode, "stream") == 0 || strcmp(mode, "chargen") == 0)
		printf("%.1f\n", t->done / seconds / 1e6);
	else if (strcmp(mode, "udp") == 0)
		printf("%.0f %.0f\n", (double)t->sent / seconds,
		    t->done / seconds);
	else if (totals)
		printf("%.0f %.0f %llu %llu\n", t->done / seconds, t->done,
		    (unsigned long long)t->failed,
		    (unsigned long long)t->wrong);
	else
		printf("%.0f\n", t->done / seconds);
}

static mode_fn *
mode_by_name(const char *mode)
{
	if (strcmp(mode, "conn") == 0)
		return run_conn;
	if (strcmp(mode, "req") == 0)
		return run_req;
	if (strcmp(mode, "stream") == 0)
		return run_stream;
	if (strcmp(mode, "first") == 0)
		return expect >= EXPECT_DAYTIME ? run_first : NULL;
	if (strcmp(mode, "sink") == 0)
		return run_sink;
	if (strcmp(mode, "chargen") == 0)
		return run_chargen;
	if (strcmp(mode, "status") == 0)
		return run_status;
	if (strcmp(mode, "udp") == 0)
		return expect >= EXPECT_ECHO && expect <= EXPECT_TIME ? run_udp
		                                                      : NULL;
	return NULL;
}

static int
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen -m conn|req|stream|sink|chargen|status [-v] "
	    "[-c 1-%d] [-d secs] host port\n"
	    "       loadgen -m first -x daytime|time|text:STRING [-v] "
	    "[-c clients] [-d secs] host port\n"
	    "       loadgen -m udp -x echo|daytime|time [-w window] "
	    "[-n datagrams] [-c clients] [-d secs] host port\n"
	    "       loadgen -m respawn -k pid host port\n"
	    "       loadgen -m burst [-c 1-%d] [-d secs] host port\n",
	    MAX_CLIENTS, MAX_CLIENTS);
	return 2;
}

/* -x: what an answer must be. */
static int
parse_expect(const char *arg)
{
	if (strcmp(arg, "echo") == 0)
		expect = EXPECT_ECHO;
	else if (strcmp(arg, "daytime") == 0)
		expect = EXPECT_DAYTIME;
	else if (strcmp(arg, "time") == 0)
		expect = EXPECT_TIME;
	else if (strncmp(arg, "text:", 5) == 0 && arg[5] != '\0') {
		expect = EXPECT_TEXT;
		expect_text = arg + 5;
		expect_len = strlen(expect_text);
	} else
		return -1;
	return 0;
}

static int
resolve(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV },
	                *res;

	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	memcpy(&target, res->ai_addr, res->ai_addrlen);
	target_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *mode = "conn";
	int ch, clients = 4, fds[MAX_CLIENTS];
	double seconds = 3, end;
	pid_t victim = 0;
	bool seconds_given = false;
	struct tally total = { 0 };
	mode_fn *run;

	while ((ch = getopt(argc, argv, "c:d:k:m:n:vw:x:")) != -1) {
		switch (ch) {
		case 'c':
			clients = atoi(optarg);
			break;
		case 'd':
			seconds = atof(optarg);
			seconds_given = true;
			break;
		case 'k':
			victim = (pid_t)atoi(optarg);
			break;
		case 'm':
			mode = optarg;
			break;
		case 'n':
			max_datagrams = strtoull(optarg, NULL, 10);
			break;
		case 'v':
			totals = true;
			break;
		case 'w':
			window = (unsigned)atoi(optarg);
			break;
		case 'x':
			if (parse_expect(optarg) == -1)
				return usage();
			break;
		default:
			return usage();
		}
	}
	if (argc - optind != 2 || clients < 1 || clients > MAX_CLIENTS ||
	    window < 1 || window > 1024 || seconds <= 0 || seconds > 60 ||
	    resolve(argv[optind], argv[optind + 1]) == -1)
		return usage();
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(mode, "respawn") == 0)
		return victim > 0 ? run_respawn(victim) : usage();
	if (strcmp(mode, "burst") == 0)
		return run_burst(
		    (unsigned)clients, seconds_given ? seconds : IO_TIMEOUT);
	if ((run = mode_by_name(mode)) == NULL)
		return usage();
	/* -n is for all the clients together. */
	max_datagrams =
	    (max_datagrams + (uint64_t)clients - 1) / (uint64_t)clients;
	end = now() + seconds;
	for (int i = 0; i < clients; i++)
		fds[i] = start_client(run, (unsigned)i, (unsigned)clients, end);
	for (int i = 0; i < clients; i++) {
		if (fds[i] == -1) {
			total.failed++;
			continue;
		}
		collect(fds[i], &total);
		close(fds[i]);
	}
	while (wait(NULL) > 0)
		;
	/* N datagrams may take less than the time given. */
	if (max_datagrams > 0 && now() < end)
		seconds -= end - now();
	report(mode, &total, seconds);
	return total.wrong > 0 ? 3 : total.done > 0 ? 0 : 1;
}
