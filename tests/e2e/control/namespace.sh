#!/usr/bin/env bash
# namespace.sh: deleting a namespace empties it through the whole loop: a namespace with a
# Deployment (its ReplicaSet and pods on simulated nodes), a Service, ConfigMaps and a
# Secret; `kubectl delete namespace` returns, then everything in it and the namespace itself
# are gone.
. "$(dirname "$0")/common.sh"

cluster_start
sim_start nodes --nodes 2 --name-prefix ns-
check "2 nodes Ready" wait_for 60 '[ "$(ready_nodes)" -eq 2 ]'
k create namespace team >/dev/null
k apply -n team -f - >/dev/null <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 3 # the sim honours it: the namespace waits for it
      containers:
      - {name: app, image: "web:v1"}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: token}
stringData: {t: "x"}
YAML
check "web rolled out" k -n team rollout status deployment/web --timeout=120s
check "delete namespace" k delete namespace team --wait=false
check "namespace gone" wait_until 120 sh -c "! '$K' get namespace team >/dev/null 2>&1"
for kind in pods replicasets deployments services configmaps secrets serviceaccounts endpointslices; do
	n=$(k get "$kind" -n team --no-headers 2>/dev/null | wc -l)
	check "no $kind left ($n)" test "$n" -eq 0
done
finish
