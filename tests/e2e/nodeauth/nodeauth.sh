#!/usr/bin/env bash
# nodeauth.sh: how a node joins, server side, with the real kubectl (1.32) and curl against
# `drover server` over TLS on a free port: `drover token create|list`; a bootstrap token
# authenticates as system:bootstrap:<id> (401 when unknown or expired) and may create a
# CertificateSigningRequest and nothing else. Every process it starts is stopped by PID and
# CertificateSigningRequest and nothing else; the csrapproving and csrsigning controllers approve
# and sign a kubelet client CSR (key and CSR made here with openssl) and refuse others; with the
# issued certificate kubectl is system:node:n1, which the Node authorizer and NodeRestriction
# let write only its own Node, Lease and the status of pods bound to it (403 with Kubernetes'
# messages otherwise); the nodeipam controller gives Nodes podCIDRs from --cluster-cidr (state
# recovered at a restart, a deleted Node's freed, CIDRNotAvailable when none is left).
# Every process it starts is stopped by PID and
# its temporary directory removed, also when a check fails.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${DROVER_SOURCE_DIR:-$HERE/../../..}
BIN=${DROVER_BIN:-$SRC/build/userspace/cli}/drover
K=$(command -v kubectl)
for t in "$K" curl jq openssl; do
	command -v "$t" >/dev/null || { echo "nodeauth.sh needs $t" >&2; exit 1; }
done

# shellcheck source=../../../scripts/lib/apiserver.sh
source "$SRC/scripts/lib/apiserver.sh"
e2e_begin nodeauth
# shellcheck disable=SC2034 # read by k
K_FLAGS=(--request-timeout=30s)
e2e_server_start "$BIN" --cluster-cidr 10.244.0.0/16 "$@"
D=$WORK/data
CA=$D/pki/ca.crt

# curl with a bearer token: METHOD PATH TOKEN [BODY]; prints the body then the code
tc() {
	local m=$1 p=$2 t=$3
	shift 3
	curl -sS --cacert "$CA" -X "$m" -H "Authorization: Bearer $t" \
		-H 'Content-Type: application/json' -w '\n%{http_code}\n' "$@" "$S$p"
}
# a kubeconfig for a bearer token
token_kubeconfig() {
	KUBECONFIG=$2 "$K" config set-cluster drover --server "$S" --certificate-authority "$CA" \
		--embed-certs >/dev/null &&
		KUBECONFIG=$2 "$K" config set-credentials boot --token "$1" >/dev/null &&
		KUBECONFIG=$2 "$K" config set-context boot --cluster drover --user boot >/dev/null &&
		KUBECONFIG=$2 "$K" config use-context boot >/dev/null
}

# ---- 1. bootstrap tokens ----

ok "token create" "$BIN" token create --data-dir "$D" --description "join n1" --ttl 2h
matches '^[a-z0-9]{6}\.[a-z0-9]{16}$'
TOK=$(cat "$OUT")
TID=${TOK%%.*}
ok "token create --kubeconfig" "$BIN" token create --kubeconfig "$KUBECONFIG" --ttl 0
TOK2=$(cat "$OUT")
bad "token create --ttl bad" "$BIN" token create --data-dir "$D" --ttl 3x
has '--ttl: "3x" is not a duration'
bad "token create --groups bad" "$BIN" token create --data-dir "$D" --groups system:masters
has 'each group must begin with system:bootstrappers:'
bad "token create without a server" "$BIN" token create --data-dir "$WORK/nothing"
ok "token list" "$BIN" token list --data-dir "$D"
has "$TOK"
has "join n1"
has "authentication,signing"
has "system:bootstrappers:drover:default-node-token"
has "${TOK2%%.*}"
has "<forever>"
ok "the token's Secret" k get secret -n kube-system "bootstrap-token-$TID" -o json
has '"type": "bootstrap.kubernetes.io/token"'
ok "the token's fields" sh -c "\"$K\" get secret -n kube-system bootstrap-token-$TID -o json |
	jq -r '.data | to_entries[] | \"\(.key)=\(.value | @base64d)\"'"
has "token-id=$TID"
has "token-secret=${TOK#*.}"
has "usage-bootstrap-authentication=true"
has "auth-extra-groups=system:bootstrappers:drover:default-node-token"
matches '^expiration=20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$'

