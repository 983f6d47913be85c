/*
 * preforkd -t beyond the syntax: what start-up would trip over, found
 * without starting -- the log files and the pidfile (their directories,
 * and that they are files), and the listen addresses, each bound once on
 * a throw-away socket.
 *
 * An address already in use is looked up (check_holder.c): the socket in
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
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "check_holder.h"
#include "config.h"
#include "listener.h"
#include "log.h"
#include "program.h"

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

/* Do paths a and b name the same file? */
static bool
same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * May the preforkd holding h's socket be the instance this check is for?
 * Only when the socket is ours or root's: anyone can start a process
 * called preforkd with a -c that leads to our file (or hold our pidfile
 * open), and what another user's process says of itself proves nothing.
 */
static bool
trusted_holder(const struct holder *h)
{
	return h->pid > 0 && (h->uid == 0 || h->uid == (long)geteuid()) &&
	       check_holder_is_preforkd(h->pid);
}

/* Was preforkd pid started with conf's file?  Its path in buf, if known. */
static bool
runs_this_file(const struct config *conf, pid_t pid, char *buf, size_t size)
{
	return check_holder_config(pid, buf, size) == 0 &&
	       same_file(buf, conf->path);
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
			/* A unix: address is never bound by -t: binding
			 * would leave its file behind. */
			if (addr_is_unix(&s->addrs[j]) ||
			    try_bind(&s->addrs[j]) != EADDRINUSE)
				continue;
			check_holder_find(&s->addrs[j], &h);
			return trusted_holder(&h) &&
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
	/* Both are the holder's word (its command line, the names of the
	 * files it holds open), and anyone can start a process called
	 * preforkd: escaped, as client data is, so that no newline forges a
	 * line and no byte reaches the terminal raw. */
	char config_text[PATH_MAX];
	bool has_pidfile = check_holder_pidfile(
	                       pid, other_pidfile, sizeof(other_pidfile)) == 0;
	int n;

	if ((has_pidfile && same_file(other_pidfile, pidfile)) ||
	    runs_this_file(conf, pid, other_config, sizeof(other_config)))
		return true;
	if (check_holder_config(pid, other_config, sizeof(other_config)) == -1)
		snprintf(other_config, sizeof(other_config), "another file");
	log_escape(other_config, strlen(other_config), config_text,
	    sizeof(config_text));
	if (has_pidfile) {
		char pidfile_text[PATH_MAX];
		log_escape(other_pidfile, strlen(other_pidfile), pidfile_text,
		    sizeof(pidfile_text));
		n = snprintf(why, size,
		    ": preforkd pid %ld holds it, running %s with pidfile %s "
		    "(-p %s checks this file for it)",
		    (long)pid, config_text, pidfile_text, pidfile_text);
	} else
		n = snprintf(why, size,
		    ": preforkd pid %ld holds it, running %s", (long)pid,
		    config_text);
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

	check_holder_find(a, &h);
	if (h.pid > 0 && check_holder_is_ancestor(h.pid))
		return true; /* the service manager that started us */
	if (trusted_holder(&h))
		return preforkd_is_instance(conf, pidfile, h.pid, why, size);
	if (h.pid > 0) {
		char command[128];
		check_holder_command(h.pid, command, sizeof(command));
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
			int err = addr_is_unix(&s->addrs[j])
			              ? listener_unix_check(s, &s->addrs[j])
			              : try_bind(&s->addrs[j]);
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
	if (program_check(conf) == -1)
		rc = -1;
	return rc;
}
