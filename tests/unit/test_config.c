/* config_load: defaults, conversion, and what validation rejects; the
 * comment stripper and the structure scan before it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_scan.h"
#include "config_text.h"
#include "log.h"
#include "proto_info.h"
#include "unit.h"

static char path[] = "/tmp/preforkd-unit-XXXXXX";

static void
remove_file(void)
{
	unlink(path);
}

const char *
unit_config_file(const char *text)
{
	static bool made;
	FILE *f;

	if (!made) {
		int fd;

		if ((fd = mkstemp(path)) == -1)
			return NULL;
		close(fd);
		atexit(remove_file);
		made = true;
	}
	if ((f = fopen(path, "w")) == NULL)
		return NULL;
	fputs(text, f);
	fclose(f);
	return path;
}

static struct config *
load(const char *text)
{
	const char *file = unit_config_file(text);

	return file != NULL ? config_load(file) : NULL;
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
	CHECK(s->protocol == proto_info_find("prefix"), "protocol looked up");
	CHECK(s->workers == 4 && s->backlog == 511, "workers, backlog default");
	CHECK(s->buffer_size == 65536 && s->max_line == 4096,
	    "buffer_size, max_line default");
	CHECK(strcmp(s->prefix, "You sent me: ") == 0, "prefix default");
	CHECK(strcmp(s->time_format, "[%a %b %e %H:%M:%S %Y] ") == 0,
	    "time_format default");
	CHECK(s->banner == NULL && !s->log_data && s->idle_timeout == 60,
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

/* A status service shows every worker: loopback only, naming nobody,
 * unless the file says otherwise. */
static void
test_status_defaults(void)
{
	static const char text[] =
	    "service s {\nlisten = {\"127.0.0.1:7000\"}\n"
	    "protocol = \"status\"\n}\n"
	    "service e {\nlisten = {\"127.0.0.1:7001\"}\n"
	    "protocol = \"echo\"\n}\n"
	    "service t {\nlisten = {\"7002\"}\nprotocol = \"status\"\n"
	    "allow = {\"10.0.0.0/8\"}\nstatus_clients = true\n}\n";
	struct config *conf = load(text);

	CHECK(conf != NULL && conf->nservices == 3, "status services load");
	if (conf == NULL)
		return;
	CHECK(
	    conf->services[0].nallow == 2 && !conf->services[0].status_clients,
	    "status: loopback only and no clients by default");
	CHECK(conf->services[1].nallow == 0, "echo: no allow list by default");
	CHECK(conf->services[2].nallow == 1 && conf->services[2].status_clients,
	    "status: allow and status_clients as set");
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
	config_text_strip_comments(buf);
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
	CHECK(stripped("p = /tmp//x.pid", "p = /tmp//x.pid"),
	    "// inside an unquoted word is part of it");
	CHECK(stripped("p = /tmp/*x*/", "p = /tmp/*x*/"),
	    "slash-star inside an unquoted word is part of it");
	CHECK(stripped("p = /tmp //c\nq=//c\n{\"x\"}//c",
	          "p = /tmp    \nq=   \n{\"x\"}   "),
	    "// after a blank, a '=', a quote or a brace is a comment");
	CHECK(stripped("a#b", "a  "), "# ends a word and starts a comment");
	CHECK(stripped("a#b\n//c\nd//e", "a  \n   \nd//e"),
	    "a word before a comment does not run on past it");
	CHECK(stripped("a /*b*///c", "a         "),
	    "after a comment, a new word may start with //");
}

static void
test_pidfile_slashes(void)
{
	struct config *conf =
	    load("pidfile = /tmp//x.pid\n" SVC("protocol = \"echo\""));

	CHECK(conf != NULL && strcmp(conf->pidfile, "/tmp//x.pid") == 0,
	    "an unquoted /tmp//x.pid is read whole, not as /tmp");
	config_free(conf);
}

/* What config_scan reported, one "LINE: message\n" each. */
static char scanned[4096];

