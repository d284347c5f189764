#!/usr/bin/env bash
# kubectl_rbac.sh: the real kubectl 1.32 against `drover server` under RBAC: the admin
# (system:masters) impersonating alice is refused with Kubernetes' message until a
# RoleBinding lets her read pods; `kubectl auth can-i` (SelfSubjectAccessReview), `--list`
# (SelfSubjectRulesReview), `auth whoami` (SelfSubjectReview); alice with her own client
# certificate (made here with openssl against the cluster CA in the data directory) may not
# impersonate; the bootstrap ClusterRoles and bindings are there, admin filled by the
# clusterrole-aggregation controller; the whole 1.32 default policy by count and the
# controllers' service accounts through `auth can-i`; a user who may write roles and bindings
# grants and binds only what he holds until allowed escalate and bind (Kubernetes' message).
# Every process it starts is stopped by PID and its temporary directory removed, also when a
# check fails.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${DROVER_SOURCE_DIR:-$HERE/../../..}
BIN=${DROVER_BIN:-$SRC/build/userspace/cli}/drover
K=$(command -v kubectl)

# shellcheck source=../../../scripts/lib/apiserver.sh
source "$SRC/scripts/lib/apiserver.sh"
e2e_begin "kubectl-rbac"
e2e_server_start "$BIN" --controllers namespace,clusterrole-aggregation --no-scheduler

# ---- the bootstrap policy ----
ok clusterroles k get clusterroles
matches '^cluster-admin ' && matches '^admin ' && matches '^edit ' && matches '^view '
matches '^system:discovery ' && matches '^system:node '
ok crb-admin k get clusterrolebinding cluster-admin -o wide
matches '^cluster-admin +ClusterRole/cluster-admin .* +system:masters'
# admin aggregated (the clusterrole-aggregation controller) from edit, view and its own
for _ in $(seq 100); do
	k get clusterrole admin -o jsonpath='{.rules[*].resources}' 2>/dev/null | grep -q rolebindings &&
		k get clusterrole admin -o jsonpath='{.rules[*].resources}' | grep -q pods/log && break
	sleep 0.1
done
ok aggregated k get clusterrole admin -o jsonpath='{.rules[*].resources}'
has 'rolebindings' && has 'pods/log' && has 'secrets'
# 1.32's whole default policy (bootstrap_rbac.yaml): the policy.go and controller_policy.go
# roles and bindings, the namespace_policy.go ones in kube-system and kube-public
ok clusterroles-n k get clusterroles -l kubernetes.io/bootstrapping=rbac-defaults -o name
[ "$(grep -c . "$OUT")" -eq 64 ] || fail "$(grep -c . "$OUT") default ClusterRoles, 1.32 makes 64"
ok crbs-n k get clusterrolebindings -l kubernetes.io/bootstrapping=rbac-defaults -o name
[ "$(grep -c . "$OUT")" -eq 45 ] || fail "$(grep -c . "$OUT") default ClusterRoleBindings, 1.32 makes 45"
ok roles-n k get roles -A -o name
[ "$(grep -c . "$OUT")" -eq 7 ] || fail "$(grep -c . "$OUT") default Roles, 1.32 makes 7"
ok rbs-n k get rolebindings -n kube-public -o name
has 'rolebinding.rbac.authorization.k8s.io/system:controller:bootstrap-signer'
# through the authorizer: the controllers' service accounts (kubectl auth can-i --as)
DC=system:serviceaccount:kube-system:deployment-controller
GC=system:serviceaccount:kube-system:generic-garbage-collector
ok dc-create-rs k auth can-i --as=$DC create replicasets -n x
has yes
ok dc-deploy-status k auth can-i --as=$DC update deployments/status -n x
run dc-delete-nodes k auth can-i --as=$DC delete nodes
[ "$RC" -ne 0 ] || fail "deployment-controller may delete nodes"
has no
ok gc-delete-any k auth can-i --as=$GC delete '*.*' -A
has yes
ok gc-delete-nodes k auth can-i --as=$GC delete nodes
run gc-create k auth can-i --as=$GC create configmaps -n x
[ "$RC" -ne 0 ] || fail "generic-garbage-collector may create"
ok dns-list k auth can-i --as=system:serviceaccount:kube-system:kube-dns list endpoints -A

