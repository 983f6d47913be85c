/*
 * The configuration file.  libconfuse parses it; every value is checked as it
 * is read, so an error carries the FILE:LINE where it was found, and the
 * result is copied into plain structs (struct config) that a forked worker
 * can use without the parser.  confuse.h is included here and nowhere else.
 */
#include <confuse.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "config.h"
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
	{ "max_slots", 1, 65536 },
	{ "min_spare", 0, 65536 },
	{ "max_spare", 0, 65536 },
	{ "max_workers", 0, 65536 },
};

static cfg_opt_t service_opts[] = {
	CFG_STR_LIST("listen", NULL, CFGF_NODEFAULT),
	CFG_STR("protocol", NULL, CFGF_NODEFAULT),
	CFG_INT("workers", 4, CFGF_NONE),
	CFG_INT("min_spare", 0, CFGF_NONE),
	CFG_INT("max_spare", 0, CFGF_NONE),
	CFG_INT("max_workers", 0, CFGF_NONE),
	CFG_INT("backlog", 128, CFGF_NONE),
	CFG_INT("buffer_size", 65536, CFGF_NONE),
	CFG_STR("banner", NULL, CFGF_NODEFAULT),
	CFG_STR("prefix", "You sent me: ", CFGF_NONE),
	CFG_STR("time_format", "[%a %b %e %H:%M:%S %Y] ", CFGF_NONE),
	CFG_STR("framing", "chunk", CFGF_NONE),
	CFG_INT("max_line", 4096, CFGF_NONE),
	CFG_BOOL("log_data", cfg_false, CFGF_NONE),
	CFG_INT("idle_timeout", 300, CFGF_NONE),
	CFG_END(),
};

static cfg_opt_t config_opts[] = {
	CFG_STR("pidfile", PIDFILE_DEFAULT, CFGF_NONE),
	CFG_STR("user", NULL, CFGF_NODEFAULT),
	CFG_STR("group", NULL, CFGF_NODEFAULT),
	CFG_STR("log", "syslog", CFGF_NONE),
	CFG_STR("log_level", "info", CFGF_NONE),
	CFG_INT("shutdown_timeout", 30, CFGF_NONE),
	CFG_INT("max_slots", SCOREBOARD_SLOTS_DEFAULT, CFGF_NONE),
	CFG_SEC("service", service_opts,
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_END(),
};

#define FILE_MAX_BYTES (1024 * 1024)

/* Errors found while loading; the parser's callbacks cannot return more. */
static int error_count;
/* The file being loaded: the parser sees only its text. */
static const char *loading_path;

/* "FILE:LINE: message" for every error libconfuse or a check reports. */
static void
report_error(cfg_t *cfg, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	error_count++;
	if (cfg != NULL && cfg->line > 0)
		log_errorx("%s:%d: %s", loading_path, cfg->line, msg);
	else
		log_errorx("%s: %s", loading_path, msg);
}

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
			return -1;
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
		return -1;
	}
	return 0;
}

static int
check_listen(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *spec = last_string(opt);
	char err[128];
	struct addr addr;

	if (addr_parse(spec, &addr, err, sizeof(err)) == -1) {
		cfg_error(cfg, "listen \"%s\": %s", spec, err);
		return -1;
	}
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
		return -1;
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
		return -1;
	}
	return 0;
}

