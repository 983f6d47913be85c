/*
 * The protocol table.  Adding a protocol is one proto_NAME.c with its serve
 * function and one line here.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "conn.h"
#include "proto.h"

static const struct protocol protocols[] = {
	{ "echo", false, proto_echo_serve },
	{ "discard", false, proto_discard_serve },
	{ "prefix", true, proto_prefix_serve },
	{ "timestamp", true, proto_timestamp_serve },
};

const struct protocol *
proto_find(const char *name)
{
	for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++)
		if (strcmp(protocols[i].name, name) == 0)
			return &protocols[i];
	return NULL;
}

const char *
proto_names(void)
{
	return "echo, discard, prefix, timestamp";
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

enum conn_end
proto_serve_lines(struct conn *conn, const struct service *svc,
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
		struct iovec iov[2] = { { head, headlen },
			{ (void *)(uintptr_t)line, len } };
		if (conn_send_iov(conn, iov, 2) == -1)
			return conn->end;
	}
}
