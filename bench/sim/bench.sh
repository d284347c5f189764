#!/usr/bin/env bash
# `drover sim` benchmark against drover server (TLS) on this machine.
#   scripts/bench.sh sim [--quick]
# For each scale (500 nodes with 5,000 pods, then 5,000 nodes with 2,000 pods; --quick: the
# first only, 2,000 pods), on a fresh server:
# 1. the nodes come up: nodes registered/s, the time until every node renews a Lease and
#    watches its pods, the sim's and the server's RSS;
# 2. live: the pods, bound (spec.nodeName set), created by 32 clients while the sim runs:
#    pods/s created, pods/s turned Running, create->Running latency;
# 3. backlog: the sim killed, as many bound pods created, the sim started again: the pods/s
#    it marks Running with the server all its own;
# 4. Lease load: renewals every 2.5 s (the sim's default, for the server's default
#    --node-grace 10): the server's CPU and the oldest renewTime found.
# Parts 1-3 renew every 10 s (kubelet's default with a 40 s Lease; the server runs with
# --node-grace 40). Writes bench/results/sim.json and sim.md (--quick: sim-quick.*).
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD

quick=0
for a in "$@"; do
	case "$a" in
	--quick) quick=1 ;;
	*) echo "bench.sh sim: unknown option $a" >&2; exit 2 ;;
	esac
done
if [ $quick -eq 1 ]; then
	scales="500:2000" name=sim-quick
else
	scales="500:5000 5000:2000" name=sim
fi

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
since() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(date +%s.%N)"; }
# wait_log FILE REGEX SECONDS: until a line of FILE matches
wait_log() {
	local deadline=$((SECONDS + $3))
	until grep -qE "$2" "$1"; do
		[ $SECONDS -lt $deadline ] || { echo "timed out waiting for /$2/ in $1" >&2; tail -5 "$1" >&2; return 1; }
		sleep 0.1
	done
}
# shellcheck source=../../scripts/lib/apiserver.sh
source scripts/lib/apiserver.sh

# start_sim LOG RENEW: the sim in the background; sets sim and t_start
start_sim() {
	t_start=$(date +%s.%N)
	"$drover" sim "${sim_args[@]}" --lease-renew "$2" >"$1" 2>&1 &
	sim=$!
	pids+=("$sim")
}

