#!/usr/bin/env bash
# agent_env.sh: a container's environment from `drover agent` as the kubelet makes it, end to
# end (the node of lib.sh, the real kubectl): envFrom a ConfigMap (with a prefix) and a
# Secret, env from configMapKeyRef and secretKeyRef, an optional missing key skipped, $(VAR)
# expanded in env values (only what was declared before; $$ escapes) and in args -- checked
# in the container's own output; a missing ConfigMap -> CreateContainerConfigError with
# `configmap "later" not found`, then the ConfigMap made -> the pod runs; a missing key ->
# "couldn't find key nokey in ConfigMap default/cfg"; an optional missing envFrom -> runs.
# Volumes: one pod mounting configMap (all keys; items with a path and mode), secret
# (defaultMode), downwardAPI (labels, name, a resourceFieldRef), projected, an optional missing
# secret, emptyDir (shared by two containers, subPath, subPathExpr, readOnly) and medium
# Memory (a tmpfs of sizeLimit), a hostPath of the test's own -- checked from the containers'
# output; a missing ConfigMap -> FailedMount with the kubelet's message and ContainerCreating,
# then runs once made; a hostPath type check; a mount of an unknown volume; once the pods are
# deleted no volumes dir and no mount of theirs is left; a pod force-deleted while the agent
# is away has its volumes unmounted and removed by the returning agent.
# Init containers: two run one after the other (kubectl shows Init:0/2, Init:1/2, then
# Running; phase Pending and Initialized False with the incomplete ones meanwhile, the app
# container waiting PodInitializing; `kubectl logs -c` of an init container); a failing one
# with restartPolicy Never -> Init:Error and Failed; with OnFailure -> run again at once, then
# Init:CrashLoopBackOff (back-off 10s at its second failure); a sidecar runs. securityContext: runAsUser
# (the container's over the pod's), runAsGroup, fsGroup and supplementalGroups in `id` (in
# the container and in kubectl exec); runAsNonRoot on the root image ->
# CreateContainerConfigError with the kubelet's message.
set -uo pipefail
E2E_TAG=drven
# shellcheck source=tests/e2e/agent/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
node_up

cat >"$WORK/env.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {greeting: hello, color: blue}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
data: {pw: aHVudGVyMg==}  # hunter2
---
apiVersion: v1
kind: Pod
metadata: {name: envpod}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "echo \"A=$A B=$B K=$K S=$S pw=$pw G=$CFG_greeting OPT=${OPT-unset} ARG=$0\""]
    args: ["$(K)-arg"]
    envFrom:
    - {configMapRef: {name: cfg}, prefix: CFG_}
    - secretRef: {name: sec}
    - configMapRef: {name: nosuch, optional: true}
    env:
    - {name: A, value: x}
    - {name: B, value: "$(A)-$(CFG_color)-$$(A)-$(LATER)"}
    - {name: LATER, value: l}
    - {name: K, valueFrom: {configMapKeyRef: {name: cfg, key: greeting}}}
    - {name: S, valueFrom: {secretKeyRef: {name: sec, key: pw}}}
    - {name: OPT, valueFrom: {secretKeyRef: {name: sec, key: nokey, optional: true}}}
---
apiVersion: v1
kind: Pod
metadata: {name: waits}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "echo V=$V"]
    env:
    - {name: V, valueFrom: {configMapKeyRef: {name: later, key: v}}}
---
apiVersion: v1
kind: Pod
metadata: {name: badkey}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: ["true"]
    env:
    - {name: V, valueFrom: {configMapKeyRef: {name: cfg, key: nokey}}}
YAML
k apply -f "$WORK/env.yaml" >/dev/null || { fail "apply"; exit 1; }

waiting() { [ "$(jp pod "$1" '{.status.containerStatuses[0].state.waiting.reason}')" = "$2" ]; }
logline() { cat "$WORK"/root/pods/default_"$1"_*/c/0.log 2>/dev/null | sed -n 's/^[^ ]* stdout [FP] //p'; }

F0=$FAILS
wait_for "envpod Succeeded" phase envpod Succeeded
WANT='A=x B=x-blue-$(A)-$(LATER) K=hello S=hunter2 pw=hunter2 G=hello OPT=unset ARG=hello-arg'
[ "$(logline envpod)" = "$WANT" ] || fail "envpod printed '$(logline envpod)', want '$WANT'"
[ $FAILS -eq $F0 ] && ok "envFrom (prefix), key refs, optional skipped, \$(VAR) in env and args: $WANT"

