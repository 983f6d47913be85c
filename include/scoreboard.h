/* The shared table of worker slots: who is idle, who is busy, with whom. */
#ifndef PREFORKD_SCOREBOARD_H
#define PREFORKD_SCOREBOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"

#define SCOREBOARD_NAME_LEN 40
#define SCOREBOARD_MESSAGE_LEN 512
/* A program's STATUS= text, its NUL included: sized so that a slot stays
 * a multiple of 8 bytes (and the fuzz target's table ends on a page). */
#define SCOREBOARD_STATUS_LEN 112
/* A service's last failed start, its NUL included: a multiple of 8, so
 * that the service entry stays one (the slots after it need their 8-byte
 * alignment); room for the reason and most of a program's last line. */
#define SCOREBOARD_FAILURE_LEN 192

enum scoreboard_state {
	SB_FREE,     /* no worker */
	SB_STARTING, /* forked, not yet waiting for a client */
	SB_IDLE,     /* waiting in accept() */
	SB_BUSY,     /* serving a client */
	SB_QUITTING, /* told to finish and exit */
};

/*
 * One worker.  The master fills it in before the fork and clears it when
 * it reaps the worker; in between only the worker writes it.  seq is odd
 * while a write is under way, so a reader in another process can tell a
 * torn copy and read again.
 */
struct scoreboard_slot {
	uint32_t seq;
	int32_t pid;
	uint32_t service; /* index in the config of its generation */
	uint32_t generation;
	uint32_t state; /* enum scoreboard_state */
	char service_name[SCOREBOARD_NAME_LEN];
	char client[ADDR_STRLEN]; /* "" when not busy */
	/* The client's address as max_per_source counts it; family 0 when
	 * the worker holds no connection (or the service has no limit). */
	struct addr_source source;
	int64_t conn_started; /* ms, CLOCK_MONOTONIC: one clock for all */
	int64_t changed;      /* ms, CLOCK_MONOTONIC: the last state change */
	/* ms, CLOCK_MONOTONIC_COARSE: the last sign of life -- a state
	 * change, an accept, a byte moved -- for worker_timeout. */
	int64_t progress;
	uint64_t bytes_in, bytes_out; /* finished connections, in total */
	uint64_t conn_in, conn_out;   /* the current connection's, so far */
	uint64_t connections;         /* served to their end */
	/* An exec worker's program (its process group too); 0: none. */
	int32_t program_pid;
	/* accept = false (issue 18): the slot is a program's, written by
	 * the master alone: 1 + its PREFORKD_WORKER_INDEX; 0: a worker. */
	int32_t program_index;
	/* Written by the worker as the sandbox kills it (sandbox.c, from
	 * its SIGSYS handler): 1 with the call it refused, by number and
	 * AUDIT_ARCH_*; read by the master as it reaps a worker that died
	 * of SIGSYS, to name the call (a worker's word, shown only). */
	uint32_t sandbox_trapped;
	int32_t sandbox_call;
	uint32_t sandbox_arch;
	/* accept = false, ready = "notify": the last STATUS= its program
	 * sent (master_notify.c), cut to fit, NUL-terminated; written by
	 * the master alone, raw: escaped wherever it is shown, as any
	 * string of the table. */
	char program_status[SCOREBOARD_STATUS_LEN];
};

/* A service of the current generation, for counts against its limits. */
struct scoreboard_service {
	char name[SCOREBOARD_NAME_LEN];
	uint32_t workers, max_workers;
	/* Its idle workers, counted up and down by the workers themselves
	 * so each can tell, without a system call, when to poke the master;
	 * a hint only, the master counts the slots. */
	int32_t idle_hint;
	/* A fixed pool outside a burst: its last idle worker to take a
	 * client wakes the master, which then says the pool is full (set by
	 * the master; a fixed pool has no timer to find out otherwise). */
	int32_t wake_when_full;
	/* accept = false: its programs' failed starts in a row (set by the
	 * master); not 0: the service is degraded. */
	uint32_t failed_starts;
	/* accept = false: its programs replaced after dying unasked, since
	 * the master started (set by the master). */
	uint32_t restarts;
	/* accept = false: why its last failed start failed ("program 42
	 * (index 0) exited with status 1 0.030s after its start; its last
	 * line: ..."), cut to fit, NUL-terminated; "" once failed_starts is
	 * back to 0.  Written by the master alone, raw (the program's line
	 * as it wrote it): escaped wherever it is shown, as any string of
	 * the table.  The entry stays a multiple of 8 bytes: the slots that
	 * follow the nslots entries need their 8-byte alignment. */
	char last_failure[SCOREBOARD_FAILURE_LEN];
};

