#!/usr/bin/env python3
"""netlab's own test peer: a hello server that ignores SIGTERM (so that netlab must SIGKILL it)
and says so on stdout. Usage: stubborn_server.py PORT. Writes its pid to NETLAB_TEST_PIDS."""
import os
import signal
import socket
import sys

if os.environ.get("NETLAB_TEST_PIDS"):
    with open(os.environ["NETLAB_TEST_PIDS"], "a") as pids:
        pids.write("%d\n" % os.getpid())
signal.signal(signal.SIGTERM, lambda *_: print("ignoring SIGTERM", flush=True))
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(5)
print("serving", flush=True)
while True:
    conn, _ = listener.accept()
    conn.sendall(b"Welcome!")
    conn.close()
