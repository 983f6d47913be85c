/* Monotonic time in milliseconds, for deadlines and durations. */
#ifndef PREFORKD_CLOCK_H
#define PREFORKD_CLOCK_H

#include <time.h>

/* Milliseconds on the monotonic clock; never fails on Linux. */
static inline long long
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The same clock read cheaply (the kernel's last tick, a few ms behind,
 * no system call): for stamps taken after every recv() and send(). */
static inline long long
clock_coarse_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