struct scoreboard_header {
	char magic[16];
	uint32_t nslots;
	uint32_t nservices; /* of the current generation */
	int32_t master;
	uint32_t generation;
	/* No slot at or past this index was ever claimed: where a worker's
	 * scan of the table (max_per_source) may stop. */
	uint32_t high_water;
	int64_t started; /* ms, CLOCK_MONOTONIC */
	/* The outcome of the last reload, for -s reload to wait on: reloads
	 * counts the finished attempts. */
	uint32_t seq; /* as a slot's, for the fields below */
	uint32_t reloads;
	int32_t reload_result; /* enum scoreboard_reload */
	char reload_message[SCOREBOARD_MESSAGE_LEN];
	/* The same for upgrades (-s upgrade): upgrades counts the answered
	 * requests, upgrade_result is an enum scoreboard_upgrade, and
	 * upgrading is set while one is under way (before the exec). */
	uint32_t upgrades;
	int32_t upgrade_result;
	int32_t upgrading;
	char upgrade_message[SCOREBOARD_MESSAGE_LEN];
	/* Workers the sandbox killed since the master started (as reloads,
	 * under seq). */
	uint32_t sandbox_kills;
};

/* How the last reload ended (-s reload's status, preforkd(8)). */
enum scoreboard_reload {
	SB_RELOAD_FAILED, /* refused: the old generation carries on */
	SB_RELOAD_OK,     /* its generation started */
	/* its generation runs, but its new programs cannot start: the old
	 * ones keep serving (as SB_UPGRADE_STALLED) */
	SB_RELOAD_STALLED,
};

/* How an upgrade request was answered. */
enum scoreboard_upgrade {
	SB_UPGRADE_FAILED, /* refused or failed: the old master carries on */
	SB_UPGRADE_OK,     /* the new image runs; its generation starts */
	SB_UPGRADE_BUSY,   /* an upgrade or a reload was under way */
	/* the new image runs, but its workers cannot start: the old ones
	 * keep serving */
	SB_UPGRADE_STALLED,
};

/*
 * A read-only view of a table: what the master reads to count its
 * workers, -s status maps (scoreboard_open) and the status protocol is
 * lent (scoreboard_get).  Only scoreboard.c writes a table, through its
 * own pointers, each writer to its own fields.
 *
 * Every worker can write the whole mapping, so what it holds is data to
 * show, never an index or a length: nslots is the view's own, the size
 * the table was created (or, for -s status, checked at open) with, and
 * every scan stops there whatever the header says now.
 */
struct scoreboard {
	const struct scoreboard_header *head;
	const struct scoreboard_service *services; /* nslots of them */
	const struct scoreboard_slot *slots;       /* nslots */
	size_t size;
	unsigned nslots;
};

/* pidfile with ".pid" replaced by ".scoreboard" (or that appended); NULL
 * when out of memory. */
char *scoreboard_path(const char *pidfile);

/* Master: create the file next to pidfile afresh (a file already there,
 * another user's too, is replaced, never reused), nslots slots allocated
 * on disk in full, and map it shared; 0, or -1 after logging (a full disk
 * included). */
int scoreboard_create(const char *pidfile, unsigned nslots, pid_t master);
/* Master, before a new generation forks: when the file is gone (or is no
 * longer ours), make it again from the table as it is and map the new one
 * in place of the old; 0 (also when there was nothing to do), or -1 after
 * logging, the old table kept. */
int scoreboard_recreate(void);
/* Master: the descriptor that becomes readable when a worker pokes. */
int scoreboard_poke_fd(void);
/* Master: read every poke there is, without blocking. */
void scoreboard_drain_pokes(void);
/* Worker: close what only the master needs. */
void scoreboard_worker_init(void);
/* Worker: add delta (1 or -1) to its service's idle_hint; the new count,
 * or INT32_MIN when its generation is no longer the current one. */
int32_t scoreboard_idle_hint(int slot, int delta);
/* Worker: should taking the last idle worker of its service wake the
 * master?  (wake_when_full of its service, false when its generation is
 * no longer the current one.) */
bool scoreboard_wake_when_full(int slot);
/* Master: set wake_when_full of service svc of the current generation. */
void scoreboard_set_wake_when_full(size_t svc, bool wake);
/* Worker: wake the master to look at the table; one write(), never
 * blocks. */
void scoreboard_poke(void);
/* Master, before an upgrade's exec: the table's and the poke pipe's
 * descriptors, to hand over (close-on-exec, as every one of ours). */
void scoreboard_handover(int *board_fd, int *poke_read, int *poke_write);
/* Master, in the image an upgrade started: map the table handed over as
 * board_fd (next to pidfile, nslots slots, the layout this build knows)
 * and take the poke pipe; 0, or -1 after logging. */
int scoreboard_adopt(
    const char *pidfile, int board_fd, int poke_read, int poke_write);
/* Master, after scoreboard_adopt: slot is the running worker pid of
 * service (in its generation's config) and generation, as the master
 * before the upgrade handed it out. */
