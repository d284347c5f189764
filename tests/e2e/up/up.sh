#!/usr/bin/env bash
# up.sh: `drover up` / `drover down` end to end. Bad flags exit 2 with one line. `drover up
# --nodes 2` over a temp dir and a temp image store (scripts/lib/busybox-image.sh) gives two
# Ready nodes with distinct podCIDRs and, in each node's namespace, a route to the other's
# podCIDR via its InternalIP; an httpd pod pinned to each node (nodeName, nodeSelector);
# a pod on node-1 reaches the pod on node-2 by pod IP (a client pod, and nc from the first
# pod's own netns), and back; a ClusterIP backed by both pods answers from both, through each
# node's proxy (in its agent, its own pin root), and a NodePort from the host does too. The agents joined with a bootstrap token (CSRs approved, their
# certificates system:node:NAME); a bad token fails the join. A Node made by hand gets a route
# on every node, gone when it is deleted. A second up on the same dir is refused; down
# refuses a state file that is not ours. `drover down` leaves no process, network namespace
# (nodes', fabric's, pods'), host link, cgroup, mount or client credentials dir (each
# checked); a second down has
# nothing to do. Then `drover up` SIGKILLed halfway (its server SIGKILLed too) and `drover
# down` cleans up the same way; and `drover up` interrupted by SIGINT tears down by itself.
# Everything is removed on exit, also on failure.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${DROVER_SOURCE_DIR:-$HERE/../../..}
BIN=${DROVER_BIN:-$SRC/build/userspace/cli}/drover
[ -x "$BIN" ] || { echo "no drover binary at $BIN" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "up.sh: needs root (namespaces, cgroups)" >&2; exit 1; }
command -v kubectl >/dev/null || { echo "up.sh: no kubectl" >&2; exit 1; }

WORK=$(mktemp -d /tmp/drvup-e2e.XXXXXX)
C1=$WORK/c1
C2=$WORK/c2
C3=$WORK/c3
IDS=''
AGAIN=''
FAILS=0
export HOME=$WORK/home
mkdir -p "$HOME"

# the cluster ID `drover up` printed ("cluster N: ...") or recorded
cluster_id() { sed -n 's/^cluster \([0-9]*\): .*/\1/p' "$1" | head -1; }

