#!/usr/bin/env bash
# Bad input. At start, an invalid manifest stops the proxy with exit code 1 and one error
# line naming the file, the object and the field, before anything is loaded into the kernel.
# While running, an invalid edit is refused with the same kind of line and the last good
# state keeps serving; the fix is then applied. 10,000 services program and serve. A map too
# small for the configuration is a logged, counted condition: what fits serves, nothing
# crashes, nothing points at a wrong backend; what did not fit is retried on a timer and
# written once there is room, without a reload.
source "$(dirname "$0")/common.sh"
e2e_world bi
e2e_tmp
m=$E2E_TMP

start_must_fail() { # $1: what, $2: expected text in the error line
	local log=$m/start.log rc
	set +e
	in_node "$DROVER" proxy --pin-root "$TOPO_PIN_ROOT" --cgroup "$TOPO_CG" --manifests "$m/bad" \
		--node node1 >"$log" 2>&1
	rc=$?
	set -e
	expect_eq "$rc" 1 "$1: exit code"
	grep -q -- "$2" "$log" || fail "$1: no error line with '$2': $(cat "$log")"
	[ ! -e "$TOPO_PIN_ROOT" ] || fail "$1: something was pinned although the configuration is invalid"
	pass "$1 -> exit 1: $(grep -m1 -- "$2" "$log" | cut -d' ' -f3-)"
}
mkdir -p "$m/bad"
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}\n' >"$m/bad/broken.yaml"
start_must_fail "malformed YAML" "broken.yaml"
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {clusterIP: 10.96.0.9, portz: [{port: 80}]}\n' >"$m/bad/broken.yaml"
start_must_fail "unknown field" 'unknown field "spec.portz"'
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {clusterIP: 10.96.0.999, ports: [{port: 80}]}\n' >"$m/bad/broken.yaml"
start_must_fail "invalid IP" 'Service default/s: spec.clusterIP: Invalid value: "10.96.0.999"'
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {clusterIP: 10.96.0.9, ports: [{port: 0}]}\n' >"$m/bad/broken.yaml"
start_must_fail "invalid port" "spec.ports\[0\].port: Invalid value: 0"
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: NodePort, clusterIP: 10.96.0.9, ports: [{port: 80, nodePort: 22}]}\n' >"$m/bad/broken.yaml"
start_must_fail "a nodePort outside the NodePort range" "spec.ports\[0\].nodePort: Invalid value: 22: provided port is not in the valid range. The range of valid ports is 30000-32767"
printf 'apiVersion: v1\nkind: Servise\nmetadata: {name: s}\n' >"$m/bad/broken.yaml"
start_must_fail "unknown kind" "Servise"
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {clusterIP: 10.96.0.9, ports: [{port: 80}]}\n' >"$m/bad/broken.yaml"
cp "$m/bad/broken.yaml" "$m/bad/again.yaml"
start_must_fail "duplicate service" "defined more than once"
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: t}\nspec: {clusterIP: 10.96.0.9, ports: [{port: 80}]}\n' >"$m/bad/again.yaml"
start_must_fail "two services, one clusterIP" "clusterIP 10.96.0.9:80/TCP is already used by Service default/"
rm "$m/bad/again.yaml"
mkfifo "$m/bad/pipe.yaml"
start_must_fail "a FIFO among the manifests" "pipe.yaml: not a regular file"
rm -rf "$m/bad"

# A running proxy refuses an invalid edit and keeps serving.
mkdir -p "$m/good"
write_service "$m/good/web.yaml" web 10.96.0.10
write_slice "$m/good/web-eps.yaml" web 10.244.1.11 10.244.1.12 10.244.1.13
topo_proxy --manifests "$m/good" --node node1
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {clusterIP: 10.96.0.10, ports: [{port: 80, targetPort: 99999}]}\n' >"$m/good/web.yaml.tmp"
mv "$m/good/web.yaml.tmp" "$m/good/web.yaml"
wait_log "not applied; the last good configuration stays in place"
grep -q "web.yaml: Service default/web: spec.ports\[0\].targetPort: Invalid value: 99999" "$TOPO_LOG" ||
	fail "no error line naming file, object and field"
