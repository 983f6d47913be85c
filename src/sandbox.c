/*
 * The workers' sandbox: what a built-in worker may still do once it is set
 * up, in one place -- the allow-lists, one line per call with why it is
 * there, and the lock-down that applies them.  It knows the protocols by
 * their ids (proto_info.h), never their code.
 *
 * Why this file is long: the lists and the code that applies them stay
 * together, so that a call is allowed in one place (more below).
 *
 * A built-in worker locks itself down after it holds everything it needs
 * (its listeners, the scoreboard, the log descriptors, the time zone data,
 * its random seed) and has dropped its privileges, in this order:
 *
 *   1. no_new_privs: nothing it could exec would gain privileges (and
 *      seccomp and landlock need it without CAP_SYS_ADMIN);
 *   2. landlock, as far as the kernel's ABI goes: no file system access at
 *      all (v1-v3, v5), no TCP bind or connect (v4), no signal to a
 *      process outside itself and no abstract unix socket (v6);
 *   3. a seccomp filter: the calls below, with their arguments checked
 *      where one call does harmless and harmful things (socket options,
 *      fcntl commands, memory made executable, signals to others).  The
 *      probes libc makes on its own (a locale or time zone file, isatty)
 *      fail with an errno, as a missing file would; any other call traps.
 *
 * A trapped call raises SIGSYS, whose handler writes the call's number and
 * architecture into the worker's scoreboard slot and dies of SIGSYS: the
 * master names the call in its log (master_child.c) and counts it
 * (-s status).  The default action is a trap rather than
 * SCMP_ACT_KILL_PROCESS for that name: the call is refused either way,
 * and a compromised worker that caught SIGSYS itself would gain nothing
 * but its own survival.  Another architecture's calls (i386 or x32 on
 * x86_64) trap the same way: the filter knows the native one only.
 *
 * Mode log loads the same lists with SCMP_ACT_LOG for everything else, so
 * nothing is denied and the kernel's audit log (dmesg) names each call the
 * lists miss; it skips landlock, which cannot only report.
 *
 * An exec program's process gets the deny-list at the end instead: what
 * no network service needs, refused with EPERM, built by the master too.
 *
 * Over 600 lines on purpose: the lists and the code that applies them are
 * read together, and the house plan keeps them in one room.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "exitcode.h"
#include "log.h"
#include "proto_info.h"
#include "sandbox.h"
#include "scoreboard.h"
#include "unforked.h"

/* ------------------------------------------------------------ the lists */

/* How a call's arguments are checked; each has its function below. */
enum rule {
	ANY,         /* any arguments */
	NO_EXEC,     /* mmap, mprotect: never PROT_EXEC */
	SOCKOPT_SET, /* setsockopt: the options of set_options[] */
	SOCKOPT_GET, /* getsockopt: those of get_options[] */
	FCNTL,       /* the commands of fcntl_commands[] */
	IOCTL,       /* SIOCOUTQ only */
	SELF,        /* kill, tgkill: to this process only */
	UNIX_SOCKET, /* socket: AF_UNIX only */
	EMPTY_PATH,  /* newfstatat: of a descriptor (AT_EMPTY_PATH) only */
};

struct call {
	const char *name; /* as libseccomp knows it; absent on some arches */
	enum rule rule;
	const char *why;
};

