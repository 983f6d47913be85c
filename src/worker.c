/*
 * A worker: accept one client, serve it to the end, log one access line,
 * repeat.  Its signals stay blocked and arrive through a signalfd that every
 * wait watches too -- the accept wait here, the client waits in conn.c -- so
 * a "stop" is seen at once, even while a client keeps its socket busy:
 *
 *   SIGQUIT  stop listening, finish the current client, then exit
 *            (reload, graceful stop)
 *   SIGTERM  drop the client and exit now (fast stop, master gone)
 *   SIGUSR1  reopen the log file after the current client
 *
 * The listening sockets are shared by every worker of the service; epoll's
 * EPOLLEXCLUSIVE wakes one idle worker per client instead of all of them.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "conn.h"
#include "daemon.h"
#include "listener.h"
#include "log.h"
#include "proto.h"
#include "worker.h"

/* Back off this long when accept() fails for lack of resources. */
#define ACCEPT_RETRY_MS 100
/* The epoll tag of the signalfd; listeners are tagged by their index. */
#define SIGNAL_TAG UINT32_MAX

static bool quit_requested;
static bool stop_requested;
static bool reopen_requested;

static int signal_fd = -1;
static int epoll_fd = -1;
static int *listen_fds; /* this service's listening sockets */
static size_t nlisten;

/* Block the worker's signals for good and open the signalfd they come to;
 * the master's handlers are not ours. */
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
	sa.sa_handler = SIG_DFL;
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++) {
		sigaction(handled[i], &sa, NULL);
		sigaddset(&blocked, handled[i]);
	}
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		sigaction(ignored[i], &sa, NULL);
	sigprocmask(SIG_SETMASK, &blocked, NULL);
	signal_fd = signalfd(-1, &blocked, SFD_NONBLOCK | SFD_CLOEXEC);
	if (signal_fd == -1)
		fatal(WORKER_EXIT_SICK, "signalfd");
}

/* Stop listening: new clients go to other workers, or are refused. */
static void
close_listeners(void)
{
	for (size_t i = 0; i < nlisten; i++) {
		if (listen_fds[i] == -1)
			continue;
		/* Other processes share the socket: deregister before close. */
		epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listen_fds[i], NULL);
		close(listen_fds[i]);
		listen_fds[i] = -1;
	}
}

/* Read the pending signals into flags; conn.c calls it too. */
static void
take_signals(void)
{
	struct signalfd_siginfo si;

	while (read(signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGQUIT)
			quit_requested = true;
		else if (si.ssi_signo == SIGTERM)
			stop_requested = true;
		else if (si.ssi_signo == SIGUSR1)
			reopen_requested = true;
	}
	if (quit_requested || stop_requested)
		close_listeners();
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

/* Take this service's listening sockets out of the set and close the rest;
 * register ours and the signalfd with a new epoll instance. */
static void
own_listeners(const struct service *svc, struct listener_set *all)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = SIGNAL_TAG };

	if ((listen_fds = calloc(svc->naddrs, sizeof(*listen_fds))) == NULL)
		fatal(WORKER_EXIT_SICK, "service %s: listeners", svc->name);
	nlisten = svc->naddrs;
	for (size_t i = 0; i < nlisten; i++)
		if ((listen_fds[i] = listener_take(all, &svc->addrs[i])) == -1)
			log_bug("service %s: %s was not bound", svc->name,
			    svc->listen[i]);
	listener_close_all(all);
	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (epoll_fd == -1 ||
	    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, signal_fd, &ev) == -1)
		fatal(WORKER_EXIT_SICK, "service %s: epoll", svc->name);
	for (size_t i = 0; i < nlisten; i++) {
		ev.events = EPOLLIN | EPOLLEXCLUSIVE;
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fds[i], &ev) ==
		    -1)
			fatal(WORKER_EXIT_SICK, "service %s: epoll", svc->name);
	}
}

static void
serve_client(
    const struct service *svc, int fd, const struct sockaddr_storage *peer)
{
	long long start = clock_ms();
	enum conn_end end;
	struct conn conn;

	if (conn_open(&conn, fd, svc->buffer_size, svc->max_line,
	        svc->idle_timeout) == -1) {
		log_warn("service %s: connection", svc->name);
		close(fd);
		return;
	}
	conn.signal_fd = signal_fd;
	conn.on_signal = take_signals;
	conn.stop = &stop_requested;
	addr_format(
	    (const struct sockaddr *)peer, conn.peer, sizeof(conn.peer));
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
	         "end=%s",
	    svc->name, conn.peer, conn.bytes_in, conn.bytes_out,
	    (double)(clock_ms() - start) / 1000, proto_end_name(end));
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
		nanosleep(
		    &(struct timespec){ 0, ACCEPT_RETRY_MS * 1000000L }, NULL);
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
accept_loop(const struct service *svc)
{
	struct epoll_event events[16];

	while (!quit_requested && !stop_requested) {
		int n;

		if (reopen_requested)
			reopen_log();
		n = epoll_wait(epoll_fd, events, 16, -1);
		if (n == -1 && errno != EINTR)
			fatal(WORKER_EXIT_SICK, "service %s: epoll_wait",
			    svc->name);
		for (int i = 0; i < n; i++)
			if (events[i].data.u32 == SIGNAL_TAG)
				take_signals();
		for (int i = 0; i < n && !quit_requested && !stop_requested;
		     i++) {
			uint32_t tag = events[i].data.u32;
			if (tag != SIGNAL_TAG && listen_fds[tag] != -1)
				accept_one(svc, listen_fds[tag]);
		}
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
    struct listener_set *listeners, const struct worker_ids *ids, pid_t master,
    unsigned generation)
{
	const struct service *svc = &conf->services[index];

	setup_signals();
	follow_master(master);
	set_title(svc, generation);
	daemon_pidfile_drop();
	own_listeners(svc, listeners);
	if (ids->uid != 0) {
		if (daemon_drop_privileges(ids->uid, ids->gid) == -1)
			exit(WORKER_EXIT_FATAL);
		/* setuid() cleared the death signal: set it, and check, again.
		 */
		follow_master(master);
	}
	log_debug("started, serving %zu address(es)", svc->naddrs);
	accept_loop(svc);
	log_debug("exiting");
	exit(WORKER_EXIT_OK);
}
