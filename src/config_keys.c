/*
 * The key table (see config_keys.h): one row per key, and everything that
 * is read from it -- the libconfuse schema with its defaults, the check of
 * each value as libconfuse reads it, the conversion into struct config and
 * struct service and their release, and the places config_scan allows.  A
 * new key is one row here and one entry in preforkd.conf(5).  The checks
 * that need several keys at once (a service's pool, its timeouts, address
 * clashes) are config.c's.
 *
 * Why this file is long: it is the table, a row per key, and the few
 * functions every row goes through; splitting it would spell keys twice.
 */
#include <confuse.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "config.h"
#include "config_keys.h"
#include "config_scan.h"
#include "log.h"
#include "proto_info.h"
#include "sandbox.h"

#ifndef PIDFILE_DEFAULT
#define PIDFILE_DEFAULT "/run/preforkd.pid"
#endif

#define TIME_TEXT_MAX 256

static int check_path(cfg_t *, cfg_opt_t *);
static int check_time_format(cfg_t *, cfg_opt_t *);
static const struct config_choice log_levels, protocols, framings, socket_modes;
static const struct config_choice stdin_choices, quit_signals, defer_accepts,
    sandbox_modes, ready_modes;

#define FIELD(type, f)                                                         \
	.offset = offsetof(type, f), .size = sizeof(((type *)0)->f)
#define TOP(f) .scope = CONFIG_KEY_GLOBAL, FIELD(struct config, f)
#define SVC(f) .scope = CONFIG_KEY_SERVICE, FIELD(struct service, f)

/* The rows, by type: an integer from lo to hi, a bool, a string and the
 * check or choice it needs, a list of CIDR blocks. */
#define KEY_INT(n, where, d, lo, hi)                                           \
	{                                                                      \
		.name = n, .type = CONFIG_KEY_INT, where, .def = d, .min = lo, \
		.max = hi, .store = CONFIG_STORE_NUMBER                        \
	}
#define KEY_BOOL(n, where, d)                                                  \
	{                                                                      \
		.name = n, .type = CONFIG_KEY_BOOL, where, .def = d,           \
		.store = CONFIG_STORE_NUMBER                                   \
	}
#define KEY_STR(n, where, d, maxlen, fn)                                       \
	{                                                                      \
		.name = n, .type = CONFIG_KEY_STR, where, .def_str = d,        \
		.max = maxlen, .check = fn, .store = CONFIG_STORE_STRING       \
	}
#define KEY_CHOICE(n, where, d, c, st)                                         \
	{                                                                      \
		.name = n, .type = CONFIG_KEY_STR, where, .def_str = d,        \
		.choice = &c, .store = st                                      \
	}
#define KEY_CIDRS(n, where, nfield, d)                                         \
	{                                                                      \
		.name = n, .type = CONFIG_KEY_LIST, where, .def_list = d,      \
		.store = CONFIG_STORE_CIDRS,                                   \
		.count = offsetof(struct service, nfield)                      \
	}

/* A list of strings, copied as a NULL-terminated array (argv, env). */
#define KEY_STRINGS(n, where, nfield)                                          \
	{                                                                      \
		.name = n, .type = CONFIG_KEY_LIST, where,                     \
		.store = CONFIG_STORE_STRINGS,                                 \
		.count = offsetof(struct service, nfield)                      \
	}
/* A resource limit of an exec service's program: -1 leaves preforkd's. */
#define KEY_LIMIT(n, f) KEY_INT(n, SVC(f), -1, -1, 4611686018427387904L)

