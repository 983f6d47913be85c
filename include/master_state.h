/*
 * The master's state and the calls between its rooms (master_*.c): private
 * to them, include it nowhere else.  Every function takes the state it
 * works on, struct master *m; none keeps state of its own but the signal
 * flags, which the handlers set.
 */
#ifndef PREFORKD_MASTER_STATE_H
#define PREFORKD_MASTER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "listener.h"
#include "notify.h"
#include "pool.h"
#include "worker.h"

/* What a signal asks the loop to do. */
enum master_action {
	ACT_REAP,
	ACT_STOP,
	ACT_QUIT,
	ACT_RELOAD,
	ACT_REOPEN,
	ACT_GROW,
	ACT_SHRINK,
	ACT_UPGRADE,
	ACT_N
};

/* A child's stages; each but the first has a deadline after which the
 * master escalates: RUNNING -> QUITTING -SIGTERM-> TERMINATING -SIGKILL->
 * KILLED. */
enum child_stage {
	CHILD_RUNNING,
	CHILD_QUITTING,
	CHILD_TERMINATING,
	CHILD_KILLED
};

/* One worker, as the master knows it. */
struct child {
	pid_t pid;
	size_t service; /* index in the config of its generation */
	char name[40];  /* the service's name, for log lines */
	unsigned generation;
	long long started; /* ms, monotonic */
	enum child_stage stage;
	long long deadline;  /* ms; escalate then (not when RUNNING) */
	int slot;            /* in the scoreboard */
	long long timeout;   /* ms: its service's worker_timeout; 0 = none */
	unsigned long quota; /* connections before recycling; 0: never */
	bool recycling;      /* retired for max_requests, not yet reaped */
	/* One of its service's datagram-only workers (udp_workers), not of
	 * its pool. */
	bool dgram;
	/* accept = false (master_program.c): the service's program itself,
	 * leader of its own process group, signalled as a group. */
	bool program;
	bool ready;      /* ready = "started": once its execve succeeded */
	unsigned index;  /* PREFORKD_WORKER_INDEX, kept by a replacement */
	int out_fd;      /* its stdout and stderr, read by the master; -1 */
	int quit_signal; /* what retires it (quit_signal) */
	/* ready = "notify" (master_notify.c): it was given NOTIFY_SOCKET,
	 * has until ready_by (ms; 0: no longer waited for) to send READY=1,
	 * and once it sent WATCHDOG=1 (at watchdog_at, ms; 0: never), must
	 * send it again within watchdog_ms (worker_timeout; 0: no watch). */
	bool notify;
	long long ready_by;
	long long watchdog_at;
	long long watchdog_ms;
	/* Why master_notify.c killed it, for the line its death logs and a
	 * reload's answer: it missed ready_timeout, or its watchdog. */
	enum { KILLED_NOT, KILLED_NOT_READY, KILLED_WATCHDOG } killed_for;
	long long killed_limit; /* ms: the bound it missed */
	/* Ready and past the time within which a death is a failed start
	 * (pool_program_settled): what a rolling reload waits for. */
	bool settled;
};

/* Room for a pool's last failed start, escaped: what a STATUS= line,
 * under notify.c's 512 bytes with the rest of the status, holds of it. */
#define MASTER_FAILURE_LEN 256

/* Spawning state of one service of the current generation. */
struct service_pool {
	unsigned quick_deaths;    /* workers in a row that died young */
	unsigned fork_failures;   /* fork() failures in a row */
	long long next_spawn;     /* ms; no spawning before */
	bool disabled;            /* a worker said WORKER_EXIT_FATAL */
	unsigned target;          /* the least: workers, moved by TTIN/TTOU */
	struct pool_state policy; /* pool_decide's memory */
	long long next_check;     /* ms; ask pool_decide again then */
	long long next_recycle;   /* ms; a due worker waits; 0: none */
	long long next_full_note; /* ms; no "still at max_workers" before */
	bool full_said;           /* this burst's warning was given */
	/* The datagram-only workers, a fixed pool of their own. */
	struct pool_state dgram_policy;
	/* accept = false: the back-off of each index (nbackoff of them,
	 * one per scoreboard slot), programs replaced after dying unasked since
	 * the master started (carried across reloads), and whether a reload's
	 * new programs are still taking over from the old ones. */
	struct pool_slot_backoff *backoff;
	unsigned nbackoff;
	unsigned restarts;
	bool rolling;
	/* accept = false: why its last failed start failed, escaped, as
	 * the service manager's STATUS= says it (master_pool_notify); ""
	 * while no index of the pool is failing: not degraded. */
	char last_failure[MASTER_FAILURE_LEN];
};

