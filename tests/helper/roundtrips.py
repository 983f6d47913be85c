#!/usr/bin/env python3
"""roundtrips.py HOST PORT COUNT [--pipelined]

Send COUNT lines "ping N" on one connection and read each answer (up to its
newline) before the next line leaves; with --pipelined, send all lines at
once and then read all answers.  Every answer must end with its own line.
Prints the elapsed milliseconds; exits 1 on a wrong or missing answer.
"""
import socket
import sys
import time


def read_line(sock, pending):
    while b"\n" not in pending:
        chunk = sock.recv(4096)
        if not chunk:
            raise EOFError("server closed after %r" % pending)
        pending += chunk
    line, _, rest = pending.partition(b"\n")
    return line + b"\n", rest


def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    pipelined = "--pipelined" in sys.argv[4:]
    lines = [b"ping %d\n" % i for i in range(count)]
    sock = socket.create_connection((host, port), timeout=10)
    start = time.monotonic()
    pending = b""
    if pipelined:
        sock.sendall(b"".join(lines))
    for line in lines:
        if not pipelined:
            sock.sendall(line)
        answer, pending = read_line(sock, pending)
        if not answer.endswith(line):
            print("wrong answer %r to %r" % (answer, line))
            return 1
    print("%d" % ((time.monotonic() - start) * 1000))
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
