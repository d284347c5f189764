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

# shellcheck source=../../../scripts/lib/apiserver.sh
source "$SRC/scripts/lib/apiserver.sh"
e2e_begin controllers-rollout
# shellcheck disable=SC2034 # read by k
K_FLAGS=(--request-timeout=30s)
# the Nodes here are made by hand and renew no Lease: without the node lifecycle
# controller (tests/e2e/control runs it, with simulated nodes that renew theirs)
e2e_server_start "$BIN" --insecure-loopback --controllers '*,-nodelifecycle'

# ---- the node and its kubelet stand-in ----

# shellcheck source=../../../scripts/lib/kubelet_standin.sh
source "$SRC/scripts/lib/kubelet_standin.sh"
standin_node n1
standin_kubelet n1

# ---- create, status, get ----

ok create k create deployment web --image=nginx:1.25 --replicas=3
ok "rollout status" k rollout status deploy/web --timeout=60s
matches 'deployment "web" successfully rolled out'
ok "get deploy" k get deploy web
matches '^NAME +READY +UP-TO-DATE +AVAILABLE +AGE$'
matches '^web +3/3 +3 +3 +'
ok "get rs" k get rs -l app=web
matches '^web-[4-9bcdf]+ +3 +3 +3 +'
ok "pod names" k get pods -l app=web -o name
matches '^pod/web-[4-9bcdf]+-[a-z0-9]{5}$'

# ---- a rolling update, history ----

ok "set image" k set image deploy/web nginx=nginx:1.26
ok "change-cause" k annotate deploy/web kubernetes.io/change-cause="image 1.26"
ok "rollout status 2" k rollout status deploy/web --timeout=60s
matches 'successfully rolled out'
ok "history" k rollout history deploy/web
matches '^REVISION +CHANGE-CAUSE$'
matches '^1 +<none>$'
matches '^2 +image 1.26$'
ok "history revision" k rollout history deploy/web --revision=2
matches 'with revision #2'
matches 'Image:.*nginx:1.26'
ok describe k describe deploy web
matches '^Annotations: +deployment.kubernetes.io/revision: 2'
matches '^Replicas: +3 desired \| 3 updated \| 3 total \| 3 available \| 0 unavailable$'
matches '^RollingUpdateStrategy: +25% max unavailable, 25% max surge$'
matches '^ +Available +True +MinimumReplicasAvailable$'
matches '^ +Progressing +True +NewReplicaSetAvailable$'
matches '^OldReplicaSets: +web-[4-9bcdf]+ \(0/0 replicas created\)$'
matches '^NewReplicaSet: +web-[4-9bcdf]+ \(3/3 replicas created\)$'
matches 'ScalingReplicaSet +[0-9a-z]+ +deployment-controller +Scaled up replica set web-[4-9bcdf]+ to 3$'
matches 'Scaled down replica set web-[4-9bcdf]+ to 0 from 1$'
ok events k get events
matches 'replicaset/web-[4-9bcdf]+ +Created pod: web-[4-9bcdf]+-[a-z0-9]{5}$'
matches 'deployment/web +Scaled up replica set web-[4-9bcdf]+ to 1$'

# ---- undo, restart ----

ok undo k rollout undo deploy/web
matches 'deployment.apps/web rolled back'
ok "rollout status 3" k rollout status deploy/web --timeout=60s
ok "image after undo" k get deploy web -o 'jsonpath={.spec.template.spec.containers[0].image}'
matches '^nginx:1.25$'
ok "history 3" k rollout history deploy/web
matches '^2 +image 1.26$'
matches '^3 +<none>$'
ok "revision-history" k get rs -l app=web -o \
	'jsonpath={range .items[*]}{.metadata.annotations.deployment\.kubernetes\.io/revision-history}{"\n"}{end}'
matches '^1$'
ok "undo again" k rollout undo deploy/web --to-revision=3
matches 'skipped rollback \(current template already matches revision 3\)'
ok restart k rollout restart deploy/web
matches 'deployment.apps/web restarted'
ok "rollout status 4" k rollout status deploy/web --timeout=60s
ok "history 4" k rollout history deploy/web
matches '^4 +<none>$'

# ---- pause, resume ----

ok pause k rollout pause deploy/web
ok "paused image" k set image deploy/web nginx=nginx:1.27
ok "paused condition" k wait deploy/web --for=jsonpath='{.status.conditions[?(@.type=="Progressing")].reason}'=DeploymentPaused --timeout=30s
bad "undo paused" k rollout undo deploy/web
matches "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again"
ok "paused: no rollout" k get rs -l app=web -o 'jsonpath={range .items[*]}{.spec.template.spec.containers[0].image}{"\n"}{end}'
grep -q 'nginx:1.27' "$OUT" && fail "a paused deployment rolled out"
ok resume k rollout resume deploy/web
ok "rollout status 5" k rollout status deploy/web --timeout=60s
ok "get deploy 5" k get deploy web -o wide
matches '^web +3/3 +3 +3 +.* nginx:1.27 +app=web$'

# ---- scale, recreate ----

ok scale k scale deploy/web --replicas=5
ok "rollout status 6" k rollout status deploy/web --timeout=60s
ok "get deploy 6" k get deploy web
matches '^web +5/5 +5 +5 +'
ok recreate k patch deploy/web -p '{"spec":{"strategy":{"type":"Recreate","rollingUpdate":null}}}'
ok "recreate image" k set image deploy/web nginx=nginx:1.28
ok "rollout status 7" k rollout status deploy/web --timeout=60s
ok "describe recreate" k describe deploy web
matches '^StrategyType: +Recreate$'
matches 'Scaled down replica set web-[4-9bcdf]+ to 0 from 5$'

e2e_end
