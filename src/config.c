/*
 * The configuration file.  config_text.c reads it, config_scan.c checks
 * its structure; then libconfuse parses it and every value is checked as it is
 * read, so an error carries the FILE:LINE where it was found, and the result is
 * copied into plain structs (struct config) that a forked worker can use
 * without the parser.  confuse.h is included here and nowhere else.
 */
#include <confuse.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "config.h"
#include "config_print.h"
#include "config_scan.h"
#include "config_text.h"
#include "log.h"
#include "proto.h"
#include "scoreboard.h"

#ifndef PIDFILE_DEFAULT
#define PIDFILE_DEFAULT "/run/preforkd.pid"
#endif

#define NAME_MAX_LEN 32
#define PREFIX_MAX_LEN 1024
#define BANNER_MAX_LEN 4096
#define TIME_TEXT_MAX 256

struct int_range {
	const char *name;
	long min, max;
};

static const struct int_range int_ranges[] = {
	{ "shutdown_timeout", 0, 86400 },
	{ "workers", 1, 1024 },
	{ "backlog", 1, 65535 },
	{ "buffer_size", 1, 1048576 },
	{ "max_line", 1, 1048576 },
	{ "idle_timeout", 0, 86400 },
	{ "send_timeout", 0, 86400 },
	{ "max_session", 0, 604800 },
	{ "min_rate", 0, 1073741824 },
	{ "min_rate_window", 1, 3600 },
	{ "max_requests", 0, 1000000000 },
	{ "log_data_limit", 0, 1048576 },
	{ "max_slots", 1, 65536 },
	{ "min_spare", 0, 65536 },
	{ "max_spare", 0, 65536 },
	{ "max_workers", 0, 65536 },
	{ "proxy_timeout", 1, 3600 },
	{ "max_per_source", 0, 65536 },
	{ "source_prefix6", 0, 128 },
	{ "worker_timeout", 0, 86400 },
};

