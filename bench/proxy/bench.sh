#!/usr/bin/env bash
# scripts/bench.sh proxy [--quick] [options]: drover's eBPF service proxy against kube-proxy's
# iptables rules (nf_tables and legacy backends) and kube-proxy's nftables rules, side by
# side, at 1 to 10,000 services, with a "no proxy" floor, in one run on this machine.
#
#   --quick            S in {1, 1000}, one trial, 5,000 connections, 1 s wrk runs, no
#                      legacy-backend or "measured service first" modes (for people,
#                      not a CI test)
#   --services LIST    comma-separated service counts            [1,1000,10000]
#   --trials N         interleaved repeats                      [3]
#   --modes LIST       subset of: none ipt-nft ipt-nft-first ipt-legacy ipt-legacy-first
#                      nft drover-tc drover-sock                 [all]
#   --out DIR          where proxy.json, proxy.md, proxy-*.svg go [bench/results; with
#                      --quick bench/results/quick, so the checked-in full results stay]
#   --name NAME        file names NAME.json, NAME.md, NAME-*.svg   [proxy]
#   --backends N       endpoints of the measured service, and backend pods (1..3)  [3]
#   --no-pktbench      skip the per-packet BPF_PROG_TEST_RUN figures
#   --no-nodeport      skip the NodePort-from-outside figure at the end
#   --no-rollout       skip the rollout-under-load figure at the end
#   --floor            the like-for-like comparison: --backends 1, S = 1, 6 trials, modes
#                      none, drover-sock, drover-tc, no pktbench, no NodePort, no rollout,
#                      written as proxy-floor.* (options given explicitly win)
#
# The floor (mode none) and a Service do not spread connections alike: wrk's thread i
# connects straight to backend i (each thread's connections on one backend), the proxies
# pick a backend per connection at random. With --backends 1 both go to the one backend,
# and the floor differs from drover in nothing but the proxy; the report then adds a
# like-for-like section (ratios to the floor, per trial and overall, and the goals).
#
# Every trial builds a fresh topology (scripts/lib/topo.sh: node namespace, client pod,
# one to three backend pods running drover-httpd) so that no mode inherits conntrack or netfilter
# state from another. Modes run interleaved (trial 1: all modes, trial 2: all modes, ...),
# each trial starting with the next mode.
# Raw figures go to a work directory first; bench/proxy/report.py turns them into the
# results. Everything the run creates (namespaces, veths, cgroups, BPF pins, processes) is
# removed at exit, also on failure or Ctrl-C; iptables and nftables state only ever lives
# inside the run's own namespaces.
#
# Last, NodePort new connections per second from an external namespace (drover XDP, iptables
# DNAT + MASQUERADE, and routed straight to the backend: bench/proxy/nodeport_cps.sh),
# appended to proxy.md. Then the requests that fail while a service's endpoints roll one by one
# under load, drover against kube-proxy's rules (bench/proxy/rollout.sh: proxy-rollout.json,
# .md, .svg beside proxy.json; its table appended to proxy.md).
#
# bench/proxy/bpfstats.sh (run by hand) cross-checks the per-packet figures on live traffic
# with the kernel's BPF run-time statistics; bench/proxy/notes.md is appended to proxy.md.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUILD=${DROVER_BUILD_DIR:-$TOP/build}
CONNLAT=$BUILD/bench/proxy/drover-connlat
PKTBENCH=$BUILD/bench/proxy/drover-pktbench
# shellcheck source=../../scripts/lib/topo.sh
source "$TOP/scripts/lib/topo.sh"
# shellcheck source=common.sh
source "$HERE/common.sh"

