/* Talking to the service manager: sd_notify datagrams on $NOTIFY_SOCKET,
 * and the sockets it passes in LISTEN_FDS. */
#ifndef PREFORKD_NOTIFY_H
#define PREFORKD_NOTIFY_H

enum notify_state {
	NOTIFY_READY,     /* serving: start-up or a reload is over */
	NOTIFY_RELOADING, /* a reload began */
	NOTIFY_STOPPING,  /* a stop began */
	NOTIFY_STATUS,    /* no change of state: only what STATUS= says */
};

/* Read $NOTIFY_SOCKET (a path, or @name for an abstract socket) and take
 * it out of the environment, so no worker inherits it.  Without it, or
 * when it names no Unix socket (logged), notify_send does nothing. */
void notify_init(void);
/* Tell the service manager the state, with a one-line status (NULL: none).
 * Never fails: a failed send is logged once and otherwise ignored. */
void notify_send(enum notify_state state, const char *status);

/* The first descriptor a service manager passes (SD_LISTEN_FDS_START). */
#define NOTIFY_FDS_START 3
/*
 * How many sockets the service manager passed to this very process, as
 * descriptors NOTIFY_FDS_START on, each then made close-on-exec; 0 when
 * none, or when LISTEN_PID names another process, or LISTEN_FDS is not a
 * count of open descriptors (logged).  LISTEN_PID, LISTEN_FDS and
 * LISTEN_FDNAMES are taken out of the environment either way; the names
 * are only logged.  Call it before closing inherited descriptors.
 */
int notify_listen_fds(void);

#endif
