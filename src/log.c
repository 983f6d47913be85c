/*
 * Logging, after OpenBSD's log.c: one vlog() that every level goes through,
 * errno saved across it, one write() per line so that the master and its
 * workers can share a file opened with O_APPEND.  Files, and how they are
 * opened safely, are log_file.c's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "log_file.h"
#include "unforked.h"

#define LOG_LINE_MAX 8192

enum log_target { TARGET_STDERR, TARGET_SYSLOG, TARGET_FILE };

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_NOTICE] = "notice",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

static const int syslog_priorities[] = {
	[LOG_LEVEL_ERROR] = LOG_ERR,
	[LOG_LEVEL_WARNING] = LOG_WARNING,
	[LOG_LEVEL_NOTICE] = LOG_NOTICE,
	[LOG_LEVEL_INFO] = LOG_INFO,
	[LOG_LEVEL_DEBUG] = LOG_DEBUG,
};

static enum log_target target WORKER_DATA = TARGET_STDERR;
static enum log_level max_level WORKER_DATA = LOG_LEVEL_INFO;
static struct log_file main_file WORKER_DATA = { .fd = -1 };
static struct log_file access_file WORKER_DATA = { .fd = -1 };
static struct log_file stderr_file WORKER_DATA = { .fd = STDERR_FILENO };
static int tee_stderr WORKER_DATA;
static char role[64] WORKER_DATA = "master";
static const char *plain_prefix WORKER_DATA;
/* The first error since log_error_mark, for a caller that reports it
 * elsewhere too (the master, to preforkd -s reload). */
static char first_error[512];
static int error_marked;
/* getpid() is a system call: every line would pay for it.  Kept right by
 * a fork handler instead. */
static pid_t my_pid WORKER_DATA;

static void
remember_pid(void)
{
	my_pid = getpid();
}

void
log_init(void)
{
	target = TARGET_STDERR;
	max_level = LOG_LEVEL_INFO;
	remember_pid();
	pthread_atfork(NULL, NULL, remember_pid);
}

/*
 * Whether a syslog daemon listens on /dev/log: with none, glibc's syslog()
 * drops every line without a word, so look first.  0, or -1 with errno.
 */
static int
syslog_reachable(void)
{
	static const int types[] = { SOCK_DGRAM, SOCK_STREAM };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int saved = 0;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", _PATH_LOG);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
		int rc = fd == -1 ? -1
		                  : connect(fd, (struct sockaddr *)&sun,
		                        sizeof(sun));
		if (fd != -1)
			close(fd);
		if (rc == 0)
			return 0;
		/* A stream socket refuses a datagram one: not the reason. */
		if (saved == 0 || saved == EPROTOTYPE)
			saved = errno;
	}
	errno = saved;
	return -1;
}

const char *
log_open_error(int err)
{
	return log_file_error(err);
}

/* A file owned by someone else, such as the workers' user an older
 * preforkd gave it to, can be rewritten by that user: say so. */
static void
warn_foreign_owner(const struct log_file *f, const char *key)
{
	long uid = log_file_foreign_owner(f);

	if (uid != -1)
		log_warnx("%s %s is owned by uid %ld, not by preforkd's uid "
		          "%ld: that user can rewrite it (preforkd never "
		          "changes a file's owner; chown it back)",
		    key, f->path, uid, (long)geteuid());
}

int
log_open(const char *where, enum log_level level)
{
	struct log_file file = { .fd = -1 };

	if (strcmp(where, "syslog") == 0 && syslog_reachable() == -1)
		return -1;
	if (strcmp(where, "stderr") != 0 && strcmp(where, "syslog") != 0 &&
	    log_file_open(&file, where) == -1)
		return -1;
	log_close();
	max_level = level;
	if (file.path != NULL) {
		target = TARGET_FILE;
		main_file = file;
		warn_foreign_owner(&main_file, "log");
	} else if (strcmp(where, "syslog") == 0) {
		target = TARGET_SYSLOG;
		openlog("preforkd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	} else {
		target = TARGET_STDERR;
	}
	return 0;
}

int
log_access_open(const char *path)
{
	if (path == NULL) {
		log_file_close(&access_file);
		return 0;
	}
	if (log_file_open(&access_file, path) == -1)
		return -1;
	warn_foreign_owner(&access_file, "access_log");
	return 0;
}

void
log_check_dirs(uid_t uid, gid_t gid)
{
	const struct log_file *files[] = { &main_file, &access_file };
	/* Each named by its key, so the operator knows which setting. */
	const char *keys[] = { "log", "access_log" };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i]->path != NULL &&
		    log_file_dir_writable_by(files[i]->path, uid, gid))
			log_warnx("%s %s: the workers (uid %ld, gid %ld) may "
			          "write to its directory, and so put a file "
			          "of theirs in its place at the next "
			          "rotation: keep the directory root's",
			    keys[i], files[i]->path, (long)uid, (long)gid);
}

