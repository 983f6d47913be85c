/*
 * A connection's access line: when it started, its id, where it came in,
 * how long it queued, who it was for, what moved and how it ended.
 */
#ifndef PREFORKD_ACCESS_H
#define PREFORKD_ACCESS_H

#include <stddef.h>
#include <time.h>

#include "addr.h"
#include "conn.h"

struct client;
struct service;

/* "2026-11-22T23:45:01.123+00:00" and its NUL. */
#define ACCESS_TIME_LEN 30

struct access {
	long long start_ms;           /* clock_ms() at accept, for time= */
	char start[ACCESS_TIME_LEN];  /* the wall-clock time then */
	const char *local;            /* the address the client reached */
	char local_buf[ADDR_NAMELEN]; /* where local is, when asked of it */
	char queued[24];              /* "0.012s", or "-" when unknown */
};

/* A connection just accepted on conn from the listener bound to bound
 * (NULL: unknown): note its start, local address and time in the listen
 * queue, and give it the next id (conn->id). */
void access_begin(
    struct access *a, struct conn *conn, const struct addr *bound);
/* Log the connection's access line (log_access: to access_log, or with
 * the daemon's lines at level info); end is the word for how it ended
 * (conn_end_name, or admission's word for a refusal). */
void access_log(const struct access *a, const struct service *svc,
    const struct conn *conn, const struct client *c, const char *end);
/* Write tm (local time, with its tm_gmtoff) and msec as ISO 8601 with the
 * UTC offset, "2026-11-22T23:45:01.123+00:00", into buf; its length, 0
 * when size is too small. */
size_t access_format_time(
    const struct tm *tm, long msec, char *buf, size_t size);

#endif
