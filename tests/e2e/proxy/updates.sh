#!/usr/bin/env bash
# Updates under load. A backend removed from the EndpointSlice while clients keep opening
# connections: once the proxy has applied the change (and the backend's server is then
# killed, as a deleted pod's would be), every request that starts afterwards succeeds on the
# remaining backends — through the socket LB and through tc. Connected UDP sockets pinned to
# the removed backend carry on to the remaining one, with no error; while their endpoint is
# terminating but serving (another one ready) they stay on it.
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

# Connected UDP sockets pinned to a backend that is removed carry on to the remaining one, as
# under kube-proxy: the proxy connects them to the service again (the socket's own connect4
# picks a live backend). Service dgram (10.96.0.20:54/UDP) has two backends whose receivers
# log every datagram. A send-only client (a datagram every 20 ms, never a recv()) sees no
# error and its datagrams go to the remaining backend from then on, none lost (the removed
# backend's receiver stays up, as a terminating pod's does); a resolver-like client blocked in
# recv() on the same backend sees no error either: its wait times out and its next question on
# the same socket is answered by the remaining backend. Then with no backend left the socket
# cannot be re-connected: it is destroyed (ECONNABORTED), as before.
# dgram_slice "IP[:terminating]"...: dgram's endpoints, ready unless terminating (and serving)
dgram_slice() {
	{
		echo "apiVersion: discovery.k8s.io/v1"
		echo "kind: EndpointSlice"
		echo "metadata: {name: dgram-slice, namespace: default, labels: {kubernetes.io/service-name: dgram}}"
		echo "addressType: IPv4"
		echo "ports: [{name: d, port: 5454, protocol: UDP}]"
		[ $# -gt 0 ] && echo "endpoints:" || echo "endpoints: []"
		for e in "$@"; do
			case $e in
			*:terminating) echo "- {addresses: [${e%%:*}], conditions: {ready: false, serving: true, terminating: true}}" ;;
			*) echo "- {addresses: [$e], conditions: {ready: true}}" ;;
			esac
		done
	} >"$m/dgram-eps.yaml.tmp"
	mv "$m/dgram-eps.yaml.tmp" "$m/dgram-eps.yaml"
}
for i in 1 2; do
	in_pod_nolb "b$i" python3 -u "$here/udp_conn.py" serve "backend-$i" 5454 >"$m/recv$i.txt" 2>&1 &
	TOPO_PIDS+=($!)
done
printf '%s\n' "apiVersion: v1" "kind: Service" "metadata: {name: dgram, namespace: default}" \
	"spec: {clusterIP: 10.96.0.20, ports: [{name: d, port: 54, protocol: UDP, targetPort: 5454}]}" \
	>"$m/dgram.yaml.tmp"
