#!/usr/bin/env bash
# rollout.sh: the real kubectl (1.32) drives a Deployment through `drover server
# --insecure-loopback` on a free port, with the server's scheduler and controllers, one
# hand-made Node, and a kubelet stand-in of this script (curl: pods bound to the node made
# Running and Ready, pods being deleted finished): `kubectl get deploy` columns, `kubectl
# rollout status|history|undo|restart|pause|resume`, `kubectl describe deploy`, `kubectl get
# events`, each checked against what kubectl prints against Kubernetes. Every process it
# starts is stopped by PID and its temporary directory removed, also when a check fails.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${DROVER_SOURCE_DIR:-$HERE/../../..}
BIN=${DROVER_BIN:-$SRC/build/userspace/cli}/drover
K=$(command -v kubectl)
for t in "$K" curl jq; do
	command -v "$t" >/dev/null || { echo "rollout.sh needs $t" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/drover-e2e-rollout.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
export HOME=$WORK/home KUBECONFIG=$WORK/data/kubeconfig
mkdir -p "$HOME" "$WORK/data"

# the Nodes here are made by hand and renew no Lease: without the node lifecycle
# controller (tests/e2e/control runs it, with simulated nodes that renew theirs)
"$BIN" server --data-dir "$WORK/data" --insecure-loopback --listen 127.0.0.1:0 \
	--controllers '*,-nodelifecycle' >"$WORK/server.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 400); do
	[ -s "$KUBECONFIG" ] && break
	sleep 0.05
done
S=$(sed -n 's|.*server: \(http://127.0.0.1:[0-9]*\)$|\1|p' "$KUBECONFIG")
if [ -z "$S" ]; then
	cat "$WORK/server.log" >&2
	echo "drover server did not start (log above)" >&2
	exit 1
fi

FAILS=0 CHECKS=0
OUT=$WORK/out
fail() {
	FAILS=$((FAILS + 1))
	echo "FAIL $CHECK: $*" >&2
	sed 's/^/    | /' "$OUT" >&2
}
run() {
	CHECK=$1
	shift
	CHECKS=$((CHECKS + 1))
	"$@" >"$OUT" 2>&1
	RC=$?
}
ok() { run "$@"; [ $RC -eq 0 ] || fail "exit code $RC"; }
bad() { run "$@"; [ $RC -ne 0 ] || fail "succeeded, expected a failure"; }
has() { grep -qE -- "$1" "$OUT" || fail "output lacks: $1"; }
k() { "$K" --request-timeout=30s "$@"; }

# ---- the node and its kubelet stand-in ----

k create -f - >/dev/null <<'EOF' || { echo "cannot create the node" >&2; exit 1; }
apiVersion: v1
kind: Node
metadata:
  name: n1
  labels: {kubernetes.io/hostname: n1}
status:
  capacity: {cpu: "8", memory: 32Gi, pods: "110"}
  allocatable: {cpu: "8", memory: 32Gi, pods: "110"}
  conditions:
  - {type: Ready, status: "True", reason: KubeletReady, message: kubelet is posting ready status}
EOF

kubelet_round() {
	local now
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	curl -sf "$S/api/v1/pods?fieldSelector=spec.nodeName%3Dn1" |
		jq -r '.items[] | [.metadata.namespace, .metadata.name,
			(.metadata.deletionTimestamp // "-"),
			([.status.conditions[]? | select(.type == "Ready") | .status][0] // "-"),
			.spec.containers[0].name] | @tsv' |
		while IFS=$'\t' read -r ns name del ready ctr; do
			if [ "$del" != - ]; then
				curl -sf -X DELETE \
					"$S/api/v1/namespaces/$ns/pods/$name?gracePeriodSeconds=0" >/dev/null
			elif [ "$ready" != True ]; then
				curl -sf -X PATCH -H 'Content-Type: application/merge-patch+json' \
					"$S/api/v1/namespaces/$ns/pods/$name/status" -d '{"status":{
				"phase":"Running","podIP":"10.244.0.9","startTime":"'"$now"'",
				"conditions":[{"type":"PodScheduled","status":"True"},
				{"type":"Initialized","status":"True"},
				{"type":"ContainersReady","status":"True"},
				{"type":"Ready","status":"True","lastTransitionTime":"'"$now"'"}],
				"containerStatuses":[{"name":"'"$ctr"'","ready":true,"started":true,
				"restartCount":0,"image":"x","imageID":"",
				"state":{"running":{"startedAt":"'"$now"'"}}}]}}' >/dev/null
			fi
		done
}
(while :; do
	kubelet_round
	sleep 0.2
done) >/dev/null 2>&1 &
PIDS+=($!)

# ---- create, status, get ----

