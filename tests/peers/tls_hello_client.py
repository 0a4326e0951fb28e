#!/usr/bin/env python3
"""netlab's own test peer: the tutorial's hello client over TLS, checking the server's
certificate against a CA file (`ssl.create_default_context(cafile=…)`). Prints the greeting,
the answers to three names and the TLS version, then sends "exit".

Usage: tls_hello_client.py PORT CA_FILE [HOST] [SERVER_NAME]
"""
import socket
import ssl
import sys

port, ca_file = int(sys.argv[1]), sys.argv[2]
host = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
name = sys.argv[4] if len(sys.argv) > 4 else "localhost"
context = ssl.create_default_context(cafile=ca_file)
try:
    with socket.create_connection((host, port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=name) as conn:
            print(conn.version())

            def answer():
                # One message: what netlab's server writes at once may come in pieces.
                data = b""
                while not data.endswith(b"!"):
                    piece = conn.recv(1024)
                    if not piece:
                        break
                    data += piece
                return data.decode("utf-8")

            print(answer())
            for who in [b"Michael", b"Tracy", b"Sarah"]:
                conn.sendall(who)
                print(answer())
            conn.sendall(b"exit")
except ssl.SSLCertVerificationError as error:
    print("certificate refused:", error.verify_message, file=sys.stderr)
    sys.exit(2)
