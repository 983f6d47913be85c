/*
 * Reload (SIGHUP) and reopen (SIGUSR1), each as a new generation: the new
 * workers start first, then the old ones are asked to finish their client
 * and exit (master_pool_retire_old).  A reload builds the complete new
 * state first and swaps only when it is valid: a bad file changes nothing,
 * and -s reload is told through the scoreboard.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "master_state.h"
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

static void
reload_failed(const struct master *m)
{
	log_errorx("reload failed: still running generation %u", m->generation);
	scoreboard_reload_done(false, log_error_first());
	master_pool_notify(m, NOTIFY_READY, "reload failed: ");
}

/* The generation after this one takes over: publish it, fork its
 * workers, and retire the old ones as soon as it is complete. */
static void
next_generation(struct master *m, long long now)
{
	scoreboard_recreate(); /* one that tmpfiles cleaning removed */
	m->generation++;
	master_pool_publish(m);
	master_pool_adjust(m, now);
	master_pool_retire_old(m, now);
}

void
master_reload(struct master *m, int signo, long long now)
{
	struct worker_ids ids;
	struct config *next, *old;
	struct service_pool *pools;

	if (m->stopping)
		return;
	log_notice("received %s: reloading %s", master_signal_name(signo),
	    m->conf->path);
	master_pool_notify(m, NOTIFY_RELOADING, "reloading: ");
	log_error_mark();
	next = config_load(m->conf->path);
	if (next == NULL || reload_ids(next, &ids) == -1 ||
	    reload_slots(m, next) == -1 ||
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
	m->ids = ids;
	daemon_worker_ids_log(next->user, ids.change, ids.uid, ids.gid);
	free(m->pools);
	m->pools = pools;
	master_pools_init(m);
	/* Before the new workers fork: they must not accept a client on a
	 * socket that still has the old options. */
	listener_commit(m->listeners);
	next_generation(m, now);
	config_free(old);
	log_notice("reloaded %s: generation %u, %zu service(s)", m->conf->path,
	    m->generation, m->conf->nservices);
	log_error_first();
	scoreboard_reload_done(true, "");
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
	next_generation(m, now);
}
