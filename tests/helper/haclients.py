#!/usr/bin/env python3
"""haclients.py HOST PORT SOURCES... [--each N] [--hold FILE]: clients of
an echo service behind a proxy.  One thread per SOURCE address (e.g.
127.0.0.2) connects from it again and again, sends one line naming its own
address and port, half-closes, and checks that exactly that line comes
back.

Each exchange prints one line: "ok ADDR:PORT" or "lost ADDR:PORT REASON".
A thread stops after --each exchanges (default 20).

With --hold FILE, each exchange is a session that stays open in the middle:
after the first line has come back, the client prints "held ADDR:PORT" and
waits (up to 30 s) until FILE exists before it sends a second line and
half-closes; both lines must come back.  A test can stop a server while it
holds clients.  Every read is bounded (5 s), and the whole run (60 s).
Exit status: 0 when none was lost, 1 otherwise.
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


def read_exactly(sock, n):
    got = b""
    while len(got) < n:
        chunk = sock.recv(n - len(got))
        if not chunk:
            break
        got += chunk
    return got


def hold(name, path):
    say("held %s" % name)
    deadline = time.monotonic() + 30
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)


def exchange(host, port, source, hold_file):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(5)
    name = "%s:?" % source
    try:
        sock.bind((source, 0))
        name = "%s:%d" % sock.getsockname()[:2]
        sock.connect((host, port))
        line = ("hello from %s\n" % name).encode()
        expect = line
        if hold_file is not None:
            sock.sendall(line)
            got = read_exactly(sock, len(line))
            if got != line:
                return name, "got %r before the hold" % got
            hold(name, hold_file)
            line = ("bye from %s\n" % name).encode()
            expect = line
        sock.sendall(line)
        sock.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            got += chunk
        if got != expect:
            return name, "got %r" % got
        return name, None
    except OSError as e:
        return name, str(e)
    finally:
        sock.close()


def client(args, source, deadline):
    done = 0
    while time.monotonic() < deadline and done < args.each:
        name, err = exchange(args.host, args.port, source, args.hold)
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
    ap.add_argument("--hold")
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