QUICK=0
SERVICES="1,1000,10000"
TRIALS=3
MODES="none ipt-nft ipt-nft-first ipt-legacy ipt-legacy-first nft drover-tc drover-sock"
OUT=""
NAME=proxy
BACKENDS=3
PKTBENCH_ON=1
NODEPORT_ON=1
ROLLOUT_ON=1
FLOOR=0
ARGS="$*"
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--services) SERVICES=$2; shift ;;
	--trials) TRIALS=$2; shift ;;
	--modes) MODES=${2//,/ }; shift ;;
	--out) OUT=$2; shift ;;
	--name) NAME=$2; shift ;;
	--backends) BACKENDS=$2; shift ;;
	--no-pktbench) PKTBENCH_ON=0 ;;
	--no-nodeport) NODEPORT_ON=0 ;;
	--no-rollout) ROLLOUT_ON=0 ;;
	--floor) FLOOR=1 ;;
	-h | --help) sed -n '2,46p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench proxy: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
if [ -z "$OUT" ]; then
	OUT=$TOP/bench/results
	[ "${QUICK:-0}" = 1 ] && OUT=$TOP/bench/results/quick
fi
if [ "$FLOOR" = 1 ]; then
	[[ $ARGS == *--services* ]] || SERVICES=1
	[[ $ARGS == *--trials* ]] || TRIALS=6
	[[ $ARGS == *--modes* ]] || MODES="none drover-sock drover-tc"
	[[ $ARGS == *--backends* ]] || BACKENDS=1
	[[ $ARGS == *--name* ]] || NAME=proxy-floor
	PKTBENCH_ON=0 NODEPORT_ON=0 ROLLOUT_ON=0
fi
case $BACKENDS in 1 | 2 | 3) ;; *) echo "bench proxy: --backends must be 1..3" >&2; exit 2 ;; esac
BE_LIST=$(seq 1 "$BACKENDS")
if [ "$QUICK" = 1 ] && [ "$FLOOR" = 0 ]; then
	[[ $ARGS == *--services* ]] || SERVICES="1,1000"
	[[ $ARGS == *--trials* ]] || TRIALS=1
	[[ $ARGS == *--modes* ]] || MODES="none ipt-nft nft drover-tc drover-sock"
fi
if [ "$QUICK" = 1 ]; then
	CONNS=5000 WRK_SECS=1 PKT_RUNS=3000 SLOW_CAP=20 CYCLES=1
else
	CONNS=20000 WRK_SECS=4 PKT_RUNS=10000 SLOW_CAP=120 CYCLES=3
fi
WRK_CONNS=12 WRK_THREADS=3
IFS=, read -r -a SVC_LIST <<<"$SERVICES"
read -r -a MODE_LIST <<<"$MODES"

if [ "$(id -u)" -ne 0 ]; then
	echo "bench proxy: must run as root (network namespaces, BPF)" >&2
	exit 1
fi
# always (incrementally): the results name HEAD, so they must not come from an older binary
echo "bench proxy: building drover and the benchmark tools in $BUILD" >&2
cmake -S "$TOP" -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target drover drover-httpd drover-connlat drover-pktbench \
	>/dev/null
for tool in wrk iptables-nft-restore nft python3 ethtool; do
	command -v "$tool" >/dev/null || { echo "bench proxy: $tool missing: run scripts/deps.sh" >&2; exit 1; }
done
HAVE_LEGACY=1
command -v iptables-legacy-restore >/dev/null || HAVE_LEGACY=0

WORK=$(mktemp -d /tmp/drover-bench-proxy.XXXXXX)
RAW=$WORK/raw
mkdir -p "$RAW" "$OUT"
T_START=$(date +%s)
PKT_PID=""

elapsed() { local s=$(($(date +%s) - T_START)); printf '%d:%02d' $((s / 60)) $((s % 60)); }
say() { printf '[bench proxy %s] %s\n' "$(elapsed)" "$*" >&2; }
dbg() { [ "${BENCH_DEBUG:-0}" = 0 ] || printf '  %s.%s %s\n' "$(date +%T)" "$(date +%N | cut -c1-3)" "$*" >&2; }

# ---------- cleanup ----------

