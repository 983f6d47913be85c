/*
 * forkecho: the reference for the benchmark -- the classic tutorial echo
 * server that preforkd replaces: accept, fork a child per client, echo,
 * exit.  Kept as plain as the tutorials write it.
 *
 *   forkecho PORT      listens on 127.0.0.1:PORT until killed
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int on = 1, lfd;

	if (argc != 2)
		return 2;
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	signal(SIGCHLD, SIG_IGN); /* children reap themselves */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 128) == -1)
		return 1;
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd == -1)
			continue;
		if (fork() == 0) {
			char buf[4096];
			ssize_t n;
			close(lfd);
			while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
				if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
					break;
			_exit(0);
		}
		close(fd);
	}
}
