#!/usr/bin/env bash
# agent_debug.sh: `kubectl debug` (ephemeral containers) through drover server and agent on
# lib.sh's node, with the real kubectl 1.32. Checks:
#  - kubectl debug POD --image=busybox -c dbg --target=c -- sh -c 'ps; sleep 5': the
#    ephemeral container starts in the pod (its sandbox), in the target's pid namespace (its
#    ps sees the target's sleep), never restarted; status.ephemeralContainerStatuses goes
#    running, then terminated (Completed, exit 0); `kubectl logs POD -c dbg` has its output;
#    the pod's containers and their restart counts are untouched.
#  - without --target: its own pid namespace (ps sees only itself).
#  - kubectl debug -it under script(1) with a scripted input: the typed command's output
#    comes back through attach, `exit` ends the container.
#  - a second debug container with the same name: refused with kube-apiserver's message.
#  - deleting the pod stops the ephemeral containers with it.
# Everything made is removed on exit, also on failure.
set -uo pipefail
command -v script >/dev/null || { echo "agent_debug.sh: no script" >&2; exit 1; }
E2E_TAG=drvdb
E2E_NET=198.19
E2E_WAIT_S=${E2E_WAIT_S:-60}
# shellcheck source=tests/e2e/agent/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

AGENT_FLAGS=(--node-ip "$NODEIP" --no-proxy)
node_up
T0=$(date +%s.%N)

cat >"$WORK/pod.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox, command: ["sh", "-c", "exec sleep 3600"]}
YAML
k apply -f "$WORK/pod.yaml" >/dev/null || fail "apply"
wait_for "web Running" running web || exit 1

# ---- --target: the target's processes; status; logs ----
OUT=$(k debug web --image=busybox -c dbg --target=c -- sh -c 'ps; sleep 3' 2>&1)
expect "kubectl debug --target: accepted" 0 "$?"
eph_state() { jp pod web "{.status.ephemeralContainerStatuses[?(@.name==\"$1\")].state}"; }
eph_running() { eph_state dbg | grep -q '"running"'; }
wait_for "dbg running" eph_running && ok "dbg: ephemeralContainerStatuses running"
eph_done() { eph_state dbg | grep -q '"terminated"'; }
wait_for "dbg terminated" eph_done || fail "dbg: $(jp pod web '{.status.ephemeralContainerStatuses}')"
expect "dbg: terminated Completed, exit 0, never restarted" "Completed 0 0" \
	"$(jp pod web '{.status.ephemeralContainerStatuses[0].state.terminated.reason} {.status.ephemeralContainerStatuses[0].state.terminated.exitCode} {.status.ephemeralContainerStatuses[0].restartCount}')"
LOGS=$(k logs web -c dbg 2>&1)
echo "$LOGS" | grep -q 'sleep 3600' && ok "dbg: its ps sees the target's sleep 3600" ||
	fail "dbg: no target process in its ps: $LOGS"
expect "web: its container untouched" "Running c 0" \
	"$(jp pod web '{.status.phase} {.status.containerStatuses[*].name} {.status.containerStatuses[0].restartCount}')"
expect "spec.ephemeralContainers: dbg, target c" "dbg c" \
	"$(jp pod web '{.spec.ephemeralContainers[0].name} {.spec.ephemeralContainers[0].targetContainerName}')"
sleep 1.5
expect "dbg: still terminated (not restarted)" "0 terminated" \
	"$(jp pod web '{.status.ephemeralContainerStatuses[0].restartCount}') $(eph_state dbg | grep -o terminated)"

# ---- no target: a pid namespace of its own ----
k debug web --image=busybox -c own -- sh -c 'ps' >/dev/null 2>&1 || fail "debug own"
own_done() { eph_state own | grep -q '"terminated"'; }
wait_for "own terminated" own_done
LOGS=$(k logs web -c own 2>&1)
if echo "$LOGS" | grep -q 'sleep 3600' || ! echo "$LOGS" | grep -q '^ *1 .*ps$'; then
	fail "own: not a pid namespace of its own (its ps as pid 1, no sleep 3600): $LOGS"
else
	ok "own: its own pid namespace (its ps is pid 1, no sleep 3600)"
fi

# ---- the same name again ----
# kubectl 1.32 sends no error of its own: its two-way patch lists dbg twice (the old one with
# the new command, then the old one back) and a strategic merge merges both into the stored
# one (mergeSliceWithoutSpecialElements): nothing changes, 200, as kube-apiserver answers
OUT=$(k debug web --image=busybox -c dbg -- true 2>&1)
expect "a second dbg through kubectl debug: a no-op" "0 1 sh" \
	"$? $(jp pod web '{.spec.ephemeralContainers[*].name}' | tr ' ' '\n' | grep -cx dbg) $(jp pod web '{.spec.ephemeralContainers[0].command[0]}')"
# a write that does change it: refused with kube-apiserver's message
k get pod web -o json | sed 's/"ps; sleep 3"/"ps; sleep 4"/' >"$WORK/web.json"
OUT=$(k replace --raw /api/v1/namespaces/default/pods/web/ephemeralcontainers -f "$WORK/web.json" 2>&1)
rc=$?
[ $rc -ne 0 ] && echo "$OUT" | grep -q 'spec.ephemeralContainers: Forbidden: existing ephemeral containers "dbg" may not be changed' &&
	ok "dbg changed: refused (may not be changed)" || fail "dbg changed: rc $rc: $OUT"

# ---- -it: a terminal through attach ----
# shellcheck disable=SC2016 # the $((...)) is for the container's shell
(sleep 3; printf 'echo hi-$((6*7))\n'; sleep 1; printf 'exit\n'; sleep 1) |
	innode timeout 20 script -qec "kubectl debug web -it --image=busybox -c it -- sh" /dev/null \
		>"$WORK/it.out" 2>&1
rc=$?
tr -d '\r' <"$WORK/it.out" >"$WORK/it.txt"
grep -qx 'hi-42' "$WORK/it.txt" && ok "debug -it: the typed command's output" ||
	fail "debug -it: rc $rc, no hi-42 in: $(cat "$WORK/it.txt")"
it_done() { eph_state it | grep -q '"terminated"'; }
wait_for "it terminated after exit" it_done && ok "debug -it: exit ended it"

# ---- deleted with the pod ----
k debug web --image=busybox -c long -- sleep 3600 >/dev/null 2>&1 || fail "debug long"
long_running() { eph_state long | grep -q '"running"'; }
wait_for "long running" long_running
LPID=''
for p in $(pgrep -x -f 'sleep 3600'); do # this node's (its cgroup parent): others' run too
	grep -q "/$CGP/" "/proc/$p/cgroup" 2>/dev/null && LPID="$LPID $p"
done
[ "$(echo "$LPID" | wc -w)" -eq 2 ] || fail "long: not the two sleep 3600 (c, long): $LPID"
k delete pod web --wait=true >/dev/null 2>&1 || fail "delete web"
left=''
for p in $LPID; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
expect "deleted with the pod: no process left" "" "$left"

echo "agent_debug.sh: checks took $(echo "$(date +%s.%N) - $T0" | bc) s"
[ "$FAILS" -eq 0 ] && echo "agent_debug.sh: all passed" || { echo "agent_debug.sh: $FAILS failed" >&2; exit 1; }