ok create k create deployment web --image=nginx:1.25 --replicas=3
ok "rollout status" k rollout status deploy/web --timeout=60s
has 'deployment "web" successfully rolled out'
ok "get deploy" k get deploy web
has '^NAME +READY +UP-TO-DATE +AVAILABLE +AGE$'
has '^web +3/3 +3 +3 +'
ok "get rs" k get rs -l app=web
has '^web-[4-9bcdf]+ +3 +3 +3 +'
ok "pod names" k get pods -l app=web -o name
has '^pod/web-[4-9bcdf]+-[a-z0-9]{5}$'

# ---- a rolling update, history ----

ok "set image" k set image deploy/web nginx=nginx:1.26
ok "change-cause" k annotate deploy/web kubernetes.io/change-cause="image 1.26"
ok "rollout status 2" k rollout status deploy/web --timeout=60s
has 'successfully rolled out'
ok "history" k rollout history deploy/web
has '^REVISION +CHANGE-CAUSE$'
has '^1 +<none>$'
has '^2 +image 1.26$'
ok "history revision" k rollout history deploy/web --revision=2
has 'with revision #2'
has 'Image:.*nginx:1.26'
ok describe k describe deploy web
has '^Annotations: +deployment.kubernetes.io/revision: 2'
has '^Replicas: +3 desired \| 3 updated \| 3 total \| 3 available \| 0 unavailable$'
has '^RollingUpdateStrategy: +25% max unavailable, 25% max surge$'
has '^ +Available +True +MinimumReplicasAvailable$'
has '^ +Progressing +True +NewReplicaSetAvailable$'
has '^OldReplicaSets: +web-[4-9bcdf]+ \(0/0 replicas created\)$'
has '^NewReplicaSet: +web-[4-9bcdf]+ \(3/3 replicas created\)$'
has 'ScalingReplicaSet +[0-9a-z]+ +deployment-controller +Scaled up replica set web-[4-9bcdf]+ to 3$'
has 'Scaled down replica set web-[4-9bcdf]+ to 0 from 1$'
ok events k get events
has 'replicaset/web-[4-9bcdf]+ +Created pod: web-[4-9bcdf]+-[a-z0-9]{5}$'
has 'deployment/web +Scaled up replica set web-[4-9bcdf]+ to 1$'

# ---- undo, restart ----

ok undo k rollout undo deploy/web
has 'deployment.apps/web rolled back'
ok "rollout status 3" k rollout status deploy/web --timeout=60s
ok "image after undo" k get deploy web -o 'jsonpath={.spec.template.spec.containers[0].image}'
has '^nginx:1.25$'
ok "history 3" k rollout history deploy/web
has '^2 +image 1.26$'
has '^3 +<none>$'
ok "revision-history" k get rs -l app=web -o \
	'jsonpath={range .items[*]}{.metadata.annotations.deployment\.kubernetes\.io/revision-history}{"\n"}{end}'
has '^1$'
ok "undo again" k rollout undo deploy/web --to-revision=3
has 'skipped rollback \(current template already matches revision 3\)'
ok restart k rollout restart deploy/web
has 'deployment.apps/web restarted'
ok "rollout status 4" k rollout status deploy/web --timeout=60s
ok "history 4" k rollout history deploy/web
has '^4 +<none>$'

# ---- pause, resume ----

ok pause k rollout pause deploy/web
ok "paused image" k set image deploy/web nginx=nginx:1.27
ok "paused condition" k wait deploy/web --for=jsonpath='{.status.conditions[?(@.type=="Progressing")].reason}'=DeploymentPaused --timeout=30s
bad "undo paused" k rollout undo deploy/web
has "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again"
ok "paused: no rollout" k get rs -l app=web -o 'jsonpath={range .items[*]}{.spec.template.spec.containers[0].image}{"\n"}{end}'
grep -q 'nginx:1.27' "$OUT" && fail "a paused deployment rolled out"
ok resume k rollout resume deploy/web
ok "rollout status 5" k rollout status deploy/web --timeout=60s
ok "get deploy 5" k get deploy web -o wide
has '^web +3/3 +3 +3 +.* nginx:1.27 +app=web$'

# ---- scale, recreate ----

ok scale k scale deploy/web --replicas=5
ok "rollout status 6" k rollout status deploy/web --timeout=60s
ok "get deploy 6" k get deploy web
has '^web +5/5 +5 +5 +'
ok recreate k patch deploy/web -p '{"spec":{"strategy":{"type":"Recreate","rollingUpdate":null}}}'
ok "recreate image" k set image deploy/web nginx=nginx:1.28
ok "rollout status 7" k rollout status deploy/web --timeout=60s
ok "describe recreate" k describe deploy web
has '^StrategyType: +Recreate$'
has 'Scaled down replica set web-[4-9bcdf]+ to 0 from 5$'

echo "rollout.sh: $CHECKS checks, $FAILS failed"
[ "$FAILS" -eq 0 ]
