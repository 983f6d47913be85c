/*
 * Datagram I/O: one datagram in, at most one out, to whoever sent it.
 * recvmsg() rather than recvfrom(), at the same cost, so a datagram also
 * says where it was sent to (a wildcard socket's local address), which the
 * worker needs to know a datagram from its own address and port.  A
 * datagram longer than the buffer is cut (MSG_TRUNC tells its real size),
 * and an answer longer than the largest datagram is cut to fit, never
 * dropped; both are counted so the log can say so.  Nothing here can take
 * a worker down: a sender that has gone (ICMP unreachable) only fails the
 * one send.  The master's notify socket (master_notify.c) reads here too,
 * with each sender's credentials.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "dgram.h"

int
dgram_want_local(int fd, int family)
{
	int on = 1;

	if (family == AF_INET6)
		return setsockopt(
		    fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
	if (family == AF_INET)
		return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
	return 0;
}

/* The destination address in msg's IP_PKTINFO or IPV6_PKTINFO, as a
 * source (an IPv4-mapped one as IPv4), into *out; family 0 without. */
static void
read_local(struct msghdr *msg, struct addr_source *out)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL;
	     c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			out->family = AF_INET;
			out->prefix = 32;
			memcpy(out->bytes, &pi.ipi_addr, 4);
		} else if (c->cmsg_level == IPPROTO_IPV6 &&
		           c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			if (IN6_IS_ADDR_V4MAPPED(&pi.ipi6_addr)) {
				out->family = AF_INET;
				out->prefix = 32;
				memcpy(
				    out->bytes, pi.ipi6_addr.s6_addr + 12, 4);
			} else {
				out->family = AF_INET6;
				out->prefix = 128;
				memcpy(out->bytes, pi.ipi6_addr.s6_addr, 16);
			}
		}
	}
}

int
dgram_recv(struct dgram *d, int fd, char *buf, size_t size)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr msg = { .msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf) };
	ssize_t n;

	memset(d, 0, sizeof(*d));
	d->fd = fd;
	msg.msg_name = &d->peer;
	msg.msg_namelen = sizeof(d->peer);
	n = recvmsg(fd, &msg, MSG_TRUNC);
	if (n == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
		           ? 0
		           : -1;
	d->peer_len = msg.msg_namelen;
	read_local(&msg, &d->local);
	d->full_len = (size_t)n;
	d->len = (size_t)n < size ? (size_t)n : size;
	addr_format((const struct sockaddr *)&d->peer, d->peer_name,
	    sizeof(d->peer_name));
	return 1;
}

/*
 * A sender may attach descriptors (SCM_RIGHTS) to fill our table: those
 * that fit the control buffer are installed close-on-exec and closed at
 * once; the kernel drops the rest (MSG_CTRUNC).  The credentials are the
 * kernel's, whatever the sender wrote: only a sender with CAP_SYS_ADMIN
 * may claim another pid.
 */
int
dgram_recv_cred(
    int fd, char *buf, size_t size, size_t *full_len, struct ucred *cred)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred)) +
		         CMSG_SPACE(8 * sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr msg = { .msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf) };
	ssize_t n;

	memset(cred, 0, sizeof(*cred));
	n = recvmsg(fd, &msg, MSG_TRUNC | MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n == -1)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
		           ? 0
		           : -1;
	*full_len = (size_t)n;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL;
	     c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(*cred)))
			memcpy(cred, CMSG_DATA(c), sizeof(*cred));
		else if (c->cmsg_type == SCM_RIGHTS)
			for (size_t at = 0;
			     CMSG_LEN((at + 1) * sizeof(int)) <= c->cmsg_len;
			     at++) {
				int passed;
				memcpy(&passed, CMSG_DATA(c) + at * sizeof(int),
				    sizeof(int));
				close(passed);
			}
	}
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
