#!/usr/bin/env python3
"""netlab's own test peer: a TCP server whose every answer holds what changes from run to run,
as a real server's does (a UTC time to the microsecond, a random session id): what `redact:`
hides so that its transcript is the same on every run.

Usage: clock_server.py PORT. Prints "started at <time>" on stdout once it accepts connections.
To each connection: "HELLO <time> sid=<hex>\n", then "ECHO <line> at <time>\n" for each line
received, until the client closes. Serves until it is killed.
"""
import datetime
import secrets
import socket
import sys
import threading


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def serve(conn):
    conn.sendall(f"HELLO {now()} sid={secrets.token_hex(6)}\n".encode())
    pending = b""
    while True:
        data = conn.recv(1024)
        if not data:
            break
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            conn.sendall(b"ECHO " + line + f" at {now()}\n".encode())
    conn.close()


def main():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(sys.argv[1])))
    listener.listen(5)
    print(f"started at {now()}", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
