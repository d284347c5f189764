#!/usr/bin/env bash
# Store benchmark: drover's embedded store vs etcd (Debian's etcd-server, one member, data on
# the same disk, driven through its JSON gateway), same operations, keys and concurrency.
#   scripts/bench.sh store [--quick]
# Writes bench/results/store.json (every raw figure + machine), store.md (table, ratios) and
# store-*.svg; --quick is a short run for people and writes store-quick.* instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD

quick=0
for a in "$@"; do
	case "$a" in
	--quick) quick=1 ;;
	*) echo "bench.sh store: unknown option $a" >&2; exit 2 ;;
	esac
done
if [ $quick -eq 1 ]; then
	dur=0.5 rounds=1 cap=3 wdur=1 name=store-quick
else
	dur=3 rounds=3 cap=20 wdur=5 name=store
fi

step() { printf '\n=== %s ===\n' "$*" >&2; }

command -v etcd >/dev/null || { echo "bench.sh store: etcd not found (scripts/deps.sh installs etcd-server)" >&2; exit 1; }

step "build"
cmake -S . -B build -DDROVER_WERROR=ON >/dev/null
cmake --build build -j "$(nproc)" --target store_bench >/dev/null
bin=$top/build/bench/store/store_bench

res=$top/bench/results
work=$res/tmp/store-$$
raw=$work/raw
mkdir -p "$raw"
etcd_pid=
cleanup() {
	if [ -n "$etcd_pid" ]; then kill "$etcd_pid" 2>/dev/null || true; wait "$etcd_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

start_etcd() {
	local cport pport
	cport=$(free_port); pport=$(free_port)
	rm -rf "$work/etcd"
	etcd --name bench --data-dir "$work/etcd" \
		--listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport" \
		--listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
		--initial-cluster "bench=http://127.0.0.1:$pport" --quota-backend-bytes 8589934592 \
		--logger zap --log-level error >"$work/etcd.log" 2>&1 &
	etcd_pid=$!
	endpoint=http://127.0.0.1:$cport
	for _ in $(seq 100); do
		curl -sf -X POST "$endpoint/v3/kv/range" -d '{"key":"AA=="}' >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "etcd did not start:" >&2; cat "$work/etcd.log" >&2; exit 1
}

stop_etcd() {
	kill "$etcd_pid"; wait "$etcd_pid" 2>/dev/null || true; etcd_pid=
}

step "machine"
python3 - "$raw/machine.json" <<'PY'
import json, os, platform, subprocess, sys
def sh(c):
    try: return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception: return ""
m = {
  "kernel": platform.release(), "cores": os.cpu_count(),
  "cpu": sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip(),
  "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
  "disk": sh("df -h --output=source,fstype,size . | tail -1"),
  "etcd_version": sh("etcd --version | head -1"),
  "date": sh("date -u +%Y-%m-%dT%H:%M:%SZ"),
  "git_commit": sh("git rev-parse --short HEAD"),
  "loadavg_at_start": sh("cat /proc/loadavg"),
}
json.dump(m, open(sys.argv[1], "w"), indent=1)
print(json.dumps(m), file=sys.stderr)
PY

step "disk: fdatasync latency (4 KiB append / overwrite, 400 each)"
"$bin" fsync "$work" | tee "$raw/fsync.json" >&2

step "memory: 10,000 keys of 2 KiB"
"$bin" memory --embedded "$work/drover-mem" --keys 10000 --value-size 2048 >"$raw/mem-drover.json"
start_etcd
"$bin" memory --etcd "$endpoint" --pid "$etcd_pid" --keys 10000 --value-size 2048 >"$raw/mem-etcd.json"
stop_etcd

step "operations: drover (embedded, fsync on) and etcd (JSON gateway), each phase back to back"
start_etcd
"$bin" ops --embedded "$work/drover-ops" --etcd "$endpoint" --duration $dur --rounds $rounds --create-cap $cap >"$raw/ops.json"
stop_etcd

step "watch: 1,000 watchers, 50 writes/s"
"$bin" watch --embedded "$work/drover-watch-fd" --watchers 1000 --rate 50 --duration $wdur --watch-set 0 >"$raw/watch-drover-fd.json"
"$bin" watch --embedded "$work/drover-watch-set" --watchers 1000 --rate 50 --duration $wdur --watch-set 1 >"$raw/watch-drover-set.json"
start_etcd
"$bin" watch --etcd "$endpoint" --watchers 1000 --rate 50 --duration $wdur >"$raw/watch-etcd.json"
stop_etcd

step "disk: fdatasync latency again, after the run"
"$bin" fsync "$work" | tee "$raw/fsync-after.json" >&2

python3 - "$raw/machine.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); m["loadavg_at_end"] = open("/proc/loadavg").read().strip()
json.dump(m, open(sys.argv[1], "w"), indent=1)
PY

step "report"
python3 bench/store/report.py "$raw" "$res" "$name" "scripts/bench.sh store${*:+ $*}"
sed -n '/^## Goals/,/^## Operations/p' "$res/$name.md" | sed '$d' >&2
