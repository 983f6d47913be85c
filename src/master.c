/*
 * The master: no client I/O, only supervision.  Its signals stay blocked
 * except while it sleeps in ppoll(); handlers only record which action was
 * asked for, and the loop acts on them in a fixed order:
 * reap -> stop -> quit -> reload -> reopen, then timers, then spawning.
 *
 * Workers move through stages; each stage has a deadline after which the
 * master escalates (RUNNING -> QUITTING -SIGTERM-> TERMINATING -SIGKILL->
 * KILLED), so nothing can keep the master waiting for ever.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "limit.h"
#include "exitcode.h"
#include "log.h"
#include "master.h"
#include "notify.h"
#include "pool.h"
#include "scoreboard.h"
#include "unforked.h"

#define LIVED_LONG_MS 1000 /* a worker that dies sooner is crashing */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000
#define EMPTY_POOL_MAX_MS 1000 /* the longest a pool is left empty */
#define FORK_RETRY_MS 1000
/* How soon to look again when a worker due for max_requests waits for
 * its turn: nothing else may wake a fixed pool's master. */
#define RECYCLE_RETRY_MS 100
/* After fork() fails: first retry, doubled per failure in a row, up to. */
#define FORK_BACKOFF_MIN_MS 250
#define FORK_BACKOFF_MAX_MS 8000
#define TERM_GRACE_MS 3000 /* SIGTERM, then this long until SIGKILL */
/* A graceful stop keeps its listening sockets at least this long after
 * they refuse new connections: a handshake under way then (a round trip
 * of up to this) completes into the queue and is served. */
#define DRAIN_SETTLE_MS 100
/* How often it looks at the queues meanwhile: nothing tells the master
 * when a queue is empty. */
#define DRAIN_POLL_MS 10

enum action {
	ACT_REAP,
	ACT_STOP,
	ACT_QUIT,
	ACT_RELOAD,
	ACT_REOPEN,
	ACT_GROW,
	ACT_SHRINK,
	ACT_N
};

/* One table drives the handlers, -s NAME and the names in log lines. */
static const struct {
	int signo;
	const char *name; /* for -s; NULL: not sent that way */
	enum action action;
} signals[] = {
	{ SIGCHLD, NULL, ACT_REAP },
	{ SIGTERM, "stop", ACT_STOP },
	{ SIGINT, NULL, ACT_STOP },
	{ SIGQUIT, "quit", ACT_QUIT },
	{ SIGHUP, "reload", ACT_RELOAD },
	{ SIGUSR1, "reopen", ACT_REOPEN },
	{ SIGTTIN, NULL, ACT_GROW },
	{ SIGTTOU, NULL, ACT_SHRINK },
};

#define NSIGNALS (sizeof(signals) / sizeof(signals[0]))

/* The signal number that asked for each action, 0 when none is pending. */
static volatile sig_atomic_t requested[ACT_N];

enum stage { RUNNING, QUITTING, TERMINATING, KILLED };

struct worker {
	pid_t pid;
	size_t service; /* index in the config of its generation */
	char name[40];  /* the service's name, for log lines */
	unsigned generation;
	long long started; /* ms, monotonic */
	enum stage stage;
	long long deadline; /* ms; escalate then (not when RUNNING) */
	int slot;           /* in the scoreboard */
	long long timeout;  /* ms: its service's worker_timeout; 0 = none */
	unsigned long quota; /* connections before recycling; 0: never */
	bool recycling;      /* retired for max_requests, not yet reaped */
};

/* Spawning state of one service of the current generation. */
struct pool {
	int quick_deaths;     /* workers in a row that died young */
	int fork_failures;    /* fork() failures in a row */
	long long next_spawn; /* ms; no spawning before */
	bool disabled;        /* a worker said WORKER_EXIT_FATAL */
	unsigned target;      /* the least: workers, moved by TTIN/TTOU */
	struct pool_state policy; /* pool_decide's memory */
	long long next_check;     /* ms; ask pool_decide again then */
	long long next_recycle;   /* ms; a due worker waits; 0: none */
};

/* The master's state, in memory of its own (see master_state_alloc). */
static struct master_state {
	struct config *conf;
	struct listener_set *listeners;
	struct worker_ids ids;
	bool foreground;
	bool stopping;
	unsigned generation;
	struct worker *workers; /* room for every scoreboard slot */
	size_t nworkers;
	size_t workers_room;
	struct pool *pools;
	long long watch_next; /* ms: look for stuck workers then; -1: never */
	/* ms: when a graceful stop began emptying the listen queues; -1
	 * when none is. */
	long long draining_since;
} *m;

static void
on_signal(int signo)
{
	int saved_errno = errno;

	for (size_t i = 0; i < NSIGNALS; i++)
		if (signals[i].signo == signo)
			requested[signals[i].action] = signo;
	errno = saved_errno;
}

