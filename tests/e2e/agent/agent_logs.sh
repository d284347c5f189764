#!/usr/bin/env bash
# agent_logs.sh: `kubectl logs`, `kubectl exec` (and cp) and port-forward through drover
# server to the agent's kubelet endpoint, on lib.sh's node (as agent.sh's): a network namespace of the test's
# own (drvlg-$$-node) running `drover server` on its 127.0.0.1 and `drover agent` (kubelet
# endpoint on port 10250 of the node's InternalIP, which the server dials), the busybox
# image, the real kubectl inside the namespace. Checks:
#  - logs: plain; -f streams while the container runs (a line is seen before the container is
#    told to go on) and returns when it ends; --tail=2; --since-time at a record's time keeps
#    it and the later ones; --timestamps; --limit-bytes; --previous after a restart (and its
#    error without one); -c with two containers; no container named: kube's 400 (raw API)
#    and kubectl's default; an unknown container; an unknown pod.
#  - exec: stdout and stderr apart, exit 3 -> kubectl exits 3 with "command terminated with
#    exit code 3"; in the container's workingDir; a 40-word command; -i with stdin piped
#    (small and 100000 lines); -it under script(1) gets a terminal; an unknown command
#    fails; kubectl cp both ways.
#  - port-forward (SPDY tunneled in WebSocket, kubectl's default): the pod's httpd answers
#    through it twice; a port nothing listens on gets the kubelet's error in kubectl (which
#    then stops) while the first forward still serves; the plain SPDY fallback
#    (KUBECTL_PORT_FORWARD_WEBSOCKETS=false) serves too.
#  - the agent's endpoint: no client certificate 401, the admin's 403, the server's
#    kubelet-client 200, the kubelet-client name from another CA 401 (curl).
#  - an unscheduled pod: logs empty, exec kube's "does not have a host assigned"; an
#    unreachable agent -> the dial error.
# Everything made is removed on exit, also on failure.
set -uo pipefail
for t in curl script; do
	command -v $t >/dev/null || { echo "agent_logs.sh: no $t" >&2; exit 1; }
done
E2E_TAG=drvlg
E2E_NET=198.19
FOLLOW_PID='' PF_PIDS=''
# shellcheck source=tests/e2e/agent/lib.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
# lib.sh's cleanup: the `kubectl logs -f` of the follow check, if it still runs
# and the port-forwards
cleanup_more() {
	[ -z "$FOLLOW_PID" ] || { kill -KILL "$FOLLOW_PID" 2>/dev/null; wait "$FOLLOW_PID" 2>/dev/null; }
	for p in $PF_PIDS; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
}

# the kubelet endpoint on the InternalIP the server dials; --no-proxy: the service proxy (and
# its pins) is agent_proxy.sh's; by default it would pin under the machine-wide /sys/fs/bpf/drover
AGENT_FLAGS=(--node-ip "$NODEIP" --no-proxy)
node_up
expect "Node daemonEndpoints.kubeletEndpoint.Port" 10250 \
	"$(jp node "$NODENAME" '{.status.daemonEndpoints.kubeletEndpoint.Port}')"

cat >"$WORK/pods.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: lg}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command: ["sh", "-c", "echo one; echo two; echo three; echo err >&2; while [ ! -e /tmp/go ]; do sleep 0.1; done; sleep 1; echo four; echo five"]
---
apiVersion: v1
kind: Pod
metadata: {name: two}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: a, image: busybox, command: ["sh", "-c", "echo from-a; exec sleep 3600"]}
  - {name: b, image: busybox, command: ["sh", "-c", "echo from-b; exec sleep 3600"], workingDir: /tmp}
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    command:
    - sh
    - -c
    - |
      mkdir -p /www/cgi-bin && echo hello-from-web >/www/index.html
      head -c 200000 /dev/urandom >/www/big
      printf '#!/bin/sh\necho Content-Type: text/plain\necho\nhead -c "$CONTENT_LENGTH" | md5sum\n' >/www/cgi-bin/up
      chmod +x /www/cgi-bin/up
      exec httpd -f -p 8080 -h /www
---
apiVersion: v1
kind: Pod
metadata: {name: rs}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox, command: ["sh", "-c", "echo run-$(cat /proc/sys/kernel/random/uuid); sleep 1; exit 1"]}
YAML
k apply -f "$WORK/pods.yaml" >/dev/null || fail "apply"
wait_for "lg Running" running lg || exit 1
wait_for "two Running" running two || exit 1

# ---- logs ----
has_err() { grep -q '^err$' "$WORK/follow.out"; }
k logs -f lg >"$WORK/follow.out" 2>"$WORK/follow.err" &
FOLLOW_PID=$!
if wait_for "logs -f shows the lines written so far" has_err; then
	kill -0 "$FOLLOW_PID" 2>/dev/null && ok "logs -f streams while the container runs" ||
		fail "logs -f ended before the container did"
