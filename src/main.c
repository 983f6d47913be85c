/*
 * preforkd: a pre-forked server daemon (TCP, UDP, PROXY-fronted TCP).  This
 * file reads the command line (-t and -T check, -s signals, -V) and puts
 * start-up in order: config, log, the workers' user, the limit on open
 * files, pidfile, listeners, detach, workers.  Everything that can fail
 * does so before the shell gets its prompt back, so a failed start shows
 * in the exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <syslog.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "control.h"
#include "daemon.h"
#include "exitcode.h"
#include "listener.h"
#include "log.h"
#include "master.h"
#include "master_upgrade.h"
#include "notify.h"
#include "sandbox.h"
#include "scoreboard.h"
#include "worker.h"

#ifndef PREFORKD_VERSION
#define PREFORKD_VERSION "unknown"
#endif
#ifndef CONFIG_DEFAULT
#define CONFIG_DEFAULT "/etc/preforkd/preforkd.conf"
#endif

struct options {
	const char *config;
	const char *pidfile;
	const char *signal;
	bool foreground;
	bool test;
	bool print;   /* -T: test, then print the configuration */
	bool manager; /* -a: the service manager holds the addresses */
	int wait_s;   /* -w; -1: the default of the -s command */
	bool wait_given;
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: preforkd [-f] [-t | -T] [-a] [-c file] [-p pidfile] "
	    "[-s %s|status] [-w seconds] [-V] [-h]\n",
	    master_signal_names());
}

/* -w's argument: whole seconds, 0 to a day; exits on anything else. */
static int
parse_seconds(const char *arg)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || n < 0 || n > 86400) {
		fprintf(stderr,
		    "preforkd: -w %s: expected seconds, 0 to 86400\n", arg);
		exit(EXIT_USAGE);
	}
	return (int)n;
}

/* A command line that asks for two things, or gives an option that the
 * command does not read, is refused rather than half obeyed. */
__attribute__((noreturn)) static void
usage_error(const char *message)
{
	fprintf(stderr, "preforkd: %s\n", message);
	usage(stderr);
	exit(EXIT_USAGE);
}

/* -t and -T together would be -T, printed or not by chance. */
static void
test_mode(struct options *opts, bool print)
{
	if (opts->test && opts->print != print)
		usage_error("-t and -T together: -T checks as -t does, then "
		            "prints the configuration; give one");
	opts->test = true;
	opts->print = print;
}

static void
check_combination(const struct options *opts)
{
	if (opts->signal != NULL && opts->test)
		usage_error(opts->print ? "-s and -T together: give one"
		                        : "-s and -t together: give one");
	if (opts->wait_given && opts->signal == NULL)
		usage_error("-w without -s: it is how long -s waits for "
		            "the outcome");
	if (opts->manager && !opts->test)
		usage_error("-a without -t or -T: it says how -t takes an "
		            "address in use");
}

static void
parse_options(int argc, char **argv, struct options *opts)
{
	int ch;

	opts->config = CONFIG_DEFAULT;
	opts->wait_s = -1;
	while ((ch = getopt(argc, argv, "ac:fhp:s:tTVw:")) != -1) {
		switch (ch) {
		case 'a':
			opts->manager = true;
			break;
		case 'c':
			opts->config = optarg;
			break;
		case 'f':
			opts->foreground = true;
			break;
		case 'p':
			opts->pidfile = optarg;
			break;
		case 's':
			opts->signal = optarg;
			break;
		case 't':
			test_mode(opts, false);
			break;
		case 'T':
			test_mode(opts, true);
			break;
		case 'w':
			opts->wait_s = parse_seconds(optarg);
			opts->wait_given = true;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_OK);
		case 'V':
			printf("preforkd %s\n", PREFORKD_VERSION);
			exit(EXIT_OK);
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "preforkd: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		exit(EXIT_USAGE);
	}
	check_combination(opts);
	if (opts->signal != NULL && strcmp(opts->signal, "status") != 0 &&
	    master_signal_by_name(opts->signal) == 0) {
		fprintf(stderr, "preforkd: -s %s: expected one of %s|status\n",
		    opts->signal, master_signal_names());
		exit(EXIT_USAGE);
	}
}

