#!/usr/bin/env bash
# bench/proxy/rollout.sh [--quick] [--trials N] [--steps N] [--grace LIST] [--rate R] [--modes LIST]
# [--out DIR]: requests that fail while a service's endpoints roll one by one, as a
# Deployment rollout (maxSurge 1, maxUnavailable 0) rolls them, under a steady load, through
# drover (socket LB, and the tc path with the socket LB off) and through kube-proxy's
# iptables rules for the same EndpointSlices (tests/e2e/proxy/kprules.py), in one run,
# interleaved (trial 1: every mode, trial 2: every mode, ...).
#
#   --quick      one trial, 2 steps                                          [3 trials, 3 steps]
#   --steps N    old backends replaced, one by one
#   --grace LIST seconds an endpoint is terminating before its server stops (a preStop
#                sleep), one run each; 0: no preStop hook, SIGTERM as the endpoint turns
#                terminating                                                    [1,0]
#   --rate R     requests/s of each of the 4 keep-alive and 4 new-connection clients    [50]
#   --modes LIST subset of drover-sock drover-tc kube-proxy                             [all]
#   --out DIR    where proxy-rollout.json, .md, .svg go  [bench/results; --quick: .../quick]
#
# Each mode and trial has a topology of its own (scripts/lib/topo.sh, tag ro): the node, a
# client pod, N old backend pods (drover-httpd --graceful-stop) and N pods for the new ones.
# The client pod runs bench/proxy/rollload.py against the ClusterIP the whole time. Each step:
#   1. the new backend's server starts in its pod; once it listens (its readiness) it is
#      added to the EndpointSlice, ready;
#   2. 0.2 s later (the ReplicaSet controller scales the old one down) one old endpoint
#      becomes terminating (ready false, serving true, terminating true: the pod got its
#      deletion timestamp);
#   3. after --grace seconds the old server gets SIGTERM and stops gracefully (stops
#      accepting, answers what it has read with "Connection: close", closes idle keep-alive
#      connections); once it has exited the endpoint leaves the slice.
# The driver never waits for a proxy: a change is a manifest file written (drover reads it;
# kube-proxy's sync, kprules.py + iptables-restore + its conntrack clean-up, runs in a loop
# of its own, told of each change), so a slow proxy shows as failures. Requests
# are counted sent, succeeded and failed by kind, with the longest time without a success;
# bench/proxy/rollout_report.py writes the results. Everything is removed at exit. It uses
# the binaries of the build directory (scripts/bench.sh proxy builds them first).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
# topo.sh, write_service/write_slice, kp_sync, wait_log, fail
# shellcheck source=../../tests/e2e/proxy/common.sh
source "$TOP/tests/e2e/proxy/common.sh"

QUICK=0 TRIALS=3 STEPS=3 GRACES=1,0 GRACE=1 RATE=50 MODES="drover-sock drover-tc kube-proxy" OUT=""
ARGS="$*"
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--trials) TRIALS=$2; shift ;;
	--steps) STEPS=$2; shift ;;
	--grace) GRACES=$2; shift ;;
	--rate) RATE=$2; shift ;;
	--modes) MODES=${2//,/ }; shift ;;
	--out) OUT=$2; shift ;;
	-h | --help) sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "rollout: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
if [ "$QUICK" = 1 ]; then
	[[ $ARGS == *--trials* ]] || TRIALS=1
	[[ $ARGS == *--steps* ]] || STEPS=2
fi
[ -n "$OUT" ] || { OUT=$TOP/bench/results; [ "$QUICK" = 0 ] || OUT=$TOP/bench/results/quick; }
[ "$(id -u)" -eq 0 ] || { echo "rollout: must run as root" >&2; exit 1; }
for tool in iptables-nft-restore conntrack python3; do
	command -v "$tool" >/dev/null || { echo "rollout: $tool missing: run scripts/deps.sh" >&2; exit 1; }
done
python3 -c 'import yaml' 2>/dev/null || { echo "rollout: python3-yaml missing" >&2; exit 1; }
topo_find_bins

WORK=$(mktemp -d /tmp/drover-bench-rollout.XXXXXX)
RAW=$WORK/raw
mkdir -p "$RAW" "$OUT"
VIP=10.96.0.10
LEAD=1 READY_TO_DELETE=0.2 PAUSE=0.5 TAIL=1 DRAIN=5
T0=$(date +%s)
say() { local s=$(($(date +%s) - T0)); printf '[rollout %d:%02d] %s\n' $((s / 60)) $((s % 60)) "$*" >&2; }

rollout_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -z "$TOPO_TAG" ] || topo_cleanup quiet
	if [ "${KEEP_WORK:-0}" = 1 ] || [ $rc -ne 0 ]; then
		say "raw figures kept in $WORK"
	else
		rm -rf "$WORK"
	fi
	exit $rc
}
trap rollout_cleanup EXIT
trap 'exit 130' INT TERM

D="" M="" MODE="" KP_PID="" KP_FD=""
event() { echo "$(date +%s%N) $*" >>"$D/events.txt"; }

