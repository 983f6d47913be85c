/* One client connection: the only code that calls recv() and send(). */
#ifndef PREFORKD_CONN_H
#define PREFORKD_CONN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "addr.h"

/* How a connection ended, for the access log: I/O outcomes only (why a
 * client was not admitted is worker_admit.h's). */
enum conn_end {
	END_CLOSED,        /* the client closed its side */
	END_RESET,         /* the connection was reset or broke */
	END_TIMEOUT,       /* idle_timeout passed without a byte */
	END_OVERLONG,      /* a line longer than max_line */
	END_SHUTDOWN,      /* the worker was told to stop at once */
	END_ERROR,         /* a local failure */
	END_SEND_TIMEOUT,  /* send_timeout passed with nothing taken */
	END_TOO_SLOW,      /* fewer than min_rate bytes a second in a window */
	END_SESSION_LIMIT, /* the connection lived max_session */
};

/*
 * A service's limits on each connection, in ms (0: off), from its config.
 * idle_ms and send_ms must be the socket's own timeouts, which accepted
 * sockets inherit from the listener.
 */
struct conn_limits {
	long long idle_ms;    /* idle_timeout: no byte from the client */
	long long send_ms;    /* send_timeout: no byte taken by the client */
	long long session_ms; /* max_session: the whole connection */
	unsigned long long min_rate; /* bytes a second, both ways; 0: off */
	long long window_ms;         /* min_rate_window */
};

/* What conn_line_find saw in a buffer. */
enum line_scan {
	LINE_FOUND,    /* a whole line, newline included */
	LINE_MORE,     /* no newline yet, still within max_line */
	LINE_TOO_LONG, /* more than max_line bytes before any newline */
};

/* What conn_read_line returns. */
enum line_read {
	LINE_OK,       /* *line, *len hold the next line */
	LINE_EOF,      /* the client closed and nothing is left */
	LINE_OVERLONG, /* a line longer than max_line */
	LINE_FAILED,   /* see conn->end */
};

/*
 * The buffers a worker allocates once and lends to each connection in turn:
 * nothing is allocated per client.  line is NULL for protocols that do not
 * read lines.
 */
struct conn_buffers {
	char *chunk; /* buffer_size bytes, for conn_recv */
	size_t chunk_size;
	char *line; /* max_line + 1 bytes, for conn_read_line */
	size_t line_cap;
};

struct conn {
	int fd;                 /* blocking; its timeouts are socket options */
	char peer[ADDR_STRLEN]; /* "host:port", for log lines */
	char id[24];            /* "2840-7": the connection's id on them */
	/* Set by the worker's signal handler, which also shuts the socket
	 * down to wake a blocked call: when set, give up with END_SHUTDOWN. */
	const volatile sig_atomic_t *stop;
	enum conn_end end;  /* why the last call failed */
	bool ended_sending; /* ... with the client not taking our bytes */
	bool eof;           /* a recv() saw the client close its side */
	bool lingered;      /* conn_linger ran: our side is shut down */
	unsigned long long bytes_in;
	unsigned long long bytes_out;
	/* Called after every recv() or send() that moved bytes (NULL:
	 * nothing), so the worker can show the counts as they grow. */
	void (*on_moved)(const struct conn *conn);

	/* NULL: only the socket's own timeouts, as inherited. */
	const struct conn_limits *limits;
	long long session_end, window_end;  /* ms; LIMIT_NEVER when off */
	unsigned long long window_start;    /* bytes moved when it began */
	long long rcv_timeout, snd_timeout; /* ms, the socket's now; 0: none */
	/* Bytes the client had acknowledged when we last looked. */
	unsigned long long acked;

	char *chunk;
	size_t chunk_size;
	char *line;
	size_t line_cap;
	size_t line_start, line_end; /* unread bytes in line[] */
};

/* Allocate a worker's buffers (max_line 0: no line buffer); -1 with errno
 * set when out of memory. */
int conn_buffers_init(
    struct conn_buffers *bufs, size_t buffer_size, size_t max_line);
/* Release what conn_buffers_init took. */
void conn_buffers_free(struct conn_buffers *bufs);
/* Set up conn for an accepted, blocking socket, with the worker's buffers
 * and its stop flag.  The socket's receive and send timeouts (SO_RCVTIMEO,
 * SO_SNDTIMEO) are inherited from the listening socket. */
void conn_open(struct conn *conn, int fd, const struct conn_buffers *bufs,
    const volatile sig_atomic_t *stop);
/* Enforce limits on conn from now (ms, monotonic) on, in every call that
 * waits for the client; limits->idle_ms and send_ms must be the timeouts
 * the socket inherited.  Without it, only those timeouts apply. */
void conn_limit(
    struct conn *conn, const struct conn_limits *limits, long long now);
/* Close the socket. */
void conn_close(struct conn *conn);
/* Before closing on a client that may still be sending: stop our side,
 * then read and drop its input for a short while, so the kernel does not
 * answer unread data with a reset that destroys our last reply. */
void conn_linger(struct conn *conn);
/* Before closing on a client that is refused at once: stop our side,
 * then read and drop, without waiting, what it has already sent (unread
 * input would turn the close into a reset that destroys our reply). */
void conn_drop_pending(struct conn *conn);
/* Abort the connection with a reset instead of an orderly close. */
void conn_reset(struct conn *conn);
/* Before closing a connection that ended as end: reset it when the
 * worker was told to stop or the client would not take what was being
 * sent (the kernel would otherwise keep those bytes for it); else end it
 * with a FIN, lingering (conn_linger) when the client may still be
 * sending -- a limit, an overlong line, or an answer given before the
 * client closed -- and only dropping what is there after idle_timeout. */
void conn_finish(struct conn *conn, enum conn_end end);
/* A word for how a connection ended: "closed", "reset", ... */
const char *conn_end_name(enum conn_end end);

/* Receive up to chunk_size bytes into conn->chunk.  Returns the count,
 * 0 when the client closed, -1 on failure (conn->end says why). */
ssize_t conn_recv(struct conn *conn);
/* Copy up to len bytes the client has sent into buf, leaving them in the
 * socket; wait for the first until deadline (clock_ms()).  The count, 0
 * when the client closed, -1 on failure (conn->end says why: END_TIMEOUT
 * once the deadline passed). */
ssize_t conn_peek(struct conn *conn, void *buf, size_t len, long long deadline);
/* Take len bytes that conn_peek saw off the socket into buf, outside the
 * byte counts (a header, not the client's data): 0, or -1 as conn_recv. */
int conn_skip(struct conn *conn, void *buf, size_t len);
/* Send all len bytes or fail: 0, or -1 with conn->end set. */
int conn_send_all(struct conn *conn, const void *data, size_t len);
/* One send() that never waits, for a few bytes into a fresh socket's
 * buffer (a refused client's line): 0 when all len left, -1 with conn->end
 * set when the socket took fewer or none. */
int conn_send_now(struct conn *conn, const void *data, size_t len);
/* Send every byte of iov[0..iovcnt) as one write where the socket takes it
 * (a head and its body leave together, never as two small segments): 0, or
 * -1 with conn->end set.  iov is used up. */
int conn_send_iov(struct conn *conn, struct iovec *iov, int iovcnt);
/* Read the next line (newline included; the last one may lack it). */
enum line_read conn_read_line(
    struct conn *conn, const char **line, size_t *len);
/* Frame a line in buf: LINE_FOUND sets *linelen to include the newline. */
enum line_scan conn_line_find(
    const char *buf, size_t len, size_t max_line, size_t *linelen);

#endif
