#!/usr/bin/env python3
"""netlab's own test peer: the UDP hello client, written after the behaviour of the socket
tutorial netlab models: three names as three datagrams, each answer printed.

Usage: udp_client.py PORT [HOST]
"""
import socket
import sys

port = int(sys.argv[1])
host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
family = socket.AF_INET6 if ":" in host else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.settimeout(5)
for name in [b"Michael", b"Tracy", b"Sarah"]:
    sock.sendto(name, (host, port))
    print(sock.recv(1024).decode("utf-8"))
sock.close()