const struct config_key config_keys[] = {
	KEY_STR("pidfile", TOP(pidfile), PIDFILE_DEFAULT, 0, check_path),
	KEY_STR("user", TOP(user), NULL, 0, NULL),
	KEY_STR("group", TOP(group), NULL, 0, NULL),
	/* Unset means stderr with -f, syslog when detached (log_where). */
	KEY_STR("log", TOP(log), NULL, 0, check_path),
	/* Unset means access lines go with the others, to log. */
	KEY_STR("access_log", TOP(access_log), NULL, 0, check_path),
	KEY_CHOICE("log_level", TOP(log_level), "info", log_levels,
	    CONFIG_STORE_CHOICE),
	KEY_INT("shutdown_timeout", TOP(shutdown_timeout), 30, 0, 86400),
	/* As many as one service may have workers. */
	KEY_INT("max_slots", TOP(max_slots), 1024, 1, 65536),
	/* The workers' sandbox (sandbox.c); a service may have its own. */
	KEY_CHOICE("sandbox", TOP(sandbox), "auto", sandbox_modes,
	    CONFIG_STORE_CHOICE),

	{ .name = "listen",
	    .type = CONFIG_KEY_LIST,
	    SVC(addrs),
	    .store = CONFIG_STORE_LISTEN },
	KEY_CIDRS("allow", SVC(allow), nallow, NULL),
	KEY_CIDRS("deny", SVC(deny), ndeny, NULL),
	KEY_CHOICE(
	    "protocol", SVC(protocol), NULL, protocols, CONFIG_STORE_PROTOCOL),
	KEY_INT("workers", SVC(workers), 4, 1, 1024),
	KEY_INT("min_spare", SVC(min_spare), 0, 0, 65536),
	KEY_INT("max_spare", SVC(max_spare), 0, 0, 65536),
	/* 0: as many as workers (config.c fills that in). */
	KEY_INT("max_workers", SVC(max_workers), 0, 0, 65536),
	KEY_INT("backlog", SVC(backlog), 511, 1, 65535),
	KEY_INT("buffer_size", SVC(buffer_size), 65536, 1, 1048576),
	KEY_STR("banner", SVC(banner), NULL, 4096, NULL),
	KEY_STR("prefix", SVC(prefix), "You sent me: ", 1024, NULL),
	KEY_STR("time_format", SVC(time_format), "[%a %b %e %H:%M:%S %Y] ", 0,
	    check_time_format),
	KEY_CHOICE(
	    "framing", SVC(framing), "chunk", framings, CONFIG_STORE_CHOICE),
	KEY_INT("max_line", SVC(max_line), 4096, 1, 1048576),
	KEY_BOOL("log_data", SVC(log_data), false),
	KEY_INT("log_data_limit", SVC(log_data_limit), 4096, 0, 1048576),
	KEY_INT("idle_timeout", SVC(idle_timeout), 60, 0, 86400),
	KEY_BOOL("proxy_protocol", SVC(proxy_protocol), false),
	/* A proxy on the same host, the usual set-up, works as it is. */
	KEY_CIDRS("proxy_from", SVC(proxy_from), nproxy_from,
	    "{\"127.0.0.0/8\", \"::1\"}"),
	KEY_INT("proxy_timeout", SVC(proxy_timeout), 5, 1, 3600),
	KEY_INT("max_per_source", SVC(max_per_source), 0, 0, 65536),
	KEY_INT("source_prefix6", SVC(source_prefix6), 64, 0, 128),
	KEY_INT("worker_timeout", SVC(worker_timeout), 0, 0, 86400),
	KEY_INT("send_timeout", SVC(send_timeout), 60, 0, 86400),
	KEY_INT("max_session", SVC(max_session), 3600, 0, 604800),
	KEY_INT("min_rate", SVC(min_rate), 0, 0, 1073741824),
	KEY_INT("min_rate_window", SVC(min_rate_window), 60, 1, 3600),
	KEY_INT("max_requests", SVC(max_requests), 0, 0, 1000000000),
	KEY_BOOL("status_clients", SVC(status_clients), false),
	KEY_INT("udp_rate", SVC(udp_rate), 200, 0, 1000000000),
	KEY_BOOL("udp_privileged_sources", SVC(udp_privileged_sources), false),
	/* RFC 864 answers 0 to 512 bytes. */
	KEY_INT("chargen_udp_max", SVC(chargen_udp_max), 512, 0, 512),
	KEY_INT("log_data_rate", SVC(log_data_rate), 65536, 0, 1073741824),
	KEY_INT("refusal_log_rate", SVC(refusal_log_rate), 10, 0, 1000000),
	/* A unix: listener's file; unset: the master's user and group, and
	 * the mode systemd's SocketMode= defaults to. */
	KEY_STR("socket_user", SVC(socket_user), NULL, 0, NULL),
	KEY_STR("socket_group", SVC(socket_group), NULL, 0, NULL),
	KEY_CHOICE("socket_mode", SVC(socket_mode), "0666", socket_modes,
	    CONFIG_STORE_CHOICE),
	/* One send into a fresh socket's buffer: a few lines at most. */
	KEY_STR("refusal_message", SVC(refusal_message), NULL, 512, NULL),
	/* Kept in the file, not run (xinetd's disable = yes). */
	KEY_BOOL("disable", SVC(disable), false),
	KEY_INT("udp_workers", SVC(udp_workers), 1, 0, 1024),
	/* protocol = "exec" (config.c checks them together). */
	KEY_STRINGS("command", SVC(command), ncommand),
	KEY_STR("user", SVC(user), NULL, 0, NULL),
	KEY_STR("group", SVC(group), NULL, 0, NULL),
	KEY_STRINGS("env", SVC(env), nenv),
	KEY_STRINGS("pass_env", SVC(pass_env), npass_env),
	KEY_STR(
	    "working_directory", SVC(working_directory), NULL, 0, check_path),
	KEY_LIMIT("limit_as", limit_as),
	KEY_LIMIT("limit_cpu", limit_cpu),
	/* Not preforkd's raised one: select() breaks past 1024. */
	KEY_INT("limit_nofile", SVC(limit_nofile), 1024, -1, 1048576),
	KEY_LIMIT("limit_nproc", limit_nproc),
	KEY_LIMIT("limit_core", limit_core),
	KEY_LIMIT("limit_fsize", limit_fsize),
	KEY_INT("kill_timeout", SVC(kill_timeout), 2, 0, 3600),
	/* accept = false (issue 18): each worker is the program, started
	 * with the listening sockets (config.c checks them together). */
	KEY_BOOL("accept", SVC(accept), true),
	KEY_CHOICE("stdin", SVC(stdin_socket), "null", stdin_choices,
	    CONFIG_STORE_CHOICE),
	KEY_CHOICE("quit_signal", SVC(quit_signal), "TERM", quit_signals,
	    CONFIG_STORE_CHOICE),
	/* A rolling reload's new programs beside the old (master_pool.c). */
	KEY_INT("max_surge", SVC(max_surge), 1, 1, 1024),
	/* auto: where the protocol waits for the client (listener.c). */
	KEY_CHOICE("defer_accept", SVC(defer_accept), "auto", defer_accepts,
	    CONFIG_STORE_CHOICE),
	/* Unset: the global sandbox's (config_keys_inherit). */
	KEY_CHOICE(
	    "sandbox", SVC(sandbox), NULL, sandbox_modes, CONFIG_STORE_CHOICE),
	/* accept = false: ready at execve, or at READY=1 (config.c checks
	 * it with accept; master_notify.c hears it). */
	KEY_CHOICE(
	    "ready", SVC(ready), "started", ready_modes, CONFIG_STORE_CHOICE),
	KEY_INT("ready_timeout", SVC(ready_timeout), 30, 1, 3600),
};

