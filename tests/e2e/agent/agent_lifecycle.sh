#!/usr/bin/env bash
# agent_lifecycle.sh: `drover agent`'s container lifecycle hooks end to end, as kubelet 1.32 runs
# them (kuberuntime startContainer / killContainer, lifecycle/handlers.go). Same node as
# agent.sh (lib.sh); the pods write what they see into a hostPath directory of the test's own:
#  - preStop exec runs before SIGTERM: the main process, trapping TERM, finds the hook's file;
#    the hook's 3 s come out of the 6 s grace period (SIGTERM with what is left, SIGKILL at
#    its end, as the main process ignores TERM);
#  - preStop sleep (1.30+): SIGTERM after it, with the grace left;
#  - preStop httpGet: the request reaches the container (User-Agent kube-lifecycle/1.32);
#  - preStop tcpSocket (not a supported handler): FailedPreStopHook "PreStopHook failed", the
#    "invalid handler" message in the agent's log, the container still stopped;
#  - preStop on a liveness restart: the hook ran before the container was killed;
#  - postStart: the container is not Running (waiting, not started, not ready) until the hook
#    returned, then Running and ready;
#  - postStart exec failing: event FailedPostStartHook "PostStartHook failed", Killing
#    "FailedPostStartHook", waiting reason PostStartHookError with the kubelet's message while
#    it is killed (it ignores SIGTERM: 3 s), restarted (restartCount); httpGet failing with
#    restartPolicy Never: killed, terminated (137), not restarted, pod Failed, the message with
#    Go's dial error.
# Everything made is removed on exit, also on failure (lib.sh).
set -uo pipefail
E2E_TAG=drvlc
# shellcheck source=tests/e2e/agent/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
node_up

OUTD=$WORK/out
mkdir -p "$OUTD"
# a container that exits at SIGTERM; one that only notes it (and is SIGKILLed)
QUIT="trap 'exit 0' TERM; while true; do sleep 0.1; done"
sed "s|@OUT@|$OUTD|g; s|@QUIT@|$QUIT|g" >"$WORK/pods.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: prestop}
spec:
  terminationGracePeriodSeconds: 6
  volumes: [{name: out, hostPath: {path: @OUT@, type: Directory}}]
  containers:
  - name: c
    image: busybox
    volumeMounts: [{name: out, mountPath: /out}]
    command: ["sh", "-c", "trap 'if [ -e /tmp/hooked ]; then echo hook-before-term; else echo term-before-hook; fi >> /out/prestop' TERM; while true; do sleep 0.1; done"]
    lifecycle:
      preStop:
        exec: {command: ["sh", "-c", "touch /tmp/hooked; echo hook >> /out/prestop; sleep 3"]}
---
apiVersion: v1
kind: Pod
metadata: {name: sleepstop}
spec:
  terminationGracePeriodSeconds: 10
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "@QUIT@"]
    lifecycle:
      preStop:
        sleep: {seconds: 2}
---
apiVersion: v1
kind: Pod
metadata: {name: httpstop}
spec:
  terminationGracePeriodSeconds: 5
  volumes: [{name: out, hostPath: {path: @OUT@, type: Directory}}]
  containers:
  - name: c
    image: busybox
    volumeMounts: [{name: out, mountPath: /out}]
    command: ["sh", "-c", "mkdir -p /www/cgi-bin && printf '#!/bin/sh\\necho \"$REQUEST_URI $HTTP_USER_AGENT\" >> /out/http\\necho Content-Type: text/plain\\necho\\necho ok\\n' > /www/cgi-bin/hook && chmod +x /www/cgi-bin/hook && exec httpd -f -p 8080 -h /www"]
    lifecycle:
      preStop:
        httpGet: {path: /cgi-bin/hook, port: 8080}
---
apiVersion: v1
kind: Pod
metadata: {name: tcpstop}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "@QUIT@"]
    lifecycle:
      preStop:
        tcpSocket: {port: 8080}
---
apiVersion: v1
kind: Pod
metadata: {name: live}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{name: out, hostPath: {path: @OUT@, type: Directory}}]
  containers:
  - name: c
    image: busybox
    volumeMounts: [{name: out, mountPath: /out}]
    command: ["sh", "-c", "@QUIT@"]
    livenessProbe:
      exec: {command: ["cat", "/tmp/alive"]}
      periodSeconds: 1
      failureThreshold: 1
    lifecycle:
      preStop:
        exec: {command: ["sh", "-c", "echo prestop >> /out/live"]}
