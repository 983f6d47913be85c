/*
 * The protocols as data: a name and what the config file needs to know of
 * each, with none of their code.  config.c reads this face alone, so the
 * config rooms link without the protocols, conn, dgram or the scoreboard;
 * proto.c keeps each protocol's code in a table of the same order.
 */
#ifndef PREFORKD_PROTO_INFO_H
#define PREFORKD_PROTO_INFO_H

#include <stdbool.h>

/* The protocols, in the order of proto_info[] and of proto.c's table. */
enum proto_id {
	PROTO_ECHO,
	PROTO_DISCARD,
	PROTO_PREFIX,
	PROTO_TIMESTAMP,
	PROTO_DAYTIME,
	PROTO_TIME,
	PROTO_CHARGEN,
	PROTO_STATUS,
	PROTO_EXEC, /* not a protocol of ours: the service's command */
	PROTO_COUNT
};

struct proto_info {
	const char *name;
	bool framed; /* honours the service's framing (chunk or line) */
	bool udp;    /* has a datagram form: may listen on udp: */
	/* The client speaks first, the server waits for it: the accept may
	 * wait for its first bytes (defer_accept = auto). */
	bool client_first;
};

extern const struct proto_info proto_info[PROTO_COUNT];

/* The protocol called name, or NULL. */
const struct proto_info *proto_info_find(const char *name);
/* "echo, discard, prefix, ...": every name in the table, for messages. */
const char *proto_info_names(void);

#endif