static cfg_opt_t service_opts[] = {
	CFG_STR_LIST("listen", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("allow", NULL, CFGF_NONE),
	CFG_STR_LIST("deny", NULL, CFGF_NONE),
	CFG_STR("protocol", NULL, CFGF_NODEFAULT),
	CFG_INT("workers", 4, CFGF_NONE),
	CFG_INT("min_spare", 0, CFGF_NONE),
	CFG_INT("max_spare", 0, CFGF_NONE),
	CFG_INT("max_workers", 0, CFGF_NONE),
	CFG_INT("backlog", 511, CFGF_NONE),
	CFG_INT("buffer_size", 65536, CFGF_NONE),
	CFG_STR("banner", NULL, CFGF_NODEFAULT),
	CFG_STR("prefix", "You sent me: ", CFGF_NONE),
	CFG_STR("time_format", "[%a %b %e %H:%M:%S %Y] ", CFGF_NONE),
	CFG_STR("framing", "chunk", CFGF_NONE),
	CFG_INT("max_line", 4096, CFGF_NONE),
	CFG_BOOL("log_data", cfg_false, CFGF_NONE),
	CFG_INT("log_data_limit", 4096, CFGF_NONE),
	CFG_INT("idle_timeout", 300, CFGF_NONE),
	CFG_BOOL("proxy_protocol", cfg_false, CFGF_NONE),
	/* A proxy on the same host, the usual set-up, works as it is. */
	CFG_STR_LIST("proxy_from", "{\"127.0.0.0/8\", \"::1\"}", CFGF_NONE),
	CFG_INT("proxy_timeout", 5, CFGF_NONE),
	CFG_INT("max_per_source", 0, CFGF_NONE),
	CFG_INT("source_prefix6", 64, CFGF_NONE),
	CFG_INT("worker_timeout", 0, CFGF_NONE),
	CFG_INT("send_timeout", 60, CFGF_NONE),
	CFG_INT("max_session", 3600, CFGF_NONE),
	CFG_INT("min_rate", 0, CFGF_NONE),
	CFG_INT("min_rate_window", 60, CFGF_NONE),
	CFG_INT("max_requests", 0, CFGF_NONE),
	CFG_END(),
};

static cfg_opt_t config_opts[] = {
	CFG_STR("pidfile", PIDFILE_DEFAULT, CFGF_NONE),
	CFG_STR("user", NULL, CFGF_NODEFAULT),
	CFG_STR("group", NULL, CFGF_NODEFAULT),
	/* Unset means stderr with -f, syslog when detached (log_where). */
	CFG_STR("log", NULL, CFGF_NODEFAULT),
	/* Unset means access lines go with the others, to log. */
	CFG_STR("access_log", NULL, CFGF_NODEFAULT),
	CFG_STR("log_level", "info", CFGF_NONE),
	CFG_INT("shutdown_timeout", 30, CFGF_NONE),
	CFG_INT("max_slots", SCOREBOARD_SLOTS_DEFAULT, CFGF_NONE),
	CFG_SEC("service", service_opts,
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_END(),
};

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
	const char *path; /* the parser sees only the text */
	int errors;       /* reported so far */
	/* Every valid address of every service closed so far, in file
	 * order, checked for clashes all at once when the parse is done. */
	struct addr *addrs;
	struct listen_at *where;
	size_t naddrs, cap;
	/* The listen value checked last, which libconfuse checks twice. */
	const cfg_opt_t *listen_opt;
	unsigned listen_size;
	char *listen_spec;
} ld;

/* "FILE:LINE: message", or "FILE: message" for line 0, counted. */
static void
report_line(int line, const char *msg)
{
	ld.errors++;
	if (line > 0)
		log_errorx("%s:%d: %s", ld.path, line, msg);
	else
		log_errorx("%s: %s", ld.path, msg);
}

/* For every error libconfuse or a check reports. */
static void
report_error(cfg_t *cfg, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	report_line(cfg != NULL ? cfg->line : 0, msg);
}

/* For what config_scan finds. */
static void
report_scan(void *arg, int line, const char *msg)
{
	(void)arg;
	report_line(line, msg);
}

/*
 * The checks below report an error and return 0, not -1: libconfuse stops
 * parsing at the first -1, and the next error in the file would go unseen.
 * ld.errors fails the load instead.  Errors libconfuse finds itself (a
 * value of the wrong type, a duplicate service) still stop it.
 */

static int
check_int_range(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *name = cfg_opt_name(opt);
	long value = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);

	for (size_t i = 0; i < sizeof(int_ranges) / sizeof(int_ranges[0]);
	     i++) {
		const struct int_range *r = &int_ranges[i];
		if (strcmp(r->name, name) != 0)
			continue;
		if (value < r->min || value > r->max) {
			cfg_error(cfg, "%s = %ld is out of range (%ld to %ld)",
			    name, value, r->min, r->max);
		}
	}
	return 0;
}

static const char *
last_string(cfg_opt_t *opt)
{
	return cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);
}

static int
check_protocol(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *name = last_string(opt);

	if (proto_find(name) == NULL) {
		cfg_error(cfg, "unknown protocol \"%s\" (expected one of: %s)",
		    name, proto_names());
	}
	return 0;
}

/*
 * libconfuse checks the last value of a list again at its '}': true for
 * that second call, so that an error is reported once.  Only an equal
 * value is skipped, so a list given anew with a different last value is
 * still checked.
 */
static bool
checked_just_now(cfg_opt_t *opt, const char *spec)
{
	unsigned size = cfg_opt_size(opt);
	bool again = opt == ld.listen_opt && size == ld.listen_size &&
	             ld.listen_spec != NULL &&
	             strcmp(spec, ld.listen_spec) == 0;

	free(ld.listen_spec);
	ld.listen_spec = again ? NULL : strdup(spec);
	ld.listen_opt = opt;
	ld.listen_size = size;
	return again;
}

static int
check_listen(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *spec = last_string(opt);
	char err[128];
	struct addr addr;

	if (checked_just_now(opt, spec))
		return 0;
	if (addr_parse(spec, &addr, err, sizeof(err)) == -1)
		cfg_error(cfg, "listen \"%s\": %s", spec, err);
	return 0;
}

static int
check_cidr(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *spec = last_string(opt);
	char err[128];
	struct cidr block;

	if (checked_just_now(opt, spec))
		return 0;
	if (addr_cidr_parse(spec, &block, err, sizeof(err)) == -1)
		cfg_error(cfg, "%s \"%s\": %s", cfg_opt_name(opt), spec, err);
	return 0;
}

