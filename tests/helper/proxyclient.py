#!/usr/bin/env python3
"""proxyclient.py [options] HOST PORT KIND: connect as a proxy would, send a
PROXY protocol header of KIND followed by --data, and print what came back
as one line: got=BYTES end=closed|reset|timeout (BYTES as Python's repr).

The headers name made-up clients (RFC 5737 and RFC 3849 addresses):
  v1-tcp4      "PROXY TCP4 203.0.113.7 192.0.2.10 40001 80"
  v1-tcp6      "PROXY TCP6 2001:db8::7 2001:db8::10 40002 80"
  v1-unknown   "PROXY UNKNOWN ..."
  v2-tcp4      v2 PROXY command, AF_INET/STREAM, 203.0.113.7:40001
  v2-tcp6      v2 PROXY command, AF_INET6/STREAM, [2001:db8::7]:40002
  v2-mapped    v2 AF_INET6 naming the IPv4-mapped ::ffff:203.0.113.8:40003
  v2-tcp4-tlv  as v2-tcp4 with 300 bytes of TLVs (NOOP, AUTHORITY)
  v2-local     v2 LOCAL command (a health check): no client named
  v2-unspec    v2 PROXY command, family AF_UNSPEC: no client named
and malformed ones, which the server must refuse:
  bad-v2-sig   a v2 header with one byte of its signature wrong
  bad-v1-long  a v1 line of 120 bytes without CRLF
  bad-v1-proto "PROXY UDP4 ..."
  bad-v2-family  v2 with family 0x4 (none such)
  bad-v2-len   v2 AF_INET with a length shorter than its address block
  no-header    the data alone, as a client that does not know PROXY
  cut-v1       "PROXY TCP4 203.0.11", then the client closes
  cut-v2       the first 20 bytes of a v2-tcp4 header, then it closes

Options:
  --data TEXT     what to send after the header (default "hello\\n")
  --source ADDR   connect from this local address (e.g. 127.0.0.2)
  --split N       send the header's first N bytes, pause 0.3 s, send the
                  rest with the data (a header cut across segments)
  --stall         send the header's first half only, then wait for the
                  server to act (a proxy that never finishes its header)
  --hold S        after sending, wait S seconds before half-closing
  --timeout S     give up reading after S seconds (default 10): end=timeout
"""
import argparse
import socket
import struct
import sys
import time

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2(command, fam, body):
    return SIG + bytes([0x20 | command, fam]) + struct.pack("!H",
                                                            len(body)) + body


def inet4(src, dst, sport, dport):
    return (socket.inet_pton(socket.AF_INET, src) +
            socket.inet_pton(socket.AF_INET, dst) +
            struct.pack("!HH", sport, dport))


def inet6(src, dst, sport, dport):
    return (socket.inet_pton(socket.AF_INET6, src) +
            socket.inet_pton(socket.AF_INET6, dst) +
            struct.pack("!HH", sport, dport))


def tlv(kind, value):
    return bytes([kind]) + struct.pack("!H", len(value)) + value


TCP4 = inet4("203.0.113.7", "192.0.2.10", 40001, 80)
HEADERS = {
    "v1-tcp4": b"PROXY TCP4 203.0.113.7 192.0.2.10 40001 80\r\n",
    "v1-tcp6": b"PROXY TCP6 2001:db8::7 2001:db8::10 40002 80\r\n",
    "v1-unknown": b"PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n",
    "v2-tcp4": v2(1, 0x11, TCP4),
    "v2-tcp6": v2(1, 0x21, inet6("2001:db8::7", "2001:db8::10", 40002, 80)),
    "v2-mapped": v2(1, 0x21, inet6("::ffff:203.0.113.8", "::ffff:192.0.2.10",
                                   40003, 80)),
    "v2-tcp4-tlv": v2(1, 0x11, TCP4 + tlv(0x04, b"\0" * 250) +
                      tlv(0x02, b"www.example.org" * 3)),
    "v2-local": v2(0, 0x00, b""),
    "v2-unspec": v2(1, 0x00, b""),
    "bad-v2-sig": SIG[:7] + b"X" + SIG[8:] + b"\x21\x11\x00\x0c" + TCP4,
    "bad-v1-long": b"PROXY TCP4 " + b"1" * 109,
    "bad-v1-proto": b"PROXY UDP4 203.0.113.7 192.0.2.10 40001 80\r\n",
    "bad-v2-family": v2(1, 0x41, TCP4),
    "bad-v2-len": v2(1, 0x11, TCP4[:8]),
    "no-header": b"",
    "cut-v1": b"PROXY TCP4 203.0.11",
    "cut-v2": v2(1, 0x11, TCP4)[:20],
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("kind", choices=sorted(HEADERS))
    ap.add_argument("--data", default="hello\n")
    ap.add_argument("--source")
    ap.add_argument("--split", type=int)
    ap.add_argument("--stall", action="store_true")
    ap.add_argument("--hold", type=float, default=0)
    ap.add_argument("--timeout", type=float, default=10)
    args = ap.parse_args()

    header = HEADERS[args.kind]
    data = b"" if args.kind.startswith("cut-") else args.data.encode()
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(args.timeout)
    if args.source:
        sock.bind((args.source, 0))
    sock.connect((args.host, args.port))
    try:
        if args.stall:
            sock.sendall(header[:len(header) // 2])
        elif args.split:
            sock.sendall(header[:args.split])
            time.sleep(0.3)
            sock.sendall(header[args.split:] + data)
        else:
            # One write: header and data in the same segment.
            sock.sendall(header + data)
        time.sleep(args.hold)
        if not args.stall:
            sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    got, end = b"", "closed"
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        end = "timeout"
    except ConnectionResetError:
        end = "reset"
    sock.close()
    print("got=%r end=%s" % (got, end))
    return 0


if __name__ == "__main__":
    sys.exit(main())
