/*
 * preforkd -t beyond the syntax: what start-up would trip over, found
 * without starting -- the directories of the log and the pidfile, and the
 * listen addresses, each bound once on a throw-away socket.  An address
 * already in use is fine when the running instance holds it, since the
 * usual reason to run -t is a reload to come.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "log.h"
#include "program.h"

/* The directory of path exists and we may create files in it. */
static int
check_directory(const char *what, const char *path)
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

static int
check_addresses(const struct config *conf, const char *pidfile)
{
	bool running = instance_running(pidfile);
	int rc = 0;

	for (size_t i = 0; i < conf->nservices; i++) {
		const struct service *s = &conf->services[i];
		for (size_t j = 0; j < s->naddrs; j++) {
			int err = try_bind(&s->addrs[j]);
			if (err == 0 || (err == EADDRINUSE && running))
				continue;
			log_errorx("service %s: listen %s: %s%s", s->name,
			    s->listen[j], strerror(err),
			    err == EADDRINUSE ? " (and no preforkd holds the "
			                        "pidfile)"
			                      : "");
			rc = -1;
		}
	}
	return rc;
}

int
check_environment(const struct config *conf, const char *pidfile)
{
	int rc = 0;

	/* NULL: log not set, so stderr or syslog. */
	if (conf->log != NULL && strcmp(conf->log, "stderr") != 0 &&
	    strcmp(conf->log, "syslog") != 0 &&
	    check_directory("log", conf->log) == -1)
		rc = -1;
	if (conf->access_log != NULL &&
	    check_directory("access_log", conf->access_log) == -1)
		rc = -1;
	if (check_directory("pidfile", pidfile) == -1)
		rc = -1;
	if (check_addresses(conf, pidfile) == -1)
		rc = -1;
	if (program_check(conf) == -1)
		rc = -1;
	return rc;
}
