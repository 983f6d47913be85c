/*
 * The master carries out what the pool's policy (pool.c) decides: it
 * counts each service's workers by their scoreboard slots, asks, and
 * spawns, retires or recycles; it backs off after failures for as long as
 * the policy says.  The rules themselves live in pool.c, unit-tested.
 *
 * Why this file is long: a pool of programs (accept = false) rolls over
 * here too, at a reload: master_pool_roll retires the old programs that
 * the settled new ones let go, and adjust never starts more than
 * max_surge beyond the floor -- the same counts and retirements as any
 * pool's, so they live with them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limit.h"
#include "log.h"
#include "master_state.h"
#include "pool.h"
#include "rand.h"
#include "scoreboard.h"

/* When every scoreboard slot is taken: look again this much later. */
#define NO_SLOT_RETRY_MS 1000

/* Is c a worker of svc of the current generation? */
static bool
current(const struct master *m, const struct child *c, size_t svc)
{
	return c->generation == m->generation && c->service == svc;
}

/*
 * fork() failed for svc (EAGAIN: RLIMIT_NPROC or the system's process
 * table; ENOMEM): the workers it has go on serving, and the next try waits,
 * longer for each failure in a row, so a shortage that lasts costs a log
 * line every POOL_FORK_BACKOFF_MAX_MS, not a busy loop.
 */
static void
fork_failed(struct master *m, size_t svc, long long now)
{
	struct service_pool *p = &m->pools[svc];
	int err = errno;
	long long delay;

	p->fork_failures++;
	delay = pool_backoff(p->fork_failures, POOL_FORK_BACKOFF_MIN_MS,
	    POOL_FORK_BACKOFF_MAX_MS);
	p->next_spawn = now + delay;
	errno = err;
	log_error("service %s: fork (%u in a row; retrying in %.2fs)",
	    m->conf->services[svc].name, p->fork_failures,
	    (double)delay / 1000);
}

static void
fork_works(struct master *m, size_t svc)
{
	struct service_pool *p = &m->pools[svc];

	if (p->fork_failures == 0)
		return;
	log_notice("service %s: fork works again after %u failures",
	    m->conf->services[svc].name, p->fork_failures);
	p->fork_failures = 0;
}

/* Fork a worker of svc's pool, or one of its datagram-only workers (never
 * recycled: max_requests counts connections). */
static void
spawn(struct master *m, size_t svc, bool dgram, long long now)
{
	const struct service *s = &m->conf->services[svc];
	unsigned long quota = dgram
	                          ? 0
	                          : limit_quota((unsigned long)s->max_requests,
	                                rand_u32(&m->random));

	switch (master_child_spawn(m, svc, quota, dgram, now)) {
	case SPAWNED:
		fork_works(m, svc);
		break;
	case SPAWN_NO_SLOT:
		log_errorx("service %s: every scoreboard slot is taken "
		           "(max_slots = %u); retrying in %d ms",
		    s->name, scoreboard_get()->nslots, NO_SLOT_RETRY_MS);
		m->pools[svc].next_spawn = now + NO_SLOT_RETRY_MS;
		break;
	case SPAWN_NO_FORK:
		fork_failed(m, svc, now);
		break;
	case SPAWN_WAIT:
		/* Every free index of a pool of programs backs off: its
		 * next_spawn says until when. */
		break;
	}
}

/* Is c of the service named name? */
static bool
named(const struct child *c, const char *name)
{
	return strncmp(c->name, name, sizeof(c->name)) == 0;
}

/*
 * A child of an older generation that a rolling reload replaces: one of
 * a service of that name which is now a pool of programs.  The roll
 * retires it (master_pool_roll), not master_pool_retire_old.
 */
static bool
rolled_over(const struct master *m, const struct child *c, size_t *svc)
{
	if (c->generation >= m->generation)
		return false;
	for (size_t i = 0; i < m->conf->nservices; i++)
		if (!m->conf->services[i].accept &&
		    named(c, m->conf->services[i].name)) {
			*svc = i;
			return true;
		}
	return false;
}

/* Every child of svc's name still alive, of any generation and stage
 * (until reaped): what max_surge bounds. */