/* What every built-in worker does after lock-down, whatever it serves. */
static const struct call worker_calls[] = {
	/* Waiting for a client, taking it (worker.c). */
	{ "accept4", ANY, "take a connection" },
	{ "poll", ANY, "wait for a non-blocking listener, a slow peer" },
	{ "ppoll", ANY, "poll on arches without poll" },
	{ "ppoll_time64", ANY, "poll with a 64-bit time_t on 32-bit" },
	{ "epoll_wait", ANY, "wait on several listeners" },
	{ "epoll_pwait", ANY, "epoll_wait on arches without it" },
	{ "recvmsg", ANY, "a datagram with its destination (dgram.c)" },
	{ "dup2", ANY, "stop listening: listeners become /dev/null" },
	{ "dup3", ANY, "dup2 on arches without it" },
	/* One connection (conn.c, worker_stream.c, worker_admit.c). */
	{ "recvfrom", ANY, "recv(): the client's bytes, a PROXY header" },
	{ "recv", ANY, "recv() on arches that have it" },
	{ "sendto", ANY, "send(): an answer; syslog's line" },
	{ "send", ANY, "send() on arches that have it" },
	{ "sendmsg", ANY, "an answer in one call; a datagram's answer" },
	{ "shutdown", ANY, "end a connection; SIGTERM wakes a recv()" },
	{ "close", ANY, "the client's socket when it is done" },
	{ "setsockopt", SOCKOPT_SET, "deadlines and a hard close" },
	{ "getsockopt", SOCKOPT_GET, "the access line, a unix peer" },
	{ "getsockname", ANY, "the address a client reached (access.c)" },
	{ "getpeername", ANY, "who a client is (client.c)" },
	{ "ioctl", IOCTL, "SIOCOUTQ: did a slow client take any bytes" },
	{ "fcntl", FCNTL, "descriptor flags (libc, conn.c)" },
	{ "fcntl64", FCNTL, "fcntl on 32-bit arches" },
	/* Time (clock.h, limit.c, the log): from the vDSO, or else these. */
	{ "clock_gettime", ANY, "every deadline and log line" },
	{ "clock_gettime64", ANY, "clock_gettime with a 64-bit time_t" },
	{ "gettimeofday", ANY, "the vDSO's fallback" },
	{ "clock_nanosleep", ANY, "accept()'s back-off on a shortage" },
	{ "clock_nanosleep_time64", ANY, "the same with a 64-bit time_t" },
	{ "nanosleep", ANY, "the same on older libcs" },
	/* The log, the scoreboard's poke pipe (log.c, scoreboard.c). */
	{ "write", ANY, "a log line, a poke of the master" },
	{ "writev", ANY, "stdio's flush" },
	{ "socket", UNIX_SOCKET, "syslog() reconnecting to /dev/log" },
	{ "connect", ANY, "syslog() reconnecting to /dev/log" },
	/* Memory (malloc, the buffers, release_stack_below). */
	{ "brk", ANY, "malloc" },
	{ "mmap", NO_EXEC, "malloc's large blocks, never executable" },
	{ "mmap2", NO_EXEC, "mmap on 32-bit arches" },
	{ "munmap", ANY, "free" },
	{ "mremap", ANY, "realloc of a large block (open_memstream)" },
	{ "mprotect", NO_EXEC, "malloc's arenas, never executable" },
	{ "madvise", ANY, "let go of dead stack pages" },
	{ "futex", ANY, "libc's locks (stdio, syslog)" },
	{ "futex_time64", ANY, "futex with a 64-bit time_t" },
	{ "fstat", ANY, "stdio sizing a buffer" },
	{ "fstat64", ANY, "fstat on 32-bit arches" },
	{ "newfstatat", EMPTY_PATH, "fstat as glibc makes it" },
	{ "fstatat64", EMPTY_PATH, "the same on 32-bit arches" },
	/* Signals and the end (worker.c's handlers, abort, exit). */
	{ "rt_sigreturn", ANY, "return from SIGQUIT and SIGTERM handlers" },
	{ "sigreturn", ANY, "the same on 32-bit arches" },
	{ "rt_sigprocmask", ANY, "libc masks signals (abort, syslog)" },
	{ "restart_syscall", ANY, "a sleep interrupted by a signal" },
	{ "getpid", ANY, "raise(), abort(), the access line" },
	{ "gettid", ANY, "raise(), abort()" },
	{ "kill", SELF, "raise() on older libcs: only itself" },
	{ "tgkill", SELF, "raise(), abort(), dying of SIGSYS: itself" },
	{ "exit_group", ANY, "exit()" },
	{ "exit", ANY, "the last thread's end" },
};

/* What one protocol needs beyond worker_calls[]. */
static const struct call time_calls[] = {
	{ "time", ANY, "time(NULL) where the vDSO has no time()" },
};
static const struct call chargen_calls[] = {
	{ "getrandom", ANY, "the seed of its datagrams' lengths (rand.c)" },
};

struct family {
	const struct call *calls;
	size_t ncalls;
};

#define FAMILY(list)                                                           \
	{                                                                      \
		list, sizeof(list) / sizeof(list[0])                           \
	}
#define NO_EXTRAS                                                              \
	{                                                                      \
		NULL, 0                                                        \
	}

/* Per protocol, its extras; a protocol not here (a program's, protocol
 * exec) has no built-in allow-list and is not locked down by
 * sandbox_enter. */
static const struct {
	bool builtin;
	struct family extras;
} families[PROTO_COUNT] = {
	[PROTO_ECHO] = { true, NO_EXTRAS },
	[PROTO_DISCARD] = { true, NO_EXTRAS },
	[PROTO_PREFIX] = { true, NO_EXTRAS },
	[PROTO_TIMESTAMP] = { true, FAMILY(time_calls) },
	[PROTO_DAYTIME] = { true, FAMILY(time_calls) },
	[PROTO_TIME] = { true, FAMILY(time_calls) },
	[PROTO_CHARGEN] = { true, FAMILY(chargen_calls) },
	[PROTO_STATUS] = { true, NO_EXTRAS },
};

/*
 * libc's own probes: a call that fails with this errno (the way a file
 * that is not there fails) rather than kill the worker.  Landlock refuses
 * the files anyway where the kernel has it.
 */
