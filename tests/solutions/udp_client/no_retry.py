#!/usr/bin/env python3
"""A broken solution of exercise 3: it sends once and waits; the lost datagram is never resent.

Usage: no_retry.py HOST PORT
"""
import os
import socket
import sys

# netlab tests: note this process id, so the test can check it is gone after the run.
if os.environ.get("NETLAB_TEST_PIDS"):
    with open(os.environ["NETLAB_TEST_PIDS"], "a") as pids:
        pids.write("%d\n" % os.getpid())

host, port = sys.argv[1], int(sys.argv[2])
sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(2)
sock.sendto(b"ping", (host, port))
print(sock.recv(1024).decode("utf-8"))
