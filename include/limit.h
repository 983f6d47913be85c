/*
 * The arithmetic of per-connection limits, worker recycling and rate
 * budgets: pure functions of times (ms, monotonic) and counts,
 * unit-tested.
 */
#ifndef PREFORKD_LIMIT_H
#define PREFORKD_LIMIT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

/* A deadline that never comes. */
#define LIMIT_NEVER LLONG_MAX
/* How late after a deadline a blocking call may return. */
#define LIMIT_SLACK_MS 1000

/* The earlier of two deadlines. */
long long limit_earlier(long long a, long long b);
/*
 * The timeout (ms) a blocking call made at now needs to return by
 * deadline, no later than LIMIT_SLACK_MS after it, when the socket's
 * timeout is value (ms, 0: none): -1 when value will do, else the value to
 * set (0 for a deadline of LIMIT_NEVER).  A call woken before the deadline
 * asks again.
 */
long long limit_timeout(long long now, long long deadline, long long value);
/* Did moved bytes in a window of window_ms keep up min_rate bytes a
 * second? */
bool limit_rate_ok(
    unsigned long long moved, unsigned long long min_rate, long long window_ms);
/* How many connections a worker serves before it asks to be recycled:
 * max_requests plus 0 to max_requests / 8, picked by random; 0 (never)
 * when max_requests is 0. */
unsigned long limit_quota(unsigned long max_requests, uint32_t random);
/* How many workers of a pool of size may be recycling at once: one in
 * eight, at least one. */
unsigned limit_recycle_max(unsigned size);

/*
 * A rate budget: at most limit units (log lines, log bytes, answers) a
 * period of LIMIT_RATE_PERIOD_MS, counted in fixed periods, and a tally of
 * what was refused for one line that says so.  The one policy behind
 * log_data_rate, refusal_log_rate and udp_rate.  Zero-initialised: full.
 */
#define LIMIT_RATE_PERIOD_MS 1000

struct rate_budget {
	long long start;         /* ms: the period began (0: none yet) */
	unsigned long long used; /* units taken in it */
	bool cut;                /* something was refused in it */
	unsigned long long dropped, dropped_units; /* refused, not reported */
	long long dropped_since;                   /* ms: the first of those */
};

/* What limit_rate_take says of one item. */
enum rate_verdict {
	RATE_TAKE, /* within the budget: go on */
	RATE_CUT,  /* the first item refused in this period: say so once */
	RATE_DROP, /* refused again in this period: quietly */
};

/* What was refused and not yet reported, and over how many seconds. */
struct rate_tally {
	unsigned long long items, units;
	long long seconds;
};

/*
 * Charge an item of cost units, at now, to b, which allows limit units a
 * period (0: no bound).  An item is taken while less than limit was used
 * in the period, so a period takes at most limit plus one item's cost.
 */
enum rate_verdict limit_rate_take(struct rate_budget *b,
    unsigned long long limit, long long now, unsigned long long cost);
/* What b refused since the last report, into *t, and forgotten: true when
 * there was something, false (and *t untouched) when not. */
bool limit_rate_report(
    struct rate_budget *b, long long now, struct rate_tally *t);

/*
 * One rate budget per source address, for a worker: a small table of a
 * fixed size, sets of LIMIT_SOURCE_WAYS, hashed with a seed of the
 * worker's own (a sender cannot aim its sources at one set); a source new
 * to a full set takes the slot of the set's least recently seen source.
 */
#define LIMIT_SOURCES 256
#define LIMIT_SOURCE_WAYS 4

struct rate_source {
	struct addr_source source; /* family 0: a free slot */
	unsigned long long seen;   /* the table's tick when last seen */
	struct rate_budget budget;
};

struct rate_sources {
	uint32_t seed;
	unsigned long long tick; /* one a look-up: an exact recency */
	struct rate_source slot[LIMIT_SOURCES];
};

/* The budget of source s in t (NULL for family 0: none), a fresh one when
 * s is new to t. */
struct rate_budget *limit_source_budget(
    struct rate_sources *t, const struct addr_source *s);

#endif
