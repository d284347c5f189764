#!/usr/bin/env bash
# NodePort from outside the node: XDP on the node's external device (generic mode on veth)
# picks a backend with Maglev and masquerades (externalTrafficPolicy Cluster: the backend sees
# the node's address), replies return through the node; with XDP off the tc program on the
# same device does the same. externalTrafficPolicy Local keeps the client's address and, on a
# node without a local endpoint, drops the traffic from outside (as kube-proxy). UDP too.
# Path MTU discovery works through a NodePort whose backend's path is smaller, and a
# backend's ICMP port unreachable reaches a UDP client (ECONNREFUSED).
source "$(dirname "$0")/common.sh"
TOPO_HTTPD_ARGS=--echo-client
e2e_world np
e2e_tmp
m=$E2E_TMP
NODEPORT=30080 UDP_NODEPORT=30053 write_service "$m/web.yaml" web 10.96.0.10 "type: NodePort"
write_slice "$m/web-eps.yaml" web 10.244.1.11 10.244.1.12 10.244.1.13
NODEPORT=30081 write_service "$m/local.yaml" local 10.96.0.11 "type: NodePort" "externalTrafficPolicy: Local"
write_slice "$m/local-eps.yaml" local 10.244.1.11:node1 10.244.1.12:node2
NODEPORT=30082 write_service "$m/away.yaml" away 10.96.0.12 "type: NodePort" "externalTrafficPolicy: Local"
write_slice "$m/away-eps.yaml" away 10.244.1.12:node2 10.244.1.13:node3
ext_curl() { in_pod_nolb ext curl -s --max-time 10 "$@"; }
# Service drain (check_drain): its endpoints are servers of their own on port 8081, so that
# no other service shares their backend entries.
for i in 1 2 3; do
	in_pod_nolb "b$i" "$DROVER_HTTPD" --port 8081 --body "backend-$i" >/dev/null 2>&1 &
	TOPO_PIDS+=($!)
done
drain_slice() { # "IP[:terminating]"...
	{
		printf '%s\n' "apiVersion: discovery.k8s.io/v1" "kind: EndpointSlice" \
			"metadata: {name: drain-slice, namespace: default, labels: {kubernetes.io/service-name: drain}}" \
			"addressType: IPv4" "ports: [{name: http, port: 8081, protocol: TCP}]" "endpoints:"
		for e in "$@"; do
			case $e in
			*:terminating) echo "- {addresses: [${e%:*}], nodeName: node1, conditions: {ready: false, serving: true, terminating: true}}" ;;
			*) echo "- {addresses: [$e], nodeName: node1, conditions: {ready: true, serving: true, terminating: false}}" ;;
			esac
		done
	} >"$m/drain-eps.yaml.tmp"
	mv "$m/drain-eps.yaml.tmp" "$m/drain-eps.yaml"
}
NODEPORT=30083 write_service "$m/drain.yaml" drain 10.96.0.13 "type: NodePort"
drain_slice 10.244.1.11 10.244.1.12 10.244.1.13
# The external host may also reach ClusterIPs through the node (a router in front of it).
in_pod_nolb ext ip route add 10.96.0.0/16 via 192.168.100.1