static unsigned
alive(const struct master *m, size_t svc)
{
	unsigned n = 0;

	for (size_t i = 0; i < m->nchildren; i++)
		n += named(&m->children[i], m->conf->services[svc].name);
	return n;
}

void
master_pool_roll(struct master *m, size_t svc, long long now)
{
	const struct service *s = &m->conf->services[svc];
	struct service_pool *p = &m->pools[svc];
	unsigned settled = 0, old = 0, out;
	size_t other;

	if (s->accept)
		return;
	for (size_t i = 0; i < m->nchildren; i++) {
		const struct child *c = &m->children[i];
		if (c->stage != CHILD_RUNNING)
			continue;
		if (c->generation == m->generation && c->service == svc)
			settled += c->program && c->settled;
		else if (rolled_over(m, c, &other) && other == svc)
			old++;
	}
	out = pool_roll_retire(settled, old, p->target);
	for (size_t i = 0; i < m->nchildren && out > 0; i++) {
		struct child *c = &m->children[i];
		if (c->stage != CHILD_RUNNING || !rolled_over(m, c, &other) ||
		    other != svc)
			continue;
		log_info("service %s: retiring %s %ld (generation %u): %u new "
		         "program(s) settled",
		    s->name, c->program ? "program" : "worker", (long)c->pid,
		    c->generation, settled);
		master_child_retire(m, c, now);
		out--;
		old--;
	}
	if (!p->rolling || old > 0 || settled < p->target)
		return;
	p->rolling = false;
	log_notice("service %s: its %u program(s) are of generation %u now",
	    s->name, settled, m->generation);
	for (size_t i = 0; i < m->conf->nservices; i++)
		if (m->pools[i].rolling)
			return;
	if (m->reload_pending)
		master_reload_outcome(m, true, "");
}

/* The live workers of svc of the current generation, of its pool or its
 * datagram-only ones, by their slots. */
static void
count_pool(
    const struct master *m, size_t svc, bool dgram, struct pool_counts *pc)
{
	const struct scoreboard *sb = scoreboard_get();
	struct scoreboard_slot slot;

	memset(pc, 0, sizeof(*pc));
	for (size_t i = 0; i < m->nchildren; i++) {
		const struct child *c = &m->children[i];
		if (!current(m, c, svc) || c->stage != CHILD_RUNNING ||
		    c->dgram != dgram)
			continue;
		scoreboard_read_slot(sb, (unsigned)c->slot, &slot);
		if (slot.state == SB_STARTING)
			pc->starting++;
		else if (slot.state == SB_IDLE)
			pc->idle++;
		else
			pc->busy++;
	}
}

unsigned
master_pool_queued(
    const struct master *m, const struct service *s, bool refusing_only)
{
	unsigned n = 0;

	for (size_t i = 0; i < m->listeners->count; i++) {
		const struct listener *l = &m->listeners->items[i];
		if (refusing_only && !l->refusing)
			continue;
		for (size_t a = 0; a < s->naddrs; a++)
			if (addr_equal(&l->addr, &s->addrs[a]))
				n += listener_queued(l);
	}
	return n;
}

/* Retire the program of svc's pool with the highest index (SIGTTOU, a
 * smaller pool at reload), so the indexes left stay 0 to target - 1. */
static void
retire_program(struct master *m, size_t svc, long long now)
{
	struct child *last = NULL;

	for (size_t i = 0; i < m->nchildren; i++) {
		struct child *c = &m->children[i];
		if (current(m, c, svc) && c->stage == CHILD_RUNNING &&
		    (last == NULL || c->index > last->index))
			last = c;
	}
	if (last == NULL)
		return;
	log_info("service %s: retiring program %ld (index %u)", last->name,
	    (long)last->pid, last->index);
	master_child_retire(m, last, now);
}

