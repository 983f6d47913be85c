/*
 * Reload (SIGHUP) and reopen (SIGUSR1), each as a new generation: the new
 * workers start first, then the old ones are asked to finish their client
 * and exit (master_pool_retire_old).  A reload builds the complete new
 * state first and swaps only when it is valid: a bad file changes nothing,
 * and -s reload is told through the scoreboard.
 *
 * A pool of programs (accept = false) is not replaced at once: a program
 * whose settings the reload leaves as they were carries on into the new
 * generation, untouched (master_program_differs); the others roll over,
 * one new program, then one old one retired once the new one settled
 * (master_pool_roll).  Such a reload's outcome waits for the roll: -s
 * reload hears "ok" once every new program settled, or why not as soon
 * as one failed its start, while the old ones keep serving.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "master_state.h"
#include "sandbox.h"
#include "scoreboard.h"

/* Whether two optional paths name the same thing. */
static bool
same_path(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* Apply the log settings of next, keeping the old ones if they fail.  The
 * new generation's workers inherit what is open once this is done. */
static void
reload_log(const struct master *m, const struct config *next)
{
	const char *where = log_where(next->log, m->foreground);

	/* Compared with where lines go now, so a syslog that could not be
	 * reached at start is tried again. */
	if (strcmp(where, log_target()) == 0)
		log_set_level((enum log_level)next->log_level);
	else if (log_open(where, (enum log_level)next->log_level) == -1)
		log_warnx("reload: log %s (keeping the current log): %s", where,
		    log_open_error(errno));
	if (!same_path(next->access_log, log_access_target()) &&
	    log_access_open(next->access_log) == -1)
		log_warnx("reload: access_log %s (keeping the current one): %s",
		    next->access_log, log_open_error(errno));
}

/* Resolve the workers' user of next into ids; -1 after logging. */
static int
reload_ids(const struct config *next, struct worker_ids *ids)
{
	return daemon_worker_ids(
	    next->user, next->group, &ids->change, &ids->uid, &ids->gid);
}

/* Is there room in the scoreboard for need more workers beside every
 * child that still holds a slot (an old generation keeps its own until it
 * exits)? */
static bool
slots_left(const struct master *m, unsigned need)
{
	return need + m->nchildren <= scoreboard_get()->nslots;
}

/* Room in the scoreboard for next's pools; -1 after logging. */
static int
reload_slots(const struct master *m, const struct config *next)
{
	unsigned nslots = scoreboard_get()->nslots;
	unsigned need = config_slots_needed(next);

	if (next->max_slots != nslots)
		log_warnx("reload: max_slots = %u takes effect at restart "
		          "(the scoreboard has %u slots)",
		    next->max_slots, nslots);
	if (!slots_left(m, need)) {
		log_errorx("reload: the new generation needs %u worker slots "
		           "and %zu are held by running workers, but the "
		           "scoreboard has %u (max_slots, fixed at start)",
		    need, m->nchildren, nslots);
		return -1;
	}
	return 0;
}

/* Two optional strings (paths, names) say the same. */
static bool
same_text(const char *a, const char *b)
{
	return same_path(a, b);
}

/* Two NULL-terminated lists (argv, env) say the same. */
static bool
same_list(char *const *a, char *const *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	for (; *a != NULL && *b != NULL; a++, b++)
		if (strcmp(*a, *b) != 0)
			return false;
	return *a == NULL && *b == NULL;
}

/* The user and group a program of s runs as, as program_user_of picks
 * them: the service's own, else the global ones. */
static void
program_ids(const struct config *c, const struct service *s, const char **user,
    const char **group)
{
	*user = s->user != NULL ? s->user : c->user;
	*group = s->group != NULL  ? s->group
	         : s->user != NULL ? NULL
	                           : c->group;
}

/* WATCHDOG_USEC in a program's environment (ready = "notify" with a
 * worker_timeout); 0 when it gets none. */
static int
watchdog_of(const struct service *s)
{
	return s->ready == READY_NOTIFY ? s->worker_timeout : 0;
}

bool
master_program_differs(const struct config *ca, const struct service *a,
    const struct config *cb, const struct service *b)
{
	const char *ua, *ga, *ub, *gb;

	program_ids(ca, a, &ua, &ga);
	program_ids(cb, b, &ub, &gb);
	if (a->accept != b->accept || !same_list(a->command, b->command) ||
	    !same_list(a->env, b->env) ||
	    !same_list(a->pass_env, b->pass_env) || !same_text(ua, ub) ||
	    !same_text(ga, gb) ||
	    !same_path(a->working_directory, b->working_directory) ||
	    a->stdin_socket != b->stdin_socket ||
	    a->quit_signal != b->quit_signal || a->sandbox != b->sandbox ||
	    a->ready != b->ready || watchdog_of(a) != watchdog_of(b) ||
	    a->limit_as != b->limit_as || a->limit_cpu != b->limit_cpu ||
	    a->limit_nofile != b->limit_nofile ||
	    a->limit_nproc != b->limit_nproc ||
	    a->limit_core != b->limit_core ||
	    a->limit_fsize != b->limit_fsize || a->naddrs != b->naddrs)
		return true;
	/* The sockets from fd 3 on, in listen order. */
	for (size_t i = 0; i < a->naddrs; i++)
		if (!addr_equal(&a->addrs[i], &b->addrs[i]))
			return true;
	return false;
}

/*
 * The programs of the generation before (of config old) whose service
 * the new one has with the same settings carry on into it, as they are:
 * not signalled, same pid, same index; their slot shows the new
 * generation.  The others stay in theirs, to be rolled over or retired.
 */
static void
keep_programs(struct master *m, const struct config *old)
{
	for (size_t i = 0; i < m->nchildren; i++) {
		struct child *c = &m->children[i];
		if (!c->program || c->stage != CHILD_RUNNING ||
		    c->generation + 1 != m->generation ||
		    c->service >= old->nservices)
			continue;
		for (size_t k = 0; k < m->conf->nservices; k++) {
			const struct service *s = &m->conf->services[k];
			if (strcmp(s->name, old->services[c->service].name) !=
			        0 ||
			    master_program_differs(
			        old, &old->services[c->service], m->conf, s))
				continue;
			c->service = k;
			c->generation = m->generation;
			scoreboard_move_slot(c->slot, k, m->generation);
			break;
		}
	}
}

/* Which pools of programs the reload starts programs for: those short of
 * their floor once the kept ones are counted, and those with old ones to
 * replace.  True when there is one: the reload's outcome waits. */
static bool
mark_rolls(struct master *m)
{
	bool any = false;

	for (size_t svc = 0; svc < m->conf->nservices; svc++) {
		const struct service *s = &m->conf->services[svc];
		bool old = false;
		if (s->accept)
			continue;
		for (size_t i = 0; i < m->nchildren; i++)
			old |= m->children[i].generation < m->generation &&
			       m->children[i].stage == CHILD_RUNNING &&
			       strncmp(m->children[i].name, s->name,
			           sizeof(m->children[i].name)) == 0;
		m->pools[svc].rolling =
		    old || master_child_running(m, svc) < m->pools[svc].target;
		any |= m->pools[svc].rolling;
	}
	return any;
}

void
master_reload_outcome(struct master *m, bool ok, const char *why)
{
	if (!m->reload_pending)
		return;
	m->reload_pending = false;
	if (ok) {
		log_notice("reload: every new program of generation %u "
		           "settled",
		    m->generation);
		scoreboard_reload_done(SB_RELOAD_OK, "");
		master_pool_notify(m, NOTIFY_READY, "");
		return;
	}
	log_errorx("reload failed: %s", why);
	scoreboard_reload_done(SB_RELOAD_STALLED, why);
	master_pool_notify(m, NOTIFY_READY, "reload failed: ");
}

static void
reload_failed(struct master *m)
{
	/* This answer is the one -s reload waits for now. */
	m->reload_pending = false;
	log_errorx("reload failed: still running generation %u", m->generation);
	scoreboard_reload_done(SB_RELOAD_FAILED, log_error_first());
	master_pool_notify(m, NOTIFY_READY, "reload failed: ");
}

/* The generation after this one takes over from the one of config old:
 * publish it, fork its workers, and retire the old ones as soon as it is
 * complete (a pool of programs: one by one).  A reload's outcome then
 * waits for new programs (true), a reopen's never does. */
static bool
next_generation(
    struct master *m, const struct config *old, bool reload, long long now)
{
	bool waits;

	scoreboard_recreate(); /* one that tmpfiles cleaning removed */
	m->generation++;
	keep_programs(m, old);
	waits = reload && mark_rolls(m);
	m->reload_pending = waits || (!reload && m->reload_pending);
	master_pool_publish(m);
	master_pool_adjust(m, now);
	master_pool_retire_old(m, now);
	return waits;
}

void
master_reload(struct master *m, int signo, long long now)
{
	struct worker_ids ids;
	struct config *next, *old;
	struct service_pool *pools, *old_pools;
	bool waits;

	if (m->stopping)
		return;
	log_notice("received %s: reloading %s", master_signal_name(signo),
	    m->conf->path);
	master_pool_notify(m, NOTIFY_RELOADING, "reloading: ");
	log_error_mark();
	next = config_load(m->conf->path);
	/* sandbox_check: a service that says sandbox = on where the kernel
	 * cannot give it one is refused, as at start. */
	if (next == NULL || sandbox_check(next, false) == -1 ||
	    reload_ids(next, &ids) == -1 || reload_slots(m, next) == -1 ||
	    daemon_files_limit(config_addresses(next)) == -1 ||
	    (pools = calloc(next->nservices, sizeof(*pools))) == NULL) {
		config_free(next);
		reload_failed(m);
		return;
	}
	if (listener_apply(m->listeners, next) == -1) {
		free(pools);
		config_free(next);
		reload_failed(m);
		return;
	}
	if (strcmp(next->pidfile, m->conf->pidfile) != 0)
		log_warnx("reload: a new pidfile takes effect at restart");
	reload_log(m, next);
	old = m->conf;
	m->conf = next;
	/* Filters for a protocol or mode new to the master, built once here
	 * rather than by each of its workers. */
	sandbox_prepare(next);
	m->ids = ids;
	daemon_worker_ids_log(next->user, ids.change, ids.uid, ids.gid);
	old_pools = m->pools;
	m->pools = pools;
	master_pools_init(m);
	master_pools_carry(m, old, old_pools);
	master_pools_free(old_pools, old->nservices);
	/* Before the new workers fork: they must not accept a client on a
	 * socket that still has the old options. */
	listener_commit(m->listeners);
	waits = next_generation(m, old, true, now);
	config_free(old);
	log_notice("reloaded %s: generation %u, %zu service(s)", m->conf->path,
	    m->generation, m->conf->nservices);
	log_error_first();
	/* Told already when a new program failed at once. */
	if (waits) {
		if (m->reload_pending)
			log_info("reload: waiting for the new programs to "
			         "settle");
		return;
	}
	scoreboard_reload_done(SB_RELOAD_OK, "");
	master_pool_notify(m, NOTIFY_READY, "");
}

/* Reopen one log file: true when there is a new file to turn over to. */
static bool
reopen_file(const char *key, const char *path, int (*reopen_fn)(void))
{
	int rc = reopen_fn();

	if (rc == -1)
		log_errorx("reopen %s %s: %s; still writing to the file "
		           "already open",
		    key, path, log_open_error(errno));
	return rc == 1;
}

/*
 * Workers cannot open the log files -- they are root's, and a worker that
 * could open a path could be tricked into another -- so they get the new
 * descriptors the way they got the first ones, by fork(): the master
 * reopens the files and turns the pools over to a new generation as a
 * reload does, new workers first, then the old ones finish their client
 * (an idle one at once) and exit.  Nothing is lost: a busy old worker
 * writes its last access line to the file it has, the rotated one.  No
 * channel to each worker, no code in the worker: the price is one fork()
 * per worker per rotation, and room in the scoreboard for both
 * generations for that long, as a reload needs.
 */
void
master_reopen(struct master *m, int signo, long long now)
{
	bool reopened;

	log_notice("received %s: reopening the log", master_signal_name(signo));
	reopened = reopen_file("log", log_target(), log_reopen);
	reopened |=
	    reopen_file("access_log", log_access_target(), log_access_reopen);
	if (!reopened || m->stopping)
		return;
	if (!slots_left(m, config_slots_needed(m->conf))) {
		log_errorx("reopen: no room in the scoreboard (max_slots = %u) "
		           "for a new generation beside %zu running workers: "
		           "they keep writing to the old file",
		    scoreboard_get()->nslots, m->nchildren);
		return;
	}
	log_notice("log reopened: generation %u takes over from the "
	           "workers that hold the old file",
	    m->generation + 1);
	next_generation(m, m->conf, false, now);
}