F0=$FAILS
wait_for "waits: CreateContainerConfigError" waiting waits CreateContainerConfigError
[ "$(jp pod waits '{.status.containerStatuses[0].state.waiting.message}')" = 'configmap "later" not found' ] ||
	fail "waits: message '$(jp pod waits '{.status.containerStatuses[0].state.waiting.message}')'"
[ "$(jp pod waits '{.status.phase}')" = Pending ] || fail "waits: phase not Pending"
k create configmap later --from-literal=v=now-here >/dev/null
wait_for "waits runs once its ConfigMap exists" phase waits Succeeded
[ "$(logline waits)" = "V=now-here" ] || fail "waits printed '$(logline waits)'"
[ $FAILS -eq $F0 ] && ok "missing ConfigMap: CreateContainerConfigError (configmap \"later\" not found), then runs"

F0=$FAILS
wait_for "badkey: CreateContainerConfigError" waiting badkey CreateContainerConfigError
[ "$(jp pod badkey '{.status.containerStatuses[0].state.waiting.message}')" = "couldn't find key nokey in ConfigMap default/cfg" ] ||
	fail "badkey: message '$(jp pod badkey '{.status.containerStatuses[0].state.waiting.message}')'"
[ $FAILS -eq $F0 ] && ok "missing key: couldn't find key nokey in ConfigMap default/cfg"

# ---- the services' variables (kubelet getServiceEnvVarMap): the namespace's services with a
# cluster IP and default/kubernetes; none of the namespace's with enableServiceLinks false
F0=$FAILS
cat >"$WORK/svcenv.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: web-api}
spec:
  clusterIP: 10.96.77.7
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: svcenv}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "echo \"H=$WEB_API_SERVICE_HOST P=$WEB_API_SERVICE_PORT_HTTP L=$WEB_API_PORT K=$KUBERNETES_SERVICE_HOST U=$URL\""]
    env: [{name: URL, value: "http://$(WEB_API_SERVICE_HOST):$(WEB_API_SERVICE_PORT)"}]
---
apiVersion: v1
kind: Pod
metadata: {name: nolinks}
spec:
  restartPolicy: Never
  enableServiceLinks: false
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "echo \"H=${WEB_API_SERVICE_HOST-unset} K=$KUBERNETES_SERVICE_HOST\""]
YAML
k apply -f "$WORK/svcenv.yaml" >/dev/null || fail "apply svcenv.yaml"
wait_for "svcenv Succeeded" phase svcenv Succeeded
wait_for "nolinks Succeeded" phase nolinks Succeeded
KIP=$(k get svc kubernetes -o jsonpath='{.spec.clusterIP}')
WANT="H=10.96.77.7 P=80 L=tcp://10.96.77.7:80 K=$KIP U=http://10.96.77.7:80"
[ "$(logline svcenv)" = "$WANT" ] || fail "svcenv printed '$(logline svcenv)', want '$WANT'"
[ "$(logline nolinks)" = "H=unset K=$KIP" ] || fail "nolinks printed '$(logline nolinks)', want 'H=unset K=$KIP'"
[ $FAILS -eq $F0 ] && ok "service variables: $WANT; enableServiceLinks false: kubernetes' only"

