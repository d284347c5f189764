#!/usr/bin/env bash
# kubectl_admin.sh: the real kubectl 1.32 against `drover server` over the API server's own
# configuration kinds: the local APIServices and the API Priority and Fairness objects a new
# server holds (as kube-apiserver 1.32 lists them), a webhook configuration created and one
# refused with Kubernetes' message, and an Event written through core/v1 read through
# events.k8s.io/v1 and back. Every process it starts is stopped by PID and its temporary
# directory removed, also when a check fails.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${DROVER_SOURCE_DIR:-$HERE/../../..}
BIN=${DROVER_BIN:-$SRC/build/userspace/cli}/drover
K=$(command -v kubectl)
V=admin

# shellcheck source=../../../scripts/lib/apiserver.sh
source "$SRC/scripts/lib/apiserver.sh"
e2e_begin "kubectl-admin"
e2e_server_start "$BIN" --controllers namespace --no-scheduler

# ---- discovery ----
ok api-versions k api-versions
has "apiregistration.k8s.io/v1" && has "admissionregistration.k8s.io/v1"
has "flowcontrol.apiserver.k8s.io/v1" && has "events.k8s.io/v1"
ok api-resources-ext k api-resources --api-group=admissionregistration.k8s.io
has "validatingwebhookconfigurations" && has "validatingadmissionpolicies"
ok api-extensions k get api-extensions
has "apiservice.apiregistration.k8s.io/v1.apps"

# ---- the local APIServices (kube-aggregator's Table: NAME SERVICE AVAILABLE AGE) ----
ok apiservices k get apiservices
matches '^v1\.apps +Local +True '
matches '^v1\. +Local +True '
matches '^v1\.events\.k8s\.io +Local +True '
ok apiservice-yaml k get apiservice v1.flowcontrol.apiserver.k8s.io -o jsonpath='{.spec.groupPriorityMinimum}/{.spec.versionPriority}'
has "16100/21"

# ---- APF bootstrap configuration ----
ok flowschemas k get flowschemas
matches '^exempt +exempt +1 +<none> +[0-9a-z]+ +False$'
awk 'NR==2' "$OUT" | grep -q '^exempt ' || fail "flowschemas: the first row is not exempt (printFlowSchemaList sorts by precedence)"
matches '^catch-all +catch-all +10000 +ByUser +[0-9a-z]+ +False$'
matches '^kube-system-service-accounts +workload-high +900 +ByNamespace '
ok plcs k get prioritylevelconfigurations
matches '^workload-low +Limited +100 +128 +6 +50 '
matches '^exempt +Exempt +<none> +<none> +<none> +<none> '

# ---- a webhook configuration, and one Kubernetes refuses ----
cat >"$WORK/vwc.yaml" <<'YAML'
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: policy}
webhooks:
- name: policy.example.com
  clientConfig: {service: {namespace: default, name: policy}}
  rules: [{operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [pods]}]
  sideEffects: None
  admissionReviewVersions: [v1]
YAML
ok vwc-create k apply -f "$WORK/vwc.yaml"
ok vwc-get k get validatingwebhookconfigurations
matches '^policy +1 +'
sed -i 's/policy.example.com/policy/' "$WORK/vwc.yaml"
bad vwc-invalid k apply -f "$WORK/vwc.yaml"
has 'webhooks[0].name: Invalid value: "policy": should be a domain with at least three segments separated by dots'

# ---- events: one storage, two versions ----
cat >"$WORK/ev.yaml" <<'YAML'
apiVersion: v1
kind: Event
metadata: {name: hello.1, namespace: default}
involvedObject: {kind: Pod, name: hello, namespace: default}
reason: Started
message: started the container
type: Normal
source: {component: kubelet}
count: 3
YAML
ok ev-create k apply -f "$WORK/ev.yaml"
ok ev-read-v1 k get events.events.k8s.io hello.1 -o jsonpath='{.apiVersion} {.regarding.name} {.note} {.deprecatedCount} {.deprecatedSource.component}'
has "events.k8s.io/v1 hello started the container 3 kubelet"
ok ev-table k get events.events.k8s.io
matches 'Normal +Started +pod/hello +started the container'

kill "${PIDS[0]}" 2>/dev/null
wait "${PIDS[0]}" 2>/dev/null
e2e_end
