/*
 * A worker: accept one client, serve it to the end, log one access line,
 * repeat -- or, on a UDP socket, receive one datagram and answer it.  It blocks where the design says it should -- in accept() when its
 * service has one listening socket (in epoll_wait() when it has several),
 * then in recv() and send() on the client -- and signals reach it through
 * EINTR.  Its handler sets a flag and makes sure no blocking call can sleep
 * through it:
 *
 *   SIGQUIT  stop listening, finish the current client, then exit
 *            (reload, graceful stop)
 *   SIGTERM  drop the client and exit now (fast stop, master gone)
 *
 * A worker never opens a log file: it writes to the descriptors it
 * inherited, and the master turns the pool over when they change (see
 * reopen in master.c).  SIGUSR1 is ignored.
 *
 * "Stop listening" points every listening descriptor (and the epoll one) at
 * /dev/null with dup2(): a wait already under way is interrupted by the
 * signal, and one that had not yet begun fails at once, so a signal that
 * lands between checking the flags and blocking is never lost.  SIGTERM
 * also shuts the client's socket down, which wakes a recv() or send() the
 * same way.  A worker woken for a client accepts it even when told to quit
 * at that moment (the kernel hands over a queued client before it reports a
 * signal), so no client is stranded in the queue.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
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

#include "access.h"
#include "client.h"
#include "clock.h"
#include "config.h"
#include "conn.h"
#include "daemon.h"
#include "dgram.h"
#include "listener.h"
#include "log.h"
#include "proto.h"
#include "scoreboard.h"
#include "worker.h"

/* Back off this long when accept() fails for lack of resources. */
#define ACCEPT_RETRY_MS 100
#define MAX_EVENTS 16
/* A worker serving datagrams logs a summary at least this often. */
#define UDP_SUMMARY_MS 60000
/* A worker logs max_per_source refusals of one source at most this
 * often, and of any source at most once per REFUSAL_ANY_MS. */
#define REFUSAL_SOURCE_MS 60000
#define REFUSAL_ANY_MS 1000

static volatile sig_atomic_t quit_requested;
static volatile sig_atomic_t stop_requested;
/* The client being served, for the SIGTERM handler; -1 when idle. */
static volatile sig_atomic_t client_fd = -1;

/* Set up before signals are unblocked, read-only after: */
static int null_fd = -1;  /* /dev/null, dup2()ed over what we stop using */
static int epoll_fd = -1; /* -1 when the service has one listener */
static int *listen_fds;   /* this service's listening sockets */
/* Where listen_fds points for a service with few addresses: among the other
 * statics a worker writes anyway, rather than on a page of its own. */
#define FEW_LISTENERS 8
static int few_listen_fds[FEW_LISTENERS];
static size_t nlisten;
static int my_slot = -1;    /* ours in the scoreboard */
static const char *my_name; /* the service's, for the process title */
static bool dynamic_pool;   /* the master sizes the pool by idle workers */
static struct conn_limits limits; /* the service's, for every connection */
/* Connections to serve before asking the master to be recycled (0:
 * never), and served so far. */
static unsigned long my_quota, served;

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
		fatal(WORKER_EXIT_FATAL, "prctl(PR_SET_PDEATHSIG)");
	if (getppid() != master)
		exit(WORKER_EXIT_OK);
}

/* With several listeners, wait on all of them in one epoll instance;
 * EPOLLEXCLUSIVE wakes one idle worker per client, not all of them. */
static void
watch_listeners(const struct service *svc)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE };

	if ((epoll_fd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal(WORKER_EXIT_SICK, "service %s: epoll", svc->name);
	for (size_t i = 0; i < nlisten; i++) {
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fds[i], &ev) ==
		    -1)
			fatal(WORKER_EXIT_SICK, "service %s: epoll", svc->name);
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
		fatal(WORKER_EXIT_SICK, "service %s: listeners", svc->name);
	for (size_t i = 0; i < svc->naddrs; i++)
		if ((listen_fds[i] = listener_fd(all, &svc->addrs[i])) == -1)
			log_bug("service %s: %s was not bound", svc->name,
			    svc->listen[i]);
	nlisten = svc->naddrs;
	listener_close_others(all, listen_fds, svc->naddrs);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd == -1)
		fatal(WORKER_EXIT_SICK, "open /dev/null");
	if (nlisten > 1)
		watch_listeners(svc);
}

