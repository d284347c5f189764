#!/usr/bin/env bash
# drover-cni end to end: every verb run as a runtime runs it (CNI_* environment, the network
# configuration on stdin, the result or error object on stdout), in a node namespace and pod
# namespaces this script makes (all named drvcni-$$-*, removed on exit, also on failure).
# Nothing here has a default route out of the machine.
set -euo pipefail

BIN_DIR=${DROVER_BIN:-$(dirname "$0")/../../../build/userspace/cli}
CNI=$(cd "$BIN_DIR" && pwd)/drover-cni
[ -x "$CNI" ] || { echo "FAIL: $CNI not built" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces)"; exit 0; }

P=drvcni-$$-
NODE=${P}node
WORK=$(mktemp -d /tmp/drvcni.XXXXXX)
CNI_DIRS=$(dirname "$CNI"):/usr/lib/cni
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	ip netns list | awk -v p="$P" 'index($1, p) == 1 {print $1}' |
		while read -r ns; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; [ -s "$WORK/stderr" ] && sed 's/^/  stderr: /' "$WORK/stderr" >&2; exit 1; }
ok() { echo "ok: $*"; }

# cni VERB CONTAINERID NETNS IFNAME CONFFILE [extra env...]: sets OUT and RC. An empty
# argument leaves that variable out of the environment.
cni() {
	local cmd=$1 cid=$2 ns=$3 ifn=$4 conf=$5
	shift 5
	local envs=(PATH="$PATH" CNI_PATH="$CNI_DIRS")
	[ -n "$cmd" ] && envs+=(CNI_COMMAND="$cmd")
	[ -n "$cid" ] && envs+=(CNI_CONTAINERID="$cid")
	[ -n "$ns" ] && envs+=(CNI_NETNS="$ns")
	[ -n "$ifn" ] && envs+=(CNI_IFNAME="$ifn")
	set +e
	OUT=$(ip netns exec "$NODE" env -i "${envs[@]}" "$@" timeout 60 "$CNI" <"$conf" 2>"$WORK/stderr")
	RC=$?
	set -e
}

# jcheck JSON PYTHON-EXPR [what]: the expression over r (the parsed JSON) must be true.
jcheck() {
	python3 - "$1" "$2" <<'PY' || fail "${3:-json check}: $2 on: $1"
import json, sys
r = json.loads(sys.argv[1])
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}

# expect_error CODE what: the last run failed with the spec's error object and that code
expect_error() {
	[ "$RC" != 0 ] || fail "$2: exit code 0, want an error (out: $OUT)"
	jcheck "$OUT" "r['code'] == $1 and isinstance(r['msg'], str) and r['msg'] and 'cniVersion' in r" "$2"
	ok "$2 -> code $1: $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["msg"])' "$OUT")"
}
expect_ok() { [ "$RC" = 0 ] || fail "$1: exit $RC, out: $OUT"; }

conf() { # conf FILE NAME SUBNET [VERSION] [extra JSON members]
	cat >"$1" <<JSON
{"cniVersion":"${4:-1.0.0}","name":"$2","type":"drover-cni",
 "ipam":{"type":"drover","subnet":"$3","dataDir":"$WORK/data"},
 "clusterCIDR":"10.244.0.0/16"${5:+,$5}}
JSON
}
state() { cat "$WORK/data/$1/state" 2>/dev/null || true; }
pod() { ip netns add "${P}$1"; echo "/run/netns/${P}$1"; }
# many VERB: VERB for pods m1..m100 of many.json at once (in the background, reaped by
# PID); each must succeed. Its output is in $WORK/mN.out.
many() {
	local i
	for i in $(seq 1 100); do
		(ip netns exec "$NODE" env -i PATH="$PATH" CNI_COMMAND="$1" CNI_CONTAINERID="m$i" \
			CNI_NETNS="/run/netns/${P}m$i" CNI_IFNAME=eth0 CNI_PATH="$CNI_DIRS" \
			"$CNI" <"$WORK/many.json" >"$WORK/m$i.out" 2>"$WORK/m$i.err"; echo $? >"$WORK/m$i.rc") &
		PIDS+=($!)
	done
	wait "${PIDS[@]}"
	PIDS=()
	for i in $(seq 1 100); do
		[ "$(cat "$WORK/m$i.rc")" = 0 ] || fail "concurrent $1 m$i: $(cat "$WORK/m$i.out" "$WORK/m$i.err")"
	done
}

ip netns add "$NODE"
ip netns exec "$NODE" ip link set lo up
conf "$WORK/net.json" net 10.244.1.0/24

