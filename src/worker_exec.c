/*
 * protocol = "exec": one program per connection, its stdin and stdout the
 * socket, its stderr a pipe into our log.  The worker accepts and admits
 * the client as for any service (worker.c, worker_admit.c), then starts
 * the program (program.c) and watches it to its end, without relaying a
 * byte (why this file is long: one run's parts share struct run, more
 * below):
 *
 *   - the program's group gets SIGTERM, then SIGKILL after kill_timeout,
 *     when max_session, idle_timeout or min_rate is hit -- progress is
 *     read from the socket's TCP_INFO, whoever holds the socket -- or when
 *     the worker is told to stop at once; the client's socket is shut down
 *     as well, so a grandchild that kept it cannot keep the client;
 *   - when the program exits, what is left of its group gets the same;
 *   - what it writes to stderr is logged line by line, escaped, with the
 *     connection's id, up to log_data_limit bytes, then one line saying
 *     how much more was not;
 *   - one access line says how it ended: its pid, exit=N or signal=NAME,
 *     and the bytes TCP_INFO counted.
 *
 * The worker is a subreaper, so what the program forks and leaves behind
 * is reaped here.  Its own signals reach it while it waits: SIGTERM and
 * SIGQUIT are blocked outside ppoll(), which unblocks them, so a flag set
 * just before the wait cannot be slept through.
 *
 * Longer than 600 lines: the environment, stderr, the counters and the
 * watch loop are one run's parts, sharing struct run; stderr (the part
 * that stands alone best) is the one to move out if it grows.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <linux/sockios.h>
#include <linux/tcp.h> /* glibc's tcp_info lacks the byte counts */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "access.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "program.h"
#include "proto_info.h"
#include "scoreboard.h"
#include "unforked.h"
#include "worker.h"
#include "worker_exec.h"
#include "worker_slot.h"
#include "worker_stream.h"

/* Variables of the connection, at most, and room for their text. */
#define CONN_VARS 16
#define CONN_TEXT 2048
/* A line of stderr longer than this is logged in pieces. */
#define ERR_LINE 1024
/* How often TCP_INFO is read for progress, at most. */
#define SAMPLE_MS 1000
/* How often a group whose leader is gone is looked at again. */
#define LEFTOVER_MS 20

/* Set up once per worker (worker_exec_init); read for each client. */
static char **envp WORKER_DATA; /* fixed part first, then the connection's */
static size_t env_fixed WORKER_DATA; /* how many of envp are the fixed part */
static char conn_text[CONN_TEXT];
static struct program prog WORKER_DATA;

/* What TCP_INFO says of the bytes of a connection. */
struct tcp_counts {
	unsigned long long in;    /* received from the client */
	unsigned long long acked; /* ours it acknowledged */
	unsigned long long out;   /* ours written: sent once, or queued */
};

/* tcpi_state values (include/net/tcp_states.h, not exported). */
enum {
	STATE_TIME_WAIT = 6,
	STATE_CLOSE_WAIT = 8,
	STATE_LAST_ACK = 9,
	STATE_CLOSING = 11
};

/* One program run, from start to end. */
struct run {
	const struct service *svc;
	const struct worker_stream *ws;
	struct worker_stream_conn *sc;
	pid_t pid; /* also its process group */
	int pidfd; /* readable once it exits; -1: look with waitpid */
	int errfd; /* its stderr; -1 once at EOF */
	bool exited, ending;
	bool counted; /* in and out are final: read before our shutdown */
	int status;
	enum conn_end end;
	long long start, kill_at; /* ms; kill_at 0: no SIGKILL due */
	long long session_end, idle_end, window_end, next_sample;
	struct tcp_counts at0;      /* TCP_INFO when it started */
	unsigned long long in, out; /* since then */
	unsigned long long acked;   /* for progress */
	unsigned long long window_bytes;
	/* stderr: the line so far, bytes logged and dropped */
	char line[ERR_LINE];
	size_t linelen;
	unsigned long long logged, dropped;
};

bool
worker_exec_is(const struct service *svc)
{
	return svc->protocol == &proto_info[PROTO_EXEC];
}

/* The environment's fixed part (program_env: pass_env's that are set,
 * PATH, env), with room after it for the connection's. */
static int
fixed_env(const struct service *svc)
{
	envp = program_env(svc, CONN_VARS, &env_fixed);
	return envp != NULL ? 0 : -1;
}

