/*
 * The master's NOTIFY_SOCKET (issue 18, ready = "notify"): what the
 * programs of an accept = false pool say of themselves, as systemd's
 * sd_notify(3) says it to systemd.  One AF_UNIX datagram socket for the
 * whole daemon, made when the first such program starts, close-on-exec
 * and non-blocking, read from the master's loop (master_program_poll puts
 * it in the poll set).  This room also keeps the two deadlines that come
 * with it: ready_timeout for a program that has not sent READY=1, and
 * worker_timeout for one that has sent WATCHDOG=1 once.
 *
 * The name is in Linux's abstract namespace, "@preforkd-notify-PID-HEX":
 * programs run as their services' users, so a path would need a directory
 * each of them may search and a socket each may write -- as good as open
 * to everyone, and a file a killed master leaves behind.  An abstract name
 * goes with the socket.  Anyone on the host may send to it either way,
 * so every datagram is hostile: bounded (NOTIFY_MAX, a longer one is
 * dropped whole), its sender's pid the kernel's (SCM_CREDENTIALS), never
 * the payload's, and taken only from the pid of a program of a ready =
 * "notify" service, for that program alone -- systemd's NotifyAccess=main.
 * The program's own children, a program of another service and any other
 * process are ignored, said in a notice at most once a second.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dgram.h"
#include "log.h"
#include "master_state.h"
#include "rand.h"
#include "scoreboard.h"
#include "unforked.h"

/* The longest datagram taken: sd_notify's own bound (systemd's
 * NOTIFY_BUFFER_MAX, PIPE_BUF). */
#define NOTIFY_MAX 4096
/* Datagrams read a turn of the loop: a flood cannot hold the master. */
#define NOTIFY_PER_TURN 64
/* Names tried when another process holds one (a squatter). */
#define NOTIFY_NAME_TRIES 8
/* At most one "ignored" notice in this long. */
#define NOTIFY_NOTE_MS 1000

struct notify_server {
	int fd;
	char name[64];        /* as NOTIFY_SOCKET says it: "@..." */
	long long noted;      /* ms: the last "ignored" notice; 0: none */
	unsigned long unsaid; /* ignored since, not logged */
};

/* A socket bound to a fresh abstract name, into n; -1 (errno set). */
static int
bind_fresh(struct master *m, struct notify_server *n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int on = 1, fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return -1;
	/* Credentials on every datagram, whether the sender sent them or
	 * not: the kernel fills them in. */
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) == -1)
		goto fail;
	for (int tries = 0; tries < NOTIFY_NAME_TRIES; tries++) {
		int len = snprintf(n->name, sizeof(n->name),
		    "@preforkd-notify-%ld-%08x", (long)getpid(),
		    rand_u32(&m->random));
		/* "@name": a leading NUL, and no NUL at its end. */
		memcpy(sa.sun_path + 1, n->name + 1, (size_t)len - 1);
		if (bind(fd, (const struct sockaddr *)&sa,
		        (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		                    (size_t)len)) == 0) {
			n->fd = fd;
			return 0;
		}
		if (errno != EADDRINUSE)
			break;
	}
fail : {
	int err = errno;
	close(fd);
	errno = err;
}
	return -1;
}

const char *
master_notify_socket(struct master *m)
{
	struct notify_server *n = m->notify;

	if (n != NULL)
		return n->name;
	if ((n = unforked_alloc(sizeof(*n))) == NULL)
		return NULL;
	if (bind_fresh(m, n) == -1) {
		int err = errno;
		unforked_free(n, sizeof(*n));
		errno = err;
		return NULL;
	}
	m->notify = n;
	log_info("notify socket %s: for the programs of ready = \"notify\"",
	    n->name);
	return n->name;
}

int
master_notify_fd(const struct master *m)
{
	return m->notify != NULL ? m->notify->fd : -1;
}

void
master_notify_free(struct master *m)
{
	if (m->notify == NULL)
		return;
	close(m->notify->fd);
	unforked_free(m->notify, sizeof(*m->notify));
	m->notify = NULL;
}

/* The program whose pid sent a datagram, if it may: one of a ready =
 * "notify" service, alive; NULL for anyone else. */
static struct child *
sender(struct master *m, pid_t pid)
{
	for (size_t i = 0; pid > 0 && i < m->nchildren; i++)
		if (m->children[i].pid == pid && m->children[i].program &&
		    m->children[i].notify)
			return &m->children[i];
	return NULL;
}

/* A datagram not taken, said at most once a NOTIFY_NOTE_MS. */
static void
ignored(struct notify_server *n, const struct ucred *who, const char *why,
    long long now)
{
	if (n->noted != 0 && now - n->noted < NOTIFY_NOTE_MS) {
		n->unsaid++;
		return;
	}
	if (n->unsaid > 0)
		log_notice("notify socket: ignored a datagram from pid %ld "
		           "(uid %ld): %s; %lu more ignored before it",
		    (long)who->pid, (long)who->uid, why, n->unsaid);
	else
		log_notice("notify socket: ignored a datagram from pid %ld "
		           "(uid %ld): %s",
		    (long)who->pid, (long)who->uid, why);
	n->noted = now;
	n->unsaid = 0;
}

