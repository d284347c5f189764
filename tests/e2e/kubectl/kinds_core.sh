#!/usr/bin/env bash
# kinds_core.sh: the real kubectl 1.32 against `drover server` over the kinds of issue 12's
# kinds-core part: PersistentVolume, PodTemplate, ReplicationController, ComponentStatus,
# StorageClass, CSIDriver, CSINode, CSIStorageCapacity, VolumeAttachment, IngressClass and
# RuntimeClass: discovery (short names, categories), one of each created from a manifest in
# the Kubernetes documentation's style, `kubectl get` with the columns of Kubernetes'
# printers (pkg/printers/internalversion/printers.go), `kubectl scale rc`, immutable fields
# refused with Kubernetes' messages, and the delete of each. Every process it starts is
# stopped by PID and its temporary directory removed, also when a check fails.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${DROVER_SOURCE_DIR:-$HERE/../../..}
BIN=${DROVER_BIN:-$SRC/build/userspace/cli}/drover
K=$(command -v kubectl)

# shellcheck source=../../../scripts/lib/apiserver.sh
source "$SRC/scripts/lib/apiserver.sh"
e2e_begin kinds-core
# no workload controllers: a ReplicationController's pods are not made, its status stays as
# written; pv-protection lets the PersistentVolume go on delete (StorageObjectInUseProtection
# gave it kubernetes.io/pv-protection, as kube-apiserver does); no default StorageClass
# local-path (the test makes its own default class and expects none left at the end)
e2e_server_start "$BIN" --controllers namespace,pv-protection --no-scheduler \
	--disable local-storage

# ---- discovery ----
ok api-resources k api-resources
matches '^persistentvolumes +pv +v1 +false +PersistentVolume'
matches '^replicationcontrollers +rc +v1 +true +ReplicationController'
matches '^componentstatuses +cs +v1 +false +ComponentStatus'
matches '^podtemplates +v1 +true +PodTemplate'
matches '^storageclasses +sc +storage.k8s.io/v1 +false +StorageClass'
matches '^csidrivers +storage.k8s.io/v1 +false +CSIDriver'
matches '^csinodes +storage.k8s.io/v1 +false +CSINode'
matches '^csistoragecapacities +storage.k8s.io/v1 +true +CSIStorageCapacity'
matches '^volumeattachments +storage.k8s.io/v1 +false +VolumeAttachment'
matches '^ingressclasses +networking.k8s.io/v1 +false +IngressClass'
matches '^runtimeclasses +node.k8s.io/v1 +false +RuntimeClass'
ok api-resources-wide k api-resources -o wide
matches '^componentstatuses +cs +v1 +false +ComponentStatus +get,list'
matches '^replicationcontrollers +rc .* +create,delete,deletecollection,get,list,patch,update,watch +all'

# ---- one of each, from YAML ----
cat >"$WORK/kinds.yaml" <<'EOF'
apiVersion: v1
kind: PersistentVolume
metadata:
  name: task-pv-volume
  labels: {type: local}
spec:
  storageClassName: manual
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /mnt/data}
---
apiVersion: v1
kind: PodTemplate
metadata:
  name: web-template
template:
  metadata:
    labels: {app: web}
  spec:
    containers:
    - name: nginx
      image: nginx:1.25
---
apiVersion: v1
kind: ReplicationController
metadata:
  name: nginx
spec:
  replicas: 3
  selector: {app: nginx}
  template:
    metadata:
      name: nginx
      labels: {app: nginx}
    spec:
      containers:
      - name: nginx
        image: nginx
        ports:
        - containerPort: 80
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-storage
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata:
  name: hostpath.csi.k8s.io
spec:
  attachRequired: false
  podInfoOnMount: true
  volumeLifecycleModes: [Persistent, Ephemeral]
---
apiVersion: storage.k8s.io/v1
kind: CSINode
metadata:
  name: node-1
spec:
  drivers:
  - name: hostpath.csi.k8s.io
    nodeID: node-1
    topologyKeys: [topology.hostpath.csi/node]
---
apiVersion: storage.k8s.io/v1
kind: CSIStorageCapacity
metadata:
  name: capacity-1
storageClassName: local-storage
capacity: 100Gi
---
apiVersion: storage.k8s.io/v1
kind: VolumeAttachment
metadata:
  name: va-1
spec:
  attacher: hostpath.csi.k8s.io
  nodeName: node-1
  source: {persistentVolumeName: task-pv-volume}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: external-lb
spec:
  controller: example.com/ingress-controller
  parameters:
    apiGroup: k8s.example.com
    kind: IngressParameters
    name: external-lb
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: myclass
handler: myconfiguration
EOF
ok create k create -f "$WORK/kinds.yaml"
for o in persistentvolume/task-pv-volume podtemplate/web-template \
	replicationcontroller/nginx storageclass.storage.k8s.io/local-storage \
	csidriver.storage.k8s.io/hostpath.csi.k8s.io csinode.storage.k8s.io/node-1 \
	csistoragecapacity.storage.k8s.io/capacity-1 volumeattachment.storage.k8s.io/va-1 \
	ingressclass.networking.k8s.io/external-lb runtimeclass.node.k8s.io/myclass; do
	has "$o created"
