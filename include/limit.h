/*
 * The arithmetic of per-connection limits and worker recycling: pure
 * functions of times (ms, monotonic) and counts, unit-tested.
 */
#ifndef PREFORKD_LIMIT_H
#define PREFORKD_LIMIT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

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

#endif
