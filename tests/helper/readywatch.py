#!/usr/bin/env python3
"""readywatch.py MASTER SERVICE WHILE_FILE: sample, every 10 ms while the
file WHILE_FILE exists (at most 60 s; WHILE_FILE.on is created after
the first sample), how many workers of SERVICE under
the master pid MASTER are ready for a client -- idle or busy, by their
process titles -- and print "min N max M samples K" at the end (a sample may count a
worker on its way out beside its replacement, never one too few).
"""
import os
import sys
import time


def title(pid, master):
    """The title of process pid if it is master's child, else None."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            stat = f.read()
        # The fields after the command, which may hold spaces.
        if int(stat.rsplit(")", 1)[1].split()[1]) != master:
            return None
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0", 1)[0].decode(errors="replace")
    except (OSError, IndexError, ValueError):
        return None  # gone meanwhile


def children(master):
    """The titles of master's children.

    A sample is not a snapshot: workers change while it is taken.  /proc is
    listed again until no new process shows up, so a worker forked during
    the sample is read after any older one that left once it was ready:
    a sample may count one worker too many, never one too few.
    """
    seen = set()
    titles = []
    while True:
        new = set(p for p in os.listdir("/proc") if p.isdigit()) - seen
        if not new:
            return titles
        for pid in new:
            seen.add(pid)
            t = title(pid, master)
            if t is not None:
                titles.append(t)


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
