/*
 * Upgrade in place (SIGUSR2, -s upgrade): the master runs the binary now
 * at the path it was started from, with its start's arguments and
 * environment, in place of itself -- same pid, so the pidfile and a
 * service manager's main pid stay right -- as HAProxy's master-worker mode
 * and einhorn do, not by forking a second master as nginx does.
 *
 * Why this file is long: the writer and the reader of the hand-over share
 * its format, which must change in one place for both (more below).
 *
 * Three steps, the first two changing nothing:
 *  1. pre-flight: the new binary runs as a child, "-t -c CONF -p PIDFILE",
 *     with $PREFORKD_UPGRADE_CHECK naming the hand-over format and the
 *     scoreboard layout; it must exit 0 and say it reads both.  Else the
 *     old image carries on and -s upgrade is told why.
 *  2. hand-over: a versioned text in a memfd (generation, the children,
 *     the listeners, the pidfile, the scoreboard and poke pipe) and the
 *     close-on-exec flag cleared on exactly the descriptors named there.
 *  3. execve.  When it fails, the flags are set again and nothing else
 *     changed.  The new image (main.c, then master_upgrade_adopt) takes
 *     the listeners through listener_adopt, as socket activation's, maps
 *     the same scoreboard, adopts the workers -- they are its children,
 *     the pid being the same -- and retires them by a new generation as
 *     a reload does.
 *
 * The workers notice nothing: an execve does not end the thread that
 * forked them, so PR_SET_PDEATHSIG does not fire; a SIGKILL of the master
 * does, whenever it comes.  The file-statics here are the start's command
 * line and environment, written once before the first fork.
 *
 * Over 600 lines on purpose: the writer and the reader of the hand-over
 * (the old image's side, then the new one's) share its format, which must
 * change in one place for both.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "exitcode.h"
#include "log.h"
#include "master_state.h"
#include "master_upgrade.h"
#include "scoreboard.h"

#ifndef PREFORKD_VERSION
#define PREFORKD_VERSION "unknown"
#endif

/* The hand-over text's format: a new one for any change in its lines. */
#define HANDOVER_FORMAT 1
#define HANDOVER_MAX (1 << 20)
#define ENV_FD "PREFORKD_UPGRADE_FD"
#define ENV_CHECK "PREFORKD_UPGRADE_CHECK"
/* How long the pre-flight may take before it counts as failed. */
#define PREFLIGHT_MS 10000
#define WHY_LEN 400

extern char **environ;

/* How this process was started: what an upgrade runs again. */
static struct {
	char **argv;
	char **envp;
	char *binary; /* absolute; NULL: not found at start */
} origin;

struct upgrade_child {
	pid_t pid;
	int slot;
	size_t service;
	unsigned generation;
	int stage;
	long long started, deadline, timeout;
	unsigned long quota;
	int recycling;
	char name[40];
};

struct upgrade_state {
	char version[32];
	unsigned generation;
	long long began; /* ms, monotonic: when the old image was asked */
	int pidfile_fd;
	char pidfile[PATH_MAX];
	int board_fd, poke[2];
	struct listener_inherited *listeners;
	size_t nlisteners;
	struct upgrade_child *children;
	size_t nchildren;
};

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

/* Step 2: the hand-over text in a memfd, at offset 0; its descriptor
 * (close-on-exec still), or -1. */
