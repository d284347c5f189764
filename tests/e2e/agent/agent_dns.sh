#!/usr/bin/env bash
# agent_dns.sh: the cluster DNS end to end, on lib.sh's node with the agent's eBPF proxy (a pin
# root of its own, as agent_proxy.sh): the server's kube-dns Service on 10.96.0.10 and its
# EndpointSlice kube-dns-nodes with the node's address; a pod's /etc/resolv.conf as the
# kubelet writes it (ClusterFirst: search path, nameserver 10.96.0.10, ndots:5; None: its
# dnsConfig); from inside a busybox pod, through the proxy to the agent, `nslookup` of a
# Service by its short name (search path) and full name, of a headless Service (its pods'
# addresses) and of one of its pods by hostname, and a missing name failing; over TCP and UDP
# from the node: the same answer, NXDOMAIN for a missing name (python3's socket, a query of
# its own). From the pod, a pod's dashed name and a headless endpoint's PTR. Forwarding: two
# fake upstreams in the node's namespace (127.0.0.1 and 127.0.0.2, port 5353, --dns-upstream;
# a third flag names the agent itself and is skipped) answer ext.example and drop
# slow.example: ext.example from the pod and over TCP; while slow.example waits on both
# upstreams (then SERVFAIL), a cluster name and ext.example are answered (the server is not
# held up). Everything made is removed on exit, also on failure (lib.sh).
set -uo pipefail
command -v python3 >/dev/null || { echo "agent_dns.sh: no python3" >&2; exit 1; }
[ "$(stat -fc %T /sys/fs/bpf 2>/dev/null)" = bpf_fs ] || { echo "agent_dns.sh: no bpffs" >&2; exit 1; }
E2E_TAG=drvdns
E2E_NET=198.19
E2E_LINK=adn
E2E_WAIT_S=30
PIN=/sys/fs/bpf/drvdns-$$
UP_PID=''
cleanup_more() {
	[ -n "$UP_PID" ] && kill -KILL "$UP_PID" 2>/dev/null
	proxy_uninstall "$PIN"
}
# shellcheck source=tests/e2e/agent/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

AGENT_FLAGS=(--pin-root "$PIN" --dns-upstream 127.0.0.1:5353 --dns-upstream 127.0.0.2:5353
	--dns-upstream "$NODEIP")
node_up
ok "node $NODENAME Ready"

# ---- the server's kube-dns Service and the agents' EndpointSlice ----
expect "kube-dns Service" "10.96.0.10 dns:53/UDP dns-tcp:53/TCP" \
	"$(k -n kube-system get svc kube-dns -o jsonpath='{.spec.clusterIP}{range .spec.ports[*]} {.name}:{.port}/{.protocol}{end}')"
slice_has_node() {
	[ "$(k -n kube-system get endpointslice kube-dns-nodes -o jsonpath='{.metadata.labels.kubernetes\.io/service-name} {.endpoints[*].addresses[0]} {.endpoints[*].conditions.ready}')" = "kube-dns $NODEIP true" ]
}
wait_for "EndpointSlice kube-dns-nodes with $NODEIP" slice_has_node && ok "kube-dns-nodes lists $NODEIP, ready"