const char *
log_access_target(void)
{
	return access_file.path;
}

const char *
log_where(const char *setting, int foreground)
{
	if (setting != NULL)
		return setting;
	return foreground ? "stderr" : "syslog";
}

const char *
log_target(void)
{
	switch (target) {
	case TARGET_SYSLOG:
		return "syslog";
	case TARGET_FILE:
		return main_file.path;
	default:
		return "stderr";
	}
}

void
log_set_level(enum log_level level)
{
	max_level = level;
}

/* 1 when f was reopened, -1 with errno. */
static int
reopen_file(struct log_file *f, const char *key)
{
	if (log_file_reopen(f) == -1)
		return -1;
	warn_foreign_owner(f, key);
	return 1;
}

int
log_reopen(void)
{
	return target == TARGET_FILE ? reopen_file(&main_file, "log") : 0;
}

int
log_access_reopen(void)
{
	return access_file.path != NULL
	           ? reopen_file(&access_file, "access_log")
	           : 0;
}

void
log_close(void)
{
	if (target == TARGET_FILE)
		log_file_close(&main_file);
	else if (target == TARGET_SYSLOG)
		closelog();
	target = TARGET_STDERR;
}

void
log_error_mark(void)
{
	error_marked = 1;
	first_error[0] = '\0';
}

const char *
log_error_first(void)
{
	error_marked = 0;
	return first_error;
}

void
log_plain(const char *prefix)
{
	plain_prefix = prefix;
}

void
log_tee_stderr(int on)
{
	tee_stderr = on;
}

void
log_set_role(const char *name)
{
	snprintf(role, sizeof(role), "%s", name);
}

int
log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	     i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

static size_t format_header(char *buf, size_t size, enum log_level level);

/* A line to f, the header of a warning ready in case it must first say
 * that lines were lost. */
static void
write_line(struct log_file *f, const char *line, size_t len)
{
	char head[128] = "";

	if (f->lost > 0)
		format_header(head, sizeof(head), LOG_LEVEL_WARNING);
	log_file_write(f, line, len, head);
}

/* "2026-11-21 23:42:40" for tm; key unused. */
static size_t
format_date(char *buf, size_t size, const struct tm *tm, const void *key)
{
	(void)key;
	return strftime(buf, size, "%Y-%m-%d %H:%M:%S", tm);
}

/* The date of the second now falls in: formatted once a second, not once
 * a line (a worker logs a line per connection). */
static size_t
format_second(char *buf, size_t size, time_t now)
{
	static struct clock_text cache WORKER_DATA;

	return clock_text_copy(&cache, now, NULL, format_date, buf, size);
}

/* "2026-11-21 23:42:40.123 preforkd[42] master: info: " */
static size_t
format_header(char *buf, size_t size, enum log_level level)
{
	struct timespec now;
	size_t n;
	int m;

	if (plain_prefix != NULL)
		return (size_t)snprintf(buf, size, "%s", plain_prefix);
	clock_gettime(CLOCK_REALTIME, &now);
	n = format_second(buf, size, now.tv_sec);
	m = snprintf(buf + n, size - n,
	    ".%03ld preforkd[%ld] %s: %s: ", now.tv_nsec / 1000000,
	    (long)my_pid, role, level_names[level]);
	return n + (m > 0 ? (size_t)m : 0);
}

/* Header and message of one line, in line (LOG_LINE_MAX), newline
 * ended; its length, and the header's in *head. */
