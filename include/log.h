/* Logging to stderr, syslog or a file, in the style of OpenBSD's log.c. */
#ifndef PREFORKD_LOG_H
#define PREFORKD_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#define PRINTFLIKE(f, a) __attribute__((format(printf, f, a)))

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_NOTICE,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Log to stderr at info level; what every process starts with. */
void log_init(void);
/* Send log lines to "stderr", "syslog" or a file path; -1 (errno set) when
 * the file cannot be opened or no syslog daemon listens on /dev/log, in
 * which case the old target stays.  A file is opened for appending with
 * O_NOFOLLOW, created 0640 when missing, its owner never changed. */
int log_open(const char *target, enum log_level level);
/* Send access lines (log_access) to the file path, opened as log_open
 * does, or, for NULL, with the other lines; -1 with errno, nothing
 * changed. */
int log_access_open(const char *path);
/* Warn about each log file whose directory uid or gid may write to. */
void log_check_dirs(uid_t uid, gid_t gid);
/* The access log's path, or NULL when access lines go with the others. */
const char *log_access_target(void);
/* Why opening a log file failed with err, in words: a symbolic link
 * (ELOOP) or a FIFO is named as such. */
const char *log_open_error(int err);
/* What a "log" setting (NULL: not set) means: the setting, or else stderr
 * in the foreground and syslog once detached. */
const char *log_where(const char *setting, int foreground);
/* Where lines go now: "stderr", "syslog" or the file's path. */
const char *log_target(void);
/* Write stderr lines as just prefix + message (NULL: the full header), for
 * the short-lived commands -t and -s whose output a person reads. */
void log_plain(const char *prefix);
/* Also copy every line to stderr (start-up, before the terminal is let go). */
void log_tee_stderr(int on);
/* Change the level, keeping the target. */
void log_set_level(enum log_level level);
/* Open the log file again by its path (after rotation), under the same
 * descriptor number: 1, 0 when the log is not a file, -1 with errno set
 * (the old file stays). */
int log_reopen(void);
/* The same for the access log. */
int log_access_reopen(void);
/* Close the log target (a worker about to exit, the master at the end). */
void log_close(void);
/* Set the word shown after the pid on every line, e.g. "worker echo". */
void log_set_role(const char *role);
/* Start remembering the first error logged from now on. */
void log_error_mark(void);
/* Stop remembering: the first error since log_error_mark, or "". */
const char *log_error_first(void);
/* Parse "error", "warning", "notice", "info" or "debug"; -1 if unknown. */
int log_level_parse(const char *name);

/* Log at that level if the level is enabled; never fail, keep errno. */
void log_debug(const char *fmt, ...) PRINTFLIKE(1, 2);
void log_info(const char *fmt, ...) PRINTFLIKE(1, 2);
void log_notice(const char *fmt, ...) PRINTFLIKE(1, 2);
/* log_warn appends ": strerror(errno)", log_warnx does not. */
void log_warn(const char *fmt, ...) PRINTFLIKE(1, 2);
void log_warnx(const char *fmt, ...) PRINTFLIKE(1, 2);
/* An error the process survives, with and without strerror(errno). */
void log_error(const char *fmt, ...) PRINTFLIKE(1, 2);
void log_errorx(const char *fmt, ...) PRINTFLIKE(1, 2);
/* An access line: to the access log when there is one (whatever the
 * level), else as log_info. */
void log_access(const char *fmt, ...) PRINTFLIKE(1, 2);
/* Log an environmental failure and exit with status (exitcode.h); never
 * return. */
void fatal(int status, const char *fmt, ...) PRINTFLIKE(2, 3)
    __attribute__((noreturn));
void fatalx(int status, const char *fmt, ...) PRINTFLIKE(2, 3)
    __attribute__((noreturn));
/* A broken invariant: log and abort(); never returns. */
void log_bug(const char *fmt, ...) PRINTFLIKE(1, 2) __attribute__((noreturn));

/*
 * Write len client bytes into out (size outsize, always NUL-terminated) with
 * backslash, quote and non-printable bytes escaped as \\, \", \n, \r, \t and
 * \xHH.  Returns the number of input bytes consumed: fewer than len when out
 * is too small.
 */
size_t log_escape(const void *data, size_t len, char *out, size_t outsize);

#endif
