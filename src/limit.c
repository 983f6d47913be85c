/*
 * Limits as arithmetic.  conn.c keeps a connection's deadlines (idle,
 * send, max_session, the min_rate window) and asks here which socket
 * timeout makes a blocking call return by the nearest one; the master asks
 * how many connections a worker serves and how many workers may recycle at
 * once.  Nothing here makes a system call.
 */
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