/* Retire n workers of svc of one kind, idle ones first. */
static void
retire_some(struct master *m, size_t svc, bool dgram, unsigned n, long long now)
{
	const struct scoreboard *sb = scoreboard_get();
	struct scoreboard_slot slot;

	if (!m->conf->services[svc].accept) {
		while (n-- > 0)
			retire_program(m, svc, now);
		return;
	}
	for (int pass = 0; pass < 2 && n > 0; pass++)
		for (size_t i = 0; i < m->nchildren && n > 0; i++) {
			struct child *c = &m->children[i];
			if (!current(m, c, svc) || c->stage != CHILD_RUNNING ||
			    c->dgram != dgram)
				continue;
			scoreboard_read_slot(sb, (unsigned)c->slot, &slot);
			if (pass == 0 && slot.state != SB_IDLE)
				continue;
			log_info("service %s: retiring worker %ld (%s)",
			    c->name, (long)c->pid,
			    scoreboard_state_name(
			        (enum scoreboard_state)slot.state));
			master_child_retire(m, c, now);
			n--;
		}
}

/* Has c served its quota, idle now? */
static bool
recycle_due(const struct child *c, const struct scoreboard_slot *slot)
{
	return c->stage == CHILD_RUNNING &&
	       pool_recycle_due(
	           slot->connections, c->quota, slot->state == SB_IDLE);
}

/*
 * max_requests: retire the workers of svc that pool_recycle lets go of
 * those due, which the pool then replaces at once.  Those that must wait
 * keep serving; the next look (their poke after each connection, a reap,
 * or next_recycle's timer, since nothing may tell a fixed pool's master
 * that the workers on their way in are ready) lets them go.
 */
static void
recycle(struct master *m, size_t svc, long long now)
{
	const struct service *s = &m->conf->services[svc];
	const struct scoreboard *sb = scoreboard_get();
	struct scoreboard_slot slot;
	unsigned out = 0, due = 0, n;

	if (s->max_requests == 0)
		return;
	for (size_t i = 0; i < m->nchildren; i++) {
		const struct child *c = &m->children[i];
		if (!current(m, c, svc) || c->dgram)
			continue;
		scoreboard_read_slot(sb, (unsigned)c->slot, &slot);
		out += c->recycling ||
		       (c->stage == CHILD_RUNNING && slot.state == SB_STARTING);
		due += recycle_due(c, &slot);
	}
	n = pool_recycle((unsigned)master_child_running(m, svc), out, due, now,
	    &m->pools[svc].next_recycle);
	for (size_t i = 0; i < m->nchildren && n > 0; i++) {
		struct child *c = &m->children[i];
		if (!current(m, c, svc))
			continue;
		scoreboard_read_slot(sb, (unsigned)c->slot, &slot);
		if (!recycle_due(c, &slot))
			continue;
		log_info("service %s: recycling worker %ld after %llu "
		         "connections (max_requests %d)",
		    c->name, (long)c->pid, (unsigned long long)slot.connections,
		    s->max_requests);
		c->recycling = true;
		master_child_retire(m, c, now);
		n--;
	}
}

/*
 * Every worker of svc busy at its largest: a warning for clients that wait
 * for one, queued on its listeners, and only then -- a one-worker pool
 * busy for a millisecond (the status service at each scrape) is no news.
 * The first look of a burst seldom finds the queue grown yet, and the
 * master looks once a second while the burst lasts (pool_decide's next):
 * the first look that finds clients waiting says the pool reached its
 * largest, and one every POOL_FULL_REPEAT_MS while they still wait says it
 * again, with their count then.
 */
static void
note_full(
    struct master *m, size_t svc, unsigned largest, bool begins, long long now)
{
	const struct service *s = &m->conf->services[svc];
	struct service_pool *p = &m->pools[svc];
	unsigned queued;

	if (begins)
		p->full_said = false;
	if (p->full_said && now < p->next_full_note)
		return;
	queued = master_pool_queued(m, s, false);
	if (queued == 0) {
		if (begins)
			log_debug("service %s: every worker busy at "
			          "max_workers (%u); no client waiting",
			    s->name, largest);
		return;
	}
	if (!p->full_said)
		log_warnx("service %s reached max_workers (%u); %u clients "
		          "waiting in the queue",
		    s->name, largest, queued);
	else
		log_warnx("service %s still at max_workers (%u); %u clients "
		          "waiting in the queue",
		    s->name, largest, queued);
	p->full_said = true;
	p->next_full_note = now + POOL_FULL_REPEAT_MS;
}