/* path made absolute against the current directory: the daemon chdirs to /
 * and must still find its files on reload.  Exits (EXIT_RESOURCE) when out
 * of memory. */
static char *
absolute(const char *path)
{
	char cwd[PATH_MAX];
	char *abs;

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		abs = strdup(path);
	else if (asprintf(&abs, "%s/%s", cwd, path) == -1)
		abs = NULL;
	if (abs == NULL)
		fatal(EXIT_RESOURCE, "absolute path of %s", path);
	return abs;
}

/* What a failed config_load exits with: out of memory is no bad file. */
static int
load_failed(void)
{
	return errno == ENOMEM ? EXIT_RESOURCE : EXIT_CONFIG;
}

/* -t: check the file; -T: then print it in full on stdout, the verdict
 * going to stderr so that the output is a config file itself.  With -p,
 * its pidfile is the one checked and printed. */
static int
check_config(const struct options *opts)
{
	char prefix[PATH_MAX + 3];
	const char *path = opts->config;
	char *pidfile = NULL;
	struct config *conf;
	uid_t uid;
	gid_t gid;
	int status = EXIT_OK, printed;

	log_plain("");
	if ((conf = config_load(path)) == NULL)
		return load_failed();
	if (opts->pidfile != NULL)
		pidfile = absolute(opts->pidfile);
	/* user and group come from the file: name it, as its errors do. */
	snprintf(prefix, sizeof(prefix), "%s: ", path);
	log_plain(prefix);
	if ((conf->user != NULL || getuid() == 0) &&
	    daemon_worker_user(conf->user, conf->group, &uid, &gid) == -1)
		status = EXIT_CONFIG;
	else if (check_environment(conf,
	             pidfile != NULL ? pidfile : conf->pidfile,
	             opts->manager) == -1 ||
	         sandbox_check(conf, false) == -1)
		status = EXIT_CONFIG;
	else if (opts->print) {
		printed = pidfile != NULL
		              ? config_print_pidfile(path, pidfile, stdout)
		              : config_print(path, stdout);
		if (printed == -1)
			status = EXIT_CONFIG;
	}
	if (status == EXIT_OK)
		fprintf(opts->print ? stderr : stdout, "%s: syntax ok\n", path);
	/* An upgrade's pre-flight asks, too, about what it would hand over. */
	if (status == EXIT_OK && upgrade_check_answer() == -1)
		status = EXIT_CONFIG;
	log_plain("");
	config_free(conf);
	free(pidfile);
	return status;
}

/* How long -s NAME waits for the outcome by default, in seconds. */
static int
default_wait(int signo)
{
	switch (signo) {
	case SIGTERM:
		return 10;
	case SIGQUIT:
		return 60;
	case SIGHUP:
	case SIGUSR2:
		return 30;
	default:
		return 0;
	}
}

static int
send_signal(const struct options *opts)
{
	static const int status_of[] = {
		[CONTROL_OK] = EXIT_OK,
		[CONTROL_NO_MASTER] = EXIT_SIGNAL,
		[CONTROL_TIMEOUT] = EXIT_TIMEOUT,
		[CONTROL_FAILED] = EXIT_REFUSED,
		[CONTROL_UNCONFIRMED] = EXIT_TIMEOUT,
		[CONTROL_BUSY] = EXIT_BUSY,
		[CONTROL_STALLED] = EXIT_STALLED,
	};
	int signo = master_signal_by_name(opts->signal);
	struct config *conf = NULL;
	const char *pidfile = opts->pidfile;
	enum control_result rc;

	log_plain("preforkd: ");
	if (pidfile == NULL) {
		if ((conf = config_load(opts->config)) == NULL)
			return load_failed();
		pidfile = conf->pidfile;
	}
	if (signo == 0)
		rc = control_status(pidfile);
	else
		rc = control_signal(pidfile, signo,
		    opts->wait_s >= 0 ? opts->wait_s : default_wait(signo));
	config_free(conf);
	return status_of[rc];
}

