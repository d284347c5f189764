#!/usr/bin/env bash
# sim_e2e.sh [tls|insecure]: `drover sim` against `drover server` (which runs the scheduler and
# the controllers), checked with the real kubectl. tls: the kubeconfig the server writes
# (HTTPS, client certificate); insecure: --insecure-loopback and a kubeconfig made here.
#
# Nodes appear with the kubelet's labels, capacity, podCIDR and conditions and go Ready;
# their Leases renew; a pod is scheduled by drover's scheduler and becomes Running and Ready
# with an IP of its node's podCIDR (pods of one node never share one); a Job's pod Succeeds;
# a deleted pod goes only after its grace period; a node set Ready=Unknown gets Ready=True
# from its sim again; a single `--name` node killed with SIGKILL stops renewing its Lease
# (and, when the server runs the node lifecycle controller, goes Unknown), and a sim
# restarted under the name posts Ready again; SIGTERM leaves the nodes unless
# --delete-on-exit. Every process is stopped by PID and the directory removed, also on
# failure.
set -uo pipefail

MODE=${1:-tls}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${DROVER_SOURCE_DIR:-$HERE/../../..}
BIN=${DROVER_BIN:-$SRC/build/userspace/cli}/drover
K=${KUBECTL:-/usr/bin/kubectl}
[ -x "$BIN" ] || { echo "no drover binary at $BIN" >&2; exit 1; }
[ -x "$K" ] || { echo "no kubectl at $K" >&2; exit 1; }