# ---- volumes: every kind in one pod, checked from inside its containers ----
mkdir -p "$WORK/hostdir"
echo from-host >"$WORK/hostdir/in"
cat >"$WORK/vol.yaml" <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: volcfg}
data: {a: alpha, b: beta}
---
apiVersion: v1
kind: Pod
metadata:
  name: volpod
  labels: {app: vol, tier: x}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  volumes:
  - {name: cfg, configMap: {name: volcfg}}
  - {name: items, configMap: {name: volcfg, items: [{key: b, path: sub/bee, mode: 0600}]}}
  - {name: sec, secret: {secretName: sec, defaultMode: 0400}}
  - name: dapi
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: name, fieldRef: {fieldPath: metadata.name}}
      - {path: mem, resourceFieldRef: {containerName: c, resource: limits.memory, divisor: 1Mi}}
  - name: proj
    projected:
      sources:
      - configMap: {name: volcfg, items: [{key: a, path: a}]}
      - secret: {name: sec}
      - downwardAPI: {items: [{path: ns, fieldRef: {fieldPath: metadata.namespace}}]}
  - {name: opt, secret: {secretName: nosuch, optional: true}}
  - {name: scratch, emptyDir: {}}
  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 8Mi}}
  - {name: host, hostPath: {path: $WORK/hostdir, type: Directory}}
  containers:
  - name: c
    image: busybox
    resources: {limits: {memory: 64Mi}}
    env:
    - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    command:
    - sh
    - -c
    - >-
      echo "cfg=\$(cat /cfg/a)\$(cat /cfg/b) mode=\$(stat -Lc %a /cfg/a)
      bee=\$(cat /items/sub/bee) beemode=\$(stat -Lc %a /items/sub/bee) only=\$(ls /items)
      pw=\$(cat /sec/pw) pwmode=\$(stat -Lc %a /sec/pw)
      labels=\$(cat /dapi/labels | tr '\n' ,) name=\$(cat /dapi/name) mem=\$(cat /dapi/mem)
      proj=\$(cat /proj/a),\$(cat /proj/pw),\$(cat /proj/ns) opt=\$(ls /opt | wc -l)
      one=\$(cat /one.conf) host=\$(cat /host/in)
      memfs=\$(awk '\$2=="/mem"{print \$3","\$4}' /proc/mounts | grep -o 'tmpfs\|size=8192k' | tr '\n' ,)
      cfgro=\$(touch /cfg/x 2>/dev/null && echo writable || echo refused)
      ro=\$(touch /ro/x 2>/dev/null && echo writable || echo refused)";
      echo c > /scratch/from-c; echo in-sub > /sub/f; echo by-expr > /byname/f; echo to-host > /host/out;
      exec sleep 600
    volumeMounts:
    - {name: cfg, mountPath: /cfg}
    - {name: items, mountPath: /items}
    - {name: sec, mountPath: /sec}
    - {name: dapi, mountPath: /dapi}
    - {name: proj, mountPath: /proj}
    - {name: opt, mountPath: /opt}
    - {name: cfg, mountPath: /one.conf, subPath: a}
    - {name: scratch, mountPath: /scratch}
    - {name: scratch, mountPath: /sub, subPath: d1}
    - {name: scratch, mountPath: /byname, subPathExpr: \$(POD)}
    - {name: scratch, mountPath: /ro, readOnly: true}
    - {name: mem, mountPath: /mem}
    - {name: host, mountPath: /host}
  - name: d
    image: busybox
    command:
    - sh
    - -c
    - >-
      for i in \$(seq 600); do [ -e /shared/from-c ] && [ -e /shared/d1/f ] && [ -e /shared/volpod/f ] && break; sleep 0.1; done;
      echo "shared=\$(cat /shared/from-c) sub=\$(cat /shared/d1/f) expr=\$(cat /shared/volpod/f)"; exec sleep 600
    volumeMounts:
    - {name: scratch, mountPath: /shared}
---
apiVersion: v1
kind: Pod
metadata: {name: volwait}
spec:
  restartPolicy: Never
  volumes:
  - {name: v, configMap: {name: vollater}}
  - {name: h, hostPath: {path: $WORK/hostdir, type: DirectoryOrCreate}}
  containers:
  - {name: c, image: busybox, command: [cat, /v/k], volumeMounts: [{name: v, mountPath: /v}]}
---
apiVersion: v1
kind: Pod
metadata: {name: hostbad}
spec:
  restartPolicy: Never
  volumes:
  - {name: h, hostPath: {path: $WORK/hostdir/in, type: Directory}}
  containers:
  - {name: c, image: busybox, command: ["true"], volumeMounts: [{name: h, mountPath: /h}]}
---
apiVersion: v1
kind: Pod
metadata: {name: volgc}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{name: m, emptyDir: {medium: Memory}}]
  containers:
  - {name: c, image: busybox, command: [sleep, "600"], volumeMounts: [{name: m, mountPath: /m}]}
YAML
k apply -f "$WORK/vol.yaml" >/dev/null || fail "apply vol.yaml"
# a mount of no volume never reaches the agent: the API server refuses it as kube-apiserver's
# ValidateVolumeMounts does (the kubelet's "cannot find volume" stays for what the API lets by)
cat >"$WORK/badmount.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: badmount}
spec:
  restartPolicy: Never
  containers:
  - {name: c, image: busybox, command: ["true"], volumeMounts: [{name: nov, mountPath: /x}]}
