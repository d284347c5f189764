#!/usr/bin/env bash
# kubectl_openapi.sh: what the real kubectl 1.32 does with drover's OpenAPI documents.
# - kubectl explain reads /openapi/v3 (explain.go: v2 only with --output plaintext-openapiv2,
#   or when the server has no v3; KUBECTL_EXPLAIN_OPENAPIV3 is gone since 1.27+): each
#   field's documentation, -required- marks, IntOrString as <IntOrString> (its v3 schema is
#   kube's oneOf without a type; templates/plaintext.tmpl typeGuess). Forced to v2 it reads
#   gnostic's protobuf of /openapi/v2 and prints a primitive's type (explain/typename.go
#   VisitPrimitive): IntOrString is <string> there, as against kube-apiserver.
# - kubectl apply of a kind the server does not serve: the fieldValidation check
#   (cli-runtime resource/query_param_verifier_v3.go, then the v2 one) finds no path for it,
#   client-side validation with the v2 document skips an unknown kind, and the REST mapping
#   fails with kubectl's "no matches for kind" (before /openapi/v2 was served: "failed to
#   download openapi").
# - kubectl apply of a v1 List: kubectl never asks the server to validate a List
#   (HasSupport: v1 List is unsupported), so it validates each item on the client with the
#   v2 document (kubectl/pkg/util/openapi/validation): the List applies, and an unknown field
#   gets kubectl's own ValidationError (before: "the server could not find the requested
#   resource" for every List).
# Every process it starts is stopped by PID and its temporary directory removed.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${DROVER_SOURCE_DIR:-$HERE/../../..}
BIN=${DROVER_BIN:-$SRC/build/userspace/cli}/drover
K=$(command -v kubectl)
[ -x "$K" ] || { echo "no kubectl" >&2; exit 1; }

# shellcheck source=../../../scripts/lib/apiserver.sh
source "$SRC/scripts/lib/apiserver.sh"
e2e_begin "kubectl-openapi"
e2e_server_start "$BIN" --controllers namespace,serviceaccount --no-scheduler

# ---- explain, OpenAPI v3 ----
ok explain-v3 k explain pod.spec.containers
has "FIELD: containers <[]Container>"
has "List of containers belonging to the pod."
has "A single application container that you want to run within a pod."
matches "^  name	<string> -required-$"
has "Name of the container specified as a DNS_LABEL."
matches "^  image	<string>$"
matches "^  resources	<ResourceRequirements>$"
lacks "<no description>"
ok explain-v3-intorstring k explain deployment.spec.strategy.rollingUpdate
matches "^  maxSurge	<IntOrString>$"
has "The maximum number of pods that can be scheduled above the desired number"
ok explain-v3-kind k explain deployments
has "KIND:       Deployment"
has "Deployment enables declarative updates for Pods and ReplicaSets."
matches "^  spec	<DeploymentSpec>$"

# ---- explain, forced to the v2 document (protobuf) ----
ok explain-v2 k explain pod.spec.containers --output plaintext-openapiv2
has "RESOURCE: containers <[]Object>"
matches "^   name	<string> -required-$"
has "Name of the container specified as a DNS_LABEL."
has "A single application container that you want to run within a pod."
ok explain-v2-intorstring k explain deployment.spec.strategy.rollingUpdate --output plaintext-openapiv2
matches "^   maxSurge	<string>$"
has "The maximum number of pods that can be scheduled above the desired number"

# ---- apply of a kind that is not served ----
cat >"$WORK/widget.yaml" <<'EOF'
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
EOF
bad apply-unserved k apply -f "$WORK/widget.yaml"
has 'no matches for kind "Widget" in version "example.com/v1"'
lacks "failed to download openapi"
cat >"$WORK/cronjob.yaml" <<'EOF'
apiVersion: batch/v2
kind: CronJob
metadata:
  name: c
EOF
bad apply-unserved-version k apply -f "$WORK/cronjob.yaml"
has 'no matches for kind "CronJob" in version "batch/v2"'
lacks "failed to download openapi"

# ---- apply of a List: client-side validation with the v2 document ----
cat >"$WORK/list.yaml" <<'EOF'
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web}
  spec:
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec:
        containers:
        - name: web
          image: nginx
          ports: [{containerPort: 80}]
          resources: {limits: {cpu: 500m, memory: 1Gi}}
- apiVersion: v1
  kind: Service
  metadata: {name: web}
  spec:
    selector: {app: web}
    ports: [{port: 80, targetPort: 80}]
EOF
ok apply-list k apply -f "$WORK/list.yaml"
has "deployment.apps/web created"
has "service/web created"
sed 's/          image: nginx/          image: nginx\n          imagee: x/' "$WORK/list.yaml" >"$WORK/list-bad.yaml"
bad apply-list-unknown-field k apply -f "$WORK/list-bad.yaml"
has 'ValidationError(Deployment.spec.template.spec.containers[0]): unknown field "imagee" in io.k8s.api.core.v1.Container'

e2e_end
