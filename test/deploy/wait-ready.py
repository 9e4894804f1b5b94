#!/usr/bin/env python3
"""Waits for a daemon's readiness notification (the sd_notify protocol: a datagram holding
READY=1 sent to $NOTIFY_SOCKET), so a script starts using dockerd the moment it is ready
instead of polling it.

usage: wait-ready.py SOCKET_PATH TIMEOUT_SECONDS

Prints "listening" once the socket is bound (start the daemon with NOTIFY_SOCKET=SOCKET_PATH
after reading it), then "ready" and exits 0 on READY=1; exits 1 after TIMEOUT_SECONDS.
"""
import socket
import sys
import time

path, timeout = sys.argv[1], float(sys.argv[2])
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
print('listening', flush=True)
deadline = time.monotonic() + timeout
while True:
    left = deadline - time.monotonic()
    if left <= 0:
        print('timeout: no READY=1 within %gs' % timeout, flush=True)
        sys.exit(1)
    sock.settimeout(left)
    try:
        data = sock.recv(4096)
    except socket.timeout:
        continue
    if b'READY=1' in data.split(b'\n'):
        print('ready', flush=True)
        sys.exit(0)
