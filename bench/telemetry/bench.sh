#!/usr/bin/env bash
# scripts/bench.sh telemetry [--quick] [options]: what drover's eBPF telemetry costs a request
# through a Service, against telemetry off and against a sidecar proxy that counts requests,
# in one run on this machine, in interleaved trials (issue 13, "Proof").
#
#   --quick            one trial, 1 s wrk runs (a smoke test of the harness: its figures
#                      mean little); results in bench/results/quick unless --out
#   --trials N         interleaved repeats                                   [5]
#   --secs S           seconds per wrk run                                    [5]
#   --configs LIST     subset of: off on sidecar                             [all three]
#   --out DIR          where telemetry.json, .md, .svg go                    [bench/results]
#   --no-build         use the binaries in the build directory as they are (ctest)
#   --no-install       do not apt-get install a missing haproxy or wrk
#
# Configurations, each with drover's proxy (socket LB and tc, defaults) serving the ClusterIP
# 10.96.0.10:80 of one backend pod running drover-httpd:
#   off      drover proxy --no-telemetry
#   on       drover proxy --telemetry (the default): the kernel counts TCP and HTTP series;
#            `drover telemetry serve` on the pins drains the ring buffer and serves /metrics,
#            scraped once a second (a drover without it: drover-tl-events drains the buffer)
#   sidecar  drover proxy --no-telemetry, and HAProxy (Debian's 2.6) in the backend pod's
#            network namespace as an L7 sidecar counting requests (mode http, an access log
#            line per request, stats): client -> ClusterIP -> pod:15001 (HAProxy) ->
#            127.0.0.1:8080 (the server)
# Every trial runs every configuration, each on a fresh topology (scripts/lib/topo.sh: node
# namespace, client pod, backend pod; both pods registered in drv_ep1 as drover-cni would,
# and both inside the proxy's cgroup, as every pod of a node is), each trial starting with
# the next configuration. In each: wrk keep-alive, then wrk with `Connection: close` (a new
# connection per request), -t3 -c12 as scripts/bench.sh proxy (throughput, CPU); then both
# again with one connection at a time, -t1 -c1 (latency with no queue; --quick: keep-alive
# only).
#
# Per wrk run it records wrk's figures (wrk-report.lua of the proxy benchmark), the CPU
# (utime + stime of /proc/PID/stat, and the schedstat run time) over the run of the proxy,
# the exporter and HAProxy (the consumers of what is counted), their RSS, the CPU of every
# process of the run per request, and with telemetry on drv_tlctr1's counters (events lost)
# and the requests drv_tlhttp1 counted. bench/telemetry/report.py writes the results. Everything the run
# creates is removed at exit, also on failure or Ctrl-C.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUILD=${DROVER_BUILD_DIR:-$TOP/build}
CONNLAT=$BUILD/bench/proxy/drover-connlat
# shellcheck source=../../scripts/lib/topo.sh
source "$TOP/scripts/lib/topo.sh"
# shellcheck source=../proxy/common.sh
source "$TOP/bench/proxy/common.sh"

QUICK=0 TRIALS=5 SECS=5 CONFIGS="off on sidecar" OUT="" BUILD_ON=1 INSTALL_ON=1
ARGS="$*"
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--trials) TRIALS=$2; shift ;;
	--secs) SECS=$2; shift ;;
	--configs) CONFIGS=${2//,/ }; shift ;;
	--out) OUT=$2; shift ;;
	--no-build) BUILD_ON=0 ;;
	--no-install) INSTALL_ON=0 ;;
	-h | --help) sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench telemetry: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
if [ "$QUICK" = 1 ]; then
	[[ $ARGS == *--trials* ]] || TRIALS=1
	[[ $ARGS == *--secs* ]] || SECS=1
	[ -n "$OUT" ] || OUT=$TOP/bench/results/quick
fi
[ -n "$OUT" ] || OUT=$TOP/bench/results
read -r -a CONFIG_LIST <<<"$CONFIGS"
for c in "${CONFIG_LIST[@]}"; do
	case $c in off | on | sidecar) ;; *) echo "bench telemetry: unknown configuration $c" >&2; exit 2 ;; esac
