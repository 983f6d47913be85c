/*
 * The master's table of children: spawn (fork) a worker into a scoreboard
 * slot, reap it and say how it ended, and move it through its stages.
 * Each stage but the first has a deadline after which the master escalates
 * (RUNNING -> QUITTING -SIGTERM-> TERMINATING -SIGKILL-> KILLED), so
 * nothing can keep the master waiting for ever.  Which child to spawn or
 * retire, and when, is the pool's to say (master_pool.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "exitcode.h"
#include "log.h"
#include "master_state.h"
#include "program.h"
#include "sandbox.h"
#include "scoreboard.h"
#include "unforked.h"
#include "worker.h"

#define TERM_GRACE_MS 3000 /* SIGTERM, then this long until SIGKILL */

/*
 * The table of children, one entry per scoreboard slot, allocated once and
 * out of the workers' reach: the master writes an entry after every fork(),
 * and were the table (or the malloc state that a realloc() per spawn
 * writes) shared copy-on-write, every worker would keep a private copy of
 * those pages.
 */
void
master_children_alloc(struct master *m, size_t room)
{
	m->children = unforked_alloc(room * sizeof(*m->children));
	if (m->children == NULL)
		fatal(EXIT_RESOURCE,
		    "mmap of the table of children for %zu slots", room);
	m->children_room = room;
}

void
master_children_free(struct master *m)
{
	unforked_free(m->children, m->children_room * sizeof(*m->children));
	m->children = NULL;
	m->children_room = 0;
	m->nchildren = 0;
}

/* Look for stuck workers at due at the latest. */
static void
watch_until(struct master *m, long long due)
{
	m->watch_next = master_earliest(m->watch_next, due);
}

/*
 * The master's descriptors no worker may hold, for a worker to close
 * after fork(): the programs' notify socket (master_notify.c), where it
 * could read the datagrams meant for the master, and the read end of
 * every program's output (master_program.c), where it could take lines
 * meant for the log.  NULL with *n = 0 when there are none; NULL with
 * *n > 0 when there was no memory for them.
 */
static int *
private_fds(const struct master *m, size_t *n)
{
	int notify_fd = master_notify_fd(m);
	size_t room = notify_fd != -1, k = 0;
	int *fds;

	for (size_t i = 0; i < m->nchildren; i++)
		room += m->children[i].out_fd != -1;
	*n = room;
	if (room == 0 || (fds = malloc(room * sizeof(*fds))) == NULL)
		return NULL;
	if (notify_fd != -1)
		fds[k++] = notify_fd;
	for (size_t i = 0; i < m->nchildren; i++)
		if (m->children[i].out_fd != -1)
			fds[k++] = m->children[i].out_fd;
	return fds;
}

enum spawn_result
master_child_spawn(struct master *m, size_t svc, unsigned long quota,
    bool dgram, long long now)
{
	const struct service *s = &m->conf->services[svc];
	pid_t master = getpid();
	/* What the worker is handed, copied out of *m, which it has not. */
	struct config *conf = m->conf;
	struct listener_set *listeners = m->listeners;
	struct worker_ids ids = m->ids;
	unsigned generation = m->generation;
	size_t nprivate;
	int *private;
	struct child *c;
	pid_t pid;
	int slot;

	if (!s->accept)
		return master_program_spawn(m, svc, now);
	if ((slot = scoreboard_claim(svc, s->name, generation)) == -1)
		return SPAWN_NO_SLOT;
	if ((private = private_fds(m, &nprivate)) == NULL && nprivate > 0) {
		scoreboard_release(slot);
		return SPAWN_NO_FORK; /* errno: ENOMEM */
	}
	if ((pid = fork()) == -1) {
		int err = errno;

		free(private);
		scoreboard_release(slot);
		errno = err;
		return SPAWN_NO_FORK;
	}
	if (pid == 0) {
		for (size_t i = 0; private != NULL && i < nprivate; i++)
			close(private[i]);
		free(private);
		worker_main(conf, svc, listeners, &ids, master, generation,
		    slot, quota, dgram);
	}
	free(private);
	scoreboard_set_pid(slot, pid);
	/* A worker holds a slot, so the table, sized by the slots, has
	 * room. */
	c = &m->children[m->nchildren++];
	memset(c, 0, sizeof(*c));
	c->pid = pid;
	c->service = svc;
	snprintf(c->name, sizeof(c->name), "%s", s->name);
	c->generation = generation;
	c->started = now;
	c->stage = CHILD_RUNNING;
	c->slot = slot;
	c->timeout = (long long)s->worker_timeout * 1000;
	if (c->timeout > 0)
		watch_until(m, now + c->timeout); /* should it never start */
	c->quota = quota;
	c->dgram = dgram;
	c->out_fd = -1; /* a program's (master_program.c); none */
	log_info("spawned %sworker %ld for service %s (generation %u)",
	    dgram ? "datagram " : "", (long)pid, s->name, generation);
	return SPAWNED;
}

