#!/usr/bin/env bash
# kubectl_crd.sh: the real kubectl 1.32 and CustomResourceDefinitions (apiextensions.k8s.io/v1).
# - kubectl apply of a CRD (client-side apply: GET, then POST with the last-applied
#   annotation), `kubectl get crd` (short name, the default Table: NAME, CREATED AT) and
#   `kubectl wait --for condition=established` (the server sets NamesAccepted and Established
#   as apiextensions-apiserver's naming and establishing controllers do).
# - its custom resources served once it is Established: kubectl apply (client-side and
#   server-side) of a CronTab (defaulted and validated by its schema), get by plural and short
#   name (the Table of its additionalPrinterColumns),
#   `kubectl scale` through its scale subresource, `get all` (category all), api-resources,
#   `kubectl explain` (the group version's OpenAPI v3 document made from the CRD's schema;
#   and forced to /openapi/v2, where the CRD's schema is merged converted to Swagger 2.0 and
#   whose new ETag makes kubectl's HTTP cache fetch it again), client-side validation of a
#   CronTab in a v1 List against /openapi/v2;
#   served no more once the CRD is deleted (nor its OpenAPI document), and a watch of them
#   open then sees the objects deleted and ends.
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
                  description: The cron spec defining the interval a CronJob is run
                port:
                  x-kubernetes-int-or-string: true
                  description: The port the job listens on
                image:
                  type: string
                replicas:
                  type: integer
                  minimum: 1
                  default: 1
      subresources:
        status: {}
        scale:
          specReplicasPath: .spec.replicas
          statusReplicasPath: .status.replicas
      additionalPrinterColumns:
      - name: Spec
        type: string
        description: The cron spec defining the interval a CronJob is run
        jsonPath: .spec.cronSpec
      - name: Replicas
        type: integer
        jsonPath: .spec.replicas
      - name: Age
        type: date
        jsonPath: .metadata.creationTimestamp
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames:
    - ct
    categories:
    - all
EOF

# kubectl's HTTP cache (~/.kube/http-cache) holds /openapi/v2 from before the CRD: only a new
# ETag makes it fetch the document with the CRD in
ok explain-v2-before-crd k explain pods --output plaintext-openapiv2
has "KIND:     Pod"

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

# ---- its custom resources ----
cat >"$WORK/cr.yaml" <<'EOF'
apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: my-new-cron-object
spec:
  cronSpec: "* * * * */5"
  image: my-awesome-cron-image
EOF
ok apply-cr k apply -f "$WORK/cr.yaml"
has "crontab.stable.example.com/my-new-cron-object created"
ok get-crs k get crontabs
matches "^NAME +SPEC +REPLICAS +AGE$"
matches "^my-new-cron-object +\* \* \* \* \*/5 +1 +[0-9]+s$"
sed 's/my-new-cron-object/bad-replicas/; s/image: .*/replicas: 0/' "$WORK/cr.yaml" >"$WORK/cr-bad.yaml"
bad apply-cr-invalid k apply -f "$WORK/cr-bad.yaml"
has 'spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1'
# kubectl's --validate=strict (fieldValidation=Strict): a field the schema does not name
sed 's/my-new-cron-object/typo/; s/  image:/  imagee:/' "$WORK/cr.yaml" >"$WORK/cr-typo.yaml"
bad apply-cr-unknown-field k apply -f "$WORK/cr-typo.yaml"
has 'CronTab in version "v1" cannot be handled as a CronTab: strict decoding error: unknown field "spec.imagee"'
ok apply-cr-unknown-field-warn k apply --validate=warn -f "$WORK/cr-typo.yaml"
has 'unknown field "spec.imagee"'
has "crontab.stable.example.com/typo created"

