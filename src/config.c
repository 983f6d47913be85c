/*
 * Why this file is long: it holds every check that needs several keys at
 * once (pools, timeouts, address clashes, unix sockets, status defaults)
 * beside the conversion they guard; the single-key checks are the table's.
 *
 * The configuration file.  config_source.c reads it and the files it
 * includes (config_text.c reads each, config_scan.c checks its structure)
 * into one text; then libconfuse parses it with the schema of the key table
 * (config_keys.c), which checks every value as it is read, and the checks
 * here that need several keys at once run as each service closes and once
 * the file is read, so an error carries the FILE:LINE where it was found
 * (the source's map turns a line of the text into a file and its line).
 * A service with disable = true is checked, and printed by -T, but not
 * converted: nothing else ever sees it.
 * The result is copied into plain structs (struct config) that a forked
 * worker can use without the parser.  confuse.h is included by the config
 * rooms alone.
 */
#include <confuse.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "config_keys.h"
#include "config_print.h"
#include "config_scan.h"
#include "config_source.h"
#include "log.h"
#include "pool.h"
#include "proto_info.h"

#define NAME_MAX_LEN 32

/* Where a service's address was read, for a clash found after the parse. */
struct listen_at {
	const char *spec;    /* as written; the parser owns it */
	const char *service; /* its title */
	int line;            /* of the service's closing brace */
};

/*
 * The load in progress.  libconfuse's callbacks get no argument of ours,
 * so this is static; config_load sets it up and clears it.
 */
static struct {
	struct config_source src; /* the text, and where its lines are from */
	int errors;               /* reported so far */
	/* Every valid address of every service closed so far, in file
	 * order, checked for clashes all at once when the parse is done. */
	struct addr *addrs;
	struct listen_at *where;
	size_t naddrs, cap;
	bool nomem; /* one of the errors was running out of memory */
	/* The file each service was read from, for -T; by its index. */
	const char **from;
	size_t nfrom;
	unsigned enabled; /* services without disable = true */
} ld;

/* Does msg hold a control byte (from the file: a title, a value)? */
static bool
has_control(const char *msg)
{
	for (; *msg != '\0'; msg++)
		if ((unsigned char)*msg < 0x20 || *msg == 0x7f)
			return true;
	return false;
}

/* "FILE:LINE: message", or "FILE: message" for line 0, counted.  A
 * message that carries a control byte of the file's is escaped whole: a
 * terminal escape in a service name must not reach the terminal. */
static void
report_at(const char *path, int line, const char *msg)
{
	char shown[4 * 1024 + 1];

	if (has_control(msg)) {
		log_escape(msg, strlen(msg), shown, sizeof(shown));
		msg = shown;
	}
	ld.errors++;
	if (line > 0)
		log_errorx("%s:%d: %s", path, line, msg);
	else
		log_errorx("%s: %s", path, msg);
}

/* The same for a line of the whole text: in the file it came from. */
static void
report_line(int line, const char *msg)
{
	const char *path;
	int at;

	config_source_where(&ld.src, line, &path, &at);
	report_at(path, at, msg);
}

/* Out of memory, which config_load tells apart from a bad file. */
static void
report_nomem(int line)
{
	ld.nomem = true;
	report_line(line, "out of memory");
}

/* For every error libconfuse or a check reports. */
static void
report_error(cfg_t *cfg, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	report_line(cfg != NULL ? cfg->line : 0, msg);
}

/*
 * The checks below, like those of the key table, report an error and go
 * on: libconfuse stops parsing at the first validator that returns -1, and
 * the next error in the file would go unseen.  ld.errors fails the load
 * instead.
 */

static int
valid_service_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > NAME_MAX_LEN)
		return 0;
	for (; *name != '\0'; name++)
		if (!isalnum((unsigned char)*name) &&
		    strchr("_.-", *name) == NULL)
			return 0;
	return 1;
}

