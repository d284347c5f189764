#!/usr/bin/env bash
# agent_telemetry.sh: the agent's /metrics and /flows through the API server (nodes/proxy, as
# kube-apiserver proxies to the kubelet) and `drover flows`, on lib.sh's node. The dataplane's
# telemetry maps are the test's own: pinned with bpftool under a pin root of its own (the
# agent's --pin-root; --no-proxy, so no proxy loads over them) with known series, and flow
# events written into drv_tlev1 by drover-tlfeed (a syscall program run once per event).
# Checks:
#  - kubectl get --raw /api/v1/nodes/NODE/proxy/metrics: a series whose destination is a pod
#    labelled with the pod's namespace, name and workload (the agent's pod informer; still so
#    after the pod is deleted), its
#    unknown source "unknown", the service from drv_names1; promtool check metrics on it;
#  - a real Prometheus (Debian's) scraping the agent through the server as Prometheus'
#    kubernetes_sd node role is usually set up (https to the API server, metrics_path
#    /api/v1/nodes/NODE/proxy/metrics, the admin's client certificate) answers
#    sum by (destination_pod) (drover_http_requests_total) with the pod's count;
#  - RBAC: a user without nodes/proxy is refused (403), with a ClusterRole granting
#    get nodes/proxy allowed; a node that does not exist: 404;
#  - drover flows (through the server, every node): the events, oldest first, with the pod's
#    name; --http, --pod, --namespace, --service filter; --server replaces the kubeconfig's
#    address; -o json; --follow prints an event
#    written after it started.
# Everything made is removed on exit, also on failure.
set -uo pipefail
for t in bpftool promtool prometheus curl; do
	command -v $t >/dev/null || { echo "agent_telemetry.sh: no $t" >&2; exit 1; }
done
E2E_TAG=drvtl
E2E_NET=198.19
PIN=/sys/fs/bpf/drvtl-$$
FOLLOW_PID='' PROM_PID=''
# shellcheck source=tests/e2e/agent/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
FEED=$(dirname "$BIN")/drover-tlfeed
[ -x "$FEED" ] || { echo "no drover-tlfeed beside $BIN" >&2; exit 1; }
cleanup_more() {
	[ -z "$PROM_PID" ] || { kill -KILL "$PROM_PID" 2>/dev/null; wait "$PROM_PID" 2>/dev/null; }
	[ -z "$FOLLOW_PID" ] || { kill -KILL "$FOLLOW_PID" 2>/dev/null; wait "$FOLLOW_PID" 2>/dev/null; }
	rm -rf "$PIN"
}
hex() { python3 -c "import sys; sys.stdout.write(' '.join('%02x' % b for b in $1))"; }
tlkey() { # SADDR DADDR DPORT REV_NAT REPORTER METHOD CODE
	hex "__import__('socket').inet_aton('$1') + __import__('socket').inet_aton('$2') + \
__import__('struct').pack('!H', $3) + __import__('struct').pack('<HBBH', $4, $5, $6, $7)"
}

mkdir -p "$PIN" || exit 1
bpftool map create "$PIN/drv_tlhttp1" type percpu_hash key 16 value 120 entries 64 name drv_tlhttp1 &&
	bpftool map create "$PIN/drv_tltcp1" type percpu_hash key 16 value 96 entries 64 name drv_tltcp1 &&
	bpftool map create "$PIN/drv_tlctr1" type percpu_array key 4 value 8 entries 8 name drv_tlctr1 &&
	bpftool map create "$PIN/drv_names1" type hash key 4 value 64 entries 64 name drv_names1 &&
	bpftool map create "$PIN/drv_tlev1" type ringbuf key 0 value 0 entries 262144 name drv_tlev1 ||
	exit 1
# shellcheck disable=SC2046 # the bytes are words
bpftool map update pinned "$PIN/drv_names1" key hex 09 00 00 00 value hex \
	$(hex "b'default/web:http/TCP'.ljust(64, b'\\0')") || exit 1

