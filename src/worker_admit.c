/*
 * Admission, before any byte of service: may this client be served, and
 * who is it?  allow/deny by address, max_per_source across every worker
 * of the service (through the scoreboard), and, behind a proxy that speaks
 * the PROXY protocol (HAProxy's send-proxy and send-proxy-v2), the client
 * its header names -- but only when the peer is one the service trusts
 * (proxy_from), since anyone else could claim any address.
 *
 * The header is read exactly, never a byte past it: peek at what has come,
 * parse it, and take off the socket only the header's bytes.  What the
 * client sent after it, often in the same segment, stays in the socket for
 * the protocol, whatever the protocol's framing.  A header that comes
 * whole, as a proxy sends it, costs two recv() calls.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "addr.h"
#include "client.h"
#include "clock.h"
#include "config.h"
#include "conn.h"
#include "limit.h"
#include "log.h"
#include "proxy.h"
#include "scoreboard.h"
#include "unforked.h"
#include "worker_admit.h"
#include "worker_slot.h"

/* A worker warns of max_per_source refusals of one source at most this
 * often, and of any source at most REFUSAL_WARNINGS times a second. */
#define REFUSAL_SOURCE_MS 60000
#define REFUSAL_WARNINGS 1

/* What reading a header came to. */
enum header_read {
	HEADER_OK,
	HEADER_BAD,    /* malformed: err says how */
	HEADER_EOF,    /* the peer closed first */
	HEADER_FAILED, /* see conn->end */
};

const char *
worker_admit_end_name(enum admit_end end)
{
	static const char *const names[] = {
		[ADMIT_REFUSED] = "refused",
		[ADMIT_PER_SOURCE] = "per_source",
		[ADMIT_PROXY_UNTRUSTED] = "proxy_untrusted",
		[ADMIT_PROXY_BAD] = "proxy_bad",
		[ADMIT_PROXY_TIMEOUT] = "proxy_timeout",
	};

	return names[end];
}

bool
worker_admit_allowed(const struct service *svc, const struct sockaddr *peer)
{
	/* allow and deny match IP addresses; a Unix socket's file says who
	 * may connect (socket_user, socket_group, socket_mode). */
	if (peer->sa_family == AF_UNIX)
		return true;
	if (addr_cidr_list_match(svc->deny, svc->ndeny, peer))
		return false;
	return svc->nallow == 0 ||
	       addr_cidr_list_match(svc->allow, svc->nallow, peer);
}

/*
 * Refused clients' lines, rate-bounded (limit.c's budgets) so that a
 * flood of refused clients cannot flood the log: refusal_log_rate access
 * lines a second, and a line that says how many were not written; and the
 * max_per_source warnings, REFUSAL_WARNINGS a second, and not again for
 * the same source within REFUSAL_SOURCE_MS.
 */
static struct rate_budget refused_lines WORKER_DATA;
static struct {
	struct rate_budget budget;
	struct addr_source source; /* the last one warned of */
	long long at;
	unsigned long long quiet; /* refused since, without a warning */
} refusals WORKER_DATA;

bool
worker_admit_log_refused(const struct service *svc)
{
	long long now = clock_coarse_ms();
	struct rate_tally t;

	switch (limit_rate_take(&refused_lines,
	    (unsigned long long)svc->refusal_log_rate, now, 1)) {
	case RATE_TAKE:
		if (limit_rate_report(&refused_lines, now, &t))
			log_notice("service %s: %llu refused clients not "
			           "logged in the last %lld s "
			           "(refusal_log_rate = %d a second)",
			    svc->name, t.items, t.seconds,
			    svc->refusal_log_rate);
		return true;
	case RATE_CUT:
		log_notice("service %s: refusal_log_rate = %d a second "
		           "reached: refused clients not logged until the "
		           "second is over",
		    svc->name, svc->refusal_log_rate);
		break;
	case RATE_DROP:
		break;
	}
	return false;
}

/* One line per source per burst, and few a second: a flood from one
 * address, or from many, cannot flood the log. */
