/*
 * Who holds an address that -t could not bind, as far as /proc tells: the
 * socket in /proc/net/{tcp,udp}{,6}, the process among /proc/PID/fd, and
 * of a preforkd master, its pidfile and configuration file.  Linux only,
 * as the rest of preforkd; a process whose descriptors are not ours to
 * read is not found, and says so.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "check_holder.h"

#ifndef CONFIG_DEFAULT
#define CONFIG_DEFAULT "/etc/preforkd/preforkd.conf"
#endif

/* A /proc/net address, "0100007F:1B59" (the address's 32-bit words as
 * the kernel stores them, in hex, then the port), clashes with a: the
 * same port, and the same address or a wildcard on either side. */
bool
check_holder_clashes(const char *field, const struct addr *a)
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
		    inode == 0 || !check_holder_clashes(local, a))
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
void
check_holder_find(const struct addr *a, struct holder *h)
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
bool
check_holder_is_ancestor(pid_t pid)
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
void
check_holder_command(pid_t pid, char *buf, size_t size)
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
bool
check_holder_is_preforkd(pid_t pid)
{
	char comm[32];

	return read_proc(pid, "comm", comm, sizeof(comm)) > 0 &&
	       strcmp(comm, "preforkd\n") == 0;
}

/* The pidfile of master pid: the file it holds open whose content is its
 * pid.  0 with its path in buf, or -1. */
int
check_holder_pidfile(pid_t pid, char *buf, size_t size)
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
int
check_holder_config(pid_t pid, char *buf, size_t size)
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
