#!/usr/bin/env bash
# agent_proxy.sh: the eBPF service proxy inside `drover agent`, on lib.sh's node: a network
# namespace of the test's own (drvagp-$$-node: lo and one veth to the host with a /30) runs
# `drover server --cluster-cidr 10.244.0.0/16` and `drover agent` with its own root, cgroup
# parent and pin root (/sys/fs/bpf/drvagp-$$, never the global /sys/fs/bpf/drover). Checks: the
# proxy's pins under that root, its socket LB on the node's own cgroup v2 subtree, the
# drover-cni configuration naming the pin root and every pod registered in the endpoint map;
# a Deployment of three busybox httpd pods behind a ClusterIP and a NodePort Service; from
# a pod's network namespace the ClusterIP answers from more than one backend by the tc path
# (a process outside the pods' cgroups) and by the socket LB (the same inside the node's
# cgroup subtree), and a client pod (nc) reaches it too; the NodePort answers from the host
# side of the node's veth; a deleted backend leaves the BPF maps; the endpoint-change latency
# (pod deletion and scale-down until the backend set in the map changes) is measured and
# printed, never asserted; SIGTERM stops the agent with the dataplane left in place (the
# ClusterIP still answers); --no-proxy writes a CNI configuration without the pin root. On
# exit, also on failure: processes by PID, the pin root (uninstalled), links, namespaces,
# cgroups and the work dir are removed.
set -uo pipefail
command -v jq >/dev/null || { echo "agent_proxy.sh: no jq" >&2; exit 1; }
[ "$(stat -fc %T /sys/fs/bpf 2>/dev/null)" = bpf_fs ] || { echo "agent_proxy.sh: no bpffs at /sys/fs/bpf" >&2; exit 1; }
# the cgroup v2 tree: /sys/fs/cgroup on a pure v2 host, /sys/fs/cgroup/unified on a hybrid one
V2=''
for d in /sys/fs/cgroup /sys/fs/cgroup/unified; do
	[ "$(stat -fc %T "$d" 2>/dev/null)" = cgroup2fs ] && { V2=$d; break; }
done
[ -n "$V2" ] || { echo "agent_proxy.sh: no cgroup v2 tree (the socket LB needs one)" >&2; exit 1; }

E2E_TAG=drvagp
# a /30 of 198.19.0.0/16 (agent.sh uses 198.18); the veths not "drv...": that is drover-cni's
# prefix for pod veths
E2E_NET=198.19
E2E_LINK=agp
E2E_WAIT_S=120
PIN=/sys/fs/bpf/drvagp-$$
WATCH_PID=''
# lib.sh's cleanup: drover-svcwatch; the dataplane: links, tc/XDP (recorded in the pins), then
# the pins themselves
cleanup_more() {
	[ -z "$WATCH_PID" ] || { kill -KILL "$WATCH_PID" 2>/dev/null; wait "$WATCH_PID" 2>/dev/null; }
	proxy_uninstall "$PIN"
}
# shellcheck source=tests/e2e/agent/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