static void
collect(void *arg, int line, const char *msg)
{
	size_t len = strlen(scanned);

	(void)arg;
	snprintf(scanned + len, sizeof(scanned) - len, "%d: %s\n", line, msg);
}

static unsigned
test_place(const char *key, size_t len)
{
	static const struct {
		const char *key;
		unsigned place;
	} keys[] = {
		{ "log", CONFIG_SCAN_TOP },
		{ "pidfile", CONFIG_SCAN_TOP },
		{ "user", CONFIG_SCAN_TOP },
		{ "service", CONFIG_SCAN_TOP | CONFIG_SCAN_SECTION },
		{ "listen", CONFIG_SCAN_INSIDE },
		{ "workers", CONFIG_SCAN_INSIDE },
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i].key) == len &&
		    memcmp(keys[i].key, key, len) == 0)
			return keys[i].place;
	return 0;
}

/* Scan text, comments stripped, into scanned. */
static enum config_scan_result
scan(const char *text)
{
	const struct config_scan_schema schema = {
		.section = "service", .place = test_place, .report = collect
	};
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s", text);
	config_text_strip_comments(buf);
	scanned[0] = '\0';
	return config_scan(buf, &schema);
}

/* text scans as want with exactly the messages msgs. */
static bool
scans(const char *text, enum config_scan_result want, const char *msgs)
{
	enum config_scan_result got = scan(text);

	if (got == want && strcmp(scanned, msgs) == 0)
		return true;
	printf("# got %d, messages:\n%s", got, scanned);
	return false;
}

static void
test_scan_structure(void)
{
	CHECK(scans("log = x # c\nservice a {\nlisten = {\"1\", // c\n"
	            "\"2\"} workers = 3\n}\nservice b {\n}\n",
	          CONFIG_SCAN_CLEAN, ""),
	    "scan: a sound file");
	CHECK(scans("service a {\nworkers = 1\n", CONFIG_SCAN_BROKEN,
	          "1: service a is never closed: '}' missing at the end of "
	          "the file\n"),
	    "scan: a file cut before its last '}'");
	CHECK(scans("service a {\nworkers = 1\n\nservice b {\n}\n",
	          CONFIG_SCAN_BROKEN,
	          "1: service a is never closed: '}' missing before service "
	          "b on line 4\n"),
	    "scan: a '}' missing before the next section");
	CHECK(scans("service a {\n}\n}\n", CONFIG_SCAN_BROKEN,
	          "3: unexpected '}': no section is open\n"),
	    "scan: an extra '}'");
	CHECK(scans("service a {\n service b {\n }\n}\n", CONFIG_SCAN_BROKEN,
	          "2: service b is inside service a: sections cannot be "
	          "nested\n"),
	    "scan: a nested section");
	CHECK(scans("service a\nworkers = 1\n}\n", CONFIG_SCAN_BROKEN,
	          "1: service a: missing '{'\n"),
	    "scan: a section without '{'");
	CHECK(scans("service {\n}\n", CONFIG_SCAN_BROKEN,
	          "1: 'service' needs a name: service NAME { ... }\n"),
	    "scan: a section without a name");
}

