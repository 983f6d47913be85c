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

/* Does such a pool differ from the plain one for its programs? */
static bool
differs(const char *command, const char *listen, const char *body,
    const char *globals)
{
	struct config *a = pool(COMMAND, LISTEN, "", "");
	struct config *b = pool(command, listen, body, globals);
	bool d = a != NULL && b != NULL &&
	         master_program_differs(a, &a->services[0], b, &b->services[0]);

	CHECK(a != NULL && b != NULL, "reload: the test's configs load");
	config_free(a);
	config_free(b);
	return d;
}

/* The same command and sockets, body added. */
static bool
body_differs(const char *body)
{
	return differs(COMMAND, LISTEN, body, "");
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
	CHECK(body_differs("user = \"root\""), "reload: the service's user");
	CHECK(differs(COMMAND, LISTEN, "", "user = \"root\""),
	    "reload: the global user, which its programs run as");
	CHECK(differs(
	          COMMAND, "{\"127.0.0.1:7001\", \"127.0.0.1:7002\"}", "", ""),
	    "reload: another socket from fd 3 on");
	CHECK(differs(COMMAND, "{\"127.0.0.1:7002\"}", "", ""),
	    "reload: another address");
}
