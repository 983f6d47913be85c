/*
 * The pool's policy, after Apache's prefork MPM: keep between min_spare
 * and max_spare workers idle, within workers and max_workers.  Growth
 * reacts at once to the master's wake-up, and adds 1, 2, 4 ... workers per
 * step while the pool stays short (a burst is met in a few steps without
 * forking a crowd for one client) -- but clients already waiting in the
 * listen queue are no guess: a worker for each of them, and min_spare
 * beside, is forked at once, up to max_workers (issue 21: 64 clients at
 * once, served in one step rather than six); shrinking is slow, one idle worker
 * per POOL_RETIRE_MS, so a pool does not flap between two bursts.  With both
 * spare counts 0 the pool is fixed: exactly `workers`.  SIGTTIN and
 * SIGTTOU move that floor (pool_resize), past max_workers too, within
 * what the scoreboard can spare; a service on streams and datagrams both
 * keeps its datagram-only workers (pool_dgram_workers) as a fixed pool of
 * their own.
 *
 * After failures it backs off on one schedule (pool_backoff), for a fork()
 * that fails and for workers that crash right after start (for a pool of
 * programs, per index: pool_program_pick); a worker that has served
 * max_requests is recycled while few enough are on their way out.  A
 * pool of programs rolls over at a reload: a new program first, an old
 * one retired once the new one has settled, never more than max_surge
 * beyond workers alive (pool_roll_retire, pool_roll_room).
 *
 * Nothing here knows a process or a socket, nor reads the clock: the
 * master counts, asks and acts, and the unit tests ask the same questions
 * with made-up counts and times.
 */
#include <signal.h>
#include <sys/wait.h>

#include "exitcode.h"
#include "limit.h"
#include "pool.h"

static unsigned
min_u(unsigned a, unsigned b)
{
	return a < b ? a : b;
}

/*
 * Growth: back to the floor at once, then towards min_spare idle; with
 * clients queued, towards one spare worker for each of them and min_spare
 * more, at once.
 */
static void
grow(const struct pool_counts *c, const struct pool_limits *l,
    struct pool_state *st, long long now, struct pool_decision *out)
{
	unsigned total = c->starting + c->idle + c->busy;
	unsigned spare = c->starting + c->idle;
	unsigned room = l->max_workers > total ? l->max_workers - total : 0;
	unsigned short_by;

	if (total < l->workers)
		out->add = min_u(l->workers - total, room);
	if (l->min_spare == 0 || spare + out->add >= l->min_spare + c->queued) {
		st->rate = 1;
		return;
	}
	short_by = l->min_spare + c->queued - spare - out->add;
	room -= out->add;
	if (c->queued > 0) {
		/* Clients wait now: no step, no doubling, all at once. */
		out->add += min_u(short_by, room);
		st->rate = 1;
		return;
	}
	if (now < st->next_grow) {
		out->next = st->next_grow;
		return;
	}
	if (st->rate == 0)
		st->rate = 1;
	out->add += min_u(min_u(short_by, st->rate), room);
	if (min_u(short_by, room) > st->rate) {
		/* Still short after this step: a bigger one next time. */
		st->rate = min_u(st->rate * 2, POOL_RATE_MAX);
		st->next_grow = now + POOL_STEP_MS;
		out->next = st->next_grow;
	}
}

/* Shrinking: a fixed pool back to its size at once, spare workers above
 * max_spare one at a time. */
static void
shrink(const struct pool_counts *c, const struct pool_limits *l,
    struct pool_state *st, long long now, struct pool_decision *out)
{
	unsigned total = c->starting + c->idle + c->busy;

	if (l->min_spare == 0 && l->max_spare == 0) {
		if (total > l->workers)
			out->retire = total - l->workers;
		return;
	}
	if (total > l->max_workers) {
		out->retire = total - l->max_workers;
		return;
	}
	if (l->max_spare == 0 || c->idle <= l->max_spare || total <= l->workers)
		return;
	if (now < st->next_shrink) {
		out->next = st->next_shrink;
		return;
	}
	out->retire = 1;
	st->next_shrink = now + POOL_RETIRE_MS;
	out->next = st->next_shrink;
}

/*
 * Every worker busy and no room to grow: said once per burst.  A burst
 * ends when some worker has stayed idle for POOL_CHECK_MS, not at the
 * first idle moment: clients queued behind a full pool keep it flickering
 * between all busy and one idle.
 */
static void
watch_saturation(const struct pool_counts *c, const struct pool_limits *l,
    struct pool_state *st, long long now, struct pool_decision *out)
{
	unsigned total = c->starting + c->idle + c->busy;

	if (c->idle > 0 || c->starting > 0) {
		if (!st->saturated)
			return;
		if (st->calm_since == 0)
			st->calm_since = now;
		if (now - st->calm_since >= POOL_CHECK_MS)
			st->saturated = false;
		else if (out->next > st->calm_since + POOL_CHECK_MS)
			out->next = st->calm_since + POOL_CHECK_MS;
		return;
	}
	st->calm_since = 0;
	if (c->busy > 0 && total >= l->max_workers && !st->saturated) {
		out->saturated = true;
		st->saturated = true;
	}
}

