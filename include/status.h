/*
 * The scoreboard as text: for preforkd -s status and the status protocol,
 * each from a read-only view (scoreboard_open's, scoreboard_get's).
 */
#ifndef PREFORKD_STATUS_H
#define PREFORKD_STATUS_H

#include <stdbool.h>
#include <stdio.h>

#include "scoreboard.h"

/* Counts of one service's workers of the current generation. */
struct status_counts {
	unsigned starting, idle, busy, quitting;
	/* accept = false: its slots that hold a program, and of those the
	 * ready ones. */
	unsigned programs, ready;
};

/* Count the workers of service svc (index) of generation gen in sb. */
void status_count(const struct scoreboard *sb, unsigned svc, unsigned gen,
    struct status_counts *out);
/* Print sb as preforkd(8) describes under -s status; now is clock_ms();
 * clients: name each worker's client, else print client=hidden. */
void status_print(
    FILE *out, const struct scoreboard *sb, long long now, bool clients);
/* The same counters in the Prometheus text exposition format. */
void status_print_prometheus(
    FILE *out, const struct scoreboard *sb, long long now);

#endif
