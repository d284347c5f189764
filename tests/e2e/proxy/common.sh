# shellcheck shell=bash
# common.sh: what every proxy e2e test shares: the topology library, assertions, and
# manifest writers. A test sources this, builds its topology, and fails with `fail`.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../../scripts/lib/topo.sh
source "$here/../../../scripts/lib/topo.sh"

fail() {
	echo "FAIL: $*" >&2
	if [ -n "${TOPO_LOG:-}" ] && [ -f "$TOPO_LOG" ]; then
		echo "--- proxy log (last 30 lines)" >&2
		tail -30 "$TOPO_LOG" >&2
	fi
	# a test with a log of its own beside the proxy's (the API server's) names it here
	if [ -n "${FAIL_EXTRA_LOG:-}" ] && [ -f "$FAIL_EXTRA_LOG" ]; then
		echo "--- $(basename "$FAIL_EXTRA_LOG") (last 30 lines)" >&2
		tail -30 "$FAIL_EXTRA_LOG" >&2
	fi
	exit 1
}
pass() { echo "ok: $*"; }

expect_eq() { [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"; }
expect_ge() { [ "$1" -ge "$2" ] || fail "$3: got $1, want >= $2"; }

# A scratch directory removed with the topology.
e2e_tmp() {
	E2E_TMP=$(mktemp -d /tmp/drover-e2e-XXXXXX)
	TOPO_EXTRA_CLEANUP="rm -rf $E2E_TMP"
}

# The usual world: node, client c1 (10.244.1.5), backends b1..b3 (10.244.1.11-13) serving
# HTTP on 8080 and UDP on 5353, and the external namespace.
e2e_world() {
	topo_init "$1"
	TOPO_LOG=/tmp/drover-$1-proxy.log
	rm -f "$TOPO_LOG"
	topo_node
	topo_pod c1 5
	for i in 1 2 3; do
		topo_pod "b$i" "1$i"
		topo_backend "b$i" "backend-$i"
	done
	topo_external
}

# write_service FILE NAME CLUSTERIP [extra spec lines...]: a Service with an http (80 ->
# named port web) and a dns (53/UDP -> 5353) port. Extra lines are appended under spec.
write_service() {
	local file=$1 name=$2 ip=$3
	shift 3
	{
		service_head "$name" "$ip"
		echo "  ports:"
		echo "  - {name: http, port: 80, targetPort: web, nodePort: ${NODEPORT:-30080}}"
		if [ -n "${UDP_NODEPORT:-}" ]; then
			echo "  - {name: dns, port: 53, protocol: UDP, targetPort: 5353, nodePort: $UDP_NODEPORT}"
		else
			echo "  - {name: dns, port: 53, protocol: UDP, targetPort: 5353}"
		fi
		for l in "$@"; do echo "  $l"; done
	} >"$file.tmp"
	mv "$file.tmp" "$file"
}

# write_lb_service FILE NAME CLUSTERIP NODEPORT INGRESS-IP [extra spec lines...]: a
# LoadBalancer Service with the http port only (80 -> named port web, on NODEPORT) and
# INGRESS-IP in its status. Extra lines are appended under spec.
write_lb_service() {
	local file=$1 name=$2 ip=$3 np=$4 ingress=$5
	shift 5
	{
		service_head "$name" "$ip"
		echo "  type: LoadBalancer"
		echo "  ports: [{name: http, port: 80, targetPort: web, nodePort: $np}]"
		for l in "$@"; do echo "  $l"; done
		echo "status:"
		echo "  loadBalancer: {ingress: [{ip: $ingress}]}"
	} >"$file.tmp"
	mv "$file.tmp" "$file"
}

# service_head NAME CLUSTERIP: a Service manifest up to its spec's clusterIP.
service_head() {
	echo "apiVersion: v1"
	echo "kind: Service"
	echo "metadata: {name: $1, namespace: default}"
	echo "spec:"
	echo "  clusterIP: $2"
}

# write_slice FILE SERVICE "IP[:node[:state]]"...: an EndpointSlice; state is ready
# (default), terminating, notready, or readyterminating (a terminating pod of a service with
# publishNotReadyAddresses).
write_slice() {
	local file=$1 svc=$2
	shift 2
	{
		echo "apiVersion: discovery.k8s.io/v1"
		echo "kind: EndpointSlice"
		echo "metadata:"
		echo "  name: $svc-slice"
		echo "  namespace: default"
		echo "  labels: {kubernetes.io/service-name: $svc}"
		echo "addressType: IPv4"
		echo "ports: [{name: web, port: 8080, protocol: TCP}, {name: http, port: 8080}, {name: dns, port: 5353, protocol: UDP}]"
		echo "endpoints:"
		for e in "$@"; do
			IFS=: read -r ip node state <<<"$e"
			node=${node:-node1}
			case ${state:-ready} in
			ready) cond="{ready: true, serving: true, terminating: false}" ;;
			terminating) cond="{ready: false, serving: true, terminating: true}" ;;
			notready) cond="{ready: false, serving: false, terminating: false}" ;;
			readyterminating) cond="{ready: true, serving: true, terminating: true}" ;;
			esac
			echo "- {addresses: [$ip], nodeName: $node, conditions: $cond}"
		done
	} >"$file.tmp"
	mv "$file.tmp" "$file"
}

