#!/usr/bin/env bash
# API server benchmark: drover server over keep-alive HTTPS (bench/api/api_bench.c).
#   scripts/bench.sh api [--quick]
# get, list (1,000 and 10,000 pods, JSON and Table), create and update: requests/s and
# p50/p99 with 1 and 64 clients (and 64 lists of 10,000 whose clients keep each body whole,
# as this benchmark's client first did); watch delivery at 100 events/s to 200, 500 and
# 1,000 TLS watchers of a namespace's pods, and to as many kubelets (each watching
# spec.nodeName=node-i while pods are created and bound across the nodes), with the CPU the
# server and the client spent per delivered event (the writes' own server CPU, measured
# with the writer alone, taken out too); server RSS with 10,000 and 150,000 pods; and, for
# reference in the same run, the store alone doing the same creates. Writes bench/results/api.json (every raw figure, the machine
# and the command), api.md (tables, goals) and api-*.svg; --quick writes api-quick.*.
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD

quick=0
for a in "$@"; do
	case "$a" in
	--quick) quick=1 ;;
	*) echo "bench.sh api: unknown option $a" >&2; exit 2 ;;
	esac
done
if [ $quick -eq 1 ]; then
	secs=2 wsecs=5 watchers="200" big=10000 huge=30000 name=api-quick trials=1
else
	secs=8 wsecs=20 watchers="200 500 1000" big=10000 huge=150000 name=api trials="1 2 3"
fi

step() { printf '\n=== %s ===\n' "$*" >&2; }

step "build"
cmake -S . -B build -DDROVER_WERROR=ON >/dev/null
cmake --build build -j "$(nproc)" --target drover api_bench api_send_floor >/dev/null
drover=$top/build/userspace/cli/drover
bench=$top/build/bench/api/api_bench
floor=$top/build/bench/api/api_send_floor