int
master_signal_by_name(const char *name)
{
	for (size_t i = 0; i < NSIGNALS; i++)
		if (signals[i].name != NULL &&
		    strcmp(signals[i].name, name) == 0)
			return signals[i].signo;
	return 0;
}

const char *
master_signal_names(void)
{
	static char names[64];

	if (names[0] == '\0')
		for (size_t i = 0; i < NSIGNALS; i++)
			if (signals[i].name != NULL)
				snprintf(names + strlen(names),
				    sizeof(names) - strlen(names), "%s%s",
				    names[0] != '\0' ? "|" : "",
				    signals[i].name);
	return names;
}

void
master_signals_init(void)
{
	struct sigaction sa;
	sigset_t blocked;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigfillset(&sa.sa_mask);
	sigemptyset(&blocked);
	for (size_t i = 0; i < NSIGNALS; i++) {
		sigaction(signals[i].signo, &sa, NULL);
		sigaddset(&blocked, signals[i].signo);
	}
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigprocmask(SIG_BLOCK, &blocked, NULL);
}

/* Take and clear a pending request: the signal number, or 0. */
static int
take(enum action action)
{
	int signo = requested[action];

	requested[action] = 0;
	return signo;
}

static const char *
signame(int signo)
{
	const char *abbrev = sigabbrev_np(signo);

	return abbrev != NULL ? abbrev : "?";
}

static void
send_signal(struct worker *w, int signo)
{
	if (kill(w->pid, signo) == -1 && errno != ESRCH)
		log_warn("kill -%s %ld", signame(signo), (long)w->pid);
}

/* Ask a worker to finish its client and exit, within shutdown_timeout
 * of since (now, or when a graceful stop began). */
static void
retire(struct worker *w, long long since)
{
	send_signal(w, SIGQUIT);
	w->stage = QUITTING;
	w->deadline = since + (long long)m->conf->shutdown_timeout * 1000;
}

/* Tell a worker to exit now. */
static void
terminate(struct worker *w, long long now)
{
	send_signal(w, SIGTERM);
	w->stage = TERMINATING;
	w->deadline = now + TERM_GRACE_MS;
}

static void
escalate_overdue(long long now)
{
	for (size_t i = 0; i < m->nworkers; i++) {
		struct worker *w = &m->workers[i];
		if (w->stage == RUNNING || w->stage == KILLED ||
		    now < w->deadline)
			continue;
		log_warnx("worker %ld (service %s) still running after its "
		          "deadline: sending %s",
		    (long)w->pid, w->name,
		    w->stage == QUITTING ? "TERM" : "KILL");
		if (w->stage == QUITTING) {
			terminate(w, now);
		} else {
			send_signal(w, SIGKILL);
			w->stage = KILLED;
		}
	}
}

/* Look for stuck workers at due at the latest. */
static void
watch_until(long long due)
{
	if (m->watch_next == -1 || due < m->watch_next)
		m->watch_next = due;
}

/* Say what a stuck worker was doing, as its slot shows it. */
static void
report_stuck(
    const struct worker *w, const struct scoreboard_slot *slot, long long now)
{
	double quiet = (double)(now - slot->progress) / 1000;

	if (slot->state == SB_BUSY)
		log_warnx("worker %ld (service %s) made no progress for "
		          "%.3fs: client=%s in=%" PRIu64 " out=%" PRIu64
		          " time=%.3fs; sending KILL",
		    (long)w->pid, w->name, quiet, slot->client, slot->conn_in,
		    slot->conn_out, (double)(now - slot->conn_started) / 1000);
	else
		log_warnx("worker %ld (service %s) made no progress for "
		          "%.3fs while starting; sending KILL",
		    (long)w->pid, w->name, quiet);
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
static void
kill_stuck(long long now)
{
	const struct scoreboard *sb = scoreboard_get();
	struct scoreboard_slot slot;

	m->watch_next = -1;
	for (size_t i = 0; i < m->nworkers; i++) {
		struct worker *w = &m->workers[i];
		long long due;
		if (w->stage != RUNNING || w->timeout == 0)
			continue;
		scoreboard_read_slot(sb, (unsigned)w->slot, &slot);
		if (slot.state == SB_BUSY || slot.state == SB_STARTING)
			due = slot.progress + w->timeout;
		else
			due = now + w->timeout; /* if it took a client now */
		if (now < due) {
			watch_until(due);
			continue;
		}
		report_stuck(w, &slot, now);
		send_signal(w, SIGKILL);
		w->stage = KILLED;
	}
}

static size_t
running_workers(size_t svc)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nworkers; i++)
		if (m->workers[i].generation == m->generation &&
		    m->workers[i].service == svc &&
		    m->workers[i].stage == RUNNING)
			n++;
	return n;
}

/*
 * The master's state lives in memory fork() leaves out (unforked.h): the
 * master writes it between one fork() and the next (the count of workers,
 * their generation, timers), and each worker would otherwise keep its own
 * copy of the page.  So a worker cannot read it either: what it needs is
 * handed to worker_main.
 */
