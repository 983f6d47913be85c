/* timestamp: each line comes back after the time, as time_format says. */
#include <time.h>

#include "config.h"
#include "conn.h"
#include "proto.h"

static size_t
timestamp_head(const struct service *svc, char *head, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	/* 0 for an empty format; config.c rejects formats that overflow. */
	return strftime(head, size, svc->time_format, &tm);
}

enum conn_end
proto_timestamp_serve(struct conn *conn, const struct service *svc)
{
	return proto_serve_lines(conn, svc, timestamp_head);
}