mv "$m/dgram.yaml.tmp" "$m/dgram.yaml"
# start_clients TAG: dgram on backends 1 and 2; a send-only client (output $send, pid $sender)
# connected to backend-$old, and a recv()-blocked one (output $ask, pid $asker) on the same
# backend; $new is the other one. The files' names end in TAG; stop-send and stop-ask stop them.
start_clients() {
	dgram_slice 10.244.1.11 10.244.1.12
	in_pod c1 python3 "$here/udp_conn.py" probe 10.96.0.20 54 >/dev/null
	send=$m/send$1.txt ask=$m/ask$1.txt
	rm -f "$m/stop-send" "$m/stop-ask"
	# In a pid namespace of its own, as a container's process: the proxy finds it by its host pid.
	in_pod c1 unshare --pid --fork --kill-child python3 -u "$here/udp_conn.py" send 10.96.0.20 54 "$m/stop-send" >"$send" 2>&1 &
	sender=$!
	TOPO_PIDS+=("$sender")
	wait_lines "$send" 10
	port=$(awk '$1 == "port" {print $2}' "$send")
	# The backend the socket is connected to, as the kernel has it (getpeername shows the service).
	old=$(in_pod_nolb c1 ss -Hanu "sport = :$port" | sed -n 's/.*10\.244\.1\.1\([12]\):5454.*/\1/p')
	case "$old" in 1 | 2) ;; *) fail "send-only client: no socket connected to a backend ($(in_pod_nolb c1 ss -Hnu))" ;; esac
	new=$((3 - old))
	in_pod c1 python3 -u "$here/udp_conn.py" ask 10.96.0.20 54 "backend-$old" "$m/stop-ask" >"$ask" 2>"$ask.err" &
	asker=$!
	TOPO_PIDS+=("$asker")
	until grep -q "^first" "$ask"; do
		kill -0 "$asker" 2>/dev/null || fail "recv()-blocked client: $(cat "$ask" "$ask.err")"
		sleep 0.05
	done
}
start_clients ""
moved="UDP socket(s) \(of\|connected to\) removed backends" # or, before: closed
c0=$(grep -c -- "$moved" "$TOPO_LOG" || true)
t_change=$(date +%s%N)
dgram_slice "10.244.1.1$new"
wait_log "$moved" $((c0 + 1))
n=$(wc -l <"$send")
wait_lines "$send" $((n + 25))
for _ in $(seq 1 1200); do grep -q "^answer backend-$new\|^error" "$ask" && break; sleep 0.05; done
touch "$m/stop-send"
wait "$sender" || fail "send-only client: $(tail -3 "$send")"
last=$(awk 'NF == 3 && $3 == "ok" {s = $2} END {print s + 0}' "$send")
# Every datagram sent is in a receiver's log before it is counted (a generous deadline).
for _ in $(seq 1 200); do grep -q " $last\$" "$m/recv$new.txt" "$m/recv$old.txt" && break; sleep 0.05; done
res=$(python3 - "$send" "$m/recv$old.txt" "$m/recv$new.txt" "$t_change" <<'EOF'
import sys
sent, errs = {}, {}
for l in open(sys.argv[1]):
    f = l.split()
    if len(f) == 3:
        (sent if f[2] == "ok" else errs)[int(f[1])] = (int(f[0]), f[2])
def arrivals(path):
    return {int(f[1]): int(f[0]) for f in (l.split() for l in open(path)) if len(f) == 2 and f[1].isdigit()}
old, new = arrivals(sys.argv[2]), arrivals(sys.argv[3])
t0 = int(sys.argv[4])
lost = sorted(set(sent) - set(old) - set(new))
switch = min(new) if new else 0
back = [q for q in old if new and q > switch]
late_old = [q for q, t in old.items() if t > t0]
gap_ms = (new[switch] - t0) / 1e6 if new else -1
print(len(errs), len(lost), len(back), len(sent), len(new), len(late_old), "%.0f" % gap_ms,
      ",".join(sorted(set(e for _, e in errs.values()))) or "-")
EOF
)
read -r nerr nlost nback nsent nnew nlate gap_ms errnames <<<"$res"
expect_eq "$nerr" 0 "send-only client: send() errors after its backend was removed ($errnames)"
expect_eq "$nlost" 0 "send-only client: datagrams sent that no backend received"
expect_eq "$nback" 0 "send-only client: datagrams that reached backend-$old after backend-$new had taken over"
expect_ge "$nnew" 25 "send-only client: datagrams received by backend-$new"
pass "send-only connected UDP: $nsent datagrams, no send() error, none lost; backend-$old removed: $nlate more reached it, the first at backend-$new came ${gap_ms} ms after the EndpointSlice changed, then all $nnew there"
grep -q "^error" "$ask" && fail "recv()-blocked client saw an error: $(cat "$ask")"
grep -q "^answer backend-$new" "$ask" || fail "recv()-blocked client: no answer from backend-$new: $(cat "$ask" "$ask.err")"
pass "recv()-blocked connected UDP client: no error, its pending wait timed out and the same socket was then answered by backend-$new ($(grep -c '^timeout' "$ask") timeout(s))"
# No backend left: nothing to re-connect to, the socket is destroyed (ECONNABORTED to a recv()).
c0=$(grep -c -- "closed 1 UDP socket" "$TOPO_LOG" || true)
dgram_slice
wait_log "closed 1 UDP socket" $((c0 + 1))
wait "$asker" || true
grep -q "^error ECONNABORTED" "$ask" || fail "recv()-blocked client after the last backend went: $(cat "$ask")"
pass "no backend left: the socket could not be re-connected and was destroyed (ECONNABORTED)"
touch "$m/stop-ask"

