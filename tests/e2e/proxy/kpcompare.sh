#!/usr/bin/env bash
# The kube-proxy comparison suite (issue 11, "Proof"). One topology, one manifest directory,
# one client program (kpclient.py); every case below runs twice: once through `drover proxy`
# and once through kube-proxy's own iptables rules for the same manifests (kprules.py, after
# pkg/proxy/iptables/proxier.go) with drover not running. The outcomes — which backend
# answered and the address it saw, the errno the client got, a held connection kept or
# reset — are compared case by case:
#   - the kube-proxy outcome must be the one the table names (the reference is checked too:
#     a case where both proxies fail alike proves nothing);
#   - drover's must equal kube-proxy's, unless the case carries a mark:
#       "#N"     a known drover defect, issue 11 item N, being fixed; the mark names the
#                outcome drover shows today. When drover starts to match, the suite fails
#                and says to remove the mark (so marks cannot outlive their defect).
#       "design" a difference on purpose; WHY[case] says why.
# Differences by mechanism that the client cannot see are no differences: the socket LB
# refuses at connect() where kube-proxy REJECTs with ICMP — ECONNREFUSED both ways.
#
# iptables state lives only in this test's node namespace (every iptables/conntrack command
# runs under `ip netns exec`); topo_cleanup (on EXIT, also on failure) deletes the namespaces
# and with them the rules.
source "$(dirname "$0")/common.sh"
for tool in iptables-nft-restore conntrack python3; do
	command -v "$tool" >/dev/null || fail "$tool missing: run scripts/deps.sh"
done
python3 -c 'import yaml' 2>/dev/null || fail "python3-yaml missing: run scripts/deps.sh"
TOPO_HTTPD_ARGS=--echo-client
e2e_world kc
# b4 and b5 serve only the services whose endpoints the change phase removes or makes
# terminating: a pod that leaves a slice in a rollout is in no other service.
for i in 4 5; do
	topo_pod "b$i" "1$i"
	topo_backend "b$i" "backend-$i"
done
e2e_tmp
# No ICMP rate limit on the node: kube-proxy's REJECTs are ICMP errors, a dozen of them to one
# client in a second is this test's doing, not a client's view worth comparing.
in_node sysctl -qw net.ipv4.icmp_ratelimit=0
m=$E2E_TMP/manifests
res=$E2E_TMP/results
mkdir -p "$m" "$res"
node_ns=$(topo_ns node)
# A node has a default route: traffic no rule takes leaves towards the outside (here the
# external host, which does not forward), instead of failing at the node's routing.
in_node ip route add default via 192.168.100.2
# The external host reaches ClusterIPs and the LoadBalancer IP through the node (a router
# in front of it), from two addresses (in and out of loadBalancerSourceRanges).
in_pod_nolb ext ip route add 10.96.0.0/16 via 192.168.100.1
in_pod_nolb ext ip route add 203.0.113.10/32 via 192.168.100.1
in_pod_nolb ext ip addr add 192.168.100.3/24 dev eth0
# A pod reaches the LoadBalancer IP through its node too (outside loadBalancerSourceRanges).
in_pod_nolb c1 ip route add 203.0.113.10/32 via 10.244.1.1
# c1 runs both clients, one in the socket LB's cgroup and one outside it (the tc path), at
# once, in one port space: a socket-LB connection straight to a backend from the source
# port of a tc-translated flow to that backend would be taken for that flow's reply and
# translated back (a pod's processes are normally all in the cgroup). The tc client binds
# its ports from a range of its own.
in_pod_nolb c1 sysctl -qw net.ipv4.ip_local_port_range="32768 49999"