bool
master_child_adopt(struct master *m, const struct child *c)
{
	if (m->nchildren >= m->children_room)
		return false;
	/* With every field, a program's output pipe too: it crossed the
	 * exec (master_upgrade.c). */
	m->children[m->nchildren++] = *c;
	if (c->timeout > 0)
		watch_until(m, clock_ms());
	return true;
}

/*
 * A worker dead of SIGSYS whose slot names a call: the sandbox killed it
 * (sandbox.c).  The name is the worker's word, resolved from a number and
 * only shown.  A crash as any other, for the pool.
 */
static bool
sandbox_killed(const struct child *c, int status)
{
	const struct scoreboard *sb = scoreboard_get();
	struct scoreboard_slot slot;
	char name[64];

	if (WIFEXITED(status) || WTERMSIG(status) != SIGSYS || sb == NULL)
		return false;
	scoreboard_read_slot(sb, (unsigned)c->slot, &slot);
	if (slot.sandbox_trapped != 1 || slot.pid != c->pid)
		return false;
	scoreboard_count_sandbox_kill();
	log_warnx("worker %ld (service %s) killed by the sandbox: system "
	          "call %s (%" PRId32 ")",
	    (long)c->pid, c->name,
	    sandbox_call_name(
	        slot.sandbox_arch, slot.sandbox_call, name, sizeof(name)),
	    slot.sandbox_call);
	return true;
}

/* Before its slot is cleared: the slot may say more. */
static void
describe_exit(const struct child *c, int status)
{
	/* A stopped child is not reaped: this one exited or was killed. */
	if (sandbox_killed(c, status))
		return;
	if (!WIFEXITED(status))
		log_notice("worker %ld (service %s) killed by signal %s",
		    (long)c->pid, c->name,
		    master_signal_name(WTERMSIG(status)));
	else if (WEXITSTATUS(status) == WORKER_EXIT_OK)
		log_info(
		    "worker %ld (service %s) exited", (long)c->pid, c->name);
	else
		log_notice("worker %ld (service %s) exited with status %d",
		    (long)c->pid, c->name, WEXITSTATUS(status));
}

bool
master_child_reap(struct master *m, struct child *dead, int *status)
{
	pid_t pid;

	/* WUNTRACED: a worker another process stopped is news too (SIGCHLD
	 * comes for it: no SA_NOCLDSTOP), though not a death. */
	while ((pid = waitpid(-1, status, WNOHANG | WUNTRACED)) > 0) {
		size_t i;
		/* A worker's, or one of theirs, died. */
		program_kill_strays(master_program_keep, m);
		for (i = 0; i < m->nchildren && m->children[i].pid != pid; i++)
			;
		if (i == m->nchildren)
			continue; /* not ours: nothing to do */
		if (WIFSTOPPED(*status)) {
			master_watch_stopped(
			    m, &m->children[i], WSTOPSIG(*status), clock_ms());
			continue;
		}
		*dead = m->children[i];
		m->children[i] = m->children[--m->nchildren];
		describe_exit(dead, *status);
		scoreboard_release(dead->slot);
		if (dead->program)
			master_program_reaped(m, dead);
		return true;
	}
	return false;
}

static void
send_signal(const struct child *c, int signo)
{
	/* A program (accept = false) leads a group of its own: the whole
	 * tree is told. */
	if (kill(c->program ? -c->pid : c->pid, signo) == -1 && errno != ESRCH)
		log_warn(
		    "kill -%s %ld", master_signal_name(signo), (long)c->pid);
}

void
master_child_retire(struct master *m, struct child *c, long long since)
{
	send_signal(c, c->program ? c->quit_signal : SIGQUIT);
	if (c->program)
		master_program_quitting(c);
	c->stage = CHILD_QUITTING;
	c->deadline = since + (long long)m->conf->shutdown_timeout * 1000;
}