static void
master_state_alloc(void)
{
	if ((m = unforked_alloc(sizeof(*m))) == NULL)
		fatal(EXIT_RESOURCE, "master: state");
}

/*
 * The table of workers, one entry per scoreboard slot, allocated once and
 * out of the workers' reach: the master writes an entry after every fork(),
 * and were the table (or the malloc state that a realloc() per spawn
 * writes) shared copy-on-write, every worker would keep a private copy of
 * those pages.
 */
static void
alloc_worker_table(size_t room)
{
	if ((m->workers = unforked_alloc(room * sizeof(*m->workers))) == NULL)
		fatal(EXIT_RESOURCE, "master: worker table for %zu slots", room);
	m->workers_room = room;
}

/* A random number for max_requests' jitter: not for secrets. */
static uint32_t
jitter_random(void)
{
	static uint32_t state;
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == sizeof(r))
		return r;
	/* No entropy yet (early boot): xorshift from the clock. */
	if (state == 0)
		state = ((uint32_t)clock_ms() ^ (uint32_t)getpid() << 16) | 1;
	state ^= state << 13;
	state ^= state >> 17;
	state ^= state << 5;
	return state;
}

/*
 * fork() failed for svc (EAGAIN: RLIMIT_NPROC or the system's process
 * table; ENOMEM): the workers it has go on serving, and the next try waits,
 * longer for each failure in a row, so a shortage that lasts costs a log
 * line every FORK_BACKOFF_MAX_MS, not a busy loop.
 */
static void
fork_failed(size_t svc, long long now)
{
	struct pool *p = &m->pools[svc];
	long long delay = FORK_BACKOFF_MIN_MS;
	int err = errno;

	p->fork_failures++;
	for (int i = 1; i < p->fork_failures && delay < FORK_BACKOFF_MAX_MS;
	     i++)
		delay *= 2;
	if (delay > FORK_BACKOFF_MAX_MS)
		delay = FORK_BACKOFF_MAX_MS;
	p->next_spawn = now + delay;
	errno = err;
	log_error("service %s: fork (%d in a row; retrying in %.2fs)",
	    m->conf->services[svc].name, p->fork_failures,
	    (double)delay / 1000);
}

static void
fork_works(size_t svc)
{
	struct pool *p = &m->pools[svc];

	if (p->fork_failures == 0)
		return;
	log_notice("service %s: fork works again after %d failures",
	    m->conf->services[svc].name, p->fork_failures);
	p->fork_failures = 0;
}

static void
spawn(size_t svc, long long now)
{
	const struct service *s = &m->conf->services[svc];
	unsigned long quota = limit_quota(
	    (unsigned long)s->max_requests, jitter_random());
	pid_t master = getpid();
	/* What the worker is handed, copied out of *m, which it has not. */
	struct config *conf = m->conf;
	struct listener_set *listeners = m->listeners;
	struct worker_ids ids = m->ids;
	unsigned generation = m->generation;
	struct worker *w;
	pid_t pid;
	int slot;

	if ((slot = scoreboard_claim(svc, s->name, m->generation)) == -1) {
		log_errorx("service %s: every scoreboard slot is taken "
		           "(max_slots = %u); retrying in %d ms",
		    s->name, scoreboard_get()->head->nslots, FORK_RETRY_MS);
		m->pools[svc].next_spawn = now + FORK_RETRY_MS;
		return;
	}
	if ((pid = fork()) == -1) {
		fork_failed(svc, now);
		scoreboard_release(slot);
		return;
	}
	if (pid == 0)
		worker_main(conf, svc, listeners, &ids, master, generation, slot,
		    quota);
	fork_works(svc);
	scoreboard_set_pid(slot, pid);
	/* A worker holds a slot, so the table, sized by the slots, has
	 * room. */
	w = &m->workers[m->nworkers++];
	memset(w, 0, sizeof(*w));
	w->pid = pid;
	w->service = svc;
	snprintf(w->name, sizeof(w->name), "%s", s->name);
	w->generation = m->generation;
	w->started = now;
	w->stage = RUNNING;
	w->slot = slot;
	w->timeout = (long long)s->worker_timeout * 1000;
	if (w->timeout > 0)
		watch_until(now + w->timeout); /* should it never start */
	w->quota = quota;
	log_info("spawned worker %ld for service %s (generation %u)", (long)pid,
	    s->name, m->generation);
}

/* The live workers of svc of the current generation, by their slots. */
static void
count_pool(size_t svc, struct pool_counts *c)
{
	const struct scoreboard *sb = scoreboard_get();
	struct scoreboard_slot slot;

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < m->nworkers; i++) {
		const struct worker *w = &m->workers[i];
		if (w->generation != m->generation || w->service != svc ||
		    w->stage != RUNNING)
			continue;
		scoreboard_read_slot(sb, (unsigned)w->slot, &slot);
		if (slot.state == SB_STARTING)
			c->starting++;
		else if (slot.state == SB_IDLE)
			c->idle++;
		else
			c->busy++;
	}
}