done
WRK_THREADS=3 WRK_CONNS=12
VIP=10.96.0.10 SRV_IP=10.244.1.11 CLI_OCTET=50 SIDECAR_PORT=15001 STATS_PORT=8404

if [ "$(id -u)" -ne 0 ]; then
	echo "bench telemetry: must run as root (network namespaces, BPF, apt-get)" >&2
	exit 1
fi

T_START=$(date +%s)
elapsed() { local s=$(($(date +%s) - T_START)); printf '%d:%02d' $((s / 60)) $((s % 60)); }
say() { printf '[bench telemetry %s] %s\n' "$(elapsed)" "$*" >&2; }

# ---------- install and build ----------

# The sidecar baseline and the load generator come from Debian (scripts/deps.sh lists them
# too). policy-rc.d or not, a packaged haproxy service must not hold ports: stop it.
missing=()
command -v haproxy >/dev/null || missing+=(haproxy)
command -v wrk >/dev/null || missing+=(wrk)
for tool in bpftool python3 curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$INSTALL_ON" = 0 ]; then
		echo "bench telemetry: missing ${missing[*]} (run scripts/deps.sh, or drop --no-install)" >&2
		exit 1
	fi
	say "installing ${missing[*]} (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
	if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet haproxy 2>/dev/null; then
		systemctl stop haproxy || true
		systemctl disable haproxy >/dev/null 2>&1 || true
	fi
fi
if [ "$BUILD_ON" = 1 ]; then
	# always (incrementally): the results name HEAD, so they must not come from an older binary
	say "building drover, drover-httpd, drover-connlat and drover-tl-events in $BUILD"
	cmake -S "$TOP" -B "$BUILD" >/dev/null
	cmake --build "$BUILD" -j"$(nproc)" --target drover drover-httpd drover-connlat \
		drover-tl-events >/dev/null
fi
topo_find_bins

# The telemetry flags are drover's (issue 13); a drover without them has no telemetry at
# all: "off" is then the plain proxy and "on" cannot run.
TL_FLAGS=1
"$DROVER" proxy --help 2>&1 | grep -q -- '--no-telemetry' || TL_FLAGS=0
SKIPPED=""
if [ $TL_FLAGS = 0 ]; then
	kept=()
	for c in "${CONFIG_LIST[@]}"; do
		if [ "$c" = on ]; then
			SKIPPED="on: this drover has no --telemetry/--no-telemetry flags (the telemetry programs have not landed)"
			say "SKIPPED configuration 'on' (telemetry): drover proxy has no --telemetry flag yet"
		else
			kept+=("$c")
		fi
	done
	CONFIG_LIST=("${kept[@]}")
fi
# With telemetry on, a consumer drains the ring buffer and reads the maps: the exporter
# `drover telemetry serve` (/metrics and /flows from the pins, for a node that runs drover
# proxy without an agent), scraped once a second; in a drover that has none yet, the
# telemetry e2e test's ring buffer reader drover-tl-events stands in (it prints every event,
# here to /dev/null).
TL_EXPORTER=serve
TL_EVENTS=$BUILD/tests/e2e/proxy/drover-tl-events
"$DROVER" telemetry --help 2>&1 | grep -q 'serve' || TL_EXPORTER=tl-events
if [ $TL_FLAGS = 1 ] && [ $TL_EXPORTER = tl-events ]; then
	if [ -x "$TL_EVENTS" ]; then
		say "this drover has no 'drover telemetry serve': drover-tl-events drains the ring buffer instead"
	else
		TL_EXPORTER=none
		say "neither 'drover telemetry serve' nor $TL_EVENTS: nothing drains the ring buffer"
	fi
