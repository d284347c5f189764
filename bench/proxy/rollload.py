#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""rollload: the load of the rollout-under-load benchmark (bench/proxy/rollout.sh): HTTP GETs
to one address at a steady rate until the file --stop exists, one line per request on stdout:

  KIND START_NS END_NS OUTCOME [BODY]

KIND is "ka" (a keep-alive client) or "new" (a connection per request, "Connection: close");
times are CLOCK_REALTIME (date +%s%N); OUTCOME is ok, or the way the request failed:
refused, reset, connect-timeout, timeout (no answer in --timeout), eof (the connection closed
before a whole response), status-NNN, or an errno name.

Each client is a thread sending --rate requests a second on a fixed schedule (one late
request does not make the next ones early). A keep-alive client keeps its connection for
as long as the server does: before a request it looks whether the server has closed the
idle connection and then connects again (as an HTTP client's pool does); a request whose
reused connection closes or resets before any byte of an answer is sent once more on a new
connection (as HTTP clients retry idempotent requests, RFC 9110 9.2.2), and the line says
"retried" at its end; only the outcome of the retry counts. A response with "Connection:
close" ends the connection after it.
"""
import argparse
import errno
import os
import select
import socket
import sys
import threading
import time

REQ_KA = b"GET / HTTP/1.1\r\nHost: rollout\r\n\r\n"
REQ_CLOSE = b"GET / HTTP/1.1\r\nHost: rollout\r\nConnection: close\r\n\r\n"


class Failed(Exception):
    """A request failed: .kind names how, .answered says whether any byte came back."""

    def __init__(self, kind, answered=False):
        super().__init__(kind)
        self.kind, self.answered = kind, answered


def errname(e):
    if isinstance(e, socket.timeout):
        return "timeout"
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    if isinstance(e, ConnectionResetError):
        return "reset"
    return errno.errorcode.get(e.errno, e.__class__.__name__) if e.errno else e.__class__.__name__


def connect(addr, timeout):
    try:
        return socket.create_connection(addr, timeout=timeout)
    except socket.timeout:
        raise Failed("connect-timeout")
    except OSError as e:
        raise Failed(errname(e))


def exchange(s, req):
    """Send one request, read one response. Returns (body, server_closes)."""
    data = b""
    try:
        s.sendall(req)
        while True:
            head_end = data.find(b"\r\n\r\n")
            if head_end >= 0:
                head = data[:head_end].decode("latin-1").lower()
                length = 0
                for line in head.split("\r\n")[1:]:
                    k, _, v = line.partition(":")
                    if k.strip() == "content-length":
                        length = int(v)
                if len(data) >= head_end + 4 + length:
                    break
            chunk = s.recv(4096)
            if not chunk:
                raise Failed("eof", bool(data))
            data += chunk
    except OSError as e:
        raise Failed(errname(e), bool(data))
    status = head.split("\r\n", 1)[0].split()
    if len(status) < 2 or not status[1].startswith("2"):
        raise Failed("status-%s" % (status[1] if len(status) > 1 else "?"), True)
    body = data[head_end + 4:head_end + 4 + length].decode("latin-1").split()
    return (body[0] if body else "-"), "connection: close" in head


def closed_by_server(s):
    """An idle keep-alive connection the server has closed is readable (EOF or RST)."""
    r, _, _ = select.select([s], [], [], 0)
    return bool(r)


class Client(threading.Thread):
    def __init__(self, a, kind, out, lock, offset):
        super().__init__(daemon=True)
        self.a, self.kind, self.out, self.lock, self.offset = a, kind, out, lock, offset
        self.sock = None

    def drop(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def request(self):
        addr, t = (self.a.host, self.a.port), self.a.timeout
        if self.kind == "new":
            s = connect(addr, t)
            try:
                return exchange(s, REQ_CLOSE)[0], ""
            finally:
                s.close()
        retried = ""
        if self.sock and closed_by_server(self.sock):
            self.drop()
        reused = self.sock is not None
        if not self.sock:
            self.sock = connect(addr, t)
        try:
            body, closes = exchange(self.sock, REQ_KA)
        except Failed as f:
            self.drop()
            if not reused or f.answered or f.kind not in ("eof", "reset", "EPIPE"):
                raise
            # the server closed the idle connection as the request went out
            retried = " retried"
            self.sock = connect(addr, t)
            try:
                body, closes = exchange(self.sock, REQ_KA)
            except Failed:
                self.drop()
                raise
        if closes:
            self.drop()
        return body, retried

    def run(self):
        period = 1.0 / self.a.rate
        nxt = time.monotonic() + self.offset
        while not os.path.exists(self.a.stop):
            now = time.monotonic()
            if now < nxt:
                time.sleep(nxt - now)
            nxt = max(nxt + period, time.monotonic() - period)
            t0 = time.time_ns()
            try:
                body, note = self.request()
                line = "%s %d %d ok %s%s\n" % (self.kind, t0, time.time_ns(), body, note)
            except Failed as f:
                line = "%s %d %d %s\n" % (self.kind, t0, time.time_ns(), f.kind)
            with self.lock:
                self.out.write(line)
        self.drop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--stop", required=True, help="stop once this file exists")
    ap.add_argument("--keepalive", type=int, default=4, help="keep-alive clients")
    ap.add_argument("--new", type=int, default=4, help="connection-per-request clients")
    ap.add_argument("--rate", type=float, default=50, help="requests/s of each client")
    ap.add_argument("--timeout", type=float, default=3, help="seconds for a connect or answer")
    a = ap.parse_args()
    lock = threading.Lock()
    n = a.keepalive + a.new
    # the clients' schedules spread over one period
    clients = [Client(a, "ka" if i < a.keepalive else "new", sys.stdout, lock, i / n / a.rate)
               for i in range(n)]
    for c in clients:
        c.start()
    while not os.path.exists(a.stop):
        time.sleep(0.05)
        with lock:
            sys.stdout.flush()
    for c in clients:
        c.join(a.timeout * 2 + 1)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
