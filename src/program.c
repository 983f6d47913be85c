/*
 * Starting a program, the one place preforkd calls execve() for someone
 * else: fork, then in the child everything a program must not inherit from
 * a daemon taken away -- descriptors beyond the three it is given, signal
 * dispositions and mask, its parent's session, privileges, limits, the
 * environment (the caller builds a whole one) -- and the exec.  An exec
 * that fails is reported through a close-on-exec pipe with its errno, so
 * it can never pass for a program that started and exited (xinetd's
 * _exit(0) after a failed exec does).
 *
 * Also what goes with programs elsewhere: -t's check of their commands and
 * users, and the master's sweep of programs whose worker was killed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "program.h"
#include "sandbox.h"

/* What the child writes on the pipe when it cannot go on. */
struct child_report {
	int step; /* index in steps[] */
	int err;
};

static const char *const steps[] = { "setsid", "dup2", "setrlimit",
	"initgroups", "setgid", "setuid", "prctl", "chdir", "the sandbox",
	"execve" };

enum {
	STEP_SETSID,
	STEP_DUP2,
	STEP_RLIMIT,
	STEP_INITGROUPS,
	STEP_SETGID,
	STEP_SETUID,
	STEP_PRCTL,
	STEP_CHDIR,
	STEP_SANDBOX,
	STEP_EXEC
};

static const int resources[PROGRAM_NLIMITS] = {
	[PROGRAM_LIMIT_AS] = RLIMIT_AS,
	[PROGRAM_LIMIT_CPU] = RLIMIT_CPU,
	[PROGRAM_LIMIT_NOFILE] = RLIMIT_NOFILE,
	[PROGRAM_LIMIT_NPROC] = RLIMIT_NPROC,
	[PROGRAM_LIMIT_CORE] = RLIMIT_CORE,
	[PROGRAM_LIMIT_FSIZE] = RLIMIT_FSIZE,
};

/* In the child: say why, and end without running anything of ours
 * (_exit: no atexit handler, no stdio flush of the parent's buffers). */
static void __attribute__((noreturn)) child_fail(int report_fd, int step)
{
	struct child_report r = { step, errno };
	ssize_t n = write(report_fd, &r, sizeof(r));

	(void)n; /* a parent that cannot read it sees a bad report */
	_exit(127);
}

/*
 * fds[i] onto descriptor i, then the listeners from 3 on, the rest closed.
 * Each source is first moved above the last place, so that putting one in
 * place cannot overwrite another still to be placed; dup2() leaves the
 * copies without close-on-exec, the one place a descriptor of ours is
 * meant to cross execve.  report_fd is above the places already.
 */
static int
place_fds(const struct program *p, int report_fd)
{
	int base = 3 + (int)p->nlisten, null = -1;
	int moved[3 + PROGRAM_MAX_LISTEN];

	for (int i = 0; i < base; i++) {
		int src = i < 3 ? p->fds[i] : p->listen_fds[i - 3];
		if (src == -1) {
			if (null == -1 && (null = open("/dev/null",
			                       O_RDWR | O_CLOEXEC)) == -1)
				return -1;
			src = null;
		}
		if ((moved[i] = fcntl(src, F_DUPFD_CLOEXEC, base)) == -1)
			return -1;
	}
	for (int i = 0; i < base; i++)
		if (dup2(moved[i], i) == -1)
			return -1;
	/* The report pipe goes last, by execve itself. */
	if (report_fd > base &&
	    close_range((unsigned)base, (unsigned)report_fd - 1, 0) == -1)
		return -1;
	if (close_range((unsigned)report_fd + 1, ~0U, 0) == -1)
		return -1;
	return 0;
}

/* LISTEN_PID is the program's own pid, known only after fork().  Digits
 * by hand: snprintf is not async-signal-safe. */
static void
write_pid(char *at, pid_t pid)
{
	char digits[PROGRAM_PID_ROOM];
	size_t n = 0;
	unsigned long v = (unsigned long)pid;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0 && n < sizeof(digits) - 1);
	while (n > 0)
		*at++ = digits[--n];
	*at = '\0';
}

/* Every signal to its default, none blocked: SIGPIPE ignored by preforkd
 * would otherwise stay ignored across execve. */
static void
default_signals(void)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &sa, NULL); /* EINVAL for 32, 33: fine */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static int
set_limits(const long *limits)
{
	for (int i = 0; i < PROGRAM_NLIMITS; i++) {
		struct rlimit rl;
		if (limits[i] < 0)
			continue;
		rl.rlim_cur = rl.rlim_max = (rlim_t)limits[i];
		if (setrlimit(resources[i], &rl) == -1)
			return -1;
	}
	return 0;
}

