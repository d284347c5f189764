#!/usr/bin/env bash
# kubectl_crd.sh: the real kubectl 1.32 and CustomResourceDefinitions (apiextensions.k8s.io/v1).
# - kubectl apply of a CRD (client-side apply: GET, then POST with the last-applied
#   annotation), `kubectl get crd` (short name, the default Table: NAME, CREATED AT) and
#   `kubectl wait --for condition=established` (the server sets NamesAccepted and Established
#   as apiextensions-apiserver's naming and establishing controllers do).
# - kubectl apply of a kind no group serves (apiVersion v1, kind Foo): kubectl lists the CRDs
#   to find one of that kind (cli-runtime resource/query_param_verifier.go, the
#   CRDFinder of kubectl's cmd/util/crdfinder.go) and prints its own "no matches for kind"
#   (before CRDs were served: the CRD list was a 404).
# Every process it starts is stopped by PID and its temporary directory removed.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${DROVER_SOURCE_DIR:-$HERE/../../..}
BIN=${DROVER_BIN:-$SRC/build/userspace/cli}/drover
K=$(command -v kubectl)
[ -x "$K" ] || { echo "no kubectl" >&2; exit 1; }

# shellcheck source=../../../scripts/lib/apiserver.sh
source "$SRC/scripts/lib/apiserver.sh"
e2e_begin "kubectl-crd"
e2e_server_start "$BIN" --controllers namespace,serviceaccount --no-scheduler

cat >"$WORK/crd.yaml" <<'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                cronSpec:
                  type: string
                image:
                  type: string
                replicas:
                  type: integer
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames:
    - ct
EOF

# ---- the CRD itself ----
ok apply-crd k apply -f "$WORK/crd.yaml"
has "customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created"
ok wait-established k wait --for condition=established --timeout=20s crd/crontabs.stable.example.com
has "condition met"
ok get-crd k get crd
matches "^NAME +CREATED AT$"
matches "^crontabs.stable.example.com +[0-9]{4}-"
ok reapply-crd k apply -f "$WORK/crd.yaml"
has "customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com unchanged"
sed 's/storage: true/storage: false/' "$WORK/crd.yaml" >"$WORK/crd-bad.yaml"
sed -i 's/crontabs.stable.example.com/other.stable.example.com/' "$WORK/crd-bad.yaml"
bad apply-crd-invalid k apply -f "$WORK/crd-bad.yaml"
has 'metadata.name: Invalid value: "other.stable.example.com": must be spec.names.plural+"."+spec.group'
has 'spec.versions: Invalid value: "array": must have exactly one version marked as storage version'

# ---- a kind nothing serves ----
cat >"$WORK/foo.yaml" <<'EOF'
apiVersion: v1
kind: Foo
metadata:
  name: f
EOF
bad apply-unknown-kind k apply -f "$WORK/foo.yaml"
has 'no matches for kind "Foo" in version "v1"'
lacks "the server could not find the requested resource"

e2e_end
