#!/usr/bin/env bash
# kubectl_satoken.sh: ServiceAccount identity through the real kubectl 1.32 against `drover
# server` (its serviceaccount controller, root CA publisher and the ServiceAccount admission
# plugin, on by default): `kubectl create token` (default, --duration refused below 10 minutes as
# ValidateTokenRequest, --bound-object-kind Pod), the token authenticating a kubeconfig that
# has nothing else (and no longer once its pod is gone), a forged token refused, the
# kube-root-ca.crt ConfigMap holding the server's CA, and pods admitted with the projected
# kube-api-access volume or refused for a missing service account; with
# --disable-admission-plugins ServiceAccount neither (a second server). Every process it starts
# is stopped by PID and its temporary directory removed, also when a check fails.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${DROVER_SOURCE_DIR:-$HERE/../../..}
BIN=${DROVER_BIN:-$SRC/build/userspace/cli}/drover
K=$(command -v kubectl)

# shellcheck source=../../../scripts/lib/apiserver.sh
source "$SRC/scripts/lib/apiserver.sh"
e2e_begin "kubectl-satoken"
# the ServiceAccount admission plugin is on by default, as kube-apiserver's
e2e_server_start "$BIN" --controllers serviceaccount,root-ca-certificate-publisher-controller \
	--no-scheduler

# a kubeconfig with the server and its CA only: the token is the whole identity
printf 'apiVersion: v1\nkind: Config\n' >"$WORK/empty"
as() {
	local t=$1
	shift
	"$K" --kubeconfig="$WORK/empty" --server="$S" \
		--certificate-authority="$WORK/data/pki/ca.crt" --token="$t" "$@"
}

for _ in $(seq 100); do
	k get serviceaccount default >/dev/null 2>&1 && break
	sleep 0.1
done

# ---- kubectl create token ----
ok create-token k create token default
T=$(cat "$OUT")
[ "$(tr -cd . <"$OUT" | wc -c)" -eq 2 ] || fail "not a JWT: three dot-separated parts"
ok token-api as "$T" get --raw /api
has '"kind":"APIVersions"'
bad token-get-forbidden as "$T" get serviceaccount default -o name
has 'serviceaccounts "default" is forbidden: User "system:serviceaccount:default:default" cannot get resource "serviceaccounts" in API group "" in the namespace "default"'
ok token-view-binding k create rolebinding default-view --clusterrole=view --serviceaccount=default:default
ok token-get as "$T" get serviceaccount default -o name
has "serviceaccount/default"
bad token-forged as "${T%?}x" get --raw /api
has "Unauthorized"
bad token-short k create token default --duration 1m
has "spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes"
bad token-no-sa k create token nosuch
has 'serviceaccounts "nosuch" not found'

# ---- TokenReview (authentication.k8s.io/v1, pkg/registry/authentication/tokenreview) ----
review() { # TOKEN [AUDIENCES-JSON]: a TokenReview's JSON in $WORK/tr.json
	printf '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"%s"%s}}' \
		"$1" "${2:+,\"audiences\":$2}" >"$WORK/tr.json"
}
review "$T"
ok tokenreview k create -f "$WORK/tr.json" -o 'jsonpath={.status.authenticated} {.status.user.username} {.status.user.groups} {.status.audiences}'
has 'true system:serviceaccount:default:default ["system:serviceaccounts","system:serviceaccounts:default","system:authenticated"] ["https://kubernetes.default.svc.cluster.local"]'
review "${T%?}x"
ok tokenreview-forged k create -f "$WORK/tr.json" -o 'jsonpath={.status.authenticated}'
has 'false'
ok create-token-aud k create token default --audience vault
TA=$(cat "$OUT")
review "$TA"
ok tokenreview-other-audience k create -f "$WORK/tr.json" -o 'jsonpath={.status.authenticated}'
has 'false'
review "$TA" '["nats","vault"]'
ok tokenreview-audiences k create -f "$WORK/tr.json" -o 'jsonpath={.status.authenticated} {.status.audiences}'
has 'true ["vault"]'
review ""
bad tokenreview-empty k create -f "$WORK/tr.json"
has 'token is required for TokenReview in authentication'
# a token reviewer needs create on tokenreviews (system:auth-delegator grants it)
review "$T"
bad tokenreview-forbidden as "$T" create -f "$WORK/tr.json"
has 'tokenreviews.authentication.k8s.io is forbidden: User "system:serviceaccount:default:default" cannot create resource "tokenreviews" in API group "authentication.k8s.io" at the cluster scope'
ok auth-delegator k create clusterrolebinding default-delegator --clusterrole=system:auth-delegator --serviceaccount=default:default
ok tokenreview-delegated as "$T" create -f "$WORK/tr.json" -o 'jsonpath={.status.authenticated}'
has 'true'

# ---- the root CA publisher ----
for _ in $(seq 100); do
	k get configmap kube-root-ca.crt >/dev/null 2>&1 && break
	sleep 0.1
done
ok root-ca k get configmap kube-root-ca.crt -o 'jsonpath={.data.ca\.crt}'
diff -q "$OUT" "$WORK/data/pki/ca.crt" >/dev/null || fail "kube-root-ca.crt is not the server's CA"

# ---- the ServiceAccount admission plugin and a pod-bound token ----
ok pod-create k run p --image=registry.k8s.io/pause:3.10 --restart=Never
ok pod-volume k get pod p -o 'jsonpath={.spec.volumes[0].name} {.spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds} {.spec.containers[0].volumeMounts[0].mountPath}'
matches '^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5} 3607 /var/run/secrets/kubernetes.io/serviceaccount$'
ok bound-token k create token default --bound-object-kind Pod --bound-object-name p
B=$(cat "$OUT")
ok bound-api as "$B" get --raw /api
ok pod-delete k delete pod p --grace-period=0 --force
bad bound-gone as "$B" get --raw /api
has "Unauthorized"
ok token-still as "$T" get --raw /api
bad pod-no-sa k run q --image=registry.k8s.io/pause:3.10 --restart=Never --overrides='{"spec":{"serviceAccountName":"nosuch"}}'
has 'pods "q" is forbidden: error looking up service account default/nosuch: serviceaccount "nosuch" not found'

kill "${PIDS[0]}" 2>/dev/null
wait "${PIDS[0]}" 2>/dev/null

# ---- --disable-admission-plugins ServiceAccount: pods as before (no account, no volume) ----
api_server_start "$BIN" "$WORK/data2" "$WORK/server2.log" --controllers "" --no-scheduler \
	--disable-admission-plugins ServiceAccount || exit 1
PIDS+=("$API_PID")
export KUBECONFIG=$WORK/data2/kubeconfig
ok disabled-pod k run d --image=registry.k8s.io/pause:3.10 --restart=Never
ok disabled-no-volume k get pod d -o 'jsonpath=[{.spec.volumes}]'
matches '^\[\]$'
e2e_end
