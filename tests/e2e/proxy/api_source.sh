#!/usr/bin/env bash
# `drover proxy --kubeconfig`: the proxy fed by a watch of `drover server` (TLS, its own
# kubeconfig), driven with the real kubectl. No controller runs: the EndpointSlices are
# written by hand, as an EndpointSlice controller would write them. In turn:
#   - a Service and its EndpointSlice created: the ClusterIP reaches the backends;
#   - the slice scaled down and up: traffic follows;
#   - the Service deleted: its frontends go, a connect no longer reaches anything;
#   - the API server SIGKILLed: the proxy keeps serving (pinned state), and resumes on a
#     change made after the server came back;
#   - the API server out of the proxy's reach while a Service is deleted, a slice changed
#     and a Service added, and the history behind the proxy's watch compacted away: back,
#     the proxy's watch gets 410, its informers list again, and the maps hold exactly the
#     new state (`drover bpf services`);
#   - the proxy SIGKILLed under load and restarted while the API server is down: it adopts
#     the pinned state and waits for the server before committing anything; no request
#     fails across kill, wait and sync.
# Everything runs in the simulated node's namespace (the proxy reaches the server on the
# node's loopback); every process is stopped by PID, also on failure.
source "$(dirname "$0")/common.sh"
e2e_world as
e2e_tmp
m=$E2E_TMP
TOPO_EXTRA_CLEANUP="rm -rf $m /tmp/drover-$TOPO_TAG.ready"
FAIL_EXTRA_LOG=$m/server.log
export HOME=$m/home
mkdir -p "$HOME"
ready=/tmp/drover-$TOPO_TAG.ready

API_PID=""
API_PORT=""
# api_start PORT [ARGS...]: `drover server` on 127.0.0.1:PORT of the node (0: a free port);
# waits for the kubeconfig it writes once it serves.
api_start() {
	local port=$1
	shift
	rm -f "$m/data/kubeconfig"
	nsenter --net="/run/netns/$(topo_ns node)" "$DROVER" server --data-dir "$m/data" \
		--listen "127.0.0.1:$port" --controllers "" --no-scheduler "$@" >>"$m/server.log" 2>&1 &
	API_PID=$!
	TOPO_PIDS+=("$API_PID")
	for _ in $(seq 1 600); do
		[ -s "$m/data/kubeconfig" ] && break
		kill -0 "$API_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$m/data/kubeconfig" ]; then
		tail -20 "$m/server.log" >&2
		fail "drover server did not start"
	fi
	API_PORT=$(sed -n 's|.*server: https://127.0.0.1:\([0-9]*\)$|\1|p' "$m/data/kubeconfig")
}
api_kill() {
	kill -9 "$API_PID"
	wait "$API_PID" 2>/dev/null || true
	API_PID=""
}
k() { in_node kubectl --kubeconfig "$m/data/kubeconfig" "$@"; }

# proxy_bg ARGS...: start the proxy as topo_proxy does, without waiting for it to be ready.
proxy_bg() {
	rm -f "$ready"
	nsenter --net="/run/netns/$(topo_ns node)" "$DROVER" proxy --pin-root "$TOPO_PIN_ROOT" \
		--cgroup "$TOPO_CG" --pod-device-prefix "$(topo_pod_prefix)" --ready-file "$ready" \
		"$@" >>"$TOPO_LOG" 2>&1 &
	TOPO_PROXY_PID=$!
	TOPO_PIDS+=("$TOPO_PROXY_PID")
}

# until_ok WHAT CMD...: run CMD until it succeeds; a generous deadline (the machine is
# shared), never a fixed wait.
until_ok() {
	local what=$1
	shift
	for _ in $(seq 1 1200); do
		"$@" >/dev/null 2>&1 && return 0
		kill -0 "$TOPO_PROXY_PID" 2>/dev/null || fail "the proxy exited while waiting for: $what"
		sleep 0.1
	done
	fail "never: $what"
}

# backends_of FRONTEND: the backend addresses `drover bpf services` lists for it,
# sorted, space-separated; "-" when the frontend is not in the maps.
backends_of() {
	drover_bpf services | awk -v fe="$1" '
		$2 == fe {
			found = 1
			for (i = 3; i <= NF; i++) { b = $i; sub(/,$/, "", b); if (b ~ /^[0-9.]+:[0-9]+$/) print b }
		}
		END { if (!found) print "-" }' | sort | tr '\n' ' ' | sed 's/ $//'
}
has_backends() { [ "$(backends_of "$1")" = "$2" ]; }
# bodies VIP: the distinct answers of 30 requests from c1 through the socket LB
# bodies IP [WANT]: the distinct bodies of 30 requests (more until WANT is covered)
bodies() { distinct_bodies --until "${2:-}" 30 in_pod c1 curl -s --max-time 10 "http://$1/"; }
bodies_are() { [ "$(bodies "$1")" = "$2" ]; }