# authentication
ok "bootstrap token: discovery" tc GET /api "$TOK"
has '"kind":"APIVersions"'
ok "bootstrap token: list pods forbidden" tc GET /api/v1/namespaces/default/pods "$TOK"
has "pods is forbidden: User \\\"system:bootstrap:$TID\\\" cannot list resource \\\"pods\\\" in API group \\\"\\\" in the namespace \\\"default\\\""
has 403
ok "unknown token: 401" tc GET /api/v1/namespaces/default/pods "abcdef.0123456789abcdef"
has '"reason":"Unauthorized"'
has 401
ok "wrong secret: 401" tc GET /api "$TID.0123456789abcdef"
has 401
ok "not a token: 401" tc GET /api "abc"
has 401
# an expired token (expiration in the past, written by hand)
EXP=$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%SZ | base64 -w0)
ok "an expired token" k create -f - <<YAML
apiVersion: v1
kind: Secret
metadata: {name: bootstrap-token-expire, namespace: kube-system}
type: bootstrap.kubernetes.io/token
data:
  token-id: $(printf expire | base64 -w0)
  token-secret: $(printf 0123456789abcdef | base64 -w0)
  expiration: $EXP
  usage-bootstrap-authentication: $(printf true | base64 -w0)
YAML
ok "expired token: 401" tc GET /api "expire.0123456789abcdef"
has 401
token_kubeconfig "$TOK" "$WORK/boot.kubeconfig"
bad "kubectl with the token: get pods" env KUBECONFIG="$WORK/boot.kubeconfig" "$K" get pods
has "Error from server (Forbidden): pods is forbidden: User \"system:bootstrap:$TID\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
bad "kubectl with the token: delete service" env KUBECONFIG="$WORK/boot.kubeconfig" "$K" delete service kubernetes
has "services \"kubernetes\" is forbidden: User \"system:bootstrap:$TID\" cannot delete resource \"services\" in API group \"\" in the namespace \"default\""

# ---- 2. CertificateSigningRequests: approved and signed ----

BK=(env KUBECONFIG="$WORK/boot.kubeconfig" "$K")
# a CSR of subject "$1" with usages "$2" (YAML list) named $3, the key in $WORK/$3.key
csr_yaml() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$WORK/$3.key" -subj "$1" -out "$WORK/$3.csr" 2>/dev/null || return 1
	cat <<YAML
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {name: $3}
spec:
  signerName: kubernetes.io/kube-apiserver-client-kubelet
  usages: $2
  username: somebody-else
  request: $(base64 -w0 "$WORK/$3.csr")
