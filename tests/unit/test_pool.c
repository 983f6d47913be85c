/* pool_decide: the pool's policy, with made-up counts and clock. */
#include <string.h>

#include "pool.h"
#include "unit.h"

static struct pool_decision
ask(unsigned starting, unsigned idle, unsigned busy,
    const struct pool_limits *l, struct pool_state *st, long long now)
{
	struct pool_counts c = { starting, idle, busy };
	struct pool_decision d;

	pool_decide(&c, l, st, now, &d);
	return d;
}

static void
fixed_pool(void)
{
	struct pool_limits l = { 4, 0, 0, 4 };
	struct pool_state st = { 0 };

	CHECK(ask(0, 0, 0, &l, &st, 0).add == 4, "fixed: starts its workers");
	CHECK(ask(0, 2, 1, &l, &st, 0).add == 1, "fixed: replaces a dead one");
	CHECK(
	    ask(0, 0, 4, &l, &st, 0).add == 0, "fixed: never grows when busy");
	CHECK(ask(0, 5, 0, &l, &st, 0).retire == 1,
	    "fixed: back to its size after SIGTTOU");
	CHECK(ask(0, 4, 0, &l, &st, 0).retire == 0, "fixed: idle is fine");
	memset(&st, 0, sizeof(st));
	CHECK(ask(0, 3, 1, &l, &st, 0).next == POOL_NEVER,
	    "fixed and not full: no timer");
	CHECK(ask(0, 0, 4, &l, &st, 10).next == 10 + POOL_CHECK_MS,
	    "fixed and full: looks once a second for the burst's end");
	CHECK(ask(0, 1, 3, &l, &st, 20).next == 20 + POOL_CHECK_MS,
	    "a worker idle again: looks when the calm second is up");
	CHECK(ask(0, 1, 3, &l, &st, 20 + POOL_CHECK_MS).next == POOL_NEVER,
	    "after a calm second, no timer again");
}

static void
growth(void)
{
	struct pool_limits l = { 2, 2, 4, 64 };
	struct pool_state st = { 0 };
	struct pool_decision d;

	d = ask(0, 1, 1, &l, &st, 1000);
	CHECK(d.add == 1, "one idle of min_spare 2: one more");
	d = ask(0, 0, 2, &l, &st, 1000);
	CHECK(d.add == 1, "a step adds one at first...");
	CHECK(d.next == 1000 + POOL_STEP_MS, "...and looks again soon");
	d = ask(0, 0, 2, &l, &st, 1010);
	CHECK(d.add == 0, "no second step within POOL_STEP_MS");
	/* A burst: 30 busy at once, min_spare 20. */
	l.min_spare = 20;
	memset(&st, 0, sizeof(st));
	unsigned added[5];
	long long now = 0;
	for (int i = 0; i < 5; i++, now += POOL_STEP_MS)
		added[i] = ask(0, 0, 30, &l, &st, now).add;
	CHECK(added[0] == 1 && added[1] == 2 && added[2] == 4 &&
	          added[3] == 8 && added[4] == 16,
	    "still short: each step doubles");
	CHECK(ask(0, 20, 30, &l, &st, now).add == 0, "enough spare: no growth");
	CHECK(st.rate == 1, "and the next burst starts at one again");
	CHECK(ask(3, 0, 30, &l, &st, now + 1000).add == 1,
	    "workers still starting count as spare");
}

static void
limits(void)
{
	struct pool_limits l = { 2, 4, 8, 6 };
	struct pool_state st = { 0 };
	struct pool_decision d;
	unsigned total = 2;

	for (long long now = 0; now < 2000; now += POOL_STEP_MS) {
		d = ask(0, 0, total, &l, &st, now);
		total += d.add;
	}
	CHECK(total == 6, "growth stops at max_workers");
	memset(&st, 0, sizeof(st));
	d = ask(0, 0, 6, &l, &st, 0);
	CHECK(d.saturated, "every worker busy at max_workers: saturated");
	d = ask(0, 0, 6, &l, &st, 10);
	CHECK(!d.saturated, "said once per burst");
	ask(0, 1, 5, &l, &st, 20);
	d = ask(0, 0, 6, &l, &st, 30);
	CHECK(!d.saturated, "one idle moment does not end the burst");
	ask(0, 1, 5, &l, &st, 100);
	ask(0, 1, 5, &l, &st, 100 + POOL_CHECK_MS);
	d = ask(0, 0, 6, &l, &st, 200 + POOL_CHECK_MS);
	CHECK(d.saturated, "after a calm second, a new burst is said again");
	CHECK(!ask(0, 0, 3, &(struct pool_limits){ 2, 4, 8, 8 },
	          &(struct pool_state){ 0 }, 0)
	           .saturated,
	    "busy with room to grow is not saturated");
}

static void
shrinking(void)
{
	struct pool_limits l = { 2, 1, 2, 10 };
	struct pool_state st = { 0 };
	struct pool_decision d;

	d = ask(0, 6, 0, &l, &st, 0);
	CHECK(d.retire == 1, "above max_spare: retire one");
	CHECK(d.next == POOL_RETIRE_MS, "and look again after POOL_RETIRE_MS");
	CHECK(ask(0, 5, 0, &l, &st, 10).retire == 0, "one per POOL_RETIRE_MS");
	CHECK(ask(0, 5, 0, &l, &st, POOL_RETIRE_MS).retire == 1,
	    "then the next one");
	CHECK(ask(0, 2, 0, &l, &st, 10000).retire == 0, "never below workers");
	CHECK(
	    ask(0, 2, 1, &l, &st, 10000).retire == 0, "max_spare idle is fine");
}

void
test_pool(void)
{
	fixed_pool();
	growth();
	limits();
	shrinking();
}
