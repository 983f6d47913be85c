/* The pool's policy -- sizing, back-off, recycling -- with made-up counts,
 * exit statuses and clock. */
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "exitcode.h"

#include "pool.h"
#include "unit.h"

static struct pool_decision
ask(unsigned starting, unsigned idle, unsigned busy,
    const struct pool_limits *l, struct pool_state *st, long long now)
{
	struct pool_counts c = { starting, idle, busy, 0 };
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

/* The pool of issue 21's burst: workers 4, min_spare 2, max_workers 64. */
static struct pool_decision
ask_queued(unsigned starting, unsigned idle, unsigned busy, unsigned queued,
    struct pool_state *st, long long now)
{
	struct pool_limits l = { 4, 2, 0, 64 };
	struct pool_counts c = { starting, idle, busy, queued };
	struct pool_decision d;

	pool_decide(&c, &l, st, now, &d);
	return d;
}

static void
queued_growth(void)
{
	struct pool_state st = { 0 };
	struct pool_decision d;

	d = ask_queued(0, 0, 4, 10, &st, 1000);
	CHECK(d.add == 12, "10 queued: a worker each and min_spare, at once");
	d = ask_queued(12, 0, 4, 10, &st, 1000);
	CHECK(d.add == 0, "the ones starting count for the queue");
	d = ask_queued(0, 0, 16, 30, &st, 1001);
	CHECK(d.add == 32, "more queued: no POOL_STEP_MS to wait for");
	memset(&st, 0, sizeof(st));
	d = ask_queued(0, 1, 3, 60, &st, 2000);
	CHECK(d.add == 60, "60 queued: up to max_workers in one step");
	d = ask_queued(0, 0, 64, 5, &st, 2000);
	CHECK(d.add == 0 && d.saturated, "at max_workers: none, and said");
	memset(&st, 0, sizeof(st));
	d = ask_queued(0, 1, 3, 0, &st, 3000);
	CHECK(
	    d.add == 1, "nothing queued: one step of the doubling, as before");
	d = ask_queued(0, 0, 4, 2, &st, 3000);
	CHECK(d.add == 4, "a step pending does not hold back queued clients");
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

/* A wait status as waitpid() gives it, without a real child. */
static int
exited(int code)
{
	return W_EXITCODE(code, 0);
}

static int
killed(int signo)
{
	return W_EXITCODE(0, signo);
}

static void
backoff(void)
{
	CHECK(pool_backoff(0, 100, 30000) == 0,
	    "back-off: none before a failure");
	CHECK(pool_backoff(1, 100, 30000) == 100 &&
	          pool_backoff(2, 100, 30000) == 200 &&
	          pool_backoff(4, 100, 30000) == 800,
	    "back-off: the first wait, doubled per failure in a row");
	CHECK(pool_backoff(9, 100, 30000) == 25600 &&
	          pool_backoff(10, 100, 30000) == 30000 &&
	          pool_backoff(4000000000u, 100, 30000) == 30000,
	    "back-off: never past its longest, however many failures");
	CHECK(pool_backoff(6, POOL_FORK_BACKOFF_MIN_MS,
	          POOL_FORK_BACKOFF_MAX_MS) == POOL_FORK_BACKOFF_MAX_MS,
	    "back-off: fork() failures reach 8 s at the sixth in a row");
}

static void
failed_by_itself(void)
{
	CHECK(pool_failed_by_itself(killed(SIGSEGV)) &&
	          pool_failed_by_itself(killed(SIGABRT)) &&
	          pool_failed_by_itself(killed(SIGXCPU)),
	    "a crash is a failure of its own");
	CHECK(pool_failed_by_itself(exited(WORKER_EXIT_SICK)),
	    "exit status SICK is a failure of its own");
	CHECK(!pool_failed_by_itself(killed(SIGKILL)) &&
	          !pool_failed_by_itself(killed(SIGTERM)),
	    "killed from outside is no failure of its own");
	CHECK(!pool_failed_by_itself(exited(WORKER_EXIT_OK)) &&
	          !pool_failed_by_itself(exited(WORKER_EXIT_FATAL)),
	    "a clean exit or FATAL is no crash to back off from");
}

static void
after_death(void)
{
	unsigned quick = 0;
	struct pool_death d;

	d = pool_after_death(killed(SIGSEGV), 10, 3, &quick);
	CHECK(d.respawn == POOL_RESPAWN_LATER &&
	          d.delay == POOL_CRASH_BACKOFF_MIN_MS && quick == 1,
	    "a crash right after start: back off, once");
	d = pool_after_death(killed(SIGSEGV), 10, 3, &quick);
	CHECK(d.delay == 2 * POOL_CRASH_BACKOFF_MIN_MS && quick == 2,
	    "another in a row: twice as long");
	quick = 20;
	d = pool_after_death(killed(SIGSEGV), 10, 3, &quick);
	CHECK(d.delay == POOL_CRASH_BACKOFF_MAX_MS,
	    "many in a row: the longest wait");
	d = pool_after_death(killed(SIGSEGV), 10, 0, &quick);
	CHECK(d.delay == POOL_EMPTY_MAX_MS,
	    "an empty pool waits no longer than a second");
	d = pool_after_death(exited(WORKER_EXIT_FATAL), 10, 3, &quick);
	CHECK(d.respawn == POOL_RESPAWN_NEVER && quick == 22,
	    "FATAL: no respawn, the count kept");
	d = pool_after_death(killed(SIGSEGV), POOL_LIVED_LONG_MS, 3, &quick);
	CHECK(d.respawn == POOL_RESPAWN_NOW && quick == 0,
	    "a crash after a long life: at once, and the count starts over");
	quick = 5;
	d = pool_after_death(killed(SIGKILL), 10, 3, &quick);
	CHECK(d.respawn == POOL_RESPAWN_NOW && quick == 0,
	    "killed from outside right after start: at once");
}

static void
recycling(void)
{
	long long next;

	CHECK(pool_recycle_due(100, 100, true) &&
	          !pool_recycle_due(99, 100, true),
	    "due once it has served its quota");
	CHECK(!pool_recycle_due(100, 100, false),
	    "a busy worker is not due: its client would be cut");
	CHECK(!pool_recycle_due(1000000, 0, true), "quota 0: never due");
	CHECK(pool_recycle(4, 0, 3, 500, &next) == 1 &&
	          next == 500 + POOL_RECYCLE_RETRY_MS,
	    "a pool of 4: one at a time, and the others look again soon");
	CHECK(pool_recycle(4, 1, 3, 500, &next) == 0 &&
	          next == 500 + POOL_RECYCLE_RETRY_MS,
	    "one already out: the due ones wait");
	CHECK(pool_recycle(64, 5, 10, 500, &next) == 3,
	    "a pool of 64: up to one in eight out at once");
	CHECK(pool_recycle(64, 0, 2, 500, &next) == 2 && next == 0,
	    "room for every due one: all go, nothing to wait for");
	CHECK(pool_recycle(64, 0, 0, 500, &next) == 0 && next == 0,
	    "none due: nothing to do");
}

static void
resizing(void)
{
	struct pool_limits l = { 3, 0, 0, 3 };
	struct pool_state st = { 0 };
	unsigned target = 2;

	CHECK(pool_resize(&target, 1, 2, 1) == POOL_RESIZED && target == 3,
	    "TTIN grows a fixed pool past max_workers while there is room");
	CHECK(pool_resize(&target, 1, 2, 0) == POOL_NO_ROOM && target == 3,
	    "TTIN past max_workers with no slot to spare: stays");
	target = 2;
	CHECK(pool_resize(&target, 1, 4, 0) == POOL_RESIZED && target == 3,
	    "TTIN below max_workers: within the reserved slots");
	CHECK(pool_ceiling(5, 3) == 5 && pool_ceiling(2, 3) == 3,
	    "the largest pool: max_workers, or a floor raised past it");
	target = 2;
	CHECK(pool_resize(&target, -1, 2, 0) == POOL_RESIZED && target == 1,
	    "TTOU: one fewer");
	CHECK(pool_resize(&target, -1, 2, 9) == POOL_AT_ONE && target == 1,
	    "TTOU keeps one worker");
	/* The floor raised to 3 with max_workers 2: the pool is fixed at 3. */
	l.max_workers = pool_ceiling(3, 2);
	CHECK(ask(0, 2, 0, &l, &st, 0).add == 1,
	    "a fixed pool raised by TTIN forks to its new floor");
	CHECK(ask(0, 0, 3, &l, &st, 0).saturated,
	    "...and is full at it, not at max_workers");
	CHECK(pool_dgram_workers(1, true, true) == 1 &&
	          pool_dgram_workers(2, true, true) == 2,
	    "streams and datagrams: udp_workers for the datagrams");
	CHECK(pool_dgram_workers(1, false, true) == 0 &&
	          pool_dgram_workers(1, true, false) == 0,
	    "one kind only: every worker serves it");
	CHECK(pool_dgram_workers(0, true, true) == 0,
	    "udp_workers = 0: the stream workers answer datagrams too");
}

/* accept = false: failed starts back off with jitter, never give up. */
static void
program_deaths(void)
{
	unsigned failures = 0;
	long long d, lo = LLONG_MAX, hi = 0;
	bool bounded = true;

	d = pool_program_after_death(true, 5000, 0, &failures);
	CHECK(d == 0 && failures == 0,
	    "programs: one that died after it was ready is replaced at once");
	d = pool_program_after_death(false, 5000, 0, &failures);
	CHECK(failures == 1 && d >= 75 && d <= 125,
	    "programs: one that died before ready is a failed start, ~100 ms");
	d = pool_program_after_death(true, 10, 0, &failures);
	CHECK(failures == 2 && d >= 150 && d <= 250,
	    "programs: ready but dead within a second: a failed start too, "
	    "the wait doubled");
	for (unsigned i = 0; i < 60; i++)
		d = pool_program_after_death(false, 0, i * 7919u, &failures);
	CHECK(failures == 62 && d > 0 && d <= POOL_CRASH_BACKOFF_MAX_MS,
	    "programs: never given up on, the wait capped at 30 s");
	for (unsigned r = 0; r < 1000; r++) {
		long long b = pool_program_backoff(3, r * 2654435761u);
		lo = b < lo ? b : lo;
		hi = b > hi ? b : hi;
		bounded &= b >= 300 && b <= 500;
	}
	CHECK(bounded && hi - lo >= 150,
	    "programs: the back-off is jittered by a quarter either way");
	for (unsigned r = 0; r < 1000; r++)
		bounded &= pool_program_backoff(20, r * 2654435761u) <=
		           POOL_CRASH_BACKOFF_MAX_MS;
	CHECK(bounded, "programs: jitter never goes past the cap");
	d = pool_program_after_death(true, POOL_LIVED_LONG_MS, 1, &failures);
	CHECK(d == 0 && failures == 0,
	    "programs: a start that lasted ends the failures in a row");
}

/* Back-off per index: one that keeps failing holds no other back. */
static void
program_slots(void)
{
	struct pool_slot_backoff b[3] = { { 0, 0 }, { 0, 0 }, { 0, 0 } };
	bool held[3] = { false, false, false };
	long long next;
	unsigned random = 12345;

	CHECK(pool_program_pick(held, b, 3, 0, &next) == 0,
	    "slots: the lowest free index first");
	/* Index 0 fails again and again; 1 and 2 run. */
	for (int i = 0; i < 6; i++)
		b[0].next = 1000 + pool_program_after_death(
		                       false, 10, random, &b[0].failures);
	CHECK(b[0].failures == 6 && b[0].next > 1000 + 2000,
	    "slots: the failing index backs off, doubling");
	CHECK(pool_program_pick(held, b, 3, 1000, &next) == 1,
	    "slots: another free index starts at once");
	held[1] = true;
	CHECK(pool_program_pick(held, b, 3, 1000, &next) == 2,
	    "slots: and the next");
	held[2] = true;
	CHECK(pool_program_pick(held, b, 3, 1000, &next) == -1 &&
	          next == b[0].next,
	    "slots: only the failing one free: wait for its back-off");
	CHECK(pool_program_pick(held, b, 3, b[0].next, &next) == 0,
	    "slots: its turn comes");
	held[0] = true;
	CHECK(pool_program_pick(held, b, 3, 1000, &next) == -1 &&
	          next == POOL_NEVER,
	    "slots: every index held: nothing to wait for");
	/* Index 1 dies after it settled: replaced at once, whatever index 0
	 * is going through. */
	held[1] = false;
	b[1].next = 5000 + pool_program_after_death(
	                       true, 60000, random, &b[1].failures);
	CHECK(b[1].failures == 0 &&
	          pool_program_pick(held, b, 3, 5000, &next) == 1,
	    "slots: a settled death elsewhere is replaced at once");
	CHECK(b[0].failures == 6, "slots: the failing index keeps its count");
}

/* A rolling reload: a new program first, an old one out per settled new
 * one, never below the floor nor above floor + surge. */
static void
rolling(void)
{
	CHECK(pool_roll_retire(0, 3, 3) == 0,
	    "roll: no old one goes before a new one settled");
	CHECK(pool_roll_retire(1, 3, 3) == 1, "roll: one out per settled one");
	CHECK(pool_roll_retire(3, 0, 3) == 0, "roll: nothing old left");
	CHECK(pool_roll_retire(0, 4, 2) == 2,
	    "roll: a smaller floor: the old ones above it go at once");
	CHECK(pool_roll_retire(2, 1, 5) == 0,
	    "roll: a larger floor: the old ones stay until it is met");
	CHECK(pool_roll_room(3, 3, 1) == 1, "roll: one more beside the floor");
	CHECK(pool_roll_room(4, 3, 1) == 0,
	    "roll: never more than floor + surge alive");
	CHECK(pool_roll_room(5, 3, 1) == 0, "roll: nor after TTOU");
	CHECK(pool_roll_room(0, 3, 2) == 5, "roll: an empty pool starts all");
	CHECK(!pool_program_settled(true, POOL_LIVED_LONG_MS - 1) &&
	          pool_program_settled(true, POOL_LIVED_LONG_MS) &&
	          !pool_program_settled(false, 60000),
	    "roll: settled once ready and past a failed start's time");
}

void
test_pool(void)
{
	program_deaths();
	program_slots();
	rolling();
	fixed_pool();
	growth();
	queued_growth();
	limits();
	shrinking();
	backoff();
	failed_by_itself();
	after_death();
	recycling();
	resizing();
}