# ---------- manifests ----------
# b1 and b2 run on this node (node1), b3 on node2 (as every slice says).
NODEPORT=30080 UDP_NODEPORT=30053 write_service "$m/web.yaml" web 10.96.0.10 "type: NodePort"
write_slice "$m/web-eps.yaml" web 10.244.1.11 10.244.1.12 10.244.1.13:node2
NODEPORT=30081 UDP_NODEPORT=30051 write_service "$m/empty.yaml" empty 10.96.0.11 "type: NodePort"
NODEPORT=30082 write_service "$m/local.yaml" local 10.96.0.12 "type: NodePort" "externalTrafficPolicy: Local"
write_slice "$m/local-eps.yaml" local 10.244.1.11:node1 10.244.1.13:node2
NODEPORT=30083 write_service "$m/away.yaml" away 10.96.0.13 "type: NodePort" "externalTrafficPolicy: Local"
write_slice "$m/away-eps.yaml" away 10.244.1.13:node2
NODEPORT=30084 write_service "$m/sticky.yaml" sticky 10.96.0.14 "type: NodePort" "sessionAffinity: ClientIP"
write_slice "$m/sticky-eps.yaml" sticky 10.244.1.11 10.244.1.12 10.244.1.13:node2
NODEPORT=30085 write_service "$m/term.yaml" term 10.96.0.15 "type: NodePort"
write_slice "$m/term-eps.yaml" term 10.244.1.11 10.244.1.12:node1:terminating 10.244.1.13:node2:terminating
NODEPORT=30086 write_service "$m/termonly.yaml" termonly 10.96.0.16 "type: NodePort"
write_slice "$m/termonly-eps.yaml" termonly 10.244.1.12:node1:terminating 10.244.1.13:node2:terminating
write_lb_service "$m/lbsr.yaml" lbsr 10.96.0.17 30087 203.0.113.10 "loadBalancerSourceRanges: [192.168.100.2/32]"
write_slice "$m/lbsr-eps.yaml" lbsr 10.244.1.11 10.244.1.12
# itplocal: internalTrafficPolicy Local, its only endpoint (b3) on node2
write_service "$m/itplocal.yaml" itplocal 10.96.0.31 "internalTrafficPolicy: Local"
write_slice "$m/itplocal-eps.yaml" itplocal 10.244.1.13:node2
# hairpin: b1 alone, called by b1 itself
write_service "$m/hairpin.yaml" hairpin 10.96.0.30
write_slice "$m/hairpin-eps.yaml" hairpin 10.244.1.11
# drain / drainterm: one endpoint (b4 / b5) that the change phase removes / makes
# terminating (still serving), with b2 coming in
NODEPORT=30090 UDP_NODEPORT=30050 write_service "$m/drain.yaml" drain 10.96.0.20 "type: NodePort"
write_slice "$m/drain-eps.yaml" drain 10.244.1.14
NODEPORT=30091 write_service "$m/drainterm.yaml" drainterm 10.96.0.21 "type: NodePort"
write_slice "$m/drainterm-eps.yaml" drainterm 10.244.1.15
change_slices() {
	write_slice "$m/drain-eps.yaml" drain 10.244.1.12
	write_slice "$m/drainterm-eps.yaml" drainterm 10.244.1.15:node1:terminating 10.244.1.12
}
# the last phase: a nodePort outside the NodePort range (the node's SSH port)
badport_manifest() {
	cat >"$m/badport.yaml.tmp" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: badport, namespace: default}
spec:
  type: NodePort
  clusterIP: 10.96.0.22
  ports: [{name: http, port: 80, targetPort: web, nodePort: 22}]
YAML
	mv "$m/badport.yaml.tmp" "$m/badport.yaml"
	write_slice "$m/badport-eps.yaml" badport 10.244.1.11
}

