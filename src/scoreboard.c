/*
 * The scoreboard: one slot per worker in a file-backed shared mapping, so
 * that the master (pool sizing), the workers (their own state) and another
 * process (preforkd -s status) all see the same table without a message
 * passing between them.  The master maps it before the first fork, sized
 * once for max_slots workers; a worker writes only its own slot with plain
 * stores, no system call; the master clears a slot when it reaps its
 * worker, so a crash never leaves a ghost.
 *
 * Why this file is long: the table's three kinds of users (master,
 * workers, -s status) and the master's own record of it (see below).
 *
 * Writes are bracketed by a sequence number (a seqlock): a reader that saw
 * it odd, or changed, reads again.  The owner of a slot is the only writer,
 * so writers never contend.
 *
 * Beside what -s status shows, a slot carries what others decide on: the
 * source of its client, which workers count for max_per_source, and the
 * time of its last progress, which the master checks for worker_timeout.
 *
 * Every worker maps the whole table writable (it stores into its own slot
 * without a system call), so a compromised one can write any byte of it.
 * The master therefore keeps its own record of what it indexes with -- the
 * table's size, the current generation's services, each slot it handed
 * out (struct own, in memory the workers have not) -- and acts on that
 * alone; what it reads from the mapping is data, clamped where it is
 * shown.  A worker bounds its own scans by the size it was forked with.
 *
 * Over 600 lines on purpose: the table's three kinds of users (the master,
 * a worker, another process) share its one layout and the pointers set
 * once at creation, which no other file may reach.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "scoreboard.h"
#include "unforked.h"

/* A new layout gets a new magic: -s status of another build refuses a
 * table it would misread. */
#define MAGIC "preforkd-sb-7"

/* The master's table, written through these pointers alone; what others
 * get of it is view, the same table read-only. */
struct table {
	struct scoreboard_header *head;
	struct scoreboard_service *services;
	struct scoreboard_slot *slots;
	size_t size;
};

/* A slot as the master handed it out. */
struct own_slot {
	bool claimed;
	int32_t pid; /* 0 until fork() returned it */
	uint32_t service;
	uint32_t generation;
};

/*
 * The master's own record of its table, in memory fork() leaves out
 * (unforked.h): the master writes it between forks, and no worker can
 * read or change it.  Everything the master indexes with comes from here.
 */
struct own {
	unsigned nslots; /* as created: the mapping's size */
	unsigned nservices;
	unsigned generation;
	unsigned high_water; /* no slot at or past it was ever claimed */
	int32_t master;
	struct own_slot *slots;              /* nslots */
	struct scoreboard_service *services; /* nslots: as published */
};

/* Written once, before the first fork(): in a worker, its own copy of the
 * mapping's place and size, which no other process can change. */
static struct table board;
static struct scoreboard view;
static char *board_path;
/* The table's file, kept open (close-on-exec) for one reason: an upgrade
 * hands it to the new image, which maps the very same table. */
static int board_fd = -1;
static struct own *own; /* the master's alone; NULL in a worker's hands */
static size_t own_size;
/* Workers poke the master through this pipe when a dynamic pool's count
 * of idle workers changes; -1 until created. */
static int poke_fds[2] WORKER_DATA = { -1, -1 };

char *
scoreboard_path(const char *pidfile)
{
	size_t len = strlen(pidfile);
	char *path;

	if (len > 4 && strcmp(pidfile + len - 4, ".pid") == 0)
		len -= 4;
	if (asprintf(&path, "%.*s.scoreboard", (int)len, pidfile) == -1)
		return NULL;
	return path;
}

static size_t
board_size(unsigned nslots)
{
	return sizeof(struct scoreboard_header) +
	       nslots * (sizeof(struct scoreboard_service) +
	                    sizeof(struct scoreboard_slot));
}

/*
 * The slots of a table of the file's size st, which only the master sets;
 * 0 for a size no table has.  Never the header's nslots, which any worker
 * may write: the master mends it only when it next wakes, and an idle
 * master may sleep for ever.
 */
static unsigned
slots_of_size(const struct stat *st)
{
	size_t size = (size_t)st->st_size, n;

	if (st->st_size < (off_t)sizeof(struct scoreboard_header))
		return 0;
	n = (size - sizeof(struct scoreboard_header)) /
	    (sizeof(struct scoreboard_service) +
	        sizeof(struct scoreboard_slot));
	return n > 0 && n <= UINT_MAX && board_size((unsigned)n) == size
	           ? (unsigned)n
	           : 0;
}

