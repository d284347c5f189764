#!/usr/bin/env bash
# agent_attach.sh: `kubectl attach` and `kubectl run -i -t` through drover server to the
# agent's /attach, on lib.sh's node (as agent_logs.sh's). Checks:
#  - run -i -t --rm (stdin, stdinOnce, tty) under script(1) with a scripted input: the typed
#    command's output comes back, the terminal has kubectl's size (resize applied), `exit`
#    ends the container, kubectl returns 0 and the pod is deleted; attach -i -t to a running
#    tty container, left by ending kubectl: the container runs on.
#  - attach -i to a stdin: true container (no tty): piped input read by the process; the
#    session ends with kubectl's stdin but the stdin stays open (no EOF, still Running);
#    the output is in `kubectl logs` too.
#  - two attach sessions at once: each one's input reaches the process, both see all output.
#  - stdinOnce: the first session's end closes the container's stdin (its `read` sees EOF)
#    and that session streams on until the container ends; a killed session (no close of
#    its stdin sent) closes it too.
#  - without stdin: true: attach streams the output from the moment of attach on (not what
#    was written before) and a request's stdin is not passed (containerd's CRI does not: no
#    stdin to copy to); the session lasts past kubectl's stdin EOF.
#  - exec and attach to a container that ended in a Running pod: kubelet's `container not
#    found ("d")` (kubectl shows the answer to its SPDY retry of the refused WebSocket).
#  - after the agent is SIGKILLed and restarted (the container adopted), attach -i reaches the
#    same stdin (the logger process holds it, not the agent).
# Everything made is removed on exit, also on failure.
set -uo pipefail
command -v script >/dev/null || { echo "agent_attach.sh: no script" >&2; exit 1; }
E2E_TAG=drvat
E2E_NET=198.19
E2E_WAIT_S=${E2E_WAIT_S:-60}
BG_PIDS=''
# shellcheck source=tests/e2e/agent/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
cleanup_more() {
	for p in $BG_PIDS; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
}

AGENT_FLAGS=(--node-ip "$NODEIP" --no-proxy)
node_up
T0=$(date +%s.%N)

cat >"$WORK/pods.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: si}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    stdin: true
    command: ["sh", "-c", "while read l; do echo got-$l; done; echo stdin-eof; exec sleep 3600"]
---
apiVersion: v1
kind: Pod
metadata: {name: once}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    stdin: true
    stdinOnce: true
    command: ["sh", "-c", "while read l; do echo got-$l; done; echo stdin-eof; sleep 1; echo bye"]
---
apiVersion: v1
kind: Pod
metadata: {name: once2}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    stdin: true
    stdinOnce: true
    command: ["sh", "-c", "while read l; do echo got-$l; done; echo stdin-eof"]
---
apiVersion: v1
kind: Pod
metadata: {name: tt}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox, stdin: true, tty: true, command: ["sh"]}
---
apiVersion: v1
kind: Pod
metadata: {name: tick}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done"]
---
apiVersion: v1
kind: Pod
metadata: {name: half}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox, command: ["sleep", "3600"]}
  - {name: d, image: busybox, command: ["true"]}
YAML
k apply -f "$WORK/pods.yaml" >/dev/null || fail "apply"
for p in si once once2 tt tick; do wait_for "$p Running" running $p || exit 1; done

# ---- run -i -t: a terminal, typed input, resize, exit ends it, --rm ----
# script(1)'s terminal gets a size kubectl sends on attach; the input waits in that terminal
# until kubectl reads it once attached
# shellcheck disable=SC2016 # the $((...)) is for the container's shell
(sleep 2; printf 'echo hello-$((6*7))\n'; sleep 0.5; printf 'stty size\n'; sleep 0.5; printf 'exit\n') |
	innode timeout 40 script -qec "stty rows 31 cols 91; kubectl run -i -t rt --image=busybox --restart=Never --rm -- sh" /dev/null \
		>"$WORK/run.out" 2>&1