/* May peer use svc?  Not when a deny block holds it; when there are allow
 * blocks, only when one holds it. */
static bool
allowed(const struct service *svc, const struct sockaddr *peer)
{
	for (size_t i = 0; i < svc->ndeny; i++)
		if (addr_cidr_match(&svc->deny[i], peer))
			return false;
	for (size_t i = 0; i < svc->nallow; i++)
		if (addr_cidr_match(&svc->allow[i], peer))
			return true;
	return svc->nallow == 0;
}

/* "preforkd: worker echo [busy 127.0.0.1:51234]": what ps shows.  No
 * system call: the title is argv's memory. */
static void
show_state(const char *state, const char *client)
{
	char title[160];

	snprintf(title, sizeof(title), "preforkd: worker %s [%s%s%s]", my_name,
	    state, client != NULL ? " " : "", client != NULL ? client : "");
	daemon_title_set(title);
}

/*
 * In a dynamic pool, wake the master only when the count of idle workers
 * (idle, after this worker counted itself in or out by delta) may have
 * crossed a spare threshold: one write() then, no system call otherwise.
 * A fixed pool wakes it when its last idle worker takes a client, unless
 * the master already knows the pool is full.  Called once the slot shows
 * the new state, which is what the master counts.
 */
static void
wake_master_if(const struct service *svc, int delta, int32_t idle)
{
	if (idle == INT32_MIN)
		return;
	if (!dynamic_pool) {
		/* <= 0: the count is a hint, and may run low. */
		if (delta < 0 && idle <= 0 &&
		    scoreboard_wake_when_full(my_slot))
			scoreboard_poke();
		return;
	}
	if ((delta < 0 && idle < svc->min_spare) ||
	    (delta > 0 && svc->max_spare > 0 && idle > svc->max_spare))
		scoreboard_poke();
}

/* The last max_per_source refusal this worker logged, and how many it
 * has made since without a line. */
static struct {
	struct addr_source source;
	long long at;
	unsigned long long quiet;
} refusals;

/* One line per source per burst: a flood from one address, or from many,
 * cannot flood the log (the access lines are the full record). */
static void
log_refusal(const struct service *svc, const struct addr_source *source)
{
	long long now = clock_ms();
	char text[ADDR_STRLEN];

	if (refusals.at != 0 &&
	    (now - refusals.at < REFUSAL_ANY_MS ||
	        (addr_source_equal(source, &refusals.source) &&
	            now - refusals.at < REFUSAL_SOURCE_MS))) {
		refusals.quiet++;
		return;
	}
	log_warnx("service %s: max_per_source = %d reached for %s: refusing "
	          "(%llu more refused since this worker last said so)",
	    svc->name, svc->max_per_source,
	    addr_source_format(source, text, sizeof(text)), refusals.quiet);
	refusals.source = *source;
	refusals.at = now;
	refusals.quiet = 0;
}

/*
 * max_per_source: count the client at address client against its source,
 * across every worker of the service.  client is the one address the limit
 * applies to: the peer, or the real client that a PROXY header names once
 * it has been read.  true to serve it; false once the client has been told
 * why not.
 */
