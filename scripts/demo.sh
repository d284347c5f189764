#!/usr/bin/env bash
# drover demo: the eBPF service proxy on one simulated node.
#
# Installs what it needs, builds, then builds a node in network namespaces (a client pod,
# three backend pods serving HTTP and UDP, an external host), runs `drover proxy` on two
# Services over the three backends (an embedded default manifest, or the file/directory
# given as the first argument), and shows requests spreading over the backends through the
# ClusterIP (socket LB), a NodePort from outside (XDP) and UDP; then `drover bpf services`,
# `drover bpf stats` and one `bpftool map dump`. Then it starts `drover server` (the API
# server with the controllers and the scheduler, over TLS on a free port of 127.0.0.1) and
# three simulated nodes (`drover sim`), and has the real kubectl roll out, update and scale a
# Deployment. Everything it made is removed at the end.
#
# Usage: scripts/demo.sh [--skip-deps] [MANIFESTS]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

skip_deps=0
manifests=""
for a in "$@"; do
	case "$a" in
	--skip-deps) skip_deps=1 ;;
	-h | --help)
		sed -n '2,12p' "$0"
		exit 0
		;;
	*) manifests=$a ;;
	esac
done

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

[ $skip_deps -eq 1 ] || { step "installing packages (scripts/deps.sh)"; scripts/deps.sh; }
scripts/prepare-host.sh
step "building"
cmake -S . -B build >/dev/null
cmake --build build -j "$(nproc)" --target drover drover-httpd >/dev/null ||
	{ echo "demo: build failed" >&2; exit 1; }

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

work=$(mktemp -d /tmp/drover-demo-XXXXXX)
TOPO_EXTRA_CLEANUP="rm -rf $work"
if [ -z "$manifests" ]; then
	manifests=$work/manifests.yaml
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
TOPO_LOG=$work/proxy.log
# Resolve the backends' neighbour entries so that XDP can forward from the first packet.
for i in 1 2 3; do in_node ping -c1 -W1 "10.244.1.1$i" >/dev/null 2>&1 || true; done
topo_proxy --manifests "$manifests" --node demo --device "$(topo_ext_dev)"
sed 's/^[^ ]* //' "$TOPO_LOG"

count() { sort | uniq -c | sed 's/^ */   /'; }

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

# ---- the control plane, driven by the real kubectl, with simulated nodes ----
api_dir=$(mktemp -d /tmp/drover-demo-api.XXXXXX)
api_pid=
sim_pid=
api_stop() {
	for p in $sim_pid $api_pid; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
	done
	sim_pid= api_pid=
	rm -rf "$api_dir"
}
trap api_stop EXIT
step "drover server --data-dir $api_dir/data --listen 127.0.0.1:0 (API server, controllers, scheduler)"
# shellcheck source=lib/apiserver.sh
source scripts/lib/apiserver.sh
api_server_start build/userspace/cli/drover "$api_dir/data" "$api_dir/server.log" ||
	{ api_pid=$API_PID; exit 1; }
api_pid=$API_PID
sed 's/^[^ ]* //' "$api_dir/server.log"
export KUBECONFIG=$api_dir/data/kubeconfig
step "kubectl version"
kubectl version
step "drover sim --nodes 3 --zones 3 (simulated kubelets: Nodes, Leases, pods Running)"
build/userspace/cli/drover sim --nodes 3 --zones 3 --name-prefix node- >"$api_dir/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do
	[ "$(kubectl get nodes --no-headers 2>/dev/null | grep -c ' Ready ')" -eq 3 ] && break
	sleep 0.1
done
kubectl get nodes -L topology.kubernetes.io/zone
step "kubectl apply -f - (a Deployment spread over the zones, and a Service)"
kubectl apply -f - <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  strategy: {rollingUpdate: {maxUnavailable: 1, maxSurge: 1}}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 2
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule,
         labelSelector: {matchLabels: {app: web}}}
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80, name: http}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
YAML
step "kubectl rollout status deploy/web"
kubectl rollout status deploy/web --timeout=60s
step "kubectl get deploy,rs,pods,svc,endpointslices -o wide"
kubectl get deploy,rs,pods,svc,endpointslices -o wide
step "kubectl set image deploy/web web=nginx:1.28; kubectl rollout status deploy/web"
kubectl set image deploy/web web=nginx:1.28
kubectl rollout status deploy/web --timeout=60s
kubectl rollout history deploy/web
step "kubectl scale deploy web --replicas=6; kubectl get pods -o wide"
kubectl scale deploy web --replicas=6
kubectl rollout status deploy/web --timeout=60s
kubectl get pods -o wide --field-selector=status.phase=Running
step "kubectl get events (what the scheduler and the controllers did)"
kubectl get events --sort-by=.lastTimestamp | tail -12
step "cleaning up the control plane"
api_stop
trap - EXIT
