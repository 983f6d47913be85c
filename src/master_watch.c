/*
 * What a worker may do to the master, seen from the master: a compromised
 * worker can write any byte of the scoreboard, and any process of the
 * workers' user can stop a worker.  The first is put right (the sweep
 * writes back what the master owns of the table), the second is said in
 * the log.  Neither needs a timer: the master sweeps when it is awake
 * anyway, at most once a second, and hears of a stopped child from the
 * kernel (SIGCHLD, waitpid with WUNTRACED).
 */
#include <unistd.h>

#include "log.h"
#include "master_state.h"
#include "scoreboard.h"

/* The sweep reads the slots in use: not more often than this. */
#define SWEEP_MS 1000
/* Each kind of line below is said at most this often. */
#define WARN_MS 60000

/* May a line rate-bounded by *last be said at now?  (And note it.) */
static bool
may_warn(long long *last, long long now)
{
	if (*last != 0 && now - *last < WARN_MS)
		return false;
	*last = now;
	return true;
}

void
master_watch_sweep(struct master *m, long long now)
{
	unsigned mended;

	if (m->swept != 0 && now - m->swept < SWEEP_MS)
		return;
	m->swept = now;
	if ((mended = scoreboard_sweep()) > 0 &&
	    may_warn(&m->sweep_warned, now))
		log_warnx("scoreboard: put back %u slot(s) or header(s) a "
		          "worker had written over",
		    mended);
}

/*
 * A stopped worker takes no client, and says nothing: it cannot.  Only
 * another process of its user (or root) can have stopped it, and that is
 * worth a line; a stop and continue in a loop is worth one a minute.
 */
void
master_watch_stopped(
    struct master *m, const struct child *c, int signo, long long now)
{
	if (!may_warn(&m->stop_warned, now)) {
		m->stops_unsaid++;
		return;
	}
	log_warnx("worker %ld (service %s) stopped by SIG%s: it takes no "
	          "client until continued; any process of uid %ld may stop "
	          "the workers: give them a user of their own (%u more "
	          "stop(s) unsaid since the last line)",
	    (long)c->pid, c->name, master_signal_name(signo),
	    (long)(m->ids.change ? m->ids.uid : getuid()), m->stops_unsaid);
	m->stops_unsaid = 0;
}
