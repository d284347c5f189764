#!/usr/bin/env bash
# scripts/bench.sh proxy-update [options]: what one service's change costs the proxy when
# its manifests are one 10,000-service file and when they are a file per service, and where
# start-up's time goes, in one run on this machine (issue 11, item 13).
#
#   --services S   services                                           [10000]
#   --trials N     interleaved trials: each starts every mode afresh  [3]
#   --edits N      edits per trial and mode                           [5]
#   --out DIR      where proxy-update.{json,md,svg} go                [bench/results]
#   --quick        S = 2000, 1 trial, 3 edits, into bench/results/quick
#
# Modes (each trial runs all three, in this order, each in a fresh node namespace with no
# pinned state, so that every start-up is a cold one):
#   one          every service in one file (bench/proxy/update_gen.py: 2*S documents)
#   one-whole    the same, with DROVER_MANIFESTS_DOC_CACHE=0: every document of the file
#                decoded again on each change, as before unchanged documents were reused
#   per          a file per service
# An edit replaces one endpoint of the EndpointSlice of the service in the middle (versions
# a and b in turn, so that each edit is a change), by rename over the file as editors and
# kubectl-style tools do. Per edit: the proxy's own figures (its log: the manifests line's
# read / decode / model times and documents decoded, the sync line's map time and entries
# written), the wall time from the rename to the sync line in the log, and the proxy's CPU
# time over that span. Per start: the proxy's "start-up phases" line and the wall time from
# the start to its ready file. Everything made (namespaces, pins, processes) is removed at
# exit, also on failure.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUILD=${DROVER_BUILD_DIR:-$TOP/build}
# shellcheck source=../../scripts/lib/topo.sh
source "$TOP/scripts/lib/topo.sh"
# shellcheck source=common.sh
source "$HERE/common.sh"

SERVICES=10000
TRIALS=3
EDITS=5
OUT=""
QUICK=0
ARGS="$*"
while [ $# -gt 0 ]; do
	case $1 in
	--services) SERVICES=$2; shift ;;
	--trials) TRIALS=$2; shift ;;
	--edits) EDITS=$2; shift ;;
	--out) OUT=$2; shift ;;
	--quick) QUICK=1 ;;
	-h | --help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench proxy-update: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
if [ "$QUICK" = 1 ]; then
	[[ $ARGS == *--services* ]] || SERVICES=2000
	[[ $ARGS == *--trials* ]] || TRIALS=1
	[[ $ARGS == *--edits* ]] || EDITS=3
	[ -n "$OUT" ] || OUT=$TOP/bench/results/quick
fi
[ -n "$OUT" ] || OUT=$TOP/bench/results
MODES="one one-whole per"

if [ "$(id -u)" -ne 0 ]; then
	echo "bench proxy-update: must run as root (network namespaces, BPF)" >&2
	exit 1
fi
echo "bench proxy-update: building drover in $BUILD" >&2
cmake -S "$TOP" -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target drover drover-httpd >/dev/null

WORK=$(mktemp -d /tmp/drover-bench-update.XXXXXX)
RAW=$WORK/raw.jsonl
T_START=$(date +%s)
elapsed() { local s=$(($(date +%s) - T_START)); printf '%d:%02d' $((s / 60)) $((s % 60)); }
say() { printf '[bench proxy-update %s] %s\n' "$(elapsed)" "$*" >&2; }

bench_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -z "$TOPO_TAG" ] || topo_cleanup quiet
	work_done $rc
	exit $rc
}
topo_find_bins
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# num TEXT REGEX: the first number that follows REGEX in TEXT.
num() { sed -nE "s/.*$2 ([0-9.]+).*/\1/p" <<<"$1" | head -1; }

say "generating $SERVICES services in both shapes"
python3 "$HERE/update_gen.py" --services "$SERVICES" --out "$WORK/gen"
TARGET=$(cat "$WORK/gen/target")

# start MODE TRIAL: a fresh node namespace and proxy over the mode's manifests; records the
# start-up phases.
start() {
	local mode=$1 trial=$2 t0 t1 line
	topo_init pu
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	topo_node
	MANI=$WORK/run/$mode-$trial
	rm -rf "$MANI"
	mkdir -p "$MANI"
	# hard links: an edit renames a new file over one, the generated ones stay as they are
	case $mode in
	one | one-whole) ln "$WORK/gen/one/all.yaml" "$MANI/all.yaml"; FILE=all.yaml ;;
	per) cp -al "$WORK/gen/per/." "$MANI/"; FILE=$TARGET ;;
	esac
	TOPO_LOG=$WORK/run/$mode-$trial.log
	t0=$(now_ns)
	if [ "$mode" = one-whole ]; then
		DROVER_MANIFESTS_DOC_CACHE=0 topo_proxy --manifests "$MANI" --gc-interval 3600 || return 1
	else
		topo_proxy --manifests "$MANI" --gc-interval 3600 || return 1
	fi
	t1=$(now_ns)
	PROXY_PID=$(cat "/tmp/drover-$TOPO_TAG.ready")
	line=$(grep 'start-up phases:' "$TOPO_LOG" | tail -1)
	printf '{"kind":"start","mode":"%s","trial":%d,"wall_ms":%s,"read_ms":%s,"decode_ms":%s,"docs":%s,"objs":%s,"model_ms":%s,"source_ms":%s,"bpf_load_ms":%s,"adopt_ms":%s,"first_sync_ms":%s,"map_writes_ms":%s,"attach_ms":%s,"ready_ms":%s,"cpu_ms":%s}\n' \
		"$mode" "$trial" "$(ms_between "$t0" "$t1")" \
		"$(num "$line" 'read')" "$(num "$line" 'decode')" \
		"$(sed -nE 's/.*decode [0-9.]+ ms \(([0-9]+) document.*/\1/p' <<<"$line")" \
		"$(sed -nE 's/.*document\(s\), ([0-9]+) object.*/\1/p' <<<"$line")" \
		"$(num "$line" 'model')" "$(num "$line" '\(source')" "$(num "$line" 'BPF load')" \
		"$(num "$line" 'adopt')" "$(num "$line" 'first sync')" "$(num "$line" '\(map writes')" \
		"$(num "$line" 'attach')" "$(num "$line" 'ready')" \
		"$(awk -v c="$(proc_cpu_ns "$PROXY_PID")" 'BEGIN{printf "%.3f", c / 1e6}')" >>"$RAW"
}