fi
k exec lg -- touch /tmp/go || fail "exec touch /tmp/go"
ended() { ! kill -0 "$FOLLOW_PID" 2>/dev/null; }
if wait_for "logs -f returns when the container ends" ended; then
	wait "$FOLLOW_PID"
	rc=$?
	FOLLOW_PID=''
	expect "logs -f: every line, exit 0" "one two three err four five rc=0" \
		"$(tr '\n' ' ' <"$WORK/follow.out")rc=$rc"
fi
succeeded() { [ "$(jp pod lg '{.status.phase}')" = Succeeded ]; }
wait_for "lg Succeeded" succeeded
expect "logs lg" "one two three err four five" "$(k logs lg | tr '\n' ' ' | sed 's/ $//')"
expect "logs --tail=2" "four five" "$(k logs lg --tail=2 | tr '\n' ' ' | sed 's/ $//')"
expect "logs --tail=0" "" "$(k logs lg --tail=0)"
expect "logs --limit-bytes=6" "one
tw" "$(k logs lg --limit-bytes=6)"
TS=$(k logs lg --timestamps | sed -n 5p)
case $TS in
20[0-9][0-9]-*T*Z\ four) ok "logs --timestamps: $TS" ;;
*) fail "logs --timestamps: line 5 '$TS'" ;;
esac
# sinceTime goes to the kubelet in whole seconds (kube-apiserver formats it RFC 3339): "four"
# is written a second after "err", so that second holds "four" and "five" only
expect "logs --since-time at the 5th record's time" "four five" \
	"$(k logs lg --since-time="${TS%% *}" | tr '\n' ' ' | sed 's/ $//')"
expect "logs --since-time tomorrow" "" "$(k logs lg --since-time="$(date -u -d tomorrow +%Y-%m-%dT%H:%M:%SZ)")"
expect "logs --since=1h" "one two three err four five" "$(k logs lg --since=1h | tr '\n' ' ' | sed 's/ $//')"
OUT=$(k logs lg --previous 2>&1) && fail "logs --previous without a restart succeeded: $OUT"
expect "logs --previous without a restart" \
	'Error from server (BadRequest): previous terminated container "c" in pod "lg" not found' "$OUT"

expect "logs two -c b" "from-b" "$(k logs two -c b)"
expect "logs two -c a" "from-a" "$(k logs two -c a)"
OUT=$(k get --raw /api/v1/namespaces/default/pods/two/log 2>&1)
expect "no container named (API): kube's 400" \
	'Error from server (BadRequest): a container name must be specified for pod two, choose one of: [a b]' "$OUT"
OUT=$(k logs two 2>&1)
expect "kubectl logs without -c: kubectl picks the first" 'Defaulted container "a" out of: a, b
from-a' "$OUT"
OUT=$(k get --raw '/api/v1/namespaces/default/pods/two/log?container=nosuch' 2>&1)
expect "unknown container (API)" 'Error from server (BadRequest): container nosuch is not valid for pod two' "$OUT"
OUT=$(k get --raw /api/v1/namespaces/default/pods/nosuch/log 2>&1)
expect "unknown pod" 'Error from server (NotFound): pods "nosuch" not found' "$OUT"

restarted() { [ "$(jp pod rs '{.status.containerStatuses[0].restartCount}')" -ge 1 ] 2>/dev/null &&
	k logs rs >/dev/null 2>&1 && k logs rs --previous >/dev/null 2>&1; }
if wait_for "rs restarted once" restarted; then
	PREV=$(k logs rs --previous)
	CUR=$(k logs rs)
	case $PREV in run-*) ;; *) fail "logs --previous: '$PREV'" ;; esac
	case $CUR in run-*) ;; *) fail "logs (after a restart): '$CUR'" ;; esac
	[ "$PREV" != "$CUR" ] && ok "logs --previous shows the run before ($PREV, now $CUR)" ||
		fail "--previous equals the current run: $PREV"
fi

# ---- exec ----
k exec two -c a -- sh -c 'echo out; echo err >&2; exit 3' >"$WORK/x.out" 2>"$WORK/x.err"
rc=$?
expect "exec: exit code 3 is kubectl's" 3 "$rc"
expect "exec: stdout" out "$(cat "$WORK/x.out")"
expect "exec: stderr and kubectl's message" "err
command terminated with exit code 3" "$(cat "$WORK/x.err")"
expect "exec -i: stdin piped" hi "$(echo hi | k exec -i two -c a -- cat)"
expect "exec -i: 100000 lines through cat | wc -l" 100000 \
	"$(seq 1 100000 | k exec -i two -c a -- sh -c 'cat | wc -l' | tr -d ' ')"
