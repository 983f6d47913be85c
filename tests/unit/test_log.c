/* log_escape, log_level_parse and log_where; log_file's opening and
 * lost-line count, on files in a temporary directory; clock_text, the
 * once-a-second cache that stamps every log line. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "log_file.h"
#include "unit.h"

static bool
escapes(const char *in, size_t len, size_t outsize, const char *want,
    size_t want_used)
{
	char out[256];
	size_t used = log_escape(in, len, out, outsize);

	return used == want_used && strcmp(out, want) == 0;
}

/* The whole content of path, or "" (static buffer). */
static const char *
content(const char *path)
{
	static char buf[1024];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd == -1 ? 0 : read(fd, buf, sizeof(buf) - 1);

	if (fd != -1)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void
test_log_file_open(const char *dir)
{
	struct log_file f = { .fd = -1 };
	char path[256], other[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/new.log", dir);
	umask(022);
	CHECK(log_file_open(&f, path) == 0 && stat(path, &st) == 0 &&
	          (st.st_mode & 07777) == 0640 && st.st_uid == geteuid(),
	    "log_file_open creates a missing file 0640, its opener's");
	log_file_write(&f, "one\n", 4, "");
	snprintf(other, sizeof(other), "%s/new.log.1", dir);
	rename(path, other);
	CHECK(log_file_reopen(&f) == 0 && access(path, F_OK) == 0,
	    "log_file_reopen creates the file again at its path");
	log_file_write(&f, "two\n", 4, "");
	CHECK(strcmp(content(path), "two\n") == 0 &&
	          strcmp(content(other), "one\n") == 0,
	    "after a reopen, lines go to the new file only");
	unlink(path);
	if (symlink(other, path) == 0)
		CHECK(log_file_reopen(&f) == -1 && errno == ELOOP &&
		          strcmp(content(other), "one\n") == 0,
		    "a symbolic link at the path is refused, its target kept");
	CHECK(strcmp(log_file_error(ELOOP),
	          "it is a symbolic link, which is never followed") == 0,
	    "ELOOP said as a symbolic link");
	unlink(path);
	if (mkfifo(path, 0600) == 0)
		CHECK(log_file_reopen(&f) == -1 &&
		          strcmp(log_file_error(errno),
		              "not a regular file or a character device") == 0,
		    "a FIFO at the path is refused at once");
	unlink(path);
	log_file_close(&f);
	unlink(other);
}

static void
test_log_file_lost(void)
{
	struct log_file f = { .fd = -1 };
	char buf[128], drain[65536];
	int fds[2];
	ssize_t n;

	if (pipe2(fds, O_NONBLOCK) == -1)
		return;
	f.fd = fds[1];
	while (write(fds[1], drain, sizeof(drain)) > 0)
		;
	log_file_write(&f, "lost 1\n", 7, "H ");
	log_file_write(&f, "lost 2\n", 7, "H ");
	CHECK(f.lost == 2 && f.lost_errno == EAGAIN,
	    "lines a file refuses are counted");
	while (read(fds[0], drain, sizeof(drain)) > 0)
		;
	log_file_write(&f, "back\n", 5, "H ");
	n = read(fds[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(strcmp(buf, "H log: 2 line(s) could not be written: Resource "
	                  "temporarily unavailable\nback\n") == 0 &&
	          f.lost == 0,
	    "the next line it takes is preceded by the count");
	close(fds[0]);
	close(fds[1]);
}

static void
test_log_file(void)
{
	char dir[] = "/tmp/preforkd-unit.XXXXXX";

	if (mkdtemp(dir) == NULL) {
		CHECK(false, "mkdtemp for the log_file tests");
		return;
	}
	test_log_file_open(dir);
	rmdir(dir);
	test_log_file_lost();
}

static int formatted;

/* "<seconds> <key>", counting its calls. */
static size_t
count_format(char *buf, size_t size, const struct tm *tm, const void *key)
{
	formatted++;
	return (size_t)snprintf(buf, size, "%d %s", tm->tm_sec,
	    key != NULL ? (const char *)key : "-");
}

static void
test_clock_text(void)
{
	static struct clock_text t;
	static const char a[] = "a", b[] = "b";
	time_t now = 1700000000;
	char buf[8];
	size_t len;
	const char *text = clock_text(&t, now, a, count_format, &len);

	CHECK(
	    formatted == 1 && len == strlen(text) && strcmp(text, "20 a") == 0,
	    "clock_text: formatted at its first use");
	text = clock_text(&t, now, a, count_format, &len);
	CHECK(formatted == 1 && strcmp(text, "20 a") == 0,
	    "clock_text: the same second, not formatted again");
	text = clock_text(&t, now, b, count_format, &len);
	CHECK(formatted == 2 && strcmp(text, "20 b") == 0,
	    "clock_text: another key, formatted again");
	text = clock_text(&t, now + 1, b, count_format, &len);
	CHECK(formatted == 3 && strcmp(text, "21 b") == 0 && len == 4,
	    "clock_text: the next second, formatted again");
	CHECK(clock_text_copy(&t, now + 1, b, count_format, buf, 4) == 4 &&
	          memcmp(buf, "21 b", 4) == 0 && formatted == 3,
	    "clock_text_copy: the text, when it fits exactly");
	CHECK(clock_text_copy(&t, now + 1, b, count_format, buf, 3) == 0,
	    "clock_text_copy: 0 when it does not fit");
	CHECK(clock_local(now)->tm_sec == 20 &&
	          clock_local(now + 2)->tm_sec == 22,
	    "clock_local: the local time of the second asked for");
}

void
test_log(void)
{
	test_clock_text();
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
	test_log_file();
}
