/*
 * The files log lines go to.  Only the master opens them, by path, as
 * root: O_NOFOLLOW, so that a symbolic link planted where the file was is
 * refused rather than followed; O_NONBLOCK, so that a FIFO there fails
 * instead of blocking the master; never a chown, so that a file stays its
 * creator's.  Workers inherit the descriptors across fork() and never
 * open a log file themselves (see LOG FILES in preforkd(8)).
 *
 * A file that refuses lines (a full disk) has nowhere to say so at the
 * time: the lines are counted, and the count is told in the first line
 * it takes again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log_file.h"

/* A descriptor for appending to path, or -1 with errno; see log_file.h.
 * CLOEXEC: workers get it by fork(), not by exec(). */
static int
open_appending(const char *path)
{
	/* O_NONBLOCK: a FIFO with no reader fails at once (ENXIO). */
	int fd = open(path,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW |
	        O_NONBLOCK,
	    0640);
	struct stat st;
	int err = 0;

	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		err = errno;
	else if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
		err = EINVAL;
	else if (fcntl(fd, F_SETFL, O_APPEND) == -1)
		err = errno;
	if (err != 0) {
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int
log_file_open(struct log_file *f, const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (copy == NULL)
		return -1;
	if ((fd = open_appending(path)) == -1) {
		int saved = errno;
		free(copy);
		errno = saved;
		return -1;
	}
	log_file_close(f);
	f->fd = fd;
	f->path = copy;
	return 0;
}

int
log_file_reopen(struct log_file *f)
{
	int fd;

	if ((fd = open_appending(f->path)) == -1)
		return -1;
	/* dup2 keeps the number: the holder of f needs no telling. */
	if (dup2(fd, f->fd) == -1) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	f->lost = 0;
	f->cut = false;
	return 0;
}

void
log_file_close(struct log_file *f)
{
	if (f->fd != -1)
		close(f->fd);
	free(f->path);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

const char *
log_file_error(int err)
{
	switch (err) {
	case ELOOP:
		return "it is a symbolic link, which is never followed";
	case EINVAL:
	case ENXIO:
		return "not a regular file or a character device";
	default:
		return strerror(err);
	}
}

long
log_file_foreign_owner(const struct log_file *f)
{
	struct stat st;

	if (fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_uid != geteuid())
		return (long)st.st_uid;
	return -1;
}

bool
log_file_dir_writable_by(const char *path, uid_t uid, gid_t gid)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (slash == NULL || (size_t)(slash - path) >= sizeof(dir))
		return false;
	/* "/x": the root directory. */
	snprintf(dir, sizeof(dir), "%.*s",
	    slash == path ? 1 : (int)(slash - path), path);
	if (stat(dir, &st) == -1)
		return false;
	return st.st_uid == uid || (st.st_mode & S_IWOTH) != 0 ||
	       ((st.st_mode & S_IWGRP) != 0 && st.st_gid == gid);
}

/* Write all of buf; 0, or -1 with errno when the file takes no more,
 * *written saying how much it took. */
static int
write_all(int fd, const char *buf, size_t len, size_t *written)
{
	*written = 0;
	while (*written < len) {
		ssize_t n = write(fd, buf + *written, len - *written);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		*written += (size_t)n;
	}
	return 0;
}

/* Write buf, counting a failure as a lost line; 0 or -1. */
static int
write_counted(struct log_file *f, const char *buf, size_t len)
{
	size_t done;

	if (write_all(f->fd, buf, len, &done) == 0)
		return 0;
	f->lost++;
	f->lost_errno = errno != 0 ? errno : EIO;
	f->cut = f->cut || done > 0;
	return -1;
}

void
log_file_write(
    struct log_file *f, const char *line, size_t len, const char *head)
{
	if (f->lost > 0) {
		char note[512];
		int n = snprintf(note, sizeof(note),
		    "%s%slog: %lu line(s) could not be written: %s\n",
		    f->cut ? "\n" : "", head, f->lost, strerror(f->lost_errno));
		size_t size = n > 0 ? (size_t)n : 0;

		if (size >= sizeof(note))
			size = sizeof(note) - 1;
		/* Refused, the note counts as the caller's line, which is
		 * not written either. */
		if (write_counted(f, note, size) == -1)
			return;
		f->lost = 0;
		f->cut = false;
	}
	write_counted(f, line, len);
}