/* Clients waiting in the accept queues of svc's TCP listeners (only those
 * that refuse new connections, if refusing_only). */
static unsigned
queued_clients(const struct service *s, bool refusing_only)
{
	unsigned n = 0;

	for (size_t i = 0; i < m->listeners->count; i++) {
		const struct listener *l = &m->listeners->items[i];
		if (refusing_only && !l->refusing)
			continue;
		for (size_t a = 0; a < s->naddrs; a++)
			if (addr_equal(&l->addr, &s->addrs[a]))
				n += listener_queued(l);
	}
	return n;
}

/* Retire n workers of svc, idle ones first. */
static void
retire_some(size_t svc, unsigned n, long long now)
{
	const struct scoreboard *sb = scoreboard_get();
	struct scoreboard_slot slot;

	for (int pass = 0; pass < 2 && n > 0; pass++)
		for (size_t i = 0; i < m->nworkers && n > 0; i++) {
			struct worker *w = &m->workers[i];
			if (w->generation != m->generation ||
			    w->service != svc || w->stage != RUNNING)
				continue;
			scoreboard_read_slot(sb, (unsigned)w->slot, &slot);
			if (pass == 0 && slot.state != SB_IDLE)
				continue;
			log_info("service %s: retiring worker %ld (%s)",
			    w->name, (long)w->pid,
			    scoreboard_state_name(
			        (enum scoreboard_state)slot.state));
			retire(w, now);
			n--;
		}
}

/*
 * max_requests: retire the idle workers of svc that have served their
 * quota, which the pool then replaces at once -- but only while fewer
 * than limit_recycle_max of the pool are on their way out or still
 * starting, so it never loses more than that many at a time.  Idle ones
 * only: a client of a worker told to quit has shutdown_timeout to finish,
 * and a long one would be cut.  A worker that must wait keeps serving; the
 * next look (its poke after each connection, a reap, or next_recycle's
 * timer, since nothing may tell a fixed pool's master that the workers on
 * their way in are ready) lets it go.
 */
static void
recycle_due(size_t svc, long long now)
{
	const struct service *s = &m->conf->services[svc];
	const struct scoreboard *sb = scoreboard_get();
	unsigned out = 0;
	unsigned max = limit_recycle_max((unsigned)running_workers(svc));
	struct scoreboard_slot slot;

	if (s->max_requests == 0)
		return;
	for (size_t i = 0; i < m->nworkers; i++) {
		const struct worker *w = &m->workers[i];
		if (w->generation != m->generation || w->service != svc)
			continue;
		scoreboard_read_slot(sb, (unsigned)w->slot, &slot);
		out += w->recycling ||
		       (w->stage == RUNNING && slot.state == SB_STARTING);
	}
	m->pools[svc].next_recycle = 0;
	for (size_t i = 0; i < m->nworkers; i++) {
		struct worker *w = &m->workers[i];
		if (w->generation != m->generation || w->service != svc ||
		    w->stage != RUNNING || w->quota == 0)
			continue;
		scoreboard_read_slot(sb, (unsigned)w->slot, &slot);
		if (slot.connections < w->quota || slot.state != SB_IDLE)
			continue;
		if (out >= max) {
			/* Its turn comes when one of those out is ready. */
			m->pools[svc].next_recycle = now + RECYCLE_RETRY_MS;
			break;
		}
		log_info("service %s: recycling worker %ld after %llu "
		         "connections (max_requests %d)",
		    w->name, (long)w->pid, (unsigned long long)slot.connections,
		    s->max_requests);
		w->recycling = true;
		retire(w, now);
		out++;
	}
}

/* Ask the pool's policy about svc and do what it says. */
static void
adjust_pool(size_t svc, long long now)
{
	const struct service *s = &m->conf->services[svc];
	struct pool *p = &m->pools[svc];
	struct pool_limits limits = { p->target, (unsigned)s->min_spare,
		(unsigned)s->max_spare, (unsigned)s->max_workers };
	struct pool_counts c;
	struct pool_decision d;

	count_pool(svc, &c);
	pool_decide(&c, &limits, &p->policy, now, &d);
	p->next_check = d.next;
	if (d.add > 0 && c.starting + c.idle + c.busy >= p->target)
		log_info("service %s: %u idle, %u busy: forking %u more",
		    s->name, c.idle, c.busy, d.add);
	for (unsigned i = 0; i < d.add && !p->disabled && now >= p->next_spawn;
	     i++)
		spawn(svc, now);
	if (d.retire > 0)
		retire_some(svc, d.retire, now);
	if (d.saturated)
		log_warnx("service %s reached max_workers (%d); %u clients "
		          "waiting in the queue",
		    s->name, s->max_workers, queued_clients(s, false));
	/* A fixed pool that can fill up, and is not full yet, wants to hear
	 * of it: it has no timer of its own then. */
	scoreboard_set_wake_when_full(svc,
	    s->min_spare == 0 && s->max_spare == 0 && !p->policy.saturated &&
	        p->target >= (unsigned)s->max_workers);
}

