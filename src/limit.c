/*
 * Limits as arithmetic.  conn.c keeps a connection's deadlines (idle,
 * send, max_session, the min_rate window) and asks here which socket
 * timeout makes a blocking call return by the nearest one; the master asks
 * how many connections a worker serves and how many workers may recycle at
 * once; log lines and UDP answers are counted against rate budgets.
 * Nothing here makes a system call.
 */
#include <string.h>

#include "limit.h"

long long
limit_earlier(long long a, long long b)
{
	return a < b ? a : b;
}

/*
 * A timeout set to the whole time left would be late by as long as it
 * stays on the socket, so each new call would have to set it again.  Half
 * the time left (once more than twice the slack is left) stays good for
 * the calls of the next half, and a call that blocks that long wakes up
 * early, once per halving, and is given the next half: a few setsockopt()
 * per deadline instead of one per call or per second.
 */
long long
limit_timeout(long long now, long long deadline, long long value)
{
	long long left;

	if (deadline == LIMIT_NEVER)
		return value == 0 ? -1 : 0;
	left = deadline - now;
	if (value > 0 && now + value <= deadline + LIMIT_SLACK_MS &&
	    value >= left / 2)
		return -1;
	if (left > 2 * LIMIT_SLACK_MS)
		return left / 2;
	/* Never 0: to SO_RCVTIMEO and SO_SNDTIMEO that means "for ever". */
	return left > 0 ? left : 1;
}

bool
limit_rate_ok(
    unsigned long long moved, unsigned long long min_rate, long long window_ms)
{
	if (min_rate == 0 || window_ms <= 0)
		return true;
	return moved * 1000 >= min_rate * (unsigned long long)window_ms;
}

unsigned long
limit_quota(unsigned long max_requests, uint32_t random)
{
	/* Spread over a pool started together, so it does not recycle
	 * together. */
	return max_requests + random % (max_requests / 8 + 1);
}

unsigned
limit_recycle_max(unsigned size)
{
	return size > 8 ? (size + 7) / 8 : 1;
}

/* A new period begins once the last one is over (or the clock went back,
 * which the monotonic one does not). */
static void
rate_roll(struct rate_budget *b, long long now)
{
	if (b->start != 0 && now >= b->start &&
	    now - b->start < LIMIT_RATE_PERIOD_MS)
		return;
	b->start = now;
	b->used = 0;
	b->cut = false;
}

enum rate_verdict
limit_rate_take(struct rate_budget *b, unsigned long long limit, long long now,
    unsigned long long cost)
{
	bool first;

	if (limit == 0)
		return RATE_TAKE;
	rate_roll(b, now);
	if (b->used < limit) {
		b->used += cost;
		return RATE_TAKE;
	}
	if (b->dropped == 0)
		b->dropped_since = now;
	b->dropped++;
	b->dropped_units += cost;
	first = !b->cut;
	b->cut = true;
	return first ? RATE_CUT : RATE_DROP;
}

bool
limit_rate_report(struct rate_budget *b, long long now, struct rate_tally *t)
{
	long long span;

	if (b->dropped == 0)
		return false;
	span = now - b->dropped_since;
	t->items = b->dropped;
	t->units = b->dropped_units;
	/* Whole seconds, at least one: "in the last 2 s". */
	t->seconds = span <= 0 ? 1 : (span + 999) / 1000;
	b->dropped = b->dropped_units = 0;
	return true;
}

/* FNV-1a over the source's family and bytes, from the seed. */
static uint32_t
source_hash(uint32_t seed, const struct addr_source *s)
{
	uint32_t h = 2166136261u ^ seed;

	h = (h ^ s->family) * 16777619u;
	for (size_t i = 0; i < sizeof(s->bytes); i++)
		h = (h ^ s->bytes[i]) * 16777619u;
	return h ^ (h >> 15);
}

struct rate_budget *
limit_source_budget(struct rate_sources *t, const struct addr_source *s)
{
	size_t sets = LIMIT_SOURCES / LIMIT_SOURCE_WAYS;
	struct rate_source *set, *oldest;

	if (s->family == 0)
		return NULL;
	set = &t->slot[(source_hash(t->seed, s) % sets) * LIMIT_SOURCE_WAYS];
	/* The slot to take when s is new: a free one, else the least
	 * recently seen. */
	oldest = &set[0];
	for (size_t i = 0; i < LIMIT_SOURCE_WAYS; i++) {
		if (addr_source_equal(&set[i].source, s)) {
			set[i].seen = ++t->tick;
			return &set[i].budget;
		}
		if (oldest->source.family != 0 &&
		    (set[i].source.family == 0 || set[i].seen < oldest->seen))
			oldest = &set[i];
	}
	memset(oldest, 0, sizeof(*oldest));
	oldest->source = *s;
	oldest->seen = ++t->tick;
	return &oldest->budget;
}