YAML
BMSG='The Pod "badmount" is invalid: spec.containers[0].volumeMounts[0].name: Not found: "nov"'
BOUT=$(k create -f "$WORK/badmount.yaml" 2>&1) && fail "badmount: created"
[ "$BOUT" = "$BMSG" ] || fail "badmount: '$BOUT', want '$BMSG'"
logline2() { cat "$WORK"/root/pods/default_"$1"_*/"$2"/0.log 2>/dev/null | sed -n 's/^[^ ]* stdout [FP] //p'; }
events() { k get events -o jsonpath='{range .items[*]}{.involvedObject.name}|{.reason}|{.message}{"\n"}{end}' | sed -n "s/^$1|//p"; }
has_event() { events "$1" | grep -qxF -- "$2"; }
haslog() { [ -n "$(logline2 "$1" "$2")" ]; }

# first (the volume manager's back-off doubles from 0.5 s): the missing ConfigMap's
# FailedMount while volwait waits in ContainerCreating, then the ConfigMap made
F1=$FAILS
WMSG='MountVolume.SetUp failed for volume "v" : configmap "vollater" not found'
wait_for "volwait: FailedMount event" has_event volwait "FailedMount|$WMSG"
waiting volwait ContainerCreating || fail "volwait: not waiting in ContainerCreating"
k create configmap vollater --from-literal=k=later-value >/dev/null

F0=$FAILS
wait_for "volpod c printed" haslog volpod c
WANT="cfg=alphabeta mode=644 bee=beta beemode=600 only=sub pw=hunter2 pwmode=400 labels=app=\"vol\",tier=\"x\" name=volpod mem=64 proj=alpha,hunter2,default opt=0 one=alpha host=from-host memfs=tmpfs,size=8192k, cfgro=refused ro=refused"
[ "$(logline2 volpod c)" = "$WANT" ] || fail "volpod c printed '$(logline2 volpod c)', want '$WANT'"
wait_for "volpod d printed" haslog volpod d
[ "$(logline2 volpod d)" = "shared=c sub=in-sub expr=by-expr" ] || fail "volpod d printed '$(logline2 volpod d)'"
[ "$(cat "$WORK/hostdir/out" 2>/dev/null)" = to-host ] || fail "hostPath: the container's write is not on the host"
VOLS=$(echo "$WORK"/root/pods/default_volpod_*/volumes)
[ -L "$VOLS/kubernetes.io~configmap/cfg/a" ] && [ -L "$VOLS/kubernetes.io~configmap/cfg/..data" ] ||
	fail "configMap volume not written the atomic writer's way: $(ls -la "$VOLS/kubernetes.io~configmap/cfg" 2>&1)"
[ "$(grep -cF "$VOLS/" /proc/self/mountinfo)" -ge 4 ] ||
	fail "volpod: want tmpfs mounts (secret, projected, downwardAPI, mem) under $VOLS: $(grep -F "$VOLS" /proc/self/mountinfo)"
[ $FAILS -eq $F0 ] && ok "volumes: configMap (items, modes), secret, downwardAPI, projected, optional, emptyDir (shared, Memory), hostPath, subPath, readOnly"

F0=$F1
wait_for "volwait runs once its ConfigMap exists" phase volwait Succeeded
[ "$(logline volwait)" = later-value ] || fail "volwait printed '$(logline volwait)'"
HMSG="MountVolume.SetUp failed for volume \"h\" : hostPath type check failed: $WORK/hostdir/in is not a directory, it's a File"
wait_for "hostbad: FailedMount event" has_event hostbad "FailedMount|$HMSG"
[ $FAILS -eq $F0 ] && ok "volumes: missing ConfigMap -> FailedMount ($WMSG), then runs; hostPath type check; a mount of no volume refused by the API"

# a pod force-deleted while the agent is away: the returning agent removes its volumes
F0=$FAILS
wait_for "volgc runs" phase volgc Running
GCV=$(echo "$WORK"/root/pods/default_volgc_*/volumes)
grep -qF "$GCV/" /proc/self/mountinfo || fail "volgc: no tmpfs under $GCV"
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=''
k delete pod volgc --force --grace-period=0 >/dev/null 2>&1
start_agent
gcv_gone() { [ ! -e "$GCV" ] && ! grep -qF "$GCV/" /proc/self/mountinfo; }
wait_for "volgc's volumes removed by the returning agent" gcv_gone
[ $FAILS -eq $F0 ] && ok "volumes of a pod force-deleted while the agent was away: unmounted and removed"
# ---- init containers and securityContext ----
cat >"$WORK/init.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: inits}
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - {name: i1, image: busybox, command: ["sh", "-c", "echo first; while [ ! -e /tmp/go ]; do sleep 0.1; done"]}
  - {name: i2, image: busybox, command: ["sh", "-c", "echo second; while [ ! -e /tmp/go ]; do sleep 0.1; done"]}
  containers:
  - {name: c, image: busybox, command: ["sh", "-c", "echo main; exec sleep 3600"]}