/* Point t's parts into the mapping at mem. */
static void
lay_out(struct table *t, void *mem, unsigned nslots, size_t size)
{
	t->head = mem;
	t->services = (struct scoreboard_service *)(t->head + 1);
	t->slots = (struct scoreboard_slot *)(t->services + nslots);
	_Static_assert(sizeof(struct scoreboard_service) %
	                       _Alignof(struct scoreboard_slot) ==
	                   0,
	    "the slots after the service table must stay aligned");
	_Static_assert(sizeof(struct scoreboard_service) % 8 == 0 &&
	                   sizeof(struct scoreboard_service) ==
	                       64 + SCOREBOARD_FAILURE_LEN,
	    "a service entry is 64 bytes and its last failure, as "
	    "preforkd.conf(5)'s size of the table says");
	t->size = size;
}

/* The read-only view of t, nslots slots. */
static void
view_of(const struct table *t, unsigned nslots, struct scoreboard *sb)
{
	sb->head = t->head;
	sb->services = t->services;
	sb->slots = t->slots;
	sb->size = t->size;
	sb->nslots = nslots;
}

/* The master's record for nslots slots, or NULL (errno set). */
static struct own *
own_alloc(unsigned nslots)
{
	size_t size = sizeof(struct own) + nslots * sizeof(struct own_slot) +
	              nslots * sizeof(struct scoreboard_service);
	struct own *o = unforked_alloc(size);

	if (o == NULL)
		return NULL;
	o->nslots = nslots;
	o->slots = (struct own_slot *)(o + 1);
	o->services = (struct scoreboard_service *)(o->slots + nslots);
	own_size = size;
	return o;
}

/* Is slot a slot the master handed out? */
static bool
own_claimed(int slot)
{
	return own != NULL && slot >= 0 && (unsigned)slot < own->nslots &&
	       own->slots[slot].claimed;
}

/*
 * Map the pages of len bytes at p in the master writable, those pages
 * alone.  The first touch of a page of a shared file mapping that is a
 * read (the seq a write begins from) makes the kernel map up to 16 pages
 * around it ("fault-around"): pages of slots no one uses, mapped by the
 * master alone, counted whole in its PSS.  A write fault, or this, maps
 * one page.  Where the kernel has no MADV_POPULATE_WRITE (before 5.14),
 * the read fault does it, 64 KiB at a time.
 */
static void
populate(void *p, size_t len)
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t from = (uintptr_t)p / page * page;
	uintptr_t to = ((uintptr_t)p + len + page - 1) / page * page;

	(void)madvise((void *)from, to - from, MADV_POPULATE_WRITE);
#else
	(void)p;
	(void)len;
#endif
}

