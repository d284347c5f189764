#!/usr/bin/env bash
# tc LB end to end (socket LB off): per-packet DNAT on the client's veth with conntrack,
# reply translation on the backend's veth; TCP and UDP reach every backend, the client sees
# the ClusterIP as its peer; a service without endpoints is answered with ICMP port
# unreachable (connect() fails with ECONNREFUSED at once); a frontend with sessionAffinity
# pins the client. The tc path's counters rise and the socket path's do not; per service,
# traffic to one service moves its own counters and no other's.
source "$(dirname "$0")/common.sh"
e2e_world tc
e2e_tmp
m=$E2E_TMP
write_service "$m/web.yaml" web 10.96.0.10
write_slice "$m/web-eps.yaml" web 10.244.1.11 10.244.1.12 10.244.1.13
write_service "$m/empty.yaml" empty 10.96.0.11
write_service "$m/sticky.yaml" sticky 10.96.0.12 "sessionAffinity: ClientIP"
write_slice "$m/sticky-eps.yaml" sticky 10.244.1.11 10.244.1.12 10.244.1.13
topo_proxy --manifests "$m" --node node1 --no-socket-lb --gc-interval 1 --ct-timeout-other 2

got=$(distinct_bodies --until "backend-1 backend-2 backend-3" 30 in_pod_nolb c1 curl -s --max-time 10 http://10.96.0.10/)
expect_eq "$got" "backend-1 backend-2 backend-3" "ClusterIP over tc reaches every backend"
pass "TCP over tc reached all 3 backends"

# One socket per datagram: one UDP flow is one conntrack entry, pinned to one backend.
udp=$(in_pod_nolb c1 python3 -c '
import socket
seen = set(); src = set()
for i in range(30):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(10)
    s.sendto(b"q", ("10.96.0.10", 53)); data, addr = s.recvfrom(100)
    seen.add(data.decode()); src.add("%s:%d" % addr); s.close()
print(" ".join(sorted(seen)), "|", " ".join(sorted(src)))')
expect_eq "$udp" "backend-1 backend-2 backend-3 | 10.96.0.10:53" "UDP over tc"
pass "UDP over tc reached all backends; replies come from 10.96.0.10:53"

err=$(in_pod_nolb c1 python3 -c '
import socket, errno
try:
    socket.create_connection(("10.96.0.11", 80), timeout=10); print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno) if e.errno else type(e).__name__)')
expect_eq "$err" ECONNREFUSED "connect() over tc to a service without endpoints"
pass "no endpoints over tc: ICMP unreachable -> ECONNREFUSED"

got=$(distinct_bodies 20 in_pod_nolb c1 curl -s --max-time 10 http://10.96.0.12/)
case "$got" in backend-[123]) ;; *) fail "affinity over tc: one client saw '$got'" ;; esac
pass "sessionAffinity over tc: all 20 requests went to $got"

ct=$(drover_bpf ct | tail -1)
case "$ct" in *entries) ;; *) fail "drover bpf ct: $ct" ;; esac
fwd=$(stat_sum tc forwarded)
rep=$(stat_sum tc reply)
rej=$(stat_sum tc 'rejected\(icmp\)')
sock=$(stat_sum socket connect)
expect_ge "$fwd" 100 "tc forwarded packets"
expect_ge "$rep" 100 "tc reply packets"
expect_ge "$rej" 1 "tc ICMP rejects"
expect_eq "$sock" 0 "socket path must not have seen this traffic"
pass "counters: tc forwarded=$fwd reply=$rep rejected=$rej, socket=$sock; $ct"

# Per service: datagrams to one service's UDP port move exactly that frontend's counters
# (UDP: one packet each way per datagram, no stragglers of a closed connection).
udp_to() { # IP N: N datagrams, each answered
	in_pod_nolb c1 python3 -c '
import socket, sys
for i in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(10)
    s.sendto(b"q", (sys.argv[1], 53)); s.recvfrom(100); s.close()' "$1" "$2"
}
counters() { # one line: web:dns fwd/reply, sticky:dns fwd/reply, empty:http rejected
	echo "$(svc_stat default/web:dns tc forwarded) $(svc_stat default/web:dns tc reply)" \
		"$(svc_stat default/sticky:dns tc forwarded) $(svc_stat default/sticky:dns tc reply)" \
		"$(svc_stat default/empty:http tc 'rejected(icmp)')"
}
delta() { # BEFORE AFTER: the difference, field by field
	paste -d' ' <(tr ' ' '\n' <<<"$1") <(tr ' ' '\n' <<<"$2") | awk '{ printf "%s%d", (NR > 1 ? " " : ""), $2 - $1 }'
}
c0=$(counters)
udp_to 10.96.0.10 7
c1=$(counters)
expect_eq "$(delta "$c0" "$c1")" "7 7 0 0 0" "counters after 7 datagrams to web (web:dns fwd/reply, sticky:dns fwd/reply, empty rejected)"
udp_to 10.96.0.12 4
c2=$(counters)
expect_eq "$(delta "$c1" "$c2")" "0 0 4 4 0" "counters after 4 datagrams to sticky"
for _ in 1 2 3; do in_pod_nolb c1 curl -s --max-time 10 http://10.96.0.11/ >/dev/null || true; done
c3=$(counters)
expect_eq "$(delta "$c2" "$c3")" "0 0 0 0 3" "counters after 3 connections refused by empty"
pass "per-service counters: each service's traffic moved its own counters only ($c0 -> $c3)"

# Idle UDP flows leave conntrack after their timeout (2 s here), by the proxy's GC; an open
# TCP connection (6 h timeout) stays. The connection is held open with keep-alive requests
# while the GC runs: a closed one's entry has 10 s left, which a loaded machine can outlast.
held=$E2E_TMP/held.txt
in_pod_nolb c1 python3 -u -c '
import socket, time
s = socket.create_connection(("10.96.0.10", 80), timeout=10)
while True:
    s.sendall(b"GET / HTTP/1.1\r\nHost: web\r\n\r\n"); print(len(s.recv(4096))); time.sleep(0.5)
' >"$held" 2>&1 &
holder=$!
TOPO_PIDS+=("$holder")
for _ in $(seq 1 200); do [ -s "$held" ] && break; sleep 0.05; done
udp_ct() { drover_bpf ct | grep -c "^UDP" || true; }
for _ in $(seq 1 600); do [ "$(udp_ct)" = 0 ] && break; sleep 0.1; done
expect_eq "$(udp_ct)" 0 "UDP conntrack entries after their idle timeout"
expect_ge "$(drover_bpf ct | grep -c "^TCP" || true)" 1 "TCP entries (6 h timeout) still there"
# its flow kept its entry: a re-made one would pick a backend anew, which resets it
kill -0 "$holder" 2>/dev/null && [ "$(tail -1 "$held")" -gt 0 ] 2>/dev/null ||
	fail "the open TCP connection broke while the GC ran: $(tail -3 "$held")"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null || true
pass "conntrack GC removed the idle UDP flows, kept the TCP ones"