# ---- VERSION
cni VERSION "" "" "" /dev/null
expect_ok VERSION
jcheck "$OUT" "r['supportedVersions'] == ['0.4.0', '1.0.0', '1.1.0'] and r['cniVersion'] == '1.1.0'" VERSION
echo '{"cniVersion":"1.0.0"}' >"$WORK/v.json"
cni VERSION "" "" "" "$WORK/v.json"
jcheck "$OUT" "r['cniVersion'] == '1.0.0'" "VERSION echoes a supported cniVersion"
ok VERSION

# ---- ADD two pods; the result field by field
A=$(pod a)
B=$(pod b)
cni ADD ctr-a "$A" eth0 "$WORK/net.json"
expect_ok "ADD a"
RES_A=$OUT
cni ADD ctr-b "$B" eth0 "$WORK/net.json"
expect_ok "ADD b"
RES_B=$OUT
for r in "$RES_A" "$RES_B"; do
	jcheck "$r" "r['cniVersion'] == '1.0.0' and len(r['interfaces']) == 2" "ADD result shape"
	jcheck "$r" "r['interfaces'][0]['name'].startswith('drv') and len(r['interfaces'][0]['name']) <= 15 and 'sandbox' not in r['interfaces'][0]" "host interface"
	jcheck "$r" "r['interfaces'][1]['name'] == 'eth0' and r['interfaces'][1]['sandbox'].startswith('/run/netns/$P')" "pod interface"
	jcheck "$r" "'mtu' not in r['interfaces'][1]" "no 1.1 field (mtu) in a 1.0.0 result"
	jcheck "$r" "len(r['ips']) == 1 and r['ips'][0]['interface'] == 1 and r['ips'][0]['gateway'] == '10.244.1.1' and 'version' not in r['ips'][0]" "ips"
	jcheck "$r" "r['ips'][0]['address'].startswith('10.244.1.') and r['ips'][0]['address'].endswith('/24')" "address in the pod CIDR"
	jcheck "$r" "r['routes'] == [{'dst': '10.244.0.0/16', 'gw': '10.244.1.1'}]" "routes: the cluster CIDR, no default"
done
IP_A=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ips"][0]["address"].split("/")[0])' "$RES_A")
IP_B=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ips"][0]["address"].split("/")[0])' "$RES_B")
[ "$IP_A" != "$IP_B" ] || fail "two pods got the same address $IP_A"
# what the result says is what the kernel has
MAC_A=$(ip netns exec "${P}a" cat /sys/class/net/eth0/address)
jcheck "$RES_A" "r['interfaces'][1]['mac'] == '$MAC_A'" "pod mac as in the netns"
HOST_A=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["interfaces"][0]["name"])' "$RES_A")
ip netns exec "$NODE" ip -o link show "$HOST_A" | grep -q 'state UP\|,UP' || fail "host side $HOST_A not up"
jcheck "$RES_A" "r['interfaces'][0]['mac'] == '$(ip netns exec "$NODE" cat /sys/class/net/"$HOST_A"/address)'" "host mac"
ip netns exec "${P}a" ip -4 addr show eth0 | grep -q "inet $IP_A/24" || fail "eth0 in a lacks $IP_A/24"
[ -z "$(ip netns exec "${P}a" ip route show default)" ] || fail "a default route in the pod"
[ -z "$(ip netns exec "$NODE" ip route show default)" ] || fail "a default route in the node namespace"
state net | grep -q "^$IP_A ctr-a eth0$" || fail "state lacks $IP_A ctr-a eth0: $(state net)"
ok "ADD: a=$IP_A b=$IP_B, result checked against the kernel"

# ---- pod to pod through the host
ip netns exec "${P}a" ping -c 2 -W 5 "$IP_B" >/dev/null || fail "ping a -> b ($IP_B)"
ip netns exec "${P}b" ping -c 2 -W 5 "$IP_A" >/dev/null || fail "ping b -> a ($IP_A)"
ok "ping a <-> b through the node namespace"