cleanup() {
	local d id n
	[ -n "$AGAIN" ] && kill -KILL "$AGAIN" 2>/dev/null
	for d in "$C1" "$C2" "$C3"; do
		[ -f "$d/up.state" ] && "$BIN" down --dir "$d" >/dev/null 2>&1
	done
	# pods' namespaces (recorded before down) that a failing down left
	for n in $(cat "$WORK"/sandboxes.* 2>/dev/null); do
		[ -e "/run/netns/drv-$n" ] && ip netns del "drv-$n" 2>/dev/null
	done
	# whatever down could not remove (a failing test must not leak either)
	for id in $IDS; do
		for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^drover-up$id-"); do
			ip netns pids "$n" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
			ip netns del "$n" 2>/dev/null
		done
		ip link del "drvup$id" 2>/dev/null
	done
	grep -F "$WORK" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		while read -r m; do umount -l "$m"; done
	if [ -n "${DROVER_E2E_KEEP:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

fail() {
	FAILS=$((FAILS + 1))
	echo "FAIL: $*" >&2
}
ok() { echo "ok: $*"; }
# wait_for DESC CMD...: poll CMD (its output in $OUT) until it succeeds, 120 s at most
wait_for() {
	local desc=$1 end=$((SECONDS + 120))
	shift
	while [ $SECONDS -lt $end ]; do
		OUT=$("$@" 2>&1) && return 0
		sleep 0.2
	done
	fail "$desc (last: $OUT)"
	return 1
}
k() { kubectl "$@"; }
jp() { k get "$1" "$2" -o "jsonpath=$3"; }

# ---- bad flags: exit 2 and one line ----
for args in "up" "up --nodes" "up --nodes 0" "up --nodes 51" "up --nodes x" "up --nodes 2 --bogus" \
	"up --nodes 2 extra" "up --nodes 2 --image-root $WORK/nosuch" "up --nodes 2 --timeout 0" \
	"up --nodes 2 --dir=" "up --nodes 2 --cluster-cidr bogus" "up --nodes 2 --cluster-cidr 10.244.0.0/33" \
	"down --bogus" "down extra" "down --dir"; do
	# shellcheck disable=SC2086 # the words are the flags
	"$BIN" $args >"$WORK/o" 2>"$WORK/e"
	rc=$?
	if [ $rc -ne 2 ] || [ "$(wc -l <"$WORK/e")" -ne 1 ]; then
		fail "drover $args: exit $rc, stderr: $(cat "$WORK/e")"
	fi
done
[ $FAILS -eq 0 ] && ok "bad flags exit 2 with one line"
# a state file that is not ours: down refuses it (exit 1, one line) and removes nothing
mkdir -p "$WORK/bogus"
echo "cluster 1 2" >"$WORK/bogus/up.state"
"$BIN" down --dir "$WORK/bogus" >"$WORK/o" 2>"$WORK/e"
rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <"$WORK/e")" -eq 1 ] && [ -e "$WORK/bogus/up.state" ] &&
	ok "down refuses a state file that is not drover up's: $(cat "$WORK/e")" ||
	fail "down of a bogus state: exit $rc: $(cat "$WORK/e")"

"$SRC/scripts/lib/busybox-image.sh" --out "$WORK/bb" --root "$WORK/images" --drover "$BIN" \
	>"$WORK/image.log" 2>&1 || { cat "$WORK/image.log"; exit 1; }

# everything a cluster ID names, for the leak checks after down
leftovers() { # ID DIR STATE-COPY
	local id=$1 dir=$2 st=$3 p start what
	ip netns list | awk '{print $1}' | grep "^drover-up$id-" | sed 's/^/netns /'
	ip link show "drvup$id" >/dev/null 2>&1 && echo "link drvup$id"
	while read -r _ p start what; do
		# its client's credentials dir (kclient's, which a SIGKILLed process cannot remove)
		ls -d "${TMPDIR:-/tmp}/drover-kclient-$p-"* "$dir/tmp/drover-kclient-$p-"* 2>/dev/null |
			sed "s/^/client dir ($what) /"
		[ -r "/proc/$p/stat" ] || continue
		# the same process (not a reused pid; field 22 is the start time), not a zombie
		# (dead, waiting for whoever it was re-parented to)
		sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk -v s="$start" '$1 != "Z" && $20 == s {f=1} END {exit !f}' &&
			echo "process $p ($what)"
	done < <(grep '^pid ' "$st")
	for h in /sys/fs/cgroup /sys/fs/cgroup/*/; do
		[ -d "$h/drover-up$id" ] && echo "cgroup $h/drover-up$id"
	done
	grep -F " $dir/" /proc/self/mountinfo | awk '{print "mount " $5}'
	for n in $(cat "$st.sandboxes"); do
		[ -e "/run/netns/drv-$n" ] && echo "pod netns drv-$n"
	done
	[ -e "$dir/up.state" ] && echo "state file"
	# each node's service proxy: pins, and its socket LB on the cluster's cgroup subtree
	ls -d /sys/fs/bpf/drover-up"$id"-node-* 2>/dev/null | sed 's/^/pin root /'
	return 0
}

# ---- up ----
"$BIN" up --nodes 2 --dir "$C1" --image-root "$WORK/images" --timeout 240 >"$WORK/up.out" 2>&1
rc=$?
ID=$(cluster_id "$WORK/up.out")
IDS="$IDS $ID"
[ $rc -eq 0 ] || { cat "$WORK/up.out"; fail "drover up: exit $rc"; exit 1; }
grep -qx "export KUBECONFIG=$C1/kubeconfig" "$WORK/up.out" && ok "up prints the export line" ||
	fail "no export line: $(cat "$WORK/up.out")"
grep -q "^nodes: 2/2 registered, 2/2 Ready$" "$WORK/up.out" && ok "up shows progress" ||
	fail "no progress line"
export KUBECONFIG=$C1/kubeconfig
cp "$C1/up.state" "$WORK/state1"

ready() { [ "$(jp node "$1" '{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
ready node-1 && ready node-2 && ok "kubectl: node-1 and node-2 Ready" || fail "nodes not Ready"
[ "$(k get nodes -o name | wc -l)" = 2 ] || fail "not 2 nodes: $(k get nodes -o name)"
CIDR1=$(jp node node-1 '{.spec.podCIDR}')
CIDR2=$(jp node node-2 '{.spec.podCIDR}')
IP1=$(jp node node-1 '{.status.addresses[?(@.type=="InternalIP")].address}')
IP2=$(jp node node-2 '{.status.addresses[?(@.type=="InternalIP")].address}')
case "$CIDR1 $CIDR2" in
10.244.*.0/24\ 10.244.*.0/24) [ "$CIDR1" != "$CIDR2" ] && ok "podCIDRs $CIDR1, $CIDR2" ;;
*) fail "podCIDRs '$CIDR1' '$CIDR2'" ;;
esac
[ "$IP1" = "198.19.$ID.11" ] && [ "$IP2" = "198.19.$ID.12" ] || fail "InternalIPs $IP1 $IP2"
# the direct routes, each node to the other's podCIDR
hasroute() { ip -n "drover-up$ID-$1" route show "$2" | grep -q "via $3 "; }
wait_for "node-1 routes $CIDR2 via $IP2" hasroute node-1 "$CIDR2" "$IP2" &&
	wait_for "node-2 routes $CIDR1 via $IP1" hasroute node-2 "$CIDR1" "$IP1" &&
	ok "routes: node-1 -> $CIDR2 via $IP2, node-2 -> $CIDR1 via $IP1"
ip -n "drover-up$ID-node-1" route show default | grep -q . && fail "node-1 has a default route"

# ---- the agents joined with a bootstrap token: own certificates, not the admin's ----
for n in node-1 node-2; do
	SUBJ=$(sed -n 's/^ *client-certificate-data: //p' "$C1/nodes/$n/kubeconfig" | base64 -d |
		openssl x509 -noout -subject 2>&1)
	case $SUBJ in *"O = system:nodes, CN = system:node:$n") ;; *) fail "$n's certificate: $SUBJ" ;; esac
	grep -q "bootstrap: CertificateSigningRequest node-csr-$n-" "$C1/logs/$n.log" ||
		fail "$n did not post a CSR"
done
ISSUED=$(k get csr -o jsonpath='{range .items[*]}{.spec.username}{" "}{.status.conditions[*].type}{"\n"}{end}' |
	grep -c '^system:bootstrap:[a-z0-9]* Approved$')
[ "$ISSUED" = 2 ] && [ $FAILS -eq 0 ] &&
	ok "both agents joined by bootstrap token: CSRs approved, certificates system:node:NAME" ||
	fail "CSRs approved from bootstrap tokens: $ISSUED"

# ---- a Node's route follows the Node: one made by hand gets a route on every node, and
# loses it when deleted ----
k apply -f - >/dev/null <<YAML || fail "create node fake"
apiVersion: v1
kind: Node
metadata: {name: fake}
spec: {podCIDR: 10.244.250.0/24, podCIDRs: [10.244.250.0/24]}
YAML
k patch node fake --subresource=status --type=merge \
	-p "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"198.19.$ID.99\"}]}}" >/dev/null ||
	fail "patch node fake's status"
wait_for "node-1 routes fake's podCIDR" hasroute node-1 10.244.250.0/24 "198.19.$ID.99" &&
	wait_for "node-2 routes fake's podCIDR" hasroute node-2 10.244.250.0/24 "198.19.$ID.99" &&
	ok "a new Node: node-1 and node-2 route 10.244.250.0/24 via 198.19.$ID.99"
k delete node fake >/dev/null
noroute() { ! ip -n "drover-up$ID-$1" route show "$2" | grep -q .; }
wait_for "node-1's route to fake removed" noroute node-1 10.244.250.0/24 &&
	wait_for "node-2's route to fake removed" noroute node-2 10.244.250.0/24 &&
	ok "the Node deleted: its route gone from node-1 and node-2"
hasroute node-1 "$CIDR2" "$IP2" || fail "node-1 lost its route to node-2"

# ---- a join with a bad bootstrap token fails with a message and writes nothing ----
sed 's/^\( *token: \).*/\1abcdef.0123456789abcdef/' "$C1/bootstrap/kubeconfig" >"$WORK/badboot"
timeout 60 ip netns exec "drover-up$ID-node-1" "$BIN" agent --node badjoin --kubeconfig "$WORK/badjoin.kc" \
	--bootstrap-kubeconfig "$WORK/badboot" --root "$WORK/badjoin" >"$WORK/badjoin.log" 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && [ ! -e "$WORK/badjoin.kc" ] &&
	grep -q "bootstrap: create CertificateSigningRequest" "$WORK/badjoin.log" &&
	ok "a bad bootstrap token: exit $rc, $(grep -o 'CertificateSigningRequest: .*' "$WORK/badjoin.log")" ||
	fail "bad bootstrap token: exit $rc, $(cat "$WORK/badjoin.log")"
k get node badjoin >/dev/null 2>&1 && fail "node badjoin registered"

# ---- a second up on the same dir: refused, the cluster untouched ----
"$BIN" up --nodes 1 --dir "$C1" >"$WORK/o" 2>"$WORK/e"
rc=$?
[ $rc -eq 1 ] && grep -q "holds a cluster already" "$WORK/e" && ok "up on a used dir refused" ||
	fail "second up: exit $rc: $(cat "$WORK/e")"
ready node-1 || fail "the cluster suffered from the refused up"

# ---- pods on each node, across nodes ----
cat >"$WORK/pods.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: web-a}
spec:
  nodeName: node-1
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: busybox
    command: ["sh", "-c", "mkdir /www && echo hello-from-a > /www/index.html && exec httpd -f -p 8080 -h /www"]
---
apiVersion: v1
kind: Pod
metadata: {name: web-b}
spec:
  nodeSelector: {kubernetes.io/hostname: node-2}
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: busybox
    command: ["sh", "-c", "mkdir /www && echo hello-from-b > /www/index.html && exec httpd -f -p 8080 -h /www"]
YAML
k apply -f "$WORK/pods.yaml" >/dev/null || fail "apply pods"
running() { [ "$(jp pod "$1" '{.status.phase}')" = Running ] && [ -n "$(jp pod "$1" '{.status.podIP}')" ]; }
wait_for "web-a Running" running web-a
wait_for "web-b Running" running web-b
PA=$(jp pod web-a '{.status.podIP}')
PB=$(jp pod web-b '{.status.podIP}')
[ "$(jp pod web-a '{.spec.nodeName}')" = node-1 ] && [ "$(jp pod web-b '{.spec.nodeName}')" = node-2 ] &&
	ok "web-a on node-1 ($PA), web-b on node-2 ($PB)" || fail "pods not on their nodes"
case $PA in "${CIDR1%.0/24}".*) ;; *) fail "web-a's IP $PA not in $CIDR1" ;; esac
case $PB in "${CIDR2%.0/24}".*) ;; *) fail "web-b's IP $PB not in $CIDR2" ;; esac

