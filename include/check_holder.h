/* -t: who holds an address in use, from /proc (check_holder.c). */
#ifndef PREFORKD_CHECK_HOLDER_H
#define PREFORKD_CHECK_HOLDER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct addr;

/* A socket of /proc/net and what /proc/PID/fd tells of its holder. */
struct holder {
	unsigned long inode; /* 0: no such socket in /proc/net */
	long uid;            /* the socket's owner */
	pid_t pid;           /* 0: no process we may look into holds it */
	bool hidden;         /* some process's descriptors were not ours
	                        to read */
};

/* Does the /proc/net local address field ("0100007F:1B59") clash with a
 * bind of a: the same port, and the same address or a wildcard? */
bool check_holder_clashes(const char *field, const struct addr *a);
/* Fill h with the socket a's bind clashed with and the process holding
 * it that is not the child of another holder (a master, not a worker). */
void check_holder_find(const struct addr *a, struct holder *h);
/* Is pid the parent of this process, or one of its ancestors? */
bool check_holder_is_ancestor(pid_t pid);
/* pid's command line, bounded and printable, into buf. */
void check_holder_command(pid_t pid, char *buf, size_t size);
/* Is pid a preforkd (its command name)? */
bool check_holder_is_preforkd(pid_t pid);
/* The pidfile master pid holds; 0 with its path in buf, or -1. */
int check_holder_pidfile(pid_t pid, char *buf, size_t size);
/* The configuration file master pid was started with, absolute; 0 with
 * its path in buf, or -1. */
int check_holder_config(pid_t pid, char *buf, size_t size);

#endif