fi
[ ${#CONFIG_LIST[@]} -gt 0 ] || { echo "bench telemetry: no configuration to run" >&2; exit 1; }

WORK=$(mktemp -d /tmp/drover-bench-telemetry.XXXXXX)
RAW=$WORK/raw
mkdir -p "$RAW" "$OUT"

bench_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -z "$TOPO_TAG" ] || topo_cleanup quiet
	work_done $rc
	exit $rc
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# ---------- one run ----------

TDIR=""
PROXY_PID="" SIDECAR_PID="" SERVER_PID="" EXPORTER_PID=""
EXPORTER_ADDR=127.0.0.1:9965
rec() { echo "$1 $2" >>"$TDIR/metrics.txt"; }

# proc_ticks PID: utime + stime of the process (all its threads) in clock ticks.
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# proc_kb PID FIELD: VmRSS / VmHWM of the process in kB.
proc_kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# register_ep POD OCTET: the pod in drv_ep1 as drover-cni's ADD writes it (redirect-peer).
register_ep() {
	local host=l$TOPO_TAG$1 ifindex mac host_mac val
	ifindex=$(ip -n "$(topo_ns node)" -j link show dev "$host" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["ifindex"])')
	host_mac=$(ip -n "$(topo_ns node)" -j link show dev "$host" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
	mac=$(ip -n "$(topo_ns "$1")" -j link show dev eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
	val=$(python3 "$HERE/tlmaps.py" endpoint "$ifindex" "$mac" "$host_mac")
	# shellcheck disable=SC2046,SC2086
	bpftool map update pinned "$TOPO_PIN_ROOT/drv_ep1" key hex $(printf '0a f4 01 %02x' "$2") \
		value hex $val
}

# manifest DIR TARGET_PORT: the measured Service and its one endpoint.
manifest() {
	mkdir -p "$1"
	cat >"$1/svc.yaml" <<-EOF
		---
		{"apiVersion":"v1","kind":"Service","metadata":{"name":"measured","namespace":"bench"},"spec":{"type":"ClusterIP","clusterIP":"$VIP","clusterIPs":["$VIP"],"ports":[{"name":"http","protocol":"TCP","port":80,"targetPort":$2}]}}
		---
		{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"measured-abcde","namespace":"bench","labels":{"kubernetes.io/service-name":"measured"}},"addressType":"IPv4","ports":[{"name":"http","protocol":"TCP","port":$2}],"endpoints":[{"addresses":["$SRV_IP"],"conditions":{"ready":true}}]}
	EOF
}

# pod_spawn POD CMD...: CMD in the background in POD's namespace and in the proxy's cgroup
# (as in_pod), with SPAWNED its own PID (sh and ip netns exec exec into it; a backgrounded
# function would leave the PID of a bash subshell) and in TOPO_PIDS.
pod_spawn() {
	local ns
	ns=$(topo_ns "$1")
	shift
	sh -c 'echo $$ > "$0/cgroup.procs" && exec ip netns exec "$@"' "$TOPO_CG" "$ns" "$@" &
	SPAWNED=$!
	TOPO_PIDS+=("$SPAWNED")
}

# sidecar_start: HAProxy in the backend pod, as a sidecar: HTTP mode, one access log line per
# request (to a file, as a container's stdout ends in one), stats on a local port.
sidecar_start() {
	cat >"$TDIR/haproxy.cfg" <<-EOF
		global
		    nbthread 1
		    log stdout format raw local0
		defaults
		    mode http
		    log global
		    option httplog
		    option http-keep-alive
		    timeout connect 5s
		    timeout client 30s
		    timeout server 30s
		frontend sidecar
		    bind *:$SIDECAR_PORT
		    default_backend app
		frontend stats
		    bind 127.0.0.1:$STATS_PORT
		    no log
		    stats enable
		    stats uri /stats
		backend app
		    server app 127.0.0.1:8080
	EOF
	pod_spawn b1 haproxy -db -f "$TDIR/haproxy.cfg" >"$TDIR/haproxy.log" 2>"$TDIR/haproxy.err"
	SIDECAR_PID=$SPAWNED
	topo_wait_listen b1 "$SIDECAR_PORT" || { say "  haproxy did not listen: $(tail -3 "$TDIR/haproxy.err")"; return 1; }
}

# sidecar_requests: requests HAProxy's sidecar frontend has served (stats req_tot).
sidecar_requests() {
	in_pod_nolb b1 curl -s "http://127.0.0.1:$STATS_PORT/stats;csv" |
		awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "req_tot") c = i }
			$1 == "sidecar" && $2 == "FRONTEND" { print $c }'
}

