/*
 * Datagram I/O: one datagram in, at most one out, to whoever sent it.  A
 * datagram longer than the buffer is cut (MSG_TRUNC tells its real size),
 * and an answer longer than the largest datagram is cut to fit, never
 * dropped; both are counted so the log can say so.  Nothing here can take
 * a worker down: a sender that has gone (ICMP unreachable) only fails the
 * one send.
 */
#include <errno.h>
#include <string.h>

#include "dgram.h"

int
dgram_recv(struct dgram *d, int fd, char *buf, size_t size)
{
	ssize_t n;

	memset(d, 0, sizeof(*d));
	d->fd = fd;
	d->peer_len = sizeof(d->peer);
	n = recvfrom(fd, buf, size, MSG_TRUNC, (struct sockaddr *)&d->peer,
	    &d->peer_len);
	if (n == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
		           ? 0
		           : -1;
	d->full_len = (size_t)n;
	d->len = (size_t)n < size ? (size_t)n : size;
	addr_format((const struct sockaddr *)&d->peer, d->peer_name,
	    sizeof(d->peer_name));
	return 1;
}

size_t
dgram_max(const struct dgram *d)
{
	return d->peer.ss_family == AF_INET6 ? DGRAM_MAX_IPV6 : DGRAM_MAX_IPV4;
}

/* Shorten iov so that it holds at most max bytes; returns what was cut. */
static size_t
cut_to(struct iovec *iov, int iovcnt, size_t max)
{
	size_t total = 0, cut = 0;

	for (int i = 0; i < iovcnt; i++) {
		if (total + iov[i].iov_len > max) {
			size_t keep = max - total;
			cut += iov[i].iov_len - keep;
			iov[i].iov_len = keep;
		}
		total += iov[i].iov_len;
	}
	return cut;
}

int
dgram_send(struct dgram *d, struct iovec *iov, int iovcnt)
{
	struct msghdr msg = { .msg_name = &d->peer,
		.msg_namelen = d->peer_len,
		.msg_iov = iov,
		.msg_iovlen = (size_t)iovcnt };
	ssize_t n;

	d->cut = cut_to(iov, iovcnt, dgram_max(d));
	do
		n = sendmsg(d->fd, &msg, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	d->sent = (size_t)n;
	return 0;
}
