#!/usr/bin/env bash
# kubectl_compat.sh VERSION: the real kubectl (1.32 through the gcloud dispatcher, 1.31 or
# 1.33 by calling that binary) drives `drover server` over TLS on a free port of 127.0.0.1:
# discovery, apply (client- and server-side), gets in every output format, watch, describe,
# label/annotate/scale/edit/patch, create subcommands, wait, explain, delete, manifests from
# the Kubernetes documentation, and the error paths. Every process it starts is stopped by
# PID and its temporary directory removed, also when a check fails.
set -uo pipefail

V=${1:-1.32}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${DROVER_SOURCE_DIR:-$HERE/../../..}
BIN=${DROVER_BIN:-$SRC/build/userspace/cli}/drover

# shellcheck source=../../../scripts/lib/apiserver.sh
source "$SRC/scripts/lib/apiserver.sh"
K=$(kubectl_of "$V") || exit 1
e2e_begin "kubectl-$V"
# no workload controllers and no scheduler: this suite checks what the API does with what
# kubectl sends (a status written by hand stays), not what controllers make of it
# (tests/e2e/control does); namespaces still finalize and default ServiceAccounts appear
e2e_server_start "$BIN" --controllers namespace,serviceaccount,garbagecollector --no-scheduler

# ---- version and discovery ----
ok version k version
has "Server Version: v1.32"
ok api-resources k api-resources
has "deployments" && has "deploy" && has "apps/v1"
has "horizontalpodautoscalers"
ok api-resources-wide k api-resources -o wide
has "create,delete,deletecollection,get,list,patch,update,watch"

# ---- apply: a multi-document file, client-side ----
cat >"$WORK/app.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
        env:
        - {name: A, value: "1"}
        - {name: B, value: "2"}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - name: http
    port: 80
    targetPort: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  key: value
EOF
ok apply-create k apply -f "$WORK/app.yaml"
has "deployment.apps/web created"
has "service/web created"
has "configmap/web-config created"
ok apply-unchanged k apply -f "$WORK/app.yaml"
has "deployment.apps/web unchanged"
has "configmap/web-config unchanged"
sed -e 's/replicas: 2/replicas: 3/' -e 's/- {name: A, value: "1"}/- {name: C, value: "3"}/' \
	-e 's/key: value/key: value2/' "$WORK/app.yaml" >"$WORK/app2.yaml"
ok apply-edit k apply -f "$WORK/app2.yaml"
has "deployment.apps/web configured"
has "service/web unchanged"
ok apply-edit-result k get deploy web -o jsonpath='{.spec.replicas} {.spec.template.spec.containers[0].env[*].name}'
has "3 C B"
ok apply-annotation k get deploy web -o jsonpath='{.metadata.annotations}'
has "kubectl.kubernetes.io/last-applied-configuration"

# ---- apply --server-side ----
ok ns-ssa k create namespace ssa
ok ssa-create k -n ssa apply --server-side -f "$WORK/app.yaml"
has "deployment.apps/web serverside-applied"
ok ssa-reapply k -n ssa apply --server-side -f "$WORK/app2.yaml"
ok ssa-result k -n ssa get deploy web -o jsonpath='{.spec.replicas} {.spec.template.spec.containers[0].env[*].name}'
has "3 C B"
ok ssa-scale k -n ssa scale deploy web --replicas=5
bad ssa-conflict k -n ssa apply --server-side -f "$WORK/app2.yaml"
has "Apply failed with 1 conflict: conflict with"
has ".spec.replicas"
ok ssa-force k -n ssa apply --server-side --force-conflicts -f "$WORK/app2.yaml"
ok ssa-forced k -n ssa get deploy web -o jsonpath='{.spec.replicas}'
has "3"
ok ssa-managed k -n ssa get deploy web -o yaml --show-managed-fields
has "operation: Apply"
has "manager: kubectl"

