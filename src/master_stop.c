/*
 * Stopping: at once (SIGTERM, SIGINT), or gracefully (SIGQUIT) in two
 * steps.  First the listening sockets refuse new connections but stay open
 * (listener_refuse_new), and the workers go on as before, taking the
 * clients still queued: closing a socket would reset them.  Then, once the
 * queues are empty and DRAIN_SETTLE_MS have passed (or shutdown_timeout
 * has), master_stop_drain closes the sockets and tells every worker to
 * finish its client and exit.  The loop ends when the last child is
 * reaped.
 */
#include "log.h"
#include "master_state.h"

/* A graceful stop keeps its listening sockets at least this long after
 * they refuse new connections: a handshake under way then (a round trip
 * of up to this) completes into the queue and is served. */
#define DRAIN_SETTLE_MS 100
/* How often it looks at the queues meanwhile: nothing tells the master
 * when a queue is empty. */
#define DRAIN_POLL_MS 10

void
master_stop(struct master *m, int signo, long long now)
{
	log_notice("received %s: stopping now", master_signal_name(signo));
	master_pool_notify(m, NOTIFY_STOPPING, "stopping now: ");
	m->stopping = true;
	m->draining_since = -1;
	listener_close_all(m->listeners);
	for (size_t i = 0; i < m->nchildren; i++)
		if (m->children[i].stage == CHILD_RUNNING ||
		    m->children[i].stage == CHILD_QUITTING)
			master_child_terminate(&m->children[i], now);
}

void
master_quit(struct master *m, int signo, long long now)
{
	if (m->stopping)
		return;
	/* First: whoever reads the line below finds new clients refused. */
	listener_refuse_new(m->listeners);
	log_notice("received %s: graceful stop, waiting up to %ds for "
	           "clients",
	    master_signal_name(signo), m->conf->shutdown_timeout);
	master_pool_notify(m, NOTIFY_STOPPING, "graceful stop: ");
	m->stopping = true;
	m->draining_since = now;
}

/* Clients the drain waits to see taken: queued on a socket that refuses
 * new ones, of a service that has a worker left to take them (none is
 * replaced now). */
static unsigned
queued_for_workers(const struct master *m)
{
	unsigned n = 0;

	for (size_t svc = 0; svc < m->conf->nservices; svc++)
		if (master_child_running(m, svc) > 0)
			n += master_pool_queued(
			    m, &m->conf->services[svc], true);
	return n;
}

void
master_stop_drain(struct master *m, long long now)
{
	long long since = m->draining_since;
	long long deadline =
	    since + (long long)m->conf->shutdown_timeout * 1000;
	bool timed_out = now >= deadline;
	unsigned left;

	if (since == -1)
		return;
	if (!timed_out &&
	    (now < since + DRAIN_SETTLE_MS || queued_for_workers(m) > 0))
		return;
	left = listener_queued_refusing(m->listeners);
	if (left > 0)
		log_warnx("graceful stop: %u client(s) still queued %s: "
		          "closing the listening sockets resets them",
		    left,
		    timed_out ? "after shutdown_timeout"
		              : "with no worker to take them");
	else
		log_info("graceful stop: no client queued after %lld ms: "
		         "closing the listening sockets",
		    now - since);
	listener_close_all(m->listeners);
	m->draining_since = -1;
	for (size_t i = 0; i < m->nchildren; i++) {
		struct child *c = &m->children[i];
		if (c->stage != CHILD_RUNNING)
			continue;
		/* Past the deadline, SIGQUIT would at once be followed by
		 * SIGTERM, and a warning for each worker. */
		if (timed_out)
			master_child_terminate(c, now);
		else
			master_child_retire(m, c, since);
	}
}

long long
master_stop_next(const struct master *m, long long now)
{
	return m->draining_since != -1 ? now + DRAIN_POLL_MS : -1;
}
