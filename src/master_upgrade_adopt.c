/*
 * An upgrade's new image, once its start-up is over (master_upgrade.c):
 * it adopts the old image's workers, which are still its children,
 * starts a generation after theirs, and answers -s upgrade once that
 * generation has started all its workers -- or says that they cannot
 * start, and keeps the adopted generation serving (master_upgrade_holds)
 * until a reload, another upgrade, or its own pools filling after all.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exitcode.h"
#include "log.h"
#include "master_handover.h"
#include "master_state.h"
#include "pool.h"
#include "scoreboard.h"

#ifndef PREFORKD_VERSION
#define PREFORKD_VERSION "unknown"
#endif

/* While the answer is owed: how often the master looks at the new
 * generation's workers. */
#define WATCH_MS 20
/* Once it has said they cannot start: how often it looks again. */
#define HELD_WATCH_MS 1000
#define WHY_LEN UPGRADE_WHY_LEN

static void stalled(struct master *m, const char *why);

/* Is pid a child of this process (alive or not yet reaped)? */
static bool
our_child(pid_t pid)
{
	siginfo_t info = { 0 };

	return waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) ==
	       0;
}

/* u's output pipe, when it is one and no other adopted program's;
 * else -1. */
static int
output_pipe(const struct master *m, const struct upgrade_child *u)
{
	struct stat st;

	if (u->out_fd == -1)
		return -1;
	for (size_t i = 0; i < m->nchildren; i++)
		if (m->children[i].out_fd == u->out_fd)
			return -1;
	if (fstat(u->out_fd, &st) == -1 || !S_ISFIFO(st.st_mode)) {
		log_warnx("upgrade: program %ld: descriptor %d handed over "
		          "is not a pipe: its output is not read",
		    (long)u->pid, u->out_fd);
		return -1;
	}
	return u->out_fd;
}

/* Take u into the table; false when it is not one the master can: a slot
 * outside the scoreboard or taken, a pid not our child. */
static bool
adopt_child(struct master *m, const struct upgrade_child *u)
{
	const struct scoreboard *sb = scoreboard_get();
	struct child c = {
		.pid = u->pid,
		.service = u->service,
		.generation = u->generation,
		.started = u->started,
		.stage = (enum child_stage)u->stage,
		.deadline = u->deadline,
		.slot = u->slot,
		.timeout = u->timeout,
		.quota = u->quota,
		.recycling = u->recycling,
		.dgram = u->dgram,
		.program = u->program,
		.ready = u->ready,
		.index = u->index,
		.quit_signal = u->quit_signal,
		.out_fd = output_pipe(m, u),
	};

	bool fits =
	    sb != NULL && (unsigned)u->slot < sb->nslots && our_child(u->pid);

	snprintf(c.name, sizeof(c.name), "%s", u->name);
	for (size_t i = 0; fits && i < m->nchildren; i++)
		fits = m->children[i].slot != u->slot &&
		       m->children[i].pid != u->pid;
	if (!fits) {
		/* output_pipe made sure it is this child's own. */
		if (c.out_fd != -1)
			close(c.out_fd);
		return false;
	}
	/* Its output goes on into the log, through master_program.c's
	 * table as a program this image started. */
	if (c.program && !master_program_adopt(m, &c) && c.out_fd != -1) {
		close(c.out_fd);
		c.out_fd = -1;
	}
	if (!master_child_adopt(m, &c)) {
		if (c.out_fd != -1)
			close(c.out_fd);
		return false;
	}
	scoreboard_adopt_slot(u->slot, u->pid, u->service, u->generation);
	return true;
}

void
master_upgrade_adopt(struct master *m, struct upgrade_state *up, long long now)
{
	size_t adopted = 0;

	for (size_t i = 0; i < up->nchildren; i++) {
		const struct upgrade_child *u = &up->children[i];
		if (adopt_child(m, u)) {
			adopted++;
			continue;
		}
		/* Our child, unsupervised, would serve on with nobody to
		 * reap or stop it. */
		log_warnx("upgrade: worker %ld handed over with slot %d not "
		          "adopted%s",
		    (long)u->pid, u->slot,
		    our_child(u->pid) ? ": told to stop" : "");
		if (our_child(u->pid))
			kill(u->program ? -u->pid : u->pid, SIGTERM);
	}
	/* A generation after every one the old image had: its workers are
	 * all older, and retired once the new pools are complete. */
	m->generation = up->generation + 1;
	snprintf(m->upgrade_from, sizeof(m->upgrade_from), "%s", up->version);
	snprintf(m->upgrade_warning, sizeof(m->upgrade_warning), "%.199s",
	    up->warning);
	m->upgrade_owed = m->generation;
	log_notice("upgraded: preforkd %s -> %s, generation %u (in %lld ms), "
	           "%zu worker(s) of the old image adopted, %zu service(s), "
	           "config %s",
	    m->upgrade_from, PREFORKD_VERSION, m->generation, now - up->began,
	    adopted, m->conf->nservices, m->conf->path);
	master_pool_publish(m);
	if (up->fatal[0] != '\0') {
		/* Nothing of this image may start: the old workers serve. */
		for (size_t svc = 0; svc < m->conf->nservices; svc++)
			m->pools[svc].disabled = true;
		stalled(m, up->fatal);
	}
	master_pool_adjust(m, now);
	master_upgrade_watch(m);
	master_pool_retire_old(m, now);
	master_pool_notify(m, NOTIFY_READY, "");
	master_handover_free(up);
}

