/* Talking to a running master from another process: preforkd -s. */
#ifndef PREFORKD_CONTROL_H
#define PREFORKD_CONTROL_H

enum control_result {
	CONTROL_OK,
	CONTROL_NO_MASTER, /* no running master behind the pidfile */
	CONTROL_TIMEOUT,   /* it did not finish within the time allowed */
	CONTROL_FAILED,    /* it said no: a reload failed */
	/* sent, but the outcome cannot be read (no scoreboard) */
	CONTROL_UNCONFIRMED,
	/* an upgrade or a reload was under way: nothing done */
	CONTROL_BUSY,
	/* the new image runs, but its workers cannot start */
	CONTROL_STALLED,
};

/* Print the running master's scoreboard on stdout. */
enum control_result control_status(const char *pidfile);
/*
 * Send signo to the master named in pidfile, then wait at most wait_s
 * seconds (0: do not wait) for the outcome: for SIGTERM and SIGQUIT until
 * the master has let go of its pidfile, for SIGHUP until the reload is
 * done and the new generation's workers wait for clients.  Says on stderr
 * what went wrong.
 */
enum control_result control_signal(const char *pidfile, int signo, int wait_s);

#endif