# distinct_bodies [--until "B1 B2 ..."] N CMD...: run CMD N times, print the distinct outputs,
# sorted and joined by spaces; a run that fails shows as "(failed)", so that an expected set of
# bodies also means every run succeeded. With --until, keep going (up to 10 N runs) until every
# body named has been seen: a random choice among backends misses one in N runs now and then
# (3 backends, 15 runs: 0.7 %), which is no defect of the proxy.
distinct_bodies() {
	local want= n seen= i b w all
	if [ "$1" = --until ]; then
		want=$2
		shift 2
	fi
	n=$1
	shift
	for ((i = 1; ; i++)); do
		b=$("$@" 2>/dev/null) || b="(failed)"
		seen=$(printf '%s\n%s\n' "$seen" "$b" | sed '/^$/d' | sort -u)
		[ "$i" -ge "$n" ] || continue
		all=1
		for w in $want; do
			grep -qxF -- "$w" <<<"$seen" || all=0
		done
		[ "$all" -eq 1 ] || [ "$i" -ge $((10 * n)) ] && break
	done
	tr '\n' ' ' <<<"$seen" | sed 's/ $//'
}

# svc_stat FRONTEND PATH COUNTER: one frontend's counter in `drover bpf stats`, by the name
# the proxy gives it ("default/web:http"), e.g. svc_stat default/web:dns tc forwarded.
svc_stat() {
	drover_bpf stats | awk -v s="$1" -v p="$2" -v k="$3" \
		'NR > 1 && $3 == s && $4 == p && $5 == k { n += $6 } END { print n + 0 }'
}

# kp_sync MANIFESTS STATE: what a kube-proxy sync does for the manifests, in the node
# namespace only: its iptables rules (kprules.py, after proxier.go) as one iptables-restore,
# then the conntrack clean-up kube-proxy makes after a change, against the manifests of the
# previous sync (kept in STATE/prev; the rules and deletions go to STATE too).
kp_sync() {
	local m=$1 st=$2 node_ns
	node_ns=$(topo_ns node)
	python3 "$here/kprules.py" rules --manifests "$m" --node node1 >"$st/kp.rules" ||
		fail "kprules.py rules"
	# kube-proxy sets route_localnet for its localhost NodePorts (--iptables-localhost-nodeports)
	ip netns exec "$node_ns" sysctl -qw net.ipv4.conf.all.route_localnet=1
	ip netns exec "$node_ns" iptables-nft-restore "$st/kp.rules" ||
		fail "iptables-nft-restore of kube-proxy's rules"
	if [ -d "$st/prev" ]; then
		python3 "$here/kprules.py" conntrack --manifests "$m" --prev "$st/prev" --node node1 \
			>"$st/kp.conntrack" || fail "kprules.py conntrack"
		while read -r -a ct; do
			# conntrack -D exits 1 when nothing matched
			ip netns exec "$node_ns" conntrack "${ct[@]}" >/dev/null 2>&1 || true
		done <"$st/kp.conntrack"
	fi
	rm -rf "$st/prev"
	cp -r "$m" "$st/prev"
}

# wait_lines FILE N: wait until FILE has at least N lines (a load client's output). The
# machine may be loaded: the only limit is ctest's timeout for the whole test. A file not
# there yet has no lines: the client's shell may not have opened its output when this starts
# (a failed `[` would end the loop at once: CI once went on with no client output).
wait_lines() {
	local n
	while :; do
		n=$(wc -l <"$1" 2>/dev/null) || n=0
		[ "${n:-0}" -ge "$2" ] && return 0
		sleep 0.1
	done
}

# wait_log PATTERN [COUNT]: wait until the proxy log has COUNT (default 1) matching lines.
wait_log() {
	local want=${2:-1}
	for _ in $(seq 1 1200); do
		[ "$(grep -c -- "$1" "$TOPO_LOG" 2>/dev/null || true)" -ge "$want" ] && return 0
		sleep 0.05
	done
	fail "proxy log never showed '$1' ($want times)"
}