const size_t config_nkeys = sizeof(config_keys) / sizeof(config_keys[0]);

/* ------------------------------------------------------------- choices */

static int
protocol_parse(const char *name)
{
	const struct proto_info *p = proto_info_find(name);

	return p != NULL ? (int)(p - proto_info) : -1;
}

static const char *
protocol_expected(void)
{
	static char text[300];

	snprintf(text, sizeof(text), "one of: %s", proto_info_names());
	return text;
}

/* The index of name in a table of n names, or -1. */
static int
index_of(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; name != NULL && i < n; i++)
		if (names[i] != NULL && strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

#define INDEX_OF(names, name)                                                  \
	index_of((names), sizeof(names) / sizeof((names)[0]), (name))

static const char *const framing_names[] = {
	[FRAMING_CHUNK] = "chunk",
	[FRAMING_LINE] = "line",
};

static int
framing_parse(const char *name)
{
	return INDEX_OF(framing_names, name);
}

static const char *
framing_expected(void)
{
	return "chunk or line";
}

static const char *
log_level_expected(void)
{
	return "error, warning, notice, info or debug";
}

/* "0660": octal, as chmod and systemd write it, at most 0777. */
static int
socket_mode_parse(const char *text)
{
	long mode = 0;
	size_t n = strlen(text);

	if (n == 0 || n > 4)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (text[i] < '0' || text[i] > '7')
			return -1;
		mode = mode * 8 + (text[i] - '0');
	}
	return mode <= 0777 ? (int)mode : -1;
}

static const char *
socket_mode_expected(void)
{
	return "an octal mode from 0000 to 0777, such as \"0660\"";
}

/* stdin: a program's fd 0, /dev/null or its one listening socket
 * (systemd's StandardInput=socket, inetd's wait daemons). */
