/*
 * Being a proper Unix daemon: the locked pidfile, detaching from the
 * terminal only once start-up has succeeded, who the workers run as and
 * dropping privileges to it, the limit on open files, and a process title
 * that says what each process is.
 *
 * Why this file is long: the pidfile's ownership, lock and holder checks
 * (issue 15) joined the daemon's other duties; they share its state.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "exitcode.h"
#include "log.h"
#include "unforked.h"

extern char **environ;

static int pidfile_fd = -1;
static char *pidfile_path;
static int ready_fd = -1; /* the waiting parent's pipe */
/* Where the title goes: argv's and environ's memory, or a worker's room
 * (daemon_title_own); its size, and the bytes of it the last title
 * dirtied. */
static char *title_area WORKER_DATA;
static size_t title_size WORKER_DATA;
static size_t title_used WORKER_DATA;
/* The rest of what PR_SET_MM_MAP must be told, read once at start. */
static struct prctl_mm_map title_mm;
static bool title_mm_known;

/* The pid written in an open pidfile, or -1. */
static pid_t
read_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *end;
	long pid;

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	if (end == buf || (*end != '\n' && *end != '\0') || pid <= 0)
		return -1;
	return (pid_t)pid;
}

void
daemon_warn_shared_dir(const char *what, const char *path)
{
	char *copy = strdup(path);
	struct stat st;

	if (copy == NULL)
		return;
	/* A warning, not a refusal: the files themselves are checked (the
	 * pidfile must be ours, the scoreboard is made fresh), so a shared
	 * directory is a risk to point out, not a hole. */
	if (stat(dirname(copy), &st) == 0 && (st.st_mode & S_IWOTH))
		log_warnx("%s %s: its directory %s is world-writable%s: "
		          "another user can put files there first; give "
		          "preforkd a directory of its own (such as /run)",
		    what, path, copy,
		    (st.st_mode & S_ISVTX) ? " (sticky, as /tmp)" : "");
	free(copy);
}

/* Who owns uid, for a message: the user's name, or "uid N". */
static const char *
owner_name(uid_t uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, size, "%s (uid %ld)", pw->pw_name, (long)uid);
	else
		snprintf(buf, size, "uid %ld", (long)uid);
	return buf;
}

/* Log why the file at path, which st describes, is not ours to use as a
 * pidfile; true when it is not. */
static bool
foreign_file(const char *path, const struct stat *st)
{
	if (!S_ISREG(st->st_mode)) {
		log_errorx("pidfile %s: not a regular file", path);
		return true;
	}
	if (st->st_uid != geteuid()) {
		char who[64];
		log_errorx("pidfile %s is owned by %s, not by preforkd's user: "
		           "another user's file is never used; remove it, or "
		           "give preforkd a directory of its own",
		    path, owner_name(st->st_uid, who, sizeof(who)));
		return true;
	}
	/* Another name of the same file (a hard link): truncating it would
	 * truncate that file. */
	if (st->st_nlink > 1) {
		log_errorx("pidfile %s has %ju links: it is another file's "
		           "name too, and is not used",
		    path, (uintmax_t)st->st_nlink);
		return true;
	}
	return false;
}

/* open() of path failed: say why, naming the owner of a file that is
 * there and not ours (fs.protected_regular refuses such a file in a
 * sticky directory). */
static void
open_failed(const char *path)
{
	int err = errno;
	struct stat st;

	if (lstat(path, &st) == 0 && foreign_file(path, &st))
		return;
	/* Most often the default, /run, for a user who is not root: say
	 * how to name another. */
	if (err == EACCES || err == EROFS) {
		log_errorx("pidfile %s: open: %s (name one preforkd may write "
		           "with -p, or pidfile in the configuration)",
		    path, strerror(err));
		return;
	}
	errno = err;
	log_error("pidfile %s: open", path);
}

