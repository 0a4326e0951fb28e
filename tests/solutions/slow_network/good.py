#!/usr/bin/env python3
"""The tutorial's TCP hello client, made to cope with a stream that arrives in pieces: each
message ends with "!", so it reads until it has one whole (TCP keeps no message boundaries).

Usage: good.py PORT [HOST]
"""
import socket
import sys

port = int(sys.argv[1])
host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
conn = socket.create_connection((host, port), timeout=10)
pending = b""


def message():
    """The next message: the bytes up to and with the next "!"."""
    global pending
    while b"!" not in pending:
        data = conn.recv(1024)
        if not data:
            raise SystemExit("the server closed in the middle of a message")
        pending += data
    end = pending.index(b"!") + 1
    whole, pending = pending[:end], pending[end:]
    return whole.decode("utf-8")


print(message())
for name in [b"Michael", b"Tracy", b"Sarah"]:
    conn.sendall(name)
    print(message())
conn.sendall(b"exit")
conn.close()