static const struct {
	const char *name;
	int err;
	const char *why;
} probes[] = {
	{ "open", EACCES, "a locale, time zone or nsswitch file" },
	{ "openat", EACCES, "the same, as glibc opens files" },
	{ "openat2", EACCES, "the same, newer" },
	{ "stat", EACCES, "a file's metadata" },
	{ "lstat", EACCES, "the same" },
	{ "statx", EACCES, "the same, newer" },
	{ "access", EACCES, "the same" },
	{ "faccessat", EACCES, "the same" },
	{ "faccessat2", EACCES, "the same" },
	{ "readlink", EACCES, "the same" },
	{ "sysinfo", ENOSYS, "qsort's look at the memory size" },
	{ "prctl", EPERM, "nothing: a worker sets its title in memory" },
};

/* setsockopt's and getsockopt's allowed (level, option) pairs. */
static const struct sockopt {
	int level, name;
} set_options[] = {
	{ SOL_SOCKET, SO_LINGER },   /* a hard close, conn.c */
	{ SOL_SOCKET, SO_RCVTIMEO }, /* idle_timeout, deadlines */
	{ SOL_SOCKET, SO_SNDTIMEO }, /* send_timeout */
#ifdef SO_RCVTIMEO_NEW
	{ SOL_SOCKET, SO_RCVTIMEO_NEW }, /* the same with a 64-bit time_t */
	{ SOL_SOCKET, SO_SNDTIMEO_NEW },
#endif
}, get_options[] = {
	{ IPPROTO_TCP, TCP_INFO },   /* the access line's rtt, access.c */
	{ SOL_SOCKET, SO_PEERCRED }, /* a unix client's uid, client.c */
	{ SOL_SOCKET, SO_ERROR },    /* libc's look at a failed socket */
};

static const int fcntl_commands[] = { F_GETFD, F_SETFD, F_GETFL, F_SETFL };

/* -------------------------------------------------------------- rules */

/* One rule; a rule libseccomp already has (the same option twice, where
 * a _NEW constant is the old one) is fine. */
static int
add(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned n,
    const struct scmp_arg_cmp *cmp)
{
	int rc = seccomp_rule_add_array(ctx, action, nr, n, cmp);

	return rc == -EEXIST ? 0 : rc;
}

static int
add_sockopts(scmp_filter_ctx ctx, uint32_t action, int nr,
    const struct sockopt *opts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct scmp_arg_cmp cmp[] = {
			SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)opts[i].level),
			SCMP_A2(SCMP_CMP_EQ, (scmp_datum_t)opts[i].name),
		};
		int rc = add(ctx, action, nr, 2, cmp);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The rule for call number nr: allowed when its arguments pass; log_only
 * (mode log): what a probe fails with is only reported. */
static int
add_call(scmp_filter_ctx ctx, int nr, enum rule rule, bool log_only, pid_t self)
{
	const uint32_t allow = SCMP_ACT_ALLOW;
	struct scmp_arg_cmp cmp[1];
	int rc;

	switch (rule) {
	case ANY:
		return add(ctx, allow, nr, 0, NULL);
	case NO_EXEC:
		cmp[0] = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
		return add(ctx, allow, nr, 1, cmp);
	case SOCKOPT_SET:
		return add_sockopts(ctx, allow, nr, set_options,
		    sizeof(set_options) / sizeof(set_options[0]));
	case SOCKOPT_GET:
		return add_sockopts(ctx, allow, nr, get_options,
		    sizeof(get_options) / sizeof(get_options[0]));
	case FCNTL:
		for (size_t i = 0;
		     i < sizeof(fcntl_commands) / sizeof(fcntl_commands[0]);
		     i++) {
			cmp[0] = SCMP_A1(
			    SCMP_CMP_EQ, (scmp_datum_t)fcntl_commands[i]);
			if ((rc = add(ctx, allow, nr, 1, cmp)) < 0)
				return rc;
		}
		return 0;
	case IOCTL:
		cmp[0] = SCMP_A1(SCMP_CMP_EQ, SIOCOUTQ);
		if ((rc = add(ctx, allow, nr, 1, cmp)) < 0)
			return rc;
		/* Any other request is a probe (isatty): ENOTTY; in mode log
		 * the default action, for which libseccomp takes no rule. */
		cmp[0] = SCMP_A1(SCMP_CMP_NE, SIOCOUTQ);
		return log_only ? 0
		                : add(ctx, SCMP_ACT_ERRNO(ENOTTY), nr, 1, cmp);
	case SELF:
		cmp[0] = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self);
		return add(ctx, allow, nr, 1, cmp);
	case UNIX_SOCKET:
		cmp[0] = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
		return add(ctx, allow, nr, 1, cmp);
	case EMPTY_PATH:
		cmp[0] =
		    SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH);
		return add(ctx, allow, nr, 1, cmp);
	}
	return -EINVAL;
}

/* The calls of list, allowed; a name this arch does not have is skipped.
 * -1 after logging. */
