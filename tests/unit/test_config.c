/* config_load: defaults, conversion, and what validation rejects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "proto.h"
#include "unit.h"

static char path[] = "/tmp/preforkd-unit-XXXXXX";

static struct config *
load(const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return NULL;
	fputs(text, f);
	fclose(f);
	return config_load(path);
}

static bool
rejects(const char *text)
{
	struct config *conf = load(text);

	config_free(conf);
	return conf == NULL;
}

#define SVC(body) "service s {\nlisten = {\"127.0.0.1:7000\"}\n" body "\n}\n"

static void
test_defaults(void)
{
	struct config *conf = load(SVC("protocol = \"prefix\""));
	const struct service *s = conf ? &conf->services[0] : NULL;

	CHECK(conf != NULL, "a minimal service loads");
	if (conf == NULL)
		return;
	CHECK(conf->nservices == 1 && strcmp(s->name, "s") == 0,
	    "service name from the section title");
	CHECK(s->protocol == proto_find("prefix"), "protocol looked up");
	CHECK(s->workers == 4 && s->backlog == 128, "workers, backlog default");
	CHECK(s->buffer_size == 4096 && s->max_line == 4096,
	    "buffer_size, max_line default");
	CHECK(strcmp(s->prefix, "You sent me: ") == 0, "prefix default");
	CHECK(strcmp(s->time_format, "[%a %b %e %H:%M:%S %Y] ") == 0,
	    "time_format default");
	CHECK(s->banner == NULL && !s->log_data && s->idle_timeout == 300,
	    "banner, log_data, idle_timeout default");
	CHECK(conf->log == NULL && conf->log_level == LOG_LEVEL_INFO &&
	          conf->shutdown_timeout == 30,
	    "log, log_level, shutdown_timeout default");
	CHECK(conf->user == NULL && conf->group == NULL, "no user by default");
	config_free(conf);
}

static void
test_values(void)
{
	struct config *conf =
	    load("log = \"stderr\"\nlog_level = \"debug\"\n"
	         "service a {\nlisten = {\"127.0.0.1:7000\", \"[::1]:7000\"}\n"
	         "protocol = \"echo\"\nworkers = 7\nbanner = \"TEST\\n\"\n}\n"
	         "service b {\nlisten = {\"7001\"}\nprotocol = \"discard\"\n"
	         "log_data = true\nidle_timeout = 0\n}\n");

	CHECK(conf != NULL, "two services load");
	if (conf == NULL)
		return;
	CHECK(conf->nservices == 2, "both services kept");
	CHECK(conf->services[0].naddrs == 2, "two addresses");
	CHECK(conf->services[0].workers == 7, "workers set");
	CHECK(strcmp(conf->services[0].banner, "TEST\n") == 0,
	    "banner with an escaped newline");
	CHECK(conf->services[1].log_data && conf->services[1].idle_timeout == 0,
	    "log_data and idle_timeout set");
	CHECK(config_service(conf, "b") == &conf->services[1] &&
	          config_service(conf, "c") == NULL,
	    "config_service by name");
	config_free(conf);
}

static void
test_rejections(void)
{
	CHECK(rejects(""), "no service");
	CHECK(rejects("bogus = 1\n" SVC("protocol = \"echo\"")), "unknown key");
	CHECK(rejects(SVC("protocol = \"echo\"\nworkers = \"four\"")),
	    "wrong type");
	CHECK(rejects(SVC("protocol = \"echo\"\nworkers = 0")), "workers 0");
	CHECK(rejects(SVC("protocol = \"echo\"\nworkers = 1025")),
	    "workers 1025");
	CHECK(rejects(SVC("protocol = \"echo\"\nbuffer_size = 0")),
	    "buffer_size 0");
	CHECK(rejects(SVC("protocol = \"echo\"\nidle_timeout = -1")),
	    "negative idle_timeout");
	CHECK(rejects(SVC("protocol = \"chat\"")), "unknown protocol");
	CHECK(rejects(SVC("")), "missing protocol");
	CHECK(rejects("service s {\nprotocol = \"echo\"\n}\n"), "no listen");
	CHECK(rejects("service s {\nlisten = {\"host:1\"}\nprotocol = \"echo\""
	              "\n}\n"),
	    "bad address");
	CHECK(rejects(SVC("protocol = \"echo\"") SVC("protocol = \"echo\"")),
	    "duplicate service name");
	CHECK(rejects(SVC("protocol = \"echo\"") "service t {\nlisten = "
	                                         "{\"*:7000\"}\nprotocol = "
	                                         "\"echo\"\n}\n"),
	    "two services on one address");
	CHECK(rejects("pidfile = \"x.pid\"\n" SVC("protocol = \"echo\"")),
	    "relative pidfile");
	CHECK(rejects("log = \"x.log\"\n" SVC("protocol = \"echo\"")),
	    "relative log path");
	CHECK(rejects("log_level = \"loud\"\n" SVC("protocol = \"echo\"")),
	    "unknown log_level");
	CHECK(rejects("group = \"g\"\n" SVC("protocol = \"echo\"")),
	    "group without user");
	CHECK(rejects(SVC("protocol = \"timestamp\"\ntime_format = "
	                  "\"%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c%c\"")),
	    "time_format that expands too long");
	CHECK(rejects("service \"a b\" {\nlisten = {\"1\"}\nprotocol = \"echo\""
	              "\n}\n"),
	    "service name with a space");
	CHECK(config_load("/nonexistent/preforkd.conf") == NULL,
	    "a missing file");
}

static bool
stripped(const char *in, const char *want)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", in);
	config_strip_comments(buf);
	return strcmp(buf, want) == 0;
}

static void
test_strip_comments(void)
{
	CHECK(stripped("a = 1 # note\nb", "a = 1       \nb"),
	    "hash comment blanked, newline kept");
	CHECK(stripped("// x\n", "    \n"), "double-slash comment");
	CHECK(stripped("a /* 1\n2 */ b", "a     \n     b"),
	    "block comment keeps its newline");
	CHECK(stripped(
	          "p = \"# // /* \\\" x\" # c", "p = \"# // /* \\\" x\"    "),
	    "comment markers and escaped quotes inside a string stay");
	CHECK(stripped("p = '#x' #y", "p = '#x'   "), "single-quoted string");
	CHECK(stripped("a = 1 /* open", "a = 1        "),
	    "an unterminated block comment runs to the end");
}

static void
test_line_numbers(void)
{
	struct config *conf;

	/* Comments must not shift line numbers: this loads, and its errors
	 * are counted on the right line by the bats -t tests. */
	conf = load("# one\n# two\n" SVC("protocol = \"echo\" # three"));
	CHECK(conf != NULL, "comments anywhere, a comment after a value");
	config_free(conf);
	conf = load("service s {\nlisten = {\"127.0.0.1:1\", # first\n"
	            "\"[::1]:1\"} // both\nprotocol = \"prefix\"\n"
	            "prefix = \"# kept\"\n}\n");
	CHECK(conf != NULL && conf->services[0].naddrs == 2 &&
	          strcmp(conf->services[0].prefix, "# kept") == 0,
	    "a comment inside a list; a # inside a string");
	config_free(conf);
}

void
test_config(void)
{
	int fd = mkstemp(path);

	if (fd == -1) {
		CHECK(false, "temporary config file");
		return;
	}
	close(fd);
	/* Rejections are expected here; keep their messages out of TAP. */
	log_open("/dev/null", LOG_LEVEL_ERROR);
	test_defaults();
	test_values();
	test_rejections();
	test_strip_comments();
	test_line_numbers();
	log_close();
	unlink(path);
}
