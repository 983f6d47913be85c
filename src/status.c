/*
 * The scoreboard as text.  One format for people and scripts alike: one
 * line per master, per service and per worker, each a word and then
 * key=value pairs, so that `grep` and `awk` read it as easily as an eye.
 * The Prometheus form carries the same counters.
 *
 * Any worker can write the table, so every string in it is escaped on the
 * way out (log_escape: no byte that ends a line or drives a terminal), and
 * every scan stops at the view's own count of slots, never the header's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "scoreboard.h"
#include "status.h"

/* Room for a string of n bytes as log_escape writes it. */
#define ESCAPED(n) (4 * (n) + 1)

/* The NUL-terminated string at s (size bytes at most), escaped into out. */
static const char *
escaped(const char *s, size_t size, char *out, size_t outsize)
{
	log_escape(s, strnlen(s, size), out, outsize);
	return out;
}

/*
 * A name (SCOREBOARD_NAME_LEN bytes at most) as a Prometheus label value, whose
 * text format knows three escapes: \\, \" and \n.  log_escape's \\, \" and \n
 * stay as they are; its \r, \t and \xHH get a second backslash, so the value
 * reads as their text ("\x1b"), not as a byte a terminal would act on.
 */
static const char *
label_value(const char *s, size_t size, char *out, size_t outsize)
{
	char text[ESCAPED(SCOREBOARD_NAME_LEN)];
	size_t used = 0;

	escaped(s, size, text, sizeof(text));
	for (const char *p = text; *p != '\0' && used + 3 < outsize; p++) {
		out[used++] = *p;
		if (*p != '\\')
			continue;
		if (p[1] == '\0' || strchr("\\\"n", p[1]) == NULL)
			out[used++] = '\\';
		else
			out[used++] = *++p;
	}
	out[used] = '\0';
	return out;
}

/* Add slot s, if it holds a worker, to the counts c. */
static void
count_slot(const struct scoreboard_slot *s, struct status_counts *c)
{
	switch (s->state) {
	case SB_STARTING:
		c->starting++;
		break;
	case SB_IDLE:
		c->idle++;
		break;
	case SB_BUSY:
		c->busy++;
		break;
	case SB_QUITTING:
		c->quitting++;
		break;
	}
	if (s->program_index > 0 && s->state >= SB_STARTING &&
	    s->state <= SB_QUITTING) {
		c->programs++;
		c->ready += s->state == SB_IDLE;
	}
}

/* Does s hold a worker?  (A state no worker has is a worker's scribble.) */
static bool
holds_worker(const struct scoreboard_slot *s)
{
	return s->state >= SB_STARTING && s->state <= SB_QUITTING;
}

void
status_count(const struct scoreboard *sb, unsigned svc, unsigned gen,
    struct status_counts *out)
{
	struct scoreboard_slot s;
	unsigned end = scoreboard_high_water(sb);

	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < end; i++) {
		scoreboard_read_slot(sb, i, &s);
		if (s.generation == gen && s.service == svc)
			count_slot(&s, out);
	}
}

/*
 * The table read once, so that each count agrees with the workers listed
 * under it, and so that printing stays linear in the slots whatever a
 * worker wrote into the header's count of services: the copy of every
 * slot that can be in use (below the header's high_water, bounded by the
 * slots mapped: the pages of slots never claimed are never touched),
 * the services shown (the header's count, never past the slots), their
 * counts, and the slots grouped by service (a counting sort): those of
 * service i are order[first[i]] up to order[first[i + 1]], then those of
 * other generations.
 */
struct census {
	struct scoreboard_header h;
	struct scoreboard_slot *slots; /* nslots of them */
	unsigned nslots;               /* read: those below high_water */
	unsigned nservices;
	struct status_counts *counts; /* nservices */
	unsigned *first;              /* nservices + 2 */
	unsigned *order;              /* nslots */
	unsigned used;                /* slots that hold a worker */
};

/* The group of slot s: its service's index, nservices for a worker of
 * another generation, nservices + 1 for none. */
static unsigned
group(const struct census *c, const struct scoreboard_slot *s)
{
	if (!holds_worker(s))
		return c->nservices + 1;
	if (s->generation != c->h.generation)
		return c->nservices;
	return s->service < c->nservices ? s->service : c->nservices + 1;
}

