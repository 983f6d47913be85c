/*
 * Upgrade in place (SIGUSR2, -s upgrade): the master runs the binary now
 * at the path it was started from, with its start's arguments and
 * environment, in place of itself -- same pid, so the pidfile and a
 * service manager's main pid stay right -- as HAProxy's master-worker mode
 * and einhorn do, not by forking a second master as nginx does.
 *
 * Three steps, the first two changing nothing:
 *  1. pre-flight: the new binary runs as a child, "-t -c CONF -p PIDFILE",
 *     with $PREFORKD_UPGRADE_CHECK naming the hand-over format and the
 *     scoreboard layout; it must exit 0 and say it reads both.  Else the
 *     old image carries on and -s upgrade is told why.
 *  2. hand-over: a versioned text in a memfd (master_handover.c) and the
 *     close-on-exec flag cleared on exactly the descriptors named there.
 *  3. execve.  When it fails, the flags are set again and nothing else
 *     changed.  The new image (main.c, then this file's second half) reads
 *     the hand-over, takes the listeners through listener_adopt, as socket
 *     activation's, and maps the same scoreboard; master_upgrade_adopt.c
 *     adopts the workers -- they are its children, the pid being the same
 *     -- and answers -s upgrade.
 *
 * The workers notice nothing: an execve does not end the thread that
 * forked them, so PR_SET_PDEATHSIG does not fire; a SIGKILL of the master
 * does, whenever it comes.  The file-statics here are the start's command
 * line and environment, written once before the first fork.
 *
 * A little over 600 lines: the old image's side and the new one's
 * start-up share the start's command line (origin) and the list of the
 * descriptors that cross, which must stay in one place.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "exitcode.h"
#include "log.h"
#include "master_handover.h"
#include "master_state.h"
#include "master_upgrade.h"
#include "scoreboard.h"

#ifndef PREFORKD_VERSION
#define PREFORKD_VERSION "unknown"
#endif

#define ENV_FD "PREFORKD_UPGRADE_FD"
#define ENV_CHECK "PREFORKD_UPGRADE_CHECK"
/* How long the pre-flight may take before it counts as failed. */
#define PREFLIGHT_MS 10000
#define WHY_LEN UPGRADE_WHY_LEN

extern char **environ;

/* How this process was started: what an upgrade runs again. */
static struct {
	char **argv;
	char **envp;
	char *binary; /* absolute; NULL: not found at start */
} origin;

static char *
copy(const char *s)
{
	char *c = strdup(s);

	if (c == NULL)
		fatal(EXIT_RESOURCE, "upgrade: copy of the command line");
	return c;
}

static char **
copy_vector(char *const *v)
{
	size_t n = 0;
	char **c;

	while (v[n] != NULL)
		n++;
	if ((c = calloc(n + 1, sizeof(*c))) == NULL)
		fatal(EXIT_RESOURCE, "upgrade: copy of the command line");
	for (size_t i = 0; i < n; i++)
		c[i] = copy(v[i]);
	return c;
}

/* name made absolute against the current directory, or found on $PATH
 * as execvp would; NULL when not found. */
static char *
resolve(const char *name)
{
	const char *path = getenv("PATH");
	char *found = NULL;

	if (strchr(name, '/') != NULL) {
		char cwd[PATH_MAX];

		if (name[0] == '/')
			return copy(name);
		while (strncmp(name, "./", 2) == 0)
			name += 2;
		if (getcwd(cwd, sizeof(cwd)) == NULL ||
		    asprintf(&found, "%s/%s", cwd, name) == -1)
			return NULL;
		return found;
	}
	for (const char *dir = path != NULL ? path : "/usr/bin:/bin";
	     *dir != '\0';) {
		size_t len = strcspn(dir, ":");
		if (len > 0 && dir[0] == '/' &&
		    asprintf(&found, "%.*s/%s", (int)len, dir, name) != -1) {
			if (access(found, X_OK) == 0)
				return found;
			free(found);
			found = NULL;
		}
		dir += len + (dir[len] == ':');
	}
	return NULL;
}