bench_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$PKT_PID" ] && kill -0 "$PKT_PID" 2>/dev/null; then
		kill -TERM "$PKT_PID" 2>/dev/null || true # its handler removes its pins
		wait "$PKT_PID" 2>/dev/null || true
	fi
	[ -z "$PKT_PID" ] || "$DROVER" proxy uninstall --pin-root "/sys/fs/bpf/drover-test-$PKT_PID" \
		>/dev/null 2>&1 || true
	[ -z "$PKT_PID" ] || rm -rf "/sys/fs/bpf/drover-test-$PKT_PID" 2>/dev/null || true
	[ -z "$TOPO_TAG" ] || topo_cleanup quiet
	[ -z "$TOPO_TAG" ] || rm -f "/tmp/drover-$TOPO_TAG.ready"
	work_done $rc
	exit $rc
}

topo_find_bins
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# ---------- rule sets ----------

# gen S POS: the rule and manifest set for S services, measured service POS (first|last).
gen() {
	local d=$WORK/gen/$1-$2
	if [ ! -d "$d" ]; then
		python3 "$HERE/genrules.py" --services "$1" --measured "$2" --backends "$BACKENDS" \
			--out "$d"
	fi
	echo "$d"
}

# ---------- one trial ----------

TDIR=""
rec() { echo "$1 $2" >>"$TDIR/metrics.txt"; }

# timed NAME CAP_S CMD...: run CMD, record NAME_ms (or NAME_timeout_s when it hit the cap).
timed() {
	local name=$1 cap=$2 t0 t1 rc=0
	shift 2
	t0=$(now_ns)
	timeout "$cap" "$@" >/dev/null || rc=$?
	t1=$(now_ns)
	if [ $rc -eq 124 ]; then
		rec "${name}_timeout_s" "$cap"
		say "  $name: stopped after ${cap}s"
	elif [ $rc -ne 0 ]; then
		rec "${name}_failed" "$rc"
		say "  $name: failed ($rc)"
	else
		rec "${name}_ms" "$(ms_between "$t0" "$t1")"
	fi
	return 0
}


# topo_cleanup disarms the EXIT trap: arm ours again.
trial_cleanup() {
	topo_cleanup quiet
	rm -f "/tmp/drover-$TOPO_TAG.ready"
	trap bench_cleanup EXIT
}

topo_build() {
	local t=$1
	topo_init pb
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	topo_node
	# A fresh client address per trial (with a fresh namespace too) rules out reused
	# 4-tuples between trials.
	topo_pod c $((50 + t % 150))
	for i in $BE_LIST; do
		topo_pod b$i $((10 + i))
		topo_backend b$i b$i
	done
	in_pod_nolb c sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
	for i in $BE_LIST; do topo_wait_listen "b$i" || true; done
}

# drover_sync_op NAME ACTION...: apply a manifest change, wait for the proxy's next sync
# line, record its figures and the proxy's CPU time for it.
drover_sync_op() {
	local name=$1 n0 ok=1 t0 t1 c0 c1 line
	shift
	n0=$(log_count ' sync: ')
	c0=$(proc_cpu_ns "$PROXY_PID")
	t0=$(now_ns)
	"$@"
	wait_log ' sync: ' "$n0" 0.005 || ok=0
	t1=$(now_ns)
	c1=$(proc_cpu_ns "$PROXY_PID")
	line=$(grep ' sync: ' "$TOPO_LOG" | tail -1)
	if [ $ok = 0 ]; then
		rec "drover_${name}_failed" 1
		return 0
	fi
	rec "drover_${name}_maps_us" "$(sed -E 's/.*\(maps ([0-9.]+) us\).*/\1/' <<<"$line")"
	rec "drover_${name}_commit_us" "$(sed -E 's/.* in ([0-9.]+) us \(maps.*/\1/' <<<"$line")"
	rec "drover_${name}_e2e_ms" "$(ms_between "$t0" "$t1")"
	rec "drover_${name}_cpu_ms" "$(ms_between "$c0" "$c1")"
}

