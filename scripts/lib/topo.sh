# shellcheck shell=bash
# topo.sh: one simulated node in network namespaces, for the e2e tests, the demo and the
# benchmarks. Source it, call topo_init TAG, build with topo_node / topo_pod / topo_external,
# and everything (processes by PID, namespaces, cgroups, BPF pins and attachments) is removed
# by topo_cleanup, which topo_init registers on EXIT so it runs also when a test fails.
#
#   node namespace   drv-TAG-node      ip_forward on, no default route
#   pod namespaces   drv-TAG-NAME      10.244.1.X/32 behind host veth lTAGNAME (10.244.1.1)
#   external         drv-TAG-ext       192.168.100.2/24 behind node device eTAG (192.168.100.1)
#
# No namespace has a route out of the machine: pods route 10/8 and 192.168/16 to the node,
# the node routes only its own subnets.

TOPO_TAG=""
TOPO_PIDS=()
TOPO_NS=()
TOPO_CGROUPS=()
TOPO_PIN_ROOT=""
TOPO_PROXY_PID=""
DROVER=${DROVER:-}
DROVER_HTTPD=${DROVER_HTTPD:-}

topo_log() { printf '[%s] %s\n' "$TOPO_TAG" "$*" >&2; }

topo_find_bins() {
	local top
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	local build=${DROVER_BUILD_DIR:-$top/build}
	[ -n "$DROVER" ] || DROVER=$build/userspace/cli/drover
	[ -n "$DROVER_HTTPD" ] || DROVER_HTTPD=$build/bench/httpd/drover-httpd
	if [ ! -x "$DROVER" ] || [ ! -x "$DROVER_HTTPD" ]; then
		echo "topo: build drover first (missing $DROVER or $DROVER_HTTPD)" >&2
		return 1
	fi
}