/*
 * After the exec.  The answer to -s upgrade waits until the new
 * generation has every worker it starts with, as a reload's does: then
 * "upgraded"; or, when one of its pools cannot start them (fork fails,
 * they die at once, they say they cannot run), "cannot start", and the
 * adopted generation is kept serving (master_upgrade_holds) -- until a
 * reload, another upgrade, or the pool filling after all.
 */

/* The answer: the new image's workers cannot start, for why. */
static void
stalled(struct master *m, const char *why)
{
	char message[SCOREBOARD_MESSAGE_LEN];

	if (m->upgrade_owed != m->generation)
		return;
	snprintf(message, sizeof(message),
	    "upgraded to preforkd %s (from %s), generation %u, but its "
	    "workers cannot start: %s; the old workers keep serving",
	    PREFORKD_VERSION, m->upgrade_from, m->generation, why);
	log_errorx("upgrade: %s", message);
	scoreboard_upgrade_done(SB_UPGRADE_STALLED, message);
	m->upgrade_owed = 0;
	m->upgrade_held = m->generation;
}

/*
 * Has c started?  A built-in worker once it waits for clients, as -s
 * reload counts it; a program once it has settled (master_program.c:
 * READY=1 with ready = "notify"; with "started", once it has lived as
 * long as the pool takes a death to be a failed start, which a program
 * whose execve worked but which exits at once is).
 */
static bool
started(const struct child *c)
{
	struct scoreboard_slot slot;

	if (c->program)
		return c->settled;
	scoreboard_read_slot(scoreboard_get(), (unsigned)c->slot, &slot);
	return slot.state != SB_STARTING;
}

/* Has svc's pool of the current generation all its workers started? */
static bool
complete(const struct master *m, size_t svc)
{
	unsigned pool = 0, dgram = 0;

	for (size_t i = 0; i < m->nchildren; i++) {
		const struct child *c = &m->children[i];
		if (c->generation == m->generation && c->service == svc &&
		    c->stage == CHILD_RUNNING && started(c))
			*(c->dgram ? &dgram : &pool) += 1;
	}
	return pool >= m->pools[svc].target &&
	       dgram >= config_dgram_workers(&m->conf->services[svc]);
}

/* Why svc's pool cannot start its workers, into why; false when it
 * can, as far as the master knows. */
static bool
failing(const struct master *m, size_t svc, char *why, size_t size)
{
	const struct service_pool *p = &m->pools[svc];
	const char *name = m->conf->services[svc].name;

	if (p->disabled)
		snprintf(why, size,
		    "service %s: its workers cannot run with this "
		    "configuration",
		    name);
	else if (p->fork_failures > 0)
		snprintf(why, size, "service %s: fork failed (%u in a row)",
		    name, p->fork_failures);
	else if (p->quick_deaths > 0)
		snprintf(why, size,
		    "service %s: %u failed start(s) in a row (see the log)",
		    name, p->quick_deaths);
	else
		return false;
	return true;
}

void
master_upgrade_watch(struct master *m)
{
	char why[WHY_LEN], message[SCOREBOARD_MESSAGE_LEN];
	bool full = true;

	if (m->upgrade_owed == 0 && m->upgrade_held == 0)
		return;
	for (size_t svc = 0; svc < m->conf->nservices; svc++) {
		if (m->upgrade_owed == m->generation &&
		    failing(m, svc, why, sizeof(why))) {
			stalled(m, why);
			return;
		}
		full &= complete(m, svc);
	}
	if (m->upgrade_held != 0) {
		/* A reload since, or the pools filled after all. */
		if (m->upgrade_held == m->generation && full)
			log_notice("upgrade: generation %u has its workers "
			           "after all: the old image's are retired",
			    m->generation);
		if (m->upgrade_held != m->generation || full)
			m->upgrade_held = 0;
		return;
	}
	/* Complete, or a reload's generation took over: the reload's
	 * answer is its own. */
	if (!full && m->upgrade_owed == m->generation)
		return;
	snprintf(message, sizeof(message),
	    "upgraded: preforkd %s -> %s, generation %u%s%s%s", m->upgrade_from,
	    PREFORKD_VERSION, m->upgrade_owed,
	    m->upgrade_warning[0] != '\0' ? " (warning: " : "",
	    m->upgrade_warning, m->upgrade_warning[0] != '\0' ? ")" : "");
	scoreboard_upgrade_done(SB_UPGRADE_OK, message);
	m->upgrade_owed = 0;
}

void
master_upgrade_died(
    struct master *m, const struct child *c, int status, long long now)
{
	char why[WHY_LEN], how[64];
	long long lived = now - c->started;

	if (m->upgrade_owed != m->generation || c->generation != m->generation)
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_FATAL) &&
	    (!pool_failed_by_itself(status) || lived >= POOL_LIVED_LONG_MS))
		return;
	if (WIFEXITED(status))
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	else
		snprintf(how, sizeof(how), "was killed by signal %s",
		    master_signal_name(WTERMSIG(status)));
	snprintf(why, sizeof(why),
	    "service %s: %s %ld %s %.3fs after its start", c->name,
	    c->program ? "program" : "worker", (long)c->pid, how,
	    (double)lived / 1000);
	stalled(m, why);
}

bool
master_upgrade_holds(const struct master *m)
{
	return m->generation != 0 && (m->upgrade_owed == m->generation ||
	                                 m->upgrade_held == m->generation);
}

long long
master_upgrade_next(const struct master *m, long long now)
{
	/* A worker going idle does not wake the master: look, often while
	 * -s upgrade waits, once a second while the old workers are held. */
	if (m->upgrade_owed != 0)
		return now + WATCH_MS;
	return m->upgrade_held != 0 ? now + HELD_WATCH_MS : -1;
}
