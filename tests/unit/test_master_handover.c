/* master_handover.c: every field of a child crosses the upgrade's
 * hand-over as it was written, and a text cut anywhere short is refused. */
#include <fcntl.h>
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
#include "unit.h"

/* The first len bytes of text in a fresh memfd at offset 0, read back as
 * a hand-over: 0 when accepted. */
static int
read_text(const char *text, size_t len)
{
	struct upgrade_state *up = NULL;
	int fd = memfd_create("unit-handover", MFD_CLOEXEC), rc;

	if (fd == -1 || write(fd, text, len) != (ssize_t)len ||
	    lseek(fd, 0, SEEK_SET) == -1)
		return -2;
	rc = master_handover_read(fd, &up);
	close(fd);
	master_handover_free(up);
	return rc;
}

/* Is the child read back c, field by field? */
static bool
same(const struct upgrade_child *u, const struct child *c)
{
	return u->pid == c->pid && u->slot == c->slot &&
	       u->service == c->service && u->generation == c->generation &&
	       u->stage == (int)c->stage && u->started == c->started &&
	       u->deadline == c->deadline && u->timeout == c->timeout &&
	       u->quota == c->quota && u->recycling == c->recycling &&
	       u->dgram == c->dgram && u->program == c->program &&
	       u->ready == c->ready && u->index == c->index &&
	       u->quit_signal == c->quit_signal && u->out_fd == c->out_fd &&
	       strcmp(u->name, c->name) == 0;
}

static void
round_trip(struct master *m)
{
	struct upgrade_state *up = NULL;
	char *text;
	off_t len;
	int fd = master_handover_write(m, "/usr/sbin/preforkd", 1234);
	unsigned refused = 0, cuts = 0;

	CHECK(fd >= 0, "handover: written");
	if (fd < 0)
		return;
	CHECK(master_handover_read(fd, &up) == 0, "handover: read back");
	CHECK(up != NULL && up->format == HANDOVER_FORMAT &&
	          up->generation == 7 && up->began == 1234 &&
	          strcmp(up->binary, "/usr/sbin/preforkd") == 0,
	    "handover: generation, time and binary as written");
	CHECK(up != NULL && up->nchildren == 2 &&
	          same(&up->children[0], &m->children[0]) &&
	          same(&up->children[1], &m->children[1]),
	    "handover: every field of a worker and a program as written");
	master_handover_free(up);
	/* The whole text, then every shorter piece of it: refused, but for
	 * the text without its last newline. */
	len = lseek(fd, 0, SEEK_END);
	text = malloc((size_t)len + 1);
	if (text != NULL && pread(fd, text, (size_t)len, 0) == len) {
		CHECK(read_text(text, (size_t)len) == 0, "handover: again");
		for (off_t n = 0; n < len - 1; n++, cuts++)
			refused += read_text(text, (size_t)n) == -1;
	}
	CHECK(cuts > 100 && refused == cuts,
	    "handover: a text cut anywhere short is refused");
	free(text);
	close(fd);
}

void
test_master_handover(void)
{
	char dir[] = "/tmp/preforkd-unit-handover.XXXXXX", pidfile[64];
	struct listener_set set = { NULL, 0 };
	struct child kids[2] = {
		{ .pid = 4242,
		    .service = 1,
		    .name = "svc",
		    .generation = 6,
		    .started = 1000,
		    .stage = CHILD_QUITTING,
		    .deadline = 9000,
		    .slot = 3,
		    .timeout = 5000,
		    .quota = 77,
		    .recycling = true,
		    .dgram = true,
		    .out_fd = -1 },
		{ .pid = 4343,
		    .service = 0,
		    .name = "pool",
		    .generation = 7,
		    .started = 2000,
		    .stage = CHILD_RUNNING,
		    .slot = 5,
		    .program = true,
		    .ready = true,
		    .index = 2,
		    .out_fd = 9,
		    .quit_signal = 2 },
	};
	struct master m = { .listeners = &set,
		.generation = 7,
		.children = kids,
		.nchildren = 2 };
	int fd;

	if (mkdtemp(dir) == NULL)
		return;
	snprintf(pidfile, sizeof(pidfile), "%s/p.pid", dir);
	log_open("/dev/null", LOG_LEVEL_ERROR);
	fd = open(pidfile, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd != -1 && daemon_pidfile_adopt(fd, pidfile) == 0 &&
	    scoreboard_create(pidfile, 8, getpid()) == 0)
		round_trip(&m);
	else
		CHECK(
		    false, "handover: a pidfile and a scoreboard to hand over");
	scoreboard_remove();
	daemon_pidfile_drop();
	log_close();
	unlink(pidfile);
	rmdir(dir);
}