static int
stdin_parse(const char *text)
{
	return strcmp(text, "null") == 0     ? 0
	       : strcmp(text, "socket") == 0 ? 1
	                                     : -1;
}

static const char *
stdin_expected(void)
{
	return "null or socket";
}

/* quit_signal: what a program is asked to finish with; the signal's
 * number is what is stored. */
static const struct {
	const char *name;
	int signo;
} quit_signal_names[] = { { "TERM", SIGTERM }, { "QUIT", SIGQUIT },
	{ "INT", SIGINT }, { "HUP", SIGHUP }, { "USR1", SIGUSR1 },
	{ "USR2", SIGUSR2 }, { "WINCH", SIGWINCH } };

static int
quit_signal_parse(const char *text)
{
	for (size_t i = 0;
	     i < sizeof(quit_signal_names) / sizeof(quit_signal_names[0]); i++)
		if (strcmp(text, quit_signal_names[i].name) == 0)
			return quit_signal_names[i].signo;
	return -1;
}

static const char *const defer_accept_names[] = {
	[DEFER_ACCEPT_NO] = "no",
	[DEFER_ACCEPT_YES] = "yes",
	[DEFER_ACCEPT_AUTO] = "auto",
};

static int
defer_accept_parse(const char *name)
{
	return INDEX_OF(defer_accept_names, name);
}

static const char *const sandbox_names[] = {
	[SANDBOX_AUTO] = "auto",
	[SANDBOX_ON] = "on",
	[SANDBOX_LOG] = "log",
	[SANDBOX_OFF] = "off",
};

static int
sandbox_parse(const char *name)
{
	return INDEX_OF(sandbox_names, name);
}

static const char *
quit_signal_expected(void)
{
	return "TERM, QUIT, INT, HUP, USR1, USR2 or WINCH";
}

static const char *const ready_names[] = {
	[READY_STARTED] = "started",
	[READY_NOTIFY] = "notify",
};

static int
ready_parse(const char *name)
{
	return INDEX_OF(ready_names, name);
}

static const char *
ready_expected(void)
{
	return "started or notify";
}

static const struct config_choice ready_modes = { ready_parse, ready_expected };
static const struct config_choice stdin_choices = { stdin_parse,
	stdin_expected };
static const struct config_choice quit_signals = { quit_signal_parse,
	quit_signal_expected };

static const char *
defer_accept_expected(void)
{
	return "auto, yes or no";
}

static const struct config_choice defer_accepts = { defer_accept_parse,
	defer_accept_expected };

static const char *
sandbox_expected(void)
{
	return "auto, on, log or off";
}

static const struct config_choice protocols = { protocol_parse,
	protocol_expected };
static const struct config_choice framings = { framing_parse,
	framing_expected };
static const struct config_choice log_levels = { log_level_parse,
	log_level_expected };
static const struct config_choice socket_modes = { socket_mode_parse,
	socket_mode_expected };
static const struct config_choice sandbox_modes = { sandbox_parse,
	sandbox_expected };

/* -------------------------------------------------------------- checks */

/*
 * Every check reports an error with cfg_error and returns 0, never -1:
 * libconfuse stops parsing at the first -1, and the next error in the file
 * would go unseen.  The count of errors fails the load instead.  Errors
 * libconfuse finds itself (a value of the wrong type, a duplicate
 * service) still stop it.
 */

static const char *
last_string(cfg_opt_t *opt)
{
	return cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);
}

