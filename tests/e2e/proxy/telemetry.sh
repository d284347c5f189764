#!/usr/bin/env bash
# Telemetry (telemetry.bpf.c) end to end: a client pod calls a service of 2 backends (a
# python HTTP/1.1 server, one of them on a dual-stack [::] socket) with a known mix (tl_client.py: GET 200 x21, GET 404 x5, GET 503 x3
# 35 ms late, POST 201 x1 with a body that looks like a request; keep-alive and new
# connections, a request split over two writes after its start line and one inside it, a
# pipelined pair). The pinned series maps
# must hold exactly that mix on the client side (with the service's rev-NAT id) and on the
# server side, the late ones in the (25 ms, 50 ms] bucket; 17 connections opened and ended
# each side, and no per-socket entry is left; a connect to a port with no listener counts as
# refused. Then, with
# --telemetry-max-series 2, a full map counts overflows and its existing series go on; a
# restart with --no-telemetry takes telemetry off the cgroup.
source "$(dirname "$0")/common.sh"
topo_init tl
TOPO_LOG=/tmp/drover-tl-proxy.log
rm -f "$TOPO_LOG"
topo_node
topo_pod c1 5
topo_pod b1 11
topo_pod b2 12
# the servers run in the proxy's cgroup, as pods do: telemetry is attached there; b2 listens
# on one dual-stack IPv6 socket ([::], its IPv4 connections v4-mapped) as many servers do
in_pod b1 python3 "$here/tl_server.py" 8080 &
TOPO_PIDS+=($!)
in_pod b2 python3 "$here/tl_server.py" 8080 :: &
TOPO_PIDS+=($!)
e2e_tmp
m=$E2E_TMP
write_service "$m/web.yaml" web 10.96.0.10
write_slice "$m/web-eps.yaml" web 10.244.1.11 10.244.1.12

# pods of this node, as drover-cni registers them (delivered by the host stack here)
register_pods() {
	local o
	for o in 5 11 12; do
		bpftool map update pinned "$TOPO_PIN_ROOT/drv_ep1" key 10 244 1 "$o" \
			value hex 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 ||
			fail "register 10.244.1.$o in drv_ep1"
	done
}
maps() { python3 "$here/tl_maps.py" "$TOPO_PIN_ROOT" 10.244.1.5 || fail "tl_maps.py"; }

topo_proxy --manifests "$m" --node node1
grep -q "telemetry attached" "$TOPO_LOG" || fail "telemetry not attached"
register_pods
topo_wait_listen b1 && topo_wait_listen b2 || fail "backends do not listen"

# the ring buffer's events, read as the agent reads them
TLEV=${DROVER_BUILD_DIR:-$here/../../../build}/tests/e2e/proxy/drover-tl-events
mkfifo "$m/ev.in"
"$TLEV" "$TOPO_PIN_ROOT/drv_tlev1" <"$m/ev.in" >"$m/events" &
ev_pid=$!
TOPO_PIDS+=("$ev_pid")
exec 8>"$m/ev.in"
wait_lines "$m/events" 1

got=$(in_pod c1 python3 "$here/tl_client.py" mix 10.96.0.10 80) || fail "client: $got"
expect_eq "$got" "$(printf '200 %.0s' {1..21})201 $(printf '404 %.0s' {1..5})503 503 503" "client's answers"
got=$(in_pod c1 python3 "$here/tl_client.py" refused 10.244.1.11 9)
expect_eq "$got" "refused" "connect to a closed port"
sleep 0.5 # the last connections' ends (FIN exchange, then socket destruction)
maps >"$m/got"
cat >"$m/want" <<'W'
http client GET 200 svc requests=21 buckets=@
http client GET 404 svc requests=5 buckets=@
http client GET 503 svc requests=3 buckets=6:3
http client POST 201 svc requests=1 buckets=@
http server GET 200 nosvc requests=21 buckets=@
http server GET 404 nosvc requests=5 buckets=@
http server GET 503 nosvc requests=3 buckets=6:3
http server POST 201 nosvc requests=1 buckets=@
tcp client 8080 svc opened=17 closed=17 refused=0 reset=0 sent>0=True rcvd>0=True
tcp client 9 nosvc opened=0 closed=0 refused=1 reset=0 sent>0=False rcvd>0=False
tcp server 8080 nosvc opened=17 closed=17 refused=0 reset=0 sent>0=True rcvd>0=True
ctr tcp_overflow=0 http_overflow=0 events_lost=0 unparsed=0
W
# buckets of the quick ones depend on the machine's load: only their sum is checked
sed -E 's/^(http [a-z]+ [A-Z]+ (200|404|201) .*buckets=).*/\1@/' "$m/got" | grep -v -e '^series' -e '^paired' >"$m/got.cmp"
diff -u "$m/want" "$m/got.cmp" >&2 || fail "telemetry maps differ from the mix (want -, got +)"
pass "HTTP series exact on both sides (method, code, service), late ones in (25,50] ms; TCP opened/closed/refused exact"
# client and servers are pods of this node: each connection's HTTP was parsed once, by the
# server's socket, for both sides (a client that sent before the server's socket was
# established parses for itself: still exact above)
paired=$(sed -n 's/^paired //p' "$m/got")
[ -n "$paired" ] && [ "$paired" -ge 1 ] && [ "$paired" -le 17 ] ||
	fail "connections parsed once for both sides: $paired of 17 (want 1..17; 17 unless a client sent first)"
