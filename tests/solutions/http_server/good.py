#!/usr/bin/env python3
"""Reference solution of exercise 4: an HTTP/1.0 server whose Content-Length is the body's
length in bytes.

Usage: good.py PORT.
"""
import os
import socket
import sys
import threading

# netlab tests: note this process id, so the test can check it is gone after the run.
if os.environ.get("NETLAB_TEST_PIDS"):
    with open(os.environ["NETLAB_TEST_PIDS"], "a") as pids:
        pids.write("%d\n" % os.getpid())

# A length that counts characters instead of bytes would be wrong here: "é" is two bytes.
PAGE = "<html><body><h1>Hello, café</h1></body></html>\n".encode("utf-8")
MISSING = b"not found\n"


def serve(conn):
    with conn:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(1024)
            if not chunk:
                return
            request += chunk
        path = request.split(b" ")[1] if b" " in request else b"/"
        if path == b"/":
            head = b"HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
            body = PAGE
        else:
            head = b"HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n"
            body = MISSING
        conn.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)


def main():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(sys.argv[1])))
    listener.listen(16)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
