#!/usr/bin/env bash
# drover-cni with drover's eBPF dataplane, end to end: `drover proxy` runs in a node namespace
# with a pin root of this test's own (scripts/lib/topo.sh), two pods are ADDed by drover-cni
# naming that pin root, and then:
#   - ping and TCP between them work, the redirect-peer counter grows, and the host side of
#     the destination's veth transmits nothing (bpf_redirect_peer skips it);
#   - with drv_tc_pod detached the same traffic works through the host stack and the counter
#     stays (the counter means the redirect);
#   - CHECK passes attached and fails detached; DEL removes the entry and the attachment
#     record, also a second time and with the pins gone; GC removes entries whose pod is
#     gone; ADD with nothing pinned works and says it attached nothing.
# Everything (namespaces, links, pins, processes by PID) is removed on exit, also on failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces, bpffs)"; exit 0; }
# shellcheck source=../../../scripts/lib/topo.sh
source "$here/../../../scripts/lib/topo.sh"

TAG=cep$$
topo_init "$TAG"
CNI=${DROVER_CNI:-$(dirname "$DROVER")/drover-cni}
[ -x "$CNI" ] || { echo "FAIL: $CNI not built" >&2; exit 1; }
WORK=$(mktemp -d /tmp/drvcep.XXXXXX)
TOPO_EXTRA_CLEANUP="rm -rf '$WORK'"
NODE=$(topo_ns node)
PIN=$TOPO_PIN_ROOT

fail() {
	echo "FAIL: $*" >&2
	[ -s "$WORK/stderr" ] && sed 's/^/  stderr: /' "$WORK/stderr" >&2
	[ -s "${TOPO_LOG:-/nonexistent}" ] && tail -5 "$TOPO_LOG" | sed 's/^/  proxy: /' >&2
	exit 1
}
pass() { echo "ok: $*"; }

