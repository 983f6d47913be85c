/*
 * The access line, one per connection, written when it ends:
 *
 *   access service=echo client=C [proxy=P] in=6 out=6 time=0.003s
 *       end=closed local=L queued=0.000s start=2026-...+00:00 id=2840-7
 *
 * What it costs per connection: TCP_INFO (one system call), the wall
 * clock from the vDSO, and localtime_r() once a second at most, not once a
 * connection.  The local address is the listener's, formatted once per
 * worker; only a wildcard listener ("*:7") asks the socket (getsockname),
 * since there the client chose the address.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "client.h"
#include "clock.h"
#include "config.h"
#include "conn.h"
#include "log.h"
#include "unforked.h"

size_t
access_format_time(const struct tm *tm, long msec, char *buf, size_t size)
{
	long off = tm->tm_gmtoff;
	char sign = off < 0 ? '-' : '+';
	int n;

	if (off < 0)
		off = -off;
	n = snprintf(buf, size,
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ld%c%02ld:%02ld",
	    tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour,
	    tm->tm_min, tm->tm_sec, msec, sign, off / 3600, off % 3600 / 60);
	return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

/*
 * "PID-N": the worker's pid and its count of connections, unique among
 * the daemon's workers as long as the kernel does not hand a dead worker's
 * pid to a new one, and cheap: no shared counter to contend for.
 */
static void
next_id(char *id, size_t size)
{
	static pid_t pid WORKER_DATA;
	static unsigned long long count WORKER_DATA;

	if (pid == 0)
		pid = getpid(); /* workers only: after fork() */
	snprintf(id, size, "%ld-%llu", (long)pid, ++count);
}

/* Bound to every address of its family: the socket knows which one the
 * client reached. */
static bool
is_wildcard(const struct addr *bound)
{
	const struct sockaddr_in *sin = (const void *)&bound->ss;
	const struct sockaddr_in6 *sin6 = (const void *)&bound->ss;

	if (bound->ss.ss_family == AF_INET)
		return sin->sin_addr.s_addr == htonl(INADDR_ANY);
	if (bound->ss.ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
	return false;
}

/*
 * The name of the listener bound, formatted when a worker first needs it
 * and again only when its service's clients come in by another listener.
 */
static const char *
bound_name(const struct addr *bound)
{
	static const struct addr *named WORKER_DATA;
	static char name[ADDR_NAMELEN] WORKER_DATA;

	if (named != bound) {
		addr_format(
		    (const struct sockaddr *)&bound->ss, name, sizeof(name));
		named = bound;
	}
	return name;
}

/* The address the client reached on fd, accepted from bound (NULL:
 * unknown). */
static void
note_local(int fd, const struct addr *bound, struct access *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (bound != NULL && !is_wildcard(bound)) {
		a->local = bound_name(bound);
		return;
	}
	a->local = a->local_buf;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		addr_format((const struct sockaddr *)&ss, a->local_buf,
		    sizeof(a->local_buf));
	else
		snprintf(a->local_buf, sizeof(a->local_buf), "-");
}

/*
 * The time the client waited in the listen queue: on a socket accept()
 * has just returned, TCP_INFO's tcpi_last_data_sent is the time since the
 * kernel created it -- at the handshake's end, or with defer_accept at the
 * client's first bytes -- since nothing has been sent yet.  One system
 * call: about 1 % of a connection's cost here (see tests/bench/RESULTS.md).
 */
static void
note_queued(int fd, struct access *a)
{
	struct tcp_info ti;
	socklen_t tlen = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tlen) == 0 &&
	    tlen >= offsetof(struct tcp_info, tcpi_last_data_sent) +
	                sizeof(ti.tcpi_last_data_sent))
		snprintf(a->queued, sizeof(a->queued), "%u.%03us",
		    ti.tcpi_last_data_sent / 1000,
		    ti.tcpi_last_data_sent % 1000);
	else
		snprintf(a->queued, sizeof(a->queued), "-");
}

void
access_begin(struct access *a, struct conn *conn, const struct addr *bound)
{
	struct timespec now;

	a->start_ms = clock_ms();
	clock_gettime(CLOCK_REALTIME, &now);
	if (access_format_time(clock_local(now.tv_sec), now.tv_nsec / 1000000,
	        a->start, sizeof(a->start)) == 0)
		snprintf(a->start, sizeof(a->start), "-");
	next_id(conn->id, sizeof(conn->id));
	note_local(conn->fd, bound, a);
	note_queued(conn->fd, a);
}

/* Milliseconds as seconds in integers: printf's floating point is a
 * measurable part of a line that is written per connection. */
void
access_log(const struct access *a, const struct service *svc,
    const struct conn *conn, const struct client *c, const char *end)
{
	long long ms = clock_ms() - a->start_ms;

	if (ms < 0)
		ms = 0;
	log_access("access service=%s client=%s%s%s in=%llu out=%llu "
	           "time=%lld.%03llds end=%s local=%s queued=%s start=%s id=%s",
	    svc->name, c->name, c->proxy[0] != '\0' ? " proxy=" : "", c->proxy,
	    conn->bytes_in, conn->bytes_out, ms / 1000, ms % 1000, end,
	    a->local, a->queued, a->start, conn->id);
}