---
apiVersion: v1
kind: Pod
metadata: {name: psok}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "@QUIT@"]
    lifecycle:
      postStart:
        exec: {command: ["sh", "-c", "touch /tmp/began; sleep 6; touch /tmp/done"]}
---
apiVersion: v1
kind: Pod
metadata: {name: psfail}
spec:
  terminationGracePeriodSeconds: 3
  containers:
  - name: c
    image: busybox
    command: ["sleep", "100000"]
    lifecycle:
      postStart:
        exec: {command: ["sh", "-c", "echo oops; exit 3"]}
---
apiVersion: v1
kind: Pod
metadata: {name: pshttp}
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: ["sleep", "100000"]
    lifecycle:
      postStart:
        httpGet: {path: /x, port: 9}
YAML
k apply -f "$WORK/pods.yaml" >/dev/null || { fail "apply"; exit 1; }

ctr_pid() { sed -n "s/.*pod default\/$1: container $2 started (pid \([0-9]*\)).*/\1/p" "$WORK/agent.log" | tail -1; }
cstat() { jp pod "$1" "{.status.containerStatuses[0].$2}"; }
events() { k get events -o jsonpath='{range .items[*]}{.involvedObject.name}|{.reason}|{.message}{"\n"}{end}' | sed -n "s/^$1|//p"; }
has_event() { events "$1" | grep -qxF -- "$2"; }
in_log() { grep -qF -- "$1" "$WORK/agent.log"; }
is() { [ "$("${@:2}")" = "$1" ]; }
exists() { [ -e "$1" ]; }
started() { [ -n "$(ctr_pid "$1" c)" ]; }

# ---- postStart failing: killed, PostStartHookError, restarted ----
F0=$FAILS
UID_PS=$(jp pod psfail '{.metadata.uid}')
MSG="Exec lifecycle hook ([sh -c echo oops; exit 3]) for Container \"c\" in Pod \"psfail_default($UID_PS)\" failed - error: command 'sh -c echo oops; exit 3' exited with 3: , message: \"oops\\n\""
waiting_hookerr() { [ "$(cstat psfail state.waiting.reason)" = PostStartHookError ] &&
	[ "$(cstat psfail state.waiting.message)" = "$MSG" ]; }
wait_for "psfail: waiting PostStartHookError with the kubelet's message" waiting_hookerr
wait_for "psfail: FailedPostStartHook event" has_event psfail "FailedPostStartHook|PostStartHook failed"
wait_for "psfail: Killing FailedPostStartHook" has_event psfail "Killing|FailedPostStartHook"
restarted() { [ "$(cstat "$1" restartCount)" -ge 1 ] 2>/dev/null; }
wait_for "psfail: restarted" restarted psfail
is false cstat psfail started || fail "psfail: started although its postStart failed"
in_log "$MSG" || fail "psfail: the message is not in the agent's log"
[ $FAILS -eq $F0 ] && ok "postStart failure: FailedPostStartHook, killed, PostStartHookError (kubelet's message), restarted"

# ---- postStart: not Running until it returned ----
F0=$FAILS
wait_for "psok: container started" started psok
PID=$(ctr_pid psok c)
wait_for "psok: its postStart began" exists "/proc/$PID/root/tmp/began"
if [ -e "/proc/$PID/root/tmp/done" ]; then
	fail "psok: the hook ended before the status could be seen (machine too slow?)"
else
	is Pending jp pod psok '{.status.phase}' || fail "psok: phase $(jp pod psok '{.status.phase}') while postStart runs"
	[ -n "$(cstat psok state.waiting)" ] || fail "psok: state $(cstat psok state) while postStart runs"
	is false cstat psok started || fail "psok: started while postStart runs"
	is false cstat psok ready || fail "psok: ready while postStart runs"
fi
wait_for "psok: Running once the hook returned" is true cstat psok ready
[ -e "/proc/$PID/root/tmp/done" ] || fail "psok: Running before its postStart returned"
[ -n "$(cstat psok state.running.startedAt)" ] || fail "psok: not running"
[ $FAILS -eq $F0 ] && ok "postStart: waiting, not started, not ready while it runs; Running and ready after"

