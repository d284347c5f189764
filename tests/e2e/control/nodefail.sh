#!/usr/bin/env bash
# nodefail.sh: seed 003's "forgiveness" through the whole loop. Three simulated nodes, each a
# `drover sim --name` process of its own; a Deployment's pods spread over them, and a pod that
# tolerates node.kubernetes.io/unreachable for an hour placed on the node that will fail.
# That node's sim is killed (SIGKILL): its Lease stops, and after the node grace the node is
# Ready=Unknown and tainted unreachable:NoExecute; its pods without a long toleration are
# evicted after the default toleration (admission added it) and the ReplicaSet replaces them
# on the other nodes (the spread constraint honours taints: with the default Ignore the dead
# node, which holds no live pod, would stay a domain and the replacements Pending, as on
# Kubernetes); the tolerating pod stays bound. The sim comes back: the node is Ready,
# the taint goes, and the pod that stayed is simply Running on it.
. "$(dirname "$0")/common.sh"

cluster_start --node-grace=4 --default-toleration-seconds 3
for n in nf-a nf-b nf-c; do
	sim_start "$n" --name "$n" --lease-renew 1
	eval "SIM_${n//-/_}=$SIM_PID"
done
check "3 nodes Ready" wait_for 60 '[ "$(ready_nodes)" -eq 3 ]'

k apply -f - >/dev/null <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 6
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule,
         labelSelector: {matchLabels: {app: web}}, nodeTaintsPolicy: Honor}
      containers:
      - {name: app, image: "web:v1"}
---
apiVersion: v1
kind: Pod
metadata: {name: patient}
spec:
  nodeName: nf-a
  tolerations:
  - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 3600}
  - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 3600}
  containers:
  - {name: app, image: "app:v1"}
YAML
check "web rolled out" k rollout status deployment/web --timeout=120s
check "patient Running" wait_for 60 '[ "$(k get pod patient -o jsonpath={.status.phase})" = Running ]'
on_a=$(k get pods -l app=web -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | grep -c '^nf-a$')
check "web has pods on nf-a ($on_a)" test "$on_a" -ge 1

kill -KILL "$SIM_nf_a"
check "nf-a goes Unknown" wait_until 60 sh -c \
	"test \"\$('$K' get node nf-a -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = Unknown"
check "nf-a tainted unreachable:NoExecute" wait_until 30 sh -c \
	"'$K' get node nf-a -o jsonpath='{range .spec.taints[*]}{.key}:{.effect}{\"\\n\"}{end}' | grep -qx node.kubernetes.io/unreachable:NoExecute"
# its web pods are evicted and replaced elsewhere: 6 Running, none on nf-a
running_elsewhere() {
	test "$(k get pods -l app=web -o jsonpath='{range .items[*]}{.spec.nodeName} {.status.phase} {.metadata.deletionTimestamp}{"\n"}{end}' |
		awk '$1 != "nf-a" && $2 == "Running" && $3 == ""' | wc -l)" -eq 6
}
check "web's pods replaced on nf-b and nf-c" wait_until 90 running_elsewhere ||
	k get pods -o wide
check "patient still bound to nf-a, not being deleted" sh -c \
	"test \"\$('$K' get pod patient -o jsonpath='{.spec.nodeName}/{.metadata.deletionTimestamp}')\" = nf-a/"
check "events tell the eviction" sh -c \
	"'$K' get events --field-selector reason=TaintManagerEviction -o name | grep -q ."

sim_start nf-a-again --name nf-a --lease-renew 1
check "nf-a Ready again" wait_until 60 sh -c \
	"test \"\$('$K' get node nf-a -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True"
check "unreachable taint gone" wait_until 30 sh -c \
	"! '$K' get node nf-a -o jsonpath='{range .spec.taints[*]}{.key}{\"\\n\"}{end}' | grep -q unreachable"
check "patient Running on nf-a" wait_until 30 sh -c \
	"test \"\$('$K' get pod patient -o jsonpath='{.spec.nodeName}/{.status.phase}')\" = nf-a/Running"
finish
