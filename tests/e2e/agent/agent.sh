#!/usr/bin/env bash
# agent.sh: `drover agent` end to end on lib.sh's node: a network namespace of the test's own
# (drvag-$$-node: lo and one veth to the host with a /30, no default route out of the
# machine) runs `drover server --cluster-cidr 10.244.0.0/16` on its 127.0.0.1 (so the
# kubeconfig the server writes, with its certificate for 127.0.0.1, serves unchanged; nothing
# listens on the host) and `drover agent` over a temp image root holding the busybox image
# (scripts/lib/busybox-image.sh). The real kubectl, run inside the namespace, checks: the Node
# Ready with a podCIDR, capacity and its Lease; an httpd pod Running with a podIP from the
# CIDR, env from fieldRef, answering wget from the node; a second pod reaching the first by
# IP; exit 1 with restartPolicy Always -> restartCount >= 1 and CrashLoopBackOff; a missing
# image -> ErrImagePull/ImagePullBackOff (and logs of it in the kubelet's words); delete -> Terminating, then gone, and its process,
# netns, cgroup and CNI address gone (each checked); SIGKILL of the agent, restart -> the node
# and pods come back; a SIGKILLed and restarted agent adopts a running pod (same process, IP
# and restartCount, still answering; deleted later like any other) and reports the real exit
# code of a container that ended while it was away, ends the process and netns of a pod
# force-deleted while it was away, does not run again the init containers of a pod past them;
# bad flags exit 2 with one line. Everything made (processes
# by PID, the namespaces, cgroups under drvag-$$, the work dir) is removed on exit, also on
# failure.
set -uo pipefail
E2E_TAG=drvag
# shellcheck source=tests/e2e/agent/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

# ---- bad flags: exit 2 and one line ----
bad_flags "" "--node x" "--kubeconfig k" "--kubeconfig k --node Bad_Name" \
	"--kubeconfig k --node n --node-ip 1.2.3" "--kubeconfig k --node n --labels a" \
	"--kubeconfig k --node n --cgroup-parent /abs" "--kubeconfig k --node n --bogus" &&
	ok "bad flags exit 2 with one line"

# the Node's labels (checked below); --no-proxy: the service proxy (and its pins) is
# agent_proxy.sh's; by default it would pin under the machine-wide /sys/fs/bpf/drover
AGENT_FLAGS=(--labels e2e=agent --no-proxy)
node_up

# ---- step 1: the Node ----
CIDR=$(jp node "$NODENAME" '{.spec.podCIDR}')
case $CIDR in 10.244.*.0/24) ok "node Ready, podCIDR $CIDR" ;; *) fail "podCIDR '$CIDR'" ;; esac
PFX=${CIDR%.0/24}
F0=$FAILS
[ "$(jp node "$NODENAME" '{.status.capacity.pods}')" = 110 ] || fail "capacity pods"
[ "$(jp node "$NODENAME" '{.status.capacity.cpu}')" = "$(nproc)" ] || fail "capacity cpu"
[ "$(jp node "$NODENAME" '{.metadata.labels.kubernetes\.io/hostname}')" = "$NODENAME" ] ||
	fail "hostname label"
[ "$(jp node "$NODENAME" '{.metadata.labels.e2e}')" = agent ] || fail "--labels"
[ "$(jp node "$NODENAME" '{.status.addresses[?(@.type=="InternalIP")].address}')" = "$NODEIP" ] ||
	fail "InternalIP is not $NODEIP"
[ "$(k get lease -n kube-node-lease "$NODENAME" -o jsonpath='{.spec.holderIdentity}')" = "$NODENAME" ] ||
	fail "Lease"
[ $FAILS -eq $F0 ] && ok "capacity, labels, InternalIP $NODEIP, Lease"