static int
add_calls(scmp_filter_ctx ctx, const struct call *list, size_t n, bool log_only,
    pid_t self)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(list[i].name);
		int rc;
		if (nr == __NR_SCMP_ERROR)
			continue;
		rc = add_call(ctx, nr, list[i].rule, log_only, self);
		/* An argument check this arch's libseccomp cannot make (a
		 * multiplexed socketcall): the call without it. */
		if (rc == -EINVAL && list[i].rule != ANY)
			rc = add_call(ctx, nr, ANY, log_only, self);
		/* A pseudo-call this arch has not (mmap2 on x86_64). */
		if (rc == -EDOM || rc == -EOPNOTSUPP)
			continue;
		if (rc < 0) {
			errno = -rc;
			log_warn("sandbox: rule for %s (%s)", list[i].name,
			    list[i].why);
			return -1;
		}
	}
	return 0;
}

/* The probes' errnos; in mode log, the default action is theirs. */
static int
add_probes(scmp_filter_ctx ctx, bool log_only)
{
	if (log_only)
		return 0;
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		int nr = seccomp_syscall_resolve_name(probes[i].name);
		int rc;
		if (nr == __NR_SCMP_ERROR)
			continue;
		rc = add(ctx, SCMP_ACT_ERRNO(probes[i].err), nr, 0, NULL);
		if (rc < 0 && rc != -EDOM && rc != -EOPNOTSUPP) {
			errno = -rc;
			log_warn("sandbox: rule for %s (%s)", probes[i].name,
			    probes[i].why);
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------- kernel */

/* Why the kernel cannot give this process a seccomp filter, or NULL. */
static const char *
kernel_lacks(void)
{
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == -1)
		return "the kernel has no seccomp (CONFIG_SECCOMP_FILTER)";
	if (seccomp_api_get() < 1)
		return "libseccomp finds no seccomp filter in the kernel";
	return NULL;
}

/* Why a worker cannot have its allow-list, or NULL when it can. */
static const char *
unavailable(void)
{
#if defined(__SANITIZE_ADDRESS__)
	/* Not "AddressSanitizer": the tests take that word in a log for
	 * a sanitizer's report. */
	return "this build has ASan (make sanitize), whose "
	       "run-time makes calls no allow-list has";
#else
	return kernel_lacks();
#endif
}

/* Mode log needs SECCOMP_RET_LOG (Linux 4.14). */
static bool
can_log(void)
{
	return seccomp_api_get() >= 3;
}

#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif

/* The landlock ABI of this kernel, 0 when it has none. */
static int
landlock_abi(void)
{
#ifdef SYS_landlock_create_ruleset
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);

	return abi > 0 ? (int)abi : 0;
#else
	return 0;
#endif
}

/* struct landlock_ruleset_attr as the newest ABI lays it out, as three
 * words: handled_access_fs, handled_access_net (ABI 4), scoped (ABI 6);
 * the kernel is given as much of it as its ABI knows. */
enum { RULESET_FS, RULESET_NET, RULESET_SCOPED, RULESET_WORDS };

/* Every file system right of ABI abi: bits 0-12 (v1), REFER (v2),
 * TRUNCATE (v3), IOCTL_DEV (v5). */
static uint64_t
fs_rights(int abi)
{
	uint64_t rights = (1ULL << 13) - 1;

	if (abi >= 2)
		rights |= 1ULL << 13;
	if (abi >= 3)
		rights |= 1ULL << 14;
	if (abi >= 5)
		rights |= 1ULL << 15;
	return rights;
}

/* No file, no TCP bind or connect, no signal out, no abstract socket, as
 * far as the kernel's ABI goes; best effort: nothing when it has none.
 * A ruleset with rights handled and no rule allows none of them.  The
 * ABI applied, 0 for none. */
static int
landlock_lock(void)
{
#if defined(SYS_landlock_create_ruleset) && defined(SYS_landlock_restrict_self)
	int abi = landlock_abi();
	uint64_t attr[RULESET_WORDS] = { [RULESET_FS] = fs_rights(abi) };
	size_t size = sizeof(attr[0]);
	int fd;

	if (abi < 1)
		return 0;
	if (abi >= 4) {
		attr[RULESET_NET] = 3; /* BIND_TCP | CONNECT_TCP */
		size = 2 * sizeof(attr[0]);
	}
	if (abi >= 6) {
		attr[RULESET_SCOPED] = 3; /* ABSTRACT_UNIX_SOCKET | SIGNAL */
		size = sizeof(attr);
	}
	fd = (int)syscall(SYS_landlock_create_ruleset, attr, size, 0);
	if (fd == -1) {
		log_warn("sandbox: landlock (ABI %d)", abi);
		return 0;
	}
	if (syscall(SYS_landlock_restrict_self, fd, 0) == -1) {
		log_warn("sandbox: landlock_restrict_self");
		abi = 0;
	}
	close(fd);
	return abi;
#else
	return 0;
#endif
}

/* ------------------------------------------------------------- SIGSYS */

/* si_code of a seccomp trap; glibc's headers may lack it. */
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

static int trap_slot WORKER_DATA = -1;

/*
 * A trapped call: record it where the master looks, then die of SIGSYS.
 * SA_RESETHAND made SIGSYS's action the default again and SA_NODEFER left
 * it unblocked, so the signal sent to ourselves kills us at once.
 */
