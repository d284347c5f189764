#!/usr/bin/env bash
# `drover proxy uninstall` removes every attachment and pin drover made: cgroup links, tc
# filters, XDP programs, the clsact qdiscs it created, and the pinned maps; the ClusterIP is
# then no longer translated. Stopping the proxy (SIGTERM) alone leaves the dataplane serving.
source "$(dirname "$0")/common.sh"
e2e_world un
e2e_tmp
m=$E2E_TMP
write_service "$m/web.yaml" web 10.96.0.10 "type: NodePort"
write_slice "$m/web-eps.yaml" web 10.244.1.11 10.244.1.12 10.244.1.13
topo_proxy --manifests "$m" --node node1 --device "$(topo_ext_dev)"
topo_proxy_stop -TERM
got=$(in_pod c1 curl -s --max-time 10 http://10.96.0.10/ || true)
case "$got" in backend-[123]) ;; *) fail "after SIGTERM the dataplane must keep serving: '$got'" ;; esac
pass "proxy stopped, ClusterIP still served by the kernel"

in_node "$DROVER" proxy uninstall --pin-root "$TOPO_PIN_ROOT" >"$m/un.log" 2>&1 || fail "uninstall failed: $(cat "$m/un.log")"
[ ! -e "$TOPO_PIN_ROOT" ] || fail "pins left: $(ls -R "$TOPO_PIN_ROOT")"
# count PATTERN CMD...: lines of CMD's output matching PATTERN; CMD itself must succeed
count() {
	local pat=$1 out
	shift
	out=$("$@") || fail "'$*' failed"
	grep -c "$pat" <<<"$out" || true
}
expect_eq "$(count drv_ bpftool cgroup show "$TOPO_CG")" 0 "cgroup programs left"
for dev in "$(topo_pod_prefix)c1" "$(topo_pod_prefix)b1" "$(topo_ext_dev)"; do
	expect_eq "$(count drv_ in_node tc filter show dev "$dev" ingress)" 0 "tc filters left on $dev"
	expect_eq "$(count clsact in_node tc qdisc show dev "$dev")" 0 "clsact qdisc left on $dev"
done
in_node ip -d link show "$(topo_ext_dev)" | grep -q "prog/xdp" && fail "XDP program left"
set +e
in_pod c1 curl -s --max-time 2 http://10.96.0.10/ >/dev/null
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "ClusterIP still answers after uninstall"
pass "uninstall removed links, tc filters, clsact, XDP and pins; the ClusterIP is gone"
# Twice is harmless.
in_node "$DROVER" proxy uninstall --pin-root "$TOPO_PIN_ROOT" >/dev/null 2>&1 || fail "second uninstall failed"
pass "a second uninstall is a no-op"
