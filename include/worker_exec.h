/* protocol = "exec": run the service's program for one connection. */
#ifndef PREFORKD_WORKER_EXEC_H
#define PREFORKD_WORKER_EXEC_H

#include <stdbool.h>

struct config;
struct service;
struct worker_ids;
struct worker_stream;
struct worker_stream_conn;

/* Does svc run a program for each connection? */
bool worker_exec_is(const struct service *svc);
/* In a new worker of svc, before privileges are dropped: take on the
 * user its workers run as (the service's own, else the global one, with
 * its supplementary groups for a program), become a subreaper for what
 * the programs fork, and set up the environment's fixed part.  0, or -1
 * after logging. */
int worker_exec_init(const struct config *conf, const struct service *svc,
    const struct worker_ids *ids);
/* Serve the admitted client in sc with the service's program, watch it
 * to its end, log its access line and close the client.  0, or -1 when
 * the program could not be started (logged): the worker should exit
 * WORKER_EXIT_SICK, so the master throttles its replacements. */
int worker_exec_serve(
    const struct worker_stream *ws, struct worker_stream_conn *sc);

#endif
