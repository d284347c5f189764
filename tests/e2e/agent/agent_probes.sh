#!/usr/bin/env bash
# agent_probes.sh: `drover agent`'s probes end to end, as kubelet 1.32 runs them. Same node as
# agent.sh (lib.sh: a network namespace of the test's own with `drover server` and `drover agent`,
# the busybox image, the real kubectl), then pods whose probes are driven both ways by files
# the test writes into the containers' root (/proc/PID/root):
#  - readiness httpGet on a named port: 404 -> containerStatuses ready=false, started=true,
#    Ready/ContainersReady False (ContainersNotReady, "containers with unready status: [httpd]"),
#    the Service's EndpointSlice endpoint ready=false, Unhealthy "Readiness probe failed: HTTP
#    probe failed with statuscode: 404"; the file made -> Ready True and the endpoint ready=true;
#    removed -> not ready again;
#  - liveness httpGet failing -> Unhealthy, Killing "Container httpd failed liveness probe, will
#    be restarted", restartCount >= 1, lastState terminated;
#  - startup exec holding a failing liveness off (no restart, started=false) until it passes,
#    then the liveness failure restarts the container;
#  - tcpSocket and exec readiness, each failing then passing; after the agent is SIGKILLed and
#    restarted, the exec probe still drives the adopted container's readiness; an exec probe
#    outliving timeoutSeconds: "command \"...\" timed out", not ready;
#  - a port name that is not the container's: "errored and resulted in unknown state:
#    strconv.Atoi: parsing \"nosuch\": invalid syntax", never ready, never killed.
#  - grpc readiness (grpc.health.v1.Health over h2c): refused while nothing listens, then a
#    Node.js http2 health server (tests/unit/agent/grpc_health_server.js) in the pod's network
#    namespace answers SERVING (ready), NOT_SERVING (not ready, "service unhealthy ...").
# Everything made (processes by PID, namespaces, cgroups under drvpr-$$, the work dir) is removed
# on exit, also on failure.
set -uo pipefail
E2E_TAG=drvpr
# shellcheck source=tests/e2e/agent/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
node_up

# ---- the pods ----
# each container's command makes what its probes look at; the test then adds or removes files
# under /proc/PID/root (the container's own root) to turn a probe one way or the other
cat >"$WORK/pods.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: ready, labels: {app: ready}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: busybox
    command: ["sh", "-c", "mkdir /www && echo hi > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: [{name: web, containerPort: 8080}]
    readinessProbe:
      httpGet: {path: /ready, port: web}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata: {name: ready}
spec:
  selector: {app: ready}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: live}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo ok > /www/healthz && exec httpd -f -p 8080 -h /www"]
    livenessProbe:
      httpGet: {path: /healthz, port: 8080}
      periodSeconds: 1
      failureThreshold: 2
---
apiVersion: v1
kind: Pod
metadata: {name: startup}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sleep", "100000"]
    startupProbe:
      exec: {command: ["cat", "/tmp/started"]}
      periodSeconds: 1
      failureThreshold: 1000
    livenessProbe:
      exec: {command: ["cat", "/tmp/alive"]}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Pod
metadata: {name: tcp}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "mkdir /www; while [ ! -e /tmp/listen ]; do sleep 0.2; done; exec httpd -f -p 8081 -h /www"]
    readinessProbe:
      tcpSocket: {port: 8081}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Pod
metadata: {name: exec}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sleep", "100000"]
    readinessProbe:
      exec: {command: ["cat", "/tmp/ok"]}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Pod
metadata: {name: slow}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sleep", "100000"]
    readinessProbe:
      exec: {command: ["sh", "-c", "touch /tmp/ran; sleep 30; exit 0"]}
      timeoutSeconds: 1
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {name: badport}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sleep", "100000"]
    ports: [{name: web, containerPort: 8080}]
    readinessProbe:
      httpGet: {path: /, port: nosuch}
      periodSeconds: 1
    livenessProbe:
      tcpSocket: {port: nosuch}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Pod
metadata: {name: grpc}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sleep", "100000"]
    readinessProbe:
      grpc: {port: 50051}
      periodSeconds: 1
      failureThreshold: 1
YAML
GRPC_PID=''
cleanup_more() { [ -z "$GRPC_PID" ] || { kill -KILL "$GRPC_PID"; wait "$GRPC_PID"; } 2>/dev/null; }
k apply -f "$WORK/pods.yaml" >/dev/null || { fail "apply"; exit 1; }