int
daemon_pidfile_lock(const char *path)
{
	struct stat st;
	int fd;

	daemon_warn_shared_dir("pidfile", path);
	fd = open(
	    path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
	if (fd == -1) {
		open_failed(path);
		return -1;
	}
	/* Before the lock: a lock another user holds on her own file says
	 * nothing about a running preforkd. */
	if (fstat(fd, &st) == -1) {
		log_error("pidfile %s: fstat", path);
		close(fd);
		return -1;
	}
	if (foreign_file(path, &st)) {
		close(fd);
		return -1;
	}
	/* flock, not fcntl: the lock must survive the fork that detaches. */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		pid_t other = read_pid(fd);
		if (errno == EWOULDBLOCK && other > 0)
			log_errorx("pidfile %s is locked: preforkd is already "
			           "running as pid %ld",
			    path, (long)other);
		else
			log_error("pidfile %s: lock", path);
		close(fd);
		return -1;
	}
	/* Empty at once: until we write ours, the pid of a previous master
	 * must not be there for -s to signal. */
	if (ftruncate(fd, 0) == -1 ||
	    ((st.st_mode & 022) != 0 && fchmod(fd, 0644) == -1)) {
		log_error("pidfile %s: truncate", path);
		close(fd);
		return -1;
	}
	if ((pidfile_path = strdup(path)) == NULL) {
		log_error("pidfile %s: copy of its path", path);
		close(fd);
		return -1;
	}
	pidfile_fd = fd;
	return 0;
}

/* The pid holding a POSIX lock on fd that a write lock would clash with,
 * 0 when none does, -1 after logging. */
static pid_t
lock_holder(int fd, const char *path)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	if (fcntl(fd, F_GETLK, &fl) == -1) {
		log_error("pidfile %s: F_GETLK", path);
		return -1;
	}
	return fl.l_type == F_UNLCK ? 0 : fl.l_pid;
}

int
daemon_pidfile_write(pid_t pid)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)pid);

	/*
	 * Beside the flock, which the fork that detaches keeps: a POSIX lock,
	 * which belongs to this process alone (a worker forked later does not
	 * hold it) and which F_GETLK names the holder of.  So -s can tell
	 * that the pid in the file is the master of this very file, not a
	 * worker or another instance someone pointed it at.
	 */
	if (fcntl(pidfile_fd, F_SETLK, &fl) == -1) {
		pid_t other = lock_holder(pidfile_fd, pidfile_path);
		if (other > 0)
			log_errorx("pidfile %s: process %ld holds a lock on it",
			    pidfile_path, (long)other);
		else
			log_error("pidfile %s: lock", pidfile_path);
		return -1;
	}
	if (ftruncate(pidfile_fd, 0) == -1 ||
	    pwrite(pidfile_fd, buf, (size_t)n, 0) != n) {
		log_error("pidfile %s: write", pidfile_path);
		return -1;
	}
	return 0;
}

int
daemon_pidfile_fd(void)
{
	return pidfile_fd;
}

const char *
daemon_pidfile_path(void)
{
	return pidfile_path;
}

int
daemon_pidfile_adopt(int fd, const char *path)
{
	/* Not reopened: closing any descriptor of the file would drop the
	 * POSIX lock, which crossed the exec with the process. */
	if ((pidfile_path = strdup(path)) == NULL) {
		log_error("pidfile %s: copy of its path", path);
		return -1;
	}
	pidfile_fd = fd;
	return 0;
}

void
daemon_pidfile_remove(void)
{
	if (pidfile_fd == -1)
		return;
	if (unlink(pidfile_path) == -1)
		log_warn("pidfile %s: unlink", pidfile_path);
	daemon_pidfile_drop();
	pidfile_fd = -1;
}

void
daemon_pidfile_drop(void)
{
	/* Close only: a worker, which never looks at the pidfile again,
	 * writes nothing here -- neither pidfile_fd nor the path's memory --
	 * so that the pages it shares with the master stay shared. */
	if (pidfile_fd != -1)
		close(pidfile_fd);
}

/* Is pid a preforkd process?  Its command name says so: the kernel sets it
 * from the name of the file executed, and a title does not change it (see
 * daemon_title_set).  So a binary installed under another name is not
 * recognised, and -s refuses to signal it. */
static bool
is_preforkd(pid_t pid)
{
	char path[64], comm[32] = "";
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return false;
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	return n > 0 && strncmp(comm, "preforkd\n", (size_t)n) == 0 &&
	       (size_t)n == strlen("preforkd\n");
}

/* The effective uid of process pid, or -1. */
static long
process_uid(pid_t pid)
{
	char path[64], line[128];
	long uid = -1, real;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Uid: %ld %ld", &real, &uid) == 2)
			break;
	fclose(f);
	return uid;
}

