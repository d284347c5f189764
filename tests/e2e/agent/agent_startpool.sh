#!/usr/bin/env bash
# agent_startpool.sh: new pods start side by side (agent_pods.c's starter threads,
# --pod-start-workers 2) and a pod's state stays whole while its start is under way. The
# agent's CNI plugin is drover-cni behind a gate (a wrapper in a --cni-bin-dir of the test's
# own): the ADD of a pod that has a gate (a FIFO gate-NAME) waits until the test opens it, so
# a start is held at a point the test knows (entered-NAME holds the waiting wrapper's PID).
#  - a slow pod (its ADD held) holds up no other: a pod created after it is Running while the
#    slow one is still held and Pending; released, the slow one is Running too. With the
#    starts one after another (--pod-start-workers 1, or on the sync thread as before) the
#    second pod waits behind the first and this fails;
#  - a pod updated while its start is held (a label): released, it runs with the label;
#  - a pod deleted while its start is held: released, it is torn down and the object goes
#    (CNI DEL: its sandbox record and netns gone; its cgroups gone);
#  - a pod force-deleted (gone from the API at once) while its start is held: the start is not
#    torn down under it (its netns stays while held, though a pod created after the deletion
#    runs); released, what the start made goes (sandbox, cgroups, processes);
#  - at the end nothing of any pod is left on the node.
# Same node as agent.sh (lib.sh); everything made is removed on exit, also on failure.
set -uo pipefail
E2E_TAG=drvsp
E2E_WAIT_S=${E2E_WAIT_S:-30}
# shellcheck source=tests/e2e/agent/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

GATES=$WORK/cni
mkdir -p "$GATES"
# the wrapper: `read` is the shell's own, so the waiting process is the PID it records
cat >"$GATES/drover-cni" <<SH
#!/bin/sh
name=\$(printf '%s\n' "\$CNI_ARGS" | tr ';' '\n' | sed -n 's/^K8S_POD_NAME=//p')
if [ "\$CNI_COMMAND" = ADD ] && [ -p "$GATES/gate-\$name" ]; then
	echo \$\$ >"$GATES/entered-\$name.tmp"
	mv "$GATES/entered-\$name.tmp" "$GATES/entered-\$name"
	read -r _ <"$GATES/gate-\$name"
fi
exec "$(dirname "$BIN")/drover-cni" "\$@"
SH
chmod +x "$GATES/drover-cni"
cleanup_more() { # a wrapper still waiting (the test failed before it opened the gate)
	local f
	for f in "$GATES"/entered-*; do
		[ -e "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	return 0
}
AGENT_FLAGS=(--labels "e2e=$E2E_TAG" --no-proxy --cni-bin-dir "$GATES"
	--pod-start-workers "${STARTPOOL_WORKERS:-2}")
node_up

pod() { # NAME: a busybox pod that sleeps, on this node
	cat <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: busybox, command: ["sleep", "3600"]}]
YAML
}
gate() { mkfifo "$GATES/gate-$1"; }
held() { [ -s "$GATES/entered-$1" ] && kill -0 "$(cat "$GATES/entered-$1")" 2>/dev/null; }
# open the gate (the FIFO's writer end: it opens once the waiting wrapper reads)
release() {
	# shellcheck disable=SC2016 # $0 is the inner shell's
	timeout 10 sh -c 'echo go >"$0"' "$GATES/gate-$1" || fail "$1: its gate never opened"
	rm -f "$GATES/entered-$1"
}
gone() { ! k get pod "$1" >/dev/null 2>&1; }

# ---- a slow start holds up no other ----
gate slow
pod slow | k apply -f - >/dev/null || fail "create slow"
wait_for "slow's CNI ADD held at its gate" held slow
pod fast | k apply -f - >/dev/null || fail "create fast"
wait_for "fast Running while slow's start is held" running fast
if running fast && held slow && phase slow Pending; then
	ok "fast Running while slow is still held in its CNI ADD (Pending)"
else
	fail "slow was not held while fast started (phase $(jp pod slow '{.status.phase}'))"
fi
# updated while its start is held
k label pod slow started=late >/dev/null || fail "label slow"
release slow
wait_for "slow Running once released" running slow
expect "slow keeps the label it got while starting" late "$(jp pod slow '{.metadata.labels.started}')"
expect "slow has an address" true "$([ -n "$(jp pod slow '{.status.podIP}')" ] && echo true)"

# ---- deleted while its start is held ----
gate del
pod del | k apply -f - >/dev/null || fail "create del"
wait_for "del's CNI ADD held at its gate" held del
uid=$(jp pod del '{.metadata.uid}')
k delete pod del --wait=false >/dev/null || fail "delete del"
release del
wait_for "del gone once released" gone del
wait_for "nothing left of del" none_left "$uid"

# ---- force-deleted (gone from the API at once) while its start is held ----
gate force
pod force | k apply -f - >/dev/null || fail "create force"
wait_for "force's CNI ADD held at its gate" held force
uid=$(jp pod force '{.metadata.uid}')
k delete pod force --grace-period=0 --force >/dev/null 2>&1 || fail "force delete"
gone force || fail "force still in the API"
# a pod created after the deletion: once it runs, the sync thread has taken force's deletion
# (it takes keys in order); what force's start made so far must still be there, held
pod after | k apply -f - >/dev/null || fail "create after"
wait_for "a pod after them Running" running after
if held force && [ -e "/run/netns/drv-$uid" ]; then
	ok "force's start, under way, is not torn down under it"
else
	fail "force's sandbox went while its start was held"
fi
release force
wait_for "nothing left of force" none_left "$uid"

# every start done, every pod gone: the node has no sandbox or pod cgroup left (a start that
# ran on after the sync thread had forgotten its pod would leave what it made)
k delete pod slow fast after --wait=false >/dev/null 2>&1
wait_for "every pod gone, nothing left on the node" none_left_node
[ "$FAILS" -eq 0 ] || { tail -30 "$WORK/agent.log" >&2; exit 1; }
echo "agent_startpool: all passed"