running() { [ "$(jp pod "$1" '{.status.phase}')" = Running ] && [ -n "$(jp pod "$1" '{.status.podIP}')" ]; }
for p in ready live startup tcp exec slow badport grpc; do wait_for "$p Running" running "$p"; done
# the container's init as the agent started it (the last start: restarts log again)
ctr_pid() { sed -n "s/.*pod default\/$1: container $2 started (pid \([0-9]*\)).*/\1/p" "$WORK/agent.log" | tail -1; }
cstat() { jp pod "$1" "{.status.containerStatuses[0].$2}"; }
cond() { jp pod "$1" "{.status.conditions[?(@.type==\"$2\")].$3}"; }
# events of a pod, one "reason|message" a line
events() { k get events -o jsonpath='{range .items[*]}{.involvedObject.name}|{.reason}|{.message}{"\n"}{end}' | sed -n "s/^$1|//p"; }
has_event() { events "$1" | grep -qF -- "$2"; }
slice_ready() { k get endpointslices -l kubernetes.io/service-name=ready -o jsonpath='{.items[*].endpoints[*].conditions.ready}'; }
is() { [ "$("${@:2}")" = "$1" ]; }

# ---- readiness httpGet on a named port: fails, passes, fails ----
F0=$FAILS
wait_for "ready: Unhealthy 404 event" has_event ready "Readiness probe failed: HTTP probe failed with statuscode: 404"
is false cstat ready ready || fail "ready: containerStatuses ready is $(cstat ready ready)"
is true cstat ready started || fail "ready: started is $(cstat ready started)"
is False cond ready Ready status || fail "ready: Ready is $(cond ready Ready status)"
is False cond ready ContainersReady status || fail "ready: ContainersReady"
is ContainersNotReady cond ready Ready reason || fail "ready: reason $(cond ready Ready reason)"
is "containers with unready status: [httpd]" cond ready Ready message ||
	fail "ready: message $(cond ready Ready message)"
wait_for "ready: endpoint ready=false" is false slice_ready
[ $FAILS -eq $F0 ] && ok "readiness 404: ready=false, Ready False (ContainersNotReady), endpoint ready=false"
F0=$FAILS
PID=$(ctr_pid ready httpd)
echo ok >"/proc/$PID/root/www/ready" || fail "write /www/ready in pid $PID"
wait_for "ready: Ready True" is True cond ready Ready status
is true cstat ready ready || fail "ready: container not ready"
is True cond ready ContainersReady status || fail "ready: ContainersReady"
wait_for "ready: endpoint ready=true" is true slice_ready
[ $FAILS -eq $F0 ] && ok "readiness passes: Ready True, endpoint ready=true"
F0=$FAILS
rm -f "/proc/$PID/root/www/ready"
wait_for "ready: Ready False again" is False cond ready Ready status
wait_for "ready: endpoint ready=false again" is false slice_ready
is 0 cstat ready restartCount || fail "readiness failure restarted the container"
[ $FAILS -eq $F0 ] && ok "readiness fails again: Ready False, endpoint ready=false, no restart"

# ---- liveness httpGet: killed and restarted ----
F0=$FAILS
PID=$(ctr_pid live httpd)
is 0 cstat live restartCount || fail "live restarted before its probe failed"
is true cstat live ready || fail "live: not ready (no readiness probe: ready when running)"
rm -f "/proc/$PID/root/www/healthz"
restarted() { [ "$(cstat "$1" restartCount)" -ge 1 ] 2>/dev/null; }
wait_for "live: restartCount >= 1" restarted live
wait_for "live: Unhealthy event" has_event live "Liveness probe failed: HTTP probe failed with statuscode: 404"
wait_for "live: Killing event" has_event live "Container httpd failed liveness probe, will be restarted"
[ -n "$(cstat live lastState.terminated.finishedAt)" ] || fail "live: no lastState.terminated"
wait_for "live: running again" is true cstat live ready
[ $FAILS -eq $F0 ] && ok "liveness 404: Unhealthy, Killing, restartCount $(cstat live restartCount), running again"