AGENT_FLAGS=(--node-ip "$NODEIP" --no-proxy --pin-root "$PIN")
node_up
cat >"$WORK/pods.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox, command: ["sleep", "3600"]}
YAML
k apply -f "$WORK/pods.yaml" >/dev/null || fail "apply"
has_ip() { [ -n "$(jp pod web '{.status.podIP}')" ]; }
wait_for "web has an IP" has_ip || exit 1
WEBIP=$(jp pod web '{.status.podIP}')
NCPU=$(python3 -c "
n = 0
for p in open('/sys/devices/system/cpu/possible').read().strip().split(','):
    a, _, b = p.partition('-'); n += int(b or a) - int(a) + 1
print(n)")

# 3 GET 200 a client no pod owns sent web, counted on the server side (per CPU: bpftool
# writes every CPU's copy)
# shellcheck disable=SC2046
bpftool map update pinned "$PIN/drv_tlhttp1" key hex $(tlkey 192.0.2.7 "$WEBIP" 80 9 2 1 200) \
	value hex $(hex "__import__('struct').pack('<15Q', 3, 3000, 3, *([0] * 12))") || exit 1

# ---- /metrics through the server ----
L="reporter=\"destination\",source_workload=\"unknown\",source_namespace=\"unknown\",source_pod=\"unknown\",destination_service=\"web.default.svc.cluster.local\",destination_namespace=\"default\",destination_workload=\"web\",destination_pod=\"web\",method=\"GET\",code=\"200\""
WANT="drover_http_requests_total{$L} $((3 * NCPU))"
metrics_has() { k get --raw "/api/v1/nodes/$NODENAME/proxy/metrics" >"$WORK/metrics" && grep -qxF "$WANT" "$WORK/metrics"; }
if wait_for "nodes/proxy/metrics has the pod's series" metrics_has; then
	ok "nodes/proxy/metrics: $WANT"
	promtool check metrics <"$WORK/metrics" >"$WORK/promtool" 2>&1 && ok "promtool check metrics" ||
		fail "promtool: $(cat "$WORK/promtool")"
else
	cat "$WORK/metrics" >&2
fi

# ---- Prometheus scraping the agent through the server ----
SERVER_URL=$(k config view --raw -o 'jsonpath={.clusters[0].cluster.server}')
k config view --raw -o 'jsonpath={.clusters[0].cluster.certificate-authority-data}' | base64 -d >"$WORK/ca.crt"
k config view --raw -o 'jsonpath={.users[0].user.client-certificate-data}' | base64 -d >"$WORK/admin.crt"
k config view --raw -o 'jsonpath={.users[0].user.client-key-data}' | base64 -d >"$WORK/admin.key"
cat >"$WORK/prometheus.yml" <<YAML
global: {scrape_interval: 250ms, scrape_timeout: 200ms}
scrape_configs:
  - job_name: drover-nodes
    scheme: https
    metrics_path: /api/v1/nodes/$NODENAME/proxy/metrics
    tls_config: {ca_file: $WORK/ca.crt, cert_file: $WORK/admin.crt, key_file: $WORK/admin.key}
    static_configs: [{targets: ['${SERVER_URL#https://}']}]
YAML
nsenter --net="/run/netns/$NODE" prometheus --config.file="$WORK/prometheus.yml" \
	--storage.tsdb.path="$WORK/prom" --web.listen-address=127.0.0.1:9090 --log.level=warn \
	>"$WORK/prometheus.log" 2>&1 &
PROM_PID=$!
promql() {
	innode curl -sf --get "http://127.0.0.1:9090/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]
print(" ".join("%s=%s" % (x["metric"].get("destination_pod", ""), x["value"][1]) for x in r))'
}
scraped() { [ "$(promql 'sum by (destination_pod) (drover_http_requests_total)')" = "web=$((3 * NCPU))" ]; }
wait_for "Prometheus scrapes the agent through the server" scraped &&
	ok "Prometheus: sum by (destination_pod) (drover_http_requests_total) = web=$((3 * NCPU))"
kill -TERM "$PROM_PID" 2>/dev/null
wait "$PROM_PID" 2>/dev/null
PROM_PID=''

# ---- RBAC: nodes/proxy ----
if k --as alice get --raw "/api/v1/nodes/$NODENAME/proxy/metrics" >"$WORK/o" 2>"$WORK/e"; then
	fail "alice read nodes/proxy without a role"
else
	grep -q 'cannot get resource "nodes/proxy"' "$WORK/e" && ok "alice refused nodes/proxy" ||
		fail "alice's refusal: $(cat "$WORK/e")"
fi
k create clusterrole node-proxy --verb=get --resource=nodes/proxy >/dev/null &&
	k create clusterrolebinding alice-node-proxy --clusterrole=node-proxy --user=alice >/dev/null ||
	fail "create the role"
alice_reads() { k --as alice get --raw "/api/v1/nodes/$NODENAME/proxy/metrics" | grep -qxF "$WANT"; }
wait_for "alice reads nodes/proxy with the role" alice_reads && ok "alice allowed with get nodes/proxy"
k get --raw "/api/v1/nodes/no-such-node/proxy/metrics" >/dev/null 2>"$WORK/e" &&
	fail "a node that does not exist answered"
grep -q 'NotFound\|not found' "$WORK/e" && ok "no such node: not found" || fail "no such node: $(cat "$WORK/e")"

# ---- drover flows ----
"$FEED" "$PIN" opened 192.0.2.7 41000 "$WEBIP" 80 9 server 0 0 0 &&
	"$FEED" "$PIN" http 192.0.2.7 41000 "$WEBIP" 80 9 server 1 200 12300 /hello &&
	"$FEED" "$PIN" closed 192.0.2.7 41000 "$WEBIP" 80 9 server 0 0 40000 || fail "drover-tlfeed"
flows() { innode "$BIN" flows --kubeconfig "$KUBECONFIG" "$@"; }
three() { flows >"$WORK/flows" && [ "$(wc -l <"$WORK/flows")" -eq 3 ]; }
if wait_for "drover flows shows the 3 events" three; then
	expect "flows: opened, http, closed in order" \
		"tcp-server opened|http-server GET /hello 200 12.3ms|tcp-server closed 40.0ms sent 0 B received 0 B" \
		"$(sed -E 's/^.* -> default\/web:80 \(default\/web:http\/TCP\) //; s/ \[[^]]*\]$//' "$WORK/flows" | paste -sd '|')"
	grep -q "^[A-Z][a-z][a-z] [ 0-9][0-9] [0-9:.]*: 192.0.2.7:41000 -> default/web:80 " "$WORK/flows" &&
		ok "flows: time, source -> pod" || fail "flows: $(cat "$WORK/flows")"
	grep -q "\[$NODENAME\]$" "$WORK/flows" && ok "flows: the node" || fail "no node: $(cat "$WORK/flows")"
fi
expect "flows --http" 1 "$(flows --http | wc -l)"
expect "flows --server (the kubeconfig's)" 3 "$(flows --server "$SERVER_URL" | wc -l)"
flows --server https://127.0.0.1:1 >/dev/null 2>&1 && fail "flows --server https://127.0.0.1:1 answered"
expect "flows --pod web" 3 "$(flows --pod web | wc -l)"
expect "flows --pod default/web" 3 "$(flows --pod default/web | wc -l)"
expect "flows --pod other" 0 "$(flows --pod other | wc -l)"
expect "flows --namespace kube-system" 0 "$(flows --namespace kube-system | wc -l)"
expect "flows --service web" 3 "$(flows --service web | wc -l)"
expect "flows --service default/web --http" 1 "$(flows --service default/web --http | wc -l)"
expect "flows --service other" 0 "$(flows --service other | wc -l)"
expect "flows -o json --http: the pod" '"pod":"web"' \
	"$(flows -o json --http | grep -o '"destination":{[^}]*}' | grep -o '"pod":"web"')"
# nsenter execs drover: $! is drover's own PID (a shell function would put a subshell between)
nsenter --net="/run/netns/$NODE" "$BIN" flows --kubeconfig "$KUBECONFIG" --follow --http \
	>"$WORK/follow" 2>&1 &
FOLLOW_PID=$!
followed() { grep -q "POST /later 503" "$WORK/follow"; }
sleep 1
"$FEED" "$PIN" http 192.0.2.7 41001 "$WEBIP" 80 9 server 3 503 900 /later || fail "drover-tlfeed"
wait_for "flows --follow prints a new event" followed && ok "flows --follow: the new event"
kill -TERM "$FOLLOW_PID" 2>/dev/null
stopped() { ! kill -0 "$FOLLOW_PID" 2>/dev/null; }
wait_for "flows --follow ends on SIGTERM" stopped && ok "flows --follow ends on SIGTERM"
wait "$FOLLOW_PID" 2>/dev/null
FOLLOW_PID=''

# the pod goes with the agent's own teardown (the cleanup's kill would race its cgroup)
k delete pod web --wait --timeout=60s >/dev/null || fail "delete web"
# A deleted pod's address keeps its name (a short-lived client is often gone before the next
# scrape): the series still names web, not "unknown".
k get --raw "/api/v1/nodes/$NODENAME/proxy/metrics" >"$WORK/metrics" || fail "metrics after delete"
grep -qxF "$WANT" "$WORK/metrics" && ok "a deleted pod's series keeps its name" ||
	fail "after web was deleted: $(grep '^drover_http_requests_total' "$WORK/metrics")"

[ "$FAILS" -eq 0 ] || { tail -20 "$WORK/agent.log" >&2; exit 1; }
echo PASS
