/*
 * The pool's policy, after Apache's prefork MPM: keep between min_spare
 * and max_spare workers idle, within workers and max_workers.  Growth
 * reacts at once to the master's wake-up, and adds 1, 2, 4 ... workers per
 * step while the pool stays short (a burst is met in a few steps without
 * forking a crowd for one client); shrinking is slow, one idle worker per
 * POOL_RETIRE_MS, so a pool does not flap between two bursts.  With both
 * spare counts 0 the pool is fixed: exactly `workers`.
 *
 * Nothing here knows a process or a socket: the master counts, asks and
 * acts, and the unit tests ask the same questions with made-up counts.
 */
#include "pool.h"

static unsigned
min_u(unsigned a, unsigned b)
{
	return a < b ? a : b;
}

/* Growth: back to the floor at once, then towards min_spare idle. */
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
	if (l->min_spare == 0 || spare + out->add >= l->min_spare) {
		st->rate = 1;
		return;
	}
	short_by = l->min_spare - spare - out->add;
	room -= out->add;
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