check_nodeport() { # $1: path name for messages
	local got
	got=$(distinct_bodies 30 ext_curl http://192.168.100.1:30080/ | tr ' ' '\n' | grep backend | sort -u | tr '\n' ' ' | sed 's/ $//')
	expect_eq "$got" "backend-1 backend-2 backend-3" "$1: NodePort reaches every backend"
	got=$(ext_curl http://192.168.100.1:30080/)
	case "$got" in "backend-"[123]" 192.168.100.1") ;; *) fail "$1: Cluster policy must masquerade, backend saw '$got'" ;; esac
	got=$(distinct_bodies 10 ext_curl http://192.168.100.1:30081/)
	expect_eq "$got" "backend-1 192.168.100.2" "$1: Local policy: only the local endpoint, client address kept"
	# dropped, as kube-proxy's "has no local endpoints" DROP: no answer (curl: 28), where a
	# refusal would end at once (7)
	set +e
	in_pod_nolb ext curl -s --max-time 1 http://192.168.100.1:30082/ >/dev/null
	local rc=$?
	set -e
	expect_eq "$rc" 28 "$1: Local policy without a local endpoint drops traffic from outside"
	got=$(in_pod_nolb ext python3 -c '
import socket
seen = set()
for i in range(30):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(10)
    s.sendto(b"q", ("192.168.100.1", 30053)); seen.add(s.recv(100).decode().split()[0]); s.close()
print(" ".join(sorted(seen)))')
	expect_eq "$got" "backend-1 backend-2 backend-3" "$1: UDP NodePort reaches every backend"
	got=$(distinct_bodies 30 ext_curl http://10.96.0.10/ | tr ' ' '\n' | grep backend | sort -u | tr '\n' ' ' | sed 's/ $//')
	expect_eq "$got" "backend-1 backend-2 backend-3" "$1: ClusterIP from another host"
	pass "$1: NodePort Cluster/Local policies behave"
}

# Connection draining (issue 11 defect 1), as under kube-proxy: a kept-alive connection
# through the NodePort goes on with its backend after that endpoint turns terminating and
# after it leaves the EndpointSlice (its server stays up); new connections go to the others.
# (Before the fix, the connection's next packet was balanced anew and reset by another
# endpoint.)
check_drain() { # $1: path name
	local first k step i eps syncs got py
	rm -f "$m"/held.*
	# One connection, one request per step once the shell says go; it gives up by itself.
	in_pod_nolb ext python3 - "$m" <<'PY' &
import os, socket, sys, time
d = sys.argv[1]
s = socket.create_connection(("192.168.100.1", 30083), timeout=10)
def get(name):
    s.sendall(b"GET / HTTP/1.1\r\nHost: np\r\n\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise SystemExit("connection closed")
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
    while len(body) < n:
        body += s.recv(4096)
    with open(f"{d}/held.{name}.tmp", "w") as f:
        f.write(body.decode().strip())
    os.rename(f"{d}/held.{name}.tmp", f"{d}/held.{name}")
get("first")
for step in ("terminating", "gone"):
    deadline = time.time() + 60
    while not os.path.exists(f"{d}/held.go.{step}"):
        if time.time() > deadline:
            raise SystemExit("no go")
        time.sleep(0.02)
    get(step)
PY
	py=$!
	for _ in $(seq 1 600); do [ -e "$m/held.first" ] && break; sleep 0.05; done
	first=$(cut -d' ' -f1 "$m/held.first" 2>/dev/null || true)
	k=${first#backend-}
	case "$k" in [123]) ;; *) fail "$1: drain: first request answered '$first'" ;; esac
	for step in terminating gone; do
		eps=
		for i in 1 2 3; do
			if [ "$i" != "$k" ]; then
				eps="$eps 10.244.1.1$i"
			elif [ "$step" = terminating ]; then
				eps="$eps 10.244.1.1$i:terminating"
			fi
		done
		syncs=$(grep -c "proxy: sync:" "$TOPO_LOG")
		# shellcheck disable=SC2086
		drain_slice $eps
		wait_log "proxy: sync:" $((syncs + 1))
		touch "$m/held.go.$step"
		for _ in $(seq 1 600); do [ -e "$m/held.$step" ] && break; sleep 0.05; done
		got=$(cut -d' ' -f1 "$m/held.$step" 2>/dev/null || echo "(no answer)")
		expect_eq "$got" "$first" "$1: a kept-alive connection after its endpoint is $step"
		got=$(distinct_bodies 6 ext_curl http://192.168.100.1:30083/)
		case "$got" in *"$first"* | *failed*) fail "$1: new connections with $first $step: '$got'" ;; esac
	done
	wait "$py" || fail "$1: drain client failed"
	syncs=$(grep -c "proxy: sync:" "$TOPO_LOG")
	drain_slice 10.244.1.11 10.244.1.12 10.244.1.13
	wait_log "proxy: sync:" $((syncs + 1))
	pass "$1: a kept-alive NodePort connection stays with $first while it is terminating and after it left the slice; new ones avoid it"
}

# XDP forwards only to next hops whose neighbour entry exists; until then it leaves the packet
# to tc (bpf_redirect_neigh resolves it). Resolve the backends first so that every packet
# of this test is XDP's to handle.
for i in 1 2 3; do in_node ping -c1 -W1 "10.244.1.1$i" >/dev/null; done
topo_proxy --manifests "$m" --node node1 --device "$(topo_ext_dev)"
grep -q "drv_xdp_lb attached (generic XDP)" "$TOPO_LOG" || fail "XDP did not attach"
check_nodeport xdp
check_drain xdp
xdp=$(stat_sum xdp forwarded)
tcf=$(stat_sum tc forwarded)
expect_ge "$xdp" 30 "XDP forwarded packets"
expect_eq "$tcf" 0 "tc forwarding must not have been needed with XDP"
pass "XDP path: xdp forwarded=$xdp, tc forwarded=$tcf"

# The tc fallback: same node, XDP off.
topo_proxy_stop
in_node "$DROVER" proxy uninstall --pin-root "$TOPO_PIN_ROOT" >/dev/null 2>&1
topo_proxy --manifests "$m" --node node1 --device "$(topo_ext_dev)" --xdp-mode off
check_nodeport tc
check_drain tc
xdp=$(stat_sum xdp forwarded)
tcf=$(stat_sum tc forwarded)
expect_ge "$tcf" 30 "tc forwarded packets"
expect_eq "$xdp" 0 "XDP must be off"
pass "tc fallback: tc forwarded=$tcf, xdp forwarded=$xdp"

# A node address added while the proxy runs serves NodePorts at once (netlink's address
# event); once removed it is no NodePort address any more.
in_node ip addr add 192.168.101.1/24 dev "$(topo_ext_dev)"
in_pod_nolb ext ip addr add 192.168.101.2/24 dev eth0
wait_log "node addresses for NodePort: .*192.168.101.1"
got=$(distinct_bodies 10 ext_curl http://192.168.101.1:30080/ | tr ' ' '\n' | grep -c backend || true)
expect_ge "$got" 1 "NodePort on an address added after the start"
n=$(grep -c "node addresses for NodePort: " "$TOPO_LOG")
in_node ip addr del 192.168.101.1/24 dev "$(topo_ext_dev)"
wait_log "node addresses for NodePort: " $((n + 1))
grep "node addresses for NodePort: " "$TOPO_LOG" | tail -1 | grep -q 192.168.101.1 &&
	fail "192.168.101.1 still a NodePort address after its removal"
pass "node addresses follow the node: one added after the start served NodePort $got times, removed again"

# healthCheckNodePort (LoadBalancer, externalTrafficPolicy Local), as kube-proxy's service
# health server: 200 with the count of the service's ready endpoints on this node, 503 with
# none; it follows the endpoints, and the port closes with the service.
NODEPORT=30085 write_service "$m/hc-here.yaml" hc-here 10.96.0.15 "type: LoadBalancer" "externalTrafficPolicy: Local" "healthCheckNodePort: 32101"
write_slice "$m/hc-here-eps.yaml" hc-here 10.244.1.11:node1 10.244.1.12:node2 10.244.1.13:node1:terminating
NODEPORT=30086 write_service "$m/hc-away.yaml" hc-away 10.96.0.16 "type: LoadBalancer" "externalTrafficPolicy: Local" "healthCheckNodePort: 32102"
write_slice "$m/hc-away-eps.yaml" hc-away 10.244.1.12:node2
wait_log "service default/hc-away: health check on port 32102"
hc() { # PORT: the status code; the body in $m/hc.body
	in_pod_nolb ext curl -s --max-time 10 -o "$m/hc.body" -w '%{http_code}' "http://192.168.100.1:$1/healthz"
}
hc_body() { # NAME COUNT: kube-proxy's body, byte for byte
	printf '{\n\t"service": {\n\t\t"namespace": "default",\n\t\t"name": "%s"\n\t},\n\t"localEndpoints": %d,\n\t"serviceProxyHealthy": true\n}' "$1" "$2"
}
expect_eq "$(hc 32101) $(cat "$m/hc.body")" "200 $(hc_body hc-here 1)" "healthCheckNodePort of a service with a local endpoint"
expect_eq "$(hc 32102) $(cat "$m/hc.body")" "503 $(hc_body hc-away 0)" "healthCheckNodePort of a service without one"
hdr=$(in_pod_nolb ext curl -s -D - -o /dev/null --max-time 10 http://192.168.100.1:32101/ | tr -d '\r')
grep -qx "Content-Type: application/json" <<<"$hdr" && grep -qx "X-Content-Type-Options: nosniff" <<<"$hdr" ||
	fail "health check headers: $hdr"
syncs=$(grep -c "proxy: sync:" "$TOPO_LOG")
write_slice "$m/hc-away-eps.yaml" hc-away 10.244.1.12:node2 10.244.1.13:node1 10.244.1.11:node1
wait_log "proxy: sync:" $((syncs + 1))
expect_eq "$(hc 32102) $(cat "$m/hc.body")" "200 $(hc_body hc-away 2)" "health check once two local endpoints came"
rm "$m/hc-here.yaml" "$m/hc-here-eps.yaml"
wait_log "service default/hc-here: health check on port 32101 closed"
set +e
in_pod_nolb ext curl -s --max-time 10 -o /dev/null http://192.168.100.1:32101/
rc=$?
set -e
expect_eq "$rc" 7 "health check port of a deleted service (curl: connection refused)"
pass "healthCheckNodePort: 200/503 by local endpoints with kube-proxy's body and headers, follows the slices, closes with the service"

# loadBalancerSourceRanges: the LoadBalancer IP takes new flows only from the ranges (others
# dropped: the client times out, as behind kube-proxy's firewall chain); the NodePort of the
# same service is not filtered; an edit of the ranges applies.
lb_svc() { # RANGE (written with spaces around it: the proxy trims them, as kube-proxy)
	write_lb_service "$m/lbsr.yaml" lbsr 10.96.0.17 30087 203.0.113.10 "loadBalancerSourceRanges: [\" $1 \"]"
}
in_pod_nolb ext ip addr add 192.168.100.3/24 dev eth0
in_pod_nolb ext ip route add 203.0.113.10/32 via 192.168.100.1
write_slice "$m/lbsr-eps.yaml" lbsr 10.244.1.11 10.244.1.12
lb_svc 192.168.100.2/32
for _ in $(seq 1 600); do drover_bpf services | grep -q "203.0.113.10:80" && break; sleep 0.1; done
from() { # SRC URL: which backend answered ("" when none did in 3 s)
	in_pod_nolb ext curl -s --max-time 3 --interface "$1" "$2" | grep -o 'backend-[0-9]' || true
}
got=$(from 192.168.100.2 http://203.0.113.10/)
case "$got" in backend-[12]) ;; *) fail "LB IP from a source in range: '$got'" ;; esac
expect_eq "$(from 192.168.100.3 http://203.0.113.10/)" "" "LB IP from a source outside the ranges (dropped)"
got=$(from 192.168.100.3 http://192.168.100.1:30087/)
case "$got" in backend-[12]) ;; *) fail "the NodePort of a source-ranged service from any source: '$got'" ;; esac
expect_ge "$(stat_sum tc 'drop:source-range')" 1 "drop:source-range counter"
# The same drops as the telemetry exporter serves them (issue 13's drover_drops_total{reason}):
# source-range ones from just now, no-local-endpoint ones from check_nodeport's Local policy
# without a local endpoint (this proxy is the tc one: its counters started with it).
drops() { # REASON: drover_drops_total{reason=REASON} in `drover telemetry metrics`
	"$DROVER" telemetry metrics --pin-root "$TOPO_PIN_ROOT" |
		awk -v l="drover_drops_total{reason=\"$1\"}" '$1 == l {print $2}'
}
expect_eq "$(drops source_range)" "$(stat_sum tc 'drop:source-range')" "drover_drops_total{reason=\"source_range\"} against the dataplane's counter"
expect_ge "$(drops no_local_endpoint)" 1 "drover_drops_total{reason=\"no_local_endpoint\"}"
syncs=$(grep -c "proxy: sync:" "$TOPO_LOG")
lb_svc 192.168.100.0/30
wait_log "proxy: sync:" $((syncs + 1))
got=$(from 192.168.100.3 http://203.0.113.10/)
case "$got" in backend-[12]) ;; *) fail "LB IP after its range grew to the source: '$got'" ;; esac
pass "loadBalancerSourceRanges: the LB IP serves 192.168.100.2/32 only (192.168.100.3 dropped), its NodePort everyone; widened to /30, .3 served"

# Path MTU discovery through a NodePort: the backend's path is smaller (MTU 1280 on both ends
# of its veth, as behind a tunnel) while the backend still offers the MSS of a 1500 path, so
# the client's full-sized segments (DF) do not fit after translation. The node answers them
# with ICMP fragmentation-needed from the node address, as a router would; the client's TCP
# lowers its segment size and a 200 KB upload completes (before, the frames were dropped at
# the veth, counted as forwarded, and the upload hung).
NODEPORT=30088 UDP_NODEPORT=30089 write_service "$m/up.yaml" up 10.96.0.18 "type: NodePort"
write_slice "$m/up-eps.yaml" up 10.244.1.13
kill "$TOPO_BACKEND_PID_b3"
# The L2 epoch (drv_epoch1): the proxy moves it on link events, so that the next hops the
# datapath remembered (per flow, and per backend for new flows: drv_nh1) are resolved again
# with the new MTU, not at the next conntrack GC (30 s here).
l2_epoch() {
	in_node bpftool -j map lookup pinned "$TOPO_PIN_ROOT/drv_epoch1" key 0 0 0 0 |
		python3 -c 'import json, sys
d = json.load(sys.stdin)
f = d.get("formatted")
print(f["value"] if f else int.from_bytes(bytes(int(b, 16) for b in d["value"]), "little"))'
}
ep0=$(l2_epoch)
in_node ip link set "$(topo_pod_prefix)b3" mtu 1280
for _ in $(seq 1 30); do [ "$(l2_epoch)" -gt "$ep0" ] && break; sleep 0.1; done
expect_ge "$(l2_epoch)" $((ep0 + 1)) "L2 epoch after the MTU change"
in_pod_nolb b3 ip link set eth0 mtu 1280
in_pod_nolb b3 ip route change 192.168.0.0/16 via 10.244.1.1 dev eth0 advmss 1460
in_pod_nolb b3 python3 -c '
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 8080)); l.listen(8)
while True:
    c, _ = l.accept(); n = 0
    while True:
        d = c.recv(65536)
        if not d: break
        n += len(d)
    c.sendall(str(n).encode()); c.close()' &
