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

long long
limit_timeout(long long now, long long deadline, long long value)
{
	long long ends;

	if (deadline == LIMIT_NEVER)
		return value == 0 ? -1 : 0;
	if (value > 0) {
		ends = now + value;
		if (ends <= deadline + LIMIT_SLACK_MS &&
		    ends >= deadline - LIMIT_SLACK_MS)
			return -1;
	}
	/* Never 0: to SO_RCVTIMEO and SO_SNDTIMEO that means "for ever". */
	return deadline - now > 0 ? deadline - now : 1;
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