clock() { date -u -d "@$(($1 / 1000000000)).$(printf %09d $(($1 % 1000000000)))" +%T.%3N; } # ns -> UTC
bpf() { innode "$BIN" bpf "$1" --pin-root "$PIN"; }
# backends_of FRONTEND: the serving backends (terminating ones left out) the map holds for
# FRONTEND (as `drover bpf services` writes it, e.g. 10.96.0.10:80/TCP), sorted; "-" if none
backends_of() {
	bpf services | awk -v fe="$1" '
		$2 == fe {
			found = 1
			for (i = 3; i <= NF; i++) { b = $i; sub(/,$/, "", b); if (b ~ /^[0-9.]+:[0-9]+$/) print b }
		}
		END { if (!found) print "-" }' | sort | tr '\n' ' ' | sed 's/ $//'
}
# stat_of FRONTEND PATH: packets/connections of the frontend's "forwarded"/"connect" counters
# on PATH (socket, tc, xdp)
stat_of() {
	bpf stats | awk -v fe="$1" -v path="$2" '
		$2 == fe && $(NF-3) == path && ($(NF-2) == "forwarded" || $(NF-2) == "connect") { n += $(NF-1) }
		END { print n + 0 }'
}
# distinct N CMD...: the distinct non-empty answers of N runs of CMD, sorted, space-separated
distinct() {
	local n=$1 i
	shift
	for i in $(seq "$n"); do "$@" 2>/dev/null; echo; done | grep . | sort -u | tr '\n' ' ' | sed 's/ $//'
}
words() { echo "$1" | wc -w; }
# served_by FRONTEND "PATHS" DESC CMD...: 20 runs of CMD get more than one backend, and the
# frontend's counters on PATHS (stat_of's, summed) moved meanwhile
served_by() {
	local fe=$1 paths=$2 desc=$3 p n0=0 n1=0 got
	shift 3
	for p in $paths; do n0=$((n0 + $(stat_of "$fe" "$p"))); done
	got=$(distinct 20 "$@")
	for p in $paths; do n1=$((n1 + $(stat_of "$fe" "$p"))); done
	case $got in hello-web-*" "hello-web-*) ok "$desc: $got" ;;
	*) fail "$desc: '$got' (want more than one backend)" ;; esac
	[ "$n1" -gt "$n0" ] && ok "$desc: $paths counters of $fe $n0 -> $n1" ||
		fail "$desc: $paths counters of $fe did not move ($n0 -> $n1)"
}

# ---- bad flags: exit 2 and one line ----
bad_flags "--kubeconfig k --node n --pin-root rel/dir" "--kubeconfig k --node n --pin-root" \
	"--kubeconfig k --node n --no-proxy=1" &&
	ok "bad --pin-root/--no-proxy flags exit 2 with one line"

AGENT_FLAGS=(--pin-root "$PIN")
node_up
ok "node $NODENAME Ready"

# ---- the proxy's dataplane, this node's own ----
proxy_ready() { grep -q "ready: node $NODENAME" "$WORK/agent.log"; }
wait_for "the agent's proxy ready" proxy_ready && ok "the proxy in the agent synced and attached"
F0=$FAILS
for p in 'drv_svc*' 'drv_be*' drv_ep1 progs/drv_tc_pod links/drv_connect4; do
	# shellcheck disable=SC2086 # the map names carry a version: a glob
	ls -d "$PIN"/$p >/dev/null 2>&1 || fail "$PIN/$p not pinned"
done
# the socket LB on the node's cgroup subtree (not the v2 root)
CGID=$(stat -c %i "$V2/$CGP")
LINKCG=$(bpftool link show pinned "$PIN/links/drv_connect4" 2>/dev/null | sed -n 's/.*cgroup_id \([0-9]*\).*/\1/p')
[ -n "$LINKCG" ] && [ "$LINKCG" = "$CGID" ] ||
	fail "drv_connect4 on cgroup id '$LINKCG', want $V2/$CGP ($CGID)"
grep -q "node addresses for NodePort: $NODEIP\$" "$WORK/agent.log" || fail "NodePort addresses are not the InternalIP $NODEIP"
grep -q "$VN: drv_tc_node on tc ingress" "$WORK/agent.log" || fail "drv_tc_node not on $VN"
CONF=$WORK/root/cni/drover.conf
wait_for "CNI configuration written" test -s "$CONF"
[ "$(jq -r .drover.pinRoot "$CONF")" = "$PIN" ] || fail "drover.pinRoot in $CONF: $(cat "$CONF")"
[ $FAILS -eq $F0 ] && ok "pins under $PIN, socket LB on $V2/$CGP, NodePort on $VN $NODEIP, CNI pinRoot"