/* The child, up to execve. */
static void __attribute__((noreturn))
child(const struct program *p, pid_t parent, int report_fd)
{
	const struct program_user *u = &p->user;

	/* Never 0-2 (a daemon keeps those open), but place_fds needs it
	 * above them and the listeners. */
	if (report_fd < 3 + (int)p->nlisten &&
	    (report_fd = fcntl(
	         report_fd, F_DUPFD_CLOEXEC, 3 + (int)p->nlisten)) == -1)
		_exit(127);
	if (setsid() == -1)
		child_fail(report_fd, STEP_SETSID);
	default_signals();
	if (p->listen_pid != NULL)
		write_pid(strchr(p->listen_pid, '=') + 1, getpid());
	if (p->watchdog_pid != NULL)
		write_pid(strchr(p->watchdog_pid, '=') + 1, getpid());
	if (place_fds(p, report_fd) == -1)
		child_fail(report_fd, STEP_DUP2);
	if (set_limits(p->limits) == -1)
		child_fail(report_fd, STEP_RLIMIT);
	if (u->change) {
		if ((u->name != NULL ? initgroups(u->name, u->gid)
		                     : setgroups(1, &u->gid)) == -1)
			child_fail(report_fd, STEP_INITGROUPS);
		if (setresgid(u->gid, u->gid, u->gid) == -1)
			child_fail(report_fd, STEP_SETGID);
		if (setresuid(u->uid, u->uid, u->uid) == -1)
			child_fail(report_fd, STEP_SETUID);
	}
	/* After the change of user, which clears the death signal. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    (p->death_signal != 0 &&
	        prctl(PR_SET_PDEATHSIG, p->death_signal) == -1))
		child_fail(report_fd, STEP_PRCTL);
	if (p->death_signal != 0 && getppid() != parent)
		_exit(127); /* the parent is gone already: nobody to serve */
	if (chdir(p->dir != NULL ? p->dir : "/") == -1)
		child_fail(report_fd, STEP_CHDIR);
	/* Last: the filter would refuse nothing above, but keep it clear. */
	if (sandbox_program_denylist((enum sandbox_mode)p->sandbox) == -1)
		child_fail(report_fd, STEP_SANDBOX);
	execve(p->argv[0], p->argv, p->envp);
	child_fail(report_fd, STEP_EXEC);
}

pid_t
program_start(const struct program *p, struct program_failure *why)
{
	pid_t parent = getpid(), pid;
	struct child_report r;
	sigset_t all, old;
	int pipefd[2];
	ssize_t n;

	why->step = "fork";
	why->err = 0;
	if (p->nlisten > PROGRAM_MAX_LISTEN) {
		why->step = "listeners";
		why->err = EMFILE;
		return -1;
	}
	if (pipe2(pipefd, O_CLOEXEC) == -1) {
		why->step = "pipe";
		why->err = errno;
		return -1;
	}
	/* The child must not run our handlers before it resets them. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	if ((pid = fork()) == 0) {
		close(pipefd[0]);
		child(p, parent, pipefd[1]);
	}
	why->err = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(pipefd[1]);
	if (pid == -1) {
		close(pipefd[0]);
		return -1;
	}
	/* EOF: execve closed the pipe, the program runs. */
	do
		n = read(pipefd[0], &r, sizeof(r));
	while (n == -1 && errno == EINTR);
	close(pipefd[0]);
	if (n == 0)
		return pid;
	if (n == (ssize_t)sizeof(r) && r.step >= 0 &&
	    (size_t)r.step < sizeof(steps) / sizeof(steps[0])) {
		why->step = steps[r.step];
		why->err = r.err;
	} else {
		why->step = "report";
		why->err = n == -1 ? errno : EPROTO;
	}
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	return -1;
}

void
program_limits_of(const struct service *svc, long *limits)
{
	limits[PROGRAM_LIMIT_AS] = svc->limit_as;
	limits[PROGRAM_LIMIT_CPU] = svc->limit_cpu;
	limits[PROGRAM_LIMIT_NOFILE] = svc->limit_nofile;
	limits[PROGRAM_LIMIT_NPROC] = svc->limit_nproc;
	limits[PROGRAM_LIMIT_CORE] = svc->limit_core;
	limits[PROGRAM_LIMIT_FSIZE] = svc->limit_fsize;
}

int
program_user_of(const struct config *conf, const struct service *svc,
    struct program_user *u)
{
	/* A service's own user comes with its own group, not the global
	 * one; a service's group alone goes with the global user. */
	const char *user = svc->user != NULL ? svc->user : conf->user;
	const char *group = svc->group != NULL  ? svc->group
	                    : svc->user != NULL ? NULL
	                                        : conf->group;