YAML
}
# wait until `kubectl get csr $1` shows condition $2 (30 s)
csr_wait() {
	local i
	for i in $(seq 300); do
		[ "$(k get csr "$1" -o jsonpath='{range .status.conditions[*]}{.type},{end}')$(k get csr "$1" -o jsonpath='{.status.certificate}' | head -c 1)" != '' ] &&
			k get csr "$1" --no-headers | grep -q "$2" && return 0
		sleep 0.1
	done
	k get csr "$1" -o yaml
	return 1
}
ok "csr with the wrong organization (bootstrap token)" sh -c "$(declare -f csr_yaml); csr_yaml /O=evil/CN=system:node:n9 '[digital signature, client auth]' n9 | $(printf '%q ' "${BK[@]}") create -f -"
ok "csr of n1 (bootstrap token)" sh -c "$(declare -f csr_yaml); WORK=$WORK; csr_yaml /O=system:nodes/CN=system:node:n1 '[digital signature, key encipherment, client auth]' n1 | $(printf '%q ' "${BK[@]}") create -f -"
has "certificatesigningrequest.certificates.k8s.io/n1 created"
ok "the bootstrapper reads its CSR" "${BK[@]}" get csr n1 -o jsonpath='{.spec.username} {.spec.groups}'
has "system:bootstrap:$TID [\"system:bootstrappers\",\"system:bootstrappers:drover:default-node-token\",\"system:authenticated\"]"
bad "the bootstrapper cannot delete it" "${BK[@]}" delete csr n1
has "certificatesigningrequests.certificates.k8s.io \"n1\" is forbidden: User \"system:bootstrap:$TID\" cannot delete resource \"certificatesigningrequests\" in API group \"certificates.k8s.io\" at the cluster scope"
bad "the bootstrapper cannot approve a CSR" "${BK[@]}" certificate approve n9
has "cannot update resource \"certificatesigningrequests/approval\""
ok "n1 approved and issued" csr_wait n1 'Approved,Issued'
ok "kubectl get csr" k get csr n1
matches "^n1 +[0-9]+s +kubernetes.io/kube-apiserver-client-kubelet +system:bootstrap:$TID +<none> +Approved,Issued$"
ok "the approval condition" k get csr n1 -o jsonpath='{.status.conditions[0].type}/{.status.conditions[0].reason}/{.status.conditions[0].message}'
has "Approved/AutoApproved/Auto approving kubelet client certificate after SubjectAccessReview."
k get csr n1 -o jsonpath='{.status.certificate}' | base64 -d >"$WORK/n1.crt"
ok "the certificate verifies against the cluster CA" openssl verify -CAfile "$CA" "$WORK/n1.crt"
ok "its subject and usages" openssl x509 -in "$WORK/n1.crt" -noout -subject -ext keyUsage,extendedKeyUsage
has "O = system:nodes, CN = system:node:n1"
has "TLS Web Client Authentication"
has "Digital Signature, Key Encipherment"
ok "n9 (O=evil) is not approved" k get csr n9 --no-headers
matches ' Pending$'
# an administrator approves a CSR the kubelet signer must refuse
ok "a server-auth CSR" sh -c "$(declare -f csr_yaml); WORK=$WORK; csr_yaml /O=system:nodes/CN=system:node:n8 '[digital signature, server auth]' n8 | $(printf '%q ' "$K") create -f -"
ok "approved by hand" k certificate approve n8
ok "n8 failed" csr_wait n8 'Approved,Failed'
ok "the failure" k get csr n8 -o jsonpath='{.status.conditions[1].reason}: {.status.conditions[1].message}'
has "SignerValidationFailure: usages did not match [client auth digital signature key encipherment]"
bad "a CSR that is no CSR" k create -f - <<YAML
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata: {name: junk}
spec: {signerName: kubernetes.io/kube-apiserver-client-kubelet, usages: [client auth], request: $(printf junk | base64 -w0)}
YAML
has 'spec.request: Invalid value'
has 'PEM block type must be CERTIFICATE REQUEST'

# ---- 3. the node's identity: Node authorizer + NodeRestriction ----

