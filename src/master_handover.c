/*
 * The upgrade's hand-over (preforkd(8) UPGRADE): the old image's state as
 * a text in a memfd, which the new image reads after the execve.  Writer
 * and reader are here together, so that the format changes in one place
 * for both, with its number (HANDOVER_FORMAT, master_handover.h).
 *
 * The text comes from the old image (root, a memfd made for this exec),
 * yet a line cut short or garbled must be refused, not read as numbers it
 * does not hold: every field is a whole number within its bounds, every
 * line we know is there once (a child or a listener line as often as it
 * comes), and the text ends with "end".
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "master_handover.h"
#include "master_state.h"
#include "scoreboard.h"

#ifndef PREFORKD_VERSION
#define PREFORKD_VERSION "unknown"
#endif

#define HANDOVER_MAX (1 << 20)

int
master_handover_write(
    const struct master *m, const char *binary, long long began)
{
	int fd = memfd_create("preforkd-upgrade", MFD_CLOEXEC);
	int board, poke_r, poke_w;

	if (fd == -1)
		return -1;
	scoreboard_handover(&board, &poke_r, &poke_w);
	dprintf(fd, "preforkd-upgrade %d\nversion %s\ngeneration %u\n",
	    HANDOVER_FORMAT, PREFORKD_VERSION, m->generation);
	dprintf(fd, "binary %s\n", binary);
	dprintf(fd, "began %lld\nscoreboard %d %d %d\npidfile %d %s\n", began,
	    board, poke_r, poke_w, daemon_pidfile_fd(), daemon_pidfile_path());
	for (size_t i = 0; i < m->listeners->count; i++) {
		const struct listener *l = &m->listeners->items[i];
		if (l->fd != -1)
			dprintf(fd, "listener %d %d %ju %ju\n", l->fd,
			    (int)l->passed, (uintmax_t)l->dev,
			    (uintmax_t)l->ino);
	}
	/* The fields in parse_child's order. */
	for (size_t i = 0; i < m->nchildren; i++) {
		const struct child *c = &m->children[i];
		dprintf(fd,
		    "child %ld %d %zu %u %d %lld %lld %lld %lu %d %d %d %d "
		    "%u %d %d %s\n",
		    (long)c->pid, c->slot, c->service, c->generation,
		    (int)c->stage, c->started, c->deadline, c->timeout,
		    c->quota, (int)c->recycling, (int)c->dgram, (int)c->program,
		    (int)c->ready, c->index, c->quit_signal,
		    c->program ? c->out_fd : -1, c->name);
	}
	if (dprintf(fd, "end\n") < 0 || lseek(fd, 0, SEEK_SET) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Times in ms (monotonic), bounded so that sums of two cannot overflow. */
#define TIME_MAX (LLONG_MAX / 4)

/* The lines that come once; all of them must. */
enum {
	SEEN_VERSION = 1 << 0,
	SEEN_GENERATION = 1 << 1,
	SEEN_BEGAN = 1 << 2,
	SEEN_BOARD = 1 << 3,
	SEEN_PIDFILE = 1 << 4,
	SEEN_BINARY = 1 << 5,
	SEEN_END = 1 << 6,
	SEEN_ALL = (1 << 7) - 1
};

/* The next field of *p: a decimal number in [lo, hi] followed by one
 * space or the end of the line, *p then past it; -1 when there is none,
 * it is garbled or out of bounds. */
static int
number(const char **p, long long lo, long long hi, long long *v)
{
	const char *s = *p;
	char *end;
	long long n;

	if (!isdigit((unsigned char)s[s[0] == '-']))
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || n < lo || n > hi || (*end != ' ' && *end != '\0'))
		return -1;
	*p = end + (*end == ' ');
	*v = n;
	return 0;
}

/* The same for a device or inode number, unsigned, of any size. */
static int
unsigned_number(const char **p, uintmax_t *v)
{
	char *end;

	if (!isdigit((unsigned char)**p))
		return -1;
	errno = 0;
	*v = strtoumax(*p, &end, 10);
	if (errno != 0 || (*end != ' ' && *end != '\0'))
		return -1;
	*p = end + (*end == ' ');
	return 0;
}

/* The rest of a line as a word of printable bytes, 1 to size - 1 long,
 * into out; -1 when it is not one. */
static int
word(const char *p, char *out, size_t size)
{
	size_t len = strlen(p);

	if (len == 0 || len >= size)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!isgraph((unsigned char)p[i]))
			return -1;
	memcpy(out, p, len + 1);
	return 0;
}

/* "child" and the fields master_handover_write writes, in its order; format 1
 * ends after recycling. */
