#!/usr/bin/env python3
"""classic_check.py KIND FILE [options]: check one answer of a classic
service, computed here from the RFCs, independently of preforkd.

  daytime FILE --after T [--zone Z]
      FILE is exactly one line "DD MON YYYY HH:MM:SS ZONE\\r\\n" (xinetd's
      format: MON in English capitals); read in the local time zone (TZ),
      it is not before the second T and not after now.  Prints the epoch
      second and the line.
  time FILE --after T
      FILE is 4 bytes, a big-endian count of seconds since 1900 (RFC 868),
      not before T + 2208988800 and not after time.time() + 2208988800.
      Prints the epoch second.

Exit status 1, with the reason, when the answer is wrong.
"""
import argparse
import re
import struct
import sys
import time

SECONDS_1900_TO_1970 = 2208988800
MONTHS = [b"JAN", b"FEB", b"MAR", b"APR", b"MAY", b"JUN", b"JUL", b"AUG",
          b"SEP", b"OCT", b"NOV", b"DEC"]


def fail(msg):
    print("wrong answer: " + msg)
    sys.exit(1)


def in_window(second, after):
    now = time.time()
    if not after <= second <= now:
        fail("time %d is not between %d and %.3f" % (second, after, now))


def check_daytime(data, args):
    m = re.fullmatch(
        rb"(\d\d) ([A-Z]{3}) (\d{4}) (\d\d):(\d\d):(\d\d) (\S+)\r\n", data)
    if m is None or m.group(2) not in MONTHS:
        fail("not a daytime line: %r" % data)
    if args.zone is not None and m.group(7).decode() != args.zone:
        fail("zone %s, not %s" % (m.group(7).decode(), args.zone))
    fields = [int(g) for g in m.group(1, 3, 4, 5, 6)]
    mday, year, hour, minute, sec = fields
    mon = MONTHS.index(m.group(2)) + 1
    second = int(time.mktime((year, mon, mday, hour, minute, sec, 0, 0, -1)))
    in_window(second, args.after)
    print(second, data.decode().rstrip("\r\n"))


def check_time(data, args):
    if len(data) != 4:
        fail("%d bytes, not 4: %r" % (len(data), data))
    second = struct.unpack("!I", data)[0] - SECONDS_1900_TO_1970
    in_window(second, args.after)
    print(second)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["daytime", "time"])
    parser.add_argument("file")
    parser.add_argument("--after", type=int, default=0)
    parser.add_argument("--zone")
    args = parser.parse_args()
    with open(args.file, "rb") as f:
        data = f.read()
    {"daytime": check_daytime, "time": check_time}[args.kind](data, args)


if __name__ == "__main__":
    main()
