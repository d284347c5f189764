#!/usr/bin/env bash
# runtime_e2e.sh: drover's container runtime (userspace/lib/node, driven through the hidden
# `drover runtime run|exec|bench`) over a busybox-static rootfs built here. Checks: PID 1 is
# the program, the hostname is set, a container has only `lo` unless it joins a network
# namespace (one of ours, with a veth: then it sees eth0 and its address); the memory limit
# OOM-kills (SIGKILL) what a larger limit lets finish; the pids limit makes fork fail; the
# cpu/memory/pids values and the membership are in the cgroup files of every hierarchy; the
# log is CRI format (F, P, both streams, appended) and keeps being written after the starting
# process is SIGKILLed; SIGTERM ends a process that handles it,
# one that ignores it is SIGKILLed after the grace period (not before); exec joins the
# running container's pid namespace, hostname and cgroup; an overlay root shows the top
# layer and writes only the upper dir; bind mount points resolve inside the root (symlinks
# cannot escape); after the end no cgroup dir, mount or process is left;
# bad flags exit 2 with one line. Prints (never judges) start latency p50/p99 over 20 runs
# beside `unshare -fpmnui /bin/true`. Everything made (netns, veth, cgroups, processes by PID,
# the work dir) is removed on exit, also on failure.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${DROVER_SOURCE_DIR:-$HERE/../../..}
BIN=${DROVER_BIN:-$SRC/build/userspace/cli}/drover
BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BIN" ] || { echo "no drover binary at $BIN" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "runtime_e2e: needs root (namespaces, cgroups)" >&2; exit 1; }
# busybox-static (scripts/deps.sh): a dynamic busybox would need its libraries in the rootfs.
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
	ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic' ||
	{ echo "runtime_e2e: $BUSYBOX is not static (install busybox-static)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/drvrt-e2e.XXXXXX)
CGP="drvrt-$$"
NS="drvrt-$$-x"
VETH="drvrt$$h"
CGROOT=/sys/fs/cgroup
if [ "$(stat -fc %T $CGROOT)" = cgroup2fs ]; then V2=1; else V2=0; fi
BG=()
FAILS=0

cleanup() {
	local p
	for p in "${BG[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${BG[@]}"; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	# Container processes by the PIDs their runs wrote (the runs kill them; this is for a
	# run that itself was killed).
	for f in "$WORK"/*.pid; do
		[ -s "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	rm -rf "/tmp/drvrt-$$-bind" # only there if a bind escaped the root (a failed check)
	ip netns del "$NS" 2>/dev/null
	ip link del "$VETH" 2>/dev/null
	for h in "$CGROOT" "$CGROOT"/*/; do
		[ -d "$h/$CGP" ] && find "$h/$CGP" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	grep -F "$WORK" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		while read -r m; do umount -l "$m"; done
	if [ -n "${DROVER_E2E_KEEP:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

ok() { echo "ok - $*"; }
bad() {
	echo "FAIL - $*"
	FAILS=$((FAILS + 1))
}
check() { # check DESCRIPTION COMMAND...: ok when the command succeeds
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
# wait_for COMMAND...: until it succeeds, 20 s at most.
wait_for() {
	for _ in $(seq 400); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# The rootfs: busybox-static and its applets as symlinks.
ROOTFS=$WORK/rootfs
mkdir -p "$ROOTFS"/bin "$ROOTFS"/etc "$ROOTFS"/tmp
cp "$BUSYBOX" "$ROOTFS"/bin/busybox
for a in $("$BUSYBOX" --list); do
	[ "$a" = busybox ] || ln -s busybox "$ROOTFS/bin/$a"
done

RUN=("$BIN" runtime run --rootfs "$ROOTFS" --cgroup-parent "$CGP")

# run_bg NAME ARGS... -- ARGV: a container in the background; $NAME.pid holds its pid once
# it runs, BG the drover process.
run_bg() {
	local name=$1
	shift
	"${RUN[@]}" --name "$name" --pid-file "$WORK/$name.pid" "$@" >"$WORK/$name.out" 2>&1 &
	BG+=($!)
	eval "BG_$name=$!"
	wait_for test -s "$WORK/$name.pid" || { bad "$name: never started"; cat "$WORK/$name.out"; }
}

cgdir() { # cgdir CONTROLLER NAME
	if [ $V2 = 1 ]; then echo "$CGROOT/$CGP/$2"; else echo "$CGROOT/$1/$CGP/$2"; fi
}

# ---- 1. PID 1, hostname, only lo ----
out=$("${RUN[@]}" --hostname pod-a -- sh -c 'echo pid=$$; hostname; ls /sys/class/net; tail -n +3 /proc/net/dev | cut -d: -f1' 2>&1)
check "the program is PID 1" grep -qx 'pid=1' <<<"$out"
check "the hostname is set" grep -qx 'pod-a' <<<"$out"
check "a new network namespace has only lo" \
	test "$(printf '%s\n' "$out" | sed -n '3,$p' | grep -v '^drover runtime' | tr -d ' ' | sort -u)" = lo

# ---- 2. joining a network namespace of ours, with a veth ----
ip netns add "$NS" && ip link add "$VETH" type veth peer name eth0 netns "$NS" &&
	ip -n "$NS" addr add 10.253.7.2/24 dev eth0 && ip -n "$NS" link set eth0 up ||
	bad "cannot make netns $NS"
nets=$("${RUN[@]}" --netns "/run/netns/$NS" -- ls /sys/class/net 2>/dev/null | sort | tr '\n' ' ')
check "a joined netns: the container sees its eth0 and lo, nothing else ($nets)" test "$nets" = "eth0 lo "
out=$("${RUN[@]}" --netns "/run/netns/$NS" -- ip -4 -o addr show dev eth0 2>&1)
check "a joined netns: eth0 has the netns's address" grep -q '10.253.7.2/24' <<<"$out"
"${RUN[@]}" --netns "$WORK/no-such-netns" -- true >"$WORK/nonetns.out" 2>&1
rc=$?
check "an unknown netns fails the start (rc $rc)" test $rc -ne 0 -a $rc -ne 2

# ---- 3. memory limit: OOM-killed past it, fine under a larger one ----
"${RUN[@]}" --memory 32Mi -- dd if=/dev/zero of=/dev/null bs=96M count=1 >"$WORK/oom.out" 2>&1
rc=$?
check "past --memory 32Mi: killed by SIGKILL (rc $rc)" test $rc -eq 137
"${RUN[@]}" --memory 256Mi -- dd if=/dev/zero of=/dev/null bs=96M count=1 >"$WORK/nooom.out" 2>&1
rc=$?
check "under --memory 256Mi the same program ends well (rc $rc)" test $rc -eq 0

# ---- 4. pids limit: fork fails ----
FORKS='i=0; while [ $i -lt 12 ]; do sleep 30 & i=$((i+1)); done; echo forked'
"${RUN[@]}" --pids 5 -- sh -c "$FORKS" >"$WORK/pids.out" 2>&1
check "past --pids 5: fork fails" grep -qi "can't fork\|resource temporarily unavailable" "$WORK/pids.out"
"${RUN[@]}" --pids 50 -- sh -c "$FORKS" >"$WORK/pids50.out" 2>&1
check "under --pids 50 the same forks succeed" \
	sh -c "grep -qx forked '$WORK/pids50.out' && ! grep -qi \"can't fork\" '$WORK/pids50.out'"

# ---- 5. the limits and the membership in the cgroup files ----
run_bg lim --cpu 500m --cpu-request 250m --memory 64Mi --pids 50 -- sh -c 'while :; do sleep 1; done'
P=$(cat "$WORK/lim.pid")
if [ $V2 = 1 ]; then
	check "cpu.max is 50000 100000" test "$(cat "$(cgdir cpu lim)/cpu.max")" = "50000 100000"
	check "cpu.weight is 10 (250m)" test "$(cat "$(cgdir cpu lim)/cpu.weight")" = 10
	check "memory.max is 64Mi" test "$(cat "$(cgdir memory lim)/memory.max")" = 67108864
else
	check "cpu.cfs_quota_us is 50000" test "$(cat "$(cgdir cpu lim)/cpu.cfs_quota_us")" = 50000
	check "cpu.cfs_period_us is 100000" test "$(cat "$(cgdir cpu lim)/cpu.cfs_period_us")" = 100000
	check "cpu.shares is 256 (250m)" test "$(cat "$(cgdir cpu lim)/cpu.shares")" = 256
	check "memory.limit_in_bytes is 64Mi" \
		test "$(cat "$(cgdir memory lim)/memory.limit_in_bytes")" = 67108864
fi
check "pids.max is 50" test "$(cat "$(cgdir pids lim)/pids.max")" = 50
if [ $V2 = 1 ]; then HIERS=("$CGROOT"); else HIERS=("$CGROOT"/{cpu,cpuacct,memory,pids}); fi
[ $V2 = 0 ] && [ -d "$CGROOT/unified" ] && HIERS+=("$CGROOT/unified")
for h in "${HIERS[@]}"; do
	check "the container is in $h/$CGP/lim" grep -qx "$P" "$h/$CGP/lim/cgroup.procs"
done
kill -TERM "$BG_lim"
wait "$BG_lim"

# ---- 6. the CRI log ----
LOG=$WORK/ctr.log
for _ in 1 2; do
	"${RUN[@]}" --log "$LOG" -- sh -c 'echo out1; echo err1 >&2; echo; printf part' >/dev/null 2>&1
done
RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z (stdout|stderr) [FP] '
check "every log line is a CRI record" test "$(grep -cEv "$RE" "$LOG")" = 0
check "two runs appended 8 records" test "$(wc -l <"$LOG")" = 8
check "stdout full line" test "$(grep -c ' stdout F out1$' "$LOG")" = 2
check "stderr full line" test "$(grep -c ' stderr F err1$' "$LOG")" = 2
check "empty line" test "$(grep -c ' stdout F $' "$LOG")" = 2
check "partial line at the end" test "$(grep -c ' stdout P part$' "$LOG")" = 2

# ---- 6b. the logger outlives the process that started the container (as across an agent
# restart): the log keeps growing after that process is SIGKILLed; it ends with the container ----
run_bg orphan --log "$WORK/orphan.log" -- sh -c 'i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.1; done'
P=$(cat "$WORK/orphan.pid")
wait_for grep -q 'stdout F tick 1$' "$WORK/orphan.log"
kill -KILL "$BG_orphan"
wait "$BG_orphan" 2>/dev/null
grew() { [ "$(wc -l <"$1")" -gt "$2" ]; }
n=$(wc -l <"$WORK/orphan.log")
check "the log grows after the starter is SIGKILLed ($n lines then)" wait_for grew "$WORK/orphan.log" $((n + 3))
kill -KILL "$P"
check "the logger ends once the container is gone" \
	wait_for sh -c "! pgrep -f '$WORK/orphan[.]pid' >/dev/null"
for h in "${HIERS[@]}"; do wait_for rmdir "$h/$CGP/orphan"; done

# ---- 7. stop: SIGTERM, then SIGKILL after the grace period ----
run_bg term --grace 30 -- sh -c 'trap "exit 3" TERM; while :; do sleep 0.2; done'
kill -TERM "$BG_term"
wait "$BG_term"
rc=$?
check "a program that handles SIGTERM ends by it (rc $rc)" test $rc -eq 3
run_bg ignore --grace 2 -- sh -c 'trap "" TERM; while :; do sleep 0.2; done'
t0=$(date +%s%N)
kill -TERM "$BG_ignore"
wait "$BG_ignore"
rc=$?
t1=$(date +%s%N)
check "a program that ignores SIGTERM is SIGKILLed (rc $rc)" test $rc -eq 137
check "... not before the 2 s grace period ($(((t1 - t0) / 1000000)) ms)" test $(((t1 - t0) / 1000000)) -ge 2000

# ---- 8. exec into a running container ----
run_bg ex --hostname exec-h -- sh -c 'while :; do sleep 1; done'
P=$(cat "$WORK/ex.pid")
out=$("$BIN" runtime exec --pid "$P" --cgroup-parent "$CGP" --name ex -- sh -c 'hostname; echo pid=$$; readlink /proc/self/ns/pid; readlink /proc/1/ns/pid; cat /proc/1/cmdline | tr "\0" " "; echo; grep -E "memory|^0::" /proc/self/cgroup' 2>&1)
rc=$?
check "exec: exit 0 ($rc)" test $rc -eq 0
check "exec: same hostname" grep -qx 'exec-h' <<<"$out"
check "exec: same pid namespace as the container's PID 1" \
	test "$(sed -n 3p <<<"$out")" = "$(readlink /proc/"$P"/ns/pid)" -a "$(sed -n 3p <<<"$out")" = "$(sed -n 4p <<<"$out")"
check "exec: a small pid inside ($(sed -n 2p <<<"$out"))" grep -qxE 'pid=[0-9]{1,2}' <<<"$out"
check "exec: sees the container's PID 1" grep -q 'while :; do sleep 1; done' <<<"$out"
check "exec: in the container's cgroup" grep -q "/$CGP/ex\$" <<<"$out"
"$BIN" runtime exec --pid "$P" -- sh -c 'exit 7'
rc=$?
check "exec: the exit code comes back ($rc)" test $rc -eq 7
kill -TERM "$BG_ex"
wait "$BG_ex"

# ---- 9. an overlay root, and nothing left after the end ----
mkdir -p "$WORK/layer2/etc" "$WORK/merged"
echo top >"$WORK/layer2/etc/layer"
echo lower >"$ROOTFS/etc/layer"
echo "host file" >"$WORK/hostfile"
run_bg ov --rootfs "$WORK/merged" --lower "$ROOTFS" --lower "$WORK/layer2" --upper "$WORK/upper" --work "$WORK/owork" \
	--bind "$WORK/hostfile:/etc/hostfile:ro" --bind "$WORK:/mnt/work" \
	--log "$WORK/ov.log" -- sh -c 'cat /etc/layer /etc/hostfile; echo new >/created; echo x >/etc/hostfile || echo ro-ok; ls /mnt/work/hostfile; echo ready; while :; do sleep 1; done'
wait_for grep -q 'F ready$' "$WORK/ov.log"
check "overlay: the top layer wins" grep -q 'stdout F top$' "$WORK/ov.log"
check "overlay: a read-only bind shows the host file" grep -q 'stdout F host file$' "$WORK/ov.log"
check "overlay: a read-only bind cannot be written" \
	sh -c "grep -q 'stdout F ro-ok$' '$WORK/ov.log' && grep -qx 'host file' '$WORK/hostfile'"
check "overlay: a read-write bind is there" grep -q "stdout F /mnt/work/hostfile$" "$WORK/ov.log"
check "overlay: writes land in the upper dir" test "$(cat "$WORK/upper/created" 2>/dev/null)" = new
check "overlay: the lower layers are untouched" test ! -e "$ROOTFS/created" -a "$(cat "$ROOTFS/etc/layer")" = lower
check "no container mount is visible on the host" test "$(grep -cF "$WORK" /proc/self/mountinfo)" = 0
P=$(cat "$WORK/ov.pid")
kill -TERM "$BG_ov"
wait "$BG_ov"
check "after the end: the container's process is gone" sh -c "! kill -0 $P 2>/dev/null"
check "after the end: no process of the run (logger included)" sh -c "! pgrep -f '$WORK/o[v].pid' >/dev/null"
for h in "${HIERS[@]}"; do
	check "after the end: no cgroup directory left under $h/$CGP" \
		test -z "$(find "$h/$CGP" -mindepth 1 -type d 2>/dev/null)"
done
check "after the end: no mount of the work dir" test "$(grep -cF "$WORK" /proc/self/mountinfo)" = 0

# ---- 9b. bind mount points resolve inside the root: an image's symlinks cannot escape ----
mkdir -p "$WORK/escape"
ln -s "$WORK/escape" "$ROOTFS/esc"      # absolute, to a host directory the root lacks
ln -s /tmp "$ROOTFS/tmplink"            # absolute, to a directory the root has
"${RUN[@]}" --bind "$WORK/hostfile:/esc/sub/x:ro" -- true >"$WORK/esc.out" 2>&1
check "a bind through a symlink to a host-only path creates nothing on the host" \
	test -z "$(ls -A "$WORK/escape")"
"${RUN[@]}" --bind "$WORK/hostfile:/tmplink/drvrt-$$-bind/x:ro" -- cat /tmplink/drvrt-$$-bind/x >"$WORK/esc2.out" 2>&1
check "a bind through a symlink inside the root works (the file is seen)" grep -qx 'host file' "$WORK/esc2.out"
check "... and its mount point is made inside the root, not on the host" \
	test -e "$ROOTFS/tmp/drvrt-$$-bind/x" -a ! -e "/tmp/drvrt-$$-bind"
rm -f "$ROOTFS/esc" "$ROOTFS/tmplink"

# ---- 9c. a v1-only layout (this host's mountinfo without its v2 tree): no cgroup.kill, so a
# stop signals every pid of cgroup.procs; children that ignore SIGTERM are gone all the same ----
if [ $V2 = 0 ]; then
	grep -v ' - cgroup2 ' /proc/self/mountinfo >"$WORK/mountinfo-v1"
	run_bg v1 --mountinfo "$WORK/mountinfo-v1" --grace 1 --memory 64Mi -- \
		sh -c 'trap "" TERM; for i in 1 2 3; do sh -c "trap \"\" TERM; sleep 300" & done; while :; do sleep 1; done'
	P=$(cat "$WORK/v1.pid")
	check "v1 only: not in the v2 tree" test ! -d "$CGROOT/unified/$CGP/v1"
	wait_for test "$(wc -l <"$CGROOT/memory/$CGP/v1/cgroup.procs" 2>/dev/null)" -ge 4
	check "v1 only: the container and its 3 children are in the memory cgroup" \
		test "$(wc -l <"$CGROOT/memory/$CGP/v1/cgroup.procs")" -ge 4
	V1_PIDS=$(cat "$CGROOT/memory/$CGP/v1/cgroup.procs")
	# A process of ours moved into the cgroup, outside the container's pid namespace: only
	# the cgroup kill (no cgroup.kill here: SIGKILL to each pid of cgroup.procs) ends it.
	sleep 300 &
	S=$!
	BG+=($S)
	for h in cpu cpuacct memory pids; do echo "$S" >"$CGROOT/$h/$CGP/v1/cgroup.procs"; done
	kill -TERM "$BG_v1"
	wait "$BG_v1"
	rc=$?
	check "v1 only: stopped by SIGKILL after the grace period (rc $rc)" test $rc -eq 137
	gone() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
	if wait_for gone "$S"; then
		wait "$S" 2>/dev/null
		rc=$?
	else
		rc=running
	fi
	check "v1 only: a process outside the pid namespace but in the cgroup is killed ($rc)" test "$rc" = 137
	check "v1 only: its cgroup is gone" test ! -d "$CGROOT/memory/$CGP/v1"
	# by pid, not by name: any "sleep 300" elsewhere on the machine is not the container's
	left=''
	for p in $V1_PIDS; do gone "$p" || left+=" $p"; done
	check "v1 only: no process of the container is left (${left:-none})" test -z "$left"
fi

# ---- 10. bad flags: exit 2 and one line ----
for args in "--memory lots -- true" "--pids 0 -- true" "--bind nocolon -- true" "--cwd rel -- true" \
	"--bogus x -- true" "--user abc -- true" "--memory 1Gi"; do
	# shellcheck disable=SC2086
	"${RUN[@]}" $args >"$WORK/badflag.out" 2>&1
	rc=$?
	check "bad flags '$args': exit 2 with one line ($(head -1 "$WORK/badflag.out"))" \
		test $rc -eq 2 -a "$(wc -l <"$WORK/badflag.out")" = 1
done

# ---- 11. start latency, printed beside unshare, never judged ----
"$BIN" runtime bench -n 2 --rootfs "$ROOTFS" --cgroup-parent "$CGP" --user 1000:1000 --group 1001 \
	-- /bin/true >"$WORK/bench-ids.out" 2>&1
rc=$?
check "bench starts containers with --user and --group (rc $rc)" test $rc -eq 0
echo "# start latency, 20 runs each, $(nproc) CPUs, $(uname -r), cgroups $([ $V2 = 1 ] && echo v2 || echo hybrid/v1):"
"$BIN" runtime bench -n 20 --rootfs "$ROOTFS" --cgroup-parent "$CGP" -- /bin/true |
	sed 's/^/#   drover runtime (in process, incl. cgroup mkdir in every hierarchy): /'
wall() { # wall LABEL COMMAND...: p50/p99 of 20 whole-command runs ($EPOCHREALTIME: no fork
	local label=$1 t0 t1 ts=() # of `date` inside the measured interval)
	shift
	for _ in $(seq 20); do
		t0=${EPOCHREALTIME/./}
		"$@" >/dev/null 2>&1
		t1=${EPOCHREALTIME/./}
		ts+=($((t1 - t0)))
	done
	printf '%s\n' "${ts[@]}" | sort -n | awk -v l="$label" '{v[NR]=$1} END {
		printf "#   %s: p50 %.2f ms p99 %.2f ms (whole command)\n", l, v[int(NR*0.5+0.5)]/1000, v[NR]/1000 }'
}
wall "unshare -fpmnui /bin/true" unshare -fpmnui /bin/true
wall "drover version (loading the binary alone)" "$BIN" version
wall "drover runtime run -- /bin/true" "${RUN[@]}" -- /bin/true

if [ $FAILS -ne 0 ]; then
	echo "runtime_e2e: $FAILS check(s) failed"
	exit 1
fi
echo "runtime_e2e: all checks passed"