# ---------- the case table ----------
# phase | case | client | kpclient arguments | kube-proxy's outcome | mark (- / #N drover-today / design drover)
# phases: static (nothing changes); change (held connections made, then change_slices
# applied, then the same connections used again); after (new connections once the change is
# in, and once badport_manifest has added a nodePort outside the range).
# clients: pod = c1 in the socket-LB cgroup; pod-tc = c1 outside it (drover's tc path);
# ext = the external host; b1-tc = backend b1 outside the socket-LB cgroup (calling its own
# service: hairpin); node = a process of the node (in the socket-LB cgroup, as host
# processes are when the proxy's cgroup is the root).
# Outcomes: bN<client / bN<node = backend N answered and saw the client's own address / a
# node address (masqueraded); errno names; "timeout" = nothing within --wait seconds (10; 2
# where a drop is expected): dropped.
CASES=$(
	cat <<'EOF'
static|clusterip-tcp|pod|spread tcp 10.96.0.10:80|b1<client,b2<client,b3<client|-
static|clusterip-tcp-tc|pod-tc|spread tcp 10.96.0.10:80|b1<client,b2<client,b3<client|-
static|clusterip-udp|pod|spread udp 10.96.0.10:53|b1,b2,b3|-
static|clusterip-udp-tc|pod-tc|spread udp 10.96.0.10:53|b1,b2,b3|-
static|clusterip-tcp-ext|ext|spread tcp 10.96.0.10:80|b1<node,b2<node,b3<node|design b1<client,b2<client,b3<node
static|nodeport-tcp-ext|ext|spread tcp 192.168.100.1:30080|b1<node,b2<node,b3<node|-
static|nodeport-udp-ext|ext|spread udp 192.168.100.1:30053|b1,b2,b3|-
static|nodeport-tcp-pod|pod|spread tcp 192.168.100.1:30080|b1<node,b2<node,b3<node|design b1<client,b2<client,b3<client
static|nodeport-tcp-pod-tc|pod-tc|spread tcp 192.168.100.1:30080|b1<node,b2<node,b3<node|-
static|noep-tcp|pod|spread tcp 10.96.0.11:80 -n 3|ECONNREFUSED|-
static|noep-tcp-tc|pod-tc|spread tcp 10.96.0.11:80 -n 3|ECONNREFUSED|-
static|noep-udp|pod|spread udp 10.96.0.11:53 -n 3|ECONNREFUSED|-
static|noep-udp-tc|pod-tc|spread udp 10.96.0.11:53 -n 3|ECONNREFUSED|-
static|noep-nodeport-ext|ext|spread tcp 192.168.100.1:30081 -n 3|ECONNREFUSED|-
static|noep-nodeport-udp-ext|ext|spread udp 192.168.100.1:30051 -n 3|ECONNREFUSED|-
static|etplocal-ext|ext|spread tcp 192.168.100.1:30082 -n 10|b1<client|-
static|etplocal-none-ext|ext|spread tcp 192.168.100.1:30083 -n 3 --wait 2|timeout|-
static|etplocal-none-pod|pod|spread tcp 192.168.100.1:30083 -n 5|b3<client|-
static|etplocal-none-pod-tc|pod-tc|spread tcp 192.168.100.1:30083 -n 5|b3<client|-
static|etplocal-none-node|node|spread tcp 192.168.100.1:30083 -n 5|b3<node|design b3<client
static|affinity-pod|pod|spread tcp 10.96.0.14:80 -n 20 --count|1|-
static|affinity-ext|ext|spread tcp 192.168.100.1:30084 -n 20 --count|1|-
static|terminating-pod|pod|spread tcp 10.96.0.15:80 -n 10|b1<client|-
static|terminating-ext|ext|spread tcp 192.168.100.1:30085 -n 10|b1<node|-
static|terminating-only-pod|pod|spread tcp 10.96.0.16:80|b2<client,b3<client|-
static|terminating-only-ext|ext|spread tcp 192.168.100.1:30086|b2<node,b3<node|-
static|lbsr-allowed|ext|spread tcp 203.0.113.10:80 --src 192.168.100.2|b1<node,b2<node|-
static|lbsr-denied|ext|spread tcp 203.0.113.10:80 --src 192.168.100.3 -n 3 --wait 2|timeout|-
static|lbsr-nodeport|ext|spread tcp 192.168.100.1:30087 --src 192.168.100.3|b1<node,b2<node|-
static|lbsr-denied-pod|pod|spread tcp 203.0.113.10:80 -n 3 --wait 2|timeout|-
static|lbsr-denied-pod-tc|pod-tc|spread tcp 203.0.113.10:80 -n 3 --wait 2|timeout|-
static|lbsr-denied-node|node|spread tcp 203.0.113.10:80 --wait 2|timeout|design b1<client,b2<client
static|udp-flow-pod|pod|flow 10.96.0.10:53 -n 20 --count|1|-
static|udp-flow-pod-tc|pod-tc|flow 10.96.0.10:53 -n 20 --count|1|-
static|udp-flow-ext|ext|flow 192.168.100.1:30053 -n 20 --count|1|-
static|nodeport-localhost|node|spread tcp 127.0.0.1:30080|b1<node,b2<node,b3<node|design b1<client,b2<client,b3<client
static|itplocal-none-pod|pod|spread tcp 10.96.0.31:80 -n 3 --wait 2|timeout|design ECONNREFUSED
static|itplocal-none-pod-tc|pod-tc|spread tcp 10.96.0.31:80 -n 3 --wait 2|timeout|-
static|hairpin-tc|b1-tc|spread tcp 10.96.0.30:80 -n 3 --src 10.244.1.11|b1<node|-
change|drain-tcp-pod|pod|hold tcp 10.96.0.20:80|b4<client -> b4<client|-
change|drain-tcp-pod-tc|pod-tc|hold tcp 10.96.0.20:80|b4<client -> b4<client|-
change|drain-tcp-ext|ext|hold tcp 192.168.100.1:30090|b4<node -> b4<node|-
change|drainterm-tcp-pod|pod|hold tcp 10.96.0.21:80|b5<client -> b5<client|-
change|drainterm-tcp-pod-tc|pod-tc|hold tcp 10.96.0.21:80|b5<client -> b5<client|-
change|drainterm-tcp-ext|ext|hold tcp 192.168.100.1:30091|b5<node -> b5<node|-
change|drain-udp-pod|pod|hold udp 10.96.0.20:53|b4 -> b2|-
change|drain-udp-pod-tc|pod-tc|hold udp 10.96.0.20:53|b4 -> b2|-
change|drain-udp-ext|ext|hold udp 192.168.100.1:30050|b4 -> b2|-
after|drain-new-pod|pod|spread tcp 10.96.0.20:80 -n 10|b2<client|-
after|drain-new-ext|ext|spread tcp 192.168.100.1:30090 -n 10|b2<node|-
after|drainterm-new-pod|pod|spread tcp 10.96.0.21:80 -n 10|b2<client|-
after|nodeport-out-of-range|ext|spread tcp 192.168.100.1:22 -n 3|b1<node|design ECONNREFUSED
EOF
)
declare -A WHY
WHY[clusterip-tcp-ext]="off-node traffic to a ClusterIP: drover source-NATs it only towards a backend on another node (whose reply must come back through this node); a backend on this node replies through it anyway and sees the client's address. kube-proxy masquerades all off-cluster traffic to ClusterIPs"
WHY[nodeport-tcp-pod]="the socket LB turns the pod's connect() to a NodePort into a connect() to the backend itself: no packet to the NodePort exists, so there is nothing to masquerade (as Cilium's socket LB); kube-proxy DNATs and masquerades the packets (the tc path, nodeport-tcp-pod-tc, does too)"
WHY[nodeport-localhost]="the node's connect() to 127.0.0.1:<nodePort> goes through the socket LB straight to the backend, from the node address its route gives: the backend sees the node's address either way (kube-proxy masquerades 127.0.0.1 to it), but drover's socket is bound to that address where kube-proxy's keeps 127.0.0.1, so the client calls it its own"
WHY[lbsr-denied-node]="the node's own connect() to a LoadBalancer IP outside its loadBalancerSourceRanges: kube-proxy's firewall chain drops the node's address; the socket LB cannot know a socket's source address at connect() and no tc program sees the node's own packets, so drover serves it (a pod's connection is left to its device's tc program, which drops it: lbsr-denied-pod)"
WHY[etplocal-none-node]="the socket LB turns the node process's connect() to the NodePort into a connect() to the backend on another node: the kernel gives the socket the source address of the route to the backend (a node address, 10.244.1.1), so the backend sees the socket's own address; kube-proxy's socket starts towards the NodePort (source 192.168.100.1) and its packets are masqueraded to a node address on the way out. Either way the backend sees this node and the reply comes back through it (traffic from outside is dropped, etplocal-none-ext)"
WHY[itplocal-none-pod]="internalTrafficPolicy Local with no endpoint on this node: kube-proxy drops the packets (the client waits out its timeout); the socket LB decides at connect(), where there is no packet to drop, and refuses it (ECONNREFUSED) instead of leaving the connection to hang; the tc path drops as kube-proxy does (itplocal-none-pod-tc)"
WHY[nodeport-out-of-range]="nodePort 22 is outside the NodePort range: the API server refuses such a Service (kube-apiserver --service-node-port-range), so kube-proxy, trusting it, would take the node's SSH port; drover reads manifests without an API server in front and refuses the reload as the API server would (issue 11 item 11)"
# Marked cases name the issue-11 item and the outcome drover shows today (filled in below
# from the runs); their reasons:
declare -A ITEM=(
	[1]="established TCP on the tc/XDP paths is reset when its endpoint is removed or becomes terminating"
	[2]="unconnected UDP through the socket LB picks a backend per datagram"
	[4]="a connected UDP socket whose backend is removed fails (ECONNABORTED/EDESTADDRREQ) instead of carrying on"
	[6]="externalTrafficPolicy Local without a local endpoint: outside traffic refused (not dropped), pod/node traffic not sent to cluster endpoints"
)

