#!/usr/bin/env python3
"""Hold idle TCP connections open (issue 15: findings 1, 5, 6).

Usage: hold.py HOST PORT [--from ADDR] [--count N] [--seconds S]

Opens COUNT connections (from ADDR when given: bind before connect), then
one more on every SIGUSR1; sends nothing, reads nothing, and closes every
one on SIGUSR2.  Prints "held N" each time the count changes (stdout is
flushed).  Exits after SECONDS (default 60), or on SIGTERM.
"""
import argparse
import signal
import socket
import sys
import time

held = []
want_open = 0
want_close = False


def connect(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if args.source:
        s.bind((args.source, 0))
    s.settimeout(5)
    s.connect((args.host, args.port))
    held.append(s)
    print("held", len(held), flush=True)


def main():
    global want_open, want_close
    p = argparse.ArgumentParser()
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--from", dest="source")
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--seconds", type=float, default=60)
    args = p.parse_args()

    def more(signo, frame):
        global want_open
        want_open += 1

    def close(signo, frame):
        global want_close
        want_close = True

    signal.signal(signal.SIGUSR1, more)
    signal.signal(signal.SIGUSR2, close)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
    for _ in range(args.count):
        connect(args)
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        if want_open:
            want_open -= 1
            connect(args)
        elif want_close:
            want_close = False
            for s in held:
                s.close()
            held.clear()
            print("held 0", flush=True)
        else:
            time.sleep(0.02)
    return 0


if __name__ == "__main__":
    sys.exit(main())