int
worker_exec_init(const struct config *conf, const struct service *svc,
    const struct worker_ids *ids)
{
	struct program_user u = { .change = false };

	/* A built-in service of the global user: as before, one group. */
	if (ids->change && svc->user == NULL && svc->group == NULL &&
	    !worker_exec_is(svc))
		return daemon_drop_privileges(ids->uid, ids->gid);
	if (ids->change &&
	    (program_user_of(conf, svc, &u) == -1 || program_become(&u) == -1))
		return -1;
	if (!worker_exec_is(svc))
		return 0;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) == -1 || fixed_env(svc) == -1) {
		log_error("service %s: setting up", svc->name);
		return -1;
	}
	prog.argv = svc->command;
	prog.envp = envp;
	prog.dir = svc->working_directory;
	program_limits_of(svc, prog.limits);
	prog.death_signal = SIGKILL;
	prog.sandbox = svc->sandbox;
	return 0;
}

/* ------------------------------------------------------- environment */

/* Append "NAME=value" to the connection's variables. */
static void
add_var(size_t *n, size_t *used, const char *name, const char *value)
{
	int len;

	if (*n >= CONN_VARS || *used >= sizeof(conn_text))
		return;
	len = snprintf(
	    conn_text + *used, sizeof(conn_text) - *used, "%s=%s", name, value);
	if (len < 0 || (size_t)len >= sizeof(conn_text) - *used)
		return;
	envp[env_fixed + (*n)++] = conn_text + *used;
	*used += (size_t)len + 1;
}

/* ip and port of sa as text, IPv6 without brackets; false for neither
 * family (a Unix socket). */
static bool
split(const struct sockaddr_storage *ss, char *ip, size_t iplen, char *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;
		inet_ntop(AF_INET, &s->sin_addr, ip, (socklen_t)iplen);
		snprintf(port, 8, "%u", ntohs(s->sin_port));
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;
		inet_ntop(AF_INET6, &s->sin6_addr, ip, (socklen_t)iplen);
		snprintf(port, 8, "%u", ntohs(s->sin6_port));
		return true;
	}
	return false;
}

/* The connection's variables, as tcpserver and systemd name them; and
 * behind a proxy, the proxy's in variables of their own.  No DNS. */
static void
conn_env(const struct run *r)
{
	const struct worker_stream_conn *sc = r->sc;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char ip[INET6_ADDRSTRLEN], port[8];
	size_t n = 0, used = 0;

	if (split(&sc->client.addr, ip, sizeof(ip), port)) {
		add_var(&n, &used, "PROTO", "TCP");
		add_var(&n, &used, "TCPREMOTEIP", ip);
		add_var(&n, &used, "TCPREMOTEPORT", port);
		add_var(&n, &used, "REMOTE_ADDR", ip);
		add_var(&n, &used, "REMOTE_PORT", port);
	}
	if (getsockname(sc->conn.fd, (struct sockaddr *)&ss, &len) == 0 &&
	    split(&ss, ip, sizeof(ip), port)) {
		add_var(&n, &used, "TCPLOCALIP", ip);
		add_var(&n, &used, "TCPLOCALPORT", port);
	}
	len = sizeof(ss);
	if (sc->client.proxy[0] != '\0' &&
	    getpeername(sc->conn.fd, (struct sockaddr *)&ss, &len) == 0 &&
	    split(&ss, ip, sizeof(ip), port)) {
		add_var(&n, &used, "PREFORKD_PROXY_IP", ip);
		add_var(&n, &used, "PREFORKD_PROXY_PORT", port);
	}
	add_var(&n, &used, "PREFORKD_SERVICE", r->svc->name);
	add_var(&n, &used, "PREFORKD_CONN_ID", sc->conn.id);
	envp[env_fixed + n] = NULL;
}

/* ------------------------------------------------------------ stderr */

static void
log_err_piece(struct run *r, const char *data, size_t len)
{
	char shown[4 * ERR_LINE + 1];
	size_t room = r->svc->log_data_limit > r->logged
	                  ? r->svc->log_data_limit - r->logged
	                  : 0;

	if (len > room) {
		r->dropped += len - room;
		len = room;
	}
	if (len == 0)
		return;
	r->logged += len;
	log_escape(data, len, shown, sizeof(shown));
	log_notice("service %s: id=%s pid=%ld stderr: %s", r->svc->name,
	    r->sc->conn.id, (long)r->pid, shown);
}

