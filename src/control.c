/*
 * preforkd -s: a short-lived process that signals the master and, where
 * the outcome matters to a script, waits for it.  It learns the outcome
 * without asking the master anything: a stop is over when the pidfile's
 * lock is free (the master lets go of it as the very last thing it does);
 * a reload (an upgrade) is over when the scoreboard counts one more reload
 * (upgrade), and its new workers are up when their slots say idle.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "control.h"
#include "daemon.h"
#include "log.h"
#include "scoreboard.h"
#include "status.h"

#define POLL_MS 10

static void
nap(void)
{
	nanosleep(&(struct timespec){ 0, POLL_MS * 1000000L }, NULL);
}

/* The master holding the lock on fd has exited. */
static bool
master_gone(int fd)
{
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
		return true;
	}
	return false;
}

/* kill() said EPERM: the master is another user's (root's, usually). */
static void
signal_refused(int signo, pid_t pid)
{
	log_errorx("kill -%s %ld: cannot signal a process of another user "
	           "(run preforkd -s as root or as the master's user)",
	    sigabbrev_np(signo), (long)pid);
}

enum control_result
control_status(const char *pidfile)
{
	struct scoreboard sb;

	if (daemon_pidfile_read(pidfile) == -1 ||
	    scoreboard_open(pidfile, &sb) == -1)
		return CONTROL_NO_MASTER;
	status_print(stdout, &sb, clock_ms(), true);
	scoreboard_close(&sb);
	return fflush(stdout) == 0 ? CONTROL_OK : CONTROL_FAILED;
}

/*
 * The reload's generation, or a newer one that took over from it, is the
 * current one, and every service of it has its starting number of workers
 * waiting for clients (or already serving one).  A newer one: a reopen or
 * another reload right after ours starts the next generation, and ours may
 * then never be complete.
 */
static bool
generation_ready(const struct scoreboard *sb, unsigned generation)
{
	struct scoreboard_header h;

	scoreboard_read_header(sb, &h);
	if (h.generation < generation)
		return false;
	for (unsigned i = 0; i < h.nservices && i < sb->nslots; i++) {
		struct status_counts c;
		status_count(sb, i, h.generation, &c);
		if (c.idle + c.busy < sb->services[i].workers)
			return false;
	}
	return true;
}

/* One round of a wait for the master: CONTROL_OK to look again (after a
 * nap), or why to give up. */
static enum control_result
keep_waiting(int lock_fd, long long deadline)
{
	if (master_gone(lock_fd)) {
		log_errorx("-s: the master exited");
		return CONTROL_NO_MASTER;
	}
	if (clock_ms() >= deadline)
		return CONTROL_TIMEOUT;
	nap();
	return CONTROL_OK;
}

/*
 * The table's message as it may reach a terminal: as it is when it is
 * printable ASCII (a config error's quotes stay quotes), else escaped
 * whole (log_escape) -- any worker can write the table, and a byte that
 * moves a cursor or ends a line is a worker's, not the master's.
 */
static const char *
shown(const char *message, char *out, size_t outsize)
{
	size_t len = strlen(message);

	for (size_t i = 0; i < len; i++)
		if (message[i] < 0x20 || message[i] > 0x7e) {
			log_escape(message, len, out, outsize);
			return out;
		}
	return message;
}

/* Wait for the reload the master counts after before; -1 when it died. */
static enum control_result
wait_reload(int lock_fd, const struct scoreboard *sb, uint32_t before,
    long long deadline)
{
	struct scoreboard_header h;
	enum control_result rc;

	for (;;) {
		scoreboard_read_header(sb, &h);
		if (h.reloads != before)
			break;
		if ((rc = keep_waiting(lock_fd, deadline)) != CONTROL_OK)
			return rc;
	}
	/* Any value but these two, which the master alone writes, is
	 * taken for a failure. */
	if (h.reload_result != SB_RELOAD_OK) {
		char message[4 * sizeof(h.reload_message) + 1];
		log_errorx("reload failed: %s",
		    shown(h.reload_message, message, sizeof(message)));
		return h.reload_result == SB_RELOAD_STALLED ? CONTROL_STALLED
		                                            : CONTROL_FAILED;
	}
	while (!generation_ready(sb, h.generation))
		if ((rc = keep_waiting(lock_fd, deadline)) != CONTROL_OK)
			return rc;
	return CONTROL_OK;
}

/*
 * Wait for the answer to the upgrade request the master counts after
 * before, then, when the new image runs, for its generation's workers.
 * The answer's line goes to stdout (the versions and the generation) or
 * stderr (why not).
 */