PROXY_PID=""
put_manifest() { cp "$1" "$MANI/.churn.tmp" && mv "$MANI/.churn.tmp" "$MANI/churn.yaml"; }
drop_manifest() { rm -f "$MANI/churn.yaml"; }

# program MODE GENDIR: load the mode's rules into the node namespace, timing what counts.
program() {
	local mode=$1 g=$2 ipt
	case $mode in
	none) ;;
	ipt-nft* | ipt-legacy*)
		ipt=iptables-nft-restore
		[[ $mode == ipt-legacy* ]] && ipt=iptables-legacy-restore
		# The trial's tables are loaded with one flush-mode restore (fast); kube-proxy's
		# own --noflush path is timed after the traffic (see sync_ops).
		timed ipt_load_fast 600 ip netns exec "$(topo_ns node)" "$ipt" "$g/ipt-load.rules" ;;
	nft)
		timed nft_program_all 900 ip netns exec "$(topo_ns node)" nft -f "$g/nft-full.nft" ;;
	drover-tc | drover-sock)
		MANI=$TDIR/manifests
		mkdir -p "$MANI"
		cp "$g/manifests/svcs.yaml" "$MANI/"
		TOPO_LOG=$TDIR/proxy.log
		local t0 t1 extra=()
		[ "$mode" = drover-tc ] && extra=(--no-socket-lb)
		t0=$(now_ns)
		topo_proxy --manifests "$MANI" "${extra[@]}" --gc-interval 3600 || return 1
		t1=$(now_ns)
		# topo_proxy's PID is the subshell around nsenter; drover wrote its own PID.
		PROXY_PID=$(cat "/tmp/drover-$TOPO_TAG.ready")
		local line
		line=$(grep ' sync: ' "$TOPO_LOG" | head -1)
		rec drover_program_all_maps_us "$(sed -E 's/.*\(maps ([0-9.]+) us\).*/\1/' <<<"$line")"
		rec drover_program_all_commit_us "$(sed -E 's/.* in ([0-9.]+) us \(maps.*/\1/' <<<"$line")"
		rec drover_start_to_ready_ms "$(ms_between "$t0" "$t1")"
		rec drover_start_cpu_ms "$(awk -v c="$(proc_cpu_ns "$PROXY_PID")" 'BEGIN{printf "%.3f", c / 1e6}')"
		;;
	esac
}

# sync_ops MODE GENDIR TRIAL: add, change, delete one service among S; resyncs.
sync_ops() {
	local mode=$1 g=$2 trial=$3 ipt node
	node=$(topo_ns node)
	case $mode in
	ipt-nft | ipt-legacy)
		ipt=iptables-nft-restore
		[[ $mode == ipt-legacy* ]] && ipt=iptables-legacy-restore
		timed ipt_partial_add "$SLOW_CAP" ip netns exec "$node" "$ipt" --noflush "$g/ipt-add.rules"
		timed ipt_partial_change "$SLOW_CAP" ip netns exec "$node" "$ipt" --noflush "$g/ipt-change.rules"
		timed ipt_partial_delete "$SLOW_CAP" ip netns exec "$node" "$ipt" --noflush "$g/ipt-delete.rules"
		# kube-proxy's periodic full resync and its first sync (into empty chains) go
		# through the same --noflush path; on nf_tables it grows super-linearly, so these
		# run once per S (first trial) and under a cap.
		if [ "$trial" = 1 ]; then
			timed ipt_full_resync "$SLOW_CAP" ip netns exec "$node" "$ipt" --noflush "$g/ipt-full.rules"
			local scratch
			scratch=$(topo_ns scratch)
			ip netns add "$scratch"
			TOPO_NS+=("$scratch")
			ip netns exec "$scratch" "$ipt" --noflush "$g/ipt-jumps.rules"
			timed ipt_program_all "$SLOW_CAP" ip netns exec "$scratch" "$ipt" --noflush "$g/ipt-full.rules"
			ip netns del "$scratch"
		fi
		;;
	nft)
		timed nft_add 60 ip netns exec "$node" nft -f "$g/nft-add.nft"
		timed nft_change 60 ip netns exec "$node" nft -f "$g/nft-change.nft"
		timed nft_delete 60 ip netns exec "$node" nft -f "$g/nft-delete.nft"
		# Every kube-proxy nftables sync also lists the table's chains to find stale ones.
		timed nft_list_chains 60 ip netns exec "$node" nft --json list chains ip
		;;
	drover-tc | drover-sock)
		for _ in $(seq 1 "$CYCLES"); do
			drover_sync_op add put_manifest "$g/churn-add.yaml"
			drover_sync_op change put_manifest "$g/churn-change.yaml"
			drover_sync_op delete drop_manifest
		done
		;;
	esac
}