static int
check_path(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *path = last_string(opt);
	const char *name = cfg_opt_name(opt);

	if (strcmp(name, "log") == 0 &&
	    (strcmp(path, "stderr") == 0 || strcmp(path, "syslog") == 0))
		return 0;
	if (path[0] != '/') {
		cfg_error(cfg, "%s \"%s\" must be an absolute path%s", name,
		    path,
		    strcmp(name, "log") == 0 ? ", \"stderr\" or \"syslog\""
		                             : "");
	}
	return 0;
}

static const char *const framing_names[] = {
	[FRAMING_CHUNK] = "chunk",
	[FRAMING_LINE] = "line",
};

/* The framing called name, or -1. */
static int
framing_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(framing_names) / sizeof(framing_names[0]);
	     i++)
		if (strcmp(name, framing_names[i]) == 0)
			return (int)i;
	return -1;
}

static int
check_framing(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *name = last_string(opt);

	if (framing_parse(name) == -1) {
		cfg_error(cfg,
		    "unknown framing \"%s\" (expected chunk or line)", name);
		return -1;
	}
	return 0;
}

static int
check_log_level(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *level = last_string(opt);

	if (log_level_parse(level) == -1) {
		cfg_error(cfg,
		    "unknown log_level \"%s\" (expected error, "
		    "warning, notice, info or debug)",
		    level);
	}
	return 0;
}

static int
check_length(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *name = cfg_opt_name(opt);
	size_t max =
	    strcmp(name, "banner") == 0 ? BANNER_MAX_LEN : PREFIX_MAX_LEN;

	if (strlen(last_string(opt)) > max)
		cfg_error(cfg, "%s is longer than %zu bytes", name, max);
	return 0;
}

static int
check_time_format(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *fmt = last_string(opt);
	char text[TIME_TEXT_MAX];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	if (*fmt != '\0' && strftime(text, sizeof(text), fmt, &tm) == 0)
		cfg_error(cfg, "time_format expands to more than %d bytes",
		    TIME_TEXT_MAX - 1);
	return 0;
}

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

/* A UDP address needs a protocol with a datagram form. */
static int
check_udp_protocol(cfg_t *cfg, cfg_t *sec)
{
	const char *name = cfg_getstr(sec, "protocol");
	const struct protocol *proto = proto_find(name);
	char err[128];
	struct addr addr;

	for (unsigned i = 0; proto != NULL && proto->answer == NULL &&
	                     i < cfg_size(sec, "listen");
	     i++) {
		const char *spec = cfg_getnstr(sec, "listen", i);
		if (addr_parse(spec, &addr, err, sizeof(err)) == 0 &&
		    addr.socktype == SOCK_DGRAM) {
			cfg_error(cfg,
			    "service %s: protocol \"%s\" does not work over "
			    "UDP (listen \"%s\")",
			    cfg_title(sec), name, spec);
			return -1;
		}
	}
	return 0;
}

/*
 * worker_timeout kills a worker that has moved no byte for that long, so it
 * must outlast each wait of a healthy worker: times the seconds of key,
 * waiting on_what (0: a wait without end).  -1 after saying why not.
 */
static int
worker_outlasts(cfg_t *cfg, cfg_t *sec, const char *key, long times,
    const char *on_what)
{
	long timeout = cfg_getint(sec, "worker_timeout");
	long wait = cfg_getint(sec, key);

	if (timeout == 0 || (wait > 0 && timeout > times * wait))
		return 0;
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
	return -1;
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
		if (all && addr.socktype == SOCK_DGRAM) {
			cfg_error(cfg,
			    "service %s: proxy_protocol works over TCP only "
			    "(listen \"%s\")",
			    cfg_title(sec), spec);
			all = false; /* said once */
		}
	}
	if (some)
		worker_outlasts(cfg, sec, "proxy_timeout", 1, "for a PROXY header");
	if (some && cfg_size(sec, "proxy_from") == 0)
		cfg_error(cfg,
		    "service %s: %s but proxy_from is empty: no peer could "
		    "connect",
		    cfg_title(sec),
		    cfg_getbool(sec, "proxy_protocol") == cfg_true
		        ? "proxy_protocol is on"
		        : "a listen address is proxy:");
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
		report_line(0, "out of memory");
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

/* The pool's bounds must make sense together. */
static int
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
		return -1;
	}
	if (max_spare > 0 && max_spare < min_spare) {
		cfg_error(cfg,
		    "service %s: max_spare = %ld is less than min_spare = %ld",
		    cfg_title(sec), max_spare, min_spare);
		return -1;
	}
	return 0;
}