# An unconnected UDP socket's datagrams to the service are one flow: they keep their backend
# while its endpoint serves, as kube-proxy's conntrack cleanup keeps UDP flows to serving
# endpoints, and when the endpoint is removed the next datagram goes to another backend (no
# error, nothing to reconnect), as kube-proxy clears the UDP conntrack entries of a removed
# endpoint. Six sockets (were their backends picked anew, all six would stay put one time in
# 729), through the endpoints turning terminating: all of them while ready
# (publishNotReadyAddresses: the slots keep them under their ids), all of them not ready
# (the service has no ready endpoint: the slots keep them all), then the first socket's alone
# while the others are ready again (its slot and its id go; it is terminating but serving,
# drv_drain1). Then the first socket's endpoint is removed: that socket moves.
out=$m/udpflow.txt
go=$m/udpflow.go
steps=(readyterminating terminating alone)
in_pod c1 python3 -u -c '
import os, socket, sys, time
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(6)]
def ask(s):
    s.settimeout(10); s.sendto(b"q", ("10.96.0.10", 53)); return s.recvfrom(100)[0].decode()
def each(tag):
    print(tag, " ".join(",".join(sorted(set(ask(s) for _ in range(10)))) for s in socks))
each("first")
for step in range(1, int(sys.argv[2]) + 1):
    while not os.path.exists(sys.argv[1] + str(step)): time.sleep(0.05)
    each("then%d" % step)
' "$go" $((${#steps[@]} + 1)) >"$out" 2>&1 &
client=$!
TOPO_PIDS+=("$client")
for _ in $(seq 1 1200); do grep -q first "$out" && break; sleep 0.05; done
flows=$(awk '/^first/ {$1 = ""; print substr($0, 2)}' "$out")
for f in $flows; do
	case "$f" in backend-[123]) ;; *) fail "an unconnected UDP socket's datagrams went to '$f' ($flows)" ;; esac
done
flow=${flows%% *}
# udp_step N "IP[:node[:state]]"...: the slice changes; got: the client's step N answers
udp_step() {
	local n=$1 syncs
	shift
	syncs=$(grep -c "proxy: sync:" "$TOPO_LOG")
	write_slice "$m/web-eps.yaml" web "$@"
	wait_log "proxy: sync:" $((syncs + 1))
	touch "$go$n"
	for _ in $(seq 1 1200); do grep -q "^then$n " "$out" && break; sleep 0.05; done
	got=$(awk -v t="then$n" '$1 == t {$1 = ""; print substr($0, 2)}' "$out")
}
for ((n = 1; n <= ${#steps[@]}; n++)); do
	st=${steps[n - 1]} eps=()
	for i in 1 2 3; do
		if [ "$st" != alone ]; then
			eps+=("10.244.1.1$i:node1:$st")
		elif [ "backend-$i" = "$flow" ]; then
			eps+=("10.244.1.1$i:node1:terminating")
		else
			eps+=("10.244.1.1$i")
		fi
	done
	case $st in
	readyterminating) desc="every endpoint ready and terminating" ;;
	terminating) desc="every endpoint terminating and serving, none ready" ;;
	alone) desc="$flow's endpoint terminating and serving, the others ready" ;;
	esac
	udp_step "$n" "${eps[@]}"
	[ "$got" = "$flows" ] || fail "$desc: the UDP flows went from '$flows' to '$got'"
	pass "$desc: six unconnected UDP flows stayed on their backends ($flows)"
done
rest=()
for i in 1 2 3; do [ "backend-$i" = "$flow" ] || rest+=("10.244.1.1$i"); done
udp_step $n "${rest[@]}"
wait "$client" || fail "the UDP flow's client failed after its backend was removed: $(cat "$out")"
then=${got%% *}
case "$then" in backend-[123]) [ "$then" != "$flow" ] ;; *) false ;; esac ||
	fail "after $flow was removed the flow's datagrams went to '$then'"
pass "an unconnected UDP flow stayed on $flow, then moved to $then alone when $flow was removed"