static void
census_free(struct census *c)
{
	free(c->slots);
	free(c->counts);
	free(c->first);
	free(c->order);
}

/* Take the census of sb; -1 when out of memory. */
static int
census_take(const struct scoreboard *sb, struct census *c)
{
	unsigned n;

	memset(c, 0, sizeof(*c));
	scoreboard_read_header(sb, &c->h);
	n = c->nservices =
	    c->h.nservices < sb->nslots ? c->h.nservices : sb->nslots;
	c->nslots = scoreboard_high_water(sb);
	c->slots = calloc(c->nslots + 1, sizeof(*c->slots));
	c->counts = calloc(n + 1, sizeof(*c->counts));
	c->first = calloc(n + 3, sizeof(*c->first));
	c->order = calloc(c->nslots + 1, sizeof(*c->order));
	if (c->slots == NULL || c->counts == NULL || c->first == NULL ||
	    c->order == NULL) {
		census_free(c);
		return -1;
	}
	for (unsigned i = 0; i < c->nslots; i++) {
		const struct scoreboard_slot *s = &c->slots[i];
		scoreboard_read_slot(sb, i, &c->slots[i]);
		c->used += holds_worker(s);
		if (group(c, s) < n)
			count_slot(s, &c->counts[s->service]);
		c->first[group(c, s) + 1]++;
	}
	for (unsigned g = 1; g < n + 3; g++)
		c->first[g] += c->first[g - 1];
	/* Fill each group from its start: first[g] moves to first[g + 1],
	 * then the starts are taken back one group. */
	for (unsigned i = 0; i < c->nslots; i++)
		c->order[c->first[group(c, &c->slots[i])]++] = i;
	memmove(c->first + 1, c->first, (n + 2) * sizeof(*c->first));
	c->first[0] = 0;
	return 0;
}

static const char *
reload_outcome(const struct scoreboard_header *h)
{
	if (h->reloads == 0)
		return "none";
	if (h->reload_result == SB_RELOAD_OK)
		return "ok";
	return h->reload_result == SB_RELOAD_STALLED ? "stalled" : "failed";
}

/* in and out: every byte the worker has moved, the current connection's
 * so far included. */
static void
print_worker(
    FILE *out, const struct scoreboard_slot *s, long long now, bool clients)
{
	char name[ESCAPED(sizeof(s->service_name))];
	char client[ESCAPED(sizeof(s->client))];

	/* A program of accept = false: its index, and "ready" for what a
	 * worker's slot calls idle; last, what it said of itself (STATUS=,
	 * ready = "notify"), quoted, as it may hold spaces. */
	if (s->program_index > 0) {
		fprintf(out,
		    "program pid=%" PRId32 " service=%s generation=%" PRIu32
		    " index=%" PRId32 " state=%s time=%.3fs",
		    s->pid,
		    escaped(s->service_name, sizeof(s->service_name), name,
		        sizeof(name)),
		    s->generation, s->program_index - 1,
		    s->state == SB_IDLE ? "ready"
		                        : scoreboard_state_name(
		                              (enum scoreboard_state)s->state),
		    (double)scoreboard_elapsed(now, s->changed) / 1000);
		if (s->program_status[0] != '\0') {
			char said[ESCAPED(sizeof(s->program_status))];
			fprintf(out, " status=\"%s\"",
			    escaped(s->program_status,
			        sizeof(s->program_status), said, sizeof(said)));
		}
		fputc('\n', out);
		return;
	}
	fprintf(out,
	    "worker pid=%" PRId32 " service=%s generation=%" PRIu32
	    " state=%s client=%s time=%.3fs in=%" PRIu64 " out=%" PRIu64
	    " served=%" PRIu64,
	    s->pid,
	    escaped(
	        s->service_name, sizeof(s->service_name), name, sizeof(name)),
	    s->generation,
	    scoreboard_state_name((enum scoreboard_state)s->state),
	    s->client[0] == '\0' ? "-"
	    : clients
	        ? escaped(s->client, sizeof(s->client), client, sizeof(client))
	        : "hidden",
	    (double)scoreboard_elapsed(now, s->changed) / 1000,
	    s->bytes_in + s->conn_in, s->bytes_out + s->conn_out,
	    s->connections);
	/* An exec worker's program: what to look at, or kill, by hand. */
	if (s->program_pid > 0)
		fprintf(out, " program=%" PRId32, s->program_pid);
	fputc('\n', out);
}

