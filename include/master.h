/* The supervisor: signals become actions on the pool of workers. */
#ifndef PREFORKD_MASTER_H
#define PREFORKD_MASTER_H

#include <stdbool.h>

struct config;
struct listener_set;
struct worker_ids;    /* worker.h */
struct upgrade_state; /* master_upgrade.h */

/* The signal that -s NAME sends ("stop", "quit", "reload", "reopen"), or 0. */
int master_signal_by_name(const char *name);
/* "stop|quit|reload|reopen", for the usage message. */
const char *master_signal_names(void);
/* Block the master's signals and install its handlers; call before binding
 * so no signal is lost between start-up and the loop. */
void master_signals_init(void);
/*
 * Supervise: spawn the workers of conf on listeners, then act on signals
 * until stopped.  Takes ownership of conf and listeners, and of up, the
 * state the master this image replaced handed over (NULL at a start):
 * its workers are then adopted and retired by a new generation.  Returns
 * the process exit status.
 */
int master_run(struct config *conf, struct listener_set *listeners,
    const struct worker_ids *ids, bool foreground, struct upgrade_state *up);

#endif
