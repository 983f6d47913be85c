#!/usr/bin/python3
"""A program for accept = false on fd 3 that echoes lines, says on stdout
that it is up and, told to quit (by the signal named as its argument, INT
when none), finishes its client first and says goodbye: lines its master
logs, so a test sees them cross an upgrade on the pipe the old image made.

  echoprog.py [SIGNAL]
"""
import os
import signal
import socket
import sys

quitting = False


def on_quit(signo, frame):
    global quitting
    quitting = True


name = sys.argv[1] if len(sys.argv) > 1 else "INT"
signal.signal(getattr(signal, "SIG" + name), on_quit)
s = socket.socket(fileno=3)
s.settimeout(0.05)
print("up %d" % os.getpid(), flush=True)
while not quitting:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    c.settimeout(None)
    with c, c.makefile("rb") as f:
        for line in f:
            c.sendall(line)
print("bye %d" % os.getpid(), flush=True)