# ---- the admin impersonating alice ----
bad as-alice-refused k --as alice get pods
has 'Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"'
bad as-alice-nodes k --as alice get nodes
has 'nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope'
run can-i-no k auth can-i list pods --as alice
[ "$RC" -ne 0 ] || fail "can-i said yes"
has no
ok rolebinding k create rolebinding alice-view --clusterrole=view --user=alice
ok as-alice-allowed k --as alice get pods
has 'No resources found in default namespace.'
ok can-i-yes k auth can-i list pods --as alice
has yes
run can-i-delete k auth can-i delete pods --as alice
[ "$RC" -ne 0 ] || fail "can-i delete said yes"
ok can-i-log k auth can-i get pods --subresource=log --as alice
ok can-i-list k auth can-i --list --as alice
matches '^pods +\[\] +\[\] +\[get list watch\]'
matches '^selfsubjectaccessreviews\.authorization\.k8s\.io +\[\] +\[\] +\[create\]'
matches '^ +\[/api/\*\] +\[\] +\[get\]'
ok whoami k auth whoami
matches '^Username +admin$'
has 'system:masters'
ok whoami-as k auth whoami --as alice --as-group devs
matches '^Username +alice$'
matches '^Groups +\[devs system:authenticated\]$'

# ---- alice herself (a client certificate CN=alice, O=team) ----
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/O=team/CN=alice" \
	-keyout "$WORK/alice.key" -out "$WORK/alice.csr" 2>/dev/null
openssl x509 -req -in "$WORK/alice.csr" -CA "$WORK/data/pki/ca.crt" -CAkey "$WORK/data/pki/ca.key" \
	-CAcreateserial -days 1 -out "$WORK/alice.crt" 2>/dev/null
cp "$KUBECONFIG" "$WORK/alice.kubeconfig"
KA=(--kubeconfig "$WORK/alice.kubeconfig")
ok alice-creds k "${KA[@]}" config set-credentials alice --client-certificate="$WORK/alice.crt" \
	--client-key="$WORK/alice.key" --embed-certs
ok alice-context k "${KA[@]}" config set-context --current --user=alice
ok alice-whoami k "${KA[@]}" auth whoami
matches '^Username +alice$'
ok alice-pods k "${KA[@]}" get pods
bad alice-as-bob k "${KA[@]}" --as bob get pods
has 'Error from server (Forbidden): users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope'
run alice-can-i-impersonate k "${KA[@]}" auth can-i impersonate users
has no

# ---- escalation prevention (pkg/registry/rbac/*/policybased/storage.go) ----
# carol may write roles and rolebindings and holds view: she grants and binds no more
ok carol-writer k create role rbac-writer --verb=create,update,patch \
	--resource=roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io
ok carol-writer-rb k create rolebinding carol-writer --role=rbac-writer --user=carol
ok carol-view k create rolebinding carol-view --clusterrole=view --user=carol
ok carol-reader k --as carol create role reader --verb=get,list --resource=pods
bad carol-deleter k --as carol create role deleter --verb=get,delete,deletecollection --resource=pods,secrets
has 'Error from server (Forbidden): roles.rbac.authorization.k8s.io "deleter" is forbidden: user "carol" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:'
has '{APIGroups:[""], Resources:["pods"], Verbs:["delete" "deletecollection"]}'
has '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete" "deletecollection"]}'
bad carol-bind-admin k --as carol create rolebinding dan-admin --clusterrole=admin --user=dan
has 'error: failed to create rolebinding: rolebindings.rbac.authorization.k8s.io "dan-admin" is forbidden: user "carol" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:'
ok carol-bind-view k --as carol create rolebinding dan-view --clusterrole=view --user=dan
run carol-can-i-escalate k auth can-i escalate roles --as carol
has no
# escalate on roles, bind on clusterroles/admin
ok carol-escalate k create role rbac-escalate --verb=escalate --resource=roles.rbac.authorization.k8s.io
ok carol-escalate-rb k create rolebinding carol-escalate --role=rbac-escalate --user=carol
ok carol-bind k create role rbac-bind --verb=bind --resource=clusterroles.rbac.authorization.k8s.io \
	--resource-name=admin
ok carol-bind-rb k create rolebinding carol-bind --role=rbac-bind --user=carol
ok carol-can-i-escalate2 k auth can-i escalate roles --as carol
has yes
ok carol-deleter2 k --as carol create role deleter --verb=get,delete,deletecollection --resource=pods,secrets
ok carol-bind-admin2 k --as carol create rolebinding dan-admin --clusterrole=admin --user=dan

kill "${PIDS[0]}" 2>/dev/null
wait "${PIDS[0]}" 2>/dev/null
e2e_end
