#!/usr/bin/env bash
# batch_workloads.sh: the DaemonSet, StatefulSet, Job and CronJob controllers inside
# `drover server --insecure-loopback` (with its scheduler), driven by the real kubectl, with
# this script as the kubelet (curl: pods made Running and Ready through pods/status, Job pods
# finished, graceful deletions finished). Checks what kubectl shows: get ds/sts/jobs/cronjobs,
# rollout status and history of a DaemonSet and a StatefulSet across an image update,
# describe job, events, PVCs, and the API refusing a bad schedule. Every process it starts is
# stopped by PID and its temporary directory removed, also when a check fails.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${DROVER_SOURCE_DIR:-$HERE/../../..}
BIN=${DROVER_BIN:-$SRC/build/userspace/cli}/drover
K=$(command -v kubectl) || { echo "no kubectl" >&2; exit 1; }

# shellcheck source=../../../scripts/lib/apiserver.sh
source "$SRC/scripts/lib/apiserver.sh"
e2e_begin controllers-batch
# the Nodes here are made by hand and renew no Lease: without the node lifecycle
# controller (tests/e2e/control runs it, with simulated nodes that renew theirs)
e2e_server_start "$BIN" --insecure-loopback --controllers '*,-nodelifecycle'

# ---- the kubelet stand-in ----
patch_status() {
	curl -sf -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' \
		"$S/api/v1/namespaces/default/pods/$1/status" -d "$2"
}
run_pod() {
	local now
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	patch_status "$1" "{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.0.5\",
	  \"startTime\":\"$now\",\"containerStatuses\":[{\"name\":\"c\",\"ready\":true,
	  \"restartCount\":0,\"image\":\"x\",\"imageID\":\"\",\"started\":true,
	  \"state\":{\"running\":{\"startedAt\":\"$now\"}}}],
	  \"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"True\"},
	  {\"type\":\"Initialized\",\"status\":\"True\"},
	  {\"type\":\"ContainersReady\",\"status\":\"True\"},
	  {\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"$now\"}]}}"
}
finish_pod() {
	patch_status "$1" "{\"status\":{\"phase\":\"$2\",\"conditions\":[{\"type\":\"Ready\",
	  \"status\":\"False\",\"reason\":\"PodCompleted\"}]}}"
}
# One round: pods being deleted go now; bound pods not yet running run. $1: label selector.
kubelet() {
	local name phase node del
	while read -r name phase node del; do
		[ -n "$name" ] || continue
		if [ "$del" != "<none>" ]; then
			curl -sf -o /dev/null -X DELETE \
				"$S/api/v1/namespaces/default/pods/$name?gracePeriodSeconds=0"
		elif [ "$phase" = Pending ] && [ "$node" != "<none>" ]; then
			run_pod "$name"
		fi
	done < <(k get pods -l "$1" --no-headers \
		-o custom-columns=N:.metadata.name,P:.status.phase,H:.spec.nodeName,D:.metadata.deletionTimestamp)
}
# until_kubelet SELECTOR SECONDS CMD...: act as kubelet until CMD succeeds.
until_kubelet() {
	local sel=$1 secs=$2
	shift 2
	local end=$((SECONDS + secs))
	while [ $SECONDS -lt $end ]; do
		kubelet "$sel"
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}
# wait_for SECONDS CMD...: poll CMD until it succeeds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $end ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

for n in n1 n2; do
	cat <<EOF >"$WORK/$n.yaml"
apiVersion: v1
kind: Node
metadata: {name: $n, labels: {kubernetes.io/hostname: $n}}
status:
  capacity: {cpu: "4", memory: 8Gi, pods: "110"}
  allocatable: {cpu: "4", memory: 8Gi, pods: "110"}
  conditions: [{type: Ready, status: "True"}]
EOF
	ok "node $n" k apply -f "$WORK/$n.yaml"
done

# ---- DaemonSet ----
cat <<'EOF' >"$WORK/ds.yaml"
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: "agent:1"}]}
EOF
ok ds-apply k apply -f "$WORK/ds.yaml"
run ds-rolled-out until_kubelet app=agent 60 k rollout status ds/agent --timeout=1s
[ $RC -eq 0 ] || fail "the DaemonSet never rolled out"
ok ds-rollout-status k rollout status ds/agent --timeout=5s
matches 'daemon set "agent" successfully rolled out'
ok ds-get k get ds agent --no-headers
matches '^agent +2 +2 +2 +2 +2 '
ok ds-set-image k set image ds/agent c=agent:2
run ds-updated until_kubelet app=agent 60 sh -c \
	"$K get ds agent -o jsonpath='{.status.updatedNumberScheduled}/{.status.numberAvailable}/{.status.observedGeneration}' | grep -qx 2/2/2"
