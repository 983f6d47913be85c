/*
 * pfclient: the test suite's TCP client, so the tests need nothing beyond
 * bats.  Like nc, but with the few exact behaviours the tests need:
 *
 *   pfclient [-t secs] [-r] HOST PORT
 *       copy stdin to the server and the server to stdout, both at once (a
 *       1 MiB echo never deadlocks); at the end of stdin shut down our
 *       sending side (or with -r reset the connection and exit); exit when
 *       the server closes.
 *   pfclient -m N [-t secs] HOST PORT
 *       open N connections, send a line on each and wait until each has an
 *       answer while all stay open; print "served K of N".
 *   pfclient -b HOST PORT     exit 0 if HOST:PORT can be bound now
 *   pfclient -f               print a port free on 127.0.0.1 and ::1
 *
 * Exit status: 0 done, 1 usage or connect error, 3 timed out, 4 not all
 * served (-m) or not bindable (-b).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long deadline;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
left_ms(void)
{
	long long left = deadline - now_ms();

	if (left <= 0) {
		fprintf(stderr, "pfclient: timed out\n");
		exit(3);
	}
	return (int)left;
}

static int
resolve(const char *host, const char *port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV },
	                *res;
	int rc = getaddrinfo(host, port, &hints, &res);

	if (rc != 0) {
		fprintf(stderr, "pfclient: %s:%s: %s\n", host, port,
		    gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int
connect_to(const char *host, const char *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (resolve(host, port, &ss, &len) == -1)
		exit(1);
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&ss, len) == -1) {
		fprintf(stderr, "pfclient: connect %s:%s: %s\n", host, port,
		    strerror(errno));
		exit(1);
	}
	return fd;
}

static void
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			perror("pfclient: write");
			exit(1);
		}
		p += w;
		n -= (size_t)w;
	}
}

static void
reset(int fd)
{
	struct linger hard = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
	close(fd);
}

static int
copy_both_ways(int fd, int reset_at_eof)
{
	struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
		{ .fd = fd, .events = POLLIN } };
	static char buf[65536];

	for (;;) {
		if (poll(p, 2, left_ms()) == -1 && errno != EINTR)
			return 1;
		if (p[0].revents) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n > 0) {
				write_all(fd, buf, (size_t)n);
			} else if (reset_at_eof) {
				reset(fd);
				return 0;
			} else {
				shutdown(fd, SHUT_WR);
				p[0].fd = -1;
			}
		}
		if (p[1].revents) {
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n <= 0)
				return n == 0 ? 0
				              : (perror("pfclient: read"), 0);
			write_all(STDOUT_FILENO, buf, (size_t)n);
		}
	}
}

static int
many(int n, const char *host, const char *port)
{
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	int served = 0;
	char buf[4096];

	if (p == NULL) {
		perror("pfclient");
		return 2;
	}
	for (int i = 0; i < n; i++) {
		int len = snprintf(buf, sizeof(buf), "client %d\n", i);
		p[i].fd = connect_to(host, port);
		p[i].events = POLLIN;
		write_all(p[i].fd, buf, (size_t)len);
	}
	while (served < n) {
		long long left = deadline - now_ms();
		if (left <= 0 || poll(p, (nfds_t)n, (int)left) <= 0)
			break;
		for (int i = 0; i < n; i++)
			if (p[i].revents &&
			    read(p[i].fd, buf, sizeof(buf)) > 0) {
				p[i].fd = -p[i].fd - 1; /* answered */
				served++;
			}
	}
	printf("served %d of %d\n", served, n);
	for (int i = 0; i < n; i++)
		close(p[i].fd < 0 ? -p[i].fd - 1 : p[i].fd);
	free(p);
	return served == n ? 0 : 4;
}

static int
bindable(const char *host, const char *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int on = 1, fd;

	if (resolve(host, port, &ss, &len) == -1)
		return 1;
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, 1) == -1) {
		printf("%s:%s: %s\n", host, port, strerror(errno));
		return 4;
	}
	return 0;
}

/* A port the kernel hands out on 127.0.0.1 that ::1 has free as well. */
static int
free_port(void)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
			.sin6_addr = IN6ADDR_LOOPBACK_INIT };
		socklen_t len = sizeof(sin);
		int fd4 = socket(AF_INET, SOCK_STREAM, 0);
		int fd6 = socket(AF_INET6, SOCK_STREAM, 0);

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		bind(fd4, (struct sockaddr *)&sin, sizeof(sin));
		getsockname(fd4, (struct sockaddr *)&sin, &len);
		sin6.sin6_port = sin.sin_port;
		if (bind(fd6, (struct sockaddr *)&sin6, sizeof(sin6)) == 0) {
			printf("%u\n", ntohs(sin.sin_port));
			return 0;
		}
		close(fd4);
		close(fd6);
	}
	return 1;
}

int
main(int argc, char **argv)
{
	int ch, reset_at_eof = 0, nconns = 0, timeout = 10;
	char mode = 'c';

	while ((ch = getopt(argc, argv, "bfm:rt:")) != -1) {
		switch (ch) {
		case 'b':
			mode = 'b';
			break;
		case 'f':
			return free_port();
		case 'm':
			mode = 'm';
			nconns = atoi(optarg);
			break;
		case 'r':
			reset_at_eof = 1;
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		default:
			return 1;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: pfclient [-b | -f | -m N] [-r] "
		                "[-t secs] host port\n");
		return 1;
	}
	deadline = now_ms() + timeout * 1000LL;
	if (mode == 'b')
		return bindable(argv[optind], argv[optind + 1]);
	if (mode == 'm')
		return many(nconns, argv[optind], argv[optind + 1]);
	return copy_both_ways(
	    connect_to(argv[optind], argv[optind + 1]), reset_at_eof);
}
