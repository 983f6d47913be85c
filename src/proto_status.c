/*
 * status: the scoreboard over TCP, for a monitor that cannot run
 * preforkd -s status on the host.  The client sends one request and gets
 * one answer, then the connection closes:
 *
 *   any line          the text of -s status
 *   GET /metrics ...  an HTTP answer in the Prometheus text format
 *   GET /anything     an HTTP answer with the text of -s status
 *
 * It reads the master's table through the read-only view scoreboard_get()
 * lends, as -s status reads the one it maps (status.c prints both).
 *
 * The answer is built in memory (open_memstream): a status request is
 * rare, and its size grows with the pool, so it is the one answer that
 * allocates.
 *
 * A monitor sends its request at once, so the worker waits for it at most
 * STATUS_REQUEST_MS, not idle_timeout: a status service has few workers,
 * and one silent connection must not time a scrape out.  The answer names
 * no client unless status_clients says so: anyone who may connect reads
 * it, while the scoreboard itself is the master user's alone.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "conn.h"
#include "log.h"
#include "proto.h"
#include "scoreboard.h"
#include "status.h"

/* How long the first byte of a request may take. */
#define STATUS_REQUEST_MS 1000

enum request { PLAIN, HTTP_TEXT, HTTP_METRICS };

/* What the first bytes the client sent ask for. */
static enum request
classify(const char *data, size_t len)
{
	static const char metrics[] = "GET /metrics";

	if (len >= sizeof(metrics) - 1 &&
	    memcmp(data, metrics, sizeof(metrics) - 1) == 0 &&
	    (len == sizeof(metrics) - 1 ||
	        strchr(" ?\r\n", data[sizeof(metrics) - 1]) != NULL))
		return HTTP_METRICS;
	if (len >= 4 && memcmp(data, "GET ", 4) == 0)
		return HTTP_TEXT;
	return PLAIN;
}

/* Send body, after an HTTP head for an HTTP request, in one write. */
static enum conn_end
send_answer(struct conn *conn, enum request req, const char *body, size_t len)
{
	char head[256];
	int headlen = 0;
	struct iovec iov[2];

	if (req != PLAIN)
		headlen = snprintf(head, sizeof(head),
		    "HTTP/1.0 200 OK\r\n"
		    "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		    "Content-Length: %zu\r\n"
		    "Connection: close\r\n\r\n",
		    len);
	iov[0].iov_base = head;
	iov[0].iov_len = (size_t)headlen;
	iov[1].iov_base = (void *)(uintptr_t)body;
	iov[1].iov_len = len;
	return conn_send_iov(conn, iov, 2) == -1 ? conn->end : END_CLOSED;
}

enum conn_end
proto_status_serve(struct conn *conn, const struct service *svc)
{
	const struct scoreboard *sb = scoreboard_get();
	char first;
	ssize_t n = conn_peek(conn, &first, 1, clock_ms() + STATUS_REQUEST_MS);
	enum request req;
	enum conn_end end;
	char *body = NULL;
	size_t len = 0;
	FILE *out;

	if (n > 0)
		n = conn_recv(conn); /* what is there: no wait */
	if (n <= 0)
		return n == 0 ? END_CLOSED : conn->end;
	req = classify(conn->chunk, (size_t)n);
	if (sb == NULL || (out = open_memstream(&body, &len)) == NULL) {
		log_warn("service %s: status: open_memstream for the answer",
		    svc->name);
		return END_ERROR;
	}
	if (req == HTTP_METRICS)
		status_print_prometheus(out, sb, clock_ms());
	else
		status_print(out, sb, clock_ms(), svc->status_clients);
	if (fclose(out) != 0) {
		free(body);
		log_warn("service %s: status: writing the answer (%zu bytes)",
		    svc->name, len);
		return END_ERROR;
	}
	end = send_answer(conn, req, body, len);
	free(body);
	return end;
}