/* Log each whole line of what came, keep the rest for later. */
static void
take_stderr(struct run *r, const char *data, size_t len)
{
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl != NULL ? (size_t)(nl - data) : len;
		size_t room = sizeof(r->line) - r->linelen;

		if (take > room)
			take = room;
		memcpy(r->line + r->linelen, data, take);
		r->linelen += take;
		data += take;
		len -= take;
		if (len > 0 && *data == '\n') {
			data++;
			len--;
		} else if (r->linelen < sizeof(r->line)) {
			break; /* the line goes on in a later read */
		}
		log_err_piece(r, r->line, r->linelen);
		r->linelen = 0;
	}
}

/* Read what stderr has; at EOF, log the last piece and close it. */
static void
read_stderr(struct run *r)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read(r->errfd, buf, sizeof(buf));
		if (n > 0) {
			take_stderr(r, buf, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (r->linelen > 0)
			log_err_piece(r, r->line, r->linelen);
		r->linelen = 0;
		close(r->errfd);
		r->errfd = -1;
		return;
	}
}

/* ---------------------------------------------------------- watching */

/* Has the client's FIN come?  It counts one in bytes_received. */
static bool
fin_received(unsigned state)
{
	return state == STATE_CLOSE_WAIT || state == STATE_LAST_ACK ||
	       state == STATE_CLOSING || state == STATE_TIME_WAIT;
}

/* Read them from fd; false when the kernel does not say. */
static bool
tcp_counts(int fd, struct tcp_counts *c)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_retrans) +
	              sizeof(ti.tcpi_bytes_retrans))
		return false;
	c->in = ti.tcpi_bytes_received;
	if (c->in > 0 && fin_received(ti.tcpi_state))
		c->in--;
	c->acked = ti.tcpi_bytes_acked;
	c->out =
	    ti.tcpi_bytes_sent - ti.tcpi_bytes_retrans + ti.tcpi_notsent_bytes;
	return true;
}

/* Where the counts start: ours so far (a banner) are the program's, what
 * the client sent is its, but for a PROXY header, which admission took
 * off the socket and the rest (SIOCINQ) did not. */
static void
start_counts(struct run *r)
{
	int fd = r->sc->conn.fd, unread = 0;

	if (!tcp_counts(fd, &r->at0)) {
		memset(&r->at0, 0, sizeof(r->at0));
		return;
	}
	r->at0.out = 0;
	if (r->sc->client.proxy[0] == '\0' || ioctl(fd, SIOCINQ, &unread) == -1)
		r->at0.in = 0;
	else if (r->at0.in >= (unsigned long long)unread)
		r->at0.in -= (unsigned long long)unread;
}

/* The bytes moved since the program started. */
static bool
moved(struct run *r, struct tcp_counts *now)
{
	if (!tcp_counts(r->sc->conn.fd, now))
		return false;
	now->in -= now->in >= r->at0.in ? r->at0.in : now->in;
	now->acked -= now->acked >= r->at0.acked ? r->at0.acked : now->acked;
	now->out -= now->out >= r->at0.out ? r->at0.out : now->out;
	return true;
}

/* The bytes moved, for the access line, once it is over. */
static void
final_counts(struct run *r)
{
	struct tcp_counts c;

	if (!r->counted && moved(r, &c)) {
		r->in = c.in;
		r->out = c.out;
	}
}

/* End it as why: SIGTERM to the whole group (SIGKILL with no grace), the
 * client's socket shut down for whoever holds it. */
static void
begin_end(struct run *r, enum conn_end why, long long now)
{
	int sig = r->svc->kill_timeout > 0 ? SIGTERM : SIGKILL;

	if (r->ending)
		return;
	r->ending = true;
	r->end = why;
	kill(-r->pid, sig);
	/* Our FIN would count in the counters: read them first. */
	final_counts(r);
	r->counted = true;
	shutdown(r->sc->conn.fd, SHUT_RDWR);
	r->kill_at = sig == SIGTERM ? now + r->svc->kill_timeout * 1000LL : 0;
}

/* Read the counters and check idle_timeout and min_rate against them:
 * progress is a byte from the client or one of ours it acknowledged. */
