#!/usr/bin/env bash
# drover-httpd --graceful-stop, which the rollout benchmark (bench/proxy/rollout.sh) relies on
# for its old backends: on SIGTERM a keep-alive connection idle between requests is closed, a
# request already sent (whole, or half) is answered with "Connection: close", a connection
# that has not sent its request yet may still send it, new connections are refused, and the
# server exits once the last connection is gone. Without the option SIGTERM kills at once.
# In a network namespace of its own (unshare -n: only its loopback), so no port is shared.
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
httpd=${DROVER_BUILD_DIR:-$top/build}/bench/httpd/drover-httpd
[ -x "$httpd" ] || { echo "FAIL: build drover-httpd first ($httpd)" >&2; exit 1; }
exec unshare -n sh -c 'ip link set lo up && exec python3 - "$0"' "$httpd" <<'EOF'
import signal, socket, subprocess, sys, time

httpd = sys.argv[1]
REQ = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"


def start(*extra):
    p = subprocess.Popen([httpd, "--port", "8080", "--addr", "127.0.0.1", "--threads", "2"] + list(extra))
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", 8080), timeout=1).close()
            return p
        except OSError:
            time.sleep(0.01)
    sys.exit("FAIL: drover-httpd does not listen")


def answer(s):
    """One response (its headers and Content-Length bytes), or what came before EOF."""
    s.settimeout(3)
    data = b""
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            n = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
            if n and len(body) >= n[0]:
                return data.decode()
        chunk = s.recv(4096)
        if not chunk:
            return data.decode()
        data += chunk


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


p = start("--graceful-stop", "5")
idle = socket.create_connection(("127.0.0.1", 8080))
idle.sendall(REQ)
if "200 OK" not in answer(idle):
    fail("no answer on the keep-alive connection")
quiet = socket.create_connection(("127.0.0.1", 8080))  # connected, request not sent yet
half = socket.create_connection(("127.0.0.1", 8080))
half.sendall(REQ[:10])  # half a request in flight
time.sleep(0.2)
p.send_signal(signal.SIGTERM)
time.sleep(0.3)
idle.settimeout(3)
try:
    if idle.recv(100) != b"":
        fail("the idle keep-alive connection got bytes it did not ask for")
except socket.timeout:
    fail("the idle keep-alive connection was not closed")
try:
    socket.create_connection(("127.0.0.1", 8080), timeout=1).close()
    fail("a new connection was accepted after SIGTERM")
except ConnectionRefusedError:
    pass
if p.poll() is not None:
    fail("exited with connections still open (%s)" % p.returncode)
half.sendall(REQ[10:])
a = answer(half)
if "200 OK" not in a or "Connection: close" not in a:
    fail("the half-sent request: %r" % a)
if p.poll() is not None:
    fail("exited before the last connection's request")
quiet.sendall(REQ)
a = answer(quiet)
if "200 OK" not in a or "Connection: close" not in a:
    fail("the request sent after SIGTERM on an open connection: %r" % a)
try:
    rc = p.wait(3)
except subprocess.TimeoutExpired:
    p.kill()
    fail("still running once every connection was closed")
if rc != 0:
    fail("exit status %d" % rc)
print("ok: graceful stop: idle keep-alive closed, new connections refused, open ones answered "
      "with Connection: close, exit 0 after the last")

p = start()
c = socket.create_connection(("127.0.0.1", 8080))
p.send_signal(signal.SIGTERM)
try:
    rc = p.wait(3)
except subprocess.TimeoutExpired:
    p.kill()
    fail("without --graceful-stop SIGTERM did not stop the server")
if rc != -signal.SIGTERM:
    fail("without --graceful-stop: exit status %d, want death by SIGTERM" % rc)
print("ok: without --graceful-stop SIGTERM kills at once")
EOF