void scoreboard_adopt_slot(
    int slot, pid_t pid, size_t service, unsigned generation);
/* The layout's name (its magic): what an upgrade's pre-flight compares. */
const char *scoreboard_layout(void);
/* Master: an upgrade is under way (-s upgrade then answers busy). */
void scoreboard_upgrade_begin(void);
/* Master: the answer to an upgrade request, with a one-line message. */
void scoreboard_upgrade_done(
    enum scoreboard_upgrade result, const char *message);
/* Master: unmap and unlink it (at exit, before the pidfile goes). */
void scoreboard_remove(void);
/* A read-only view of the table the master created, for it and its
 * workers (the status protocol); NULL without. */
const struct scoreboard *scoreboard_get(void);
/* Master: take a free slot for a worker about to be forked; its index, or
 * -1 when every slot is taken. */
int scoreboard_claim(size_t service, const char *name, unsigned generation);
/* Master: note the pid fork() returned. */
void scoreboard_set_pid(int slot, pid_t pid);
/* Master: the worker in slot is reaped; clear the slot. */
void scoreboard_release(int slot);
/* Master: the services of the current generation. */
void scoreboard_set_services(
    const struct scoreboard_service *services, size_t n, unsigned generation);
/* Master: the outcome of a reload, and its first error when it failed. */
void scoreboard_reload_done(enum scoreboard_reload result, const char *message);
/* Master: write back what a worker may have changed of what the master
 * owns (the header, the services, each slot's pid, service and
 * generation), and clear every slot it has not handed out; the number of
 * slots it had to clear or mend. */
unsigned scoreboard_sweep(void);

/* Master: slot holds the program of index (accept = false). */
void scoreboard_set_program(int slot, unsigned index);
/* Master: the STATUS= text (len bytes, cut to fit) of the program in
 * slot. */
void scoreboard_set_program_status(int slot, const char *text, size_t len);
/* Master: the failed starts in a row of service svc's programs. */
void scoreboard_set_failed_starts(size_t svc, unsigned n);
/* Master: why the last failed start of service svc's programs failed
 * (cut to fit, "..." at its end when cut); "" when it is not degraded. */
void scoreboard_set_last_failure(size_t svc, const char *why);
/* Master: the programs of service svc replaced so far. */
void scoreboard_set_restarts(size_t svc, unsigned n);
/* Master: the program in slot carries on into generation, as its
 * service of index service there (a reload that leaves it alone). */
void scoreboard_move_slot(int slot, size_t service, unsigned generation);
/* Worker, from a signal handler (plain stores only): the sandbox refused
 * call number call of architecture arch (AUDIT_ARCH_*), and kills it. */
void scoreboard_sandbox_trapped(int slot, uint32_t arch, int32_t call);
/* Master: count a worker the sandbox killed. */
void scoreboard_count_sandbox_kill(void);

/* Worker: change the state of its own slot. */
void scoreboard_set_state(int slot, enum scoreboard_state state);
/* Worker: a client from client (text) is being served from now on. */
void scoreboard_busy(int slot, const char *client, long long now);
/* Worker: the client is gone after in and out bytes. */
void scoreboard_idle(
    int slot, unsigned long long in, unsigned long long out, long long now);
/* Worker: the current connection has moved in and out bytes so far; plain
 * stores and a coarse clock read, no system call. */
void scoreboard_progress(
    int slot, unsigned long long in, unsigned long long out);
/* Worker: its program runs as pid (0: no longer). */
void scoreboard_program(int slot, pid_t pid);
/* Worker: publish source as its client's, then count the connections of
 * its service, of any generation, from that source, its own included;
 * 0 without a table.  Only slots with the pid the master stores at
 * fork() count: a free slot a worker dressed up as busy does not. */
unsigned scoreboard_source_enter(int slot, const struct addr_source *source);

/* Another process: map the running master's table read-only; 0, or -1
 * after logging. */
int scoreboard_open(const char *pidfile, struct scoreboard *sb);
/* Unmap what scoreboard_open mapped. */
void scoreboard_close(struct scoreboard *sb);
/* A consistent copy of slot i (retrying a torn read). */
void scoreboard_read_slot(
    const struct scoreboard *sb, unsigned i, struct scoreboard_slot *out);
/* A consistent copy of the header. */
void scoreboard_read_header(
    const struct scoreboard *sb, struct scoreboard_header *out);
/* Where a scan of sb's slots may stop: no slot at or past it was ever
 * claimed.  The header's high_water, never past sb's nslots. */
unsigned scoreboard_high_water(const struct scoreboard *sb);
/* The ms from then, a time read from a slot or the header, to now: 0 when
 * then is later, LLONG_MAX when the difference would overflow (a worker
 * may have written any then). */
long long scoreboard_elapsed(long long now, int64_t then);
/* "idle", "busy", ... */
const char *scoreboard_state_name(enum scoreboard_state state);

#endif
