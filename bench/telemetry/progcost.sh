#!/usr/bin/env bash
# bench/telemetry/progcost.sh [--base BUILD_DIR] [--trials N] [--secs S]: what telemetry's
# programs cost per request, in the kernel's own accounting (kernel.bpf_stats_enabled: each
# program's run count and run time), under scripts/bench.sh telemetry's load (telemetry on,
# client and backend pods of one node through a ClusterIP; wrk keep-alive, then a new
# connection per request). With --base, a build of other code (e.g. a git worktree of an
# earlier commit, built with `cmake --build B --target drover drover-httpd drover-connlat
# drover-tl-events`) runs in the same session, trial by trial interleaved with this tree's.
# Prints one JSON line per build and trial (ns per request of the three telemetry programs
# together, ns per run and runs per request of each) and a table of min–max per build.
# The statistics add their own two clock reads to each run (some 20–40 ns).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
NEW=${DROVER_BUILD_DIR:-$TOP/build} BASE="" TRIALS=3 SECS=4
while [ $# -gt 0 ]; do
	case $1 in
	--base) BASE=$2; shift ;;
	--trials) TRIALS=$2; shift ;;
	--secs) SECS=$2; shift ;;
	-h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "progcost: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
tmp=$(mktemp -d /tmp/drover-progcost.XXXXXX)
old_stats=$(cat /proc/sys/kernel/bpf_stats_enabled)
poller=""
cleanup() {
	[ -n "$poller" ] && kill "$poller" 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled="$old_stats"
	rm -rf "$tmp"
}
trap cleanup EXIT
sysctl -qw kernel.bpf_stats_enabled=1
# every second: each loaded program's name, run count and run time
poll() {
	while :; do
		bpftool -j prog show 2>/dev/null | python3 -c '
import json, sys, time
t = int(time.time())
for p in json.load(sys.stdin):
    if p.get("run_cnt", 0):
        print(t, p.get("name"), p["run_cnt"], p["run_time_ns"])' >>"$1"
		sleep 1
	done
}
builds=(new)
[ -n "$BASE" ] && builds=(base new)
for t in $(seq 1 "$TRIALS"); do
	for v in "${builds[@]}"; do
		b=$NEW
		[ "$v" = base ] && b=$BASE
		: >"$tmp/stats"
		poll "$tmp/stats" &
		poller=$!
		echo "[progcost] trial $t/$TRIALS, $v ($b)" >&2
		DROVER_BUILD_DIR=$b "$TOP/scripts/bench.sh" telemetry --configs on --trials 1 \
			--secs "$SECS" --no-build --no-install --out "$tmp/out" >"$tmp/bench.log" 2>&1 ||
			{ cat "$tmp/bench.log" >&2; exit 1; }
		kill "$poller"
		wait "$poller" 2>/dev/null || true
		poller=""
		python3 "$HERE/progcost.py" line "$v" "$t" "$tmp/stats" "$tmp/bench.log" | tee -a "$tmp/all.jsonl"
	done
done
python3 "$HERE/progcost.py" table "$tmp/all.jsonl"