static void
spawn_missing(long long now)
{
	if (m->stopping)
		return;
	for (size_t svc = 0; svc < m->conf->nservices; svc++) {
		recycle_due(svc, now);
		adjust_pool(svc, now);
	}
}

/* Pools start at the configured size. */
static void
init_pools(struct pool *pools, const struct config *conf)
{
	for (size_t i = 0; i < conf->nservices; i++)
		pools[i].target = (unsigned)conf->services[i].workers;
}

/* SIGTTIN, SIGTTOU: every service one worker more, or one fewer, within
 * 1 and max_workers. */
static void
resize(int signo, int delta)
{
	if (m->stopping)
		return;
	for (size_t svc = 0; svc < m->conf->nservices; svc++) {
		const struct service *s = &m->conf->services[svc];
		struct pool *p = &m->pools[svc];
		if (delta > 0 && p->target >= (unsigned)s->max_workers) {
			log_notice("received %s: service %s stays at "
			           "max_workers (%d)",
			    signame(signo), s->name, s->max_workers);
			continue;
		}
		if (delta < 0 && p->target <= 1) {
			log_notice("received %s: service %s stays at 1 worker",
			    signame(signo), s->name);
			continue;
		}
		p->target = (unsigned)((int)p->target + delta);
		log_notice("received %s: service %s now has %u worker(s) at "
		           "least",
		    signame(signo), s->name, p->target);
	}
}

/*
 * Retire the workers of older generations once every pool of the current
 * one is complete: new workers first, so a listener is never left unserved,
 * not even when a fork for the new generation failed.
 */
static void
retire_old_generation(long long now)
{
	for (size_t svc = 0; svc < m->conf->nservices; svc++)
		if (!m->pools[svc].disabled &&
		    running_workers(svc) < m->pools[svc].target)
			return;
	for (size_t i = 0; i < m->nworkers; i++)
		if (m->workers[i].generation < m->generation &&
		    m->workers[i].stage == RUNNING)
			retire(&m->workers[i], now);
}

static void
describe_exit(const struct worker *w, int status)
{
	/* waitpid without WUNTRACED: a child either exited or was killed. */
	if (!WIFEXITED(status))
		log_notice("worker %ld (service %s) killed by signal %s",
		    (long)w->pid, w->name, signame(WTERMSIG(status)));
	else if (WEXITSTATUS(status) == WORKER_EXIT_OK)
		log_info(
		    "worker %ld (service %s) exited", (long)w->pid, w->name);
	else
		log_notice("worker %ld (service %s) exited with status %d",
		    (long)w->pid, w->name, WEXITSTATUS(status));
}

/*
 * Did the worker fail by itself -- a crash, or WORKER_EXIT_SICK -- rather
 * than exit or get killed from outside (SIGKILL, SIGTERM)?  Only such a
 * failure says that a replacement may fail the same way.
 */
static bool
failed_by_itself(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status) == WORKER_EXIT_SICK;
	switch (WTERMSIG(status)) {
	case SIGSEGV:
	case SIGBUS:
	case SIGILL:
	case SIGFPE:
	case SIGABRT:
	case SIGSYS:
	case SIGTRAP:
	case SIGXCPU:
	case SIGXFSZ:
		return true;
	default:
		return false;
	}
}

/*
 * A worker of the current generation died unasked: plan its replacement.
 * At once, unless it failed by itself right after it started: then back off,
 * doubling -- but an empty pool serves nobody, so it never waits longer
 * than EMPTY_POOL_MAX_MS for its first worker.
 */
static void
plan_respawn(const struct worker *w, int status, long long now)
{
	struct pool *p = &m->pools[w->service];
	long long lived = now - w->started;
	long long delay;

	if (WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_FATAL) {
		p->disabled = true;
		log_errorx("service %s: worker cannot run with this "
		           "configuration; not respawning until reload",
		    w->name);
		return;
	}
	if (!failed_by_itself(status) || lived >= LIVED_LONG_MS) {
		p->quick_deaths = 0;
		return;
	}
	p->quick_deaths++;
	delay = BACKOFF_MIN_MS;
	for (int i = 1; i < p->quick_deaths && delay < BACKOFF_MAX_MS; i++)
		delay *= 2;
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	if (running_workers(w->service) == 0 && delay > EMPTY_POOL_MAX_MS)
		delay = EMPTY_POOL_MAX_MS;
	if (now + delay > p->next_spawn)
		p->next_spawn = now + delay;
	log_warnx("service %s: worker died %.3fs after start (%d in a row); "
	          "next spawn in %.1fs",
	    w->name, (double)lived / 1000, p->quick_deaths,
	    (double)delay / 1000);
}