apply_web() { # the slice of web with these backends (b1..b3 by number)
	local eps=()
	for i in "$@"; do eps+=("10.244.1.1$i"); done
	write_slice "$m/web-eps.yaml" web "${eps[@]}"
	k apply -f "$m/web-eps.yaml" >/dev/null || fail "kubectl apply of web's slice"
}

# ---- the server, the proxy ----
api_start 0
P1=$API_PORT
cp "$m/data/kubeconfig" "$m/proxy.kubeconfig" # the proxy's: this port, whatever comes later
k get ns default >/dev/null || fail "kubectl cannot reach drover server"
for i in 1 2 3; do in_node ping -c1 -W1 "10.244.1.1$i" >/dev/null; done
topo_proxy --kubeconfig "$m/proxy.kubeconfig" --node node1 --device "$(topo_ext_dev)"
grep -q "api-source: synced with https://127.0.0.1:$P1" "$TOPO_LOG" || fail "no sync line"
pass "proxy synced with drover server on port $P1"

# ---- a Service and its slice ----
write_service "$m/web.yaml" web 10.96.0.10 "type: NodePort"
k apply -f "$m/web.yaml" >/dev/null || fail "kubectl apply of web"
apply_web 1 2 3
until_ok "web's frontend with 3 backends" has_backends 10.96.0.10:80/TCP \
	"10.244.1.11:8080 10.244.1.12:8080 10.244.1.13:8080"
expect_eq "$(bodies 10.96.0.10 "backend-1 backend-2 backend-3")" "backend-1 backend-2 backend-3" "web's ClusterIP"
got=$(in_pod_nolb ext curl -s --max-time 10 "http://192.168.100.1:30080/" || true)
case "$got" in backend-[123]) ;; *) fail "web's NodePort: '$got'" ;; esac
pass "Service + EndpointSlice created with kubectl: ClusterIP and NodePort reach the backends"

# ---- scaled down and up ----
apply_web 1
until_ok "web on backend-1 only" bodies_are 10.96.0.10 "backend-1"
apply_web 1 2
until_ok "web on backend-1 and -2" bodies_are 10.96.0.10 "backend-1 backend-2"
expect_eq "$(backends_of 10.96.0.10:80/TCP)" "10.244.1.11:8080 10.244.1.12:8080" "web's backends"
pass "slice scaled 3 -> 1 -> 2: traffic follows"

# ---- deleted ----
k delete service web >/dev/null || fail "kubectl delete service web"
until_ok "web's frontends gone" has_backends 10.96.0.10:80/TCP "-"
expect_eq "$(backends_of "<node-ip>:30080/TCP")" "-" "web's NodePort frontend"
if in_pod c1 curl -s --max-time 3 http://10.96.0.10/ >/dev/null 2>&1; then
	fail "a connect to the deleted service's ClusterIP still reached a backend"
fi
pass "Service deleted: its frontends are gone and nothing answers on its ClusterIP"

# ---- the API server killed and restarted ----
k apply -f "$m/web.yaml" >/dev/null
write_service "$m/old.yaml" old 10.96.0.20
sed -i 's/, nodePort: [0-9]*//' "$m/old.yaml"
k apply -f "$m/old.yaml" >/dev/null || fail "kubectl apply of old"
write_slice "$m/old-eps.yaml" old 10.244.1.13
k apply -f "$m/old-eps.yaml" >/dev/null
until_ok "web and old served" bodies_are 10.96.0.20 "backend-3"
until_ok "web served again" bodies_are 10.96.0.10 "backend-1 backend-2"
warns=$(grep -c "informer: .*connection refused\|informer: .*Connection refused" "$TOPO_LOG" || true)
api_kill
wait_log "informer: .*[Cc]onnection refused" $((warns + 1)) # the proxy saw it go
expect_eq "$(bodies 10.96.0.10 "backend-1 backend-2")" "backend-1 backend-2" "web while the API server is down"
kill -0 "$TOPO_PROXY_PID" 2>/dev/null || fail "the proxy exited with the API server"
api_start "$P1"
apply_web 2
until_ok "web on backend-2 after the server came back" bodies_are 10.96.0.10 "backend-2"
pass "API server SIGKILLed: the proxy kept serving, then resumed its watch"

