#!/usr/bin/env bash
# kubectl_webhook.sh: admission webhooks (MutatingAdmissionWebhook, ValidatingAdmissionWebhook
# of kube-apiserver 1.32, k8s.io/apiserver/pkg/admission/plugin/webhook) called by `drover
# server` over HTTPS, driven by the real kubectl 1.32. The webhook is webhook_server.py (python3
# http.server + ssl) with a certificate for IP 127.0.0.1 from a CA made here with openssl; the
# configurations carry that CA as caBundle. Checked: a mutating webhook's JSON patch applied
# (a label added) and its warning printed by kubectl; a validating webhook's refusal with its
# message and code (403 given, 400 when the webhook gives none: errors.ToStatusErr), of a
# create and of a DELETE; namespaceSelector and objectSelector excluding objects; a rule that
# does not match never calls its webhook (calls counted); failurePolicy Fail (500 `failed
# calling webhook`) against Ignore with the webhook down; timeoutSeconds; dryRun refused for
# dryRun sent to a NoneOnDryRun webhook. Every process it starts is stopped by PID and
# its temporary directory removed, also when a check fails.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${DROVER_SOURCE_DIR:-$HERE/../../..}
BIN=${DROVER_BIN:-$SRC/build/userspace/cli}/drover
K=$(command -v kubectl)

# shellcheck source=../../../scripts/lib/apiserver.sh
source "$SRC/scripts/lib/apiserver.sh"
e2e_begin "kubectl-webhook"
e2e_server_start "$BIN" --controllers namespace --no-scheduler

# ---- the webhook server: a CA, a certificate for 127.0.0.1, python3's https server ----
C=$WORK/certs
mkdir -p "$C"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=webhook-ca \
	-keyout "$C/ca.key" -out "$C/ca.crt" >/dev/null 2>&1 || { echo "openssl CA failed" >&2; exit 1; }
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$C/srv.key" -out "$C/srv.csr" \
	>/dev/null 2>&1 || { echo "openssl CSR failed" >&2; exit 1; }
printf 'subjectAltName=IP:127.0.0.1,DNS:hook.wh.svc\n' >"$C/ext"
openssl x509 -req -in "$C/srv.csr" -CA "$C/ca.crt" -CAkey "$C/ca.key" -CAcreateserial -days 1 \
	-extfile "$C/ext" -out "$C/srv.crt" >/dev/null 2>&1 || { echo "openssl sign failed" >&2; exit 1; }
CA=$(base64 -w0 "$C/ca.crt")
CALLS=$WORK/calls
: >"$CALLS"
python3 "$HERE/webhook_server.py" "$C/srv.crt" "$C/srv.key" "$WORK/port" "$CALLS" \
	>"$WORK/webhook.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 200); do [ -s "$WORK/port" ] && break; sleep 0.05; done
[ -s "$WORK/port" ] || { cat "$WORK/webhook.log" >&2; echo "webhook server did not start" >&2; exit 1; }
P=$(cat "$WORK/port")
W=https://127.0.0.1:$P

# webhook NAME PATH FAILURE_POLICY SIDE_EFFECTS TIMEOUT OPERATIONS RESOURCE NS_LABEL [OBJ_SELECTOR_YAML] [URL]
webhook() {
	cat <<Y
- name: $1
  clientConfig:
    url: ${10:-$W$2}
    caBundle: $CA
  rules:
  - operations: [$6]
    apiGroups: [""]
    apiVersions: [v1]
    resources: [$7]
  failurePolicy: $3
  sideEffects: $4
  timeoutSeconds: $5
  admissionReviewVersions: [v1]
  namespaceSelector:
    matchLabels: {$8: "on"}
${9:-}
Y
}
M=$WORK/m
mkdir -p "$M"
{
	printf 'apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\n'
	printf 'metadata: {name: a-mutate}\nwebhooks:\n'
	webhook mutate.example.com /mutate Fail None 10 CREATE configmaps webhook \
		'  objectSelector: {matchExpressions: [{key: skip-webhook, operator: DoesNotExist}]}
  reinvocationPolicy: IfNeeded'
	printf -- '---\napiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\n'
	printf 'metadata: {name: b-mutate}\nwebhooks:\n'
	webhook second.example.com /mutate2 Fail None 10 CREATE configmaps webhook \
		'  objectSelector: {matchLabels: {reinvoke: "yes"}}'
} >"$M/mutating.yaml"
{
	printf 'apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\n'
	printf 'metadata: {name: b-validate}\nwebhooks:\n'
	webhook deny.example.com /deny Fail None 10 'CREATE, UPDATE, DELETE' configmaps webhook
	webhook count.example.com /allow Fail None 10 CREATE secrets webhook
	webhook se.example.com /dryrun Fail NoneOnDryRun 10 CREATE configmaps sidefx
	webhook slow.example.com /slow Fail None 1 CREATE configmaps slow
	webhook fail.example.com /x Fail None 10 CREATE configmaps down \
		'  objectSelector: {matchLabels: {policy: fail}}' "https://127.0.0.1:1/x"
	webhook ignore.example.com /x Ignore None 10 CREATE configmaps down \
		'  objectSelector: {matchLabels: {policy: ignore}}' "https://127.0.0.1:1/x"
	webhook slow2.example.com /slow Fail None 10 CREATE configmaps slow2
	cat <<Y
- name: hpa.example.com
  clientConfig:
    url: $W/deny
    caBundle: $CA
  rules:
  - {operations: [CREATE], apiGroups: [autoscaling], apiVersions: [v2], resources: [horizontalpodautoscalers]}
  sideEffects: None
  admissionReviewVersions: [v1]
  namespaceSelector: {matchLabels: {hpa: "on"}}
- name: hpa-exact.example.com
  clientConfig:
    url: $W/allow
    caBundle: $CA
  rules:
  - {operations: [CREATE], apiGroups: [autoscaling], apiVersions: [v1], resources: [horizontalpodautoscalers]}
  matchPolicy: Exact
  sideEffects: None
  admissionReviewVersions: [v1]
  namespaceSelector: {matchLabels: {hpa: "on"}}
- name: cel.example.com
  clientConfig:
    url: $W/allow
    caBundle: $CA
  rules:
  - {operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps]}
  sideEffects: None
  admissionReviewVersions: [v1]
  namespaceSelector: {matchLabels: {cel: "on"}}
  matchConditions: [{name: always, expression: "true"}]
