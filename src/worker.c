/*
 * One worker's life: set up after fork(), wait for a client, take it, hand
 * it on -- to worker_stream.c for a connection, worker_dgram.c for a
 * datagram -- and exit when told (the statuses are exitcode.h's).  What it
 * shows of itself is worker_slot.c's, who may be served worker_admit.c's.
 *
 * It blocks where the design says it should -- in accept() when it watches
 * one listening socket (in epoll_wait() when it watches several),
 * then in recv() and send() on the client -- and signals reach it through
 * EINTR.  Its handler sets a flag and makes sure no blocking call can sleep
 * through it:
 *
 *   SIGQUIT  stop listening, finish the current client, then exit
 *            (reload, graceful stop)
 *   SIGTERM  drop the client and exit now (fast stop, master gone)
 *
 * A worker never opens a log file: it writes to the descriptors it
 * inherited, and the master turns the pool over when they change (its
 * reopen).  SIGUSR1 is ignored.
 *
 * "Stop listening" points every listening descriptor (and the epoll one) at
 * /dev/null with dup2(): a wait already under way is interrupted by the
 * signal, and one that had not yet begun fails at once, so a signal that
 * lands between checking the flags and blocking is never lost.  SIGTERM
 * also shuts the client's socket down, which wakes a recv() or send() the
 * same way.  A worker woken for a client accepts it even when told to quit
 * at that moment (the kernel hands over a queued client before it reports a
 * signal), so no client is stranded in the queue.
 *
 * A worker watches every listener of its service, but where the service
 * has datagram-only workers (udp_workers, for one that listens on streams
 * and datagrams both): they watch its datagram sockets, and the others its
 * streams, so a datagram never waits for a worker that a stream holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "daemon.h"
#include "dgram.h"
#include "listener.h"
#include "log.h"
#include "proto.h"
#include "sandbox.h"
#include "scoreboard.h"
#include "unforked.h"
#include "worker.h"
#include "worker_admit.h"
#include "worker_dgram.h"
#include "worker_exec.h"
#include "worker_slot.h"
#include "worker_stream.h"

/* Back off this long when accept() fails for lack of resources. */
#define ACCEPT_RETRY_MS 100
#define MAX_EVENTS 16

static volatile sig_atomic_t quit_requested WORKER_DATA;
static volatile sig_atomic_t stop_requested WORKER_DATA;
/* The client being served, for the SIGTERM handler; -1 when idle. */
static volatile sig_atomic_t client_fd WORKER_DATA = -1;

/* Set up before signals are unblocked, read-only after: */
static int null_fd WORKER_DATA =
    -1; /* /dev/null, dup2()ed over what we stop using */
static int epoll_fd WORKER_DATA = -1; /* -1 when the service has one listener */
static int *listen_fds WORKER_DATA;   /* this service's listening sockets */
/* Where listen_fds points for a service with few addresses: among the other
 * statics a worker writes anyway, rather than on a page of its own. */
#define FEW_LISTENERS 8
static int few_listen_fds[FEW_LISTENERS] WORKER_DATA;
static size_t nlisten WORKER_DATA;
/* The listeners it waits on (watches), how many, and the one when only
 * one is. */
static bool dgram_worker WORKER_DATA;
static size_t nwatch WORKER_DATA, only_watched WORKER_DATA;
/* Connections to serve before asking the master to be recycled (0:
 * never), and served so far. */
static unsigned long my_quota WORKER_DATA, served WORKER_DATA;

/*
 * Stop listening, from the handler or the loop: each listening descriptor
 * becomes /dev/null.  The numbers stay taken (nothing ever close()s them),
 * so a later signal can never dup2() over a descriptor opened since.
 */
static void
stop_listening(void)
{
	for (size_t i = 0; i < nlisten; i++)
		dup2(null_fd, listen_fds[i]);
	if (epoll_fd != -1)
		dup2(null_fd, epoll_fd);
}

/*
 * Make sure no blocking call sleeps through a stop or a quit: from the
 * handler, so one async-signal-safe call or two, chosen by what the worker
 * is doing.
 */
static void
interrupt_waits(void)
{
	if (client_fd != -1) {
		/* Busy: no wake-up of ours can be pending; refuse new clients
		 * now, and on SIGTERM wake the recv() or send(). */
		if (stop_requested)
			shutdown(client_fd, SHUT_RDWR);
		stop_listening();
	} else if (epoll_fd != -1) {
		/* Idle in epoll: EPOLLEXCLUSIVE may have woken only us for a
		 * client, so keep the listeners for the loop's last sweep. */
		dup2(null_fd, epoll_fd);
	} else {
		/* Idle in accept(): the kernel hands over a client it woke us
		 * for before it reports the signal. */
		stop_listening();
	}
}