static int
check_path(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *path = last_string(opt);
	const char *name = cfg_opt_name(opt);
	bool is_log = strcmp(name, "log") == 0;

	if (is_log &&
	    (strcmp(path, "stderr") == 0 || strcmp(path, "syslog") == 0))
		return 0;
	if (path[0] != '/')
		cfg_error(cfg, "%s \"%s\" must be an absolute path%s", name,
		    path, is_log ? ", \"stderr\" or \"syslog\"" : "");
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

/* An item of a list of addresses (listen) or of CIDR blocks. */
static void
check_address(cfg_t *cfg, const struct config_key *k, const char *spec)
{
	char err[128];
	struct addr addr;
	struct cidr block;
	int rc = k->store == CONFIG_STORE_LISTEN
	             ? addr_parse(spec, &addr, err, sizeof(err))
	             : addr_cidr_parse(spec, &block, err, sizeof(err));

	if (rc == -1)
		cfg_error(cfg, "%s \"%s\": %s", k->name, spec, err);
}

/* The row of opt, read in cfg (the top level or a service). */
static const struct config_key *
key_of(cfg_t *cfg, cfg_opt_t *opt)
{
	enum config_key_scope scope = strcmp(cfg_name(cfg), CONFIG_SECTION) == 0
	                                  ? CONFIG_KEY_SERVICE
	                                  : CONFIG_KEY_GLOBAL;

	for (size_t i = 0; i < config_nkeys; i++)
		if (config_keys[i].scope == scope &&
		    strcmp(config_keys[i].name, cfg_opt_name(opt)) == 0)
			return &config_keys[i];
	return NULL;
}

/* The list value checked last, which libconfuse checks twice. */
static struct {
	const cfg_opt_t *opt;
	unsigned size;
	char *spec;
} last_item;

/*
 * libconfuse checks the last value of a list again at its '}': true for
 * that second call, so that an error is reported once.  Only an equal
 * value is skipped, so a list given anew with a different last value is
 * still checked.
 */
static bool
checked_just_now(cfg_opt_t *opt)
{
	const char *spec = last_string(opt);
	unsigned size = cfg_opt_size(opt);
	bool again = opt == last_item.opt && size == last_item.size &&
	             last_item.spec != NULL &&
	             strcmp(spec, last_item.spec) == 0;

	free(last_item.spec);
	/* Out of memory, the next call only checks the value again. */
	last_item.spec = again ? NULL : strdup(spec);
	last_item.opt = opt;
	last_item.size = size;
	return again;
}

void
config_keys_forget(void)
{
	free(last_item.spec);
	memset(&last_item, 0, sizeof(last_item));
}

/* The one check libconfuse calls for every key, by the key's row. */
static int
check_value(cfg_t *cfg, cfg_opt_t *opt)
{
	const struct config_key *k = key_of(cfg, opt);
	long n;

	if (k == NULL) {
		log_bug("config: no row for key %s", cfg_opt_name(opt));
		return 0;
	}
	if (k->type == CONFIG_KEY_LIST && checked_just_now(opt))
		return 0;
	switch (k->type) {
	case CONFIG_KEY_INT:
		n = cfg_opt_getnint(opt, cfg_opt_size(opt) - 1);
		if (n < k->min || n > k->max)
			cfg_error(cfg, "%s = %ld is out of range (%ld to %ld)",
			    k->name, n, k->min, k->max);
		break;
	case CONFIG_KEY_STR:
		if (k->max > 0 && strlen(last_string(opt)) > (size_t)k->max)
			cfg_error(cfg, "%s is longer than %ld bytes", k->name,
			    k->max);
		if (k->choice != NULL &&
		    k->choice->parse(last_string(opt)) == -1)
			cfg_error(cfg, "unknown %s \"%s\" (expected %s)",
			    k->name, last_string(opt), k->choice->expected());
		break;
	case CONFIG_KEY_LIST:
		if (k->store != CONFIG_STORE_STRINGS)
			check_address(cfg, k, last_string(opt));
		break;
	case CONFIG_KEY_BOOL:
		break;
	}
	return k->check != NULL ? k->check(cfg, opt) : 0;
}

/*
 * A key with a row in both places (sandbox): a service that does not set
 * it gets the global value, written into its section, so that conversion
 * and -T see the value it runs with.  After the whole file is read: the
 * global may come after the service.
 */
void
config_keys_inherit(cfg_t *cfg)
{
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		const char *value;
		if (k->scope != CONFIG_KEY_SERVICE ||
		    k->type != CONFIG_KEY_STR ||
		    !(config_keys_place(k->name, strlen(k->name)) &
		        CONFIG_SCAN_TOP) ||
		    (value = cfg_getstr(cfg, k->name)) == NULL)
			continue;
		for (unsigned j = 0; j < cfg_size(cfg, CONFIG_SECTION); j++) {
			cfg_t *sec = cfg_getnsec(cfg, CONFIG_SECTION, j);
			if (cfg_size(sec, k->name) == 0)
				cfg_setstr(sec, k->name, value);
		}
	}
}

/* -------------------------------------------------------------- schema */

