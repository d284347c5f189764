#!/usr/bin/env bash
# agent_env.sh: a container's environment from `drover agent` as the kubelet makes it, end to
# end (the node of lib.sh, the real kubectl): envFrom a ConfigMap (with a prefix) and a
# Secret, env from configMapKeyRef and secretKeyRef, an optional missing key skipped, $(VAR)
# expanded in env values (only what was declared before; $$ escapes) and in args -- checked
# in the container's own output; a missing ConfigMap -> CreateContainerConfigError with
# `configmap "later" not found`, then the ConfigMap made -> the pod runs; a missing key ->
# "couldn't find key nokey in ConfigMap default/cfg"; an optional missing envFrom -> runs.
set -uo pipefail
E2E_TAG=drven
# shellcheck source=tests/e2e/agent/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
node_up

cat >"$WORK/env.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {greeting: hello, color: blue}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
data: {pw: aHVudGVyMg==}  # hunter2
---
apiVersion: v1
kind: Pod
metadata: {name: envpod}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "echo \"A=$A B=$B K=$K S=$S pw=$pw G=$CFG_greeting OPT=${OPT-unset} ARG=$0\""]
    args: ["$(K)-arg"]
    envFrom:
    - {configMapRef: {name: cfg}, prefix: CFG_}
    - secretRef: {name: sec}
    - configMapRef: {name: nosuch, optional: true}
    env:
    - {name: A, value: x}
    - {name: B, value: "$(A)-$(CFG_color)-$$(A)-$(LATER)"}
    - {name: LATER, value: l}
    - {name: K, valueFrom: {configMapKeyRef: {name: cfg, key: greeting}}}
    - {name: S, valueFrom: {secretKeyRef: {name: sec, key: pw}}}
    - {name: OPT, valueFrom: {secretKeyRef: {name: sec, key: nokey, optional: true}}}
---
apiVersion: v1
kind: Pod
metadata: {name: waits}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "echo V=$V"]
    env:
    - {name: V, valueFrom: {configMapKeyRef: {name: later, key: v}}}
---
apiVersion: v1
kind: Pod
metadata: {name: badkey}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: ["true"]
    env:
    - {name: V, valueFrom: {configMapKeyRef: {name: cfg, key: nokey}}}
YAML
k apply -f "$WORK/env.yaml" >/dev/null || { fail "apply"; exit 1; }

phase() { [ "$(jp pod "$1" '{.status.phase}')" = "$2" ]; }
waiting() { [ "$(jp pod "$1" '{.status.containerStatuses[0].state.waiting.reason}')" = "$2" ]; }
logline() { cat "$WORK"/root/pods/default_"$1"_*/c/0.log 2>/dev/null | sed -n 's/^[^ ]* stdout [FP] //p'; }

F0=$FAILS
wait_for "envpod Succeeded" phase envpod Succeeded
WANT='A=x B=x-blue-$(A)-$(LATER) K=hello S=hunter2 pw=hunter2 G=hello OPT=unset ARG=hello-arg'
[ "$(logline envpod)" = "$WANT" ] || fail "envpod printed '$(logline envpod)', want '$WANT'"
[ $FAILS -eq $F0 ] && ok "envFrom (prefix), key refs, optional skipped, \$(VAR) in env and args: $WANT"

F0=$FAILS
wait_for "waits: CreateContainerConfigError" waiting waits CreateContainerConfigError
[ "$(jp pod waits '{.status.containerStatuses[0].state.waiting.message}')" = 'configmap "later" not found' ] ||
	fail "waits: message '$(jp pod waits '{.status.containerStatuses[0].state.waiting.message}')'"
[ "$(jp pod waits '{.status.phase}')" = Pending ] || fail "waits: phase not Pending"
k create configmap later --from-literal=v=now-here >/dev/null
wait_for "waits runs once its ConfigMap exists" phase waits Succeeded
[ "$(logline waits)" = "V=now-here" ] || fail "waits printed '$(logline waits)'"
[ $FAILS -eq $F0 ] && ok "missing ConfigMap: CreateContainerConfigError (configmap \"later\" not found), then runs"

F0=$FAILS
wait_for "badkey: CreateContainerConfigError" waiting badkey CreateContainerConfigError
[ "$(jp pod badkey '{.status.containerStatuses[0].state.waiting.message}')" = "couldn't find key nokey in ConfigMap default/cfg" ] ||
	fail "badkey: message '$(jp pod badkey '{.status.containerStatuses[0].state.waiting.message}')'"
[ $FAILS -eq $F0 ] && ok "missing key: couldn't find key nokey in ConfigMap default/cfg"

k delete pod --all --wait=false >/dev/null
nopods() { [ -z "$(k get pods -o name)" ]; }
wait_for "every pod deleted" nopods

if [ $FAILS -ne 0 ]; then
	echo "--- agent log" >&2
	tail -40 "$WORK/agent.log" >&2
	echo "agent_env.sh: $FAILS check(s) failed" >&2
	exit 1
fi
echo "agent_env.sh: all checks passed"