static void
on_signal(int signo)
{
	int saved_errno = errno;

	if (signo == SIGTERM)
		stop_requested = 1;
	else
		quit_requested = 1;
	interrupt_waits();
	errno = saved_errno;
}

/* Install the worker's handlers (no SA_RESTART: a blocked call must return
 * EINTR); the signals stay blocked, as the master forked us, until
 * unblock_signals. */
static void
setup_signals(void)
{
	static const int handled[] = { SIGQUIT, SIGTERM };
	static const int ignored[] = { SIGHUP, SIGINT, SIGPIPE, SIGTTIN,
		SIGTTOU, SIGUSR1 };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigfillset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaction(handled[i], &sa, NULL);
	sa.sa_handler = SIG_IGN;
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		sigaction(ignored[i], &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
}

static void
unblock_signals(void)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Die with the master, and make sure it has not died already. */
static void
follow_master(pid_t master)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		fatal(WORKER_EXIT_FATAL,
		    "worker of master %ld: prctl(PR_SET_PDEATHSIG)",
		    (long)master);
	if (getppid() != master)
		exit(WORKER_EXIT_OK);
}

/* Does this worker wait on listener i of svc?  See the top. */
static bool
watches(const struct service *svc, size_t i)
{
	return config_dgram_workers(svc) == 0 ||
	       (svc->addrs[i].socktype == SOCK_DGRAM) == dgram_worker;
}

/* With several listeners, wait on all of them in one epoll instance;
 * EPOLLEXCLUSIVE wakes one idle worker per client, not all of them. */
static void
watch_listeners(const struct service *svc)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE };

	if ((epoll_fd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal(WORKER_EXIT_SICK, "service %s: epoll_create1", svc->name);
	for (size_t i = 0; i < nlisten; i++) {
		if (!watches(svc, i))
			continue;
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fds[i], &ev) ==
		    -1)
			fatal(WORKER_EXIT_SICK, "service %s: epoll_ctl %s",
			    svc->name, svc->listen[i]);
	}
}

/* Keep this service's listening sockets and close the rest. */
static void
own_listeners(const struct service *svc, const struct listener_set *all)
{
	/* Many: mapped, not calloc()ed (see conn_buffers_init). */
	listen_fds = svc->naddrs <= FEW_LISTENERS
	                 ? few_listen_fds
	                 : mmap(NULL, svc->naddrs * sizeof(*listen_fds),
	                       PROT_READ | PROT_WRITE,
	                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (listen_fds == MAP_FAILED)
		fatal(WORKER_EXIT_SICK,
		    "service %s: room for %zu listening descriptors", svc->name,
		    svc->naddrs);
	for (size_t i = 0; i < svc->naddrs; i++)
		if ((listen_fds[i] = listener_fd(all, &svc->addrs[i])) == -1)
			log_bug("service %s: %s was not bound", svc->name,
			    svc->listen[i]);
	nlisten = svc->naddrs;
	listener_close_others(all, listen_fds, svc->naddrs);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd == -1)
		fatal(
		    WORKER_EXIT_SICK, "service %s: open /dev/null", svc->name);
	for (size_t i = 0; i < nlisten; i++)
		if (watches(svc, i)) {
			only_watched = i;
			nwatch++;
		}
	if (nwatch > 1)
		watch_listeners(svc);
}

/*
 * max_requests: once the quota is served, ask the master to recycle this
 * worker (the slot's count of connections says which one) and go on
 * serving until it does -- it lets only a few of a pool go at once, and
 * only idle ones, so each connection that ends asks again, while the slot
 * says idle.
 */
static void
count_served(void)
{
	if (my_quota == 0 || ++served < my_quota)
		return;
	if (served == my_quota)
		log_debug("served %lu connections (max_requests): asking to "
		          "be recycled",
		    served);
	scoreboard_poke();
}

/* accept() failures in a row for want of descriptors or memory. */
static unsigned long long shortage WORKER_DATA;

/* What to do after accept() failed with err: lost races, aborted clients,
 * signals and the network errors accept(2) says to retry are normal; a
 * shortage of descriptors or memory is waited out, logged once. */
static void
accept_failed(const struct service *svc, int err)
{
	switch (err) {
	case EAGAIN:
	case EINTR:
	case ECONNABORTED:
	case EPERM:
	/* Pending network errors of the new connection: retry. */
	case EPROTO:
	case ENOPROTOOPT:
	case ENETDOWN:
	case ENETUNREACH:
	case EHOSTDOWN:
	case EHOSTUNREACH:
	case ENONET:
	case EOPNOTSUPP:
		return;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		if (shortage++ == 0)
			log_warn("service %s: accept (retrying every %d ms, "
			         "logged once until it works again)",
			    svc->name, ACCEPT_RETRY_MS);
		/* Let resources come back rather than spin on a ready fd. */
		nanosleep(
		    &(struct timespec){ 0, ACCEPT_RETRY_MS * 1000000L }, NULL);
		return;
	default:
		/* The listener became /dev/null: we were told to stop. */
		if (quit_requested || stop_requested)
			return;
		errno = err;
		fatal(WORKER_EXIT_SICK, "service %s: accept", svc->name);
	}
}