	memset(u, 0, sizeof(*u));
	if (getuid() != 0)
		return 0;
	if (daemon_worker_user(user, group, &u->uid, &u->gid) == -1)
		return -1;
	u->change = true;
	u->name = user != NULL ? user : DAEMON_DEFAULT_USER;
	return 0;
}

int
program_become(const struct program_user *u)
{
	if (!u->change)
		return 0;
	if ((u->name != NULL ? initgroups(u->name, u->gid)
	                     : setgroups(1, &u->gid)) == -1 ||
	    setresgid(u->gid, u->gid, u->gid) == -1 ||
	    setresuid(u->uid, u->uid, u->uid) == -1) {
		log_error("cannot become %s (uid %ld gid %ld)",
		    u->name != NULL ? u->name : "?", (long)u->uid,
		    (long)u->gid);
		return -1;
	}
	return 0;
}

void
program_kill_strays(bool (*keep)(pid_t pgid, void *arg), void *arg)
{
	char path[64], buf[4096];
	pid_t own = getpgrp();
	ssize_t n;
	int fd;

	snprintf(
	    path, sizeof(path), "/proc/self/task/%ld/children", (long)getpid());
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (char *s = buf, *end; *s != '\0'; s = end) {
		long pid = strtol(s, &end, 10);
		pid_t pgid;
		if (end == s)
			break;
		/* Our child: a program (or what it forked) whose worker is
		 * gone, in its own session, so its group is all its own. */
		pgid = getpgid((pid_t)pid);
		if (pgid > 1 && pgid != own &&
		    (keep == NULL || !keep(pgid, arg)) &&
		    kill(-pgid, SIGKILL) == 0)
			log_notice("killed process group %ld, left over "
			           "from a worker that died",
			    (long)pgid);
	}
}

/* "NAME=value" of preforkd's environment for pass_env's name, or NULL. */
static char *
passed(const char *name)
{
	extern char **environ;
	size_t len = strlen(name);

	for (char **e = environ; *e != NULL; e++)
		if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
			return *e;
	return NULL;
}

/* A later one of the same name is not dropped, so env wins by order. */
char **
program_env(const struct service *svc, size_t extra, size_t *n)
{
	static char path[] = "PATH=/usr/local/bin:/usr/bin:/bin";
	char **envp =
	    calloc(1 + svc->nenv + svc->npass_env + extra + 1, sizeof(*envp));

	*n = 0;
	if (envp == NULL)
		return NULL;
	for (size_t i = 0; i < svc->npass_env; i++)
		if ((envp[*n] = passed(svc->pass_env[i])) != NULL)
			(*n)++;
	envp[(*n)++] = path;
	for (size_t i = 0; i < svc->nenv; i++)
		envp[(*n)++] = svc->env[i];
	return envp;
}

/* May uid, of group gid and its supplementary groups, execute st? */
static bool
may_execute(const struct stat *st, const char *name, uid_t uid, gid_t gid)
{
	gid_t groups[256];
	int ngroups = (int)(sizeof(groups) / sizeof(groups[0]));

	if (uid == 0)
		return (st->st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
	if (st->st_uid == uid)
		return (st->st_mode & S_IXUSR) != 0;
	if (getgrouplist(name, gid, groups, &ngroups) == -1)
		ngroups = (int)(sizeof(groups) / sizeof(groups[0]));
	for (int i = 0; i < ngroups; i++)
		if (groups[i] == st->st_gid)
			return (st->st_mode & S_IXGRP) != 0;
	return (st->st_mode & S_IXOTH) != 0;
}

/* svc's command, for the user it will run as. */
static int
check_command(const struct config *conf, const struct service *svc,
    const struct program_user *u)
{
	const char *path = svc->command[0];
	struct stat st;
	const char *who = u->change ? u->name : "preforkd's own user";

	if (stat(path, &st) == -1) {
		log_errorx("%s:%d: service %s: command %s: %s", conf->path,
		    svc->line, svc->name, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) ||
	    (u->change ? !may_execute(&st, u->name, u->uid, u->gid)
	               : access(path, X_OK) == -1)) {
		log_errorx("%s:%d: service %s: command %s: not a file %s may "
		           "execute",
		    conf->path, svc->line, svc->name, path, who);
		return -1;
	}
	return 0;
}

int
program_check(const struct config *conf)
{
	int rc = 0;

	for (size_t i = 0; i < conf->nservices; i++) {
		const struct service *svc = &conf->services[i];
		struct program_user u;
		if (program_user_of(conf, svc, &u) == -1) {
			log_errorx("%s:%d: service %s: its user or group is "
			           "unknown",
			    conf->path, svc->line, svc->name);
			rc = -1;
			continue;
		}
		if (svc->command != NULL && check_command(conf, svc, &u) == -1)
			rc = -1;
	}
	return rc;
}
