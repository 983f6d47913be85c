/*
 * What a worker shows of itself: its scoreboard slot and its process
 * title, changed together, and the wake-ups of the master those changes
 * call for.
 */
#ifndef PREFORKD_WORKER_SLOT_H
#define PREFORKD_WORKER_SLOT_H

#include <stdbool.h>

struct service;

struct worker_slot {
	int index;                 /* ours in the scoreboard */
	const struct service *svc; /* its name, its spare thresholds */
	bool dynamic;              /* the master sizes the pool by idle ones */
	/* Counted among its pool's idle workers (idle_hint): all but a
	 * datagram-only worker, which is of no pool's spares. */
	bool spare;
};

/* Set ws up for the worker of svc in scoreboard slot index. */
void worker_slot_init(
    struct worker_slot *ws, const struct service *svc, int index);
/* Only the title: "preforkd: worker NAME [state client]"; client may be
 * NULL.  No system call: the title is argv's memory. */
void worker_slot_title(
    const struct worker_slot *ws, const char *state, const char *client);
/* Set up and waiting for a client: idle, counted in. */
void worker_slot_ready(const struct worker_slot *ws);
/* Taken a client named client at now (ms): busy, counted out. */
void worker_slot_busy(
    const struct worker_slot *ws, const char *client, long long now);
/* The client is known by another name from now on (PROXY). */
void worker_slot_rename(
    const struct worker_slot *ws, const char *client, long long start);
/* The client is gone after in and out bytes: idle again, or quitting
 * when told to quit meanwhile. */
void worker_slot_done(const struct worker_slot *ws, unsigned long long in,
    unsigned long long out, bool quitting);
/* Waiting no more: quitting, counted out. */
void worker_slot_quit(const struct worker_slot *ws);

#endif