# ---- CHECK with prevResult
chk() { python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["prevResult"]=json.loads(sys.argv[2]); print(json.dumps(c))' "$WORK/net.json" "$1" >"$WORK/chk.json"; }
chk "$RES_A"
cni CHECK ctr-a "$A" eth0 "$WORK/chk.json"
expect_ok "CHECK a"
[ -z "$OUT" ] || fail "CHECK printed $OUT"
cni CHECK ctr-a "$A" eth0 "$WORK/net.json"
expect_error 7 "CHECK without prevResult"
ip netns exec "${P}a" ip addr del "$IP_A/24" dev eth0
cni CHECK ctr-a "$A" eth0 "$WORK/chk.json"
expect_error 104 "CHECK after the address was removed"
ip netns exec "${P}a" ip addr add "$IP_A/24" dev eth0
ip netns exec "${P}a" ip route add 10.244.0.0/16 via 10.244.1.1 dev eth0
python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r["interfaces"][1]["mac"]="02:00:00:00:00:01"; print(json.dumps(r))' "$RES_A" >"$WORK/badmac"
chk "$(cat "$WORK/badmac")"
cni CHECK ctr-a "$A" eth0 "$WORK/chk.json"
expect_error 104 "CHECK with another mac in prevResult"

# ---- repeated ADD: an error, and the first ADD's pod and address stay
cni ADD ctr-a "$A" eth0 "$WORK/net.json"
expect_error 101 "repeated ADD"
state net | grep -q "^$IP_A ctr-a eth0$" || fail "repeated ADD lost the first address"
ip netns exec "${P}a" ping -c 1 -W 5 "$IP_B" >/dev/null || fail "repeated ADD broke pod a"

# ---- bad input
cni "" ctr-x "$A" eth0 "$WORK/net.json"
expect_error 4 "no CNI_COMMAND"
cni ADD ctr-x "" eth0 "$WORK/net.json"
expect_error 4 "ADD without CNI_NETNS"
cni ADD "" "$A" eth0 "$WORK/net.json"
expect_error 4 "ADD without CNI_CONTAINERID"
cni ADD ctr-x "$A" "a/b" "$WORK/net.json"
expect_error 4 "ADD with an invalid CNI_IFNAME"
cni ADD "-bad" "$A" eth1 "$WORK/net.json"
expect_error 4 "ADD with an invalid CNI_CONTAINERID"
cni ADD ctr-x "$A" eth1 "$WORK/net.json" CNI_ARGS="novalue"
expect_error 4 "ADD with malformed CNI_ARGS"
cni FROB ctr-x "$A" eth1 "$WORK/net.json"
expect_error 4 "unknown CNI_COMMAND"
echo '{"cniVersion": "1.0.0", "name": ' >"$WORK/bad.json"
cni ADD ctr-x "$A" eth1 "$WORK/bad.json"
expect_error 6 "truncated JSON"
echo '[1,2]' >"$WORK/bad.json"
cni ADD ctr-x "$A" eth1 "$WORK/bad.json"
expect_error 6 "JSON that is not an object"
conf "$WORK/old.json" net 10.244.1.0/24 0.2.0
cni ADD ctr-x "$A" eth1 "$WORK/old.json"
expect_error 1 "unsupported cniVersion"
echo '{"cniVersion":"1.0.0","name":"net","type":"drover-cni"}' >"$WORK/nosub.json"
cni ADD ctr-x "$A" eth1 "$WORK/nosub.json"
expect_error 7 "no subnet"
conf "$WORK/badsub.json" net 10.244.1.1/24
cni ADD ctr-x "$A" eth1 "$WORK/badsub.json"
expect_error 7 "subnet with host bits"
BEFORE=$(state net | tail -n +2) # the allocations (the round-robin pointer may move)
cni ADD ctr-x "/run/netns/${P}nonexistent" eth0 "$WORK/net.json"
expect_error 3 "ADD into a netns that does not exist"
touch "$WORK/notns"
cni ADD ctr-x "$WORK/notns" eth0 "$WORK/net.json"
expect_error 4 "ADD with CNI_NETNS not a network namespace"
# an ADD that fails after its address was allocated gives the address back
D=$(pod d)
ip netns exec "${P}d" ip link add eth0 type veth peer name peer0
cni ADD ctr-d "$D" eth0 "$WORK/net.json"
expect_error 101 "ADD where CNI_IFNAME exists in the netns"
ip netns exec "${P}d" ip link del eth0
[ "$(state net | tail -n +2)" = "$BEFORE" ] || fail "a failed ADD changed the IPAM allocations: $(state net)"
[ "$(ip netns exec "$NODE" ip -o link | grep -c drv)" = 2 ] || fail "a failed ADD left a link"

# ---- the 0.4.0 result form
conf "$WORK/v04.json" net 10.244.1.0/24 0.4.0
C=$(pod c)
cni ADD ctr-c "$C" eth0 "$WORK/v04.json"
expect_ok "ADD 0.4.0"
jcheck "$OUT" "r['cniVersion'] == '0.4.0' and r['ips'][0]['version'] == '4'" "0.4.0 result"
cni DEL ctr-c "$C" eth0 "$WORK/v04.json"
expect_ok "DEL 0.4.0"
ok "0.4.0 result carries ips[].version"

# ---- chained: prevResult is passed through and extended
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["prevResult"]={"cniVersion":"1.0.0","interfaces":[{"name":"tap0"}],"ips":[{"address":"192.0.2.5/24","interface":0}],"dns":{"nameservers":["192.0.2.53"]}}; print(json.dumps(c))' "$WORK/net.json" >"$WORK/chain.json"
cni ADD ctr-c "$C" eth0 "$WORK/chain.json"
expect_ok "chained ADD"
jcheck "$OUT" "[i['name'] for i in r['interfaces']][0] == 'tap0' and len(r['interfaces']) == 3 and r['ips'][0] == {'address': '192.0.2.5/24', 'interface': 0} and r['ips'][1]['interface'] == 2 and r['dns'] == {'nameservers': ['192.0.2.53']}" "prevResult merged"
cni DEL ctr-c "$C" eth0 "$WORK/chain.json"
expect_ok "chained DEL"
ok "prevResult passed through and extended"

# ---- DEL: idempotent, best effort
cni DEL ctr-unknown "/run/netns/${P}gone" eth0 "$WORK/net.json"
expect_ok "DEL of an unknown container"
cni DEL ctr-unknown "" eth0 "$WORK/net.json"
expect_ok "DEL without CNI_NETNS"
ip netns del "${P}b"
cni DEL ctr-b "$B" eth0 "$WORK/net.json"
expect_ok "DEL after the netns is gone"
state net | grep -q " ctr-b " && fail "DEL kept ctr-b's address"
ip netns exec "$NODE" ip -o link | grep -q "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["interfaces"][0]["name"])' "$RES_B")" &&
	fail "DEL kept b's host link"
cni DEL ctr-a "$A" eth0 "$WORK/net.json"
expect_ok "DEL a"
cni DEL ctr-a "$A" eth0 "$WORK/net.json"
expect_ok "DEL a again"
[ -z "$(state net | tail -n +2)" ] || fail "addresses left after DEL: $(state net)"
[ -z "$(ip netns exec "$NODE" ip -o link | grep drv)" ] || fail "links left after DEL"
ip netns exec "${P}a" ip link show eth0 >/dev/null 2>&1 && fail "eth0 left in a after DEL"
ok "DEL idempotent: unknown container, no netns, gone netns, twice"

# ---- an exhausted CIDR (a /30 has one pod address) and STATUS
conf "$WORK/small.json" small 10.250.0.0/30 1.1.0
cni STATUS "" "" "" "$WORK/small.json"
expect_ok "STATUS (empty /30)"
cni ADD s1 "$A" eth0 "$WORK/small.json"
expect_ok "ADD into /30"
jcheck "$OUT" "r['ips'][0]['address'] == '10.250.0.2/30' and r['ips'][0]['gateway'] == '10.250.0.1'" "the /30's one address"
jcheck "$OUT" "r['cniVersion'] == '1.1.0' and r['interfaces'][1]['mtu'] == 1500" "a 1.1.0 result has the interface mtu"
C2=$D
cni ADD s2 "$C2" eth0 "$WORK/small.json"
expect_error 100 "ADD into an exhausted /30"
ip netns exec "${P}d" ip link show eth0 >/dev/null 2>&1 && fail "the failed ADD left eth0 in d"
cni STATUS "" "" "" "$WORK/small.json"
expect_error 50 "STATUS with the /30 full"
conf "$WORK/small10.json" small 10.250.0.0/30 1.0.0
cni STATUS "" "" "" "$WORK/small10.json"
expect_error 1 "STATUS with a 1.0.0 config"
cni DEL s1 "$A" eth0 "$WORK/small.json"
expect_ok "DEL from /30"
cni STATUS "" "" "" "$WORK/small.json"
expect_ok "STATUS after the DEL"
ok "exhaustion and STATUS"

# ---- a corrupt state file: a clear error, nothing lost
conf "$WORK/corrupt.json" corrupt 10.251.0.0/24
mkdir -p "$WORK/data/corrupt"
printf 'drover-cni-ipam 1 10.251.0.0/24 last=10.251.0.1\n10.251.0.9 ctr eth0\ngarbage\n' >"$WORK/data/corrupt/state"
cp "$WORK/data/corrupt/state" "$WORK/corrupt.before"
cni ADD cx "$C2" eth0 "$WORK/corrupt.json"
expect_error 5 "ADD with a corrupt state file"
grep -q 'corrupt IPAM state file .*line 3' <<<"$OUT" || fail "corrupt state: message names no line: $OUT"
cmp -s "$WORK/data/corrupt/state" "$WORK/corrupt.before" || fail "the corrupt state file was changed"
ip netns exec "${P}d" ip link show eth0 >/dev/null 2>&1 && fail "ADD with a corrupt state left eth0"

# ---- GC: attachments not in cni.dev/valid-attachments are released
conf "$WORK/gc.json" gc 10.252.0.0/24 1.1.0
for i in 1 2 3; do
	cni ADD "g$i" "$(pod "g$i")" eth0 "$WORK/gc.json"
	expect_ok "ADD g$i"
done
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["cni.dev/valid-attachments"]=[{"containerID":"g1","ifname":"eth0"}]; print(json.dumps(c))' "$WORK/gc.json" >"$WORK/gc-run.json"
cni GC "" "" "" "$WORK/gc-run.json"
expect_ok GC
[ "$(state gc | tail -n +2 | awk '{print $2}')" = g1 ] || fail "GC left: $(state gc)"
ip netns exec "${P}g2" ip link show eth0 >/dev/null 2>&1 && fail "GC left g2's veth"
ip netns exec "${P}g1" ip link show eth0 >/dev/null 2>&1 || fail "GC removed g1's veth"
cni GC "" "" "" "$WORK/gc.json"
expect_error 7 "GC without valid-attachments"
ok "GC released g2 and g3, kept g1"

# ---- 100 concurrent ADDs in 100 netns, then 100 concurrent DELs
conf "$WORK/many.json" many 10.253.0.0/24
for i in $(seq 1 100); do ip netns add "${P}m$i"; done
many ADD
python3 - "$WORK" <<'PY' || fail "concurrent ADDs: addresses not distinct"
import json, sys
addrs = [json.load(open(f"{sys.argv[1]}/m{i}.out"))["ips"][0]["address"] for i in range(1, 101)]
assert len(set(addrs)) == 100, addrs
PY
[ "$(state many | tail -n +2 | awk '{print $1}' | sort -u | wc -l)" = 100 ] || fail "state does not hold 100 addresses"
ip netns exec "${P}m1" ping -c 1 -W 5 "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ips"][0]["address"].split("/")[0])' "$WORK/m100.out")" >/dev/null ||
	fail "ping m1 -> m100"
