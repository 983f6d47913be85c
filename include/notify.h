/* Talking to the service manager: sd_notify datagrams on $NOTIFY_SOCKET. */
#ifndef PREFORKD_NOTIFY_H
#define PREFORKD_NOTIFY_H

enum notify_state {
	NOTIFY_READY,     /* serving: start-up or a reload is over */
	NOTIFY_RELOADING, /* a reload began */
	NOTIFY_STOPPING,  /* a stop began */
};

/* Read $NOTIFY_SOCKET (a path, or @name for an abstract socket) and take
 * it out of the environment, so no worker inherits it.  Without it, or
 * when it names no Unix socket (logged), notify_send does nothing. */
void notify_init(void);
/* Tell the service manager the state, with a one-line status (NULL: none).
 * Never fails: a failed send is logged once and otherwise ignored. */
void notify_send(enum notify_state state, const char *status);

#endif