static void
on_sigsys(int signo, siginfo_t *info, void *context)
{
	(void)context;
	if (info->si_code == SYS_SECCOMP)
		scoreboard_sandbox_trapped(
		    trap_slot, info->si_arch, (int32_t)info->si_syscall);
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), signo);
	_exit(WORKER_EXIT_SICK); /* not reached */
}

static void
catch_sigsys(int slot)
{
	struct sigaction sa;

	trap_slot = slot;
	memset(&sa, 0, sizeof(sa));
	sigfillset(&sa.sa_mask);
	sigdelset(&sa.sa_mask, SIGSYS);
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
	sigaction(SIGSYS, &sa, NULL);
}

/* ---------------------------------------------------------- test hook */

#ifdef PREFORKD_TEST_HOOKS
/*
 * Test builds only (build/testhooks/preforkd, never the installed
 * binary): with PREFORKD_TEST_SYSCALL=NAME in the environment, SIGUSR2
 * makes the worker call NAME with zero arguments after lock-down ("x32":
 * getpid through the x32 ABI, "i386": through int $0x80, on x86_64;
 * "self": kill and tgkill of itself with signal 0, which the SELF rule
 * allows only when the filter names this worker's pid).
 */
static long test_call = -1;
static bool test_i386, test_self;

static void
on_test_signal(int signo)
{
	(void)signo;
	if (test_self) {
		syscall(SYS_kill, getpid(), 0);
		syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 0);
		return;
	}
#if defined(__x86_64__)
	if (test_i386) {
		long rc = 20; /* getpid in the i386 table */
		__asm__ volatile("int $0x80" : "+a"(rc) : : "memory");
		return;
	}
#endif
	syscall(test_call, 0, 0, 0, 0, 0, 0);
}

static void
test_hook_arm(void)
{
	const char *name = getenv("PREFORKD_TEST_SYSCALL");
	struct sigaction sa;

	if (name == NULL)
		return;
	if (strcmp(name, "x32") == 0 || strcmp(name, "i386") == 0) {
#if defined(__x86_64__)
		test_call = 0x40000000L | SYS_getpid;
		test_i386 = name[0] == 'i';
#endif
	} else if (strcmp(name, "self") == 0) {
		test_call = SYS_kill;
		test_self = true;
	} else {
		test_call = seccomp_syscall_resolve_name(name);
	}
	if (test_call < 0)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_test_signal;
	sigaction(SIGUSR2, &sa, NULL);
}
#else
static void
test_hook_arm(void)
{
}
#endif

/* -------------------------------------------------------------- enter */

/* The filter for family f: the lists, everything else deny; NULL after
 * logging.  self is the pid the SELF rule lets signals go to. */
static scmp_filter_ctx
build_filter(const struct family *f, uint32_t deny, pid_t self)
{
	scmp_filter_ctx ctx = seccomp_init(deny);
	bool log_only = deny == SCMP_ACT_LOG;

	if (ctx == NULL) {
		log_warnx("sandbox: seccomp_init failed");
		return NULL;
	}
	/* Another architecture's calls (i386 or x32 on x86_64): denied as
	 * any call missing from the lists. */
	seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, deny);
	/* A binary tree of the calls, not a list: each call costs a few
	 * comparisons, wherever it is in the table. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (add_calls(ctx, worker_calls,
	        sizeof(worker_calls) / sizeof(worker_calls[0]), log_only,
	        self) == 0 &&
	    add_calls(ctx, f->calls, f->ncalls, log_only, self) == 0 &&
	    add_probes(ctx, log_only) == 0)
		return ctx;
	seccomp_release(ctx);
	return NULL;
}

/* Build the filter in this process and load it: 0, or -1 after logging. */
static int
load_filter(const struct family *f, uint32_t deny)
{
	scmp_filter_ctx ctx = build_filter(f, deny, getpid());
	int rc = -1;

	if (ctx == NULL)
		return -1;
	if ((rc = seccomp_load(ctx)) < 0) {
		errno = -rc;
		log_warn("sandbox: seccomp_load");
		rc = -1;
	}
	seccomp_release(ctx);
	return rc;
}

/*
 * The filters the master built at start (sandbox_prepare), one per protocol id
 * and mode (trap, log), each loaded by a worker with one call.  Built in the
 * worker, libseccomp's tables (~64 KiB of heap for a few hundred
 * instructions) were written into the heap the worker shares with the
 * master, and the heap's pages all became the worker's own: 120 KiB
 * private per worker of 184, and a build per spawn.  Only the pid of the
 * SELF rule differs from one worker to the next: the master builds it as
 * PID_PLACEHOLDER, which no pid can be (pid_max is at most 2^22), and a
 * worker writes its own pid into a copy.  The programs are the file of a
 * memfd mapped read-only, never written after the master made it, so all
 * the workers share its pages.  A protocol or mode first used after start
 * (a reload) is built in the worker.
 */
