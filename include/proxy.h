/*
 * The PROXY protocol header (HAProxy's doc/proxy-protocol.txt), version 1
 * (a text line) and version 2 (binary), that a trusted proxy sends before
 * the client's bytes to say who the client really is.  A pure parser: it
 * never reads a socket, so the caller feeds it what it has received so far.
 */
#ifndef PREFORKD_PROXY_H
#define PREFORKD_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* The longest v1 line, CRLF included (the spec's worst case). */
#define PROXY_V1_MAX 107
/* The fixed part of a v2 header: signature, ver_cmd, fam, length. */
#define PROXY_V2_HEAD 16
/* The longest v2 header: its 16-bit length allows TLVs up to 64 KiB. */
#define PROXY_V2_MAX (PROXY_V2_HEAD + 65535)

enum proxy_result {
	PROXY_OK,   /* a complete, valid header */
	PROXY_MORE, /* a valid prefix so far: read more bytes and call again */
	PROXY_BAD,  /* malformed: close the connection */
};

struct proxy_header {
	size_t len; /* bytes the header took: the client's data starts after */
	/*
	 * Keep the connection's own addresses: a v1 UNKNOWN line, a v2 LOCAL
	 * command, or a v2 PROXY command whose family or transport is UNSPEC
	 * or whose family is AF_UNIX (a path is no client address to log or
	 * match).  src and dst are then zeroed (AF_UNSPEC).
	 */
	bool local;
	struct sockaddr_storage src; /* the real client */
	struct sockaddr_storage dst; /* the address it connected to */
	int version;                 /* 1 or 2 */
};

/*
 * Parse the header at the start of buf[0..len).  PROXY_OK fills *h;
 * PROXY_MORE when the bytes so far are a valid start of a header;
 * PROXY_BAD with the reason in err (NUL-terminated when errsize > 0).
 */
enum proxy_result proxy_parse(const void *buf, size_t len,
    struct proxy_header *h, char *err, size_t errsize);
/*
 * The most bytes the header that starts with buf[0..len) can take: what a
 * reader may ask for without reading past it into the client's data.
 * PROXY_V1_MAX until a v2 header's length field is in, then that header's
 * exact length; never less than len.
 */
size_t proxy_header_bound(const void *buf, size_t len);

#endif
