/*
 * What a worker shows of itself: the state and client in its scoreboard
 * slot, which the master counts and -s status prints, and the same in its
 * process title, which ps shows.  Each change of state is one call here,
 * so the two never disagree, and the call also decides whether the change
 * should wake the master.
 *
 * The wake-up thresholds (wakes_master) are pool policy: they belong in
 * pool.c beside pool_decide, as a pure function with its unit tests.  They
 * stay here, in one place, until pool.c is free to take them.
 */
#include <stdint.h>
#include <stdio.h>

#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "scoreboard.h"
#include "worker_slot.h"

void
worker_slot_init(struct worker_slot *ws, const struct service *svc, int index)
{
	ws->index = index;
	ws->svc = svc;
	ws->dynamic = svc->min_spare > 0 || svc->max_spare > 0;
	ws->spare = true;
}

/* Count ws in (delta 1) or out (-1) of its pool's idle workers: the new
 * count, or INT32_MIN when it is not counted (wakes_master then does
 * nothing). */
static int32_t
idle_hint(const struct worker_slot *ws, int delta)
{
	return ws->spare ? scoreboard_idle_hint(ws->index, delta) : INT32_MIN;
}

void
worker_slot_title(
    const struct worker_slot *ws, const char *state, const char *client)
{
	char title[160];

	snprintf(title, sizeof(title), "preforkd: worker %s [%s%s%s]",
	    ws->svc->name, state, client != NULL ? " " : "",
	    client != NULL ? client : "");
	daemon_title_set(title);
}

/*
 * In a dynamic pool, wake the master only when the count of idle workers
 * (idle, after this worker counted itself in or out by delta) may have
 * crossed a spare threshold: one write() then, no system call otherwise.
 * A fixed pool wakes it when its last idle worker takes a client, unless
 * the master already knows the pool is full.  Called once the slot shows
 * the new state, which is what the master counts.
 */
static void
wakes_master(const struct worker_slot *ws, int delta, int32_t idle)
{
	const struct service *svc = ws->svc;

	if (idle == INT32_MIN)
		return;
	if (!ws->dynamic) {
		/* <= 0: the count is a hint, and may run low. */
		if (delta < 0 && idle <= 0 &&
		    scoreboard_wake_when_full(ws->index))
			scoreboard_poke();
		return;
	}
	if ((delta < 0 && idle < svc->min_spare) ||
	    (delta > 0 && svc->max_spare > 0 && idle > svc->max_spare))
		scoreboard_poke();
}

void
worker_slot_ready(const struct worker_slot *ws)
{
	/* The title first: whoever sees the slot idle (the master, which
	 * recycles the next worker then) sees the title say so too. */
	worker_slot_title(ws, "idle", NULL);
	scoreboard_set_state(ws->index, SB_IDLE);
	wakes_master(ws, 1, idle_hint(ws, 1));
}

void
worker_slot_busy(
    const struct worker_slot *ws, const char *client, long long now)
{
	/* Out of the count before the slot says busy, into it after the
	 * slot says idle: a worker killed in between leaves the count low,
	 * which costs a wake-up too many, never one too few. */
	int32_t idle = idle_hint(ws, -1);

	scoreboard_busy(ws->index, client, now);
	wakes_master(ws, -1, idle);
	worker_slot_title(ws, "busy", client);
}

void
worker_slot_rename(
    const struct worker_slot *ws, const char *client, long long start)
{
	scoreboard_busy(ws->index, client, start);
	worker_slot_title(ws, "busy", client);
}

void
worker_slot_done(const struct worker_slot *ws, unsigned long long in,
    unsigned long long out, bool quitting)
{
	/* The connection's bytes join the worker's totals. */
	scoreboard_idle(ws->index, in, out, clock_ms());
	wakes_master(ws, 1, idle_hint(ws, 1));
	worker_slot_title(ws, quitting ? "quitting" : "idle", NULL);
}

void
worker_slot_quit(const struct worker_slot *ws)
{
	idle_hint(ws, -1);
	scoreboard_set_state(ws->index, SB_QUITTING);
	worker_slot_title(ws, "quitting", NULL);
}