# A connected UDP socket whose endpoint turns terminating but still serves, while another is
# ready, stays connected to it (kube-proxy keeps the UDP conntrack entries of a serving
# endpoint; drover holds the socket back while drv_drain1 lists the endpoint), and carries on
# to the ready one, with no error, once the endpoint is removed. The same two clients: a
# send-only one and a resolver-like one, on one backend of dgram.
t_start=$(date +%s%N)
start_clients 2
# answers_after N PATTERN K: the asker's answers and errors after its first N lines (distinct,
# sorted), once K lines after them match PATTERN (or 10 s passed)
answers_after() {
	for _ in $(seq 1 200); do
		[ "$(tail -n +$(($1 + 1)) "$ask" | grep -c "$2")" -ge "$3" ] && break
		sleep 0.05
	done
	tail -n +$(($1 + 1)) "$ask" | awk '/^answer|^error/ {print $1 == "error" ? "error-" $2 : $2}' | sort -u | tr '\n' ' '
}
syncs=$(grep -c "proxy: sync:" "$TOPO_LOG")
nask=$(wc -l <"$ask")
dgram_slice "10.244.1.1$old:terminating" "10.244.1.1$new"
wait_log "proxy: sync:" $((syncs + 1))
t_term=$(date +%s%N)
wait_lines "$send" $(($(wc -l <"$send") + 25))
got=$(answers_after "$nask" '^answer\|^error' 2)
t_rm=$(date +%s%N)
[ "$got" = "backend-$old " ] ||
	fail "backend-$old terminating and serving, backend-$new ready: the recv()-blocked client's answers came from '$got'"
syncs=$(grep -c "proxy: sync:" "$TOPO_LOG")
nask=$(wc -l <"$ask")
dgram_slice "10.244.1.1$new"
wait_log "proxy: sync:" $((syncs + 1))
wait_lines "$send" $(($(wc -l <"$send") + 25))
got2=$(answers_after "$nask" "^answer backend-$new\|^error" 1)
touch "$m/stop-send" "$m/stop-ask"
wait "$sender" || fail "send-only client: $(tail -3 "$send")"
last=$(awk 'NF == 3 && $3 == "ok" {s = $2} END {print s + 0}' "$send")
for _ in $(seq 1 200); do grep -q " $last\$" "$m/recv$new.txt" && break; sleep 0.05; done
res=$(python3 - "$send" "$m/recv$old.txt" "$m/recv$new.txt" "$t_start" "$t_term" "$t_rm" <<'PY'
import sys
sent = [l.split() for l in open(sys.argv[1])]
errs = sorted(set(f[2] for f in sent if len(f) == 3 and f[2] != "ok"))
sent = set(int(f[1]) for f in sent if len(f) == 3 and f[2] == "ok")
t0, term, rm = map(int, sys.argv[4:7])
def arrivals(path):  # this sender's datagrams: seq -> time
    return {int(f[1]): int(f[0]) for f in (l.split() for l in open(path))
            if len(f) == 2 and f[1].isdigit() and int(f[0]) > t0}
old, new = arrivals(sys.argv[2]), arrivals(sys.argv[3])
held = sum(1 for t in old.values() if term < t < rm)
strayed = sum(1 for t in new.values() if t < rm)
lost = len(sent - set(old) - set(new))
print(held, strayed, len(new), lost, ",".join(errs) or "-")
PY
)
read -r nheld nstray nnew nlost errnames <<<"$res"
expect_ge "$nheld" 20 "send-only client: datagrams at terminating backend-$old while it served"
expect_eq "$nstray" 0 "send-only client: datagrams at backend-$new while backend-$old was terminating and serving"
expect_eq "$errnames" - "send-only client: send() errors"
expect_eq "$nlost" 0 "send-only client: datagrams sent that no backend received"
expect_ge "$nnew" 20 "send-only client: datagrams at backend-$new after backend-$old was removed"
case " $got2" in *" backend-$new "*) ! grep -q error <<<"$got2" ;; *) false ;; esac ||
	fail "backend-$old removed: the recv()-blocked client's answers came from '$got2'"
wait "$asker" || true
pass "connected UDP: both clients stayed on backend-$old while it was terminating and serving ($nheld datagrams, none at backend-$new), then carried on to backend-$new with no error once it was removed ($nnew datagrams, none lost)"