# ---- step 2: pods ----
cat >"$WORK/pods.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 3
  containers:
  - name: httpd
    image: busybox
    command: ["sh", "-c", "mkdir /www && echo hello-\$MY_NAME-\$MY_NS > /www/index.html && exec httpd -f -p 8080 -h /www"]
    env:
    - {name: MY_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: MY_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    resources: {limits: {memory: 64Mi, cpu: 500m}}
YAML
k apply -f "$WORK/pods.yaml" >/dev/null || fail "apply web"
running() { [ "$(jp pod "$1" '{.status.phase}')" = Running ] && [ -n "$(jp pod "$1" '{.status.podIP}')" ]; }
wait_for "web Running" running web
IP=$(jp pod web '{.status.podIP}')
case $IP in "$PFX".*) ok "web Running, podIP $IP in $CIDR" ;; *) fail "podIP $IP not in $CIDR" ;; esac
[ "$(jp pod web '{.status.hostIP}')" = "$NODEIP" ] || fail "hostIP"
[ "$(jp pod web '{.status.conditions[?(@.type=="Ready")].status}')" = True ] || fail "Ready"
[ "$(jp pod web '{.status.containerStatuses[0].ready}')" = true ] || fail "container ready"
case $(jp pod web '{.status.containerStatuses[0].containerID}') in drover://*) ;; *) fail "containerID" ;; esac
wait_for "wget the pod from the node" innode wget -qO- -T 5 "http://$IP:8080/"
[ "$OUT" = "hello-web-default" ] && ok "httpd answers from the node: $OUT" || fail "wget: '$OUT'"
UID_WEB=$(jp pod web '{.metadata.uid}')
PODDIR=$(echo "$WORK"/root/pods/default_web_"$UID_WEB")
[ -f "$PODDIR/httpd/0.log" ] || fail "no log at $PODDIR/httpd/0.log"
# the memory limit is in the container's cgroup (v1 memory or v2)
MEM=$(cat /sys/fs/cgroup/memory/"$CGP"/pods/"$UID_WEB"/httpd/memory.limit_in_bytes \
	/sys/fs/cgroup/"$CGP"/pods/"$UID_WEB"/httpd/memory.max 2>/dev/null | head -1)
[ "$MEM" = 67108864 ] && ok "memory limit 64Mi in the cgroup" || fail "memory limit: '$MEM'"

cat >"$WORK/client.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  restartPolicy: Never
  containers:
  # nc, not wget: the image's static busybox wget crashes in glibc's resolver setup (NSS)
  - name: c
    image: busybox
    command: ["sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 5 $IP 8080"]
YAML
k apply -f "$WORK/client.yaml" >/dev/null
succeeded() { [ "$(jp pod "$1" '{.status.phase}')" = "$2" ]; }
wait_for "client Succeeded" succeeded client Succeeded &&
	ok "a second pod reaches the first by IP (exit 0, phase Succeeded)"
grep -q "hello-web-default" "$WORK"/root/pods/default_client_*/c/0.log ||
	fail "client's log has no answer"
UID_CLIENT=$(jp pod client '{.metadata.uid}')
nonetns() { [ ! -e "/run/netns/drv-$1" ]; }
wait_for "client's sandbox given back once it Succeeded" nonetns "$UID_CLIENT" &&
	ok "a Succeeded pod gives its sandbox back"

cat >"$WORK/bad.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox, command: ["sh", "-c", "exit 1"]}
---
apiVersion: v1
kind: Pod
metadata: {name: noimg}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: "example.com/nosuch:1"}
YAML
k apply -f "$WORK/bad.yaml" >/dev/null
crashloop() {
	[ "$(jp pod crash '{.status.containerStatuses[0].restartCount}')" -ge 1 ] 2>/dev/null &&
		[ "$(jp pod crash '{.status.containerStatuses[0].state.waiting.reason}')" = CrashLoopBackOff ]
}
wait_for "crash: restartCount >= 1 and CrashLoopBackOff" crashloop &&
	ok "exit 1 with Always: restartCount $(jp pod crash '{.status.containerStatuses[0].restartCount}'), CrashLoopBackOff"
[ "$(jp pod crash '{.status.containerStatuses[0].lastState.terminated.exitCode}')" = 1 ] ||
	fail "lastState.terminated.exitCode"
pullerr() {
	case $(jp pod noimg '{.status.containerStatuses[0].state.waiting.reason}') in
	ErrImagePull | ImagePullBackOff) return 0 ;;
	esac
	return 1
}
wait_for "noimg: ErrImagePull/ImagePullBackOff" pullerr &&
	ok "missing image: $(jp pod noimg '{.status.containerStatuses[0].state.waiting.reason}')"
