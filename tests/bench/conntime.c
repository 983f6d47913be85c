/*
 * conntime: loadgen's conn workload (tests/bench/loadgen.c) with each
 * connection timed, for tests/bench/exec and tests/bench/upgrade.  C client
 * processes, for D seconds each: connect, send a 32-byte line, read the
 * answer up to its newline, close; the time of a connection runs from
 * before connect() to after close().  Prints one line:
 *
 *   CONN_PER_S P50_US P99_US MADE FAILED WRONG
 *
 * MADE counts the connections answered right, FAILED those refused, reset,
 * closed early or timed out, WRONG those answered with other bytes.  On
 * 127.0.0.1 the clients bind to source addresses 127.0.0.1 to 127.0.0.64 in
 * turn, as loadgen does, so that TIME_WAIT caps no server.  A separate
 * program because loadgen (another helper's file this round) prints no
 * latency for conn.
 *
 *   conntime [-c 1-256] [-d secs] HOST PORT
 *
 * Exit status: 0; 1 when no connection was answered; 2 usage; 3 when an
 * answer was wrong.  Every wait is bounded by IO_TIMEOUT seconds.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define IO_TIMEOUT 5
#define SOURCES 64
#define LINE 32
#define MAX_CLIENTS 256
#define MAX_LAT (1 << 20) /* latencies kept per client */

struct tally {
	uint64_t made, failed, wrong, nlat;
};

static struct sockaddr_storage target;
static socklen_t target_len;
static uint64_t *lat;
static size_t nlat;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bind to 127.0.0.(1 + k % 64) when the target is on loopback. */
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

/* One connection: 0 answered right, 1 wrong, -1 failed. */
static int
one(unsigned k, unsigned long n)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT };
	char line[LINE], buf[4096];
	size_t got = 0;
	int fd, w, rc = -1;

	if ((fd = socket(target.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	bind_source(fd, k);
	w = snprintf(line, sizeof(line), "%lu ", n);
	memset(line + w, 'x', LINE - 1 - (size_t)w);
	line[LINE - 1] = '\n';
	if (connect(fd, (struct sockaddr *)&target, target_len) == -1 ||
	    send(fd, line, LINE, MSG_NOSIGNAL) != LINE)
		goto out;
	while (got < sizeof(buf)) {
		ssize_t r = recv(fd, buf + got, sizeof(buf) - got, 0);
		if (r <= 0)
			goto out;
		got += (size_t)r;
		if (memchr(buf + got - (size_t)r, '\n', (size_t)r) != NULL)
			break;
	}
	rc = (got >= LINE && buf[got - 1] == '\n' &&
	         memcmp(buf + got - LINE, line, LINE) == 0)
	         ? 0
	         : 1;
out:
	close(fd);
	return rc;
}

static void
run(unsigned client, unsigned clients, double end, struct tally *t)
{
	struct timespec ms = { .tv_nsec = 1000000 };

	for (unsigned long n = 0; now() < end; n++) {
		double start = now();
		int rc = one(client + clients * (unsigned)n, n);

		if (rc == 0) {
			t->made++;
			if (nlat < MAX_LAT)
				lat[nlat++] = (uint64_t)((now() - start) * 1e9);
		} else if (rc > 0)
			t->wrong++;
		else {
			/* A refused connect: a millisecond, not a busy loop. */
			t->failed++;
			nanosleep(&ms, NULL);
		}
	}
}

static int
xfer(int fd, void *p, size_t len, int out)
{
	char *c = p;

	while (len > 0) {
		ssize_t n = out ? write(fd, c, len) : read(fd, c, len);
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
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

int
main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV },
	                *res;
	struct tally total = { 0 };
	int ch, clients = 4, fds[MAX_CLIENTS];
	double seconds = 3, end;

	while ((ch = getopt(argc, argv, "c:d:")) != -1) {
		if (ch == 'c')
			clients = atoi(optarg);
		else if (ch == 'd')
			seconds = atof(optarg);
		else
			return 2;
	}
	if (argc - optind != 2 || clients < 1 || clients > MAX_CLIENTS ||
	    seconds <= 0 || seconds > 600 ||
	    getaddrinfo(argv[optind], argv[optind + 1], &hints, &res) != 0) {
		fprintf(stderr,
		    "usage: conntime [-c 1-%d] [-d secs] host port\n",
		    MAX_CLIENTS);
		return 2;
	}
	memcpy(&target, res->ai_addr, res->ai_addrlen);
	target_len = res->ai_addrlen;
	freeaddrinfo(res);
	signal(SIGPIPE, SIG_IGN);
	if ((lat = malloc(MAX_LAT * sizeof(*lat))) == NULL)
		return 1;
	end = now() + seconds;
	for (int i = 0; i < clients; i++) {
		int p[2];
		struct tally t = { 0 };

		fds[i] = -1;
		if (pipe(p) == -1)
			continue;
		switch (fork()) {
		case -1:
			close(p[0]);
			close(p[1]);
			continue;
		case 0:
			close(p[0]);
			run((unsigned)i, (unsigned)clients, end, &t);
			t.nlat = nlat;
			_exit(xfer(p[1], &t, sizeof(t), 1) == -1 ||
			      xfer(p[1], lat, nlat * sizeof(*lat), 1) == -1);
		}
		close(p[1]);
		fds[i] = p[0];
	}
	for (int i = 0; i < clients; i++) {
		struct tally t;
		uint64_t *more;

		if (fds[i] == -1 || xfer(fds[i], &t, sizeof(t), 0) == -1) {
			total.failed++;
		} else {
			total.made += t.made;
			total.failed += t.failed;
			total.wrong += t.wrong;
			/* The parent keeps every client's latencies. */
			more = t.nlat <= MAX_LAT
			           ? realloc(lat,
			                 (nlat + t.nlat + 1) * sizeof(*lat))
			           : NULL;
			if (more != NULL) {
				lat = more;
				if (xfer(fds[i], lat + nlat,
				        t.nlat * sizeof(*lat), 0) == 0)
					nlat += t.nlat;
			}
		}
		if (fds[i] != -1)
			close(fds[i]);
	}
	while (wait(NULL) > 0)
		;
	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	printf("%.0f %.1f %.1f %llu %llu %llu\n", (double)total.made / seconds,
	    percentile(0.50), percentile(0.99), (unsigned long long)total.made,
	    (unsigned long long)total.failed, (unsigned long long)total.wrong);
	return total.wrong > 0 ? 3 : total.made > 0 ? 0 : 1;
}