/* The workers of group g (a service, or nservices: other generations). */
static void
print_workers(
    FILE *out, const struct census *c, unsigned g, long long now, bool clients)
{
	for (unsigned k = c->first[g]; k < c->first[g + 1]; k++)
		print_worker(out, &c->slots[c->order[k]], now, clients);
}

/* " degraded failed_starts=N last=\"...\"" of svc: its last failed start,
 * copied out of the table first (the master may be writing it), bounded
 * and escaped, quoted as a program's status=, as it holds spaces. */
static void
print_degraded(FILE *out, const struct scoreboard_service *svc)
{
	char why[sizeof(svc->last_failure)];

	memcpy(why, svc->last_failure, sizeof(why));
	why[sizeof(why) - 1] = '\0';
	fprintf(out, " degraded failed_starts=%" PRIu32, svc->failed_starts);
	if (why[0] != '\0') {
		char shown[ESCAPED(sizeof(svc->last_failure))];
		fprintf(out, " last=\"%s\"",
		    escaped(why, sizeof(why), shown, sizeof(shown)));
	}
}

void
status_print(
    FILE *out, const struct scoreboard *sb, long long now, bool clients)
{
	struct census c;

	if (census_take(sb, &c) == -1) {
		log_warn(
		    "status: no memory for a table of %u slots", sb->nslots);
		return;
	}
	fprintf(out,
	    "master pid=%" PRId32 " generation=%" PRIu32
	    " uptime=%llds slots=%u/%u reload=%s sandbox_kills=%" PRIu32 "\n",
	    c.h.master, c.h.generation,
	    scoreboard_elapsed(now, c.h.started) / 1000, c.used, sb->nslots,
	    reload_outcome(&c.h), c.h.sandbox_kills);
	for (unsigned i = 0; i < c.nservices; i++) {
		const struct scoreboard_service *svc = &sb->services[i];
		const struct status_counts *n = &c.counts[i];
		char name[ESCAPED(sizeof(svc->name))];
		fprintf(out,
		    "service name=%s idle=%u busy=%u starting=%u "
		    "quitting=%u total=%u max=%" PRIu32,
		    escaped(svc->name, sizeof(svc->name), name, sizeof(name)),
		    n->idle, n->busy, n->starting, n->quitting,
		    n->idle + n->busy + n->starting + n->quitting,
		    svc->max_workers);
		/* Programs that keep failing their start (accept = false),
		 * and why the last one failed. */
		if (svc->failed_starts > 0)
			print_degraded(out, svc);
		fputc('\n', out);
		print_workers(out, &c, i, now, clients);
	}
	print_workers(out, &c, c.nservices, now, clients);
	census_free(&c);
}