# exporter_start: the consumer of telemetry on (TL_EXPORTER: drover telemetry serve in the
# node namespace, or drover-tl-events), on the proxy's pins.
exporter_start() {
	rec exporter_kind "$TL_EXPORTER"
	if [ $TL_EXPORTER = tl-events ]; then
		# it stops when its stdin ends: /dev/zero never does
		"$TL_EVENTS" "$TOPO_PIN_ROOT/drv_tlev1" </dev/zero >/dev/null 2>"$TDIR/exporter.log" &
		EXPORTER_PID=$!
		TOPO_PIDS+=("$EXPORTER_PID")
		sleep 0.2
		kill -0 "$EXPORTER_PID" 2>/dev/null && return 0
		say "  drover-tl-events did not start: $(tail -3 "$TDIR/exporter.log")"
		return 1
	fi
	nsenter --net="/run/netns/$(topo_ns node)" "$DROVER" telemetry serve \
		--pin-root "$TOPO_PIN_ROOT" --listen "$EXPORTER_ADDR" >"$TDIR/exporter.log" 2>&1 &
	EXPORTER_PID=$!
	TOPO_PIDS+=("$EXPORTER_PID")
	for _ in $(seq 1 100); do
		in_node curl -sf -o /dev/null "http://$EXPORTER_ADDR/metrics" && return 0
		sleep 0.05
	done
	say "  drover telemetry serve did not answer: $(tail -3 "$TDIR/exporter.log")"
	return 1
}

# scraper: GET /metrics once a second until killed; counts its scrapes in $TDIR/scrapes.
scraper() {
	while :; do
		in_node curl -sf -o /dev/null "http://$EXPORTER_ADDR/metrics" && echo >>"$TDIR/scrapes"
		sleep 1
	done
}

setup() {
	local config=$1 port=8080 extra=()
	topo_init tlb
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	topo_node
	topo_pod c $CLI_OCTET
	topo_pod b1 11
	in_pod_nolb c sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
	# the server inside the proxy's cgroup, as a node's pods are (topo_backend runs outside)
	pod_spawn b1 "$DROVER_HTTPD" --port 8080 --body b1 >/dev/null 2>&1
	SERVER_PID=$SPAWNED
	topo_wait_listen b1 || { say "  drover-httpd did not listen"; return 1; }
	case $config in
	off) extra=(--no-telemetry) ;;
	on) extra=(--telemetry) ;;
	sidecar) extra=(--no-telemetry) port=$SIDECAR_PORT ;;
	esac
	[ $TL_FLAGS = 1 ] || extra=()
	manifest "$TDIR/manifests" "$port"
	TOPO_LOG=$TDIR/proxy.log
	topo_proxy --manifests "$TDIR/manifests" "${extra[@]}" || return 1
	PROXY_PID=$(cat "/tmp/drover-$TOPO_TAG.ready")
	register_ep c $CLI_OCTET && register_ep b1 11 || { say "  could not register the pods in drv_ep1"; return 1; }
	if [ "$config" = sidecar ]; then sidecar_start || return 1; fi
	if [ "$config" = on ] && [ $TL_EXPORTER != none ]; then exporter_start || return 1; fi
	# the processes measured, by name (a wrong PID would measure some shell)
	local p
	for p in server:$SERVER_PID proxy:$PROXY_PID sidecar:$SIDECAR_PID exporter:$EXPORTER_PID; do
		[ -z "${p#*:}" ] || rec "${p%%:*}_comm" "$(cat "/proc/${p#*:}/comm")"
	done
	return 0
}

# CPU time (ns, schedstat) of every process of the run but wrk: server, proxy, sidecar.
procs_cpu_ns() {
	local sum=0 p
	for p in $SERVER_PID $PROXY_PID $SIDECAR_PID $EXPORTER_PID; do sum=$((sum + $(proc_cpu_ns "$p"))); done
	echo $sum
}

