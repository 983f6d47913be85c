/*
 * Why this file is long: a program's whole life is here, start, output,
 * death and readiness (with the per-index back-off), each of which needs
 * the others' tables; the readiness protocol's socket has a room of its
 * own (master_notify.c).
 *
 * A pool of programs (accept = false, issue 18): each worker of the pool
 * is the service's program itself, started by program.c with the
 * service's listening sockets from fd 3 on and the variables systemd
 * (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES) and einhorn (EINHORN_FD_*)
 * pass, so it accepts by itself.  This room starts one into a scoreboard
 * slot and a stable index of its pool, reads what it writes on stdout and
 * stderr into the log (line by line, escaped, rate-bounded), and says
 * what its death means: a program that was ready is replaced at once, one
 * that died before is a failed start, backed off (pool.c's
 * pool_program_after_death) and never given up on.
 *
 * The program writes nothing into the scoreboard: the master writes its
 * slot (starting, ready, quitting) and is its only writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "master_state.h"
#include "pool.h"
#include "program.h"
#include "rand.h"
#include "scoreboard.h"
#include "unforked.h"

/* A line of a program's output is logged up to this long. */
#define OUT_LINE 512
/* Lines a second a program may log; the rest are counted, and said. */
#define OUT_LINES_PER_SEC 50

/* What the master holds of a program's output, per scoreboard slot. */
struct program_io {
	char line[OUT_LINE]; /* the line so far */
	size_t len;
	char last[OUT_LINE]; /* its last whole line, for a failed start */
	long long window;    /* ms: the second lines are counted in */
	unsigned lines;      /* logged in it */
	unsigned long dropped;
};

/* The table, one per slot, and the poll set (the poke pipe first, the
 * notify socket last). */
struct program_table {
	struct program_io *io;
	struct pollfd *fds;
	int *fd_slot; /* fds[i + 1] is the output of the program in slot */
	size_t room;
};

static struct program_table *
table(struct master *m)
{
	struct program_table *t = m->programs;
	size_t room = m->children_room;

	if (t != NULL)
		return t;
	if ((t = unforked_alloc(sizeof(*t))) == NULL)
		return NULL;
	t->io = unforked_alloc(room * sizeof(*t->io));
	t->fds = unforked_alloc((room + 2) * sizeof(*t->fds));
	t->fd_slot = unforked_alloc(room * sizeof(*t->fd_slot));
	if (t->io == NULL || t->fds == NULL || t->fd_slot == NULL) {
		log_error("programs: mmap of the tables for %zu slots", room);
		unforked_free(t->io, room * sizeof(*t->io));
		unforked_free(t->fds, (room + 2) * sizeof(*t->fds));
		unforked_free(t->fd_slot, room * sizeof(*t->fd_slot));
		unforked_free(t, sizeof(*t));
		return NULL;
	}
	t->room = room;
	m->programs = t;
	return t;
}

void
master_program_free(struct master *m)
{
	struct program_table *t = m->programs;

	if (t == NULL)
		return;
	unforked_free(t->io, t->room * sizeof(*t->io));
	unforked_free(t->fds, (t->room + 2) * sizeof(*t->fds));
	unforked_free(t->fd_slot, t->room * sizeof(*t->fd_slot));
	unforked_free(t, sizeof(*t));
	m->programs = NULL;
}

/* Does a live program of svc's pool of the current generation hold
 * index i? */
static bool
index_held(const struct master *m, size_t svc, unsigned i)
{
	for (size_t k = 0; k < m->nchildren; k++) {
		const struct child *c = &m->children[k];
		if (c->program && c->generation == m->generation &&
		    c->service == svc && c->stage == CHILD_RUNNING &&
		    c->index == i)
			return true;
	}
	return false;
}

/* The lowest index of svc's pool that no live program of the current
 * generation holds: a replacement takes the index of the one it
 * replaces. */
static unsigned
free_index(const struct master *m, size_t svc)
{
	unsigned i = 0;

	while (index_held(m, svc, i))
		i++;
	return i;
}

