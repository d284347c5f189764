#!/usr/bin/env bash
# `drover sim` benchmark against drover server (TLS) on this machine.
#   scripts/bench.sh sim [--quick] [--nodes N] [--pods P]
# 1. N simulated nodes (default 5,000; --quick 500) come up: nodes registered/s, the time
#    until every node renews a Lease and watches its pods, the sim's and the server's RSS.
# 2. live: P bound pods (default 10,000; --quick 2,000) created by 32 clients while the sim
#    runs: pods/s created, pods/s turned Running, create->Running latency.
# 3. backlog: the sim killed, P bound pods created, the sim started again: the pods/s it
#    marks Running when the server is all its own.
# 4. Lease load: the same nodes renewing every 2.5 s (the sim's default, for the server's
#    default --node-grace 10): Lease renewals/s and the oldest renewTime found.
# The nodes renew every 10 s in 1-3 (kubelet's default with a 40 s Lease; the server runs
# with --node-grace 40). Writes bench/results/sim.json and sim.md (--quick: sim-quick.*).
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD

quick=0 nodes=5000 pods=10000
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 nodes=500 pods=2000 ;;
	--nodes) nodes=$2; shift ;;
	--pods) pods=$2; shift ;;
	*) echo "bench.sh sim: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
name=sim
[ $quick -eq 1 ] && name=sim-quick

step() { printf '\n=== %s ===\n' "$*" >&2; }

step "build"
cmake -S . -B build -DDROVER_WERROR=ON >/dev/null
cmake --build build -j2 --target drover sim_bench >/dev/null
drover=$top/build/userspace/cli/drover
bench=$top/build/bench/sim/sim_bench

res=$top/bench/results
work=$(mktemp -d /tmp/drover-bench-sim.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }
# wait_log FILE REGEX SECONDS: until a line of FILE matches
wait_log() {
	local deadline=$((SECONDS + $3))
	until grep -qE "$2" "$1"; do
		[ $SECONDS -lt $deadline ] || { echo "timed out waiting for /$2/ in $1" >&2; tail -5 "$1" >&2; return 1; }
		sleep 0.1
	done
}
# the node mask leaves room for the nodes: /24 ranges out of a /11 hold 8,192
cidr=10.0.0.0/11
[ "$nodes" -le 256 ] && cidr=10.244.0.0/16
sim_args=(--nodes "$nodes" --cluster-cidr "$cidr" --zones 3)

step "server"
# shellcheck source=../../scripts/lib/apiserver.sh
source scripts/lib/apiserver.sh
api_server_start "$drover" "$work/data" "$work/server.log" --node-grace 40 || exit 1
pids+=("$API_PID")
srv=$API_PID
export KUBECONFIG=$work/data/kubeconfig

# start_sim LOG RENEW: the sim in the background; sets sim and t_start
start_sim() {
	t_start=$(date +%s.%N)
	"$drover" sim "${sim_args[@]}" --lease-renew "$2" >"$1" 2>&1 &
	sim=$!
	pids+=("$sim")
}
since() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(date +%s.%N)"; }

step "1. $nodes nodes come up"
start_sim "$work/sim1.log" 10
wait_log "$work/sim1.log" "$nodes nodes? registered in" 600
register_s=$(sed -nE "s/.* registered in ([0-9.]+) s.*/\1/p" "$work/sim1.log" | head -1)
wait_log "$work/sim1.log" "$nodes with a Lease, $nodes watching pods" 900
up_s=$(since "$t_start")
sim_rss_nodes=$(rss_kb "$sim")
srv_rss_nodes=$(rss_kb "$srv")
echo "registered in $register_s s; every Lease and watch after $up_s s; sim RSS ${sim_rss_nodes} kB" >&2

step "2. live: $pods pods created while the sim runs"
sim_cpu0=$(cpu_s "$sim")
"$bench" run --pods "$pods" --nodes "$nodes" --namespace live --workers 32 --timeout 900 \
	>"$work/live.json"
sim_cpu_live=$(python3 -c "print('%.2f' % ($(cpu_s "$sim") - $sim_cpu0))")
sim_rss_live=$(rss_kb "$sim")
cat "$work/live.json" >&2

step "3. backlog: $pods bound pods waiting for a restarted sim"
kill -KILL "$sim"
wait "$sim" 2>/dev/null || true
"$bench" create --pods "$pods" --nodes "$nodes" --namespace backlog --workers 32 \
	>"$work/backlog-create.json"
start_sim "$work/sim2.log" 10
"$bench" running --pods "$pods" --namespace backlog --timeout 900 >"$work/backlog.json"
backlog_total_s=$(since "$t_start")
restart_register_s=$(sed -nE "s/.* registered in ([0-9.]+) s.*/\1/p" "$work/sim2.log" | head -1)
sim_rss_pods=$(rss_kb "$sim")
sim_cpu_backlog=$(cpu_s "$sim")
cat "$work/backlog.json" >&2