static bool
source_admitted(
    const struct service *svc, struct conn *conn, const struct sockaddr *client)
{
	static const char refusal[] =
	    "error: too many connections from your address\n";
	struct addr_source source;

	if (svc->max_per_source == 0)
		return true;
	addr_source_of(client, (unsigned)svc->source_prefix6, &source);
	if (source.family == 0)
		return true; /* not an IP client: nothing to count by */
	if (scoreboard_source_enter(my_slot, &source) <=
	    (unsigned)svc->max_per_source)
		return true;
	log_refusal(svc, &source);
	/* One line, then close.  What the client sent already is dropped
	 * so the close does not reset the line away; more is not waited for,
	 * as lingering would hand the worker to the very source refused. */
	if (conn_send_all(conn, refusal, sizeof(refusal) - 1) == 0)
		conn_drop_pending(conn);
	return false;
}

/* conn's on_moved: the slot shows the connection's bytes as they move. */
static void
show_progress(const struct conn *conn)
{
	scoreboard_progress(my_slot, conn->bytes_in, conn->bytes_out);
}

/*
 * Whether to serve the client: not when told to stop, not without a valid
 * PROXY header from a trusted proxy when the listener wants one, not when
 * allow/deny or max_per_source refuse the client (the real one, behind a
 * proxy) -- all before any byte of service.  *end says why not.
 */
static bool
admit(const struct service *svc, struct conn *conn, struct client *c,
    bool proxied, long long start, enum conn_end *end)
{
	if (stop_requested) {
		*end = END_SHUTDOWN; /* told before client_fd was set */
		return false;
	}
	if (proxied) {
		if (client_read_proxy(c, conn, svc) == -1) {
			*end = conn->end;
			return false;
		}
		/* The slot and the title name the real client from now on. */
		scoreboard_busy(my_slot, c->name, start);
		show_state("busy", c->name);
	}
	if (!allowed(svc, (const struct sockaddr *)&c->addr)) {
		*end = END_REFUSED;
		return false;
	}
	if (!source_admitted(svc, conn, (const struct sockaddr *)&c->addr)) {
		*end = END_PER_SOURCE;
		return false;
	}
	return true;
}