# ---- gets in every format ----
ok get-table k get deploy,svc,cm
has "deployment.apps/web"
has "READY" && has "UP-TO-DATE" && has "AVAILABLE"
has "CLUSTER-IP"
ok get-wide k get deploy -o wide
has "CONTAINERS" && has "nginx:1.25" && has "app=web"
ok get-svc-wide k get svc web -o wide
has "80/TCP" && has "SELECTOR"
ok get-yaml k get deploy web -o yaml
has "kind: Deployment" && has "revisionHistoryLimit: 10" && has "maxSurge: 25%"
ok get-json k get cm web-config -o json
has '"key": "value2"'
ok get-name k get deploy,cm -o name
has "deployment.apps/web" && has "configmap/web-config"
ok get-jsonpath k get svc web -o jsonpath='{.spec.clusterIP}'
grep -qE '^10\.96\.' "$OUT" || fail "no ClusterIP in 10.96/16"
ok get-all-namespaces k get deploy -A
has "NAMESPACE" && has "ssa"
ok get-show-labels k get deploy web --show-labels
has "app=web"
ok get-label-selector k get deploy -A -l 'app in (web),app!=db'
has "web"
ok get-field-selector k get ns --field-selector metadata.name=ssa
has "ssa"
lacks "default"
ok get-namespaces k get ns
has "kube-system" && has "Active"
ok get-sa k get sa
has "default"
ok get-custom-columns k get deploy -o custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas
has "web" && has "3"
bad get-missing k get deploy nope
has 'deployments.apps "nope" not found'

# ---- watch ----
"$K" get cm -w >"$WORK/watch.out" 2>&1 &
WPID=$!
PIDS+=("$WPID")
# the initial listing first (web-config is there): what comes after it came by the watch
for _ in $(seq 100); do grep -q web-config "$WORK/watch.out" && break; sleep 0.1; done
ok create-configmap k create configmap watched --from-literal=a=b
for _ in $(seq 50); do grep -q watched "$WORK/watch.out" && break; sleep 0.1; done
kill "$WPID" 2>/dev/null
run watch-saw-change cat "$WORK/watch.out"
has "watched"

# ---- label, annotate, scale, edit, patch ----
ok label k label deploy web tier=frontend
has "deployment.apps/web labeled"
ok annotate k annotate deploy web owner=team-a
has "deployment.apps/web annotated"
ok scale k scale deploy web --replicas=4
has "deployment.apps/web scaled"
ok scale-result k get deploy web -o jsonpath='{.spec.replicas}{.metadata.labels.tier}{.metadata.annotations.owner}'
has "4frontendteam-a"
ok edit env EDITOR="sed -i -e s/replicas:\ 4/replicas:\ 6/" "$K" edit deploy web
has "deployment.apps/web edited"
ok edit-result k get deploy web -o jsonpath='{.spec.replicas}'
has "6"
ok patch-strategic k patch deploy web -p '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.26"}]}}}}'
has "deployment.apps/web patched"
ok patch-merge k patch deploy web --type=merge -p '{"metadata":{"labels":{"merged":"yes"}}}'
ok patch-json k patch deploy web --type=json -p '[{"op":"replace","path":"/spec/replicas","value":2}]'
ok patch-result k get deploy web -o jsonpath='{.spec.template.spec.containers[0].image} {.metadata.labels.merged} {.spec.replicas}'
has "nginx:1.26 yes 2"
bad patch-json-bad k patch deploy web --type=json -p '[{"op":"remove","path":"/spec/nope"}]'

# ---- status subresource and wait ----
ok status-patch k patch deploy web --subresource=status --type=merge -p '{"status":{"readyReplicas":2,"replicas":2,"availableReplicas":2,"updatedReplicas":2,"observedGeneration":99}}'
ok wait-jsonpath k wait deploy/web --for=jsonpath='{.status.readyReplicas}'=2 --timeout=20s
has "condition met"
ok get-ready k get deploy web
has "2/2"
ok status-not-via-main k patch deploy web --type=merge -p '{"status":{"readyReplicas":0}}'
ok status-kept k get deploy web -o jsonpath='{.status.readyReplicas}'
has "2"

