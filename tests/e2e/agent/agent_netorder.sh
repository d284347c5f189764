#!/usr/bin/env bash
# agent_netorder.sh: a pod's CNI ADD runs alongside the set-up of its volumes and containers
# (agent_pods.c's start_pod, agent_ctr.c's rt_spec.ready), and the order that matters holds.
# The agent's CNI plugin is drover-cni behind a wrapper (a --cni-bin-dir of the test's own)
# that makes every ADD slower than a container's set-up (the race is certain, not likely) and
# refuses the ADD of a pod that has a refuse-NAME file (after the same delay: its container
# is set up and held by then).
#  - no container runs its program before its pod's interface is there: pods whose command
#    exits 3 unless eth0 exists with an IPv4 address at once, started many times, all
#    Succeeded; with status.podIP in their env (the one value of the set-up that waits for
#    the ADD), the value is the address the pod got;
#  - an ADD refused while the container is already set up: the pod stays Pending with its
#    container waiting in ContainerCreating and the kubelet's FailedCreatePodSandBox event,
#    the container's program never ran (it would have left a mark in a hostPath), no
#    container error event, and nothing of the start is left (netns, sandbox record,
#    cgroups); once the ADD is allowed again the sandbox's retry starts the pod;
#  - at the end nothing of any pod is left on the node.
# Same node as agent.sh (lib.sh); everything made is removed on exit, also on failure.
set -uo pipefail
E2E_TAG=drvno
E2E_WAIT_S=${E2E_WAIT_S:-40}
# shellcheck source=tests/e2e/agent/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

N=${NETORDER_PODS:-8}
CNI=$WORK/cni
MARK=$WORK/mark
mkdir -p "$CNI" "$MARK"
cat >"$CNI/drover-cni" <<SH
#!/bin/sh
name=\$(printf '%s\n' "\$CNI_ARGS" | tr ';' '\n' | sed -n 's/^K8S_POD_NAME=//p')
if [ "\$CNI_COMMAND" = ADD ]; then
	echo add >>"$CNI/adds-\$name"
	sleep 0.3
	if [ -e "$CNI/refuse-\$name" ]; then
		cat >/dev/null
		echo '{"cniVersion": "1.0.0", "code": 11, "msg": "e2e: ADD refused"}'
		exit 1
	fi
fi
exec "$(dirname "$BIN")/drover-cni" "\$@"
SH
chmod +x "$CNI/drover-cni"
AGENT_FLAGS=(--labels "e2e=$E2E_TAG" --no-proxy --cni-bin-dir "$CNI")
node_up

# eth0 with an IPv4 address at once, or exit 3
CHECK='[ -e /sys/class/net/eth0 ] && ip -4 addr show dev eth0 | grep -q "inet " || exit 3'
pod() { # NAME [env]: a pod that runs CHECK once (with env: and compares POD_IP)
	local env='' cmd=$CHECK
	if [ "${2:-}" = env ]; then
		env='env: [{name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]'
		cmd="$CHECK; ip -4 addr show dev eth0 | grep -q \"inet \$POD_IP/\" || exit 4"
	fi
	cat <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", '$cmd']
    $env
YAML
}
done_all() { # NAME...: every one Succeeded (the phases on stdout)
	local n p r=0
	for n in "$@"; do
		p=$(jp pod "$n" '{.status.phase}')
		echo "$n=$p"
		case $p in Succeeded) ;; Failed) return 2 ;; *) r=1 ;; esac
	done
	return $r
}

# ---- no program before its interface ----
names=()
for i in $(seq "$N"); do names+=("ord$i"); done
names+=(env1 env2)
for n in "${names[@]}"; do
	case $n in env*) pod "$n" env ;; *) pod "$n" ;; esac
done | sed 's/^apiVersion/---\napiVersion/' | k apply -f - >/dev/null || fail "create the pods"
for _ in $(seq $((E2E_WAIT_S * 5))); do
	OUT=$(done_all "${names[@]}")
	rc=$?
	[ $rc -eq 1 ] || break
	sleep 0.2
done
if [ "$rc" -eq 0 ]; then
	ok "${#names[@]} pods: each found eth0 with its address when its program began"
else
	fail "a pod ran before its interface (or never ended): $(echo "$OUT" | tr '\n' ' ')"
	for n in "${names[@]}"; do
		echo "$n: $(jp pod "$n" '{.status.containerStatuses[0].state.terminated.exitCode}')" >&2
	done
fi
k delete pod "${names[@]}" --wait=false >/dev/null 2>&1

# ---- an ADD refused with the container set up ----
touch "$CNI/refuse-refused"
cat <<YAML | k apply -f - >/dev/null || fail "create refused"
apiVersion: v1
kind: Pod
metadata: {name: refused}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{name: mark, hostPath: {path: $MARK, type: Directory}}]
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "touch /mark/ran; exec sleep 3600"]
    volumeMounts: [{name: mark, mountPath: /mark}]
YAML
uid=$(jp pod refused '{.metadata.uid}')
event() { # REASON: the pod's events of that reason (their messages)
	k get events --field-selector "involvedObject.name=refused,reason=$1" \
		-o 'jsonpath={range .items[*]}{.message}{"\n"}{end}'
}
sandbox_event() { event FailedCreatePodSandBox | grep -F "e2e: ADD refused"; }
wait_for "refused: FailedCreatePodSandBox" sandbox_event
expect "refused: Pending" Pending "$(jp pod refused '{.status.phase}')"
creating() { [ "$(jp pod refused '{.status.containerStatuses[0].state.waiting.reason}')" = ContainerCreating ]; }
wait_for "refused: waiting in ContainerCreating" creating && ok "refused: waiting in ContainerCreating"
expect "refused: no container error event" "" "$(event Failed)"
# the sandbox's retries make a netns for a while (an ADD's 0.3 s): between them, nothing
wait_for "nothing left of refused's start" none_left "$uid"
if [ -e "$MARK/ran" ]; then
	fail "refused's program ran without its network"
else
	ok "refused's program never ran ($(wc -l <"$CNI/adds-refused") ADDs refused)"
fi
rm -f "$CNI/refuse-refused"
# the sandbox's back-off is 10 s
wait_for "refused Running once its ADD is allowed" running refused
expect "refused's program ran once Running" yes "$([ -e "$MARK/ran" ] && echo yes)"

# ---- nothing of any pod left ----
k delete pod refused --wait=false >/dev/null 2>&1
wait_for "every pod gone, nothing left on the node" none_left_node
[ "$FAILS" -eq 0 ] || { tail -30 "$WORK/agent.log" >&2; exit 1; }
echo "agent_netorder: all passed"
