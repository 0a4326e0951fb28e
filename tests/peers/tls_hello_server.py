#!/usr/bin/env python3
"""netlab's own test peer: the tutorial's hello server over TLS, as a course's TLS chapter writes
it (`ssl.SSLContext.wrap_socket(conn, server_side=True)`): greeting, "Hello, <name>!", "exit".

Usage: tls_hello_server.py PORT CERT_FILE KEY_FILE [CLIENT_CA_FILE]. With CLIENT_CA_FILE, a
client must show a certificate signed by it. Prints "listening" once it accepts connections.
"""
import socket
import ssl
import sys
import threading


def serve(context, conn):
    try:
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"Welcome!")
            while True:
                data = tls.recv(1024)
                if not data or data == b"exit":
                    break
                tls.sendall(b"Hello, " + data + b"!")
    except (ssl.SSLError, OSError) as error:
        print("tls error:", error, file=sys.stderr, flush=True)


def main():
    port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if len(sys.argv) > 4:
        context.load_verify_locations(sys.argv[4])
        context.verify_mode = ssl.CERT_REQUIRED
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(5)
    print("listening", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(context, conn), daemon=True).start()


if __name__ == "__main__":
    main()
