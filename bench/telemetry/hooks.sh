#!/usr/bin/env bash
# bench/telemetry/hooks.sh [SECONDS] [TRIALS]: what telemetry.bpf.c's hooks cost per run and
# per request under live HTTP traffic, beside the floor of the hooks it could have used
# (alt_hooks.bpf.c: syscall tracepoints, the TCP state tracepoint, fentry where the kernel has
# it), all attached at once under the same load. Builds the benchmark topology
# (scripts/lib/topo.sh: client pod c, backend pod b1 running drover-httpd), starts
# `drover proxy` (telemetry on) over one ClusterIP, registers both pods in drv_ep1 (as
# drover-cni does), turns on kernel.bpf_stats_enabled (restored on exit), drives wrk
# keep-alive and then new-connection-per-request traffic through the VIP, TRIALS times
# interleaved, with telemetry's ring buffer consumed (as the agent would), and prints one JSON
# line per trial and traffic kind: wrk's requests and rate,
# and per program its runs, ns per run, runs per request and ns per request.
# Hold /tmp/drover-proxy-e2e.lock while it runs. The statistics add two clock reads per run
# to every BPF program on the machine while they are on; their figure includes part of that.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SECS=${1:-3}
TRIALS=${2:-3}
# shellcheck source=../../scripts/lib/topo.sh
source "$TOP/scripts/lib/topo.sh"
BUILD=${DROVER_BUILD_DIR:-$TOP/build}
ALT=$BUILD/bench/telemetry/drover-alt-hooks

OLD_STATS=$(cat /proc/sys/kernel/bpf_stats_enabled)
WORK=$(mktemp -d /tmp/drover-tlhooks.XXXXXX)
ALT_PID=
finish() {
	echo "$OLD_STATS" >/proc/sys/kernel/bpf_stats_enabled
	[ -z "$ALT_PID" ] || kill "$ALT_PID" 2>/dev/null || true
	topo_cleanup quiet
	rm -rf "$WORK"
}
topo_init tlh
trap finish EXIT
trap 'exit 130' INT TERM
topo_node
topo_pod c 50
topo_pod b1 11
topo_backend b1 b1
mkdir -p "$WORK/m"
python3 "$TOP/bench/proxy/genrules.py" --services 1 --backends 1 --out "$WORK/g" >/dev/null
cp "$WORK/g/manifests/svcs.yaml" "$WORK/m/"
TOPO_LOG=$WORK/proxy.log topo_proxy --manifests "$WORK/m" --gc-interval 3600
grep -q "telemetry attached" "$WORK/proxy.log" || { echo "hooks: telemetry not attached" >&2; exit 1; }
for o in 50 11; do
	bpftool map update pinned "$TOPO_PIN_ROOT/drv_ep1" key 10 244 1 "$o" \
		value hex 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00
done
clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -I"$BUILD/bpf/gen" -c "$HERE/alt_hooks.bpf.c" \
	-o "$WORK/alt_hooks.bpf.o"
mkfifo "$WORK/alt.in"
"$ALT" "$WORK/alt_hooks.bpf.o" "$TOPO_PIN_ROOT/drv_tlev1" <"$WORK/alt.in" >"$WORK/alt.out" &
ALT_PID=$!
exec 7>"$WORK/alt.in"
until grep -q ready "$WORK/alt.out"; do sleep 0.05; done
grep unavailable "$WORK/alt.out" | sed 's/^/# /' || true

# "id name" of telemetry's programs and the alternatives
PROGS=$({
	bpftool -j cgroup show "$TOPO_CG" |
		python3 -c 'import json,sys; [print(p["id"], p["name"]) for p in json.load(sys.stdin) if p["name"].startswith("drv_tl")]'
	bpftool -j prog show | python3 -c 'import json,sys; [print(p["id"], p["name"]) for p in json.load(sys.stdin) if p.get("name", "").startswith("alt_")]'
} | sort -u)
snapshot() {
	local id name
	while read -r id name; do
		echo "$id $name $(bpftool -j prog show id "$id" |
			python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("run_time_ns", 0), d.get("run_cnt", 0))')"
	done <<<"$PROGS"
}
run() { # TRIAL NAME WRK-ARGS...
	local trial=$1 name=$2
	shift 2
	snapshot >"$WORK/before"
	sh -c 'echo $$ > "$0/cgroup.procs" && exec ip netns exec "$@"' "$TOPO_CG" \
		"$(topo_ns c)" wrk -t1 -c4 -d"${SECS}s" "$@" http://10.96.0.10/ >"$WORK/wrk.txt" 2>&1 || true
	snapshot >"$WORK/after"
	python3 - "$trial" "$name" "$WORK/before" "$WORK/after" "$WORK/wrk.txt" <<'PY'
import json, re, sys
trial, name, before, after, wrk = sys.argv[1:]
def load(p):
    return {l.split()[1]: (int(l.split()[2]), int(l.split()[3])) for l in open(p) if l.strip()}
b, a = load(before), load(after)
txt = open(wrk).read()
m = re.search(r"(\d+) requests in", txt)
reqs = int(m.group(1)) if m else 0
rps = re.search(r"Requests/sec:\s+([\d.]+)", txt)
out = {"trial": int(trial), "traffic": name, "requests": reqs,
       "rps": float(rps.group(1)) if rps else 0, "programs": {}}
for prog in sorted(a):
    t = a[prog][0] - b.get(prog, (0, 0))[0]
    c = a[prog][1] - b.get(prog, (0, 0))[1]
    out["programs"][prog] = {"runs": c, "ns_per_run": round(t / c, 1) if c else 0,
                             "runs_per_request": round(c / reqs, 2) if reqs else 0,
                             "ns_per_request": round(t / reqs, 1) if reqs else 0}
print(json.dumps(out))
PY
}
echo 1 >/proc/sys/kernel/bpf_stats_enabled
for t in $(seq 1 "$TRIALS"); do
	run "$t" keepalive
	run "$t" newconn -H "Connection: close"
done
python3 "$TOP/tests/e2e/proxy/tl_maps.py" "$TOPO_PIN_ROOT" | sed 's/^/# /'
exec 7>&-
wait "$ALT_PID" || true
ALT_PID=
grep '^events' "$WORK/alt.out" | sed 's/^/# ring buffer /'