# ---- create subcommands ----
ok create-deployment k create deployment d1 --image=busybox --replicas=2 --port=8080
ok create-secret-generic k create secret generic s1 --from-literal=user=admin --from-literal=pw=x
ok create-secret-tls k create secret tls t1 --cert="$WORK/data/pki/server.crt" --key="$WORK/data/pki/server.key"
ok create-secret-docker k create secret docker-registry r1 --docker-server=r.example --docker-username=u --docker-password=p
ok create-svc-clusterip k create service clusterip c1 --tcp=80:8080
ok create-svc-nodeport k create service nodeport n1 --tcp=80:8080
ok create-svc-lb k create service loadbalancer l1 --tcp=80
ok create-svc-externalname k create service externalname e1 --external-name=example.com
ok create-sa k create serviceaccount sa1
ok create-ns k create namespace ns2
ok create-job k create job j1 --image=busybox -- echo hi
ok create-cronjob k create cronjob cj1 --image=busybox --schedule='*/5 * * * *'
ok create-ingress k create ingress i1 --rule='foo.example/bar=c1:80'
ok create-pdb k create poddisruptionbudget p1 --selector=app=x --min-available=1
ok create-role k create role r1 --verb=get --resource=pods
ok create-rolebinding k create rolebinding rb1 --role=r1 --user=bob
ok create-clusterrole k create clusterrole cr1 --verb=get --resource=nodes
ok create-clusterrolebinding k create clusterrolebinding crb1 --clusterrole=cr1 --group=g
ok create-quota k create quota q1 --hard=pods=10
ok create-result k get secret s1 -o jsonpath='{.type} {.data.user}'
has "Opaque YWRtaW4="
ok autoscale k autoscale deployment d1 --min=2 --max=5 --cpu-percent=60
has "horizontalpodautoscaler.autoscaling/d1 autoscaled"
ok get-hpa k get hpa d1
has "cpu: <unknown>/60%"
ok get-hpa-v1 k get horizontalpodautoscalers.v1.autoscaling d1 -o jsonpath='{.apiVersion} {.spec.targetCPUUtilizationPercentage}'
has "autoscaling/v1 60"
ok get-all k get all
has "deployment.apps/d1" && has "service/c1" && has "job.batch/j1" && has "cronjob.batch/cj1"
ok get-nodeport k get svc n1
grep -qE '80:3[0-9]{4}/TCP' "$OUT" || fail "no NodePort"
ok get-externalname k get svc e1
has "example.com"

# ---- pods, describe with events, logs/exec ----
ok run-pod k run p1 --image=busybox -- sleep 3600
ok get-pod-wide k get pod p1 -o wide
has "Pending" && has "0/1" && has "<none>"
UID_P1=$("$K" get pod p1 -o jsonpath='{.metadata.uid}')
cat >"$WORK/event.yaml" <<EOF
apiVersion: v1
kind: Event
metadata:
  name: p1.hello
  namespace: default
involvedObject:
  apiVersion: v1
  kind: Pod
  name: p1
  namespace: default
  uid: $UID_P1
reason: Testing
message: an event for describe
type: Normal
count: 1
firstTimestamp: "2024-01-01T00:00:00Z"
lastTimestamp: "2024-01-01T00:00:00Z"
source:
  component: e2e
EOF
ok create-event k create -f "$WORK/event.yaml"
ok describe-pod k describe pod p1
grep -qE "^Status: +Pending" "$OUT" || fail "describe: no Status Pending"
has "an event for describe"
ok get-events k get events
has "Testing" && has "pod/p1"
ok bind-pod k create -f - <<'EOF'
apiVersion: v1
kind: Binding
metadata:
  name: p1
target:
  apiVersion: v1
  kind: Node
  name: node-1
EOF
ok get-bound k get pod p1 -o jsonpath='{.spec.nodeName}'
has "node-1"
bad logs k logs p1
has 'nodes "node-1" not found'
bad exec k exec p1 -- ls

# ---- manifests from the Kubernetes documentation ----
for m in nginx-deployment redis-leader job configmap-multikeys service-nodeport; do
	ok "docs-$m" k apply -f "$HERE/manifests/$m.yaml"
	has "created"
