/*
 * The scoreboard as text.  One format for people and scripts alike: one
 * line per master, per service and per worker, each a word and then
 * key=value pairs, so that `grep` and `awk` read it as easily as an eye.
 * The Prometheus form carries the same counters.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "scoreboard.h"
#include "status.h"

void
status_count(const struct scoreboard *sb, unsigned svc, unsigned gen,
    struct status_counts *out)
{
	struct scoreboard_slot s;

	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < sb->head->nslots; i++) {
		scoreboard_read_slot(sb, i, &s);
		if (s.state == SB_FREE || s.generation != gen ||
		    s.service != svc)
			continue;
		switch (s.state) {
		case SB_STARTING:
			out->starting++;
			break;
		case SB_IDLE:
			out->idle++;
			break;
		case SB_BUSY:
			out->busy++;
			break;
		case SB_QUITTING:
			out->quitting++;
			break;
		}
	}
}

static unsigned
slots_in_use(const struct scoreboard *sb)
{
	struct scoreboard_slot s;
	unsigned n = 0;

	for (unsigned i = 0; i < sb->head->nslots; i++) {
		scoreboard_read_slot(sb, i, &s);
		n += s.state != SB_FREE;
	}
	return n;
}

static const char *
reload_outcome(const struct scoreboard_header *h)
{
	if (h->reloads == 0)
		return "none";
	return h->reload_ok ? "ok" : "failed";
}

/* in and out: every byte the worker has moved, the current connection's
 * so far included. */
static void
print_worker(
    FILE *out, const struct scoreboard_slot *s, long long now, bool clients)
{
	fprintf(out,
	    "worker pid=%" PRId32 " service=%s generation=%" PRIu32
	    " state=%s client=%s time=%.3fs in=%" PRIu64 " out=%" PRIu64
	    " served=%" PRIu64,
	    s->pid, s->service_name, s->generation,
	    scoreboard_state_name((enum scoreboard_state)s->state),
	    s->client[0] == '\0' ? "-"
	    : clients            ? s->client
	                         : "hidden",
	    (double)(now - s->changed) / 1000, s->bytes_in + s->conn_in,
	    s->bytes_out + s->conn_out, s->connections);
	/* An exec worker's program: what to look at, or kill, by hand. */
	if (s->program_pid > 0)
		fprintf(out, " program=%" PRId32, s->program_pid);
	fputc('\n', out);
}

/* The workers of service svc of generation gen; any other generation's
 * when svc is -1. */
static void
print_workers(FILE *out, const struct scoreboard *sb, long svc, unsigned gen,
    long long now, bool clients)
{
	struct scoreboard_slot s;

	for (unsigned i = 0; i < sb->head->nslots; i++) {
		scoreboard_read_slot(sb, i, &s);
		if (s.state == SB_FREE)
			continue;
		if (svc == -1 ? s.generation != gen
		              : s.generation == gen && s.service == svc)
			print_worker(out, &s, now, clients);
	}
}

void
status_print(
    FILE *out, const struct scoreboard *sb, long long now, bool clients)
{
	struct scoreboard_header h;

	scoreboard_read_header(sb, &h);
	fprintf(out,
	    "master pid=%" PRId32 " generation=%" PRIu32
	    " uptime=%llds slots=%u/%" PRIu32 " reload=%s\n",
	    h.master, h.generation, (now - h.started) / 1000, slots_in_use(sb),
	    h.nslots, reload_outcome(&h));
	for (unsigned i = 0; i < h.nservices && i < h.nslots; i++) {
		const struct scoreboard_service *svc = &sb->services[i];
		struct status_counts c;
		status_count(sb, i, h.generation, &c);
		fprintf(out,
		    "service name=%.*s idle=%u busy=%u starting=%u "
		    "quitting=%u total=%u max=%" PRIu32 "\n",
		    (int)sizeof(svc->name) - 1, svc->name, c.idle, c.busy,
		    c.starting, c.quitting,
		    c.idle + c.busy + c.starting + c.quitting,
		    svc->max_workers);
		print_workers(out, sb, i, h.generation, now, clients);
	}
	print_workers(out, sb, -1, h.generation, now, clients);
}

