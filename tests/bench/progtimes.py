#!/usr/bin/env python3
"""Two timings for tests/bench/programs (issue 18), printed in ms:

  progtimes.py respawn PID PORT
      SIGKILL the program PID, wait until it is dead, then send an HTTP
      request to 127.0.0.1:PORT and time, from the kill, until its answer's
      status line: the time a replacement takes to accept (the listening
      socket stays open, so the request waits in its queue meanwhile).
  progtimes.py reload MASTER N
      SIGHUP the master MASTER, then time until it has N children and none
      of those it had before: the moment every program is new.

Exit 1 when the figure could not be had within 10 s."""

import os
import signal
import socket
import sys
import time

DEADLINE = 10.0


def dead(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] in "ZX"
    except (FileNotFoundError, ProcessLookupError):
        return True


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return {int(p) for p in f.read().split()}
    except FileNotFoundError:
        return set()


def respawn(pid, port):
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    while not dead(pid):
        if time.monotonic() - t0 > DEADLINE:
            return 1
        time.sleep(0.0002)
    s = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
    s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
    got = b""
    while b"\r\n" not in got:
        d = s.recv(4096)
        if not d:
            break
        got += d
    ms = (time.monotonic() - t0) * 1e3
    s.close()
    if not got.startswith(b"HTTP/1.") or b" 200 " not in got.split(b"\r\n")[0]:
        print(f"progtimes: answer {got[:60]!r}", file=sys.stderr)
        return 1
    print(f"{ms:.2f}")
    return 0


def reload(master, n):
    old = children(master)
    t0 = time.monotonic()
    os.kill(master, signal.SIGHUP)
    while True:
        now = children(master)
        if len(now) >= n and not (now & old):
            break
        if time.monotonic() - t0 > DEADLINE:
            return 1
        time.sleep(0.0005)
    print(f"{(time.monotonic() - t0) * 1e3:.2f}")
    return 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "respawn":
        return respawn(int(sys.argv[2]), int(sys.argv[3]))
    if len(sys.argv) == 4 and sys.argv[1] == "reload":
        return reload(int(sys.argv[2]), int(sys.argv[3]))
    print(__doc__, file=sys.stderr)
    return 2


sys.exit(main())
