# shellcheck shell=bash
# lib.sh: the node the agent e2e tests share, sourced after the caller sets E2E_TAG (a short
# name: its namespaces, cgroups and work dir are "$E2E_TAG-$$..."). Sourcing defines the
# names, fail/ok/expect, innode, k (kubectl in the namespace), wait_for, jp, phase/running,
# pod_left/none_left/none_left_node (what a pod or the node still has), bad_flags, start_agent
# and a trap that removes everything made (processes by PID, pods' and the node's namespaces,
# the cgroup subtree, mounts, the work dir) on exit, also on failure; node_up then makes the node: a
# network namespace of the test's own (lo and one veth to the host with a /30 of $E2E_NET.0.0/16,
# no default route out of the machine) running `drover server --cluster-cidr 10.244.0.0/16` on
# its 127.0.0.1 and `drover agent` over a temp image root holding the busybox image
# (scripts/lib/busybox-image.sh), and returns once the Node is Ready (exit 1 if it never is).
# agent.sh, agent_logs.sh, agent_attach.sh, agent_proxy.sh, agent_probes.sh and agent_env.sh
# all use it.
# The caller may set, before sourcing: E2E_NET (default 198.18), E2E_LINK (the veths' prefix,
# default $E2E_TAG), E2E_WAIT_S (wait_for's deadline, default 90); after sourcing and before
# node_up: SERVER_FLAGS (more flags of the server; default none), AGENT_FLAGS (the agent's
# flags past root, images and cgroup parent; default
# --labels e2e=$E2E_TAG --no-proxy: the proxy would pin under the machine-wide
# /sys/fs/bpf/drover) and a function cleanup_more, which cleanup runs once the processes and
# containers are killed, before the namespaces, links and cgroups go (its own processes, pins).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=${DROVER_SOURCE_DIR:-$HERE/../../..}
BIN=${DROVER_BIN:-$SRC/build/userspace/cli}/drover
[ -x "$BIN" ] || { echo "no drover binary at $BIN" >&2; exit 1; }
[ -x "$(dirname "$BIN")/drover-cni" ] || { echo "no drover-cni beside $BIN" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "$(basename "$0"): needs root (namespaces, cgroups)" >&2; exit 1; }
command -v kubectl >/dev/null || { echo "$(basename "$0"): no kubectl" >&2; exit 1; }