/* "# HELP" and "# TYPE" of one metric family. */
static void
family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample per service of the current generation: value(i). */
static void
per_service(FILE *out, const struct scoreboard *sb,
    const struct scoreboard_header *h, const char *name, const char *state,
    unsigned (*value)(
        const struct status_counts *, const struct scoreboard_service *))
{
	for (unsigned i = 0; i < h->nservices && i < h->nslots; i++) {
		const struct scoreboard_service *svc = &sb->services[i];
		struct status_counts c;
		status_count(sb, i, h->generation, &c);
		fprintf(out, "%s{service=\"%.*s\"%s%s%s} %u\n", name,
		    (int)sizeof(svc->name) - 1, svc->name,
		    state != NULL ? ",state=\"" : "",
		    state != NULL ? state : "", state != NULL ? "\"" : "",
		    value(&c, svc));
	}
}

static unsigned
n_starting(const struct status_counts *c, const struct scoreboard_service *s)
{
	(void)s;
	return c->starting;
}

static unsigned
n_idle(const struct status_counts *c, const struct scoreboard_service *s)
{
	(void)s;
	return c->idle;
}

static unsigned
n_busy(const struct status_counts *c, const struct scoreboard_service *s)
{
	(void)s;
	return c->busy;
}

static unsigned
n_quitting(const struct status_counts *c, const struct scoreboard_service *s)
{
	(void)s;
	return c->quitting;
}

static unsigned
n_max(const struct status_counts *c, const struct scoreboard_service *s)
{
	(void)c;
	return s->max_workers;
}

void
status_print_prometheus(FILE *out, const struct scoreboard *sb, long long now)
{
	struct scoreboard_header h;

	scoreboard_read_header(sb, &h);
	family(out, "preforkd_workers", "gauge",
	    "Workers of the current generation, by service and state.");
	per_service(out, sb, &h, "preforkd_workers", "starting", n_starting);
	per_service(out, sb, &h, "preforkd_workers", "idle", n_idle);
	per_service(out, sb, &h, "preforkd_workers", "busy", n_busy);
	per_service(out, sb, &h, "preforkd_workers", "quitting", n_quitting);
	family(out, "preforkd_workers_max", "gauge",
	    "The most workers a service may have (max_workers).");
	per_service(out, sb, &h, "preforkd_workers_max", NULL, n_max);
	family(out, "preforkd_scoreboard_slots", "gauge",
	    "Slots of the scoreboard (max_slots).");
	fprintf(out, "preforkd_scoreboard_slots %" PRIu32 "\n", h.nslots);
	family(out, "preforkd_scoreboard_slots_used", "gauge",
	    "Slots that hold a worker, of any generation.");
	fprintf(out, "preforkd_scoreboard_slots_used %u\n", slots_in_use(sb));
	family(out, "preforkd_generation", "gauge",
	    "The configuration's generation: 1, and one more per reload.");
	fprintf(out, "preforkd_generation %" PRIu32 "\n", h.generation);
	family(out, "preforkd_reloads_total", "counter",
	    "Reloads attempted since the master started.");
	fprintf(out, "preforkd_reloads_total %" PRIu32 "\n", h.reloads);
	family(out, "preforkd_last_reload_ok", "gauge",
	    "1 when the last reload succeeded (or there was none), else 0.");
	fprintf(
	    out, "preforkd_last_reload_ok %d\n", h.reloads == 0 || h.reload_ok);
	family(out, "preforkd_uptime_seconds", "gauge",
	    "Seconds since the master started.");
	fprintf(out, "preforkd_uptime_seconds %.3f\n",
	    (double)(now - h.started) / 1000);
}