# ---- a Service, a headless one with two named pods, a client ----
cat >"$WORK/dns.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: sql, port: 5432}]
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, labels: {app: db}}
spec:
  hostname: db-0
  subdomain: db
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: busybox, command: ["sleep", "100000"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: db-1, labels: {app: db}}
spec:
  hostname: db-1
  subdomain: db
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: busybox, command: ["sleep", "100000"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: busybox, command: ["sleep", "100000"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: custom}
spec:
  terminationGracePeriodSeconds: 1
  dnsPolicy: None
  dnsConfig:
    nameservers: [192.0.2.1]
    searches: [example.test]
    options: [{name: ndots, value: "2"}]
  containers: [{name: c, image: busybox, command: ["sleep", "100000"]}]
YAML
k apply -f "$WORK/dns.yaml" >/dev/null || fail "apply"
CIP=$(jp svc web '{.spec.clusterIP}')
ready() { [ "$(jp pod "$1" '{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
for p in db-0 db-1 client custom; do wait_for "$p Ready" ready "$p"; done
DB0=$(jp pod db-0 '{.status.podIP}')
DB1=$(jp pod db-1 '{.status.podIP}')

# ---- resolv.conf ----
# the node's own search domains may follow the cluster's (the kubelet appends them)
RC=$(k exec client -- cat /etc/resolv.conf)
expect "ClusterFirst resolv.conf" \
	"search default.svc.cluster.local svc.cluster.local cluster.local|nameserver 10.96.0.10|options ndots:5" \
	"$(echo "$RC" | sed 's/^\(search default.svc.cluster.local svc.cluster.local cluster.local\).*/\1/' | paste -sd'|')"
expect "dnsPolicy None resolv.conf" "search example.test|nameserver 192.0.2.1|options ndots:2" \
	"$(k exec custom -- cat /etc/resolv.conf | paste -sd'|')"

cat >"$WORK/q.py" <<'PY'
import socket, struct, sys
ip, name, tcp = sys.argv[1], sys.argv[2], sys.argv[3] == "tcp"
q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0\0\1\0\1"
if tcp:
    s = socket.create_connection((ip, 53), timeout=8)
    s.sendall(struct.pack(">H", len(q)) + q)
    n = struct.unpack(">H", s.recv(2))[0]
    a = b""
    while len(a) < n:
        a += s.recv(n - len(a))
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(8)
    s.sendto(q, (ip, 53))
    a = s.recv(4096)
rcode, an = a[3] & 15, struct.unpack(">H", a[6:8])[0]
ips = [socket.inet_ntoa(a[i + 12:i + 16]) for i in range(len(q), len(a) - 15)
       if a[i:i + 2] == b"\xc0\x0c" and a[i + 2:i + 4] == b"\0\1"]
print(hex(struct.unpack(">H", a[:2])[0]), rcode, an, *ips)
PY

# ---- from the pod, through 10.96.0.10 (the proxy) to the agent ----
# addresses NAME: the addresses busybox nslookup gives for NAME (after "Name:"), sorted
addresses() {
	innode timeout 5 kubectl exec client -- nslookup -type=a "$1" 2>/dev/null |
		awk '/^Name:/ { n = 1; next } n && /^Address/ { print $NF }' | sort | paste -sd' '
}
has_addresses() { [ "$(addresses "$1")" = "$2" ]; }
# a few tries (the informers may lag the pods a moment); each nslookup is bounded by timeout
E2E_WAIT_S=2 wait_for "web (search path) -> $CIP" has_addresses web "$CIP" && ok "nslookup web -> $CIP"
expect "web.default.svc.cluster.local" "$CIP" "$(addresses web.default.svc.cluster.local)"
expect "headless db -> its pods" "$(printf '%s\n' "$DB0" "$DB1" | sort | paste -sd' ')" "$(addresses db)"
# (busybox's nslookup applies the search path only to names without a dot)
expect "db-1.db.default.svc.cluster.local (a pod by hostname)" "$DB1" \
	"$(addresses db-1.db.default.svc.cluster.local)"
if innode timeout 5 kubectl exec client -- nslookup -type=a nope.default.svc.cluster.local >"$WORK/nx" 2>&1; then
	fail "nslookup of a missing name succeeded: $(cat "$WORK/nx")"
elif grep -q NXDOMAIN "$WORK/nx"; then
	ok "nslookup nope.default.svc.cluster.local: NXDOMAIN"
else
	fail "nslookup of a missing name: $(cat "$WORK/nx")"
fi

# ---- a pod's dashed name, an endpoint's PTR ----
expect "pod name of db-0" "$DB0" "$(addresses "${DB0//./-}.default.pod.cluster.local")"
if innode timeout 5 kubectl exec client -- nslookup "$DB1" 2>&1 | grep -q "name = db-1.db.default.svc.cluster.local"; then
	ok "PTR of $DB1: db-1.db.default.svc.cluster.local"
else
	fail "PTR of $DB1: $(innode timeout 5 kubectl exec client -- nslookup "$DB1" 2>&1)"
fi

# ---- over UDP and TCP at the node's address ----
for proto in udp tcp; do
	expect "$proto web.default.svc.cluster.local at $NODEIP:53" "0x4242 0 1 $CIP" \
		"$(innode python3 "$WORK/q.py" "$NODEIP" web.default.svc.cluster.local $proto 2>&1)"
	expect "$proto missing name: NXDOMAIN" "0x4242 3 0" \
		"$(innode python3 "$WORK/q.py" "$NODEIP" nope.default.svc.cluster.local $proto 2>&1)"
done

# ---- forwarding ----
# the fake upstreams: ext.example is 192.0.2.7, slow.example is dropped (each one logged)
cat >"$WORK/up.py" <<'PY'
import select, socket, sys
socks = []
for ip in ("127.0.0.1", "127.0.0.2"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, 5353))
    socks.append(s)
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", 5353))
t.listen(8)
def name(q):
    o, labels = 12, []
    while q[o]:
        labels.append(q[o + 1:o + 1 + q[o]].decode())
        o += 1 + q[o]
    return ".".join(labels), o + 5
def reply(q):
    n, end = name(q)
    print(n, flush=True)
    if n == "slow.example":
        return None
    return (q[:2] + b"\x81\x80\0\1\0\1\0\0\0\0" + q[12:end] +
            b"\xc0\x0c\0\1\0\1\0\0\0\x1e\0\4" + bytes([192, 0, 2, 7]))
print("up", flush=True)
while True:
    for r in select.select(socks + [t], [], [])[0]:
        if r is t:
            c, _ = t.accept()
            c.settimeout(2)
            q = c.recv(2 + 65535)[2:]
            a = reply(q)
            if a:
                c.sendall(len(a).to_bytes(2, "big") + a)
            c.close()
        else:
            q, peer = r.recvfrom(4096)
            a = reply(q)
            if a:
                r.sendto(a, peer)
PY
# nsenter itself, not the innode function: a backgrounded function's $! is its subshell, and
# the python it ran outlived the test (holding what it inherited, e.g. the e2e lock); nsenter
# execs the program, so $! is the fake upstream's own pid
nsenter --net="/run/netns/$NODE" python3 "$WORK/up.py" >"$WORK/up.log" 2>&1 &
UP_PID=$!
up_ready() { grep -q "^up" "$WORK/up.log"; }
wait_for "fake upstreams" up_ready
expect "upstreams in the agent's log (itself skipped)" \
	"1 upstream(s) skipped|other names forwarded to 127.0.0.1:5353 127.0.0.2:5353" \
	"$(grep -o "1 upstream(s) skipped\|other names forwarded to .*" "$WORK/agent.log" | paste -sd'|')"
expect "ext.example from the pod (forwarded)" "192.0.2.7" "$(addresses ext.example)"
expect "tcp ext.example (forwarded)" "0x4242 0 1 192.0.2.7" \
	"$(innode python3 "$WORK/q.py" "$NODEIP" ext.example tcp 2>&1)"
# slow.example waits 2 s on each upstream; meanwhile other queries are answered
nsenter --net="/run/netns/$NODE" python3 "$WORK/q.py" "$NODEIP" slow.example udp >"$WORK/slow" 2>&1 &
SLOW_PID=$!
slow_asked() { grep -q "^slow.example" "$WORK/up.log"; }
wait_for "slow.example reached an upstream" slow_asked
expect "udp web while slow.example waits" "0x4242 0 1 $CIP" \
	"$(innode python3 "$WORK/q.py" "$NODEIP" web.default.svc.cluster.local udp 2>&1)"
expect "udp ext.example while slow.example waits" "0x4242 0 1 192.0.2.7" \
	"$(innode python3 "$WORK/q.py" "$NODEIP" ext.example udp 2>&1)"
[ -s "$WORK/slow" ] && fail "slow.example answered before the others: $(cat "$WORK/slow")"
wait "$SLOW_PID"
expect "slow.example: SERVFAIL once both upstreams let it go" "0x4242 2 0" "$(cat "$WORK/slow")"
expect "slow.example asked of both upstreams" 2 "$(grep -c '^slow.example' "$WORK/up.log")"

[ $FAILS -eq 0 ] && echo "PASS agent_dns" || { echo "$FAILS failure(s)"; tail -20 "$WORK/agent.log" >&2; exit 1; }
