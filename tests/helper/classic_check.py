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
  chargen FILE [--first N] [--min-lines N] [--max-bytes N]
      FILE holds exactly the RFC 864 pattern from line N (default 1) on:
      line n is characters n to n + 71 of the ring of the 95 printable
      characters ' ' to '~', then "\\r\\n"; the last line may be cut.
      Prints the count of bytes and of whole lines.

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


def rfc864_line(n):
    ring = bytes(range(32, 127))
    return bytes(ring[(n + i) % 95] for i in range(72)) + b"\r\n"


def check_chargen(data, args):
    lines = len(data) // 74 + 1
    expected = b"".join(rfc864_line(args.first + k) for k in range(lines))
    if data != expected[:len(data)]:
        at = next(i for i in range(len(data)) if data[i] != expected[i])
        fail("byte %d is %r, not %r" % (at, data[at:at + 1],
                                        expected[at:at + 1]))
    if len(data) // 74 < args.min_lines:
        fail("%d whole lines, fewer than %d" % (len(data) // 74,
                                                args.min_lines))
    if args.max_bytes is not None and len(data) > args.max_bytes:
        fail("%d bytes, more than %d" % (len(data), args.max_bytes))
    print("%d bytes, %d whole lines" % (len(data), len(data) // 74))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["daytime", "time", "chargen"])
    parser.add_argument("file")
    parser.add_argument("--after", type=int, default=0)
    parser.add_argument("--zone")
    parser.add_argument("--first", type=int, default=1)
    parser.add_argument("--min-lines", type=int, default=0)
    parser.add_argument("--max-bytes", type=int)
    args = parser.parse_args()
    with open(args.file, "rb") as f:
        data = f.read()
    {"daytime": check_daytime, "time": check_time,
     "chargen": check_chargen}[args.kind](data, args)


if __name__ == "__main__":
    main()