ok get-cr-short k get ct my-new-cron-object -o jsonpath='{.spec.image}'
has "my-awesome-cron-image"
sed -i 's/my-awesome-cron-image/other-image/' "$WORK/cr.yaml"
ok reapply-cr k apply -f "$WORK/cr.yaml"
has "crontab.stable.example.com/my-new-cron-object configured"
ok apply-cr-server-side k apply --server-side --force-conflicts -f "$WORK/cr.yaml"
has "crontab.stable.example.com/my-new-cron-object serverside-applied"
# kubectl's discovery cache (~/.kube/cache) predates the CRD: a fresh one sees the category
ok scale-cr k scale crontab/my-new-cron-object --replicas=3
has "crontab.stable.example.com/my-new-cron-object scaled"
ok get-cr-scaled k get ct my-new-cron-object -o jsonpath='{.spec.replicas}'
has "3"
ok get-all k get all --cache-dir "$WORK/cache-all"
has "crontab.stable.example.com/my-new-cron-object"
ok api-resources k api-resources --api-group=stable.example.com
matches "^crontabs +ct +stable.example.com/v1 +true +CronTab$"
# kubectl explain reads the group version's OpenAPI v3 document, built from the CRD's schema
# as apiextensions' openapi builder does (type meta and ObjectMeta added, the REST-friendly
# schema name, its List)
ok explain-cr k explain crontabs
has "KIND:       CronTab"
matches "^  metadata	<ObjectMeta>$"
matches "^  spec	<Object>$"
ok explain-cr-field k explain crontab.spec.replicas
has "FIELD: replicas <integer>"
# forced to /openapi/v2 (gnostic's protobuf), where kube-apiserver merges every served custom
# resource version (apiextensions' openapi controller; before: "couldn't find resource")
ok explain-cr-v2 k explain crontab.spec --output plaintext-openapiv2
has "RESOURCE: spec <Object>"
matches "^   cronSpec	<string>$"
has "The cron spec defining the interval a CronJob is run"
has "The port the job listens on"
ok openapi-v2-cr k get --raw /openapi/v2
has '"com.example.stable.v1.CronTab":{'
has '"x-kubernetes-group-version-kind":[{"group":"stable.example.com","kind":"CronTab","version":"v1"}]'
has '"/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}":'
# a v1 List is validated on the client against /openapi/v2 (kubectl_openapi.sh): its
# CronTab now by the CRD's schema there, as against kube-apiserver (before: skipped as a kind
# v2 did not know)
cat >"$WORK/cr-list.yaml" <<'EOF2'
apiVersion: v1
kind: List
items:
- apiVersion: stable.example.com/v1
  kind: CronTab
  metadata: {name: in-a-list}
  spec: {cronSpec: "* * * * */5", port: 8080}
EOF2
ok apply-cr-list k apply -f "$WORK/cr-list.yaml"
has "crontab.stable.example.com/in-a-list created"
sed 's/port: 8080/portt: 8080/' "$WORK/cr-list.yaml" >"$WORK/cr-list-bad.yaml"
bad apply-cr-list-unknown-field k apply -f "$WORK/cr-list-bad.yaml"
has 'ValidationError(CronTab.spec): unknown field "portt" in com.example.stable.v1.CronTab.spec'
ok openapi-v3-index k get --raw /openapi/v3
has '"apis/stable.example.com/v1":{"serverRelativeURL":"/openapi/v3/apis/stable.example.com/v1?hash='
ok openapi-v3-cr k get --raw /openapi/v3/apis/stable.example.com/v1
has '"com.example.stable.v1.CronTabList":{"description":"CronTabList is a list of CronTab"'
has '"x-kubernetes-group-version-kind":[{"group":"stable.example.com","kind":"CronTab","version":"v1"}]'
has '"/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}":'
# a watch of the custom resources, open when the CRD goes: it ends (apiextensions-apiserver
# ends the watches of a CRD's storage; before, it stayed open for good)
k get crontabs -w --output-watch-events >"$WORK/watch.out" 2>&1 &
WATCH_PID=$!
PIDS+=("$WATCH_PID")
for _ in $(seq 50); do grep -q my-new-cron-object "$WORK/watch.out" && break; sleep 0.1; done
ok delete-crd k delete crd crontabs.stable.example.com
has 'customresourcedefinition.apiextensions.k8s.io "crontabs.stable.example.com" deleted'
CHECK=watch-ended
CHECKS=$((CHECKS + 1))
for _ in $(seq 100); do kill -0 "$WATCH_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$WATCH_PID" 2>/dev/null; then
	FAILS=$((FAILS + 1))
	echo "FAIL [$E2E_NAME] watch-ended: kubectl get -w still runs 10 s after the CRD went" >&2
	kill "$WATCH_PID" 2>/dev/null
fi
wait "$WATCH_PID" 2>/dev/null
grep -q "DELETED.*my-new-cron-object" "$WORK/watch.out" || {
	FAILS=$((FAILS + 1))
	echo "FAIL [$E2E_NAME] watch-ended: the watch did not see the CR's deletion first: $(cat "$WORK/watch.out")" >&2
}
bad get-crs-gone k get crontabs
has 'Unable to list "stable.example.com/v1, Resource=crontabs": the server could not find the requested resource'
bad get-crs-gone-discovery k get crontabs --cache-dir "$WORK/cache-gone"
has "the server doesn't have a resource type \"crontabs\""
bad openapi-v3-cr-gone k get --raw /openapi/v3/apis/stable.example.com/v1
bad explain-cr-v2-gone k explain crontab.spec --output plaintext-openapiv2
ok openapi-v2-gone k get --raw /openapi/v2
lacks "com.example.stable.v1.CronTab"
ok openapi-v3-index-gone k get --raw /openapi/v3
lacks "stable.example.com"

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
