#!/usr/bin/python3
"""A program for accept = false with ready = "notify": takes its listening
socket as fd 3 and answers each client "pid=PID", and tells preforkd how it
is over $NOTIFY_SOCKET as sd_notify(3) does (a path, or "@name" for an
abstract socket).

  notifyserver.py [--wait FILE] [--status TEXT] [--never] [--watchdog]
                  [--from-child] [--stop FILE]

--wait FILE   send READY=1 only once FILE exists (default: at once)
--status TEXT send STATUS=TEXT with READY=1
--never       never send READY=1
--watchdog    send WATCHDOG=1 once, with READY=1, then never again
--from-child  send READY=1 from a child of its own, not from itself
--stop FILE   once FILE exists, send STOPPING=1 and exit 0.2 s later
"""
import os
import socket
import sys
import threading
import time


def notify(message):
    addr = os.environ["NOTIFY_SOCKET"]
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(message.encode(), addr)


def serve(sock):
    answer = ("pid=%d\n" % os.getpid()).encode()
    while True:
        conn, _ = sock.accept()
        conn.sendall(answer)
        conn.close()


args = sys.argv[1:]
wait = status = None
stop = None
never = watchdog = from_child = False
while args:
    arg = args.pop(0)
    if arg == "--wait":
        wait = args.pop(0)
    elif arg == "--status":
        status = args.pop(0)
    elif arg == "--never":
        never = True
    elif arg == "--watchdog":
        watchdog = True
    elif arg == "--from-child":
        from_child = True
    elif arg == "--stop":
        stop = args.pop(0)
    else:
        sys.exit("notifyserver: unknown argument " + arg)
if "NOTIFY_SOCKET" not in os.environ:
    sys.exit("notifyserver: no NOTIFY_SOCKET")
print("notifyserver %d up, NOTIFY_SOCKET=%s WATCHDOG_USEC=%s WATCHDOG_PID=%s" % (
    os.getpid(), os.environ["NOTIFY_SOCKET"], os.environ.get("WATCHDOG_USEC"),
    os.environ.get("WATCHDOG_PID")), flush=True)
threading.Thread(target=serve, args=(socket.socket(fileno=3),),
                 daemon=True).start()
while wait is not None and not os.path.exists(wait):
    time.sleep(0.02)
if not never:
    lines = ["READY=1"]
    if status is not None:
        lines.append("STATUS=" + status)
    if watchdog:
        lines.append("WATCHDOG=1")
    if not from_child:
        notify("\n".join(lines))
    elif os.fork() == 0:
        notify("\n".join(lines))
        os._exit(0)
    else:
        os.wait()
while stop is not None and not os.path.exists(stop):
    time.sleep(0.02)
if stop is not None:
    notify("STOPPING=1")
    time.sleep(0.2)
    sys.exit(0)
while True:
    time.sleep(3600)