# measured_pid proxy|sidecar|exporter: the PID of that process of this run, or nothing.
measured_pid() {
	case $1 in
	proxy) echo "$PROXY_PID" ;;
	sidecar) echo "$SIDECAR_PID" ;;
	exporter) echo "$EXPORTER_PID" ;;
	esac
}

# tl_snapshot FILE: telemetry's counters and counted requests (JSON), {} when off.
tl_snapshot() {
	python3 - "$TOPO_PIN_ROOT" "$HERE/tlmaps.py" >"$1" <<-'EOF'
		import importlib.util, json, sys
		spec = importlib.util.spec_from_file_location("tlmaps", sys.argv[2])
		m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
		print(json.dumps({"counters": m.counters(sys.argv[1]), "http": m.http(sys.argv[1])}))
	EOF
}

# wrk_run NAME WRK-ARGS...: wrk's figures in NAME.json; CPU, RSS and telemetry figures in
# metrics.txt as NAME_*.
wrk_run() {
	local name=$1 out t0 t1 c0 c1 sr0=0 sr1=0 wrk_ticks reqs who pid scr=""
	local -A ticks0 ns0
	shift
	tl_snapshot "$TDIR/$name.tl0.json"
	[ -z "$SIDECAR_PID" ] || sr0=$(sidecar_requests)
	for who in proxy sidecar exporter; do
		pid=$(measured_pid $who)
		[ -z "$pid" ] || { ticks0[$who]=$(proc_ticks "$pid"); ns0[$who]=$(proc_cpu_ns "$pid"); }
	done
	c0=$(procs_cpu_ns)
	rm -f "$TDIR/scrapes"
	if [ -n "$EXPORTER_PID" ] && [ $TL_EXPORTER = serve ]; then
		scraper &
		scr=$!
	fi
	t0=$(now_ns)
	# wrk's own CPU: the subshell's reaped child shows in its cutime + cstime (read by a
	# plain command of that subshell: inside a nested $(...) BASHPID would be another one).
	out=$(in_pod c wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${SECS}s" --timeout 5s \
		-s "$TOP/bench/proxy/wrk-report.lua" "$@" "http://$VIP/" 2>&1
		awk '{print "wrk-ticks", $16 + $17}' "/proc/$BASHPID/stat") || true
	t1=$(now_ns)
	c1=$(procs_cpu_ns)
	if [ -n "$scr" ]; then
		kill "$scr" 2>/dev/null || true
		wait "$scr" 2>/dev/null || true
		rec "${name}_exporter_scrapes" "$(wc -l <"$TDIR/scrapes" 2>/dev/null || echo 0)"
	fi
	rec "${name}_wall_ms" "$(ms_between "$t0" "$t1")"
	for who in proxy sidecar exporter; do
		pid=$(measured_pid $who)
		[ -n "$pid" ] || continue
		rec "${name}_${who}_ticks" $(($(proc_ticks "$pid") - ticks0[$who]))
		rec "${name}_${who}_cpu_ms" "$(ms_between "${ns0[$who]}" "$(proc_cpu_ns "$pid")")"
		rec "${name}_${who}_rss_kb" "$(proc_kb "$pid" VmRSS)"
		rec "${name}_${who}_hwm_kb" "$(proc_kb "$pid" VmHWM)"
	done
	if [ -n "$SIDECAR_PID" ]; then
		sr1=$(sidecar_requests)
		rec "${name}_sidecar_requests" $((${sr1:-0} - ${sr0:-0}))
	fi
	tl_snapshot "$TDIR/$name.tl1.json"
	wrk_ticks=$(awk '/^wrk-ticks/ {print $2}' <<<"$out")
	grep '^{' <<<"$out" | tail -1 >"$TDIR/$name.json" || true
	[ -s "$TDIR/$name.json" ] || { echo "$out" | tail -5 >&2; echo '{"error": "wrk failed"}' >"$TDIR/$name.json"; }
	reqs=$(sed -nE 's/.*"requests": ([0-9]+).*/\1/p' "$TDIR/$name.json")
	if [ -n "$reqs" ] && [ "$reqs" -gt 0 ] && [ -n "$wrk_ticks" ]; then
		rec "${name}_all_cpu_us_per_req" "$(awk -v t="$wrk_ticks" -v hz="$(getconf CLK_TCK)" \
			-v s=$((c1 - c0)) -v n="$reqs" 'BEGIN {printf "%.3f", (t / hz * 1e9 + s) / n / 1e3}')"
	fi
	say "    $name: $(sed -nE 's/.*"rps": ([0-9.]+).*"p50_us": ([0-9.]+).*"p99_us": ([0-9.]+).*/\1 req\/s, p50 \2 us, p99 \3 us/p' "$TDIR/$name.json")"
}

