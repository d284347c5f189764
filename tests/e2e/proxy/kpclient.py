#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""kpclient: the client program of the kube-proxy comparison suite (kpcompare.sh). It runs
the same way against either proxy and prints one outcome line, built only from what a client
sees: which backend answered (drover-httpd's body "backend-N [peer]" or UDP "backend-N"),
the errno a call failed with, or that nothing came back in --wait seconds ("timeout").
Every attempt is logged to stderr.

  kpclient.py spread tcp|udp IP:PORT [-n N]
      N new connections (TCP: a GET each; UDP: a new connected socket each, one datagram).
      Prints the distinct outcomes, sorted, comma-separated: "b1<client,b2<client",
      "ECONNREFUSED", "timeout". With --count, prints the number of distinct outcomes.
  kpclient.py flow IP:PORT [-n N]
      one unconnected UDP socket, N datagrams (sendto/recvfrom): the distinct backends.
  kpclient.py hold tcp|udp IP:PORT --ready FILE --go FILE [-n N]
      one connection (TCP keep-alive; UDP a connected socket) and one exchange; then FILE
      --ready is written and, once FILE --go exists, N more exchanges on the same
      connection, --every seconds apart (TCP: up to the first error). Prints
      "FIRST -> LATER" (LATER the distinct outcomes of those exchanges).
  kpclient.py batch LIST DIR
      every line "NAME ARGS..." of LIST (ARGS as above) at once, one thread each; NAME's
      outcome goes to DIR/NAME.out, its attempts to DIR/NAME.log.

The TCP body's peer is named from the client's side: "client" (the client's own address:
not masqueraded), "node" (one of --node-ips: masqueraded to the node) or the address itself.
"""
import argparse
import errno
import os
import random
import socket
import sys
import threading
import time

WAIT = 10.0


class Case:
    """One case's run: its arguments, the client's view of addresses, its attempt log."""

    def __init__(self, a):
        self.a = a
        self.node_ips = set((a.node_ips or "").split(",")) - {""}
        self.me = set([a.src] if a.src else [])
        self.lines = []

    def log(self, msg):
        self.lines.append("kpclient: %s" % msg)

    def body(self, text):
        """ "backend-2 10.244.1.5" -> "b2<client" """
        f = text.split()
        if not f or not f[0].startswith("backend-"):
            return "garbage(%s)" % text.strip()[:40]
        name = "b" + f[0][len("backend-"):]
        if len(f) < 2:
            return name
        peer = f[1]
        who = "client" if peer in self.me else "node" if peer in self.node_ips else peer
        return "%s<%s" % (name, who)


def err_name(e):
    if isinstance(e, socket.timeout):
        return "timeout"
    return errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__


def addr(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


def http_once(sock, n):
    sock.sendall(b"GET / HTTP/1.1\r\nHost: kpcompare\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(4096)
        if not d:
            raise ConnectionResetError(errno.ECONNRESET, "closed by peer")
        buf += d
    head, body = buf.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(body) < length:
        d = sock.recv(4096)
        if not d:
            raise ConnectionResetError(errno.ECONNRESET, "closed by peer")
        body += d
    return n.body(body.decode(errors="replace"))


def bind_port(s, addr):
    """Bind s to addr and a free port of KPCLIENT_PORTS ("LO-HI") if set, else any port."""
    span = os.environ.get("KPCLIENT_PORTS")
    if not span:
        if addr:
            s.bind((addr, 0))
        return
    lo, hi = (int(x) for x in span.split("-"))
    for _ in range(200):
        try:
            s.bind((addr or "0.0.0.0", random.randint(lo, hi)))
            return
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
    raise OSError(errno.EADDRINUSE, "no free port in " + span)


def connect(a, dst):
    """A TCP connection or a connected UDP socket (a.proto) to dst, from --src if given."""
    kind = socket.SOCK_STREAM if a.proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, kind)
    s.settimeout(a.wait)
    bind_port(s, a.src)
    s.connect(dst)
    return s


def udp_once(s, n):
    s.send(b"q")
    return n.body(s.recv(2048).decode(errors="replace"))


def exchange(s, n):
    """One request and its answer on s: a GET over TCP, a datagram over UDP."""
    return (http_once if n.a.proto == "tcp" else udp_once)(s, n)


def attempt(fn):
    try:
        return fn()
    except OSError as e:
        return err_name(e)


def cmd_spread(n):
    a = n.a
    dst = addr(a.dst)
    seen = []

    def one():
        s = connect(a, dst)
        try:
            n.me.add(s.getsockname()[0])
            return exchange(s, n)
        finally:
            s.close()

    for i in range(a.n):
        o = attempt(one)
        n.log("%s %s attempt %d: %s" % (a.proto, a.dst, i + 1, o))
        seen.append(o)
        # a drop costs --wait per attempt: a first attempt that got nothing says enough
        if seen == ["timeout"]:
            break
    d = sorted(set(seen))
    return str(len(d)) if a.count else ",".join(d)


def cmd_flow(n):
    a = n.a
    dst = addr(a.dst)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(a.wait)
    seen = []
    for i in range(a.n):
        def one():
            s.sendto(b"q", dst)
            return n.body(s.recvfrom(2048)[0].decode(errors="replace"))
        o = attempt(one)
        n.log("flow %s datagram %d: %s" % (a.dst, i + 1, o))
        seen.append(o)
    d = sorted(set(seen))
    return str(len(d)) if a.count else ",".join(d)


def cmd_hold(n):
    a = n.a
    dst = addr(a.dst)
    s = None
    try:
        s = connect(a, dst)
        n.me.add(s.getsockname()[0])
        first = exchange(s, n)
    except OSError as e:
        first = err_name(e)
    n.log("hold %s %s first: %s" % (a.proto, a.dst, first))
    with open(a.ready + ".tmp", "w") as f:
        f.write(first + "\n")
    os.rename(a.ready + ".tmp", a.ready)
    while not os.path.exists(a.go):
        time.sleep(0.02)
    later = []
    for i in range(a.n):
        if i:
            time.sleep(a.every)
        if s is None:
            o = "no-socket"
        else:
            o = attempt(lambda: exchange(s, n))
        n.log("hold %s %s after the change, %d: %s" % (a.proto, a.dst, i + 1, o))
        later.append(o)
        if a.proto == "tcp" and not o.startswith("b"):
            break  # a TCP connection that failed once is gone (the rest would be EPIPE)
    return "%s -> %s" % (first, ",".join(sorted(set(later))))


def parser():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("spread", "flow", "hold", "batch"))
    ap.add_argument("args", nargs="+")
    ap.add_argument("-n", type=int, help="attempts [spread, flow: 30; hold: 8]")
    ap.add_argument("--count", action="store_true")
    ap.add_argument("--src")
    ap.add_argument("--node-ips", default="10.244.1.1,192.168.100.1")
    ap.add_argument("--wait", type=float, default=WAIT)
    ap.add_argument("--ready")
    ap.add_argument("--go")
    ap.add_argument("--every", type=float, default=0.25)
    return ap


def run_case(ap, argv):
    """One case's outcome and attempt log; argv as on the command line (not batch)."""
    a = ap.parse_args(argv)
    if a.n is None:
        a.n = 8 if a.what == "hold" else 30
    if a.what == "flow":
        if len(a.args) != 1:
            ap.error("flow IP:PORT")
        a.dst = a.args[0]
        n = Case(a)
        return cmd_flow(n), n.lines
    if len(a.args) != 2 or a.args[0] not in ("tcp", "udp"):
        ap.error("%s tcp|udp IP:PORT" % a.what)
    a.proto, a.dst = a.args
    n = Case(a)
    if a.what == "spread":
        return cmd_spread(n), n.lines
    if not a.ready or not a.go:
        ap.error("hold needs --ready and --go")
    return cmd_hold(n), n.lines


def batch(ap, listfile, outdir):
    """Every line "NAME ARGS..." of listfile at once, each in a thread of its own: NAME's
    outcome goes to outdir/NAME.out, its attempts to outdir/NAME.log. One process for many
    cases keeps the suite cheap on a loaded machine."""
    threads = []

    def one(name, argv):
        try:
            out, lines = run_case(ap, argv)
        except SystemExit:
            out, lines = "(bad arguments: %s)" % " ".join(argv), []
        except Exception as e:  # noqa: BLE001 - reported as the case's outcome
            out, lines = "(client error: %r)" % e, []
        with open(os.path.join(outdir, name + ".log"), "w") as f:
            f.write("".join(ln + "\n" for ln in lines))
        with open(os.path.join(outdir, name + ".out"), "w") as f:
            f.write(out + "\n")

    with open(listfile) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            t = threading.Thread(target=one, args=(w[0], w[1:]))
            t.start()
            threads.append(t)
    for t in threads:
        t.join()


def main():
    ap = parser()
    if len(sys.argv) == 4 and sys.argv[1] == "batch":
        batch(ap, sys.argv[2], sys.argv[3])
        return
    out, lines = run_case(ap, sys.argv[1:])
    for ln in lines:
        sys.stderr.write(ln + "\n")
    print(out)


if __name__ == "__main__":
    main()
