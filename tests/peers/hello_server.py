#!/usr/bin/env python3
"""netlab's own test peer: a thread-per-connection TCP hello server, written after the
behaviour of the socket tutorial netlab models (greeting, pause, "Hello, <name>!", "exit").

Usage: hello_server.py PORT [HOST]. HELLO_DELAY (seconds, default 1) is the pause before each
answer. Prints "listening" once it accepts connections; serves until it is killed.
"""
import os
import socket
import sys
import threading
import time

PAUSE = float(os.environ.get("HELLO_DELAY", "1"))


def serve(conn):
    conn.sendall(b"Welcome!")
    while True:
        data = conn.recv(1024)
        time.sleep(PAUSE)
        if not data or data == b"exit":
            break
        conn.sendall(b"Hello, " + data + b"!")
    conn.close()


def main():
    port = int(sys.argv[1])
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(5)
    print("listening", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