[ $RC -eq 0 ] || fail "the DaemonSet update never finished"
ok ds-rollout-status-2 k rollout status ds/agent --timeout=5s
matches 'successfully rolled out'
ok ds-history k rollout history ds/agent
matches '^1 ' && matches '^2 '
ok ds-history-2 k rollout history ds/agent --revision=2
matches 'agent:2'
ok ds-pods k get pods -l app=agent -o jsonpath='{range .items[*]}{.spec.containers[0].image} {end}'
matches '^agent:2 agent:2 $'

# ---- StatefulSet ----
cat <<'EOF' >"$WORK/sts.yaml"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  replicas: 2
  serviceName: nginx
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: "web:1"}]}
  volumeClaimTemplates:
  - metadata: {name: www}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
EOF
ok sts-apply k apply -f "$WORK/sts.yaml"
run sts-ready until_kubelet app=web 60 sh -c \
	"$K get sts web -o jsonpath='{.status.readyReplicas}' | grep -qx 2"
[ $RC -eq 0 ] || fail "the StatefulSet never became ready"
ok sts-rollout-status k rollout status sts/web --timeout=5s
matches 'roll out complete'
ok sts-get k get sts web --no-headers
matches '^web +2/2 '
ok sts-pvcs k get pvc --no-headers -o custom-columns=N:.metadata.name
matches '^www-web-0$' && matches '^www-web-1$'
ok sts-set-image k set image sts/web c=web:2
run sts-updated until_kubelet app=web 60 sh -c \
	"$K get sts web -o jsonpath='{.status.updatedReplicas}/{.status.readyReplicas}/{.status.currentRevision}={.status.updateRevision}' | grep -qE '^2/2/(.*)=\\1$'"
[ $RC -eq 0 ] || fail "the StatefulSet update never finished"
ok sts-history k rollout history sts/web
matches '^1 ' && matches '^2 '
ok sts-events k get events --field-selector involvedObject.kind=StatefulSet
matches 'create Pod web-0 in StatefulSet web successful'
matches 'create Claim www-web-1 Pod web-1 in StatefulSet web success'
matches 'delete Pod web-1 in StatefulSet web successful'

# ---- Job ----
cat <<'EOF' >"$WORK/job.yaml"
apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completions: 2
  parallelism: 1
  template:
    spec: {restartPolicy: Never, containers: [{name: c, image: perl}]}
EOF
ok job-apply k apply -f "$WORK/job.yaml"
finish_job_pods() {
	local name phase
	while read -r name phase; do
		[ "$phase" = Running ] && finish_pod "$name" Succeeded
	done < <(k get pods -l job-name=pi --no-headers -o custom-columns=N:.metadata.name,P:.status.phase)
	k get job pi -o jsonpath='{.status.conditions[?(@.type=="Complete")].status}' | grep -qx True
}
run job-complete until_kubelet job-name=pi 60 finish_job_pods
[ $RC -eq 0 ] || fail "the Job never completed"
ok job-wait k wait --for=condition=complete job/pi --timeout=5s
ok job-get k get jobs pi --no-headers
matches '^pi +Complete +2/2 '
ok job-describe k describe job pi
matches 'Pods Statuses: +0 Active \(0 Ready\) / 2 Succeeded / 0 Failed'
matches 'SuccessfulCreate +.*job-controller +Created pod: pi-'
matches 'Completed +.*job-controller +Job completed'

# ---- CronJob (its schedule firing is unit-tested on a hand-moved clock) ----
cat <<'EOF' >"$WORK/cj.yaml"
apiVersion: batch/v1
kind: CronJob
metadata: {name: hello}
spec:
  schedule: "*/5 9-17 * * MON-FRI"
  timeZone: Europe/Berlin
  jobTemplate:
    spec:
      template:
        spec: {restartPolicy: OnFailure, containers: [{name: c, image: busybox}]}
EOF
ok cj-apply k apply -f "$WORK/cj.yaml"
ok cj-get k get cronjobs hello --no-headers
matches '^hello +\*/5 9-17 \* \* MON-FRI +Europe/Berlin +false +0 '
sed -e 's|name: hello|name: bad|' -e 's|schedule: .*|schedule: "61 * * * *"|' "$WORK/cj.yaml" >"$WORK/bad.yaml"
bad cj-bad-schedule k apply -f "$WORK/bad.yaml"
matches 'spec.schedule: Invalid value: "61 \* \* \* \*": end of range \(61\) above maximum \(59\): 61'
sed -e 's|name: hello|name: bad|' -e 's|Europe/Berlin|Mars/Base|' "$WORK/cj.yaml" >"$WORK/bad.yaml"
bad cj-bad-zone k apply -f "$WORK/bad.yaml"
matches 'unknown time zone Mars/Base'

e2e_end