/* The waits worker_timeout must outlast (see worker_outlasts). */
static void
check_worker_timeout(cfg_t *cfg, cfg_t *sec)
{
	worker_outlasts(cfg, sec, "idle_timeout", 1, "on a silent client");
	/* A client that stops reading is cut after one to two send_timeouts
	 * (see conn.c), with no byte moved meanwhile. */
	worker_outlasts(
	    cfg, sec, "send_timeout", 2, "on a client that does not read");
}

/* Called when a service section closes: checks that need all its keys. */
static int
check_service(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
	const char *name = cfg_title(sec);

	if (!valid_service_name(name))
		cfg_error(cfg,
		    "service name \"%s\" must be 1 to %d letters, "
		    "digits, '_', '.' or '-'",
		    name, NAME_MAX_LEN);
	if (cfg_size(sec, "listen") == 0)
		cfg_error(cfg, "service %s: no listen address", name);
	if (cfg_getstr(sec, "protocol") == NULL)
		cfg_error(cfg, "service %s: no protocol (expected one of: %s)",
		    name, proto_names());
	else
		check_udp_protocol(cfg, sec);
	check_pool(cfg, sec);
	check_proxy(cfg, sec);
	check_worker_timeout(cfg, sec);
	if (keep_addresses(sec, cfg->line) == -1)
		cfg_error(cfg, "out of memory");
	return 0;
}

/* flags: CFGF_IGNORE_UNKNOWN to read on past keys config_scan reported. */
static cfg_t *
parser_new(int flags)
{
	static const char *const ranged[] = { "shutdown_timeout",
		"service|workers", "service|backlog", "service|buffer_size",
		"service|max_line", "service|idle_timeout", "service|log_data_limit",
		"max_slots", "service|min_spare", "service|max_spare",
		"service|max_workers", "service|proxy_timeout",
		"service|max_per_source",
		"service|source_prefix6", "service|worker_timeout",
		"service|send_timeout",
		"service|max_session", "service|min_rate",
		"service|min_rate_window", "service|max_requests" };
	cfg_t *cfg = cfg_init(config_opts, flags);

	if (cfg == NULL)
		return NULL;
	cfg_set_error_function(cfg, report_error);
	for (size_t i = 0; i < sizeof(ranged) / sizeof(ranged[0]); i++)
		cfg_set_validate_func(cfg, ranged[i], check_int_range);
	cfg_set_validate_func(cfg, "pidfile", check_path);
	cfg_set_validate_func(cfg, "log", check_path);
	cfg_set_validate_func(cfg, "access_log", check_path);
	cfg_set_validate_func(cfg, "log_level", check_log_level);
	cfg_set_validate_func(cfg, "service", check_service);
	cfg_set_validate_func(cfg, "service|protocol", check_protocol);
	cfg_set_validate_func(cfg, "service|listen", check_listen);
	cfg_set_validate_func(cfg, "service|allow", check_cidr);
	cfg_set_validate_func(cfg, "service|deny", check_cidr);
	cfg_set_validate_func(cfg, "service|proxy_from", check_cidr);
	cfg_set_validate_func(cfg, "service|banner", check_length);
	cfg_set_validate_func(cfg, "service|prefix", check_length);
	cfg_set_validate_func(cfg, "service|time_format", check_time_format);
	cfg_set_validate_func(cfg, "service|framing", check_framing);
	return cfg;
}

/* strdup that tolerates NULL and counts failure as an error. */
static char *
copy(const char *s, int *failed)
{
	char *dup;

	if (s == NULL)
		return NULL;
	if ((dup = strdup(s)) == NULL)
		*failed = 1;
	return dup;
}

/* The CIDR blocks of list key of sec, already validated; -1 on no memory. */
static int
convert_blocks(cfg_t *sec, const char *key, struct cidr **out, size_t *n)
{
	char err[128];

	*n = cfg_size(sec, key);
	if (*n == 0)
		return 0;
	if ((*out = calloc(*n, sizeof(**out))) == NULL)
		return -1;
	for (size_t i = 0; i < *n; i++) {
		const char *spec = cfg_getnstr(sec, key, (unsigned)i);
		if (addr_cidr_parse(spec, &(*out)[i], err, sizeof(err)) == -1)
			log_bug("%s \"%s\" passed validation", key, spec);
	}
	return 0;
}

