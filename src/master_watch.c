/*
 * The master's patrol, once a second (Apache's master looks at its
 * scoreboard each second the same way): what a worker may have written
 * over in the scoreboard is put back (scoreboard_sweep), and a worker that
 * says it is idle but takes no client while clients queue -- one another
 * process of its user stopped with SIGSTOP, say -- is named in the log.
 * Neither is something a worker tells the master: a stopped worker cannot,
 * and a hostile one would not.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "master_state.h"
#include "scoreboard.h"

#define PATROL_MS 1000
/* A stalled service, or a mended scoreboard, is said at most this often. */
#define PATROL_WARN_MS 60000

/* The state letter of process pid in /proc/PID/stat ('T': stopped), or
 * '?' when it cannot be read. */
static char
process_state(pid_t pid)
{
	char path[32], buf[256];
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold anything, ')' included. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ' || p[2] == '\0')
		return '?';
	return p[2];
}

/* May a line rate-bounded by *last be said at now?  (And note it.) */
static bool
may_warn(long long *last, long long now)
{
	if (*last != 0 && now - *last < PATROL_WARN_MS)
		return false;
	*last = now;
	return true;
}

/*
 * Clients wait on svc's sockets: an idle worker takes one within
 * microseconds, so one whose slot has said idle since before the last
 * look is not taking them.  Its process state says why when it is
 * stopped.  What the slot says is the worker's word, and a lie costs
 * only this log line; the pid is the master's.
 */
static void
look_for_stalled(struct master *m, size_t svc, long long now)
{
	const struct service *s = &m->conf->services[svc];
	const struct scoreboard *sb = scoreboard_get();
	unsigned queued = master_pool_queued(m, s, false);
	unsigned stalled = 0, stopped = 0;
	struct scoreboard_slot slot;
	pid_t first_stopped = 0, first_stalled = 0;
	char state;

	if (queued == 0)
		return;
	for (size_t i = 0; i < m->nchildren; i++) {
		const struct child *c = &m->children[i];
		if (c->generation != m->generation || c->service != svc ||
		    c->stage != CHILD_RUNNING)
			continue;
		scoreboard_read_slot(sb, (unsigned)c->slot, &slot);
		if (slot.state != SB_IDLE ||
		    scoreboard_elapsed(now, slot.changed) < PATROL_MS)
			continue;
		state = process_state(c->pid);
		if (state == 'T' || state == 't') {
			if (stopped++ == 0)
				first_stopped = c->pid;
		} else if (stalled++ == 0) {
			first_stalled = c->pid;
		}
	}
	if (stalled + stopped == 0 ||
	    !may_warn(&m->pools[svc].stalled_warned, now))
		return;
	if (stopped > 0)
		log_warnx("service %s: %u idle worker(s) stopped (worker %ld "
		          "in state T: SIGSTOP?) while %u client(s) wait in "
		          "the queue; any process of the workers' user (uid "
		          "%ld) may signal them: give them a user of their own",
		    s->name, stopped, (long)first_stopped, queued,
		    (long)m->ids.uid);
	else
		log_warnx("service %s: %u worker(s) idle for over %d ms no "
		          "longer take clients (worker %ld the first) while %u "
		          "wait in the queue",
		    s->name, stalled, PATROL_MS, (long)first_stalled, queued);
}

void
master_patrol(struct master *m, long long now)
{
	unsigned mended;

	if (m->stopping || now < m->patrol_next)
		return;
	m->patrol_next = now + PATROL_MS;
	if ((mended = scoreboard_sweep()) > 0 &&
	    may_warn(&m->sweep_warned, now))
		log_warnx("scoreboard: put back %u slot(s) or header(s) a "
		          "worker had written over",
		    mended);
	for (size_t svc = 0; svc < m->conf->nservices; svc++)
		look_for_stalled(m, svc, now);
}

long long
master_patrol_next(const struct master *m)
{
	return m->stopping ? -1 : m->patrol_next;
}
