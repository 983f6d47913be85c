/*
 * Datagrams: hand one that the worker received and admitted to the
 * protocol's answer, and send that back in one datagram.  There is no
 * connection, so no access line: one summary line stands for many
 * datagrams, at most once a minute, so a flood cannot flood the log.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "dgram.h"
#include "log.h"
#include "proto.h"
#include "worker_dgram.h"

/* A worker serving datagrams logs a summary at least this often. */
#define UDP_SUMMARY_MS 60000

/* Datagrams served since the last summary line, and when that was. */
static struct {
	unsigned long long count, in, out, cut, failed, refused;
	long long since;
} udp;

void
worker_dgram_start(void)
{
	udp.since = clock_ms();
}

void
worker_dgram_summary(const struct service *svc)
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

void
worker_dgram_answer(
    const struct service *svc, struct dgram *d, const char *data)
{
	struct dgram_answer answer = { .iovcnt = 0 };
	bool sent = true;

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
