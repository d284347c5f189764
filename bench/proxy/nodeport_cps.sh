#!/usr/bin/env bash
# bench/proxy/nodeport_cps.sh [--secs N] [--conns C] [--modes LIST]: NodePort new connections
# per second from an external namespace, one client, one backend, every request on a
# connection of its own (wrk -H 'Connection: close': the backend closes, its side keeps
# TIME_WAIT), in one run:
#
#   direct    the client straight to the backend pod, routed by the node (the floor)
#   iptables  kube-proxy's NodePort path: DNAT + MASQUERADE --random-fully in the node
#   drover    drover proxy, XDP (generic, veth) on the node's external device
#
# More connections than a masquerade range has ports go through in a few seconds, so the
# figure shows whether closed flows give their ports back. Each mode gets a fresh topology
# (scripts/lib/topo.sh, tag nc); everything is removed at exit. Prints one line per mode:
# requests/s, wrk's socket errors, and for drover the drop:nat-exhausted count.
# DROVER=<binary> measures another build (an older one, for a before/after figure);
# PROXY_ARGS adds options to drover proxy (--snat-ports 61000-65000: a small range, reused
# within seconds), IPT_MASQ_ARGS to the MASQUERADE rule (--to-ports 61000-65000: the same
# range for Linux NAT); BENCH_DEBUG=1 prints wrk's output, the counters and TCP statistics.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
# shellcheck source=../../scripts/lib/topo.sh
source "$TOP/scripts/lib/topo.sh"

SECS=5 CONNS=32 THREADS=2 MODES="direct iptables drover"
while [ $# -gt 0 ]; do
	case $1 in
	--secs) SECS=$2; shift ;;
	--conns) CONNS=$2; shift ;;
	--modes) MODES=${2//,/ }; shift ;;
	-h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "nodeport_cps: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" -eq 0 ] || { echo "nodeport_cps: must run as root" >&2; exit 1; }
for tool in wrk iptables curl; do
	command -v "$tool" >/dev/null || { echo "nodeport_cps: $tool missing" >&2; exit 1; }
done

NODE_IP=192.168.100.1 NP=30080 BE=10.244.1.11

world() {
	topo_init nc
	topo_node
	topo_pod b1 11
	topo_backend b1 backend-1
	topo_external
	in_node ping -c1 -W1 "$BE" >/dev/null
}

manifests() {
	local d=$1
	cat >"$d/svc.yaml" <<YAML
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: NodePort
  clusterIP: 10.96.0.10
  ports:
  - {name: http, port: 80, targetPort: 8080, nodePort: $NP}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-slice
  namespace: default
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- {addresses: [$BE], nodeName: node1, conditions: {ready: true, serving: true, terminating: false}}
YAML
}

run_mode() {
	local mode=$1 url out rps errs extra="" tmp
	world
	case $mode in
	direct)
		in_pod_nolb ext ip route add 10.244.1.0/24 via "$NODE_IP"
		url=http://$BE:8080/
		;;
	iptables)
		in_node iptables -t nat -A PREROUTING -d "$NODE_IP" -p tcp --dport "$NP" \
			-j DNAT --to-destination "$BE:8080"
		# shellcheck disable=SC2086 # IPT_MASQ_ARGS: extra words for the rule
		in_node iptables -t nat -A POSTROUTING -d "$BE" -p tcp --dport 8080 \
			-j MASQUERADE --random-fully ${IPT_MASQ_ARGS:-}
		url=http://$NODE_IP:$NP/
		;;
	drover)
		tmp=$(mktemp -d /tmp/drover-nc-XXXXXX)
		# shellcheck disable=SC2034 # read by topo_cleanup
		TOPO_EXTRA_CLEANUP="rm -rf $tmp" # topo_cleanup runs it
		manifests "$tmp"
		# shellcheck disable=SC2086 # PROXY_ARGS: extra words for drover proxy
		topo_proxy --manifests "$tmp" --node node1 --device "$(topo_ext_dev)" ${PROXY_ARGS:-}
		url=http://$NODE_IP:$NP/
		;;
	*) echo "nodeport_cps: unknown mode $mode" >&2; return 1 ;;
	esac
	for _ in $(seq 1 100); do
		in_pod_nolb ext curl -s --max-time 2 -o /dev/null "$url" && break
		sleep 0.1
	done
	out=$(in_pod_nolb ext wrk -t "$THREADS" -c "$CONNS" -d "${SECS}s" -H 'Connection: close' "$url")
	rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	errs=$(awk '/Socket errors/ {print $3 $4 $5 $6 $7 $8 $9}' <<<"$out")
	# max latency: a SYN the node dropped shows as a 1 s retransmission
	extra=" latency-max=$(awk '$1 == "Latency" {print $4}' <<<"$out")"
	if [ "$mode" = drover ]; then
		extra+=" ports=$(grep -o 'masquerade source ports [0-9-]*' "$TOPO_LOG" | awk '{print $4}' || true)"
		extra+=" nat-exhausted=$(stat_sum xdp drop:nat-exhausted)"
	fi
	if [ "${BENCH_DEBUG:-0}" = 1 ]; then
		echo "$out" >&2
		[ "$mode" != drover ] || drover_bpf stats >&2
		in_pod_nolb b1 ss -tan state time-wait | wc -l >&2
		in_pod_nolb ext nstat -az TcpRetransSegs TcpExtTCPTimeouts TcpActiveOpens TcpAttemptFails TcpExtTW TcpExtTWRecycled TcpExtPAWSActive TcpExtTCPChallengeACK TcpOutRsts TcpInErrs >&2 || true
		in_pod_nolb b1 nstat -az TcpExtTW TcpExtTWRecycled TcpExtPAWSEstab TcpExtTCPChallengeACK TcpOutRsts TcpExtTCPTimeWaitOverflow TcpExtListenDrops TcpExtListenOverflows TcpPassiveOpens >&2 || true
	fi
	printf '%-9s %10s req/s  %d requests  socket-errors=%s%s\n' "$mode" "${rps:-?}" \
		"$(awk '/requests in/ {print $1}' <<<"$out")" "${errs:-none}" "$extra"
	topo_cleanup quiet
}

topo_find_bins
for m in $MODES; do run_mode "$m"; done