/* Is the line (n bytes) exactly key? */
static bool
is(const char *line, size_t n, const char *key)
{
	return n == strlen(key) && memcmp(line, key, n) == 0;
}

/* STOPPING=1: a program on its way out, of its own accord.  Its slot says
 * so, the pool replaces it, its death is no failed start, and
 * shutdown_timeout bounds it as a retired one.  Before READY=1 it means
 * nothing: a program that dies then failed its start. */
static void
stopping(struct master *m, struct child *c, long long now)
{
	if (c->stage != CHILD_RUNNING || !c->ready)
		return;
	log_info("service %s: program %ld (index %u) sent STOPPING=1; "
	         "replacing it",
	    c->name, (long)c->pid, c->index);
	master_program_quitting(c);
	c->stage = CHILD_QUITTING;
	c->deadline = now + (long long)m->conf->shutdown_timeout * 1000;
	c->watchdog_at = 0;
}

/* One line, KEY=VALUE; keys not listed are ignored, as systemd does. */
static void
take_line(struct master *m, struct child *c, const char *line, size_t n,
    long long now)
{
	if (is(line, n, "READY=1")) {
		/* Not after ready_timeout: killed, it failed its start. */
		if (c->stage == CHILD_RUNNING && c->ready_by != 0)
			master_program_became_ready(m, c, now);
	} else if (n >= 7 && memcmp(line, "STATUS=", 7) == 0) {
		scoreboard_set_program_status(c->slot, line + 7, n - 7);
	} else if (is(line, n, "STOPPING=1")) {
		stopping(m, c, now);
	} else if (is(line, n, "WATCHDOG=1")) {
		if (c->watchdog_ms > 0 && c->stage == CHILD_RUNNING)
			c->watchdog_at = now;
	}
}

/* A datagram's lines, as sd_notify(3) writes them. */
static void
take(struct master *m, struct child *c, const char *buf, size_t len,
    long long now)
{
	while (len > 0) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl != NULL ? (size_t)(nl - buf) : len;

		take_line(m, c, buf, n, now);
		if (nl == NULL)
			break;
		buf += n + 1;
		len -= n + 1;
	}
}

void
master_notify_read(struct master *m, long long now)
{
	struct notify_server *n = m->notify;
	char buf[NOTIFY_MAX];

	for (int turn = 0; n != NULL && turn < NOTIFY_PER_TURN; turn++) {
		struct ucred who;
		size_t len;
		struct child *c;
		int rc = dgram_recv_cred(n->fd, buf, sizeof(buf), &len, &who);

		if (rc == 0)
			return;
		if (rc == -1) {
			/* Not seen on a datagram socket; not a reason to
			 * spin either. */
			log_warn("notify socket %s: recvmsg", n->name);
			return;
		}
		if ((c = sender(m, who.pid)) == NULL)
			ignored(n, &who,
			    "not the pid of a program of ready = \"notify\"",
			    now);
		else if (len > sizeof(buf))
			ignored(n, &who, "longer than 4096 bytes", now);
		else
			take(m, c, buf, len, now);
	}
}

/* Kill c's whole process group; its death then says what it means
 * (master_program_died: a failed start if it was not ready). */
static void
kill_group(const struct child *c)
{
	if (kill(-c->pid, SIGKILL) == -1 && errno != ESRCH)
		log_warn("kill -KILL -%ld", (long)c->pid);
}

void
master_notify_check(struct master *m, long long now)
{
	for (size_t i = 0; i < m->nchildren; i++) {
		struct child *c = &m->children[i];
		if (!c->program || !c->notify || c->stage != CHILD_RUNNING)
			continue;
		if (c->ready_by != 0 && now >= c->ready_by) {
			log_warnx("service %s: program %ld (index %u) did not "
			          "send READY=1 within %llds: killing its "
			          "process group, a failed start",
			    c->name, (long)c->pid, c->index,
			    (c->ready_by - c->started) / 1000);
			c->killed_for = KILLED_NOT_READY;
			c->killed_limit = c->ready_by - c->started;
			c->ready_by = 0;
			kill_group(c);
		}
		if (c->watchdog_at != 0 &&
		    now - c->watchdog_at >= c->watchdog_ms) {
			log_warnx(
			    "service %s: program %ld (index %u) sent no "
			    "WATCHDOG=1 for %.3fs (worker_timeout %llds): "
			    "killing its process group",
			    c->name, (long)c->pid, c->index,
			    (double)(now - c->watchdog_at) / 1000,
			    c->watchdog_ms / 1000);
			c->killed_for = KILLED_WATCHDOG;
			c->killed_limit = c->watchdog_ms;
			c->watchdog_at = 0;
			kill_group(c);
		}
	}
}

long long
master_notify_next(const struct master *m)
{
	long long next = -1;

	for (size_t i = 0; i < m->nchildren; i++) {
		const struct child *c = &m->children[i];
		if (!c->program || !c->notify || c->stage != CHILD_RUNNING)
			continue;
		if (c->ready_by != 0)
			next = master_earliest(next, c->ready_by);
		if (c->watchdog_at != 0)
			next = master_earliest(
			    next, c->watchdog_at + c->watchdog_ms);
	}
	return next;
}
