/*
 * loadgen: a load generator for the benchmark (tests/bench/run).  C processes
 * hammer HOST:PORT for D seconds and the total is printed as one figure:
 *
 *   loadgen -m conn -c C -d D HOST PORT   connect, "ping\n", read it, close:
 *                                         connections per second
 *   loadgen -m req  -c C -d D HOST PORT   one connection each, ping-pong:
 *                                         requests per second
 *   loadgen -m bulk -c 1 -d D HOST PORT   stream through echo: MB/s
 *
 * Loopback only; every loop ends when its time is up.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_storage target;
static socklen_t target_len;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
dial(void)
{
	int fd = socket(target.ss_family, SOCK_STREAM, 0);

	if (fd == -1 || connect(fd, (struct sockaddr *)&target, target_len) ==
	    -1) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/* One ping-pong on fd; 0 when the whole reply came back. */
static int
ping(int fd)
{
	char buf[64];
	size_t got = 0;

	if (send(fd, "ping\n", 5, MSG_NOSIGNAL) != 5)
		return -1;
	while (got < 5) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static double
run_conn(double end)
{
	double done = 0;

	while (now() < end) {
		int fd = dial();
		if (fd == -1)
			continue;
		if (ping(fd) == 0)
			done++;
		close(fd);
	}
	return done;
}

static double
run_req(double end)
{
	double done = 0;
	int fd = dial();

	while (fd != -1 && now() < end && ping(fd) == 0)
		done++;
	if (fd != -1)
		close(fd);
	return done;
}

/* Send and receive at once through an echo service; bytes echoed. */
static double
run_bulk(double end)
{
	static char out[65536], in[65536];
	double echoed = 0;
	int fd = dial();
	struct pollfd p;

	if (fd == -1)
		return 0;
	memset(out, 'x', sizeof(out));
	p.fd = fd;
	p.events = POLLIN | POLLOUT;
	while (now() < end && poll(&p, 1, 1000) > 0) {
		if (p.revents & POLLOUT)
			send(fd, out, sizeof(out), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (p.revents & POLLIN) {
			ssize_t n = recv(fd, in, sizeof(in), MSG_DONTWAIT);
			if (n <= 0)
				break;
			echoed += (double)n;
		}
	}
	close(fd);
	return echoed / 1e6;
}

int
main(int argc, char **argv)
{
	const char *mode = "conn";
	int ch, clients = 4, pipefd[2];
	double seconds = 3, total = 0, end;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV }, *res;

	while ((ch = getopt(argc, argv, "c:d:m:")) != -1) {
		switch (ch) {
		case 'c': clients = atoi(optarg); break;
		case 'd': seconds = atof(optarg); break;
		case 'm': mode = optarg; break;
		default: return 2;
		}
	}
	if (argc - optind != 2 || clients < 1 || clients > 256 ||
	    seconds <= 0 || seconds > 60 ||
	    getaddrinfo(argv[optind], argv[optind + 1], &hints, &res) != 0) {
		fprintf(stderr, "usage: loadgen [-m conn|req|bulk] [-c 1-256] "
		    "[-d secs] host port\n");
		return 2;
	}
	memcpy(&target, res->ai_addr, res->ai_addrlen);
	target_len = res->ai_addrlen;
	freeaddrinfo(res);
	signal(SIGPIPE, SIG_IGN);
	if (pipe(pipefd) == -1)
		return 1;
	end = now() + seconds;
	for (int i = 0; i < clients; i++) {
		if (fork() == 0) {
			double n = strcmp(mode, "req") == 0 ? run_req(end) :
			    strcmp(mode, "bulk") == 0 ? run_bulk(end) :
			    run_conn(end);
			if (write(pipefd[1], &n, sizeof(n)) != sizeof(n))
				_exit(1);
			_exit(0);
		}
	}
	close(pipefd[1]);
	for (double n; read(pipefd[0], &n, sizeof(n)) == sizeof(n);)
		total += n;
	while (wait(NULL) > 0)
		;
	printf("%.1f\n", total / seconds);
	return 0;
}
