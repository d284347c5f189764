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
# Client and server are pods of this node, so the server's socket parses each connection
# once for both sides (telemetry.bpf.c, enum tl_mirror): the mix is sent again to pod b2,
# which drv_ep1 does not list (as a pod of another node), so that the client's own parser
# meets the loss on its side (responses arriving out of order) too.
source "$(dirname "$0")/common.sh"
topo_init tll
TOPO_LOG=/tmp/drover-tll-proxy.log
rm -f "$TOPO_LOG"
topo_node
topo_pod c1 5
topo_pod b1 11
topo_pod b2 12
in_pod b1 python3 "$here/tl_server.py" 8080 &
TOPO_PIDS+=($!)
in_pod b2 python3 "$here/tl_server.py" 8080 &
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
topo_wait_listen b1 && topo_wait_listen b2 || fail "backends do not listen"

# loss, on arrival in each pod: data segments (not SYN, IP length > 52: a payload) and the
# client's first SYN (the pods' namespaces go with the topology)
ipt() { ip netns exec "$(topo_ns "$1")" iptables-nft "${@:2}" || fail "iptables in $1"; }
data=(--tcp-flags SYN NONE -m length --length 53:65535 -m statistic --mode nth --every 3 --packet 0 -j DROP)
for b in b1 b2; do
	ipt $b -t raw -A PREROUTING -p tcp --dport 8080 --syn -m statistic --mode nth --every 1000000 --packet 0 -j DROP
	ipt $b -t raw -A PREROUTING -p tcp --dport 8080 "${data[@]}"
done
ipt c1 -t raw -A PREROUTING -p tcp --sport 8080 "${data[@]}"

mix="$(printf '200 %.0s' {1..21})201 $(printf '404 %.0s' {1..5})503 503 503"
got=$(in_pod c1 python3 "$here/tl_client.py" mix 10.96.0.10 80) || fail "client: $got"
expect_eq "$got" "$mix" "client's answers (b1, through the service)"
got=$(in_pod c1 python3 "$here/tl_client.py" mix 10.244.1.12 8080) || fail "client: $got"
expect_eq "$got" "$mix" "client's answers (b2, straight to the pod)"
sleep 0.5 # the last connections' ends
dropped() { ip netns exec "$(topo_ns "$1")" iptables-nft -t raw -L PREROUTING -v -x -n | awk '/DROP/ && !/flags:0x17\/0x02/ { s += $1 } END { print s + 0 }'; }
expect_ge "$(dropped b1)" 3 "request segments dropped (b1)"
expect_ge "$(dropped b2)" 3 "request segments dropped (b2)"
expect_ge "$(dropped c1)" 3 "response segments dropped"
python3 "$here/tl_maps.py" "$TOPO_PIN_ROOT" 10.244.1.5 retrans >"$m/got" || fail "tl_maps.py"
cat >"$m/want" <<'W'
http client GET 200 nosvc requests=21
http client GET 200 svc requests=21
http client GET 404 nosvc requests=5
http client GET 404 svc requests=5
http client GET 503 nosvc requests=3
http client GET 503 svc requests=3
http client POST 201 nosvc requests=1
http client POST 201 svc requests=1
http server GET 200 nosvc requests=21
http server GET 404 nosvc requests=5
http server GET 503 nosvc requests=3
http server POST 201 nosvc requests=1
tcp client 8080 nosvc opened=17 closed=17 refused=0 reset=0 retransmits>0 syn_retransmits=1
tcp client 8080 svc opened=17 closed=17 refused=0 reset=0 retransmits>0 syn_retransmits=1
tcp server 8080 nosvc opened=17 closed=17 refused=0 reset=0 retransmits>0 syn_retransmits=0
ctr tcp_overflow=0 http_overflow=0 events_lost=0 unparsed=0
W
sed -E 's/ buckets=.*//; s/ sent>0=[A-Za-z]+ rcvd>0=[A-Za-z]+//; s/retransmits=[1-9][0-9]*/retransmits>0/' "$m/got" |
	grep -v -e '^series' -e '^paired' >"$m/got.cmp"
diff -u "$m/want" "$m/got.cmp" >&2 || fail "telemetry under loss (want -, got +)"
# b1's connections: parsed by the server's socket for both sides (17 unless a client sent
# before its server's socket was established; b2's never: not a local pod)
paired=$(sed -n 's/^paired //p' "$m/got")
[ -n "$paired" ] && [ "$paired" -ge 1 ] && [ "$paired" -le 17 ] || fail "paired connections: $paired (want 1..17)"
pass "under loss ($(dropped b1)+$(dropped b2) request and $(dropped c1) response segments dropped): HTTP series exact on both sides (b1's parsed once by its socket, b2's by the client's), retransmits counted each side, the SYN retransmits on the client"
