/*
 * Datagrams: hand one that the worker received and admitted to the
 * protocol's answer, and send that back in one datagram.  There is no
 * connection, so no access line: one summary line stands for many
 * datagrams, at most once a minute, so a flood cannot flood the log.
 *
 * A datagram's sender can be forged, so before the protocol sees one the
 * worker drops, silently, what would make it a loop or a reflector (issue
 * 15; CVE-1999-0103, xinetd's bad_port_check): a datagram from a port of
 * the classic small services, from any port below 1024 unless
 * udp_privileged_sources allows them, from this service's own address and
 * port (any of its listeners), and past udp_rate answers a second to one
 * source.  A loop is one datagram going round: the first one dropped ends
 * it.  The checks are arithmetic on what recvmsg() returned, with no
 * system call of their own.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "dgram.h"
#include "limit.h"
#include "log.h"
#include "proto.h"
#include "rand.h"
#include "unforked.h"
#include "worker_dgram.h"

/* A worker serving datagrams logs a summary at least this often. */
#define UDP_SUMMARY_MS 60000
/* Warnings of dropped datagrams a worker writes a second, at most. */
#define UDP_WARNINGS 1

/* Datagrams served since the last summary line, and when that was. */
static struct {
	unsigned long long count, in, out, cut, failed, refused;
	unsigned long long dropped, limited;
	long long since;
} udp WORKER_DATA;

/* udp_rate's budgets, one per source; the warnings' own; and the drops
 * since the last warning. */
static struct rate_sources sources;
static struct rate_budget warnings WORKER_DATA;
static unsigned long long unsaid WORKER_DATA;

/* Why a datagram is dropped unanswered. */
enum drop {
	DROP_NONE,
	DROP_CLASSIC,    /* from a classic small service's port, or port 0 */
	DROP_PRIVILEGED, /* from a port below 1024 */
	DROP_OWN,        /* from this service's own address and port */
	DROP_RATE,       /* past udp_rate */
};

