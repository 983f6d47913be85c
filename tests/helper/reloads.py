#!/usr/bin/env python3
"""reloads.py PID LOG COUNT HOST PORT...: COUNT times, SIGHUP the master PID
and 0 to 9 ms later connect one lone client (to the ports in turn), which must get
its line echoed within 2 s of connecting; then wait (10 s at most) until
LOG says the reload finished, before the next.  Prints

  reloads=R served=S late=L failed=F

and, on stderr, the first few clients that were not served in time.  Exit
status 0, or 1 when a reload never finished."""
import os
import signal
import sys
import time

# No __pycache__ in the source tree for the one import below.
sys.dont_write_bytecode = True
from load import echo_once  # noqa: E402

BOUND = 2.0


def lone_client(host, port, n):
    """'served', 'late' (served after BOUND) or what went wrong."""
    line = ("reload %d\n" % n).encode()
    start = time.monotonic()
    try:
        got = echo_once(host, port, line, BOUND + 3)
    except OSError as e:
        return "failed (%s)" % (e.__class__.__name__)
    if got != line:
        return "failed (got %r)" % got
    return "served" if time.monotonic() - start <= BOUND else "late"


class Log:
    """Counts the lines of a growing log that end a reload."""

    def __init__(self, path):
        self.f = open(path, "rb")
        self.done = 0
        self.rest = b""

    def update(self):
        self.rest += self.f.read()
        *lines, self.rest = self.rest.split(b"\n")
        for line in lines:
            if b"master: notice: reloaded " in line or \
                    b"reload failed" in line:
                self.done += 1
        return self.done


def main():
    pid, log, count, host = (int(sys.argv[1]), Log(sys.argv[2]),
                             int(sys.argv[3]), sys.argv[4])
    ports = [int(p) for p in sys.argv[5:]]
    counts = {"served": 0, "late": 0, "failed": 0}
    failures = []
    before = log.update()
    for i in range(count):
        os.kill(pid, signal.SIGHUP)
        # 0 to 9 ms later: across the reload, not always before it.
        time.sleep((i % 10) / 1000)
        what = lone_client(host, ports[i % len(ports)], i)
        key = what.split()[0]
        counts[key] += 1
        if key != "served" and len(failures) < 5:
            failures.append("reload %d, port %d: %s" % (
                i + 1, ports[i % len(ports)], what))
        deadline = time.monotonic() + 10
        while log.update() < before + i + 1:
            if time.monotonic() > deadline:
                print("reload %d never finished" % (i + 1), file=sys.stderr)
                return 1
            time.sleep(0.005)
    for f in failures:
        print(f, file=sys.stderr)
    print("reloads=%d served=%d late=%d failed=%d" % (
        count, counts["served"], counts["late"], counts["failed"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
