/* The key table: its rows are sound, config_load fills every field from
 * them, the protocols' data agrees with their code, and running out of
 * memory is told apart from a bad file. */
#include <errno.h>
#include <stdint.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "config_keys.h"
#include "config_scan.h"
#include "log.h"
#include "proto.h"
#include "proto_info.h"
#include "unit.h"

static struct config *
load(const char *text)
{
	const char *file = unit_config_file(text);

	return file != NULL ? config_load(file) : NULL;
}

/* The largest number a field of size bytes holds, as the table stores. */
static long
field_max(size_t size)
{
	if (size == sizeof(bool))
		return 1;
	if (size == sizeof(int))
		return INT_MAX;
	return LONG_MAX;
}

static void
test_rows(void)
{
	bool sound = true, unique = true, fits = true;

	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		if (k->type == CONFIG_KEY_INT &&
		    (k->def < k->min || k->def > k->max || k->min > k->max))
			sound = false;
		if (k->store == CONFIG_STORE_NUMBER &&
		    k->max > field_max(k->size))
			fits = false;
		for (size_t j = 0; j < i; j++)
			if (config_keys[j].scope == k->scope &&
			    strcmp(config_keys[j].name, k->name) == 0)
				unique = false;
	}
	CHECK(config_nkeys >= 37, "the key table has every key");
	CHECK(sound, "every integer default is within its range");
	CHECK(fits, "every range fits the field it is stored in");
	CHECK(unique, "no key has two rows in one scope");
	/* Globals first: -T prints them before the services. */
	CHECK(config_keys[0].scope == CONFIG_KEY_GLOBAL &&
	          config_keys[config_nkeys - 1].scope == CONFIG_KEY_SERVICE,
	    "the table lists the global keys, then a service's");
}

/* A field of base as the table stores a number. */
static long
field_number(const void *base, const struct config_key *k)
{
	const char *p = (const char *)base + k->offset;
	bool b;
	int i;
	long l;

	if (k->size == sizeof(bool)) {
		memcpy(&b, p, sizeof(b));
		return b;
	}
	if (k->size == sizeof(int)) {
		memcpy(&i, p, sizeof(i));
		return i;
	}
	memcpy(&l, p, sizeof(l));
	return l;
}

static void
test_defaults_from_table(void)
{
	struct config *conf = load("service s {\nlisten = {\"127.0.0.1:7000\"}"
	                           "\nprotocol = \"echo\"\n}\n");
	size_t checked = 0, wrong = 0;

	CHECK(conf != NULL, "a minimal file loads");
	if (conf == NULL)
		return;
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		const void *base = k->scope == CONFIG_KEY_GLOBAL
		                       ? (const void *)conf
		                       : (const void *)&conf->services[0];
		/* max_workers 0 means "as many as workers": config.c's. */
		if (k->store != CONFIG_STORE_NUMBER ||
		    strcmp(k->name, "max_workers") == 0)
			continue;
		checked++;
		if (field_number(base, k) != k->def) {
			printf("# %s: %ld, not %ld\n", k->name,
			    field_number(base, k), k->def);
			wrong++;
		}
	}
	CHECK(checked >= 20 && wrong == 0,
	    "every number unset in the file is its row's default");
	CHECK(conf->services[0].max_workers == conf->services[0].workers,
	    "max_workers 0 becomes workers");
	CHECK(conf->services[0].nproxy_from == 2,
	    "a list's default is converted with its length");
	config_free(conf);
}

static void
test_protocols(void)
{
	bool agree = true;

	for (size_t i = 0; i < PROTO_COUNT; i++) {
		const struct protocol *code = proto_code(&proto_info[i]);
		if (code->serve == NULL ||
		    proto_info[i].udp != (code->answer != NULL))
			agree = false;
	}
	CHECK(agree, "a protocol has a UDP form exactly when it has an answer");
	CHECK(proto_info_find("timestamp") == &proto_info[PROTO_TIMESTAMP] &&
	          proto_info_find("gopher") == NULL,
	    "protocols are found by name");
}

#if !defined(__SANITIZE_ADDRESS__)
/* What load_starved holds, reachable till it exits. */
static void *held;

/* In a child: config_load of file with the address space capped just
 * above what the process holds; exits 0 if it failed with ENOMEM. */
static void __attribute__((noreturn)) load_starved(const char *file)
{
	unsigned long pages = 0;
	struct rlimit low;
	FILE *statm;

	/* What the heap holds free would serve the 1 MiB read buffer. */
	malloc_trim(0);
	if ((statm = fopen("/proc/self/statm", "r")) == NULL ||
	    fscanf(statm, "%lu", &pages) != 1 ||
	    getrlimit(RLIMIT_AS, &low) == -1)
		_exit(2);
	fclose(statm);
	low.rlim_cur = pages * (rlim_t)sysconf(_SC_PAGESIZE) + 256 * 1024;
	if (setrlimit(RLIMIT_AS, &low) == -1)
		_exit(2);
	/* Heap holes that earlier buffers left (glibc's mmap threshold
	 * rises as they are freed) would serve it within the cap: fill them
	 * first, keeping each reachable. */
	for (void **p; (p = malloc(1 << 20)) != NULL; held = p)
		*p = held;
	_exit(config_load(file) == NULL && errno == ENOMEM ? 0 : 1);
}
#endif

