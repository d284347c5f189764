#!/usr/bin/env bash
# Pod start benchmark: scripts/bench.sh podstart [--quick] [--plan N:ROUNDS,...]
#                      [--base BIN [--passes K]] [--no-podman]
# Time from bind to Running and to Ready for 1, 10 and 100 pods at once on one node, for
# `drover agent`, beside podman + crun starting the same busybox image in the same run.
# --base BIN: also another drover build (BIN is its `drover`, drover-cni beside it), e.g. one of
# main, as the baseline of a change: K passes (default 3) each run the plan once with a fresh
# server and agent of each build, interleaved (the order alternating), so both see the same
# machine; the report gives both, pooled and each pass's p50 / p99 (min-max). --no-podman
# leaves podman + crun out. Environment: PODSTART_SERVER_ARGS (both servers' extra flags),
# PODSTART_AGENT_ARGS (the extra flags of this build's agent, not the base's).
#
# drover: a node network namespace of the benchmark's own runs `drover server` (on its
# 127.0.0.1) and one `drover agent` over a temp image store holding the busybox image
# (scripts/lib/busybox-image.sh); run.py creates the pods already bound (spec.nodeName) and
# stamps bind (ADDED), Running and Ready from a watch with a monotonic local clock. The agent
# logs each pod's start phases (netns, CNI ADD, cgroup, image, process); report.py joins them.
# podman + crun: the same image (the same OCI layout, `podman load`ed), `podman run -d` with a
# CNI bridge + host-local network and the same limits, in the same node namespace, with the
# workarounds of machine-facts.md confined to the benchmark: its own containers.conf and
# storage.conf (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF), its own CNI config dir, cgroup
# parent and storage under the work dir, hugetlb mounted as v1 in a private mount namespace.
# Everything made (processes by PID, namespaces, cgroups, podman storage, the work dir) is
# removed on exit, also on failure or interrupt.
# Writes bench/results/podstart.{json,md} and podstart-latency.svg (--quick: podstart-quick.*).
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD

plan=1:20,10:5,100:2 name=podstart args="$*" base='' passes='' podman=1
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) plan=1:3,10:1,100:1 name=podstart-quick ;;
	--plan) plan=$2; shift ;;
	--base) base=$2; shift ;;
	--passes) passes=$2; shift ;;
	--no-podman) podman=0 ;;
	*) echo "bench.sh podstart: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "bench.sh podstart: needs root (namespaces, cgroups)" >&2; exit 1; }
if [ -n "$base" ]; then
	BASE_BIN=$(realpath "$base")
	if ! [ -x "$BASE_BIN" ] || ! [ -x "$(dirname "$BASE_BIN")/drover-cni" ]; then
		echo "bench.sh podstart: --base $base: no drover with drover-cni beside it" >&2
		exit 2
	fi
fi
[ -z "$base" ] || name=$name-ab
[ -z "$passes" ] || [ -n "$base" ] || { echo "bench.sh podstart: --passes wants --base" >&2; exit 2; }
passes=${passes:-$([ -n "$base" ] && echo 3 || echo 1)}
tools="kubectl"
[ $podman = 1 ] && tools="$tools podman crun conmon /usr/lib/cni/bridge /usr/lib/cni/host-local"
for b in $tools; do
	command -v "$b" >/dev/null ||
		{ echo "bench.sh podstart: $b missing: scripts/deps.sh" >&2; exit 1; }
done
say() { echo "podstart: $*" >&2; }

say "building drover, drover-cni"
# DROVER_BUILD=DIR: an existing build directory (e.g. a sanitizer build) instead of build/
if [ -n "${DROVER_BUILD:-}" ]; then
	cmake --build "$DROVER_BUILD" --target drover drover-cni >/dev/null
	BIN=$(cd "$DROVER_BUILD" && pwd)/userspace/cli/drover
else
	cmake -S . -B build -DDROVER_WERROR=ON >/dev/null
	cmake --build build --target drover drover-cni >/dev/null
	BIN=$top/build/userspace/cli/drover
fi