[ "$(jp pod noimg '{.status.phase}')" = Pending ] || fail "noimg phase not Pending"
# logs of it: the kubelet's words for the reason it waits (validateContainerLogStatus)
OUT=$(k logs noimg 2>&1)
case "$OUT" in
*'"c" in pod "noimg" is waiting to start: '"trying and failing to pull image"* | \
	*'"c" in pod "noimg" is waiting to start: '"image can't be pulled"*)
	ok "logs of noimg: ${OUT#*: }" ;;
*) fail "logs of noimg: $OUT" ;;
esac

# ---- the kubelet's Events of these pods, in its words (kuberuntime_container.go
# startContainer, image_manager.go, doBackOff): reason and message of each
evs() { k get events --field-selector "involvedObject.name=$1" -o jsonpath='{range .items[*]}{.reason}: {.message}{"\n"}{end}'; }
has_ev() { local e; e=$(evs "$1") && grep -qxF -- "$2" <<<"$e"; }
F0=$FAILS
for want in 'Pulled: Container image "busybox" already present on machine' \
	'Created: Created container c' 'Started: Started container c'; do
	wait_for "client's Event '$want'" has_ev client "$want"
done
UID_CRASH=$(jp pod crash '{.metadata.uid}')
wait_for "crash's BackOff Event" has_ev crash "BackOff: Back-off restarting failed container c in pod crash_default($UID_CRASH)"
for want in 'Pulling: Pulling image "example.com/nosuch:1"' 'Failed: Error: ErrImagePull'; do
	wait_for "noimg's Event '$want'" has_ev noimg "$want"
done
EVS=$(evs noimg)
grep -q '^Failed: Failed to pull image "example.com/nosuch:1": ' <<<"$EVS" ||
	fail "noimg: no 'Failed to pull image' Event: $EVS"
[ $FAILS -eq $F0 ] && ok "the kubelet's Events: Pulled, Created, Started; BackOff of a crash loop; Pulling and Failed of a missing image"

# ---- step 3: deletion ----
PID=$(sed -n "s/.*pod default\/web: container httpd started (pid \([0-9]*\)).*/\1/p" "$WORK/agent.log" | tail -1)
[ -n "$PID" ] && kill -0 "$PID" || fail "web's process ($PID) not found"
NS_FILE=/run/netns/drv-$UID_WEB
[ -e "$NS_FILE" ] || fail "no netns $NS_FILE"
STATE=$(echo "$WORK"/root/cni/ipam/*/state)
grep -q "$UID_WEB" $STATE || fail "no CNI address for web in $STATE"
k delete pod web --wait=false >/dev/null
[ -n "$(jp pod web '{.metadata.deletionTimestamp}')" ] && ok "web Terminating" || fail "no deletionTimestamp"
gone() { ! k get pod "$1" >/dev/null 2>&1; }
wait_for "web gone" gone web && ok "web deleted"
kill -0 "$PID" 2>/dev/null && fail "web's process $PID still runs" || ok "process $PID gone"
[ -e "$NS_FILE" ] && fail "netns $NS_FILE still there" || ok "netns gone"
ls -d /sys/fs/cgroup/*/"$CGP"/pods/"$UID_WEB" /sys/fs/cgroup/"$CGP"/pods/"$UID_WEB" 2>/dev/null | grep -q . &&
	fail "cgroup of web still there" || ok "cgroups gone"
grep -q "$UID_WEB" $STATE && fail "CNI address of web still allocated" || ok "CNI address released"
[ -d "$PODDIR" ] && fail "pod dir $PODDIR still there"

# ---- SIGKILL of the agent: restartable ----
CRASH_UID=$(jp pod crash '{.metadata.uid}')
# killed while crash backs off (restartCount N, waiting): the new agent's next run ends as N+1;
# a count that started over gives 1, never above N (N >= 1 once it has crashed)
backing_off() {
	set -- $(jp pod crash '{.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].state.waiting.reason}')
	[ "$2" = CrashLoopBackOff ] && echo "$1"
}
wait_for "crash backing off" backing_off
CRASH_RC=$OUT # wait_for's OUT: the count read with the state
KILL_TS=$(date -u +%Y-%m-%dT%H:%M:%SZ)
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
k apply -f "$WORK/pods.yaml" >/dev/null
start_agent
wait_for "web Running after the agent restart" running web &&
	ok "agent restarted after SIGKILL: web Running again"
IP=$(jp pod web '{.status.podIP}')
wait_for "wget after restart" innode wget -qO- -T 5 "http://$IP:8080/"
[ "$(ls /run/netns | grep -c "drv-$CRASH_UID")" = 1 ] || fail "crash's netns not made again once"
# its restart count and back-off carry on (the kubelet keeps them with the runtime's records):
# once the new agent's first run of it has ended (finished after the kill; the next waits out a
# back-off of 10 s or more), the count is N+1
new_run_ended() { [[ "$(jp pod crash '{.status.containerStatuses[0].lastState.terminated.finishedAt}')" > "$KILL_TS" ]]; }
wait_for "the new agent's first run of crash ended" new_run_ended
RC_NOW=$(jp pod crash '{.status.containerStatuses[0].restartCount}')
[ "$RC_NOW" -eq $((CRASH_RC + 1)) ] 2>/dev/null &&
	ok "crash's restartCount carried on across the restart ($CRASH_RC before, $RC_NOW now)" ||
	fail "crash's restartCount started over: $CRASH_RC before, '$RC_NOW' now"
# its exit before the restart was recorded (agent_pod_save on reap): not taken for lost
grep -q "pod default/crash: container .* is lost" "$WORK/agent.log" &&
	fail "crash was reported lost after the restart: its last exit was not recorded" ||
	ok "crash's last exit was recorded before the restart, not reported lost"

# ---- adoption: a restarted agent takes its running pods back instead of starting them again;
# a container that ended while the agent was away is reported with its real exit code ----
cat >"$WORK/adopt.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: keep}
spec:
  terminationGracePeriodSeconds: 3
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "mkdir /www && echo kept > /www/index.html && exec httpd -f -p 8080 -h /www"]
---
apiVersion: v1
kind: Pod
metadata: {name: orphan}
spec:
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "exec sleep 3600"]
---
apiVersion: v1
kind: Pod
metadata: {name: ender}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.1; done; exit 3"]
---
apiVersion: v1
kind: Pod
metadata: {name: inited}
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - {name: init, image: busybox, command: ["true"]}
  containers:
  - {name: main, image: busybox, command: ["sh", "-c", "exec sleep 3600"]}
