/*
 * The upgrade's hand-over (master_handover.c): the text the old image
 * writes for the new one across the execve, in a numbered format, and
 * the state the new image reads out of it.  Private to the upgrade's
 * rooms: master_upgrade.c (the old image, and the new one's start-up),
 * master_upgrade_adopt.c (the new image's adoption and answer).
 */
#ifndef PREFORKD_MASTER_HANDOVER_H
#define PREFORKD_MASTER_HANDOVER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "listener.h"

/* The hand-over text's format: a new one for any change in its lines.
 * 2 added a child's dgram, program, ready, index, quit_signal and output
 * pipe to 1's lines; 1 is still read (what it lacks taken as a built-in
 * worker's), so that the image before 2 can upgrade to this one. */
#define HANDOVER_FORMAT 2
#define HANDOVER_OLDEST 1
/* The longest reason an upgrade gives. */
#define UPGRADE_WHY_LEN 400

struct master;

/* A child as the hand-over names it: struct child's fields, each one
 * checked against its bounds as it is read. */
struct upgrade_child {
	pid_t pid;
	int slot;
	size_t service;
	unsigned generation;
	int stage;
	long long started, deadline, timeout;
	unsigned long quota;
	bool recycling, dgram, program, ready;
	unsigned index;
	int quit_signal;
	int out_fd; /* a program's output pipe, crossing the exec; -1 */
	char name[40];
};

/* What the old image handed over, and what the new one made of it. */
struct upgrade_state {
	int format; /* HANDOVER_OLDEST to HANDOVER_FORMAT */
	char version[32];
	char binary[PATH_MAX]; /* absolute: what the next upgrade runs */
	unsigned generation;
	long long began; /* ms, monotonic: when the old image was asked */
	int pidfile_fd;
	char pidfile[PATH_MAX];
	int board_fd, poke[2];
	struct listener_inherited *listeners;
	size_t nlisteners;
	struct upgrade_child *children;
	size_t nchildren;
	/* What this image could not do as a start would (upgrade_trouble):
	 * fatal keeps its workers from starting; "" when none. */
	char fatal[UPGRADE_WHY_LEN], warning[UPGRADE_WHY_LEN];
};

/* m's state, binary (what the new image runs again at the next upgrade)
 * and when the upgrade began (ms), as a text of HANDOVER_FORMAT in a
 * memfd, at offset 0: its descriptor (close-on-exec still), or -1 with
 * errno set. */
int master_handover_write(
    const struct master *m, const char *binary, long long began);
/* The text on fd, every line checked, into a new *up; 0, or -1 after
 * logging what is wrong with which line.  fd is left open. */
int master_handover_read(int fd, struct upgrade_state **up);
void master_handover_free(struct upgrade_state *up);

#endif
