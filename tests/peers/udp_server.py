#!/usr/bin/env python3
"""netlab's own test peer: the UDP hello server, written after the behaviour of the socket
tutorial netlab models: one datagram in, "Hello, <data>!" back to its sender.

Usage: udp_server.py PORT [HOST]. Prints "listening" once bound; serves until it is killed.
"""
import socket
import sys

port = int(sys.argv[1])
host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
family = socket.AF_INET6 if ":" in host else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.bind((host, port))
print("listening", flush=True)
while True:
    data, sender = sock.recvfrom(1024)
    sock.sendto(b"Hello, " + data + b"!", sender)