static void
fill_option(cfg_opt_t *opt, const struct config_key *k)
{
	memset(opt, 0, sizeof(*opt));
	opt->name = k->name;
	opt->validcb = check_value;
	switch (k->type) {
	case CONFIG_KEY_INT:
		opt->type = CFGT_INT;
		opt->def.number = k->def;
		break;
	case CONFIG_KEY_BOOL:
		opt->type = CFGT_BOOL;
		opt->def.boolean = k->def != 0 ? cfg_true : cfg_false;
		break;
	case CONFIG_KEY_STR:
		opt->type = CFGT_STR;
		opt->def.string = k->def_str;
		if (k->def_str == NULL)
			opt->flags |= CFGF_NODEFAULT;
		break;
	case CONFIG_KEY_LIST:
		opt->type = CFGT_STR;
		opt->flags |= CFGF_LIST;
		opt->def.parsed = k->def_list;
		if (k->def_list == NULL)
			opt->flags |= CFGF_NODEFAULT;
		break;
	}
}

cfg_opt_t *
config_keys_schema(cfg_validate_callback_t check_service)
{
	/* cfg_init copies them: built once, read by every parse. */
	static cfg_opt_t top[sizeof(config_keys) / sizeof(config_keys[0]) + 2];
	static cfg_opt_t service[sizeof(top) / sizeof(top[0])];
	size_t ntop = 0, nservice = 0;

	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		if (k->scope == CONFIG_KEY_GLOBAL)
			fill_option(&top[ntop++], k);
		else
			fill_option(&service[nservice++], k);
	}
	memset(&service[nservice], 0, sizeof(service[0]));
	memset(&top[ntop], 0, 2 * sizeof(top[0]));
	top[ntop].name = CONFIG_SECTION;
	top[ntop].type = CFGT_SEC;
	top[ntop].flags = CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES;
	top[ntop].subopts = service;
	top[ntop].validcb = check_service;
	return top;
}

unsigned
config_keys_place(const char *key, size_t len)
{
	unsigned place = 0;

	if (strlen(CONFIG_SECTION) == len &&
	    memcmp(CONFIG_SECTION, key, len) == 0)
		place |= CONFIG_SCAN_TOP | CONFIG_SCAN_SECTION;
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		if (strlen(k->name) != len || memcmp(k->name, key, len) != 0)
			continue;
		place |= k->scope == CONFIG_KEY_GLOBAL ? CONFIG_SCAN_TOP
		                                       : CONFIG_SCAN_INSIDE;
	}
	return place;
}

/* The most edits a slip of len bytes may be away from its key. */
static size_t
slip_bound(size_t len)
{
	return len <= 4 ? 1 : len <= 8 ? 2 : 3;
}

const char *
config_keys_closest(const char *key, size_t len, unsigned place)
{
	const char *best = NULL;
	size_t best_d = slip_bound(len) + 1;
	size_t d;

	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		unsigned at = k->scope == CONFIG_KEY_GLOBAL
		                  ? CONFIG_SCAN_TOP
		                  : CONFIG_SCAN_INSIDE;
		if (!(at & place))
			continue;
		d = config_scan_distance(key, len, k->name, strlen(k->name));
		/* Not a word of its own: "log" is no slip of "lo". */
		if (d < best_d && d < len && d < strlen(k->name)) {
			best = k->name;
			best_d = d;
		}
	}
	d = config_scan_distance(
	    key, len, CONFIG_SECTION, strlen(CONFIG_SECTION));
	if ((place & CONFIG_SCAN_TOP) && d < best_d && d < len)
		best = CONFIG_SECTION;
	return best;
}

/* ---------------------------------------------------------- conversion */

/*
 * GCC's analyzer cannot tell that the rows' fields do not overlap, so it
 * takes each store through base + offset as one that may overwrite the
 * pointer the last one stored, and calls that a leak; config_keys_free
 * releases every one of them.
 */
#if !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif

/* A number into a field of size bytes: the checks kept it in range. */
static void
store_number(void *field, size_t size, long value)
{
	if (size == sizeof(bool)) {
		bool b = value != 0;
		memcpy(field, &b, size);
	} else if (size == sizeof(int)) {
		int i = (int)value;
		memcpy(field, &i, size);
	} else if (size == sizeof(long)) {
		memcpy(field, &value, size);
	} else {
		log_bug("config: a field of %zu bytes", size);
	}
}

/* strdup that tolerates NULL; -1 when out of memory. */
static int
store_string(char **field, const char *s)
{
	*field = s != NULL ? strdup(s) : NULL;
	return s != NULL && *field == NULL ? -1 : 0;
}

