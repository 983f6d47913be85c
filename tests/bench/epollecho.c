/*
 * epollecho: the event-driven reference of the benchmark, the shape the
 * targets of issue 5 are stated against: one process, one epoll set,
 * non-blocking sockets, level-triggered.  A readable client gets one recv()
 * of up to 64 KiB, sent back at once; what the socket does not take is kept
 * and the client is not read again until it has left, so no byte is lost
 * and no client holds more than 64 KiB here.
 *
 *   epollecho PORT      listens on 127.0.0.1:PORT until killed
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFSZ 65536

struct client {
	int fd;
	char *pending; /* bytes the socket did not take yet */
	size_t off, len;
};

static int ep;

static void
drop(struct client *c)
{
	close(c->fd); /* which takes it out of the epoll set */
	free(c->pending);
	free(c);
}

static void
watch(struct client *c, int op, unsigned events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(ep, op, c->fd, &ev) == -1)
		drop(c);
}

static void
on_accept(int lfd)
{
	struct client *c;
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) !=
	       -1) {
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		watch(c, EPOLL_CTL_ADD, EPOLLIN);
	}
}

/* Send what is kept; once it is all gone, read the client again. */
static void
on_writable(struct client *c)
{
	ssize_t n =
	    send(c->fd, c->pending + c->off, c->len - c->off, MSG_NOSIGNAL);

	if (n == -1 && errno != EAGAIN) {
		drop(c);
		return;
	}
	if (n > 0)
		c->off += (size_t)n;
	if (c->off == c->len) {
		free(c->pending);
		c->pending = NULL;
		watch(c, EPOLL_CTL_MOD, EPOLLIN);
	}
}

/* Echo one read; keep what the socket does not take and wait for room. */
static void
on_readable(struct client *c)
{
	static char buf[BUFSZ];
	ssize_t n = recv(c->fd, buf, sizeof(buf), 0), sent;

	if (n == -1 && errno == EAGAIN)
		return;
	if (n <= 0) {
		drop(c);
		return;
	}
	sent = send(c->fd, buf, (size_t)n, MSG_NOSIGNAL);
	if (sent == -1 && errno != EAGAIN) {
		drop(c);
		return;
	}
	if (sent < 0)
		sent = 0;
	if (sent == n)
		return;
	c->len = (size_t)(n - sent);
	c->off = 0;
	if ((c->pending = malloc(c->len)) == NULL) {
		drop(c);
		return;
	}
	memcpy(c->pending, buf + sent, c->len);
	watch(c, EPOLL_CTL_MOD, EPOLLOUT);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN }, events[64];
	int on = 1, lfd;

	if (argc != 2)
		return 2;
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* The same backlog as preforkd's default. */
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 128) == -1 || (ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return 1;
	/* The listener is the one entry without a client. */
	ev.data.ptr = NULL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1)
		return 1;
	for (;;) {
		int n = epoll_wait(ep, events, 64, -1);
		for (int i = 0; i < n; i++) {
			struct client *c = events[i].data.ptr;
			if (c == NULL)
				on_accept(lfd);
			else if (c->pending != NULL)
				on_writable(c);
			else
				on_readable(c);
		}
	}
}
