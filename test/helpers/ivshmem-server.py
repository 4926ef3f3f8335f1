#!/usr/bin/env python3
"""A minimal ivshmem server (QEMU's docs/specs/ivshmem-spec), since Debian ships none.

Usage: ivshmem-server.py SOCKET SIZE VECTORS
Listens on SOCKET; to each client it sends, as the spec says: the protocol
version (0), the client's ID, -1 with the shared memory's descriptor (a memfd
of SIZE bytes), then its own interrupt setup: its ID with one eventfd per
vector. No peer notifications (the tests run one client). Prints 'ready' once
it listens; exits when stdin closes.
"""
import os
import socket
import struct
import sys
import threading

path, size, vectors = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
memfd = os.memfd_create('ivshmem')
os.ftruncate(memfd, size)
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen()
clients = []


def serve():
    peer = 0
    while True:
        conn, _ = server.accept()
        msg = lambda n: struct.pack('<q', n)
        conn.sendall(msg(0))
        conn.sendall(msg(peer))
        socket.send_fds(conn, [msg(-1)], [memfd])
        for _ in range(vectors):
            socket.send_fds(conn, [msg(peer)], [os.eventfd(0)])
        clients.append(conn)
        peer += 1


threading.Thread(target=serve, daemon=True).start()
print('ready', flush=True)
sys.stdin.read()
os.unlink(path)
