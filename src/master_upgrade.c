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
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "exitcode.h"
#include "log.h"
#include "master_state.h"
#include "master_upgrade.h"
#include "pool.h"
#include "scoreboard.h"

#ifndef PREFORKD_VERSION
#define PREFORKD_VERSION "unknown"
#endif

/* The hand-over text's format: a new one for any change in its lines.
 * 2 added a child's dgram, program, ready, index, quit_signal and output
 * pipe to 1's lines; 1 is still read (what it lacks taken as a built-in
 * worker's), so that the image before 2 can upgrade to this one. */
#define HANDOVER_FORMAT 2
#define HANDOVER_OLDEST 1
#define HANDOVER_MAX (1 << 20)
#define ENV_FD "PREFORKD_UPGRADE_FD"
#define ENV_CHECK "PREFORKD_UPGRADE_CHECK"
/* How long the pre-flight may take before it counts as failed. */
#define PREFLIGHT_MS 10000
#define WHY_LEN 400
/* While the answer is owed: how often the master looks at the new
 * generation's workers. */
#define WATCH_MS 20

extern char **environ;

/* How this process was started: what an upgrade runs again. */
static struct {
	char **argv;
	char **envp;
	char *binary; /* absolute; NULL: not found at start */
} origin;

/* A child as the hand-over names it: struct child's fields, each one
 * checked against its bounds as it is read. */
struct upgrade_child {
	pid_t pid;
	int slot;
	size_t service;
	unsigned generation;
	int stage;
	long long started, deadline, timeout;
	unsigned long quota;
	bool recycling, dgram, program, ready;
	unsigned index;
	int quit_signal;
	int out_fd; /* a program's output pipe, crossing the exec; -1 */
	char name[40];
};