# ---- a Deployment behind a ClusterIP and a NodePort Service ----
cat >"$WORK/web.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: busybox
        command: ["sh", "-c", "mkdir /www && echo hello-$MY_NAME > /www/index.html && exec httpd -f -p 8080 -h /www"]
        env:
        - {name: MY_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 8080, targetPort: 8080}]
YAML
k apply -f "$WORK/web.yaml" >/dev/null || fail "apply web"
CIP=$(jp svc web '{.spec.clusterIP}')
NP=$(jp svc web-np '{.spec.ports[0].nodePort}')
web_ips() { k get pods -l app=web -o jsonpath='{range .items[?(@.status.podIP)]}{.status.podIP}{"\n"}{end}' | sort; }
three_ready() {
	[ "$(k get pods -l app=web -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)" = 3 ] &&
		[ "$(k get pods -l app=web -o name | wc -l)" = 3 ]
}
wait_for "3 web pods Ready" three_ready
want_backends() { web_ips | sed 's/$/:8080/' | sort | tr '\n' ' ' | sed 's/ $//'; }
map_has_all() { local w; w=$(want_backends); [ "$(backends_of "$CIP:80/TCP")" = "$w" ] && [ "$(words "$w")" = 3 ]; }
wait_for "ClusterIP $CIP:80 with the 3 pods in the map" map_has_all &&
	ok "ClusterIP $CIP:80 -> $(backends_of "$CIP:80/TCP")"
np_in_map() { [ "$(backends_of "<node-ip>:$NP/TCP")" = "$(want_backends)" ]; }
wait_for "NodePort $NP in the map" np_in_map && ok "NodePort $NP in the map"
F0=$FAILS
for ip in $(web_ips); do
	bpf endpoints | grep -qw "$ip" || fail "pod $ip not registered in drv_ep1 (drover-cni with pinRoot)"
done
[ $FAILS -eq $F0 ] && ok "drover-cni registered every pod in $PIN/drv_ep1"

# ---- the ClusterIP from another pod's network namespace ----
cat >"$WORK/client.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox, command: ["sleep", "100000"]}
YAML
k apply -f "$WORK/client.yaml" >/dev/null
wait_for "client Running" running client
CNS=/run/netns/drv-$(jp pod client '{.metadata.uid}')
[ -e "$CNS" ] || fail "no netns $CNS"
get_cip() { nsenter --net="$CNS" wget -qO- -t 1 -T 5 "http://$CIP/"; }
# tc path: this shell's process is outside the node's cgroup subtree, so connect() is not
# translated; drv_tc_pod on the client's veth load-balances the packets
served_by "$CIP:80/TCP" tc "ClusterIP from the client pod's netns (tc path)" get_cip
# socket LB: the same from a process inside the node's cgroup subtree
mkdir -p "$V2/$CGP/e2e-client"
sock_cip() { sh -c 'echo $$ > "$1/cgroup.procs" && exec nsenter --net="$2" wget -qO- -t 1 -T 5 "http://$3/"' sh "$V2/$CGP/e2e-client" "$CNS" "$CIP"; }
served_by "$CIP:80/TCP" socket "ClusterIP from the client pod's netns in the pods' cgroup (socket LB)" sock_cip
# a real pod: nc (busybox's static wget crashes in its resolver setup inside pods)
cat >"$WORK/probe.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: probe}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do printf 'GET / HTTP/1.0\\\\r\\\\n\\\\r\\\\n' | nc -w 5 $CIP 80 || exit 1; done"]
YAML
k apply -f "$WORK/probe.yaml" >/dev/null
succeeded() { [ "$(jp pod "$1" '{.status.phase}')" = "$2" ]; }
if wait_for "probe Succeeded" succeeded probe Succeeded; then
	got=$(grep -ho 'hello-web-[a-z0-9-]*' "$WORK"/root/pods/default_probe_*/c/0.log | sort -u | tr '\n' ' ')
	[ "$(words "$got")" -ge 2 ] && ok "a pod reaches the ClusterIP with nc: $got" ||
		fail "probe pod's answers: '$got'"
