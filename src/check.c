/*
 * preforkd -t beyond the syntax: what start-up would trip over, found
 * without starting -- the log files and the pidfile (their directories,
 * and that they are files), and the listen addresses, each bound once on
 * a throw-away socket.
 *
 * An address already in use is looked up in /proc: the socket in
 * /proc/net/{tcp,udp}{,6}, its holder among /proc/PID/fd.  It is fine
 * when the holder is the instance this check is for (a preforkd master
 * started with this file, or holding this pidfile: the usual reason to run
 * -t is a reload to come), or a process -t descends from (a service
 * manager that holds the socket to pass it, as systemd does for a socket
 * unit).  Any other holder is an error that names it.  When the holder
 * cannot be seen (another user's process), the old rule holds: fine if a
 * preforkd holds the pidfile, or with -a, which says the service manager
 * holds the addresses.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "log.h"

#ifndef CONFIG_DEFAULT
#define CONFIG_DEFAULT "/etc/preforkd/preforkd.conf"
#endif

/* What start-up does with an existing file of this kind. */
enum file_kind {
	FILE_LOG,     /* opened for appending: a regular file or a device */
	FILE_PIDFILE, /* locked and rewritten: a regular file */
};

/* path, if it exists, is a file start-up can open as kind; 0, or -1
 * after logging. */
static int
check_file_type(const char *what, const char *path, enum file_kind kind)
{
	struct stat st;
	const char *is;

	if (stat(path, &st) == -1)
		return 0; /* start-up creates it */
	if (S_ISREG(st.st_mode) || (kind == FILE_LOG && S_ISCHR(st.st_mode)))
		return 0;
	if (S_ISDIR(st.st_mode))
		is = "a directory";
	else if (S_ISFIFO(st.st_mode))
		is = "a FIFO";
	else if (S_ISSOCK(st.st_mode))
		is = "a socket";
	else if (S_ISCHR(st.st_mode))
		is = "a device";
	else
		is = "not a regular file";
	log_errorx("%s %s: %s, where a %s is written", what, path, is,
	    kind == FILE_LOG ? "log file (or a character device)"
	                     : "regular file");
	return -1;
}

/* The directory of path exists and we may create files in it, and what
 * is at path can be opened as start-up would. */
static int
check_directory(const char *what, const char *path, enum file_kind kind)
{
	char *copy = strdup(path);
	const char *dir;
	struct stat st;
	int rc = 0;

	if (copy == NULL) {
		log_error("%s %s", what, path);
		return -1;
	}
	dir = dirname(copy);
	if (access(dir, W_OK | X_OK) == -1) {
		log_error("%s %s: directory %s", what, path, dir);
		rc = -1;
	} else if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		/* Start-up opens these with O_NOFOLLOW. */
		log_errorx("%s %s: it is a symbolic link, which is never "
		           "followed",
		    what, path);
		rc = -1;
	} else if (check_file_type(what, path, kind) == -1) {
		rc = -1;
	} else if (access(path, F_OK) == 0 && access(path, W_OK) == -1) {
		log_error("%s %s", what, path);
		rc = -1;
	}
	free(copy);
	return rc;
}

/* A master holds the lock of pidfile: it runs. */
static bool
instance_running(const char *pidfile)
{
	int fd = open(pidfile, O_RDONLY | O_CLOEXEC);
	bool held;

	if (fd == -1)
		return false;
	held = flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}

/* Bind a socket to a as start-up would, and let it go; 0 or an errno. */
static int
try_bind(const struct addr *a)
{
	int fd = socket(a->ss.ss_family, a->socktype | SOCK_CLOEXEC, 0);
	int on = 1, err = 0;

	if (fd == -1)
		return errno;
	/* As the listener does for TCP, so TIME_WAIT does not count; not
	 * for UDP, where it would let us share a port that is taken. */
	if (a->socktype == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (a->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1)
		err = errno;
	close(fd);
	return err;
}

/* ------------------------------------------- who holds an address in use */

/* A socket of /proc/net and what /proc/PID/fd tells of its holder. */
struct holder {
	unsigned long inode; /* 0: no such socket in /proc/net */
	long uid;            /* the socket's owner */
	pid_t pid;           /* 0: no process we may look into holds it */
	bool hidden;         /* some process's descriptors were not ours
	                        to read */
};

/* A /proc/net address, "0100007F:1B59" (the address's 32-bit words as
 * the kernel stores them, in hex, then the port), clashes with a: the
 * same port, and the same address or a wildcard on either side. */
static bool
net_address_clashes(const char *field, const struct addr *a)
{
	unsigned words[4] = { 0 }, port;
	const unsigned char *want;
	size_t nwords = a->ss.ss_family == AF_INET6 ? 4 : 1, len;
	const char *colon = strchr(field, ':');
	uint32_t mine[4] = { 0 };
	bool any_theirs = true, any_mine = true, same = true;

	if (colon == NULL || (len = (size_t)(colon - field)) % 8 != 0 ||
	    len / 8 > 4)
		return false;
	for (size_t i = 0; i < len / 8; i++)
		if (sscanf(field + 8 * i, "%8x", &words[i]) != 1)
			return false;
	if (sscanf(colon + 1, "%x", &port) != 1)
		return false;
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&a->ss;
		want = s6->sin6_addr.s6_addr;
		if (port != ntohs(s6->sin6_port))
			return false;
	} else {
		const struct sockaddr_in *s4 = (const void *)&a->ss;
		want = (const unsigned char *)&s4->sin_addr.s_addr;
		if (port != ntohs(s4->sin_port))
			return false;
	}
	memcpy(mine, want, 4 * nwords);
	for (size_t i = 0; i < 4; i++) {
		any_theirs = any_theirs && words[i] == 0;
		any_mine = any_mine && mine[i] == 0;
		same = same && (i >= nwords || words[i] == mine[i]);
	}
	/* A v4 socket and a v6 one clash only through a wildcard (a v6
	 * socket that is not v6-only takes v4 too). */
	if (len / 8 != nwords)
		return any_theirs;
	return same || any_theirs || any_mine;
}