/* The banner, if any, then the protocol to the connection's end. */
static enum conn_end
serve_protocol(const struct service *svc, struct conn *conn)
{
	if (svc->banner != NULL &&
	    conn_send_all(conn, svc->banner, strlen(svc->banner)) == -1)
		return conn->end;
	return proto_of(svc)->serve(conn, svc);
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

/* The service's limits, as conn.c wants them. */
static void
set_limits(const struct service *svc)
{
	limits.idle_ms = svc->idle_timeout * 1000LL;
	limits.send_ms = svc->send_timeout * 1000LL;
	limits.session_ms = svc->max_session * 1000LL;
	limits.min_rate = (unsigned long long)svc->min_rate;
	limits.window_ms = svc->min_rate_window * 1000LL;
}

static void
serve_client(const struct service *svc, const struct conn_buffers *bufs,
    int fd, const struct sockaddr_storage *peer, bool proxied)
{
	struct access access;
	struct client client;
	int32_t idle;
	enum conn_end end;
	struct conn conn;

	conn_open(&conn, fd, bufs, &stop_requested);
	conn.on_moved = show_progress;
	client_fd = fd;
	addr_format(
	    (const struct sockaddr *)peer, conn.peer, sizeof(conn.peer));
	client_from_peer(&client, peer, conn.peer);
	access_begin(&access, &conn);
	conn_limit(&conn, &limits, access.start_ms);
	/* Out of the count before the slot says busy, into it after the
	 * slot says idle: a worker killed in between leaves the count low,
	 * which costs a wake-up too many, never one too few. */
	idle = scoreboard_idle_hint(my_slot, -1);
	scoreboard_busy(my_slot, client.name, access.start_ms);
	wake_master_if(svc, -1, idle);
	show_state("busy", client.name);
	if (admit(svc, &conn, &client, proxied, access.start_ms, &end))
		end = serve_protocol(svc, &conn);
	/* A linger may take up to 2 s without a byte: not stuck. */
	show_progress(&conn);
	conn_finish(&conn, end);
	access_log(&access, svc, &conn, &client, end);
	/* Forget the descriptor before closing it: the handler must never
	 * shut down a number that has been reused. */
	client_fd = -1;
	conn_close(&conn);
	/* The connection's bytes join the worker's totals. */
	scoreboard_idle(my_slot, conn.bytes_in, conn.bytes_out, clock_ms());
	wake_master_if(svc, 1, scoreboard_idle_hint(my_slot, 1));
	show_state(quit_requested ? "quitting" : "idle", NULL);
	count_served();
}

/* Datagrams served since the last summary line, and when that was. */
static struct {
	unsigned long long count, in, out, cut, failed, refused;
	long long since;
} udp;

/* One info line for many datagrams, so a flood cannot flood the log. */
static void
log_udp_summary(const struct service *svc)
{
	if (udp.count == 0 && udp.refused == 0)
		return;
	log_access("datagrams service=%s count=%llu in=%llu out=%llu cut=%llu "
	           "failed=%llu refused=%llu",
	    svc->name, udp.count, udp.in, udp.out, udp.cut, udp.failed,
	    udp.refused);
	memset(&udp, 0, sizeof(udp));
	udp.since = clock_ms();
}

static void
count_datagram(const struct service *svc, const struct dgram *d, bool sent)
{
	udp.count++;
	udp.in += d->full_len;
	udp.out += d->sent;
	udp.cut += d->cut > 0 || d->full_len > d->len;
	udp.failed += !sent;
	log_debug("datagram service=%s client=%s in=%zu out=%zu%s%s",
	    svc->name, d->peer_name, d->full_len, d->sent,
	    d->full_len > d->len ? " (input cut to buffer_size)" : "",
	    d->cut > 0 ? " (answer cut to fit a datagram)" : "");
	if (clock_ms() - udp.since >= UDP_SUMMARY_MS)
		log_udp_summary(svc);
}

/* Receive one datagram on fd and answer it; as accept_one. */
static int
serve_datagram(const struct service *svc, const struct conn_buffers *bufs,
    int fd)
{
	struct dgram_answer answer = { .iovcnt = 0 };
	struct dgram d;
	bool sent = true;
	int got = dgram_recv(&d, fd, bufs->chunk, bufs->chunk_size);

	if (got != 1) {
		if (got == -1 && !quit_requested && !stop_requested)
			log_warn("service %s: recvfrom", svc->name);
		return -1;
	}
	if (!allowed(svc, (const struct sockaddr *)&d.peer)) {
		log_debug("datagram service=%s client=%s refused", svc->name,
		    d.peer_name);
		udp.refused++;
		return 0;
	}
	proto_of(svc)->answer(svc, &d, bufs->chunk, &answer);
	if (answer.iovcnt > 0 &&
	    dgram_send(&d, answer.iov, answer.iovcnt) == -1) {
		/* The sender may be gone (ICMP unreachable): its problem. */
		log_debug("service %s: send to %s: %s", svc->name,
		    d.peer_name, strerror(errno));
		sent = false;
	}
	count_datagram(svc, &d, sent);
	return 0;
}

/* accept() failures in a row for want of descriptors or memory. */
static unsigned long long shortage;

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

/* Accept on lfd and serve the client, after its PROXY header when
 * proxied; 0, or -1 when accept() failed. */
static int
accept_one(const struct service *svc, const struct conn_buffers *bufs,
    int lfd, bool proxied)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	int fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);

	if (fd == -1) {
		accept_failed(svc, errno);
		return -1;
	}
	accept_works(svc);
	serve_client(svc, bufs, fd, &peer, proxied);
	return 0;
}

/* Serve what is waiting on listener i, a client or a datagram: 0, or -1
 * (errno EAGAIN when nothing was waiting). */
static int
serve_listener(
    const struct service *svc, const struct conn_buffers *bufs, size_t i)
{
	if (svc->addrs[i].socktype == SOCK_DGRAM)
		return serve_datagram(svc, bufs, listen_fds[i]);
	return accept_one(svc, bufs, listen_fds[i],
	    svc->proxy_protocol || svc->addrs[i].proxy);
}