# ---------- running ----------
run_client() { # CLIENT ARGS...
	local who=$1
	shift
	case $who in
	pod) in_pod c1 python3 "$here/kpclient.py" "$@" ;;
	pod-tc) in_pod_nolb c1 env KPCLIENT_PORTS=50000-59999 python3 "$here/kpclient.py" "$@" ;;
	ext) in_pod_nolb ext python3 "$here/kpclient.py" "$@" ;;
	b1-tc) in_pod_nolb b1 python3 "$here/kpclient.py" "$@" ;;
	node) sh -c 'echo $$ > "$0/cgroup.procs" && ns=$1 && dir=$2 && shift 2 && exec nsenter --net="/run/netns/$ns" python3 "$dir/kpclient.py" "$@"' \
		"$TOPO_CG" "$node_ns" "$here" "$@" ;;
	esac
}

# run_phase MODE PHASE [CHANGE-FUNCTION]: every case of PHASE at once, one kpclient process
# per client (a thread per case); the hold cases make their first exchange, then
# CHANGE-FUNCTION applies the change, then they go on.
run_phase() {
	echo "[kc] $(date +%T.%N | cut -c1-12) $1: phase $2" >&2
	local mode=$1 phase=$2 change=${3:-} d=$res/$1 ph name who args want mark p f
	local pids=() holds=() extra
	mkdir -p "$d"
	rm -f "$d"/batch-*
	while IFS='|' read -r ph name who args want mark; do
		[ "$ph" = "$phase" ] || continue
		extra=
		if [[ $args == hold* ]]; then
			extra="--ready $d/$name.ready --go $d/go-$phase"
			holds+=("$d/$name.ready")
		fi
		echo "$name $args $extra" >>"$d/batch-$who"
	done <<<"$CASES"
	for who in pod pod-tc ext node b1-tc; do
		[ -f "$d/batch-$who" ] || continue
		run_client "$who" batch "$d/batch-$who" "$d" 2>"$d/batch-$who.err" &
		pids+=($!)
		TOPO_PIDS+=($!)
	done
	if [ -n "$change" ]; then
		for f in "${holds[@]}"; do
			while [ ! -e "$f" ]; do
				kill -0 "${pids[@]}" 2>/dev/null ||
					fail "$mode: a client ended before $(basename "$f" .ready) made its first exchange: $(cat "$d"/batch-*.err)"
				sleep 0.02
			done
		done
		"$change" "$mode"
		touch "$d/go-$phase"
	fi
	for p in "${pids[@]}"; do wait "$p" || true; done
}