many DEL
[ -z "$(state many | tail -n +2)" ] || fail "concurrent DELs left: $(state many | head)"
ok "100 concurrent ADDs got 100 distinct addresses; 100 DELs released them"

# ---- delegation to the reference host-local IPAM plugin
if [ -x /usr/lib/cni/host-local ]; then
	cat >"$WORK/hl.json" <<JSON
{"cniVersion":"1.0.0","name":"hl","type":"drover-cni",
 "ipam":{"type":"host-local","ranges":[[{"subnet":"10.254.0.0/24"}]],"dataDir":"$WORK/hl"}}
JSON
	H=$(pod h)
	cni ADD hctr "$H" eth0 "$WORK/hl.json"
	expect_ok "ADD with host-local"
	jcheck "$OUT" "r['ips'][0]['address'].startswith('10.254.0.') and r['ips'][0]['gateway'] == '10.254.0.1' and r['ips'][0]['interface'] == 1" "host-local's address"
	HIP=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ips"][0]["address"].split("/")[0])' "$OUT")
	[ -f "$WORK/hl/hl/$HIP" ] || fail "host-local has no reservation for $HIP"
	ip netns exec "${P}h" ip -4 addr show eth0 | grep -q "inet $HIP/" || fail "eth0 lacks $HIP"
	cni DEL hctr "$H" eth0 "$WORK/hl.json"
	expect_ok "DEL with host-local"
	[ -f "$WORK/hl/hl/$HIP" ] && fail "host-local kept $HIP after DEL"
	echo '{"cniVersion":"1.0.0","name":"hl","type":"drover-cni","ipam":{"type":"nosuchipam"}}' >"$WORK/noipam.json"
	cni ADD hctr "$H" eth0 "$WORK/noipam.json"
	expect_error 7 "an ipam plugin not in CNI_PATH"
	ok "delegation to host-local"
else
	echo "SKIP: /usr/lib/cni/host-local absent (containernetworking-plugins, scripts/deps.sh)"
fi

echo "PASS: drover-cni e2e"
