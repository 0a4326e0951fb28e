#!/usr/bin/env python3
"""A broken solution of exercise 2: a correct hello server that serves one connection after the
other (no threads), so a second client waits until the first has gone.

Usage: no_threads.py PORT. Each answer takes a second, as in the tutorial.
"""
import os
import socket
import sys
import time

# netlab tests: note this process id, so the test can check it is gone after the run.
if os.environ.get("NETLAB_TEST_PIDS"):
    with open(os.environ["NETLAB_TEST_PIDS"], "a") as pids:
        pids.write("%d\n" % os.getpid())

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(5)
while True:
    conn, _ = listener.accept()
    conn.sendall(b"Welcome!")
    while True:
        data = conn.recv(1024)
        time.sleep(1)
        if not data or data == b"exit":
            break
        conn.sendall(b"Hello, " + data + b"!")
    conn.close()
