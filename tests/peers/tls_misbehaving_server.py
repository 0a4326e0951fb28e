#!/usr/bin/env python3
"""netlab's own test peer: a TLS server that ends its stream wrongly, one connection, then
waits to be stopped. Its TLS is driven by hand (ssl.MemoryBIO) to control every byte.

Usage: tls_misbehaving_server.py PORT CERT_FILE KEY_FILE MODE
  junk_after_close_notify  5000 bytes, then close_notify and 8000 bytes more in one write
  truncated_record         a record of "hello" without its last byte, then the TCP close
Prints "listening" once it accepts.
"""
import socket
import ssl
import sys
import time

port, cert, key, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(5)
print("listening", flush=True)
conn, _ = listener.accept()
incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = context.wrap_bio(incoming, outgoing, server_side=True)
while True:
    try:
        tls.do_handshake()
        break
    except ssl.SSLWantReadError:
        conn.sendall(outgoing.read())
        data = conn.recv(65536)
        if not data:
            sys.exit(1)
        incoming.write(data)
conn.sendall(outgoing.read())
if mode == "junk_after_close_notify":
    tls.write(b"A" * 5000)
    conn.sendall(outgoing.read())
    time.sleep(0.3)
    try:
        tls.unwrap()
    except ssl.SSLWantReadError:
        pass
    conn.sendall(outgoing.read() + b"\x17\x03\x03" + b"J" * 8000)
elif mode == "truncated_record":
    tls.write(b"hello")
    record = outgoing.read()
    conn.sendall(record[:-1])
    time.sleep(0.1)
    conn.close()
time.sleep(30)