res=$top/bench/results
work=$res/tmp/api-$$
mkdir -p "$work"
raw=$work/raw.jsonl
: >"$raw"
srv_pid=
stop_server() {
	if [ -n "$srv_pid" ]; then
		kill "$srv_pid" 2>/dev/null || true
		wait "$srv_pid" 2>/dev/null || true
		srv_pid=
	fi
}
cleanup() {
	stop_server
	rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=../../scripts/lib/apiserver.sh
source scripts/lib/apiserver.sh
# start_server DIR: drover server on a free port; sets port, token, srv_pid
start_server() {
	local dir=$1 ok=0
	rm -rf "$dir"
	# the API server alone (no controllers or scheduler acting on the benchmark's pods; no
	# ServiceAccount admission: no serviceaccount controller makes the accounts it would need)
	api_server_start "$drover" "$dir" "$dir.log" --controllers "" --no-scheduler \
		--disable-admission-plugins ServiceAccount || ok=$?
	srv_pid=$API_PID port=$API_PORT token=$dir/pki/token
	[ $ok -eq 0 ] || exit 1 # the EXIT trap stops srv_pid
}
b() { "$bench" --port "$port" --token-file "$token" "$@" | tee -a "$raw"; }
# the same, its watch rows marked as measured with direct writes off (watch.c)
b_reader() {
	"$bench" --port "$port" --token-file "$token" "$@" |
		sed 's/^{"bench":"watch",/{"bench":"watch","path":"reader",/' | tee -a "$raw"
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$srv_pid/status"; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

step "the store alone (same disk, values about a stored pod's size): reference for create"
rm -rf "$work/store"
"$bench" store --ns "$work/store" --clients 64 --seconds "$secs" --pods 3500 | tee -a "$raw"
"$bench" store --ns "$work/store1" --clients 1 --seconds "$secs" --pods 3500 | tee -a "$raw"
rm -rf "$work/store" "$work/store1"

step "server: create and update, 1 and 64 clients"
start_server "$work/data"
b --ns c1 prepare --pods 1 >/dev/null
b --ns c1 ops --op create --clients 1 --seconds "$secs" --label create-1
b --ns c64 prepare --pods 1 >/dev/null
# the goal's figures: three trials each, the report takes the median (this disk's fdatasync
# and the shared cores move single runs by ±15 %)
for _ in $trials; do
	b --ns c64 ops --op create --clients 64 --seconds "$secs" --label create-64
done
b --ns small prepare --pods 1000
b --ns small ops --op update --clients 1 --seconds "$secs" --pods 1000 --label update-1
for _ in $trials; do
	b --ns small ops --op update --clients 64 --seconds "$secs" --pods 1000 --label update-64
done

step "server: get and list of 1,000 pods"
for c in 1 64; do
	b --ns small ops --op get --clients "$c" --seconds "$secs" --pods 1000 --label "get-$c"
	b --ns small ops --op list --clients "$c" --seconds "$secs" --pods 1000 --label "list-1k-json-$c"
	b --ns small ops --op list --clients "$c" --seconds "$secs" --pods 1000 --table --label "list-1k-table-$c"
done

step "server: list of 10,000 pods"
b --ns big prepare --pods "$big"
for c in 1 64; do
	b --ns big ops --op list --clients "$c" --seconds "$secs" --pods "$big" --label "list-10k-json-$c"
	b --ns big ops --op list --clients "$c" --seconds "$secs" --pods "$big" --table --label "list-10k-table-$c"
done
# the same 64 lists read by clients that each grow a buffer for the whole body
b --ns big ops --op list --clients 64 --seconds "$secs" --pods "$big" --keep-body --label "list-10k-json-64-keep"

step "server: the watch writers alone (their own CPU, taken out of the watchers')"
b --ns small watch --watchers 0 --rate 100 --seconds "$wsecs" --pods 1000 --server-pid "$srv_pid"
b --ns kubelet prepare --pods 1 >/dev/null
b --ns kubelet watch --kubelets --watchers 0 --rate 100 --seconds "$wsecs" --server-pid "$srv_pid"
for n in $watchers; do
	step "server: watch, $n watchers of the namespace at 100 events/s"
	b --ns small watch --watchers "$n" --rate 100 --seconds "$wsecs" --pods 1000 --server-pid "$srv_pid"
	step "server: watch, $n kubelets (spec.nodeName=node-i), 100 bindings/s across them"
	b --ns kubelet watch --kubelets --watchers "$n" --rate 100 --seconds "$wsecs" --server-pid "$srv_pid"
done
stop_server

# Baselines of the watch CPU, same run: the server with direct writes off (each event resumes
# the connection and runs libmicrohttpd's reader, as before), and the kernel's part alone
# (one plain send per event per watcher of an event about a pod's size, 3,400 B).
step "server, direct writes off: the watch writer alone, then watchers of the namespace"
DROVER_WATCH_NO_DIRECT=1 start_server "$work/reader"
b --ns small prepare --pods 1000 >/dev/null
b_reader --ns small watch --watchers 0 --rate 100 --seconds "$wsecs" --pods 1000 --server-pid "$srv_pid"
for n in $watchers; do
	b_reader --ns small watch --watchers "$n" --rate 100 --seconds "$wsecs" --pods 1000 --server-pid "$srv_pid"
done
stop_server
step "the kernel's floor: one plain send per event per watcher (bench/api/send_floor.c)"
for n in $watchers; do
	"$floor" --watchers "$n" --rate 100 --seconds "$wsecs" --size 3400 | tee -a "$raw"
done

step "server RSS: $big and $huge pods (a fresh server)"
start_server "$work/rss"
b --ns rss prepare --pods 1 >/dev/null
echo "{\"bench\":\"rss\",\"pods\":0,\"rss_kib\":$(rss_kib)}" | tee -a "$raw"
b --ns rss prepare --pods "$big" >/dev/null
echo "{\"bench\":\"rss\",\"pods\":$big,\"rss_kib\":$(rss_kib)}" | tee -a "$raw"
b --ns rss prepare --pods "$huge" | tee "$work/huge.json" >/dev/null
echo "{\"bench\":\"rss\",\"pods\":$huge,\"rss_kib\":$(rss_kib),\"store_dir_kib\":$(du -sk "$work/rss/store" | cut -f1)}" | tee -a "$raw"
stop_server

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
step "report"
python3 bench/api/report.py "$raw" "$res" "$name" "scripts/bench.sh api${1:+ $1}" \
	"$load_before" "$load_after" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