static int
check_length(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *name = cfg_opt_name(opt);
	size_t max =
	    strcmp(name, "banner") == 0 ? BANNER_MAX_LEN : PREFIX_MAX_LEN;

	if (strlen(last_string(opt)) > max) {
		cfg_error(cfg, "%s is longer than %zu bytes", name, max);
		return -1;
	}
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
	if (*fmt != '\0' && strftime(text, sizeof(text), fmt, &tm) == 0) {
		cfg_error(cfg, "time_format expands to more than %d bytes",
		    TIME_TEXT_MAX - 1);
		return -1;
	}
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

/* The first of the first count addresses of sec that clashes with addr. */
static const char *
find_clash(cfg_t *sec, unsigned count, const struct addr *addr)
{
	char err[128];
	struct addr other;

	for (unsigned i = 0; i < count; i++) {
		const char *spec = cfg_getnstr(sec, "listen", i);
		if (addr_parse(spec, &other, err, sizeof(err)) == 0 &&
		    addr_conflict(addr, &other))
			return spec;
	}
	return NULL;
}

/* No address of sec, the newest service, may clash with one before it. */
static int
check_service_addresses(cfg_t *cfg, cfg_opt_t *opt, cfg_t *sec)
{
	unsigned nservices = cfg_opt_size(opt);
	char err[128];
	struct addr addr;

	for (unsigned i = 0; i < cfg_size(sec, "listen"); i++) {
		const char *spec = cfg_getnstr(sec, "listen", i);
		if (addr_parse(spec, &addr, err, sizeof(err)) == -1)
			continue; /* already reported */
		for (unsigned j = 0; j < nservices; j++) {
			cfg_t *other = cfg_opt_getnsec(opt, j);
			/* Within sec itself, only the addresses before i. */
			unsigned count =
			    other == sec ? i : cfg_size(other, "listen");
			const char *clash = find_clash(other, count, &addr);
			if (clash != NULL) {
				cfg_error(cfg,
				    "service %s: listen \"%s\" "
				    "clashes with \"%s\" of service %s",
				    cfg_title(sec), spec, clash,
				    cfg_title(other));
				return -1;
			}
		}
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

/* Called when a service section closes: checks that need all its keys. */
static int
check_service(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
	const char *name = cfg_title(sec);

	if (!valid_service_name(name)) {
		cfg_error(cfg,
		    "service name \"%s\" must be 1 to %d letters, "
		    "digits, '_', '.' or '-'",
		    name, NAME_MAX_LEN);
		return -1;
	}
	if (cfg_size(sec, "listen") == 0) {
		cfg_error(cfg, "service %s: no listen address", name);
		return -1;
	}
	if (cfg_getstr(sec, "protocol") == NULL) {
		cfg_error(cfg, "service %s: no protocol (expected one of: %s)",
		    name, proto_names());
		return -1;
	}
	if (check_udp_protocol(cfg, sec) == -1 || check_pool(cfg, sec) == -1)
		return -1;
	return check_service_addresses(cfg, opt, sec);
}

static cfg_t *
parser_new(void)
{
	static const char *const ranged[] = { "shutdown_timeout",
		"service|workers", "service|backlog", "service|buffer_size",
		"service|max_line", "service|idle_timeout", "max_slots",
		"service|min_spare", "service|max_spare",
		"service|max_workers" };
	cfg_t *cfg = cfg_init(config_opts, CFGF_NONE);

	if (cfg == NULL)
		return NULL;
	cfg_set_error_function(cfg, report_error);
	for (size_t i = 0; i < sizeof(ranged) / sizeof(ranged[0]); i++)
		cfg_set_validate_func(cfg, ranged[i], check_int_range);
	cfg_set_validate_func(cfg, "pidfile", check_path);
	cfg_set_validate_func(cfg, "log", check_path);
	cfg_set_validate_func(cfg, "log_level", check_log_level);
	cfg_set_validate_func(cfg, "service", check_service);
	cfg_set_validate_func(cfg, "service|protocol", check_protocol);
	cfg_set_validate_func(cfg, "service|listen", check_listen);
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
	svc->idle_timeout = (int)cfg_getint(sec, "idle_timeout");
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
static int
check_slots(cfg_t *cfg, const char *path)
{
	long needed = 0, slots = cfg_getint(cfg, "max_slots");

	for (unsigned i = 0; i < cfg_size(cfg, "service"); i++)
		needed += largest_pool(cfg_getnsec(cfg, "service", i));
	if (needed > slots) {
		log_errorx("%s: the services need %ld workers, more than "
		           "max_slots = %ld",
		    path, needed, slots);
		return -1;
	}
	return 0;
}

/* Checks that need the whole file. */
static int
check_whole(cfg_t *cfg, const char *path)
{
	if (cfg_size(cfg, "service") == 0) {
		log_errorx("%s: no service defined", path);
		return -1;
	}
	if (cfg_getstr(cfg, "group") != NULL &&
	    cfg_getstr(cfg, "user") == NULL) {
		log_errorx("%s: group is set but user is not", path);
		return -1;
	}
	return check_slots(cfg, path);
}

/*
 * Blank out comments (#, // and C-style), keeping every newline and every
 * quoted string.  libconfuse 3.3 miscounts lines after a comment (each one
 * adds two) and rejects a comment inside a list, so the parser is only ever
 * given text without comments.
 */
void
config_strip_comments(char *text)
{
	enum { CODE, QUOTED, LINE_COMMENT, BLOCK_COMMENT } state = CODE;
	char quote = '"';

	for (char *p = text; *p != '\0'; p++) {
		switch (state) {
		case CODE:
			if (*p == '"' || *p == '\'') {
				quote = *p;
				state = QUOTED;
			} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
				state = LINE_COMMENT;
				*p = ' ';
			} else if (p[0] == '/' && p[1] == '*') {
				state = BLOCK_COMMENT;
				*p++ = ' ';
				*p = ' ';
			}
			break;
		case QUOTED:
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == quote)
				state = CODE;
			break;
		case LINE_COMMENT:
			if (*p == '\n')
				state = CODE;
			else
				*p = ' ';
			break;
		case BLOCK_COMMENT:
			if (p[0] == '*' && p[1] == '/') {
				*p++ = ' ';
				*p = ' ';
				state = CODE;
			} else if (*p != '\n') {
				*p = ' ';
			}
			break;
		}
	}
}

/* The whole file as a string, or NULL after logging why. */
static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len;

	if (f == NULL) {
		log_errorx("%s: cannot read: %s", path, strerror(errno));
		return NULL;
	}
	if ((text = malloc(FILE_MAX_BYTES + 1)) == NULL) {
		log_errorx("%s: out of memory", path);
	} else if ((len = fread(text, 1, FILE_MAX_BYTES + 1, f)), ferror(f)) {
		log_errorx("%s: cannot read: %s", path, strerror(errno));
		free(text);
		text = NULL;
	} else if (len > FILE_MAX_BYTES || memchr(text, '\0', len) != NULL) {
		log_errorx("%s: not a config file (over %d bytes, or binary)",
		    path, FILE_MAX_BYTES);
		free(text);
		text = NULL;
	} else {
		text[len] = '\0';
	}
	fclose(f);
	return text;
}

/* Parse path into a libconfuse tree: NULL after logging every error found
 * as "FILE:LINE: message". */
static cfg_t *
parse_file(const char *path)
{
	char *text;
	cfg_t *cfg;

	if ((text = read_file(path)) == NULL)
		return NULL;
	if ((cfg = parser_new()) == NULL) {
		log_errorx("%s: out of memory", path);
		free(text);
		return NULL;
	}
	config_strip_comments(text);
	error_count = 0;
	loading_path = path;
	if (cfg_parse_buf(cfg, text) != CFG_SUCCESS || error_count != 0 ||
	    check_whole(cfg, path) != 0) {
		cfg_free(cfg);
		cfg = NULL;
	}
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

/* A string as the parser reads it back: quoted, with every byte that is
 * special to it escaped (libconfuse expands "${NAME}", so '$' is too). */
static void
print_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\' || c == '$')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void
print_value(FILE *out, cfg_opt_t *opt, unsigned i)
{
	switch (opt->type) {
	case CFGT_INT:
		fprintf(out, "%ld", cfg_opt_getnint(opt, i));
		break;
	case CFGT_BOOL:
		fputs(cfg_opt_getnbool(opt, i) ? "true" : "false", out);
		break;
	case CFGT_STR:
		print_string(out, cfg_opt_getnstr(opt, i));
		break;
	default:
		log_bug("config_print: option %s has an unprinted type",
		    opt->name);
	}
}

static void print_options(FILE *out, cfg_t *cfg, int depth);

static void
indent(FILE *out, int depth)
{
	for (int i = 0; i < depth; i++)
		fputc('\t', out);
}

/* One option: "name = value", "name = {a, b}", a section, or a comment
 * for an optional one that is not set. */
static void
print_option(FILE *out, cfg_opt_t *opt, int depth)
{
	unsigned n = cfg_opt_size(opt);

	if (opt->type == CFGT_SEC) {
		for (unsigned i = 0; i < n; i++) {
			cfg_t *sec = cfg_opt_getnsec(opt, i);
			fputc('\n', out);
			indent(out, depth);
			fprintf(out, "%s %s {\n", opt->name, cfg_title(sec));
			print_options(out, sec, depth + 1);
			indent(out, depth);
			fputs("}\n", out);
		}
		return;
	}
	indent(out, depth);
	if (n == 0) {
		fprintf(out, "# %s is not set\n", opt->name);
		return;
	}
	fprintf(out, "%s = ", opt->name);
	if (opt->flags & CFGF_LIST)
		fputs("{", out);
	for (unsigned i = 0; i < n; i++) {
		if (i > 0)
			fputs(", ", out);
		print_value(out, opt, i);
	}
	fputs(opt->flags & CFGF_LIST ? "}\n" : "\n", out);
}

static void
print_options(FILE *out, cfg_t *cfg, int depth)
{
	for (cfg_opt_t *opt = cfg->opts; opt->name != NULL; opt++)
		print_option(out, opt, depth);
}

int
config_print(const char *path, FILE *out)
{
	cfg_t *cfg;

	if ((cfg = parse_file(path)) == NULL)
		return -1;
	fputs("# preforkd -T: the configuration as it runs, every default "
	      "filled in\n",
	    out);
	print_options(out, cfg, 0);
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

unsigned
config_slots_needed(const struct config *conf)
{
	unsigned n = 0;

	for (size_t i = 0; i < conf->nservices; i++)
		n += (unsigned)conf->services[i].max_workers;
	return n;
}