struct pool_slot_backoff *
master_program_backoff(struct master *m, size_t svc, unsigned i)
{
	struct service_pool *p = &m->pools[svc];

	return i < p->nbackoff ? &p->backoff[i] : NULL;
}

/*
 * The index to start next (pool.c's pool_program_pick): the lowest free
 * one of the pool whose back-off is over, so that one index that keeps
 * failing holds no other back; -1 when every free one waits, with
 * next_spawn set to when the first may start.
 */
static int
pick_index(struct master *m, size_t svc, long long now)
{
	struct service_pool *p = &m->pools[svc];
	unsigned n = p->target;
	long long next;
	bool *held;
	int i;

	if (n == 0 || master_program_backoff(m, svc, n - 1) == NULL ||
	    (held = calloc(n, sizeof(*held))) == NULL)
		return (int)free_index(m, svc); /* no back-off, no memory */
	for (unsigned k = 0; k < n; k++)
		held[k] = index_held(m, svc, k);
	i = pool_program_pick(held, p->backoff, n, now, &next);
	free(held);
	if (i >= 0)
		return i;
	if (next == POOL_NEVER) /* an index above the floor is free */
		return (int)free_index(m, svc);
	p->next_spawn = next;
	return -1;
}

/*
 * svc's failed starts in a row, as the scoreboard shows them (degraded
 * when not 0): those of its index that fails most; with why (escaped, for
 * the service manager) and raw (as the program wrote its line, for the
 * scoreboard, which escapes as it shows) the reason of a failed start
 * (NULL: none now).  The reason goes when no index fails any more; the
 * service manager hears of both turns, becoming degraded and recovering
 * (master_pool_notify).
 */
static void
publish_failures(struct master *m, size_t svc, const char *why, const char *raw)
{
	struct service_pool *p = &m->pools[svc];
	bool was = p->last_failure[0] != '\0';
	unsigned most = 0;

	for (unsigned i = 0; i < p->nbackoff; i++)
		if (p->backoff[i].failures > most)
			most = p->backoff[i].failures;
	scoreboard_set_failed_starts(svc, most);
	if (most == 0) {
		p->last_failure[0] = '\0';
		scoreboard_set_last_failure(svc, "");
	} else if (why != NULL) {
		if (snprintf(p->last_failure, sizeof(p->last_failure), "%s",
		        why) >= (int)sizeof(p->last_failure))
			memcpy(p->last_failure + sizeof(p->last_failure) - 4,
			    "...", 4); /* said to be cut */
		scoreboard_set_last_failure(svc, raw);
	}
	if (was != (p->last_failure[0] != '\0') && !m->stopping)
		master_pool_notify(m, NOTIFY_STATUS, "");
}

/* A failed start of svc's pool while a reload's programs take over: the
 * reload failed, and -s reload says why.  The roll goes on, backed off. */
static void
roll_failed(struct master *m, size_t svc, const char *why)
{
	char message[2 * SCOREBOARD_MESSAGE_LEN];

	if (!m->reload_pending || !m->pools[svc].rolling)
		return;
	snprintf(message, sizeof(message),
	    "service %s: %s; the old programs keep serving",
	    m->conf->services[svc].name, why);
	master_reload_outcome(m, false, message);
}

/* svc's listening sockets, in listen order; how many. */
static size_t
listen_fds(const struct master *m, const struct service *s, int *fds)
{
	size_t n = 0;

	for (size_t a = 0; a < s->naddrs && n < PROGRAM_MAX_LISTEN; a++)
		for (size_t i = 0; i < m->listeners->count; i++) {
			const struct listener *l = &m->listeners->items[i];
			if (addr_equal(&l->addr, &s->addrs[a])) {
				fds[n++] = l->fd;
				break;
			}
		}
	return n;
}

