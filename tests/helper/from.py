#!/usr/bin/env python3
"""from.py SOURCE HOST PORT [--udp]: send "hello" from the address SOURCE
(e.g. 127.0.0.2) and print what comes back before the server closes (TCP)
or within 1 s (UDP); "closed" when the server closed without a byte,
"no answer" when a datagram got none."""
import socket
import sys

source, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
udp = "--udp" in sys.argv
family = socket.AF_INET6 if ":" in host else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
sock.settimeout(1 if udp else 5)
sock.bind((source, 0))
if udp:
    sock.sendto(b"hello", (host, port))
    try:
        print(sock.recv(65536).decode())
    except socket.timeout:
        print("no answer")
    sys.exit(0)
sock.connect((host, port))
try:
    sock.sendall(b"hello")
    sock.shutdown(socket.SHUT_WR)
except OSError:
    pass
data = b""
try:
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
except ConnectionResetError:
    pass
print(data.decode() if data else "closed")