cat >"$WORK/client.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeName: node-1
  restartPolicy: Never
  containers:
  # nc, not wget: the image's static busybox wget crashes in glibc's resolver setup (NSS)
  - name: c
    image: busybox
    command: ["sh", "-c", "printf 'GET / HTTP/1.0\\\\r\\\\n\\\\r\\\\n' | nc -w 5 $PB 8080"]
YAML
k apply -f "$WORK/client.yaml" >/dev/null
phase_done() { case $(jp pod client '{.status.phase}') in Succeeded | Failed) return 0 ;; esac; return 1; }
wait_for "client finished" phase_done
LOG=$(cat "$C1"/nodes/node-1/pods/default_client_*/c/0.log 2>/dev/null)
[ "$(jp pod client '{.status.phase}')" = Succeeded ] && grep -q hello-from-b <<<"$LOG" &&
	ok "a pod on node-1 reaches web-b on node-2 by pod IP" ||
	fail "client on node-1 -> $PB: phase $(jp pod client '{.status.phase}'), log: $LOG"
# from inside web-a's own network namespace, both ways
UA=$(jp pod web-a '{.metadata.uid}')
UB=$(jp pod web-b '{.metadata.uid}')
get() { printf 'GET / HTTP/1.0\r\n\r\n' | nsenter --net="/run/netns/drv-$1" busybox nc -w 5 "$2" 8080; }
wait_for "web-a's netns -> web-b" get "$UA" "$PB" && grep -q hello-from-b <<<"$OUT" &&
	ok "web-a's netns reaches web-b ($PB)" || fail "web-a -> web-b: $OUT"
