#!/usr/bin/env python3
"""netlab's own test peer: a raw HTTP/1.1 client, written after the behaviour of the socket
tutorial netlab models: send "GET / HTTP/1.1", read until the server closes, print the header,
write the body to a file.

Usage: http_client.py PORT HOST OUTFILE
"""
import socket
import sys

port = int(sys.argv[1])
host = sys.argv[2]
out = sys.argv[3]
family = socket.AF_INET6 if ":" in host else socket.AF_INET
conn = socket.socket(family, socket.SOCK_STREAM)
conn.settimeout(10)
conn.connect((host, port))
conn.sendall(b"GET / HTTP/1.1\r\nHost: www.sina.com.cn\r\nConnection: close\r\n\r\n")
chunks = []
while True:
    chunk = conn.recv(1024)
    if not chunk:
        break
    chunks.append(chunk)
conn.close()
header, body = b"".join(chunks).split(b"\r\n\r\n", 1)
print(header.decode("utf-8"))
with open(out, "wb") as f:
    f.write(body)
