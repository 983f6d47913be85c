/* The configuration as plain C data, independent of the parser. */
#ifndef PREFORKD_CONFIG_H
#define PREFORKD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "addr.h"

struct proto_info;

/* How prefix and timestamp cut what they receive into answers. */
enum framing {
	FRAMING_CHUNK, /* each recv(): one answer, as the tutorial servers */
	FRAMING_LINE,  /* each line: one answer, whatever the reads */
};

enum defer_accept {
	DEFER_ACCEPT_NO,
	DEFER_ACCEPT_YES,
	DEFER_ACCEPT_AUTO,
};

/* ready: once execve() succeeded, or once the program sent READY=1 on
 * its NOTIFY_SOCKET (master_notify.c), as systemd's Type=notify. */
enum ready_mode {
	READY_STARTED,
	READY_NOTIFY,
};

struct service {
	char *name;
	/* Its name and flags; proto_of(svc) has its code. */
	const struct proto_info *protocol;
	struct addr *addrs;
	char **listen; /* the addresses as written, for messages */
	size_t naddrs;
	struct cidr *allow, *deny; /* who may connect; deny wins */
	size_t nallow, ndeny;
	int workers;     /* at start, and the least */
	int min_spare;   /* 0: no growth for spare workers */
	int max_spare;   /* 0: no retiring of spare workers */
	int max_workers; /* workers when the file says 0 */
	int backlog;
	size_t buffer_size;
	char *banner; /* NULL when there is none */
	char *prefix;
	char *time_format;
	enum framing framing;
	size_t max_line;
	bool log_data;
	size_t log_data_limit;   /* bytes logged per connection or datagram */
	int idle_timeout;        /* seconds; 0 = never */
	bool proxy_protocol;     /* a PROXY header starts every connection */
	struct cidr *proxy_from; /* the peers that may send one */
	size_t nproxy_from;
	int proxy_timeout;   /* seconds the header may take */
	int max_per_source;  /* connections from one source at once; 0 = any */
	int source_prefix6;  /* bits of an IPv6 address that make a source */
	int worker_timeout;  /* seconds without progress; 0 = never killed */
	int send_timeout;    /* seconds; 0 = never */
	int max_session;     /* seconds a connection may last; 0 = for ever */
	long min_rate;       /* bytes a second, both ways; 0 = off */
	int min_rate_window; /* seconds min_rate is averaged over */
	int max_requests;    /* connections a worker serves; 0 = no limit */
	bool status_clients; /* the status protocol names each client */
	/* Bounds a sender cannot push past (issue 15), each per worker: */
	int udp_rate; /* answers a second to one source; 0: any */
	bool udp_privileged_sources; /* answer source ports below 1024 */
	int chargen_udp_max;  /* bytes of chargen's UDP answer, at most */
	long log_data_rate;   /* bytes of log_data lines a second; 0: any */
	int refusal_log_rate; /* refused clients logged a second; 0: all */
	/* A unix: listener's file (issue 16): its owner and group (NULL:
	 * the master's), and its mode. */
	char *socket_user;
	char *socket_group;
	int socket_mode;
	/* Sent to a client refused by allow/deny or max_per_source; NULL:
	 * nothing (allow/deny), a built-in line (max_per_source). */
	char *refusal_message;
	/* disable = true: checked, shown by -T, not run.  config_load drops
	 * such a service, so a loaded one never has it set. */
	bool disable;
	/* Datagram-only workers beside the stream ones, for a service that
	 * listens on both (pool_dgram_workers); 0: streams serve them too. */
	int udp_workers;
	/* protocol = "exec": the program run for each connection, and how
	 * (issue 17).  user and group serve any service's workers. */
	char **command; /* argv, NULL-terminated; NULL when not set */
	size_t ncommand;
	char *user, *group; /* NULL: the global ones */
	char **env;         /* "NAME=value", NULL-terminated, or NULL */
	size_t nenv;
	char **pass_env; /* names copied from preforkd's environment */
	size_t npass_env;
	char *working_directory; /* NULL: "/" */
	/* The program's resource limits (setrlimit, soft and hard); -1: as
	 * preforkd's own. */
	long limit_as, limit_cpu, limit_nofile, limit_nproc, limit_core,
	    limit_fsize;
	int kill_timeout; /* seconds from SIGTERM to SIGKILL of its group */
	int line;         /* of the service's closing brace, for -t */
	/* accept = false (issue 18): a pool of programs that accept by
	 * themselves on the listening sockets; stdin_socket puts the one
	 * listener on their fd 0 too; quit_signal retires one. */
	bool accept;
	int stdin_socket;
	int quit_signal;
	/* defer_accept (issue 21): the accept waits for the client's first
	 * bytes (TCP_DEFER_ACCEPT); auto: where the client speaks first. */
	enum defer_accept defer_accept;
	/* enum sandbox_mode (sandbox.h): the global one unless the service
	 * has its own (issue 20). */
	int sandbox;
	/* accept = false: when a program is ready (enum ready_mode), and
	 * how long it may take to say so with ready = "notify" (seconds). */
	int ready;
	int ready_timeout;
	/* accept = false: programs a rolling reload may start beyond
	 * workers before it retires as many old ones (issue 18). */
	int max_surge;
};

struct config {
	char *path;
	char *pidfile;
	char *user; /* NULL: nobody when started as root */
	char *group;
	char *log;
	char *access_log; /* NULL: access lines go to log */
	int log_level;
	int shutdown_timeout;
	unsigned max_slots; /* scoreboard size, fixed at start */
	struct service *services;
	size_t nservices;
	int sandbox; /* enum sandbox_mode: the services' default */
};

/* Parse and validate path.  Returns a new config, or NULL after logging
 * every error found as "FILE:LINE: message" (or "FILE: message"), with
 * errno ENOMEM when the machine ran out of memory and EINVAL when the file
 * is missing or invalid. */
struct config *config_load(const char *path);
/* Print the configuration in path in its own syntax, every default filled
 * in, to out; output that config_load reads back to the same values.  -1
 * after logging, as config_load. */
int config_print(const char *path, FILE *out);
/* As config_print, with pidfile (-p) printed for the file's own. */
int config_print_pidfile(const char *path, const char *pidfile, FILE *out);
/* Release a config from config_load; NULL is fine. */
void config_free(struct config *conf);
/* How many scoreboard slots the services may fill at most: each
 * service's largest pool, added up. */
unsigned config_slots_needed(const struct config *conf);
/* The datagram-only workers service s has beside its pool
 * (pool_dgram_workers of its udp_workers and addresses). */
unsigned config_dgram_workers(const struct service *s);
/* How many listen addresses the services have, all together. */
size_t config_addresses(const struct config *conf);
/* The service named name, or NULL. */
const struct service *config_service(
    const struct config *conf, const char *name);

#endif
