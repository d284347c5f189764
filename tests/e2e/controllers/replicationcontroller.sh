#!/usr/bin/env bash
# replicationcontroller.sh: the real kubectl (1.32) and the ReplicationController example of
# the Kubernetes documentation (concepts/workloads/controllers/replicationcontroller:
# replication.yaml, nginx, 3 replicas) against `drover server --insecure-loopback` with its
# scheduler and controllers, one hand-made Node and a kubelet stand-in: `kubectl apply`, the
# pods it makes and owns, `kubectl get rc` and `describe rc` as against Kubernetes, `kubectl
# scale rc` up and down, `kubectl delete rc` (its pods go, through the garbage collector) and
# `--cascade=orphan` (they stay, released). Every process it starts is stopped by PID and its
# temporary directory removed, also when a check fails.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${DROVER_SOURCE_DIR:-$HERE/../../..}
BIN=${DROVER_BIN:-$SRC/build/userspace/cli}/drover
K=$(command -v kubectl)
for t in "$K" curl jq; do
	command -v "$t" >/dev/null || { echo "replicationcontroller.sh needs $t" >&2; exit 1; }
done

# shellcheck source=../../../scripts/lib/apiserver.sh
source "$SRC/scripts/lib/apiserver.sh"
e2e_begin controllers-rc
# shellcheck disable=SC2034 # read by k
K_FLAGS=(--request-timeout=30s)
e2e_server_start "$BIN" --insecure-loopback --controllers '*,-nodelifecycle'
# shellcheck source=../../../scripts/lib/kubelet_standin.sh
source "$SRC/scripts/lib/kubelet_standin.sh"
standin_node n1
standin_kubelet n1

# the documentation's replication.yaml, as it is
DOC=$SRC/tests/e2e/kubectl/manifests/replication.yaml

# count_is APP N: N pods labelled app=APP exist (being deleted or not)
count_is() { [ "$(k get pods -l "app=$1" --no-headers 2>/dev/null | wc -l)" -eq "$2" ]; }
# until_ok CMD...: CMD succeeds within 30 s
until_ok() {
	local end=$((SECONDS + 30))
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
	done
}
# ready RC_NAME N: the RC has N ready replicas and N pods exist
ready() {
	k wait "rc/$1" --for=jsonpath='{.status.readyReplicas}'="$2" --timeout=30s &&
		until_ok count_is "$1" "$2"
}

ok apply k apply -f "$DOC"
has 'replicationcontroller/nginx created'
ok "3 ready" ready nginx 3
ok "get rc" k get rc nginx
matches '^NAME +DESIRED +CURRENT +READY +AGE$'
matches '^nginx +3 +3 +3 +[0-9]+s$'
# the docs' way of listing the pods, and their controller
ok "pods" k get pods --selector=app=nginx --output=jsonpath='{.items..metadata.name}'
matches '^nginx-[a-z0-9]{5} nginx-[a-z0-9]{5} nginx-[a-z0-9]{5}$'
ok "owner" k get pods -l app=nginx -o jsonpath='{range .items[*]}{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}/{.metadata.ownerReferences[0].controller}{"\n"}{end}'
[ "$(grep -c '^ReplicationController/nginx/true$' "$OUT")" -eq 3 ] || fail "not 3 pods controlled by rc/nginx"
ok describe k describe rc nginx
matches '^Selector: +app=nginx$'
matches '^Replicas: +3 current / 3 desired$'
matches '^Pods Status: +3 Running / 0 Waiting / 0 Succeeded / 0 Failed$'
matches '^  Normal +SuccessfulCreate +[0-9a-z]+ +replication-controller +Created pod: nginx-[a-z0-9]{5}$'

ok "scale up" k scale rc nginx --replicas=5
has 'replicationcontroller/nginx scaled'
ok "5 ready" ready nginx 5
ok "scale down" k scale rc nginx --replicas=2
ok "2 ready" k wait rc/nginx --for=jsonpath='{.status.replicas}'=2 --timeout=30s
ok "2 pods" until_ok count_is nginx 2
ok "get rc 2" k get rc nginx
matches '^nginx +2 +2 +2 +'
ok "events" k get events --field-selector involvedObject.name=nginx
matches 'SuccessfulDelete +replicationcontroller/nginx +Deleted pod: nginx-[a-z0-9]{5}$'

ok delete k delete rc nginx
has 'replicationcontroller "nginx" deleted'
ok "pods gone" until_ok count_is nginx 0

# --cascade=orphan: the pods stay, without their controller reference
sed 's/name: nginx$/name: orphans/; s/app: nginx/app: orphans/' "$DOC" >"$WORK/orphans.yaml"
ok "apply 2" k apply -f "$WORK/orphans.yaml"
ok "3 ready 2" ready orphans 3
ok "orphan delete" k delete rc orphans --cascade=orphan
ok "rc gone" k wait --for=delete rc/orphans --timeout=30s
ok "released" k get pods -l app=orphans -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.ownerReferences}{"\n"}{end}'
[ "$(grep -cE '^orphans-[a-z0-9]{5}=$' "$OUT")" -eq 3 ] || fail "not 3 released pods"

e2e_end