done
ok docs-nodeport k get svc my-service -o jsonpath='{.spec.ports[0].nodePort}'
has "30007"
bad docs-nodeport-taken k create service nodeport taken --tcp=80 --node-port=30007
has "provided port is already allocated"

# ---- PriorityClass and LimitRange: the Priority and LimitRanger admission plugins ----
ok ns-limits k create namespace limits
ok pc-lr-create k apply -f - <<'EOF'
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: high-priority
value: 1000000
globalDefault: false
description: "This priority class should be used for XYZ service pods only."
---
apiVersion: v1
kind: LimitRange
metadata:
  name: cpu-resource-constraint
  namespace: limits
spec:
  limits:
  - default:
      cpu: 500m
    defaultRequest:
      cpu: 200m
    max:
      cpu: "1"
    min:
      cpu: 100m
    type: Container
EOF
has "priorityclass.scheduling.k8s.io/high-priority created"
has "limitrange/cpu-resource-constraint created"
ok get-pc k get pc
has "system-node-critical" && has "2000001000" && has "GLOBAL-DEFAULT" && has "PreemptLowerPriority"
matches '^high-priority +1000000 +false '
ok get-limits k -n limits get limits
has "cpu-resource-constraint"
ok pod-admitted k -n limits create -f - <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: prio
spec:
  priorityClassName: high-priority
  containers:
  - name: web
    image: nginx
EOF
ok pod-admitted-result k -n limits get pod prio -o jsonpath='{.spec.priority} {.spec.preemptionPolicy} {.spec.containers[0].resources.requests.cpu} {.spec.containers[0].resources.limits.cpu}'
has "1000000 PreemptLowerPriority 200m 500m"
bad pod-below-min k -n limits run small --image=nginx --overrides='{"spec":{"containers":[{"name":"small","image":"nginx","resources":{"requests":{"cpu":"50m"}}}]}}'
has 'pods "small" is forbidden: minimum cpu usage per Container is 100m, but request is 50m'
bad pod-unknown-class k -n limits run nope --image=nginx --overrides='{"spec":{"priorityClassName":"gold"}}'
has 'pods "nope" is forbidden: no PriorityClass with name gold was found'
bad pc-system-delete k delete pc system-node-critical
has 'priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: this is a system priority class and cannot be deleted'

# ---- explain ----
ok explain k explain deployment.spec.strategy
has "rollingUpdate" && has "RollingUpdate"

# ---- errors ----
cat >"$WORK/bad.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: bad
spec:
  selector:
    matchLabels: {app: a}
  template:
    metadata:
      labels: {app: b}
    spec:
      containers:
      - name: c
        image: nginx
EOF
bad invalid k apply -f "$WORK/bad.yaml"
has 'The Deployment "bad" is invalid'
has '`selector` does not match template `labels`'
# validation beyond the schema, as pkg/apis/<group>/validation words it (test_api_validation2
# has every rule): validateJobSpec, ValidateVolumeMounts, ValidateIPBlock, ValidateRoleBinding,
# validateHorizontalPodAutoscalerSpec, validateIngressRules
bad job-always k create -f - <<'EOF'
apiVersion: batch/v1
kind: Job
metadata:
  name: always
spec:
  template:
    spec:
      containers:
      - name: c
        image: busybox
EOF
has 'The Job "always" is invalid: spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"'
bad mount-undeclared k create -f - <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: nomount
spec:
  containers:
  - name: c
    image: nginx
    volumeMounts:
    - name: data
      mountPath: /data
EOF
has 'The Pod "nomount" is invalid: spec.containers[0].volumeMounts[0].name: Not found: "data"'
bad netpol-cidr k create -f - <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: cidr
spec:
  podSelector: {}
  ingress:
  - from:
    - ipBlock:
        cidr: 10.0.0.0/33
EOF
has 'The NetworkPolicy "cidr" is invalid: spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'
bad rolebinding-kinds k create -f - <<'EOF'
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: kinds
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Foo
  name: view
subjects:
- kind: Bar
  name: someone
