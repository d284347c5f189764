# shellcheck shell=bash
# common.sh: helpers the proxy benchmarks share (bench.sh, update.sh). Source it.

now_ns() { date +%s%N; }

# ms_between T0_NS T1_NS: milliseconds between two now_ns readings, three decimals.
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e6 }'; }

# proc_cpu_ns PID: the CPU time the process's threads have run so far (schedstat).
proc_cpu_ns() {
	local pid=$1 sum=0 t a
	for t in /proc/"$pid"/task/*/schedstat; do
		read -r a _ <"$t" && sum=$((sum + a))
	done 2>/dev/null
	echo $sum
}

# work_done RC: at exit, keep $WORK (raw figures, logs) when asked to (KEEP_WORK=1) or when
# the run failed, else remove it. Needs say().
work_done() {
	if [ "${KEEP_WORK:-0}" = 1 ] || [ "$1" -ne 0 ]; then
		say "raw figures kept in $WORK"
	else
		rm -rf "$WORK"
	fi
}

# log_count PATTERN: lines of $TOPO_LOG (the proxy's log) that match PATTERN.
log_count() { grep -c -- "$1" "$TOPO_LOG" || true; }

# wait_log PATTERN N0 POLL_S: wait (at most 6000 polls) until more than N0 lines of $TOPO_LOG
# match PATTERN; 0 if they did.
wait_log() {
	for _ in $(seq 1 6000); do
		[ "$(log_count "$1")" -gt "$2" ] && return 0
		sleep "$3"
	done
	return 1
}
