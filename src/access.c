/*
 * The access line, one per connection, written when it ends:
 *
 *   access service=echo client=C [proxy=P] in=6 out=6 time=0.003s
 *       end=closed local=L queued=0.000s start=2026-...+00:00 id=2840-7
 *
 * What it costs per connection: getsockname() and TCP_INFO (two system
 * calls), the wall clock from the vDSO, and localtime_r() once a second at
 * most, not once a connection.
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
	static pid_t pid;
	static unsigned long long count;

	if (pid == 0)
		pid = getpid(); /* workers only: after fork() */
	snprintf(id, size, "%ld-%llu", (long)pid, ++count);
}

/*
 * The local address (getsockname) and the time the client waited in the
 * listen queue: on a socket accept() has just returned, TCP_INFO's
 * tcpi_last_data_sent is the time since the kernel created it at the
 * handshake's end, since nothing has been sent yet.
 */
static void
note_arrival(int fd, struct access *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct tcp_info ti;
	socklen_t tlen = sizeof(ti);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		addr_format(
		    (const struct sockaddr *)&ss, a->local, sizeof(a->local));
	else
		snprintf(a->local, sizeof(a->local), "-");
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tlen) == 0 &&
	    tlen >= offsetof(struct tcp_info, tcpi_last_data_sent) +
	                sizeof(ti.tcpi_last_data_sent))
		snprintf(a->queued, sizeof(a->queued), "%.3fs",
		    (double)ti.tcpi_last_data_sent / 1000);
	else
		snprintf(a->queued, sizeof(a->queued), "-");
}

void
access_begin(struct access *a, struct conn *conn)
{
	struct timespec now;

	a->start_ms = clock_ms();
	clock_gettime(CLOCK_REALTIME, &now);
	if (access_format_time(clock_local(now.tv_sec), now.tv_nsec / 1000000,
	        a->start, sizeof(a->start)) == 0)
		snprintf(a->start, sizeof(a->start), "-");
	next_id(conn->id, sizeof(conn->id));
	note_arrival(conn->fd, a);
}

void
access_log(const struct access *a, const struct service *svc,
    const struct conn *conn, const struct client *c, const char *end)
{
	log_access("access service=%s client=%s%s%s in=%llu out=%llu "
	           "time=%.3fs end=%s local=%s queued=%s start=%s id=%s",
	    svc->name, c->name, c->proxy[0] != '\0' ? " proxy=" : "", c->proxy,
	    conn->bytes_in, conn->bytes_out,
	    (double)(clock_ms() - a->start_ms) / 1000, end, a->local, a->queued,
	    a->start, conn->id);
}