/*
 * One listener: block in accept() (or recvfrom()) itself.  The listener is
 * blocking (see listener.c), but a reload may have made it non-blocking for
 * a new generation; then wait for it in poll() rather than spin.
 */
static void
accept_loop_single(const struct service *svc, const struct conn_buffers *bufs)
{
	while (!quit_requested && !stop_requested) {
		if (serve_listener(svc, bufs, 0) == -1 && errno == EAGAIN)
			poll(&(struct pollfd){ .fd = listen_fds[0],
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
sweep_listeners(const struct service *svc, const struct conn_buffers *bufs)
{
	for (size_t i = 0; i < nlisten && !stop_requested; i++) {
		struct pollfd pfd = { .fd = listen_fds[i], .events = POLLIN };
		if (poll(&pfd, 1, 0) == 1 && pfd.revents == POLLIN)
			serve_listener(svc, bufs, i);
	}
	stop_listening();
}

/* Several listeners: wait in epoll, accept from each that is ready. */
static void
accept_loop_multi(const struct service *svc, const struct conn_buffers *bufs)
{
	struct epoll_event events[MAX_EVENTS];

	while (!quit_requested && !stop_requested) {
		int n;

		n = epoll_wait(epoll_fd, events, MAX_EVENTS, -1);
		if (n == -1 && errno != EINTR && !quit_requested &&
		    !stop_requested)
			fatal(WORKER_EXIT_SICK, "service %s: epoll_wait",
			    svc->name);
		for (int i = 0; i < n && !stop_requested; i++)
			serve_listener(svc, bufs, events[i].data.u32);
	}
	sweep_listeners(svc, bufs);
}

static void
set_title(const struct service *svc, unsigned generation)
{
	char title[128];

	my_name = svc->name;
	show_state("starting", NULL);
	snprintf(title, sizeof(title), "worker %s#%u", svc->name, generation);
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
    struct listener_set *listeners, const struct worker_ids *ids, pid_t master,
    unsigned generation, int slot, unsigned long quota)
{
	const struct service *svc = &conf->services[index];
	struct conn_buffers bufs;

	release_stack_below(2); /* two for the calls made now */
	my_slot = slot;
	my_quota = quota;
	set_limits(svc);
	dynamic_pool = svc->min_spare > 0 || svc->max_spare > 0;
	scoreboard_worker_init();
	setup_signals();
	follow_master(master);
	set_title(svc, generation);
	daemon_pidfile_drop();
	own_listeners(svc, listeners);
	if (conn_buffers_init(&bufs, svc->buffer_size,
	        proto_line_buffer(svc)) == -1)
		fatal(WORKER_EXIT_SICK, "service %s: buffers", svc->name);
	if (ids->change) {
		if (daemon_drop_privileges(ids->uid, ids->gid) == -1)
			exit(WORKER_EXIT_FATAL);
		/* setuid() cleared the death signal: set it, and check, again.
		 */
		follow_master(master);
	}
	log_debug("started, serving %zu address(es)", svc->naddrs);
	if (quota > 0)
		log_debug("asks to be recycled after %lu connections "
		          "(max_requests %d)",
		    quota, svc->max_requests);
	udp.since = clock_ms();
	/* The title first: whoever sees the slot idle (the master, which
	 * recycles the next worker then) sees the title say so too. */
	show_state("idle", NULL);
	scoreboard_set_state(my_slot, SB_IDLE);
	wake_master_if(svc, 1, scoreboard_idle_hint(my_slot, 1));
	/* Only the accept loop's own frames from here until a client comes. */
	release_stack_below(1);
	unblock_signals();
	if (nlisten == 1)
		accept_loop_single(svc, &bufs);
	else
		accept_loop_multi(svc, &bufs);
	scoreboard_idle_hint(my_slot, -1);
	scoreboard_set_state(my_slot, SB_QUITTING);
	show_state("quitting", NULL);
	log_udp_summary(svc);
	log_debug("exiting");
	exit(WORKER_EXIT_OK);
}
