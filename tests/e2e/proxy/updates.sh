#!/usr/bin/env bash
# Updates under load. A backend removed from the EndpointSlice while clients keep opening
# connections: once the proxy has applied the change (and the backend's server is then
# killed, as a deleted pod's would be), every request that starts afterwards succeeds on the
# remaining backends — through the socket LB and through tc. A connected UDP socket pinned to
# the removed backend is closed (ECONNABORTED) instead of being left talking to it; the client
# reconnects to a live one.
source "$(dirname "$0")/common.sh"
e2e_world up
e2e_tmp
m=$E2E_TMP
write_service "$m/web.yaml" web 10.96.0.10
write_slice "$m/web-eps.yaml" web 10.244.1.11 10.244.1.12 10.244.1.13
topo_proxy --manifests "$m" --node node1
now_ns() { python3 -c 'import time; print(time.clock_gettime_ns(time.CLOCK_MONOTONIC))'; }

# remove_under_load RUNNER POD LABEL: RUNNER is in_pod (socket LB) or in_pod_nolb (tc).
# Each round has a client of its own: connections of the socket-LB round go straight to the
# backends' addresses and leave TIME_WAIT there; the same client reusing a port through the
# DNAT path would meet them (PAWS: a 1 s SYN retransmission), which is not what is measured.
remove_under_load() {
	local run=$1 pod=$2 label=$3 out=$m/load-$3.txt stop=$m/stop-$3 syncs t_change bad after
	rm -f "$stop"
	$run "$pod" python3 "$here/load.py" --host 10.96.0.10 --stop "$stop" >"$out" &
	local load=$!
	TOPO_PIDS+=("$load")
	wait_lines "$out" 20
	syncs=$(grep -c "proxy: sync:" "$TOPO_LOG")
	write_slice "$m/web-eps.yaml" web 10.244.1.11 10.244.1.12
	wait_log "proxy: sync:" $((syncs + 1))
	t_change=$(now_ns)
	kill "$TOPO_BACKEND_PID_b3"
	# 50 more requests, all started after the change.
	wait_lines "$out" $(($(wc -l <"$out") + 50))
	touch "$stop"
	wait "$load" || true
	after=$(awk -v t="$t_change" '$1 > t' "$out" | wc -l)
	bad=$(awk -v t="$t_change" '$1 > t && ($2 != "ok" || $3 == "backend-3")' "$out" | wc -l)
	expect_ge "$after" 20 "$label: requests after the change"
	expect_eq "$bad" 0 "$label: requests after the change that failed or reached the removed backend"
	pass "$label: $after requests after the change, none lost ($(wc -l <"$out") in all)"
	# Restore for the next round.
	topo_backend b3 backend-3
	syncs=$(grep -c "proxy: sync:" "$TOPO_LOG")
	write_slice "$m/web-eps.yaml" web 10.244.1.11 10.244.1.12 10.244.1.13
	wait_log "proxy: sync:" $((syncs + 1))
}

topo_pod c2 6 # created after the proxy started: it attaches drv_tc_pod on its own
wait_log "$(topo_pod_prefix)c2: drv_tc_pod on tc ingress"
remove_under_load in_pod c1 socket-lb
remove_under_load in_pod_nolb c2 tc

# Connected UDP pinned to a backend that goes away: the client waits for an answer (as a
# resolver does) when its backend is removed; the proxy destroys the socket, the wait ends
# with ECONNABORTED, and a new socket reaches a live backend.
out=$m/udp.txt
in_pod c1 python3 -u -c '
import socket, errno
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(10)
s.connect(("10.96.0.10", 53)); s.send(b"q"); print("first", s.recv(100).decode())
s.settimeout(20)
try:
    print("still", s.recv(100).decode())
except OSError as e:
    print("closed", errno.errorcode.get(e.errno, e.errno))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(10)
    s.connect(("10.96.0.10", 53)); s.send(b"q"); print("again", s.recv(100).decode())
' >"$out" 2>&1 &
client=$!
TOPO_PIDS+=("$client")
for _ in $(seq 1 1200); do grep -q first "$out" && break; sleep 0.05; done
pinned=$(awk '/^first/ {print $2}' "$out")
case "$pinned" in backend-[123]) ;; *) fail "UDP client did not get a first answer: $(cat "$out")" ;; esac
keep=()
for i in 1 2 3; do [ "backend-$i" = "$pinned" ] || keep+=("10.244.1.1$i"); done
write_slice "$m/web-eps.yaml" web "${keep[@]}"
wait_log "closed 1 UDP socket"
wait "$client" || true
grep -q "^closed ECONNABORTED" "$out" || fail "connected UDP socket was not closed: $(cat "$out")"
again=$(awk '/^again/ {print $2}' "$out")
[ -n "$again" ] && [ "$again" != "$pinned" ] || fail "UDP reconnect: $(cat "$out")"
pass "connected UDP pinned to $pinned: closed with ECONNABORTED, reconnected to $again"

# An unconnected UDP socket's datagrams to the service are one flow: they keep their backend,
# and when it is removed the next datagram goes to another backend (no error, nothing to
# reconnect), as kube-proxy clears the UDP conntrack entries of a removed endpoint.
out=$m/udpflow.txt
go=$m/udpflow.go
in_pod c1 python3 -u -c '
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(10)
def ask():
    s.sendto(b"q", ("10.96.0.10", 53)); return s.recvfrom(100)[0].decode()
print("first", " ".join(sorted(set(ask() for _ in range(10)))))
while not os.path.exists(sys.argv[1]): time.sleep(0.05)
print("then", " ".join(sorted(set(ask() for _ in range(10)))))
' "$go" >"$out" 2>&1 &
client=$!
TOPO_PIDS+=("$client")
for _ in $(seq 1 1200); do grep -q first "$out" && break; sleep 0.05; done
flow=$(awk '/^first/ {$1 = ""; print substr($0, 2)}' "$out")
case "$flow" in backend-[123]) ;; *) fail "an unconnected UDP socket's datagrams went to '$flow'" ;; esac
rest=()
for i in 1 2 3; do [ "backend-$i" = "$flow" ] || rest+=("10.244.1.1$i"); done
syncs=$(grep -c "proxy: sync:" "$TOPO_LOG")
write_slice "$m/web-eps.yaml" web "${rest[@]}"
wait_log "proxy: sync:" $((syncs + 1))
touch "$go"
wait "$client" || fail "the UDP flow's client failed after its backend was removed: $(cat "$out")"
then=$(awk '/^then/ {$1 = ""; print substr($0, 2)}' "$out")
case "$then" in backend-[123]) [ "$then" != "$flow" ] ;; *) false ;; esac ||
	fail "after $flow was removed the flow's datagrams went to '$then'"
pass "an unconnected UDP flow stayed on $flow, then moved to $then alone when $flow was removed"