static int
parse_child(struct upgrade_state *up, const char *p)
{
	static const long long bounds[][2] = {
		{ 1, INT_MAX },                  /* pid */
		{ 0, INT_MAX },                  /* slot, checked at adoption */
		{ 0, INT_MAX },                  /* service */
		{ 1, UINT_MAX },                 /* generation */
		{ CHILD_RUNNING, CHILD_KILLED }, /* stage */
		{ 0, TIME_MAX },                 /* started */
		{ 0, TIME_MAX },                 /* deadline */
		{ 0, TIME_MAX },                 /* timeout */
		{ 0, LONG_MAX },                 /* quota */
		{ 0, 1 },                        /* recycling */
		{ 0, 1 },                        /* dgram */
		{ 0, 1 },                        /* program */
		{ 0, 1 },                        /* ready */
		{ 0, UINT_MAX },                 /* index */
		{ 0, 64 },                       /* quit_signal */
		{ -1, INT_MAX },                 /* out_fd */
	};
	enum { N = sizeof(bounds) / sizeof(*bounds) };
	struct upgrade_child c = { 0 }, *more;
	/* A format 1 worker: no program, no datagram-only worker. */
	long long v[N] = { [15] = -1 };
	size_t fields = up->format == 1 ? 10 : N;

	for (size_t i = 0; i < fields; i++)
		if (number(&p, bounds[i][0], bounds[i][1], &v[i]) == -1)
			return -1;
	c = (struct upgrade_child){ .pid = (pid_t)v[0],
		.slot = (int)v[1],
		.service = (size_t)v[2],
		.generation = (unsigned)v[3],
		.stage = (int)v[4],
		.started = v[5],
		.deadline = v[6],
		.timeout = v[7],
		.quota = (unsigned long)v[8],
		.recycling = v[9] != 0,
		.dgram = v[10] != 0,
		.program = v[11] != 0,
		.ready = v[12] != 0,
		.index = (unsigned)v[13],
		.quit_signal = (int)v[14],
		.out_fd = (int)v[15] };
	if (word(p, c.name, sizeof(c.name)) == -1)
		return -1;
	/* Only a program has an output pipe, never on stdio, and is told
	 * to quit by a signal. */
	if ((c.out_fd != -1 && (!c.program || c.out_fd <= STDERR_FILENO)) ||
	    (c.program && c.quit_signal == 0))
		return -1;
	if ((more = realloc(
	         up->children, (up->nchildren + 1) * sizeof(*more))) == NULL)
		return -1;
	up->children = more;
	up->children[up->nchildren++] = c;
	return 0;
}

/* "listener FD PASSED DEV INO". */
static int
parse_listener(struct upgrade_state *up, const char *p)
{
	struct listener_inherited l = { 0 }, *more;
	uintmax_t dev, ino;
	long long fd, passed;

	if (number(&p, 0, INT_MAX, &fd) == -1 ||
	    number(&p, 0, 1, &passed) == -1 ||
	    unsigned_number(&p, &dev) == -1 ||
	    unsigned_number(&p, &ino) == -1 || *p != '\0')
		return -1;
	if ((more = realloc(
	         up->listeners, (up->nlisteners + 1) * sizeof(*more))) == NULL)
		return -1;
	l.fd = (int)fd;
	l.passed = passed != 0;
	l.dev = (dev_t)dev;
	l.ino = (ino_t)ino;
	up->listeners = more;
	up->listeners[up->nlisteners++] = l;
	return 0;
}

/* The lines that come once: which one line is (a SEEN_ bit), 0 when it
 * is none of them, -1 when it is one but garbled. */
static int
parse_once(struct upgrade_state *up, const char *line)
{
	const char *p;
	long long v[3];

	if (strncmp(line, "version ", 8) == 0)
		return word(line + 8, up->version, sizeof(up->version)) == 0
		           ? SEEN_VERSION
		           : -1;
	if (strncmp(line, "generation ", 11) == 0) {
		p = line + 11;
		if (number(&p, 1, UINT_MAX - 1, &v[0]) == -1 || *p != '\0')
			return -1;
		up->generation = (unsigned)v[0];
		return SEEN_GENERATION;
	}
	if (strncmp(line, "began ", 6) == 0) {
		p = line + 6;
		if (number(&p, 0, TIME_MAX, &up->began) == -1 || *p != '\0')
			return -1;
		return SEEN_BEGAN;
	}
	if (strncmp(line, "scoreboard ", 11) == 0) {
		p = line + 11;
		for (int i = 0; i < 3; i++)
			if (number(&p, 0, INT_MAX, &v[i]) == -1)
				return -1;
		if (*p != '\0')
			return -1;
		up->board_fd = (int)v[0];
		up->poke[0] = (int)v[1];
		up->poke[1] = (int)v[2];
		return SEEN_BOARD;
	}
	if (strncmp(line, "pidfile ", 8) == 0) {
		p = line + 8;
		if (number(&p, 0, INT_MAX, &v[0]) == -1 || *p != '/' ||
		    strlen(p) >= sizeof(up->pidfile))
			return -1;
		up->pidfile_fd = (int)v[0];
		memcpy(up->pidfile, p, strlen(p) + 1);
		return SEEN_PIDFILE;
	}
	if (strncmp(line, "binary ", 7) == 0) {
		if (line[7] != '/' || strlen(line + 7) >= PATH_MAX)
			return -1;
		memcpy(up->binary, line + 7, strlen(line + 7) + 1);
		return SEEN_BINARY;
	}
	return strcmp(line, "end") == 0 ? SEEN_END : 0;
}