---
apiVersion: v1
kind: Pod
metadata: {name: initfail}
spec:
  restartPolicy: Never
  initContainers:
  - {name: bad, image: busybox, command: ["sh", "-c", "exit 3"]}
  containers:
  - {name: c, image: busybox, command: ["true"]}
---
apiVersion: v1
kind: Pod
metadata: {name: initloop}
spec:
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 1
  initContainers:
  - {name: bad, image: busybox, command: ["sh", "-c", "exit 1"]}
  containers:
  - {name: c, image: busybox, command: ["true"]}
---
apiVersion: v1
kind: Pod
metadata: {name: sidecar}
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - {name: side, image: busybox, restartPolicy: Always, command: ["sleep", "3600"]}
  containers:
  - {name: c, image: busybox, command: ["true"]}
---
apiVersion: v1
kind: Pod
metadata: {name: ids}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: {runAsUser: 999, runAsGroup: 3000, fsGroup: 2000, supplementalGroups: [4000]}
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "id; exec sleep 3600"]
    securityContext: {runAsUser: 1000}
---
apiVersion: v1
kind: Pod
metadata: {name: nonroot}
spec:
  restartPolicy: Never
  securityContext: {runAsNonRoot: true}
  containers:
  - {name: c, image: busybox, command: ["true"]}
YAML
k apply -f "$WORK/init.yaml" >/dev/null || fail "apply init.yaml"
status_col() { [ "$(k get pod "$1" --no-headers | awk '{print $3}')" = "$2" ]; }
ctr_pid() { sed -n "s/.*pod default\/$1: container $2 started (pid \([0-9]*\)).*/\1/p" "$WORK/agent.log" | tail -1; }
F0=$FAILS
wait_for "inits: Init:0/2" status_col inits Init:0/2
wait_for "i1 started" ctr_pid inits i1
[ "$(jp pod inits '{.status.phase}')" = Pending ] || fail "inits: not Pending during init"
[ "$(jp pod inits '{.status.conditions[?(@.type=="Initialized")].message}')" = "containers with incomplete status: [i1 i2]" ] ||
	fail "inits: Initialized message '$(jp pod inits '{.status.conditions[?(@.type=="Initialized")].message}')'"
[ "$(jp pod inits '{.status.initContainerStatuses[1].state.waiting.reason}')" = PodInitializing ] ||
	fail "inits: i2 not waiting while i1 runs"
[ "$(jp pod inits '{.status.containerStatuses[0].state.waiting.reason}')" = PodInitializing ] ||
	fail "inits: c not waiting PodInitializing"
touch "/proc/$(ctr_pid inits i1)/root/tmp/go" || fail "cannot reach i1's root"
wait_for "inits: Init:1/2" status_col inits Init:1/2
wait_for "i2 started" ctr_pid inits i2
[ "$(jp pod inits '{.status.initContainerStatuses[0].state.terminated.reason} {.status.initContainerStatuses[0].ready}')" = "Completed true" ] ||
	fail "inits: i1 not Completed and ready"
[ "$(jp pod inits '{.status.conditions[?(@.type=="Initialized")].message}')" = "containers with incomplete status: [i2]" ] ||
	fail "inits: Initialized message after i1"
[ -z "$(ctr_pid inits c)" ] || fail "inits: c started before i2 ended"
touch "/proc/$(ctr_pid inits i2)/root/tmp/go" || fail "cannot reach i2's root"
wait_for "inits: Running" status_col inits Running
[ "$(jp pod inits '{.status.conditions[?(@.type=="Initialized")].status}')" = True ] || fail "inits: not Initialized"
[[ "$(jp pod inits '{.status.initContainerStatuses[1].state.terminated.finishedAt}')" < "$(jp pod inits '{.status.containerStatuses[0].state.running.startedAt}')" ]] ||
	[ "$(jp pod inits '{.status.initContainerStatuses[1].state.terminated.finishedAt}')" = "$(jp pod inits '{.status.containerStatuses[0].state.running.startedAt}')" ] ||
	fail "inits: c started before i2 finished"
[ "$(k logs inits -c i1)" = first ] && [ "$(k logs inits -c i2)" = second ] || fail "kubectl logs -c of init containers: '$(k logs inits -c i1)'"
[ $FAILS -eq $F0 ] && ok "init containers in order: Init:0/2, Init:1/2, Running; Initialized, PodInitializing, logs -c i1"

