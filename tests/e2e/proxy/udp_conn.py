#!/usr/bin/env python3
"""Connected-UDP clients and a logging UDP server for updates.sh.

  udp_conn.py serve NAME PORT
      Answer every datagram with NAME; print "TIME_NS PAYLOAD" for each one received.
  udp_conn.py send HOST PORT STOPFILE
      A send-only client: one connected socket, a datagram "SEQ" every 20 ms, never a recv().
      Prints "port P" first, then "TIME_NS SEQ ok" or "TIME_NS SEQ ERRNO-NAME" per send(), until
      STOPFILE exists.
  udp_conn.py probe HOST PORT
      Ask until some backend answers (the service is programmed); print its answer.
  udp_conn.py ask HOST PORT WANT STOPFILE
      A resolver-like client: a connected socket that sends "q" and blocks in recv() (1 s
      timeout, then asks again on the same socket). Sockets are opened until one is answered by
      WANT. Prints "first WANT", then one line per event: "answer NAME", "timeout" or
      "error ERRNO-NAME" (and stops on an error of send()), until STOPFILE exists.
TIME_NS is CLOCK_REALTIME (the same clock for every namespace of the host).
"""
import errno
import os
import socket
import sys
import time


def name(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def serve(me, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(port)))
    while True:
        data, peer = s.recvfrom(2048)
        print(time.time_ns(), data.decode(errors="replace"), flush=True)
        s.sendto(me.encode(), peer)


def send(host, port, stop):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, int(port)))
    print("port", s.getsockname()[1], flush=True)
    seq = 0
    while not os.path.exists(stop):
        seq += 1
        try:
            s.send(str(seq).encode())
            res = "ok"
        except OSError as e:
            res = name(e)
        print(time.time_ns(), seq, res, flush=True)
        time.sleep(0.02)


def first_answer(host, port, timeout, want=None, log=False):
    """Connected sockets, one after the other, each sending "q", until one is answered (by
    WANT when given); that socket and its answer. log: each miss on stderr."""
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        try:
            s.connect((host, int(port)))
            s.send(b"q")
            got = s.recv(100).decode()
            if want is None or got == want:
                return s, got
        except OSError as e:
            if log:
                print("retry", name(e) if e.errno else "timeout", file=sys.stderr, flush=True)
            time.sleep(0.05)
        s.close()


def probe(host, port):
    print(first_answer(host, port, 0.2)[1])


def ask(host, port, want, stop):
    s = first_answer(host, port, 1, want, log=True)[0]
    print("first", want, flush=True)
    s.settimeout(1)
    while not os.path.exists(stop):
        try:
            print("answer", s.recv(100).decode(), flush=True)
            continue
        except socket.timeout:
            print("timeout", flush=True)
        except OSError as e:
            print("error", name(e), flush=True)
        try:
            s.send(b"q")
        except OSError as e:
            print("error", name(e), flush=True)
            return


if __name__ == "__main__":
    {"serve": serve, "send": send, "probe": probe, "ask": ask}[sys.argv[1]](*sys.argv[2:])