# drover: the proxy with XDP on the external device, as a node runs it.
drover_change() {
	local syncs
	syncs=$(grep -c "proxy: sync:" "$TOPO_LOG")
	change_slices
	wait_log "proxy: sync:" $((syncs + 1))
}
drover_badport() {
	badport_manifest
	wait_log "nodePort: Invalid value: 22"
}
run_drover() {
	for i in 1 2 3 4 5; do in_node ping -c1 -W1 "10.244.1.1$i" >/dev/null; done
	topo_proxy --manifests "$m" --node node1 --device "$(topo_ext_dev)"
	run_phase drover static
	run_phase drover change drover_change
	drover_badport
	run_phase drover after
	topo_proxy_stop -TERM
	in_node "$DROVER" proxy uninstall --pin-root "$TOPO_PIN_ROOT" >/dev/null 2>&1 ||
		fail "drover proxy uninstall"
}

# kube-proxy: its rules for the same manifests, in the node namespace only (kp_sync).
kp_change() {
	change_slices
	kp_sync "$m" "$E2E_TMP"
}
kp_badport() {
	badport_manifest
	kp_sync "$m" "$E2E_TMP"
}
run_kube_proxy() {
	kp_sync "$m" "$E2E_TMP"
	run_phase kube-proxy static
	run_phase kube-proxy change kp_change
	kp_badport
	run_phase kube-proxy after
	ip netns exec "$node_ns" nft flush ruleset
}