work=$(mktemp -d /tmp/bench-podstart.XXXXXX)
PIN=/sys/fs/bpf/drover-podstart-${work##*.} # the agent's proxy pins (removed at exit)
NODE=drvps-$$-node
NODENAME=bench-$$
CGP=drvps-$$       # the agent's cgroup parent
PMCG=drvpm-$$      # podman's
PMNET=drvpm$$
NET=198.18.$(($$ % 250)).$(((($$ / 250) % 60) * 4))
SERVER_PID='' AGENT_PID='' PODMAN_PID=''
had_varlib_containers=$([ -e /var/lib/containers ] && echo 1 || echo 0)
had_varlib_cni=$([ -e /var/lib/cni ] && echo 1 || echo 0)
ls /run/netns >"$work/netns.before" 2>/dev/null || true

export CONTAINERS_CONF=$work/podman/containers.conf
export CONTAINERS_STORAGE_CONF=$work/podman/storage.conf
export TMPDIR=$work/tmp
mkdir -p "$TMPDIR" "$work/podman/cni" "$work/podman/tmp" "$work/hugetlb"

# run podman (or any command) as the podman phase does: node namespace, hugetlb as v1 in a
# private mount namespace (crun refuses hybrid cgroups while hugetlb is on v2)
pm_wrap() {
	nsenter --net="/run/netns/$NODE" unshare -m --propagation private \
		sh -c 'mount -t cgroup -o hugetlb cgroup "$0" && exec "$@"' "$work/hugetlb" "$@"
}

kill_cgroup() { # every process in cgroup subtree $1, in every hierarchy
	local h p
	for h in /sys/fs/cgroup /sys/fs/cgroup/*/; do
		[ -d "$h/$1" ] || continue
		find "$h/$1" -name cgroup.procs -exec cat {} + 2>/dev/null |
			while read -r p; do kill -KILL "$p" 2>/dev/null; done
	done
}
rm_cgroup() {
	local h
	for h in /sys/fs/cgroup /sys/fs/cgroup/*/; do
		[ -d "$h/$1" ] && find "$h/$1" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	return 0
}

cleanup() {
	local p f
	set +e
	say "cleaning up"
	[ -n "$PODMAN_PID" ] && kill -KILL "$PODMAN_PID" 2>/dev/null
	if [ -e "$CONTAINERS_CONF" ] && [ -e "/run/netns/$NODE" ]; then
		pm_wrap podman rm -f -t 0 -a >/dev/null 2>&1
	fi
	for p in $AGENT_PID $SERVER_PID; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	# the agent's embedded proxy pins its maps and links under a root of the run's own
	[ -d "$PIN" ] && "$BIN" proxy uninstall --pin-root "$PIN" >/dev/null 2>&1
	kill_cgroup "$CGP"
	kill_cgroup "$PMCG"
	for f in "$work"/root*/sandboxes/*; do
		[ -e "$f" ] || continue
		umount -l "/run/netns/drv-${f##*/}" 2>/dev/null
		rm -f "/run/netns/drv-${f##*/}"
	done
	# podman's CNI namespaces of our containers, if `podman rm` could not remove them
	ls /run/netns 2>/dev/null | grep '^cni-' | grep -vxF -f "$work/netns.before" |
		while read -r f; do
			grep -qs "$f" "$work"/podman/netns.ours && { umount -l "/run/netns/$f"; rm -f "/run/netns/$f"; }
		done
	ip netns del "$NODE" 2>/dev/null
	sleep 0.2
	rm_cgroup "$CGP"
	rm_cgroup "$PMCG"
	rm -f /var/lib/cni/results/"$PMNET"-* 2>/dev/null
	# podman's blob cache and libcni's result cache, when this run made them
	[ "$had_varlib_containers" = 0 ] && rm -rf /var/lib/containers
	[ "$had_varlib_cni" = 0 ] && rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null
	grep -F "$work" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		while read -r m; do umount -l "$m"; done
	# PODSTART_LOGS=DIR keeps the agent's and server's logs
	[ -n "${PODSTART_LOGS:-}" ] && cp "$work"/*.log "$work"/*.json "$PODSTART_LOGS"/ 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the node namespace, the image, the server, the agent ----
say "node namespace $NODE, busybox image"
ip netns add "$NODE"
ip -n "$NODE" link set lo up
ip -n "$NODE" link add drvps0 type veth peer name drvps1
ip -n "$NODE" addr add "${NET%.*}.$((${NET##*.} + 1))/30" dev drvps0
ip -n "$NODE" link set drvps0 up
ip -n "$NODE" link set drvps1 up
scripts/lib/busybox-image.sh --out "$work/bb" --root "$work/images" --drover "$BIN" \
	>"$work/image.log" 2>&1 || { cat "$work/image.log" >&2; exit 1; }

export HOME=$work/home
mkdir -p "$HOME"
waitfor() { # DESC SECONDS CMD...
	local desc=$1 end=$((SECONDS + $2))
	shift 2
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || { say "timed out: $desc"; return 1; }
		sleep 0.1
	done
}
k() { nsenter --net="/run/netns/$NODE" kubectl "$@"; }
node_ready() {
	[ "$(k get node "$NODENAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ] &&
		[ -d "$ROOT/sandboxes" ]
}

# drover_pass BIN TAG AGENT_ARGS...: a fresh `drover server` and `drover agent` of BIN, the
# plan once (pods named TAG-...), both stopped again; raw samples in TAG.json, logs TAG-*.log
drover_pass() {
	local bin=$1 tag=$2
	shift 2
	export KUBECONFIG=$work/data-$tag/kubeconfig
	ROOT=$work/root-$tag
	nsenter --net="/run/netns/$NODE" "$bin" server --data-dir "$work/data-$tag" \
		--listen 127.0.0.1:0 --cluster-cidr 10.244.0.0/16 ${PODSTART_SERVER_ARGS:-} \
		>"$work/$tag-server.log" 2>&1 &
	SERVER_PID=$!
	waitfor "server up" 60 test -s "$KUBECONFIG" || { cat "$work/$tag-server.log" >&2; exit 1; }
	waitfor "server ready" 60 k get --raw /readyz || { cat "$work/$tag-server.log" >&2; exit 1; }
	nsenter --net="/run/netns/$NODE" "$bin" agent --kubeconfig "$KUBECONFIG" --node "$NODENAME" \
		--root "$ROOT" --image-root "$work/images" --cgroup-parent "$CGP" \
		--pin-root "$PIN" "$@" >"$work/$tag-agent.log" 2>&1 &
	AGENT_PID=$!
	waitfor "node Ready" 60 node_ready || { tail "$work/$tag-agent.log" >&2; exit 1; }
	k config view --raw -o json >"$work/kubeconfig.json"
	say "$tag ($bin): plan $plan (pods at once : rounds)"
	nsenter --net="/run/netns/$NODE" python3 bench/podstart/run.py --kubeconfig "$work/kubeconfig.json" \
		--node "$NODENAME" --plan "$plan" --sandboxes "$ROOT/sandboxes" --prefix "$tag-" \
		>"$work/$tag.json" || { tail -20 "$work/$tag-agent.log" >&2; exit 1; }
	kill -TERM "$AGENT_PID" "$SERVER_PID"
	wait "$AGENT_PID" "$SERVER_PID" 2>/dev/null
	AGENT_PID='' SERVER_PID=''
	# the next pass's agent starts from an empty pin root, as this one did
	"$bin" proxy uninstall --pin-root "$PIN" >/dev/null 2>&1 || true
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
python3 bench/podstart/noise.py >"$work/noise-before.json"
drv=() bas=()
for i in $(seq "$passes"); do
	# shellcheck disable=SC2086 # the words are the agent's flags
	if [ -z "$base" ] || [ $((i % 2)) = 1 ]; then
		drover_pass "$BIN" "drover$i" ${PODSTART_AGENT_ARGS:-}
		[ -z "$base" ] || drover_pass "$BASE_BIN" "base$i"
	else
		drover_pass "$BASE_BIN" "base$i"
		drover_pass "$BIN" "drover$i" ${PODSTART_AGENT_ARGS:-}
	fi
	drv+=("$work/drover$i.json")
	[ -z "$base" ] || bas+=("$work/base$i.json")
done

# ---- podman + crun ----
pm=()
if [ $podman = 1 ]; then
	say "podman + crun: configuration under $work/podman, image load"
	cat >"$CONTAINERS_CONF" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[network]
network_backend = "cni"
cni_plugin_dirs = ["/usr/lib/cni"]
network_config_dir = "$work/podman/cni"
default_network = "$PMNET"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$work/podman/events.log"
tmp_dir = "$work/podman/tmp"
image_copy_tmp_dir = "$work/podman/tmp"
volume_path = "$work/podman/volumes"
static_dir = "$work/podman/static"
runtime = "crun"
CONF
	cat >"$CONTAINERS_STORAGE_CONF" <<CONF
[storage]
driver = "overlay"
runroot = "$work/podman/run"
graphroot = "$work/podman/root"
CONF
	cat >"$work/podman/cni/$PMNET.conflist" <<CONF
{"cniVersion": "0.4.0", "name": "$PMNET", "plugins": [
 {"type": "bridge", "bridge": "drvpm0", "isGateway": true, "ipMasq": false,
  "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.62.0.0/16"}]],
           "dataDir": "$work/podman/hl"}}]}
CONF
	tar -C "$work/bb" -cf "$work/bb.tar" .
	pm_wrap podman load -q -i "$work/bb.tar" >"$work/podman/load.log" 2>&1 || { cat "$work/podman/load.log" >&2; exit 1; }
	img=$(sed -n 's/^Loaded image[^:]*: *//p' "$work/podman/load.log" | head -1)
	[ -n "$img" ] || { cat "$work/podman/load.log" >&2; exit 1; }
	pm_wrap python3 bench/podstart/podman.py --plan "$plan" --image "$img" --network "$PMNET" \
		--cgroup-parent "/$PMCG" --netns-log "$work/podman/netns.ours" >"$work/podman.json" &
	PODMAN_PID=$!
	wait "$PODMAN_PID"
	PODMAN_PID=''
	pm=(--podman "$work/podman.json")
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
python3 bench/podstart/noise.py >"$work/noise-after.json"

ab=()
# the base build's commit, when it was built inside a git work tree
[ -z "$base" ] || ab=(--base "${bas[@]}" --base-bin "$base (commit $(git -C "$(dirname "$BASE_BIN")" \
	rev-parse --short HEAD 2>/dev/null || echo unknown))")
python3 bench/podstart/report.py --drover "${drv[@]}" "${ab[@]}" --agent-log "$work"/drover*-agent.log \
	"${pm[@]}" --noise "$work/noise-before.json" "$work/noise-after.json" --out "$top/bench/results" --name "$name" \
	--command "scripts/bench.sh podstart${args:+ $args}" --load "$load_before" "$load_after" \
	--commit "$(git rev-parse --short HEAD)"
say "wrote bench/results/$name.json, $name.md and $name-latency.svg"