/* Find, in one /proc/net table, a socket that a's bind clashed with: for
 * TCP one listening (0A) or bound and idle (07), for UDP any. */
static void
find_socket_in(const char *table, const struct addr *a, struct holder *h)
{
	FILE *f = fopen(table, "re");
	char line[512], local[64], state[8];
	unsigned long inode;
	long uid;

	if (f == NULL)
		return;
	while (h->inode == 0 && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, " %*s %63s %*s %7s %*s %*s %*s %ld %*s %lu",
		        local, state, &uid, &inode) != 4 ||
		    inode == 0 || !net_address_clashes(local, a))
			continue;
		if (a->socktype == SOCK_STREAM && strcmp(state, "0A") != 0 &&
		    strcmp(state, "07") != 0)
			continue;
		h->inode = inode;
		h->uid = uid;
	}
	fclose(f);
}

/* Does process pid hold the socket inode?  Sets *hidden when its
 * descriptors are not ours to read. */
static bool
holds_socket(pid_t pid, unsigned long inode, bool *hidden)
{
	char path[64], link[64], want[40];
	struct dirent *e;
	bool held = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	if ((d = opendir(path)) == NULL) {
		if (errno == EACCES || errno == EPERM)
			*hidden = true;
		return false;
	}
	while (!held && (e = readdir(d)) != NULL) {
		char fd_path[320];
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(fd_path, sizeof(fd_path), "%s/%s", path, e->d_name);
		n = readlink(fd_path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			held = strcmp(link, want) == 0;
		}
	}
	closedir(d);
	return held;
}

/* The parent of pid, from /proc/PID/stat; 0 when unknown. */
static pid_t
parent_of(pid_t pid)
{
	char path[64], buf[512];
	const char *p;
	long ppid;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "PID (COMM) STATE PPID ...": the command may hold ") ". */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %ld", &ppid) != 1)
		return 0;
	return (pid_t)ppid;
}

/* The process holding h's socket that is not the child of another holder
 * (a preforkd master, not one of its workers). */
static void
find_holder(struct holder *h)
{
	struct dirent *e;
	DIR *d = opendir("/proc");
	pid_t parent;

	if (d == NULL)
		return;
	while (h->pid == 0 && (e = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end == '\0' && pid > 0 &&
		    holds_socket((pid_t)pid, h->inode, &h->hidden))
			h->pid = (pid_t)pid;
	}
	closedir(d);
	while (h->pid > 1 && (parent = parent_of(h->pid)) > 0 &&
	       holds_socket(parent, h->inode, &h->hidden))
		h->pid = parent;
}

/* Who holds the socket a's bind clashed with, as far as /proc tells. */
static void
address_holder(const struct addr *a, struct holder *h)
{
	bool tcp = a->socktype == SOCK_STREAM;

	*h = (struct holder){ .uid = -1 };
	if (a->ss.ss_family != AF_INET && a->ss.ss_family != AF_INET6)
		return;
	/* Our own family's table first: it names the socket we clash
	 * with exactly; for v4, a v6 wildcard that takes v4 clashes too. */
	if (a->ss.ss_family == AF_INET) {
		find_socket_in(tcp ? "/proc/net/tcp" : "/proc/net/udp", a, h);
		find_socket_in(tcp ? "/proc/net/tcp6" : "/proc/net/udp6", a, h);
	} else {
		/* v6-only, as the listener binds it: no v4 socket clashes. */
		find_socket_in(tcp ? "/proc/net/tcp6" : "/proc/net/udp6", a, h);
	}
	if (h->inode != 0)
		find_holder(h);
}