static void
reap(long long now)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		size_t i;
		for (i = 0; i < m->nworkers && m->workers[i].pid != pid; i++)
			;
		if (i == m->nworkers)
			continue; /* not ours: nothing to do */
		struct worker w = m->workers[i];
		m->workers[i] = m->workers[--m->nworkers];
		scoreboard_release(w.slot);
		describe_exit(&w, status);
		if (w.stage == RUNNING && w.generation == m->generation &&
		    !m->stopping)
			plan_respawn(&w, status, now);
	}
}

/* Tell the service manager the state, with what the pools hold now. */
static void
tell_manager(enum notify_state state, const char *what)
{
	char status[160];
	size_t workers = 0;

	for (size_t svc = 0; svc < m->conf->nservices; svc++)
		workers += running_workers(svc);
	snprintf(status, sizeof(status),
	    "%sgeneration %u, %zu worker(s) in %zu service(s)", what,
	    m->generation, workers, m->conf->nservices);
	notify_send(state, status);
}

static void
stop_all(int signo, long long now)
{
	log_notice("received %s: stopping now", signame(signo));
	tell_manager(NOTIFY_STOPPING, "stopping now: ");
	m->stopping = true;
	m->draining_since = -1;
	listener_close_all(m->listeners);
	for (size_t i = 0; i < m->nworkers; i++)
		if (m->workers[i].stage == RUNNING ||
		    m->workers[i].stage == QUITTING)
			terminate(&m->workers[i], now);
}

/*
 * A graceful stop in two steps.  First the listening sockets refuse new
 * connections but stay open (listener_refuse_new), and the workers go on
 * as before, taking the clients still queued: closing a socket would reset
 * them.  Then, once the queues are empty and DRAIN_SETTLE_MS have passed
 * (or shutdown_timeout has), finish_drain closes the sockets and tells
 * every worker to finish its client and exit.
 */
static void
quit_all(int signo, long long now)
{
	if (m->stopping)
		return;
	/* First: whoever reads the line below finds new clients refused. */
	listener_refuse_new(m->listeners);
	log_notice("received %s: graceful stop, waiting up to %ds for "
	           "clients",
	    signame(signo), m->conf->shutdown_timeout);
	tell_manager(NOTIFY_STOPPING, "graceful stop: ");
	m->stopping = true;
	m->draining_since = now;
}

/* Clients the drain waits to see taken: queued on a socket that refuses
 * new ones, of a service that has a worker left to take them (none is
 * replaced now). */
static unsigned
queued_for_workers(void)
{
	unsigned n = 0;

	for (size_t svc = 0; svc < m->conf->nservices; svc++)
		if (running_workers(svc) > 0)
			n += queued_clients(&m->conf->services[svc], true);
	return n;
}

static void
finish_drain(long long now)
{
	long long since = m->draining_since;
	long long deadline = since + (long long)m->conf->shutdown_timeout * 1000;
	bool timed_out = now >= deadline;
	unsigned left;

	if (since == -1)
		return;
	if (!timed_out &&
	    (now < since + DRAIN_SETTLE_MS || queued_for_workers() > 0))
		return;
	left = listener_queued_refusing(m->listeners);
	if (left > 0)
		log_warnx("graceful stop: %u client(s) still queued %s: "
		          "closing the listening sockets resets them",
		    left,
		    timed_out ? "after shutdown_timeout"
		              : "with no worker to take them");
	else
		log_info("graceful stop: no client queued after %lld ms: "
		         "closing the listening sockets",
		    now - since);
	listener_close_all(m->listeners);
	m->draining_since = -1;
	for (size_t i = 0; i < m->nworkers; i++) {
		struct worker *w = &m->workers[i];
		if (w->stage != RUNNING)
			continue;
		/* Past the deadline, SIGQUIT would at once be followed by
		 * SIGTERM, and a warning for each worker. */
		if (timed_out)
			terminate(w, now);
		else
			retire(w, since);
	}
}

