/*
 * The protocols' code, and what prefix and timestamp share.  Adding a
 * protocol is one proto_NAME.c with its serve function, one line here and
 * one in proto_info.c, which spells its name.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "conn.h"
#include "log.h"
#include "proto.h"

/* exec's clients go to worker_exec.c (worker.c hands them over), never
 * here: reaching this is a broken invariant. */
static enum conn_end
exec_elsewhere(struct conn *conn, const struct service *svc)
{
	(void)conn;
	log_bug(
	    "service %s: an exec client reached the protocol table", svc->name);
}

static const struct protocol protocols[PROTO_COUNT] = {
	[PROTO_ECHO] = { proto_echo_answer, proto_echo_serve },
	[PROTO_DISCARD] = { proto_discard_answer, proto_discard_serve },
	[PROTO_PREFIX] = { proto_prefix_answer, proto_prefix_serve },
	[PROTO_TIMESTAMP] = { proto_timestamp_answer, proto_timestamp_serve },
	[PROTO_DAYTIME] = { proto_daytime_answer, proto_daytime_serve },
	[PROTO_TIME] = { proto_time_answer, proto_time_serve },
	[PROTO_CHARGEN] = { proto_chargen_answer, proto_chargen_serve },
	[PROTO_STATUS] = { NULL, proto_status_serve },
	[PROTO_EXEC] = { NULL, exec_elsewhere },
};

const struct protocol *
proto_code(const struct proto_info *info)
{
	return &protocols[info - proto_info];
}

const struct protocol *
proto_of(const struct service *svc)
{
	return proto_code(svc->protocol);
}

enum conn_end
proto_serve_once(struct conn *conn, const void *data, size_t len)
{
	if (conn_send_all(conn, data, len) == -1)
		return conn->end;
	/* A client that sent something first (nc sends its input) would
	 * otherwise get a reset for its unread bytes, and a reset can
	 * destroy the answer before the client reads it: xinetd's daytime
	 * loses its answer that way. */
	conn_linger(conn);
	return END_CLOSED;
}

/* Tell the client its line was too long, then give up on it. */
static enum conn_end
refuse_overlong(struct conn *conn, size_t max_line)
{
	char msg[96];
	int n = snprintf(msg, sizeof(msg),
	    "error: line longer than %zu bytes, closing\n", max_line);

	conn_send_all(conn, msg, (size_t)n);
	return END_OVERLONG;
}

size_t
proto_line_buffer(const struct service *svc)
{
	return svc->protocol->framed && svc->framing == FRAMING_LINE
	           ? svc->max_line
	           : 0;
}

void
proto_answer_with_head(struct dgram_answer *out, const char *head,
    size_t headlen, const struct dgram *d, const char *data)
{
	out->iov[0].iov_base = (void *)(uintptr_t)head;
	out->iov[0].iov_len = headlen;
	out->iov[1].iov_base = (void *)(uintptr_t)data;
	out->iov[1].iov_len = d->len;
	out->iovcnt = 2;
}

/* Send head and body in one write; 0, or -1 with conn->end set. */
static int
send_answer(struct conn *conn, const char *head, size_t headlen,
    const char *body, size_t len)
{
	struct iovec iov[2] = { { (void *)(uintptr_t)head, headlen },
		{ (void *)(uintptr_t)body, len } };

	return conn_send_iov(conn, iov, 2);
}

/* Chunk framing: answer each recv() as it comes, as the tutorials do. */
static enum conn_end
serve_chunks(struct conn *conn, const struct service *svc,
    size_t (*make_head)(const struct service *, char *, size_t))
{
	char head[1024 + 1];

	for (;;) {
		ssize_t n = conn_recv(conn);

		if (n == 0)
			return END_CLOSED;
		if (n == -1 ||
		    send_answer(conn, head, make_head(svc, head, sizeof(head)),
		        conn->chunk, (size_t)n) == -1)
			return conn->end;
	}
}

/* Line framing: answer each whole line, however the reads cut it. */
static enum conn_end
serve_lines(struct conn *conn, const struct service *svc,
    size_t (*make_head)(const struct service *, char *, size_t))
{
	char head[1024 + 1];

	for (;;) {
		const char *line;
		size_t len, headlen;

		switch (conn_read_line(conn, &line, &len)) {
		case LINE_EOF:
			return END_CLOSED;
		case LINE_FAILED:
			return conn->end;
		case LINE_OVERLONG:
			return refuse_overlong(conn, svc->max_line);
		case LINE_OK:
			break;
		}
		headlen = make_head(svc, head, sizeof(head));
		if (send_answer(conn, head, headlen, line, len) == -1)
			return conn->end;
	}
}

enum conn_end
proto_serve_framed(struct conn *conn, const struct service *svc,
    size_t (*make_head)(const struct service *, char *, size_t))
{
	if (svc->framing == FRAMING_LINE)
		return serve_lines(conn, svc, make_head);
	return serve_chunks(conn, svc, make_head);
}