static size_t
format_line(char *line, size_t *head, enum log_level level, int with_errno,
    int saved_errno, const char *fmt, va_list ap)
{
	size_t len;
	int n;

	*head = format_header(line, LOG_LINE_MAX, level);
	n = vsnprintf(line + *head, LOG_LINE_MAX - *head, fmt, ap);
	len = *head + (n > 0 ? (size_t)n : 0);
	if (len > LOG_LINE_MAX - 2)
		len = LOG_LINE_MAX - 2;
	if (with_errno) {
		n = snprintf(line + len, LOG_LINE_MAX - len, ": %s",
		    strerror(saved_errno));
		len += n > 0 ? (size_t)n : 0;
		if (len > LOG_LINE_MAX - 2)
			len = LOG_LINE_MAX - 2;
	}
	line[len++] = '\n';
	line[len] = '\0';
	return len;
}

static void
vlog(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t head, len;
	int saved_errno = errno;

	if (level > max_level) {
		errno = saved_errno;
		return;
	}
	len = format_line(line, &head, level, with_errno, saved_errno, fmt, ap);
	if (error_marked && level == LOG_LEVEL_ERROR && first_error[0] == '\0')
		snprintf(first_error, sizeof(first_error), "%.*s",
		    (int)(len - head - 1), line + head);

	if (target == TARGET_SYSLOG)
		syslog(syslog_priorities[level], "%s: %.*s", role,
		    (int)(len - head - 1), line + head);
	else
		write_line(target == TARGET_FILE ? &main_file : &stderr_file,
		    line, len);
	if (tee_stderr && target != TARGET_STDERR)
		write_line(&stderr_file, line, len);
	errno = saved_errno;
}

/*
 * The one way an access line leaves a worker: to access_log when it is
 * set, whatever log_level says, and otherwise with the other lines at
 * level info.
 */
void
log_access(const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	va_start(ap, fmt);
	if (access_file.fd == -1) {
		vlog(LOG_LEVEL_INFO, 0, fmt, ap);
	} else {
		char line[LOG_LINE_MAX];
		size_t head, len;

		len = format_line(
		    line, &head, LOG_LEVEL_INFO, 0, saved_errno, fmt, ap);
		write_line(&access_file, line, len);
	}
	va_end(ap);
	errno = saved_errno;
}

#define LOG_FUNCTION(name, level, with_errno)                                  \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		vlog(level, with_errno, fmt, ap);                              \
		va_end(ap);                                                    \
	}

LOG_FUNCTION(log_debug, LOG_LEVEL_DEBUG, 0)
LOG_FUNCTION(log_info, LOG_LEVEL_INFO, 0)
LOG_FUNCTION(log_notice, LOG_LEVEL_NOTICE, 0)
LOG_FUNCTION(log_warn, LOG_LEVEL_WARNING, 1)
LOG_FUNCTION(log_warnx, LOG_LEVEL_WARNING, 0)
LOG_FUNCTION(log_error, LOG_LEVEL_ERROR, 1)
LOG_FUNCTION(log_errorx, LOG_LEVEL_ERROR, 0)

void
fatal(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, 1, fmt, ap);
	va_end(ap);
	exit(status);
}

void
fatalx(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(status);
}

void
log_bug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	abort();
}

size_t
log_escape(const void *data, size_t len, char *out, size_t outsize)
{
	/* Bytes with a letter escape, and their letters, in the same order. */
	static const char special[] = "\\\"\n\r\t";
	static const char letter[] = "\\\"nrt";
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;
	size_t used = 0, i;

	if (outsize == 0)
		return 0;
	for (i = 0; i < len; i++) {
		const char *s = p[i] != '\0' ? strchr(special, p[i]) : NULL;
		char esc[4] = { '\\' };
		size_t n;

		if (s != NULL) {
			esc[1] = letter[s - special];
			n = 2;
		} else if (p[i] >= 0x20 && p[i] < 0x7f) {
			esc[0] = (char)p[i];
			n = 1;
		} else {
			esc[1] = 'x';
			esc[2] = hex[p[i] >> 4];
			esc[3] = hex[p[i] & 0xf];
			n = 4;
		}
		if (used + n >= outsize)
			break;
		memcpy(out + used, esc, n);
		used += n;
	}
	out[used] = '\0';
	return i;
}