/*
 * The datagram-only workers of svc (config_dgram_workers): a fixed pool of
 * their own beside its pool, so a datagram never waits for a worker that a
 * stream holds.  They never go busy (a datagram is answered between two
 * looks), so their pool is never full; they die, are replaced and retire
 * as the others do.
 */
static void
adjust_dgram(struct master *m, size_t svc, long long now)
{
	struct service_pool *p = &m->pools[svc];
	unsigned n = config_dgram_workers(&m->conf->services[svc]);
	struct pool_limits limits = { n, 0, 0, n };
	struct pool_counts pc;
	struct pool_decision d;

	if (n == 0)
		return;
	count_pool(m, svc, true, &pc);
	pool_decide(&pc, &limits, &p->dgram_policy, now, &d);
	if (d.next != POOL_NEVER)
		p->next_check = master_earliest(p->next_check, d.next);
	for (unsigned i = 0; i < d.add && !p->disabled && now >= p->next_spawn;
	     i++)
		spawn(m, svc, true, now);
	if (d.retire > 0)
		retire_some(m, svc, true, d.retire, now);
}

/* Ask the pool's policy about svc and do what it says. */
static void
adjust(struct master *m, size_t svc, long long now)
{
	const struct service *s = &m->conf->services[svc];
	struct service_pool *p = &m->pools[svc];
	unsigned largest = pool_ceiling(p->target, (unsigned)s->max_workers);
	struct pool_limits limits = { p->target, (unsigned)s->min_spare,
		(unsigned)s->max_spare, largest };
	struct pool_counts pc;
	struct pool_decision d;

	count_pool(m, svc, false, &pc);
	/* A pool that grows forks a worker for each client queued (a
	 * getsockopt per listener); a fixed one has no use for the count. */
	if (s->min_spare > 0)
		pc.queued = master_pool_queued(m, s, false);
	pool_decide(&pc, &limits, &p->policy, now, &d);
	p->next_check = d.next;
	/* A pool of programs never has more than max_surge beyond its floor
	 * alive, old ones on their way out included. */
	if (!s->accept) {
		unsigned room = pool_roll_room(
		    alive(m, svc), p->target, (unsigned)s->max_surge);
		if (d.add > room)
			d.add = room;
	}
	if (d.add > 0 && pc.starting + pc.idle + pc.busy >= p->target)
		log_info("service %s: %u idle, %u busy: forking %u more",
		    s->name, pc.idle, pc.busy, d.add);
	for (unsigned i = 0; i < d.add && !p->disabled && now >= p->next_spawn;
	     i++)
		spawn(m, svc, false, now);
	if (d.retire > 0)
		retire_some(m, svc, false, d.retire, now);
	if (d.saturated || p->policy.saturated)
		note_full(m, svc, largest, d.saturated, now);
	/* A fixed pool that can fill up, and is not full yet, wants to hear
	 * of it: it has no timer of its own then. */
	scoreboard_set_wake_when_full(
	    svc, s->min_spare == 0 && s->max_spare == 0 &&
	             !p->policy.saturated && p->target >= largest);
	adjust_dgram(m, svc, now);
}

void
master_pool_adjust(struct master *m, long long now)
{
	if (m->stopping)
		return;
	master_program_settle(m, now);
	for (size_t svc = 0; svc < m->conf->nservices; svc++) {
		recycle(m, svc, now);
		adjust(m, svc, now);
		master_pool_roll(m, svc, now);
	}
}

/*
 * A pool of programs keeps a back-off per index; an index never reaches
 * the count of slots (each live program holds one).  GCC's analyzer takes
 * the store into the next pool's fields as one that may overwrite the
 * pointer stored into this one's, and calls that a leak (as in
 * config_keys.c); master_pools_free releases every one.
 */
