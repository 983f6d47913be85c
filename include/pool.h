/*
 * The pool's policy: how many workers a service should have now, how long
 * to wait after failures, when to recycle.  Pure functions of counts and
 * times (ms, monotonic) handed in; the master acts on what they say.
 */
#ifndef PREFORKD_POOL_H
#define PREFORKD_POOL_H

#include <limits.h>
#include <stdbool.h>

/* Spawning more at once doubles per step up to this many. */
#define POOL_RATE_MAX 32
/* Another step of growth no sooner than this, while still short. */
#define POOL_STEP_MS 50
/* At most one idle worker retired per this long. */
#define POOL_RETIRE_MS 200
/* Without an event, look again this often (saturation, a lost wake-up). */
#define POOL_CHECK_MS 1000
/* While a burst lasts and clients wait, the master says so again this
 * often. */
#define POOL_FULL_REPEAT_MS 10000
/* pool_decision.next of a fixed pool with nothing to watch. */
#define POOL_NEVER LLONG_MAX

/* A service's live workers of the current generation, by state, and the
 * clients waiting in its listen queues (0 when not counted). */
struct pool_counts {
	unsigned starting, idle, busy;
	unsigned queued;
};

/* What the configuration (and SIGTTIN/SIGTTOU) allow. */
struct pool_limits {
	unsigned workers;     /* the least, and the size of a fixed pool */
	unsigned min_spare;   /* fork more when fewer are idle; 0: off */
	unsigned max_spare;   /* retire some when more are idle; 0: off */
	unsigned max_workers; /* never more than this */
};

/* What pool_decide remembers from one call to the next, per service;
 * zeroed to begin with. */
struct pool_state {
	unsigned rate;         /* how many to add at the next step */
	long long next_grow;   /* ms: no growth step before */
	long long next_shrink; /* ms: no retirement before */
	bool saturated;        /* said so already in this burst */
	long long calm_since;  /* ms: idle workers since, in a burst; 0: none */
};

struct pool_decision {
	unsigned add;    /* fork this many */
	unsigned retire; /* retire this many, idle ones first */
	bool saturated;  /* every worker busy at max_workers: say so now */
	long long next;  /* ms: ask again at the latest then; POOL_NEVER */
};

/*
 * The decision for one service from its counts, its limits and the time
 * now (ms, monotonic): a pure function, but for st, which it updates.
 */
void pool_decide(const struct pool_counts *c, const struct pool_limits *l,
    struct pool_state *st, long long now, struct pool_decision *out);

/*
 * The one back-off schedule: min_ms for the first failure in a row,
 * doubled for each one after it, up to max_ms; 0 before any failure.
 */
long long pool_backoff(unsigned in_a_row, long long min_ms, long long max_ms);

/* After fork() fails: the schedule of the retries (see pool_backoff). */
#define POOL_FORK_BACKOFF_MIN_MS 250
#define POOL_FORK_BACKOFF_MAX_MS 8000
/* After workers that crash right after start: the schedule of respawns. */
#define POOL_CRASH_BACKOFF_MIN_MS 100
#define POOL_CRASH_BACKOFF_MAX_MS 30000
/* A worker that failed by itself sooner than this after start crashed. */
#define POOL_LIVED_LONG_MS 1000
/* The longest a pool with no worker left waits for its next one. */
#define POOL_EMPTY_MAX_MS 1000

/*
 * Did a worker that exited with status (as waitpid() gives it) fail by
 * itself -- a crash, or WORKER_EXIT_SICK -- rather than exit or get killed
 * from outside (SIGKILL, SIGTERM)?  Only such a failure says that a
 * replacement may fail the same way.
 */
bool pool_failed_by_itself(int status);

/* What a pool does after a worker of its generation died unasked. */
enum pool_respawn {
	POOL_RESPAWN_NOW,   /* at once, as far as the failures allow */
	POOL_RESPAWN_LATER, /* it crashed right after start: wait delay */
	POOL_RESPAWN_NEVER, /* it said WORKER_EXIT_FATAL: not until reload */
};

struct pool_death {
	enum pool_respawn respawn;
	long long delay; /* ms, for POOL_RESPAWN_LATER */
};

/*
 * A worker that lived for lived ms died with status; running workers are
 * left in its pool.  *quick_deaths counts the crashes in a row right after
 * start: updated here (kept as it is for POOL_RESPAWN_NEVER).
 */
struct pool_death pool_after_death(
    int status, long long lived, unsigned running, unsigned *quick_deaths);

/* How soon to look again when a worker due for max_requests waits for
 * its turn: nothing else may wake a fixed pool's master. */