void
upgrade_remember(int argc, char **argv)
{
	(void)argc;
	origin.argv = copy_vector(argv);
	origin.envp = copy_vector(environ);
	/* An upgraded image was started from the path in the hand-over:
	 * its argv[0] may be relative to a directory left long ago. */
	if (getenv(ENV_FD) == NULL && argv[0] != NULL)
		origin.binary = resolve(argv[0]);
}

/* The environment of the start, without what was meant for the start
 * alone (the sockets a manager passed) or for one upgrade, plus extra
 * (NULL: none).  NULL when out of memory. */
static char **
environment(const char *extra)
{
	static const char *const dropped[] = { "LISTEN_PID=", "LISTEN_FDS=",
		"LISTEN_FDNAMES=", ENV_FD "=", ENV_CHECK "=" };
	size_t n = 0, k = 0;
	char **env;

	while (origin.envp[n] != NULL)
		n++;
	if ((env = calloc(n + 2, sizeof(*env))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool keep = true;
		for (size_t d = 0; d < sizeof(dropped) / sizeof(*dropped); d++)
			keep &= strncmp(origin.envp[i], dropped[d],
			            strlen(dropped[d])) != 0;
		if (keep)
			env[k++] = origin.envp[i];
	}
	env[k] = (char *)(uintptr_t)extra;
	return env;
}

/* Printable ASCII lines of s, in place: what a binary said is shown,
 * never obeyed by a terminal. */
static void
tame(char *s)
{
	for (; *s != '\0'; s++)
		if ((*s < 0x20 && *s != '\n') || *s > 0x7e)
			*s = '?';
}

/* The last non-empty line of out (changed in place) that is not the
 * check's answer; "" when none. */
static const char *
last_line(char *out)
{
	char *line = NULL;

	for (char *p = strtok(out, "\n"); p != NULL; p = strtok(NULL, "\n"))
		if (strncmp(p, "upgrade-check:", 14) != 0 || line == NULL)
			line = p;
	return line != NULL ? line : "";
}

/* Read the pre-flight's output until it ends or deadline; -1 on
 * timeout. */
static int
read_output(int fd, char *out, size_t size, long long deadline)
{
	size_t len = 0;

	out[0] = '\0';
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - clock_ms();
		char buf[512];
		ssize_t n;
		if (left <= 0 || poll(&p, 1, (int)left) == 0)
			return -1;
		if ((n = read(fd, buf, sizeof(buf))) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		/* Keep the end: the verdict is the last line. */
		if ((size_t)n >= size - 1 - len) {
			size_t drop = (size_t)n - (size - 1 - len);
			if (drop > len)
				drop = len;
			memmove(out, out + drop, len - drop);
			len -= drop;
		}
		if ((size_t)n > size - 1 - len)
			n = (ssize_t)(size - 1 - len);
		memcpy(out + len, buf, (size_t)n);
		len += (size_t)n;
		out[len] = '\0';
	}
}

/* The pre-flight child: its output into the pipe, signals as a fresh
 * process has them, gone with the master. */
__attribute__((noreturn)) static void
preflight_child(int out, char **argv, char **env)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigaction(SIGPIPE, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	dup2(out, STDOUT_FILENO);
	dup2(out, STDERR_FILENO);
	execve(argv[0], argv, env);
	dprintf(STDERR_FILENO, "execve: %s\n", strerror(errno));
	_exit(127);
}

/* Wait for pid until deadline, then kill it; its status. */
static int
preflight_wait(pid_t pid, long long deadline)
{
	int status = 0;

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (clock_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
	}
	return status;
}

/* Make why say what the pre-flight's output and status say. */
static void
preflight_verdict(int status, bool timed_out, char *out, char *version,
    size_t vsize, char *why)
{
	char *answer = strstr(out, "upgrade-check: ok preforkd ");
	unsigned format = 0;
	char layout[32] = "", ver[32] = "";

	tame(out);
	if (answer != NULL)
		sscanf(answer, "upgrade-check: ok preforkd %31s format %u %31s",
		    ver, &format, layout);
	if (timed_out)
		snprintf(why, WHY_LEN, "%s -t did not finish within %d s",
		    origin.binary, PREFLIGHT_MS / 1000);
	else if (!WIFEXITED(status))
		snprintf(why, WHY_LEN, "%s -t was killed by signal %s",
		    origin.binary, master_signal_name(WTERMSIG(status)));
	else if (WEXITSTATUS(status) != 0)
		snprintf(why, WHY_LEN, "%s -t exited with status %d%s%s",
		    origin.binary, WEXITSTATUS(status),
		    *last_line(out) != '\0' ? ": " : "", last_line(out));
	else if (format != HANDOVER_FORMAT ||
	         strcmp(layout, scoreboard_layout()) != 0)
		snprintf(why, WHY_LEN,
		    "%s does not say it reads hand-over format %d and "
		    "scoreboard %s: not a preforkd that can take over",
		    origin.binary, HANDOVER_FORMAT, scoreboard_layout());
	else
		snprintf(version, vsize, "%s", ver);
}

/* Step 1: the new binary checks the config and says it reads what we hand
 * over; 0 with its version, or -1 with why. */
static int
preflight(const struct master *m, char *version, size_t vsize, char *why)
{
	char check[64], *out,
	    *argv[8] = { origin.binary, "-t", "-c", m->conf->path, "-p",
		    (char *)(uintptr_t)daemon_pidfile_path(), NULL, NULL };
	long long deadline = clock_ms() + PREFLIGHT_MS;
	bool timed_out;
	char **env;
	int pipefd[2], status;
	pid_t pid;

	for (size_t i = 0; i < m->listeners->count; i++)
		if (m->listeners->items[i].passed)
			argv[6] = "-a"; /* the manager holds those addresses */
	version[0] = why[0] = '\0';
	if (access(origin.binary, X_OK) == -1) {
		snprintf(
		    why, WHY_LEN, "%s: %s", origin.binary, strerror(errno));
		return -1;
	}
	snprintf(check, sizeof(check), ENV_CHECK "=%d %s", HANDOVER_FORMAT,
	    scoreboard_layout());
	if ((out = malloc(4096)) == NULL ||
	    (env = environment(check)) == NULL) {
		free(out);
		snprintf(why, WHY_LEN, "out of memory");
		return -1;
	}
	if (pipe2(pipefd, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		snprintf(why, WHY_LEN, "pre-flight: %s", strerror(errno));
		free(env);
		free(out);
		return -1;
	}
	if (pid == 0)
		preflight_child(pipefd[1], argv, env);
	close(pipefd[1]);
	timed_out = read_output(pipefd[0], out, 4096, deadline) == -1;
	close(pipefd[0]);
	status = preflight_wait(pid, deadline);
	timed_out |= status == -1;
	preflight_verdict(status, timed_out, out, version, vsize, why);
	free(env);
	free(out);
	return why[0] == '\0' ? 0 : -1;
}

/* The descriptors that cross the exec: the hand-over, the pidfile (its
 * locks go with the descriptor and the process), the scoreboard and the
 * poke pipe (the old workers keep writing to both), the listeners (their
 * queues must never close), and each program's output pipe (a program
 * writes on, and a pipe made again would not reach it).  Everything else
 * stays close-on-exec and is opened again by the new image.  Their
 * number. */
static size_t
crossing(const struct master *m, int handover, int *fds, size_t room)
{
	size_t n = 0;
	int board, poke_r, poke_w;

	scoreboard_handover(&board, &poke_r, &poke_w);
	fds[n++] = handover;
	fds[n++] = daemon_pidfile_fd();
	fds[n++] = board;
	fds[n++] = poke_r;
	fds[n++] = poke_w;
	for (size_t i = 0; i < m->listeners->count && n < room; i++)
		if (m->listeners->items[i].fd != -1)
			fds[n++] = m->listeners->items[i].fd;
	for (size_t i = 0; i < m->nchildren && n < room; i++)
		if (m->children[i].program && m->children[i].out_fd != -1)
			fds[n++] = m->children[i].out_fd;
	return n;
}

/* Clear (cross true) or set close-on-exec on the n fds. */
static void
mark(const int *fds, size_t n, bool cross)
{
	for (size_t i = 0; i < n; i++) {
		int flags = fcntl(fds[i], F_GETFD);
		if (flags != -1)
			fcntl(fds[i], F_SETFD,
			    cross ? flags & ~FD_CLOEXEC : flags | FD_CLOEXEC);
	}
}

/* Step 3: hand over and exec; returns only when that failed, with why. */
static void
exec_new(const struct master *m, long long began, char *why)
{
	size_t room = m->listeners->count + m->nchildren + 5, n;
	int handover, *fds = calloc(room, sizeof(*fds)), err;
	char var[32], **env;

	if (fds == NULL ||
	    (handover = master_handover_write(m, origin.binary, began)) == -1) {
		snprintf(why, WHY_LEN, "the hand-over: %s", strerror(errno));
		free(fds);
		return;
	}
	snprintf(var, sizeof(var), ENV_FD "=%d", handover);
	if ((env = environment(var)) == NULL) {
		snprintf(why, WHY_LEN, "the hand-over: %s", strerror(errno));
		close(handover);
		free(fds);
		return;
	}
	n = crossing(m, handover, fds, room);
	mark(fds, n, true);
	execve(origin.binary, origin.argv, env);
	err = errno;
	mark(fds, n, false);
	close(handover);
	free(env);
	free(fds);
	snprintf(why, WHY_LEN, "execve %s: %s", origin.binary, strerror(err));
}

/* A reload's or an upgrade's generation that has not yet retired the one
 * before: an old worker still running unasked. */
static bool
under_way(const struct master *m)
{
	for (size_t i = 0; i < m->nchildren; i++)
		if (m->children[i].generation < m->generation &&
		    m->children[i].stage == CHILD_RUNNING)
			return true;
	return false;
}

static void
refused(const struct master *m, const char *why)
{
	log_errorx("upgrade failed: %s; still running preforkd %s, "
	           "generation %u",
	    why, PREFORKD_VERSION, m->generation);
	scoreboard_upgrade_done(SB_UPGRADE_FAILED, why);
	master_pool_notify(m, NOTIFY_READY, "upgrade failed: ");
}

void
master_upgrade(struct master *m, int signo, long long now)
{
	char why[WHY_LEN], version[32];

	if (m->stopping)
		return;
	log_notice("received %s: upgrading to %s", master_signal_name(signo),
	    origin.binary != NULL ? origin.binary : "(unknown)");
	/* One whose workers cannot start may be followed by a better one
	 * (not one whose answer is still owed). */
	if (under_way(m) && m->upgrade_held != m->generation) {
		snprintf(why, sizeof(why),
		    "generation %u is still taking over from the one before: "
		    "try again once it has",
		    m->generation);
		log_warnx("upgrade refused: %s", why);
		scoreboard_upgrade_done(SB_UPGRADE_BUSY, why);
		return;
	}
	if (origin.binary == NULL) {
		refused(m, "the path preforkd was started from is unknown (not "
		           "found on PATH at start)");
		return;
	}
	scoreboard_upgrade_begin();
	master_pool_notify(m, NOTIFY_RELOADING, "upgrading: ");
	if (preflight(m, version, sizeof(version), why) == -1) {
		refused(m, why);
		return;
	}
	log_notice("upgrade: %s is preforkd %s and accepts %s; executing it "
	           "in place of preforkd %s (pid %ld stays)",
	    origin.binary, version, m->conf->path, PREFORKD_VERSION,
	    (long)getpid());
	exec_new(m, now, why);
	refused(m, why);
}

/* The new image's side. */

int
upgrade_check_answer(void)
{
	const char *asked = getenv(ENV_CHECK);
	char layout[32] = "";
	unsigned format = 0;

	if (asked == NULL)
		return 1;
	/* The answer names the format asked, which the asker checks. */
	if (sscanf(asked, "%u %31s", &format, layout) == 2 &&
	    format >= HANDOVER_OLDEST && format <= HANDOVER_FORMAT &&
	    strcmp(layout, scoreboard_layout()) == 0) {
		printf("upgrade-check: ok preforkd %s format %u %s\n",
		    PREFORKD_VERSION, format, scoreboard_layout());
		return 0;
	}
	printf("upgrade-check: preforkd %s reads hand-over formats %d to %d "
	       "and scoreboard %s, not \"%.40s\"\n",
	    PREFORKD_VERSION, HANDOVER_OLDEST, HANDOVER_FORMAT,
	    scoreboard_layout(), asked);
	return -1;
}

int
upgrade_inherited(struct upgrade_state **out)
{
	const char *var = getenv(ENV_FD);
	char *end;
	long fd;
	int rc;

	*out = NULL;
	if (var == NULL)
		return 0;
	errno = 0;
	fd = strtol(var, &end, 10);
	if (errno != 0 || end == var || *end != '\0' || fd < 0 ||
	    fd > INT_MAX) {
		log_errorx("upgrade: " ENV_FD " is not a descriptor");
		return -1;
	}
	unsetenv(ENV_FD);
	rc = master_handover_read((int)fd, out);
	close((int)fd);
	if (rc == -1)
		return -1;
	/* What the next upgrade runs: the path this one ran. */
	free(origin.binary);
	origin.binary = copy((*out)->binary);
	return 0;
}

/* For qsort: ints in order. */
static int
by_value(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

void
upgrade_close_others(const struct upgrade_state *up)
{
	size_t n = 0, room = up->nlisteners + up->nchildren + 4;
	int *keep = calloc(room, sizeof(*keep));
	unsigned from = 3;

	if (keep == NULL)
		return; /* they are close-on-exec again: a leak, no harm */
	keep[n++] = up->pidfile_fd;
	keep[n++] = up->board_fd;
	keep[n++] = up->poke[0];
	keep[n++] = up->poke[1];
	for (size_t i = 0; i < up->nlisteners; i++)
		keep[n++] = up->listeners[i].fd;
	for (size_t i = 0; i < up->nchildren; i++)
		if (up->children[i].out_fd != -1)
			keep[n++] = up->children[i].out_fd;
	qsort(keep, n, sizeof(*keep), by_value);
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned)keep[i] > from)
			close_range(from, (unsigned)keep[i] - 1, 0);
		from = (unsigned)keep[i] + 1;
	}
	close_range(from, ~0U, 0);
	free(keep);
}

