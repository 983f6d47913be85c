/*
 * Listening sockets.  They are bound by the master before any worker exists
 * and matched by address across reloads (as nginx and Apache do), so an
 * address that stays in the config keeps its socket, its backlog and its
 * queued clients: a reload never refuses a connection.  UDP sockets are
 * bound the same way (and never listen()ed); one kept across a reload keeps
 * the datagrams waiting in it.  Sockets a service manager passed (socket
 * activation) are matched the same way, by the address they are bound to,
 * and taken instead of binding.  Unix domain sockets ("unix:PATH") are
 * matched by path; their files are listener_unix.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "config.h"
#include "listener.h"
#include "listener_unix.h"
#include "log.h"
#include "proto_info.h"

/*
 * The longest the kernel holds a connection that has sent nothing before
 * it hands it to accept() anyway (defer_accept): a client that asks at
 * once -- nearly all do -- has asked within it, and a silent one reaches
 * a worker and its idle_timeout about this late.  Linux counts it in
 * SYN-ACK retransmissions: 1 s is one, the first being a second after
 * the handshake.
 */
#define DEFER_ACCEPT_MAX_S 1

static int
set_options(int fd, const struct addr *addr)
{
	int on = 1;

	/* A Unix socket has no TIME_WAIT, no IPv6, no Nagle. */
	if (addr_is_unix(addr))
		return 0;
	/*
	 * A restart must not meet its own old sockets in TIME_WAIT.  Not on
	 * UDP, which has no TIME_WAIT: there SO_REUSEADDR would let a second
	 * instance bind the same address and take half the datagrams, where
	 * it must fail as it does for TCP (check.c's try_bind agrees).
	 */
	if (addr->socktype == SOCK_STREAM &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		return -1;
	/* IPv6 sockets stay IPv6-only so "*:P" and "[::]:P" can coexist. */
	if (addr->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
		return -1;
	if (addr->socktype == SOCK_DGRAM)
		return 0;
	/* Every answer leaves in one write: Nagle could only delay the next
	 * one behind the client's delayed ACK. */
	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/*
 * What the service asks of its socket, set on the listener because Linux
 * copies these options to every socket accept() returns: the workers then
 * spend no system call per client on them.  Set again on every reload, so
 * a changed value (defer_accept's too: 0 turns it off) takes effect.
 */
static int
set_service_options(
    int fd, const struct addr *addr, const struct listen_opts *opts)
{
	struct timeval idle = { .tv_sec = opts->idle_timeout };
	struct timeval send = { .tv_sec = opts->send_timeout };
	int socktype = addr->socktype;
	int flags = fcntl(fd, F_GETFL);

	if (flags == -1)
		return -1;
	/* A worker woken once per client, its request there already. */
	if (socktype == SOCK_STREAM && !addr_is_unix(addr) &&
	    setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &opts->defer_accept,
	        sizeof(opts->defer_accept)) == -1)
		return -1;
	/* A datagram socket has no connections to time out. */
	if (socktype == SOCK_STREAM &&
	    (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle)) ==
	            -1 ||
	        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send, sizeof(send)) ==
	            -1))
		return -1;
	/*
	 * A service with one listener has its workers block in accept(); with
	 * several they wait in epoll and accept without blocking, since the
	 * workers that lose the race for a client must not sleep there.
	 */
	flags = opts->nonblocking ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, flags);
}

/* bind() of addr failed with errno: say why, and for a privileged port
 * what it takes, since "Permission denied" alone does not say. */
static void
bind_failed(const struct addr *addr, const char *name)
{
	const struct sockaddr_in *sin = (const void *)&addr->ss;
	const struct sockaddr_in6 *sin6 = (const void *)&addr->ss;
	int err = errno;
	unsigned port = 0;

	if (addr->ss.ss_family == AF_INET)
		port = ntohs(sin->sin_port);
	else if (addr->ss.ss_family == AF_INET6)
		port = ntohs(sin6->sin6_port);
	if (err == EACCES && port > 0 && port < 1024)
		log_errorx("bind %s: %s (a port below 1024 needs root or "
		           "CAP_NET_BIND_SERVICE)",
		    name, strerror(err));
	else
		log_error("bind %s", name);
}

/* bind(); a Unix socket's file, created with opts' mode and owner, in
 * l->dev and l->ino.  0, or -1 with errno set. */
static int
bind_addr(int fd, const struct addr *addr, const struct listen_opts *opts,
    struct listener *l)
{
	if (addr_is_unix(addr))
		return listener_unix_bind(fd, addr, opts, &l->dev, &l->ino);
	return bind(fd, (const struct sockaddr *)&addr->ss, addr->len);
}