NK=(env KUBECONFIG="$WORK/n1.kubeconfig" "$K" --request-timeout=30s)
KUBECONFIG=$WORK/n1.kubeconfig "$K" config set-cluster drover --server "$S" --certificate-authority "$CA" --embed-certs >/dev/null
KUBECONFIG=$WORK/n1.kubeconfig "$K" config set-credentials n1 --client-certificate "$WORK/n1.crt" --client-key "$WORK/n1.key" --embed-certs >/dev/null
KUBECONFIG=$WORK/n1.kubeconfig "$K" config set-context n1 --cluster drover --user n1 >/dev/null
KUBECONFIG=$WORK/n1.kubeconfig "$K" config use-context n1 >/dev/null
# curl as n1 (its certificate): METHOD PATH BODY; prints the body then the code. A merge
# patch of a status, as the kubelet sends it (kubectl patch --subresource=status would read
# the status first, which Kubernetes' node rules do not allow either)
ncurl() {
	curl -sS --cacert "$CA" --cert "$WORK/n1.crt" --key "$WORK/n1.key" -X "$1" \
		-H 'Content-Type: application/merge-patch+json' -d "$3" -w '\n%{http_code}\n' "$S$2"
}
node_yaml() { printf 'apiVersion: v1\nkind: Node\nmetadata: {name: %s, labels: {kubernetes.io/hostname: %s}}\n' "$1" "$1"; }
ok "n1 creates its Node" sh -c "$(declare -f node_yaml); node_yaml n1 | $(printf '%q ' "${NK[@]}") create -f -"
has "node/n1 created"
bad "n1 cannot create Node n2" sh -c "$(declare -f node_yaml); node_yaml n2 | $(printf '%q ' "${NK[@]}") create -f -"
has 'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"'
ok "the admin creates Node n2" sh -c "$(declare -f node_yaml); node_yaml n2 | $(printf '%q ' "$K") create -f -"
ok "n1 reports its status" ncurl PATCH /api/v1/nodes/n1/status '{"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"ok"}]}}'
has 200
ok "the status is written" k get node n1 --no-headers
matches '^n1 +Ready '
bad "n1 cannot read its status subresource (as in Kubernetes)" "${NK[@]}" get --raw /api/v1/nodes/n1/status
has 'nodes "n1" is forbidden: User "system:node:n1" cannot get resource "nodes/status" in API group "" at the cluster scope'
bad "n1 cannot patch Node n2" "${NK[@]}" patch node n2 --type=merge -p '{"metadata":{"labels":{"x":"y"}}}'
has 'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"'
ok "n1 cannot patch the status of Node n2" ncurl PATCH /api/v1/nodes/n2/status '{"status":{"phase":"Running"}}'
has 403
has 'nodes \"n2\" is forbidden: node \"n1\" is not allowed to modify node \"n2\"'
bad "n1 cannot delete its Node" "${NK[@]}" delete node n1
has 'nodes "n1" is forbidden: User "system:node:n1" cannot delete resource "nodes" in API group "" at the cluster scope'
lease_yaml() { printf 'apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: %s, namespace: %s}\nspec: {holderIdentity: %s, leaseDurationSeconds: 40}\n' "$1" "$2" "$1"; }
ok "n1 creates its Lease" sh -c "$(declare -f lease_yaml); lease_yaml n1 kube-node-lease | $(printf '%q ' "${NK[@]}") create -f -"
ok "n1 renews its Lease" "${NK[@]}" -n kube-node-lease patch lease n1 --type=merge -p "{\"spec\":{\"renewTime\":\"$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)\"}}"
bad "n1 cannot create Lease n2" sh -c "$(declare -f lease_yaml); lease_yaml n2 kube-node-lease | $(printf '%q ' "${NK[@]}") create -f -"
has 'leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the requesting node'
bad "n1 cannot get Lease n2" "${NK[@]}" -n kube-node-lease get lease n2
has 'leases.coordination.k8s.io "n2" is forbidden: User "system:node:n1" cannot get resource "leases" in API group "coordination.k8s.io" in the namespace "kube-node-lease": can only access node lease with the same name as the requesting node'
bad "n1 cannot list Leases" "${NK[@]}" -n kube-node-lease get leases
has 'can only get, create, update, patch, or delete a node lease'
bad "n1 cannot write a Lease elsewhere" sh -c "$(declare -f lease_yaml); lease_yaml n1 default | $(printf '%q ' "${NK[@]}") create -f -"
has 'can only access leases in the "kube-node-lease" system namespace'
pod_yaml() { printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec: {nodeName: %s, containers: [{name: c, image: busybox}]}\n' "$1" "$2"; }
ok "pods bound to n1 and n2" sh -c "$(declare -f pod_yaml); { pod_yaml p1 n1; echo ---; pod_yaml p2 n2; } | $(printf '%q ' "$K") create -f -"
ok "n1 lists pods" "${NK[@]}" get pods
has p1
ok "n1 updates the status of its pod" ncurl PATCH /api/v1/namespaces/default/pods/p1/status '{"status":{"phase":"Running"}}'
has 200
ok "the status is written" k get pod p1 -o jsonpath='{.status.phase}'
has Running
ok "n1 cannot update the status of n2's pod" ncurl PATCH /api/v1/namespaces/default/pods/p2/status '{"status":{"phase":"Running"}}'
has 403
has 'pods \"p2\" is forbidden: node \"n1\" can only update pod status for pods with spec.nodeName set to itself'
bad "n1 cannot delete n2's pod" "${NK[@]}" delete pod p2 --wait=false
has 'pods "p2" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself'
bad "n1 cannot create a pod" sh -c "$(declare -f pod_yaml); pod_yaml p3 n1 | $(printf '%q ' "${NK[@]}") create -f -"
has 'pods "p3" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods'
bad "n1 cannot change a pod's spec" "${NK[@]}" label pod p1 a=b
has 'pods "p1" is forbidden: User "system:node:n1" cannot patch resource "pods" in API group "" in the namespace "default"'
bad "n1 cannot delete a Service" "${NK[@]}" delete service kubernetes
has 'services "kubernetes" is forbidden: User "system:node:n1" cannot delete resource "services" in API group "" in the namespace "default"'
ok "n1 reads Services" "${NK[@]}" get services
has kubernetes
bad "n1 cannot create a Deployment" "${NK[@]}" create deployment d --image=busybox
has 'deployments.apps is forbidden: User "system:node:n1" cannot create resource "deployments" in API group "apps" in the namespace "default"'
ok "n1 creates an Event" "${NK[@]}" create -f - <<YAML
apiVersion: v1
kind: Event
metadata: {name: n1.started}
involvedObject: {kind: Node, name: n1}
reason: Starting
message: kubelet started
type: Normal
YAML
ok "n1 reads discovery" "${NK[@]}" api-resources --api-group=coordination.k8s.io
has leases

# ---- 4. podCIDRs ----

# wait until $1 (a command) prints $2 (30 s)
wait_for() {
	local i
	for i in $(seq 300); do
		[ "$(eval "$1" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.1
	done
	echo "still: $(eval "$1" 2>&1)"
	return 1
}
ok "n1 got 10.244.0.0/24" wait_for "k get node n1 -o jsonpath='{.spec.podCIDR} {.spec.podCIDRs}'" '10.244.0.0/24 ["10.244.0.0/24"]'
ok "n2 got 10.244.1.0/24" wait_for "k get node n2 -o jsonpath='{.spec.podCIDR}'" 10.244.1.0/24
ok "n3 got 10.244.2.0/24" sh -c "$(declare -f node_yaml); node_yaml n3 | $(printf '%q ' "$K") create -f -"
ok "n3 got 10.244.2.0/24" wait_for "k get node n3 -o jsonpath='{.spec.podCIDR}'" 10.244.2.0/24
bad "--cluster-cidr that is none" "$BIN" server --data-dir "$WORK/x" --cluster-cidr 10.244.0.0
has '--cluster-cidr: "10.244.0.0" is not an IPv4 CIDR'
bad "--node-cidr-mask-size shorter than the cluster CIDR" "$BIN" server --data-dir "$WORK/x" --cluster-cidr 10.244.0.0/16 --node-cidr-mask-size 8
has 'does not cut --cluster-cidr'

# a small range: two /31 of a /30, on a server of its own (restarted on the same data)
E=$WORK/e
small() {
	api_server_start "$BIN" "$E" "$WORK/e.log" --cluster-cidr 10.250.0.0/30 --node-cidr-mask-size 31 || exit 1
	PIDS+=("$API_PID")
	EK=(env KUBECONFIG="$E/kubeconfig" "$K" --request-timeout=30s)
}
small
ok "nodes a, b, c" sh -c "$(declare -f node_yaml); { node_yaml a; echo ---; node_yaml b; echo ---; node_yaml c; } | $(printf '%q ' "${EK[@]}") create -f -"
ok "a got 10.250.0.0/31" wait_for "${EK[*]} get node a -o jsonpath='{.spec.podCIDR}'" 10.250.0.0/31
ok "b got 10.250.0.2/31" wait_for "${EK[*]} get node b -o jsonpath='{.spec.podCIDR}'" 10.250.0.2/31
ok "c: CIDRNotAvailable" wait_for "${EK[*]} get events --field-selector involvedObject.name=c -o jsonpath='{.items[0].reason}/{.items[0].type}/{.items[0].message}'" 'CIDRNotAvailable/Normal/Node c status is now: CIDRNotAvailable'
ok "c has none" "${EK[@]}" get node c -o jsonpath='{.spec.podCIDR}.'
has '.'
lacks '10.250'
kill "$API_PID"
wait "$API_PID" 2>/dev/null
small
ok "after a restart, the taken subnets are known" wait_for "${EK[*]} get events --field-selector involvedObject.name=c,reason=CIDRNotAvailable -o json | jq '[.items[] | .count // 1] | add'" 2
ok "c still has none" "${EK[@]}" get node c -o jsonpath='{.spec.podCIDR}.'
lacks '10.250'
ok "delete a" "${EK[@]}" delete node a
ok "c got a's subnet" wait_for "${EK[*]} get node c -o jsonpath='{.spec.podCIDR}'" 10.250.0.0/31

e2e_end