# ---- postStart httpGet failing, restartPolicy Never: terminated, not restarted ----
F0=$FAILS
terminated() { [ -n "$(cstat pshttp state.terminated.finishedAt)" ]; }
wait_for "pshttp: terminated" terminated
wait_for "pshttp: FailedPostStartHook event" has_event pshttp "FailedPostStartHook|PostStartHook failed"
IP=$(jp pod pshttp '{.status.podIP}')
in_log "HTTP lifecycle hook (/x) for Container \"c\" in Pod \"pshttp_default($(jp pod pshttp '{.metadata.uid}'))\" failed - error: Get \"http://$IP:9/x\": dial tcp $IP:9: connect: connection refused" ||
	fail "pshttp: no HTTP lifecycle hook message in the log"
is 0 cstat pshttp restartCount || fail "pshttp: restarted under restartPolicy Never"
wait_for "pshttp: Failed" is Failed jp pod pshttp '{.status.phase}'
[ $FAILS -eq $F0 ] && ok "postStart httpGet refused, restartPolicy Never: killed, terminated, pod Failed"

# ---- preStop on a liveness restart ----
F0=$FAILS
wait_for "live: restarted by its liveness probe" restarted live
grep -qx prestop "$OUTD/live" 2>/dev/null || fail "live: the preStop hook did not run before the kill"
[ $FAILS -eq $F0 ] && ok "liveness failure: preStop ran, then the container was killed and restarted"

# ---- preStop at deletion: exec (grace shared, SIGKILL at the end), sleep, httpGet, tcpSocket ----
for p in prestop sleepstop httpstop tcpstop; do wait_for "$p Running" running "$p"; done
k delete pod prestop sleepstop httpstop tcpstop --wait=false >/dev/null
gone() { [ -z "$(k get pod "$1" -o name 2>/dev/null)" ]; }
for p in prestop sleepstop httpstop tcpstop; do wait_for "$p deleted" gone "$p"; done
# the grace the agent gave SIGTERM after a pod's preStop ("SIGTERM, grace Ns")
term_grace() { sed -n "s/.*pod default\/$1: container c: SIGTERM, grace \([0-9]*\)s.*/\1/p" "$WORK/agent.log" | tail -1; }
F0=$FAILS
expect "prestop: the main process saw the hook's file at SIGTERM" "hook hook-before-term" \
	"$(tr '\n' ' ' <"$OUTD/prestop" 2>/dev/null | sed 's/ $//')"
G=$(term_grace prestop)
{ [ -n "$G" ] && [ "$G" -ge 2 ] && [ "$G" -le 3 ]; } ||
	fail "prestop: SIGTERM grace '$G' s, want 6 s less the hook's 3 (2..3)"
in_log "pod default/prestop: container c: SIGKILL" || fail "prestop: no SIGKILL at the grace period's end"
[ $FAILS -eq $F0 ] && ok "preStop exec: before SIGTERM, its $((6 - G)) s taken from the 6 s grace, SIGKILL after"
F0=$FAILS
G=$(term_grace sleepstop)
{ [ -n "$G" ] && [ "$G" -ge 2 ] && [ "$G" -le 8 ]; } || fail "sleepstop: SIGTERM grace '$G' s, want 10 s less the 2 s sleep"
[ $FAILS -eq $F0 ] && ok "preStop sleep 2: SIGTERM with ${G} s of the 10 s grace left"
expect "preStop httpGet reached the container" "/cgi-bin/hook kube-lifecycle/1.32" "$(cat "$OUTD/http" 2>/dev/null)"
F0=$FAILS
wait_for "tcpstop: FailedPreStopHook" has_event tcpstop "FailedPreStopHook|PreStopHook failed"
in_log "Cannot run handler: invalid handler: &LifecycleHandler{Exec:nil,HTTPGet:nil,TCPSocket:&TCPSocketAction{Port:{0 8080 },Host:,},Sleep:nil,}" ||
	fail "tcpstop: no invalid handler message"
has_event prestop "Killing|Stopping container c" || fail "prestop: no Killing event"
[ $FAILS -eq $F0 ] && ok "preStop tcpSocket: FailedPreStopHook, the container stopped all the same"

k delete pod --all --wait=false >/dev/null
nopods() { [ -z "$(k get pods -o name)" ]; }
wait_for "every pod deleted" nopods

if [ $FAILS -ne 0 ]; then
	echo "--- agent log" >&2
	tail -60 "$WORK/agent.log" >&2
	echo "agent_lifecycle.sh: $FAILS check(s) failed" >&2
	exit 1
fi
echo "agent_lifecycle.sh: all checks passed"
