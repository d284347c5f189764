#!/usr/bin/env bash
# kubectl_podsecurity.sh: the PodSecurity admission plugin (on by default, as in kube-apiserver
# 1.32) through the real kubectl 1.32 against `drover server`: `kubectl label ns` with an
# invalid level refused with PolicyToEvaluate's message, enforce=restricted set on a namespace
# whose pod violates it (the warning of Admission.ValidateNamespace / EvaluatePodsInNamespace),
# a violating pod refused with exit 1 and the exact message of Admission.EvaluatePod, a
# Deployment applied with kubectl printing the `Warning: would violate PodSecurity` line on
# stderr (ValidatePodController: warn only; warn defaults to the enforce level), a compliant
# pod created, a warn label's warning on a pod that is created, and a namespace without labels
# still taking a privileged pod. Every process it starts is stopped by PID and its
# temporary directory removed, also when a check fails.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${DROVER_SOURCE_DIR:-$HERE/../../..}
BIN=${DROVER_BIN:-$SRC/build/userspace/cli}/drover
K=$(command -v kubectl)

# shellcheck source=../../../scripts/lib/apiserver.sh
source "$SRC/scripts/lib/apiserver.sh"
e2e_begin "kubectl-podsecurity"
# serviceaccount: the ServiceAccount admission plugin (on by default too) needs the default
# account of each namespace before it admits a pod
e2e_server_start "$BIN" --controllers namespace,serviceaccount --no-scheduler

M=$WORK/m
mkdir -p "$M"
cat >"$M/plain.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata:
  name: plain
spec:
  containers:
  - name: c
    image: registry.k8s.io/pause:3.10
Y
cat >"$M/privileged.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata:
  name: priv
spec:
  hostNetwork: true
  containers:
  - name: c
    image: registry.k8s.io/pause:3.10
    securityContext:
      privileged: true
Y
cat >"$M/compliant.yaml" <<'Y'
apiVersion: v1
kind: Pod
metadata:
  name: compliant
spec:
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    seccompProfile:
      type: RuntimeDefault
  containers:
  - name: c
    image: registry.k8s.io/pause:3.10
    securityContext:
      allowPrivilegeEscalation: false
      capabilities:
        drop: ["ALL"]
Y
cat >"$M/deploy.yaml" <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
Y

RESTRICTED='violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'

ok ns k create namespace ps
ok old-pod k apply -n ps -f "$M/plain.yaml"

# ---- labels: an invalid level is refused (422), a new enforce level warns about pods ----
bad label-invalid k label ns ps pod-security.kubernetes.io/enforce=strict
has 'The Namespace "ps" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, baseline, restricted'
ok label-enforce k label ns ps pod-security.kubernetes.io/enforce=restricted
has 'Warning: existing pods in namespace "ps" violate the new PodSecurity enforce level "restricted:latest"'
has 'Warning: plain: allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile'
has 'namespace/ps labeled'

# ---- enforce: a violating pod is refused with exit 1 and Kubernetes' message ----
bad pod-refused k run -n ps second --image=registry.k8s.io/pause:3.10 --restart=Never
has "Error from server (Forbidden): pods \"second\" is forbidden: ${RESTRICTED//\"c\"/\"second\"}"
sed 's/^  name: plain/  name: fresh/' "$M/plain.yaml" >"$M/fresh.yaml"
bad apply-refused k apply -n ps -f "$M/fresh.yaml"
[ "$RC" -eq 1 ] || fail "kubectl exit code $RC, expected 1"
has "Error from server (Forbidden): error when creating \"$M/fresh.yaml\": pods \"fresh\" is forbidden: $RESTRICTED"
bad privileged-refused k apply -n ps -f "$M/privileged.yaml"
has 'pods "priv" is forbidden: violates PodSecurity "restricted:latest": host namespaces (hostNetwork=true), privileged (container "c" must not set securityContext.privileged=true), allowPrivilegeEscalation != false'

# ---- a compliant pod is created ----
ok compliant k apply -n ps -f "$M/compliant.yaml"
has 'pod/compliant created'

# ---- warn on a workload (warn defaults to the enforce level): stderr carries kubectl's
# Warning line, the Deployment is made ----
CHECK=deploy-warn
CHECKS=$((CHECKS + 1))
k apply -n ps -f "$M/deploy.yaml" >"$WORK/stdout" 2>"$WORK/stderr"
RC=$?
cp "$WORK/stderr" "$OUT"
[ $RC -eq 0 ] || fail "exit code $RC"
W=${RESTRICTED//\"c\"/\"nginx\"}
has "Warning: would violate PodSecurity \"restricted:latest\": ${W#violates PodSecurity \"restricted:latest\": }"
grep -q 'deployment.apps/web created' "$WORK/stdout" || fail "stdout lacks the created line"

# ---- warn alone: a violating pod is created with the warning ----
ok label-warn k label ns ps pod-security.kubernetes.io/enforce=privileged pod-security.kubernetes.io/warn=baseline --overwrite
ok warn-pod k apply -n ps -f "$M/privileged.yaml"
has 'Warning: would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true), privileged (container "c" must not set securityContext.privileged=true)'
has 'pod/priv created'

# ---- no labels: privileged, as before ----
ok ns-plain k create namespace free
ok free-privileged k apply -n free -f "$M/privileged.yaml"
lacks 'Warning'

e2e_end
