#!/usr/bin/env bash
# drover demo: a cluster on this machine with `drover up`, driven by the real kubectl.
#
# Installs what it needs and builds; makes a busybox image store (scripts/lib/busybox-image.sh);
# `drover up --nodes 3` (a fabric bridge, three node network namespaces, drover server, one
# drover agent per node joining with a bootstrap token); applies a Deployment of busybox httpd
# pods behind a ClusterIP and a NodePort Service and shows the pods spread over the nodes;
# a client pod requests the pods by pod IP across nodes, finds the Service by cluster DNS and
# requests it through the ClusterIP, and the
# host requests the NodePort from outside the nodes; the requests' telemetry (`/metrics`
# through the server, `drover flows`); `drover bpf services`; then scales,
# rolls an update, deletes a pod and shows it replaced; `drover down`. Then, as a second
# part, the eBPF service proxy alone on one simulated node fed from a manifest file
# (MANIFESTS, or an embedded default): ClusterIP (socket LB), NodePort (XDP), UDP,
# `drover bpf services|stats`. Everything it made is removed at the end.
#
# Usage: scripts/demo.sh [--skip-deps] [--no-proxy-part] [--keep] [MANIFESTS]
#   --keep   leave the cluster up at the end (remove it with: drover down --dir DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

skip_deps=0
proxy_part=1
keep=0
manifests=""
for a in "$@"; do
	case "$a" in
	--skip-deps) skip_deps=1 ;;
	--no-proxy-part) proxy_part=0 ;;
	--keep) keep=1 ;;
	-h | --help)
		sed -n '2,16p' "$0"
		exit 0
		;;
	-*)
		echo "demo: unknown flag $a" >&2
		exit 2
		;;
	*) manifests=$a ;;
	esac
done

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   (%s)\n' "$*"; }

[ $skip_deps -eq 1 ] || { step "installing packages (scripts/deps.sh)"; scripts/deps.sh; }
scripts/prepare-host.sh
step "building"
cmake -S . -B build >/dev/null
cmake --build build -j "$(nproc)" --target drover drover-cni drover-httpd >/dev/null ||
	{ echo "demo: build failed" >&2; exit 1; }
DROVER=$top/build/userspace/cli/drover

# ---- part 1: drover up, a Deployment behind Services, scale, update, self-healing ----
work=$(mktemp -d /tmp/drover-demo-XXXXXX)
cluster=$work/cluster
cluster_up=0
demo_cleanup() {
	if [ $cluster_up -eq 1 ] && [ $keep -eq 0 ]; then
		"$DROVER" down --dir "$cluster" || true
	fi
	if [ $keep -eq 0 ]; then rm -rf "$work"; fi
}
trap demo_cleanup EXIT

step "the busybox image (Debian's busybox-static as an OCI image, imported into $work/images)"
scripts/lib/busybox-image.sh --out "$work/bb" --root "$work/images" --drover "$DROVER" | tail -3

step "drover up --nodes 3 --dir $cluster"
cluster_up=1
"$DROVER" up --nodes 3 --dir "$cluster" --image-root "$work/images" | tee "$work/up.out"
eval "$(grep '^export KUBECONFIG=' "$work/up.out")"
export HOME=${HOME:-$work}
ID=$(sed -n 's/^cluster \([0-9]*\): .*/\1/p' "$work/up.out")

step "kubectl get nodes -o wide (each node a network namespace; podCIDRs from the server)"
kubectl get nodes -o wide
kubectl get nodes -o custom-columns='NODE:.metadata.name,POD CIDR:.spec.podCIDR,INTERNAL IP:.status.addresses[0].address'
step "ip -n drover-up$ID-node-1 route (direct routes to the other nodes' pod CIDRs)"
# the agent adds them as it sees the other Nodes' podCIDRs: a moment after Ready
for _ in $(seq 50); do
	[ "$(ip -n "drover-up$ID-node-1" route | grep -c 'proto 215')" -ge 2 ] && break
	sleep 0.1
done
ip -n "drover-up$ID-node-1" route

step "kubectl apply: a Deployment of busybox httpd (spread over the nodes), a ClusterIP and a NodePort Service"
kubectl apply -f - <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  strategy: {rollingUpdate: {maxUnavailable: 1, maxSurge: 1}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule,
         labelSelector: {matchLabels: {app: web}}}
      containers:
      - name: httpd
        image: busybox
        command: ["sh", "-c", "mkdir /www && echo \"$POD_NAME on $NODE_NAME says $VERSION\" > /www/index.html && exec httpd -f -p 8080 -h /www"]
        env:
        - {name: VERSION, value: v1}
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: NODE_NAME, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
        ports: [{containerPort: 8080, name: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: http, nodePort: 30080}]