static int
convert_service(cfg_t *sec, struct service *svc)
{
	int failed = 0;
	char err[128];

	svc->name = copy(cfg_title(sec), &failed);
	svc->protocol = proto_find(cfg_getstr(sec, "protocol"));
	svc->naddrs = cfg_size(sec, "listen");
	svc->addrs = calloc(svc->naddrs, sizeof(*svc->addrs));
	svc->listen = calloc(svc->naddrs, sizeof(*svc->listen));
	if (svc->addrs == NULL || svc->listen == NULL)
		return -1;
	for (size_t i = 0; i < svc->naddrs; i++) {
		const char *spec = cfg_getnstr(sec, "listen", (unsigned)i);
		svc->listen[i] = copy(spec, &failed);
		if (addr_parse(spec, &svc->addrs[i], err, sizeof(err)) == -1)
			log_bug("address \"%s\" passed validation", spec);
	}
	if (convert_blocks(sec, "allow", &svc->allow, &svc->nallow) == -1 ||
	    convert_blocks(sec, "deny", &svc->deny, &svc->ndeny) == -1 ||
	    convert_blocks(sec, "proxy_from", &svc->proxy_from,
	        &svc->nproxy_from) == -1)
		return -1;
	svc->workers = (int)cfg_getint(sec, "workers");
	svc->min_spare = (int)cfg_getint(sec, "min_spare");
	svc->max_spare = (int)cfg_getint(sec, "max_spare");
	svc->max_workers = (int)largest_pool(sec);
	svc->backlog = (int)cfg_getint(sec, "backlog");
	svc->buffer_size = (size_t)cfg_getint(sec, "buffer_size");
	svc->banner = copy(cfg_getstr(sec, "banner"), &failed);
	svc->prefix = copy(cfg_getstr(sec, "prefix"), &failed);
	svc->time_format = copy(cfg_getstr(sec, "time_format"), &failed);
	svc->framing = (enum framing)framing_parse(cfg_getstr(sec, "framing"));
	svc->max_line = (size_t)cfg_getint(sec, "max_line");
	svc->log_data = cfg_getbool(sec, "log_data") == cfg_true;
	svc->log_data_limit = (size_t)cfg_getint(sec, "log_data_limit");
	svc->idle_timeout = (int)cfg_getint(sec, "idle_timeout");
	svc->proxy_protocol = cfg_getbool(sec, "proxy_protocol") == cfg_true;
	svc->proxy_timeout = (int)cfg_getint(sec, "proxy_timeout");
	svc->max_per_source = (int)cfg_getint(sec, "max_per_source");
	svc->source_prefix6 = (int)cfg_getint(sec, "source_prefix6");
	svc->worker_timeout = (int)cfg_getint(sec, "worker_timeout");
	svc->send_timeout = (int)cfg_getint(sec, "send_timeout");
	svc->max_session = (int)cfg_getint(sec, "max_session");
	svc->min_rate = cfg_getint(sec, "min_rate");
	svc->min_rate_window = (int)cfg_getint(sec, "min_rate_window");
	svc->max_requests = (int)cfg_getint(sec, "max_requests");
	return failed ? -1 : 0;
}

static struct config *
convert(cfg_t *cfg, const char *path)
{
	struct config *conf = calloc(1, sizeof(*conf));
	int failed = 0;

	if (conf == NULL)
		return NULL;
	conf->path = copy(path, &failed);
	conf->pidfile = copy(cfg_getstr(cfg, "pidfile"), &failed);
	conf->user = copy(cfg_getstr(cfg, "user"), &failed);
	conf->group = copy(cfg_getstr(cfg, "group"), &failed);
	conf->log = copy(cfg_getstr(cfg, "log"), &failed);
	conf->access_log = copy(cfg_getstr(cfg, "access_log"), &failed);
	conf->log_level = log_level_parse(cfg_getstr(cfg, "log_level"));
	conf->shutdown_timeout = (int)cfg_getint(cfg, "shutdown_timeout");
	conf->max_slots = (unsigned)cfg_getint(cfg, "max_slots");
	conf->nservices = cfg_size(cfg, "service");
	conf->services = calloc(conf->nservices, sizeof(*conf->services));
	if (conf->services == NULL)
		failed = 1;
	for (size_t i = 0; !failed && i < conf->nservices; i++)
		if (convert_service(cfg_getnsec(cfg, "service", (unsigned)i),
		        &conf->services[i]) == -1)
			failed = 1;
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

	for (unsigned i = 0; i < cfg_size(cfg, "service"); i++)
		needed += largest_pool(cfg_getnsec(cfg, "service", i));
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
	if (cfg_size(cfg, "service") == 0)
		report_line(0, "no service defined");
	if (cfg_getstr(cfg, "group") != NULL && cfg_getstr(cfg, "user") == NULL)
		report_line(0, "group is set but user is not");
	check_slots(cfg);
}

