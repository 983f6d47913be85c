/* The protocol table: a name and one blocking serve function each. */
#ifndef PREFORKD_PROTO_H
#define PREFORKD_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "conn.h"

struct service;

struct protocol {
	const char *name;
	bool framed; /* honours the service's framing (chunk or line) */
	/* Serve one client until it is done; never touches the master. */
	enum conn_end (*serve)(struct conn *conn, const struct service *svc);
};

/* The protocol called name, or NULL. */
const struct protocol *proto_find(const char *name);
/* "echo, discard, prefix, timestamp", for messages. */
const char *proto_names(void);

/* The size of the line buffer a worker of svc needs: max_line for a framed
 * protocol with line framing, else 0. */
size_t proto_line_buffer(const struct service *svc);

/* Shared by prefix and timestamp: for every piece of input -- each recv()
 * with chunk framing, each line with line framing -- send the head that
 * make_head writes into head (size headsize, returns its length) and the
 * piece itself, together in one write.  An overlong line gets one error
 * line. */
enum conn_end proto_serve_framed(struct conn *conn, const struct service *svc,
    size_t (*make_head)(const struct service *, char *head, size_t headsize));

/* The protocols' serve functions (proto_NAME.c): each serves one client to
 * its end and says how it ended. */
enum conn_end proto_echo_serve(struct conn *, const struct service *);
enum conn_end proto_discard_serve(struct conn *, const struct service *);
enum conn_end proto_prefix_serve(struct conn *, const struct service *);
enum conn_end proto_timestamp_serve(struct conn *, const struct service *);

#endif
