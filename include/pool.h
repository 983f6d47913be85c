/* How many workers a service should have now: the pool's policy. */
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
/* pool_decision.next of a fixed pool with nothing to watch. */
#define POOL_NEVER LLONG_MAX

/* A service's live workers of the current generation, by state. */
struct pool_counts {
	unsigned starting, idle, busy;
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

#endif