static void
log_refusal(const struct service *svc, const struct addr_source *source)
{
	long long now = clock_coarse_ms();
	char text[ADDR_STRLEN];

	if ((refusals.at != 0 && addr_source_equal(source, &refusals.source) &&
	        now - refusals.at < REFUSAL_SOURCE_MS) ||
	    limit_rate_take(&refusals.budget, REFUSAL_WARNINGS, now, 1) !=
	        RATE_TAKE) {
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
 * Tell a refused client why, with refusal_message or else fallback (NULL
 * or "": nothing, and the close is as it always was), then close.  One send
 * that never waits: a few hundred bytes into a fresh socket's buffer always
 * fit, and a client that would make the worker wait gets nothing.  What the
 * client sent already is dropped so the close does not reset the line away;
 * more is not waited for, as lingering would hand the worker to the very client
 * refused.  The access line's out= counts what left.
 */
static void
tell_refused(const struct service *svc, struct conn *conn, const char *fallback)
{
	const char *text =
	    svc->refusal_message != NULL ? svc->refusal_message : fallback;

	if (text != NULL && *text != '\0' &&
	    conn_send_now(conn, text, strlen(text)) == 0)
		conn_drop_pending(conn);
}

/* The source max_per_source counts c by: its address (IPv6 cut to
 * source_prefix6 bits), or a Unix peer's uid; family 0 for none. */
static void
source_of(const struct service *svc, const struct client *c,
    struct addr_source *source)
{
	if (c->addr.ss_family == AF_UNIX) {
		if (c->uid != -1)
			addr_source_of_uid((unsigned long)c->uid, source);
		else
			memset(source, 0, sizeof(*source));
		return;
	}
	addr_source_of((const struct sockaddr *)&c->addr,
	    (unsigned)svc->source_prefix6, source);
}

/*
 * max_per_source: count the client c against its source, across every
 * worker of the service.  c is the one the limit applies to: the peer, or
 * the real client that a PROXY header names once it has been read.  true
 * to serve it; false once the client has been told why not.
 */
static bool
source_admitted(const struct service *svc, int slot, struct conn *conn,
    const struct client *c)
{
	struct addr_source source;

	if (svc->max_per_source == 0)
		return true;
	source_of(svc, c, &source);
	if (source.family == 0)
		return true; /* no address, no uid: nothing to count by */
	if (scoreboard_source_enter(slot, &source) <=
	    (unsigned)svc->max_per_source)
		return true;
	log_refusal(svc, &source);
	tell_refused(svc, conn,
	    c->addr.ss_family == AF_UNIX
	        ? "error: too many connections from your user\n"
	        : "error: too many connections from your address\n");
	return false;
}

static bool
trusted(const struct service *svc, const struct sockaddr *peer)
{
	return addr_cidr_list_match(svc->proxy_from, svc->nproxy_from, peer);
}

/* Room for the longest header, mapped once per worker: its pages cost
 * nothing until a header fills them.  NULL when out of memory. */
static unsigned char *
header_buffer(void)
{
	static unsigned char *buf WORKER_DATA;
	void *mem;

	if (buf == NULL) {
		mem = mmap(NULL, PROXY_V2_MAX, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		buf = mem != MAP_FAILED ? mem : NULL;
	}
	return buf;
}

/*
 * Read the header into buf, up to its last byte and no further; *got says
 * how many bytes were taken.  While the parser asks for more, every byte
 * seen so far belongs to the header, so it is taken off the socket before
 * waiting for the rest: the next peek then waits for new bytes instead of
 * seeing the same ones again.
 */
static enum header_read
read_header(struct conn *conn, unsigned char *buf, long long deadline,
    struct proxy_header *h, char *err, size_t errsize, size_t *got)
{
	for (*got = 0;;) {
		size_t want = proxy_header_bound(buf, *got) - *got, take;
		ssize_t n = conn_peek(conn, buf + *got, want, deadline);
		enum proxy_result r;

		if (n <= 0)
			return n == 0 ? HEADER_EOF : HEADER_FAILED;
		r = proxy_parse(buf, *got + (size_t)n, h, err, errsize);
		if (r == PROXY_BAD)
			return HEADER_BAD;
		take = r == PROXY_OK ? h->len - *got : (size_t)n;
		if (conn_skip(conn, buf + *got, take) == -1)
			return HEADER_FAILED;
		*got += take;
		if (r == PROXY_OK)
			return HEADER_OK;
	}
}

/* Say why the connection ends without a valid header, with a warning,
 * but none for a peer that closed before sending a byte, as a proxy's
 * health check does. */
static enum admit_end
refuse(const struct conn *conn, const struct service *svc, enum header_read r,
    const char *err, size_t got)
{
	switch (r) {
	case HEADER_BAD:
		log_warnx("service %s: id=%s from %s: bad PROXY header: %s",
		    svc->name, conn->id, conn->peer, err);
		return ADMIT_PROXY_BAD;
	case HEADER_EOF:
		if (got == 0)
			return ADMIT_CONN; /* end=closed */
		log_warnx("service %s: id=%s from %s: PROXY header cut short: "
		          "closed after %zu bytes",
		    svc->name, conn->id, conn->peer, got);
		return ADMIT_PROXY_BAD;
	case HEADER_FAILED:
		/* Reset, shutdown: the access line says. */
		if (conn->end != END_TIMEOUT)
			return ADMIT_CONN;
		log_warnx("service %s: id=%s from %s: no complete PROXY header "
		          "within proxy_timeout (%d s, %zu bytes came)",
		    svc->name, conn->id, conn->peer, svc->proxy_timeout, got);
		return ADMIT_PROXY_TIMEOUT;
	case HEADER_OK:
		break;
	}
	return ADMIT_OK;
}

/* The PROXY header: see worker_admit. */
static enum admit_end
read_proxy(const struct service *svc, struct conn *conn, struct client *c)
{
	unsigned char *buf = header_buffer();
	struct proxy_header h = { .version = 0 };
	char err[160];
	size_t got = 0;
	enum header_read r;

	if (!trusted(svc, (const struct sockaddr *)&c->addr)) {
		log_warnx("service %s: id=%s from %s: not in proxy_from, "
		          "closed before reading a PROXY header",
		    svc->name, conn->id, conn->peer);
		return ADMIT_PROXY_UNTRUSTED;
	}
	if (buf == NULL) {
		conn->end = END_ERROR;
		log_warn("service %s: id=%s: PROXY header buffer", svc->name,
		    conn->id);
		return ADMIT_CONN;
	}
	r = read_header(conn, buf, clock_ms() + svc->proxy_timeout * 1000LL, &h,
	    err, sizeof(err), &got);
	if (r != HEADER_OK)
		return refuse(conn, svc, r, err, got);
	client_from_proxy(c, &h);
	snprintf(conn->peer, sizeof(conn->peer), "%s", c->name);
	log_debug("service %s: id=%s: PROXY v%d header from %s: client %s",
	    svc->name, conn->id, h.version, c->proxy,
	    h.local ? "not named (local)" : c->name);
	return ADMIT_OK;
}

enum admit_end
worker_admit(const struct service *svc, const struct worker_slot *slot,
    struct conn *conn, struct client *c, bool proxied, long long start)
{
	const struct sockaddr *addr = (const struct sockaddr *)&c->addr;

	if (proxied) {
		enum admit_end r = read_proxy(svc, conn, c);

		if (r != ADMIT_OK)
			return r;
		/* The slot and the title name the real client from now on. */
		worker_slot_rename(slot, c->name, start);
	}
	if (!worker_admit_allowed(svc, addr)) {
		tell_refused(svc, conn, NULL);
		return ADMIT_REFUSED;
	}
	if (!source_admitted(svc, slot->index, conn, c))
		return ADMIT_PER_SOURCE;
	return ADMIT_OK;
}
