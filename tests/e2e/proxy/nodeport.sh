#!/usr/bin/env bash
# NodePort from outside the node: XDP on the node's external device (generic mode on veth)
# picks a backend with Maglev and masquerades (externalTrafficPolicy Cluster: the backend sees
# the node's address), replies return through the node; with XDP off the tc program on the
# same device does the same. externalTrafficPolicy Local keeps the client's address and, on a
# node without a local endpoint, refuses (ICMP port unreachable -> ECONNREFUSED). UDP too.
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
	set +e
	ext_curl http://192.168.100.1:30082/ >/dev/null
	local rc=$?
	set -e
	expect_eq "$rc" 7 "$1: Local policy without a local endpoint refuses"
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

# XDP forwards only to next hops whose neighbour entry exists; until then it leaves the packet
# to tc (bpf_redirect_neigh resolves it). Resolve the backends first so that every packet
# of this test is XDP's to handle.
for i in 1 2 3; do in_node ping -c1 -W1 "10.244.1.1$i" >/dev/null; done
topo_proxy --manifests "$m" --node node1 --device "$(topo_ext_dev)"
grep -q "drv_xdp_lb attached (generic XDP)" "$TOPO_LOG" || fail "XDP did not attach"
check_nodeport xdp
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