fi

# ---- the NodePort from the host side of the node's veth ----
get_np() { wget -qO- -t 1 -T 5 "http://$NODEIP:$NP/"; }
served_by "<node-ip>:$NP/TCP" "xdp tc" "NodePort $NODEIP:$NP from the host (XDP/tc on $VN)" get_np

# ---- a deleted backend leaves the maps ----
VICTIM=$(k get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
VIP=$(jp pod "$VICTIM" '{.status.podIP}')
k delete pod "$VICTIM" --wait=false >/dev/null
not_in_map() { ! backends_of "$CIP:80/TCP" | grep -qw "$VIP:8080"; }
wait_for "deleted $VICTIM ($VIP) out of the ClusterIP's backends" not_in_map &&
	ok "deleted backend $VIP left $CIP:80 ($(backends_of "$CIP:80/TCP"))"
gone() { ! k get pod "$1" >/dev/null 2>&1; }
not_ep() { gone "$VICTIM" && ! bpf endpoints | grep -qw "$VIP"; }
wait_for "$VICTIM's endpoint entry gone" not_ep && ok "$VIP's drv_ep1 entry removed by CNI DEL"
wait_for "the Deployment's replacement in the map" map_has_all &&
	ok "replacement in the map: $(backends_of "$CIP:80/TCP")"

# ---- endpoint-change latency (printed, never asserted) ----
# From the DELETE of a pod (or the PATCH of the Deployment's scale) until the serving backend
# set of the ClusterIP in the map differs: the API server, the EndpointSlice controller, the
# agent's watch, the proxy's commit. The request goes straight to the API server over a TLS
# connection opened beforehand, with the admin certificate (kubectl's own start-up, ~1 s on a
# loaded machine, would be most of the figure), stamped when it is sent and when the answer
# came. drover-svcwatch polls the map every millisecond in one process and stamps the change
# (a shell loop of `drover bpf services` takes ~0.3 s a turn here). Both stamps are
# CLOCK_REALTIME of this machine.
SERVER=$(awk '/server:/ {print $2; exit}' "$KUBECONFIG")
PKI=$WORK/data/pki
# api OUT METHOD PATH [BODY]: prints "HTTP_CODE SENT_NS ANSWERED_NS" (merge-patch body)
api() {
	innode python3 - "$SERVER" "$PKI" "$@" <<'PY'
import http.client, ssl, sys, time, urllib.parse
server, pki, out, method, path = sys.argv[1:6]
body = sys.argv[6] if len(sys.argv) > 6 else None
u = urllib.parse.urlsplit(server)
ctx = ssl.create_default_context(cafile=pki + "/ca.crt")
ctx.load_cert_chain(pki + "/admin.crt", pki + "/admin.key")
c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
c.connect()
hdr = {"Content-Type": "application/merge-patch+json"} if body else {}
sent = time.time_ns()
c.request(method, path, body=body, headers=hdr)
r = c.getresponse()
answered = time.time_ns()
open(out, "wb").write(r.read())
print(r.status, sent, answered)
PY
}
LAT=() LATR=()
# sample DESC METHOD PATH [curl args]: the request changes the backend set; one sample
sample() {
	local desc=$1 t2 w send resp line
	shift
	rm -f "$WORK/watch.out"
	"$SVCWATCH" "$PIN" "$CIP:80" 120 >"$WORK/watch.out" 2>&1 &
	WATCH_PID=$!
	wait_for "svcwatch snapshot" grep -q '^ready' "$WORK/watch.out" || return 1
	w=$(api "$WORK/api.out" "$@")
	wait "$WATCH_PID"
	WATCH_PID=''
	case $w in 200* | 202*) ;; *) fail "$desc: $* answered ${w%% *}: $(cat "$WORK/api.out")"; return 1 ;; esac
	line=$(grep '^changed' "$WORK/watch.out")
	[ -n "$line" ] || { fail "$desc: the map never changed ($(cat "$WORK/watch.out"))"; return 1; }
	t2=$(echo "$line" | awk '{print $2}')
	send=$(echo "$w" | awk '{print $2}')
	resp=$(echo "$w" | awk '{print $3}')
	LAT+=($(((t2 - send) / 1000)))
	LATR+=($(((t2 - resp) / 1000)))
	echo "latency $desc: $(((t2 - send) / 1000)) us from the request ($(((t2 - resp) / 1000)) us from its response; sent $(clock "$send"), map $(clock "$t2") UTC)"
}
p50() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
SVCWATCH=${DROVER_BUILD_DIR:-$SRC/build}/tests/e2e/agent/drover-svcwatch
if [ -x "$SVCWATCH" ]; then
	for s in 1 2 3 4 5; do
		wait_for "3 backends before sample $s" map_has_all || break
		victim=$(k get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
		sample "sample $s (delete $victim)" DELETE "/api/v1/namespaces/default/pods/$victim" || break
	done
	wait_for "3 backends before the scale" map_has_all &&
		sample "sample scale 3->2" PATCH /apis/apps/v1/namespaces/default/deployments/web/scale \
			'{"spec":{"replicas":2}}'
	if [ ${#LAT[@]} -gt 0 ]; then
		max=$(printf '%s\n' "${LAT[@]}" | sort -n | tail -1)
		echo "endpoint-change latency (pod deletion/scale -> BPF map), ${#LAT[@]} samples: p50 $(p50 "${LAT[@]}") us from the request (max $max us); p50 $(p50 "${LATR[@]}") us from the API server's response"
	fi
	k scale deployment web --replicas=3 >/dev/null
	wait_for "back to 3 backends" map_has_all
else
	fail "no $SVCWATCH (build target drover-svcwatch): latency not measured"
fi

# ---- SIGTERM: the agent and its proxy stop, the dataplane stays ----
kill -TERM "$AGENT_PID"
exited() { ! kill -0 "$AGENT_PID" 2>/dev/null; }
if wait_for "agent exits on SIGTERM" exited; then
	wait "$AGENT_PID"
	rc=$?
	[ $rc -eq 0 ] && ok "agent exited 0 on SIGTERM" || fail "agent exit $rc on SIGTERM"
else
	kill -KILL "$AGENT_PID"
	wait "$AGENT_PID"
fi
AGENT_PID=''
grep -q "stopping; the dataplane stays in place" "$WORK/agent.log" || fail "the proxy thread did not stop through its stop fd"
got=$(distinct 10 get_cip)
case $got in hello-web-*) ok "with the agent stopped the ClusterIP still answers: $got" ;;
*) fail "ClusterIP after the agent stopped: '$got'" ;; esac

# ---- --no-proxy: a CNI configuration without the pin root ----
# (the same agent.log: this run's lines are those past $LOG0)
LOG0=$(wc -l <"$WORK/agent.log")
this_run() { tail -n +$((LOG0 + 1)) "$WORK/agent.log"; }
AGENT_FLAGS=(--no-proxy)
start_agent
started() { this_run | grep -q "podCIDR"; }
if wait_for "agent --no-proxy starts pod sync" started; then
	[ "$(jq -r .drover "$CONF")" = null ] && ok "--no-proxy: no drover.pinRoot in $CONF" ||
		fail "--no-proxy: $CONF still names a pin root: $(cat "$CONF")"
	this_run | grep -q "ready: node" && fail "--no-proxy: a proxy started"
fi
kill -TERM "$AGENT_PID"
wait_for "agent --no-proxy exits" exited && AGENT_PID='' # else cleanup kills it

if [ $FAILS -ne 0 ]; then
	echo "--- agent log" >&2
	tail -60 "$WORK/agent.log" >&2
	echo "agent_proxy.sh: $FAILS check(s) failed" >&2
	exit 1
fi
echo "agent_proxy.sh: all checks passed"