#if !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
void
master_pools_init(struct master *m)
{
	size_t room = m->children_room;

	for (size_t i = 0; i < m->conf->nservices; i++) {
		struct service_pool *p = &m->pools[i];
		struct pool_slot_backoff *b;
		p->target = (unsigned)m->conf->services[i].workers;
		if (m->conf->services[i].accept || p->backoff != NULL)
			continue;
		/* Without, the pool's own back-off (master_program.c). */
		b = calloc(room, sizeof(*b));
		p->nbackoff = b != NULL ? (unsigned)room : 0;
		p->backoff = b;
	}
}
#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif

void
master_pools_free(struct service_pool *pools, size_t n)
{
	for (size_t i = 0; pools != NULL && i < n; i++)
		free(pools[i].backoff);
	free(pools);
}

/* The back-off starts afresh: a reload is what an operator does after
 * fixing what made a program fail. */
void
master_pools_carry(
    struct master *m, const struct config *old, struct service_pool *old_pools)
{
	for (size_t i = 0; i < m->conf->nservices; i++)
		for (size_t k = 0; k < old->nservices; k++)
			if (strcmp(m->conf->services[i].name,
			        old->services[k].name) == 0)
				m->pools[i].restarts = old_pools[k].restarts;
}

void
master_pool_died(
    struct master *m, const struct child *c, int status, long long now)
{
	struct service_pool *p = &m->pools[c->service];
	long long lived = now - c->started;
	size_t left = c->dgram ? master_child_dgram(m, c->service)
	                       : master_child_running(m, c->service);
	struct pool_death d =
	    pool_after_death(status, lived, (unsigned)left, &p->quick_deaths);

	if (d.respawn == POOL_RESPAWN_NEVER) {
		p->disabled = true;
		log_errorx("service %s: worker cannot run with this "
		           "configuration; not respawning until reload",
		    c->name);
		return;
	}
	if (d.respawn == POOL_RESPAWN_NOW)
		return;
	if (now + d.delay > p->next_spawn)
		p->next_spawn = now + d.delay;
	log_warnx("service %s: worker died %.3fs after start (%u in a row); "
	          "next spawn in %.1fs",
	    c->name, (double)lived / 1000, p->quick_deaths,
	    (double)d.delay / 1000);
}

/*
 * The scoreboard slots SIGTTIN may still take: what max_slots leaves once
 * every pool of the current generation has room for its largest, and a
 * reload's new generation (of the same file) room for its own beside them
 * -- a pool grown by hand must not make the next reload fail.
 */
static unsigned
resize_room(const struct master *m)
{
	unsigned need = config_slots_needed(m->conf);
	unsigned nslots = scoreboard_get()->nslots;

	for (size_t svc = 0; svc < m->conf->nservices; svc++) {
		const struct service *s = &m->conf->services[svc];
		need += pool_ceiling(
		            m->pools[svc].target, (unsigned)s->max_workers) +
		        config_dgram_workers(s);
	}
	return need < nslots ? nslots - need : 0;
}

void
master_pool_resize(struct master *m, int signo, int delta)
{
	if (m->stopping)
		return;
	for (size_t svc = 0; svc < m->conf->nservices; svc++) {
		const struct service *s = &m->conf->services[svc];
		struct service_pool *p = &m->pools[svc];
		switch (pool_resize(&p->target, delta, (unsigned)s->max_workers,
		    resize_room(m))) {
		case POOL_RESIZED:
			log_notice("received %s: service %s now has %u "
			           "worker(s) at least",
			    master_signal_name(signo), s->name, p->target);
			break;
		case POOL_NO_ROOM:
			log_notice("received %s: service %s stays at %u "
			           "worker(s): max_slots = %u has no slot to "
			           "spare beside every pool at its largest and "
			           "a reload's new generation",
			    master_signal_name(signo), s->name, p->target,
			    scoreboard_get()->nslots);
			break;
		case POOL_AT_ONE:
			log_notice("received %s: service %s stays at 1 worker",
			    master_signal_name(signo), s->name);
			break;
		}
	}
}

/*
 * New workers first, so a listener is never left unserved, not even when
 * a fork for the new generation failed.
 */
