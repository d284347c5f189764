#!/usr/bin/env bash
# antiaffinity.sh: seed 003's hard anti-affinity through the whole loop: a Deployment of 6
# whose pods repel each other on kubernetes.io/hostname, over 5 simulated nodes, leaves
# exactly 5 Running (one per node) and 1 Pending, and the Pending one says why as
# kube-scheduler words it, in its PodScheduled condition and a FailedScheduling Event.
. "$(dirname "$0")/common.sh"

cluster_start
sim_start nodes --nodes 5 --name-prefix aa-
check "5 nodes Ready" wait_for 60 '[ "$(ready_nodes)" -eq 5 ]'

k apply -f - >/dev/null <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: spread}
spec:
  replicas: 6
  selector: {matchLabels: {app: spread}}
  template:
    metadata: {labels: {app: spread}}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: spread}}
            topologyKey: kubernetes.io/hostname
      containers:
      - {name: app, image: "app:v1"}
YAML
check "5 pods Running" wait_for 60 '[ "$(pods_phase default app=spread Running)" -eq 5 ]'
check "1 pod Pending" wait_for 30 '[ "$(pods_phase default app=spread Pending)" -eq 1 ]'
nodes=$(k get pods -l app=spread -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' |
	grep -v '^$' | sort | uniq -d | wc -l)
check "no two on one node" test "$nodes" -eq 0
want="0/5 nodes are available: 5 node(s) didn't match pod anti-affinity rules. preemption: 0/5 nodes are available: 5 No preemption victims found for incoming pod.."
pending=$(k get pods -l app=spread --field-selector=status.phase=Pending -o name | head -1)
msg=$(k get "$pending" -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}')
check "PodScheduled message ($msg)" test "$msg" = "$want"
reason=$(k get "$pending" -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].reason}')
check "PodScheduled reason Unschedulable" test "$reason" = Unschedulable
check "FailedScheduling event" wait_until 30 sh -c \
	"'$K' get events --field-selector reason=FailedScheduling -o jsonpath='{.items[*].message}' | grep -qF \"$want\""
# a sixth node: the Pending pod goes there
sim_start more --name aa-extra
check "the pending pod is placed on a new node" wait_for 60 \
	'[ "$(pods_phase default app=spread Running)" -eq 6 ]'
finish
