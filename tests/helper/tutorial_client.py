#!/usr/bin/env python3
"""tutorial_client.py [--udp] [--greeting] HOST PORT

The socket tutorials' Python clients, as they are written: each line of
stdin is a message typed at the keyboard (input() strips its newline), sent
with one send() (sendto() with --udp), and answered by one recv(1024)
(recvfrom()); the answer is printed as "reply: " + its bytes, repr()'d so
that every byte shows.  --greeting first prints what the server says on
connecting.  A recv() that times out (3 s) prints "reply: TIMEOUT".
"""
import socket
import sys


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    udp = "--udp" in sys.argv
    host, port = args[0], int(args[1])
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    sock = socket.socket(family, kind)
    sock.settimeout(3)
    if not udp:
        sock.connect((host, port))
        if "--greeting" in sys.argv:
            print("greeting: %r" % sock.recv(1024))
    for line in sys.stdin:
        message = line.rstrip("\n").encode()
        try:
            if udp:
                sock.sendto(message, (host, port))
                reply, _ = sock.recvfrom(65536)
            else:
                sock.send(message)
                reply = sock.recv(1024)
        except socket.timeout:
            print("reply: TIMEOUT")
            continue
        print("reply: %r" % (reply,))
    sock.close()


if __name__ == "__main__":
    main()
