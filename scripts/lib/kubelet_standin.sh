# shellcheck shell=bash
# kubelet_standin.sh: one hand-made Node and a kubelet stand-in for the e2e scripts that
# drive controllers with the real kubectl (tests/e2e/controllers). Source it after
# apiserver.sh's e2e_begin and e2e_server_start (it uses k, S and PIDS), then:
#
#   standin_node NAME       create a Ready Node NAME (8 cpu, 32Gi, 110 pods); it renews no
#                           Lease, so the server runs without the nodelifecycle controller
#   standin_kubelet NAME    in the background (its PID in PIDS) every 0.2 s: the pods bound
#                           to NAME that are being deleted are finished (grace 0), the others
#                           not Ready are made Running and Ready as a kubelet reports them

standin_node() {
	k create -f - >/dev/null <<EOF || { echo "cannot create the node $1" >&2; exit 1; }
apiVersion: v1
kind: Node
metadata:
  name: $1
  labels: {kubernetes.io/hostname: $1}
status:
  capacity: {cpu: "8", memory: 32Gi, pods: "110"}
  allocatable: {cpu: "8", memory: 32Gi, pods: "110"}
  conditions:
  - {type: Ready, status: "True", reason: KubeletReady, message: kubelet is posting ready status}
EOF
}

standin_kubelet_round() {
	local now
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	curl -sf "$S/api/v1/pods?fieldSelector=spec.nodeName%3D$1" |
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

standin_kubelet() {
	(while :; do
		standin_kubelet_round "$1"
		sleep 0.2
	done) >/dev/null 2>&1 &
	PIDS+=($!)
}