WORK=$(mktemp -d /tmp/drover-e2e-sim.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	if [ -n "${DROVER_E2E_KEEP:-}" ]; then
		echo "kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
export HOME=$WORK/home
mkdir -p "$HOME"

FAILS=0 CHECKS=0
fail() {
	FAILS=$((FAILS + 1))
	echo "FAIL [$MODE] $*" >&2
}
check() { # check DESC cmd...: one assertion
	local desc=$1
	shift
	CHECKS=$((CHECKS + 1))
	"$@" || fail "$desc"
}
k() { "$K" --request-timeout=30s "$@"; }
jp() { k get "$1" "$2" ${3:+-n "$3"} -o jsonpath="$4" 2>/dev/null; }
# wait_for DESC SECONDS cmd...: poll cmd until it succeeds (a generous deadline, never a
# fixed sleep)
wait_for() {
	local desc=$1 secs=$2 deadline
	shift 2
	CHECKS=$((CHECKS + 1))
	deadline=$((SECONDS + secs))
	while ! "$@" >/dev/null 2>&1; do
		if [ $SECONDS -ge $deadline ]; then
			fail "timed out ($secs s): $desc"
			return 1
		fi
		sleep 0.2
	done
	return 0
}
dump_logs() {
	for f in "$WORK"/*.log; do
		echo "---- $f" >&2
		tail -30 "$f" >&2
	done
}
finish() {
	if [ $FAILS -ne 0 ]; then
		dump_logs
		echo "sim e2e [$MODE]: $FAILS of $CHECKS checks failed" >&2
		exit 1
	fi
	echo "sim e2e [$MODE]: $CHECKS checks passed"
	exit 0
}

# ---- the server ----
LIFECYCLE=0
"$BIN" server --help | grep -qw nodelifecycle && LIFECYCLE=1
JOBCTRL=0
"$BIN" server --help | grep -qE '^ +job( |$)' && JOBCTRL=1
# a short grace, so that a killed node is noticed soon; the sims renew every second
GRACE=4
if [ "$MODE" = tls ]; then
	# shellcheck source=../../../scripts/lib/apiserver.sh
	source "$SRC/scripts/lib/apiserver.sh"
	api_server_start "$BIN" "$WORK/data" "$WORK/server.log" --node-grace $GRACE
	rc=$?
	PIDS+=("$API_PID")
	[ $rc -eq 0 ] || exit 1
	export KUBECONFIG=$WORK/data/kubeconfig
else
	"$BIN" server --data-dir "$WORK/data" --insecure-loopback --listen 127.0.0.1:0 \
		--node-grace $GRACE >"$WORK/server.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 400); do
		[ -s "$WORK/data/kubeconfig" ] && break
		sleep 0.05
	done
	PORT=$(sed -n 's|.*server: http://127.0.0.1:\([0-9]*\)$|\1|p' "$WORK/data/kubeconfig")
	[ -n "$PORT" ] || { cat "$WORK/server.log" >&2; exit 1; }
	# a kubeconfig of our own, as a user would write for a plain-HTTP test server
	cat >"$WORK/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: http://127.0.0.1:$PORT
contexts:
- name: local
  context:
    cluster: local
    user: nobody
current-context: local
users:
- name: nobody
  user: {}
EOF
	export KUBECONFIG=$WORK/kubeconfig
fi

# ---- bad command lines: one line, exit 2 ----
"$BIN" sim --nodes 0 >"$WORK/out" 2>&1
rc=$?
check "bad --nodes exits 2 (got $rc)" [ $rc -eq 2 ]
check "bad --nodes: one line naming the flag" \
	bash -c "[ \$(wc -l <'$WORK/out') -eq 1 ] && grep -q -- '--nodes' '$WORK/out'"
"$BIN" sim --nodes 1 --kubeconfig "$WORK/none" >"$WORK/out" 2>&1
rc=$?
check "a missing kubeconfig exits 1 (got $rc)" [ $rc -eq 1 ]
check "a missing kubeconfig is named" grep -q "kubeconfig" "$WORK/out"

# ---- three nodes ----
SIMLOG=$WORK/sim.log
"$BIN" sim --nodes 3 --zones 2 --labels tier=sim --lease-renew 1 --job-seconds 1 \
	>"$SIMLOG" 2>&1 &
SIM=$!
PIDS+=($SIM)
ready_count() {
	[ "$(k get nodes -l drover.dev/sim=true -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)" -eq "$1" ]
}
wait_for "3 nodes Ready" 60 ready_count 3
check "kubectl get nodes shows them Ready at v1.32.4" \
	bash -c "'$K' get nodes --no-headers | grep -E '^sim-[0-2] +Ready +<none> .* v1.32.4' | wc -l | grep -qx 3"
wait_for "the sim logs the registration" 30 grep -q "3 nodes registered in" "$SIMLOG"

N=$(k get node sim-1 -o json)
node_has() { # node_has PYTHON-EXPR: an assertion over the node as n
	python3 -c "import json,sys; n=json.load(sys.stdin); sys.exit(0 if ($1) else 1)" <<<"$N"
}
check "labels: hostname, os, arch" node_has \
	"n['metadata']['labels']['kubernetes.io/hostname']=='sim-1' and n['metadata']['labels']['kubernetes.io/os']=='linux' and n['metadata']['labels']['kubernetes.io/arch']=='amd64' and n['metadata']['labels']['beta.kubernetes.io/os']=='linux'"
check "labels: zone, region, --labels, the sim's mark" node_has \
	"n['metadata']['labels']['topology.kubernetes.io/zone']=='zone-1' and n['metadata']['labels']['topology.kubernetes.io/region']=='region' and n['metadata']['labels']['tier']=='sim' and n['metadata']['labels']['drover.dev/sim']=='true'"
check "zones spread: sim-0 and sim-2 in zone-0" \
	bash -c "[ \"\$('$K' get nodes -l topology.kubernetes.io/zone=zone-0 -o name | sort | tr '\n' ' ')\" = 'node/sim-0 node/sim-2 ' ]"
check "capacity and allocatable" node_has \
	"all(n['status'][r]=={'cpu':'8','memory':'32Gi','pods':'110','ephemeral-storage':'100Gi','hugepages-1Gi':'0','hugepages-2Mi':'0'} for r in ('capacity','allocatable'))"
check "conditions as the kubelet writes them" node_has \
	"[(c['type'],c['status'],c['reason']) for c in n['status']['conditions']]==[('MemoryPressure','False','KubeletHasSufficientMemory'),('DiskPressure','False','KubeletHasNoDiskPressure'),('PIDPressure','False','KubeletHasSufficientPID'),('Ready','True','KubeletReady')] and n['status']['conditions'][3]['message']=='kubelet is posting ready status'"
check "addresses, nodeInfo, daemonEndpoints" node_has \
	"n['status']['addresses'][0]['type']=='InternalIP' and n['status']['addresses'][1]=={'type':'Hostname','address':'sim-1'} and n['status']['nodeInfo']['kubeletVersion']=='v1.32.4' and n['status']['nodeInfo']['containerRuntimeVersion'].startswith('drover-sim://') and n['status']['nodeInfo']['operatingSystem']=='linux' and n['status']['daemonEndpoints']['kubeletEndpoint']['Port']==10250"
CIDRS=$(k get nodes -l drover.dev/sim=true -o jsonpath='{range .items[*]}{.spec.podCIDR} {.spec.podCIDRs[0]}{"\n"}{end}')
check "each node its own /24 of 10.244.0.0/16, podCIDRs the same" python3 -c "
import ipaddress,sys
rows=[l.split() for l in sys.argv[1].splitlines()]
nets=[ipaddress.ip_network(a) for a,b in rows if a==b]
assert len(nets)==3 and len(set(nets))==3, rows
assert all(n.prefixlen==24 and n.subnet_of(ipaddress.ip_network('10.244.0.0/16')) for n in nets)
" "$CIDRS"

# ---- Leases ----
L=$(k get lease sim-1 -n kube-node-lease -o json)
check "the Lease: holder, duration, owner" python3 -c "
import json,sys
l=json.loads(sys.argv[1]); n=json.loads(sys.argv[2])
assert l['spec']['holderIdentity']=='sim-1' and l['spec']['leaseDurationSeconds']==40
r=l['metadata']['ownerReferences'][0]
assert (r['apiVersion'],r['kind'],r['name'],r['uid'])==('v1','Node','sim-1',n['metadata']['uid'])
assert len(l['spec']['renewTime'])==len('2006-01-02T15:04:05.000000Z')
" "$L" "$N"
renew() { jp lease "$1" kube-node-lease '{.spec.renewTime}'; }
R0=$(renew sim-1)
wait_for "the Lease of sim-1 renews" 30 bash -c "[ \"\$('$K' get lease sim-1 -n kube-node-lease -o jsonpath='{.spec.renewTime}')\" != '$R0' ]"

# ---- a pod, scheduled by drover's scheduler ----
cat >"$WORK/web.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  terminationGracePeriodSeconds: 3
  containers:
  - name: web
    image: nginx:1.25
    readinessProbe:
      httpGet: {path: /, port: 80}
EOF
check "create a pod" k apply -f "$WORK/web.yaml"
wait_for "web Running and Ready" 60 k wait --for=condition=Ready pod/web --timeout=2s
P=$(k get pod web -o json)
NODE=$(python3 -c "import json,sys; print(json.load(sys.stdin)['spec']['nodeName'])" <<<"$P")
NJ=$(k get node "$NODE" -o json)
check "web's IP in its node's podCIDR, hostIP its InternalIP" python3 -c "
import ipaddress,json,sys
p=json.loads(sys.argv[1]); n=json.loads(sys.argv[2]); s=p['status']
net=ipaddress.ip_network(n['spec']['podCIDR']); ip=ipaddress.ip_address(s['podIP'])
assert ip in net and ip not in (net[0],net[1],net[-1]), (ip,net)
assert s['podIPs']==[{'ip':s['podIP']}]
assert s['hostIP']==n['status']['addresses'][0]['address'] and s['hostIPs']==[{'ip':s['hostIP']}]
" "$P" "$NJ"
check "web's status as the kubelet writes it" python3 -c "
import json,sys
s=json.loads(sys.argv[1])['status']
assert s['phase']=='Running' and s['startTime']
assert [c['type'] for c in s['conditions']]==['PodReadyToStartContainers','Initialized','Ready','ContainersReady','PodScheduled'], s['conditions']
assert all(c['status']=='True' and c['lastTransitionTime'] for c in s['conditions'])
c=s['containerStatuses'][0]
assert c['ready'] and c['started'] and c['restartCount']==0 and c['state']['running']['startedAt']
assert c['image']=='docker.io/library/nginx:1.25' and c['imageID'].startswith('docker.io/library/nginx@sha256:')
assert c['containerID'].startswith('drover-sim://') and len(c['containerID'])==13+64
" "$P"
check "kubectl get pod shows 1/1 Running" bash -c "'$K' get pod web --no-headers | grep -qE '^web +1/1 +Running'"

# ---- several pods on one node: one IP each ----
for i in 1 2 3 4 5; do
	cat <<EOF
---
apiVersion: v1
kind: Pod
metadata: {name: pin-$i}
spec:
  nodeName: sim-0
  containers: [{name: c, image: busybox}]
EOF
done >"$WORK/pins.yaml"
check "create 5 pods bound to sim-0" k apply -f "$WORK/pins.yaml"
running_pins() {
	[ "$(k get pods -o jsonpath='{range .items[*]}{.metadata.name} {.status.phase}{"\n"}{end}' | grep -c '^pin-.* Running')" -eq 5 ]
}
wait_for "5 pinned pods Running" 60 running_pins
IPS=$(k get pods -o jsonpath='{range .items[*]}{.spec.nodeName} {.status.podIP}{"\n"}{end}')
C0=$(jp node sim-0 "" '{.spec.podCIDR}')
check "pods of sim-0 have distinct IPs of its range" python3 -c "
import ipaddress,sys
net=ipaddress.ip_network(sys.argv[2])
ips=[l.split()[1] for l in sys.argv[1].splitlines() if l.startswith('sim-0 ')]
assert len(ips)>=5 and len(set(ips))==len(ips), ips
assert all(ipaddress.ip_address(i) in net for i in ips), ips
assert not {str(net[0]),str(net[1]),str(net[-1])} & set(ips), ips # network, bridge, broadcast
" "$IPS" "$C0"

# ---- the sim restarted: running pods keep their IPs, a new pod gets another ----
kill -KILL $SIM
wait $SIM 2>/dev/null
BEFORE=$(k get pods -o jsonpath='{range .items[*]}{.metadata.name} {.status.podIP}{"\n"}{end}')
cat >"$WORK/pin6.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: pin-6}
spec:
  nodeName: sim-0
  containers: [{name: c, image: busybox}]
EOF
check "create a pod bound to sim-0 while no sim runs" k apply -f "$WORK/pin6.yaml"
SIMLOG=$WORK/sim-restarted.log
"$BIN" sim --nodes 3 --zones 2 --labels tier=sim --lease-renew 1 --job-seconds 1 \
	>"$SIMLOG" 2>&1 &
SIM=$!
PIDS+=($SIM)
wait_for "pin-6 Running after the restart" 60 bash -c "[ \"\$('$K' get pod pin-6 -o jsonpath='{.status.phase}')\" = Running ]"
AFTER=$(k get pods -o jsonpath='{range .items[*]}{.metadata.name} {.status.podIP}{"\n"}{end}')
check "the running pods kept their IPs, pin-6 got another of sim-0's range" python3 -c "
import ipaddress,sys
before=dict(l.split() for l in sys.argv[1].splitlines() if l.startswith('pin-'))
after=dict(l.split() for l in sys.argv[2].splitlines() if l.startswith('pin-'))
assert len(before)==5 and all(after[k]==v for k,v in before.items()), (before,after)
assert after['pin-6'] not in before.values(), after
assert ipaddress.ip_address(after['pin-6']) in ipaddress.ip_network(sys.argv[3])
" "$BEFORE" "$AFTER" "$C0"
check "the restarted sim listed the bound pods" grep -qE "listed [0-9]+ pods of 3 nodes" "$SIMLOG"

# ---- a Job's pod succeeds ----
cat >"$WORK/job.yaml" <<'EOF'
apiVersion: batch/v1
kind: Job
metadata:
  name: once
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
EOF
check "create a Job" k apply -f "$WORK/job.yaml"
if [ $JOBCTRL -eq 0 ]; then
	# no Job controller in this server: its pod made here, owned by the Job as the
	# controller would own it
	JUID=$(jp job once "" '{.metadata.uid}')
	cat >"$WORK/jobpod.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: once-x1
  labels: {job-name: once}
  ownerReferences:
  - {apiVersion: batch/v1, kind: Job, name: once, uid: "$JUID", controller: true, blockOwnerDeletion: true}
spec:
  restartPolicy: Never
  containers: [{name: c, image: busybox}]
EOF
	check "create the Job's pod" k apply -f "$WORK/jobpod.yaml"
fi
job_pod() { k get pods -l job-name=once -o jsonpath='{.items[0].metadata.name}'; }
succeeded() { [ "$(k get pods -l job-name=once -o jsonpath='{.items[0].status.phase}')" = Succeeded ]; }
wait_for "the Job's pod Succeeded" 60 succeeded
JP=$(k get pod "$(job_pod)" -o json)
check "the Job's pod: terminated Completed, Ready False PodCompleted" python3 -c "
import json,sys
s=json.loads(sys.argv[1])['status']
t=s['containerStatuses'][0]['state']['terminated']
assert t['exitCode']==0 and t['reason']=='Completed' and t['finishedAt']
c={c['type']:c for c in s['conditions']}
assert c['Ready']['status']=='False' and c['Ready']['reason']=='PodCompleted'
assert c['ContainersReady']['reason']=='PodCompleted' and c['PodReadyToStartContainers']['status']=='False'
" "$JP"
if [ $JOBCTRL -eq 1 ]; then
	wait_for "the Job Complete" 60 k wait --for=condition=Complete job/once --timeout=2s
fi

# ---- a deleted pod goes after its grace period (3 s) ----
check "delete web" k delete pod web --wait=false
T0=$SECONDS
check "web is terminating, not gone" bash -c "'$K' get pod web -o jsonpath='{.metadata.deletionTimestamp}' | grep -q ."
wait_for "web finalized" 60 bash -c "! '$K' get pod web >/dev/null 2>&1"
# SECONDS counts whole seconds: 2 means at least a second and a bit went by
check "web stayed for its grace period (gone after $((SECONDS - T0)) s)" [ $((SECONDS - T0)) -ge 2 ]

# ---- a node the lifecycle controller marks Unknown gets Ready from its sim ----
check "set sim-2 Ready=Unknown" k patch node sim-2 --subresource=status --type=strategic \
	-p '{"status":{"conditions":[{"type":"Ready","status":"Unknown","reason":"NodeStatusUnknown","message":"Kubelet stopped posting node status."}]}}'
ready_of() { [ "$(jp node "$1" "" '{.status.conditions[?(@.type=="Ready")].status}')" = "$2" ]; }
wait_for "sim-2 Ready=True again" 30 ready_of sim-2 True
check "the sim says it re-posted" grep -q "node sim-2: Ready was Unknown, posted True" "$SIMLOG"

# ---- one node by name, killed with SIGKILL ----
"$BIN" sim --name solo --lease-renew 1 --taints dedicated=solo:NoSchedule \
	--cluster-cidr 10.244.0.0/16 >"$WORK/solo.log" 2>&1 &
SOLO=$!
PIDS+=($SOLO)
wait_for "solo Ready" 60 ready_of solo True
check "solo's taint" bash -c "[ \"\$('$K' get node solo -o jsonpath='{.spec.taints[0].key}={.spec.taints[0].value}:{.spec.taints[0].effect}')\" = dedicated=solo:NoSchedule ]"
check "solo's podCIDR is none of the others'" bash -c "! grep -qF \"\$('$K' get node solo -o jsonpath='{.spec.podCIDR}')\" <<<'$CIDRS'"
RS=$(renew solo)
SOLO_CIDR=$(jp node solo "" '{.spec.podCIDR}')
wait_for "solo's Lease renews" 30 bash -c "[ \"\$('$K' get lease solo -n kube-node-lease -o jsonpath='{.spec.renewTime}')\" != '$RS' ]"
kill -KILL $SOLO
wait $SOLO 2>/dev/null
RK=$(renew solo)
# time passes for certain: sim-0's Lease (renewed every second) moves three times
for _ in 1 2 3; do
	R=$(renew sim-0)
	wait_for "sim-0's Lease renews" 30 bash -c "[ \"\$('$K' get lease sim-0 -n kube-node-lease -o jsonpath='{.spec.renewTime}')\" != '$R' ]"
done
check "solo's Lease stopped at $RK" [ "$(renew solo)" = "$RK" ]
if [ $LIFECYCLE -eq 1 ]; then
	wait_for "solo Ready=Unknown (the node lifecycle controller)" 60 ready_of solo Unknown
else
	echo "note: no nodelifecycle controller in this server: solo's Ready=Unknown set here" >&2
	check "set solo Ready=Unknown" k patch node solo --subresource=status --type=strategic \
		-p '{"status":{"conditions":[{"type":"Ready","status":"Unknown","reason":"NodeStatusUnknown","message":"Kubelet stopped posting node status."}]}}'
fi
"$BIN" sim --name solo --lease-renew 1 >"$WORK/solo2.log" 2>&1 &
SOLO=$!
PIDS+=($SOLO)
wait_for "a restarted solo posts Ready=True" 60 ready_of solo True
wait_for "the restarted solo renews its Lease" 30 bash -c "[ \"\$('$K' get lease solo -n kube-node-lease -o jsonpath='{.spec.renewTime}')\" != '$RK' ]"
check "solo kept its podCIDR $SOLO_CIDR" [ "$(jp node solo "" '{.spec.podCIDR}')" = "$SOLO_CIDR" ]

# ---- SIGTERM: stops cleanly; nodes stay unless --delete-on-exit ----
kill -TERM $SOLO
wait $SOLO
rc=$?
check "SIGTERM: the sim exits 0 (got $rc)" [ $rc -eq 0 ]
check "SIGTERM: it said it stops" grep -q "stopping" "$WORK/solo2.log"
check "SIGTERM: the node stays" k get node solo
"$BIN" sim --name gone --delete-on-exit >"$WORK/gone.log" 2>&1 &
GONE=$!
PIDS+=($GONE)
wait_for "gone Ready" 60 ready_of gone True
wait_for "gone's Lease" 30 k get lease gone -n kube-node-lease
kill -TERM $GONE
wait $GONE
rc=$?
check "--delete-on-exit: exits 0 (got $rc)" [ $rc -eq 0 ]
check "--delete-on-exit: the node is gone" bash -c "! '$K' get node gone >/dev/null 2>&1"
check "--delete-on-exit: the Lease is gone" bash -c "! '$K' get lease gone -n kube-node-lease >/dev/null 2>&1"

check "the three-node sim is still running" kill -0 $SIM
finish