# one command= per word (the container= and stdout= after them): every argument of a
# request reaches the agent, however many
expect "exec of a 40-word command keeps every word" "$(seq -s ' ' 1 40)" \
	"$(k exec two -c a -- echo $(seq 1 40))"
expect "exec sees the container's env and hostname" two "$(k exec two -c b -- hostname)"
expect "exec runs in the container's workingDir" "/tmp /" \
	"$(k exec two -c b -- pwd) $(k exec two -c a -- pwd)"
OUT=$(k exec two -c a -- nosuchcmd 2>&1)
rc=$?
[ $rc -ne 0 ] && case $OUT in *nosuchcmd*) true ;; *) false ;; esac &&
	ok "exec of an unknown command fails: $OUT" || fail "exec nosuchcmd: rc $rc, '$OUT'"
OUT=$(innode script -qec "kubectl exec -it two -c a -- sh -c 'tty; echo rows=\$(stty size)'" /dev/null 2>&1 | tr -d '\r')
case $OUT in
*/dev/pts/*rows=*) ok "exec -it under script(1): a terminal ($(echo "$OUT" | head -1))" ;;
*) fail "exec -it: '$OUT'" ;;
esac
head -c 300000 /dev/urandom >"$WORK/blob"
k cp "$WORK/blob" default/two:/tmp/blob -c a >/dev/null 2>"$WORK/cp.err" || fail "cp to: $(cat "$WORK/cp.err")"
expect "cp to the pod" "$(md5sum <"$WORK/blob" | cut -d' ' -f1)" \
	"$(k exec two -c a -- md5sum /tmp/blob | cut -d' ' -f1)"
k cp default/two:/tmp/blob "$WORK/back" -c a >/dev/null 2>"$WORK/cp.err" || fail "cp from: $(cat "$WORK/cp.err")"
cmp -s "$WORK/blob" "$WORK/back" && ok "cp from the pod: same bytes" || fail "cp from the pod differs"

# ---- port-forward ----
# pf_start N ARGS...: `kubectl port-forward ARGS` in the background (PF_PIDS), its output in
# pfN.out/err; returns once it listens
pf_start() {
	local n=$1
	shift
	# nsenter execs kubectl: $! is kubectl's own PID
	nsenter --net="/run/netns/$NODE" kubectl port-forward "$@" >"$WORK/pf$n.out" 2>"$WORK/pf$n.err" &
	PF_PIDS="$PF_PIDS $!"
	PF_PID=$!
	wait_for "port-forward $* listens" grep -q '^Forwarding from 127.0.0.1:' "$WORK/pf$n.out"
}
get() { innode curl -s --max-time 30 "http://127.0.0.1:$1/"; }
wait_for "web Running" running web
pf_start 1 pod/web 18080:8080
PF1=$PF_PID
expect "port-forward: the pod's answer" hello-from-web "$(get 18080)"
expect "port-forward: a second connection" hello-from-web "$(get 18080)"
expect "port-forward: kubectl handled two connections" 2 "$(grep -c 'Handling connection for 18080' "$WORK/pf1.out")"
expect "port-forward: 200 kB from the pod" "$(k exec web -- md5sum /www/big | cut -d' ' -f1)" \
	"$(innode curl -s --max-time 60 http://127.0.0.1:18080/big | md5sum | cut -d' ' -f1)"
head -c 200000 /dev/urandom >"$WORK/pfblob"
expect "port-forward: 200 kB to the pod (its CGI's md5sum)" "$(md5sum <"$WORK/pfblob" | cut -d' ' -f1)" \
	"$(innode curl -s --max-time 60 --data-binary @"$WORK/pfblob" http://127.0.0.1:18080/cgi-bin/up | cut -d' ' -f1)"
grep -q 'port-forward session (SPDY over WebSocket)' "$WORK/agent.log" &&
	ok "port-forward: kubectl tunnels SPDY in WebSocket" || fail "port-forward: no WebSocket session in the agent's log"
# a port nothing listens on: the kubelet's error on the error stream; kubectl prints it and
# (1.29 on) closes its connection, so that forward ends
pf_start 2 pod/web 18081:81
get 18081 >/dev/null
wait_for "port-forward to a closed port ends" eval '! kill -0 '"$PF_PID"' 2>/dev/null'
case $(cat "$WORK/pf2.err") in
*"error forwarding port 81 to pod "*"dial tcp4 127.0.0.1:81: connect: connection refused"*)
	ok "port-forward to a closed port: the error reaches kubectl" ;;
*) fail "port-forward to a closed port: '$(cat "$WORK/pf2.err")'" ;;
esac
expect "port-forward: the first forward still serves after another's error" hello-from-web "$(get 18080)"
# kubectl's fallback when the WebSocket upgrade is off: SPDY/3.1 through the server
KUBECTL_PORT_FORWARD_WEBSOCKETS=false pf_start 3 pod/web 18082:8080
expect "port-forward over plain SPDY" hello-from-web "$(get 18082)"
grep -q 'port-forward session (SPDY)' "$WORK/agent.log" &&
	ok "port-forward: the SPDY fallback reached the agent" || fail "port-forward: no SPDY session in the agent's log"
kill -TERM $PF_PIDS 2>/dev/null
for p in $PF_PIDS; do wait "$p" 2>/dev/null; done
PF_PIDS=''
kill -0 "$PF1" 2>/dev/null && fail "port-forward still running after its kill"
# every session ends with its client (the two killed and the one that stopped on its error)
pf_ended() { [ "$(grep -c 'port-forward session ended' "$WORK/agent.log")" -eq 3 ]; }
wait_for "the agent ends the port-forward sessions of the killed kubectls" pf_ended

# ---- the agent's endpoint: who may call ----
PKI=$WORK/data/pki
URL=https://$NODEIP:10250/containerLogs/default/two/a
code() { innode curl -sk -o "$WORK/curl.out" -w '%{http_code}' "$@" "$URL"; }
expect "agent: no client certificate -> 401" 401 "$(code)"
expect "agent: the admin's certificate -> 403" 403 "$(code --cert "$PKI/admin.crt" --key "$PKI/admin.key")"
expect "agent: the server's kubelet-client certificate -> 200" 200 \
	"$(code --cert "$PKI/kubelet-client.crt" --key "$PKI/kubelet-client.key")"
expect "agent: its answer" from-a "$(cat "$WORK/curl.out")"
# the right name from another CA is nobody: the agent checks the signature, not the name
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj "/O=system:masters/CN=kube-apiserver-kubelet-client" \
	-keyout "$WORK/other.key" -out "$WORK/other.crt" >/dev/null 2>&1 || fail "openssl"
expect "agent: kube-apiserver-kubelet-client from another CA -> 401" 401 \
	"$(code --cert "$WORK/other.crt" --key "$WORK/other.key")"

# ---- a pod no node runs ----
cat >"$WORK/pending.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: nowhere}
spec:
  nodeSelector: {no-such-label: x}
  containers:
  - {name: c, image: busybox}
YAML
k apply -f "$WORK/pending.yaml" >/dev/null || fail "apply nowhere"
OUT=$(k logs nowhere 2>&1)
rc=$?
expect "logs of an unscheduled pod: empty, as kube-apiserver (no location)" "0:" "$rc:$OUT"
OUT=$(k exec nowhere -- true 2>&1)
expect "exec into an unscheduled pod" 'Error from server (BadRequest): pod nowhere does not have a host assigned' "$OUT"

# ---- the server stops while a log follow and an exec are open: both end, so does it ----
k logs -f two -c a >/dev/null 2>&1 &
P1=$!
mkfifo "$WORK/stdin"
k exec -i two -c a -- cat <"$WORK/stdin" >/dev/null 2>&1 &
P2=$!
exec 9>"$WORK/stdin" # its stdin stays open: cat runs until the end
execing() { grep -q 'exec cat (pid' "$WORK/agent.log"; }
wait_for "exec cat running" execing
kill -TERM "$SERVER_PID"
server_gone() { ! kill -0 "$SERVER_PID" 2>/dev/null; }
if wait_for "the server stops with a follow and an exec open" server_gone; then
	wait "$SERVER_PID"
	expect "server stopped cleanly (exit 0) with a follow and an exec open" 0 $?
fi
wait_for "kubectl logs -f ended" eval '! kill -0 '$P1' 2>/dev/null'
wait_for "kubectl exec ended" eval '! kill -0 '$P2' 2>/dev/null'
exec 9>&-
kill -KILL $P1 $P2 2>/dev/null
nsenter --net="/run/netns/$NODE" "$BIN" server --data-dir "$WORK/data" --listen 127.0.0.1:0 \
	--cluster-cidr 10.244.0.0/16 >>"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_for "server answers again" k get --raw /readyz

# ---- an agent that is down ----
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=''
OUT=$(k logs two -c a 2>&1)
case $OUT in
"Error from server: Get \"https://$NODEIP:10250/containerLogs/default/two/a\": dial tcp $NODEIP:10250: connect: connection refused")
	ok "agent down: $OUT" ;;
*) fail "agent down: '$OUT'" ;;
esac

if [ $FAILS -ne 0 ]; then
	echo "--- agent log" >&2
	tail -30 "$WORK/agent.log" >&2
	echo "agent_logs.sh: $FAILS check(s) failed" >&2
	exit 1
fi
echo "agent_logs.sh: all checks passed"
