#!/usr/bin/env bash
# agent_satoken.sh: ServiceAccount tokens in pods, end to end (the node of lib.sh, the real
# kubectl, the agent joined with a bootstrap token so that it acts with its own node
# credentials). `drover server` runs the ServiceAccount admission plugin by default: a pod of
# service account robot gets the kube-api-access-XXXXX projected volume, and its container
# reads /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace} (the atomic
# writer's ..data layout, mode 0644 from defaultMode 420); the token is the kubelet's
# TokenRequest bound to the pod (claims kubernetes.io.pod name/uid) and authenticates as
# system:serviceaccount:NS:robot: 403 listing pods, 200 once a RoleBinding grants view; a second
# serviceAccountToken source with an audience and 600 s has both in its claims. The node may
# not have tokens for an account none of its pods runs as (Node authorizer) nor unbound ones
# (NodeRestriction). automountServiceAccountToken false on the pod or on its account: no
# volume. Once the pod is deleted its token no longer authenticates (401).
set -uo pipefail
E2E_TAG=drvsa
# shellcheck source=tests/e2e/agent/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

NODEKC=$WORK/node.kubeconfig
# start_agent (lib.sh's, redefined): the agent joins with a bootstrap token (TLS bootstrap:
# its client certificate is system:node:NAME), so its TokenRequests are a node's
start_agent() {
	local tok server
	tok=$(innode "$BIN" token create --kubeconfig "$KUBECONFIG" --ttl 1h 2>>"$WORK/agent.log" | tail -1)
	server=$(innode kubectl config view --minify -o 'jsonpath={.clusters[0].cluster.server}')
	KUBECONFIG=$WORK/boot.kubeconfig kubectl config set-cluster d --server "$server" \
		--certificate-authority "$WORK/data/pki/ca.crt" --embed-certs >/dev/null
	KUBECONFIG=$WORK/boot.kubeconfig kubectl config set-credentials b --token "$tok" >/dev/null
	KUBECONFIG=$WORK/boot.kubeconfig kubectl config set-context b --cluster d --user b >/dev/null
	KUBECONFIG=$WORK/boot.kubeconfig kubectl config use-context b >/dev/null
	nsenter --net="/run/netns/$NODE" "$BIN" agent --kubeconfig "$NODEKC" \
		--bootstrap-kubeconfig "$WORK/boot.kubeconfig" --node "$NODENAME" --root "$WORK/root" \
		--image-root "$WORK/images" --cgroup-parent "$CGP" "${AGENT_FLAGS[@]}" \
		>>"$WORK/agent.log" 2>&1 &
	AGENT_PID=$!
}
node_up
SERVER=$(k config view --minify -o 'jsonpath={.clusters[0].cluster.server}')
NS=sat

