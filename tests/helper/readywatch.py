#!/usr/bin/env python3
"""readywatch.py MASTER SERVICE WHILE_FILE: sample, every 10 ms while the
file WHILE_FILE exists (at most 60 s; WHILE_FILE.on is created after
the first sample), how many workers of SERVICE under
the master pid MASTER are ready for a client -- idle or busy, by their
process titles -- and print "min N max M samples K" at the end.
"""
import os
import sys
import time


def children(master):
    """The titles of master's children, oldest first.

    A sample is not a snapshot: a worker may change while the others are
    read.  In the order of their pids, a worker that left has been read
    before the newer one that replaced it: that one was ready when the
    older one left and is read later, so a sample never counts fewer
    than were ready at some moment.
    """
    for pid in sorted((p for p in os.listdir("/proc") if p.isdigit()), key=int):
        try:
            with open("/proc/%s/stat" % pid) as f:
                stat = f.read()
            # The fields after the command, which may hold spaces.
            if int(stat.rsplit(")", 1)[1].split()[1]) != master:
                continue
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                yield f.read().split(b"\0", 1)[0].decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile


def main():
    master, service, while_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    ready = ("preforkd: worker %s [idle" % service,
             "preforkd: worker %s [busy" % service)
    counts = []
    deadline = time.monotonic() + 60
    while os.path.exists(while_file) and time.monotonic() < deadline:
        titles = list(children(master))
        counts.append(sum(t.startswith(ready) for t in titles))
        if counts[-1] < 3 and os.environ.get("READYWATCH_DEBUG"):
            print("%.3f %s" % (time.time(), titles), file=sys.stderr)
        if len(counts) == 1:
            open(while_file + ".on", "w").close()
        time.sleep(0.01)
    if not counts:
        print("no samples")
        return 1
    print("min %d max %d samples %d" % (min(counts), max(counts), len(counts)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