/* Is pid this process's parent, or one of its ancestors? */
static bool
is_ancestor(pid_t pid)
{
	for (pid_t p = getppid(); p > 0; p = parent_of(p)) {
		if (p == pid)
			return true;
		if (p == 1)
			break;
	}
	return false;
}

/* Read /proc/PID/name into buf; its length, or -1. */
static ssize_t
read_proc(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* The command line of pid, its arguments apart by spaces, bytes that
 * are not printable as '?', cut at size; its command name when the line
 * is empty (a kernel thread) or cannot be read. */
static void
process_command(pid_t pid, char *buf, size_t size)
{
	ssize_t n = read_proc(pid, "cmdline", buf, size);

	if (n <= 0) {
		if (read_proc(pid, "comm", buf, size) <= 0)
			snprintf(buf, size, "?");
		buf[strcspn(buf, "\n")] = '\0';
		return;
	}
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
		else if (!isprint((unsigned char)buf[i]))
			buf[i] = '?';
	buf[n] = '\0';
}

/* Is pid a preforkd?  Its command name, which a process title does not
 * change, says so (as for -s, a binary under another name is not). */
static bool
is_preforkd(pid_t pid)
{
	char comm[32];

	return read_proc(pid, "comm", comm, sizeof(comm)) > 0 &&
	       strcmp(comm, "preforkd\n") == 0;
}

/* The pidfile of master pid: the file it holds open whose content is its
 * pid.  0 with its path in buf, or -1. */
static int
master_pidfile(pid_t pid, char *buf, size_t size)
{
	char dir[64];
	struct dirent *e;
	int rc = -1;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
	if ((d = opendir(dir)) == NULL)
		return -1;
	while (rc == -1 && (e = readdir(d)) != NULL) {
		char fd_path[320], text[32];
		ssize_t n;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(fd_path, sizeof(fd_path), "%s/%s", dir, e->d_name);
		n = readlink(fd_path, buf, size - 1);
		if (n <= 0 || buf[0] != '/')
			continue;
		buf[n] = '\0';
		if ((fd = open(buf,
		         O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) == -1)
			continue;
		n = pread(fd, text, sizeof(text) - 1, 0);
		close(fd);
		if (n > 0) {
			text[n] = '\0';
			if (strtol(text, NULL, 10) == (long)pid &&
			    text[strspn(text, "0123456789")] == '\n')
				rc = 0;
		}
	}
	closedir(d);
	return rc;
}

/* The configuration file master pid was started with: -c on its command
 * line (which the master never retitles), against its working directory
 * when relative, or the default.  0 with its path in buf, or -1. */
static int
master_config(pid_t pid, char *buf, size_t size)
{
	char args[4096], cwd[PATH_MAX], link[64];
	const char *config = CONFIG_DEFAULT, *end, *arg;
	ssize_t n = read_proc(pid, "cmdline", args, sizeof(args));

	if (n <= 0)
		return -1;
	end = args + n;
	/* As getopt reads "c:fhp:s:tTVw:", from argv[1]. */
	for (arg = args + strlen(args) + 1; arg < end;) {
		const char *next = arg + strlen(arg) + 1;
		if (arg[0] != '-' || arg[1] == '\0' || strcmp(arg, "--") == 0)
			break;
		for (const char *o = arg + 1; *o != '\0'; o++) {
			const char *value = o[1] != '\0' ? o + 1 : next;
			if (strchr("cpsw", *o) == NULL)
				continue;
			if (value >= end)
				break; /* an option without its value */
			if (*o == 'c')
				config = value;
			if (o[1] == '\0')
				next = value + strlen(value) + 1;
			break;
		}
		arg = next;
	}
	if (config[0] == '/')
		return snprintf(buf, size, "%s", config) < (int)size ? 0 : -1;
	snprintf(link, sizeof(link), "/proc/%ld/cwd", (long)pid);
	if ((n = readlink(link, cwd, sizeof(cwd) - 1)) <= 0)
		return -1;
	cwd[n] = '\0';
	return snprintf(buf, size, "%s/%s", cwd, config) < (int)size ? 0 : -1;
}

/* Do paths a and b name the same file? */
static bool
same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Was preforkd pid started with conf's file?  Its path in buf, if known. */
static bool
runs_this_file(const struct config *conf, pid_t pid, char *buf, size_t size)
{
	return master_config(pid, buf, size) == 0 && same_file(buf, conf->path);
}

/*
 * Does the instance of conf run: a preforkd holds pidfile, or the first
 * address in use is held by a preforkd started with this file?  Then the
 * check is for a reload, which opens no pidfile.
 */
static bool
instance_runs(const struct config *conf, const char *pidfile)
{
	char path[PATH_MAX];
	struct holder h;

	if (instance_running(pidfile))
		return true;
	for (size_t i = 0; i < conf->nservices; i++) {
		const struct service *s = &conf->services[i];
		for (size_t j = 0; j < s->naddrs; j++) {
			if (try_bind(&s->addrs[j]) != EADDRINUSE)
				continue;
			address_holder(&s->addrs[j], &h);
			return h.pid > 0 && is_preforkd(h.pid) &&
			       runs_this_file(conf, h.pid, path, sizeof(path));
		}
	}
	return false;
}

/* Is preforkd pid, holding an address, the instance this check is for?
 * true, or false with what to say in why. */
static bool
preforkd_is_instance(const struct config *conf, const char *pidfile, pid_t pid,
    char *why, size_t size)
{
	char other_pidfile[PATH_MAX], other_config[PATH_MAX];
	bool has_pidfile =
	    master_pidfile(pid, other_pidfile, sizeof(other_pidfile)) == 0;
	int n;

	if ((has_pidfile && same_file(other_pidfile, pidfile)) ||
	    runs_this_file(conf, pid, other_config, sizeof(other_config)))
		return true;
	if (master_config(pid, other_config, sizeof(other_config)) == -1)
		snprintf(other_config, sizeof(other_config), "another file");
	if (has_pidfile)
		n = snprintf(why, size,
		    ": preforkd pid %ld holds it, running %s with pidfile %s "
		    "(-p %s checks this file for it)",
		    (long)pid, other_config, other_pidfile, other_pidfile);
	else
		n = snprintf(why, size,
		    ": preforkd pid %ld holds it, running %s", (long)pid,
		    other_config);
	if (n < 0 || (size_t)n >= size)
		log_debug("check: a message was cut short");
	return false;
}

/*
 * Is an address in use fine for this check?  true, or false with what to
 * say after "Address already in use" in why.
 */
static bool
in_use_is_fine(const struct config *conf, const char *pidfile,
    const struct addr *a, bool manager, char *why, size_t size)
{
	struct holder h;

	address_holder(a, &h);
	if (h.pid > 0 && is_ancestor(h.pid))
		return true; /* the service manager that started us */
	if (h.pid > 0 && is_preforkd(h.pid))
		return preforkd_is_instance(conf, pidfile, h.pid, why, size);
	if (h.pid > 0) {
		char command[128];
		process_command(h.pid, command, sizeof(command));
		snprintf(
		    why, size, ": pid %ld holds it (%s)", (long)h.pid, command);
		return false;
	}
	/* Nobody we may look into holds it: the pidfile tells, or -a. */
	if (instance_running(pidfile) || manager)
		return true;
	if (h.hidden && h.inode != 0)
		snprintf(why, size,
		    ", by a process of uid %ld that this user may not look "
		    "into (and no preforkd holds the pidfile)",
		    h.uid);
	else
		snprintf(why, size, " (and no preforkd holds the pidfile)");
	return false;
}

static int
check_addresses(const struct config *conf, const char *pidfile, bool manager)
{
	char why[PATH_MAX * 2 + 256];
	int rc = 0;

	for (size_t i = 0; i < conf->nservices; i++) {
		const struct service *s = &conf->services[i];
		for (size_t j = 0; j < s->naddrs; j++) {
			int err = try_bind(&s->addrs[j]);
			why[0] = '\0';
			if (err == 0 ||
			    (err == EADDRINUSE &&
			        in_use_is_fine(conf, pidfile, &s->addrs[j],
			            manager, why, sizeof(why))))
				continue;
			log_errorx("service %s: listen %s: %s%s", s->name,
			    s->listen[j], strerror(err), why);
			rc = -1;
		}
	}
	return rc;
}

int
check_environment(const struct config *conf, const char *pidfile, bool manager)
{
	int rc = 0;

	/* NULL: log not set, so stderr or syslog. */
	if (conf->log != NULL && strcmp(conf->log, "stderr") != 0 &&
	    strcmp(conf->log, "syslog") != 0 &&
	    check_directory("log", conf->log, FILE_LOG) == -1)
		rc = -1;
	if (conf->access_log != NULL &&
	    check_directory("access_log", conf->access_log, FILE_LOG) == -1)
		rc = -1;
	/* Beside the running instance, whatever its pidfile, the check is
	 * for a reload: the pidfile, opened at start only, does not matter. */
	if (!instance_runs(conf, pidfile) &&
	    check_directory("pidfile", pidfile, FILE_PIDFILE) == -1)
		rc = -1;
	if (check_addresses(conf, pidfile, manager) == -1)
		rc = -1;
	return rc;
}