const char *
upgrade_pidfile(const struct upgrade_state *up)
{
	return up->pidfile;
}

const char *
upgrade_old_version(const struct upgrade_state *up)
{
	return up->version;
}

/* Every descriptor handed over close-on-exec again, as all of ours are. */
static void
reclaim(const struct upgrade_state *up)
{
	int fds[4] = { up->pidfile_fd, up->board_fd, up->poke[0], up->poke[1] };

	mark(fds, 4, false);
	for (size_t i = 0; i < up->nlisteners; i++)
		mark(&up->listeners[i].fd, 1, false);
	for (size_t i = 0; i < up->nchildren; i++)
		if (up->children[i].out_fd != -1)
			mark(&up->children[i].out_fd, 1, false);
}

int
upgrade_take_over(struct upgrade_state *up, struct listener_set *set,
    const struct config *conf)
{
	reclaim(up);
	if (daemon_pidfile_adopt(up->pidfile_fd, up->pidfile) == -1)
		return -1;
	if (listener_adopt(set, conf, up->listeners, up->nlisteners) == -1)
		return -1;
	return scoreboard_adopt(
	    up->pidfile, up->board_fd, up->poke[0], up->poke[1]);
}

void
upgrade_trouble(struct upgrade_state *up, bool fatal, const char *what)
{
	char *into = fatal ? up->fatal : up->warning;

	if (into[0] == '\0')
		snprintf(into, WHY_LEN, "%s%s (see the log)", what,
		    fatal ? "" : " not as configured");
}

void
upgrade_log_fallback(
    struct upgrade_state *up, const struct config *conf, bool foreground)
{
	const char *where = log_where(conf->log, foreground);
	enum log_level level = (enum log_level)conf->log_level;
	char why[128];

	snprintf(why, sizeof(why), "%s", log_open_error(errno));
	if (strcmp(log_target(), where) == 0) {
		/* The log is open: access_log is what failed. */
		snprintf(up->warning, WHY_LEN,
		    "access_log %s: %s; access lines go to the log",
		    conf->access_log, why);
	} else {
		if (foreground || log_open("syslog", level) == -1)
			log_open("stderr", level);
		snprintf(up->warning, WHY_LEN, "log %s: %s; logging to %s",
		    where, why, log_target());
		if (conf->access_log != NULL)
			log_access_open(conf->access_log);
	}
	log_warnx("upgrade: %s; the old workers are kept (a reopen, SIGUSR1, "
	          "tries the file again)",
	    up->warning);
}
