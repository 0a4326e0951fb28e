#!/usr/bin/env python3
"""netlab's own test peer: a key-value server that crashes on the first unknown key, as a
student's server might (an uncaught KeyError: a traceback on stderr, exit status 1).

Usage: kv_crashes.py PORT. One connection at a time; lines "GET KEY" answer "VALUE\n"; a line
"QUIT" makes it exit with status 0 (a server that gives up, cleanly).
"""
import socket
import sys

STORE = {"a": "1", "b": "2"}


def main():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(sys.argv[1])))
    listener.listen(16)
    while True:
        conn, _ = listener.accept()
        with conn:
            for line in conn.makefile("rb"):
                if line.strip() == b"QUIT":
                    sys.exit(0)
                key = line.decode().split()[1]
                conn.sendall((STORE[key] + "\n").encode())


main()
