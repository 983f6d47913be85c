/* One worker's life: accept, serve one client at a time, repeat. */
#ifndef PREFORKD_WORKER_H
#define PREFORKD_WORKER_H

#include <stdbool.h>
#include <sys/types.h>

#include "exitcode.h"

struct config;
struct listener_set;

/* Privileges a worker takes on after fork(). */
struct worker_ids {
	bool change; /* a root master: switch to uid and gid, even 0 */
	uid_t uid;
	gid_t gid;
};

/*
 * Become a worker of conf->services[svc] in a freshly forked child:
 * close what is not ours, drop privileges, then accept and serve until told
 * to stop, keeping its scoreboard slot (index slot) up to date.  After
 * quota connections (0: never) it asks the master to recycle it.  A
 * service with datagram-only workers (config_dgram_workers) has them watch
 * its datagram sockets, dgram, and the others its streams.  Never
 * returns.
 */
void worker_main(const struct config *conf, size_t svc,
    const struct listener_set *listeners, const struct worker_ids *ids,
    pid_t master, unsigned generation, int slot, unsigned long quota,
    bool dgram) __attribute__((noreturn));

#endif