/*
 * The master's state, in memory fork() leaves out (unforked.h), and so are
 * the tables it points to: the master writes them between one fork() and
 * the next, and each worker would otherwise keep its own copy of the page.
 * A worker cannot read them either: what it needs is copied out before
 * fork() and handed to worker_main.
 */
struct master {
	struct config *conf;
	struct listener_set *listeners;
	struct worker_ids ids;
	bool foreground;
	bool stopping; /* a stop or a graceful stop is under way */
	unsigned generation;
	struct child *children; /* room for every scoreboard slot */
	size_t nchildren;
	size_t children_room;
	struct service_pool *pools; /* one per service of conf */
	long long watch_next; /* ms: look for stuck workers then; -1: never */
	/* ms: when a graceful stop began emptying the listen queues; -1
	 * when none is. */
	long long draining_since;
	uint32_t random;        /* rand_u32's state, for max_requests' jitter */
	long long swept;        /* ms: the scoreboard's last sweep; 0 */
	long long sweep_warned; /* ms: the last "scoreboard mended" line */
	long long stop_warned;  /* ms: the last "worker stopped" line */
	unsigned stops_unsaid;  /* stops since, not logged */
	/* master_program.c's tables (output, poll set); NULL until a
	 * program starts. */
	struct program_table *programs;
	/* master_notify.c's socket; NULL until a program of ready =
	 * "notify" starts. */
	struct notify_server *notify;
	/* A reload's outcome waits for its new programs to settle, or for
	 * one to fail its start (-s reload is told then). */
	bool reload_pending;
	/* master_upgrade.c, in an upgrade's image: the generation whose
	 * outcome -s upgrade still waits for (0: none), the one whose
	 * workers cannot start, so that the older ones serve on (0: none),
	 * and the answer's words. */
	unsigned upgrade_owed;
	unsigned upgrade_held;
	char upgrade_from[32];     /* the version it upgraded from */
	char upgrade_warning[200]; /* said after the answer; "" */
};

/* The earlier of two times (ms), where -1 is never. */
long long master_earliest(long long a, long long b);

/* master_signal.c */

/* Take and clear a pending request: the signal number, or 0. */
int master_signal_take(enum master_action action);
/* The signal's short name for log lines ("HUP"), "?" when unknown. */
const char *master_signal_name(int signo);

/* master_child.c */

/* Take c, a worker the master this image replaced forked, into the
 * table (an upgrade); false when the table is full. */
bool master_child_adopt(struct master *m, const struct child *c);
/* The table of children, room for one per scoreboard slot; exits
 * EXIT_RESOURCE when it cannot. */
void master_children_alloc(struct master *m, size_t room);
void master_children_free(struct master *m);
/* What master_child_spawn did. */
enum spawn_result { SPAWNED, SPAWN_NO_SLOT, SPAWN_NO_FORK, SPAWN_WAIT };
/* Fork a worker of service svc into a free scoreboard slot, quota
 * connections before it asks to be recycled; one of its datagram-only
 * workers when dgram.  SPAWN_NO_FORK leaves errno as fork() set it. */
enum spawn_result master_child_spawn(struct master *m, size_t svc,
    unsigned long quota, bool dgram, long long now);
/* Reap one child that exited, out of the table into *dead, its slot
 * freed and its end logged: false when none is left. */
bool master_child_reap(struct master *m, struct child *dead, int *status);
/* Ask a child to finish its client and exit, within shutdown_timeout of
 * since (now, or when a graceful stop began). */