# ---- 410: the proxy's history compacted away while it could not watch ----
# The proxy is stopped (SIGSTOP) while the server restarts, changes and compacts (the
# history it watched from must be compacted after the changes it missed).
kill -STOP "$TOPO_PROXY_PID"
api_kill
api_start "$P1" --compact-interval 1
rv=$(k get --raw /api/v1/services | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
k delete service old >/dev/null
k delete endpointslice old-slice >/dev/null
apply_web 1 2
write_service "$m/new.yaml" new 10.96.0.30
sed -i 's/, nodePort: [0-9]*//' "$m/new.yaml"
k apply -f "$m/new.yaml" >/dev/null
write_slice "$m/new-eps.yaml" new 10.244.1.12
k apply -f "$m/new-eps.yaml" >/dev/null
compacted() { # a watch from $rv is refused as too old (an ERROR event: 410 Expired)
	k get --raw "/api/v1/services?watch=1&resourceVersion=$rv&timeoutSeconds=1" 2>&1 |
		grep -q '"code":410'
}
for i in $(seq 1 100); do
	compacted && break
	[ "$i" -lt 100 ] || fail "the history after revision $rv was never compacted"
	k create configmap "churn-$i" --from-literal=a=b >/dev/null # writes move the mark
done
kill -CONT "$TOPO_PROXY_PID"
wait_log "api-source: https://127.0.0.1:$P1: listed again (the watch history had expired)"
# each informer comes back on its own back-off (up to 30 s, as client-go's): wait for the
# Services one to meet its 410 too before looking at what the re-list left
wait_log "informer: services: resourceVersion [0-9]* is too old"
until_ok "old's frontend gone after the re-list" has_backends 10.96.0.20:80/TCP "-"
until_ok "new's frontend after the re-list" has_backends 10.96.0.30:80/TCP "10.244.1.12:8080"
until_ok "web's backends after the re-list" has_backends 10.96.0.10:80/TCP \
	"10.244.1.11:8080 10.244.1.12:8080"
svcs=$(drover_bpf services)
echo "$svcs" | grep -q "10.96.0.20" && fail "the service deleted during the outage survived: $svcs"
expect_eq "$(bodies 10.96.0.30)" "backend-2" "new, added during the outage"
expect_eq "$(bodies 10.96.0.10 "backend-1 backend-2")" "backend-1 backend-2" "web, changed during the outage"
pass "410 Gone: after the re-list the maps hold exactly the new state (old gone, new added, web changed)"

# ---- the proxy SIGKILLed under load, restarted while the API server is down ----
stop=$m/stop
in_pod c1 python3 "$here/load.py" --host 10.96.0.10 --stop "$stop" >"$m/load.txt" &
load=$!
TOPO_PIDS+=("$load")
wait_lines "$m/load.txt" 20
kill -9 "$TOPO_PROXY_PID"
wait "$TOPO_PROXY_PID" 2>/dev/null || true
api_kill
adopted=$(grep -c "adopt:" "$TOPO_LOG" || true)
waiting=$(grep -c "waiting for the api source" "$TOPO_LOG" || true)
proxy_bg --kubeconfig "$m/proxy.kubeconfig" --node node1 --device "$(topo_ext_dev)"
wait_log "adopt:" $((adopted + 1))
# it has decided what to do without a server: wait (as it must) or go ready
decided() { [ -e "$ready" ] || [ "$(grep -c "waiting for the api source" "$TOPO_LOG")" -gt "$waiting" ]; }
until_ok "the restarted proxy past its start-up" decided
t=$(wc -l <"$m/load.txt")
wait_lines "$m/load.txt" $((t + 20)) # served meanwhile, by what is pinned
expect_eq "$(backends_of 10.96.0.10:80/TCP)" "10.244.1.11:8080 10.244.1.12:8080" \
	"web's pinned frontend while the proxy waits for the server"
expect_eq "$(backends_of 10.96.0.30:80/TCP)" "10.244.1.12:8080" "new's pinned frontend meanwhile"
bad=$(grep -vc " ok " "$m/load.txt" || true)
[ "$bad" = 0 ] || fail "requests failed while the proxy waited: $(grep -v " ok " "$m/load.txt" | head -3)"
[ ! -e "$ready" ] || fail "the proxy called itself ready without the API server"
api_start "$P1" --compact-interval 1
until_ok "the restarted proxy synced and ready" test -s "$ready"
t=$(wc -l <"$m/load.txt")
wait_lines "$m/load.txt" $((t + 20))
touch "$stop"
wait "$load" || true
total=$(wc -l <"$m/load.txt")
bad=$(grep -vc " ok " "$m/load.txt" || true)
expect_ge "$total" 60 "requests across kill, wait and sync"
[ "$bad" = 0 ] || fail "failed requests across the restart: $(grep -v " ok " "$m/load.txt" | head -5)"
expect_eq "$(backends_of 10.96.0.10:80/TCP)" "10.244.1.11:8080 10.244.1.12:8080" "web after the restart"
expect_eq "$(backends_of 10.96.0.30:80/TCP)" "10.244.1.12:8080" "new after the restart"
pass "proxy SIGKILLed and restarted while the server was down: adopted, waited, synced; $total requests, none failed"
