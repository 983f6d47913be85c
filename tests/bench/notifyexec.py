#!/usr/bin/env python3
"""notifyexec.py PROGRAM [ARG...]: send READY=1 to $NOTIFY_SOCKET, then
exec PROGRAM in this same process, for tests/bench/programs: lighttpd
speaks no sd_notify, and a ready = "notify" pool takes READY=1 only from
its program's own pid, which the exec keeps (as it keeps LISTEN_PID and
the listening sockets from fd 3).  READY=1 comes a little before lighttpd
accepts: the socket is preforkd's, so a client meanwhile waits in its
queue.  Without NOTIFY_SOCKET it only execs."""

import os
import socket
import sys

addr = os.environ.get("NOTIFY_SOCKET", "")
if addr:
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(b"READY=1", addr)
    s.close()
os.execv(sys.argv[1], sys.argv[1:])