/* The variables of a program that accepts by itself, after the fixed
 * part: as systemd and einhorn pass them, and who it is in the pool;
 * with ready = "notify", NOTIFY_SOCKET and the watchdog's two. */
#define PROGRAM_VARS 9
#define VAR_TEXT (PROGRAM_MAX_LISTEN * (SCOREBOARD_NAME_LEN + 24) + 768)

struct program_env {
	char **envp;
	char text[VAR_TEXT];
	size_t used;
	size_t n;
};

static void add_var(struct program_env *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
add_var(struct program_env *e, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(e->text + e->used, sizeof(e->text) - e->used, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(e->text) - e->used)
		return; /* cannot happen: VAR_TEXT is sized for the most */
	e->envp[e->n++] = e->text + e->used;
	e->used += (size_t)len + 1;
}

/* What a program of ready = "notify" is told: where to send (NULL: it
 * is not), and worker_timeout for its WATCHDOG=1. */
struct notify_vars {
	const char *socket;
	long long watchdog_usec; /* 0: not watched */
	char *watchdog_pid;      /* set to "WATCHDOG_PID=000...", as
	                          * LISTEN_PID, for the child to fill */
};

/* LISTEN_FDNAMES: each socket named after its service, as systemd names
 * a socket unit's sockets by default. */
static int
build_env(struct program_env *e, const struct service *s, size_t nfds,
    unsigned index, char **listen_pid, struct notify_vars *nv)
{
	char names[PROGRAM_MAX_LISTEN * (SCOREBOARD_NAME_LEN + 1) + 1];
	size_t at = 0;

	e->used = 0;
	if ((e->envp = program_env(s, PROGRAM_VARS + nfds, &e->n)) == NULL)
		return -1;
	add_var(e, "LISTEN_FDS=%zu", nfds);
	/* Filled in by the child with its own pid (program.c). */
	*listen_pid = e->text + e->used;
	add_var(e, "LISTEN_PID=%0*d", PROGRAM_PID_ROOM - 1, 0);
	names[0] = '\0';
	for (size_t i = 0; i < nfds; i++)
		at += (size_t)snprintf(names + at, sizeof(names) - at, "%s%s",
		    i > 0 ? ":" : "", s->name);
	add_var(e, "LISTEN_FDNAMES=%s", names);
	add_var(e, "EINHORN_FD_COUNT=%zu", nfds);
	for (size_t i = 0; i < nfds; i++)
		add_var(e, "EINHORN_FD_%zu=%zu", i, 3 + i);
	add_var(e, "PREFORKD_WORKER_INDEX=%u", index);
	add_var(e, "PREFORKD_SERVICE=%s", s->name);
	/* sd_watchdog_enabled() wants WATCHDOG_PID to be the caller's, so
	 * that the program's own children do not think they are watched:
	 * the child writes its pid, as for LISTEN_PID. */
	if (nv->socket != NULL)
		add_var(e, "NOTIFY_SOCKET=%s", nv->socket);
	if (nv->socket != NULL && nv->watchdog_usec > 0) {
		add_var(e, "WATCHDOG_USEC=%lld", nv->watchdog_usec);
		nv->watchdog_pid = e->text + e->used;
		add_var(e, "WATCHDOG_PID=%0*d", PROGRAM_PID_ROOM - 1, 0);
	}
	e->envp[e->n] = NULL;
	return 0;
}

/* A start that did not get as far as the program: a failed start of
 * its index. */
static void
start_failed(struct master *m, size_t svc, const char *step, int err,
    unsigned index, long long now)
{
	const struct service *s = &m->conf->services[svc];
	struct pool_slot_backoff *b = master_program_backoff(m, svc, index);
	struct pool_slot_backoff none = { 0, 0 };
	char why[SCOREBOARD_MESSAGE_LEN];
	long long delay;

	if (b == NULL)
		b = &none; /* no memory: the pool's own back-off then */
	delay = pool_program_after_death(
	    false, 0, rand_u32(&m->random), &b->failures);
	b->next = now + delay;
	if (b == &none)
		m->pools[svc].next_spawn = b->next;
	snprintf(why, sizeof(why), "program %s (index %u): %s: %s",
	    s->command[0], index, step, strerror(err));
	publish_failures(m, svc, why, why);
	log_errorx("service %s: %s; failed start %u in a row, next in %.3fs",
	    s->name, why, b->failures, (double)delay / 1000);
	roll_failed(m, svc, why);
}

enum spawn_result
master_program_spawn(struct master *m, size_t svc, long long now)
{
	const struct service *s = &m->conf->services[svc];
	struct program_table *t = table(m);
	struct program prog;
	struct program_failure why;
	struct program_env *e;
	struct notify_vars nv = { NULL, 0, NULL };
	int fds[PROGRAM_MAX_LISTEN], out[2];
	int picked = pick_index(m, svc, now);
	unsigned index = (unsigned)picked;
	size_t nfds = listen_fds(m, s, fds);
	struct child *c;
	pid_t pid;
	int slot;

	if (picked == -1)
		return SPAWN_WAIT;
	if (t == NULL)
		return SPAWN_NO_FORK;
	/* No socket, no READY=1: a failed start, as an exec that failed. */
	if (s->ready == READY_NOTIFY &&
	    (nv.socket = master_notify_socket(m)) == NULL) {
		start_failed(m, svc, "notify socket", errno, index, now);
		return SPAWNED;
	}
	nv.watchdog_usec = (long long)s->worker_timeout * 1000000;
	if ((slot = scoreboard_claim(svc, s->name, m->generation)) == -1)
		return SPAWN_NO_SLOT;
	memset(&prog, 0, sizeof(prog));
	if ((e = malloc(sizeof(*e))) == NULL ||
	    build_env(e, s, nfds, index, &prog.listen_pid, &nv) == -1 ||
	    pipe2(out, O_CLOEXEC) == -1) {
		int err = errno;
		if (e != NULL)
			free(e->envp);
		free(e);
		scoreboard_release(slot);
		errno = err;
		return SPAWN_NO_FORK;
	}
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	prog.argv = s->command;
	prog.envp = e->envp;
	prog.dir = s->working_directory;
	prog.fds[0] = s->stdin_socket && nfds == 1 ? fds[0] : -1;
	prog.fds[1] = prog.fds[2] = out[1];
	program_limits_of(s, prog.limits);
	if (m->ids.change && program_user_of(m->conf, s, &prog.user) == -1)
		prog.user.change = false; /* -t and the reload checked it */
	/* A killed master leaves no program: KILL, which none can catch. */
	prog.death_signal = SIGKILL;
	prog.sandbox = s->sandbox;
	prog.listen_fds = fds;
	prog.nlisten = nfds;
	prog.watchdog_pid = nv.watchdog_pid;
	pid = program_start(&prog, &why);
	close(out[1]);
	free(e->envp);
	free(e);
	if (pid == -1) {
		close(out[0]);
		scoreboard_release(slot);
		if (strcmp(why.step, "fork") == 0) {
			errno = why.err;
			return SPAWN_NO_FORK;
		}
		start_failed(m, svc, why.step, why.err, index, now);
		/* Not a fork() that failed: the pool's back-off is set. */
		return SPAWNED;
	}
	scoreboard_set_pid(slot, pid);
	scoreboard_set_program(slot, index);
	memset(&t->io[slot], 0, sizeof(t->io[slot]));
	c = &m->children[m->nchildren++];
	memset(c, 0, sizeof(*c));
	c->pid = pid;
	c->service = svc;
	snprintf(c->name, sizeof(c->name), "%s", s->name);
	c->generation = m->generation;
	c->started = now;
	c->stage = CHILD_RUNNING;
	c->slot = slot;
	c->program = true;
	c->index = index;
	c->out_fd = out[0];
	c->quit_signal = s->quit_signal;
	/* ready = "notify": starting until READY=1 (master_notify.c). */
	c->notify = nv.socket != NULL;
	if (c->notify) {
		c->ready_by = now + (long long)s->ready_timeout * 1000;
		c->watchdog_ms = (long long)s->worker_timeout * 1000;
	}
	log_info("started program %ld (index %u) for service %s "
	         "(generation %u): %s with %zu socket(s)",
	    (long)pid, index, s->name, m->generation, s->command[0], nfds);
	/* ready = "started": ready once execve() succeeded. */
	if (!c->notify)
		master_program_became_ready(m, c, now);
	return SPAWNED;
}

/* ------------------------------------------------------------ output */

/* Log one line of c's output, within its rate. */
static void
log_line(struct program_io *io, const struct child *c, long long now)
{
	char shown[4 * OUT_LINE + 1];

	memcpy(io->last, io->line, io->len);
	io->last[io->len] = '\0';
	if (now - io->window >= 1000) {
		if (io->dropped > 0)
			log_notice("service %s: program %ld: %lu line(s) of "
			           "output dropped (more than %d a second)",
			    c->name, (long)c->pid, io->dropped,
			    OUT_LINES_PER_SEC);
		io->window = now;
		io->lines = 0;
		io->dropped = 0;
	}
	if (io->lines >= OUT_LINES_PER_SEC) {
		io->dropped++;
		return;
	}
	io->lines++;
	log_escape(io->line, io->len, shown, sizeof(shown));
	log_notice("service %s: program %ld: %s", c->name, (long)c->pid, shown);
}

/* Each whole line of what came, the rest kept for later; a line too long
 * is cut into pieces. */
static void
take(struct program_io *io, const struct child *c, const char *data, size_t len,
    long long now)
{
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl != NULL ? (size_t)(nl - data) : len;
		size_t room = sizeof(io->line) - 1 - io->len;

		if (n > room)
			n = room;
		memcpy(io->line + io->len, data, n);
		io->len += n;
		data += n;
		len -= n;
		if (len > 0 && *data == '\n') {
			data++;
			len--;
		} else if (io->len < sizeof(io->line) - 1) {
			break;
		}
		log_line(io, c, now);
		io->len = 0;
	}
}