rc=$?
tr -d '\r' <"$WORK/run.out" >"$WORK/run.txt"
expect "run -i -t: kubectl returns 0 after exit" 0 "$rc"
grep -qx 'hello-42' "$WORK/run.txt" && ok "run -i -t: the typed command's output" ||
	fail "run -i -t: no hello-42 in: $(cat "$WORK/run.txt")"
grep -qx '31 91' "$WORK/run.txt" && ok "run -i -t: the terminal has kubectl's size (31 91)" ||
	fail "run -i -t: stty size not 31 91 in: $(cat "$WORK/run.txt")"
grep -q 'pod "rt" deleted' "$WORK/run.txt" && ok "run --rm: the pod deleted" ||
	fail "run --rm: no deletion in: $(cat "$WORK/run.txt")"
gone() { ! k get pod rt >/dev/null 2>&1; }
wait_for "rt gone" gone && ok "rt is gone from the API"

# ---- attach -i -t to a running tty container, left by ending kubectl (1.32 has no detach
# keys; ctrl-c goes to the container in raw mode) ----
# shellcheck disable=SC2016 # the $((...)) is for the container's shell
(sleep 1; printf 'echo re-$((2+3))\n'; sleep 2.5) |
	innode timeout 3 script -qec "kubectl attach -i -t tt" /dev/null >"$WORK/tt.out" 2>&1
tr -d '\r' <"$WORK/tt.out" >"$WORK/tt.txt"
grep -qx 're-5' "$WORK/tt.txt" && ok "attach -it: the typed command's output" ||
	fail "attach -it: no re-5 in: $(cat "$WORK/tt.txt")"
# a terminal's output is logged too, raw, as stdout (containerd's): the echo and the answer
k logs tt | tr -d '\r' | grep -qx 're-5' && ok "logs tt: the terminal's output" ||
	fail "logs tt: no re-5 in: $(k logs tt)"
expect "attach -it: detached, the container runs on" "Running 0" \
	"$(jp pod tt '{.status.phase} {.status.containerStatuses[0].restartCount}')"

# ---- attach -i to a stdin container: piped input, the session ends, stdin stays open ----
OUT=$( (echo one; sleep 1) | k attach -i si -c c 2>"$WORK/si.err")
rc=$?
expect "attach -i si: the process read the input, kubectl exit 0" "got-one rc=0" "$OUT rc=$rc"
OUT=$( (echo two; sleep 1) | k attach -i si 2>/dev/null)
expect "attach -i si again: stdin still open (not stdinOnce)" "got-two" "$OUT"
expect "si still Running, no EOF seen" "Running" "$(jp pod si '{.status.phase}')$(k logs si | grep stdin-eof)"
expect "logs si: the attached input's output" "got-one got-two" "$(k logs si | tr '\n' ' ' | sed 's/ $//')"

# ---- two sessions at once: input from either, output to both ----
(sleep 1.5; echo from-a; sleep 2) | k attach -i si >"$WORK/a.out" 2>/dev/null &
A=$!
(sleep 2.5; echo from-b; sleep 1) | k attach -i si >"$WORK/b.out" 2>/dev/null &
B=$!
BG_PIDS="$A $B"
wait "$A"
wait "$B"
BG_PIDS=''
expect "two attaches: the first saw both inputs' output" "got-from-a got-from-b" "$(tr '\n' ' ' <"$WORK/a.out" | sed 's/ $//')"
expect "two attaches: the second saw both inputs' output" "got-from-a got-from-b" "$(tr '\n' ' ' <"$WORK/b.out" | sed 's/ $//')"

# ---- stdinOnce: the first session's end is the container's EOF; it streams to the end ----
OUT=$( (echo x; sleep 0.5) | innode timeout 20 kubectl attach -i once 2>/dev/null)
rc=$?
expect "stdinOnce: input, EOF after detach, the output to the container's end" \
	"got-x stdin-eof bye rc=0" "$(echo "$OUT" | tr '\n' ' ')rc=$rc"
