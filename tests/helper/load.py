#!/usr/bin/env python3
"""load.py HOST PORT... [--clients N] [--stop FILE] [--seconds S] [--pause MS]

Echo clients that connect again and again until FILE exists (or S seconds
have passed; 60 at most): N threads, each connecting to the ports in turn,
sending one line and expecting the same line back within 5 s, then pausing
MS milliseconds (0 by default).  At the end one line on stdout:

  connections=C served=S refused=R reset=T timeout=O wrong=W

and, on stderr, the first few failures.  Exit status 0.
"""
import argparse
import os
import sys
import socket
import threading
import time

TIMEOUT = 5


def echo_once(host, port, line, timeout):
    """Send line on a new connection and return what comes back, up to
    as many bytes (fewer if the server closes first).  Raises OSError;
    reloads.py uses it too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect((host, port))
        sock.sendall(line)
        got = b""
        while len(got) < len(line):
            data = sock.recv(len(line) - len(got))
            if not data:
                break
            got += data
        return got


def one(host, port, n):
    """One connection: 'served', or what went wrong."""
    line = ("client %d\n" % n).encode()
    try:
        return "served" if echo_once(host, port, line, TIMEOUT) == line \
            else "wrong"
    except ConnectionRefusedError:
        return "refused"
    except (ConnectionResetError, BrokenPipeError):
        return "reset"
    except socket.timeout:
        return "timeout"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("ports", type=int, nargs="+")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--stop")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--pause", type=float, default=0)
    args = ap.parse_args()
    deadline = time.monotonic() + min(args.seconds, 60)
    counts = {k: 0 for k in ("served", "refused", "reset", "timeout", "wrong")}
    failures = []
    lock = threading.Lock()

    def run(me):
        n = 0
        while time.monotonic() < deadline and not (
                args.stop and os.path.exists(args.stop)):
            port = args.ports[n % len(args.ports)]
            what = one(args.host, port, me * 1000000 + n)
            with lock:
                counts[what] += 1
                if what != "served" and len(failures) < 5:
                    failures.append("%s:%d %s at %.3f" % (
                        args.host, port, what, time.time()))
            n += 1
            if args.pause:
                time.sleep(args.pause / 1000)

    threads = [threading.Thread(target=run, args=(i,))
               for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for f in failures:
        print(f, file=sys.stderr)
    print("connections=%d served=%d refused=%d reset=%d timeout=%d wrong=%d"
          % (sum(counts.values()), counts["served"], counts["refused"],
             counts["reset"], counts["timeout"], counts["wrong"]))


if __name__ == "__main__":
    main()