/* The CIDR blocks of list key of sec, already checked; -1 on no memory. */
static int
store_blocks(cfg_t *sec, const char *key, struct cidr **out, size_t *n)
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

/* The strings of list key of sec as a NULL-terminated array, its length
 * in *n; NULL when the list is empty.  -1 when out of memory. */
static int
store_strings(cfg_t *sec, const char *key, char ***out, size_t *n)
{
	*n = cfg_size(sec, key);
	*out = NULL;
	if (*n == 0)
		return 0;
	if ((*out = calloc(*n + 1, sizeof(**out))) == NULL)
		return -1;
	for (size_t i = 0; i < *n; i++)
		if (store_string(
		        &(*out)[i], cfg_getnstr(sec, key, (unsigned)i)) == -1)
			return -1;
	return 0;
}

/* Release what store_strings made of *list. */
static void
free_strings(char ***list)
{
	for (size_t i = 0; *list != NULL && (*list)[i] != NULL; i++)
		free((*list)[i]);
	free(*list);
	*list = NULL;
}

/* The listen addresses of sec, and as written for messages. */
static int
store_listen(cfg_t *sec, const char *key, struct service *svc)
{
	char err[128];

	svc->naddrs = cfg_size(sec, key);
	svc->addrs = calloc(svc->naddrs, sizeof(*svc->addrs));
	svc->listen = calloc(svc->naddrs, sizeof(*svc->listen));
	if (svc->addrs == NULL || svc->listen == NULL)
		return -1;
	for (size_t i = 0; i < svc->naddrs; i++) {
		const char *spec = cfg_getnstr(sec, key, (unsigned)i);
		if (store_string(&svc->listen[i], spec) == -1)
			return -1;
		if (addr_parse(spec, &svc->addrs[i], err, sizeof(err)) == -1)
			log_bug("address \"%s\" passed validation", spec);
	}
	return 0;
}

static int
convert_key(cfg_t *sec, const struct config_key *k, char *base)
{
	void *field = base + k->offset;
	const char *s;

	switch (k->store) {
	case CONFIG_STORE_NUMBER:
		store_number(field, k->size,
		    k->type == CONFIG_KEY_BOOL
		        ? cfg_getbool(sec, k->name) == cfg_true
		        : cfg_getint(sec, k->name));
		return 0;
	case CONFIG_STORE_STRING:
		return store_string(field, cfg_getstr(sec, k->name));
	case CONFIG_STORE_CHOICE:
		s = cfg_getstr(sec, k->name);
		store_number(field, k->size, k->choice->parse(s));
		return 0;
	case CONFIG_STORE_PROTOCOL:
		s = cfg_getstr(sec, k->name);
		*(const struct proto_info **)field = proto_info_find(s);
		return 0;
	case CONFIG_STORE_CIDRS:
		return store_blocks(
		    sec, k->name, field, (size_t *)(void *)(base + k->count));
	case CONFIG_STORE_LISTEN:
		return store_listen(sec, k->name, (struct service *)base);
	case CONFIG_STORE_STRINGS:
		return store_strings(
		    sec, k->name, field, (size_t *)(void *)(base + k->count));
	}
	return 0;
}

int
config_keys_convert(cfg_t *sec, enum config_key_scope scope, void *base)
{
	for (size_t i = 0; i < config_nkeys; i++)
		if (config_keys[i].scope == scope &&
		    convert_key(sec, &config_keys[i], base) == -1)
			return -1;
	return 0;
}
#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif

void
config_keys_free(enum config_key_scope scope, void *base)
{
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct config_key *k = &config_keys[i];
		struct service *svc = base;
		void *p;

		if (k->scope != scope)
			continue;
		if (k->store == CONFIG_STORE_STRING ||
		    k->store == CONFIG_STORE_CIDRS) {
			memcpy(&p, (char *)base + k->offset, sizeof(p));
			free(p);
		}
		if (k->store == CONFIG_STORE_STRINGS)
			free_strings(
			    (char ***)(void *)((char *)base + k->offset));
		if (k->store != CONFIG_STORE_LISTEN)
			continue;
		for (size_t j = 0; svc->listen != NULL && j < svc->naddrs; j++)
			free(svc->listen[j]);
		free(svc->listen);
		free(svc->addrs);
		svc->listen = NULL;
		svc->addrs = NULL;
		svc->naddrs = 0;
	}
}