/* Room for need addresses in ld; -1 when out of memory. */
static int
grow_addresses(size_t need)
{
	size_t cap = need * 2;
	struct listen_at *where;
	struct addr *addrs;

	if (need <= ld.cap)
		return 0;
	if ((addrs = realloc(ld.addrs, cap * sizeof(*addrs))) == NULL)
		return -1;
	ld.addrs = addrs;
	if ((where = realloc(ld.where, cap * sizeof(*where))) == NULL)
		return -1;
	ld.where = where;
	ld.cap = cap;
	return 0;
}

/* Keep the valid addresses of sec for the clash check; -1 out of memory. */
static int
keep_addresses(cfg_t *sec, int line)
{
	unsigned n = cfg_size(sec, "listen");
	char err[128];

	if (grow_addresses(ld.naddrs + n) == -1)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		const char *spec = cfg_getnstr(sec, "listen", i);
		struct addr *addr = &ld.addrs[ld.naddrs];
		if (addr_parse(spec, addr, err, sizeof(err)) == -1)
			continue; /* already reported */
		ld.where[ld.naddrs++] =
		    (struct listen_at){ spec, cfg_title(sec), line };
	}
	return 0;
}

/* A UDP address needs a protocol with a datagram form; said once. */
static void
check_udp_protocol(cfg_t *cfg, cfg_t *sec)
{
	const char *name = cfg_getstr(sec, "protocol");
	const struct proto_info *proto = proto_info_find(name);
	char err[128];
	struct addr addr;

	/* A program that accepts by itself (accept = false) takes any
	 * socket it is given. */
	if (cfg_getbool(sec, "accept") == cfg_false)
		return;
	for (unsigned i = 0;
	     proto != NULL && !proto->udp && i < cfg_size(sec, "listen"); i++) {
		const char *spec = cfg_getnstr(sec, "listen", i);
		if (addr_parse(spec, &addr, err, sizeof(err)) == 0 &&
		    addr.socktype == SOCK_DGRAM) {
			cfg_error(cfg,
			    "service %s: protocol \"%s\" does not work over "
			    "UDP (listen \"%s\")",
			    cfg_title(sec), name, spec);
			return;
		}
	}
}

/*
 * worker_timeout kills a worker that has moved no byte for that long, so it
 * must outlast each wait of a healthy worker: times the seconds of key,
 * waiting on_what (0: a wait without end).
 */
static void
worker_outlasts(
    cfg_t *cfg, cfg_t *sec, const char *key, long times, const char *on_what)
{
	long timeout = cfg_getint(sec, "worker_timeout");
	long wait = cfg_getint(sec, key);

	if (timeout == 0 || (wait > 0 && timeout > times * wait))
		return;
	if (wait == 0)
		cfg_error(cfg,
		    "service %s: worker_timeout = %ld needs %s %s: with %s = 0 "
		    "a worker may wait %s for ever",
		    cfg_title(sec), timeout,
		    strchr("aeiou", key[0]) != NULL ? "an" : "a", key, key,
		    on_what);
	else
		cfg_error(cfg,
		    "service %s: worker_timeout = %ld must be longer than "
		    "%s%s = %ld, or a worker waiting %s would be killed",
		    cfg_title(sec), timeout, times == 2 ? "twice " : "", key,
		    wait, on_what);
}

/* A PROXY header comes over TCP, from a peer proxy_from names; the
 * service wants one on every address (proxy_protocol) or on those written
 * "proxy:ADDRESS". */
static void
check_proxy(cfg_t *cfg, cfg_t *sec)
{
	bool all = cfg_getbool(sec, "proxy_protocol") == cfg_true, some = all;
	char err[128];
	struct addr addr;

	for (unsigned i = 0; i < cfg_size(sec, "listen"); i++) {
		const char *spec = cfg_getnstr(sec, "listen", i);
		if (addr_parse(spec, &addr, err, sizeof(err)) == -1)
			continue; /* already reported */
		some |= addr.proxy;
		if (all &&
		    (addr.socktype == SOCK_DGRAM || addr_is_unix(&addr))) {
			cfg_error(cfg,
			    "service %s: proxy_protocol works over TCP only "
			    "(listen \"%s\")",
			    cfg_title(sec), spec);
			all = false; /* said once */
		}
	}
	if (some)
		worker_outlasts(
		    cfg, sec, "proxy_timeout", 1, "for a PROXY header");
	if (some && cfg_size(sec, "proxy_from") == 0)
		cfg_error(cfg,
		    "service %s: %s but proxy_from is empty: no peer could "
		    "connect",
		    cfg_title(sec),
		    cfg_getbool(sec, "proxy_protocol") == cfg_true
		        ? "proxy_protocol is on"
		        : "a listen address is proxy:");
}

