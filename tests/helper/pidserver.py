#!/usr/bin/python3
"""A program for accept = false: takes its listening socket as fd 3, as
sd_listen_fds() would, and answers each client with who it is:
"pid=PID listen_pid=LISTEN_PID index=PREFORKD_WORKER_INDEX fds=LISTEN_FDS"."""
import os
import socket
import sys

if os.environ.get("LISTEN_FDS") is None:
    sys.exit("pidserver: no LISTEN_FDS")
print("pidserver %d up, names %s" % (os.getpid(), os.environ.get("LISTEN_FDNAMES")),
      flush=True)
sock = socket.socket(fileno=3)
answer = ("pid=%d listen_pid=%s index=%s fds=%s\n" % (
    os.getpid(), os.environ.get("LISTEN_PID"),
    os.environ.get("PREFORKD_WORKER_INDEX"),
    os.environ.get("LISTEN_FDS"))).encode()
while True:
    conn, _ = sock.accept()
    conn.sendall(answer)
    conn.close()
