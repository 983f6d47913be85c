/* The protocols' code: one blocking serve function each, and a datagram
 * answer for those with a UDP form.  Their names and flags are data, in
 * proto_info.h. */
#ifndef PREFORKD_PROTO_H
#define PREFORKD_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "conn.h"
#include "dgram.h"
#include "proto_info.h"

struct service;

/* A protocol's answer to one datagram: the pieces of one datagram. */
struct dgram_answer {
	struct iovec iov[2];
	int iovcnt;         /* 0: no answer */
	char scratch[1025]; /* room for a head the protocol formats */
};

/* The code of a protocol; its name and flags are proto_info[] of the same
 * index. */
struct protocol {
	/* Answer the datagram d holds at data (d->len bytes), or leave
	 * out->iovcnt 0; NULL when the protocol has no UDP form (and so
	 * proto_info's udp is false). */
	void (*answer)(const struct service *svc, const struct dgram *d,
	    const char *data, struct dgram_answer *out);
	/* Serve one client until it is done; never touches the master. */
	enum conn_end (*serve)(struct conn *conn, const struct service *svc);
};

/* The code of the protocol svc speaks, which config_load checked. */
const struct protocol *proto_of(const struct service *svc);
/* The code of the protocol info names (an entry of proto_info[]). */
const struct protocol *proto_code(const struct proto_info *info);

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

/* Send one answer and end the connection from our side (daytime, time):
 * END_CLOSED once it is sent, else how sending failed. */
enum conn_end proto_serve_once(struct conn *conn, const void *data, size_t len);

/* Set *out to head (headlen bytes) followed by the datagram's data. */
void proto_answer_with_head(struct dgram_answer *out, const char *head,
    size_t headlen, const struct dgram *d, const char *data);

/* The protocols' serve functions (proto_NAME.c): each serves one client to
 * its end and says how it ended; and their datagram answers. */
enum conn_end proto_echo_serve(struct conn *, const struct service *);
enum conn_end proto_discard_serve(struct conn *, const struct service *);
enum conn_end proto_prefix_serve(struct conn *, const struct service *);
enum conn_end proto_timestamp_serve(struct conn *, const struct service *);
enum conn_end proto_daytime_serve(struct conn *, const struct service *);
enum conn_end proto_time_serve(struct conn *, const struct service *);
enum conn_end proto_chargen_serve(struct conn *, const struct service *);
enum conn_end proto_status_serve(struct conn *, const struct service *);
void proto_echo_answer(const struct service *, const struct dgram *,
    const char *, struct dgram_answer *);
void proto_discard_answer(const struct service *, const struct dgram *,
    const char *, struct dgram_answer *);
void proto_prefix_answer(const struct service *, const struct dgram *,
    const char *, struct dgram_answer *);
void proto_timestamp_answer(const struct service *, const struct dgram *,
    const char *, struct dgram_answer *);
void proto_daytime_answer(const struct service *, const struct dgram *,
    const char *, struct dgram_answer *);
void proto_time_answer(const struct service *, const struct dgram *,
    const char *, struct dgram_answer *);
void proto_chargen_answer(const struct service *, const struct dgram *,
    const char *, struct dgram_answer *);

#endif
