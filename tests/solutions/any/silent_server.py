#!/usr/bin/env python3
"""A broken solution of every server exercise: it listens, accepts, reads, and never answers."""
import os
import socket
import sys
import threading

# netlab tests: note this process id, so the test can check it is gone after the run.
if os.environ.get("NETLAB_TEST_PIDS"):
    with open(os.environ["NETLAB_TEST_PIDS"], "a") as pids:
        pids.write("%d\n" % os.getpid())


def serve(conn):
    while conn.recv(1024):
        pass
    conn.close()


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(5)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
