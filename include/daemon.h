/* Being a Unix daemon: detaching, the pidfile, the workers' user and
 * privileges, the limit on open files, process title. */
#ifndef PREFORKD_DAEMON_H
#define PREFORKD_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>

/* Warn when the directory of path (what: "pidfile") is world-writable,
 * sticky or not: another user can put files there before preforkd does. */
void daemon_warn_shared_dir(const char *what, const char *path);
/* Open and lock the pidfile at path (absolute); 0, or -1 after logging why
 * (another master holds it: its pid is named; the file is not a regular
 * file of preforkd's own user: its owner is named). */
int daemon_pidfile_lock(const char *path);
/* Take the pidfile's POSIX lock as pid (the master, after detaching:
 * -s asks who holds it) and write pid into it; -1 after logging. */
int daemon_pidfile_write(pid_t pid);
/* The descriptor of the pidfile we hold, locked; -1 if none (for an
 * upgrade to hand over). */
int daemon_pidfile_fd(void);
/* Its absolute path; NULL if none. */
const char *daemon_pidfile_path(void);
/* The image an upgrade started: the pidfile at path is fd, open and locked
 * (flock and POSIX lock) by this very process before its exec; 0, or -1
 * after logging. */
int daemon_pidfile_adopt(int fd, const char *path);
/* Unlink and close the pidfile we hold (the master, at exit). */
void daemon_pidfile_remove(void);
/* Close our copy without unlinking or freeing (a freshly forked worker). */
void daemon_pidfile_drop(void);
/* The pid of the running master named in path, or -1 after logging why
 * (no file, no number, nobody holds its lock, or the pid is not the
 * preforkd that holds it, running as the file's owner). */
pid_t daemon_pidfile_read(const char *path);

/* Fork into the background.  The parent waits until the child calls
 * daemon_ready (exit 0) or exits first (exit with its status); only the
 * child returns.  -1 after logging if fork fails. */
int daemon_detach(void);
/* Tell the waiting parent start-up succeeded, and let go of the terminal:
 * stdin and stdout become /dev/null, and stderr too unless keep_stderr
 * (the log goes there). */
void daemon_ready(bool keep_stderr);
/*
 * Whether stderr is a regular file, which a detached daemon logging to
 * stderr keeps.  Not a pipe or a terminal: whoever reads those (ssh, a
 * shell's $(...)) would wait for the daemon's end.
 */
bool daemon_stderr_is_file(void);

/* Who a root master's workers run as when preforkd.conf names no user. */
#define DAEMON_DEFAULT_USER "nobody"

/* Look up the workers' user (DAEMON_DEFAULT_USER when user is NULL, so
 * that root workers are only ever asked for by name) and group (when set,
 * whatever the user; the user's own otherwise), as -t checks them; 0, or
 * -1 after logging which name is unknown, and that user is not set when
 * it is the default that is missing. */
int daemon_worker_user(
    const char *user, const char *group, uid_t *uid, gid_t *gid);
/*
 * Who the workers run as, decided the same way at start and at each
 * reload.  A root master: daemon_worker_user's ids and *change true (uid
 * 0 included: user = "root").  Started by another user: its own identity,
 * *change false and the ids 0, with a notice when user (and group) are set
 * and so ignored.  0, or -1 after logging.
 */
int daemon_worker_ids(
    const char *user, const char *group, bool *change, uid_t *uid, gid_t *gid);
/* Once the new workers' ids are taken (after start-up, whose failures
 * alone the terminal should show; after a reload is accepted): a notice
 * when they are nobody because user is not set. */
void daemon_worker_ids_log(const char *user, bool change, uid_t uid, gid_t gid);
/* Switch to uid/gid for good; -1 after logging. */
int daemon_drop_privileges(uid_t uid, gid_t gid);

/* Raise the soft limit on open files to the hard one (workers inherit
 * it), and check that a process holding listeners listening sockets and
 * a client fits under it; 0, or -1 after logging the numbers. */
int daemon_files_limit(size_t listeners);

/* Remember argv so the process title can be changed later. */
void daemon_title_init(int argc, char **argv);
/* Worker, before its first title: keep the title in room, size bytes
 * that live as long as the process and lie in anonymous memory (the
 * stack), rather than over the argument area, where the kernel allows;
 * nothing changes where it does not. */
void daemon_title_own(char *room, size_t size);
/* Show title (e.g. "preforkd: worker echo") in ps. */
void daemon_title_set(const char *title);

#endif
