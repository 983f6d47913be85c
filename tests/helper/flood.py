#!/usr/bin/env python3
"""Many short TCP connections, as fast as they go (issue 15, finding 9).

Usage: flood.py HOST PORT --count N [--bytes B] [--seconds S] [--binary]

Opens up to N connections one after another, each sending B bytes (default
0: connect and close), for at most S seconds (default 10).  A refused or
reset connection counts as made.  Prints "made N" at the end.
"""
import argparse
import os
import socket
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--bytes", type=int, default=0)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--binary", action="store_true")
    args = p.parse_args()
    data = os.urandom(args.bytes) if args.binary else b"x" * args.bytes
    end = time.monotonic() + args.seconds
    made = 0
    while made < args.count and time.monotonic() < end:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(2)
        try:
            s.connect((args.host, args.port))
            if data:
                s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            # Wait for the server's close, so connections do not pile up
            # in the backlog faster than the service takes them.
            while s.recv(65536):
                pass
        except OSError:
            pass
        finally:
            s.close()
        made += 1
    print("made", made)
    return 0


if __name__ == "__main__":
    sys.exit(main())
