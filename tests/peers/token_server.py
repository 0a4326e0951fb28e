#!/usr/bin/env python3
"""netlab's own test peer: a login server that hands out a new random token on every login, as a
real service does. Lines: "LOGIN name" -> "TOKEN <hex> at <time>"; "GET <token>" -> "DATA ok" if
the token is the one this connection was given, else "DENIED"; "ECHO ..." -> the line back. Also
a length-prefixed answer:
"SIZE" -> a u16be length, then that many random bytes.

Usage: token_server.py PORT. Serves until it is killed.
"""
import os
import socket
import sys
import threading
import time


def serve(conn):
    token = None
    with conn, conn.makefile("rb") as lines:
        for line in lines:
            words = line.strip().split(b" ")
            if words[0] == b"LOGIN":
                token = os.urandom(8).hex().encode()
                stamp = str(time.time()).encode()
                conn.sendall(b"TOKEN " + token + b" at " + stamp + b"\n")
            elif words[0] == b"GET":
                ok = token is not None and len(words) == 2 and words[1] == token
                conn.sendall(b"DATA ok\n" if ok else b"DENIED\n")
            elif words[0] == b"ECHO":
                conn.sendall(line.rstrip(b"\r\n") + b"\n")
            elif words[0] == b"SIZE":
                size = 1 + os.urandom(1)[0] % 40
                conn.sendall(size.to_bytes(2, "big") + os.urandom(size))
            else:
                conn.sendall(b"?\n")


def main():
    port = int(sys.argv[1])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(16)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