/* Open a seqlock-guarded write. */
static void
write_begin(uint32_t *seq)
{
	__atomic_store_n(seq, *seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void
write_end(uint32_t *seq)
{
	__atomic_store_n(seq, *seq + 1, __ATOMIC_RELEASE);
}

/* Copy size bytes at src guarded by *seq into dst, consistently. */
static void
read_consistent(const uint32_t *seq, const void *src, void *dst, size_t size)
{
	for (int tries = 0;; tries++) {
		uint32_t before = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
		memcpy(dst, src, size);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		/* A writer that died mid-write leaves seq odd for good, and
		 * a hostile worker may keep any seq odd: after some tries,
		 * take what is there.  A live writer's few stores take far
		 * less than 100 copies; a preempted one, far more than
		 * 1000, so more tries buy nothing but a slower reader. */
		if ((before % 2 == 0 &&
		        __atomic_load_n(seq, __ATOMIC_RELAXED) == before) ||
		    tries > 100)
			return;
	}
}

/*
 * A file made fresh for a table of size bytes, at a temporary name beside
 * path (*tmp, to free): created exclusively (O_EXCL: never a file someone
 * left there, never through a link), mode 0600 (it names every client
 * being served), and allocated in full, so that a full disk fails here,
 * with a message, rather than as a SIGBUS at the first store into a page
 * the file system has no room for.  Its descriptor, or -1 after logging.
 */
static int
fresh_file(const char *path, size_t size, char **tmp)
{
	int fd, err;

	if (asprintf(tmp, "%s.XXXXXX", path) == -1) {
		*tmp = NULL;
		log_error("scoreboard %s", path);
		return -1;
	}
	if ((fd = mkostemp(*tmp, O_CLOEXEC)) == -1) {
		log_error("scoreboard %s: creating %s", path, *tmp);
		free(*tmp);
		*tmp = NULL;
		return -1;
	}
	if ((err = posix_fallocate(fd, 0, (off_t)size)) != 0) {
		log_errorx("scoreboard %s: allocating %zu bytes: %s", path,
		    size, strerror(err));
		close(fd);
		unlink(*tmp);
		free(*tmp);
		*tmp = NULL;
		return -1;
	}
	return fd;
}

/*
 * Give the fresh file tmp the name path, replacing what is there: a file
 * someone else put there first keeps her inode, and never becomes ours
 * (whoever holds it open sees her file, not the table).  Say so when it
 * was another user's.  0, or -1 after logging (tmp is then removed).
 */
static int
put_in_place(const char *tmp, const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && st.st_uid != geteuid())
		log_warnx("scoreboard %s: replacing a file of uid %ld that was "
		          "there before",
		    path, (long)st.st_uid);
	if (rename(tmp, path) == -1) {
		log_error("scoreboard %s: renaming %s to it", path, tmp);
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Where the table's file is now: to tell, at a reload, that it is gone. */
static dev_t board_dev;
static ino_t board_ino;

static void
remember_file(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0) {
		board_dev = st.st_dev;
		board_ino = st.st_ino;
	}
}

int
scoreboard_create(const char *pidfile, unsigned nslots, pid_t master)
{
	size_t size = board_size(nslots);
	char *tmp = NULL;
	void *mem;
	int fd;

	if ((board_path = scoreboard_path(pidfile)) == NULL ||
	    (own = own_alloc(nslots)) == NULL) {
		log_error("scoreboard for %s", pidfile);
		return -1;
	}
	if ((fd = fresh_file(board_path, size, &tmp)) == -1)
		return -1;
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		log_error("scoreboard %s: mmap %zu bytes", board_path, size);
		close(fd);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	remember_file(fd);
	board_fd = fd;
	/* The header before the name: -s status never finds a table
	 * without its magic. */
	lay_out(&board, mem, nslots, size);
	view_of(&board, nslots, &view);
	own->master = (int32_t)master;
	board.head->nslots = nslots;
	board.head->master = (int32_t)master;
	board.head->started = clock_ms();
	memcpy(board.head->magic, MAGIC, sizeof(MAGIC));
	if (put_in_place(tmp, board_path) == -1) {
		munmap(mem, size);
		memset(&board, 0, sizeof(board));
		close(board_fd);
		board_fd = -1;
		free(tmp);
		return -1;
	}
	free(tmp);
	if (pipe2(poke_fds, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_error(
		    "scoreboard %s: the workers' wake-up pipe", board_path);
		munmap(mem, size);
		memset(&board, 0, sizeof(board));
		unlink(board_path);
		return -1;
	}
	return 0;
}

/* A seqlock copied while its writer was mid-write: even again. */
static void
settle(uint32_t *seq)
{
	*seq += *seq % 2;
}

/* Write what of the table can be in use into the fresh file fd, at the
 * same offsets; 0, or -1 (errno set). */
static int
copy_in_use(int fd)
{
	size_t head = (size_t)((char *)(board.services + own->nservices) -
	                       (char *)board.head);
	size_t from = (size_t)((char *)board.slots - (char *)board.head);
	size_t slots = own->high_water * sizeof(*board.slots);

	if (pwrite(fd, board.head, head, 0) != (ssize_t)head ||
	    pwrite(fd, board.slots, slots, (off_t)from) != (ssize_t)slots) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	return 0;
}

int
scoreboard_recreate(void)
{
	char *tmp = NULL;
	struct stat st;
	int fd;

	if (board.head == NULL ||
	    (lstat(board_path, &st) == 0 && st.st_dev == board_dev &&
	        st.st_ino == board_ino))
		return 0;
	if ((fd = fresh_file(board_path, board.size, &tmp)) == -1)
		return -1;
	/* The table as it is now, into the new file, then the new file in
	 * place of the old one in our address space: the workers forked from
	 * here on share the new one.  Only what can be in use is copied (the
	 * header, the current services, the slots below high_water; the rest
	 * of a fresh file reads as zeroes, free): reading the whole mapping
	 * would fault every page of it into the master. */
	if (copy_in_use(fd) == -1) {
		log_error("scoreboard %s: writing %s", board_path, tmp);
		close(fd);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	if (put_in_place(tmp, board_path) == -1) {
		close(fd);
		free(tmp);
		return -1;
	}
	free(tmp);
	/* MAP_FIXED over our own mapping: if it fails, the old mapping may
	 * be gone already (the kernel unmaps first), and the master cannot go
	 * on without a table. */
	if (mmap(board.head, board.size, PROT_READ | PROT_WRITE,
	        MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
		log_bug("scoreboard %s: mmap over the old table: %s",
		    board_path, strerror(errno));
	remember_file(fd);
	if (board_fd != -1)
		close(board_fd);
	board_fd = fd;
	populate(
	    board.head, (size_t)((char *)(board.services + own->nservices) -
	                         (char *)board.head));
	populate(board.slots, own->high_water * sizeof(*board.slots));
	settle(&board.head->seq);
	/* own->high_water, our own count: not the header's, which a worker
	 * can write; past it, the new file's slots are zeroes. */
	for (size_t i = 0; i < own->high_water; i++)
		settle(&board.slots[i].seq);
	log_warnx("scoreboard %s was gone: made it again; the workers already "
	          "running write to the old one until they exit",
	    board_path);
	return 0;
}

void
scoreboard_remove(void)
{
	if (board.head != NULL) {
		if (unlink(board_path) == -1 && errno != ENOENT)
			log_warn("scoreboard %s: unlink", board_path);
		munmap(board.head, board.size);
	}
	memset(&board, 0, sizeof(board));
	memset(&view, 0, sizeof(view));
	for (int i = 0; i < 2; i++)
		if (poke_fds[i] != -1)
			close(poke_fds[i]);
	poke_fds[0] = poke_fds[1] = -1;
	if (board_fd != -1)
		close(board_fd);
	board_fd = -1;
	free(board_path);
	if (own != NULL)
		unforked_free(own, own_size);
	board_path = NULL;
	own = NULL;
}

int
scoreboard_poke_fd(void)
{
	return poke_fds[0];
}

void
scoreboard_drain_pokes(void)
{
	char buf[256];

	while (read(poke_fds[0], buf, sizeof(buf)) > 0)
		;
}

void
scoreboard_worker_init(void)
{
	if (poke_fds[0] != -1)
		close(poke_fds[0]);
	poke_fds[0] = -1;
	/* The mapping stays; the file is the master's to hand over. */
	if (board_fd != -1)
		close(board_fd);
}

void
scoreboard_handover(int *fd, int *poke_read, int *poke_write)
{
	*fd = board_fd;
	*poke_read = poke_fds[0];
	*poke_write = poke_fds[1];
}

const char *
scoreboard_layout(void)
{
	return MAGIC;
}

int
scoreboard_adopt(const char *pidfile, int fd, int poke_read, int poke_write)
{
	struct scoreboard_header head;
	struct stat st;
	unsigned nslots;
	void *mem;

	if ((board_path = scoreboard_path(pidfile)) == NULL) {
		log_error("scoreboard for %s", pidfile);
		return -1;
	}
	/* The old master's own table: its size and magic are checked as
	 * -s status checks them, the slot count then taken as the size. */
	if (fstat(fd, &st) == -1 || (nslots = slots_of_size(&st)) == 0 ||
	    pread(fd, &head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
	    memcmp(head.magic, MAGIC, sizeof(MAGIC)) != 0) {
		log_errorx("scoreboard %s: the table handed over is not one "
		           "of layout %s",
		    board_path, MAGIC);
		return -1;
	}
	if ((own = own_alloc(nslots)) == NULL) {
		log_error("scoreboard %s", board_path);
		return -1;
	}
	mem = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	if (mem == MAP_FAILED) {
		log_error("scoreboard %s: mmap", board_path);
		return -1;
	}
	board_fd = fd;
	board_dev = st.st_dev;
	board_ino = st.st_ino;
	lay_out(&board, mem, nslots, (size_t)st.st_size);
	view_of(&board, nslots, &view);
	populate(board.head, sizeof(*board.head));
	own->master = (int32_t)getpid();
	poke_fds[0] = poke_read;
	poke_fds[1] = poke_write;
	return 0;
}

void
scoreboard_adopt_slot(int slot, pid_t pid, size_t service, unsigned generation)
{
	if (own == NULL || slot < 0 || (unsigned)slot >= own->nslots)
		return;
	own->slots[slot] = (struct own_slot){ true, (int32_t)pid,
		(uint32_t)service, (uint32_t)generation };
	populate(&board.slots[slot], sizeof(board.slots[slot]));
	if ((unsigned)slot >= own->high_water)
		own->high_water = (unsigned)slot + 1;
}

void
scoreboard_upgrade_begin(void)
{
	struct scoreboard_header *h = board.head;

	if (own == NULL)
		return;
	write_begin(&h->seq);
	h->upgrading = 1;
	write_end(&h->seq);
}

void
scoreboard_upgrade_done(enum scoreboard_upgrade result, const char *message)
{
	struct scoreboard_header *h = board.head;

	if (own == NULL)
		return;
	write_begin(&h->seq);
	h->upgrade_result = (int32_t)result;
	snprintf(h->upgrade_message, sizeof(h->upgrade_message), "%s",
	    message != NULL ? message : "");
	h->upgrading = 0;
	h->upgrades++;
	write_end(&h->seq);
}

/* Slot's service in the current generation's table, or NULL: a reload
 * has replaced the table, and an old worker counts no more.  The
 * service's index is read once and checked against the size this process
 * mapped: another worker may have written anything there. */
static struct scoreboard_service *
current_service(int slot)
{
	const struct scoreboard_slot *s;
	uint32_t svc;

	if (board.head == NULL || slot < 0 || (unsigned)slot >= view.nslots)
		return NULL;
	s = &board.slots[slot];
	svc = __atomic_load_n(&s->service, __ATOMIC_RELAXED);
	if (__atomic_load_n(&board.head->generation, __ATOMIC_RELAXED) !=
	        __atomic_load_n(&s->generation, __ATOMIC_RELAXED) ||
	    svc >= __atomic_load_n(&board.head->nservices, __ATOMIC_RELAXED) ||
	    svc >= view.nslots)
		return NULL;
	return &board.services[svc];
}

int32_t
scoreboard_idle_hint(int slot, int delta)
{
	struct scoreboard_service *svc = current_service(slot);

	if (svc == NULL)
		return INT32_MIN;
	return __atomic_add_fetch(&svc->idle_hint, delta, __ATOMIC_RELAXED);
}

bool
scoreboard_wake_when_full(int slot)
{
	const struct scoreboard_service *svc = current_service(slot);

	return svc != NULL &&
	       __atomic_load_n(&svc->wake_when_full, __ATOMIC_RELAXED);
}

void
scoreboard_set_wake_when_full(size_t svc, bool wake)
{
	if (own != NULL && svc < own->nservices)
		__atomic_store_n(&board.services[svc].wake_when_full,
		    (int32_t)wake, __ATOMIC_RELAXED);
}

void
scoreboard_set_failed_starts(size_t svc, unsigned n)
{
	if (own != NULL && svc < own->nservices)
		__atomic_store_n(&board.services[svc].failed_starts,
		    (uint32_t)n, __ATOMIC_RELAXED);
}

void
scoreboard_set_last_failure(size_t svc, const char *why)
{
	char *to;
	size_t len;

	if (own == NULL || svc >= own->nservices)
		return;
	to = board.services[svc].last_failure;
	len = strlen(why);
	if (len >= SCOREBOARD_FAILURE_LEN) {
		/* Said to be cut; a byte sequence cut in two is shown
		 * escaped, as any byte of the table. */
		len = SCOREBOARD_FAILURE_LEN - 1;
		memcpy(to + len - 3, "...", 3);
		memcpy(to, why, len - 3);
	} else {
		memcpy(to, why, len);
	}
	to[len] = '\0';
}

void
scoreboard_set_restarts(size_t svc, unsigned n)
{
	if (own != NULL && svc < own->nservices)
		__atomic_store_n(&board.services[svc].restarts, (uint32_t)n,
		    __ATOMIC_RELAXED);
}

void
scoreboard_move_slot(int slot, size_t service, unsigned generation)
{
	struct scoreboard_slot *s;

	if (!own_claimed(slot))
		return;
	own->slots[slot].service = (uint32_t)service;
	own->slots[slot].generation = (uint32_t)generation;
	s = &board.slots[slot];
	write_begin(&s->seq);
	s->service = (uint32_t)service;
	s->generation = (uint32_t)generation;
	write_end(&s->seq);
}

void
scoreboard_set_program(int slot, unsigned index)
{
	struct scoreboard_slot *s;

	if (!own_claimed(slot))
		return;
	s = &board.slots[slot];
	write_begin(&s->seq);
	s->program_index = (int32_t)index + 1;
	write_end(&s->seq);
}

void
scoreboard_set_program_status(int slot, const char *text, size_t len)
{
	struct scoreboard_slot *s;

	if (!own_claimed(slot))
		return;
	if (len > sizeof(s->program_status) - 1)
		len = sizeof(s->program_status) - 1;
	s = &board.slots[slot];
	write_begin(&s->seq);
	memcpy(s->program_status, text, len);
	s->program_status[len] = '\0';
	write_end(&s->seq);
}

void
scoreboard_poke(void)
{
	/* Non-blocking: a full pipe already holds a wake-up for the master. */
	ssize_t n = write(poke_fds[1], "", 1);

	(void)n;
}

const struct scoreboard *
scoreboard_get(void)
{
	return view.head != NULL ? &view : NULL;
}

int
scoreboard_claim(size_t service, const char *name, unsigned generation)
{
	struct scoreboard_slot *s;
	unsigned i;

	if (own == NULL)
		return -1;
	for (i = 0; i < own->nslots && own->slots[i].claimed; i++)
		;
	if (i == own->nslots)
		return -1;
	own->slots[i] = (struct own_slot){ true, 0, (uint32_t)service,
		(uint32_t)generation };
	s = &board.slots[i];
	if (i >= own->high_water)
		populate(s, sizeof(*s));
	/* The whole slot, not the fields a worker starts from: one at or
	 * past high_water was never swept (scoreboard_sweep stops there),
	 * and holds whatever a worker wrote into it. */
	__atomic_store_n(&s->seq, s->seq | 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memset((char *)s + offsetof(struct scoreboard_slot, pid), 0,
	    sizeof(*s) - offsetof(struct scoreboard_slot, pid));
	s->service = (uint32_t)service;
	s->generation = generation;
	s->state = SB_STARTING;
	snprintf(s->service_name, sizeof(s->service_name), "%s", name);
	s->changed = clock_ms();
	s->progress = clock_coarse_ms();
	write_end(&s->seq);
	if (i >= own->high_water)
		own->high_water = i + 1;
	__atomic_store_n(
	    &board.head->high_water, own->high_water, __ATOMIC_RELEASE);
	return (int)i;
}

void
scoreboard_set_pid(int slot, pid_t pid)
{
	struct scoreboard_slot *s;

	if (!own_claimed(slot))
		return;
	own->slots[slot].pid = (int32_t)pid;
	s = &board.slots[slot];
	write_begin(&s->seq);
	s->pid = (int32_t)pid;
	write_end(&s->seq);
}

/* Empty s, whatever its worker (dead, perhaps killed mid-write with seq
 * left odd, or hostile) left there: make seq odd (writing) whatever it
 * was, then even again. */
static void
clear_slot(struct scoreboard_slot *s)
{
	__atomic_store_n(&s->seq, s->seq | 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	/* SB_FREE, pid 0, no client, no source, no name, no bytes. */
	memset((char *)s + offsetof(struct scoreboard_slot, pid), 0,
	    sizeof(*s) - offsetof(struct scoreboard_slot, pid));
	write_end(&s->seq);
}

void
scoreboard_release(int slot)
{
	const struct own_slot *o;

	if (!own_claimed(slot))
		return;
	o = &own->slots[slot];
	/* Killed while idle: it can no longer count itself out.  Which
	 * count is the master's to say; that it was idle, the slot's, and a
	 * lie there only moves a hint. */
	if (board.slots[slot].state == SB_IDLE &&
	    o->generation == own->generation && o->service < own->nservices)
		__atomic_sub_fetch(
		    &board.services[o->service].idle_hint, 1, __ATOMIC_RELAXED);
	/* A killed worker's client no longer counts against its source. */
	clear_slot(&board.slots[slot]);
	own->slots[slot] = (struct own_slot){ 0 };
}

void
scoreboard_set_services(
    const struct scoreboard_service *services, size_t n, unsigned generation)
{
	struct scoreboard_header *h = board.head;

	if (own == NULL)
		return;
	if (n > own->nslots)
		n = own->nslots;
	memcpy(own->services, services, n * sizeof(*services));
	own->nservices = (unsigned)n;
	own->generation = generation;
	write_begin(&h->seq);
	memcpy(board.services, services, n * sizeof(*services));
	h->nservices = (uint32_t)n;
	h->generation = generation;
	write_end(&h->seq);
}

void
scoreboard_reload_done(enum scoreboard_reload result, const char *message)
{
	struct scoreboard_header *h = board.head;

	if (own == NULL)
		return;
	write_begin(&h->seq);
	h->reload_result = (int32_t)result;
	snprintf(h->reload_message, sizeof(h->reload_message), "%s",
	    message != NULL ? message : "");
	h->reloads++;
	write_end(&h->seq);
}

void
scoreboard_count_sandbox_kill(void)
{
	struct scoreboard_header *h = board.head;

	if (own == NULL)
		return;
	write_begin(&h->seq);
	h->sandbox_kills++;
	write_end(&h->seq);
}

void
scoreboard_sandbox_trapped(int slot, uint32_t arch, int32_t call)
{
	struct scoreboard_slot *s;

	if (board.head == NULL || slot < 0 || (unsigned)slot >= view.nslots)
		return;
	s = &board.slots[slot];
	write_begin(&s->seq);
	s->sandbox_call = call;
	s->sandbox_arch = arch;
	s->sandbox_trapped = 1;
	write_end(&s->seq);
}

/* Mend the header's fields the master owns; 1 when one was wrong. */
static unsigned
sweep_header(void)
{
	struct scoreboard_header *h = board.head;
	bool wrong = false;

	for (unsigned i = 0; i < own->nservices; i++) {
		const struct scoreboard_service *mine = &own->services[i];
		const struct scoreboard_service *its = &board.services[i];
		wrong |=
		    memcmp(its->name, mine->name, sizeof(its->name)) != 0 ||
		    its->workers != mine->workers ||
		    its->max_workers != mine->max_workers;
	}
	if (!wrong && memcmp(h->magic, MAGIC, sizeof(MAGIC)) == 0 &&
	    h->nslots == own->nslots && h->nservices == own->nservices &&
	    h->generation == own->generation && h->master == own->master &&
	    h->high_water == own->high_water && h->seq % 2 == 0)
		return 0;
	/* Only the master writes the header: whatever seq says now, the
	 * write below is the only one under way. */
	__atomic_store_n(&h->seq, h->seq | 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(h->magic, MAGIC, sizeof(MAGIC));
	h->nslots = own->nslots;
	h->nservices = own->nservices;
	h->generation = own->generation;
	h->master = own->master;
	h->high_water = own->high_water;
	for (unsigned i = 0; i < own->nservices; i++) {
		struct scoreboard_service *its = &board.services[i];
		memcpy(its->name, own->services[i].name, sizeof(its->name));
		its->workers = own->services[i].workers;
		its->max_workers = own->services[i].max_workers;
	}
	write_end(&h->seq);
	return 1;
}

/* Mend slot i: empty when the master has not handed it out, its pid,
 * service and generation the master's when it has; 1 when it was wrong. */
static unsigned
sweep_slot(unsigned i)
{
	static const struct scoreboard_slot empty;
	const struct own_slot *o = &own->slots[i];
	struct scoreboard_slot *s = &board.slots[i];
	const size_t from = offsetof(struct scoreboard_slot, pid);

	if (!o->claimed) {
		if (memcmp((const char *)s + from, (const char *)&empty + from,
		        sizeof(*s) - from) == 0)
			return 0;
		clear_slot(s);
		return 1;
	}
	if (s->pid == o->pid && s->service == o->service &&
	    s->generation == o->generation)
		return 0;
	write_begin(&s->seq);
	s->pid = o->pid;
	s->service = o->service;
	s->generation = o->generation;
	write_end(&s->seq);
	return 1;
}

/*
 * What the master owns of the mapping, written back: a worker can store
 * anything there, and what it stored stays until the master looks (a
 * ghost: a free slot dressed up as busy, which -s status would show and
 * which the pool's counts would see in a reader that scans the table).
 * The slots below high_water, no more: every reader stops there
 * (scoreboard_high_water), the header's high_water is mended first, and
 * a slot past it is cleared whole when it is claimed.  So the master
 * never reads, and never maps, the pages of slots it never handed out
 * (with the default max_slots, 56 of the table's 79 pages at 32 workers).
 */
unsigned
scoreboard_sweep(void)
{
	unsigned n;

	if (own == NULL)
		return 0;
	n = sweep_header();
	for (unsigned i = 0; i < own->high_water; i++)
		n += sweep_slot(i);
	return n;
}

void
scoreboard_set_state(int slot, enum scoreboard_state state)
{
	struct scoreboard_slot *s;

	if (board.head == NULL || slot < 0 || (unsigned)slot >= view.nslots)
		return;
	s = &board.slots[slot];
	write_begin(&s->seq);
	s->state = state;
	s->changed = clock_ms();
	s->progress = clock_coarse_ms();
	write_end(&s->seq);
}

void
scoreboard_busy(int slot, const char *client, long long now)
{
	struct scoreboard_slot *s;

	if (board.head == NULL || slot < 0 || (unsigned)slot >= view.nslots)
		return;
	s = &board.slots[slot];
	write_begin(&s->seq);
	s->state = SB_BUSY;
	snprintf(s->client, sizeof(s->client), "%s", client);
	s->conn_started = now;
	s->changed = now;
	s->progress = clock_coarse_ms();
	s->conn_in = s->conn_out = 0;
	write_end(&s->seq);
}

void
scoreboard_idle(
    int slot, unsigned long long in, unsigned long long out, long long now)
{
	struct scoreboard_slot *s;

	if (board.head == NULL || slot < 0 || (unsigned)slot >= view.nslots)
		return;
	s = &board.slots[slot];
	write_begin(&s->seq);
	/* A worker told to quit meanwhile keeps saying so. */
	if (s->state == SB_BUSY)
		s->state = SB_IDLE;
	s->client[0] = '\0';
	memset(&s->source, 0, sizeof(s->source));
	s->bytes_in += in;
	s->bytes_out += out;
	s->conn_in = s->conn_out = 0;
	s->connections++;
	s->changed = now;
	s->progress = clock_coarse_ms();
	write_end(&s->seq);
}

/*
 * After every recv() and send() that moved bytes: a handful of stores to
 * our own slot and a read of the coarse clock (in the vDSO: no system
 * call), so -s status shows a long connection's bytes as they move and
 * the master can tell a slow worker from a stuck one.
 */
void
scoreboard_progress(int slot, unsigned long long in, unsigned long long out)
{
	struct scoreboard_slot *s;

	if (board.head == NULL || slot < 0 || (unsigned)slot >= view.nslots)
		return;
	s = &board.slots[slot];
	write_begin(&s->seq);
	s->conn_in = in;
	s->conn_out = out;
	s->progress = clock_coarse_ms();
	write_end(&s->seq);
}

void
scoreboard_program(int slot, pid_t pid)
{
	struct scoreboard_slot *s;

	if (board.head == NULL || slot < 0 || (unsigned)slot >= view.nslots)
		return;
	s = &board.slots[slot];
	write_begin(&s->seq);
	s->program_pid = (int32_t)pid;
	write_end(&s->seq);
}

/*
 * Does slot i hold a connection of service name from source?  Only a
 * slot with a pid counts (the caller's own always does: the master may
 * not have stored its pid yet).  A worker cannot see the master's own
 * record of the slots it handed out, so it goes by the pid the master
 * stores after fork() and zeroes at reap -- and in every free slot it
 * sweeps (scoreboard_sweep): a free slot another worker dressed up with a
 * state and a source, but no pid, is no connection.  One that forges a
 * pid too counts until the master's next sweep, a second at most.
 */
static bool
holds_source(unsigned i, unsigned self, const char *name,
    const struct addr_source *source)
{
	struct scoreboard_slot s;

	scoreboard_read_slot(&view, i, &s);
	return s.state != SB_FREE && (s.pid > 0 || i == self) &&
	       addr_source_equal(&s.source, source) &&
	       strcmp(s.service_name, name) == 0;
}

/*
 * Publish first, count second, with a full barrier between: of two
 * workers that take clients from one source at the same moment, each
 * stores its own source before it loads the others', so at least one of
 * them sees both (the store-load order a sequentially consistent fence
 * gives, as in Dekker's algorithm).  Both may see both and both refuse,
 * never neither: the limit can be undershot in a tie, never passed.
 * The service is matched by name, so a worker of an older generation that
 * still serves a client of the same service counts too.
 */
unsigned
scoreboard_source_enter(int slot, const struct addr_source *source)
{
	struct scoreboard_slot *s;
	char name[SCOREBOARD_NAME_LEN];
	unsigned n = 0, end;

	if (board.head == NULL || slot < 0 || (unsigned)slot >= view.nslots)
		return 0;
	s = &board.slots[slot];
	write_begin(&s->seq);
	s->source = *source;
	write_end(&s->seq);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* Our own name, bounded: another worker may overwrite it. */
	memcpy(name, s->service_name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	end = scoreboard_high_water(&view);
	for (unsigned i = 0; i < end; i++)
		n += holds_source(i, (unsigned)slot, name, source);
	return n;
}

int
scoreboard_open(const char *pidfile, struct scoreboard *sb)
{
	char *path = scoreboard_path(pidfile);
	struct scoreboard_header head;
	struct table t;
	struct stat st, pst;
	unsigned nslots;
	void *mem;
	int fd;

	if (path == NULL) {
		log_error("scoreboard for %s", pidfile);
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) ==
	        -1 ||
	    fstat(fd, &st) == -1) {
		log_error("scoreboard %s", path);
		goto fail;
	}
	/* The master's own file, as its pidfile is: nothing another user
	 * put there is read as the table. */
	if (!S_ISREG(st.st_mode) || lstat(pidfile, &pst) == -1 ||
	    st.st_uid != pst.st_uid) {
		log_errorx(
		    "scoreboard %s: not a file of the pidfile's owner", path);
		goto fail;
	}
	if ((nslots = slots_of_size(&st)) == 0 ||
	    pread(fd, &head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
	    memcmp(head.magic, MAGIC, sizeof(MAGIC)) != 0) {
		log_errorx("scoreboard %s: not a preforkd scoreboard", path);
		goto fail;
	}
	mem = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		log_error("scoreboard %s: mmap", path);
		goto fail;
	}
	close(fd);
	free(path);
	lay_out(&t, mem, nslots, (size_t)st.st_size);
	view_of(&t, nslots, sb);
	return 0;
fail:
	if (fd != -1)
		close(fd);
	free(path);
	return -1;
}

void
scoreboard_close(struct scoreboard *sb)
{
	/* The one place a view's mapping is let go of: munmap() wants it
	 * without its const. */
	if (sb->head != NULL)
		munmap((void *)(uintptr_t)sb->head, sb->size);
	memset(sb, 0, sizeof(*sb));
}

void
scoreboard_read_slot(
    const struct scoreboard *sb, unsigned i, struct scoreboard_slot *out)
{
	read_consistent(&sb->slots[i].seq, &sb->slots[i], out, sizeof(*out));
	out->service_name[sizeof(out->service_name) - 1] = '\0';
	out->client[sizeof(out->client) - 1] = '\0';
}

void
scoreboard_read_header(
    const struct scoreboard *sb, struct scoreboard_header *out)
{
	read_consistent(&sb->head->seq, sb->head, out, sizeof(*out));
	out->reload_message[sizeof(out->reload_message) - 1] = '\0';
	out->upgrade_message[sizeof(out->upgrade_message) - 1] = '\0';
}

unsigned
scoreboard_high_water(const struct scoreboard *sb)
{
	/* The header's, but never past the slots mapped: any worker may
	 * have written it.  (Not own's: in a worker, own points at memory
	 * fork() left out.  The master's own walks use own->high_water.) */
	unsigned end = __atomic_load_n(&sb->head->high_water, __ATOMIC_ACQUIRE);

	return end < sb->nslots ? end : sb->nslots;
}

long long
scoreboard_elapsed(long long now, int64_t then)
{
	if (then >= now)
		return 0;
	if (now >= 0 && then < now - LLONG_MAX)
		return LLONG_MAX;
	return now - then;
}

const char *
scoreboard_state_name(enum scoreboard_state state)
{
	static const char *const names[] = {
		[SB_FREE] = "free",
		[SB_STARTING] = "starting",
		[SB_IDLE] = "idle",
		[SB_BUSY] = "busy",
		[SB_QUITTING] = "quitting",
	};

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}
