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
 *   loadgen -m respawn -k PID HOST PORT
 *       SIGKILL the worker PID, then connect and time until the answer to a
 *       line arrives.  Prints milliseconds.
 *   loadgen -m burst -c C HOST PORT
 *       C clients connect at once, from one process, each sends a 32-byte
 *       line and keeps its connection open once answered, as a session
 *       would: a server needs C workers at once.  Prints the milliseconds
 *       from the first connect() to the last answer.
 *
 * An answer must end with the line sent: echo, prefix and timestamp all
 * answer so.  On 127.0.0.1 the client sockets are bound to source addresses
 * 127.0.0.1 to 127.0.0.64 in turn: from one address, TIME_WAIT caps the
 * connection rate at the same figure for every server.
 *
 * Exit status: 0; 1 when nothing could be measured; 2 usage; 3 when an
 * answer was wrong (the figures are printed all the same).  Every wait is
 * bounded: a run ends at most IO_TIMEOUT seconds after its time is up.
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

/* What one client did; sent to the parent with its latencies after it. */
struct tally {
	double done;     /* connections, requests or bytes */
	uint64_t failed; /* connects or answers that did not come */
	uint64_t wrong;  /* answers that came back different */
	uint64_t nlat;   /* latencies (ns) that follow on the pipe */
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
run_burst(unsigned clients)
{
	static struct burst_client b[MAX_CLIENTS];
	struct pollfd p[MAX_CLIENTS];
	char line[CONN_LINE];
	unsigned answered = 0, wrong = 0;
	double start, deadline;

	make_line(line, sizeof(line), 0);
	start = now();
	deadline = start + IO_TIMEOUT;
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
	} else if (strcmp(mode, "stream") == 0)
		printf("%.1f\n", t->done / seconds / 1e6);
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
	return NULL;
}

static int
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen -m conn|req|stream [-c 1-%d] "
	    "[-d secs] host port\n"
	    "       loadgen -m respawn -k pid host port\n"
	    "       loadgen -m burst [-c 1-%d] host port\n",
	    MAX_CLIENTS, MAX_CLIENTS);
	return 2;
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
	struct tally total = { 0 };
	mode_fn *run;

	while ((ch = getopt(argc, argv, "c:d:k:m:")) != -1) {
		switch (ch) {
		case 'c':
			clients = atoi(optarg);
			break;
		case 'd':
			seconds = atof(optarg);
			break;
		case 'k':
			victim = (pid_t)atoi(optarg);
			break;
		case 'm':
			mode = optarg;
			break;
		default:
			return usage();
		}
	}
	if (argc - optind != 2 || clients < 1 || clients > MAX_CLIENTS ||
	    seconds <= 0 || seconds > 60 ||
	    resolve(argv[optind], argv[optind + 1]) == -1)
		return usage();
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(mode, "respawn") == 0)
		return victim > 0 ? run_respawn(victim) : usage();
	if (strcmp(mode, "burst") == 0)
		return run_burst((unsigned)clients);
	if ((run = mode_by_name(mode)) == NULL)
		return usage();
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
	report(mode, &total, seconds);
	return total.wrong > 0 ? 3 : total.done > 0 ? 0 : 1;
}