/* Bind and listen on addr for l; the fd, or -1 after logging what
 * failed. */
static int
listener_open(
    const struct addr *addr, const struct listen_opts *opts, struct listener *l)
{
	char name[ADDR_NAMELEN];
	int fd;

	addr_name(addr, name, sizeof(name));
	if (addr_is_unix(addr) && listener_unix_clear(addr) == -1)
		return -1;
	fd = socket(addr->ss.ss_family, addr->socktype | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_error("socket for %s", name);
		return -1;
	}
	if (set_options(fd, addr) == -1 ||
	    set_service_options(fd, addr, opts) == -1) {
		log_error("socket options for %s", name);
		close(fd);
		return -1;
	}
	if (bind_addr(fd, addr, opts, l) == -1) {
		bind_failed(addr, name);
		close(fd);
		return -1;
	}
	if (addr->socktype == SOCK_STREAM && listen(fd, opts->backlog) == -1) {
		log_error("listen %s", name);
		listener_unix_remove(l);
		close(fd);
		return -1;
	}
	log_info("listening on %s", name);
	return fd;
}

static void
listener_close(struct listener *l)
{
	char name[ADDR_NAMELEN];

	if (l->fd == -1)
		return;
	addr_name(&l->addr, name, sizeof(name));
	listener_unix_remove(l);
	close(l->fd);
	l->fd = -1;
	log_info("closed listener %s", name);
}

static struct listener *
find(const struct listener_set *set, const struct addr *addr)
{
	for (size_t i = 0; i < set->count; i++)
		if (set->items[i].fd != -1 &&
		    addr_equal(&set->items[i].addr, addr))
			return &set->items[i];
	return NULL;
}

int
listener_fd(const struct listener_set *set, const struct addr *addr)
{
	const struct listener *l = find(set, addr);

	return l == NULL ? -1 : l->fd;
}

/* Bind addr and add it to the set, marked new; -1 after logging. */
static int
add(struct listener_set *set, const struct addr *addr,
    const struct listen_opts *opts)
{
	struct listener *items, l = {
		.addr = *addr,
		.wanted = true,
		.fresh = true,
		.opts = *opts,
	};

	items = realloc(set->items, (set->count + 1) * sizeof(*items));
	if (items == NULL) {
		char name[ADDR_NAMELEN];

		addr_name(addr, name, sizeof(name));
		log_error("listeners: table for %zu sockets (adding %s)",
		    set->count + 1, name);
		return -1;
	}
	set->items = items;
	if ((l.fd = listener_open(addr, opts, &l)) == -1)
		return -1;
	items[set->count] = l;
	set->count++;
	return 0;
}

/* Drop the entries whose socket is closed. */
static void
listener_commit_closed(struct listener_set *set)
{
	size_t kept = 0;

	for (size_t i = 0; i < set->count; i++)
		if (set->items[i].fd != -1)
			set->items[kept++] = set->items[i];
	set->count = kept;
}

/* Undo a half-applied config: close what it bound, forget what it wanted. */
static void
roll_back(struct listener_set *set)
{
	for (size_t i = 0; i < set->count; i++) {
		if (set->items[i].fresh)
			listener_close(&set->items[i]);
		set->items[i].fresh = false;
		set->items[i].wanted = true;
	}
	/* Closed ones go; kept ones were not touched. */
	listener_commit_closed(set);
}

/*
 * defer_accept's seconds on svc's socket at addr.  auto defers where the
 * client speaks first: its protocol waits for it and no banner goes first
 * -- or a PROXY header comes first whatever the protocol.  Never longer
 * than idle_timeout, which then still bounds a silent client (the two
 * add up: see preforkd.conf(5)).
 */
static int
defer_seconds(const struct service *svc, const struct addr *addr)
{
	bool on = svc->defer_accept == DEFER_ACCEPT_YES;

	if (svc->defer_accept == DEFER_ACCEPT_AUTO)
		on = svc->proxy_protocol || addr->proxy ||
		     (svc->protocol->client_first && svc->banner == NULL);
	if (!on)
		return 0;
	return svc->idle_timeout > 0 && svc->idle_timeout < DEFER_ACCEPT_MAX_S
	           ? svc->idle_timeout
	           : DEFER_ACCEPT_MAX_S;
}

/* What svc asks of its socket at addr. */
static struct listen_opts
service_opts(const struct service *svc, const struct addr *addr)
{
	struct listen_opts opts = { .backlog = svc->backlog,
		.idle_timeout = svc->idle_timeout,
		.send_timeout = svc->send_timeout,
		.nonblocking = svc->naddrs > 1,
		.defer_accept = defer_seconds(svc, addr) };

	return opts;
}

