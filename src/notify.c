/*
 * Talking to the service manager, as systemd's sd_notify(3) does: one
 * datagram of "KEY=value" lines to the Unix socket named in $NOTIFY_SOCKET.
 * And hearing from it, as sd_listen_fds(3) does: the listening sockets of
 * socket activation, passed as descriptors 3 on and described in
 * LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES.  Done here rather than through
 * libsystemd: a datagram sender and an environment parser are a few lines,
 * and not worth a new build and run-time dependency.  The master alone
 * talks; a worker could, but is never asked to.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

/* Where the service manager listens; manager_len 0: nobody to tell. */
static struct sockaddr_un manager;
static socklen_t manager_len;
/* $NOTIFY_SOCKET as it was written, for messages. */
static char manager_name[sizeof(manager.sun_path) + 1];
/* A failed send was logged already. */
static bool send_failed;

void
notify_init(void)
{
	const char *name = getenv("NOTIFY_SOCKET");
	size_t len;

	if (name == NULL)
		return;
	len = strlen(name);
	if ((name[0] != '/' && name[0] != '@') || len < 2 ||
	    len > sizeof(manager.sun_path)) {
		log_warnx("NOTIFY_SOCKET \"%.*s\": neither a socket path nor "
		          "@name: not notifying the service manager",
		    (int)sizeof(manager_name), name);
		unsetenv("NOTIFY_SOCKET");
		return;
	}
	memcpy(manager_name, name, len + 1);
	manager.sun_family = AF_UNIX;
	memcpy(manager.sun_path, name, len);
	/* "@name" is Linux's abstract namespace: a leading NUL, no end. */
	if (name[0] == '@')
		manager.sun_path[0] = '\0';
	manager_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	unsetenv("NOTIFY_SOCKET");
}

static unsigned long long
monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000 +
	       (unsigned long long)ts.tv_nsec / 1000;
}

/* The message for state; RELOADING=1 carries the time the reload began,
 * which systemd wants to tell one reload from the next. */
static int
format(char *buf, size_t size, enum notify_state state, const char *status)
{
	int n;

	switch (state) {
	case NOTIFY_READY:
		n = snprintf(buf, size, "READY=1");
		break;
	case NOTIFY_RELOADING:
		n = snprintf(buf, size, "RELOADING=1\nMONOTONIC_USEC=%llu",
		    monotonic_usec());
		break;
	case NOTIFY_STATUS:
		/* The status alone, no state line before it. */
		n = snprintf(
		    buf, size, "STATUS=%s", status != NULL ? status : "");
		return n > 0 && (size_t)n < size ? n : -1;
	default:
		n = snprintf(buf, size, "STOPPING=1");
		break;
	}
	if (status != NULL && n > 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, "\nSTATUS=%s", status);
	return n > 0 && (size_t)n < size ? n : -1;
}

void
notify_send(enum notify_state state, const char *status)
{
	char msg[512];
	int n = format(msg, sizeof(msg), state, status);
	int fd;

	if (manager_len == 0 || n == -1)
		return;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    sendto(fd, msg, (size_t)n, MSG_NOSIGNAL,
	        (const struct sockaddr *)&manager, manager_len) == -1) {
		/* A manager that is gone stays gone: say it once. */
		if (!send_failed)
			log_warn("notify %s: cannot send \"%.*s\"",
			    manager_name, (int)strcspn(msg, "\n"), msg);
		send_failed = true;
	}
	if (fd != -1)
		close(fd);
}

/* A decimal number from 1 to max; -1 if s is anything else. */
static long
parse_count(const char *s, long max)
{
	char *end;
	long n;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtol(s, &end, 10);
	return errno == 0 && *end == '\0' && n >= 1 && n <= max ? n : -1;
}

/* Check that the n descriptors are open and make them close-on-exec, as
 * every descriptor of ours is; 0, or -1 after logging the first closed. */
static int
claim(int n)
{
	for (int fd = NOTIFY_FDS_START; fd < NOTIFY_FDS_START + n; fd++) {
		int flags = fcntl(fd, F_GETFD);
		if (flags == -1 ||
		    fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == -1) {
			log_warn("LISTEN_FDS=%d: descriptor %d", n, fd);
			return -1;
		}
	}
	return 0;
}

static void
unset_listen_env(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

int
notify_listen_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	long n;

	if (pid == NULL || fds == NULL) {
		unset_listen_env();
		return 0;
	}
	/* Meant for a process that started us and did not exec itself. */
	if (parse_count(pid, LONG_MAX) != (long)getpid()) {
		log_info("LISTEN_PID=%s is not this process (%ld): the "
		         "passed sockets are not for us",
		    pid, (long)getpid());
		unset_listen_env();
		return 0;
	}
	n = parse_count(fds, INT_MAX - NOTIFY_FDS_START);
	if (n == -1 || claim((int)n) == -1) {
		if (n == -1)
			log_warnx("LISTEN_FDS=\"%s\": not a count of "
			          "sockets: binding every address instead",
			    fds);
		unset_listen_env();
		return 0;
	}
	log_info("the service manager passed %ld socket(s), from "
	         "descriptor %d on; LISTEN_FDNAMES=%s",
	    n, NOTIFY_FDS_START, names != NULL ? names : "(none)");
	unset_listen_env();
	return (int)n;
}