/* A client was accepted: say so if accept() had been failing. */
static void
accept_works(const struct service *svc)
{
	if (shortage == 0)
		return;
	log_notice("service %s: accept works again after %llu failures",
	    svc->name, shortage);
	shortage = 0;
}

/*
 * Serve the client accepted as fd from peer: admitted, unless the worker
 * was told to stop meanwhile, or allow/deny, max_per_source or the PROXY
 * header (when proxied) refuse it; then served; then closed.
 */
static void
take_client(const struct worker_stream *ws, int fd,
    const struct sockaddr_storage *peer, const struct addr *bound, bool proxied)
{
	struct worker_stream_conn sc;
	enum admit_end admitted;

	worker_stream_open(ws, &sc, fd, peer, bound);
	if (stop_requested) {
		sc.conn.end = END_SHUTDOWN; /* told before client_fd was set */
		admitted = ADMIT_CONN;
	} else
		admitted = worker_admit(ws->svc, ws->slot, &sc.conn, &sc.client,
		    proxied, sc.access.start_ms);
	if (admitted == ADMIT_OK && worker_exec_is(ws->svc)) {
		/* A program that cannot start: let the master throttle us. */
		if (worker_exec_serve(ws, &sc) == -1) {
			worker_slot_quit(ws->slot);
			exit(WORKER_EXIT_SICK);
		}
		count_served();
		return;
	}
	if (admitted == ADMIT_OK)
		worker_stream_serve(ws, &sc);
	else if (admitted == ADMIT_CONN)
		sc.end = sc.conn.end;
	/* A refusal's word, or NULL: sc.end says how it ended. */
	worker_stream_close(ws, &sc, worker_admit_end_name(admitted));
	count_served();
}

/* Accept on lfd and serve the client, after its PROXY header when
 * proxied; 0, or -1 when accept() failed. */
static int
accept_one(const struct worker_stream *ws, int lfd, const struct addr *bound,
    bool proxied)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	int fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);

	if (fd == -1) {
		accept_failed(ws->svc, errno);
		return -1;
	}
	accept_works(ws->svc);
	take_client(ws, fd, &peer, bound, proxied);
	return 0;
}

/* Receive one datagram on lfd and answer it, unless allow/deny refuses
 * its sender; as accept_one. */
static int
receive_one(const struct worker_stream *ws, int lfd)
{
	const struct service *svc = ws->svc;
	struct dgram d;
	int got = dgram_recv(&d, lfd, ws->bufs->chunk, ws->bufs->chunk_size);

	if (got != 1) {
		if (got == -1 && !quit_requested && !stop_requested)
			log_warn("service %s: recvfrom", svc->name);
		return -1;
	}
	if (worker_admit_allowed(svc, (const struct sockaddr *)&d.peer))
		worker_dgram_answer(svc, &d, ws->bufs->chunk);
	else
		worker_dgram_refused(svc, &d);
	return 0;
}

/* Serve what is waiting on listener i, a client or a datagram: 0, or -1
 * (errno EAGAIN when nothing was waiting). */
static int
serve_listener(const struct worker_stream *ws, size_t i)
{
	const struct service *svc = ws->svc;

	if (svc->addrs[i].socktype == SOCK_DGRAM)
		return receive_one(ws, listen_fds[i]);
	return accept_one(ws, listen_fds[i], &svc->addrs[i],
	    svc->proxy_protocol || svc->addrs[i].proxy);
}

/*
 * One listener: block in accept() (or recvfrom()) itself.  The listener is
 * blocking (see listener.c), but a reload may have made it non-blocking for
 * a new generation; then wait for it in poll() rather than spin.
 */
static void
accept_loop_single(const struct worker_stream *ws)
{
	while (!quit_requested && !stop_requested) {
		if (serve_listener(ws, only_watched) == -1 && errno == EAGAIN)
			poll(&(struct pollfd){ .fd = listen_fds[only_watched],
			         .events = POLLIN },
			    1, -1);
	}
}

/*
 * A worker told to quit may have taken the only wake-up for a client that
 * is still queued: it serves what is waiting on each listener once, then
 * stops listening.  poll() first, because a reload may have made a kept
 * listener blocking.
 */