/*
 * Is pid, named in the pidfile open on fd (st), its master?  It is
 * preforkd, holds the file's POSIX lock (a worker, another instance or
 * any other process does not) and runs as the file's owner.  false
 * after logging why not.
 */
static bool
is_master_of(int fd, const char *path, const struct stat *st, pid_t pid)
{
	pid_t holder;

	if (!is_preforkd(pid)) {
		log_errorx("pidfile %s: pid %ld is not a preforkd master", path,
		    (long)pid);
		return false;
	}
	if ((holder = lock_holder(fd, path)) == -1)
		return false;
	if (holder != pid) {
		if (holder == 0)
			log_errorx("pidfile %s: pid %ld does not hold its lock "
			           "as a preforkd master does (another "
			           "program's lock, or an older preforkd)",
			    path, (long)pid);
		else
			log_errorx(
			    "pidfile %s names pid %ld, but pid %ld holds "
			    "its lock",
			    path, (long)pid, (long)holder);
		return false;
	}
	if (process_uid(pid) != (long)st->st_uid) {
		char who[64];
		log_errorx(
		    "pidfile %s is owned by %s, who does not run pid %ld", path,
		    owner_name(st->st_uid, who, sizeof(who)), (long)pid);
		return false;
	}
	return true;
}

pid_t
daemon_pidfile_read(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	pid_t pid;

	if (fd == -1) {
		log_error("pidfile %s (is preforkd running?)", path);
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_errorx("pidfile %s: not a regular file", path);
		close(fd);
		return -1;
	}
	pid = read_pid(fd);
	/* A lock we can take means nobody holds it: the file is stale. */
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		log_errorx(
		    "pidfile %s is stale: preforkd is not running", path);
		pid = -1;
	} else if (pid == -1) {
		log_errorx("pidfile %s does not hold a pid (preforkd may be "
		           "starting)",
		    path);
	} else if (!is_master_of(fd, path, &st, pid)) {
		pid = -1;
	}
	close(fd);
	return pid;
}

/* The parent: wait for the child's "ready" byte, or for it to die. */
static void __attribute__((noreturn)) wait_for_child(pid_t child, int fd)
{
	char byte;
	ssize_t n;
	int status;

	do
		n = read(fd, &byte, 1);
	while (n == -1 && errno == EINTR);
	if (n == 1)
		_exit(0);
	/* The pipe closed without a byte: the child failed; pass it on. */
	if (waitpid(child, &status, 0) == child && WIFEXITED(status))
		_exit(WEXITSTATUS(status) != 0 ? WEXITSTATUS(status)
		                               : EXIT_START);
	_exit(EXIT_START);
}

int
daemon_detach(void)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) == -1) {
		log_error("detach: pipe to the waiting parent");
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_error("detach: fork");
		return -1;
	}
	if (pid > 0) {
		close(fds[1]);
		wait_for_child(pid, fds[0]);
	}
	close(fds[0]);
	ready_fd = fds[1];
	if (setsid() == -1)
		log_warn("detach: setsid");
	if (chdir("/") == -1)
		log_warn("detach: chdir /");
	return 0;
}

bool
daemon_stderr_is_file(void)
{
	struct stat st;

	return fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode);
}

void
daemon_ready(bool keep_stderr)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (ready_fd != -1) {
		ssize_t n = write(ready_fd, "", 1);
		(void)n; /* a parent that is gone needs no answer */
		close(ready_fd);
		ready_fd = -1;
	}
	if (null != -1) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		if (!keep_stderr)
			dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	log_tee_stderr(0);
}

/* Look up user and group; 0, or -1 after logging which name is unknown. */
static int
lookup_ids(const char *user, const char *group, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;
	struct group *gr;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_errorx("user \"%s\": %s", user,
		    errno != 0 ? strerror(errno) : "no such user");
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (group == NULL)
		return 0;
	errno = 0;
	if ((gr = getgrnam(group)) == NULL) {
		log_errorx("group \"%s\": %s", group,
		    errno != 0 ? strerror(errno) : "no such group");
		return -1;
	}
	*gid = gr->gr_gid;
	return 0;
}

