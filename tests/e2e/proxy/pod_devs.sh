#!/usr/bin/env bash
# Pod devices (issue 11 defect 10): the proxy attaches drv_tc_pod by reconciling with the
# links that exist, not only on link events (100 veths made at once can overrun the event
# socket; a filter removed behind its back sends none); records of links that went are pruned; with the attachment record (drv_attach1,
# made tiny here) full, `drover proxy uninstall` still removes every filter, clsact qdisc
# and the program, because it looks at the links themselves.
source "$(dirname "$0")/common.sh"
topo_init pd
TOPO_LOG=/tmp/drover-pd-proxy.log
rm -f "$TOPO_LOG"
topo_node
e2e_tmp
m=$E2E_TMP
N=100
pfx=$(topo_pod_prefix)
write_service "$m/web.yaml" web 10.96.0.10

# wait_for SECONDS WHAT CMD...: until CMD succeeds, or fail
wait_for() {
	local secs=$1 what=$2
	shift 2
	for _ in $(seq 1 $((secs * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	fail "$what (not within ${secs} s)"
}
# devices named $pfx* carrying drv_tc_pod on tc ingress
attached() { in_node bpftool net show | grep -c "^${pfx}v[0-9]*([0-9]*) clsact/ingress drv_tc_pod" || true; }
all_attached() { [ "$(attached)" -eq "$N" ]; }
records() { in_node bpftool map dump pinned "$TOPO_PIN_ROOT/drv_attach1" | grep -c '"key"' || true; }
no_records() { [ "$(records)" -eq 0 ]; }
veths() { # add|del
	for i in $(seq 1 "$N"); do
		if [ "$1" = add ]; then
			echo "link add ${pfx}v$i type veth peer name x${pfx}v$i"
		else
			echo "link del ${pfx}v$i"
		fi
	done | in_node ip -batch -
}

topo_proxy --manifests "$m" --node node1 --no-socket-lb --reconcile-interval 1 \
	--map-size attach=16
veths add
wait_for 30 "drv_tc_pod on all $N new veths, got $(attached)" all_attached
pass "$N veths made at once: drv_tc_pod on every one"
# No event says a filter went: the reconcile notices (the qdisc of 10 devices removed
# behind the proxy's back).
for i in $(seq 1 10); do echo "qdisc del dev ${pfx}v$i clsact"; done | in_node tc -batch -
[ "$(attached)" -le $((N - 10)) ] || fail "clsact removal did not take the filters"
wait_for 30 "drv_tc_pod back on the 10 stripped veths, got $(attached)" all_attached
pass "filters removed behind the proxy's back are put back by the reconcile"

veths del
wait_for 30 "attachment records of deleted veths pruned, $(records) left" no_records
pass "records of deleted links pruned"

# The record holds 16; 100 attached: 84 are known only by their filter.
veths add
wait_for 30 "drv_tc_pod on all $N veths again, got $(attached)" all_attached
expect_eq "$(records)" 16 "records in a full drv_attach1"
prog=$(in_node bpftool net show | awk -v d="${pfx}v1(" 'index($0, d) == 1 { for (i = 1; i < NF; i++) if ($i == "id") p = $(i + 1) } END { print p }')
[ -n "$prog" ] || fail "no program id on ${pfx}v1"
topo_proxy_stop -TERM
in_node "$DROVER" proxy uninstall --pin-root "$TOPO_PIN_ROOT" >"$m/un.log" 2>&1 ||
	fail "uninstall failed: $(cat "$m/un.log")"
expect_eq "$(attached)" 0 "drv_tc_pod filters left after uninstall"
qd=$(in_node tc qdisc show | grep -c "clsact .* dev ${pfx}v" || true)
expect_eq "$qd" 0 "clsact qdiscs left after uninstall"
gone() { ! bpftool prog show id "$prog" >/dev/null 2>&1; }
wait_for 10 "program $prog still loaded after uninstall" gone
pass "drv_attach1 full: uninstall removed all $N filters, their clsact qdiscs and the program"
