#!/usr/bin/env python3
"""One client that must be answered in time (issue 15, findings 5 and 6).

Usage: probe.py HOST PORT [--from ADDR] [--timeout S] [--send TEXT]
                          [--expect TEXT] [--pad N]

Connects (from ADDR when given), sends TEXT (Python escapes allowed; with
--pad N, an HTTP header line "X-Pad: " and N bytes of "a" is inserted after
the first line, so the request is bigger than one recv()), then reads until
the server closes or it has EXPECT.  Prints what came back.  Exit 0 when it
has EXPECT (or, without --expect, any answer ended by a clean close) within
S seconds (default 2); 1 on a timeout; 2 when the connection was reset.
"""
import argparse
import socket
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--from", dest="source")
    p.add_argument("--timeout", type=float, default=2)
    p.add_argument("--send", default="hello\\n")
    p.add_argument("--expect")
    p.add_argument("--pad", type=int, default=0)
    args = p.parse_args()
    data = args.send.encode().decode("unicode_escape").encode("latin-1")
    if args.pad:
        first, rest = data.split(b"\n", 1)
        data = first + b"\nX-Pad: " + b"a" * args.pad + b"\r\n" + rest
    expect = None
    if args.expect is not None:
        expect = args.expect.encode().decode("unicode_escape").encode(
            "latin-1")
    deadline = time.monotonic() + args.timeout
    got = b""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if args.source:
            s.bind((args.source, 0))
        s.settimeout(args.timeout)
        s.connect((args.host, args.port))
        s.sendall(data)
        while expect is None or expect not in got:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            s.settimeout(left)
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        sys.stdout.write(got.decode("latin-1"))
        print("\nno answer within %g s" % args.timeout)
        return 1
    except (ConnectionResetError, BrokenPipeError) as e:
        sys.stdout.write(got.decode("latin-1"))
        print("\nreset after %d bytes: %s" % (len(got), e))
        return 2
    finally:
        s.close()
    sys.stdout.write(got.decode("latin-1"))
    if expect is not None and expect not in got:
        print("\nclosed without %r" % expect)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
