#!/usr/bin/env bash
# Socket LB end to end: connect()/sendmsg() to a ClusterIP are translated in the kernel for
# processes in the proxy's cgroup; getpeername()/recvmsg() show the ClusterIP; all three
# backends serve; named targetPort, several ports, TCP and UDP; a service without endpoints
# refuses connect() with ECONNREFUSED; ClientIP affinity pins a client to one backend. The
# socket path's counters rise and the tc path's do not; per service, connects to one
# service count for it and for no other.
source "$(dirname "$0")/common.sh"
e2e_world sl
e2e_tmp
m=$E2E_TMP
write_service "$m/web.yaml" web 10.96.0.10
write_slice "$m/web-eps.yaml" web 10.244.1.11 10.244.1.12 10.244.1.13
write_service "$m/empty.yaml" empty 10.96.0.11
write_service "$m/sticky.yaml" sticky 10.96.0.12 "sessionAffinity: ClientIP"
write_slice "$m/sticky-eps.yaml" sticky 10.244.1.11 10.244.1.12 10.244.1.13
topo_proxy --manifests "$m" --node node1

got=$(distinct_bodies --until "backend-1 backend-2 backend-3" 30 in_pod c1 curl -s --max-time 10 http://10.96.0.10/)
expect_eq "$got" "backend-1 backend-2 backend-3" "ClusterIP TCP reaches every backend"
pass "TCP to 10.96.0.10:80 reached all 3 backends"

peer=$(in_pod c1 python3 -c '
import socket
s = socket.create_connection(("10.96.0.10", 80), timeout=10)
print("%s:%d" % s.getpeername())')
expect_eq "$peer" "10.96.0.10:80" "getpeername shows the ClusterIP"
pass "getpeername() = 10.96.0.10:80"


# UDP, unconnected (sendmsg4 + recvmsg4): the reply's source is the ClusterIP. The datagrams
# one socket sends to the service are one flow and stay on one backend, as under kube-proxy's
# conntrack; new sockets are new flows, spread over all backends.
udp=$(in_pod c1 python3 -c '
import socket
seen = set(); src = set(); flow = set()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(10)
for i in range(20):
    s.sendto(b"q", ("10.96.0.10", 53)); data, addr = s.recvfrom(100)
    flow.add(data.decode()); src.add("%s:%d" % addr)
for i in range(30):
    t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); t.settimeout(10)
    t.sendto(b"q", ("10.96.0.10", 53)); data, addr = t.recvfrom(100)
    seen.add(data.decode()); src.add("%s:%d" % addr); t.close()
print(len(flow), "|", " ".join(sorted(seen)), "|", " ".join(sorted(src)))')
expect_eq "$udp" "1 | backend-1 backend-2 backend-3 | 10.96.0.10:53" "UDP sendto/recvfrom"
pass "UDP 10.96.0.10:53: one socket's 20 datagrams reached one backend, 30 sockets all backends, replies come from the ClusterIP"

# UDP, connected (connect4 + getpeername4).
cudp=$(in_pod c1 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(10)
s.connect(("10.96.0.10", 53)); s.send(b"q"); print(s.recv(100).decode(), "%s:%d" % s.getpeername())')
case "$cudp" in backend-[123]\ 10.96.0.10:53) ;; *) fail "connected UDP: $cudp" ;; esac
pass "connected UDP works, getpeername = ClusterIP"

# No endpoints: ECONNREFUSED at once (curl exit 7), not a timeout (28).
set +e
in_pod c1 curl -s --max-time 10 http://10.96.0.11/ >/dev/null
rc=$?
set -e
expect_eq "$rc" 7 "curl to a service without endpoints"
err=$(in_pod c1 python3 -c '
import socket, errno
try:
    socket.create_connection(("10.96.0.11", 80), timeout=10)
    print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))')
expect_eq "$err" ECONNREFUSED "connect() to a service without endpoints"
pass "no endpoints: connect() fails with ECONNREFUSED"

# ClientIP affinity: one client, one backend.
got=$(distinct_bodies 20 in_pod c1 curl -s --max-time 10 http://10.96.0.12/)
case "$got" in backend-[123]) ;; *) fail "affinity: one client saw '$got'" ;; esac
pass "sessionAffinity ClientIP: 20 requests all went to $got"

sock=$(stat_sum socket connect)
tc=$(stat_sum tc forwarded)
refused=$(stat_sum socket refused)
expect_ge "$sock" 80 "socket-path connects counted"
expect_ge "$refused" 2 "socket-path refusals counted"
expect_eq "$tc" 0 "tc path must not have seen this traffic"
pass "counters: socket connects=$sock refused=$refused, tc forwarded=$tc"

# Per service: connects to one service count for that frontend only.
connect_to() { # IP N
	in_pod c1 python3 -c '
import socket, sys
for i in range(int(sys.argv[2])):
    socket.create_connection((sys.argv[1], 80), timeout=10).close()' "$1" "$2"
}
web0=$(svc_stat default/web:http socket connect)
sticky0=$(svc_stat default/sticky:http socket connect)
connect_to 10.96.0.10 6
web1=$(svc_stat default/web:http socket connect)
sticky1=$(svc_stat default/sticky:http socket connect)
expect_eq "$((web1 - web0)) $((sticky1 - sticky0))" "6 0" "connects counted after 6 to web (web, sticky)"
connect_to 10.96.0.12 4
web2=$(svc_stat default/web:http socket connect)
sticky2=$(svc_stat default/sticky:http socket connect)
expect_eq "$((web2 - web1)) $((sticky2 - sticky1))" "0 4" "connects counted after 4 to sticky (web, sticky)"
pass "per-service counters: web $web0 -> $web2, sticky $sticky0 -> $sticky2"