# CPU time (ns) of the backends' servers and of the proxy, if one runs.
server_cpu_ns() {
	local i sum=0 pid
	for i in $BE_LIST; do
		pid=TOPO_BACKEND_PID_b$i
		sum=$((sum + $(proc_cpu_ns "${!pid}")))
	done
	[ -z "$PROXY_PID" ] || sum=$((sum + $(proc_cpu_ns "$PROXY_PID")))
	echo $sum
}

# wrk_run NAME URL TARGETS WRK-ARGS...: wrk's figures in NAME.json, and NAME_cpu_us_per_req:
# the CPU time of wrk, the servers and the proxy per request. Softirq work (the packet path,
# drover's tc program included) is charged to the task it interrupts, here nearly always
# one of them, so this figure holds the proxy's cost per request while other work on the
# machine changes how much CPU is left for the rate.
wrk_run() {
	local name=$1 url=$2 targets=$3
	shift 3
	local out s0 s1 wrk_ticks reqs
	s0=$(server_cpu_ns)
	# The subshell's reaped child (wrk: sh, ip netns exec and env exec into it) shows in
	# its cutime + cstime (fields 16 and 17 of /proc/PID/stat, clock ticks), read by a plain
	# command of that subshell: inside a nested $(...) BASHPID names the nested one, which
	# reaped nothing (wrk's CPU was counted as 0 before).
	out=$(in_pod c env WRK_TARGETS="$targets" wrk -t"$WRK_THREADS" -c"$WRK_CONNS" \
		-d"${WRK_SECS}s" --timeout 5s -s "$HERE/wrk-report.lua" "$@" "$url" 2>&1
		awk '{print "wrk-ticks", $16 + $17}' "/proc/$BASHPID/stat") || true
	s1=$(server_cpu_ns)
	wrk_ticks=$(awk '/^wrk-ticks/ {print $2}' <<<"$out")
	grep '^{' <<<"$out" | tail -1 >"$TDIR/$name.json" || true
	[ -s "$TDIR/$name.json" ] || { echo "$out" | tail -5 >&2; echo '{"error": "wrk failed"}' >"$TDIR/$name.json"; }
	reqs=$(sed -nE 's/.*"requests": ([0-9]+).*/\1/p' "$TDIR/$name.json")
	if [ -n "$reqs" ] && [ "$reqs" -gt 0 ] && [ -n "$wrk_ticks" ]; then
		rec "${name}_cpu_us_per_req" "$(awk -v t="$wrk_ticks" -v hz="$(getconf CLK_TCK)" \
			-v s=$((s1 - s0)) -v n="$reqs" 'BEGIN {printf "%.3f", (t / hz * 1e9 + s) / n / 1e3}')"
	fi
}