static void
sample(struct run *r, long long now)
{
	const struct service *svc = r->svc;
	struct tcp_counts c;

	r->next_sample = now + SAMPLE_MS;
	if (!moved(r, &c))
		return;
	if (c.in != r->in || c.acked != r->acked) {
		r->in = c.in;
		r->acked = c.acked;
		r->out = c.out;
		if (svc->idle_timeout > 0)
			r->idle_end = now + svc->idle_timeout * 1000LL;
		scoreboard_progress(r->ws->slot->index, c.in, c.out);
	}
	if (svc->min_rate > 0 && now >= r->window_end) {
		unsigned long long bytes = c.in + c.acked - r->window_bytes;
		if (bytes * 1000 <
		    (unsigned long long)svc->min_rate *
		        (unsigned long long)(now - r->window_end +
		                             svc->min_rate_window * 1000LL))
			begin_end(r, END_TOO_SLOW, now);
		r->window_bytes = c.in + c.acked;
		r->window_end = now + svc->min_rate_window * 1000LL;
	}
}

/* Check every deadline at now. */
static void
check_deadlines(struct run *r, long long now)
{
	if (*r->ws->stop)
		begin_end(r, END_SHUTDOWN, now);
	if (r->exited && kill(-r->pid, 0) == 0)
		begin_end(r, END_CLOSED, now); /* what it left behind */
	if (r->ending) {
		if (r->kill_at != 0 && now >= r->kill_at) {
			kill(-r->pid, SIGKILL);
			r->kill_at = 0;
		}
		return;
	}
	if (now >= r->next_sample)
		sample(r, now);
	if (!r->ending && now >= r->session_end)
		begin_end(r, END_SESSION_LIMIT, now);
	if (!r->ending && now >= r->idle_end)
		begin_end(r, END_TIMEOUT, now);
}

/* Reap the program and what it left to us; true once its group is gone. */
static bool
reap(struct run *r)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if (pid == r->pid) {
			r->exited = true;
			r->status = status;
		}
	return r->exited && kill(-r->pid, 0) == -1 && errno == ESRCH;
}

static long long
earliest(long long a, long long b)
{
	return b != 0 && b < a ? b : a;
}

/* How long to wait at now: until the next deadline, or the next look. */
static int
wait_ms(const struct run *r, long long now)
{
	long long until = now + 60000;

	if (r->exited)
		until = now + LEFTOVER_MS;
	if (r->ending) {
		until = earliest(until, r->kill_at);
	} else {
		until = earliest(until, r->session_end);
		until = earliest(until, r->idle_end);
		if (r->svc->idle_timeout > 0 || r->svc->min_rate > 0)
			until = earliest(until, r->next_sample);
	}
	if (r->pidfd == -1 && until > now + LEFTOVER_MS)
		until = now + LEFTOVER_MS;
	return until > now ? (int)(until - now) : 0;
}

/* Wait for the program, its group and its stderr to end, keeping its
 * deadlines; signals are unblocked only inside ppoll(). */