---
apiVersion: v1
kind: Pod
metadata: {name: stray}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "exec sleep 3600"]
YAML
k apply -f "$WORK/adopt.yaml" >/dev/null || fail "apply adopt.yaml"
wait_for "keep Running" running keep
wait_for "ender Running" running ender
wait_for "orphan Running" running orphan
wait_for "stray Running" running stray
wait_for "inited Running" running inited
started_pid() { sed -n "s/.*pod default\/$1: container main started (pid \([0-9]*\)).*/\1/p" "$WORK/agent.log" | tail -1; }
ORPHAN_PID=$(started_pid orphan)
ORPHAN_UID=$(jp pod orphan '{.metadata.uid}')
KEEP_PID=$(started_pid keep)
ENDER_PID=$(started_pid ender)
STRAY_PID=$(started_pid stray)
KEEP_IP=$(jp pod keep '{.status.podIP}')
STARTS=$(grep -c 'container main started' "$WORK/agent.log")
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=''
# while the agent is away: ender's container ends with 3 (its /tmp through /proc/PID/root)
touch "/proc/$ENDER_PID/root/tmp/go" || fail "cannot reach ender's root"
ended() { ! kill -0 "$1" 2>/dev/null; }
wait_for "ender's process ends" ended "$ENDER_PID"
kill -0 "$KEEP_PID" 2>/dev/null || fail "keep's process $KEEP_PID died with the agent"
# stray's shim is killed: no exit status will come, its container runs on (re-parented)
STRAY_SHIM=$(sed -n 's/.*"shim":\([0-9]*\).*/\1/p' "$WORK"/root/pods/default_stray_*/state.json)
dead() { ! grep -qs ') [^Z] ' "/proc/$1/stat"; } # gone, or a zombie no one reaps yet
[ -n "$STRAY_SHIM" ] && kill -KILL "$STRAY_SHIM" || fail "no shim pid in stray's state file"
wait_for "stray's shim ends" dead "$STRAY_SHIM"
# and orphan is force-deleted from the API: nothing is left to tell the agent but its own disk
k delete pod orphan --force --grace-period=0 >/dev/null 2>&1
start_agent
adopted() { grep -q "pod default/$1: container main adopted" "$WORK/agent.log"; }
wait_for "keep adopted" adopted keep && ok "keep adopted (pid $KEEP_PID)"
failed_with() {
	[ "$(jp pod ender '{.status.phase}')" = Failed ] &&
		[ "$(jp pod ender '{.status.containerStatuses[0].state.terminated.exitCode}')" = "$1" ]
}
wait_for "ender Failed with exit code 3" failed_with 3 && ok "ender's exit code 3 kept while the agent was away"
kill -0 "$KEEP_PID" 2>/dev/null && ok "keep's process $KEEP_PID still runs" || fail "keep's process restarted"
[ "$(jp pod keep '{.status.podIP}')" = "$KEEP_IP" ] || fail "keep's podIP changed"
[ "$(jp pod keep '{.status.containerStatuses[0].restartCount}')" = 0 ] || fail "keep's restartCount"
[ "$(jp pod keep '{.status.phase}')" = Running ] || fail "keep not Running"
wait_for "wget keep after the restart" innode wget -qO- -T 5 "http://$KEEP_IP:8080/"
[ "$OUT" = kept ] || fail "keep answers '$OUT'"
# a pod past its init containers does not run them again (nor its container)
wait_for "inited adopted" adopted inited
[ "$(grep -c 'pod default/inited: container init started' "$WORK/agent.log")" = 1 ] &&
	[ "$(jp pod inited '{.status.initContainerStatuses[0].state.terminated.reason} {.status.phase}')" = "Completed Running" ] &&
	ok "inited: its init container not run again after the restart" ||
	fail "inited: init container started $(grep -c 'pod default/inited: container init started' "$WORK/agent.log") times, status '$(jp pod inited '{.status.initContainerStatuses[0].state.terminated.reason} {.status.phase}')'"
