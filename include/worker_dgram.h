/* Answer datagrams: a UDP service's worker. */
#ifndef PREFORKD_WORKER_DGRAM_H
#define PREFORKD_WORKER_DGRAM_H

struct dgram;
struct service;

#include <stddef.h>

/* Start counting datagrams for the summary line, and have each of the
 * service's n UDP listeners fds say where a datagram was sent to (at
 * set-up; a failure is logged). */
void worker_dgram_start(const struct service *svc, const int *fds, size_t n);
/* Answer the datagram d holds at data with the service's protocol, or
 * drop it silently: from a port that answers (a loop), or past udp_rate. */
void worker_dgram_answer(
    const struct service *svc, struct dgram *d, const char *data);
/* Count d as refused by allow/deny. */
void worker_dgram_refused(const struct service *svc, const struct dgram *d);
/* Log the summary of the datagrams not yet summed up (before exiting). */
void worker_dgram_summary(const struct service *svc);

#endif
