#!/usr/bin/env bash
# agent_sidecar.sh: restartable init containers (sidecars: an init container with
# restartPolicy Always) end to end, as kubelet 1.32 runs them (computeInitContainerActions,
# getPhase, terminationOrdering). Same node as agent.sh (lib.sh); the containers append what
# they do to a file in a hostPath directory of the test's own:
#  - order: init1 runs to completion, the sidecar starts, init2 waits while the sidecar's
#    startup probe fails (initContainerStatuses started=false, pod Pending, Initialized False
#    "containers with incomplete status: [side init2]"), then init2, then the container;
#  - the sidecar killed: restarted (restartCount 1), the container untouched, the pod Running;
#  - the container ends (restartPolicy Never): the sidecar is stopped (SIGTERM), the pod
#    Succeeded (a terminated sidecar does not fail it);
#  - deleted: the container gets SIGTERM and ends first, the sidecar after it.
# Everything made is removed on exit, also on failure (lib.sh).
set -uo pipefail
E2E_TAG=drvsc
# shellcheck source=tests/e2e/agent/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
node_up

OUTD=$WORK/out
mkdir -p "$OUTD"
sed "s|@OUT@|$OUTD|g" >"$WORK/pods.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: side}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 5
  volumes: [{name: out, hostPath: {path: @OUT@, type: Directory}}]
  initContainers:
  - name: init1
    image: busybox
    volumeMounts: [{name: out, mountPath: /out}]
    command: ["sh", "-c", "echo init1 >> /out/side"]
  - name: side
    image: busybox
    restartPolicy: Always
    volumeMounts: [{name: out, mountPath: /out}]
    command: ["sh", "-c", "echo side >> /out/side; trap 'echo side-term >> /out/side; exit 0' TERM; while true; do sleep 0.1; done"]
    startupProbe:
      exec: {command: ["cat", "/tmp/up"]}
      periodSeconds: 1
      failureThreshold: 1000
  - name: init2
    image: busybox
    volumeMounts: [{name: out, mountPath: /out}]
    command: ["sh", "-c", "echo init2 >> /out/side"]
  containers:
  - name: main
    image: busybox
    volumeMounts: [{name: out, mountPath: /out}]
    command: ["sh", "-c", "echo main >> /out/side; while [ ! -e /tmp/done ]; do sleep 0.1; done; echo main-done >> /out/side"]
---
apiVersion: v1
kind: Pod
metadata: {name: order}
spec:
  terminationGracePeriodSeconds: 10
  volumes: [{name: out, hostPath: {path: @OUT@, type: Directory}}]
  initContainers:
  - name: side
    image: busybox
    restartPolicy: Always
    volumeMounts: [{name: out, mountPath: /out}]
    command: ["sh", "-c", "trap 'echo side-term >> /out/order; exit 0' TERM; while true; do sleep 0.1; done"]
  containers:
  - name: main
    image: busybox
    volumeMounts: [{name: out, mountPath: /out}]
    command: ["sh", "-c", "trap 'sleep 1; echo main-term >> /out/order; exit 0' TERM; while true; do sleep 0.1; done"]
YAML
k apply -f "$WORK/pods.yaml" >/dev/null || { fail "apply"; exit 1; }

ctr_pid() { sed -n "s/.*pod default\/$1: container $2 started (pid \([0-9]*\)).*/\1/p" "$WORK/agent.log" | tail -1; }
started() { [ -n "$(ctr_pid "$1" "$2")" ]; }
istat() { jp pod "$1" "{.status.initContainerStatuses[?(@.name==\"$2\")].$3}"; }
cstat() { jp pod "$1" "{.status.containerStatuses[0].$2}"; }
cond() { jp pod "$1" "{.status.conditions[?(@.type==\"$2\")].$3}"; }
is() { [ "$("${@:2}")" = "$1" ]; }
lines() { tr '\n' ' ' <"$OUTD/$1" 2>/dev/null | sed 's/ $//'; }

# ---- order: the next init container waits for the sidecar's startup probe ----
F0=$FAILS
wait_for "side: the sidecar started" started side side
wait_for "side: its startup probe failed once" is false istat side side started
sleep 1.5 # a few more of its probe's periods: init2 must still wait
started side init2 && fail "side: init2 started before the sidecar's startup probe passed"
is Pending jp pod side '{.status.phase}' || fail "side: phase $(jp pod side '{.status.phase}')"
is "containers with incomplete status: [side init2]" cond side Initialized message ||
	fail "side: Initialized message '$(cond side Initialized message)'"
touch "/proc/$(ctr_pid side side)/root/tmp/up"
wait_for "side: Running" is Running jp pod side '{.status.phase}'
expect "side: order" "init1 side init2 main" "$(lines side)"
is true istat side side started || fail "side: sidecar started=$(istat side side started)"
is true istat side side ready || fail "side: sidecar ready=$(istat side side ready)"
[ -n "$(istat side side state.running.startedAt)" ] || fail "side: sidecar not running"
is True cond side Initialized status || fail "side: Initialized $(cond side Initialized status)"
[ $FAILS -eq $F0 ] && ok "init1, then the sidecar, init2 once the sidecar's startup probe passed, then the container"

# ---- the sidecar dies: restarted, the container untouched ----
F0=$FAILS
MAIN=$(ctr_pid side main)
kill -KILL "$(ctr_pid side side)"
restarted() { [ "$(istat side side restartCount)" -ge 1 ] 2>/dev/null; }
wait_for "side: sidecar restarted" restarted
wait_for "side: sidecar running again" started side side
is Running jp pod side '{.status.phase}' || fail "side: phase $(jp pod side '{.status.phase}') after the sidecar died"
is 0 cstat side restartCount || fail "side: the container restarted"
[ "$(ctr_pid side main)" = "$MAIN" ] || fail "side: the container was started again"
grep -c '^init' "$OUTD/side" | grep -qx 2 || fail "side: init containers ran again: $(lines side)"
[ $FAILS -eq $F0 ] && ok "sidecar killed: restarted (restartPolicy Never pod), nothing else ran again"

# ---- the container ends: the sidecar is stopped, the pod Succeeded ----
F0=$FAILS
touch "/proc/$MAIN/root/tmp/done"
wait_for "side: Succeeded" is Succeeded jp pod side '{.status.phase}'
expect "side: the sidecar (restarted once) stopped after the container" \
	"init1 side init2 main side main-done side-term" "$(lines side)"
is 0 cstat side state.terminated.exitCode || fail "side: main exit $(cstat side state.terminated.exitCode)"
[ $FAILS -eq $F0 ] && ok "the container done: the sidecar stopped (SIGTERM), the pod Succeeded"

# ---- deletion: the container first, the sidecar after ----
F0=$FAILS
wait_for "order: Running" is Running jp pod order '{.status.phase}'
k delete pod order --wait=false >/dev/null
gone() { [ -z "$(k get pod "$1" -o name 2>/dev/null)" ]; }
wait_for "order: deleted" gone order
expect "order: the sidecar stopped after the container" "main-term side-term" "$(lines order)"
[ $FAILS -eq $F0 ] && ok "deletion: the container ended first, then its sidecar"

k delete pod --all --wait=false >/dev/null
nopods() { [ -z "$(k get pods -o name)" ]; }
wait_for "every pod deleted" nopods

if [ $FAILS -ne 0 ]; then
	echo "--- agent log" >&2
	tail -60 "$WORK/agent.log" >&2
	echo "agent_sidecar.sh: $FAILS check(s) failed" >&2
	exit 1
fi
echo "agent_sidecar.sh: all checks passed"
