#!/usr/bin/env python3
"""tl_client.py mix HOST PORT | ok HOST PORT N | missing HOST PORT N | refused HOST PORT

mix: the telemetry test's known request mix against HOST:PORT (GET 200 x21, GET 404 x5,
GET 503 x3 (35 ms late), POST 201 x1) over 17 connections: one keep-alive connection
(10 x 200, 2 x 404, the POST, its body in a write of its own), 13 new connections (8 x 200,
2 x 404, 3 x 503), a request split over two writes after its start line (200), one split
inside its start line (200), a pipelined pair in one write (200 + 404). Prints the status
codes it got, sorted."""
import http.client
import socket
import sys
import time


def read_response(f):
    """One response from a socket file: its status; the body read by Content-Length."""
    status = int(f.readline().split()[1])
    length = 0
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        k, _, v = line.decode().partition(":")
        if k.lower() == "content-length":
            length = int(v)
    f.read(length)
    return status


def split(host, port, first, rest):
    """One request in two writes 50 ms apart; its status."""
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(first)
    time.sleep(0.05)
    s.sendall(rest)
    f = s.makefile("rb")
    status = read_response(f)
    f.close()
    s.close()
    return status


def mix(host, port):
    got = []
    c = http.client.HTTPConnection(host, port, timeout=10)
    for path in ["/ok"] * 10 + ["/missing"] * 2:
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        got.append(r.status)
    # a POST whose body follows its headers in a second write
    c.putrequest("POST", "/form")
    c.putheader("Content-Length", "100")
    c.endheaders()
    c.send(b"GET / HTTP/1.1\r\n" + b"b" * 84)  # a body that looks like a request
    r = c.getresponse()
    r.read()
    got.append(r.status)
    c.close()
    for path in ["/ok"] * 8 + ["/missing"] * 2 + ["/slow"] * 3:
        c = http.client.HTTPConnection(host, port, timeout=10)
        c.request("GET", path, headers={"Connection": "close"})
        r = c.getresponse()
        r.read()
        got.append(r.status)
        c.close()
    # one request split over two writes after its start line, and one inside it ("GET /o":
    # too short to tell, at first, what it begins)
    got.append(split(host, port, b"GET /ok HTTP/1.1\r\nHost: t\r\n", b"\r\n"))
    got.append(split(host, port, b"GET /o", b"k HTTP/1.1\r\nHost: t\r\n\r\n"))
    # a pipelined pair in one write
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(b"GET /ok HTTP/1.1\r\nHost: t\r\n\r\nGET /missing HTTP/1.1\r\nHost: t\r\n\r\n")
    f = s.makefile("rb")
    got.append(read_response(f))
    got.append(read_response(f))
    f.close()
    s.close()
    return got


def simple(host, port, path, n):
    got = []
    for _ in range(n):
        c = http.client.HTTPConnection(host, port, timeout=10)
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        got.append(r.status)
        c.close()
    return got


def main():
    what, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if what == "mix":
        got = mix(host, port)
    elif what in ("ok", "missing", "slow"):
        got = simple(host, port, "/" + what, int(sys.argv[4]))
    else:
        try:
            socket.create_connection((host, port), timeout=10)
            got = ["connected"]
        except ConnectionRefusedError:
            got = ["refused"]
    print(" ".join(str(g) for g in sorted(got, key=str)))


main()
