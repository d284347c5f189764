#!/usr/bin/env bash
# Pod creates through admission, with and without the admission cache (registry/reg_cache.c):
#   scripts/bench.sh api-admission --base BASE_DROVER [--rounds N] [--seconds S]
# Two servers side by side, this tree's drover and BASE_DROVER (a build of the same tree
# without the change measured), each with the same objects: 20 PriorityClasses, a LimitRange
# in the namespace, 100 ClusterRoleBindings and 100 RoleBindings of other users, and a
# ServiceAccount bound to "edit". Pods (bench/api/api_bench.c's) are created by 1 and 16
# clients, as the admin (system:masters: no RBAC) and as the ServiceAccount (RBAC), the two
# servers taking turns round after round; prints each run as JSON and a min-max table per
# server and case.
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
base='' rounds=3 secs=3
while [ $# -gt 0 ]; do
	case "$1" in
	--base) base=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--seconds) secs=$2; shift 2 ;;
	*) echo "admission.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
[ -x "$base" ] || { echo "admission.sh: --base BASE_DROVER (an executable) is needed" >&2; exit 2; }
cmake -S . -B build -DDROVER_WERROR=ON >/dev/null
cmake --build build -j "$(nproc)" --target drover api_bench >/dev/null
bench=$top/build/bench/api/api_bench
K=$(command -v kubectl)
work=$(mktemp -d /tmp/drover-bench-admission.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=../../scripts/lib/apiserver.sh
source scripts/lib/apiserver.sh

objects() {
	local i
	for i in $(seq 1 20); do
		printf 'apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: pc%d}\nvalue: %d\n---\n' "$i" "$i"
	done
	for i in $(seq 1 100); do
		printf 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: u%d-view}\n' "$i"
		printf 'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\n'
		printf 'subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: u%d}]\n---\n' "$i"
		printf 'apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: u%d-edit, namespace: bench}\n' "$i"
		printf 'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}\n'
		printf 'subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: u%d}]\n---\n' "$i"
	done
	cat <<'EOF'
apiVersion: v1
kind: LimitRange
metadata: {name: defaults, namespace: bench}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 512Mi}
    defaultRequest: {cpu: 100m, memory: 256Mi}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: bench, namespace: bench}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: bench-edit, namespace: bench}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: ServiceAccount, name: bench, namespace: bench}]
EOF
}

# start NAME BIN: a server as bench/api/bench.sh starts one, with the objects above
start() {
	local dir=$work/$1
	api_server_start "$2" "$dir" "$dir.log" --controllers "" --no-scheduler \
		--disable-admission-plugins ServiceAccount || exit 1
	pids+=("$API_PID")
	eval "port_$1=$API_PORT"
	KUBECONFIG=$dir/kubeconfig "$K" create namespace bench >/dev/null
	objects | KUBECONFIG=$dir/kubeconfig "$K" apply -f - >/dev/null
	KUBECONFIG=$dir/kubeconfig "$K" -n bench create token bench --duration=2h >"$dir/sa-token"
}
start new "$top/build/userspace/cli/drover"
start base "$base"

raw=$work/raw.jsonl
for r in $(seq 1 "$rounds"); do
	for who in admin sa; do
		for c in 1 16; do
			for srv in new base; do
				port=port_$srv
				tok=$work/$srv/pki/token
				[ $who = sa ] && tok=$work/$srv/sa-token
				"$bench" --port "${!port}" --token-file "$tok" --ns bench ops --op create \
					--clients "$c" --seconds "$secs" --label "$srv-$who-$c-r$r" | tee -a "$raw"
			done
		done
	done
done
echo
echo "machine: $(nproc) cores, $(uname -r); load before: see /proc/loadavg; $rounds rounds of $secs s"
printf '%-6s %-5s %7s  %-19s %-21s %s\n' server as clients "creates/s (min-max)" "p50 us (min-max)" errors
for who in admin sa; do
	for c in 1 16; do
		for srv in new base; do
			jq -rs --arg p "$srv-$who-$c-" '[.[] | select(.label | startswith($p))] |
				"\(map(.rate) | min | floor)-\(map(.rate) | max | floor) \(map(.p50_us) | min | floor)-\(map(.p50_us) | max | floor) \(map(.errors) | add)"' "$raw" |
				while read -r rate p50 err; do
					printf '%-6s %-5s %7s  %-19s %-21s %s\n' "$srv" "$who" "$c" "$rate" "$p50" "$err"
				done
		done
	done
done