WORK=$(mktemp -d /tmp/$E2E_TAG-e2e.XXXXXX)
NODE=$E2E_TAG-$$-node
NODENAME=node-$$
CGP=$E2E_TAG-$$
VH=${E2E_LINK:-$E2E_TAG}$$h
VN=${E2E_LINK:-$E2E_TAG}$$n
# a /30 of 198.18.0.0/15 (benchmarking range, never routed) from the PID
NET=${E2E_NET:-198.18}.$(($$ % 250)).$(((($$ / 250) % 60) * 4))
HOSTIP=${NET%.*}.$((${NET##*.} + 1))
NODEIP=${NET%.*}.$((${NET##*.} + 2))
SERVER_PID='' AGENT_PID=''
AGENT_FLAGS=(--labels "e2e=$E2E_TAG" --no-proxy)
SERVER_FLAGS=()
FAILS=0

cleanup() {
	local p f h left
	for p in $AGENT_PID $SERVER_PID; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	# containers: whatever runs in our cgroup subtree
	for h in /sys/fs/cgroup /sys/fs/cgroup/*/; do
		[ -d "$h/$CGP" ] || continue
		find "$h/$CGP" -name cgroup.procs -exec cat {} + 2>/dev/null |
			while read -r p; do kill -KILL "$p" 2>/dev/null; done
	done
	if declare -F cleanup_more >/dev/null; then cleanup_more; fi
	# the pods' network namespaces the agent recorded, then ours
	for f in "$WORK"/root/sandboxes/*; do
		[ -e "$f" ] || continue
		umount -l "/run/netns/drv-${f##*/}" 2>/dev/null
		rm -f "/run/netns/drv-${f##*/}"
	done
	ip netns del "$NODE" 2>/dev/null
	ip link del "$VH" 2>/dev/null
	# a process killed above leaves its cgroup only once it has exited: retry for up to 5 s
	for _ in $(seq 50); do
		left=0
		for h in /sys/fs/cgroup /sys/fs/cgroup/*/; do
			[ -d "$h/$CGP" ] || continue
			find "$h/$CGP" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$h/$CGP" ] && left=1
		done
		[ $left = 0 ] && break
		sleep 0.1
	done
	grep -F "$WORK" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		while read -r m; do umount -l "$m"; done
	if [ -n "${DROVER_E2E_KEEP:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

fail() {
	FAILS=$((FAILS + 1))
	echo "FAIL: $*" >&2
}
ok() { echo "ok: $*"; }
# expect DESC WANT GOT
expect() {
	if [ "$3" = "$2" ]; then ok "$1"; else fail "$1: want '$2', got '$3'"; fi
}
# proxy_uninstall PIN: the dataplane of an agent's proxy pinned under PIN (links, tc/XDP, as
# the pins record them), then the pins; for a test's cleanup_more
proxy_uninstall() {
	[ -d "$1" ] || return 0
	if [ -e "/run/netns/$NODE" ]; then
		nsenter --net="/run/netns/$NODE" "$BIN" proxy uninstall --pin-root "$1" >/dev/null 2>&1
	else
		"$BIN" proxy uninstall --pin-root "$1" >/dev/null 2>&1
	fi
	rm -rf "$1"
}
innode() { nsenter --net="/run/netns/$NODE" "$@"; }
k() { innode kubectl "$@"; }
# wait_for DESC CMD...: poll CMD (its output in $OUT) until it succeeds, E2E_WAIT_S (90) s at most
wait_for() {
	local desc=$1
	shift
	for _ in $(seq $((${E2E_WAIT_S:-90} * 5))); do
		OUT=$("$@" 2>&1) && return 0
		sleep 0.2
	done
	fail "$desc (last: $OUT)"
	return 1
}
jp() { k get "$1" "$2" -o "jsonpath=$3"; }
# phase POD PHASE: the pod's status.phase is PHASE; running POD: it is Running
phase() { [ "$(jp pod "$1" '{.status.phase}')" = "$2" ]; }
running() { phase "$1" Running; }
# pod_left UID: what the agent made for the pod with this uid and still has, a line each (its
# sandbox record, netns, cgroups; nothing: empty); none_left UID: true when nothing is (what
# is, on stdout). none_left_node: no pod in the API and no sandbox record or pod cgroup left
# on the node (what is, on stdout)
pod_left() {
	local h
	[ -e "$WORK/root/sandboxes/$1" ] && echo "sandbox record"
	[ -e "/run/netns/drv-$1" ] && echo "netns"
	for h in /sys/fs/cgroup/*/; do
		[ -d "$h/$CGP/pods/$1" ] && echo "cgroup $h$CGP/pods/$1"
	done
	return 0
}
none_left() {
	local l
	l=$(pod_left "$1")
	echo "$l"
	[ -z "$l" ]
}
node_left() {
	local f h
	for f in "$WORK"/root/sandboxes/*; do [ -e "$f" ] && echo "sandbox record ${f##*/}"; done
	for h in /sys/fs/cgroup/*/; do
		[ -d "$h/$CGP/pods" ] && find "$h/$CGP/pods" -mindepth 1 -maxdepth 1 -type d
	done
	return 0
}
none_left_node() {
	local l
	l=$(k get pods -o name 2>&1; node_left)
	echo "$l"
	[ -z "$l" ]
}
# bad_flags ARGS...: each ARGS (one case: the flags as words) makes `drover agent` exit 2 with
# one line on stderr
bad_flags() {
	local args rc f0=$FAILS
	for args in "$@"; do
		# shellcheck disable=SC2086 # the words are the flags
		"$BIN" agent $args >"$WORK/o" 2>"$WORK/e"
		rc=$?
		if [ $rc -ne 2 ] || [ "$(wc -l <"$WORK/e")" -ne 1 ]; then
			fail "agent $args: exit $rc, stderr: $(cat "$WORK/e")"
		fi
	done
	[ $FAILS -eq $f0 ]
}

# start_agent: `drover agent` in the node namespace with AGENT_FLAGS (nsenter execs drover: $!
# is drover's own PID; a shell function would put a subshell between), appending to agent.log
start_agent() {
	nsenter --net="/run/netns/$NODE" "$BIN" agent --kubeconfig "$KUBECONFIG" --node "$NODENAME" --root "$WORK/root" \
		--image-root "$WORK/images" --cgroup-parent "$CGP" "${AGENT_FLAGS[@]}" \
		>>"$WORK/agent.log" 2>&1 &
	AGENT_PID=$!
}
node_ready() { [ "$(jp node "$NODENAME" '{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }

# node_up: the node namespace, the image, the server, the agent; returns once the Node is Ready
node_up() {
	ip netns add "$NODE" || exit 1
	ip -n "$NODE" link set lo up
	ip link add "$VH" type veth peer name "$VN" netns "$NODE" || exit 1
	ip addr add "$HOSTIP/30" dev "$VH"
	ip link set "$VH" up
	ip -n "$NODE" addr add "$NODEIP/30" dev "$VN"
	ip -n "$NODE" link set "$VN" up

	"$SRC/scripts/lib/busybox-image.sh" --out "$WORK/bb" --root "$WORK/images" --drover "$BIN" \
		>"$WORK/image.log" 2>&1 || { cat "$WORK/image.log"; exit 1; }

	nsenter --net="/run/netns/$NODE" "$BIN" server --data-dir "$WORK/data" --listen 127.0.0.1:0 \
		--cluster-cidr 10.244.0.0/16 "${SERVER_FLAGS[@]}" >"$WORK/server.log" 2>&1 &
	SERVER_PID=$!
	export KUBECONFIG=$WORK/data/kubeconfig
	export HOME=$WORK/home
	mkdir -p "$HOME"
	wait_for "server up" test -s "$KUBECONFIG" || { cat "$WORK/server.log"; exit 1; }
	wait_for "server answers" k get --raw /readyz || exit 1

	start_agent
	wait_for "node Ready" node_ready || { tail -40 "$WORK/agent.log" >&2; exit 1; }
}
