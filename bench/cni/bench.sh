#!/usr/bin/env bash
# CNI benchmark: scripts/bench.sh cni [--quick] [--runs N]
# ADD and DEL latency (p50/p99 over N runs, 2 warm-ups dropped) of drover-cni beside Debian's
# reference bridge + host-local plugins (containernetworking-plugins), in the same run,
# interleaved run by run, each plugin run directly as a runtime runs it (CNI_* environment,
# the configuration on stdin, a fresh network namespace per run, made before the clock
# starts). Both in a node namespace of the benchmark's own, without a default route. The
# cost of spawning /bin/true from the same harness is measured too. Anchor: the reference
# ADD is ~30 ms on this machine (../shared/reference/machine-facts.md); goal: drover-cni
# <= 0.5x the reference.
# Writes bench/results/cni.{json,md} and cni-latency.svg (--quick: cni-quick.*).
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD

runs=200 name=cni
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) runs=30 name=cni-quick ;;
	--runs) runs=$2; shift ;;
	*) echo "bench.sh cni: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || { echo "bench.sh cni: needs root (network namespaces)" >&2; exit 1; }
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] ||
	{ echo "bench.sh cni: /usr/lib/cni/{bridge,host-local} missing: scripts/deps.sh" >&2; exit 1; }

cmake -S . -B build -DDROVER_WERROR=ON >/dev/null
cmake --build build --target drover-cni >/dev/null
cni_dir=$top/build/userspace/cli

P=drvbench-$$-
work=$(mktemp -d /tmp/bench-cni.XXXXXX)
cleanup() {
	ip netns list | awk -v p="$P" 'index($1, p) == 1 {print $1}' |
		while read -r ns; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
ip netns add "${P}node"
ip netns exec "${P}node" ip link set lo up

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
ip netns exec "${P}node" python3 bench/cni/run.py --runs "$runs" --prefix "$P" --work "$work" \
	--drover-dir "$cni_dir" --ref-dir /usr/lib/cni >"$work/raw.json"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
python3 bench/cni/report.py "$work/raw.json" "$top/bench/results" "$name" \
	"scripts/bench.sh cni${*:+ $*}" "$load_before" "$load_after" "$(git rev-parse --short HEAD)"
echo "bench: wrote bench/results/$name.json, $name.md and $name-latency.svg" >&2
