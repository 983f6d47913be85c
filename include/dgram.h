/* Datagrams: the only code that calls recvfrom() and sendmsg() on UDP. */
#ifndef PREFORKD_DGRAM_H
#define PREFORKD_DGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "addr.h"

/* The largest UDP payload over IPv4 (65535 - 20 - 8) and over IPv6
 * (65535 - 8, without jumbograms). */
#define DGRAM_MAX_IPV4 65507
#define DGRAM_MAX_IPV6 65527

/* One datagram received, and what was sent back to its sender. */
struct dgram {
	int fd;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	/* "host:port", for log lines */
	char peer_name[ADDR_STRLEN];
	size_t len;      /* bytes in the buffer */
	size_t full_len; /* the datagram's own length: more when cut */
	size_t sent;     /* bytes of the answer that left */
	size_t cut;      /* bytes of the answer cut off to fit a datagram */
	/* The address it was sent to, from IP_PKTINFO (dgram_want_local);
	 * family 0 when the socket does not say. */
	struct addr_source local;
};

/* Receive one datagram from fd into buf (size bytes; a longer one is cut
 * and d->full_len says by how much), and where it was sent to when the
 * socket says (dgram_want_local).  1 when one came, 0 when none was
 * waiting or a signal interrupted the wait, -1 on another failure (errno
 * set).  A zero-length datagram is a datagram. */
int dgram_recv(struct dgram *d, int fd, char *buf, size_t size);
/* Receive one datagram from fd, a Unix socket with SO_PASSCRED, into buf
 * (size bytes; *full_len says its own length, more when cut), and its
 * sender as the kernel tells it in *cred (pid 0 when it does not);
 * descriptors sent with it are closed, never kept.  1, 0 or -1 as
 * dgram_recv. */
int dgram_recv_cred(
    int fd, char *buf, size_t size, size_t *full_len, struct ucred *cred);
/* Have each datagram on fd (a socket of family) say the address it was
 * sent to, in d->local: one setsockopt(), once per socket; 0 or -1. */
int dgram_want_local(int fd, int family);
/* The largest answer that fits one datagram to the sender of d. */
size_t dgram_max(const struct dgram *d);
/* Send iov[0..iovcnt) back to the sender of d as one datagram, cut to
 * dgram_max (d->cut says how much was left out).  0, or -1 with errno set:
 * a sender that does not exist (ICMP unreachable) is its own affair. */
int dgram_send(struct dgram *d, struct iovec *iov, int iovcnt);

#endif
