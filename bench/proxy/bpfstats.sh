#!/usr/bin/env bash
# bench/proxy/bpfstats.sh [SECONDS] [tc|sock]: the per-packet cost of drover's tc program under live
# traffic, as a cross-check of drover-pktbench's BPF_PROG_TEST_RUN figures (which run each
# packet on its own, on a linear, unshared skb). Builds the benchmark topology
# (scripts/lib/topo.sh), starts `drover proxy` over one 3-backend service with the socket LB
# off ("tc", the default: the program translates every packet) or on ("sock": connect()
# is translated, the program sees only packets that are not for a service), turns on the
# kernel's BPF run-time statistics (kernel.bpf_stats_enabled, restored on exit), drives
# wrk keep-alive and then new-connection-per-request traffic through the VIP, and prints
# run_time_ns / run_cnt of the drv_tc_pod instances attached to the client and backend
# veths (one program, so the figure is per packet over all of them). The statistics add two clock reads per run to every BPF program on the machine
# while they are on, and their figure includes part of that cost.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SECS=${1:-5}
MODE=${2:-tc}
# shellcheck source=../../scripts/lib/topo.sh
source "$TOP/scripts/lib/topo.sh"
command -v bpftool >/dev/null || { echo "bpfstats: bpftool missing" >&2; exit 1; }

OLD_STATS=$(cat /proc/sys/kernel/bpf_stats_enabled)
WORK=$(mktemp -d /tmp/drover-bpfstats.XXXXXX)
finish() {
	echo "$OLD_STATS" >/proc/sys/kernel/bpf_stats_enabled
	topo_cleanup quiet
	rm -rf "$WORK" "/tmp/drover-$TOPO_TAG.ready"
}
topo_init pbs
trap finish EXIT
trap 'exit 130' INT TERM
topo_node
topo_pod c 50
for i in 1 2 3; do
	topo_pod b$i $((10 + i))
	topo_backend b$i b$i
done
mkdir -p "$WORK/m"
python3 "$HERE/genrules.py" --services 1 --out "$WORK/g" >/dev/null
cp "$WORK/g/manifests/svcs.yaml" "$WORK/m/"
extra=(--no-socket-lb)
[ "$MODE" = sock ] && extra=()
TOPO_LOG=$WORK/proxy.log topo_proxy --manifests "$WORK/m" "${extra[@]}" --gc-interval 3600
sleep 0.5

prog_id() { # DEV: id of the tc program attached to DEV in the node namespace
	nsenter --net="/run/netns/$(topo_ns node)" bpftool -j net show dev "$1" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[0]["tc"][0]["id"])'
}
counters() { # ID: "run_time_ns run_cnt"
	bpftool -j prog show id "$1" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("run_time_ns", 0), d.get("run_cnt", 0))'
}
pfx=$(topo_pod_prefix)
declare -A IDS=([client]=$(prog_id "${pfx}c") [backend1]=$(prog_id "${pfx}b1"))

run() { # NAME WRK-ARGS...
	local name=$1 b0 b1 c0 c1
	shift
	read -r b0 c0 <<<"$(counters "${IDS[client]}")"
	read -r b1 c1 <<<"$(counters "${IDS[backend1]}")"
	in_pod c wrk -t2 -c8 -d"${SECS}s" "$@" http://10.96.0.10/ >"$WORK/wrk.txt" 2>&1 || true
	local a0 d0 a1 d1
	read -r a0 d0 <<<"$(counters "${IDS[client]}")"
	read -r a1 d1 <<<"$(counters "${IDS[backend1]}")"
	awk -v n="$name" -v rps="$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")" \
		-v t0="$((a0 - b0))" -v c0="$((d0 - c0))" -v t1="$((a1 - b1))" -v c1="$((d1 - c1))" \
		-v mode="$MODE" 'BEGIN { printf "{\"proxy\": \"%s\", \"traffic\": \"%s\", \"rps\": %s, \"client_veth\": {\"runs\": %d, \"ns_per_run\": %.1f}, \"backend_veth\": {\"runs\": %d, \"ns_per_run\": %.1f}}\n", mode, n, rps, c0, c0 ? t0 / c0 : 0, c1, c1 ? t1 / c1 : 0 }'
}

echo 1 >/proc/sys/kernel/bpf_stats_enabled
run keepalive
run newconn -H "Connection: close"
