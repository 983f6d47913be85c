#!/usr/bin/env python3
"""slowclient.py MODE [options] HOST PORT: a client that is slow in one way,
for the per-connection limits.  It prints how the server ended the
connection, as the client saw it:

  eof    recv() returned 0: the server closed with a FIN
  reset  ECONNRESET (or EPIPE): the server reset the connection

then, after a space, the seconds since it connected ("eof 2.01").

Modes:
  silent          send nothing; read until the server ends it
  trickle         send one byte every --every seconds (default 0.2),
                  reading what comes back, until the server ends it
  lines           send "ping\\n" every --every seconds, reading the
                  answers, until the server ends it
  no-read         set a small receive buffer, read nothing until the file
                  --until exists (or for --hold seconds, default 3), then
                  read until the end, or "open" after 64 MiB

Exit status 0 when the server ended it, 3 when --timeout (default 20 s)
passed first ("timeout") or it was still open.
"""
import argparse
import errno
import os
import select
import socket
import sys
import time


def outcome(sock, started, deadline, send=None, every=None):
    """Read (and send every `every` seconds) until the server ends it."""
    next_send = started
    while True:
        now = time.monotonic()
        if now >= deadline:
            return "timeout"
        if send is not None and now >= next_send:
            try:
                sock.sendall(send)
            except OSError as e:
                if e.errno in (errno.ECONNRESET, errno.EPIPE):
                    return drain(sock, deadline)
                raise
            next_send = now + every
        wait = min(deadline, next_send if send is not None else deadline)
        ready, _, _ = select.select([sock], [], [], max(0, wait - now))
        if not ready:
            continue
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return "reset"
        if not data:
            return "eof"


def drain(sock, deadline):
    """Read to the end: how does the server end it?"""
    sock.settimeout(max(0.1, deadline - time.monotonic()))
    got = 0
    try:
        while got < 64 << 20:
            data = sock.recv(65536)
            if not data:
                return "eof"
            got += len(data)
        return "open"
    except ConnectionResetError:
        return "reset"
    except socket.timeout:
        return "timeout"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["silent", "trickle", "lines", "no-read"])
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--every", type=float, default=0.2)
    p.add_argument("--hold", type=float, default=3.0)
    p.add_argument("--until")
    p.add_argument("--timeout", type=float, default=20.0)
    args = p.parse_args()

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    if args.mode == "no-read":
        # Small, so the server's sends stall soon.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(args.timeout)
    sock.connect((args.host, args.port))
    sock.settimeout(None)
    started = time.monotonic()
    deadline = started + args.timeout
    if args.mode == "silent":
        result = outcome(sock, started, deadline)
    elif args.mode == "trickle":
        result = outcome(sock, started, deadline, b"x", args.every)
    elif args.mode == "lines":
        result = outcome(sock, started, deadline, b"ping\n", args.every)
    else:
        hold_until = started + (args.timeout if args.until else args.hold)
        while time.monotonic() < hold_until and not (
                args.until and os.path.exists(args.until)):
            time.sleep(0.05)
        result = drain(sock, deadline)
    print("%s %.2f" % (result, time.monotonic() - started))
    sock.close()
    return 3 if result in ("timeout", "open") else 0


if __name__ == "__main__":
    sys.exit(main())