int
listener_apply(struct listener_set *set, const struct config *conf)
{
	for (size_t i = 0; i < set->count; i++) {
		set->items[i].wanted = false;
		set->items[i].fresh = false;
	}
	for (size_t s = 0; s < conf->nservices; s++) {
		const struct service *svc = &conf->services[s];
		struct listen_opts opts = service_opts(svc, &svc->addrs[0]);
		if (listener_unix_ids(svc, &opts) == -1) {
			roll_back(set);
			return -1;
		}
		for (size_t a = 0; a < svc->naddrs; a++) {
			struct listener *l = find(set, &svc->addrs[a]);
			opts.defer_accept = defer_seconds(svc, &svc->addrs[a]);
			if (l != NULL) {
				l->wanted = true;
				l->opts = opts;
				continue;
			}
			if (add(set, &svc->addrs[a], &opts) == -1) {
				roll_back(set);
				return -1;
			}
		}
	}
	return 0;
}

/* The address a passed socket listens on; -1 (errno set) unless it is a
 * listening TCP socket or a UDP socket, of IPv4 or IPv6, or a listening
 * Unix stream socket. */
static int
passed_addr(int fd, struct addr *addr)
{
	int type = 0, listening = 0;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1)
		return -1;
	len = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == -1)
		return -1;
	memset(addr, 0, sizeof(*addr)); /* fields getsockname does not fill */
	addr->len = sizeof(addr->ss);
	if (getsockname(fd, (struct sockaddr *)&addr->ss, &addr->len) == -1)
		return -1;
	if ((type == SOCK_STREAM && !listening) ||
	    (type != SOCK_STREAM && type != SOCK_DGRAM) ||
	    (addr->ss.ss_family != AF_INET && addr->ss.ss_family != AF_INET6 &&
	        addr->ss.ss_family != AF_UNIX) ||
	    (addr->ss.ss_family == AF_UNIX && type != SOCK_STREAM)) {
		errno = EPROTONOSUPPORT;
		return -1;
	}
	addr->socktype = type;
	return 0;
}

/* The service of conf that listens on addr, or NULL. */
static const struct service *
service_at(const struct config *conf, const struct addr *addr)
{
	for (size_t s = 0; s < conf->nservices; s++)
		for (size_t a = 0; a < conf->services[s].naddrs; a++)
			if (addr_equal(&conf->services[s].addrs[a], addr))
				return &conf->services[s];
	return NULL;
}