#define PID_PLACEHOLDER 0x7ffffffe
static struct prebuilt_filter {
	const struct sock_filter *insns;
	unsigned short len;
} prebuilt[PROTO_COUNT][2];

/* Is insn the SELF rule's comparison with the pid? */
static bool
compares_pid(const struct sock_filter *insn)
{
	return insn->code == (BPF_JMP | BPF_JEQ | BPF_K) &&
	       insn->k == PID_PLACEHOLDER;
}

/* How many of insns' len instructions compare with the pid. */
static size_t
pid_compares(const struct sock_filter *insns, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += compares_pid(&insns[i]);
	return n;
}

/*
 * Master: ctx as BPF in a memfd mapped read-only, which every child
 * forked from now on shares, its *len instructions never written after
 * this; accept(insns, len) says whether the program is one its loader can
 * use.  NULL when it cannot be had: the filter is then built where it is
 * loaded.
 */
static struct sock_filter *
export_filter(scmp_filter_ctx ctx, unsigned short *len,
    bool (*accept)(const struct sock_filter *, size_t))
{
	struct sock_filter *insns, *out = NULL;
	off_t size;
	int fd = memfd_create("preforkd-seccomp", MFD_CLOEXEC);

	if (fd != -1 && seccomp_export_bpf(ctx, fd) == 0 &&
	    (size = lseek(fd, 0, SEEK_END)) > 0 &&
	    size % (off_t)sizeof(*insns) == 0 &&
	    size / (off_t)sizeof(*insns) <= USHRT_MAX &&
	    (insns = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0)) !=
	        MAP_FAILED) {
		size_t n = (size_t)size / sizeof(*insns);
		if (accept(insns, n)) {
			out = insns;
			*len = (unsigned short)n;
		} else
			munmap(insns, (size_t)size);
	}
	if (fd != -1)
		close(fd);
	return out;
}

/* No place for the pid: a libseccomp that wrote the SELF rule some other
 * way; a worker then builds its own. */
static bool
has_pid_place(const struct sock_filter *insns, size_t len)
{
	return pid_compares(insns, len) > 0;
}

/* Master: build protocol id's filter for mode log (or not) once. */
static void
prebuild(size_t id, bool log_only)
{
	scmp_filter_ctx ctx;

	if (id >= PROTO_COUNT || !families[id].builtin ||
	    prebuilt[id][log_only].insns != NULL)
		return;
	ctx = build_filter(&families[id].extras,
	    log_only ? SCMP_ACT_LOG : SCMP_ACT_TRAP, PID_PLACEHOLDER);
	if (ctx == NULL)
		return;
	/* Else each worker builds its own, as it would after a reload. */
	prebuilt[id][log_only].insns =
	    export_filter(ctx, &prebuilt[id][log_only].len, has_pid_place);
	seccomp_release(ctx);
}

/* Worker: load the master's program of len insns, with this worker's pid
 * in it: 0, or -1 after logging. */
static int
load_prebuilt(const struct sock_filter *insns, unsigned short len)
{
	size_t size = len * sizeof(*insns);
	struct sock_filter *copy;
	int rc;

	/* Mapped and unmapped, so that nothing of it stays in the worker. */
	copy = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (copy == MAP_FAILED) {
		log_warn("sandbox: room for the filter");
		return -1;
	}
	memcpy(copy, insns, size);
	for (unsigned short i = 0; i < len; i++)
		if (compares_pid(&copy[i]))
			copy[i].k = (uint32_t)getpid();
	rc = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
	    &(struct sock_fprog){ .len = len, .filter = copy });
	if (rc == -1)
		log_warn("sandbox: seccomp filter");
	munmap(copy, size);
	return rc;
}

/* The master read the time zone before the first fork (sandbox_check). */
static bool zone_read;

/*
 * Time zone data is a file: have it now, while files can be read, unless
 * the master read it for every worker.  Either call here writes libc's
 * state (tzset() frees and copies the zone's name on the heap; even
 * localtime_r() of a zone already read sets tzname, timezone and
 * daylight), so each would make pages the worker shares with the master
 * its own: two to three pages of an idle worker.  So a worker's zone is
 * the master's, as in the master's own log lines.
 */
static void
load_time_zone(void)
{
	time_t now = time(NULL);
	struct tm tm;

	if (!zone_read)
		localtime_r(&now, &tm);
}