# conf FILE PINROOT: the network configuration (no drover member when PINROOT is empty)
conf() {
	cat >"$1" <<JSON
{"cniVersion":"1.1.0","name":"cep","type":"drover-cni",
 "ipam":{"type":"drover","subnet":"10.244.7.0/24","dataDir":"$WORK/data"},
 "clusterCIDR":"10.244.0.0/16","routes":[{"dst":"10.96.0.0/12"}]${2:+,\"drover\":{\"pinRoot\":\"$2\"\}}}
JSON
}

# cni VERB ID POD CONF: run drover-cni in the node namespace as a runtime does. nsenter keeps
# this mount namespace (ip netns exec would remount /sys, hiding /sys/fs/bpf). Sets OUT, RC.
cni() {
	local ns=""
	[ -n "$3" ] && ns=/run/netns/$(topo_ns "$3")
	set +e
	OUT=$(nsenter --net="/run/netns/$NODE" env -i PATH="$PATH" CNI_COMMAND="$1" \
		CNI_CONTAINERID="$2" ${ns:+CNI_NETNS="$ns"} CNI_IFNAME=eth0 \
		CNI_PATH="$(dirname "$CNI")" timeout 60 "$CNI" <"$4" 2>"$WORK/stderr")
	RC=$?
	set -e
}
jget() { python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }

# the pinned endpoint map and attachment record, as JSON lists of keys (bpftool)
ep_count() { bpftool -j map dump pinned "$PIN/drv_ep1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
# the L2 epoch (drv_epoch1[0]): flows' cached next hops are good while it stays
epoch() { bpftool -j map lookup pinned "$PIN/drv_epoch1" key 0 0 0 0 | python3 -c 'import json,sys; v=json.load(sys.stdin)["value"]; print(int.from_bytes(bytes(int(b, 16) for b in v), "little"))'; }
att_has() { # att_has IFINDEX: 1 if drv_attach1 has that key
	bpftool -j map dump pinned "$PIN/drv_attach1" | python3 -c '
import json, sys
want = int(sys.argv[1])
keys = [int.from_bytes(bytes(int(b, 16) for b in e["key"]), "little") for e in json.load(sys.stdin)]
print(1 if want in keys else 0)' "$1"
}
ifindex_of() { ip -n "$NODE" -j link show dev "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["ifindex"])'; }
tx_packets() { ip -n "$NODE" -s -j link show dev "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["tx"]["packets"])'; }
redirects() { stat_sum tc redirect-peer; }
filter_on() { tc -n "$NODE" filter show dev "$1" ingress | grep -c "drv_tc_pod" || true; }

topo_node
for p in a b c; do
	ip netns add "$(topo_ns $p)"
	TOPO_NS+=("$(topo_ns $p)")
	ip -n "$(topo_ns $p)" link set lo up
done
mkdir -p "$WORK/m"
topo_proxy --manifests "$WORK/m" --node node1 --no-socket-lb
[ -e "$PIN/progs/drv_tc_pod" ] || fail "the proxy did not pin drv_tc_pod under $PIN/progs"
pass "drover proxy pinned its maps and drv_tc_pod under $PIN"

conf "$WORK/net.json" "$PIN"
cni ADD ida a "$WORK/net.json"
[ "$RC" = 0 ] || fail "ADD a: $OUT"
RES_A=$OUT
E0=$(epoch)
cni ADD idb b "$WORK/net.json"
[ "$RC" = 0 ] || fail "ADD b: $OUT"
RES_B=$OUT
[ "$(epoch)" -gt "$E0" ] || fail "ADD b did not bump drv_epoch1 ($E0 -> $(epoch))"
pass "ADD bumped the L2 epoch ($E0 -> $(epoch)): cached next hops are looked up again"
IP_A=$(jget "$RES_A" "r['ips'][0]['address'].split('/')[0]")
IP_B=$(jget "$RES_B" "r['ips'][0]['address'].split('/')[0]")
HOST_A=$(jget "$RES_A" "r['interfaces'][0]['name']")
HOST_B=$(jget "$RES_B" "r['interfaces'][0]['name']")
[ "$(filter_on "$HOST_A")" = 1 ] && [ "$(filter_on "$HOST_B")" = 1 ] ||
	fail "drv_tc_pod not on tc ingress of $HOST_A and $HOST_B"
[ "$(ep_count)" = 2 ] || fail "drv_ep1 has $(ep_count) entries, want 2"
[ "$(att_has "$(ifindex_of "$HOST_B")")" = 1 ] || fail "drv_attach1 does not record $HOST_B"
eps=$(drover_bpf endpoints)
echo "$eps" | grep -Eq "^$IP_A +[0-9]+ +$HOST_A .* redirect-peer$" &&
	echo "$eps" | grep -Eq "^$IP_B +[0-9]+ +$HOST_B .* redirect-peer$" &&
	echo "$eps" | grep -q "^2 endpoints$" || fail "drover bpf endpoints: $eps"
pass "ADD attached drv_tc_pod to $HOST_A and $HOST_B and registered $IP_A and $IP_B"
echo "$eps" | sed 's/^/  /'

# ---- a restarted proxy pins its new drv_tc_pod and swaps it in on the pods drover-cni
# attached (recorded in drv_attach1), so that every pod runs one version
tc_prog_id() { in_node bpftool -j net show dev "$1" | python3 -c 'import json,sys; print([t["id"] for n in json.load(sys.stdin) for t in n.get("tc", []) if t["name"].startswith("drv_tc_pod")][0])'; }
pinned_id() { bpftool -j prog show pinned "$PIN/progs/drv_tc_pod" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
# a ClusterIP backed by pod b, programmed by the restarted proxy below
cat >"$WORK/m/svc.yaml" <<YAML
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  clusterIP: 10.96.0.40
  ports:
  - {name: http, port: 80, targetPort: 8080}
YAML
cat >"$WORK/m/eps.yaml" <<YAML
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: default
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- {addresses: [$IP_B], nodeName: node1, conditions: {ready: true}}
YAML
old_id=$(pinned_id)
[ "$(tc_prog_id "$HOST_A")" = "$old_id" ] || fail "$HOST_A runs $(tc_prog_id "$HOST_A"), not the pinned $old_id"
topo_proxy_stop
topo_proxy --manifests "$WORK/m" --node node1 --no-socket-lb
new_id=$(pinned_id)
[ "$new_id" != "$old_id" ] || fail "the restarted proxy did not pin a new drv_tc_pod"
[ "$(tc_prog_id "$HOST_A")" = "$new_id" ] && [ "$(tc_prog_id "$HOST_B")" = "$new_id" ] ||
	fail "after a proxy restart $HOST_A/$HOST_B run $(tc_prog_id "$HOST_A")/$(tc_prog_id "$HOST_B"), want $new_id"
pass "a restarted proxy pinned drv_tc_pod $new_id (was $old_id) and swapped it in on both pods"

# ---- bad configurations fail clearly and wire nothing
for bad in '"drover":5' '"drover":{"pinRoot":"relative/dir"}' '"drover":{"pinRoot":7}'; do
	python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c.update(json.loads("{"+sys.argv[2]+"}")); print(json.dumps(c))' "$WORK/net.json" "$bad" >"$WORK/bad.json"
	cni ADD idbad c "$WORK/bad.json"
	[ "$RC" != 0 ] && [ "$(jget "$OUT" "r['code']")" = 7 ] || fail "ADD with $bad: rc $RC, $OUT"
	[ "$(ep_count)" = 2 ] || fail "ADD with $bad changed drv_ep1"
	ip netns exec "$(topo_ns c)" ip link show eth0 >/dev/null 2>&1 && fail "ADD with $bad left eth0 in c"
	pass "ADD with $bad -> code 7: $(jget "$OUT" "r['msg']")"
done

# ---- redirected: ping and TCP, the counter grows, B's host side transmits nothing
ip netns exec "$(topo_ns b)" "$DROVER_HTTPD" --port 8080 --body pod-b >/dev/null 2>&1 &
TOPO_PIDS+=($!)
for _ in $(seq 1 200); do
	ip netns exec "$(topo_ns b)" ss -ltn 2>/dev/null | grep -q ':8080 ' && break
	sleep 0.05
done
# a first ping resolves the neighbours (ARP answered by the host side: transmitted by it)
ip netns exec "$(topo_ns a)" ping -c 1 -W 5 "$IP_B" >/dev/null || fail "ping a -> b (first)"
r0=$(redirects)
tx0=$(tx_packets "$HOST_B")
ip netns exec "$(topo_ns a)" ping -c 3 -W 5 "$IP_B" >/dev/null || fail "ping a -> b (redirected)"
body=$(ip netns exec "$(topo_ns a)" curl -s --max-time 10 "http://$IP_B:8080/") || true
[ "$body" = pod-b ] || fail "TCP a -> b (redirected): got '$body'"
r1=$(redirects)
tx1=$(tx_packets "$HOST_B")
[ "$r1" -ge $((r0 + 6)) ] || fail "redirect-peer counter $r0 -> $r1, want >= 6 more (3 pings and replies)"
# 3 echo requests and at least 5 TCP segments went to b; the host side may still answer a
# neighbour probe of b's (ARP), nothing more
[ $((tx1 - tx0)) -le 2 ] || fail "$HOST_B transmitted $((tx1 - tx0)) packets: not delivered by redirect_peer"
pass "ping and TCP a <-> b work, redirect-peer $r0 -> $r1, $HOST_B transmitted $((tx1 - tx0)) (ARP at most)"

# the same through a ClusterIP: translated by tc, then redirected to b
f0=$(stat_sum tc forwarded)
body=$(ip netns exec "$(topo_ns a)" curl -s --max-time 10 "http://10.96.0.40/") || true
[ "$body" = pod-b ] || fail "TCP a -> ClusterIP 10.96.0.40 (backend b, redirected): got '$body'"
r1b=$(redirects)
f1=$(stat_sum tc forwarded)
tx1b=$(tx_packets "$HOST_B")
[ "$f1" -gt "$f0" ] || fail "the ClusterIP was not translated by tc (forwarded $f0 -> $f1)"
[ "$r1b" -ge $((r1 + 5)) ] || fail "ClusterIP traffic not redirected: redirect-peer $r1 -> $r1b"
[ $((tx1b - tx1)) -le 2 ] || fail "ClusterIP: $HOST_B transmitted $((tx1b - tx1)) packets"
pass "TCP a -> ClusterIP -> b: translated (forwarded $f0 -> $f1) and redirected ($r1 -> $r1b)"
r1=$r1b
tx1=$tx1b

# ---- "redirectPeer": false: c is attached and registered, but what goes to c takes the host
# stack (c's host side transmits it); c's replies to a are still redirected (a's entry)
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["drover"]["redirectPeer"]=False; print(json.dumps(c))' "$WORK/net.json" >"$WORK/noredir.json"
cni ADD idnr c "$WORK/noredir.json"
[ "$RC" = 0 ] || fail "ADD c with redirectPeer false: $OUT"
IP_C=$(jget "$OUT" "r['ips'][0]['address'].split('/')[0]")
HOST_C=$(jget "$OUT" "r['interfaces'][0]['name']")
drover_bpf endpoints | grep -Eq "^$IP_C +[0-9]+ +$HOST_C .* host-stack$" ||
	fail "drover bpf endpoints does not show $IP_C as host-stack: $(drover_bpf endpoints)"
ip netns exec "$(topo_ns a)" ping -c 1 -W 5 "$IP_C" >/dev/null || fail "ping a -> c (first)"
rc0=$(redirects)
txc0=$(tx_packets "$HOST_C")
ip netns exec "$(topo_ns a)" ping -c 3 -W 5 "$IP_C" >/dev/null || fail "ping a -> c (host stack)"
rc1=$(redirects)
txc1=$(tx_packets "$HOST_C")
[ $((txc1 - txc0)) -ge 3 ] || fail "c's host side transmitted $((txc1 - txc0)), want the 3 requests"
[ $((rc1 - rc0)) = 3 ] || fail "redirect-peer $rc0 -> $rc1, want +3 (c's replies to a only)"
cni DEL idnr c "$WORK/noredir.json"
[ "$RC" = 0 ] && [ "$(ep_count)" = 2 ] || fail "DEL c: rc $RC, $(ep_count) entries"
pass "redirectPeer false: requests to c through the host stack (tx +$((txc1 - txc0))), only c's replies redirected (+3)"

# ---- CHECK while attached
cat >"$WORK/check.json" <<JSON
$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["prevResult"]=json.loads(sys.argv[2]); print(json.dumps(c))' "$WORK/net.json" "$RES_A")
JSON
cni CHECK ida a "$WORK/check.json"
[ "$RC" = 0 ] || fail "CHECK a (attached): $OUT"
pass "CHECK passes while attached"

# ---- detached: the host stack carries the same traffic, the counter stays
r1=$(redirects)
tx1=$(tx_packets "$HOST_B")
tc -n "$NODE" filter del dev "$HOST_A" ingress
tc -n "$NODE" filter del dev "$HOST_B" ingress
ip netns exec "$(topo_ns a)" ping -c 3 -W 5 "$IP_B" >/dev/null || fail "ping a -> b (host stack)"
body=$(ip netns exec "$(topo_ns a)" curl -s --max-time 10 "http://$IP_B:8080/") || true
[ "$body" = pod-b ] || fail "TCP a -> b (host stack): got '$body'"
r2=$(redirects)
tx2=$(tx_packets "$HOST_B")
[ "$r2" = "$r1" ] || fail "redirect-peer moved $r1 -> $r2 with drv_tc_pod detached"
[ $((tx2 - tx1)) -ge 8 ] || fail "$HOST_B transmitted $((tx2 - tx1)) packets through the host stack, want >= 8"
pass "detached: ping and TCP still work through the host stack ($HOST_B tx +$((tx2 - tx1))), redirect-peer stays $r2"

cni CHECK ida a "$WORK/check.json"
[ "$RC" != 0 ] && [ "$(jget "$OUT" "r['code']")" = 104 ] ||
	fail "CHECK a (detached) should fail with 104: rc $RC, $OUT"
pass "CHECK fails when detached: $(jget "$OUT" "r['msg']")"

# ---- DEL: the entry and the record go; again is fine
IFX_B=$(ifindex_of "$HOST_B")
E0=$(epoch)
cni DEL idb b "$WORK/net.json"
[ "$RC" = 0 ] || fail "DEL b: $OUT"
[ "$(epoch)" -gt "$E0" ] || fail "DEL b did not bump drv_epoch1 ($E0 -> $(epoch))"
[ "$(ep_count)" = 1 ] || fail "after DEL b drv_ep1 has $(ep_count) entries, want 1"
[ "$(att_has "$IFX_B")" = 0 ] || fail "after DEL b drv_attach1 still records $IFX_B"
ip -n "$NODE" link show dev "$HOST_B" >/dev/null 2>&1 && fail "$HOST_B still exists after DEL"
cni DEL idb b "$WORK/net.json"
[ "$RC" = 0 ] || fail "second DEL b: $OUT"
pass "DEL removed b's entry, attachment record and link; a second DEL is fine"

# ---- GC: c's pod is gone behind the plugin's back (its netns deleted takes the veth);
# GC with only a valid removes c's entry
cni ADD idc c "$WORK/net.json"
[ "$RC" = 0 ] || fail "ADD c: $OUT"
[ "$(ep_count)" = 2 ] || fail "after ADD c drv_ep1 has $(ep_count) entries, want 2"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["cni.dev/valid-attachments"]=[{"containerID":"ida","ifname":"eth0"}]; print(json.dumps(c))' "$WORK/net.json" >"$WORK/gc.json"
cni GC "" "" "$WORK/gc.json"
[ "$RC" = 0 ] || fail "GC: $OUT"
[ "$(ep_count)" = 1 ] || fail "after GC drv_ep1 has $(ep_count) entries, want 1 (a's)"
pass "GC removed the entry of the attachment not in the valid list"

# ---- a host side gone behind the plugin's back: GC sweeps its entry even while the
# attachment is still listed as valid (its ifindex names no device any more)
cni ADD ide c "$WORK/net.json"
[ "$RC" = 0 ] || fail "ADD e: $OUT"
HOST_E=$(jget "$OUT" "r['interfaces'][0]['name']")
[ "$(ep_count)" = 2 ] || fail "after ADD e drv_ep1 has $(ep_count) entries, want 2"
ip -n "$NODE" link del "$HOST_E"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["cni.dev/valid-attachments"]=[{"containerID":i,"ifname":"eth0"} for i in ("ida","ide")]; print(json.dumps(c))' "$WORK/net.json" >"$WORK/gc2.json"
cni GC "" "" "$WORK/gc2.json"
[ "$RC" = 0 ] || fail "GC 2: $OUT"
[ "$(ep_count)" = 1 ] || fail "after GC 2 drv_ep1 has $(ep_count) entries, want 1 (a's)"
cni DEL ide c "$WORK/net.json"
[ "$RC" = 0 ] || fail "DEL e: $OUT"
pass "GC removed the entry whose host side is gone"

cni DEL ida a "$WORK/net.json"
[ "$RC" = 0 ] && [ "$(ep_count)" = 0 ] || fail "DEL a: rc $RC, $(ep_count) entries left"
pass "DEL a: no entry left"

# ---- pins gone: DEL still works; ADD with nothing pinned works and says so
cni ADD idf c "$WORK/net.json"
[ "$RC" = 0 ] || fail "ADD f: $OUT"
HOST_F=$(jget "$OUT" "r['interfaces'][0]['name']")
topo_proxy_stop
in_node "$DROVER" proxy uninstall --pin-root "$PIN" >/dev/null 2>&1
[ ! -e "$PIN/drv_ep1" ] || fail "uninstall left $PIN/drv_ep1"
[ "$(filter_on "$HOST_F")" = 0 ] || fail "uninstall left drv_tc_pod on $HOST_F (attached by drover-cni)"
cni DEL idf c "$WORK/net.json"
[ "$RC" = 0 ] || fail "DEL f with the pins gone: $OUT"
ip -n "$NODE" link show dev "$HOST_F" >/dev/null 2>&1 && fail "$HOST_F still exists after DEL"
pass "uninstall detached drover-cni's attachment too; DEL with the pins gone works"
cni ADD idg c "$WORK/net.json"
[ "$RC" = 0 ] || fail "ADD with nothing pinned: $OUT"
msg=$(cat "$WORK/stderr")
echo "$msg" | grep -q "not attached" || fail "ADD with nothing pinned did not say so"
cni DEL idg c "$WORK/net.json"
[ "$RC" = 0 ] || fail "DEL g: $OUT"
conf "$WORK/plain.json" ""
cni ADD idh c "$WORK/plain.json"
[ "$RC" = 0 ] && [ ! -s "$WORK/stderr" ] || fail "ADD without drover.pinRoot: rc $RC, $OUT"
cni DEL idh c "$WORK/plain.json"
[ "$RC" = 0 ] || fail "DEL h: $OUT"
pass "with nothing pinned ADD works and says: $msg; without drover.pinRoot it is silent"