#define POOL_RECYCLE_RETRY_MS 100

/* Is a worker that served served connections of its quota (0: none), and
 * is idle or not, due for recycling? */
bool pool_recycle_due(unsigned long served, unsigned long quota, bool idle);
/*
 * max_requests: how many of due workers to recycle now, in a pool of
 * running workers of which out are on their way out or still starting:
 * fewer than limit_recycle_max(running) may be out at once.  *next is when
 * to look again for those that must wait, or 0 when none does.
 */
unsigned pool_recycle(unsigned running, unsigned out, unsigned due,
    long long now, long long *next);

/*
 * SIGTTIN and SIGTTOU, as gunicorn's: one worker more, or fewer, in every
 * pool.  What the floor of a pool becomes, and why it stays.
 */
enum pool_resize_result {
	POOL_RESIZED, /* *target moved by delta */
	POOL_NO_ROOM, /* TTIN: the scoreboard has no slot to spare */
	POOL_AT_ONE,  /* TTOU: a pool keeps one worker */
};

/*
 * Move the floor *target of a pool by delta (1 or -1).  The pool's largest
 * size is the higher of max_workers and its floor (pool_ceiling): a floor
 * raised past max_workers takes it along, so a fixed pool (max_workers
 * defaults to workers) grows too.  Such growth needs room, the scoreboard
 * slots that no pool at its largest, and no reload's new generation
 * beside them all, may need (see master_pool_resize); growth below
 * max_workers is within what is reserved already.
 */
enum pool_resize_result pool_resize(
    unsigned *target, int delta, unsigned max_workers, unsigned room);
/* The most workers a pool of floor target may have: max_workers, or the
 * floor when SIGTTIN raised it past. */
unsigned pool_ceiling(unsigned target, unsigned max_workers);

/*
 * Datagram-only workers of a service: udp_workers for one that listens on
 * streams and datagrams both, so a datagram never waits behind a stream
 * (its stream workers then leave the datagram sockets alone); 0 for one
 * that listens on one kind, whose workers all serve it.
 */
unsigned pool_dgram_workers(
    unsigned udp_workers, bool has_streams, bool has_datagrams);

/*
 * A pool of programs (accept = false).  A program that dies after it was
 * ready, and after POOL_LIVED_LONG_MS, is replaced at once; one that dies
 * before (or missed ready_timeout) is a failed start, whatever its exit
 * status: the next start of its pool waits, doubling from
 * POOL_CRASH_BACKOFF_MIN_MS to POOL_CRASH_BACKOFF_MAX_MS, with jitter
 * (random, any value: up to a quarter of the delay either way, never past
 * the cap), and never gives up -- a program's exit status is its own, so
 * WORKER_EXIT_FATAL means nothing here.  *failures counts the failed
 * starts in a row; returns the delay in ms, 0 for at once.
 */
long long pool_program_after_death(
    bool was_ready, long long lived, unsigned random, unsigned *failures);
/* The back-off of the n-th failed start in a row (n >= 1), jittered by
 * random. */
long long pool_program_backoff(unsigned n, unsigned random);

/*
 * Is a program that is ready (execve succeeded, or READY=1) and has lived
 * lived ms past its start?  Until then its death is a failed start
 * (pool_program_after_death), so until then it neither ends the failed
 * starts in a row nor lets a rolling reload retire an old program.
 */
bool pool_program_settled(bool ready, long long lived);

/* The back-off of one index of a pool of programs (back-off is per index:
 * one that keeps failing does not hold the others back); zeroed to begin
 * with. */
struct pool_slot_backoff {
	unsigned failures; /* failed starts in a row */
	long long next;    /* ms: no start of this index before */
};

/*
 * The index of a pool of n programs to start now: the lowest of 0 to n - 1
 * that no live program holds (held[i]) and whose back-off b[i] is over;
 * -1 when none is, with *next the earliest time one will be (POOL_NEVER
 * when every index is held).
 */
int pool_program_pick(const bool *held, const struct pool_slot_backoff *b,
    unsigned n, long long now, long long *next);

/*
 * A rolling reload of a pool of programs (accept = false) whose floor is
 * target: how many old programs to retire now, when settled new ones and
 * old ones still run -- as many as keeps settled + old at target or more.
 */
unsigned pool_roll_retire(unsigned settled, unsigned old, unsigned target);
/* How many programs may start now beside live ones (of every generation
 * and stage, until reaped): never more than target + surge alive. */
unsigned pool_roll_room(unsigned live, unsigned target, unsigned surge);

#endif