static enum control_result
wait_upgrade(int lock_fd, const struct scoreboard *sb, uint32_t before,
    long long deadline)
{
	char buf[4 * SCOREBOARD_MESSAGE_LEN + 1];
	struct scoreboard_header h;
	enum control_result rc;
	const char *message;

	for (;;) {
		scoreboard_read_header(sb, &h);
		if (h.upgrades != before)
			break;
		if ((rc = keep_waiting(lock_fd, deadline)) != CONTROL_OK)
			return rc;
	}
	message = shown(h.upgrade_message, buf, sizeof(buf));
	if (h.upgrade_result == SB_UPGRADE_BUSY) {
		log_errorx("upgrade not started: %s", message);
		return CONTROL_BUSY;
	}
	if (h.upgrade_result == SB_UPGRADE_STALLED) {
		log_errorx("%s", message);
		return CONTROL_STALLED;
	}
	if (h.upgrade_result != SB_UPGRADE_OK) {
		log_errorx("upgrade failed: %s", message);
		return CONTROL_FAILED;
	}
	while (!generation_ready(sb, h.generation))
		if ((rc = keep_waiting(lock_fd, deadline)) != CONTROL_OK) {
			if (rc == CONTROL_TIMEOUT)
				log_errorx(
				    "-s upgrade: the new binary runs, but "
				    "the workers of generation %u are not "
				    "all up; the old ones keep serving",
				    h.generation);
			return rc;
		}
	printf("%s\n", message);
	return fflush(stdout) == 0 ? CONTROL_OK : CONTROL_FAILED;
}

/* Whether signo's outcome is read from the scoreboard. */
static bool
waits_on_table(int signo)
{
	return signo == SIGHUP || signo == SIGUSR2;
}

static enum control_result
wait_exit(int lock_fd, long long deadline)
{
	while (!master_gone(lock_fd)) {
		if (clock_ms() >= deadline)
			return CONTROL_TIMEOUT;
		nap();
	}
	return CONTROL_OK;
}

enum control_result
control_signal(const char *pidfile, int signo, int wait_s)
{
	long long deadline = clock_ms() + (long long)wait_s * 1000;
	struct scoreboard sb = { 0 };
	struct scoreboard_header h = { 0 };
	enum control_result rc = CONTROL_OK;
	int fd;
	pid_t pid;

	/* Open before signalling: its lock is what tells us the end.  As
	 * daemon_pidfile_read opens it: never through a link, and never
	 * waiting -- a FIFO someone put at the path would block the open
	 * for ever, before any check could refuse it. */
	if ((fd = open(pidfile,
	         O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) == -1 ||
	    (pid = daemon_pidfile_read(pidfile)) == -1) {
		if (fd == -1)
			log_error("pidfile %s (is preforkd running?)", pidfile);
		else
			close(fd);
		return CONTROL_NO_MASTER;
	}
	/* Before the scoreboard, whose "Permission denied" would hide the
	 * reason: another user's master cannot be signalled at all. */
	if (kill(pid, 0) == -1 && errno == EPERM) {
		signal_refused(signo, pid);
		close(fd);
		return CONTROL_NO_MASTER;
	}
	/*
	 * Without the scoreboard (tmpfiles cleaning may delete it) the reload
	 * is still sent -- the master makes the file again as it reloads --
	 * but its outcome cannot be read: the exit status is then -w's, the
	 * one that says "sent, not confirmed".
	 */
	if (waits_on_table(signo) && wait_s > 0 &&
	    scoreboard_open(pidfile, &sb) == -1) {
		log_errorx("-s %s: cannot wait for the outcome without the "
		           "scoreboard; sending the signal all the same",
		    signo == SIGHUP ? "reload" : "upgrade");
		wait_s = 0;
		rc = CONTROL_UNCONFIRMED;
	} else if (waits_on_table(signo) && wait_s > 0) {
		scoreboard_read_header(&sb, &h);
	}
	/* One upgrade at a time: a second is answered, not queued behind
	 * the first (whose exec would swallow it). */
	if (signo == SIGUSR2 && wait_s > 0 && h.upgrading) {
		log_errorx("upgrade not started: an upgrade of pid %ld is "
		           "under way",
		    (long)pid);
		scoreboard_close(&sb);
		close(fd);
		return CONTROL_BUSY;
	}
	if (kill(pid, signo) == -1) {
		if (errno == EPERM)
			signal_refused(signo, pid);
		else
			log_error(
			    "kill -%s %ld", sigabbrev_np(signo), (long)pid);
		rc = CONTROL_NO_MASTER;
	} else if (wait_s > 0 && signo == SIGHUP) {
		rc = wait_reload(fd, &sb, h.reloads, deadline);
	} else if (wait_s > 0 && signo == SIGUSR2) {
		rc = wait_upgrade(fd, &sb, h.upgrades, deadline);
	} else if (wait_s > 0 && (signo == SIGTERM || signo == SIGQUIT)) {
		rc = wait_exit(fd, deadline);
	}
	if (rc == CONTROL_TIMEOUT)
		log_errorx("-s %s: the master (pid %ld) has not finished "
		           "after %d s",
		    signo == SIGHUP    ? "reload"
		    : signo == SIGUSR2 ? "upgrade"
		    : signo == SIGQUIT ? "quit"
		                       : "stop",
		    (long)pid, wait_s);
	scoreboard_close(&sb);
	close(fd);
	return rc;
}