wait_for "web-b's netns -> web-a" get "$UB" "$PA" && grep -q hello-from-a <<<"$OUT" &&
	ok "web-b's netns reaches web-a ($PA)" || fail "web-b -> web-a: $OUT"

# ---- Services: each node's proxy (inside its agent) serves a ClusterIP backed by pods on both
# nodes, from a pod's netns on node-1, and a NodePort from the host (outside the nodes) ----
k label pod web-a web-b app=web >/dev/null || fail "label pods"
cat >"$WORK/svc.yaml" <<'YAML'
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
  ports: [{port: 80, targetPort: 8080}]
YAML
k apply -f "$WORK/svc.yaml" >/dev/null || fail "apply services"
CIP=$(jp svc web '{.spec.clusterIP}')
NP=$(jp svc web-np '{.spec.ports[0].nodePort}')
# answers from both backends, from a pod on each node (its connect() through that node's
# socket LB)
for n in 1 2; do
	cat >"$WORK/cip$n.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: cip-$n}
spec:
  nodeName: node-$n
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "for i in \$(seq 30); do printf 'GET / HTTP/1.0\\\\r\\\\n\\\\r\\\\n' | nc -w 3 $CIP 80; done"]
YAML
	k apply -f "$WORK/cip$n.yaml" >/dev/null || fail "apply cip-$n"