int
daemon_worker_user(const char *user, const char *group, uid_t *uid, gid_t *gid)
{
	if (lookup_ids(user != NULL ? user : DAEMON_DEFAULT_USER, group, uid,
	        gid) == 0)
		return 0;
	if (user == NULL)
		log_errorx("user is not set, and a root preforkd runs its "
		           "workers as %s then: set user",
		    DAEMON_DEFAULT_USER);
	return -1;
}

int
daemon_worker_ids(
    const char *user, const char *group, bool *change, uid_t *uid, gid_t *gid)
{
	*change = false;
	*uid = 0;
	*gid = 0;
	if (getuid() != 0) {
		if (user != NULL)
			log_notice("not started as root: ignoring user %s%s%s",
			    user, group != NULL ? " and group " : "",
			    group != NULL ? group : "");
		return 0;
	}
	if (daemon_worker_user(user, group, uid, gid) == -1)
		return -1;
	*change = true;
	return 0;
}

void
daemon_worker_ids_log(const char *user, bool change, uid_t uid, gid_t gid)
{
	const struct passwd *nobody;

	if (change && user == NULL)
		log_notice("user is not set: workers run as %s (uid %ld, gid "
		           "%ld); user = \"root\" keeps them root",
		    DAEMON_DEFAULT_USER, (long)uid, (long)gid);
	/* Every process of that uid may signal and trace the workers:
	 * other daemons' too, when it is the one they all share. */
	if (change && uid != 0 && (nobody = getpwnam("nobody")) != NULL &&
	    nobody->pw_uid == uid)
		log_warnx("workers run as nobody (uid %ld), which other "
		          "programs share: any process of nobody may stop or "
		          "trace them; give them a user of their own (see "
		          "SECURITY in preforkd(8))",
		    (long)uid);
}

int
daemon_drop_privileges(uid_t uid, gid_t gid)
{
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		log_error("cannot drop privileges to uid %ld gid %ld",
		    (long)uid, (long)gid);
		return -1;
	}
	return 0;
}

/*
 * Descriptors a process of preforkd holds besides listening sockets and
 * its client, with room to spare: 0-2, the log and access log, the
 * pidfile, the scoreboard's pipe, /dev/null and epoll in a worker, the
 * service manager's and syslog's sockets.
 */
#define OWN_FILES 16

int
daemon_files_limit(size_t listeners)
{
	struct rlimit rl;
	rlim_t need = OWN_FILES + listeners + 1;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_error("open files: getrlimit(RLIMIT_NOFILE)");
		return -1;
	}
	/* Workers inherit the raised limit: a worker short of descriptors
	 * can accept nobody. */
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			log_warn("open files: raising the soft limit from %llu "
			         "to %llu",
			    (unsigned long long)was,
			    (unsigned long long)rl.rlim_max);
			rl.rlim_cur = was;
		}
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		log_errorx("open files: the limit (RLIMIT_NOFILE) is %llu, but "
		           "%zu listening socket(s), a client and %d of "
		           "preforkd's own need %llu: raise the hard limit "
		           "(ulimit -Hn, LimitNOFILE=)",
		    (unsigned long long)rl.rlim_cur, listeners, OWN_FILES,
		    (unsigned long long)need);
		return -1;
	}
	return 0;
}

/* One past the end of the strings of list that follow each other from
 * start on, contiguous, as the kernel lays them out. */
static char *
contiguous_end(char *start, char *const *list)
{
	char *end = start;

	for (size_t i = 0; list[i] != NULL && list[i] == end; i++)
		end = list[i] + strlen(list[i]) + 1;
	return end;
}

/*
 * The relocated environment: its strings, all in one block, and the array.
 * Nothing reads these pointers; they keep the memory referenced for leak
 * checkers: unsetenv() drops pointers from environ, and at exit glibc's
 * freeres (run by valgrind) sets environ to NULL.  volatile, or the
 * compiler drops the stores to variables that are never read.
 */
static char *volatile environ_block;
static char **volatile environ_array;

/* Move the environment's strings to the heap, so that their memory, right
 * after argv's, can hold a long title; 0, or -1 when out of memory. */
static int
relocate_environ(void)
{
	size_t n = 0, size = 0;
	char **copy, *p;

	for (; environ[n] != NULL; n++)
		size += strlen(environ[n]) + 1;
	if ((copy = calloc(n + 1, sizeof(*copy))) == NULL)
		return -1;
	if ((environ_block = malloc(size + 1)) == NULL) {
		free(copy);
		return -1;
	}
	p = environ_block;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(environ[i]) + 1;
		copy[i] = memcpy(p, environ[i], len);
		p += len;
	}
	environ_array = copy;
	environ = copy;
	return 0;
}