run_trial() {
	local mode=$1 s=$2 trial=$3 pos=last vip=10.96.0.10:80 g
	[[ $mode == *-first ]] && pos=first
	g=$(gen "$s" "$pos")
	TDIR=$RAW/$mode/$s/$trial
	PROXY_PID=""
	mkdir -p "$TDIR"
	echo "mode $mode" >"$TDIR/metrics.txt"
	rec services "$s"
	rec trial "$trial"
	rec measured_position "$pos"
	rec backends "$BACKENDS"
	dbg topo
	topo_build "$trial"
	dbg program
	if ! program "$mode" "$g"; then
		rec broken "setup failed"
		trial_cleanup
		return 0
	fi
	dbg check
	# Correctness first: the mode must reach every backend of the measured service.
	local check targets="" url="http://$vip/" i
	if [ "$mode" = none ]; then
		check=$(for i in $BE_LIST; do in_pod c "$CONNLAT" check -n 10 10.244.1.1$i:8080 || true; done)
		targets=$(for i in $BE_LIST; do printf '10.244.1.1%s:8080,' "$i"; done)
		targets=${targets%,}
		url=http://10.244.1.11:8080/
	else
		check=$(in_pod c "$CONNLAT" check -n 30 "$vip" || true)
	fi
	echo "$check" >"$TDIR/check.json"
	local ok=1
	for i in $BE_LIST; do grep -q "\"b$i\"" <<<"$check" || ok=0; done
	grep -q '"errors": [1-9]' <<<"$check" && ok=0
	if [ $ok = 0 ]; then
		say "  BROKEN: $mode did not deliver to all $BACKENDS backends: $(tr '\n' ' ' <<<"$check")"
		rec broken "not all backends reached"
		trial_cleanup
		return 0
	fi
	dbg connlat
	local lat_targets=${targets//,/ }
	[ -n "$lat_targets" ] || lat_targets=$vip
	# shellcheck disable=SC2086
	in_pod c "$CONNLAT" lat -n "$CONNS" --warmup 500 $lat_targets >"$TDIR/connlat.json" || true
	dbg wrk
	wrk_run wrk_keepalive "$url" "$targets"
	wrk_run wrk_close "$url" "$targets" -H "Connection: close"
	dbg sync
	sync_ops "$mode" "$g" "$trial"
	dbg cleanup
	trial_cleanup
	dbg done
}

pkt_trial() {
	local s=$1 trial=$2 d=$RAW/pktbench/$s/$trial
	mkdir -p "$d"
	"$PKTBENCH" --services "$s" --runs "$PKT_RUNS" --cycles $((CYCLES * 3)) >"$d/pktbench.jsonl" 2>"$d/pktbench.log" &
	PKT_PID=$!
	wait "$PKT_PID" || say "  pktbench failed: $(tail -2 "$d/pktbench.log")"
	PKT_PID=""
}

# ---------- main ----------

machine() {
	IPVS=$IPVS ARGS="$ARGS" TOP=$TOP HAVE_LEGACY=$HAVE_LEGACY SERVICES=$SERVICES TRIALS=$TRIALS \
		CONNS=$CONNS WRK_SECS=$WRK_SECS WRK_CONNS=$WRK_CONNS WRK_THREADS=$WRK_THREADS \
		BACKENDS=$BACKENDS \
		PKT_RUNS=$PKT_RUNS SLOW_CAP=$SLOW_CAP CYCLES=$CYCLES QUICK=$QUICK python3 "$HERE/report.py" \
		--machine-info "$WORK/machine.json"
}

# IPVS: this kernel kind has none (no ip_vs, no module loading); say so rather than skip.
topo_init pb
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
topo_node
if msg=$(ip netns exec "$(topo_ns node)" ipvsadm -Ln 2>&1); then
	IPVS="available, but not measured by this harness yet"
else
	IPVS="not available ($(head -1 <<<"$msg"))"
fi
trial_cleanup
say "IPVS: $IPVS"
if [ $HAVE_LEGACY = 0 ]; then
	say "iptables-legacy not installed: legacy modes skipped"
	kept=()
	for m in "${MODE_LIST[@]}"; do [[ $m == ipt-legacy* ]] || kept+=("$m"); done
	MODE_LIST=("${kept[@]}")
fi
machine

say "generating rule sets for S = ${SVC_LIST[*]}"
for s in "${SVC_LIST[@]}"; do
	gen "$s" last >/dev/null
	if [[ " ${MODE_LIST[*]} " == *-first* ]]; then gen "$s" first >/dev/null; fi
done

total=$((TRIALS * ${#SVC_LIST[@]} * ${#MODE_LIST[@]}))
n=0
for trial in $(seq 1 "$TRIALS"); do
	for s in "${SVC_LIST[@]}"; do
		if [ "$PKTBENCH_ON" = 1 ]; then
			say "trial $trial/$TRIALS, S=$s: per-packet cost (BPF_PROG_TEST_RUN)"
			pkt_trial "$s" "$trial"
		fi
		# Each trial starts with another mode (trial t with mode t mod the number of
		# modes): the mode that runs first after a torn-down topology shares the CPUs with
		# the kernel's asynchronous clean-up of its namespaces, and no mode should always
		# be the one that does. A second's pause lets most of that clean-up finish.
		nm=${#MODE_LIST[@]}
		for k in $(seq 0 $((nm - 1))); do
			mode=${MODE_LIST[$(((trial - 1 + k) % nm))]}
			n=$((n + 1))
			say "trial $trial/$TRIALS, S=$s, mode $mode ($n/$total)"
			sleep 1
			run_trial "$mode" "$s" "$trial"
		done
	done
done

say "writing $OUT/$NAME.json, $NAME.md, $NAME-*.svg"
python3 "$HERE/report.py" --raw "$RAW" --machine "$WORK/machine.json" --out "$OUT" --name "$NAME"
if [ "$NODEPORT_ON" = 1 ]; then
	# NodePort from outside: new connections per second through drover's XDP path and through
	# kube-proxy's DNAT + MASQUERADE, a topology of its own (bench/proxy/nodeport_cps.sh).
	NP_SECS=15
	[ "$QUICK" = 1 ] && NP_SECS=5
	say "NodePort new connections per second from an external namespace (${NP_SECS}s per mode)"
	np_out=$(DROVER=$DROVER DROVER_HTTPD=$DROVER_HTTPD "$HERE/nodeport_cps.sh" --secs "$NP_SECS" 2>/dev/null) ||
		np_out="(nodeport_cps.sh failed)"
	{
		echo
		echo "## NodePort new connections per second from an external namespace"
		echo
		echo "One client, one backend, every request on a new connection (\`wrk -H 'Connection: close'\`,"
		echo "${NP_SECS} s per mode; direct: routed straight to the backend; iptables: DNAT + MASQUERADE"
		echo "--random-fully; drover: XDP on the node device), bench/proxy/nodeport_cps.sh:"
		echo
		echo '```'
		echo "$np_out"
		echo '```'
	} >>"$OUT/$NAME.md"
fi

if [ "$ROLLOUT_ON" = 1 ]; then
	# Rollout under load: requests failed while a Deployment's endpoints roll one by one,
	# drover (socket LB, tc) and kube-proxy's iptables rules, a topology of its own.
	say "rollout under load (bench/proxy/rollout.sh)"
	ro_args=(--out "$OUT")
	[ "$QUICK" = 0 ] || ro_args+=(--quick)
	if DROVER=$DROVER DROVER_HTTPD=$DROVER_HTTPD "$HERE/rollout.sh" "${ro_args[@]}"; then
		ro_table=$(sed -n '/^| mode/,/^¹/p' "$OUT/proxy-rollout.md")
	else
		ro_table="(rollout.sh failed)"
	fi
	{
		echo
		echo "## Rollout under load"
		echo
		echo "Requests failed while a Service's endpoints roll one by one under a steady load, as a"
		echo "Deployment rollout rolls them (bench/proxy/rollout.sh; how, and the timeline:"
		echo "proxy-rollout.md, proxy-rollout.svg):"
		echo
		echo "$ro_table"
	} >>"$OUT/$NAME.md"
fi
say "done in $(elapsed)"
