/* The files log.c writes lines to: opened safely by path, written whole,
 * and the lines they refused counted. */
#ifndef PREFORKD_LOG_FILE_H
#define PREFORKD_LOG_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct log_file {
	int fd;             /* -1: none */
	char *path;         /* NULL: not opened by path (stderr) */
	unsigned long lost; /* lines it refused since it last took one */
	int lost_errno;     /* why, the last time */
	bool cut;           /* a failure left half a line behind */
};

/* Open path for appending in f's place, closing f's old file: O_NOFOLLOW,
 * created 0640 when missing, never chown()ed; only a regular file or a
 * character device.  0, or -1 with errno (ELOOP for a symbolic link,
 * EINVAL or ENXIO for a FIFO, socket or directory), f unchanged. */
int log_file_open(struct log_file *f, const char *path);
/* Open f's path again under the same descriptor number; 0, or -1 with
 * errno, f unchanged. */
int log_file_reopen(struct log_file *f);
/* Close f's file and forget its path. */
void log_file_close(struct log_file *f);
/* Why opening failed with err, in words. */
const char *log_file_error(int err);
/* The owner of f's file when it is a regular file that is not ours (our
 * effective uid's), else -1. */
long log_file_foreign_owner(const struct log_file *f);
/* Whether uid, or gid, may create, rename or remove entries in the
 * directory of path -- replace the file with a link, for one. */
bool log_file_dir_writable_by(const char *path, uid_t uid, gid_t gid);
/*
 * Write line (len bytes, newline included) in one write(2) if it can.
 * When earlier lines were refused, first a line of head (a log line's
 * header) + "log: N line(s) could not be written: REASON", after a
 * newline if a half line was left.  A failure is counted, never reported.
 */
void log_file_write(
    struct log_file *f, const char *line, size_t len, const char *head);

#endif