done
cip_done() { case $(jp pod "$1" '{.status.phase}') in Succeeded | Failed) return 0 ;; esac; return 1; }
for n in 1 2; do
	wait_for "cip-$n finished" cip_done "cip-$n"
	LOG=$(cat "$C1"/nodes/node-$n/pods/default_cip-${n}_*/c/0.log 2>/dev/null)
	grep -q hello-from-a <<<"$LOG" && grep -q hello-from-b <<<"$LOG" &&
		ok "a pod on node-$n reaches the ClusterIP $CIP backed by pods on node-1 and node-2 ($(grep -c hello-from-a <<<"$LOG") a, $(grep -c hello-from-b <<<"$LOG") b)" ||
		fail "ClusterIP from node-$n: $(tail -3 <<<"$LOG")"
done
N1=$(jp node node-1 '{.status.addresses[?(@.type=="InternalIP")].address}')
np() {
	local seen="" i
	for i in $(seq 40); do
		seen="$seen $(printf 'GET / HTTP/1.0\r\n\r\n' | busybox nc -w 3 "$N1" "$NP" 2>/dev/null | grep -o 'hello-from-[ab]')"
		case $seen in *hello-from-a*hello-from-b* | *hello-from-b*hello-from-a*) OUT=$seen; return 0 ;; esac
	done
	OUT=$seen
	return 1
}
wait_for "NodePort $N1:$NP from the host" np &&
	ok "NodePort $N1:$NP from the host reaches pods on both nodes" || fail "NodePort: $OUT"
[ -d "/sys/fs/bpf/drover-up$ID-node-1" ] && [ -d "/sys/fs/bpf/drover-up$ID-node-2" ] &&
	ok "each node's proxy has its own pin root" || fail "no per-node pin roots"

# ---- an agent restarted over its kubeconfig keeps its certificate: no second CSR ----
APID=$(awk '$4 == "agent-node-1" {print $2}' "$C1/up.state")
mapfile -d '' ARGS <"/proc/$APID/cmdline"
kill -KILL "$APID"
TMPDIR=$C1/tmp nsenter --net="/run/netns/drover-up$ID-node-1" "$BIN" "${ARGS[@]:1}" >>"$WORK/agent1-again.log" 2>&1 &
AGAIN=$!
node1_renewed() {
	grep -q "node node-1 exists" "$WORK/agent1-again.log" && ready node-1
}
wait_for "node-1's agent back" node1_renewed
! grep -q "bootstrap:" "$WORK/agent1-again.log" &&
	[ "$(k get csr -o name | wc -l)" = 2 ] &&
	ok "agent restarted: its certificate reused (no CSR), node-1 Ready" ||
	fail "agent restart: $(grep bootstrap: "$WORK/agent1-again.log"), $(k get csr -o name | wc -l) CSRs"
# down knows the pids up recorded: this one is the test's own
kill -KILL "$AGAIN"
wait "$AGAIN" 2>/dev/null