static void
test_scan_strings(void)
{
	CHECK(scans("service a {\nlisten = {\"1}\nworkers = \"2\"\n}\n",
	          CONFIG_SCAN_BROKEN,
	          "2: unterminated string: the quote opened here is not "
	          "closed on its line\n"),
	    "scan: a missing quote, named where the quotes went wrong");
	CHECK(scans("log = 'x", CONFIG_SCAN_BROKEN,
	          "1: unterminated string: the quote opened here is never "
	          "closed\n"),
	    "scan: a string cut by the end of the file");
	CHECK(scans("log = \"a\\\nb\" pidfile = \"\\101\\x41${X}\"",
	          CONFIG_SCAN_CLEAN, ""),
	    "scan: an escaped newline, octal and hex escapes, ${VAR}");
	CHECK(scans("log = \"\\8\"\npidfile = \"\\400\"\nuser = \"\\0123\"\n",
	          CONFIG_SCAN_BROKEN,
	          "1: bad escape '\\8' in a string: octal escapes are \\0 "
	          "to \\377\n"
	          "2: bad escape '\\400' in a string: octal escapes are \\0 "
	          "to \\377\n"
	          "3: bad escape '\\0123' in a string: octal escapes are "
	          "\\0 to \\377\n"),
	    "scan: escapes libconfuse fails on");
	CHECK(scans("service a {\nlisten = *:1\n}\n", CONFIG_SCAN_BROKEN,
	          "2: '*' outside quotes is dropped: put the value in "
	          "quotes\n"),
	    "scan: an unquoted '*', which libconfuse drops");
	CHECK(scans("service a {\nlisten = ${L}\n}\n", CONFIG_SCAN_CLEAN, ""),
	    "scan: ${VAR} is a value");
}

static void
test_scan_settings(void)
{
	CHECK(scans("workers = 1\nservice a {\nlog = x\ncolour = red\n}\n",
	          CONFIG_SCAN_KEYS,
	          "1: 'workers' belongs inside a service section\n"
	          "3: 'log' is a global setting, not a service setting\n"
	          "4: no such option 'colour'\n"),
	    "scan: keys at the wrong level, an unknown key, all reported");
	CHECK(
	    scans("servce a {\nlisten = 1\n}\nthing {\n}\n", CONFIG_SCAN_BROKEN,
	        "1: no such option 'servce'\n4: no such option 'thing'\n"),
	    "scan: an unknown section, reported once, not parsed");
	CHECK(scans("service a {\nlisten = {\"1\"\nworkers = 2\n}\n",
	          CONFIG_SCAN_BROKEN,
	          "2: the list of 'listen' opened here is never closed: '}' "
	          "missing\n"),
	    "scan: a list without its '}'");
	CHECK(scans("service a {\nworkers 2\nworkers =\nlisten = {}\n}\n",
	          CONFIG_SCAN_BROKEN,
	          "2: missing '=' after 'workers'\n"
	          "3: 'workers' has no value\n"),
	    "scan: a missing '=', a missing value");
	CHECK(scan("}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}"
	           "\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}"
	           "\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}\n}"
	           "\n") == CONFIG_SCAN_BROKEN &&
	          strstr(scanned, "49: unexpected '}'") != NULL &&
	          strstr(scanned, "50: too many errors: stopped reading "
	                          "here\n") != NULL &&
	          strstr(scanned, "51:") == NULL,
	    "scan: stops after 50 messages");
}

/* A bad escape leaves libconfuse's lexer inside the string, for whatever
 * it reads next: the scan keeps it from libconfuse. */
static void
test_next_load_after_bad_escape(void)
{
	struct config *conf;

	CHECK(rejects(SVC("protocol = \"echo\"\nbanner = \"\\8\"")),
	    "a bad escape is rejected");
	conf = load(SVC("protocol = \"echo\"\nbanner = \"ok\""));
	CHECK(conf != NULL && strcmp(conf->services[0].banner, "ok") == 0,
	    "and the next file still loads whole");
	config_free(conf);
}

static void
test_bom(void)
{
	struct config *conf = load("\xef\xbb\xbf" SVC("protocol = \"echo\""));

	CHECK(conf != NULL, "a UTF-8 byte-order mark is skipped");
	config_free(conf);
	CHECK(rejects("\xff\xfe" SVC("protocol = \"echo\"")),
	    "UTF-16 is rejected");
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
	/* Rejections are expected here; keep their messages out of TAP. */
	log_open("/dev/null", LOG_LEVEL_ERROR);
	test_defaults();
	test_values();
	test_status_defaults();
	test_rejections();
	test_strip_comments();
	test_pidfile_slashes();
	test_scan_structure();
	test_scan_strings();
	test_scan_settings();
	test_next_load_after_bad_escape();
	test_bom();
	test_line_numbers();
	log_close();
}