pass "$paired of 17 local connections parsed once, by the server's socket, for both sides"
# the per-socket state: added at each connection's ESTABLISHED, removed at its close
left=$(bpftool -j map dump pinned "$TOPO_PIN_ROOT/drv_tlsk2" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))') ||
	fail "dump drv_tlsk2"
expect_eq "$left" 0 "drv_tlsk2 entries left after every connection ended"
pass "no per-socket entry outlives its connection"
# events: one per request (method, code, target; the late ones 25-50 ms), per connection
# opened and ended, and the refusal
exec 8>&-
wait "$ev_pid" || true
awk '$1 == "http" { late = ($4 == 503) ? ($6 > 25000 && $6 <= 50000 ? " late" : " NOT-late") : ""
		print $1, $2, $3, $4, $5 late; next }
	$1 != "ready" { split($4, a, ":"); print $1, $2, a[2] }' "$m/events" | sort | uniq -c | sed 's/^ *//' >"$m/ev.got"
sort >"$m/ev.want" <<'W'
1 refused client 9
17 close client 8080
17 close server 8080
17 open client 8080
17 open server 8080
1 http client POST 201 /form
1 http server POST 201 /form
21 http client GET 200 /ok
21 http server GET 200 /ok
3 http client GET 503 /slow late
3 http server GET 503 /slow late
5 http client GET 404 /missing
5 http server GET 404 /missing
W
diff -u "$m/ev.want" <(sort "$m/ev.got") >&2 || fail "ring buffer events differ from the mix (want -, got +)"
pass "one event per request (method, code, target, the late ones 25-50 ms), per connection opened and closed, and the refusal"
awk '/^http/ { split($NF, a, "="); n = split(a[2], b, ","); s = 0; for (i = 1; i <= n; i++) { split(b[i], c, ":"); s += c[2] } sub("requests=", "", $6); if (s != $6) { print; bad = 1 } } END { exit bad }' \
	<(python3 "$here/tl_maps.py" "$TOPO_PIN_ROOT" 10.244.1.5) || fail "a series' buckets do not sum to its requests"
pass "every series' buckets sum to its requests"

# A full series map: 2 entries. Only the client pod is registered this time (the server as if
# on another node: a connection between two local pods would be one series for both sides,
# or two when a client sends before its server's socket is established). The first requests
# make the client's GET 200 series (and its TCP one), the 404s the second; the 503s then find
# no room and count as overflows, while the 200 series goes on counting.
topo_proxy_stop -TERM
in_node "$DROVER" proxy uninstall --pin-root "$TOPO_PIN_ROOT" >/dev/null 2>&1 || fail "uninstall"
[ ! -e "$TOPO_PIN_ROOT/drv_tlhttp1" ] || fail "uninstall left the telemetry maps"
topo_proxy --manifests "$m" --node node1 --telemetry-max-series 2
bpftool map update pinned "$TOPO_PIN_ROOT/drv_ep1" key 10 244 1 5 \
	value hex 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 ||
	fail "register 10.244.1.5 in drv_ep1"
expect_eq "$(in_pod c1 python3 "$here/tl_client.py" ok 10.244.1.11 8080 3)" "200 200 200" "3 x 200"
expect_eq "$(in_pod c1 python3 "$here/tl_client.py" missing 10.244.1.11 8080 2)" "404 404" "2 x 404"
expect_eq "$(in_pod c1 python3 "$here/tl_client.py" slow 10.244.1.11 8080 2)" "503 503" "2 x 503"
expect_eq "$(in_pod c1 python3 "$here/tl_client.py" ok 10.244.1.11 8080 2)" "200 200" "2 x 200"
sleep 0.5
maps | sed -E 's/buckets=.*//; s/ sent>0.*//' >"$m/got"
cat >"$m/want" <<'W'
http client GET 200 nosvc requests=5 
http client GET 404 nosvc requests=2 
tcp client 8080 nosvc opened=9 closed=9 refused=0 reset=0
ctr tcp_overflow=0 http_overflow=2 events_lost=0 unparsed=0
series http=2 tcp=1
paired 0
W
diff -u "$m/want" "$m/got" >&2 || fail "full series map (want -, got +)"
pass "full map: 2 HTTP overflows counted, the existing series kept counting"

# --no-telemetry: a restart without telemetry takes the earlier run's programs off the cgroup.
topo_proxy_stop -TERM
topo_proxy --manifests "$m" --node node1 --no-telemetry
grep -q "telemetry detached (3 links)" "$TOPO_LOG" || fail "--no-telemetry: the earlier links were not detached"
expect_eq "$(bpftool cgroup show "$TOPO_CG" | grep -c drv_tl_ || true)" 0 "telemetry programs left on the cgroup"
pass "--no-telemetry detached the earlier run's telemetry"