# ---- down: nothing left ----
cp "$C1/up.state" "$WORK/state1"
# the pods' sandboxes the agents recorded (root/sandboxes/<uid> <-> /run/netns/drv-<uid>)
find "$C1"/nodes/*/sandboxes -mindepth 1 -printf "%f\n" >"$WORK/state1.sandboxes"
grep -q "$UA" "$WORK/state1.sandboxes" || fail "web-a's sandbox not recorded"
cp "$WORK/state1.sandboxes" "$WORK/sandboxes.1"
"$BIN" down --dir "$C1" >"$WORK/down.out" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "down: $(cat "$WORK/down.out")" || fail "down: exit $rc: $(cat "$WORK/down.out")"
[ -e "/run/netns/drv-$UA" ] && fail "web-a's netns left"
LEFT=$(leftovers "$ID" "$C1" "$WORK/state1")
[ -z "$LEFT" ] && ok "after down: no process, netns, link, cgroup, mount or state left" ||
	fail "left after down: $LEFT"
[ -d "$C1/logs" ] || fail "down removed the logs"
"$BIN" down --dir "$C1" >"$WORK/o" 2>&1 && grep -q "nothing to do" "$WORK/o" &&
	ok "a second down has nothing to do" || fail "second down: $(cat "$WORK/o")"

# ---- up SIGKILLed halfway (and its server), then down ----
"$BIN" up --nodes 2 --dir "$C2" --image-root "$WORK/images" >"$WORK/up2.out" 2>&1 &
UP=$!
agents_started() { [ "$(grep -c '^pid .* agent-' "$C2/up.state" 2>/dev/null)" = 2 ]; }
wait_for "the second up started its agents" agents_started
kill -KILL "$UP"
wait "$UP" 2>/dev/null
ID2=$(sed -n 's/^cluster \([0-9]*\) .*/\1/p' "$C2/up.state")
IDS="$IDS $ID2"
grep -q "^ready" "$WORK/up2.out" && echo "note: the second up was Ready before the kill"
SPID=$(awk '$4 == "server" {print $2}' "$C2/up.state")
kill -KILL "$SPID" 2>/dev/null
cp "$C2/up.state" "$WORK/state2"
find "$C2"/nodes/*/sandboxes -mindepth 1 -printf "%f\n" >"$WORK/state2.sandboxes" 2>/dev/null
[ -n "$(ip netns list | grep "^drover-up$ID2-node-2")" ] || fail "the killed up made no node-2 netns"
"$BIN" down --dir "$C2" >"$WORK/down2.out" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "down after SIGKILL: $(cat "$WORK/down2.out")" ||
	fail "down after SIGKILL: exit $rc: $(cat "$WORK/down2.out")"
LEFT=$(leftovers "$ID2" "$C2" "$WORK/state2")
[ -z "$LEFT" ] && ok "after a SIGKILLed up and down: nothing left" ||
	fail "left after the SIGKILLed up's down: $LEFT"

# ---- up interrupted (SIGINT) while its agents come up: it tears down what it made ----
"$BIN" up --nodes 2 --dir "$C3" --image-root "$WORK/images" >"$WORK/up3.out" 2>&1 &
UP=$!
agents3() { [ "$(grep -c '^pid .* agent-' "$C3/up.state" 2>/dev/null)" = 2 ]; }
wait_for "the third up started its agents" agents3
ID3=$(sed -n 's/^cluster \([0-9]*\) .*/\1/p' "$C3/up.state")
IDS="$IDS $ID3"
cp "$C3/up.state" "$WORK/state3"
: >"$WORK/state3.sandboxes"
kill -INT "$UP"
wait "$UP"
rc=$?
LEFT=$(leftovers "$ID3" "$C3" "$WORK/state3")
[ $rc -eq 1 ] && grep -q "tearing down" "$WORK/up3.out" && [ -z "$LEFT" ] &&
	ok "up interrupted by SIGINT: exit 1, torn down, nothing left" ||
	fail "up after SIGINT: exit $rc, left: $LEFT; $(tail -3 "$WORK/up3.out")"

if [ $FAILS -ne 0 ]; then
	for f in "$C1"/logs/*.log; do
		[ -e "$f" ] || continue
		echo "--- $f" >&2
		tail -15 "$f" >&2
	done
	echo "up.sh: $FAILS check(s) failed" >&2
	exit 1
fi
echo "up.sh: all checks passed"
