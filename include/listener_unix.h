/*
 * A Unix domain listening socket's file, for listener.c: clear the path of
 * a stale socket, bind with the mode and owner the service asks for,
 * remove the file at close.  (For -t, listener.h's listener_unix_check.)
 */
#ifndef PREFORKD_LISTENER_UNIX_H
#define PREFORKD_LISTENER_UNIX_H

#include "listener.h"

/* The owner, group and mode svc asks of its Unix sockets' files into
 * opts; 0, or -1 after logging a user or group that does not exist. */
int listener_unix_ids(const struct service *svc, struct listen_opts *opts);
/* Make the path of a free for bind(): nothing there, or a stale socket
 * (removed, with a notice).  0, or -1 after logging what is in the way. */
int listener_unix_clear(const struct addr *a);
/* bind() fd to a with opts' mode from the start, then give the file its
 * owner, and note it in *dev and *ino.  0, or -1 with errno set. */
int listener_unix_bind(int fd, const struct addr *a,
    const struct listen_opts *opts, dev_t *dev, ino_t *ino);
/* Give the file of l (a Unix listener this process bound) the owner and
 * mode of l->opts, when it is still the file bound; a warning if not. */
void listener_unix_own(const struct listener *l);
/* Remove the file of l when this process bound it (not a passed socket)
 * and it is still the one bound, not a newer instance's. */
void listener_unix_remove(const struct listener *l);
/* 1 when a client waits in the queue of the listening Unix socket fd. */
unsigned listener_unix_queued(int fd);

#endif