struct upgrade_state {
	int format; /* HANDOVER_OLDEST to HANDOVER_FORMAT */
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
	/* What this image could not do as a start would (upgrade_trouble):
	 * fatal keeps its workers from starting; "" when none. */
	char fatal[WHY_LEN], warning[WHY_LEN];
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
	/* The fields in parse_child's order. */
	for (size_t i = 0; i < m->nchildren; i++) {
		const struct child *c = &m->children[i];
		dprintf(fd,
		    "child %ld %d %zu %u %d %lld %lld %lld %lu %d %d %d %d "
		    "%u %d %d %s\n",
		    (long)c->pid, c->slot, c->service, c->generation,
		    (int)c->stage, c->started, c->deadline, c->timeout,
		    c->quota, (int)c->recycling, (int)c->dgram, (int)c->program,
		    (int)c->ready, c->index, c->quit_signal,
		    c->program ? c->out_fd : -1, c->name);
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
	/* One whose workers cannot start may be followed by a better
	 * one. */
	if (under_way(m) && !master_upgrade_holds(m)) {
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

/*
 * Reading the hand-over.  It comes from the old image (root, a memfd made
 * for this exec), yet a line cut short or garbled must be refused, not
 * read as numbers it does not hold: every field is a whole number within
 * its bounds, every line we know is there once (a child or a listener
 * line as often as it comes), and the text ends with "end".
 */

/* Times in ms (monotonic), bounded so that sums of two cannot overflow. */
#define TIME_MAX (LLONG_MAX / 4)

/* The lines that come once; all of them must. */
enum {
	SEEN_VERSION = 1 << 0,
	SEEN_GENERATION = 1 << 1,
	SEEN_BEGAN = 1 << 2,
	SEEN_BOARD = 1 << 3,
	SEEN_PIDFILE = 1 << 4,
	SEEN_BINARY = 1 << 5,
	SEEN_END = 1 << 6,
	SEEN_ALL = (1 << 7) - 1
};

/* The next field of *p: a decimal number in [lo, hi] followed by one
 * space or the end of the line, *p then past it; -1 when there is none,
 * it is garbled or out of bounds. */
static int
number(const char **p, long long lo, long long hi, long long *v)
{
	const char *s = *p;
	char *end;
	long long n;

	if (!isdigit((unsigned char)s[s[0] == '-']))
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || n < lo || n > hi || (*end != ' ' && *end != '\0'))
		return -1;
	*p = end + (*end == ' ');
	*v = n;
	return 0;
}

/* The same for a device or inode number, unsigned, of any size. */
static int
unsigned_number(const char **p, uintmax_t *v)
{
	char *end;

	if (!isdigit((unsigned char)**p))
		return -1;
	errno = 0;
	*v = strtoumax(*p, &end, 10);
	if (errno != 0 || (*end != ' ' && *end != '\0'))
		return -1;
	*p = end + (*end == ' ');
	return 0;
}

/* The rest of a line as a word of printable bytes, 1 to size - 1 long,
 * into out; -1 when it is not one. */
static int
word(const char *p, char *out, size_t size)
{
	size_t len = strlen(p);

	if (len == 0 || len >= size)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!isgraph((unsigned char)p[i]))
			return -1;
	memcpy(out, p, len + 1);
	return 0;
}

/* "child" and the fields handover_write writes, in its order; format 1
 * ends after recycling. */
static int
parse_child(struct upgrade_state *up, const char *p)
{
	static const long long bounds[][2] = {
		{ 1, INT_MAX },                  /* pid */
		{ 0, INT_MAX },                  /* slot, checked at adoption */
		{ 0, INT_MAX },                  /* service */
		{ 1, UINT_MAX },                 /* generation */
		{ CHILD_RUNNING, CHILD_KILLED }, /* stage */
		{ 0, TIME_MAX },                 /* started */
		{ 0, TIME_MAX },                 /* deadline */
		{ 0, TIME_MAX },                 /* timeout */
		{ 0, LONG_MAX },                 /* quota */
		{ 0, 1 },                        /* recycling */
		{ 0, 1 },                        /* dgram */
		{ 0, 1 },                        /* program */
		{ 0, 1 },                        /* ready */
		{ 0, UINT_MAX },                 /* index */
		{ 0, 64 },                       /* quit_signal */
		{ -1, INT_MAX },                 /* out_fd */
	};
	enum { N = sizeof(bounds) / sizeof(*bounds) };
	struct upgrade_child c = { 0 }, *more;
	/* A format 1 worker: no program, no datagram-only worker. */
	long long v[N] = { [15] = -1 };
	size_t fields = up->format == 1 ? 10 : N;

	for (size_t i = 0; i < fields; i++)
		if (number(&p, bounds[i][0], bounds[i][1], &v[i]) == -1)
			return -1;
	c = (struct upgrade_child){ .pid = (pid_t)v[0],
		.slot = (int)v[1],
		.service = (size_t)v[2],
		.generation = (unsigned)v[3],
		.stage = (int)v[4],
		.started = v[5],
		.deadline = v[6],
		.timeout = v[7],
		.quota = (unsigned long)v[8],
		.recycling = v[9] != 0,
		.dgram = v[10] != 0,
		.program = v[11] != 0,
		.ready = v[12] != 0,
		.index = (unsigned)v[13],
		.quit_signal = (int)v[14],
		.out_fd = (int)v[15] };
	if (word(p, c.name, sizeof(c.name)) == -1)
		return -1;
	/* Only a program has an output pipe, never on stdio, and is told
	 * to quit by a signal. */
	if ((c.out_fd != -1 && (!c.program || c.out_fd <= STDERR_FILENO)) ||
	    (c.program && c.quit_signal == 0))
		return -1;
	if ((more = realloc(
	         up->children, (up->nchildren + 1) * sizeof(*more))) == NULL)
		return -1;
	up->children = more;
	up->children[up->nchildren++] = c;
	return 0;
}

/* "listener FD PASSED DEV INO". */
static int
parse_listener(struct upgrade_state *up, const char *p)
{
	struct listener_inherited l = { 0 }, *more;
	uintmax_t dev, ino;
	long long fd, passed;

	if (number(&p, 0, INT_MAX, &fd) == -1 ||
	    number(&p, 0, 1, &passed) == -1 ||
	    unsigned_number(&p, &dev) == -1 ||
	    unsigned_number(&p, &ino) == -1 || *p != '\0')
		return -1;
	if ((more = realloc(
	         up->listeners, (up->nlisteners + 1) * sizeof(*more))) == NULL)
		return -1;
	l.fd = (int)fd;
	l.passed = passed != 0;
	l.dev = (dev_t)dev;
	l.ino = (ino_t)ino;
	up->listeners = more;
	up->listeners[up->nlisteners++] = l;
	return 0;
}

/* The lines that come once: which one line is (a SEEN_ bit), 0 when it
 * is none of them, -1 when it is one but garbled. */
static int
parse_once(struct upgrade_state *up, const char *line)
{
	const char *p;
	long long v[3];

	if (strncmp(line, "version ", 8) == 0)
		return word(line + 8, up->version, sizeof(up->version)) == 0
		           ? SEEN_VERSION
		           : -1;
	if (strncmp(line, "generation ", 11) == 0) {
		p = line + 11;
		if (number(&p, 1, UINT_MAX - 1, &v[0]) == -1 || *p != '\0')
			return -1;
		up->generation = (unsigned)v[0];
		return SEEN_GENERATION;
	}
	if (strncmp(line, "began ", 6) == 0) {
		p = line + 6;
		if (number(&p, 0, TIME_MAX, &up->began) == -1 || *p != '\0')
			return -1;
		return SEEN_BEGAN;
	}
	if (strncmp(line, "scoreboard ", 11) == 0) {
		p = line + 11;
		for (int i = 0; i < 3; i++)
			if (number(&p, 0, INT_MAX, &v[i]) == -1)
				return -1;
		if (*p != '\0')
			return -1;
		up->board_fd = (int)v[0];
		up->poke[0] = (int)v[1];
		up->poke[1] = (int)v[2];
		return SEEN_BOARD;
	}
	if (strncmp(line, "pidfile ", 8) == 0) {
		p = line + 8;
		if (number(&p, 0, INT_MAX, &v[0]) == -1 || *p != '/' ||
		    strlen(p) >= sizeof(up->pidfile))
			return -1;
		up->pidfile_fd = (int)v[0];
		memcpy(up->pidfile, p, strlen(p) + 1);
		return SEEN_PIDFILE;
	}
	if (strncmp(line, "binary ", 7) == 0) {
		if (line[7] != '/' || strlen(line + 7) >= PATH_MAX)
			return -1;
		free(origin.binary);
		origin.binary = copy(line + 7);
		return SEEN_BINARY;
	}
	return strcmp(line, "end") == 0 ? SEEN_END : 0;
}

/* One line of the hand-over into up, *seen told which it was; -1 when it
 * is not one we know, garbled, a second of its kind, or after "end". */
static int
parse_line(struct upgrade_state *up, const char *line, int *seen)
{
	int once;

	if (*seen & SEEN_END)
		return -1;
	if (strncmp(line, "child ", 6) == 0)
		return parse_child(up, line + 6);
	if (strncmp(line, "listener ", 9) == 0)
		return parse_listener(up, line + 9);
	if ((once = parse_once(up, line)) <= 0 || (*seen & once) != 0)
		return -1;
	*seen |= once;
	return 0;
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
read_handover(int fd, size_t *length)
{
	char *text = malloc(HANDOVER_MAX + 1);
	size_t len = 0;
	ssize_t n;

	if (text == NULL) {
		log_error("upgrade: the hand-over");
		return NULL;
	}
	while (len < HANDOVER_MAX &&
	       ((n = read(fd, text + len, HANDOVER_MAX - len)) > 0 ||
	           (n == -1 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	text[len] = '\0';
	*length = len;
	return text;
}

/* Check the text's lines into up; 0, or -1 after saying which line is
 * wrong (line number 0: something is missing). */
static int
parse_text(struct upgrade_state *up, char *text, size_t len)
{
	char shown[4 * 80 + 1];
	char *line, *next;
	int seen = 0, format = -1;
	unsigned number_of = 0;

	/* A NUL inside would hide what follows it from the checks. */
	if (strlen(text) != len) {
		log_errorx("upgrade: the hand-over holds a NUL byte");
		return -1;
	}
	for (line = text; *line != '\0'; line = next) {
		size_t n = strcspn(line, "\n");
		int rc;

		next = line + n + (line[n] == '\n');
		line[n] = '\0';
		number_of++;
		if (number_of == 1) {
			const char *p = line + 17;
			long long v;
			rc = strncmp(line, "preforkd-upgrade ", 17) == 0 &&
			             number(&p, 0, INT_MAX, &v) == 0 &&
			             *p == '\0'
			         ? 0
			         : -1;
			format = rc == 0 ? (int)v : -1;
			if (format < HANDOVER_OLDEST ||
			    format > HANDOVER_FORMAT)
				rc = -1;
			up->format = format;
		} else {
			rc = parse_line(up, line, &seen);
		}
		if (rc == -1) {
			log_escape(line, n < 80 ? n : 80, shown, sizeof(shown));
			if (number_of == 1 && format != -1)
				log_errorx(
				    "upgrade: the hand-over is of format "
				    "%d; this preforkd reads formats %d "
				    "to %d",
				    format, HANDOVER_OLDEST, HANDOVER_FORMAT);
			else
				log_errorx(
				    "upgrade: the hand-over's line %u is "
				    "not one of format %d: \"%s\"",
				    number_of, up->format, shown);
			return -1;
		}
	}
	if (seen != SEEN_ALL) {
		log_errorx("upgrade: the hand-over is cut short: %s",
		    !(seen & SEEN_END) ? "no \"end\" line"
		                       : "a line that must come is missing");
		return -1;
	}
	for (size_t i = 0; i < up->nchildren; i++)
		if (up->children[i].generation > up->generation) {
			log_errorx("upgrade: the hand-over's worker %ld is of "
			           "generation %u, after the last (%u)",
			    (long)up->children[i].pid,
			    up->children[i].generation, up->generation);
			return -1;
		}
	return 0;
}

int
upgrade_inherited(struct upgrade_state **out)
{
	const char *var = getenv(ENV_FD);
	struct upgrade_state *up;
	char *text, *end;
	size_t len;
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
	if ((up = calloc(1, sizeof(*up))) == NULL ||
	    (text = read_handover((int)fd, &len)) == NULL) {
		free(up);
		close((int)fd);
		return -1;
	}
	close((int)fd);
	up->pidfile_fd = up->board_fd = up->poke[0] = up->poke[1] = -1;
	rc = parse_text(up, text, len);
	free(text);
	if (rc == -1) {
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

static void stalled(struct master *m, const char *why);

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

/* Is pid a child of this process (alive or not yet reaped)? */
static bool
our_child(pid_t pid)
{
	siginfo_t info = { 0 };

	return waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) ==
	       0;
}

/* u's output pipe, when it is one and no other adopted program's;
 * else -1. */
static int
output_pipe(const struct master *m, const struct upgrade_child *u)
{
	struct stat st;

	if (u->out_fd == -1)
		return -1;
	for (size_t i = 0; i < m->nchildren; i++)
		if (m->children[i].out_fd == u->out_fd)
			return -1;
	if (fstat(u->out_fd, &st) == -1 || !S_ISFIFO(st.st_mode)) {
		log_warnx("upgrade: program %ld: descriptor %d handed over "
		          "is not a pipe: its output is not read",
		    (long)u->pid, u->out_fd);
		return -1;
	}
	return u->out_fd;
}

/* Take u into the table; false when it is not one the master can: a slot
 * outside the scoreboard or taken, a pid not our child. */
static bool
adopt_child(struct master *m, const struct upgrade_child *u)
{
	const struct scoreboard *sb = scoreboard_get();
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
		.recycling = u->recycling,
		.dgram = u->dgram,
		.program = u->program,
		.ready = u->ready,
		.index = u->index,
		.quit_signal = u->quit_signal,
		.out_fd = output_pipe(m, u),
	};

	snprintf(c.name, sizeof(c.name), "%s", u->name);
	if (sb == NULL || (unsigned)u->slot >= sb->nslots || !our_child(u->pid))
		return false;
	for (size_t i = 0; i < m->nchildren; i++)
		if (m->children[i].slot == u->slot ||
		    m->children[i].pid == u->pid)
			return false;
	/* Its output goes on into the log, through master_program.c's
	 * table as a program this image started. */
	if (c.program && !master_program_adopt(m, &c) && c.out_fd != -1) {
		close(c.out_fd);
		c.out_fd = -1;
	}
	if (!master_child_adopt(m, &c))
		return false;
	scoreboard_adopt_slot(u->slot, u->pid, u->service, u->generation);
	return true;
}

void
master_upgrade_adopt(struct master *m, struct upgrade_state *up, long long now)
{
	size_t adopted = 0;

	for (size_t i = 0; i < up->nchildren; i++) {
		const struct upgrade_child *u = &up->children[i];
		if (adopt_child(m, u)) {
			adopted++;
			continue;
		}
		/* Our child, unsupervised, would serve on with nobody to
		 * reap or stop it. */
		log_warnx("upgrade: worker %ld handed over with slot %d not "
		          "adopted%s",
		    (long)u->pid, u->slot,
		    our_child(u->pid) ? ": told to stop" : "");
		if (our_child(u->pid))
			kill(u->program ? -u->pid : u->pid, SIGTERM);
	}
	/* A generation after every one the old image had: its workers are
	 * all older, and retired once the new pools are complete. */
	m->generation = up->generation + 1;
	snprintf(m->upgrade_versions, sizeof(m->upgrade_versions),
	    "preforkd %s -> %s", up->version, PREFORKD_VERSION);
	snprintf(m->upgrade_warning, sizeof(m->upgrade_warning), "%.199s",
	    up->warning);
	m->upgrade_owed = m->generation;
	log_notice("upgraded: %s, generation %u (in %lld ms), %zu worker(s) "
	           "of the old image adopted, %zu service(s), config %s",
	    m->upgrade_versions, m->generation, now - up->began, adopted,
	    m->conf->nservices, m->conf->path);
	master_pool_publish(m);
	if (up->fatal[0] != '\0') {
		/* Nothing of this image may start: the old workers serve. */
		for (size_t svc = 0; svc < m->conf->nservices; svc++)
			m->pools[svc].disabled = true;
		stalled(m, up->fatal);
	}
	master_pool_adjust(m, now);
	master_upgrade_watch(m, now);
	master_pool_retire_old(m, now);
	master_pool_notify(m, NOTIFY_READY, "");
	upgrade_free(up);
}

/*
 * After the exec.  The answer to -s upgrade waits until the new
 * generation has every worker it starts with, as a reload's does: then
 * "upgraded"; or, when one of its pools cannot start them (fork fails,
 * they die at once, they say they cannot run), "cannot start", and the
 * adopted generation is kept serving (master_upgrade_holds) -- until a
 * reload, another upgrade, or the pool filling after all.
 */

/* The answer: the new image's workers cannot start, for why. */
static void
stalled(struct master *m, const char *why)
{
	char message[SCOREBOARD_MESSAGE_LEN];

	if (m->upgrade_owed != m->generation)
		return;
	snprintf(message, sizeof(message),
	    "upgraded to %s, generation %u, but its workers cannot start: "
	    "%s; the old workers keep serving",
	    m->upgrade_versions, m->generation, why);
	log_errorx("upgrade: %s", message);
	scoreboard_upgrade_done(SB_UPGRADE_STALLED, message);
	m->upgrade_owed = 0;
	m->upgrade_held = m->generation;
}

/*
 * Has c started?  A built-in worker once it waits for clients, as -s
 * reload counts it; a program (ready = "started") once it has lived as
 * long as the pool takes a death to be a failed start, which a program
 * whose execve worked but which exits at once is.
 */
static bool
started(const struct child *c, long long now)
{
	struct scoreboard_slot slot;

	if (c->program)
		return c->ready && now - c->started >= POOL_LIVED_LONG_MS;
	scoreboard_read_slot(scoreboard_get(), (unsigned)c->slot, &slot);
	return slot.state != SB_STARTING;
}

/* Has svc's pool of the current generation all its workers started? */
static bool
complete(const struct master *m, size_t svc, long long now)
{
	unsigned pool = 0, dgram = 0;

	for (size_t i = 0; i < m->nchildren; i++) {
		const struct child *c = &m->children[i];
		if (c->generation == m->generation && c->service == svc &&
		    c->stage == CHILD_RUNNING && started(c, now))
			*(c->dgram ? &dgram : &pool) += 1;
	}
	return pool >= m->pools[svc].target &&
	       dgram >= config_dgram_workers(&m->conf->services[svc]);
}

/* Why svc's pool cannot start its workers, into why; false when it
 * can, as far as the master knows. */
static bool
failing(const struct master *m, size_t svc, char *why, size_t size)
{
	const struct service_pool *p = &m->pools[svc];
	const char *name = m->conf->services[svc].name;

	if (p->disabled)
		snprintf(why, size,
		    "service %s: its workers cannot run with this "
		    "configuration",
		    name);
	else if (p->fork_failures > 0)
		snprintf(why, size, "service %s: fork failed (%u in a row)",
		    name, p->fork_failures);
	else if (p->quick_deaths > 0)
		snprintf(why, size,
		    "service %s: %u failed start(s) in a row (see the log)",
		    name, p->quick_deaths);
	else
		return false;
	return true;
}

void
master_upgrade_watch(struct master *m, long long now)
{
	char why[WHY_LEN], message[SCOREBOARD_MESSAGE_LEN];
	bool full = true;

	if (m->upgrade_owed == 0 && m->upgrade_held == 0)
		return;
	for (size_t svc = 0; svc < m->conf->nservices; svc++) {
		if (m->upgrade_owed == m->generation &&
		    failing(m, svc, why, sizeof(why))) {
			stalled(m, why);
			return;
		}
		full &= complete(m, svc, now);
	}
	if (m->upgrade_held != 0) {
		/* A reload since, or the pools filled after all. */
		if (m->upgrade_held == m->generation && full)
			log_notice("upgrade: generation %u has its workers "
			           "after all: the old image's are retired",
			    m->generation);
		if (m->upgrade_held != m->generation || full)
			m->upgrade_held = 0;
		return;
	}
	/* Complete, or a reload's generation took over: the reload's
	 * answer is its own. */
	if (!full && m->upgrade_owed == m->generation)
		return;
	snprintf(message, sizeof(message), "upgraded: %s, generation %u%s%s%s",
	    m->upgrade_versions, m->upgrade_owed,
	    m->upgrade_warning[0] != '\0' ? " (warning: " : "",
	    m->upgrade_warning, m->upgrade_warning[0] != '\0' ? ")" : "");
	scoreboard_upgrade_done(SB_UPGRADE_OK, message);
	m->upgrade_owed = 0;
}

void
master_upgrade_died(
    struct master *m, const struct child *c, int status, long long now)
{
	char why[WHY_LEN], how[64];
	long long lived = now - c->started;

	if (m->upgrade_owed != m->generation || c->generation != m->generation)
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_FATAL) &&
	    (!pool_failed_by_itself(status) || lived >= POOL_LIVED_LONG_MS))
		return;
	if (WIFEXITED(status))
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	else
		snprintf(how, sizeof(how), "was killed by signal %s",
		    master_signal_name(WTERMSIG(status)));
	snprintf(why, sizeof(why),
	    "service %s: %s %ld %s %.3fs after its start", c->name,
	    c->program ? "program" : "worker", (long)c->pid, how,
	    (double)lived / 1000);
	stalled(m, why);
}

bool
master_upgrade_holds(const struct master *m)
{
	return m->generation != 0 && (m->upgrade_owed == m->generation ||
	                                 m->upgrade_held == m->generation);
}

long long
master_upgrade_next(const struct master *m, long long now)
{
	/* A worker going idle does not wake the master: look. */
	return m->upgrade_owed != 0 || m->upgrade_held != 0 ? now + WATCH_MS
	                                                    : -1;
}