static bool
has_opt(const cfg_opt_t *opts, const char *key, size_t len, bool *section)
{
	for (; opts->name != NULL; opts++)
		if (strlen(opts->name) == len &&
		    memcmp(opts->name, key, len) == 0) {
			*section = opts->type == CFGT_SEC;
			return true;
		}
	return false;
}

/* For config_scan: where the schema above puts a key. */
static unsigned
key_place(const char *key, size_t len)
{
	unsigned place = 0;
	bool section;

	if (has_opt(config_opts, key, len, &section))
		place |= CONFIG_SCAN_TOP | (section ? CONFIG_SCAN_SECTION : 0);
	if (has_opt(service_opts, key, len, &section))
		place |= CONFIG_SCAN_INSIDE;
	return place;
}

/*
 * Parse text, all of it checked: a libconfuse tree, or NULL after every
 * error found was reported.  Structural errors stop before libconfuse (it
 * would report them wrongly); unknown or misplaced keys do not: they are
 * reported, libconfuse is told to skip them, and the values around them
 * are still checked.
 */
static cfg_t *
parse(char *text)
{
	const struct config_scan_schema schema = { "service", key_place,
		report_scan, NULL };
	enum config_scan_result scan;
	cfg_t *cfg;
	int rc;

	config_text_strip_comments(text);
	if ((scan = config_scan(text, &schema)) == CONFIG_SCAN_BROKEN)
		return NULL;
	cfg = parser_new(
	    scan == CONFIG_SCAN_KEYS ? CFGF_IGNORE_UNKNOWN : CFGF_NONE);
	if (cfg == NULL) {
		report_line(0, "out of memory");
		return NULL;
	}
	if ((rc = cfg_parse_buf(cfg, text)) == CFG_SUCCESS)
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

/* Read and parse path into a libconfuse tree: NULL after logging every
 * error found as "FILE:LINE: message". */
static cfg_t *
parse_file(const char *path)
{
	char *text;
	cfg_t *cfg;

	if ((text = config_text_read(path)) == NULL)
		return NULL;
	memset(&ld, 0, sizeof(ld));
	ld.path = path;
	cfg = parse(text);
	free(ld.addrs);
	free(ld.where);
	free(ld.listen_spec);
	memset(&ld, 0, sizeof(ld));
	free(text);
	return cfg;
}

struct config *
config_load(const char *path)
{
	struct config *conf;
	cfg_t *cfg;

	if ((cfg = parse_file(path)) == NULL)
		return NULL;
	conf = convert(cfg, path);
	cfg_free(cfg);
	return conf;
}

int
config_print(const char *path, FILE *out)
{
	cfg_t *cfg;

	if ((cfg = parse_file(path)) == NULL)
		return -1;
	config_print_tree(cfg, out);
	cfg_free(cfg);
	return 0;
}

static void
free_service(struct service *svc)
{
	for (size_t i = 0; svc->listen != NULL && i < svc->naddrs; i++)
		free(svc->listen[i]);
	free(svc->listen);
	free(svc->addrs);
	free(svc->allow);
	free(svc->deny);
	free(svc->proxy_from);
	free(svc->name);
	free(svc->banner);
	free(svc->prefix);
	free(svc->time_format);
}

void
config_free(struct config *conf)
{
	if (conf == NULL)
		return;
	for (size_t i = 0; conf->services != NULL && i < conf->nservices; i++)
		free_service(&conf->services[i]);
	free(conf->services);
	free(conf->path);
	free(conf->pidfile);
	free(conf->user);
	free(conf->group);
	free(conf->log);
	free(conf->access_log);
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
		n += (unsigned)conf->services[i].max_workers;
	return n;
}