F0=$FAILS
wait_for "initfail: Init:Error" status_col initfail Init:Error
[ "$(jp pod initfail '{.status.phase}')" = Failed ] || fail "initfail: phase not Failed"
[ "$(jp pod initfail '{.status.initContainerStatuses[0].state.terminated.exitCode}')" = 3 ] || fail "initfail: exit code"
[ "$(jp pod initfail '{.status.containerStatuses[0].state.waiting.reason}')" = PodInitializing ] || fail "initfail: c ran"
[ $FAILS -eq $F0 ] && ok "failing init container, restartPolicy Never: Init:Error, Failed"

# the first failure is run again at once (kubelet's back-off has no entry yet), the second
# waits 10 s: CrashLoopBackOff at restartCount 2 with "back-off 10s"
F0=$FAILS
wait_for "initloop: Init:CrashLoopBackOff" status_col initloop Init:CrashLoopBackOff
set -- $(jp pod initloop '{.status.initContainerStatuses[0].restartCount} {.status.phase}')
[ "$*" = "2 Pending" ] || fail "initloop: restartCount and phase '$*', want '2 Pending'"
case $(jp pod initloop '{.status.initContainerStatuses[0].state.waiting.message}') in
"back-off 10s restarting failed container=bad pod=initloop_default("*) ;;
*) fail "initloop: message '$(jp pod initloop '{.status.initContainerStatuses[0].state.waiting.message}')'" ;;
esac
[ $FAILS -eq $F0 ] && ok "failing init container, OnFailure: restarted at once, then Init:CrashLoopBackOff (back-off 10s)"

# a restartable init container (sidecar) runs, its container after it (agent_sidecar.sh has
# the order, restarts and the end)
F0=$FAILS
side_up() { [ -n "$(jp pod sidecar '{.status.initContainerStatuses[0].state.running.startedAt}')" ] &&
	[ "$(jp pod sidecar '{.status.initContainerStatuses[0].started}')" = true ]; }
wait_for "sidecar: running and started" side_up
c_ran() { [ -n "$(jp pod sidecar '{.status.containerStatuses[0].state.running.startedAt}{.status.containerStatuses[0].lastState.terminated.finishedAt}')" ]; }
wait_for "sidecar: its container ran after it" c_ran
[ $FAILS -eq $F0 ] && ok "a sidecar (restartable init container) runs, its container after it"

F0=$FAILS
IDS="uid=1000 gid=3000 groups=2000,3000,4000"
printed() { [ "$(logline "$1")" = "$2" ]; }
wait_for "ids: id printed $IDS" printed ids "$IDS"
# kubectl exec runs as the container's user, groups included
[ "$(k exec ids -- id)" = "$IDS" ] || fail "ids: exec id printed '$(k exec ids -- id)'"
[ $FAILS -eq $F0 ] && ok "runAsUser (container over pod), runAsGroup, fsGroup, supplementalGroups: $IDS (in the container and in kubectl exec)"

F0=$FAILS
wait_for "nonroot: CreateContainerConfigError" waiting nonroot CreateContainerConfigError
WANT="container has runAsNonRoot and image will run as root (pod: \"nonroot_default($(jp pod nonroot '{.metadata.uid}'))\", container: c)"
[ "$(jp pod nonroot '{.status.containerStatuses[0].state.waiting.message}')" = "$WANT" ] ||
	fail "nonroot: message '$(jp pod nonroot '{.status.containerStatuses[0].state.waiting.message}')'"
[ $FAILS -eq $F0 ] && ok "runAsNonRoot on a root image: CreateContainerConfigError: $WANT"

k delete pod --all --wait=false >/dev/null
nopods() { [ -z "$(k get pods -o name)" ]; }
wait_for "every pod deleted" nopods
[ ! -e "$VOLS" ] || fail "volpod's volumes dir stays: $(ls "$VOLS")"
! grep -F "$WORK/root/pods" /proc/self/mountinfo || fail "mounts of the pods stay"
[ "$(cat "$WORK/hostdir/in" 2>/dev/null)" = from-host ] || fail "hostPath content gone with the pod"

if [ $FAILS -ne 0 ]; then
	echo "--- agent log" >&2
	tail -40 "$WORK/agent.log" >&2
	echo "agent_env.sh: $FAILS check(s) failed" >&2
	exit 1
fi
echo "agent_env.sh: all checks passed"