done
# StorageObjectInUseProtection (plugin/pkg/admission/storage/storageobjectinuseprotection)
ok pv-finalizer k get pv task-pv-volume -o jsonpath='{.metadata.finalizers}'
has '["kubernetes.io/pv-protection"]'

# ---- kubectl get: Kubernetes' columns ----
ok get-pv k get pv
matches '^NAME +CAPACITY +ACCESS MODES +RECLAIM POLICY +STATUS +CLAIM +STORAGECLASS +VOLUMEATTRIBUTESCLASS +REASON +AGE$'
matches '^task-pv-volume +10Gi +RWO +Retain +Pending +manual +<unset> +[0-9]+s$'
ok get-sc k get sc
matches '^NAME +PROVISIONER +RECLAIMPOLICY +VOLUMEBINDINGMODE +ALLOWVOLUMEEXPANSION +AGE$'
matches '^local-storage \(default\) +kubernetes.io/no-provisioner +Delete +WaitForFirstConsumer +false +[0-9]+s$'
# DefaultStorageClass admission: a claim that names no class gets local-storage
ok pvc-default k create -f - <<'EOF'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: claim}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
EOF
ok pvc-class k get pvc claim -o jsonpath='{.spec.storageClassName}'
has local-storage
ok get-rc k get rc -o wide
matches '^NAME +DESIRED +CURRENT +READY +AGE +CONTAINERS +IMAGES +SELECTOR$'
matches '^nginx +3 +0 +0 +[0-9]+s +nginx +nginx +app=nginx$'
ok get-podtemplates k get podtemplates
matches '^NAME +CONTAINERS +IMAGES +POD LABELS$'
matches '^web-template +nginx +nginx:1.25 +app=web$'
ok get-csidrivers k get csidrivers
matches '^NAME +ATTACHREQUIRED +PODINFOONMOUNT +STORAGECAPACITY +TOKENREQUESTS +REQUIRESREPUBLISH +MODES +AGE$'
matches '^hostpath.csi.k8s.io +false +true +false +<unset> +false +Persistent,Ephemeral +[0-9]+s$'
ok get-csinodes k get csinodes
matches '^node-1 +1 +[0-9]+s$'
ok get-csisc k get csistoragecapacities
matches '^NAME +STORAGECLASSNAME +CAPACITY$'
matches '^capacity-1 +local-storage +100Gi$'
ok get-va k get volumeattachments
matches '^NAME +ATTACHER +PV +NODE +ATTACHED +AGE$'
matches '^va-1 +hostpath.csi.k8s.io +task-pv-volume +node-1 +false +[0-9]+s$'
ok get-ingressclass k get ingressclass
matches '^external-lb +example.com/ingress-controller +IngressParameters.k8s.example.com/external-lb +[0-9]+s$'
ok get-runtimeclass k get runtimeclass
matches '^NAME +HANDLER +AGE$'
matches '^myclass +myconfiguration +[0-9]+s$'
ok get-many k get pv,sc,rc
has "persistentvolume/task-pv-volume"
has "storageclass.storage.k8s.io/local-storage (default)"
has "replicationcontroller/nginx"
ok get-all k get all
has "replicationcontroller/nginx"
ok get-cs k get cs
has "Warning: v1 ComponentStatus is deprecated in v1.19+"
matches '^NAME +STATUS +MESSAGE +ERROR$'
matches '^etcd-0 +Healthy +ok *$'
# the controller manager runs in this server; the scheduler does not (--no-scheduler)
matches '^controller-manager +Healthy +ok *$'
matches '^scheduler +Unhealthy +scheduler is not run by this server$'

# ---- scale, patch, immutable fields ----
ok scale-rc k scale rc nginx --replicas=5
has "replicationcontroller/nginx scaled"
ok get-rc-scaled k get rc nginx -o jsonpath='{.spec.replicas}'
has 5
ok patch-pv k patch pv task-pv-volume -p '{"spec":{"persistentVolumeReclaimPolicy":"Delete"}}'
bad sc-immutable k patch sc local-storage -p '{"parameters":{"a":"b"},"reclaimPolicy":"Retain"}'
has '* parameters: Forbidden: updates to parameters are forbidden.'
has '* reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.'
bad csi-immutable k patch csidriver hostpath.csi.k8s.io -p '{"spec":{"attachRequired":true}}'
has 'The CSIDriver "hostpath.csi.k8s.io" is invalid: spec.attachedRequired: Invalid value: true: field is immutable'
bad rtc-immutable k patch runtimeclass myclass -p '{"handler":"other"}'
has 'The RuntimeClass "myclass" is invalid: handler: Invalid value: "other": field is immutable'
bad cs-create k create -f - <<'EOF'
apiVersion: v1
kind: ComponentStatus
metadata: {name: mine}
EOF
has 'the server does not allow this method on the requested resource'

# ---- delete ----
ok delete k delete -f "$WORK/kinds.yaml"
ok gone k get pv,sc,rc,podtemplates,csidrivers,csinodes,csistoragecapacities,volumeattachments,ingressclasses,runtimeclasses
has "No resources found"
e2e_end