TOPO_PIDS+=($!)
for _ in $(seq 1 600); do drover_bpf services | grep -q ":30088" && break; sleep 0.1; done
fn0=$(stat_sum tc frag-needed)
got=$(in_pod_nolb ext python3 -c '
import socket, time
for i in range(100):  # the sink may still be starting
    try:
        s = socket.create_connection(("192.168.100.1", 30088), timeout=20); break
    except ConnectionRefusedError:
        time.sleep(0.1)
s.sendall(b"x" * 204800); s.shutdown(socket.SHUT_WR)
print(s.recv(100).decode())' 2>&1 || true)
expect_eq "$got" "204800" "200 KB upload through a NodePort to a backend behind a 1280-byte path"
expect_ge "$(stat_sum tc frag-needed)" $((fn0 + 1)) "frag-needed counter"
pass "PMTU discovery through the NodePort: fragmentation-needed sent ($(stat_sum tc frag-needed)), upload of 204800 bytes completed"

# The same backend has no UDP listener any more (its drover-httpd is gone): its ICMP port
# unreachable reaches the client translated, so a connected UDP socket gets ECONNREFUSED at
# once, as behind kube-proxy, instead of waiting out its timeout.
got=$(in_pod_nolb ext python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(10)
s.connect(("192.168.100.1", 30089)); s.send(b"q")
try:
    s.recv(100); print("answered")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timed out")')
expect_eq "$got" "refused" "UDP NodePort to a backend without a listener"
expect_ge "$(stat_sum tc icmp-error)" 1 "icmp-error counter"
pass "UDP NodePort: the backend's port unreachable reached the client (ECONNREFUSED), icmp-error $(stat_sum tc icmp-error)"
