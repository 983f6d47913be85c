#!/usr/bin/env python3
"""udpclient.py HOST PORT [options]: send datagrams, print what comes back.

  --size N        each datagram is N bytes ("x" repeated; 0 is allowed)
  --count N       send N datagrams, one at a time, each waiting for its
                  answer (default 1)
  --wait S        how long to wait for each answer (default 2 s)
  --gone          send one datagram from a socket closed at once, so the
                  answer meets an ICMP port unreachable
  --for S         send for S seconds (one at a time) instead of --count

Prints one line per datagram: "answer LEN" or "no answer", then a tally
"sent N answered M".
"""
import argparse
import socket
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--size", type=int, default=4)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--wait", type=float, default=2.0)
    parser.add_argument("--gone", action="store_true")
    parser.add_argument("--for", dest="seconds", type=float, default=0)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    target = (args.host, args.port)
    payload = b"x" * args.size
    if args.gone:
        gone = socket.socket(family, socket.SOCK_DGRAM)
        gone.sendto(payload, target)
        gone.close()
        print("sent 1 answered 0")
        return
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.settimeout(args.wait)
    sent = answered = 0
    end = time.monotonic() + args.seconds
    while (sent < args.count) if not args.seconds else \
            (time.monotonic() < end):
        sock.sendto(payload, target)
        sent += 1
        try:
            answer = sock.recv(70000)
            answered += 1
            if not args.quiet:
                print("answer %d" % len(answer))
        except socket.timeout:
            print("no answer")
    print("sent %d answered %d" % (sent, answered))


if __name__ == "__main__":
    main()
