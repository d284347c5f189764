#!/usr/bin/env bash
# Telemetry (telemetry.bpf.c) under segment loss: telemetry.sh's request mix (tl_client.py
# mix) from pod c1 to pod b1, with iptables in the pods' namespaces dropping every 3rd data
# segment each way on arrival (after the sender's egress program saw it, before the
# receiver's ingress program does) and the first SYN. Both sides retransmit; the receiver
# sees later segments before the lost one (the server writes a response's headers and body
# separately, the POST's body follows its headers), and repeats of bytes it had (a request
# resent because its answer was lost). The HTTP series must still be exact on both sides (no
# request counted twice, none lost), and the TCP series count retransmits each side and the
# client's SYN retransmit.
source "$(dirname "$0")/common.sh"
topo_init tll
TOPO_LOG=/tmp/drover-tll-proxy.log
rm -f "$TOPO_LOG"
topo_node
topo_pod c1 5
topo_pod b1 11
in_pod b1 python3 "$here/tl_server.py" 8080 &
TOPO_PIDS+=($!)
e2e_tmp
m=$E2E_TMP
write_service "$m/web.yaml" web 10.96.0.10
write_slice "$m/web-eps.yaml" web 10.244.1.11

topo_proxy --manifests "$m" --node node1
grep -q "telemetry attached" "$TOPO_LOG" || fail "telemetry not attached"
for o in 5 11; do
	bpftool map update pinned "$TOPO_PIN_ROOT/drv_ep1" key 10 244 1 "$o" \
		value hex 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 ||
		fail "register 10.244.1.$o in drv_ep1"
done
topo_wait_listen b1 || fail "backend does not listen"

# loss, on arrival in each pod: data segments (not SYN, IP length > 52: a payload) and the
# client's first SYN (the pods' namespaces go with the topology)
ipt() { ip netns exec "$(topo_ns "$1")" iptables-nft "${@:2}" || fail "iptables in $1"; }
data=(--tcp-flags SYN NONE -m length --length 53:65535 -m statistic --mode nth --every 3 --packet 0 -j DROP)
ipt b1 -t raw -A PREROUTING -p tcp --dport 8080 --syn -m statistic --mode nth --every 1000000 --packet 0 -j DROP
ipt b1 -t raw -A PREROUTING -p tcp --dport 8080 "${data[@]}"
ipt c1 -t raw -A PREROUTING -p tcp --sport 8080 "${data[@]}"

got=$(in_pod c1 python3 "$here/tl_client.py" mix 10.96.0.10 80) || fail "client: $got"
expect_eq "$got" "$(printf '200 %.0s' {1..21})201 $(printf '404 %.0s' {1..5})503 503 503" "client's answers"
sleep 0.5 # the last connections' ends
dropped() { ip netns exec "$(topo_ns "$1")" iptables-nft -t raw -L PREROUTING -v -x -n | awk '/DROP/ && !/flags:0x17\/0x02/ { s += $1 } END { print s + 0 }'; }
expect_ge "$(dropped b1)" 3 "request segments dropped"
expect_ge "$(dropped c1)" 3 "response segments dropped"
python3 "$here/tl_maps.py" "$TOPO_PIN_ROOT" 10.244.1.5 retrans >"$m/got" || fail "tl_maps.py"
cat >"$m/want" <<'W'
http client GET 200 svc requests=21
http client GET 404 svc requests=5
http client GET 503 svc requests=3
http client POST 201 svc requests=1
http server GET 200 nosvc requests=21
http server GET 404 nosvc requests=5
http server GET 503 nosvc requests=3
http server POST 201 nosvc requests=1
tcp client 8080 svc opened=17 closed=17 refused=0 reset=0 retransmits>0 syn_retransmits=1
tcp server 8080 nosvc opened=17 closed=17 refused=0 reset=0 retransmits>0 syn_retransmits=0
ctr tcp_overflow=0 http_overflow=0 events_lost=0 unparsed=0
W
sed -E 's/ buckets=.*//; s/ sent>0=[A-Za-z]+ rcvd>0=[A-Za-z]+//; s/retransmits=[1-9][0-9]*/retransmits>0/' "$m/got" |
	grep -v '^series' >"$m/got.cmp"
diff -u "$m/want" "$m/got.cmp" >&2 || fail "telemetry under loss (want -, got +)"
pass "under loss ($(dropped b1) request and $(dropped c1) response segments dropped): HTTP series exact on both sides, retransmits counted each side, the SYN retransmit on the client"