/*
 * The boundaries of this process's memory that PR_SET_MM_MAP wants all of
 * (fields 26 to 28 and 45 to 47 of /proc/self/stat), into title_mm; 0, or
 * -1 when they cannot be read.  They do not change after exec, and fork
 * copies them: read once by the master, for every worker.
 */
static int
read_mm_bounds(void)
{
	char buf[1024], *p;
	unsigned long long v[52];
	ssize_t got;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		return -1;
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	/* The command name, field 2, is in parentheses and may hold any
	 * byte: the fields counted start after its last ')'. */
	if (got <= 0)
		return -1;
	buf[got] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	p++;
	for (int i = 3; i <= 47; i++) {
		char *end;
		while (*p == ' ')
			p++;
		if (i == 3) { /* the state, a letter */
			p++;
			continue;
		}
		v[i] = strtoull(p, &end, 10);
		if (end == p)
			return -1;
		p = end;
	}
	title_mm.start_code = v[26];
	title_mm.end_code = v[27];
	title_mm.start_stack = v[28];
	title_mm.start_data = v[45];
	title_mm.end_data = v[46];
	title_mm.start_brk = v[47];
	title_mm.exe_fd = (__u32)-1;
	title_mm_known = true;
	return 0;
}

void
daemon_title_own(char *room, size_t size)
{
	struct prctl_mm_map map = title_mm;

	/*
	 * Written over the argument area, a title costs a worker a private
	 * copy of the stack's top page, the master's.  In room, memory the
	 * worker writes anyway, it costs nothing: the kernel shows the
	 * command line from there once told with PR_SET_MM_MAP, which any
	 * process may do to itself where the kernel has checkpoint/restore
	 * (no privilege is needed while the executable's file stays as it
	 * is).  The argument range is one byte long and the environment's
	 * follows it, as after a setproctitle(): the kernel then reads the
	 * title up to its NUL, not a byte more.  It reads only anonymous
	 * memory there (FOLL_ANON), so room cannot be a static of the
	 * program's file-backed data.  Where the call fails, the title stays
	 * where it was.
	 */
	if (!title_mm_known || title_area == NULL || size < 2)
		return;
	memset(room, 0, size);
	map.brk = (uintptr_t)sbrk(0);
	map.arg_start = (uintptr_t)room;
	map.arg_end = map.arg_start + 1;
	map.env_start = map.arg_end;
	map.env_end = map.arg_start + size;
	if (prctl(PR_SET_MM, PR_SET_MM_MAP, &map, sizeof(map), 0) == -1)
		return;
	title_area = room;
	title_size = size;
	title_used = 0;
}

void
daemon_title_init(int argc, char **argv)
{
	char **env = environ; /* the kernel's array, before the copy */
	char *end;

	/*
	 * As nginx and OpenSSH do: argv's strings and then environ's lie
	 * one after the other; once the environment lives elsewhere, their
	 * whole span is ours, and a title is not cut to the length of the
	 * command line.  The kernel shows a title that runs past argv's end
	 * in /proc/PID/cmdline as long as argv's last byte is not NUL.
	 */
	if (argc == 0)
		return;
	end = contiguous_end(argv[0], argv);
	if (end == argv[argc - 1] + strlen(argv[argc - 1]) + 1 &&
	    relocate_environ() == 0)
		end = contiguous_end(end, env);
	title_area = argv[0];
	title_size = (size_t)(end - argv[0]);
	title_used = title_size - 1;
	(void)read_mm_bounds(); /* or the title stays in the area */
}

void
daemon_title_set(const char *title)
{
	size_t len;

	/* The command name (comm) stays "preforkd" so pkill/pgrep find us. */
	if (title_area == NULL)
		return;
	len = strlen(title);
	if (len > title_size - 1)
		len = title_size - 1;
	memcpy(title_area, title, len);
	/* Clear only what the last title wrote: a worker sets one per
	 * connection. */
	if (title_used > len)
		memset(title_area + len, 0, title_used - len);
	title_area[len] = '\0';
	title_used = len;
}