/* One line of the hand-over into up, *seen told which it was; -1 when it
 * is not one we know, garbled, a second of its kind, or after "end". */
static int
parse_line(struct upgrade_state *up, const char *line, int *seen)
{
	int once;

	if (*seen & SEEN_END)
		return -1;
	if (strncmp(line, "child ", 6) == 0)
		return parse_child(up, line + 6);
	if (strncmp(line, "listener ", 9) == 0)
		return parse_listener(up, line + 9);
	if ((once = parse_once(up, line)) <= 0 || (*seen & once) != 0)
		return -1;
	*seen |= once;
	return 0;
}

void
master_handover_free(struct upgrade_state *up)
{
	if (up == NULL)
		return;
	free(up->listeners);
	free(up->children);
	free(up);
}

/* The hand-over's text from fd, NUL-terminated; NULL after logging. */
static char *
read_handover(int fd, size_t *length)
{
	char *text = malloc(HANDOVER_MAX + 1);
	size_t len = 0;
	ssize_t n;

	if (text == NULL) {
		log_error("upgrade: the hand-over");
		return NULL;
	}
	while (len < HANDOVER_MAX &&
	       ((n = read(fd, text + len, HANDOVER_MAX - len)) > 0 ||
	           (n == -1 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	text[len] = '\0';
	*length = len;
	return text;
}

/* Check the text's lines into up; 0, or -1 after saying which line is
 * wrong (line number 0: something is missing). */
static int
parse_text(struct upgrade_state *up, char *text, size_t len)
{
	char shown[4 * 80 + 1];
	char *line, *next;
	int seen = 0, format = -1;
	unsigned number_of = 0;

	/* A NUL inside would hide what follows it from the checks. */
	if (strlen(text) != len) {
		log_errorx("upgrade: the hand-over holds a NUL byte");
		return -1;
	}
	for (line = text; *line != '\0'; line = next) {
		size_t n = strcspn(line, "\n");
		int rc;

		next = line + n + (line[n] == '\n');
		line[n] = '\0';
		number_of++;
		if (number_of == 1) {
			const char *p = line + 17;
			long long v;
			rc = strncmp(line, "preforkd-upgrade ", 17) == 0 &&
			             number(&p, 0, INT_MAX, &v) == 0 &&
			             *p == '\0'
			         ? 0
			         : -1;
			format = rc == 0 ? (int)v : -1;
			if (format < HANDOVER_OLDEST ||
			    format > HANDOVER_FORMAT)
				rc = -1;
			up->format = format;
		} else {
			rc = parse_line(up, line, &seen);
		}
		if (rc == -1) {
			log_escape(line, n < 80 ? n : 80, shown, sizeof(shown));
			if (number_of == 1 && format != -1)
				log_errorx(
				    "upgrade: the hand-over is of format "
				    "%d; this preforkd reads formats %d "
				    "to %d",
				    format, HANDOVER_OLDEST, HANDOVER_FORMAT);
			else
				log_errorx(
				    "upgrade: the hand-over's line %u is "
				    "not one of format %d: \"%s\"",
				    number_of, up->format, shown);
			return -1;
		}
	}
	if (seen != SEEN_ALL) {
		log_errorx("upgrade: the hand-over is cut short: %s",
		    !(seen & SEEN_END) ? "no \"end\" line"
		                       : "a line that must come is missing");
		return -1;
	}
	for (size_t i = 0; i < up->nchildren; i++)
		if (up->children[i].generation > up->generation) {
			log_errorx("upgrade: the hand-over's worker %ld is of "
			           "generation %u, after the last (%u)",
			    (long)up->children[i].pid,
			    up->children[i].generation, up->generation);
			return -1;
		}
	return 0;
}

int
master_handover_read(int fd, struct upgrade_state **out)
{
	struct upgrade_state *up;
	char *text;
	size_t len;
	int rc;

	*out = NULL;
	if ((up = calloc(1, sizeof(*up))) == NULL ||
	    (text = read_handover(fd, &len)) == NULL) {
		if (up == NULL)
			log_error("upgrade: the hand-over");
		free(up);
		return -1;
	}
	up->pidfile_fd = up->board_fd = up->poke[0] = up->poke[1] = -1;
	rc = parse_text(up, text, len);
	free(text);
	if (rc == -1) {
		master_handover_free(up);
		return -1;
	}
	*out = up;
	return 0;
}
