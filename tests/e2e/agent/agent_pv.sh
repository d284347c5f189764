#!/usr/bin/env bash
# agent_pv.sh: persistent volumes end to end, k3s-style, on the node of lib.sh (server with
# --default-local-storage-path under the test's work dir):
#  - the server made the default StorageClass local-path (rancher.io/local-path,
#    WaitForFirstConsumer, Delete);
#  - a static hostPath PersistentVolume and a claim of its class are bound by the
#    persistentvolume-binder; a pod using the claim writes into the host directory;
#  - a pod whose claim does not exist yet: FailedMount `persistentvolumeclaim "late" not
#    found`, Pending, then Running once the claim is made and bound (the agent retries);
#  - a StatefulSet of 2 busybox replicas with a volumeClaimTemplate of the default class: both
#    claims get selected-node from the scheduler, are provisioned (ProvisioningSucceeded) and
#    bound to PVs with node affinity to the node, each at <dir>/pvc-<uid>_<ns>_<claim>; each pod
#    writes into its volume; pod 0 deleted, the new pod 0 reads what the old one wrote;
#  - the StatefulSet and its claims deleted: the PVs and their directories are gone (helper
#    pods in kube-system remove them).
# Everything made is removed on exit, also on failure (lib.sh).
set -uo pipefail
E2E_TAG=drvpv
E2E_WAIT_S=${E2E_WAIT_S:-30}
# shellcheck source=tests/e2e/agent/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
STORE=$WORK/storage
SERVER_FLAGS=(--default-local-storage-path "$STORE")
node_up

expect "default StorageClass local-path" "rancher.io/local-path WaitForFirstConsumer Delete true" \
	"$(jp storageclass local-path '{.provisioner} {.volumeBindingMode} {.reclaimPolicy} {.metadata.annotations.storageclass\.kubernetes\.io/is-default-class}')"

# ---- a static hostPath volume ----
mkdir -p "$WORK/static"
cat >"$WORK/static.yaml" <<YAML
apiVersion: v1
kind: PersistentVolume
metadata: {name: static-pv}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: $WORK/static, type: Directory}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: static-claim}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  resources: {requests: {storage: 100Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: static-user}
spec:
  terminationGracePeriodSeconds: 0
  volumes: [{name: v, persistentVolumeClaim: {claimName: static-claim}}]
  containers:
  - name: c
    image: busybox
    volumeMounts: [{name: v, mountPath: /data}]
    command: ["sh", "-c", "echo static > /data/hello; while true; do sleep 1; done"]
YAML
k apply -f "$WORK/static.yaml" >/dev/null || fail "apply static"
claim_bound() { [ "$(jp pvc "$1" '{.status.phase}')" = Bound ]; }
wait_for "static claim bound" claim_bound static-claim
expect "static claim's volume" static-pv "$(jp pvc static-claim '{.spec.volumeName}')"
expect "static volume Bound to the claim" "Bound static-claim" \
	"$(jp pv static-pv '{.status.phase} {.spec.claimRef.name}')"
wait_for "static pod wrote into the host directory" test -s "$WORK/static/hello"
k delete pod static-user --wait=false >/dev/null

# a pod (bound by hand: the scheduler would wait) whose claim is not there yet: FailedMount
# with the kubelet's wording, Pending, retried until the claim is made and bound
cat >"$WORK/late-pod.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: late-user}
spec:
  nodeName: $NODENAME
  terminationGracePeriodSeconds: 0
  volumes: [{name: v, persistentVolumeClaim: {claimName: late}}]
  containers:
  - name: c
    image: busybox
    volumeMounts: [{name: v, mountPath: /data}]
    command: ["sh", "-c", "touch /data/late; while true; do sleep 1; done"]
YAML
k apply -f "$WORK/late-pod.yaml" >/dev/null || fail "apply late-user"
failed_mount() {
	k get events --field-selector involvedObject.name=late-user,reason=FailedMount \
		-o 'jsonpath={.items[*].message}' | grep -F 'persistentvolumeclaim "late" not found'
}
wait_for "FailedMount: claim not found" failed_mount
expect "late-user waits" Pending "$(jp pod late-user '{.status.phase}')"
mkdir -p "$WORK/late"
cat >"$WORK/late.yaml" <<YAML
apiVersion: v1
kind: PersistentVolume
metadata: {name: late-pv}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  hostPath: {path: $WORK/late, type: Directory}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: late}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  resources: {requests: {storage: 1Gi}}
YAML
k apply -f "$WORK/late.yaml" >/dev/null || fail "apply late claim"
wait_for "late-user Running once its claim is bound" running late-user
wait_for "late-user wrote into its volume" test -e "$WORK/late/late"
k delete pod late-user --wait=false >/dev/null