/* Read what c's output has, at most a few buffers a turn (a chatty
 * program cannot hold the master); at EOF, the last piece, and close. */
static void
drain(struct program_table *t, struct child *c, long long now)
{
	struct program_io *io = &t->io[c->slot];
	char buf[4096];

	for (int turn = 0; turn < 16 && c->out_fd != -1; turn++) {
		ssize_t n = read(c->out_fd, buf, sizeof(buf));
		if (n > 0) {
			take(io, c, buf, (size_t)n, now);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (io->len > 0)
			log_line(io, c, now);
		io->len = 0;
		close(c->out_fd);
		c->out_fd = -1;
	}
}

struct pollfd *
master_program_poll(struct master *m, int poke_fd, size_t *n)
{
	struct program_table *t = m->programs;

	if (t == NULL)
		return NULL;
	t->fds[0] = (struct pollfd){ .fd = poke_fd, .events = POLLIN };
	*n = 1;
	for (size_t i = 0; i < m->nchildren && *n <= t->room; i++) {
		const struct child *c = &m->children[i];
		if (!c->program || c->out_fd == -1)
			continue;
		t->fd_slot[*n - 1] = c->slot;
		t->fds[(*n)++] =
		    (struct pollfd){ .fd = c->out_fd, .events = POLLIN };
	}
	/* The notify socket (master_notify.c), made after this table. */
	if (master_notify_fd(m) != -1)
		t->fds[(*n)++] = (struct pollfd){ .fd = master_notify_fd(m),
			.events = POLLIN };
	return t->fds;
}

void
master_program_output(struct master *m, size_t n)
{
	struct program_table *t = m->programs;
	long long now = clock_ms();

	for (size_t k = 1; t != NULL && k < n; k++) {
		if (t->fds[k].revents == 0)
			continue;
		/* Before any reap: a READY=1 and then an exit is a program
		 * that was ready. */
		if (t->fds[k].fd == master_notify_fd(m)) {
			master_notify_read(m, now);
			continue;
		}
		for (size_t i = 0; i < m->nchildren; i++)
			if (m->children[i].program &&
			    m->children[i].slot == t->fd_slot[k - 1] &&
			    m->children[i].out_fd == t->fds[k].fd)
				drain(t, &m->children[i], now);
	}
}

/* ---------------------------------------------------------- the end */

void
master_program_reaped(struct master *m, struct child *dead)
{
	struct program_table *t = m->programs;

	if (dead->out_fd == -1)
		return;
	if (t != NULL)
		drain(t, dead, clock_ms());
	/* What its own children (still alive, or swept) wrote after this
	 * is not read: the pipe goes with the program. */
	if (dead->out_fd != -1)
		close(dead->out_fd);
	dead->out_fd = -1;
}

/* How a program ended, for a log line: by its own hand, or killed, and
 * when master_notify.c killed it, why. */
static void
describe(const struct child *c, int status, char *buf, size_t size)
{
	if (c->killed_for == KILLED_NOT_READY)
		snprintf(buf, size,
		    "was killed for sending no READY=1 within %llds,",
		    c->killed_limit / 1000);
	else if (c->killed_for == KILLED_WATCHDOG)
		snprintf(buf, size,
		    "was killed for sending no WATCHDOG=1 within %llds,",
		    c->killed_limit / 1000);
	else if (WIFEXITED(status))
		snprintf(
		    buf, size, "exited with status %d", WEXITSTATUS(status));
	else
		snprintf(buf, size, "was killed by signal %s",
		    master_signal_name(WTERMSIG(status)));
}

/* Why c's start failed, its last line (last: escaped or raw) included;
 * cut to size, and then said to be. */
static void
failure_text(char *buf, size_t size, const struct child *c, const char *how,
    long long lived, const char *last)
{
	if (snprintf(buf, size,
	        "program %ld (index %u) %s %.3fs after its start%s%s",
	        (long)c->pid, c->index, how, (double)lived / 1000,
	        last[0] != '\0' ? "; its last line: " : "", last) >= (int)size)
		buf[size - 2] = '.';
}

/*
 * Back-off is per index (pool_program_pick): a failed start delays the
 * next start of its own index only, so one index that keeps failing
 * holds no other back.
 */
void
master_program_died(
    struct master *m, const struct child *c, int status, long long now)
{
	struct service_pool *p = &m->pools[c->service];
	struct program_table *t = m->programs;
	struct pool_slot_backoff *b =
	    master_program_backoff(m, c->service, c->index);
	struct pool_slot_backoff none = { 0, 0 };
	long long lived = now - c->started;
	long long delay;
	char how[80], last[4 * OUT_LINE + 1] = "";
	char why[SCOREBOARD_MESSAGE_LEN], raw_why[SCOREBOARD_MESSAGE_LEN];
	const char *raw = "";

	if (b == NULL)
		b = &none; /* no memory: the pool's own back-off then */
	delay = pool_program_after_death(
	    c->ready, lived, rand_u32(&m->random), &b->failures);
	b->next = now + delay;
	if (b == &none && now + delay > p->next_spawn)
		p->next_spawn = now + delay;
	/* The pool may have been told to wait for another index's turn
	 * (pick_index): this one's may come sooner. */
	if (b != &none && b->next < p->next_spawn)
		p->next_spawn = b->next;
	p->restarts++;
	scoreboard_set_restarts(c->service, p->restarts);
	describe(c, status, how, sizeof(how));
	if (delay == 0) {
		publish_failures(m, c->service, NULL, NULL);
		log_notice("service %s: program %ld (index %u) %s after "
		           "%.3fs; replacing it",
		    c->name, (long)c->pid, c->index, how, (double)lived / 1000);
		return;
	}
	if (t != NULL)
		raw = t->io[c->slot].last;
	if (raw[0] != '\0')
		log_escape(raw, strlen(raw), last, sizeof(last));
	/* Cut to the scoreboard's message, which -s reload prints. */
	failure_text(why, sizeof(why), c, how, lived, last);
	failure_text(raw_why, sizeof(raw_why), c, how, lived, raw);
	publish_failures(m, c->service, why, raw_why);
	log_warnx("service %s: program %ld (index %u) %s %.3fs after its "
	          "start: failed start %u in a row, next in %.3fs%s%s",
	    c->name, (long)c->pid, c->index, how, (double)lived / 1000,
	    b->failures, (double)delay / 1000,
	    last[0] != '\0' ? "; its last line: " : "", last);
	roll_failed(m, c->service, why);
}

void
master_program_quitting(const struct child *c)
{
	scoreboard_set_state(c->slot, SB_QUITTING);
}

bool
master_program_keep(pid_t pgid, void *arg)
{
	const struct master *m = arg;

	for (size_t i = 0; i < m->nchildren; i++)
		if (m->children[i].program && m->children[i].pid == pgid)
			return true;
	return false;
}

/* ------------------------------------------------------- readiness */

/* c is ready and past a failed start's time: its index's failures end,
 * and a rolling reload may retire an old program for it. */
static void
settle(struct master *m, struct child *c, long long now)
{
	struct pool_slot_backoff *b =
	    master_program_backoff(m, c->service, c->index);

	c->settled = true;
	if (b != NULL && b->failures > 0) {
		log_notice("service %s: program %ld (index %u) is up after "
		           "%u failed start(s)",
		    c->name, (long)c->pid, c->index, b->failures);
		b->failures = 0;
		publish_failures(m, c->service, NULL, NULL);
	}
	master_pool_roll(m, c->service, now);
}

long long
master_program_settle(struct master *m, long long now)
{
	long long next = -1;

	for (size_t i = 0; i < m->nchildren; i++) {
		struct child *c = &m->children[i];
		if (!c->program || !c->ready || c->settled ||
		    c->stage != CHILD_RUNNING || c->generation != m->generation)
			continue;
		if (pool_program_settled(true, now - c->started))
			settle(m, c, now);
		else
			next = master_earliest(
			    next, c->started + POOL_LIVED_LONG_MS);
	}
	return next;
}

/*
 * Ready is an event: ready = "started" calls this once execve()
 * succeeded, ready = "notify" at READY=1.  The failed starts in a row of
 * its index end, and a rolling reload retires an old program for it, only
 * once it has settled -- lived past POOL_LIVED_LONG_MS, within which its
 * death still counts as a failed start (pool_program_settled): a program
 * that execs and exits 1 at once must neither reset the back-off nor
 * cost the pool an old program that serves.  READY=1 is the program's
 * own word that it serves: it settles at once.
 */
void
master_program_became_ready(struct master *m, struct child *c, long long now)
{
	if (c->ready || c->stage != CHILD_RUNNING)
		return;
	c->ready = true;
	c->ready_by = 0;
	scoreboard_set_state(c->slot, SB_IDLE);
	log_info("program %ld (index %u) of service %s ready after %.3fs",
	    (long)c->pid, c->index, c->name, (double)(now - c->started) / 1000);
	/* An older generation's c->service names a config freed since. */
	if (c->generation == m->generation &&
	    (c->notify || pool_program_settled(true, now - c->started)))
		settle(m, c, now);
}

/* ------------------------------------------------------ an upgrade */

bool
master_program_adopt(struct master *m, const struct child *c)
{
	struct program_table *t = table(m);

	if (t == NULL || c->slot < 0 || (size_t)c->slot >= t->room)
		return false;
	memset(&t->io[c->slot], 0, sizeof(t->io[c->slot]));
	/* The flag is the pipe's, not the descriptor's: set already, and
	 * set again should the image before have been another. */
	if (c->out_fd != -1)
		fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
	return true;
}
