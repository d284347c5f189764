#!/usr/bin/env bash
# conformance.sh [VERSION]: issue 12's conformance suite, over every kind the server serves,
# through the real kubectl VERSION (1.32 through the dispatcher, 1.31 and 1.33 directly).
# Every resource `kubectl api-resources --verbs=create` lists must have a manifest in the
# style of the Kubernetes documentation in conformance/<resource>.yaml (a kind without one
# fails the suite), and goes through, in the namespace "conformance" when namespaced:
#   apply (created) -> get -o yaml -> get -o name and get (the list, its Table) -> patch
#   (merge, a label) ->
#   get -o jsonpath (the label is there) -> delete (waits until gone) -> get (NotFound),
#   with a watch (field selector metadata.name) open from before the apply that must see
#   ADDED, MODIFIED and DELETED of the object.
# The create-only kinds (the access and token reviews) are created and answer with a status.
# Then every manifest of conformance-invalid/ is refused with the message its "# expect:" line
# gives (Kubernetes' wording, from pkg/apis/*/validation), and kubectl apply --prune with its
# default allowlist removes what left the set.
# pods/binding (the `bindings` resource) is the scheduler's: the control-plane e2e tests bind.
set -uo pipefail

V=${1:-1.32}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${DROVER_SOURCE_DIR:-$HERE/../../..}
BIN=${DROVER_BIN:-$SRC/build/userspace/cli}/drover
DIR=$HERE/conformance

source "$SRC/scripts/lib/apiserver.sh"
K=$(kubectl_of "$V") || exit 1
e2e_begin "conformance-$V"
e2e_server_start "$BIN" --controllers namespace,serviceaccount,garbagecollector,pvc-protection,pv-protection \
	--no-scheduler

ok namespace k create namespace conformance
# a CertificateSigningRequest's request: a PEM CSR made now
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=conformance" \
	-keyout /dev/null -out "$WORK/csr.pem" 2>/dev/null || fail "openssl req"
CSR=$(base64 -w0 <"$WORK/csr.pem")

ok api-resources-create k api-resources --verbs=create -o name
mapfile -t CREATE <"$OUT"
ok api-resources-get k api-resources --verbs=get -o name
mapfile -t GETTABLE <"$OUT"
ok api-resources-namespaced k api-resources --namespaced=true -o name
mapfile -t NAMESPACED <"$OUT"
in_list() { # WORD LIST...
	local w=$1
	shift
	for x in "$@"; do [ "$x" = "$w" ] && return 0; done
	return 1
}

KINDS=0
for r in "${CREATE[@]}"; do
	[ "$r" = bindings ] && continue
	f=$DIR/$r.yaml
	if [ ! -f "$f" ]; then
		CHECKS=$((CHECKS + 1))
		FAILS=$((FAILS + 1))
		echo "FAIL [$E2E_NAME] $r: no manifest in conformance/$r.yaml" >&2
		continue
	fi
	KINDS=$((KINDS + 1))
	m=$WORK/$r.yaml
	sed "s|@CSR@|$CSR|" "$f" >"$m"
	ns=()
	in_list "$r" "${NAMESPACED[@]}" && ns=(-n conformance)
	if ! in_list "$r" "${GETTABLE[@]}"; then
		# created and answered, never stored
		ok "$r/create" k create "${ns[@]}" -f "$m" -o yaml
		has "status:"
		continue
	fi
	name=$(awk '/^metadata:/ {m = 1; next} m && /^  name:/ {print $2; exit}' "$m")
	k get "$r" "${ns[@]}" --field-selector "metadata.name=$name" -w --output-watch-events \
		-o 'jsonpath={.type} {.object.metadata.name}{"\n"}' >"$WORK/$r.watch" 2>&1 &
	wpid=$!
	PIDS+=("$wpid")
	ok "$r/apply" k apply "${ns[@]}" -f "$m"
	has " created"
	ok "$r/get" k get "$r" "${ns[@]}" "$name" -o yaml
	has "name: $name"
	ok "$r/list" k get "$r" "${ns[@]}" -o name
	has "/$name"
	ok "$r/table" k get "$r" "${ns[@]}"
	# the watch has the object (from its list when it started after the apply, else as an
	# event): it watches from there on, so the patch and the delete reach it
	for _ in $(seq 100); do grep -qE "^ADDED +$name( |$)" "$WORK/$r.watch" && break; sleep 0.1; done
	ok "$r/patch" k patch "$r" "${ns[@]}" "$name" --type=merge \
		-p '{"metadata":{"labels":{"conformance":"patched"}}}'
	ok "$r/patched" k get "$r" "${ns[@]}" "$name" -o 'jsonpath={.metadata.labels.conformance}'
	has "patched"
	ok "$r/delete" k delete "${ns[@]}" -f "$m" --timeout=30s
	bad "$r/gone" k get "$r" "${ns[@]}" "$name"
	has "NotFound"
	CHECK=$r/watch
	CHECKS=$((CHECKS + 1))
	for _ in $(seq 50); do grep -q "^DELETED" "$WORK/$r.watch" && break; sleep 0.1; done
	kill "$wpid" 2>/dev/null
	wait "$wpid" 2>/dev/null
	for ev in ADDED MODIFIED DELETED; do
		grep -qE "^$ev +$name( |$)" "$WORK/$r.watch" || {
			FAILS=$((FAILS + 1))
			echo "FAIL [$E2E_NAME] $r/watch: no $ev event of $name in: $(head -c 600 "$WORK/$r.watch")" >&2
			break
		}
	done
done
# invalid manifests: refused with Kubernetes' message (each file's "# expect:" line), nothing
# stored
for f in "$HERE"/conformance-invalid/*.yaml; do
	n=$(basename "$f" .yaml)
	bad "invalid/$n" k apply -n conformance -f "$f"
	has "$(sed -n 's/^# expect: //p' "$f")"
done
ok invalid-nothing-stored k get all,configmaps,ingresses,networkpolicies,rolebindings,resourcequotas,endpointslices,poddisruptionbudgets -n conformance -o name
lacks "/"

# kubectl apply --prune with kubectl's default allowlist: the object no longer in the set goes
mkdir -p "$WORK/prune"
for n in a b c; do
	printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prune-%s\n  labels: {set: prune}\ndata: {k: v}\n' \
		"$n" >"$WORK/prune/$n.yaml"
done
ok prune-apply k apply -n conformance --prune -l set=prune -f "$WORK/prune"
rm "$WORK/prune/b.yaml"
ok prune k apply -n conformance --prune -l set=prune -f "$WORK/prune"
has "configmap/prune-b pruned"
ok prune-left k get configmaps -n conformance -l set=prune -o name
has "configmap/prune-a"
lacks "configmap/prune-b"

echo "[$E2E_NAME] $KINDS kinds"
[ "$KINDS" -ge 55 ] || fail "only $KINDS kinds went through the suite"
e2e_end