succeeded() { [ "$(jp pod once '{.status.phase}')" = Succeeded ]; }
wait_for "once Succeeded" succeeded && ok "stdinOnce: the container ended by itself"

# a stdinOnce session that goes without closing its stdin (kubectl killed): EOF all the same
# (its stdin a FIFO held open here; nsenter execs kubectl: $! is kubectl's PID)
mkfifo "$WORK/in"
nsenter --net="/run/netns/$NODE" kubectl attach -i once2 <"$WORK/in" >/dev/null 2>&1 &
BG_PIDS=$!
exec 4>"$WORK/in"
echo y >&4
got_y() { k logs once2 | grep -qx got-y; }
wait_for "once2 read y" got_y
kill -KILL "$BG_PIDS"
wait "$BG_PIDS" 2>/dev/null
BG_PIDS=''
once2_eof() { k logs once2 | grep -qx stdin-eof; }
wait_for "stdinOnce: a killed session's end closes stdin" once2_eof && ok "stdinOnce: a killed session's end is the container's EOF"
exec 4>&-

# ---- no stdin: true: output from the attach on, a request's stdin not passed ----
sleep 1 # tick-0 .. tick-4 or so are written before the attach
(echo ignored; sleep 0.3) | innode timeout 3 kubectl attach -i tick >"$WORK/tick.out" 2>"$WORK/tick.err"
rc=$?
FIRST=$(head -1 "$WORK/tick.out")
case $FIRST in
tick-0 | '') fail "attach tick: first line '$FIRST' (want a later tick; stderr $(cat "$WORK/tick.err"))" ;;
tick-*) ok "attach without stdin: output from the attach on (first $FIRST)" ;;
*) fail "attach tick: '$FIRST'" ;;
esac
# timeout's 124: kubectl's stdin EOF did not end the session (there is no stdin to end)
expect "attach -i without stdin: the session outlives kubectl's stdin" 124 "$rc"
grep -q ignored "$WORK/tick.out" && fail "attach tick: stdin reached a container without stdin"

# ---- a container that ended, in a Running pod: kubelet's answer, over either protocol ----
d_ended() { [ "$(jp pod half '{.status.containerStatuses[?(@.name=="d")].state.terminated.reason}')" = Completed ]; }
wait_for "half: d Completed" d_ended
for verb in "exec half -c d -- true" "attach half -c d"; do
	# shellcheck disable=SC2086 # the words are the arguments
	OUT=$(k $verb </dev/null 2>&1)
	case "$OUT" in
	*'container not found ("d")'*) ok "$verb: container not found (\"d\")" ;;
	*) fail "$verb: $OUT" ;;
	esac
done

# ---- an agent restart: the logger kept the stdin open; the restarted agent attaches ----
PID0=$(jp pod si '{.status.containerStatuses[0].containerID}')
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
start_agent
adopted() { grep -q "pod default/si: container c adopted" "$WORK/agent.log"; }
wait_for "si adopted" adopted
OUT=$( (echo three; sleep 1) | k attach -i si 2>/dev/null)
expect "after an agent restart: attach -i reaches the same stdin" "got-three" "$OUT"
expect "si: the same container, never restarted" "$PID0 0" \
	"$(jp pod si '{.status.containerStatuses[0].containerID} {.status.containerStatuses[0].restartCount}')"

grep -E 'attach|logger' "$WORK/agent.log" | grep -iE 'error|fail' && fail "errors in the agent log"
echo "agent_attach.sh: checks took $(echo "$(date +%s.%N) - $T0" | bc) s"
[ "$FAILS" -eq 0 ] && echo "agent_attach.sh: all passed" || { echo "agent_attach.sh: $FAILS failed" >&2; exit 1; }