- name: cel-ignore.example.com
  clientConfig:
    url: $W/allow
    caBundle: $CA
  rules:
  - {operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps]}
  failurePolicy: Ignore
  sideEffects: None
  admissionReviewVersions: [v1]
  namespaceSelector: {matchLabels: {cel2: "on"}}
  matchConditions: [{name: always, expression: "true"}]
- name: beta.example.com
  clientConfig:
    url: $W/allow
    caBundle: $CA
  rules:
  - {operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps]}
  sideEffects: None
  admissionReviewVersions: [v1beta1, v1]
  namespaceSelector: {matchLabels: {beta: "on"}}
- name: svc.example.com
  clientConfig:
    service: {namespace: wh, name: hook, path: /deny}
    caBundle: $CA
  rules:
  - {operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps]}
  sideEffects: None
  admissionReviewVersions: [v1]
  namespaceSelector: {matchLabels: {svc: "on"}}
- name: ns.example.com
  clientConfig:
    url: $W/deny
    caBundle: $CA
  rules:
  - {operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [namespaces], scope: Cluster}
  sideEffects: None
  admissionReviewVersions: [v1]
  namespaceSelector: {matchLabels: {ns-deny: "on"}}
Y
} >"$M/validating.yaml"
# the service the svc.example.com webhook names: port 443 to the webhook's port on 127.0.0.1
cat >"$M/service.yaml" <<Y
apiVersion: v1
kind: Service
metadata: {name: hook, namespace: wh}
spec:
  ports: [{name: https, port: 443, targetPort: $P}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: hook, namespace: wh}
subsets:
- addresses: [{ip: 127.0.0.1}]
  ports: [{name: https, port: $P}]
Y

ok ns-wh k create namespace wh
ok ns-wh-label k label namespace wh webhook=on
ok ns-other k create namespace other
for n in sidefx slow slow2 down svc hpa beta cel cel2; do
	ok "ns-$n" k create namespace "$n"
	ok "ns-$n-label" k label namespace "$n" "$n=on"
done
ok apply-mutating k apply -f "$M/mutating.yaml"
ok apply-validating k apply -f "$M/validating.yaml"

# ---- mutating: the patch adds a label; kubectl prints the webhook's warning ----
ok mutate k create configmap c1 -n wh --from-literal=a=b
has 'Warning: mutated by the test webhook'
ok mutated-label k get configmap c1 -n wh -o 'jsonpath={.metadata.labels.mutated-by}'
has 'webhook'

