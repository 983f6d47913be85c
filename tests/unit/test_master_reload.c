/* master_program_differs: which changes to a pool of programs make a
 * reload replace its programs, from config files as the master loads
 * them. */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "master_state.h"
#include "unit.h"

#define COMMAND "{\"/bin/cat\", \"-u\"}"
#define LISTEN "{\"127.0.0.1:7001\"}"

/* A pool of programs of command and listen, with body added to its
 * section, and globals. */
static struct config *
pool(const char *command, const char *listen, const char *body,
    const char *globals)
{
	char text[2048];

	snprintf(text, sizeof(text),
	    "%s\nservice web {\n listen = %s\n protocol = \"exec\"\n"
	    " accept = false\n command = %s\n%s\n}\n",
	    globals, listen, command, body);
	return config_load(unit_config_file(text));
}

/* Does the pool of command, listen, body_b and globals differ for its
 * programs from the plain one with body_a? */
static bool
pools_differ(const char *command, const char *listen, const char *body_a,
    const char *body_b, const char *globals)
{
	struct config *a = pool(COMMAND, LISTEN, body_a, "");
	struct config *b = pool(command, listen, body_b, globals);
	bool d = a != NULL && b != NULL &&
	         master_program_differs(a, &a->services[0], b, &b->services[0]);

	CHECK(a != NULL && b != NULL, "reload: the test's configs load");
	config_free(a);
	config_free(b);
	return d;
}

/* Does such a pool differ from the plain one for its programs? */
static bool
differs(const char *command, const char *listen, const char *body,
    const char *globals)
{
	return pools_differ(command, listen, "", body, globals);
}

/* The same command and sockets, body added. */
static bool
body_differs(const char *body)
{
	return differs(COMMAND, LISTEN, body, "");
}

/* Two pools of the same command and sockets, one body each. */
static bool
bodies_differ(const char *body_a, const char *body_b)
{
	return pools_differ(COMMAND, LISTEN, body_a, body_b, "");
}

void
test_master_reload(void)
{
	CHECK(!body_differs(""), "reload: the same file: the programs stay");
	CHECK(!body_differs("workers = 3"),
	    "reload: workers is the pool's, not the program's");
	CHECK(!body_differs("max_surge = 2"),
	    "reload: max_surge is the reload's, not the program's");
	CHECK(differs("{\"/bin/cat\"}", LISTEN, "", ""),
	    "reload: an argument fewer is a new program");
	CHECK(differs("{\"/bin/cat\", \"-v\"}", LISTEN, "", ""),
	    "reload: a changed argument is a new program");
	CHECK(body_differs("env = {\"A=1\"}"), "reload: env");
	CHECK(body_differs("pass_env = {\"HOME\"}"), "reload: pass_env");
	CHECK(body_differs("limit_nofile = 512"), "reload: a limit");
	CHECK(body_differs("working_directory = \"/tmp\""),
	    "reload: working_directory");
	CHECK(body_differs("quit_signal = \"INT\""), "reload: quit_signal");
	CHECK(body_differs("stdin = \"socket\""), "reload: stdin");
	CHECK(body_differs("ready = \"notify\""),
	    "reload: ready, which gives the program a NOTIFY_SOCKET");
	CHECK(!body_differs("ready_timeout = 5"),
	    "reload: ready_timeout bounds the start, not the program");
	CHECK(!body_differs("worker_timeout = 5"),
	    "reload: worker_timeout without notify is not the program's");
	CHECK(bodies_differ("ready = \"notify\"",
	          "ready = \"notify\"\n worker_timeout = 5"),
	    "reload: worker_timeout under notify is its WATCHDOG_USEC");
	CHECK(!bodies_differ("ready = \"notify\"",
	          "ready = \"notify\"\n ready_timeout = 5"),
	    "reload: ready_timeout under notify bounds only the start");
	CHECK(body_differs("user = \"root\""), "reload: the service's user");
	CHECK(differs(COMMAND, LISTEN, "", "user = \"root\""),
	    "reload: the global user, which its programs run as");
	CHECK(differs(
	          COMMAND, "{\"127.0.0.1:7001\", \"127.0.0.1:7002\"}", "", ""),
	    "reload: another socket from fd 3 on");
	CHECK(differs(COMMAND, "{\"127.0.0.1:7002\"}", "", ""),
	    "reload: another address");
}
