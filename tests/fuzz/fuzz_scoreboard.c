/*
 * libFuzzer target for every reader of the scoreboard in the master and
 * in -s status: the input is what a compromised worker stores into its
 * writable mapping of the table (issue 15, finding 1), and the readers
 * must neither crash nor read outside the table, nor print a byte that a
 * worker chose to end a line or to drive a terminal.
 *
 * The table is a real one (scoreboard_create in a temporary directory),
 * NSLOTS slots, so that it ends on a page boundary with an inaccessible
 * page right after it: a read past it faults under ASan as anywhere else.
 * The master's side is set up once: two services published, four slots
 * claimed with pids.  Each input starts from that table, then is a list
 * of stores, each two bytes of offset (little-endian, into the 48 KiB
 * table), one of length, then that many bytes.  The readers then run:
 * release and claim of a slot (the idle_hint decrement), the pool's
 * counts of its children (scoreboard_read_slot of each), the per-source
 * scan of a worker (scoreboard_source_enter) and its hints, the status
 * counts, the status text and /metrics (checked line by line), -s status
 * from the file (scoreboard_open), and the master's sweep, after which
 * what the master owns must read back as the master wrote it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "scoreboard.h"
#include "status.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1104 + 78 * (256 + 360) bytes: 48 KiB, 12 pages on x86-64, all of it in
 * reach of a two-byte offset. */
#define NSLOTS 78
#define NCLAIMED 4

static char dir[] = "/tmp/fuzz_scoreboard.XXXXXX";
static char pidfile[sizeof(dir) + 16];
static unsigned char *table; /* the mapping, as a worker may write it */
static unsigned char *pristine;
static size_t table_size;
static int claimed[NCLAIMED];

static void
cleanup(void)
{
	scoreboard_remove();
	rmdir(dir);
}

/* Guard the page after the table, when nothing is mapped there. */
static void
guard(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t end = (table_size + page - 1) / page * page;

	(void)mmap(table + end, page, PROT_NONE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct scoreboard_service services[2] = {
		{ .name = "echo", .workers = 2, .max_workers = 4 },
		{ .name = "status", .workers = 2, .max_workers = 2 }
	};
	const struct scoreboard *sb;

	(void)argc;
	(void)argv;
	/* -s status refuses most inputs' headers, each with a line. */
	log_init();
	if (log_open("/dev/null", LOG_LEVEL_DEBUG) == -1) {
		perror("/dev/null");
		exit(2);
	}
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(pidfile, sizeof(pidfile), "%s/fuzz.pid", dir);
	if (scoreboard_create(pidfile, NSLOTS, getpid()) == -1)
		exit(2);
	atexit(cleanup);
	scoreboard_set_services(services, 2, 1);
	for (int i = 0; i < NCLAIMED; i++) {
		claimed[i] =
		    scoreboard_claim((size_t)i % 2, services[i % 2].name, 1);
		scoreboard_set_pid(claimed[i], (pid_t)(1000000 + i));
	}
	/* A degraded service: its last failure is a string to show too. */
	scoreboard_set_failed_starts(0, 3);
	scoreboard_set_last_failure(0, "program 1000000 (index 0) exited "
	                               "with status 1 0.030s after its start; "
	                               "its last line: no \"database\" here");
	sb = scoreboard_get();
	/* The test plays a worker: it writes the mapping the master only
	 * lends it read-only. */
	table = (unsigned char *)(uintptr_t)sb->head;
	table_size = sb->size;
	guard();
	if ((pristine = malloc(table_size)) == NULL)
		exit(2);
	memcpy(pristine, table, table_size);
	return 0;
}

/* The input's stores into the table. */
static void
scribble(const uint8_t *data, size_t size)
{
	while (size >= 3) {
		size_t off = (size_t)data[0] | (size_t)data[1] << 8;
		size_t len = data[2];
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		if (off < table_size) {
			size_t room = table_size - off;
			memcpy(table + off, data, len < room ? len : room);
		}
		data += len;
		size -= len;
	}
}

/* Every line of text (len bytes) ends in a newline and holds no other
 * byte below 0x20, nor 0x7f; masters counts the lines that start
 * "master ". */
static void
check_text(const char *text, size_t len, int masters)
{
	int seen = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if ((c < 0x20 && c != '\n') || c == 0x7f)
			abort();
		if ((i == 0 || text[i - 1] == '\n') &&
		    strncmp(text + i, "master ", 7) == 0)
			seen++;
	}
	if (len > 0 && text[len - 1] != '\n')
		abort();
	if (masters >= 0 && seen != masters)
		abort();
}