# scale NODES PODS: the four parts on a fresh server; one JSON object into $work/NODES.json
scale() {
	local nodes=$1 pods=$2 dir=$work/$1
	mkdir -p "$dir"
	# /24 node ranges out of a /11 hold 8,192 nodes
	sim_args=(--nodes "$nodes" --cluster-cidr 10.0.0.0/11 --zones 3)

	step "$nodes nodes: server"
	api_server_start "$drover" "$dir/data" "$dir/server.log" --node-grace 40 || exit 1
	pids+=("$API_PID")
	srv=$API_PID
	export KUBECONFIG=$dir/data/kubeconfig

	step "$nodes nodes: 1. up"
	start_sim "$dir/sim1.log" 10
	wait_log "$dir/sim1.log" "$nodes nodes? registered in" 600
	local register_s up_s sim_rss srv_rss
	register_s=$(sed -nE "s/.* registered in ([0-9.]+) s.*/\1/p" "$dir/sim1.log" | head -1)
	wait_log "$dir/sim1.log" "$nodes with a Lease, $nodes watching pods" 900
	up_s=$(since "$t_start")
	sim_rss=$(rss_kb "$sim")
	srv_rss=$(rss_kb "$srv")
	echo "registered in $register_s s; every Lease and watch after $up_s s" >&2

	step "$nodes nodes: 2. live, $pods pods"
	local cpu0 live_cpu live_rss
	cpu0=$(cpu_s "$sim")
	"$bench" run --pods "$pods" --nodes "$nodes" --namespace live --workers 32 \
		--timeout 1200 >"$dir/live.json"
	live_cpu=$(python3 -c "print('%.2f' % ($(cpu_s "$sim") - $cpu0))")
	live_rss=$(rss_kb "$sim")
	cat "$dir/live.json" >&2

	step "$nodes nodes: 3. backlog, $pods pods"
	kill -KILL "$sim"
	wait "$sim" 2>/dev/null || true
	"$bench" create --pods "$pods" --nodes "$nodes" --namespace backlog --workers 32 \
		>"$dir/create.json"
	start_sim "$dir/sim2.log" 10
	"$bench" running --pods "$pods" --namespace backlog --timeout 1200 >"$dir/backlog.json"
	local backlog_s backlog_rss backlog_cpu
	backlog_s=$(since "$t_start")
	backlog_rss=$(rss_kb "$sim")
	backlog_cpu=$(cpu_s "$sim")
	cat "$dir/backlog.json" >&2

	step "$nodes nodes: 4. Leases every 2.5 s"
	kill -TERM "$sim"
	wait "$sim" 2>/dev/null || true
	start_sim "$dir/sim3.log" 2.5
	wait_log "$dir/sim3.log" "$nodes with a Lease, $nodes watching pods" 900
	local c0 t0 srv_pct age
	c0=$(cpu_s "$srv")
	t0=$(date +%s.%N)
	sleep 30 # a measurement window (a benchmark, not a test)
	srv_pct=$(python3 -c "print('%.0f' % (100 * ($(cpu_s "$srv") - $c0) / ($(date +%s.%N) - $t0)))")
	kubectl get leases -n kube-node-lease \
		-o jsonpath='{range .items[*]}{.spec.renewTime}{"\n"}{end}' >"$dir/renew.txt"
	age=$(python3 - "$dir/renew.txt" <<'EOF'
import datetime, sys
now = datetime.datetime.now(datetime.timezone.utc)
ages = sorted((now - datetime.datetime.strptime(l.strip(), "%Y-%m-%dT%H:%M:%S.%fZ").replace(
    tzinfo=datetime.timezone.utc)).total_seconds() for l in open(sys.argv[1]) if l.strip())
print("%.1f %.1f" % (ages[len(ages) // 2], ages[-1]))
EOF
	)
	local lease_errors
	lease_errors=$(sed -nE 's/.* ([0-9]+) Lease errors.*/\1/p' "$dir/sim3.log" | tail -1)
	kill -TERM "$sim"
	wait "$sim" 2>/dev/null || true
	kill -TERM "$srv"
	wait "$srv" 2>/dev/null || true

	python3 - "$dir" "$work/$nodes.json" <<EOF
import json, sys
d, out = sys.argv[1], sys.argv[2]
age = "$age".split()
json.dump({
  "nodes": $nodes, "pods": $pods,
  "up": {"register_seconds": float("$register_s"),
         "nodes_per_s": round($nodes / float("$register_s"), 1),
         "all_leases_and_watches_seconds": float("$up_s"),
         "sim_rss_mb": round($sim_rss / 1024, 1), "server_rss_mb": round($srv_rss / 1024, 1)},
  "live": dict(json.load(open(d + "/live.json")), sim_cpu_seconds=float("$live_cpu"),
               sim_rss_mb=round($live_rss / 1024, 1)),
  "backlog": dict(json.load(open(d + "/backlog.json")),
                  created_per_s=json.load(open(d + "/create.json"))["per_s"],
                  from_sim_start_seconds=float("$backlog_s"),
                  sim_rss_mb=round($backlog_rss / 1024, 1),
                  sim_cpu_seconds=float("$backlog_cpu")),
  "lease_2_5s": {"renewals_per_s": round($nodes / 2.5), "server_cpu_percent": int("$srv_pct"),
                 "renew_age_p50_s": float(age[0]), "renew_age_max_s": float(age[1]),
                 "lease_errors": int("${lease_errors:-0}")},
}, open(out, "w"), indent=2)
EOF
}

for s in $scales; do
	scale "${s%%:*}" "${s##*:}"
done

step "report"
python3 - "$work" "$res/$name" "$quick" $scales <<'EOF'
import json, os, platform, sys
work, out, quick, scales = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4:]
runs = [json.load(open("%s/%s.json" % (work, s.split(":")[0]))) for s in scales]
r = {"machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
                 "load_avg_at_end": [round(x, 1) for x in os.getloadavg()]},
     "command": "scripts/bench.sh sim" + (" --quick" if quick else ""), "runs": runs}
json.dump(r, open(out + ".json", "w"), indent=2)
rows = [("nodes registered", lambda x: "%s s (%s nodes/s)" % (x["up"]["register_seconds"], x["up"]["nodes_per_s"])),
        ("every node with a Lease and a pods watch", lambda x: "%s s after start" % x["up"]["all_leases_and_watches_seconds"]),
        ("RSS with the nodes: sim / server", lambda x: "%s MB / %s MB" % (x["up"]["sim_rss_mb"], x["up"]["server_rss_mb"])),
        ("live: bound pods created by 32 clients", lambda x: "%s pods/s" % x["live"]["create_per_s"]),
        ("live: pods turned Running", lambda x: "%s pods/s (1 s windows: p50 %s, max %s)" % (x["live"]["running_per_s"], x["live"]["window_p50_per_s"], x["live"]["window_max_per_s"])),
        ("live: create -> Running", lambda x: "p50 %s ms, p90 %s ms, p99 %s ms" % (x["live"].get("latency_p50_ms"), x["live"].get("latency_p90_ms"), x["live"].get("latency_p99_ms"))),
        ("live: the sim's CPU", lambda x: "%s s" % x["live"]["sim_cpu_seconds"]),
        ("backlog: pods marked Running by a restarted sim", lambda x: "%s pods/s (1 s windows: p50 %s, max %s); all %s s after its start" % (x["backlog"]["running_per_s"], x["backlog"]["window_p50_per_s"], x["backlog"]["window_max_per_s"], x["backlog"]["from_sim_start_seconds"])),
        ("RSS of the sim with the nodes and all pods", lambda x: "%s MB" % x["backlog"]["sim_rss_mb"]),
        ("Leases every 2.5 s: renewals/s", lambda x: "%d" % x["lease_2_5s"]["renewals_per_s"]),
        ("... server CPU; renewTime age p50 / max (an upper bound: read after listing every Lease)", lambda x: "%s%%; %s s / %s s; %s Lease errors" % (x["lease_2_5s"]["server_cpu_percent"], x["lease_2_5s"]["renew_age_p50_s"], x["lease_2_5s"]["renew_age_max_s"], x["lease_2_5s"]["lease_errors"]))]
md = "# drover sim against drover server\n\n"
md += "`%s` on %d CPUs, kernel %s; load average at the end %s (the machine is shared with other work). " % (
    r["command"], r["machine"]["cpus"], r["machine"]["kernel"], ", ".join(map(str, r["machine"]["load_avg_at_end"])))
md += "The server runs with --node-grace 40 and the nodes renew every 10 s, except in the Lease rows.\n\n"
md += "| | " + " | ".join("%d nodes, %d pods" % (x["nodes"], x["pods"]) for x in runs) + " |\n"
md += "|---|" + "---|" * len(runs) + "\n"
for label, f in rows:
    md += "| %s | %s |\n" % (label, " | ".join(f(x) for x in runs))
open(out + ".md", "w").write(md)
print(md)
EOF
