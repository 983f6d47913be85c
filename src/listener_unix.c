/*
 * A Unix domain listening socket's file, from before bind() to after
 * close().  A file left at the path by an instance that died is removed
 * first, but only when it is a socket that nobody listens on (connect() is
 * refused); anything else there is refused: a file that is no socket, a
 * symbolic link (never followed), a live socket.  The socket is created
 * with its mode already (the umask around bind(), so it is never reachable
 * with a wider one), then given its owner through a descriptor of the very
 * file just checked to be a socket, never by a path that could be swapped
 * meanwhile.  A reload gives a kept socket its new owner and mode the same
 * way.  At close the file is removed if it is still the one bound (same
 * device and inode): a newer instance's socket at the path stays.  Sockets
 * a service manager passed are its files: never removed or changed here.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "listener.h"
#include "listener_unix.h"
#include "log.h"

int
listener_unix_ids(const struct service *svc, struct listen_opts *opts)
{
	opts->socket_uid = opts->socket_gid = -1;
	opts->socket_mode = svc->socket_mode;
	if (svc->socket_user != NULL) {
		struct passwd *pw;

		errno = 0;
		if ((pw = getpwnam(svc->socket_user)) == NULL) {
			log_errorx("service %s: socket_user \"%s\": %s",
			    svc->name, svc->socket_user,
			    errno != 0 ? strerror(errno) : "no such user");
			return -1;
		}
		opts->socket_uid = (long)pw->pw_uid;
	}
	if (svc->socket_group != NULL) {
		struct group *gr;

		errno = 0;
		if ((gr = getgrnam(svc->socket_group)) == NULL) {
			log_errorx("service %s: socket_group \"%s\": %s",
			    svc->name, svc->socket_group,
			    errno != 0 ? strerror(errno) : "no such group");
			return -1;
		}
		opts->socket_gid = (long)gr->gr_gid;
	}
	return 0;
}

/* Is anyone listening on the socket at path?  0 when not (stale), else
 * EADDRINUSE, or why we cannot tell. */
static int
probe(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int err = 0;

	if (fd == -1)
		return errno;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		err = EADDRINUSE;
	else if (errno == EAGAIN || errno == EPROTOTYPE)
		err = EADDRINUSE; /* a full queue, a datagram socket: alive */
	else if (errno != ECONNREFUSED)
		err = errno;
	close(fd);
	return err;
}

