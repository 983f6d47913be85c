/*
 * The wall clock's local time and the texts made from it, once a second.
 * A worker stamps every log line and access line, and daytime and
 * timestamp answer with the time: each would otherwise convert and format
 * the same second thousands of times.  The monotonic clock, for deadlines,
 * is clock.h's alone (inline: it is read after every recv() and send()).
 */
#include <string.h>
#include <time.h>

#include "clock.h"
#include "unforked.h"

const struct tm *
clock_local(time_t now)
{
	static bool set WORKER_DATA;
	static time_t second WORKER_DATA;
	static struct tm tm WORKER_DATA;

	if (!set || now != second) {
		localtime_r(&now, &tm);
		second = now;
		set = true;
	}
	return &tm;
}

const char *
clock_text(struct clock_text *t, time_t now, const void *key,
    clock_format_fn *format, size_t *len)
{
	if (!t->set || now != t->second || key != t->key) {
		t->len =
		    format(t->text, sizeof(t->text), clock_local(now), key);
		t->second = now;
		t->key = key;
		t->set = true;
	}
	*len = t->len;
	return t->text;
}

size_t
clock_text_copy(struct clock_text *t, time_t now, const void *key,
    clock_format_fn *format, char *buf, size_t size)
{
	size_t len;
	const char *text = clock_text(t, now, key, format, &len);

	if (len > size)
		return 0;
	memcpy(buf, text, len);
	return len;
}