EOF
has 'The RoleBinding "kinds" is invalid: '
has '* roleRef.kind: Unsupported value: "Foo": supported values: "Role", "ClusterRole"'
has '* subjects[0].kind: Unsupported value: "Bar": supported values: "ServiceAccount", "User", "Group"'
bad hpa-bounds k create -f - <<'EOF'
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: bounds
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 5
  maxReplicas: 2
EOF
has 'The HorizontalPodAutoscaler "bounds" is invalid: spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`'
bad ingress-rules k create -f - <<'EOF'
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: rules
spec:
  rules:
  - host: Bad_Host
    http:
      paths:
      - path: nope
        pathType: Prefix
        backend:
          service: {name: web, port: {number: 80}}
EOF
has '* spec.rules[0].host: Invalid value: "Bad_Host": a lowercase RFC 1123 subdomain'
has '* spec.rules[0].http.paths[0].path: Invalid value: "nope": must be an absolute path'
bad unknown-field k create -f - <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: typo
datta:
  a: b
EOF
has 'unknown field "datta"'
# an immutable ConfigMap's data stays (ValidateConfigMapUpdate), and kubectl prints why
cat >"$WORK/imm.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: imm
immutable: true
data:
  key: one
EOF
ok imm-create k apply -f "$WORK/imm.yaml"
sed 's/key: one/key: two/' "$WORK/imm.yaml" >"$WORK/imm2.yaml"
bad imm-change k apply -f "$WORK/imm2.yaml"
has 'The ConfigMap "imm" is invalid: data: Forbidden: field is immutable when `immutable` is set'
# a Secret's stringData lands in data, base64 (Convert_v1_Secret_To_core_Secret)
cat >"$WORK/sd.yaml" <<'EOF'
apiVersion: v1
kind: Secret
metadata:
  name: sd
stringData:
  user: admin
EOF
ok sd-create k apply -f "$WORK/sd.yaml"
ok sd-data k get secret sd -o jsonpath='{.data.user}|{.stringData}'
has "YWRtaW4=|" && lacks "admin"
bad already-exists k create configmap web-config
has 'configmaps "web-config" already exists'
# two updates from the same read: the second gets 409 Conflict
"$K" get cm web-config -o yaml >"$WORK/cm.yaml"
sed 's/value2/v-first/' "$WORK/cm.yaml" >"$WORK/cm1.yaml"
sed 's/value2/v-second/' "$WORK/cm.yaml" >"$WORK/cm2.yaml"
ok replace-first k replace -f "$WORK/cm1.yaml"
bad replace-second k replace -f "$WORK/cm2.yaml"
has 'Operation cannot be fulfilled on configmaps "web-config": the object has been modified; please apply your changes to the latest version and try again'

# ---- delete ----
ok delete-f k delete -f "$WORK/app.yaml"
has 'deployment.apps "web" deleted'
ok delete-wait k delete deploy d1 --wait=true
"$K" delete deploy nginx-deployment --wait=false >/dev/null 2>&1
ok wait-for-delete k wait --for=delete deploy/nginx-deployment --timeout=10s
ok delete-ns k delete namespace ssa
bad ns-gone k get ns ssa
has 'namespaces "ssa" not found'
bad get-deleted k get deploy web
has "NotFound"

# the server stops cleanly (exit 0 on SIGTERM); a sanitizer build of it (DROVER_BIN) reports
# what it found in its log
kill "${PIDS[0]}" 2>/dev/null
wait "${PIDS[0]}" 2>/dev/null
SRV_RC=$?
if [ $SRV_RC -ne 0 ]; then
	FAILS=$((FAILS + 1))
	echo "FAIL [$V] the server exited with $SRV_RC on SIGTERM" >&2
fi
if grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$WORK/server.log"; then
	FAILS=$((FAILS + 1))
	echo "FAIL [$V] the server's sanitizers reported errors:" >&2
	grep -A30 -E "AddressSanitizer|LeakSanitizer|runtime error:" "$WORK/server.log" | head -80 >&2
fi
e2e_end