# ---- startup holds liveness off, then lets it act ----
F0=$FAILS
count_startup() { [ "$(events startup | grep -c "Startup probe failed")" -ge 1 ] &&
	[ "$(k get events -o jsonpath='{range .items[?(@.involvedObject.name=="startup")]}{.reason}={.count}{"\n"}{end}' |
		sed -n 's/^Unhealthy=//p' | sort -n | tail -1)" -ge 3 ]; }
wait_for "startup: its probe failed 3 times" count_startup
is false cstat startup started || fail "startup: started before its probe passed"
is false cstat startup ready || fail "startup: ready before started"
is 0 cstat startup restartCount || fail "startup: restarted while the startup probe held liveness"
has_event startup "Liveness probe failed" && fail "startup: liveness ran before the startup probe passed"
PID=$(ctr_pid startup c)
touch "/proc/$PID/root/tmp/started"
wait_for "startup: restarted by liveness once started" restarted startup
has_event startup "Container c failed liveness probe, will be restarted" ||
	fail "startup: no Killing event"
[ $FAILS -eq $F0 ] && ok "startup probe held a failing liveness off, then liveness restarted the container"

# ---- tcpSocket and exec readiness, both ways ----
# both_ways POD EVENT FILE DESC: POD not ready with EVENT, then ready once /tmp/FILE is made
both_ways() {
	F0=$FAILS
	wait_for "$1: failure event" has_event "$1" "$2"
	is false cstat "$1" ready || fail "$1: ready while its probe fails"
	touch "/proc/$(ctr_pid "$1" c)/root/tmp/$3"
	wait_for "$1: ready once its probe passes" is true cstat "$1" ready
	[ $FAILS -eq $F0 ] && ok "$4"
}
both_ways tcp "Readiness probe failed: dial tcp $(jp pod tcp '{.status.podIP}'):8081: connect: connection refused" \
	listen "tcpSocket: refused -> not ready; listening -> ready"
both_ways exec "Readiness probe failed: cat: can't open '/tmp/ok': No such file or directory" \
	ok "exec: exit 1 -> not ready; exit 0 -> ready"

# ---- a restarted agent adopts the running containers and probes them again ----
F0=$FAILS
PID=$(ctr_pid exec c)
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=''
start_agent
adopted() { grep -q "pod default/exec: container c adopted" "$WORK/agent.log"; }
wait_for "exec adopted" adopted
rm -f "/proc/$PID/root/tmp/ok"
wait_for "exec: not ready after the agent's restart" is false cstat exec ready
touch "/proc/$PID/root/tmp/ok"
wait_for "exec: ready again, probed by the returning agent" is true cstat exec ready
[ "$(ctr_pid exec c)" = "$PID" ] || fail "exec: its container was started again, not adopted"
[ $FAILS -eq $F0 ] && ok "a restarted agent probes the containers it adopted"

# ---- timeoutSeconds: an exec probe that outlives it fails (and is killed) ----
F0=$FAILS
wait_for "slow: timed out event" has_event slow 'Readiness probe failed: command "sh -c touch /tmp/ran; sleep 30; exit 0" timed out'
is false cstat slow ready || fail "slow: ready although its probe never finished in time"
[ -e "/proc/$(ctr_pid slow c)/root/tmp/ran" ] || fail "slow: the probe's command never ran"
[ $FAILS -eq $F0 ] && ok "exec timeoutSeconds: 'command ... timed out', not ready"

# ---- a port name the container does not have: errored, never ready, never killed ----
F0=$FAILS
wait_for "badport: errored event" has_event badport 'Readiness probe errored and resulted in unknown state: strconv.Atoi: parsing "nosuch": invalid syntax'
wait_for "badport: liveness errored event" has_event badport 'Liveness probe errored and resulted in unknown state: strconv.Atoi: parsing "nosuch": invalid syntax'
is false cstat badport ready || fail "badport: ready"
is 0 cstat badport restartCount || fail "badport: an errored liveness probe killed the container"
[ $FAILS -eq $F0 ] && ok "unknown port name: errored as the kubelet reports it, not ready, not killed"

# ---- grpc: refused, then SERVING (ready), then NOT_SERVING (not ready) ----
F0=$FAILS
GIP=$(jp pod grpc '{.status.podIP}')
wait_for "grpc: refused while nothing listens" has_event grpc "Readiness probe failed: error: health rpc probe failed: rpc error: code = Unavailable desc = connection error: desc = \"transport: Error while dialing: dial tcp $GIP:50051: connect: connection refused\""
is false cstat grpc ready || fail "grpc: ready while nothing listens"
echo "- SERVING" >"$WORK/grpc.state"
NODEJS=$(command -v node || command -v nodejs)
nsenter --net="/run/netns/drv-$(jp pod grpc '{.metadata.uid}')" "$NODEJS" \
	"$SRC/tests/unit/agent/grpc_health_server.js" 0.0.0.0 "$WORK/grpc.state" 50051 >"$WORK/grpc.log" 2>&1 &
GRPC_PID=$!
wait_for "grpc: ready once the server answers SERVING" is true cstat grpc ready
echo "- NOT_SERVING" >"$WORK/grpc.state"
wait_for "grpc: not ready on NOT_SERVING" is false cstat grpc ready
wait_for "grpc: NOT_SERVING event" has_event grpc 'Readiness probe failed: service unhealthy (responded with "NOT_SERVING")'
[ $FAILS -eq $F0 ] && ok "grpc readiness: refused -> not ready; SERVING -> ready; NOT_SERVING -> not ready"

# ---- the end: delete everything, nothing left ----
k delete pod --all --wait=false >/dev/null
nopods() { [ -z "$(k get pods -o name)" ]; }
wait_for "every pod deleted" nopods
[ -z "$(ls "$WORK/root/sandboxes")" ] || fail "sandboxes left: $(ls "$WORK/root/sandboxes")"

if [ $FAILS -ne 0 ]; then
	echo "--- agent log" >&2
	tail -60 "$WORK/agent.log" >&2
	echo "agent_probes.sh: $FAILS check(s) failed" >&2
	exit 1
fi
echo "agent_probes.sh: all checks passed"