void
master_pool_retire_old(struct master *m, long long now)
{
	size_t svc;

	if (master_upgrade_holds(m))
		return; /* an upgrade's image whose workers cannot start */
	/* A pool of programs rolls over by itself (master_pool_roll): it
	 * holds no other pool's old workers back. */
	for (svc = 0; svc < m->conf->nservices; svc++)
		if (m->conf->services[svc].accept && !m->pools[svc].disabled &&
		    (master_child_running(m, svc) < m->pools[svc].target ||
		        master_child_dgram(m, svc) <
		            config_dgram_workers(&m->conf->services[svc])))
			return;
	for (size_t i = 0; i < m->nchildren; i++)
		if (m->children[i].generation < m->generation &&
		    m->children[i].stage == CHILD_RUNNING &&
		    !rolled_over(m, &m->children[i], &svc))
			master_child_retire(m, &m->children[i], now);
}

/* The services of the current generation, for -s status and the pool. */
void
master_pool_publish(const struct master *m)
{
	size_t n = m->conf->nservices;
	struct scoreboard_service *t = calloc(n, sizeof(*t));

	if (t == NULL) {
		log_error("scoreboard: calloc for the %zu services of "
		          "generation %u",
		    n, m->generation);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct service *s = &m->conf->services[i];
		snprintf(t[i].name, sizeof(t[i].name), "%s", s->name);
		t[i].workers = (uint32_t)s->workers;
		/* Its datagram-only workers are among those -s status counts
		 * for it. */
		t[i].max_workers =
		    (uint32_t)s->max_workers + config_dgram_workers(s);
		t[i].restarts = m->pools[i].restarts;
	}
	scoreboard_set_services(t, n, m->generation);
	free(t);
}

void
master_pool_notify(
    const struct master *m, enum notify_state state, const char *what)
{
	/* Under notify.c's 512 bytes, with READY=1 and STATUS= before it:
	 * a reason cut to MASTER_FAILURE_LEN leaves room for the rest. */
	char pools[96], degraded[MASTER_FAILURE_LEN + 2 * SCOREBOARD_NAME_LEN];
	char status[480];
	size_t workers = 0, failing = 0, first = 0;

	for (size_t svc = 0; svc < m->conf->nservices; svc++) {
		workers +=
		    master_child_running(m, svc) + master_child_dgram(m, svc);
		if (m->pools[svc].last_failure[0] != '\0' && failing++ == 0)
			first = svc;
	}
	snprintf(pools, sizeof(pools),
	    "generation %u, %zu worker(s) in %zu service(s)", m->generation,
	    workers, m->conf->nservices);
	degraded[0] = '\0';
	/* A stop is a stop, whatever its programs did before. */
	if (failing > 0 && state != NOTIFY_STOPPING)
		snprintf(degraded, sizeof(degraded),
		    "degraded: service %s: %s; ", m->conf->services[first].name,
		    m->pools[first].last_failure);
	if (failing > 1)
		snprintf(degraded + strlen(degraded),
		    sizeof(degraded) - strlen(degraded), "%zu more degraded; ",
		    failing - 1);
	snprintf(status, sizeof(status), "%s%s%s", what, degraded, pools);
	notify_send(state, status);
}

long long
master_pool_next(const struct master *m)
{
	long long next = -1;

	for (size_t svc = 0; !m->stopping && svc < m->conf->nservices; svc++) {
		const struct service_pool *p = &m->pools[svc];
		if (!p->disabled &&
		    (master_child_running(m, svc) < p->target ||
		        master_child_dgram(m, svc) <
		            config_dgram_workers(&m->conf->services[svc])))
			next = master_earliest(next, p->next_spawn);
		if (p->next_check != POOL_NEVER)
			next = master_earliest(next, p->next_check);
		if (p->next_recycle != 0)
			next = master_earliest(next, p->next_recycle);
	}
	/* Ready programs settle (master_program_settle) on time. */
	for (size_t i = 0; !m->stopping && i < m->nchildren; i++) {
		const struct child *c = &m->children[i];
		if (c->program && c->ready && !c->settled &&
		    c->stage == CHILD_RUNNING && c->generation == m->generation)
			next = master_earliest(
			    next, c->started + POOL_LIVED_LONG_MS);
	}
	return next;
}
