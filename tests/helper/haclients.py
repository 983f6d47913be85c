#!/usr/bin/env python3
"""haclients.py HOST PORT SOURCES... [--each N] [--until FILE]: clients of
an echo service behind a proxy.  One thread per SOURCE address (e.g.
127.0.0.2) connects from it again and again, sends one line naming its own
address and port, half-closes, and checks that exactly that line comes
back.

Each exchange prints one line: "ok ADDR:PORT" or "lost ADDR:PORT REASON".
A thread stops after --each exchanges (default 20), or with --until, once
FILE exists (and after at least --each), so that a test can stop a server
while the clients keep coming.  Every exchange is bounded (5 s), and the
whole run (60 s).  Exit status: 0 when none was lost, 1 otherwise.
"""
import argparse
import os
import socket
import sys
import threading
import time

lock = threading.Lock()
lost = []


def say(line):
    with lock:
        print(line, flush=True)


def exchange(host, port, source):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(5)
    name = "%s:?" % source
    try:
        sock.bind((source, 0))
        name = "%s:%d" % sock.getsockname()[:2]
        sock.connect((host, port))
        line = ("hello from %s\n" % name).encode()
        sock.sendall(line)
        sock.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            got += chunk
        if got != line:
            return name, "got %r" % got
        return name, None
    except OSError as e:
        return name, str(e)
    finally:
        sock.close()


def client(args, source, deadline):
    done = 0
    while time.monotonic() < deadline:
        if done >= args.each and (args.until is None or
                                  os.path.exists(args.until)):
            break
        name, err = exchange(args.host, args.port, source)
        done += 1
        if err is None:
            say("ok %s" % name)
        else:
            say("lost %s %s" % (name, err))
            with lock:
                lost.append(name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("sources", nargs="+")
    ap.add_argument("--each", type=int, default=20)
    ap.add_argument("--until")
    args = ap.parse_args()
    deadline = time.monotonic() + 60
    threads = [threading.Thread(target=client, args=(args, s, deadline))
               for s in args.sources]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