static void
sweep_listeners(const struct worker_stream *ws)
{
	for (size_t i = 0; i < nlisten && !stop_requested; i++) {
		struct pollfd pfd = { .fd = listen_fds[i], .events = POLLIN };
		if (watches(ws->svc, i) && poll(&pfd, 1, 0) == 1 &&
		    pfd.revents == POLLIN)
			serve_listener(ws, i);
	}
	stop_listening();
}

/* Several listeners: wait in epoll, accept from each that is ready. */
static void
accept_loop_multi(const struct worker_stream *ws)
{
	struct epoll_event events[MAX_EVENTS];

	while (!quit_requested && !stop_requested) {
		int n;

		n = epoll_wait(epoll_fd, events, MAX_EVENTS, -1);
		if (n == -1 && errno != EINTR && !quit_requested &&
		    !stop_requested)
			fatal(WORKER_EXIT_SICK, "service %s: epoll_wait",
			    ws->svc->name);
		for (int i = 0; i < n && !stop_requested; i++)
			serve_listener(ws, events[i].data.u32);
	}
	sweep_listeners(ws);
}

/* Room for a title: worker_slot_title's longest, and its NUL. */
#define TITLE_ROOM 160

static void
set_title(const struct worker_slot *ws, unsigned generation, char *room)
{
	char title[128];

	daemon_title_own(room, TITLE_ROOM);
	worker_slot_title(ws, "starting", NULL);
	snprintf(
	    title, sizeof(title), "worker %s#%u", ws->svc->name, generation);
	log_set_role(title);
}

/* How much stack below its frame a worker lets go of, at most. */
#define STACK_RELEASE (1024 * 1024)

/*
 * Let go of the stack pages more than keep pages below the caller's frame:
 * any we reach later come back zero-filled.  Right after fork() they hold
 * only the master's dead frames, but are shared with the master, which
 * goes on using them: every page it writes there would become a private
 * copy of ours, kept for nothing.  Once a worker is set up, they hold its
 * own dead frames (logging, setting up), which an idle worker need not
 * keep either.  madvise() skips the part of the range that is not mapped.
 */
static void
release_stack_below(unsigned keep)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	uintptr_t top = (here & ~(page - 1)) - keep * page;

	madvise((void *)(top - STACK_RELEASE), STACK_RELEASE, MADV_DONTNEED);
}

void
worker_main(const struct config *conf, size_t index,
    const struct listener_set *listeners, const struct worker_ids *ids,
    pid_t master, unsigned generation, int slot, unsigned long quota,
    bool dgram)
{
	const struct service *svc = &conf->services[index];
	struct conn_buffers bufs;
	struct worker_slot me;
	struct worker_stream ws = { .svc = svc, .slot = &me, .bufs = &bufs };
	/* The process title, in the frame the worker never leaves and
	 * writes anyway (daemon_title_own). */
	char title_room[TITLE_ROOM];

	release_stack_below(2); /* two for the calls made now */
	my_quota = quota;
	dgram_worker = dgram;
	worker_slot_init(&me, svc, slot);
	me.spare = !dgram;
	scoreboard_worker_init();
	setup_signals();
	follow_master(master);
	set_title(&me, generation, title_room);
	daemon_pidfile_drop();
	own_listeners(svc, listeners);
	if (conn_buffers_init(
	        &bufs, svc->buffer_size, proto_line_buffer(svc)) == -1)
		fatal(WORKER_EXIT_SICK,
		    "service %s: connection buffers (buffer_size %zu)",
		    svc->name, svc->buffer_size);
	worker_stream_limits(&ws.limits, svc);
	ws.stop = &stop_requested;
	ws.quit = &quit_requested;
	ws.client_fd = &client_fd;
	if (worker_exec_init(conf, svc, ids) == -1)
		exit(WORKER_EXIT_FATAL);
	if (ids->change) {
		/* setuid() cleared the death signal: set it, and check, again.
		 */
		follow_master(master);
	}
	log_debug("started, serving %zu address(es)", svc->naddrs);
	if (quota > 0)
		log_debug("asks to be recycled after %lu connections "
		          "(max_requests %d)",
		    quota, svc->max_requests);
	worker_dgram_start(svc, listen_fds, nlisten);
	/* Everything it needs is open and its privileges are gone. */
	sandbox_enter(svc, slot);
	worker_slot_ready(&me);
	/* Only the accept loop's own frames from here until a client comes. */
	release_stack_below(1);
	unblock_signals();
	if (nwatch == 1)
		accept_loop_single(&ws);
	else
		accept_loop_multi(&ws);
	worker_slot_quit(&me);
	worker_dgram_summary(svc);
	log_debug("exiting");
	exit(WORKER_EXIT_OK);
}