/* Give a passed socket what its service asks of it, as binding would. */
static int
prepare_passed(int fd, const struct addr *addr, const struct listen_opts *opts)
{
	int on = 1;

	if (set_service_options(fd, addr, opts) == -1)
		return -1;
	if (addr->socktype == SOCK_DGRAM)
		return 0;
	if (!addr_is_unix(addr) &&
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
		return -1;
	/* On a listening socket, listen() only sets the backlog. */
	return listen(fd, opts->backlog);
}

/* Take the inherited socket in->fd into the set if a service listens on
 * its address, else close it; -1 (fd closed) after logging if out of
 * memory.  One path for both kinds of inheritance: a socket a service
 * manager passed stays its (passed: never refused or unlinked by us), one
 * a master of ours handed over across an upgrade is ours as if bound. */
static int
adopt(struct listener_set *set, const struct config *conf,
    const struct listener_inherited *in)
{
	const char *kind = in->passed ? "passed" : "inherited";
	int fd = in->fd;
	const struct service *svc;
	struct listener *items;
	struct listen_opts opts;
	char name[ADDR_NAMELEN];
	struct addr addr;

	if (passed_addr(fd, &addr) == -1) {
		log_warn("%s descriptor %d: not a listening TCP socket, "
		         "a UDP socket or a listening Unix stream socket, "
		         "closing it",
		    kind, fd);
		close(fd);
		return 0;
	}
	addr_name(&addr, name, sizeof(name));
	if ((svc = service_at(conf, &addr)) == NULL || find(set, &addr)) {
		log_warnx("%s socket %s (descriptor %d): no service "
		          "listens there, closing it",
		    kind, name, fd);
		close(fd);
		return 0;
	}
	opts = service_opts(svc, &addr);
	if (prepare_passed(fd, &addr, &opts) == -1)
		log_warn("%s socket %s: socket options", kind, name);
	items = realloc(set->items, (set->count + 1) * sizeof(*items));
	if (items == NULL) {
		log_error("listeners: %s socket %s", kind, name);
		close(fd);
		return -1;
	}
	set->items = items;
	items[set->count] = (struct listener){
		.addr = addr,
		.fd = fd,
		.wanted = true,
		.passed = in->passed,
		.opts = opts,
		.dev = in->dev,
		.ino = in->ino,
	};
	set->count++;
	log_info("adopted %s socket %s (descriptor %d) for service %s", kind,
	    name, fd, svc->name);
	return 0;
}

int
listener_adopt(struct listener_set *set, const struct config *conf,
    const struct listener_inherited *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (adopt(set, conf, &in[i]) == -1) {
			/* The rest would be held for nothing. */
			while (++i < n)
				close(in[i].fd);
			return -1;
		}
	return 0;
}

void
listener_commit(struct listener_set *set)
{
	char name[ADDR_NAMELEN];

	for (size_t i = 0; i < set->count; i++) {
		struct listener *l = &set->items[i];
		if (!l->wanted) {
			listener_close(l);
		} else if (!l->fresh) {
			/* listen() again only updates the backlog. */
			if (l->addr.socktype == SOCK_STREAM)
				listen(l->fd, l->opts.backlog);
			if (set_service_options(l->fd, &l->addr, &l->opts) ==
			    -1)
				log_warn("listener %s: socket options",
				    addr_name(&l->addr, name, sizeof(name)));
			if (addr_is_unix(&l->addr))
				listener_unix_own(l);
		}
	}
	listener_commit_closed(set);
}

void
listener_close_others(
    const struct listener_set *set, const int *keep, size_t nkeep)
{
	for (size_t i = 0; i < set->count; i++) {
		int fd = set->items[i].fd;
		size_t k = 0;

		while (k < nkeep && keep[k] != fd)
			k++;
		if (fd != -1 && k == nkeep)
			close(fd);
	}
}

/*
 * Why a socket filter: closing a listening socket resets every connection
 * still in its queue -- clients whose handshake is complete, which a
 * balancer in front cannot replay elsewhere -- and Linux has no call that
 * stops a socket taking new connections but keeps it open.  A filter that
 * drops bare SYNs does: a new client's SYN goes unanswered, and its retry
 * about a second later meets a closed port and is refused (or, after a
 * restart, the next instance), while a handshake under way completes.
 * For TCP, a filter sees the packet from its TCP header: byte 13 holds the
 * flags.  Accepted sockets inherit it; established connections see no bare
 * SYN.  A Unix socket needs no filter: removing its file turns new
 * clients away (ENOENT) while the queued ones stay.
 */
void
listener_refuse_new(struct listener_set *set)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),       /* SYN | ACK */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1), /* SYN */
		BPF_STMT(BPF_RET | BPF_K, 0),                    /* drop */
		BPF_STMT(BPF_RET | BPF_K, 0xffffffffU),          /* keep all */
	};
	struct sock_fprog drop_syn = {
		.len = sizeof(code) / sizeof(code[0]),
		.filter = code,
	};
	char name[ADDR_NAMELEN];

	for (size_t i = 0; i < set->count; i++) {
		struct listener *l = &set->items[i];
		if (l->fd == -1 || l->passed || l->addr.socktype != SOCK_STREAM)
			continue;
		if (addr_is_unix(&l->addr)) {
			listener_unix_remove(l);
			l->refusing = true;
			continue;
		}
		if (setsockopt(l->fd, SOL_SOCKET, SO_ATTACH_FILTER, &drop_syn,
		        sizeof(drop_syn)) == -1) {
			log_warn("listener %s: cannot refuse new connections "
			         "and keep the queued ones",
			    addr_name(&l->addr, name, sizeof(name)));
			continue;
		}
		l->refusing = true;
	}
}

/* For a listening socket, Linux reports its queue's length as
 * tcpi_unacked. */
unsigned
listener_queued(const struct listener *l)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (l->fd != -1 && addr_is_unix(&l->addr))
		return listener_unix_queued(l->fd);
	if (l->fd == -1 || l->addr.socktype != SOCK_STREAM ||
	    getsockopt(l->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return 0;
	return ti.tcpi_unacked;
}

unsigned
listener_queued_refusing(const struct listener_set *set)
{
	unsigned n = 0;

	for (size_t i = 0; i < set->count; i++)
		if (set->items[i].refusing)
			n += listener_queued(&set->items[i]);
	return n;
}

void
listener_close_all(struct listener_set *set)
{
	for (size_t i = 0; i < set->count; i++)
		if (set->items[i].fd != -1) {
			listener_unix_remove(&set->items[i]);
			close(set->items[i].fd);
			set->items[i].fd = -1;
		}
	free(set->items);
	set->items = NULL;
	set->count = 0;
}
