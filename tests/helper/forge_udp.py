#!/usr/bin/env python3
"""Send ONE UDP datagram with a forged source (issue 15, finding 2).

Usage: forge_udp.py SRC_ADDR SRC_PORT DST_ADDR DST_PORT [PAYLOAD]

A raw IPv4 socket with IP_HDRINCL: the IP and UDP headers are ours, so the
datagram claims to come from SRC_ADDR:SRC_PORT -- for a loop, the service's
own address and port, or a classic small service's (echo 7, chargen 19).
Needs CAP_NET_RAW: the tests run it as root inside a network namespace of
their own, where nothing else sends.  The UDP checksum is computed (an
IPv4 UDP checksum of 0 would also be accepted, meaning "none").
"""
import socket
import struct
import sys


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def main(argv):
    src, sport, dst, dport = argv[1], int(argv[2]), argv[3], int(argv[4])
    payload = (argv[5] if len(argv) > 5 else "loop?\n").encode()
    ulen = 8 + len(payload)
    pseudo = struct.pack("!4s4sBBH", socket.inet_aton(src),
                         socket.inet_aton(dst), 0, socket.IPPROTO_UDP, ulen)
    udp = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    csum = checksum(pseudo + udp) or 0xffff
    udp = struct.pack("!HHHH", sport, dport, ulen, csum) + payload
    # Version 4, IHL 5; total length and checksum filled in by the kernel
    # when left 0 (raw(7), IP_HDRINCL).
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, 0x1515, 0, 64,
                     socket.IPPROTO_UDP, 0, socket.inet_aton(src),
                     socket.inet_aton(dst))
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    s.sendto(ip + udp, (dst, 0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
