/*
 * The master's loop: no client I/O, only supervision.  Its signals stay
 * blocked except while it sleeps in ppoll(); handlers only record which
 * action was asked for (master_signal.c), and the loop acts on them in a
 * fixed order: reap -> stop -> quit -> reload -> reopen, then timers, then
 * spawning.  The rooms it calls on: master_child.c (the children),
 * master_pool.c (the pools), master_watch.c (what workers may
 * do to it), master_stop.c,
 * master_reload.c, master_upgrade.c, master_program.c and
 * master_notify.c (programs of accept = false, their notify socket).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "clock.h"
#include "daemon.h"
#include "exitcode.h"
#include "log.h"
#include "master.h"
#include "master_state.h"
#include "scoreboard.h"
#include "unforked.h"

long long
master_earliest(long long a, long long b)
{
	if (a == -1)
		return b;
	if (b == -1)
		return a;
	return a < b ? a : b;
}

/*
 * The master's state lives in memory fork() leaves out (unforked.h): the
 * master writes it between one fork() and the next (the count of workers,
 * their generation, timers), and each worker would otherwise keep its own
 * copy of the page.  So a worker cannot read it either: what it needs is
 * handed to worker_main.
 */
static struct master *
master_alloc(struct config *conf, struct listener_set *listeners,
    const struct worker_ids *ids, bool foreground)
{
	struct master *m;

	if ((m = unforked_alloc(sizeof(*m))) == NULL)
		fatal(EXIT_RESOURCE, "mmap of the master's state (%zu bytes)",
		    sizeof(*m));
	m->conf = conf;
	m->listeners = listeners;
	m->ids = *ids;
	m->foreground = foreground;
	m->generation = 1;
	m->watch_next = -1;
	m->draining_since = -1;
	if ((m->pools = calloc(conf->nservices, sizeof(*m->pools))) == NULL)
		fatal(EXIT_RESOURCE, "calloc of the pools of %zu services",
		    conf->nservices);
	master_children_alloc(m, scoreboard_get()->nslots);
	master_pools_init(m);
	return m;
}

static void
master_free(struct master *m)
{
	master_program_free(m);
	master_notify_free(m);
	master_children_free(m);
	master_pools_free(m->pools, m->conf->nservices);
	config_free(m->conf);
	unforked_free(m, sizeof(*m));
}

/* How long the loop may sleep: until the next deadline, or for ever. */
static struct timespec *
sleep_time(const struct master *m, struct timespec *ts, long long now)
{
	long long next = master_child_next(m);

	next = master_earliest(next, master_stop_next(m, now));
	next = master_earliest(next, master_pool_next(m));
	next = master_earliest(next, master_notify_next(m));
	next = master_earliest(next, master_upgrade_next(m, now));
	if (next == -1)
		return NULL;
	next = next > now ? next - now : 0;
	ts->tv_sec = next / 1000;
	ts->tv_nsec = (next % 1000) * 1000000;
	return ts;
}

/* Reap the children that exited; a worker that died unasked is replaced
 * as its pool's policy says. */
static void
reap(struct master *m, long long now)
{
	struct child dead;
	int status;

	while (master_child_reap(m, &dead, &status))
		if (dead.stage == CHILD_RUNNING &&
		    dead.generation == m->generation && !m->stopping) {
			(dead.program ? master_program_died : master_pool_died)(
			    m, &dead, status, now);
			master_upgrade_died(m, &dead, status, now);
		}
}

static void
act_on_requests(struct master *m)
{
	int signo;

	if (master_signal_take(ACT_REAP))
		reap(m, clock_ms());
	if ((signo = master_signal_take(ACT_STOP)) != 0)
		master_stop(m, signo, clock_ms());
	if ((signo = master_signal_take(ACT_QUIT)) != 0)
		master_quit(m, signo, clock_ms());
	if ((signo = master_signal_take(ACT_RELOAD)) != 0)
		master_reload(m, signo, clock_ms());
	if ((signo = master_signal_take(ACT_REOPEN)) != 0)
		master_reopen(m, signo, clock_ms());
	if ((signo = master_signal_take(ACT_GROW)) != 0)
		master_pool_resize(m, signo, 1);
	if ((signo = master_signal_take(ACT_SHRINK)) != 0)
		master_pool_resize(m, signo, -1);
	if ((signo = master_signal_take(ACT_UPGRADE)) != 0)
		master_upgrade(m, signo, clock_ms());
}

int
master_run(struct config *conf, struct listener_set *listeners,
    const struct worker_ids *ids, bool foreground, struct upgrade_state *up)
{
	struct master *m = master_alloc(conf, listeners, ids, foreground);
	sigset_t none;

	sigemptyset(&none);
	/* What a killed exec worker's program leaves comes to us, to be
	 * swept (program_kill_strays), not to init. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (up != NULL) {
		/* An upgrade: the terminal was let go of before the exec. */
		master_upgrade_adopt(m, up, clock_ms());
		reap(m, clock_ms()); /* those that exited during the exec */
	} else {
		/* Let go of the terminal first: workers must not inherit
		 * it. */
		if (!foreground)
			daemon_ready(strcmp(log_target(), "stderr") == 0 &&
			             daemon_stderr_is_file());
		master_pool_publish(m);
		master_pool_adjust(m, clock_ms());
		log_notice("started: %zu service(s), config %s",
		    conf->nservices, conf->path);
		master_pool_notify(m, NOTIFY_READY, "");
	}
	while (!m->stopping || m->nchildren > 0) {
		/* Workers of a dynamic pool poke this when they go busy or
		 * idle, and any worker when it has served max_requests: the
		 * pool reacts within a loop's turn.  (The debug line says
		 * "dynamic pool" for both.) */
		struct pollfd poke = { .fd = scoreboard_poke_fd(),
			.events = POLLIN };
		struct timespec ts;
		long long now = clock_ms();
		/* Programs' output (accept = false), behind the poke, and
		 * their notify socket last. */
		size_t nfds = 1;
		struct pollfd *fds;

		master_stop_drain(m, now);
		master_child_escalate(m, now);
		master_child_kill_stuck(m, now);
		master_notify_check(m, now);
		master_watch_sweep(m, now);
		master_pool_adjust(m, now);
		master_upgrade_watch(m);
		master_pool_retire_old(m, now);
		if ((fds = master_program_poll(m, poke.fd, &nfds)) == NULL)
			fds = &poke;
		if (ppoll(fds, nfds, sleep_time(m, &ts, clock_ms()), &none) ==
		        -1 &&
		    errno != EINTR)
			log_warn("ppoll on the workers' poke pipe");
		master_program_output(m, nfds);
		if (fds[0].revents != 0) {
			scoreboard_drain_pokes();
			log_debug("woken by a worker");
		}
		act_on_requests(m);
	}
	log_notice("stopped");
	/* Before the pidfile's lock goes: a new master may then take the
	 * path at once. */
	scoreboard_remove();
	daemon_pidfile_remove();
	listener_close_all(m->listeners);
	master_free(m);
	return 0;
}