# ---- validating: a refusal with the webhook's message and code ----
bad deny-code k create configmap deny-code-1 -n wh -v=6
has 'admission webhook "deny.example.com" denied the request: deny-code-* is refused'
matches 'POST https://127\.0\.0\.1:[0-9]+/api/v1/namespaces/wh/configmaps\?fieldManager=kubectl-create&fieldValidation=Strict 403 Forbidden'
cat >"$M/deny.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: deny-code-2}
Y
bad deny-code-apply k apply -n wh -f "$M/deny.yaml"
has "Error from server (Forbidden): error when creating \"$M/deny.yaml\": admission webhook \"deny.example.com\" denied the request: deny-code-* is refused"
bad deny-400 k create configmap deny-1 -n wh -v=6
has 'admission webhook "deny.example.com" denied the request: deny-* is refused'
matches 'POST https://.*/configmaps\?.* 400 Bad Request'
# an UPDATE: the webhook sees the old object beside the new one
bad deny-update k label configmap c1 -n wh refuse=yes
has 'admission webhook "deny.example.com" denied the request: label refuse added'
ok update-allowed k label configmap c1 -n wh other=yes
CHECK=review
CHECKS=$((CHECKS + 1))
cp "$CALLS" "$OUT"
# kubectl's client certificate is the admin's: CN kubernetes-admin (the server's kubeconfig)
matches '^# c1 kind=/v1 requestKind=/v1 object=v1 review=admission.k8s.io/v1 user=[^ ]+ namespace=wh$'
lacks 'user= '
ok keep k create configmap keep-1 -n wh
bad deny-delete k delete configmap keep-1 -n wh
has 'admission webhook "deny.example.com" denied the request: keep-* stays'
ok kept k get configmap keep-1 -n wh

# ---- selectors: another namespace, and an object the objectSelector excludes ----
ok other-ns k create configmap deny-2 -n other
ok other-not-mutated k get configmap deny-2 -n other -o 'jsonpath={.metadata.labels}'
lacks 'mutated-by'
cat >"$M/skip.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: skipped, labels: {skip-webhook: "yes"}}
Y
ok object-selector k apply -n wh -f "$M/skip.yaml"
ok skipped-not-mutated k get configmap skipped -n wh -o 'jsonpath={.metadata.labels}'
lacks 'mutated-by'

# ---- a rule that does not match never calls its webhook; one that does, once ----
CHECK=count-none
CHECKS=$((CHECKS + 1))
cp "$CALLS" "$OUT"
lacks '/allow'
ok secret k create secret generic s1 -n wh --from-literal=a=b
CHECK=count-one
CHECKS=$((CHECKS + 1))
cp "$CALLS" "$OUT"
[ "$(grep -c '^/allow CREATE s1$' "$CALLS")" -eq 1 ] || fail "count.example.com not called once for s1"

# ---- dryRun: sent to a webhook whose sideEffects is NoneOnDryRun, as dryRun true and in the
# options (this one refuses it); a real create passes. sideEffects Some and Unknown, which
# callAttrMutatingHook/callHook refuse a dry run for, are v1beta1 values v1 validation
# refuses, so no stored configuration can hold them ----
bad dryrun k create configmap d1 -n sidefx --dry-run=server
has 'admission webhook "se.example.com" denied the request: dry run seen'
ok dryrun-wet k create configmap d1 -n sidefx

# ---- timeoutSeconds: 1 s against a webhook that answers after 3 ----
bad timeout k create configmap t1 -n slow
has 'Internal error occurred: failed calling webhook "slow.example.com": failed to call webhook: Post "'"$W"'/slow?timeout=1s": context deadline exceeded'

# ---- reinvocation: a later webhook's change runs the IfNeeded one again (once) ----
cat >"$M/reinvoke.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: r1, labels: {reinvoke: "yes"}}
Y
ok reinvoke k apply -n wh -f "$M/reinvoke.yaml"
CHECK=reinvoked-once
CHECKS=$((CHECKS + 1))
cp "$CALLS" "$OUT"
[ "$(grep -c '^/mutate CREATE r1$' "$CALLS")" -eq 2 ] || fail "mutate.example.com not called twice for r1"
[ "$(grep -c '^/mutate CREATE c1$' "$CALLS")" -eq 1 ] || fail "mutate.example.com not called once for c1"
ok reinvoke-labels k get configmap r1 -n wh -o 'jsonpath={.metadata.labels.second}/{.metadata.labels.mutated-by}'
has 'yes/webhook'

# ---- clientConfig.service: resolved to its Endpoints, verified as hook.wh.svc ----
bad svc-none k create configmap deny-s0 -n svc
has 'Internal error occurred: failed calling webhook "svc.example.com": failed to call webhook: Post "https://hook.wh.svc:443/deny?timeout=10s": service "hook" not found'
ok service k apply -f "$M/service.yaml"
bad svc-deny k create configmap deny-s1 -n svc
has 'admission webhook "svc.example.com" denied the request: deny-* is refused'
ok svc-allow k create configmap s1 -n svc

# ---- a Namespace is matched by its own labels ----
cat >"$M/ns.yaml" <<'Y'
apiVersion: v1
kind: Namespace
metadata: {name: deny-ns, labels: {ns-deny: "on"}}
Y
bad ns-own-labels k apply -f "$M/ns.yaml"
has 'admission webhook "ns.example.com" denied the request: deny-* is refused'
# a Namespace's create names no namespace (POST /api/v1/namespaces)
CHECK=ns-create-namespace
CHECKS=$((CHECKS + 1))
cp "$CALLS" "$OUT"
matches '^# deny-ns kind=/v1 requestKind=/v1 object=v1 .* namespace=$'
ok ns-unlabelled k create namespace deny-ns

