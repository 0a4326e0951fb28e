#!/usr/bin/env python3
"""Reference solution of exercises 1 and 2: a thread-per-connection hello server.

Usage: good.py PORT. HELLO_DELAY (seconds, default 0.2) is the pause before each answer.
"""
import os
import socket
import sys
import threading
import time

# netlab tests: note this process id, so the test can check it is gone after the run.
if os.environ.get("NETLAB_TEST_PIDS"):
    with open(os.environ["NETLAB_TEST_PIDS"], "a") as pids:
        pids.write("%d\n" % os.getpid())

DELAY = float(os.environ.get("HELLO_DELAY", "0.2"))


def serve(conn):
    conn.sendall(b"Welcome!")
    while True:
        data = conn.recv(1024)
        time.sleep(DELAY)
        if not data or data == b"exit":
            break
        conn.sendall(b"Hello, " + data + b"!")
    conn.close()


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(5)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
