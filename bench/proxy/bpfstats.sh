#!/usr/bin/env bash
# bench/proxy/bpfstats.sh [SECONDS] [tc|sock] [BACKENDS]: what each of drover's programs costs
# under live traffic, as a cross-check of drover-pktbench's BPF_PROG_TEST_RUN figures (which
# run each packet on its own, on a linear, unshared skb) and to split a request's cost by
# program. Builds the benchmark topology (scripts/lib/topo.sh) with BACKENDS backend pods
# (default 3), starts `drover proxy` over one service with those endpoints, with the socket
# LB off ("tc", the default: drv_tc_pod translates every packet) or on ("sock": connect()
# is translated, drv_tc_pod sees only packets that are not for a service), turns on the
# kernel's BPF run-time statistics (kernel.bpf_stats_enabled, restored on exit), drives wrk
# keep-alive and then new-connection-per-request traffic through the VIP, and prints, per
# traffic kind, one JSON line: wrk's requests and rate, and for every drover program
# attached (the cgroup hooks connect4, sendmsg4, recvmsg4, getpeername4; drv_tc_pod, one
# program on every pod veth) its runs, ns per run, runs per request and ns per request.
# With BPFSTATS_PERF=DIR set, each traffic kind also runs under `perf record -a -g` (written
# to DIR/perf-KIND.data; read with perf report -i FILE --no-children --sort sym).
# The statistics add two clock reads per run to every BPF program on the machine while they
# are on, and their figure includes part of that cost.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SECS=${1:-5}
MODE=${2:-tc}
BACKENDS=${3:-3}
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
for i in $(seq 1 "$BACKENDS"); do
	topo_pod "b$i" $((10 + i))
	topo_backend "b$i" "b$i"
done
mkdir -p "$WORK/m"
python3 "$HERE/genrules.py" --services 1 --backends "$BACKENDS" --out "$WORK/g" >/dev/null
cp "$WORK/g/manifests/svcs.yaml" "$WORK/m/"
extra=(--no-socket-lb)
[ "$MODE" = sock ] && extra=()
TOPO_LOG=$WORK/proxy.log topo_proxy --manifests "$WORK/m" "${extra[@]}" --gc-interval 3600
sleep 0.5

# Every drover program attached for this topology: "id name" lines (the cgroup hooks of
# the socket LB's cgroup, the tc program of the pod veths).
progs() {
	{
		bpftool -j cgroup show "$TOPO_CG" 2>/dev/null |
			python3 -c 'import json,sys; [print(p["id"], p["name"]) for p in json.load(sys.stdin)]'
		nsenter --net="/run/netns/$(topo_ns node)" bpftool -j net show |
			python3 -c 'import json,sys
for d in json.load(sys.stdin):
    for p in d.get("tc", []):
        print(p["id"], p["name"])'
	} | sort -u
}
snapshot() { # id name run_time_ns run_cnt, one line per program
	local id name
	while read -r id name; do
		echo "$id $name $(bpftool -j prog show id "$id" |
			python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("run_time_ns", 0), d.get("run_cnt", 0))')"
	done <<<"$PROGS"
}

run() { # NAME WRK-ARGS...
	local name=$1
	shift
	snapshot >"$WORK/before"
	local perf=()
	[ -z "${BPFSTATS_PERF:-}" ] || perf=(perf record -q -a -g -o "$BPFSTATS_PERF/perf-$name.data" --)
	"${perf[@]}" sh -c 'echo $$ > "$0/cgroup.procs" && exec ip netns exec "$@"' "$TOPO_CG" \
		"$(topo_ns c)" wrk -t2 -c8 -d"${SECS}s" "$@" http://10.96.0.10/ >"$WORK/wrk.txt" 2>&1 || true
	snapshot >"$WORK/after"
	python3 - "$name" "$MODE" "$BACKENDS" "$WORK/before" "$WORK/after" "$WORK/wrk.txt" <<'PY'
import json, re, sys
name, mode, backends, before, after, wrk = sys.argv[1:]
def load(p):  # tc programs are listed as "name:[id]"
    return {l.split()[1].split(":")[0]: (int(l.split()[2]), int(l.split()[3]))
            for l in open(p) if l.strip()}
b, a = load(before), load(after)
txt = open(wrk).read()
m = re.search(r"(\d+) requests in", txt)
reqs = int(m.group(1)) if m else 0
rps = re.search(r"Requests/sec:\s+([\d.]+)", txt)
out = {"proxy": mode, "backends": int(backends), "traffic": name, "requests": reqs,
       "rps": float(rps.group(1)) if rps else 0, "programs": {}}
total = 0
for prog in sorted(a):
    t = a[prog][0] - b.get(prog, (0, 0))[0]
    c = a[prog][1] - b.get(prog, (0, 0))[1]
    total += t
    out["programs"][prog] = {"runs": c, "ns_per_run": round(t / c, 1) if c else 0,
                             "runs_per_request": round(c / reqs, 2) if reqs else 0,
                             "ns_per_request": round(t / reqs, 1) if reqs else 0}
out["bpf_ns_per_request"] = round(total / reqs, 1) if reqs else 0
print(json.dumps(out))
PY
}

echo 1 >/proc/sys/kernel/bpf_stats_enabled
PROGS=$(progs)
run keepalive
run newconn -H "Connection: close"