void master_child_retire(struct master *m, struct child *c, long long since);
/* Tell a child to exit now. */
void master_child_terminate(struct child *c, long long now);
/* The children past their stage's deadline: SIGTERM, then SIGKILL. */
void master_child_escalate(struct master *m, long long now);
/* worker_timeout: kill the children stuck without progress. */
void master_child_kill_stuck(struct master *m, long long now);
/* The live workers of svc's pool of the current generation (its
 * datagram-only workers left out). */
size_t master_child_running(const struct master *m, size_t svc);
/* The live datagram-only workers of svc of the current generation. */
size_t master_child_dgram(const struct master *m, size_t svc);
/* When a child's deadline or worker_timeout is due next; -1: never. */
long long master_child_next(const struct master *m);

/* master_pool.c */

/* Every pool at its configured size, nothing to wait for. */
void master_pools_init(struct master *m);
/* Free pools, n of them, and what each holds. */
void master_pools_free(struct service_pool *pools, size_t n);
/* A reload: move what the old pools (of old) must keep into m's new ones
 * -- restart counts, and the back-off of a pool whose programs stay. */
void master_pools_carry(
    struct master *m, const struct config *old, struct service_pool *old_pools);
/* accept = false: retire the old programs that the settled new ones of
 * svc's pool let go (pool_roll_retire); end the roll when none is left. */
void master_pool_roll(struct master *m, size_t svc, long long now);
/* Recycle and spawn or retire what the policy says, for every service. */
void master_pool_adjust(struct master *m, long long now);
/* A worker of the current generation died unasked: plan its
 * replacement. */
void master_pool_died(
    struct master *m, const struct child *c, int status, long long now);
/* SIGTTIN (delta 1), SIGTTOU (-1): every pool one more, or one fewer. */
void master_pool_resize(struct master *m, int signo, int delta);
/* Retire the older generations once every pool of the current one is
 * complete. */
void master_pool_retire_old(struct master *m, long long now);
/* Publish the services of the current generation in the scoreboard. */
void master_pool_publish(const struct master *m);
/* Clients queued on svc's TCP listeners (refusing ones only, if
 * refusing_only). */
unsigned master_pool_queued(
    const struct master *m, const struct service *s, bool refusing_only);
/* Tell the service manager state, with what the pools hold now: first
 * "degraded: service S: WHY; " when a pool of programs keeps failing its
 * start (NOTIFY_STATUS: that alone, no change of state). */
void master_pool_notify(
    const struct master *m, enum notify_state state, const char *what);
/* When a pool wants to be looked at next; -1: never. */
long long master_pool_next(const struct master *m);

/* master_program.c */

/* Start a program of svc (accept = false) into a free slot and the
 * lowest free index of its pool.  A start that failed before the
 * program ran is logged and backed off, and counts as SPAWNED. */
enum spawn_result master_program_spawn(
    struct master *m, size_t svc, long long now);
/* A program of the current generation died unasked: replace it at once,
 * or back off after a failed start. */
void master_program_died(
    struct master *m, const struct child *c, int status, long long now);
/* dead was reaped: read the rest of its output and close it. */
void master_program_reaped(struct master *m, struct child *dead);
/* c was told to quit: its slot says so. */
void master_program_quitting(const struct child *c);
/* Ready: ready = "started" once execve() succeeded, "notify" at READY=1.
 * Settles it at once when it has lived long enough, else at the next
 * master_program_settle. */
void master_program_became_ready(
    struct master *m, struct child *c, long long now);
/* Settle the ready programs past a failed start's time: their index's
 * failures end, and a rolling reload goes on; when the next is due, -1
 * for none. */
long long master_program_settle(struct master *m, long long now);
/* The back-off of index i of svc's pool; NULL when there is none (out
 * of memory, or i past the slots). */
struct pool_slot_backoff *master_program_backoff(
    struct master *m, size_t svc, unsigned i);
/* program_kill_strays' keep: is pgid a live program's group? */
bool master_program_keep(pid_t pgid, void *arg);
/* The poll set of the loop: poke_fd first, then every program's output;
 * NULL when no program ever started. */
struct pollfd *master_program_poll(struct master *m, int poke_fd, size_t *n);
/* After ppoll: log what the programs wrote (n as master_program_poll). */
void master_program_output(struct master *m, size_t n);
/* At exit. */
void master_program_free(struct master *m);
/* c says it is ready (READY=1), or, with ready = "started", its execve
 * succeeded: its slot says ready, and with ready = "notify" its
 * service's streak of failed starts ends. */
