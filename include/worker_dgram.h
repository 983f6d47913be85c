/* Answer datagrams: a UDP service's worker. */
#ifndef PREFORKD_WORKER_DGRAM_H
#define PREFORKD_WORKER_DGRAM_H

struct dgram;
struct service;

/* Start counting datagrams for the summary line (at set-up). */
void worker_dgram_start(void);
/* Answer the datagram d holds at data with the service's protocol. */
void worker_dgram_answer(
    const struct service *svc, struct dgram *d, const char *data);
/* Count d as refused by allow/deny. */
void worker_dgram_refused(const struct service *svc, const struct dgram *d);
/* Log the summary of the datagrams not yet summed up (before exiting). */
void worker_dgram_summary(const struct service *svc);

#endif