/* allow and deny match IP addresses: a service whose every address is a
 * unix: socket could never use them (its file's owner and mode say who
 * may connect); with some IP addresses too, they apply to those alone. */
static void
check_unix(cfg_t *cfg, cfg_t *sec)
{
	unsigned n = cfg_size(sec, "listen"), nunix = 0;
	char err[128];
	struct addr addr;

	for (unsigned i = 0; i < n; i++)
		if (addr_parse(cfg_getnstr(sec, "listen", i), &addr, err,
		        sizeof(err)) == 0 &&
		    addr_is_unix(&addr))
			nunix++;
	if (nunix == 0 || nunix < n)
		return;
	if (cfg_size(sec, "allow") > 0 || cfg_size(sec, "deny") > 0)
		cfg_error(cfg,
		    "service %s: allow and deny match IP addresses, and every "
		    "listen address is a unix: socket (socket_user, "
		    "socket_group and socket_mode say who may connect)",
		    cfg_title(sec));
}

/*
 * No address may clash with one before it, in its service or another: n
 * log n, since checking each against all the others (20,000 addresses: 16
 * s) kept a reloading master deaf.  Each clash is reported on the closing
 * brace of the later service.
 */
static void
check_clashes(void)
{
	size_t *first = malloc(ld.naddrs * sizeof(*first) + 1);
	char msg[512];

	if (first == NULL || addr_clashes(ld.addrs, ld.naddrs, first) == -1) {
		report_nomem(0);
		free(first);
		return;
	}
	for (size_t i = 0; i < ld.naddrs; i++) {
		const struct listen_at *a = &ld.where[i], *b;
		if (first[i] == i)
			continue;
		b = &ld.where[first[i]];
		snprintf(msg, sizeof(msg),
		    "service %s: listen \"%s\" clashes with \"%s\" of "
		    "service %s",
		    a->service, a->spec, b->spec, b->service);
		report_line(a->line, msg);
	}
	free(first);
}

/* The most workers a service may have: max_workers, 0 meaning workers. */
static long
largest_pool(cfg_t *sec)
{
	long max = cfg_getint(sec, "max_workers");

	return max > 0 ? max : cfg_getint(sec, "workers");
}

/* The scoreboard slots sec may fill: its largest pool, and its
 * datagram-only workers (udp_workers) when it has some. */
static long
slots_of(cfg_t *sec)
{
	bool streams = false, datagrams = false;
	char err[128];
	struct addr addr;

	for (unsigned i = 0; i < cfg_size(sec, "listen"); i++)
		if (addr_parse(cfg_getnstr(sec, "listen", i), &addr, err,
		        sizeof(err)) == 0) {
			streams |= addr.socktype != SOCK_DGRAM;
			datagrams |= addr.socktype == SOCK_DGRAM;
		}
	return largest_pool(sec) +
	       pool_dgram_workers((unsigned)cfg_getint(sec, "udp_workers"),
	           streams, datagrams);
}

/* The pool's bounds must make sense together. */
static void
check_pool(cfg_t *cfg, cfg_t *sec)
{
	long workers = cfg_getint(sec, "workers");
	long max = cfg_getint(sec, "max_workers");
	long min_spare = cfg_getint(sec, "min_spare");
	long max_spare = cfg_getint(sec, "max_spare");

	if (max > 0 && max < workers) {
		cfg_error(cfg,
		    "service %s: max_workers = %ld is less than workers = %ld",
		    cfg_title(sec), max, workers);
	}
	if (max_spare > 0 && max_spare < min_spare) {
		cfg_error(cfg,
		    "service %s: max_spare = %ld is less than min_spare = %ld",
		    cfg_title(sec), max_spare, min_spare);
	}
}

