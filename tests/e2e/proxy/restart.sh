#!/usr/bin/env bash
# A proxy killed with SIGKILL under load leaves the dataplane serving (pinned maps, cgroup
# programs held by pinned bpf_links, tc and XDP attached). The configuration changes while
# it is down; the restarted proxy adopts what it finds: new programs are swapped into the
# same links (bpf_link__update_program, never detach + attach), tc and XDP are replaced in
# place, and a full resync removes what is no longer configured. No request fails at any
# point.
source "$(dirname "$0")/common.sh"
e2e_world rs
e2e_tmp
m=$E2E_TMP
write_service "$m/web.yaml" web 10.96.0.10 "type: NodePort"
write_slice "$m/web-eps.yaml" web 10.244.1.11 10.244.1.12 10.244.1.13
write_service "$m/old.yaml" old 10.96.0.20
write_slice "$m/old-eps.yaml" old 10.244.1.13
for i in 1 2 3; do in_node ping -c1 -W1 "10.244.1.1$i" >/dev/null; done
topo_proxy --manifests "$m" --node node1 --device "$(topo_ext_dev)"

link_info() { # prints "<link id> <prog id>" of a pinned cgroup link
	in_node bpftool -j link show pinned "$TOPO_PIN_ROOT/links/$1" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["id"], d["prog_id"])'
}
xdp_id() { in_node ip -d -j link show "$(topo_ext_dev)" | python3 -c 'import json,sys; d=json.load(sys.stdin)[0]; print(d.get("xdp", {}).get("prog", {}).get("id", 0))'; }
before=$(link_info drv_connect4)
xdp_before=$(xdp_id)
[ "$xdp_before" != 0 ] || fail "no XDP program before the restart"

stop=$m/stop
in_pod c1 python3 "$here/load.py" --host 10.96.0.10 --stop "$stop" >"$m/load.txt" &
load=$!
TOPO_PIDS+=("$load")
wait_lines "$m/load.txt" 20
kill -9 "$TOPO_PROXY_PID"
wait "$TOPO_PROXY_PID" 2>/dev/null || true
TOPO_PROXY_PID=""
t_kill=$(wc -l <"$m/load.txt")
# The kernel keeps serving: wait for 20 more answers (no time limit but the test's own).
wait_lines "$m/load.txt" $((t_kill + 20))
got=$(in_pod_nolb ext curl -s --max-time 10 "http://192.168.100.1:30080/" || true)
case "$got" in backend-[123]) ;; *) fail "NodePort after SIGKILL: '$got'" ;; esac
during=$(($(wc -l <"$m/load.txt") - t_kill))
pass "proxy SIGKILLed: $during requests served by the kernel meanwhile, NodePort answers"

# Change the world while nobody watches: 'old' goes, web loses a backend.
rm "$m/old.yaml" "$m/old-eps.yaml"
write_slice "$m/web-eps.yaml" web 10.244.1.11 10.244.1.12
topo_proxy --manifests "$m" --node node1 --device "$(topo_ext_dev)"
grep -q "adopt: 5 frontends" "$TOPO_LOG" || fail "restart did not adopt the pinned state"
expect_eq "$(grep -c 'drv_[a-z0-9]*4: new program swapped into the pinned link' "$TOPO_LOG")" 4 "cgroup links updated in place"
expect_eq "$(grep -c 'drv_tl_[a-z]*: new program swapped into the pinned link' "$TOPO_LOG")" 3 "telemetry's cgroup links updated in place"
after=$(link_info drv_connect4)
[ "${before% *}" = "${after% *}" ] || fail "link id changed ($before -> $after): the link was re-created"
[ "${before#* }" != "${after#* }" ] || fail "program id unchanged ($before -> $after)"
pass "cgroup link $before -> $after: same link, new program"
xdp_after=$(xdp_id)
[ "$xdp_after" != 0 ] && [ "$xdp_after" != "$xdp_before" ] || fail "XDP program not replaced ($xdp_before -> $xdp_after)"
filters=$(in_node tc filter show dev "$(topo_pod_prefix)c1" ingress | grep -c "drv_tc_pod" || true)
expect_eq "$filters" 1 "one drover tc filter on the pod device after the restart"
pass "XDP $xdp_before -> $xdp_after replaced in place; one tc filter"

svcs=$(drover_bpf services)
echo "$svcs" | grep -q "10.96.0.20" && fail "stale frontend 10.96.0.20 survived the resync"
echo "$svcs" | grep "10.96.0.10:80/TCP" | grep -q "10.244.1.13" && fail "stale backend survived the resync"
grep -q "sync: 1 service(s), 3 frontend(s) checked, 2 removed" "$TOPO_LOG" ||
	fail "the resync after the restart did not report removing the 2 stale frontends"
pass "reconciled: 10.96.0.20 removed, 10.244.1.13 gone from web"

wait_lines "$m/load.txt" $(($(wc -l <"$m/load.txt") + 20))
touch "$stop"
wait "$load" || true
total=$(wc -l <"$m/load.txt")
bad=$(grep -vc " ok " "$m/load.txt" || true)
expect_ge "$total" 200 "requests over the whole test"
[ "$bad" = 0 ] || fail "failed requests across kill, downtime and restart: $(grep -v " ok " "$m/load.txt" | head -5)"
pass "$total requests across SIGKILL and restart, none failed"