grep "container main started" "$WORK/agent.log" | tail -n +$((STARTS + 1)) | grep -q 'default/\(keep\|ender\|inited\)' &&
	fail "keep or ender started again: $(grep 'container main started' "$WORK/agent.log" | tail -n +$((STARTS + 1)))"
wait_for "orphan's process ended by the returning agent" ended "$ORPHAN_PID" &&
	ok "a pod force-deleted while the agent was away: its process ended when it returned"
wait_for "orphan's netns removed" nonetns "$ORPHAN_UID"
# a container whose shim is gone is lost (137, ContainerStatusUnknown) and started again; what
# ran of it does not run on beside the new one
lost_137() {
	[ "$(jp pod stray '{.status.containerStatuses[0].lastState.terminated.exitCode}')" = 137 ] &&
		[ "$(jp pod stray '{.status.containerStatuses[0].lastState.terminated.reason}')" = ContainerStatusUnknown ] &&
		[ "$(jp pod stray '{.status.containerStatuses[0].restartCount}')" = 1 ]
}
wait_for "stray lost (137, ContainerStatusUnknown), restarted" lost_137 &&
	ok "stray, its shim killed while the agent was away: lost and restarted"
wait_for "stray's old process $STRAY_PID ended" dead "$STRAY_PID" &&
	ok "stray's lost run ended (pid $STRAY_PID), not left beside the new one"
# an adopted container stops on delete like any other
k delete pod keep --wait=false >/dev/null
wait_for "keep gone" gone keep
ended "$KEEP_PID" && ok "adopted keep deleted: process gone" || fail "keep's process $KEEP_PID still runs"

# ---- the end: delete everything through the agent, nothing left ----
k delete pod --all --wait=false >/dev/null
nopods() { [ -z "$(k get pods -o name)" ]; }
wait_for "every pod deleted" nopods
[ -z "$(ls "$WORK/root/sandboxes")" ] || fail "sandboxes left: $(ls "$WORK/root/sandboxes")"
[ "$(grep -c . $STATE)" = 1 ] || fail "addresses left in $STATE: $(cat $STATE)"

if [ $FAILS -ne 0 ]; then
	echo "--- agent log" >&2
	tail -40 "$WORK/agent.log" >&2
	echo "agent.sh: $FAILS check(s) failed" >&2
	exit 1
fi
echo "agent.sh: all checks passed"
