#!/usr/bin/env python3
"""A stand-in for whatever reads a Unix datagram socket: the service
manager's NOTIFY_SOCKET, or a syslog daemon's /dev/log.

usage: dgram_sink.py SOCKET OUT

SOCKET is a path, or @NAME for an abstract socket name.  Once bound, it
writes "bound" as the first line of OUT; then, for every datagram, one
line: the sender's pid, the CLOCK_MONOTONIC time of arrival in
microseconds, and the datagram's newline-separated fields, all separated
by tabs.  It runs until it is killed.
"""
import os
import socket
import struct
import sys
import time


def address(name):
    return "\0" + name[1:] if name.startswith("@") else name


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    name, out_path = sys.argv[1], sys.argv[2]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    # With SO_PASSCRED the kernel says who sent each datagram.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    sock.bind(address(name))
    if not name.startswith("@"):
        os.chmod(name, 0o666)
    creds_size = socket.CMSG_SPACE(struct.calcsize("3i"))
    with open(out_path, "a", buffering=1) as out:
        out.write("bound\n")
        while True:
            data, ancdata, _, _ = sock.recvmsg(65536, creds_size)
            usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
            pid = 0
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and \
                        kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", payload[:12])[0]
            fields = data.decode("utf-8", "backslashreplace").split("\n")
            out.write("\t".join([str(pid), str(usec)] +
                                [f for f in fields if f]) + "\n")


if __name__ == "__main__":
    main()