/* The directory path is in exists: 0, or an errno. */
static int
parent_exists(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *slash = strrchr(path, '/');
	struct stat st;

	snprintf(dir, sizeof(dir), "%.*s",
	    slash == path ? 1 : (int)(slash - path), path);
	if (stat(dir, &st) == -1)
		return errno;
	return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

/* What is at path: 0 for nothing, with *stale for a dead socket; else
 * the errno listener_unix_check documents. */
static int
path_state(const char *path, bool *stale)
{
	struct stat st;
	int err;

	*stale = false;
	if (lstat(path, &st) == -1)
		return errno == ENOENT ? parent_exists(path) : errno;
	if (S_ISLNK(st.st_mode))
		return ELOOP;
	if (!S_ISSOCK(st.st_mode))
		return ENOTSOCK;
	if ((err = probe(path)) != 0)
		return err;
	*stale = true;
	return 0;
}

int
listener_unix_check(const struct service *svc, const struct addr *a)
{
	struct listen_opts opts;
	bool stale;

	if (listener_unix_ids(svc, &opts) == -1)
		return EINVAL;
	return path_state(addr_unix_path(a), &stale);
}

int
listener_unix_clear(const struct addr *a)
{
	const char *path = addr_unix_path(a);
	bool stale;
	int err = path_state(path, &stale);

	switch (err) {
	case 0:
		break;
	case ENOENT:
	case ENOTDIR:
		log_errorx("listen unix:%s: its directory does not exist: "
		           "create it first",
		    path);
		return -1;
	case ELOOP:
		log_errorx("listen unix:%s: a symbolic link is there, which is "
		           "never followed",
		    path);
		return -1;
	case ENOTSOCK:
		log_errorx("listen unix:%s: a file that is not a socket is "
		           "there: not removed",
		    path);
		return -1;
	case EADDRINUSE:
		log_errorx(
		    "listen unix:%s: another process listens on it", path);
		return -1;
	default:
		log_errorx("listen unix:%s: %s", path, strerror(err));
		return -1;
	}
	if (stale && unlink(path) == -1 && errno != ENOENT) {
		log_error("listen unix:%s: removing the stale socket", path);
		return -1;
	}
	if (stale)
		log_notice("listen unix:%s: removed a stale socket (nothing "
		           "listened on it)",
		    path);
	return 0;
}

/*
 * Give the socket file at path, opened without following a link and
 * checked to be a socket, the owner and mode of opts; its identity in st.
 * want (non-NULL): the file must be that one.  0, or -1 with errno set.
 * The mode goes through /proc/self/fd, since Linux has no fchmod for a
 * descriptor opened O_PATH.
 */
static int
own_file(const char *path, const struct listen_opts *opts, struct stat *st,
    const struct stat *want)
{
	int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	uid_t uid = (uid_t)opts->socket_uid;
	gid_t gid = (gid_t)opts->socket_gid;
	char proc[40];
	int rc = -1, err = 0;

	if (fd == -1)
		return -1;
	if (fstat(fd, st) == -1) {
		err = errno;
	} else if (!S_ISSOCK(st->st_mode) ||
	           (want != NULL && (st->st_dev != want->st_dev ||
	                                st->st_ino != want->st_ino))) {
		err = ESTALE;
	} else if (((opts->socket_uid != -1 && st->st_uid != uid) ||
	               (opts->socket_gid != -1 && st->st_gid != gid)) &&
	           fchownat(fd, "", uid, gid, AT_EMPTY_PATH) == -1) {
		err = errno;
	} else if ((st->st_mode & 07777) != (mode_t)opts->socket_mode) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (chmod(proc, (mode_t)opts->socket_mode) == -1)
			err = errno;
	}
	if (err == 0)
		rc = 0;
	close(fd);
	errno = err;
	return rc;
}

int
listener_unix_bind(int fd, const struct addr *a, const struct listen_opts *opts,
    dev_t *dev, ino_t *ino)
{
	mode_t old = umask((mode_t)(~opts->socket_mode & 0777));
	struct stat st;
	int rc = bind(fd, (const struct sockaddr *)&a->ss, a->len), err = errno;

	umask(old);
	if (rc == -1) {
		errno = err;
		return -1;
	}
	if (own_file(addr_unix_path(a), opts, &st, NULL) == -1) {
		err = errno;
		log_error("listen unix:%s: socket_user, socket_group, "
		          "socket_mode",
		    addr_unix_path(a));
		unlink(addr_unix_path(a));
		errno = err;
		return -1;
	}
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

void
listener_unix_own(const struct listener *l)
{
	struct stat st, want = { .st_dev = l->dev, .st_ino = l->ino };

	if (l->passed || l->ino == 0)
		return;
	if (own_file(addr_unix_path(&l->addr), &l->opts, &st, &want) == -1)
		log_warn("listener unix:%s: socket_user, socket_group, "
		         "socket_mode",
		    addr_unix_path(&l->addr));
}

void
listener_unix_remove(const struct listener *l)
{
	const char *path = addr_unix_path(&l->addr);
	struct stat st;

	if (!addr_is_unix(&l->addr) || l->passed || l->ino == 0)
		return;
	if (lstat(path, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    st.st_dev != l->dev || st.st_ino != l->ino)
		return; /* gone already, or another's now */
	if (unlink(path) == -1)
		log_warn("listener unix:%s: removing it", path);
	else
		log_info("removed socket file %s", path);
}

unsigned
listener_unix_queued(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN) ? 1 : 0;
}
