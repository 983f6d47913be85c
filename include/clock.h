/*
 * Time: the monotonic clock in milliseconds, for deadlines and durations;
 * and the wall clock's local time and the texts made from it, converted
 * and formatted once a second, not once a call.
 */
#ifndef PREFORKD_CLOCK_H
#define PREFORKD_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
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

/* The local time of the wall-clock second now, converted by localtime_r()
 * once a second for the whole process; valid until the next call. */
const struct tm *clock_local(time_t now);

/* Room for the longest text of one second, a time_format's (config.c
 * allows 255 bytes) with a margin for longer month and day names. */
#define CLOCK_TEXT_MAX 1025

/*
 * A text made from the local time of one second and, at most, one thing
 * more (key: a time_format), such as a log line's date or a daytime
 * answer.  Zero-initialised: empty, formatted at its first use.
 */
struct clock_text {
	bool set; /* text holds second's text for key */
	time_t second;
	const void *key;
	size_t len;
	char text[CLOCK_TEXT_MAX];
};

/* Write the text of tm (and key) into buf of size bytes; its length, 0
 * when it does not fit. */
typedef size_t clock_format_fn(
    char *buf, size_t size, const struct tm *tm, const void *key);

/* t's text for the second now and key, formatted by format only when the
 * second or the key changed; its length in *len.  Valid until the next
 * call on t. */
const char *clock_text(struct clock_text *t, time_t now, const void *key,
    clock_format_fn *format, size_t *len);
/* The same text copied into buf of size bytes; its length, 0 when it does
 * not fit. */
size_t clock_text_copy(struct clock_text *t, time_t now, const void *key,
    clock_format_fn *format, char *buf, size_t size);

#endif
