/* log_escape, log_level_parse and log_where. */
#include <string.h>

#include "log.h"
#include "unit.h"

static bool
escapes(const char *in, size_t len, size_t outsize, const char *want,
    size_t want_used)
{
	char out[256];
	size_t used = log_escape(in, len, out, outsize);

	return used == want_used && strcmp(out, want) == 0;
}

void
test_log(void)
{
	CHECK(escapes("plain text", 10, 256, "plain text", 10),
	    "printable bytes stay");
	CHECK(escapes("a\nb\r\tc", 6, 256, "a\\nb\\r\\tc", 6),
	    "newline, return and tab");
	CHECK(escapes("\\\"", 2, 256, "\\\\\\\"", 2), "backslash and quote");
	CHECK(escapes("\0\x01\x7f\xff", 4, 256, "\\x00\\x01\\x7f\\xff", 4),
	    "NUL, control and high bytes as \\xHH");
	CHECK(escapes("%s%n", 4, 256, "%s%n", 4),
	    "format directives are plain data");
	CHECK(escapes("abcdef", 6, 4, "abc", 3),
	    "stops where the output is full");
	CHECK(
	    escapes("a\x01", 2, 5, "a", 1), "never splits an escape sequence");
	CHECK(escapes("x", 1, 1, "", 0), "room only for the terminator");
	CHECK(log_level_parse("debug") == LOG_LEVEL_DEBUG, "level debug");
	CHECK(log_level_parse("error") == LOG_LEVEL_ERROR, "level error");
	CHECK(log_level_parse("loud") == -1, "unknown level");
	CHECK(strcmp(log_where(NULL, 1), "stderr") == 0 &&
	          strcmp(log_where(NULL, 0), "syslog") == 0,
	    "log unset: stderr in the foreground, syslog when detached");
	CHECK(strcmp(log_where("/var/log/x", 1), "/var/log/x") == 0 &&
	          strcmp(log_where("syslog", 1), "syslog") == 0,
	    "log set: the setting, in the foreground too");
}
