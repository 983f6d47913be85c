/*
 * preforkecho: the naive pre-forked echo server, as a tutorial writes it
 * before it grows a supervisor.  The master binds, forks N children and
 * forks a new one whenever one dies; each child blocks in accept(), then
 * serves its client with recv() and a send-all loop, and goes back to
 * accept().  No config, log, signals, timeouts or reload: what preforkd
 * does on top of this is what the benchmark puts a price on.
 *
 *   preforkecho PORT N      listens on 127.0.0.1:PORT until killed
 *
 * Children die with the master (PR_SET_PDEATHSIG).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* The same piece as preforkd's default buffer_size. */
#define BUFSZ 4096

static int
send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
serve(int fd)
{
	char buf[BUFSZ];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0 ||
	       (n == -1 && errno == EINTR))
		if (n > 0 && send_all(fd, buf, (size_t)n) == -1)
			break;
}

static void
child_main(int lfd, pid_t master)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != master)
		_exit(1);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd == -1)
			continue;
		serve(fd);
		close(fd);
	}
}

static void
spawn(int lfd)
{
	pid_t master = getpid();

	switch (fork()) {
	case -1:
		sleep(1); /* and let the next wait() try again */
		break;
	case 0:
		child_main(lfd, master);
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int on = 1, lfd, n;

	if (argc != 3 || (n = atoi(argv[2])) < 1)
		return 2;
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* The same backlog as preforkd's default. */
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 128) == -1)
		return 1;
	for (int i = 0; i < n; i++)
		spawn(lfd);
	/* Respawn at once, one child for each that died (or failed to fork). */
	for (;;)
		if (wait(NULL) > 0 || errno == ECHILD)
			spawn(lfd);
}