/* Who the workers run as: see daemon_worker_ids. */
static int
worker_ids(const struct config *conf, struct worker_ids *ids)
{
	return daemon_worker_ids(
	    conf->user, conf->group, &ids->change, &ids->uid, &ids->gid);
}

/*
 * No syslog daemon: lines go to stderr rather than nowhere, and the error
 * says so whatever log_level is.  A reload retries syslog.
 */
static void
fall_back_to_stderr(const struct config *conf, int err)
{
	log_errorx("log syslog: cannot reach %s (%s): logging to stderr "
	           "instead",
	    _PATH_LOG, strerror(err));
	log_open("stderr", (enum log_level)conf->log_level);
}

static int
open_log(const struct config *conf, bool foreground)
{
	const char *where = log_where(conf->log, foreground);

	if (log_open(where, (enum log_level)conf->log_level) == -1) {
		if (strcmp(where, "syslog") != 0) {
			log_errorx("log %s: %s", where, log_open_error(errno));
			return -1;
		}
		fall_back_to_stderr(conf, errno);
	}
	if (conf->access_log != NULL &&
	    log_access_open(conf->access_log) == -1) {
		log_errorx("access_log %s: %s", conf->access_log,
		    log_open_error(errno));
		return -1;
	}
	if (strcmp(log_target(), "stderr") == 0) {
		if (!foreground && daemon_stderr_is_file())
			log_notice("logging to stderr without -f: a file, "
			           "which stays open once detached");
		else if (!foreground)
			log_warnx("logging to stderr without -f: once "
			          "detached, nothing more is logged (stderr "
			          "is not a file)");
		return 0;
	}
	/* Until start-up is over (the terminal let go), a person is
	 * watching stderr. */
	log_tee_stderr(1);
	return 0;
}

/* The n sockets a service manager passed, descriptors NOTIFY_FDS_START
 * on, into set: through the one path inherited sockets take. */
static int
adopt_passed(struct listener_set *set, const struct config *conf, int n)
{
	struct listener_inherited *in = calloc((size_t)n + 1, sizeof(*in));
	int rc;

	if (in == NULL)
		fatal(EXIT_RESOURCE, "the %d passed sockets", n);
	for (int i = 0; i < n; i++)
		in[i] = (struct listener_inherited){ .fd = NOTIFY_FDS_START + i,
			.passed = true };
	rc = listener_adopt(set, conf, in, (size_t)n);
	free(in);
	return rc;
}

/*
 * An upgrade's image: what the old one held, taken over in place of
 * locking, binding, detaching and creating; the pid is the same, so the
 * pidfile is not touched.  The old workers serve on whatever this image
 * cannot do: only a hand-over it cannot take over makes it exit (-1,
 * after logging).  A log it cannot open is replaced, with a warning; a
 * user or a new address it cannot have keeps its workers from starting,
 * which the adoption reports (upgrade_trouble).
 */
static int
prepare_upgraded(const struct options *opts, const struct config *conf,
    struct worker_ids *ids, struct listener_set *listeners,
    struct upgrade_state *up)
{
	if (open_log(conf, opts->foreground) == -1)
		upgrade_log_fallback(up, conf, opts->foreground);
	if (daemon_files_limit(config_addresses(conf)) == -1)
		upgrade_trouble(up, false, "the limit on open files");
	if (upgrade_take_over(up, listeners, conf) == -1) {
		log_errorx(
		    "upgrade: the new image cannot take over what was "
		    "handed to it: exiting, and the old workers with it");
		return -1;
	}
	if (worker_ids(conf, ids) == -1)
		upgrade_trouble(up, true, "the workers' user");
	else if (listener_apply(listeners, conf) == -1)
		upgrade_trouble(up, true, "the listening sockets");
	sandbox_prepare(conf);
	return 0;
}

/* Everything that can fail before the master takes over, in order: log,
 * the workers' user, the limit on open files, pidfile, listeners, detach.
 * 0, or -1 after logging, with all undone. */
static int
prepare(const struct options *opts, const struct config *conf,
    struct worker_ids *ids, struct listener_set *listeners, int passed)
{
	char *pidfile =
	    absolute(opts->pidfile != NULL ? opts->pidfile : conf->pidfile);
	int rc = -1;

