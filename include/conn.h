/* One client connection: the only code that calls recv() and send(). */
#ifndef PREFORKD_CONN_H
#define PREFORKD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "addr.h"
#include "proto.h"

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

struct conn {
	int fd;
	char peer[ADDR_STRLEN];  /* "host:port", for log lines */
	int timeout_ms;          /* -1: wait for ever */
	int signal_fd;           /* waited on too; -1: none */
	void (*on_signal)(void); /* called when signal_fd is readable */
	const bool *stop;        /* set by on_signal: give up now */
	enum conn_end end;       /* why the last call failed */
	unsigned long long bytes_in;
	unsigned long long bytes_out;
	unsigned full_reads; /* reads in a row that filled the buffer */

	char *chunk; /* buffer_size bytes for conn_recv */
	size_t chunk_size;
	char *line; /* max_line + 1 bytes for lines */
	size_t line_cap;
	size_t line_start, line_end; /* unread bytes in line[] */
};

/* Set up conn for an accepted socket; -1 with errno set on no memory. */
int conn_open(struct conn *conn, int fd, size_t buffer_size, size_t max_line,
    int idle_timeout);
/* Close the socket and free the buffers. */
void conn_close(struct conn *conn);
/* Before closing on a client that may still be sending: stop our side,
 * then read and drop its input for a short while, so the kernel does not
 * answer unread data with a reset that destroys our last reply. */
void conn_linger(struct conn *conn);
/* Abort the connection with a reset instead of an orderly close. */
void conn_reset(struct conn *conn);

/* Receive up to chunk_size bytes into conn->chunk.  Returns the count,
 * 0 when the client closed, -1 on failure (conn->end says why). */
ssize_t conn_recv(struct conn *conn);
/* Send all len bytes or fail: 0, or -1 with conn->end set. */
int conn_send_all(struct conn *conn, const void *data, size_t len);
/* Read the next line (newline included; the last one may lack it). */
enum line_read conn_read_line(
    struct conn *conn, const char **line, size_t *len);
/* Frame a line in buf: LINE_FOUND sets *linelen to include the newline. */
enum line_scan conn_line_find(
    const char *buf, size_t len, size_t max_line, size_t *linelen);

#endif