# ---- a StatefulSet over the default class ----
cat >"$WORK/sts.yaml" <<'YAML'
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 2
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: c
        image: busybox
        volumeMounts: [{name: data, mountPath: /data}]
        command: ["sh", "-c", "[ -s /data/first ] || hostname > /data/first; echo start >> /data/starts; while true; do sleep 1; done"]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 16Mi}}
YAML
k apply -f "$WORK/sts.yaml" >/dev/null || fail "apply statefulset"
for i in 0 1; do
	wait_for "claim data-web-$i bound" claim_bound "data-web-$i"
	wait_for "pod web-$i Running" running "web-$i" || k describe pod "web-$i" >&2
done
for i in 0 1; do
	c=data-web-$i
	uid=$(jp pvc "$c" '{.metadata.uid}')
	expect "$c: class, node, volume" "local-path $NODENAME pvc-$uid" \
		"$(jp pvc "$c" '{.spec.storageClassName} {.metadata.annotations.volume\.kubernetes\.io/selected-node} {.spec.volumeName}')"
	expect "pvc-$uid: hostPath, node affinity, provisioner" \
		"$STORE/pvc-${uid}_default_$c $NODENAME rancher.io/local-path" \
		"$(jp pv "pvc-$uid" '{.spec.hostPath.path} {.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]} {.metadata.annotations.pv\.kubernetes\.io/provisioned-by}')"
	DIRS[i]=$STORE/pvc-${uid}_default_$c
	PVS[i]=pvc-$uid
done
k get events --field-selector involvedObject.name=data-web-0 -o 'jsonpath={range .items[*]}{.reason} {end}' >"$WORK/ev"
for r in ExternalProvisioning Provisioning ProvisioningSucceeded; do
	if grep -qw "$r" "$WORK/ev"; then ok "event $r"; else fail "no event $r on data-web-0: $(cat "$WORK/ev")"; fi
done
expect "web-0 wrote into its volume" web-0 "$(k exec web-0 -- cat /data/first 2>&1)"
expect "web-0's directory on the node" "web-0" "$(cat "${DIRS[0]}/first" 2>&1)"
expect "directory mode 0777" 777 "$(stat -c %a "${DIRS[0]}")"

# pod 0 replaced: the data stays
old=$(jp pod web-0 '{.metadata.uid}')
k delete pod web-0 --wait=false >/dev/null
new_web0() {
	local u
	u=$(jp pod web-0 '{.metadata.uid}') && [ -n "$u" ] && [ "$u" != "$old" ] && running web-0
}
wait_for "web-0 recreated and Running" new_web0
starts() { [ "$(k exec web-0 -- cat /data/starts 2>/dev/null | wc -l)" = 2 ]; }
wait_for "the new web-0 started over the old volume" starts
expect "the new web-0 reads what the old one wrote" web-0 "$(k exec web-0 -- cat /data/first 2>&1)"

# the StatefulSet and its claims deleted: volumes and directories go
k delete statefulset web --wait=false >/dev/null
no_pods() { [ -z "$(k get pods -l app=web -o name)" ]; }
wait_for "web pods gone" no_pods
k delete pvc data-web-0 data-web-1 --wait=false >/dev/null
for i in 0 1; do
	pv_gone() { ! k get pv "$1" >/dev/null 2>&1; }
	wait_for "${PVS[i]} deleted" pv_gone "${PVS[i]}"
	dir_gone() { [ ! -e "$1" ]; }
	wait_for "${DIRS[i]} removed" dir_gone "${DIRS[i]}"
done
# the static volume is kept (Retain), Released once its claim goes
wait_for "static pod gone" sh -c "! KUBECONFIG=$KUBECONFIG nsenter --net=/run/netns/$NODE kubectl get pod static-user >/dev/null 2>&1"
k delete pvc static-claim >/dev/null
released() { [ "$(jp pv static-pv '{.status.phase}')" = Released ]; }
wait_for "static volume Released" released
expect "static volume's data kept" static "$(cat "$WORK/static/hello" 2>&1)"

if [ "$FAILS" -gt 0 ]; then
	echo "agent_pv: $FAILS failure(s)" >&2
	tail -30 "$WORK/agent.log" >&2
	exit 1
fi
echo "agent_pv: ok"
