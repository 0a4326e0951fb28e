#!/usr/bin/env python3
"""A broken solution of the TLS hello exercise: it wraps with the certificate it is given but
from a CA of its own making — here, simply, it presents its certificate as both chain and key
file the wrong way round, so that it cannot start. Usage: wrong_key.py PORT CERT_FILE KEY_FILE
"""
import ssl
import sys

context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[3], sys.argv[2])  # the files swapped: ssl.SSLError at start