# ---------- compare ----------
# the manifests as they were before the phases changed them, for the second mode
cp -r "$m" "$E2E_TMP/initial"
run_drover
rm -rf "$m"
cp -r "$E2E_TMP/initial" "$m"
run_kube_proxy

bad=0
printf '%-26s %-32s %-32s %s\n' CASE KUBE-PROXY DROVER VERDICT
while IFS='|' read -r ph name who args want mark; do
	kp=$(cat "$res/kube-proxy/$name.out" 2>/dev/null)
	dr=$(cat "$res/drover/$name.out" 2>/dev/null)
	[ -n "$kp" ] || kp="(no outcome)"
	[ -n "$dr" ] || dr="(no outcome)"
	verdict=same
	if [ "$kp" != "$want" ]; then
		verdict="FAIL: kube-proxy's rules gave '$kp', the table says '$want'"
	elif [ "$mark" = - ]; then
		[ "$dr" = "$kp" ] || verdict="FAIL: drover differs"
	else
		kind=${mark%% *}
		today=${mark#* }
		if [ "$dr" = "$kp" ]; then
			verdict="FAIL: drover now matches kube-proxy: remove the mark '$kind' of this case"
		elif [ "$dr" != "$today" ]; then
			verdict="FAIL: marked difference changed: drover gave '$dr', the mark says '$today'"
		elif [ "$kind" = design ]; then
			verdict="differs by design: ${WHY[$name]}"
		else
			verdict="known defect, issue 11 item ${kind#\#}: ${ITEM[${kind#\#}]}"
		fi
	fi
	printf '%-26s %-32s %-32s %s\n' "$name" "$kp" "$dr" "$verdict"
	if [[ $verdict == FAIL* ]]; then
		bad=$((bad + 1))
		echo "  client: $who kpclient.py $args; attempts:" >&2
		sed 's/^/    drover: /' "$res/drover/$name.log" >&2 || true
		sed 's/^/    kube-proxy: /' "$res/kube-proxy/$name.log" >&2 || true
	fi
done <<<"$CASES"
[ "$bad" -eq 0 ] || fail "$bad of $(wc -l <<<"$CASES") cases failed (see above)"
pass "kube-proxy comparison: $(wc -l <<<"$CASES") cases, drover and kube-proxy's rules agree but for the marked ones"
