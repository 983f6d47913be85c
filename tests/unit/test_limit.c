/* limit.c: deadline arithmetic, the rate window, max_requests' jitter. */
#include <stdbool.h>

#include "limit.h"
#include "unit.h"

/* How many setsockopt() calls limit_timeout asks for when a call is made
 * every step ms from start until deadline, and the latest any of those
 * calls could return past the deadline. */
static int
settings(long long start, long long deadline, long long step, long long value,
    long long *late)
{
	int n = 0;

	*late = 0;
	for (long long now = start; now < deadline; now += step) {
		long long t = limit_timeout(now, deadline, value);
		if (t != -1) {
			value = t;
			n++;
		}
		if (now + value - deadline > *late)
			*late = now + value - deadline;
	}
	return n;
}

static void
test_timeout(void)
{
	long long late;

	/* idle_timeout 300 s, the socket has it, nothing nearer: no call. */
	CHECK(limit_timeout(1000, 301000, 300000) == -1,
	    "the inherited timeout is kept when it is the deadline");
	CHECK(limit_timeout(1000, LIMIT_NEVER, 0) == -1,
	    "no deadline, no timeout: nothing to set");
	CHECK(limit_timeout(1000, LIMIT_NEVER, 5000) == 0,
	    "no deadline: a timeout left from before is cleared");
	CHECK(limit_timeout(1000, 3000, 300000) == 2000,
	    "a near deadline (max_session) shortens the timeout to it");
	CHECK(limit_timeout(1000, 3000, 0) == 2000,
	    "a near deadline with no timeout on the socket sets one");
	CHECK(limit_timeout(1000, 61000, 300000) == 30000,
	    "a far one: half the time left, good for the next half");
	CHECK(limit_timeout(20000, 61000, 30000) == -1,
	    "... and kept while it returns in time");
	CHECK(limit_timeout(1000, 61000, 300) == 30000,
	    "a timeout far too short is lengthened (no spurious wake-ups)");
	CHECK(limit_timeout(2999, 3000, 300000) == 1,
	    "one ms left: 1, never 0 (which means for ever)");
	CHECK(limit_timeout(3000, 3000, 300000) == 1,
	    "a deadline reached is never set as 0");
	CHECK(settings(0, 3600000, 10, 300000, &late) <= 20 &&
	          late <= LIMIT_SLACK_MS,
	    "an hour of calls every 10 ms: under 20 setsockopt, none late");
	CHECK(settings(0, 60000, 1, 0, &late) <= 12 && late <= LIMIT_SLACK_MS,
	    "a min_rate window of calls every ms: a dozen at most");
	CHECK(limit_earlier(5, LIMIT_NEVER) == 5 &&
	          limit_earlier(LIMIT_NEVER, LIMIT_NEVER) == LIMIT_NEVER,
	    "the earlier of two deadlines");
}

static void
test_rate(void)
{
	CHECK(limit_rate_ok(0, 0, 60000), "min_rate 0: never too slow");
	CHECK(!limit_rate_ok(0, 1, 60000), "nothing moved: too slow");
	CHECK(limit_rate_ok(60, 1, 60000), "exactly 1 byte/s over 60 s");
	CHECK(!limit_rate_ok(59, 1, 60000), "one byte short over 60 s");
	CHECK(limit_rate_ok(100, 100, 1000), "100 bytes in a 1 s window");
	CHECK(!limit_rate_ok(99, 100, 1000), "99 bytes in a 1 s window");
	CHECK(limit_rate_ok(1073741824ULL * 3600, 1073741824ULL, 3600000),
	    "the largest min_rate over the longest window: no overflow");
	CHECK(!limit_rate_ok(1073741824ULL * 3600 - 1, 1073741824ULL, 3600000),
	    "... and one byte short is too slow");
}

static void
test_quota(void)
{
	bool low = false, high = false, inside = true;

	CHECK(limit_quota(0, 12345) == 0, "max_requests 0: never recycled");
	CHECK(limit_quota(7, 0xffffffffu) == 7,
	    "below 8, no jitter: exactly max_requests");
	for (uint32_t r = 0; r < 100000; r += 7) {
		unsigned long q = limit_quota(1000, r * 2654435761u);
		inside &= q >= 1000 && q <= 1125;
		low |= q == 1000;
		high |= q == 1125;
	}
	CHECK(inside, "quota within max_requests + max_requests / 8");
	CHECK(low && high, "both ends of the jitter are reached");
	CHECK(limit_recycle_max(1) == 1 && limit_recycle_max(4) == 1 &&
	          limit_recycle_max(8) == 1,
	    "up to 8 workers: one recycles at a time");
	CHECK(limit_recycle_max(9) == 2 && limit_recycle_max(64) == 8 &&
	          limit_recycle_max(65) == 9,
	    "bigger pools: one in eight, rounded up");
	CHECK(limit_recycle_max(0) == 1, "an empty pool still lets one go");
}

void
test_limit(void)
{
	test_timeout();
	test_rate();
	test_quota();
}
