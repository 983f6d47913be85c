/* access_format_time: ISO 8601 with milliseconds and the UTC offset. */
#include <string.h>
#include <time.h>

#include "access.h"
#include "unit.h"

/* 2026-11-22 23:45:01 local time, gmtoff seconds east of UTC. */
static bool
formats(long gmtoff, long msec, const char *want)
{
	struct tm tm = { .tm_year = 126,
		.tm_mon = 10,
		.tm_mday = 22,
		.tm_hour = 23,
		.tm_min = 45,
		.tm_sec = 1 };
	char buf[ACCESS_TIME_LEN];
	size_t n;

	tm.tm_gmtoff = gmtoff;
	n = access_format_time(&tm, msec, buf, sizeof(buf));
	return n == strlen(want) && strcmp(buf, want) == 0;
}

void
test_access(void)
{
	char small[10];
	struct tm tm = { .tm_year = 126 };

	CHECK(formats(0, 123, "2026-11-22T23:45:01.123+00:00"), "time: UTC");
	CHECK(formats(0, 7, "2026-11-22T23:45:01.007+00:00"),
	    "time: milliseconds padded");
	CHECK(formats(19800, 0, "2026-11-22T23:45:01.000+05:30"),
	    "time: India, half an hour");
	CHECK(formats(-12600, 999, "2026-11-22T23:45:01.999-03:30"),
	    "time: Newfoundland, west of UTC");
	CHECK(formats(3600 * 14, 1, "2026-11-22T23:45:01.001+14:00"),
	    "time: Kiribati, the largest offset");
	CHECK(formats(-3600 * 12, 1, "2026-11-22T23:45:01.001-12:00"),
	    "time: the most negative offset");
	CHECK(access_format_time(&tm, 0, small, sizeof(small)) == 0,
	    "time: 0 when the buffer is too small");
}
