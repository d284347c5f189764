#!/usr/bin/env python3
"""A load client for the e2e tests: new connection per request (HTTP/1.1 GET), one line
per request on stdout: "<start_ns> ok <body>" or "<start_ns> fail <error>". Runs until
the file named by --stop exists. start_ns is CLOCK_MONOTONIC, comparable with the test's."""
import argparse, os, socket, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--host", required=True)
ap.add_argument("--port", type=int, default=80)
ap.add_argument("--stop", required=True)
a = ap.parse_args()
out = sys.stdout
while not os.path.exists(a.stop):
    t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    try:
        s = socket.create_connection((a.host, a.port), timeout=15)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        body = data.split(b"\r\n\r\n", 1)[1].decode().strip() if b"\r\n\r\n" in data else ""
        out.write("%d ok %s\n" % (t0, body) if data.startswith(b"HTTP/1.1 200") else "%d fail bad-response\n" % t0)
    except OSError as e:
        out.write("%d fail %s\n" % (t0, e.__class__.__name__))
    out.flush()
