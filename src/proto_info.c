/*
 * The protocols' names and flags: the one place a protocol's name is
 * spelled.  Data only, so that the config rooms can check a protocol
 * without linking its code (proto.c).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "proto_info.h"

/* name, framed, udp, client_first: daytime, time and chargen speak as
 * soon as a client connects. */
const struct proto_info proto_info[PROTO_COUNT] = {
	[PROTO_ECHO] = { "echo", false, true, true },
	[PROTO_DISCARD] = { "discard", false, true, true },
	[PROTO_PREFIX] = { "prefix", true, true, true },
	[PROTO_TIMESTAMP] = { "timestamp", true, true, true },
	[PROTO_DAYTIME] = { "daytime", false, true, false },
	[PROTO_TIME] = { "time", false, true, false },
	[PROTO_CHARGEN] = { "chargen", false, true, false },
	[PROTO_STATUS] = { "status", false, false, true },
	/* A program per connection (worker_exec.c): a stream only, and it
	 * may speak first. */
	[PROTO_EXEC] = { "exec", false, false, false },
};

const struct proto_info *
proto_info_find(const char *name)
{
	for (size_t i = 0; i < PROTO_COUNT; i++)
		if (strcmp(proto_info[i].name, name) == 0)
			return &proto_info[i];
	return NULL;
}

/* Built from the table, so a new protocol cannot be left out of the
 * messages that list them. */
const char *
proto_info_names(void)
{
	static char names[256];
	size_t used = 0;

	for (size_t i = 0; i < PROTO_COUNT && used < sizeof(names); i++)
		used += (size_t)snprintf(names + used, sizeof(names) - used,
		    "%s%s", i > 0 ? ", " : "", proto_info[i].name);
	return names;
}