got=$(distinct_bodies --until "backend-1 backend-2 backend-3" 15 in_pod c1 curl -s --max-time 10 http://10.96.0.10/)
expect_eq "$got" "backend-1 backend-2 backend-3" "last good state still serving"
pass "invalid edit refused, last good state serves"
write_service "$m/good/web.yaml" web 10.96.0.10
syncs=$(grep -c "proxy: sync:" "$TOPO_LOG")
write_slice "$m/good/web-eps.yaml" web 10.244.1.11
wait_log "proxy: sync:" $((syncs + 1))
got=$(distinct_bodies 10 in_pod c1 curl -s --max-time 10 http://10.96.0.10/)
expect_eq "$got" "backend-1" "the fixed configuration applies"
pass "fixed configuration applied"
topo_proxy_stop
in_node "$DROVER" proxy uninstall --pin-root "$TOPO_PIN_ROOT" >/dev/null

# 10,000 services, each with 3 endpoints (the three real backends), in one file.
mkdir -p "$m/big"
python3 - "$m/big/services.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(10000):
        ip = "10.97.%d.%d" % (i // 250, i % 250 + 1)
        f.write("---\napiVersion: v1\nkind: Service\nmetadata: {name: s%d}\n"
                "spec: {clusterIP: %s, ports: [{port: 80, targetPort: 8080}]}\n" % (i, ip))
        f.write("---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
                "metadata: {name: s%d-x, labels: {kubernetes.io/service-name: s%d}}\n"
                "addressType: IPv4\nports: [{port: 8080}]\n"
                "endpoints: [{addresses: [10.244.1.11]}, {addresses: [10.244.1.12]}, {addresses: [10.244.1.13]}]\n" % (i, i))
PY
topo_proxy --manifests "$m/big" --node node1 --no-socket-lb
n=$(drover_bpf services | grep -c "ClusterIP" || true)
expect_eq "$n" 10000 "frontends programmed"
got=$(distinct_bodies --until "backend-1 backend-2 backend-3" 20 in_pod_nolb c1 curl -s --max-time 10 http://10.97.39.250/)
expect_eq "$got" "backend-1 backend-2 backend-3" "the 10,000th service serves"
pass "10,000 services programmed: $(grep 'proxy: sync:' "$TOPO_LOG" | tail -1 | sed 's/.*sync: //')"
# One more service in a file of its own: only that file is read, only it is written.
syncs=$(grep -c "proxy: sync:" "$TOPO_LOG")
write_service "$m/big/extra.yaml" extra 10.98.0.1
write_slice "$m/big/extra-eps.yaml" extra 10.244.1.12
wait_log "proxy: sync:" $((syncs + 1))
grep "manifests:.*file(s) read" "$TOPO_LOG" | tail -1 | grep -qE ": [12] file\(s\) read" ||
	fail "a change re-read more than the files it touched: $(grep 'file(s) read' "$TOPO_LOG" | tail -1)"
got=$(in_pod_nolb c1 curl -s --max-time 10 http://10.98.0.1/)
expect_eq "$got" "backend-2" "the added service"
# The same service defined again in another file is refused; the first stays.
syncs=$(grep -c "not applied" "$TOPO_LOG")
write_service "$m/big/dup.yaml" extra 10.98.0.2
wait_log "not applied" $((syncs + 1))
grep -q "Service/default/extra is also defined in\|Service default/extra: defined more than once" "$TOPO_LOG" ||
	fail "duplicate across files not reported"
got=$(in_pod_nolb c1 curl -s --max-time 10 http://10.98.0.1/)
expect_eq "$got" "backend-2" "the first definition still serves"
rm "$m/big/dup.yaml" "$m/big/extra.yaml" "$m/big/extra-eps.yaml"
pass "per-file reload: one file read for one change; a duplicate in another file refused"
topo_proxy_stop
in_node "$DROVER" proxy uninstall --pin-root "$TOPO_PIN_ROOT" >/dev/null

# A service map with room for 16 entries (4 entries per service: master + 3 slots).
topo_proxy --manifests "$m/big" --node node1 --no-socket-lb --map-size svc=16 --gc-interval 1
grep -q "map drv_svc4 is full" "$TOPO_LOG" || fail "a full map was not logged"
n=$(drover_bpf services | grep -c "ClusterIP" || true)
expect_eq "$n" 4 "services that fit in a 16-entry map"
drover_bpf services | grep "ClusterIP" | grep -qv "10.244.1.11:8080, 10.244.1.12:8080, 10.244.1.13:8080" &&
	fail "a programmed service has a partial or wrong backend set"
ip=$(drover_bpf services | awk '/ClusterIP/ {split($2, a, ":"); print a[1]; exit}')
got=$(distinct_bodies --until "backend-1 backend-2 backend-3" 20 in_pod_nolb c1 curl -s --max-time 10 "http://$ip/")
expect_eq "$got" "backend-1 backend-2 backend-3" "a service that fit serves"
grep -q "will be retried" "$TOPO_LOG" || fail "failed frontends not reported for retry"
# The timer retries them (a second commit, no reload in between), and the proxy lives on.
reloads=$(grep -c "file(s) read" "$TOPO_LOG")
wait_log "will be retried" 2
expect_eq "$(grep -c "file(s) read" "$TOPO_LOG")" "$reloads" "reloads while retrying"
kill -0 "$TOPO_PROXY_PID" || fail "proxy died with a full map"
pass "full map: 4 of 10,000 services fit, logged and retried, proxy alive, no partial service"
topo_proxy_stop
in_node "$DROVER" proxy uninstall --pin-root "$TOPO_PIN_ROOT" >/dev/null

# A frontend that did not fit is written by the retry once there is room, without a reload.
# Four services of one port and three endpoints fill a 16-entry service map (master + 3
# slots each). One reload replaces r4 by r5: in that commit r5 is written before r4's entries
# are deleted, so it does not fit; the room r4 leaves is there after the commit, and only the
# timer's retry can write r5.
retry_svc() { # FILE NAME CLUSTERIP
	printf 'apiVersion: v1\nkind: Service\nmetadata: {name: %s}\nspec: {clusterIP: %s, ports: [{port: 80, targetPort: 8080}]}\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: %s-x, labels: {kubernetes.io/service-name: %s}}\naddressType: IPv4\nports: [{port: 8080}]\nendpoints: [{addresses: [10.244.1.11]}, {addresses: [10.244.1.12]}, {addresses: [10.244.1.13]}]\n' \
		"$2" "$3" "$2" "$2" >"$1.tmp"
	mv "$1.tmp" "$1"
}
mkdir -p "$m/retry"
for i in 1 2 3 4; do retry_svc "$m/retry/r$i.yaml" "r$i" "10.98.1.$i"; done
TOPO_LOG=$m/retry-proxy.log # this run's lines only
topo_proxy --manifests "$m/retry" --node node1 --no-socket-lb --map-size svc=16 --gc-interval 1
expect_eq "$(drover_bpf services | grep -c "ClusterIP" || true)" 4 "services in a full 16-entry map"
grep -q "will be retried" "$TOPO_LOG" && fail "four services that fit were reported for retry"
reloads=$(grep -c "file(s) read" "$TOPO_LOG")
retried=$(grep -c "will be retried" "$TOPO_LOG" || true)
retry_svc "$m/retry/r4.yaml" r5 10.98.1.5
wait_log "file(s) read" $((reloads + 1))
wait_log "will be retried" $((retried + 1))
grep "proxy: sync:" "$TOPO_LOG" | tail -1 | grep -q "will be retried" ||
	fail "the reload's commit wrote r5 at once (the test needs it not to fit)"
for _ in $(seq 1 1200); do
	drover_bpf services | grep -q "10.98.1.5:80" && break
	sleep 0.05
done
drover_bpf services | grep -q "10.98.1.5:80" || fail "r5 was never written after room was made"
expect_eq "$(grep -c "file(s) read" "$TOPO_LOG")" $((reloads + 1)) "reloads (only the edit's)"
drover_bpf services | grep -q "10.98.1.4:80" && fail "r4 is still programmed"
expect_eq "$(drover_bpf services | grep -c "ClusterIP" || true)" 4 "services after the retry"
got=$(distinct_bodies --until "backend-1 backend-2 backend-3" 15 in_pod_nolb c1 curl -s --max-time 10 http://10.98.1.5/)
expect_eq "$got" "backend-1 backend-2 backend-3" "r5 serves after the retry"
pass "a frontend that did not fit was written by the timer's retry once room was made: $(grep 'proxy: sync:' "$TOPO_LOG" | tail -1 | sed 's/.*sync: //')"