void
master_child_terminate(struct child *c, long long now)
{
	send_signal(c, SIGTERM);
	c->stage = CHILD_TERMINATING;
	c->deadline = now + TERM_GRACE_MS;
}

void
master_child_escalate(struct master *m, long long now)
{
	for (size_t i = 0; i < m->nchildren; i++) {
		struct child *c = &m->children[i];
		if (c->stage == CHILD_RUNNING || c->stage == CHILD_KILLED ||
		    now < c->deadline)
			continue;
		log_warnx("worker %ld (service %s) still running after its "
		          "deadline: sending %s",
		    (long)c->pid, c->name,
		    c->stage == CHILD_QUITTING ? "TERM" : "KILL");
		if (c->stage == CHILD_QUITTING) {
			master_child_terminate(c, now);
		} else {
			send_signal(c, SIGKILL);
			c->stage = CHILD_KILLED;
		}
	}
}

/* Say what a stuck worker was doing, as its slot shows it. */
static void
report_stuck(
    const struct child *c, const struct scoreboard_slot *slot, long long now)
{
	double quiet = (double)scoreboard_elapsed(now, slot->progress) / 1000;
	/* The worker's own words: escaped, as any client data in the log. */
	char client[4 * sizeof(slot->client) + 1];

	log_escape(slot->client, strnlen(slot->client, sizeof(slot->client)),
	    client, sizeof(client));
	if (slot->state == SB_BUSY)
		log_warnx("worker %ld (service %s) made no progress for "
		          "%.3fs: client=%s in=%" PRIu64 " out=%" PRIu64
		          " time=%.3fs; sending KILL",
		    (long)c->pid, c->name, quiet, client, slot->conn_in,
		    slot->conn_out,
		    (double)scoreboard_elapsed(now, slot->conn_started) / 1000);
	else
		log_warnx("worker %ld (service %s) made no progress for "
		          "%.3fs while starting; sending KILL",
		    (long)c->pid, c->name, quiet);
}

/*
 * worker_timeout: a busy or starting worker whose slot has shown no sign
 * of life (an accept, a byte moved, a state change) for that long is stuck
 * -- a deadlock, a stopped process, a bug.  Say what it was doing, kill
 * it, and count it out of its pool, which forks a replacement at once.  An
 * idle worker waits in accept() by design and is never stuck; a quitting
 * one has shutdown_timeout.  Nothing tells the master that a worker went
 * busy, so it also looks again when a worker idle now could be overdue at
 * the earliest: each time it looks, it knows exactly when each busy
 * worker will be, so a stuck one is killed on time.
 */
void
master_child_kill_stuck(struct master *m, long long now)
{
	const struct scoreboard *sb = scoreboard_get();
	struct scoreboard_slot slot;

	m->watch_next = -1;
	for (size_t i = 0; i < m->nchildren; i++) {
		struct child *c = &m->children[i];
		long long quiet = 0; /* idle: as if it took a client now */
		if (c->stage != CHILD_RUNNING || c->timeout == 0)
			continue;
		scoreboard_read_slot(sb, (unsigned)c->slot, &slot);
		/* progress is the worker's word: an age, clamped, never a
		 * sum that could overflow. */
		if (slot.state == SB_BUSY || slot.state == SB_STARTING)
			quiet = scoreboard_elapsed(now, slot.progress);
		if (quiet < c->timeout) {
			watch_until(m, now + (c->timeout - quiet));
			continue;
		}
		report_stuck(c, &slot, now);
		send_signal(c, SIGKILL);
		c->stage = CHILD_KILLED;
	}
}

/* The live workers of svc of the current generation, of one kind. */
static size_t
running(const struct master *m, size_t svc, bool dgram)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nchildren; i++)
		if (m->children[i].generation == m->generation &&
		    m->children[i].service == svc &&
		    m->children[i].stage == CHILD_RUNNING &&
		    m->children[i].dgram == dgram)
			n++;
	return n;
}

size_t
master_child_running(const struct master *m, size_t svc)
{
	return running(m, svc, false);
}

size_t
master_child_dgram(const struct master *m, size_t svc)
{
	return running(m, svc, true);
}

long long
master_child_next(const struct master *m)
{
	long long next = m->watch_next;

	for (size_t i = 0; i < m->nchildren; i++) {
		const struct child *c = &m->children[i];
		if (c->stage == CHILD_QUITTING || c->stage == CHILD_TERMINATING)
			next = master_earliest(next, c->deadline);
	}
	return next;
}