# ---- matchPolicy: Equivalent (the default) calls a v2 rule's webhook for an autoscaling/v1
# request with the object in v2 (requestKind v1); an Exact v1 rule's webhook gets a v1
# request in v1 and is not called for a v2 one ----
cat >"$M/hpa.yaml" <<'Y'
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: deny-h1}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 3
Y
sed 's/deny-h1/h2/' "$M/hpa.yaml" >"$M/hpa2.yaml"
bad equivalent k apply -n hpa -f "$M/hpa.yaml"
has 'admission webhook "hpa.example.com" denied the request: deny-* is refused'
ok equivalent-allowed k apply -n hpa -f "$M/hpa2.yaml"
CHECK=equivalent-versions
CHECKS=$((CHECKS + 1))
cp "$CALLS" "$OUT"
has '# h2 kind=autoscaling/v2 requestKind=autoscaling/v1 object=autoscaling/v2'
has '# h2 kind=autoscaling/v1 requestKind=autoscaling/v1 object=autoscaling/v1'
sed 's/deny-h1/h3/; s|autoscaling/v1|autoscaling/v2|' "$M/hpa.yaml" >"$M/hpa3.yaml"
ok exact-v2 k apply -n hpa -f "$M/hpa3.yaml"
CHECK=exact-not-called
CHECKS=$((CHECKS + 1))
cp "$CALLS" "$OUT"
has '# h3 kind=autoscaling/v2 requestKind=autoscaling/v2 object=autoscaling/v2'
[ "$(grep -c '^/allow CREATE h3$' "$CALLS")" -eq 0 ] || fail "hpa-exact.example.com (Exact, v1) was called for v2"

# ---- a webhook that answers in 3 s holds only its own write: another write, which calls
# webhooks too, finishes first (no lock is held over a call) ----
CHECK=slow-holds-only-its-write
CHECKS=$((CHECKS + 1))
k create configmap late -n slow2 >"$WORK/late.out" 2>&1 &
LATE=$!
PIDS+=("$LATE")
for _ in $(seq 200); do grep -q '^/slow CREATE late$' "$CALLS" && break; sleep 0.05; done
k create configmap meanwhile -n wh >"$OUT" 2>&1 || fail "the other write failed"
kill -0 "$LATE" 2>/dev/null || fail "the slow write ended before the other one"
wait "$LATE" || { cp "$WORK/late.out" "$OUT"; fail "the slow write failed"; }

# ---- admissionReviewVersions: the first one the server speaks (v1beta1 listed first) ----
ok beta k create configmap b1 -n beta
CHECK=beta-review
CHECKS=$((CHECKS + 1))
cp "$CALLS" "$OUT"
matches '^# b1 .* review=admission.k8s.io/v1beta1 '

# ---- matchConditions: CEL, which drover cannot evaluate: an evaluation error, which the
# failurePolicy decides (Fail: 403, as ShouldCallHook's NewForbidden; Ignore: not called);
# the webhook is not called ----
bad cel k create configmap cel1 -n cel -v=6
has 'configmaps "cel1" is forbidden: matchConditions are not supported by this server (no CEL evaluator)'
matches 'POST https://.*/configmaps\?.* 403 Forbidden'
CHECK=cel-not-called
CHECKS=$((CHECKS + 1))
cp "$CALLS" "$OUT"
ok cel-ignore k create configmap cel2 -n cel2
CHECK=cel-not-called
CHECKS=$((CHECKS + 1))
cp "$CALLS" "$OUT"
lacks 'CREATE cel1'
lacks 'CREATE cel2'

# ---- the webhook down: Fail refuses with 500, Ignore lets the write through ----
cat >"$M/fail.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: f1, labels: {policy: fail}}
Y
sed 's/f1/i1/; s/policy: fail/policy: ignore/' "$M/fail.yaml" >"$M/ignore.yaml"
bad down-fail k apply -n down -f "$M/fail.yaml" -v=6
has 'Internal error occurred: failed calling webhook "fail.example.com": failed to call webhook: Post "https://127.0.0.1:1/x?timeout=10s": dial tcp 127.0.0.1:1: connect: connection refused'
matches 'POST https://.* 500 Internal Server Error'
ok down-ignore k apply -n down -f "$M/ignore.yaml"
has 'configmap/i1 created'

# ---- the configurations are read again when they change: a deleted one calls nothing ----
ok delete-validating k delete validatingwebhookconfiguration b-validate
ok deny-gone k create configmap deny-3 -n wh

e2e_end
