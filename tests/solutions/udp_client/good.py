#!/usr/bin/env python3
"""Reference solution of exercise 3: a UDP client that sends again when no answer comes.

Usage: good.py HOST PORT
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
sock.settimeout(1)
for attempt in range(5):
    sock.sendto(b"ping", (host, port))
    try:
        answer = sock.recv(1024)
    except socket.timeout:
        continue
    print(answer.decode("utf-8"))
    sys.exit(0)
sys.exit(1)