# edit MODE TRIAL N: rename version a or b over the file, wait for the sync line.
edit() {
	local mode=$1 trial=$2 k=$3 v=b ok=1 src n0 t0 t1 c0 c1 mline sline
	[ $((k % 2)) = 0 ] && v=a
	case $mode in
	one | one-whole) src=$WORK/gen/one-edit/$v.yaml ;;
	per) src=$WORK/gen/per-edit/$v.yaml ;;
	esac
	cp "$src" "$MANI/.edit.tmp" # a hidden name: not a manifest until renamed
	sync "$MANI/.edit.tmp" 2>/dev/null || true
	n0=$(log_count ' sync: ')
	c0=$(proc_cpu_ns "$PROXY_PID")
	t0=$(now_ns)
	mv "$MANI/.edit.tmp" "$MANI/$FILE"
	wait_log ' sync: ' "$n0" 0.002 || ok=0
	t1=$(now_ns)
	c1=$(proc_cpu_ns "$PROXY_PID")
	if [ $ok = 0 ]; then
		say "  $mode: no sync after edit $k"
		printf '{"kind":"edit","mode":"%s","trial":%d,"edit":%d,"failed":true}\n' "$mode" "$trial" "$k" >>"$RAW"
		return 0
	fi
	mline=$(grep 'document(s) decoded' "$TOPO_LOG" | tail -1)
	sline=$(grep ' sync: ' "$TOPO_LOG" | tail -1)
	printf '{"kind":"edit","mode":"%s","trial":%d,"edit":%d,"e2e_ms":%s,"cpu_ms":%s,"read_ms":%s,"decode_ms":%s,"model_ms":%s,"docs":%s,"docs_decoded":%s,"objs_decoded":%s,"maps_us":%s,"commit_us":%s,"entries_written":%s,"entries_deleted":%s}\n' \
		"$mode" "$trial" "$k" "$(ms_between "$t0" "$t1")" \
		"$(ms_between "$c0" "$c1")" \
		"$(num "$mline" 'read')" "$(num "$mline" 'decode')" "$(num "$mline" 'model')" \
		"$(sed -nE 's/.* of ([0-9]+) document\(s\) decoded.*/\1/p' <<<"$mline")" \
		"$(sed -nE 's/.* ([0-9]+) of [0-9]+ document\(s\) decoded.*/\1/p' <<<"$mline")" \
		"$(sed -nE 's/.*document\(s\) decoded \(([0-9]+) objects\).*/\1/p' <<<"$mline")" \
		"$(num "$sline" '\(maps')" "$(sed -nE 's/.* in ([0-9.]+) us \(maps.*/\1/p' <<<"$sline")" \
		"$(sed -nE 's/.* ([0-9]+) map entries written.*/\1/p' <<<"$sline")" \
		"$(sed -nE 's/.*written, ([0-9]+) deleted.*/\1/p' <<<"$sline")" >>"$RAW"
}

ARGS="$ARGS" TOP=$TOP SERVICES=$SERVICES TRIALS=$TRIALS EDITS=$EDITS \
	python3 "$HERE/update_report.py" --machine-info "$WORK/machine.json"
mkdir -p "$WORK/run" "$OUT"
for trial in $(seq 1 "$TRIALS"); do
	for mode in $MODES; do
		say "trial $trial/$TRIALS, mode $mode: start"
		if ! start "$mode" "$trial"; then
			say "  $mode: the proxy did not start"
			topo_cleanup quiet
			trap bench_cleanup EXIT
			continue
		fi
		sleep 0.5
		for k in $(seq 1 "$EDITS"); do
			edit "$mode" "$trial" "$k"
			sleep 0.3
		done
		topo_cleanup quiet
		trap bench_cleanup EXIT # topo_cleanup disarms it
	done
done
say "writing $OUT/proxy-update.json, .md, .svg"
python3 "$HERE/update_report.py" --raw "$RAW" --machine "$WORK/machine.json" --out "$OUT"
say "done in $(elapsed)"
