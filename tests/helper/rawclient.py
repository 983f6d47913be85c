#!/usr/bin/env python3
"""rawclient.py [options] HOST PORT: one exchange, the answer's bytes raw.

TCP (the default): connect, send --send-file (if given), and write what
comes back to stdout, byte for byte, until the server closes.

  --send-file F   send the bytes of F first
  --half-close    then shut down our sending side
  --max N         stop after N bytes and close at once (the server, if it
                  is still sending, gets a reset)
  --silent S      instead of reading to the end: wait S seconds and print
                  "silent, open" if nothing came and the server kept the
                  connection open, else "closed" or "got N bytes"
  --no-read S     connect, read nothing for S seconds, then close

UDP (--udp): send one datagram (--send-file, empty by default) and write
the answer to stdout.

  --wait S        how long to wait for the answer (default 2 s)
  --tries N       send again when none came, up to N datagrams in all
                  (default 1); exit 2 when no answer came at all

Exit status 0 done, 2 no UDP answer, 3 timed out (--timeout, default 10 s).
"""
import argparse
import socket
import sys
import time


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def tcp(args, payload):
    sock = socket.create_connection((args.host, args.port),
                                    timeout=args.timeout)
    if args.no_read:
        time.sleep(args.no_read)
        sock.close()
        return 0
    sock.sendall(payload)
    if args.half_close:
        sock.shutdown(socket.SHUT_WR)
    if args.silent:
        sock.settimeout(args.silent)
        try:
            data = sock.recv(65536)
            print("got %d bytes" % len(data) if data else "closed")
        except socket.timeout:
            print("silent, open")
        sock.close()
        return 0
    out = sys.stdout.buffer
    got = 0
    while args.max is None or got < args.max:
        want = 65536 if args.max is None else min(65536, args.max - got)
        data = sock.recv(want)
        if not data:
            break
        out.write(data)
        got += len(data)
    out.flush()
    sock.close()
    return 0


def udp(args, payload):
    sock = socket.socket(family_of(args.host), socket.SOCK_DGRAM)
    sock.settimeout(args.wait)
    for _ in range(args.tries):
        sock.sendto(payload, (args.host, args.port))
        try:
            sys.stdout.buffer.write(sock.recv(70000))
            sys.stdout.buffer.flush()
            return 0
        except socket.timeout:
            continue
    print("no answer", file=sys.stderr)
    return 2


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--udp", action="store_true")
    parser.add_argument("--send-file")
    parser.add_argument("--half-close", action="store_true")
    parser.add_argument("--max", type=int)
    parser.add_argument("--silent", type=float, default=0)
    parser.add_argument("--no-read", type=float, default=0)
    parser.add_argument("--wait", type=float, default=2.0)
    parser.add_argument("--tries", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    payload = b""
    if args.send_file:
        with open(args.send_file, "rb") as f:
            payload = f.read()
    try:
        return udp(args, payload) if args.udp else tcp(args, payload)
    except socket.timeout:
        print("rawclient: timed out", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