static void
watch(struct run *r)
{
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGQUIT);
	sigprocmask(SIG_BLOCK, &block, &old);
	for (;;) {
		struct pollfd fds[2];
		nfds_t n = 0;
		long long now = clock_ms();
		int ms;

		if (reap(r) && r->errfd == -1)
			break;
		check_deadlines(r, now);
		if (r->errfd != -1)
			fds[n++] =
			    (struct pollfd){ .fd = r->errfd, .events = POLLIN };
		if (r->pidfd != -1 && !r->exited)
			fds[n++] =
			    (struct pollfd){ .fd = r->pidfd, .events = POLLIN };
		ms = wait_ms(r, now);
		ppoll(fds, n,
		    &(struct timespec){ ms / 1000, (ms % 1000) * 1000000L },
		    &old);
		if (r->errfd != -1)
			read_stderr(r);
		/* Its group is gone: a stderr still open is held by a process
		 * that left the group, not ours to wait for. */
		if (reap(r) && r->errfd != -1) {
			read_stderr(r);
			if (r->errfd != -1) {
				close(r->errfd);
				r->errfd = -1;
			}
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* ---------------------------------------------------------- the line */

/* "exit=0", "signal=TERM core" */
static void
describe(int status, char *buf, size_t size)
{
	const char *name;

	if (WIFEXITED(status)) {
		snprintf(buf, size, "exit=%d", WEXITSTATUS(status));
		return;
	}
	name = sigabbrev_np(WTERMSIG(status));
	if (name != NULL)
		snprintf(buf, size, "signal=%s%s", name,
		    WCOREDUMP(status) ? " core" : "");
	else
		snprintf(buf, size, "signal=%d%s", WTERMSIG(status),
		    WCOREDUMP(status) ? " core" : "");
}

static void
access_line(const struct run *r, const char *how)
{
	const struct worker_stream_conn *sc = r->sc;
	const struct access *a = &sc->access;
	const struct client *c = &sc->client;

	log_access("access service=%s client=%s%s%s in=%llu out=%llu "
	           "time=%.3fs end=%s local=%s queued=%s start=%s id=%s "
	           "pid=%ld %s",
	    r->svc->name, c->name, c->proxy[0] != '\0' ? " proxy=" : "",
	    c->proxy, r->in, r->out, (double)(clock_ms() - a->start_ms) / 1000,
	    conn_end_name(r->end), a->local, a->queued, a->start, sc->conn.id,
	    (long)r->pid, how);
}

/* Close the client and show the worker idle again. */
static void
finish(const struct run *r)
{
	const struct worker_stream *ws = r->ws;
	struct conn *conn = &r->sc->conn;

	/* What the client sent and nobody read would turn the close into
	 * a reset that could destroy the program's last answer. */
	conn_drop_pending(conn);
	*ws->client_fd = -1;
	conn_close(conn);
	scoreboard_program(ws->slot->index, 0);
	worker_slot_done(ws->slot, r->in, r->out, *ws->quit);
}

/* ------------------------------------------------------------- serve */

/* The program's stdin and stdout are the socket: no timeouts of ours on
 * it (the listener's, which accept() passed on), and blocking. */
static void
plain_socket(int fd)
{
	struct timeval none = { 0, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
}

/* Start the program for r; -1 after logging why not. */
static int
start(struct run *r)
{
	const struct service *svc = r->svc;
	struct program_failure why;
	int errpipe[2];

	if (pipe2(errpipe, O_CLOEXEC) == -1) {
		log_warn("service %s: pipe", svc->name);
		return -1;
	}
	fcntl(errpipe[0], F_SETFL, O_NONBLOCK);
	conn_env(r);
	plain_socket(r->sc->conn.fd);
	prog.fds[0] = prog.fds[1] = r->sc->conn.fd;
	prog.fds[2] = errpipe[1];
	r->pid = program_start(&prog, &why);
	close(errpipe[1]);
	if (r->pid == -1) {
		close(errpipe[0]);
		errno = why.err;
		log_error("service %s: cannot start %s (%s)", svc->name,
		    svc->command[0], why.step);
		return -1;
	}
	r->errfd = errpipe[0];
	r->pidfd = pidfd_open(r->pid, 0);
	scoreboard_program(r->ws->slot->index, r->pid);
	return 0;
}

int
worker_exec_serve(const struct worker_stream *ws, struct worker_stream_conn *sc)
{
	const struct service *svc = ws->svc;
	struct run r = { .svc = svc,
		.ws = ws,
		.sc = sc,
		.pid = 0,
		.pidfd = -1,
		.errfd = -1,
		.end = END_CLOSED };
	long long now = clock_ms();
	char how[48];

	r.start = now;
	r.session_end = svc->max_session > 0
	                    ? sc->access.start_ms + svc->max_session * 1000LL
	                    : LLONG_MAX;
	r.idle_end = svc->idle_timeout > 0 ? now + svc->idle_timeout * 1000LL
	                                   : LLONG_MAX;
	r.window_end = now + svc->min_rate_window * 1000LL;
	r.next_sample = now + SAMPLE_MS;
	start_counts(&r);
	if (svc->banner != NULL &&
	    conn_send_all(&sc->conn, svc->banner, strlen(svc->banner)) == -1) {
		r.end = sc->conn.end;
		access_line(&r, "exit=-");
		finish(&r);
		return 0;
	}
	if (start(&r) == -1) {
		r.end = END_ERROR;
		r.pid = 0;
		access_line(&r, "exit=-");
		finish(&r);
		return -1;
	}
	watch(&r);
	if (r.dropped > 0)
		log_notice("service %s: id=%s: %llu more bytes of stderr not "
		           "logged (log_data_limit = %zu)",
		    svc->name, sc->conn.id, r.dropped, svc->log_data_limit);
	if (r.pidfd != -1)
		close(r.pidfd);
	final_counts(&r);
	describe(r.status, how, sizeof(how));
	access_line(&r, how);
	finish(&r);
	return 0;
}
