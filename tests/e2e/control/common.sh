# shellcheck shell=bash
# common.sh: a cluster for the control loop's end-to-end tests: `drover server` (TLS, a free
# port of 127.0.0.1, its own kubeconfig) and simulated nodes (`drover sim`), driven with the
# real kubectl. Two modes, so that every test runs over both client transports:
#   MODE=local  the controllers and the scheduler run inside drover server (in-process client)
#   MODE=https  they run as `drover controller-manager` and `drover scheduler` processes that
#               talk HTTPS to the server with its kubeconfig
# Source it, then: cluster_start [server flags...]; sim_start NAME|--nodes N [sim flags...].
# Everything started is stopped by PID and the work directory removed on exit, also when a
# check fails. Checks count failures; finish() exits 1 if any failed.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=${DROVER_SOURCE_DIR:-$HERE/../../..}
BIN=${DROVER_BIN:-$SRC/build/userspace/cli}/drover
K=${KUBECTL:-/usr/bin/kubectl}
MODE=${MODE:-local}
[ -x "$BIN" ] || { echo "no drover binary at $BIN" >&2; exit 1; }
[ -x "$K" ] || { echo "no kubectl at $K" >&2; exit 1; }

WORK=$(mktemp -d /tmp/drover-e2e-control.XXXXXX)
PIDS=()
FAILS=0 CHECKS=0
export HOME=$WORK/home
mkdir -p "$HOME"

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
		rm -rf "${TMPDIR:-/tmp}/drover-kclient-$p-"* # a killed client's certificates
	done
	if [ "$FAILS" -gt 0 ]; then
		for f in "$WORK"/*.log; do
			[ -f "$f" ] || continue
			echo "---- $(basename "$f") (last 30 lines)" >&2
			tail -n 30 "$f" >&2
		done
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

ok() { CHECKS=$((CHECKS + 1)); echo "ok   $*"; }
bad() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL $*"; }
check() { # check "what" cmd...
	local what=$1; shift
	if "$@"; then ok "$what"; else bad "$what"; return 1; fi
}
finish() {
	echo "$CHECKS checks, $FAILS failed ($MODE)"
	[ "$FAILS" -eq 0 ]
	exit $?
}

k() { "$K" --request-timeout=30s "$@"; }

# wait_until SECONDS cmd...: poll cmd until it succeeds; 1 if it never did.
wait_until() {
	local secs=$1; shift
	local end=$((SECONDS + secs))
	while [ $SECONDS -lt $end ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# wait_for SECONDS 'shell condition': poll until the condition (evaluated anew each time,
# so "$(...)" inside it is re-run) holds; 1 if it never did.
wait_for() {
	local secs=$1 cond=$2
	local end=$((SECONDS + secs))
	while [ $SECONDS -lt $end ]; do
		eval "$cond" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# wait_quiet FILE: until FILE has not grown for half a second (a watch drained what it had).
wait_quiet() {
	local last=-1 now
	for _ in $(seq 100); do
		now=$(stat -c %s "$1" 2>/dev/null || echo 0)
		[ "$now" = "$last" ] && return 0
		last=$now
		sleep 0.5
	done
}

# cluster_start [server flags...]: the server (and, in https mode, the controller manager and
# the scheduler) with KUBECONFIG exported.
cluster_start() {
	local ctrl=() sched=()
	if [ "$MODE" = https ]; then
		ctrl=(--controllers "") sched=(--no-scheduler)
	fi
	"$BIN" server --data-dir "$WORK/srv" --listen 127.0.0.1:0 "${ctrl[@]}" "${sched[@]}" "$@" \
		>"$WORK/server.log" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	if ! wait_until 30 test -s "$WORK/srv/kubeconfig"; then
		bad "drover server started"
		finish
	fi
	export KUBECONFIG=$WORK/srv/kubeconfig
	if [ "$MODE" = https ]; then
		local grace=() a
		for a in "$@"; do
			case "$a" in --node-grace=*) grace=("$a") ;; esac
		done
		"$BIN" controller-manager "${grace[@]}" >"$WORK/controller-manager.log" 2>&1 &
		PIDS+=($!)
		"$BIN" scheduler >"$WORK/scheduler.log" 2>&1 &
		PIDS+=($!)
	fi
	wait_until 30 k get --raw /readyz || { bad "server ready"; finish; }
}

# sim_start LOGNAME [sim flags...]: drover sim in the background; SIM_PID is its PID.
sim_start() {
	local log=$1; shift
	"$BIN" sim "$@" >"$WORK/sim-$log.log" 2>&1 &
	SIM_PID=$!
	PIDS+=("$SIM_PID")
}

# ready_nodes: how many nodes are Ready.
ready_nodes() {
	k get nodes --no-headers 2>/dev/null | awk '$2 == "Ready"' | wc -l
}

# pods_phase NS SELECTOR PHASE: how many pods have this phase.
pods_phase() {
	k get pods -n "$1" -l "$2" -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' \
		2>/dev/null | grep -cx "$3"
}
