#!/usr/bin/env bash
# Telemetry of real traffic read by Prometheus: telemetry.sh's world (a client pod, a service
# of 2 backends running tl_server.py, `drover proxy` with telemetry on) with `drover telemetry
# serve` exporting the proxy's pins and a real Prometheus (Debian's, on 127.0.0.1 with a
# config and data directory of its own, scraping every 250 ms) scraping it. tl_client.py's
# mix (GET 200 x21, GET 404 x5, GET 503 x3 35 ms late, POST 201 x1) is sent twice, with
# scrapes between; PromQL must then answer, on the client side (reporter="source"):
#   sum by (code) (drover_http_requests_total) = 200:42 201:2 404:10 503:6, and the same on
#   the server side;
#   sum(increase(...)) > 0 and histogram_quantile(0.99, sum by (le) (rate(
#   drover_http_request_duration_seconds_bucket{code="503"}[1m]))) = 0.04975 (3 more in
#   (25 ms, 50 ms]: 0.025 + 0.025 * 2.97 / 3);
#   drover_tcp_connections_total{state="opened"} of the service = 34;
#   destination_service = "web.default.svc.cluster.local" (drv_names1), on the server side
#   too (the service whose backends the pods are: drv_svc4, drv_be4).
source "$(dirname "$0")/common.sh"
for t in prometheus promtool curl; do
	command -v $t >/dev/null || fail "no $t (scripts/deps.sh installs Debian's prometheus)"
done
topo_init tlp
TOPO_LOG=/tmp/drover-tlp-proxy.log
rm -f "$TOPO_LOG"
topo_node
topo_pod c1 5
topo_pod b1 11
topo_pod b2 12
for b in b1 b2; do
	in_pod "$b" python3 "$here/tl_server.py" 8080 &
	TOPO_PIDS+=($!)
done
e2e_tmp
m=$E2E_TMP
mkdir "$m/manifests" # Prometheus' files beside it are no manifests
write_service "$m/manifests/web.yaml" web 10.96.0.10
write_slice "$m/manifests/web-eps.yaml" web 10.244.1.11 10.244.1.12
topo_proxy --manifests "$m/manifests" --node node1
grep -q "telemetry attached" "$TOPO_LOG" || fail "telemetry not attached"
# pods of this node, as drover-cni registers them (delivered by the host stack here)
for o in 5 11 12; do
	bpftool map update pinned "$TOPO_PIN_ROOT/drv_ep1" key 10 244 1 "$o" \
		value hex 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 ||
		fail "register 10.244.1.$o in drv_ep1"
done
topo_wait_listen b1 && topo_wait_listen b2 || fail "backends do not listen"

port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
MPORT=$(port)
"$DROVER" telemetry serve --pin-root "$TOPO_PIN_ROOT" --listen "127.0.0.1:$MPORT" --log-level warn &
TOPO_PIDS+=($!)
PPORT=$(port)
cat >"$m/prometheus.yml" <<Y
global: {scrape_interval: 250ms, scrape_timeout: 200ms}
scrape_configs:
  - job_name: drover
    static_configs: [{targets: ['127.0.0.1:$MPORT']}]
Y
prometheus --config.file="$m/prometheus.yml" --storage.tsdb.path="$m/prom" \
	--web.listen-address="127.0.0.1:$PPORT" --log.level=warn >"$m/prometheus.log" 2>&1 &
TOPO_PIDS+=($!)
FAIL_EXTRA_LOG=$m/prometheus.log

# promql QUERY: "labels=value" per result, sorted (labels: the values of the result's labels)
promql() {
	curl -sf --get "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(" ".join(sorted(",".join(x["metric"].values()) + "=" + x["value"][1] for x in r)))'
}
# wait_promql QUERY WANT: until Prometheus answers WANT (10 s at most)
wait_promql() {
	local got=''
	for _ in $(seq 50); do
		got=$(promql "$1") && [ "$got" = "$2" ] && { pass "$1 = $2"; return 0; }
		sleep 0.2
	done
	fail "$1: got '$got', want '$2'"
}
up() { [ "$(promql 'sum(up)')" = "=1" ]; }
for _ in $(seq 50); do up && break; sleep 0.2; done
up || fail "Prometheus does not scrape the exporter: $(promql up)"

mix() {
	local got
	got=$(in_pod c1 python3 "$here/tl_client.py" mix 10.96.0.10 80) || fail "client: $got"
	expect_eq "$got" "$(printf '200 %.0s' {1..21})201 $(printf '404 %.0s' {1..5})503 503 503" "client's answers"
}
mix
wait_promql 'sum by (code) (drover_http_requests_total{reporter="source"})' "200=21 201=1 404=5 503=3"
sleep 0.6 # scrapes of the first round's values
mix
wait_promql 'sum by (code) (drover_http_requests_total{reporter="source"})' "200=42 201=2 404=10 503=6"
wait_promql 'sum by (code) (drover_http_requests_total{reporter="destination"})' "200=42 201=2 404=10 503=6"
wait_promql 'sum by (destination_service) (drover_http_requests_total{reporter="source"})' \
	"web.default.svc.cluster.local=60"
# the server side has no frontend: its service is the one whose backends the pods are
wait_promql 'sum by (destination_service) (drover_http_requests_total{reporter="destination"})' \
	"web.default.svc.cluster.local=60"
wait_promql 'sum(drover_tcp_connections_total{reporter="source",state="opened",destination_service="web.default.svc.cluster.local"})' "=34"
sleep 0.6 # scrapes of the second round's values
got=$(promql 'sum(rate(drover_http_requests_total{reporter="source"}[1m])) > 0')
[ -n "$got" ] || fail "rate(drover_http_requests_total[1m]) is 0 after the second round"
pass "sum(rate(drover_http_requests_total[1m])) = ${got#=}"
wait_promql 'histogram_quantile(0.99, sum by (le) (rate(drover_http_request_duration_seconds_bucket{reporter="source",code="503"}[1m])))' "=0.04975"
curl -sf "http://127.0.0.1:$MPORT/metrics" | promtool check metrics || fail "promtool check metrics"
pass "promtool check metrics on the real traffic's /metrics"