/* "# HELP" and "# TYPE" of one metric family. */
static void
family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample per service of the current generation: value(i). */
static void
per_service(FILE *out, const struct scoreboard *sb, const struct census *c,
    const char *name, const char *state,
    unsigned (*value)(
        const struct status_counts *, const struct scoreboard_service *))
{
	for (unsigned i = 0; i < c->nservices; i++) {
		const struct scoreboard_service *svc = &sb->services[i];
		char label[2 * ESCAPED(sizeof(svc->name))];
		fprintf(out, "%s{service=\"%s\"%s%s%s} %u\n", name,
		    label_value(
		        svc->name, sizeof(svc->name), label, sizeof(label)),
		    state != NULL ? ",state=\"" : "",
		    state != NULL ? state : "", state != NULL ? "\"" : "",
		    value(&c->counts[i], svc));
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

/* A pool of programs (accept = false): one whose slots hold programs, or
 * whose programs have failed or died -- the table has no other mark of
 * one that has none running now. */
static bool
of_programs(const struct status_counts *c, const struct scoreboard_service *s)
{
	return c->programs > 0 || s->failed_starts > 0 || s->restarts > 0;
}

static unsigned
n_ready(const struct status_counts *c, const struct scoreboard_service *s)
{
	(void)s;
	return c->ready;
}

static unsigned
n_restarts(const struct status_counts *c, const struct scoreboard_service *s)
{
	(void)c;
	return s->restarts;
}

static unsigned
n_failed_starts(
    const struct status_counts *c, const struct scoreboard_service *s)
{
	(void)c;
	return s->failed_starts;
}

/* One sample per pool of programs of the current generation. */
static void
per_program_service(FILE *out, const struct scoreboard *sb,
    const struct census *c, const char *name,
    unsigned (*value)(
        const struct status_counts *, const struct scoreboard_service *))
{
	for (unsigned i = 0; i < c->nservices; i++) {
		const struct scoreboard_service *svc = &sb->services[i];
		char label[2 * ESCAPED(sizeof(svc->name))];
		if (!of_programs(&c->counts[i], svc))
			continue;
		fprintf(out, "%s{service=\"%s\"} %u\n", name,
		    label_value(
		        svc->name, sizeof(svc->name), label, sizeof(label)),
		    value(&c->counts[i], svc));
	}
}

void
status_print_prometheus(FILE *out, const struct scoreboard *sb, long long now)
{
	struct census c;

	if (census_take(sb, &c) == -1) {
		log_warn(
		    "status: no memory for a table of %u slots", sb->nslots);
		return;
	}
	family(out, "preforkd_workers", "gauge",
	    "Workers of the current generation, by service and state.");
	per_service(out, sb, &c, "preforkd_workers", "starting", n_starting);
	per_service(out, sb, &c, "preforkd_workers", "idle", n_idle);
	per_service(out, sb, &c, "preforkd_workers", "busy", n_busy);
	per_service(out, sb, &c, "preforkd_workers", "quitting", n_quitting);
	family(out, "preforkd_workers_max", "gauge",
	    "The most workers a service may have (max_workers).");
	per_service(out, sb, &c, "preforkd_workers_max", NULL, n_max);
	family(out, "preforkd_programs_ready", "gauge",
	    "Ready programs of a pool of programs (accept = false).");
	per_program_service(out, sb, &c, "preforkd_programs_ready", n_ready);
	family(out, "preforkd_program_restarts_total", "counter",
	    "Programs replaced after they died unasked, failed starts "
	    "included.");
	per_program_service(
	    out, sb, &c, "preforkd_program_restarts_total", n_restarts);
	family(out, "preforkd_program_failed_starts", "gauge",
	    "Failed starts in a row of the pool's most failing index; not 0: "
	    "degraded.");
	per_program_service(
	    out, sb, &c, "preforkd_program_failed_starts", n_failed_starts);
	family(out, "preforkd_scoreboard_slots", "gauge",
	    "Slots of the scoreboard (max_slots).");
	fprintf(out, "preforkd_scoreboard_slots %u\n", sb->nslots);
	family(out, "preforkd_scoreboard_slots_used", "gauge",
	    "Slots that hold a worker, of any generation.");
	fprintf(out, "preforkd_scoreboard_slots_used %u\n", c.used);
	family(out, "preforkd_generation", "gauge",
	    "The configuration's generation: 1, and one more per reload.");
	fprintf(out, "preforkd_generation %" PRIu32 "\n", c.h.generation);
	family(out, "preforkd_reloads_total", "counter",
	    "Reloads attempted since the master started.");
	fprintf(out, "preforkd_reloads_total %" PRIu32 "\n", c.h.reloads);
	family(out, "preforkd_last_reload_ok", "gauge",
	    "1 when the last reload succeeded (or there was none), else 0.");
	fprintf(out, "preforkd_last_reload_ok %d\n",
	    c.h.reloads == 0 || c.h.reload_result == SB_RELOAD_OK);
	family(out, "preforkd_sandbox_kills_total", "counter",
	    "Workers the sandbox killed for a call it does not allow.");
	fprintf(out, "preforkd_sandbox_kills_total %" PRIu32 "\n",
	    c.h.sandbox_kills);
	family(out, "preforkd_uptime_seconds", "gauge",
	    "Seconds since the master started.");
	fprintf(out, "preforkd_uptime_seconds %.3f\n",
	    (double)scoreboard_elapsed(now, c.h.started) / 1000);
	census_free(&c);
}