void
sandbox_enter(const struct service *svc, int slot)
{
	enum sandbox_mode mode = (enum sandbox_mode)svc->sandbox;
	size_t id = (size_t)(svc->protocol - proto_info);
	const char *why;
	int abi;
	const struct prebuilt_filter *built;

	if (mode == SANDBOX_OFF || id >= PROTO_COUNT || !families[id].builtin)
		return;
	if ((why = unavailable()) != NULL ||
	    (mode == SANDBOX_LOG && !can_log())) {
		/* The master said so at start. */
		if (mode == SANDBOX_ON)
			fatalx(WORKER_EXIT_FATAL,
			    "service %s: sandbox = on: %s", svc->name,
			    why != NULL ? why : "no SECCOMP_RET_LOG");
		return;
	}
	load_time_zone();
	test_hook_arm();
	if (mode != SANDBOX_LOG)
		catch_sigsys(slot);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal(WORKER_EXIT_FATAL, "sandbox: PR_SET_NO_NEW_PRIVS");
	abi = mode != SANDBOX_LOG ? landlock_lock() : 0;
	built = &prebuilt[id][mode == SANDBOX_LOG];
	if ((built->insns != NULL
	            ? load_prebuilt(built->insns, built->len)
	            : load_filter(&families[id].extras,
	                  mode == SANDBOX_LOG ? SCMP_ACT_LOG
	                                      : SCMP_ACT_TRAP)) == -1) {
		if (mode == SANDBOX_ON)
			exit(WORKER_EXIT_FATAL);
		log_warnx("service %s: running without a sandbox", svc->name);
		return;
	}
	log_debug("sandbox %s: seccomp, landlock ABI %d",
	    mode == SANDBOX_LOG ? "log" : "on", abi);
}

/* -------------------------------------------------------------- check */

static bool prebuild_denylists(const struct config *conf);

void
sandbox_prepare(const struct config *conf)
{
	bool built = false, programs = prebuild_denylists(conf);

	for (size_t i = 0; unavailable() == NULL && i < conf->nservices; i++) {
		const struct service *svc = &conf->services[i];
		enum sandbox_mode mode = (enum sandbox_mode)svc->sandbox;
		if (mode == SANDBOX_OFF || (mode == SANDBOX_LOG && !can_log()))
			continue;
		prebuild(
		    (size_t)(svc->protocol - proto_info), mode == SANDBOX_LOG);
		built = true;
	}
	if (built) {
		/* The time zone, for every worker (load_time_zone). */
		tzset();
		zone_read = true;
	}
	/* What libseccomp freed, back to the kernel before the first fork,
	 * not kept resident in every process. */
	if (built || programs)
		malloc_trim(0);
}

int
sandbox_check(const struct config *conf, bool starting)
{
	const char *why = unavailable();
	size_t without = 0, with = 0;
	int rc = 0;

	for (size_t i = 0; i < conf->nservices; i++) {
		const struct service *svc = &conf->services[i];
		enum sandbox_mode mode = (enum sandbox_mode)svc->sandbox;
		const char *lacks = why;
		if (mode == SANDBOX_OFF)
			continue;
		if (lacks == NULL && mode == SANDBOX_LOG && !can_log())
			lacks = "the kernel has no SECCOMP_RET_LOG (Linux "
			        "4.14)";
		if (lacks == NULL) {
			with++;
			continue;
		}
		if (mode == SANDBOX_ON) {
			log_errorx("service %s: sandbox = on, but %s: not "
			           "starting (sandbox = auto runs without one)",
			    svc->name, lacks);
			rc = -1;
		} else {
			without++;
		}
	}
	if (rc == -1)
		return -1;
	if (starting)
		sandbox_prepare(conf);
	if (without > 0 && why != NULL && kernel_lacks() == NULL) {
		/* A choice made at build time, not a fault of the host or
		 * the file: said at start, not by -t. */
		if (starting)
			log_debug("sandbox: off: %s", why);
	} else if (without > 0 && why != NULL)
		log_warnx("sandbox: %s: the workers of %zu service(s) run "
		          "without one",
		    why, without);
	else if (without > 0)
		log_warnx("sandbox = log: the kernel has no SECCOMP_RET_LOG "
		          "(Linux 4.14): %zu service(s) run without a sandbox",
		    without);
	if (with > 0)
		log_debug(
		    "sandbox: seccomp filters for %zu service(s), landlock "
		    "ABI %d",
		    with, landlock_abi());
	return 0;
}

/* -------------------------------------------------------------- names */

const char *
sandbox_call_name(uint32_t arch, int32_t call, char *buf, size_t size)
{
	uint32_t native = seccomp_arch_native();
	const char *prefix = "";
	char *name;

	/* x32 shares x86_64's AUDIT_ARCH: its calls carry a bit. */
	if (arch == SCMP_ARCH_X86_64 && (call & 0x40000000) != 0) {
		arch = SCMP_ARCH_X32;
		prefix = "x32:";
	} else if (arch == SCMP_ARCH_X86 && native != arch) {
		prefix = "i386:";
	} else if (arch != native) {
		prefix = "foreign:";
	}
	name = seccomp_syscall_resolve_num_arch(arch, call);
	snprintf(buf, size, "%s%s", prefix, name != NULL ? name : "unknown");
	free(name);
	return buf;
}

/* ------------------------------------------------------- exec programs */

