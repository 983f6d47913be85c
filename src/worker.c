/*
 * A worker: accept one client, serve it to the end, log one access line,
 * repeat.  Its signals stay blocked except while it waits (ppoll), so a
 * "stop" is never lost between checking the flag and going to sleep:
 *
 *   SIGQUIT  finish the current client, then exit (reload, graceful stop)
 *   SIGTERM  drop the client and exit now (fast stop, master gone)
 *   SIGUSR1  reopen the log file after the current client
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "daemon.h"
#include "listener.h"
#include "log.h"
#include "proto.h"
#include "worker.h"

/* Back off this long when accept() fails for lack of resources. */
#define ACCEPT_RETRY_MS 100

static volatile sig_atomic_t quit_requested;
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reopen_requested;

static sigset_t wait_mask;	/* what ppoll lets through: everything */
static struct pollfd *listen_fds;	/* this service's listening sockets */
static size_t nlisten;

static void
on_signal(int signo)
{
	int saved_errno = errno;

	if (signo == SIGQUIT)
		quit_requested = 1;
	else if (signo == SIGTERM)
		stop_requested = 1;
	else if (signo == SIGUSR1)
		reopen_requested = 1;
	errno = saved_errno;
}

/* The master's handlers and mask are not ours: set up a worker's. */
static void
setup_signals(void)
{
	static const int handled[] = { SIGQUIT, SIGTERM, SIGUSR1 };
	static const int ignored[] = { SIGHUP, SIGINT, SIGPIPE };
	struct sigaction sa;
	sigset_t blocked;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sigemptyset(&blocked);
	/* No SA_RESTART: a wait must return EINTR so the flag is seen. */
	sa.sa_handler = on_signal;
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++) {
		sigaction(handled[i], &sa, NULL);
		sigaddset(&blocked, handled[i]);
	}
	sa.sa_handler = SIG_IGN;
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		sigaction(ignored[i], &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sigprocmask(SIG_SETMASK, &blocked, NULL);
	sigemptyset(&wait_mask);
}

/* Die with the master, and make sure it has not died already. */
static void
follow_master(pid_t master)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		fatal(WORKER_EXIT_FATAL, "prctl(PR_SET_PDEATHSIG)");
	if (getppid() != master)
		exit(WORKER_EXIT_OK);
}

/* Keep only this service's listening sockets; -1 if one is missing. */
static int
own_listeners(const struct service *svc, struct listener_set *all,
    struct pollfd *pfds)
{
	for (size_t i = 0; i < svc->naddrs; i++) {
		pfds[i].fd = listener_fd(all, &svc->addrs[i]);
		pfds[i].events = POLLIN;
		if (pfds[i].fd == -1)
			return -1;
		/* Take it out of the set so listener_close_all spares it. */
		for (size_t j = 0; j < all->count; j++)
			if (all->items[j].fd == pfds[i].fd)
				all->items[j].fd = -1;
	}
	listener_close_all(all);
	return 0;
}

/*
 * Told to quit while serving a client: stop listening at once, so that new
 * clients go to other workers or are refused, not queued for a worker that
 * will never accept them.
 */
static void
close_listeners_if_quitting(void)
{
	if (!quit_requested && !stop_requested)
		return;
	for (size_t i = 0; i < nlisten; i++)
		if (listen_fds[i].fd != -1) {
			close(listen_fds[i].fd);
			listen_fds[i].fd = -1;
		}
}

static double
seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) +
	    (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void
serve_client(const struct service *svc, int fd,
    const struct sockaddr_storage *peer)
{
	struct timespec start;
	enum conn_end end;
	struct conn conn;

	clock_gettime(CLOCK_MONOTONIC, &start);
	if (conn_open(&conn, fd, svc->buffer_size, svc->max_line,
	    svc->idle_timeout) == -1) {
		log_warn("service %s: connection", svc->name);
		close(fd);
		return;
	}
	conn.waitmask = &wait_mask;
	conn.stop = &stop_requested;
	conn.interrupted = close_listeners_if_quitting;
	addr_format((const struct sockaddr *)peer, conn.peer,
	    sizeof(conn.peer));
	if (svc->banner != NULL &&
	    conn_send_all(&conn, svc->banner, strlen(svc->banner)) == -1)
		end = conn.end;
	else
		end = svc->protocol->serve(&conn, svc);
	/* A client cut off mid-stream learns so by a reset, not a clean EOF. */
	if (end == END_SHUTDOWN || end == END_TIMEOUT)
		conn_reset(&conn);
	else if (end == END_OVERLONG)
		conn_linger(&conn);
	log_info("access service=%s client=%s in=%llu out=%llu time=%.3fs "
	    "end=%s", svc->name, conn.peer, conn.bytes_in, conn.bytes_out,
	    seconds_since(&start), proto_end_name(end));
	conn_close(&conn);
}

/* Accept on a ready listener; lost races and aborted clients are normal. */
static void
accept_one(const struct service *svc, int lfd)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	int fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);

	if (fd != -1) {
		serve_client(svc, fd, &peer);
		return;
	}
	switch (errno) {
	case EAGAIN:
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
	case EPERM:
		return;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		log_warn("service %s: accept", svc->name);
		/* Let resources come back rather than spin on a ready fd. */
		ppoll(NULL, 0, &(struct timespec){ 0, ACCEPT_RETRY_MS * 1000000L },
		    &wait_mask);
		return;
	default:
		fatal(WORKER_EXIT_SICK, "service %s: accept", svc->name);
	}
}

static void
reopen_log(void)
{
	reopen_requested = 0;
	if (log_reopen() == -1)
		log_warn("cannot reopen the log file");
}

static void
accept_loop(const struct service *svc, struct pollfd *pfds)
{
	while (!quit_requested && !stop_requested) {
		int n;

		if (reopen_requested)
			reopen_log();
		n = ppoll(pfds, svc->naddrs, NULL, &wait_mask);
		if (n == -1 && errno != EINTR)
			fatal(WORKER_EXIT_SICK, "service %s: poll", svc->name);
		for (size_t i = 0; n > 0 && i < svc->naddrs; i++)
			if (pfds[i].revents != 0 && !stop_requested)
				accept_one(svc, pfds[i].fd);
	}
}

static void
set_title(const struct service *svc, unsigned generation)
{
	char title[128];

	snprintf(title, sizeof(title), "preforkd: worker %s", svc->name);
	daemon_title_set(title);
	snprintf(title, sizeof(title), "worker %s#%u", svc->name, generation);
	log_set_role(title);
}

void
worker_main(const struct config *conf, size_t index,
    struct listener_set *listeners, const struct worker_ids *ids,
    pid_t master, unsigned generation)
{
	const struct service *svc = &conf->services[index];
	struct pollfd *pfds = calloc(svc->naddrs, sizeof(*pfds));

	setup_signals();
	follow_master(master);
	set_title(svc, generation);
	daemon_pidfile_drop();
	if (pfds == NULL)
		fatal(WORKER_EXIT_SICK, "service %s: listeners", svc->name);
	if (own_listeners(svc, listeners, pfds) == -1)
		log_bug("service %s: a listener was not bound", svc->name);
	listen_fds = pfds;
	nlisten = svc->naddrs;
	if (ids->uid != 0 && daemon_drop_privileges(ids->uid, ids->gid) == -1)
		exit(WORKER_EXIT_FATAL);
	log_debug("started, serving %zu address(es)", svc->naddrs);
	accept_loop(svc, pfds);
	log_debug("exiting");
	exit(WORKER_EXIT_OK);
}
