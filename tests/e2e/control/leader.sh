#!/usr/bin/env bash
# leader.sh: --leader-elect (client-go's leader election over a Lease, kube-controller-manager's
# and kube-scheduler's default): two `drover controller-manager`s against one server, with
# short lease timings (6 s lease, 4 s renew deadline, 1 s retry). The first holds the Lease
# kube-system/kube-controller-manager and alone runs the controllers (a ReplicaSet of 2 gets
# its pods); the second waits and never acquires. The leader killed (SIGKILL), the second takes the Lease
# once it has not been renewed for its duration (leaseTransitions 1) and its controllers act
# (the ReplicaSet scaled to 3 gets its third pod); stopped with SIGTERM it releases the Lease
# (holder emptied) and exits 0. A scheduler takes kube-system/kube-scheduler the same way.
. "$(dirname "$0")/common.sh"

"$BIN" server --data-dir "$WORK/srv" --listen 127.0.0.1:0 --controllers "" --no-scheduler \
	>"$WORK/server.log" 2>&1 &
PIDS+=($!)
wait_until 30 test -s "$WORK/srv/kubeconfig" || { bad "server started"; finish; }
export KUBECONFIG=$WORK/srv/kubeconfig
wait_until 30 k get --raw /readyz || { bad "server ready"; finish; }

LE=(--leader-elect-lease-duration 6s --leader-elect-renew-deadline 4s --leader-elect-retry-period 1s)
holder() { k get lease -n kube-system "$1" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
ident() { sed -n 's/.*attempting to acquire leader lease .* as //p' "$WORK/$1.log" | head -1; }

"$BIN" controller-manager "${LE[@]}" >"$WORK/cm1.log" 2>&1 &
CM1=$!
PIDS+=("$CM1")
wait_for 15 '[ -n "$(ident cm1)" ] && [ "$(holder kube-controller-manager)" = "$(ident cm1)" ]'
check "the first controller-manager holds the Lease" [ "$(holder kube-controller-manager)" = "$(ident cm1)" ]
"$BIN" controller-manager "${LE[@]}" >"$WORK/cm2.log" 2>&1 &
CM2=$!
PIDS+=("$CM2")
wait_for 10 '[ -n "$(ident cm2)" ]'

cat >"$WORK/rs.yaml" <<'Y'
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: le
spec:
  replicas: 2
  selector: {matchLabels: {app: le}}
  template:
    metadata: {labels: {app: le}}
    spec:
      containers: [{name: c, image: busybox}]
Y
k apply -f "$WORK/rs.yaml" >/dev/null
pods() { k get pods -l app=le --no-headers 2>/dev/null | wc -l; }
wait_for 15 '[ "$(pods)" -eq 2 ]'
# the leader's controllers act; that the other does not is the Lease's check below (two
# active ReplicaSet controllers would still converge on 2 pods: tried, it cannot tell)
check "the leader's controllers act: 2 pods" [ "$(pods)" -eq 2 ]
check "the second waits (never acquired)" bash -c "! grep -q 'successfully acquired' '$WORK/cm2.log'"

kill -KILL "$CM1"
wait "$CM1" 2>/dev/null
wait_for 20 '[ "$(holder kube-controller-manager)" = "$(ident cm2)" ]'
check "the second takes the Lease after the leader died" [ "$(holder kube-controller-manager)" = "$(ident cm2)" ]
check "leaseTransitions 1" [ "$(k get lease -n kube-system kube-controller-manager -o jsonpath='{.spec.leaseTransitions}')" = 1 ]
k scale rs le --replicas 3 >/dev/null
wait_for 15 '[ "$(pods)" -eq 3 ]'
check "the new leader's controllers act: 3 pods" [ "$(pods)" -eq 3 ]

kill -TERM "$CM2"
wait "$CM2"
rc=$?
check "SIGTERM: the leader exits 0" [ "$rc" -eq 0 ]
check "and releases the Lease" [ -z "$(holder kube-controller-manager)" ]

"$BIN" scheduler "${LE[@]}" >"$WORK/sched.log" 2>&1 &
PIDS+=($!)
wait_for 15 '[ -n "$(ident sched)" ] && [ "$(holder kube-scheduler)" = "$(ident sched)" ]'
check "the scheduler holds kube-system/kube-scheduler" [ "$(holder kube-scheduler)" = "$(ident sched)" ]
finish