/* What no network service needs, for a program's process (issue 20). */
static const char *const program_denied[] = {
	"ptrace",            /* tracing a sibling, reading its memory */
	"process_vm_readv",  /* another process's memory */
	"process_vm_writev", /* the same, written */
	"kcmp",              /* comparing other processes' resources */
	"mount",
	"umount",
	"umount2",
	"pivot_root",
	"move_mount",
	"open_tree",
	"fsopen",
	"fsconfig",
	"fsmount",
	"fspick",
	"mount_setattr", /* the file system tree */
	"unshare",
	"setns", /* namespaces */
	"init_module",
	"finit_module",
	"delete_module", /* modules */
	"kexec_load",
	"kexec_file_load",
	"reboot", /* the machine */
	"bpf",
	"perf_event_open",
	"userfaultfd",
	"add_key",
	"request_key",
	"keyctl", /* the kernel keyring */
	"swapon",
	"swapoff",
	"acct", /* swap, accounting */
	"iopl",
	"ioperm",            /* raw I/O ports */
	"open_by_handle_at", /* files past a chroot */
	"lookup_dcookie",
	"quotactl",
	"nfsservctl",
	"vm86",
	"vm86old",
};

/* The deny-list for mode log (or not) as libseccomp's: NULL with errno. */
static scmp_filter_ctx
denylist_filter(bool log_only)
{
	uint32_t action = log_only ? SCMP_ACT_LOG : SCMP_ACT_ERRNO(EPERM);
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc = 0;

	if (ctx == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM));
	for (size_t i = 0;
	     rc == 0 && i < sizeof(program_denied) / sizeof(program_denied[0]);
	     i++) {
		int nr = seccomp_syscall_resolve_name(program_denied[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		rc = seccomp_rule_add(ctx, action, nr, 0);
		if (rc == -EDOM || rc == -EOPNOTSUPP || rc == -EEXIST)
			rc = 0;
	}
	if (rc < 0) {
		seccomp_release(ctx);
		errno = -rc;
		return NULL;
	}
	return ctx;
}

/*
 * The deny-list the master built (sandbox_prepare), for mode on or auto
 * and for mode log, loaded by a program's child with one prctl.  Built
 * in the child, after fork, libseccomp's build and compile was a third
 * of what fork and exec of /bin/true cost (590 us bare, 772 us with the
 * build, 675 us loading a filter compiled once).  Unlike the workers'
 * filters it names nothing of one process (the check below), so the
 * child loads the shared mapping itself, no copy.  A mode first used
 * after start (a reload) is built by the master then; where none could
 * be built, the child builds its own.
 */
static struct sock_fprog program_prebuilt[2];

/* Does the program read only the call's number and architecture?  Then
 * no constant in it can be one process's (a pid, an address): it is the
 * same for every program's process. */
static bool
names_no_process(const struct sock_filter *insns, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint16_t code = insns[i].code;
		if (BPF_CLASS(code) != BPF_LD && BPF_CLASS(code) != BPF_LDX)
			continue;
		if (code != (BPF_LD | BPF_W | BPF_ABS) ||
		    (insns[i].k != offsetof(struct seccomp_data, nr) &&
		        insns[i].k != offsetof(struct seccomp_data, arch)))
			return false;
	}
	return true;
}

/* Master: the deny-list of each mode conf's programs get, once; true
 * when one was built now. */
static bool
prebuild_denylists(const struct config *conf)
{
	bool built = false;

	/* A deny-list hinders no sanitizer: only the kernel matters. */
	if (kernel_lacks() != NULL)
		return false;
	for (size_t i = 0; i < conf->nservices; i++) {
		const struct service *svc = &conf->services[i];
		enum sandbox_mode mode = (enum sandbox_mode)svc->sandbox;
		bool log_only = mode == SANDBOX_LOG;
		struct sock_fprog *prog = &program_prebuilt[log_only];
		scmp_filter_ctx ctx;
		if (svc->command == NULL || mode == SANDBOX_OFF ||
		    (log_only && !can_log()) || prog->filter != NULL ||
		    (ctx = denylist_filter(log_only)) == NULL)
			continue;
		prog->filter = export_filter(ctx, &prog->len, names_no_process);
		seccomp_release(ctx);
		built = true;
	}
	return built;
}

int
sandbox_program_denylist(enum sandbox_mode mode)
{
	const struct sock_fprog *built = &program_prebuilt[mode == SANDBOX_LOG];
	scmp_filter_ctx ctx;
	int rc;

	if (mode == SANDBOX_OFF)
		return 0;
	/* A set-uid binary the program runs gains nothing. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return -1;
	/* The master found seccomp (and SECCOMP_RET_LOG for mode log) when
	 * it built it. */
	if (built->filter != NULL)
		return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, built);
	if (kernel_lacks() != NULL || (mode == SANDBOX_LOG && !can_log())) {
		if (mode != SANDBOX_ON)
			return 0;
		errno = ENOSYS;
		return -1;
	}
	if ((ctx = denylist_filter(mode == SANDBOX_LOG)) == NULL)
		return -1;
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}
