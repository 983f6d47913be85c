/*
 * The one exit-status contract: what the daemon, -t and -s exit with, and
 * what a worker exits with for its master to read.  Listed in preforkd(8),
 * EXIT STATUS; etc/preforkd.service names EXIT_CONFIG and EXIT_USAGE in
 * RestartPreventExitStatus=, so a status that a restart can cure (out of
 * memory, a failed start) must never be one of those two.
 */
#ifndef PREFORKD_EXITCODE_H
#define PREFORKD_EXITCODE_H

/* The daemon's and the command line's statuses. */
enum preforkd_exit {
	EXIT_OK = 0,
	EXIT_CONFIG = 1,   /* the config file is missing or invalid */
	EXIT_USAGE = 2,    /* bad command line */
	EXIT_START = 3,    /* could not start: pidfile, bind, user, log */
	EXIT_SIGNAL = 4,   /* -s: no running master to signal */
	EXIT_TIMEOUT = 5,  /* -s: the master did not finish within -w */
	EXIT_REFUSED = 6,  /* -s reload: the new configuration was refused;
	                    * -s upgrade: the new binary was refused */
	EXIT_RESOURCE = 7, /* out of memory or another resource, at any time */
	EXIT_BUSY = 8,     /* -s upgrade: an upgrade or reload was under way */
	EXIT_STALLED = 9,  /* -s upgrade: the new image runs, -s reload: the
	                    * new generation runs, but its workers (a
	                    * reload's: its new programs, accept = false)
	                    * cannot start; the old ones keep serving */
};

/* A worker's statuses, read by the master (see WORKER SUPERVISION). */
enum worker_exit {
	WORKER_EXIT_OK = 0,    /* told to stop, or its master is gone */
	WORKER_EXIT_SICK = 1,  /* failed at run time: respawn, throttled */
	WORKER_EXIT_FATAL = 2, /* cannot work with this config: no respawn */
};

#endif