YAML
step "kubectl rollout status deploy/web"
kubectl rollout status deploy/web --timeout=120s
step "kubectl get pods -o wide (one pod per node), services, endpointslices"
kubectl get pods -o wide
kubectl get svc,endpointslices
CIP=$(kubectl get svc web -o jsonpath='{.spec.clusterIP}')
PODIPS=$(kubectl get pods -l app=web -o jsonpath='{.items[*].status.podIP}')

# one HTTP/1.0 GET with busybox nc (the image's static wget crashes in glibc's NSS setup);
# shellcheck disable=SC2016 # expanded in the pod's shell
GET='get() { printf "GET / HTTP/1.0\r\n\r\n" | nc -w 3 "$1" "$2" 2>&1 | tail -1; }'
# client-run NAME NODE SCRIPT: a pod on NODE running SCRIPT once; its output
client_run() {
	kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  nodeName: $2
  restartPolicy: Never
  containers:
  - {name: c, image: busybox, command: ["sh", "-c", $(printf '%s' "$GET; $3" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')]}
YAML
	for _ in $(seq 300); do
		case $(kubectl get pod "$1" -o jsonpath='{.status.phase}') in Succeeded | Failed) break ;; esac
		sleep 0.2
	done
	# kubectl logs where the agent serves logs, else the node's CRI log file
	kubectl logs "$1" 2>/dev/null ||
		cat "$cluster"/nodes/"$2"/pods/default_"$1"_*/c/0.log 2>/dev/null | cut -d' ' -f4- || true
	kubectl delete pod "$1" --wait=false >/dev/null || true
}
count() { sort | uniq -c | sed 's/^ */   /'; }

step "from a pod on node-1: each web pod by its pod IP (across nodes, by the nodes' routes)"
client_run client-ips node-1 "for ip in $PODIPS; do get \$ip 8080; done"

step "from a pod on node-1: cluster DNS (kube-dns 10.96.0.10, answered by the agents) finds web"
client_run client-dns node-1 "for n in web web.default.svc.cluster.local; do nslookup -type=a \$n | grep -E '^(Name|Address)'; done" |
	tee "$work/dns.out"
grep -q "$CIP" "$work/dns.out" || note "web did not resolve to $CIP: see $cluster/logs/node-1.log"

step "from a pod on node-1: 12 requests to the ClusterIP http://$CIP/"
client_run client-cip node-1 "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do get $CIP 80; done" | tee "$work/cip.out" | count
grep -q says "$work/cip.out" ||
	note "no answer through the ClusterIP: see node-1's agent log, $cluster/logs/node-1.log"

step "telemetry without sidecars: node-1's HTTP metrics through the server (kubectl get --raw /api/v1/nodes/node-1/proxy/metrics)"
sleep 1 # the agent reads flow events at least every 100 ms; series are read at the scrape
kubectl get --raw /api/v1/nodes/node-1/proxy/metrics | grep '^drover_http_requests_total' |
	sed 's/source_namespace="[^"]*",//; s/destination_namespace="[^"]*",//' || note "no HTTP series on node-1"
step "drover flows --http (the last requests, from every node's agent through the server)"
"$DROVER" flows --http | tail -6 || note "drover flows failed"

NODE2=$(kubectl get node node-2 -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')
step "from the host (outside the nodes): 12 requests to the NodePort http://$NODE2:30080/"
for _ in $(seq 12); do
	{ printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 busybox nc -w 3 "$NODE2" 30080 2>&1 || true; } | tail -1
done | tee "$work/np.out" | count
grep -q says "$work/np.out" ||
	note "no answer through the NodePort: see node-2's agent log, $cluster/logs/node-2.log"

# each node's agent runs its service proxy with its own pin root (drover up's --pin-root)
step "drover bpf services (node-1's service maps, pinned under /sys/fs/bpf/drover-up$ID-node-1)"
"$DROVER" bpf services --pin-root "/sys/fs/bpf/drover-up$ID-node-1" || true

step "kubectl scale deploy web --replicas=6"
kubectl scale deploy web --replicas=6
kubectl rollout status deploy/web --timeout=120s
kubectl get pods -o wide

step "kubectl set env deploy/web VERSION=v2 (a rolling update)"
kubectl set env deploy/web VERSION=v2
kubectl rollout status deploy/web --timeout=180s
kubectl rollout history deploy/web
kubectl get rs -o wide
# the old pods gone (Terminating ones still show): six pods left, each Running
six_running() {
	[ "$(kubectl get pods -l app=web --no-headers 2>/dev/null | wc -l)" -eq 6 ] &&
		[ "$(kubectl get pods -l app=web --no-headers 2>/dev/null | grep -c ' Running ')" -eq 6 ]
}
for _ in $(seq 600); do six_running && break; sleep 0.2; done
PODIPS=$(kubectl get pods -l app=web -o jsonpath='{.items[*].status.podIP}')
step "from a pod on node-3: every web pod by pod IP (all v2 now)"
client_run client-v2 node-3 "for ip in $PODIPS; do get \$ip 8080; done"

VICTIM=$(kubectl get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
step "kubectl delete pod $VICTIM (the ReplicaSet replaces it)"
kubectl delete pod "$VICTIM" --wait=false
for _ in $(seq 600); do
	! kubectl get pod "$VICTIM" >/dev/null 2>&1 && six_running && break
	sleep 0.2
done
kubectl get pods -o wide
kubectl get events --sort-by=.lastTimestamp | { grep -E "SuccessfulCreate|Killing|Scheduled" || true; } | tail -6

if [ $keep -eq 1 ]; then
	step "the cluster stays up (--keep)"
	echo "export KUBECONFIG=$cluster/kubeconfig"
	echo "remove it with: $DROVER down --dir $cluster"
else
	step "drover down --dir $cluster"
	"$DROVER" down --dir "$cluster"
	cluster_up=0
fi
[ $proxy_part -eq 1 ] || exit 0
demo_cleanup
trap - EXIT

# ---- part 2: the eBPF service proxy alone, fed from a manifest file ----
proxy_work=$(mktemp -d /tmp/drover-demo-proxy-XXXXXX)
step "part 2: the eBPF service proxy alone on one simulated node"
# shellcheck source=lib/topo.sh
source scripts/lib/topo.sh
step "building a node in network namespaces"
topo_init demo
topo_node
topo_pod client 5
for i in 1 2 3; do
	topo_pod "backend$i" "1$i"
	topo_backend "backend$i" "hello from backend-$i"
done
topo_external
echo "node drv-demo-node; client pod 10.244.1.5; backend pods 10.244.1.11-13 (HTTP :8080, UDP :5353);"
echo "external host 192.168.100.2 on the node device $(topo_ext_dev) (192.168.100.1)"

TOPO_EXTRA_CLEANUP="rm -rf $proxy_work"
if [ -z "$manifests" ]; then
	manifests=$proxy_work/manifests.yaml
	cat >"$manifests" <<'EOF'
# Two Services over the same three backends, with their EndpointSlices (what the
# endpointslice controller would write; here by hand, as for selector-less services).
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: NodePort
  clusterIP: 10.96.0.10
  ports:
  - {name: http, port: 80, targetPort: http, nodePort: 30080}
---
apiVersion: v1
kind: Service
metadata: {name: dns, namespace: default}
spec:
  clusterIP: 10.96.0.53
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 5353}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: default
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- {addresses: [10.244.1.11], nodeName: demo, conditions: {ready: true}}
- {addresses: [10.244.1.12], nodeName: demo, conditions: {ready: true}}
- {addresses: [10.244.1.13], nodeName: demo, conditions: {ready: true}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: dns-1
  namespace: default
  labels: {kubernetes.io/service-name: dns}
addressType: IPv4
ports: [{name: dns, port: 5353, protocol: UDP}]
endpoints:
- {addresses: [10.244.1.11], nodeName: demo}
- {addresses: [10.244.1.12], nodeName: demo}
- {addresses: [10.244.1.13], nodeName: demo}
EOF
fi

step "drover proxy --manifests $manifests"
TOPO_LOG=$proxy_work/proxy.log
# Resolve the backends' neighbour entries so that XDP can forward from the first packet.
for i in 1 2 3; do in_node ping -c1 -W1 "10.244.1.1$i" >/dev/null 2>&1 || true; done
topo_proxy --manifests "$manifests" --node demo --device "$(topo_ext_dev)"
sed 's/^[^ ]* //' "$TOPO_LOG"

step "12 requests from the client pod to http://10.96.0.10/ (ClusterIP, socket LB)"
for _ in $(seq 1 12); do in_pod client curl -s --max-time 3 http://10.96.0.10/ || echo "(failed)"; done | count

step "12 requests from the external host to http://192.168.100.1:30080/ (NodePort, XDP)"
for _ in $(seq 1 12); do in_pod_nolb ext curl -s --max-time 3 http://192.168.100.1:30080/ || echo "(failed)"; done | count

step "12 UDP queries from the client pod to 10.96.0.53:53"
in_pod client python3 -c '
import socket
for i in range(12):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
    s.sendto(b"q", ("10.96.0.53", 53)); data, src = s.recvfrom(100)
    print("%s (reply from %s:%d)" % (data.decode(), src[0], src[1]))' | count

step "drover bpf services"
drover_bpf services
step "drover bpf stats"
drover_bpf stats
step "bpftool map dump pinned $TOPO_PIN_ROOT/drv_svc4 (first entries)"
# (head closes the pipe early: bpftool dies of SIGPIPE, which pipefail would make fatal)
{ in_node bpftool map dump pinned "$TOPO_PIN_ROOT/drv_svc4" || true; } | head -40

step "cleaning up the node"
topo_proxy_stop
topo_cleanup # namespaces, processes, pins; also clears its EXIT trap for the one below