void
pool_decide(const struct pool_counts *c, const struct pool_limits *l,
    struct pool_state *st, long long now, struct pool_decision *out)
{
	out->add = 0;
	out->retire = 0;
	out->saturated = false;
	out->next = now + POOL_CHECK_MS;
	grow(c, l, st, now, out);
	if (out->add == 0)
		shrink(c, l, st, now, out);
	watch_saturation(c, l, st, now, out);
	/* A fixed pool outside a burst has nothing to look at on a timer:
	 * the master learns of a dead worker from SIGCHLD, and of a full
	 * pool from its last idle worker. */
	if (l->min_spare == 0 && l->max_spare == 0 && !st->saturated)
		out->next = POOL_NEVER;
}

long long
pool_backoff(unsigned in_a_row, long long min_ms, long long max_ms)
{
	long long delay = min_ms;

	if (in_a_row == 0)
		return 0;
	for (unsigned i = 1; i < in_a_row && delay < max_ms; i++)
		delay *= 2;
	return delay < max_ms ? delay : max_ms;
}

bool
pool_failed_by_itself(int status)
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
 * At once, unless the worker failed by itself right after it started: then
 * back off -- but an empty pool serves nobody, so it never waits longer
 * than POOL_EMPTY_MAX_MS for its first worker.
 */
struct pool_death
pool_after_death(
    int status, long long lived, unsigned running, unsigned *quick_deaths)
{
	struct pool_death d = { POOL_RESPAWN_NOW, 0 };

	if (WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_FATAL) {
		d.respawn = POOL_RESPAWN_NEVER;
		return d;
	}
	if (!pool_failed_by_itself(status) || lived >= POOL_LIVED_LONG_MS) {
		*quick_deaths = 0;
		return d;
	}
	(*quick_deaths)++;
	d.respawn = POOL_RESPAWN_LATER;
	d.delay = pool_backoff(*quick_deaths, POOL_CRASH_BACKOFF_MIN_MS,
	    POOL_CRASH_BACKOFF_MAX_MS);
	if (running == 0 && d.delay > POOL_EMPTY_MAX_MS)
		d.delay = POOL_EMPTY_MAX_MS;
	return d;
}

long long
pool_program_backoff(unsigned n, unsigned random)
{
	long long delay = pool_backoff(
	    n, POOL_CRASH_BACKOFF_MIN_MS, POOL_CRASH_BACKOFF_MAX_MS);
	long long spread = delay / 4;

	/* Programs that failed together do not all start again together. */
	delay += (long long)(random % (unsigned)(2 * spread + 1)) - spread;
	return delay < POOL_CRASH_BACKOFF_MAX_MS ? delay
	                                         : POOL_CRASH_BACKOFF_MAX_MS;
}

bool
pool_program_settled(bool ready, long long lived)
{
	return ready && lived >= POOL_LIVED_LONG_MS;
}

long long
pool_program_after_death(
    bool was_ready, long long lived, unsigned random, unsigned *failures)
{
	if (pool_program_settled(was_ready, lived)) {
		*failures = 0;
		return 0;
	}
	if (*failures < UINT_MAX)
		(*failures)++;
	return pool_program_backoff(*failures, random);
}

int
pool_program_pick(const bool *held, const struct pool_slot_backoff *b,
    unsigned n, long long now, long long *next)
{
	*next = POOL_NEVER;
	for (unsigned i = 0; i < n; i++) {
		if (held[i])
			continue;
		if (b[i].next <= now)
			return (int)i;
		if (b[i].next < *next)
			*next = b[i].next;
	}
	return -1;
}

unsigned
pool_roll_retire(unsigned settled, unsigned old, unsigned target)
{
	if (old == 0 || settled + old <= target)
		return 0;
	return min_u(old, settled + old - target);
}

unsigned
pool_roll_room(unsigned live, unsigned target, unsigned surge)
{
	unsigned most = target + surge;

	return live < most ? most - live : 0;
}

bool
pool_recycle_due(unsigned long served, unsigned long quota, bool idle)
{
	return quota != 0 && served >= quota && idle;
}

/*
 * Idle ones only are due: a client of a worker told to quit has
 * shutdown_timeout to finish, and a long one would be cut.  A worker that
 * must wait keeps serving until a later look lets it go.
 */
unsigned
pool_recycle(unsigned running, unsigned out, unsigned due, long long now,
    long long *next)
{
	unsigned max = limit_recycle_max(running);
	unsigned now_n = out < max ? min_u(due, max - out) : 0;

	*next = due > now_n ? now + POOL_RECYCLE_RETRY_MS : 0;
	return now_n;
}

unsigned
pool_ceiling(unsigned target, unsigned max_workers)
{
	return target > max_workers ? target : max_workers;
}

enum pool_resize_result
pool_resize(unsigned *target, int delta, unsigned max_workers, unsigned room)
{
	if (delta < 0) {
		if (*target <= 1)
			return POOL_AT_ONE;
		(*target)--;
		return POOL_RESIZED;
	}
	/* Past max_workers, each worker more is a slot more at the
	 * pool's largest. */
	if (*target >= max_workers && room == 0)
		return POOL_NO_ROOM;
	(*target)++;
	return POOL_RESIZED;
}

unsigned
pool_dgram_workers(unsigned udp_workers, bool has_streams, bool has_datagrams)
{
	return has_streams && has_datagrams ? udp_workers : 0;
}