/*
 * Out of memory is no bad file: with the address space capped, the 1 MiB
 * read buffer cannot be had.  Not under AddressSanitizer, whose allocator
 * dies rather than return NULL.
 */
static void
test_out_of_memory(void)
{
#if defined(__SANITIZE_ADDRESS__)
	CHECK(true, "# SKIP out of memory: not under AddressSanitizer");
#else
	const char *file = unit_config_file("service s {\nlisten = "
	                                    "{\"127.0.0.1:7000\"}\n"
	                                    "protocol = \"echo\"\n}\n");
	struct config *conf;
	int status = -1;
	pid_t pid;

	conf = file != NULL ? config_load(file) : NULL;
	CHECK(conf != NULL, "the file loads with memory to spare");
	config_free(conf);
	fflush(stdout);
	if ((pid = fork()) == 0)
		load_starved(file);
	if (pid == -1 || waitpid(pid, &status, 0) == -1)
		status = -1;
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "config_load out of memory says ENOMEM, not a bad file");
	conf = load("service s {\n}\n");
	CHECK(conf == NULL && errno == EINVAL, "a bad file says EINVAL");
#endif
}

static size_t
distance(const char *a, const char *b)
{
	return config_scan_distance(a, strlen(a), b, strlen(b));
}

static bool
suggests(const char *key, unsigned place, const char *want)
{
	const char *got = config_keys_closest(key, strlen(key), place);

	if (want == NULL ? got == NULL : got != NULL && strcmp(got, want) == 0)
		return true;
	printf("# %s: suggested %s, not %s\n", key, got ? got : "nothing",
	    want ? want : "nothing");
	return false;
}

/* "did you mean": the edit distance, and the key it picks. */
static void
test_did_you_mean(void)
{
	CHECK(distance("workers", "workers") == 0 && distance("", "log") == 3 &&
	          distance("log", "") == 3,
	    "distance: none to itself; a whole word to or from nothing");
	CHECK(distance("wokers", "workers") == 1 &&
	          distance("workerss", "workers") == 1 &&
	          distance("wirkers", "workers") == 1,
	    "distance: a letter missing, one too many, one changed: 1");
	CHECK(
	    distance("wrokers", "workers") == 1 && distance("lgo", "log") == 1,
	    "distance: two neighbours swapped count 1, not 2");
	CHECK(distance("kitten", "sitting") == 3 &&
	          distance("protocl", "protocol") == 1 &&
	          distance("max_worker", "max_workers") == 1,
	    "distance: the textbook case, and keys");
	CHECK(distance("abc", "cba") == 2 && distance("ab", "ba") == 1,
	    "distance: swapped neighbours only");
	CHECK(config_scan_distance("x", 1,
	          "a_key_longer_than_any_the_table_will_ever_have",
	          47) == SIZE_MAX,
	    "distance: a word longer than any key is no slip of one");
	CHECK(suggests("wokers", CONFIG_SCAN_INSIDE, "workers") &&
	          suggests("protcol", CONFIG_SCAN_INSIDE, "protocol") &&
	          suggests("max_worker", CONFIG_SCAN_INSIDE, "max_workers") &&
	          suggests("idle_timout", CONFIG_SCAN_INSIDE, "idle_timeout"),
	    "closest: a service key one slip away");
	CHECK(suggests("pidfle", CONFIG_SCAN_TOP, "pidfile") &&
	          suggests("servce", CONFIG_SCAN_TOP, "service") &&
	          suggests("log_levle", CONFIG_SCAN_TOP, "log_level"),
	    "closest: a global key, and the section, at the top");
	CHECK(suggests("pidfle", CONFIG_SCAN_INSIDE, NULL) &&
	          suggests("wokers", CONFIG_SCAN_TOP, NULL),
	    "closest: only keys that may be written where the slip is");
	CHECK(suggests("colour", CONFIG_SCAN_INSIDE, NULL) &&
	          suggests("xy", CONFIG_SCAN_TOP, NULL) &&
	          suggests("timeout", CONFIG_SCAN_INSIDE, NULL),
	    "closest: nothing for a word near no key");
}

void
test_config_keys(void)
{
	/* Rejections are expected here; keep their messages out of TAP. */
	log_open("/dev/null", LOG_LEVEL_ERROR);
	test_rows();
	test_defaults_from_table();
	test_protocols();
	test_out_of_memory();
	test_did_you_mean();
	log_close();
}
