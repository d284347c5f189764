#!/usr/bin/env bash
# Pod creates through admission, this tree against a base build:
#   scripts/bench.sh api-admission (--base BASE_DROVER | --base-ref GIT_REF) [--rounds N]
#                                  [--seconds S] [--out DIR]
# Two servers side by side, this tree's drover and the base (a drover binary, or one built
# from GIT_REF in a worktree of its own under /tmp, removed after), each with the same
# objects: 20 PriorityClasses, a LimitRange in the namespace, 100 ClusterRoleBindings and 100
# RoleBindings of other users, and a ServiceAccount bound to "edit". Pods (bench/api/
# api_bench.c's) are created by 1 and 16 clients, as the admin (system:masters: no RBAC) and
# as the ServiceAccount (RBAC), the two servers taking turns round after round. Writes
# api-admission.json, .md and .svg to DIR (bench/results): median and min-max per server
# and case (bench/api/admission_report.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
args="$*"
base='' base_ref='' rounds=3 secs=3 out=$top/bench/results
while [ $# -gt 0 ]; do
	case "$1" in
	--base) base=${2:?}; shift 2 ;;
	--base-ref) base_ref=${2:?}; shift 2 ;;
	--rounds) rounds=${2:?}; shift 2 ;;
	--seconds) secs=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	*) echo "admission.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
[[ $rounds =~ ^[1-9][0-9]*$ && $secs =~ ^[1-9][0-9]*$ ]] ||
	{ echo "admission.sh: --rounds and --seconds take a positive integer" >&2; exit 2; }
if [ -n "$base_ref" ]; then
	git rev-parse --verify -q "$base_ref^{commit}" >/dev/null ||
		{ echo "admission.sh: --base-ref $base_ref: not a commit" >&2; exit 2; }
elif [ ! -x "$base" ]; then
	echo "admission.sh: --base BASE_DROVER (an executable) or --base-ref GIT_REF is needed" >&2
	exit 2
fi
say() { printf '[bench api-admission %s] %s\n' "$(date +%T)" "$*" >&2; }
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d /tmp/drover-bench-admission.XXXXXX)
pids=() base_tree=''
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	[ -z "$base_tree" ] || git worktree remove --force "$base_tree" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
say "building this tree"
cmake -S . -B build -DDROVER_WERROR=ON >/dev/null
cmake --build build -j "$(nproc)" --target drover api_bench >/dev/null
if [ -n "$base_ref" ]; then
	base_tree=$work/base-tree
	say "building the base from $base_ref in $base_tree (a few minutes)"
	git worktree add -q --detach "$base_tree" "$base_ref"
	cmake -S "$base_tree" -B "$base_tree/build" >/dev/null
	cmake --build "$base_tree/build" -j "$(nproc)" --target drover >/dev/null
	base=$base_tree/build/userspace/cli/drover
	base_desc="$base_ref ($(git rev-parse --short "$base_ref"))"
else
	base_desc=$base
fi
bench=$top/build/bench/api/api_bench
K=$(command -v kubectl)
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
total=$((rounds * 8)) n=0
for r in $(seq 1 "$rounds"); do
	for who in admin sa; do
		for c in 1 16; do
			for srv in new base; do
				port=port_$srv
				tok=$work/$srv/pki/token
				[ $who = sa ] && tok=$work/$srv/sa-token
				n=$((n + 1))
				say "run $n/$total: round $r, $srv server, as $who, $c client(s), ${secs} s"
				"$bench" --port "${!port}" --token-file "$tok" --ns bench ops --op create \
					--clients "$c" --seconds "$secs" --label "$srv-$who-$c-r$r" >>"$raw"
			done
		done
	done
done
python3 bench/api/admission_report.py "$raw" "$out" --meta "args=$args" \
	"date=$(date -u +%FT%TZ)" "commit=$(git rev-parse --short HEAD)" "base=$base_desc" \
	"machine=$(nproc) cores, $(uname -r)" "load_start=$load_start" \
	"load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
say "wrote $out/api-admission.json, .md and .svg"