/* The waits worker_timeout must outlast (see worker_outlasts).  A program
 * of accept = false has none of them: its clients are its own, and its
 * worker_timeout bounds the time between two WATCHDOG=1. */
static void
check_worker_timeout(cfg_t *cfg, cfg_t *sec)
{
	if (cfg_getbool(sec, "accept") == cfg_false)
		return;
	worker_outlasts(cfg, sec, "idle_timeout", 1, "on a silent client");
	/* A client that stops reading is cut after one to two send_timeouts
	 * (see conn.c), with no byte moved meanwhile. */
	worker_outlasts(
	    cfg, sec, "send_timeout", 2, "on a client that does not read");
}

/* An environment variable's name: a letter or '_', then those or digits. */
static bool
valid_env_name(const char *name, size_t len)
{
	if (len == 0 || isdigit((unsigned char)name[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_')
			return false;
	return true;
}

/* env items are NAME=value, pass_env items a NAME alone. */
static void
check_env_lists(cfg_t *cfg, cfg_t *sec)
{
	for (unsigned i = 0; i < cfg_size(sec, "env"); i++) {
		const char *item = cfg_getnstr(sec, "env", i);
		const char *eq = strchr(item, '=');
		if (eq == NULL || !valid_env_name(item, (size_t)(eq - item)))
			cfg_error(cfg,
			    "service %s: env \"%s\" must be NAME=value",
			    cfg_title(sec), item);
	}
	for (unsigned i = 0; i < cfg_size(sec, "pass_env"); i++) {
		const char *name = cfg_getnstr(sec, "pass_env", i);
		if (!valid_env_name(name, strlen(name)))
			cfg_error(cfg,
			    "service %s: pass_env \"%s\" must be a variable's "
			    "name",
			    cfg_title(sec), name);
	}
}

/* protocol = "exec" needs a command, an absolute path; no other protocol
 * has one.  Whether it exists is -t's to say (program_check). */
static void
check_exec(cfg_t *cfg, cfg_t *sec)
{
	const char *proto = cfg_getstr(sec, "protocol");
	bool exec = proto != NULL && strcmp(proto, "exec") == 0;
	unsigned n = cfg_size(sec, "command");
	const char *path = n > 0 ? cfg_getnstr(sec, "command", 0) : NULL;

	if (exec && n == 0)
		cfg_error(cfg,
		    "service %s: protocol \"exec\" needs a command = "
		    "{\"/path/to/program\", \"argument\", ...}",
		    cfg_title(sec));
	else if (!exec && n > 0)
		cfg_error(cfg,
		    "service %s: command is for protocol \"exec\" only",
		    cfg_title(sec));
	else if (exec && path[0] != '/')
		cfg_error(cfg,
		    "service %s: command \"%s\" must be an absolute path",
		    cfg_title(sec), path);
	if (cfg_getstr(sec, "group") != NULL &&
	    cfg_getstr(sec, "user") == NULL && cfg_getstr(cfg, "user") == NULL)
		cfg_error(cfg, "service %s: group is set but user is not",
		    cfg_title(sec));
	check_env_lists(cfg, sec);
}

/*
 * accept = false: a pool of programs, protocol "exec" only; the pool is
 * fixed (nothing tells the master that a program is busy), and stdin =
 * "socket" needs exactly one listener to put on fd 0; ready = "notify" is
 * for such programs alone.
 */
static void
check_program(cfg_t *cfg, cfg_t *sec)
{
	const char *proto = cfg_getstr(sec, "protocol");
	bool exec = proto != NULL && strcmp(proto, "exec") == 0;
	bool programs = cfg_getbool(sec, "accept") == cfg_false;

	if (programs && !exec)
		cfg_error(cfg,
		    "service %s: accept = false is for protocol \"exec\" only",
		    cfg_title(sec));
	if (programs &&
	    (cfg_getint(sec, "min_spare") > 0 ||
	        cfg_getint(sec, "max_spare") > 0 ||
	        cfg_getint(sec, "max_workers") > cfg_getint(sec, "workers")))
		cfg_error(cfg,
		    "service %s: with accept = false the pool is fixed: "
		    "min_spare, max_spare and max_workers do not apply",
		    cfg_title(sec));
	if (strcmp(cfg_getstr(sec, "stdin"), "socket") == 0 &&
	    (!programs || cfg_size(sec, "listen") != 1))
		cfg_error(cfg,
		    "service %s: stdin = \"socket\" needs accept = false and "
		    "exactly one listen address",
		    cfg_title(sec));
	/* Only "notify": -T prints ready = "started" for every service,
	 * and what it prints must load. */
	if (strcmp(cfg_getstr(sec, "ready"), "notify") == 0 && !programs)
		cfg_error(cfg,
		    "service %s: ready = \"notify\" needs accept = false: "
		    "only a program that accepts by itself is told "
		    "NOTIFY_SOCKET",
		    cfg_title(sec));
}

/* Which file the service of index i came from, for -T; false when out
 * of memory. */
static bool
keep_origin(unsigned i, int line)
{
	const char **from;
	int at;

	if (i >= ld.nfrom) {
		if ((from = realloc(ld.from, (i + 1) * sizeof(*from))) == NULL)
			return false;
		ld.from = from;
		ld.nfrom = i + 1;
	}
	config_source_where(&ld.src, line, &ld.from[i], &at);
	return true;
}

static bool
disabled(cfg_t *sec)
{
	return cfg_getbool(sec, "disable") == cfg_true;
}

/* Called when a service section closes: checks that need all its keys.
 * A disabled service is checked as any other, but its addresses are not
 * kept: it does not run, so they clash with nothing. */
static int
check_service(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
	const char *name = cfg_title(sec);

	if (!keep_origin(cfg_opt_size(opt) - 1, cfg->line))
		report_nomem(cfg->line);

	if (!valid_service_name(name))
		cfg_error(cfg,
		    "service name \"%s\" must be 1 to %d letters, "
		    "digits, '_', '.' or '-'",
		    name, NAME_MAX_LEN);
	if (cfg_size(sec, "listen") == 0)
		cfg_error(cfg, "service %s: no listen address", name);
	if (cfg_getstr(sec, "protocol") == NULL)
		cfg_error(cfg, "service %s: no protocol (expected one of: %s)",
		    name, proto_info_names());
	else
		check_udp_protocol(cfg, sec);
	check_pool(cfg, sec);
	check_proxy(cfg, sec);
	check_unix(cfg, sec);
	check_worker_timeout(cfg, sec);
	check_exec(cfg, sec);
	check_program(cfg, sec);
	if (!disabled(sec) && keep_addresses(sec, cfg->line) == -1)
		report_nomem(cfg->line);
	ld.enabled += !disabled(sec);
	return 0;
}

/* flags: CFGF_IGNORE_UNKNOWN to read on past keys config_scan reported. */
static cfg_t *
parser_new(int flags)
{
	cfg_t *cfg = cfg_init(config_keys_schema(check_service), flags);

	if (cfg != NULL)
		cfg_set_error_function(cfg, report_error);
	return cfg;
}

/*
 * GCC's analyzer takes the key table's stores through an offset into the
 * next service as ones that may overwrite this one's name, and calls that
 * a leak; config_free releases it.
 */
#if !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif

/* A status service shows the pool to whoever may connect: without an
 * allow of its own, it serves loopback peers only.  -1: no memory. */
static int
status_loopback_only(struct service *svc)
{
	static const char *const loopback[] = { "127.0.0.0/8", "::1" };
	const size_t n = sizeof(loopback) / sizeof(loopback[0]);
	char err[128];

	if (svc->protocol != &proto_info[PROTO_STATUS] || svc->nallow > 0)
		return 0;
	if ((svc->allow = calloc(n, sizeof(*svc->allow))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (addr_cidr_parse(
		        loopback[i], &svc->allow[i], err, sizeof(err)) == -1)
			log_bug("%s: %s", loopback[i], err);
	svc->nallow = n;
	return 0;
}

/* The fields of svc from sec: the key table's, then what they imply.
 * -1 when out of memory. */
static int
convert_service(cfg_t *sec, struct service *svc)
{
	if (config_keys_convert(sec, CONFIG_KEY_SERVICE, svc) == -1 ||
	    status_loopback_only(svc) == -1)
		return -1;
	svc->max_workers = (int)largest_pool(sec);
	svc->line = sec->line; /* its closing brace's, which -t names */
	svc->name = strdup(cfg_title(sec));
	return svc->name != NULL ? 0 : -1;
}
#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif

static struct config *
convert(cfg_t *cfg, const char *path)
{
	struct config *conf = calloc(1, sizeof(*conf));
	bool failed = conf == NULL || (conf->path = strdup(path)) == NULL ||
	              config_keys_convert(cfg, CONFIG_KEY_GLOBAL, conf) == -1;

	if (!failed) {
		conf->services = calloc(
		    cfg_size(cfg, CONFIG_SECTION), sizeof(*conf->services));
		failed = conf->services == NULL;
	}
	for (unsigned i = 0; !failed && i < cfg_size(cfg, CONFIG_SECTION);
	     i++) {
		cfg_t *sec = cfg_getnsec(cfg, CONFIG_SECTION, i);
		if (disabled(sec))
			continue;
		failed = convert_service(
		             sec, &conf->services[conf->nservices++]) == -1;
	}
	if (failed) {
		log_errorx("%s: out of memory", path);
		config_free(conf);
		return NULL;
	}
	return conf;
}

/* Every worker the pools may grow to needs a scoreboard slot. */
static void
check_slots(cfg_t *cfg)
{
	long needed = 0, slots = cfg_getint(cfg, "max_slots");

	for (unsigned i = 0; i < cfg_size(cfg, CONFIG_SECTION); i++)
		if (!disabled(cfg_getnsec(cfg, CONFIG_SECTION, i)))
			needed += slots_of(cfg_getnsec(cfg, CONFIG_SECTION, i));
	if (needed > slots) {
		char msg[128];

		snprintf(msg, sizeof(msg),
		    "the services need %ld workers, more than max_slots = %ld",
		    needed, slots);
		report_line(0, msg);
	}
}

/* Checks that need the whole file. */
static void
check_whole(cfg_t *cfg)
{
	if (cfg_size(cfg, CONFIG_SECTION) == 0)
		report_line(0, "no service defined");
	else if (ld.enabled == 0)
		report_line(0, "every service has disable = true: nothing to "
		               "run");
	if (cfg_getstr(cfg, "group") != NULL && cfg_getstr(cfg, "user") == NULL)
		report_line(0, "group is set but user is not");
	check_slots(cfg);
	config_keys_inherit(cfg);
}

/*
 * Parse the source's text, all of it checked: a libconfuse tree, or NULL
 * after every error found was reported.  Structural errors stop before
 * libconfuse (it would report them wrongly); unknown or misplaced keys do
 * not: they are reported, libconfuse is told to skip them, and the values
 * around them are still checked.
 */
static cfg_t *
parse(void)
{
	cfg_t *cfg;
	int rc;

	ld.errors += ld.src.unread;
	if (ld.src.scan == CONFIG_SCAN_BROKEN)
		return NULL;
	cfg = parser_new(
	    ld.src.scan == CONFIG_SCAN_KEYS ? CFGF_IGNORE_UNKNOWN : CFGF_NONE);
	if (cfg == NULL) {
		report_nomem(0);
		return NULL;
	}
	if ((rc = cfg_parse_buf(cfg, ld.src.text)) == CFG_SUCCESS)
		check_whole(cfg);
	check_clashes();
	if (rc != CFG_SUCCESS && ld.errors == 0)
		report_line(0, "cannot parse (libconfuse gave no reason)");
	if (ld.errors != 0) {
		cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

/*
 * Read and parse path, with what it includes, into a libconfuse tree: NULL
 * after logging every error found as "FILE:LINE: message", errno ENOMEM if
 * one of them was running out of memory, else EINVAL.  trust: warn of a
 * file others may write.  out: print the tree there (-T) while the names
 * of the files each service came from are still known, with pidfile in
 * place of the file's own when it is not NULL (-T with -p).
 */
static cfg_t *
parse_file(const char *path, bool trust, FILE *out, const char *pidfile)
{
	const struct config_source_hooks hooks = { config_keys_place,
		config_keys_closest, report_at, trust };
	bool nomem;
	cfg_t *cfg = NULL;

	memset(&ld, 0, sizeof(ld));
	if (config_source_read(&ld.src, path, &hooks) == -1) {
		memset(&ld, 0, sizeof(ld));
		return NULL; /* errno set */
	}
	cfg = parse();
	nomem = ld.nomem || ld.src.nomem;
	if (cfg != NULL && pidfile != NULL &&
	    cfg_setstr(cfg, "pidfile", pidfile) != 0) {
		log_errorx("%s: pidfile %s: cannot print it", path, pidfile);
		cfg_free(cfg);
		cfg = NULL;
	}
	if (cfg != NULL && out != NULL)
		config_print_tree(cfg, out, ld.from, ld.nfrom, path);
	free(ld.addrs);
	free(ld.where);
	free(ld.from);
	config_source_free(&ld.src);
	config_keys_forget();
	memset(&ld, 0, sizeof(ld));
	errno = nomem ? ENOMEM : EINVAL;
	return cfg;
}

struct config *
config_load(const char *path)
{
	struct config *conf;
	cfg_t *cfg;

	if ((cfg = parse_file(path, true, NULL, NULL)) == NULL)
		return NULL;
	conf = convert(cfg, path);
	cfg_free(cfg);
	if (conf == NULL)
		errno = ENOMEM; /* the one way convert fails */
	return conf;
}

int
config_print(const char *path, FILE *out)
{
	cfg_t *cfg;

	if ((cfg = parse_file(path, false, out, NULL)) == NULL)
		return -1;
	cfg_free(cfg);
	return 0;
}

/* -T with -p: the pidfile printed is the one -p gives, which is the one
 * used.  Apart from config_print so that the two stay easy to merge. */
int
config_print_pidfile(const char *path, const char *pidfile, FILE *out)
{
	cfg_t *cfg;

	if ((cfg = parse_file(path, false, out, pidfile)) == NULL)
		return -1;
	cfg_free(cfg);
	return 0;
}

void
config_free(struct config *conf)
{
	if (conf == NULL)
		return;
	for (size_t i = 0; conf->services != NULL && i < conf->nservices; i++) {
		config_keys_free(CONFIG_KEY_SERVICE, &conf->services[i]);
		free(conf->services[i].name);
	}
	free(conf->services);
	config_keys_free(CONFIG_KEY_GLOBAL, conf);
	free(conf->path);
	free(conf);
}

const struct service *
config_service(const struct config *conf, const char *name)
{
	for (size_t i = 0; i < conf->nservices; i++)
		if (strcmp(conf->services[i].name, name) == 0)
			return &conf->services[i];
	return NULL;
}

size_t
config_addresses(const struct config *conf)
{
	size_t n = 0;

	for (size_t i = 0; i < conf->nservices; i++)
		n += conf->services[i].naddrs;
	return n;
}

unsigned
config_slots_needed(const struct config *conf)
{
	unsigned n = 0;

	for (size_t i = 0; i < conf->nservices; i++)
		n += (unsigned)conf->services[i].max_workers +
		     config_dgram_workers(&conf->services[i]);
	return n;
}

unsigned
config_dgram_workers(const struct service *s)
{
	bool streams = false, datagrams = false;

	for (size_t i = 0; i < s->naddrs; i++) {
		streams |= s->addrs[i].socktype != SOCK_DGRAM;
		datagrams |= s->addrs[i].socktype == SOCK_DGRAM;
	}
	if (!s->accept)
		return 0; /* a program serves its sockets, all of them */
	return pool_dgram_workers((unsigned)s->udp_workers, streams, datagrams);
}