/* Whether two optional paths name the same thing. */
static bool
same_path(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* Apply the log settings of next, keeping the old ones if they fail.  The
 * new generation's workers inherit what is open once this is done. */
static void
reload_log(const struct config *next)
{
	const char *where = log_where(next->log, m->foreground);

	/* Compared with where lines go now, so a syslog that could not be
	 * reached at start is tried again. */
	if (strcmp(where, log_target()) == 0)
		log_set_level((enum log_level)next->log_level);
	else if (log_open(where, (enum log_level)next->log_level) == -1)
		log_warnx("reload: log %s (keeping the current log): %s", where,
		    log_open_error(errno));
	if (!same_path(next->access_log, log_access_target()) &&
	    log_access_open(next->access_log) == -1)
		log_warnx("reload: access_log %s (keeping the current one): %s",
		    next->access_log, log_open_error(errno));
}

/* Resolve the workers' user of next into ids; -1 after logging. */
static int
reload_ids(const struct config *next, struct worker_ids *ids)
{
	*ids = m->ids;
	if (getuid() != 0)
		return 0;
	ids->change = true;
	return daemon_lookup_ids(
	    next->user != NULL ? next->user : DAEMON_DEFAULT_USER, next->group,
	    &ids->uid, &ids->gid);
}

/* The services of the current generation, for -s status and the pool. */
static void
publish_services(void)
{
	size_t n = m->conf->nservices;
	struct scoreboard_service *t = calloc(n, sizeof(*t));

	if (t == NULL) {
		log_error(
		    "scoreboard: services of generation %u", m->generation);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct service *s = &m->conf->services[i];
		snprintf(t[i].name, sizeof(t[i].name), "%s", s->name);
		t[i].workers = (uint32_t)s->workers;
		t[i].max_workers = (uint32_t)s->max_workers;
	}
	scoreboard_set_services(t, n, m->generation);
	free(t);
}

/* Room in the scoreboard for next's pools beside every worker that still
 * holds a slot (the old generation keeps its own until it exits); -1
 * after logging. */
static int
reload_slots(const struct config *next)
{
	unsigned nslots = scoreboard_get()->head->nslots;
	unsigned need = config_slots_needed(next);

	if (next->max_slots != nslots)
		log_warnx("reload: max_slots = %u takes effect at restart "
		          "(the scoreboard has %u slots)",
		    next->max_slots, nslots);
	if (need + m->nworkers > nslots) {
		log_errorx("reload: the new generation needs %u worker slots "
		           "and %zu are held by running workers, but the "
		           "scoreboard has %u (max_slots, fixed at start)",
		    need, m->nworkers, nslots);
		return -1;
	}
	return 0;
}

static void
reload_failed(void)
{
	log_errorx("reload failed: still running generation %u", m->generation);
	scoreboard_reload_done(false, log_error_first());
	tell_manager(NOTIFY_READY, "reload failed: ");
}

static void
reload(int signo, long long now)
{
	struct worker_ids ids;
	struct config *next, *old;
	struct pool *pools;

	if (m->stopping)
		return;
	log_notice("received %s: reloading %s", signame(signo), m->conf->path);
	tell_manager(NOTIFY_RELOADING, "reloading: ");
	log_error_mark();
	next = config_load(m->conf->path);
	if (next == NULL || reload_ids(next, &ids) == -1 ||
	    reload_slots(next) == -1 ||
	    daemon_files_limit(config_addresses(next)) == -1 ||
	    (pools = calloc(next->nservices, sizeof(*pools))) == NULL) {
		config_free(next);
		reload_failed();
		return;
	}
	if (listener_apply(m->listeners, next) == -1) {
		free(pools);
		config_free(next);
		reload_failed();
		return;
	}
	if (strcmp(next->pidfile, m->conf->pidfile) != 0)
		log_warnx("reload: a new pidfile takes effect at restart");
	reload_log(next);
	old = m->conf;
	m->conf = next;
	m->ids = ids;
	free(m->pools);
	m->pools = pools;
	m->generation++;
	init_pools(m->pools, m->conf);
	/* Before the new workers fork: they must not accept a client on a
	 * socket that still has the old options. */
	listener_commit(m->listeners);
	publish_services();
	spawn_missing(now);
	retire_old_generation(now);
	config_free(old);
	log_notice("reloaded %s: generation %u, %zu service(s)", m->conf->path,
	    m->generation, m->conf->nservices);
	log_error_first();
	scoreboard_reload_done(true, "");
	tell_manager(NOTIFY_READY, "");
}

/* Reopen one log file: true when there is a new file to turn over to. */
static bool
reopen_file(const char *key, const char *path, int (*reopen_fn)(void))
{
	int rc = reopen_fn();

	if (rc == -1)
		log_errorx("reopen %s %s: %s; still writing to the file "
		           "already open",
		    key, path, log_open_error(errno));
	return rc == 1;
}

/*
 * SIGUSR1.  Workers cannot open the log files -- they are root's, and a
 * worker that could open a path could be tricked into another -- so they
 * get the new descriptors the way they got the first ones, by fork(): the
 * master reopens the files and turns the pools over to a new generation
 * as a reload does, new workers first, then the old ones finish their
 * client (an idle one at once) and exit.  Nothing is lost: a busy old
 * worker writes its last access line to the file it has, the rotated one.
 * No channel to each worker, no code in the worker: the price is one
 * fork() per worker per rotation, and room in the scoreboard for both
 * generations for that long, as a reload needs.
 */
static void
reopen(int signo, long long now)
{
	bool reopened;

	log_notice("received %s: reopening the log", signame(signo));
	reopened = reopen_file("log", log_target(), log_reopen);
	reopened |=
	    reopen_file("access_log", log_access_target(), log_access_reopen);
	if (!reopened || m->stopping)
		return;
	if (config_slots_needed(m->conf) + m->nworkers >
	    scoreboard_get()->head->nslots) {
		log_errorx("reopen: no room in the scoreboard (max_slots = %u) "
		           "for a new generation beside %zu running workers: "
		           "they keep writing to the old file",
		    scoreboard_get()->head->nslots, m->nworkers);
		return;
	}
	m->generation++;
	publish_services();
	log_notice("log reopened: generation %u takes over from the "
	           "workers that hold the old file",
	    m->generation);
	spawn_missing(now);
	retire_old_generation(now);
}

/* How long the loop may sleep: until the next deadline, or for ever. */
static struct timespec *
sleep_time(struct timespec *ts, long long now)
{
	long long next = m->watch_next;

	if (m->draining_since != -1 &&
	    (next == -1 || now + DRAIN_POLL_MS < next))
		next = now + DRAIN_POLL_MS;

	for (size_t i = 0; i < m->nworkers; i++) {
		const struct worker *w = &m->workers[i];
		if ((w->stage == QUITTING || w->stage == TERMINATING) &&
		    (next == -1 || w->deadline < next))
			next = w->deadline;
	}
	for (size_t svc = 0; !m->stopping && svc < m->conf->nservices; svc++) {
		const struct pool *p = &m->pools[svc];
		if (!p->disabled && running_workers(svc) < p->target &&
		    (next == -1 || p->next_spawn < next))
			next = p->next_spawn;
		if (p->next_check != POOL_NEVER &&
		    (next == -1 || p->next_check < next))
			next = p->next_check;
		if (p->next_recycle != 0 &&
		    (next == -1 || p->next_recycle < next))
			next = p->next_recycle;
	}
	if (next == -1)
		return NULL;
	next = next > now ? next - now : 0;
	ts->tv_sec = next / 1000;
	ts->tv_nsec = (next % 1000) * 1000000;
	return ts;
}

static void
act_on_requests(void)
{
	int signo;

	if (take(ACT_REAP))
		reap(clock_ms());
	if ((signo = take(ACT_STOP)) != 0)
		stop_all(signo, clock_ms());
	if ((signo = take(ACT_QUIT)) != 0)
		quit_all(signo, clock_ms());
	if ((signo = take(ACT_RELOAD)) != 0)
		reload(signo, clock_ms());
	if ((signo = take(ACT_REOPEN)) != 0)
		reopen(signo, clock_ms());
	if ((signo = take(ACT_GROW)) != 0)
		resize(signo, 1);
	if ((signo = take(ACT_SHRINK)) != 0)
		resize(signo, -1);
}

int
master_run(struct config *conf, struct listener_set *listeners,
    const struct worker_ids *ids, bool foreground)
{
	sigset_t none;

	master_state_alloc();
	m->conf = conf;
	m->listeners = listeners;
	m->ids = *ids;
	m->foreground = foreground;
	m->generation = 1;
	m->draining_since = -1;
	if ((m->pools = calloc(conf->nservices, sizeof(*m->pools))) == NULL)
		fatal(EXIT_RESOURCE, "master: pools for %zu services",
		    conf->nservices);
	alloc_worker_table(scoreboard_get()->head->nslots);
	init_pools(m->pools, conf);
	sigemptyset(&none);
	/* Let go of the terminal first: workers must not inherit it. */
	if (!foreground)
		daemon_ready(strcmp(log_target(), "stderr") == 0 &&
		    daemon_stderr_is_file());
	publish_services();
	spawn_missing(clock_ms());
	log_notice(
	    "started: %zu service(s), config %s", conf->nservices, conf->path);
	tell_manager(NOTIFY_READY, "");
	while (!m->stopping || m->nworkers > 0) {
		/* Workers of a dynamic pool poke this when they go busy or
		 * idle, and any worker when it has served max_requests: the
		 * pool reacts within a loop's turn.  (The debug line says
		 * "dynamic pool" for both.) */
		struct pollfd poke = { .fd = scoreboard_poke_fd(),
			.events = POLLIN };
		struct timespec ts;
		long long now = clock_ms();

		finish_drain(now);
		escalate_overdue(now);
		kill_stuck(now);
		spawn_missing(now);
		retire_old_generation(now);
		if (ppoll(&poke, 1, sleep_time(&ts, clock_ms()), &none) == -1 &&
		    errno != EINTR)
			log_warn("ppoll");
		if (poke.revents != 0) {
			scoreboard_drain_pokes();
			log_debug("woken by a worker");
		}
		act_on_requests();
	}
	log_notice("stopped");
	/* Before the pidfile's lock goes: a new master may then take the
	 * path at once. */
	scoreboard_remove();
	daemon_pidfile_remove();
	listener_close_all(m->listeners);
	unforked_free(m->workers, m->workers_room * sizeof(*m->workers));
	free(m->pools);
	config_free(m->conf);
	unforked_free(m, sizeof(*m));
	m = NULL;
	return 0;
}
