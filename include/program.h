/*
 * Start a program: its argv and a complete environment, its descriptors,
 * resource limits, user, session and death signal, and an exec that never
 * looks like success when it failed.  Used by exec workers (one program
 * per connection) and meant for programs that accept by themselves.
 */
#ifndef PREFORKD_PROGRAM_H
#define PREFORKD_PROGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct config;
struct service;

/* The resource limits a program may get, in the order of program_limit. */
enum program_limit {
	PROGRAM_LIMIT_AS,
	PROGRAM_LIMIT_CPU,
	PROGRAM_LIMIT_NOFILE,
	PROGRAM_LIMIT_NPROC,
	PROGRAM_LIMIT_CORE,
	PROGRAM_LIMIT_FSIZE,
	PROGRAM_NLIMITS
};

/* Who a program runs as, when it is to change (a root parent). */
struct program_user {
	bool change;
	uid_t uid;
	gid_t gid;
	const char *name; /* for initgroups(); NULL: gid alone */
};

struct program {
	char *const *argv; /* argv[0] is the absolute path */
	char *const *envp; /* the whole environment, nothing inherited */
	const char *dir;   /* working directory; NULL: "/" */
	/* What becomes fd 0, 1 and 2; -1: /dev/null.  Every other
	 * descriptor is closed. */
	int fds[3];
	long limits[PROGRAM_NLIMITS]; /* -1: left as they are */
	struct program_user user;
	int death_signal; /* sent when the parent dies; 0: none */
	/* A program that accepts by itself (accept = false): these become
	 * fd 3, 4, ... in order, and listen_pid, when set, is the envp
	 * string "LISTEN_PID=" with PROGRAM_PID_ROOM bytes after the '=',
	 * which the child fills with its own pid before execve, as systemd
	 * does. */
	const int *listen_fds;
	size_t nlisten;
	char *listen_pid;
	/* The same for "WATCHDOG_PID=" (ready = "notify"); NULL: none. */
	char *watchdog_pid;
	/* enum sandbox_mode: the deny-list of calls no service needs,
	 * loaded last before execve (sandbox_program_denylist). */
	int sandbox;
};

#define PROGRAM_PID_ROOM 24
/* The most listeners a program may be given. */
#define PROGRAM_MAX_LISTEN 64

/* Why a start failed: what was being done, and errno. */
struct program_failure {
	const char *step; /* "execve", "chdir", "setrlimit", ... */
	int err;
};

/*
 * Fork and run p in a session (and process group) of its own, with
 * default signal dispositions, an empty signal mask, no_new_privs, and
 * p's descriptors, limits, user and directory.  Returns its pid once the
 * execve() has succeeded; -1 when fork() failed (errno) or the child
 * could not get as far as the program (*why says where and why; the child
 * is reaped).
 */
pid_t program_start(const struct program *p, struct program_failure *why);
/* Fill limits from svc's limit_* keys. */
void program_limits_of(const struct service *svc, long *limits);
/* Who svc's workers and program run as: svc's user and group, else the
 * global ones (see daemon_worker_user); resolved only for a root parent.
 * 0, or -1 after logging an unknown name. */
int program_user_of(const struct config *conf, const struct service *svc,
    struct program_user *u);
/* Take on u for good in this process (initgroups, gid, uid); -1 after
 * logging. */
int program_become(const struct program_user *u);
/*
 * A subreaper's sweep: every child of ours that is in a process group
 * other than our own is left over from a program whose worker died, and
 * its whole group is killed.  Nothing else of ours runs in another group
 * but the programs of accept = false services, which keep(pgid, arg)
 * says to leave alone (keep may be NULL).
 */
void program_kill_strays(bool (*keep)(pid_t pgid, void *arg), void *arg);
/* The environment's fixed part for svc: pass_env's that are set, PATH,
 * env, in a NULL-terminated array with room for extra more; *n counts
 * those filled.  NULL when out of memory.  Free the array alone. */
char **program_env(const struct service *svc, size_t extra, size_t *n);
/* -t: every exec service's command exists and is a file its user may
 * execute, and every service's user and group exist; 0, or -1 after
 * logging each problem as FILE:LINE. */
int program_check(const struct config *conf);

#endif
