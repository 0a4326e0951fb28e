#!/usr/bin/env python3
"""netlab's own test peer: the TCP hello client, written after the behaviour of the socket
tutorial netlab models. Prints the greeting and the answers to three names, then sends "exit".

Usage: hello_client.py PORT [HOST]
"""
import socket
import sys

port = int(sys.argv[1])
host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
family = socket.AF_INET6 if ":" in host else socket.AF_INET
conn = socket.socket(family, socket.SOCK_STREAM)
conn.settimeout(10)
conn.connect((host, port))
print(conn.recv(1024).decode("utf-8"))
for name in [b"Michael", b"Tracy", b"Sarah"]:
    conn.sendall(name)
    print(conn.recv(1024).decode("utf-8"))
conn.sendall(b"exit")
conn.close()