# the payload of a JWT, decoded
claims() {
	local p
	p=$(printf '%s' "$1" | cut -d. -f2 | tr '_-' '/+')
	while [ $((${#p} % 4)) -ne 0 ]; do p="$p="; done
	printf '%s' "$p" | base64 -d 2>/dev/null
}
# curl_as TOKEN CA PATH: the HTTP code, the body in $WORK/body
curl_as() {
	innode curl -sS -o "$WORK/body" -w '%{http_code}' --cacert "$2" \
		-H "Authorization: Bearer $1" "$SERVER$3"
}

k create namespace "$NS" >/dev/null || fail "namespace"
cat >"$WORK/sat.yaml" <<YAML
apiVersion: v1
kind: ServiceAccount
metadata: {name: robot, namespace: $NS}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: quiet, namespace: $NS}
automountServiceAccountToken: false
---
apiVersion: v1
kind: Pod
metadata: {name: reader, namespace: $NS}
spec:
  serviceAccountName: robot
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "d=/var/run/secrets/kubernetes.io/serviceaccount; echo ns=\$(cat \$d/namespace); echo mode=\$(stat -L -c %a \$d/token); echo link=\$(readlink \$d/token); echo token=\$(cat \$d/token); echo vault=\$(cat /vault/vt); cat \$d/ca.crt; exec sleep 3600"]
    volumeMounts:
    - {name: vault, mountPath: /vault}
  volumes:
  - name: vault
    projected:
      sources:
      - serviceAccountToken: {audience: vault, expirationSeconds: 600, path: vt}
---
apiVersion: v1
kind: Pod
metadata: {name: nomount, namespace: $NS}
spec:
  serviceAccountName: robot
  automountServiceAccountToken: false
  containers:
  - {name: c, image: busybox, command: ["sleep", "3600"]}
---
apiVersion: v1
kind: Pod
metadata: {name: quietpod, namespace: $NS}
spec:
  serviceAccountName: quiet
  containers:
  - {name: c, image: busybox, command: ["sleep", "3600"]}
YAML
# the default service account of the new namespace (the admission plugin waits for it 2 s)
wait_for "default service account" k -n "$NS" get serviceaccount default
k apply -f "$WORK/sat.yaml" >/dev/null || fail "apply"

# ---- admission: the kube-api-access volume, or none ----
vols=$(k -n "$NS" get pod reader -o 'jsonpath={.spec.volumes[*].name} {.spec.containers[0].volumeMounts[*].mountPath}')
[[ $vols =~ ^vault\ kube-api-access-[a-z0-9]{5}\ /vault\ /var/run/secrets/kubernetes.io/serviceaccount$ ]] &&
	ok "reader has the kube-api-access volume" || fail "reader's volumes: $vols"
for p in nomount quietpod; do
	vols=$(k -n "$NS" get pod "$p" -o 'jsonpath={.spec.volumes[*].name}')
	[ -z "$vols" ] && ok "$p: automountServiceAccountToken false, no volume" ||
		fail "$p has volumes: $vols"
done

# ---- the container reads its token, CA and namespace ----
reader_logs() { k -n "$NS" logs reader 2>&1 | grep -q 'END CERTIFICATE'; }
if ! wait_for "reader prints its files" reader_logs; then
	k -n "$NS" describe pod reader | tail -15 >&2
	tail -20 "$WORK/agent.log" >&2
	exit 1
fi
k -n "$NS" logs reader >"$WORK/reader.log"
grep -qx "ns=$NS" "$WORK/reader.log" && ok "namespace file" || fail "namespace: $(grep ^ns= "$WORK/reader.log")"
grep -qx "mode=644" "$WORK/reader.log" && ok "token mode 0644" || fail "token $(grep ^mode= "$WORK/reader.log")"
grep -qx "link=..data/token" "$WORK/reader.log" && ok "token through ..data" || fail "token $(grep ^link= "$WORK/reader.log")"
sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' "$WORK/reader.log" >"$WORK/pod-ca.crt"
cmp -s "$WORK/pod-ca.crt" "$WORK/data/pki/ca.crt" && ok "ca.crt is the server's CA" || fail "ca.crt differs"
TOKEN=$(sed -n 's/^token=//p' "$WORK/reader.log")
VAULT=$(sed -n 's/^vault=//p' "$WORK/reader.log")
UID_R=$(k -n "$NS" get pod reader -o 'jsonpath={.metadata.uid}')
C=$(claims "$TOKEN")
[[ $C == *"\"pod\":{\"name\":\"reader\",\"uid\":\"$UID_R\"}"* && $C == *"\"sub\":\"system:serviceaccount:$NS:robot\""* ]] &&
	ok "token bound to the pod" || fail "token claims: $C"
C=$(claims "$VAULT")
iat=$(printf '%s' "$C" | sed -n 's/.*"iat":\([0-9]*\).*/\1/p')
exp=$(printf '%s' "$C" | sed -n 's/.*"exp":\([0-9]*\).*/\1/p')
[[ $C == *'"aud":["vault"]'* ]] && [ $((exp - iat)) -eq 600 ] &&
	ok "second source: audience vault, 600 s" || fail "vault token claims: $C"

# ---- the token authenticates as the service account ----
code=$(curl_as "$TOKEN" "$WORK/pod-ca.crt" "/api/v1/namespaces/$NS/pods")
[ "$code" = 403 ] && grep -q "User \\\\\"system:serviceaccount:$NS:robot\\\\\" cannot list resource \\\\\"pods\\\\\"" "$WORK/body" &&
	ok "403 without RBAC, as system:serviceaccount:$NS:robot" || fail "list pods: $code $(cat "$WORK/body")"
k -n "$NS" create rolebinding robot-view --clusterrole=view --serviceaccount="$NS:robot" >/dev/null ||
	fail "rolebinding"
code=$(curl_as "$TOKEN" "$WORK/pod-ca.crt" "/api/v1/namespaces/$NS/pods")
[ "$code" = 200 ] && grep -q '"kind":"PodList"' "$WORK/body" && ok "200 after the RoleBinding" ||
	fail "list pods after the RoleBinding: $code $(head -c 300 "$WORK/body")"
code=$(curl_as "$VAULT" "$WORK/pod-ca.crt" "/api/v1/namespaces/$NS/pods")
[ "$code" = 401 ] && ok "the vault audience's token is not the API's (401)" || fail "vault token: $code"

# ---- what the node itself may ask for ----
if grep -q "client-certificate" "$NODEKC" 2>/dev/null || grep -q "client-certificate-data" "$NODEKC"; then
	kn() { innode kubectl --kubeconfig "$NODEKC" "$@"; }
	out=$(kn -n "$NS" create token default --bound-object-kind Pod --bound-object-name reader 2>&1)
	[[ $out == *"no relationship found between node '$NODENAME' and this object"* ]] &&
		ok "node: no token for an account none of its pods runs as" || fail "node token for default: $out"
	out=$(kn -n "$NS" create token robot 2>&1)
	[[ $out == *"node requested token not bound to a pod"* ]] &&
		ok "node: no unbound token" || fail "node unbound token: $out"
else
	fail "the agent has no node certificate in $NODEKC"
fi

# ---- the pod gone, its token with it ----
k -n "$NS" delete pod reader --grace-period=1 --wait=false >/dev/null
gone() { ! k -n "$NS" get pod reader >/dev/null 2>&1; }
wait_for "reader deleted" gone
code=$(curl_as "$TOKEN" "$WORK/pod-ca.crt" "/api/v1/namespaces/$NS/pods")
[ "$code" = 401 ] && ok "the deleted pod's token: 401" || fail "deleted pod's token: $code $(head -c 200 "$WORK/body")"

[ "$FAILS" -eq 0 ] || { echo "$FAILS check(s) failed" >&2; exit 1; }
echo "agent_satoken: all checks passed"
