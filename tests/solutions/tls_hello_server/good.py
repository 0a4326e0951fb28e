#!/usr/bin/env python3
"""Reference solution of the TLS hello exercise: the thread-per-connection hello server, each
connection wrapped in TLS with the certificate and key it is given.

Usage: good.py PORT CERT_FILE KEY_FILE
"""
import socket
import ssl
import sys
import threading

context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[2], sys.argv[3])


def serve(conn):
    try:
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"Welcome!")
            while True:
                data = tls.recv(1024)
                if not data or data == b"exit":
                    break
                tls.sendall(b"Hello, " + data + b"!")
    except (ssl.SSLError, OSError):
        pass


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(5)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