topo_cgroup2_root() {
	if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
		echo /sys/fs/cgroup
	elif [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
		echo /sys/fs/cgroup/unified
	else
		return 1
	fi
}

topo_init() {
	TOPO_TAG=$1
	topo_find_bins || return 1
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
	TOPO_PIN_ROOT=/sys/fs/bpf/drover-$TOPO_TAG
	TOPO_CG=$(topo_cgroup2_root)/drover-$TOPO_TAG
	# Leftovers of an earlier run with the same tag (a killed test) go first.
	topo_cleanup quiet
	trap 'topo_cleanup' EXIT
	trap 'exit 130' INT TERM
	mkdir -p "$TOPO_CG"
	TOPO_CGROUPS+=("$TOPO_CG")
}

topo_ns() { echo "drv-$TOPO_TAG-$1"; }

topo_node() {
	local ns
	ns=$(topo_ns node)
	ip netns add "$ns"
	TOPO_NS+=("$ns")
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
}

# topo_pod NAME LASTOCTET: a pod 10.244.1.LASTOCTET behind host veth l$TAG$NAME.
topo_pod() {
	local name=$1 ip=10.244.1.$2 ns host node
	ns=$(topo_ns "$name")
	node=$(topo_ns node)
	host=l$TOPO_TAG$name
	ip netns add "$ns"
	TOPO_NS+=("$ns")
	ip link add "$host" netns "$node" type veth peer name eth0 netns "$ns"
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
	ip -n "$ns" addr add "$ip/32" dev eth0
	ip -n "$ns" route add 10.244.1.1 dev eth0 scope link
	ip -n "$ns" route add 10.0.0.0/8 via 10.244.1.1 dev eth0
	ip -n "$ns" route add 192.168.0.0/16 via 10.244.1.1 dev eth0
	ip -n "$node" link set "$host" up
	ip -n "$node" addr add 10.244.1.1/32 dev "$host"
	ip -n "$node" route add "$ip/32" dev "$host"
}

# topo_external: the outside world on node device e$TAG; tx checksum offload is off on the
# client so that its packets carry full checksums, as packets from a real NIC do.
topo_external() {
	local ns node dev
	ns=$(topo_ns ext)
	node=$(topo_ns node)
	dev=e$TOPO_TAG
	ip netns add "$ns"
	TOPO_NS+=("$ns")
	ip link add "$dev" netns "$node" type veth peer name eth0 netns "$ns"
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
	ip -n "$ns" addr add 192.168.100.2/24 dev eth0
	ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null 2>&1 || true
	ip -n "$node" link set "$dev" up
	ip -n "$node" addr add 192.168.100.1/24 dev "$dev"
}

topo_ext_dev() { echo "e$TOPO_TAG"; }
topo_pod_prefix() { echo "l$TOPO_TAG"; }

# topo_backend NAME BODY: drover-httpd on TCP 8080 and UDP 5353 in pod NAME.
topo_backend() {
	local ns
	ns=$(topo_ns "$1")
	ip netns exec "$ns" "$DROVER_HTTPD" --port 8080 --udp-port 5353 --body "$2" ${TOPO_HTTPD_ARGS:-} >/dev/null 2>&1 &
	TOPO_PIDS+=($!)
	eval "TOPO_BACKEND_PID_$1=$!"
}

# topo_wait_listen NAME [PORT]: wait (up to 2 s) until pod NAME accepts TCP on PORT (8080).
topo_wait_listen() {
	local port=${2:-8080}
	for _ in $(seq 1 100); do
		in_pod_nolb "$1" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null && return 0
		sleep 0.02
	done
	return 1
}

# in_pod NAME CMD...: run CMD in pod NAME's network namespace, inside the socket-LB cgroup.
in_pod() {
	local ns
	ns=$(topo_ns "$1")
	shift
	sh -c 'echo $$ > "$0/cgroup.procs" && exec ip netns exec "$@"' "$TOPO_CG" "$ns" "$@"
}

# in_pod_nolb NAME CMD...: the same outside the cgroup (the socket LB does not see it).
in_pod_nolb() {
	local ns
	ns=$(topo_ns "$1")
	shift
	ip netns exec "$ns" "$@"
}

in_node() { nsenter --net="/run/netns/$(topo_ns node)" "$@"; }

# topo_proxy ARGS...: start `drover proxy` in the node namespace, wait until it has
# programmed the kernel. Sets TOPO_PROXY_PID. The log goes to $TOPO_LOG.
topo_proxy() {
	TOPO_LOG=${TOPO_LOG:-/tmp/drover-$TOPO_TAG-proxy.log}
	local ready=/tmp/drover-$TOPO_TAG.ready
	rm -f "$ready"
	# A plain command (not a function) in the background: $! is drover itself (nsenter
	# execs it), so that a test can SIGKILL exactly the proxy.
	nsenter --net="/run/netns/$(topo_ns node)" "$DROVER" proxy --pin-root "$TOPO_PIN_ROOT" \
		--cgroup "$TOPO_CG" --pod-device-prefix "$(topo_pod_prefix)" --ready-file "$ready" \
		"$@" >>"$TOPO_LOG" 2>&1 &
	TOPO_PROXY_PID=$!
	TOPO_PIDS+=("$TOPO_PROXY_PID")
	local tries=$((${TOPO_READY_TIMEOUT:-120} * 20))
	for _ in $(seq 1 "$tries"); do
		[ -s "$ready" ] && return 0
		if ! kill -0 "$TOPO_PROXY_PID" 2>/dev/null; then
			topo_log "drover proxy exited early; log:"
			tail -20 "$TOPO_LOG" >&2
			return 1
		fi
		sleep 0.05
	done
	topo_log "drover proxy did not become ready"
	return 1
}

topo_proxy_stop() {
	if [ -n "$TOPO_PROXY_PID" ] && kill -0 "$TOPO_PROXY_PID" 2>/dev/null; then
		kill "${1:--TERM}" "$TOPO_PROXY_PID" 2>/dev/null || true
		kill -CONT "$TOPO_PROXY_PID" 2>/dev/null || true # a stopped one gets it too
		wait "$TOPO_PROXY_PID" 2>/dev/null || true
	fi
	TOPO_PROXY_PID=""
}

drover_bpf() { in_node "$DROVER" bpf "$1" --pin-root "$TOPO_PIN_ROOT"; }

# stat_sum PATH KIND: the counter of drover bpf stats summed over frontends ("socket connect").
stat_sum() {
	drover_bpf stats | awk -v p="$1" -v k="$2" '$0 ~ p && $0 ~ k { for (i = 1; i <= NF; i++) if ($i == p) { s += $(i + 2) } } END { print s + 0 }'
}

topo_cleanup() {
	local quiet=${1:-}
	trap - EXIT
	for pid in "${TOPO_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
	done
	for pid in "${TOPO_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
		# what a killed process's API client had written (its kubeconfig's certificates)
		rm -rf "${TMPDIR:-/tmp}/drover-kclient-$pid-"*
	done
	TOPO_PIDS=()
	# Anything still in the test cgroup (a client that outlived its test).
	if [ -n "${TOPO_CG:-}" ] && [ -f "$TOPO_CG/cgroup.procs" ]; then
		while read -r p; do kill -9 "$p" 2>/dev/null || true; done <"$TOPO_CG/cgroup.procs"
	fi
	if [ -n "$TOPO_PIN_ROOT" ] && [ -n "$DROVER" ] && [ -x "$DROVER" ]; then
		if ip netns list | grep -q "^drv-$TOPO_TAG-node"; then
			nsenter --net="/run/netns/drv-$TOPO_TAG-node" "$DROVER" proxy uninstall \
				--pin-root "$TOPO_PIN_ROOT" >/dev/null 2>&1 || true
		else
			"$DROVER" proxy uninstall --pin-root "$TOPO_PIN_ROOT" >/dev/null 2>&1 || true
		fi
		rm -rf "$TOPO_PIN_ROOT" 2>/dev/null || true
	fi
	for ns in $(ip netns list | awk '{print $1}' | grep "^drv-$TOPO_TAG-" || true); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
	TOPO_NS=()
	if [ -n "${TOPO_CG:-}" ] && [ -d "$TOPO_CG" ]; then
		for _ in 1 2 3 4 5; do rmdir "$TOPO_CG" 2>/dev/null && break; sleep 0.1; done
	fi
	if [ -n "${TOPO_EXTRA_CLEANUP:-}" ]; then
		eval "$TOPO_EXTRA_CLEANUP" || true
		TOPO_EXTRA_CLEANUP=""
	fi
	# the proxy's ready file and log under /tmp (a failing test printed the log's tail)
	rm -f "/tmp/drover-$TOPO_TAG.ready" "/tmp/drover-$TOPO_TAG-proxy.log"
	case "${TOPO_LOG:-}" in /tmp/drover-*-proxy.log) rm -f "$TOPO_LOG" ;; esac
	[ -n "$quiet" ] || topo_log "cleaned up"
}