static unsigned
port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(
		    ((const struct sockaddr_in *)(const void *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(
		    ((const struct sockaddr_in6 *)(const void *)ss)->sin6_port);
	return 0;
}

void
worker_dgram_start(const struct service *svc, const int *fds, size_t n)
{
	uint32_t state = 0;
	bool datagrams = false;

	udp.since = clock_ms();
	/* Where each datagram was sent to, for DROP_OWN on a wildcard
	 * address; once per socket, not per datagram. */
	for (size_t i = 0; i < n && i < svc->naddrs; i++) {
		if (svc->addrs[i].socktype != SOCK_DGRAM)
			continue;
		datagrams = true;
		if (dgram_want_local(fds[i], svc->addrs[i].ss.ss_family) == -1)
			log_warn("service %s: %s: IP_PKTINFO", svc->name,
			    svc->listen[i]);
	}
	/* The budgets' table is 20 KiB: a worker of streams alone leaves
	 * its pages untouched, so they cost it nothing. */
	if (datagrams)
		sources.seed = rand_u32(&state);
}

void
worker_dgram_summary(const struct service *svc)
{
	if (udp.count == 0 && udp.refused == 0 && udp.dropped == 0 &&
	    udp.limited == 0)
		return;
	log_access("datagrams service=%s count=%llu in=%llu out=%llu cut=%llu "
	           "failed=%llu refused=%llu dropped=%llu limited=%llu",
	    svc->name, udp.count, udp.in, udp.out, udp.cut, udp.failed,
	    udp.refused, udp.dropped, udp.limited);
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
	log_debug("datagram service=%s client=%s in=%zu out=%zu%s%s", svc->name,
	    d->peer_name, d->full_len, d->sent,
	    d->full_len > d->len ? " (input cut to buffer_size)" : "",
	    d->cut > 0 ? " (answer cut to fit a datagram)" : "");
	if (clock_ms() - udp.since >= UDP_SUMMARY_MS)
		worker_dgram_summary(svc);
}

void
worker_dgram_refused(const struct service *svc, const struct dgram *d)
{
	log_debug(
	    "datagram service=%s client=%s refused", svc->name, d->peer_name);
	udp.refused++;
}

/* True when the sender is one of the service's own UDP listeners: its
 * port, and the listener's address or the one the datagram came to. */
static bool
from_own_listener(
    const struct service *svc, const struct dgram *d, unsigned port)
{
	struct addr_source peer, mine;
	bool made = false;

	for (size_t i = 0; i < svc->naddrs; i++) {
		const struct addr *a = &svc->addrs[i];

		if (a->socktype != SOCK_DGRAM || port_of(&a->ss) != port)
			continue;
		if (!made) {
			addr_source_of(
			    (const struct sockaddr *)&d->peer, 128, &peer);
			made = true;
		}
		addr_source_of((const struct sockaddr *)&a->ss, 128, &mine);
		if (addr_source_equal(&peer, &d->local) ||
		    addr_source_equal(&peer, &mine))
			return true;
	}
	return false;
}

/* Which rule, if any, drops d: the ports first (a comparison), then its
 * source's budget. */
static enum drop
check_source(const struct service *svc, const struct dgram *d, long long now,
    enum rate_verdict *verdict)
{
	/* echo, discard, daytime, qotd, chargen, time: every answer of
	 * theirs is one more datagram.  0 is no sender's port. */
	static const unsigned classic[] = { 0, 7, 9, 13, 17, 19, 37 };
	unsigned port = port_of(&d->peer);
	struct addr_source source;
	struct rate_budget *b;

	for (size_t i = 0; i < sizeof(classic) / sizeof(classic[0]); i++)
		if (port == classic[i])
			return DROP_CLASSIC;
	if (port < 1024 && !svc->udp_privileged_sources)
		return DROP_PRIVILEGED;
	if (from_own_listener(svc, d, port))
		return DROP_OWN;
	if (svc->udp_rate == 0)
		return DROP_NONE;
	addr_source_of((const struct sockaddr *)&d->peer,
	    (unsigned)svc->source_prefix6, &source);
	if ((b = limit_source_budget(&sources, &source)) == NULL)
		return DROP_NONE;
	*verdict =
	    limit_rate_take(b, (unsigned long long)svc->udp_rate, now, 1);
	return *verdict == RATE_TAKE ? DROP_NONE : DROP_RATE;
}

/* Count a dropped datagram, and say so: at most UDP_WARNINGS lines a
 * second, each with how many went unsaid; for udp_rate, only when it cuts
 * in for a source. */
static void
dropped(const struct service *svc, const struct dgram *d, enum drop why,
    enum rate_verdict verdict, long long now)
{
	static const char *const reasons[] = {
		[DROP_CLASSIC] =
		    "from the port of a classic small service "
		    "(echo, discard, daytime, qotd, chargen, time)",
		[DROP_PRIVILEGED] = "from a port below 1024 "
		                    "(udp_privileged_sources = false)",
		[DROP_OWN] = "from this service's own address and port",
	};

	if (why == DROP_RATE)
		udp.limited++;
	else
		udp.dropped++;
	log_debug("datagram service=%s client=%s dropped (%s)", svc->name,
	    d->peer_name, why == DROP_RATE ? "udp_rate" : "source port");
	if ((why == DROP_RATE && verdict != RATE_CUT) ||
	    limit_rate_take(&warnings, UDP_WARNINGS, now, 1) != RATE_TAKE) {
		unsaid++;
		return;
	}
	if (why == DROP_RATE) {
		struct addr_source s;
		char source[ADDR_STRLEN];

		addr_source_of((const struct sockaddr *)&d->peer,
		    (unsigned)svc->source_prefix6, &s);
		log_warnx("service %s: udp_rate = %d answers a second reached "
		          "for %s: not answering it until the second is over "
		          "(%llu more dropped since this worker last said so)",
		    svc->name, svc->udp_rate,
		    addr_source_format(&s, source, sizeof(source)), unsaid);
	} else
		log_warnx(
		    "service %s: datagram from %s dropped unanswered, %s: "
		    "a loop or a forged sender (%llu more dropped since "
		    "this worker last said so)",
		    svc->name, d->peer_name, reasons[why], unsaid);
	unsaid = 0;
}

void
worker_dgram_answer(
    const struct service *svc, struct dgram *d, const char *data)
{
	struct dgram_answer answer = { .iovcnt = 0 };
	enum rate_verdict verdict = RATE_TAKE;
	long long now = clock_coarse_ms();
	enum drop why = check_source(svc, d, now, &verdict);
	bool sent = true;

	if (why != DROP_NONE) {
		dropped(svc, d, why, verdict, now);
		return;
	}
	proto_of(svc)->answer(svc, d, data, &answer);
	if (answer.iovcnt > 0 &&
	    dgram_send(d, answer.iov, answer.iovcnt) == -1) {
		/* The sender may be gone (ICMP unreachable): its problem. */
		log_debug("service %s: send to %s: %s", svc->name, d->peer_name,
		    strerror(errno));
		sent = false;
	}
	count_datagram(svc, d, sent);
}