static int
handover_write(const struct master *m, long long began)
{
	int fd = memfd_create("preforkd-upgrade", MFD_CLOEXEC);
	int board, poke_r, poke_w;

	if (fd == -1)
		return -1;
	scoreboard_handover(&board, &poke_r, &poke_w);
	dprintf(fd, "preforkd-upgrade %d\nversion %s\ngeneration %u\n",
	    HANDOVER_FORMAT, PREFORKD_VERSION, m->generation);
	dprintf(fd, "binary %s\n", origin.binary);
	dprintf(fd, "began %lld\nscoreboard %d %d %d\npidfile %d %s\n", began,
	    board, poke_r, poke_w, daemon_pidfile_fd(), daemon_pidfile_path());
	for (size_t i = 0; i < m->listeners->count; i++) {
		const struct listener *l = &m->listeners->items[i];
		if (l->fd != -1)
			dprintf(fd, "listener %d %d %ju %ju\n", l->fd,
			    (int)l->passed, (uintmax_t)l->dev,
			    (uintmax_t)l->ino);
	}
	for (size_t i = 0; i < m->nchildren; i++) {
		const struct child *c = &m->children[i];
		dprintf(fd, "child %ld %d %zu %u %d %lld %lld %lld %lu %d %s\n",
		    (long)c->pid, c->slot, c->service, c->generation,
		    (int)c->stage, c->started, c->deadline, c->timeout,
		    c->quota, (int)c->recycling, c->name);
	}
	if (dprintf(fd, "end\n") < 0 || lseek(fd, 0, SEEK_SET) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The descriptors that cross the exec: the hand-over, the pidfile (its
 * locks go with the descriptor and the process), the scoreboard and the
 * poke pipe (the old workers keep writing to both), the listeners (their
 * queues must never close).  Everything else stays close-on-exec and is
 * opened again by the new image.  Their number. */
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
	size_t room = m->listeners->count + 5, n;
	int handover, *fds = calloc(room, sizeof(*fds)), err;
	char var[32], **env;

	if (fds == NULL || (handover = handover_write(m, began)) == -1) {
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
	if (under_way(m)) {
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
	if (sscanf(asked, "%u %31s", &format, layout) == 2 &&
	    format == HANDOVER_FORMAT &&
	    strcmp(layout, scoreboard_layout()) == 0) {
		printf("upgrade-check: ok preforkd %s format %d %s\n",
		    PREFORKD_VERSION, HANDOVER_FORMAT, scoreboard_layout());
		return 0;
	}
	printf("upgrade-check: preforkd %s reads hand-over format %d and "
	       "scoreboard %s, not \"%.40s\"\n",
	    PREFORKD_VERSION, HANDOVER_FORMAT, scoreboard_layout(), asked);
	return -1;
}

/* One line of the hand-over into up; -1 when it is not one we know. */
static int
parse_line(struct upgrade_state *up, const char *line)
{
	struct upgrade_child c = { 0 };
	struct listener_inherited l = { 0 };
	uintmax_t dev, ino;
	long pid;
	int passed, n = 0;

	if (sscanf(line, "version %31s", up->version) == 1 ||
	    sscanf(line, "generation %u", &up->generation) == 1 ||
	    sscanf(line, "began %lld", &up->began) == 1 ||
	    sscanf(line, "scoreboard %d %d %d", &up->board_fd, &up->poke[0],
	        &up->poke[1]) == 3)
		return 0;
	if (strncmp(line, "binary /", 8) == 0) {
		free(origin.binary);
		origin.binary = copy(line + 7);
		return 0;
	}
	if (sscanf(line, "pidfile %d %n", &up->pidfile_fd, &n) == 1 && n > 0) {
		snprintf(up->pidfile, sizeof(up->pidfile), "%s", line + n);
		return 0;
	}
	if (sscanf(line, "listener %d %d %ju %ju", &l.fd, &passed, &dev,
	        &ino) == 4) {
		struct listener_inherited *more = realloc(
		    up->listeners, (up->nlisteners + 1) * sizeof(*more));
		if (more == NULL)
			return -1;
		l.passed = passed != 0;
		l.dev = (dev_t)dev;
		l.ino = (ino_t)ino;
		up->listeners = more;
		up->listeners[up->nlisteners++] = l;
		return 0;
	}
	if (sscanf(line, "child %ld %d %zu %u %d %lld %lld %lld %lu %d %n",
	        &pid, &c.slot, &c.service, &c.generation, &c.stage, &c.started,
	        &c.deadline, &c.timeout, &c.quota, &c.recycling, &n) == 10 &&
	    n > 0) {
		struct upgrade_child *more =
		    realloc(up->children, (up->nchildren + 1) * sizeof(*more));
		if (more == NULL)
			return -1;
		c.pid = (pid_t)pid;
		snprintf(c.name, sizeof(c.name), "%s", line + n);
		up->children = more;
		up->children[up->nchildren++] = c;
		return 0;
	}
	return strcmp(line, "end") == 0 ? 0 : -1;
}

static void
upgrade_free(struct upgrade_state *up)
{
	if (up == NULL)
		return;
	free(up->listeners);
	free(up->children);
	free(up);
}

/* The hand-over's text from fd, NUL-terminated; NULL after logging. */
static char *
read_handover(int fd)
{
	char *text = malloc(HANDOVER_MAX + 1);
	size_t len = 0;
	ssize_t n;

	if (text == NULL) {
		log_error("upgrade: the hand-over");
		return NULL;
	}
	while (len < HANDOVER_MAX &&
	       (n = read(fd, text + len, HANDOVER_MAX - len)) > 0)
		len += (size_t)n;
	text[len] = '\0';
	return text;
}

int
upgrade_inherited(struct upgrade_state **out)
{
	const char *var = getenv(ENV_FD);
	struct upgrade_state *up;
	char *text, *line, *save = NULL;
	int fd, format = 0, bad = 0;

	*out = NULL;
	if (var == NULL)
		return 0;
	fd = atoi(var);
	unsetenv(ENV_FD);
	if ((up = calloc(1, sizeof(*up))) == NULL ||
	    (text = read_handover(fd)) == NULL) {
		free(up);
		close(fd);
		return -1;
	}
	close(fd);
	up->pidfile_fd = up->board_fd = up->poke[0] = up->poke[1] = -1;
	line = strtok_r(text, "\n", &save);
	if (line == NULL || sscanf(line, "preforkd-upgrade %d", &format) != 1 ||
	    format != HANDOVER_FORMAT)
		bad = 1;
	while (!bad && (line = strtok_r(NULL, "\n", &save)) != NULL)
		bad = parse_line(up, line) == -1;
	free(text);
	if (bad || up->pidfile_fd == -1 || up->board_fd == -1 ||
	    up->pidfile[0] != '/') {
		log_errorx("upgrade: the hand-over in descriptor %d is not "
		           "one of format %d",
		    fd, HANDOVER_FORMAT);
		upgrade_free(up);
		return -1;
	}
	*out = up;
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
	size_t n = 0, room = up->nlisteners + 4;
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
master_upgrade_adopt(struct master *m, struct upgrade_state *up, long long now)
{
	char message[SCOREBOARD_MESSAGE_LEN];
	size_t adopted = 0;

	for (size_t i = 0; i < up->nchildren; i++) {
		const struct upgrade_child *u = &up->children[i];
		struct child c = {
			.pid = u->pid,
			.service = u->service,
			.generation = u->generation,
			.started = u->started,
			.stage = (enum child_stage)u->stage,
			.deadline = u->deadline,
			.slot = u->slot,
			.timeout = u->timeout,
			.quota = u->quota,
			.recycling = u->recycling != 0,
		};
		snprintf(c.name, sizeof(c.name), "%s", u->name);
		if (u->stage < CHILD_RUNNING || u->stage > CHILD_KILLED ||
		    !master_child_adopt(m, &c)) {
			log_warnx(
			    "upgrade: worker %ld handed over with slot %d "
			    "not adopted",
			    (long)u->pid, u->slot);
			continue;
		}
		scoreboard_adopt_slot(
		    u->slot, u->pid, u->service, u->generation);
		adopted++;
	}
	/* A generation after every one the old image had: its workers are
	 * all older, and retired once the new pools are complete. */
	m->generation = up->generation + 1;
	master_pool_publish(m);
	master_pool_adjust(m, now);
	master_pool_retire_old(m, now);
	snprintf(message, sizeof(message),
	    "upgraded: preforkd %s -> %s, generation %u", up->version,
	    PREFORKD_VERSION, m->generation);
	log_notice("%s (in %lld ms), %zu worker(s) of the old "
	           "image adopted, %zu service(s), config %s",
	    message, now - up->began, adopted, m->conf->nservices,
	    m->conf->path);
	scoreboard_upgrade_done(SB_UPGRADE_OK, message);
	master_pool_notify(m, NOTIFY_READY, "");
	upgrade_free(up);
}