run_one() {
	local config=$1 trial=$2
	TDIR=$RAW/$config/$trial
	mkdir -p "$TDIR"
	PROXY_PID="" SIDECAR_PID="" SERVER_PID="" EXPORTER_PID=""
	echo "config $config" >"$TDIR/metrics.txt"
	rec trial "$trial"
	if ! setup "$config"; then
		rec broken "setup failed"
		topo_cleanup quiet 2>/dev/null
		trap bench_cleanup EXIT
		return 0
	fi
	# Correctness first: the ClusterIP must reach the server (through the sidecar too).
	local check
	check=$(in_pod c "$CONNLAT" check -n 10 "$VIP:80" || true)
	echo "$check" >"$TDIR/check.json"
	if ! grep -q '"b1"' <<<"$check" || grep -q '"errors": [1-9]' <<<"$check"; then
		say "  BROKEN: $config did not deliver to the backend: $(tr '\n' ' ' <<<"$check")"
		rec broken "the Service did not reach the backend"
	else
		wrk_run wrk_keepalive
		wrk_run wrk_close -H "Connection: close"
		# latency with no queue: one request at a time (under the load above the 2 cores
		# are saturated and p99 is the scheduler's)
		WRK_THREADS=1 WRK_CONNS=1 wrk_run wrk_lat
		[ "$QUICK" = 1 ] || WRK_THREADS=1 WRK_CONNS=1 wrk_run wrk_lat_close -H "Connection: close"
	fi
	if [ -n "$SIDECAR_PID" ]; then
		rec sidecar_log_lines "$(wc -l <"$TDIR/haproxy.log")"
		gzip -f "$TDIR/haproxy.log"
	fi
	topo_cleanup quiet 2>/dev/null # no "Killed" notes of the reaped jobs
	trap bench_cleanup EXIT
}

# ---------- main ----------

TOP=$TOP ARGS="$ARGS" TRIALS=$TRIALS SECS=$SECS WRK_THREADS=$WRK_THREADS WRK_CONNS=$WRK_CONNS \
	QUICK=$QUICK CONFIGS="${CONFIG_LIST[*]}" SKIPPED="$SKIPPED" \
	python3 "$HERE/report.py" --machine-info "$WORK/machine.json"

n=0 nc=${#CONFIG_LIST[@]}
total=$((TRIALS * nc))
say "configurations ${CONFIG_LIST[*]}, $TRIALS trial(s), wrk ${SECS}s keep-alive and new connections each"
for trial in $(seq 1 "$TRIALS"); do
	# Each trial starts with the next configuration: the one that runs right after a
	# torn-down topology shares the CPUs with the kernel's clean-up of its namespaces.
	for k in $(seq 0 $((nc - 1))); do
		config=${CONFIG_LIST[$(((trial - 1 + k) % nc))]}
		n=$((n + 1))
		say "trial $trial/$TRIALS, configuration $config ($n/$total)"
		[ "$QUICK" = 1 ] || sleep 1
		run_one "$config" "$trial"
	done
done

say "writing $OUT/telemetry.json, telemetry.md, telemetry.svg"
python3 "$HERE/report.py" --raw "$RAW" --machine "$WORK/machine.json" --out "$OUT"
say "done in $(elapsed)"