step "4. Lease load: renewals every 2.5 s"
kill -TERM "$sim"
wait "$sim" 2>/dev/null || true
start_sim "$work/sim3.log" 2.5
wait_log "$work/sim3.log" "$nodes with a Lease, $nodes watching pods" 900
srv_cpu0=$(cpu_s "$srv")
t0=$(date +%s.%N)
sleep 30 # a fixed measurement window (a benchmark, not a test)
srv_cpu_pct=$(python3 -c "print('%.0f' % (100 * ($(cpu_s "$srv") - $srv_cpu0) / ($(date +%s.%N) - $t0)))")
kubectl get leases -n kube-node-lease -o jsonpath='{range .items[*]}{.spec.renewTime}{"\n"}{end}' \
	>"$work/renew.txt"
lease_age=$(python3 - "$work/renew.txt" <<'EOF'
import datetime, sys
now = datetime.datetime.now(datetime.timezone.utc)
ages = sorted((now - datetime.datetime.strptime(l.strip(), "%Y-%m-%dT%H:%M:%S.%fZ").replace(
    tzinfo=datetime.timezone.utc)).total_seconds() for l in open(sys.argv[1]) if l.strip())
print("%.1f %.1f" % (ages[len(ages) // 2], ages[-1]))
EOF
)
grep -E "Lease errors" "$work/sim3.log" | tail -1 >&2

step "report"
python3 - "$work" "$res/$name" <<EOF
import json, os, platform, subprocess, sys
work, out = sys.argv[1], sys.argv[2]
live = json.load(open(work + "/live.json"))
backlog = json.load(open(work + "/backlog.json"))
create = json.load(open(work + "/backlog-create.json"))
age = "$lease_age".split()
r = {
  "machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
              "load_avg_at_end": os.getloadavg()},
  "command": "scripts/bench.sh sim" + (" --quick" if $quick else "") + " --nodes $nodes --pods $pods",
  "nodes": $nodes, "pods": $pods,
  "up": {"register_seconds": float("$register_s"), "nodes_per_s": round($nodes / float("$register_s"), 1),
         "all_leases_and_watches_seconds": float("$up_s"),
         "sim_rss_mb": round($sim_rss_nodes / 1024, 1), "server_rss_mb": round($srv_rss_nodes / 1024, 1)},
  "live": dict(live, sim_cpu_seconds=float("$sim_cpu_live"), sim_rss_mb=round($sim_rss_live / 1024, 1)),
  "backlog": dict(backlog, created_per_s=create["per_s"],
                  restart_register_seconds=float("$restart_register_s" or 0),
                  from_sim_start_seconds=float("$backlog_total_s"),
                  sim_rss_mb=round($sim_rss_pods / 1024, 1), sim_cpu_seconds=float("$sim_cpu_backlog")),
  "lease_2_5s": {"renewals_per_s": round($nodes / 2.5, 0), "server_cpu_percent": int("$srv_cpu_pct"),
                 "renew_age_p50_s": float(age[0]), "renew_age_max_s": float(age[1])},
}
json.dump(r, open(out + ".json", "w"), indent=2)
u, l, b, s = r["up"], r["live"], r["backlog"], r["lease_2_5s"]
md = f"""# drover sim against drover server

\`{r['command']}\` on {r['machine']['cpus']} CPUs, kernel {r['machine']['kernel']} (load average at the
end {', '.join('%.1f' % x for x in r['machine']['load_avg_at_end'])}: the machine is shared). The
server runs with --node-grace 40 and the nodes renew every 10 s in the first three parts.

| | figure |
|---|---|
| {r['nodes']} nodes registered | {u['register_seconds']} s ({u['nodes_per_s']} nodes/s) |
| every node with a Lease and a pods watch | {u['all_leases_and_watches_seconds']} s after start |
| RSS with {r['nodes']} nodes: sim / server | {u['sim_rss_mb']} MB / {u['server_rss_mb']} MB |
| live: {r['pods']} bound pods created by 32 clients | {l['create_per_s']} pods/s |
| live: pods turned Running | {l['running_per_s']} pods/s (1 s windows: p50 {l['window_p50_per_s']}, max {l['window_max_per_s']}) |
| live: create -> Running | p50 {l.get('latency_p50_ms')} ms, p90 {l.get('latency_p90_ms')} ms, p99 {l.get('latency_p99_ms')} ms |
| live: sim CPU | {l['sim_cpu_seconds']} s for {r['pods']} pods |
| backlog: {r['pods']} pods marked Running by a restarted sim | {b['running_per_s']} pods/s (1 s windows: p50 {b['window_p50_per_s']}, max {b['window_max_per_s']}); {b['from_sim_start_seconds']} s from its start |
| RSS of the sim with {r['nodes']} nodes and {2 * r['pods']} pods | {b['sim_rss_mb']} MB |
| Leases every 2.5 s: {s['renewals_per_s']:.0f} renewals/s | server CPU {s['server_cpu_percent']}%; renewTime age p50 {s['renew_age_p50_s']} s, max {s['renew_age_max_s']} s (read after a list of every Lease: an upper bound) |
"""
open(out + ".md", "w").write(md)
print(md)
EOF