	if (open_log(conf, opts->foreground) == -1 ||
	    worker_ids(conf, ids) == -1 ||
	    daemon_files_limit(config_addresses(conf)) == -1)
		goto out;
	if (daemon_pidfile_lock(pidfile) == -1)
		goto out;
	if (sandbox_check(conf, true) == -1 ||
	    adopt_passed(listeners, conf, passed) == -1 ||
	    listener_apply(listeners, conf) == -1 ||
	    (!opts->foreground && daemon_detach() == -1) ||
	    daemon_pidfile_write(getpid()) == -1 ||
	    scoreboard_create(pidfile, conf->max_slots, getpid()) == -1) {
		scoreboard_remove();
		listener_close_all(listeners);
		daemon_pidfile_remove();
		goto out;
	}
	rc = 0;
out:
	free(pidfile);
	return rc;
}

/* Said once started, not on the terminal: the soft limit on open files,
 * which daemon_files_limit raised to the hard one. */
static void
report_files_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		log_info("open files: limit %llu%s",
		    (unsigned long long)rl.rlim_cur,
		    rl.rlim_cur == rl.rlim_max ? ", the hard limit" : "");
}

static int
start(const struct options *opts, const char *config_path)
{
	struct listener_set listeners = { NULL, 0 };
	struct upgrade_state *up;
	struct worker_ids ids;
	struct config *conf;
	int passed = 0, prepared;

	if (upgrade_inherited(&up) == -1)
		return EXIT_START;
	/*
	 * Whatever else the caller left open (a pipe, a socket) would be held
	 * by the master and every worker for as long as they run; only the
	 * sockets a service manager passed, right after stderr, are kept --
	 * or, after an upgrade's exec, what the old image handed over.
	 */
	if (up != NULL) {
		upgrade_close_others(up);
	} else {
		passed = notify_listen_fds();
		close_range(NOTIFY_FDS_START + (unsigned)passed, ~0U, 0);
	}
	if ((conf = config_load(config_path)) == NULL)
		return load_failed();
	master_signals_init();
	notify_init();
	prepared = up != NULL
	               ? prepare_upgraded(opts, conf, &ids, &listeners, up)
	               : prepare(opts, conf, &ids, &listeners, passed);
	if (prepared == -1) {
		config_free(conf);
		log_close();
		return EXIT_START;
	}
	/* In the foreground, stderr is the terminal only until start-up is
	 * over; detaching ends the copy otherwise. */
	if (opts->foreground)
		log_tee_stderr(0);
	if (up != NULL)
		log_notice("preforkd %s taking over from preforkd %s (pid %ld "
		           "stays): upgrade",
		    PREFORKD_VERSION, upgrade_old_version(up), (long)getpid());
	else
		log_notice("preforkd %s starting", PREFORKD_VERSION);
	report_files_limit();
	daemon_worker_ids_log(conf->user, ids.change, ids.uid, ids.gid);
	if (ids.change && ids.uid != 0)
		log_check_dirs(ids.uid, ids.gid);
	return master_run(conf, &listeners, &ids, opts->foreground, up);
}

/*
 * A descriptor 0, 1 or 2 left closed by the caller would be the first one
 * open() or socket() hands out: the log, the pidfile or a listener would
 * then be "stderr", and a stray write would land in it.  /dev/null first.
 */
static void
open_standard_fds(void)
{
	for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++)
		if (fcntl(fd, F_GETFD) == -1 &&
		    open("/dev/null",
		        fd == STDIN_FILENO ? O_RDONLY : O_WRONLY) != fd)
			exit(EXIT_START);
}

int
main(int argc, char **argv)
{
	struct options opts = { 0 };
	char *config_path;
	int status;

	open_standard_fds();
	log_init();
	/* Before getopt permutes argv and the title overwrites it. */
	upgrade_remember(argc, argv);
	parse_options(argc, argv, &opts);
	if (opts.signal != NULL)
		return send_signal(&opts);
	config_path = absolute(opts.config);
	if (opts.test)
		status = check_config(&opts);
	else {
		daemon_title_init(argc, argv);
		status = start(&opts, config_path);
	}
	free(config_path);
	return status;
}