/* The status text and /metrics of sb, checked. */
static void
print_both(const struct scoreboard *sb)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	if ((out = open_memstream(&text, &len)) == NULL)
		abort();
	status_print(out, sb, 1000, true);
	fclose(out);
	check_text(text, len, 1);
	free(text);
	if ((out = open_memstream(&text, &len)) == NULL)
		abort();
	status_print_prometheus(out, sb, 1000);
	fclose(out);
	/* A sample line is a name, labels, a value: the labels' values
	 * carry no quote unescaped, so no "} 1\nforged 1" comes out. */
	check_text(text, len, 0);
	for (char *line = text; line < text + len;) {
		char *nl = memchr(line, '\n', (size_t)(text + len - line));
		int quotes = 0;
		for (char *p = line; p < nl; p++)
			if (*p == '\\')
				p++;
			else
				quotes += *p == '"';
		if (quotes % 2 != 0)
			abort();
		line = nl + 1;
	}
	free(text);
}

/* The pool's counts, as master_pool.c takes them: its children's slots. */
static void
count_children(const struct scoreboard *sb)
{
	struct scoreboard_slot slot;
	unsigned idle = 0, busy = 0, starting = 0;

	for (int i = 0; i < NCLAIMED; i++) {
		scoreboard_read_slot(sb, (unsigned)claimed[i], &slot);
		if (slot.state == SB_STARTING)
			starting++;
		else if (slot.state == SB_IDLE)
			idle++;
		else
			busy++;
		if (scoreboard_state_name((enum scoreboard_state)slot.state) ==
		    NULL)
			abort();
	}
	if (idle + busy + starting != NCLAIMED)
		abort();
}

/* After the sweep, the master's fields read back as it wrote them, and
 * no slot a reader scans (below high_water: the sweep stops there, as
 * every reader does) holds a ghost. */
static void
check_swept(const struct scoreboard *sb)
{
	struct scoreboard_header h;
	struct scoreboard_slot s;

	scoreboard_read_header(sb, &h);
	if (h.nslots != NSLOTS || h.nservices != 2 || h.generation != 1 ||
	    h.master != (int32_t)getpid() || h.high_water != NCLAIMED ||
	    scoreboard_high_water(sb) != NCLAIMED ||
	    strcmp(sb->services[0].name, "echo") != 0)
		abort();
	for (unsigned i = 0; i < NCLAIMED; i++) {
		bool mine = false;
		for (int c = 0; c < NCLAIMED; c++)
			mine |= claimed[c] == (int)i;
		scoreboard_read_slot(sb, i, &s);
		if (!mine &&
		    (s.state != SB_FREE || s.pid != 0 || s.source.family != 0))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct scoreboard *sb = scoreboard_get();
	struct addr_source source = { 0 };
	struct scoreboard sbfile;
	struct status_counts c;

	memcpy(table, pristine, table_size);
	scribble(data, size);
	count_children(sb);
	for (unsigned svc = 0; svc < 3; svc++)
		status_count(sb, svc, sb->head->generation, &c);
	print_both(sb);
	/* -s status: the file, mapped anew, its header checked at open. */
	if (scoreboard_open(pidfile, &sbfile) == 0) {
		print_both(&sbfile);
		scoreboard_close(&sbfile);
	}
	/* A worker's side: its hints and its scan for max_per_source. */
	memcpy(&source, table + 64, sizeof(source) < 16 ? sizeof(source) : 16);
	(void)scoreboard_source_enter(claimed[1], &source);
	(void)scoreboard_idle_hint(claimed[2], 1);
	(void)scoreboard_wake_when_full(claimed[3]);
	/* A reaped worker, then its replacement in its slot. */
	scoreboard_release(claimed[0]);
	claimed[0] = scoreboard_claim(0, "echo", 1);
	if (claimed[0] == -1)
		abort();
	scoreboard_set_pid(claimed[0], 1000000);
	(void)scoreboard_sweep();
	check_swept(sb);
	return 0;
}
