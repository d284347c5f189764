#!/usr/bin/env bash
# nodeauth.sh: how a node joins, server side, with the real kubectl (1.32) and curl against
# `drover server` over TLS on a free port: `drover token create|list`; a bootstrap token
# authenticates as system:bootstrap:<id> (401 when unknown or expired) and may create a
# CertificateSigningRequest and nothing else. Every process it starts is stopped by PID and
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
e2e_server_start "$BIN" "$@"
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

e2e_end