void master_program_became_ready(
    struct master *m, struct child *c, long long now);

/* master_notify.c: the NOTIFY_SOCKET of ready = "notify" */

/* NOTIFY_SOCKET for a program ("@name", abstract), the socket made the
 * first time; NULL (errno set) when it cannot be. */
const char *master_notify_socket(struct master *m);
/* The socket, for the poll set; -1 when there is none. */
int master_notify_fd(const struct master *m);
/* Take the datagrams waiting (a bounded number a turn), each only from
 * the pid of a program of a ready = "notify" service. */
void master_notify_read(struct master *m, long long now);
/* Kill the programs past ready_timeout without READY=1, or past
 * worker_timeout since their last WATCHDOG=1. */
void master_notify_check(struct master *m, long long now);
/* When master_notify_check is due next; -1: never. */
long long master_notify_next(const struct master *m);
/* At exit. */
void master_notify_free(struct master *m);
/* c, a program the image before this one started (an upgrade), is about
 * to be adopted with its output pipe (c->out_fd, or -1): its slot's
 * output made ready to read.  false when the table cannot be made. */
bool master_program_adopt(struct master *m, const struct child *c);

/* master_stop.c */

/* SIGTERM: stop now. */
void master_stop(struct master *m, int signo, long long now);
/* SIGQUIT: a graceful stop, first emptying the listen queues. */
void master_quit(struct master *m, int signo, long long now);
/* A graceful stop's second step, once the queues are empty. */
void master_stop_drain(struct master *m, long long now);
/* When the drain looks at the queues next; -1: never. */
long long master_stop_next(const struct master *m, long long now);

/* master_watch.c */

/* When the master is awake anyway, at most once a second: mend the
 * scoreboard where a worker wrote over what the master owns. */
void master_watch_sweep(struct master *m, long long now);
/* A child was stopped (SIGSTOP, SIGTSTP...): say so, rate-bounded. */
void master_watch_stopped(
    struct master *m, const struct child *c, int signo, long long now);

/* master_reload.c */

/* SIGHUP: the configuration again, as a new generation if it is valid. */
void master_reload(struct master *m, int signo, long long now);
/* SIGUSR1: reopen the logs, and a new generation to hold them. */
void master_reopen(struct master *m, int signo, long long now);
/* Do two programs' services (accept = false) of configs ca and cb differ
 * in what their programs were started with: command, env, pass_env,
 * limits, user and group, working_directory, stdin, quit_signal, sandbox,
 * the listen set?  A reload replaces the programs of a service that does
 * and leaves the others alone. */
bool master_program_differs(const struct config *ca, const struct service *a,
    const struct config *cb, const struct service *b);
/* A reload's new programs settled (ok), or one failed its start (why):
 * -s reload is told. */
void master_reload_outcome(struct master *m, bool ok, const char *why);

/* master_upgrade.c */

struct upgrade_state;
/* SIGUSR2: run the binary at the path preforkd was started from in place
 * of this image, after a pre-flight; the outcome goes to -s upgrade. */
void master_upgrade(struct master *m, int signo, long long now);
/* The new image, at the start of its loop: adopt the old image's workers
 * (up, freed) and start a new generation to retire them. */
void master_upgrade_adopt(
    struct master *m, struct upgrade_state *up, long long now);
/* Each turn of the loop: answer -s upgrade once the new generation's
 * pools are full, or one of them cannot start its workers. */
void master_upgrade_watch(struct master *m);
/* A worker of the current generation died unasked (after the pool was
 * told): when it died at its start and the answer is still owed, the new
 * image's workers cannot start. */
void master_upgrade_died(
    struct master *m, const struct child *c, int status, long long now);
/* master_pool_retire_old's gate: the upgrade's generation cannot start
 * its workers, and the older ones serve on. */
bool master_upgrade_holds(const struct master *m);
/* When master_upgrade_watch wants to look again; -1: never. */
long long master_upgrade_next(const struct master *m, long long now);

#endif
