#!/usr/bin/env python3
"""A broken solution of exercise 1: it crashes before it listens (a typo in a name)."""
import os
import socket
import sys

# netlab tests: note this process id, so the test can check it is gone after the run.
if os.environ.get("NETLAB_TEST_PIDS"):
    with open(os.environ["NETLAB_TEST_PIDS"], "a") as pids:
        pids.write("%d\n" % os.getpid())

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listne(5)