# kube-proxy's sync loop, a process of its own as kube-proxy's goroutine: a sync for each
# change the driver announces on the pipe (changes announced during a sync are taken together
# by the next one, as kube-proxy's runner coalesces them). No --iptables-min-sync-period:
# kube-proxy's default (1 s) would only delay a change that follows another closely.
# The pipe's write end leaks into processes started after it (the backends): "quit" ends it.
kp_loop() {
	local name more quit=0
	while [ $quit = 0 ] && read -r name && [ "$name" != quit ]; do
		while read -r -t 0 && read -r more; do
			if [ "$more" = quit ]; then quit=1; else name=$more; fi
		done
		kp_sync "$M" "$D/kp"
		echo "$(date +%s%N) $name" >>"$D/kp-applied.txt"
	done
}

# apply WHAT: the EndpointSlice as ENDPOINTS (IP[:node[:state]] words) says. The event is
# stamped first, then the file written: drover reads it itself; kube-proxy's loop is told.
ENDPOINTS=()
apply() {
	event "$1"
	write_slice "$M/web-eps.yaml" web "${ENDPOINTS[@]}"
	[ -z "$KP_FD" ] || echo "$1" >&"$KP_FD"
}

run_mode() {
	MODE=$1
	local trial=$2 i load stop
	D=$RAW/$MODE/grace-$GRACE/$trial KP_PID="" KP_FD=""
	M=$D/manifests
	mkdir -p "$M" "$D/kp"
	topo_init ro
	trap rollout_cleanup EXIT
	trap 'exit 130' INT TERM
	TOPO_LOG=$D/proxy.log
	topo_node
	topo_pod c 5
	TOPO_HTTPD_ARGS="--graceful-stop $DRAIN"
	ENDPOINTS=()
	for i in $(seq 1 "$STEPS"); do
		topo_pod "o$i" $((10 + i))
		topo_pod "n$i" $((20 + i))
		topo_backend "o$i" "old-$i"
		ENDPOINTS+=("10.244.1.$((10 + i))")
	done
	for i in $(seq 1 "$STEPS"); do topo_wait_listen "o$i" || fail "old-$i does not listen"; done
	write_service "$M/web.yaml" web "$VIP"
	write_slice "$M/web-eps.yaml" web "${ENDPOINTS[@]}"
	case $MODE in
	drover-sock) topo_proxy --manifests "$M" --node node1 ;;
	drover-tc) topo_proxy --manifests "$M" --node node1 --no-socket-lb ;;
	kube-proxy)
		kp_sync "$M" "$D/kp"
		mkfifo "$D/kp.fifo"
		kp_loop <"$D/kp.fifo" &
		KP_PID=$!
		TOPO_PIDS+=("$KP_PID")
		exec {KP_FD}>"$D/kp.fifo"
		;;
	*) fail "unknown mode $MODE" ;;
	esac
	in_pod c curl -s --max-time 2 -o /dev/null "http://$VIP/" || fail "$MODE: the service does not answer"
	stop=$D/stop
	in_pod c python3 "$HERE/rollload.py" --host "$VIP" --stop "$stop" --rate "$RATE" \
		>"$D/load.txt" 2>"$D/load.err" &
	load=$!
	TOPO_PIDS+=("$load")
	sleep "$LEAD"
	event start
	for i in $(seq 1 "$STEPS"); do
		topo_backend "n$i" "new-$i"
		topo_wait_listen "n$i" || fail "new-$i does not listen"
		ENDPOINTS+=("10.244.1.$((20 + i))")
		apply "new-$i ready"
		sleep "$READY_TO_DELETE"
		ENDPOINTS=("${ENDPOINTS[@]/#10.244.1.$((10 + i))/10.244.1.$((10 + i)):node1:terminating}")
		apply "old-$i terminating"
		sleep "$GRACE"
		local pid_var=TOPO_BACKEND_PID_o$i
		kill -TERM "${!pid_var}"
		event "old-$i SIGTERM"
		wait "${!pid_var}" || true
		event "old-$i exited"
		local kept=()
		for e in "${ENDPOINTS[@]}"; do [[ $e == "10.244.1.$((10 + i)):"* ]] || kept+=("$e"); done
		ENDPOINTS=("${kept[@]}")
		apply "old-$i removed"
		sleep "$PAUSE"
	done
	sleep "$TAIL"
	event end
	touch "$stop"
	wait "$load" || true
	if [ -n "$KP_FD" ]; then
		echo quit >&"$KP_FD"
		exec {KP_FD}>&-
		KP_FD=""
		wait "$KP_PID" || fail "kube-proxy's sync failed"
	fi
	[ -s "$D/load.err" ] && say "  $MODE: load client: $(tail -2 "$D/load.err")"
	echo "$MODE $trial $STEPS $GRACE $RATE" >"$D/meta.txt"
	say "  $MODE: $(awk '{n++} $4 != "ok" {f++} END {printf "%d requests, %d failed", n, f}' "$D/load.txt")"
	# (bash's "Killed" notes for the backends topo_cleanup kills are no news)
	topo_cleanup quiet 2>/dev/null
	trap rollout_cleanup EXIT
}

read -r -a MODE_LIST <<<"$MODES"
IFS=, read -r -a GRACE_LIST <<<"$GRACES"
for trial in $(seq 1 "$TRIALS"); do
	for GRACE in "${GRACE_LIST[@]}"; do
		for mode in "${MODE_LIST[@]}"; do
			say "trial $trial/$TRIALS, grace ${GRACE}s, $mode: $STEPS steps"
			run_mode "$mode" "$trial"
		done
	done
done
TOP=$TOP ARGS="$ARGS" python3 "$HERE/rollout_report.py" --raw "$RAW" --out "$OUT"
say "wrote $OUT/proxy-rollout.json, .md, .svg"
