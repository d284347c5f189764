#!/usr/bin/env bash
# preempt.sh: kube-scheduler's DefaultPreemption through the whole loop with the real kubectl:
# two PriorityClasses, 2 simulated nodes of 2 cpus filled by a Deployment of 4 low priority
# pods; a high priority pod preempts one of them (its victim gets DisruptionTarget and is
# deleted, a Preempted Event says by whom), is nominated to the node and Running there once
# the victim is gone; the Deployment's replacement stays Pending with kube's message (equal
# priorities: no victims).
. "$(dirname "$0")/common.sh"

cluster_start
sim_start nodes --nodes 2 --cpu 2 --name-prefix pe- --max-grace 1
check "2 nodes Ready" wait_for 60 '[ "$(ready_nodes)" -eq 2 ]'

k apply -f - >/dev/null <<'YAML'
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: low}
value: 100
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: filler}
spec:
  replicas: 4
  selector: {matchLabels: {app: filler}}
  template:
    metadata: {labels: {app: filler}}
    spec:
      priorityClassName: low
      containers:
      - {name: app, image: "app:v1", resources: {requests: {cpu: "1"}}}
YAML
check "4 low pods Running" wait_for 60 '[ "$(pods_phase default app=filler Running)" -eq 4 ]'
before=$(k get pods -l app=filler -o name | sort)

k apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: vip}
spec:
  priorityClassName: high
  containers:
  - {name: app, image: "app:v1", resources: {requests: {cpu: "1"}}}
YAML
check "vip has priority 1000" test "$(k get pod vip -o jsonpath='{.spec.priority}')" = 1000
check "vip Running" wait_for 60 '[ "$(k get pod vip -o jsonpath={.status.phase})" = Running ]'
uid=$(k get pod vip -o jsonpath='{.metadata.uid}')
node=$(k get pod vip -o jsonpath='{.spec.nodeName}')
check "vip nominated to its node ($node)" \
	test "$(k get pod vip -o jsonpath='{.status.nominatedNodeName}')" = "$node"
gone=$(comm -23 <(echo "$before") <(k get pods -l app=filler -o name | sort) | wc -l)
check "one low pod gone" test "$gone" -eq 1
events=$(k get events --field-selector reason=Preempted -o jsonpath='{.items[*].message}')
check "Preempted event ($events)" test "$events" = "Preempted by pod $uid on node $node"
check "the replacement Pending" wait_for 30 '[ "$(pods_phase default app=filler Pending)" -eq 1 ]'
want="0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.."
pending=$(k get pods -l app=filler --field-selector=status.phase=Pending -o name | head -1)
check "its PodScheduled message" wait_for 30 \
	'[ "$(k get "$pending" -o jsonpath="{.status.conditions[?(@.type==\"PodScheduled\")].message}")" = "$want" ]'
check "3 low pods Running" test "$(pods_phase default app=filler Running)" -eq 3
finish
