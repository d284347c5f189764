#!/usr/bin/env bash
# rollout.sh: a rolling update through the whole loop: a Deployment of 6 (maxUnavailable 1,
# maxSurge 1) on simulated nodes goes from image v1 to v2 without ever having fewer than 5
# ready pods (every pod event of the rollout is recorded by a watch and replayed), `kubectl
# rollout status` ends, `rollout history` lists both revisions, and `rollout undo` brings v1
# back; READY/UP-TO-DATE/AVAILABLE of `kubectl get deploy` say 6/6 6 6 at the end.
. "$(dirname "$0")/common.sh"

cluster_start
sim_start nodes --nodes 3 --name-prefix ro-
check "3 nodes Ready" wait_for 60 '[ "$(ready_nodes)" -eq 3 ]'

deploy() {
	k apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 6
  selector: {matchLabels: {app: web}}
  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1, maxSurge: 1}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: app, image: "web:$1"}
YAML
}
deploy v1
check "v1 rolled out" k rollout status deployment/web --timeout=120s

# every pod event from now on, as JSON lines
k get pods -l app=web --watch --output-watch-events -o json >"$WORK/events.json" 2>/dev/null &
PIDS+=($!)
WATCH_PID=$!
wait_until 10 test -s "$WORK/events.json"
deploy v2
check "v2 rolled out" k rollout status deployment/web --timeout=180s
wait_quiet "$WORK/events.json"
kill "$WATCH_PID" 2>/dev/null
min=$(python3 - "$WORK/events.json" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
dec, i, ready, lowest, seen = json.JSONDecoder(), 0, {}, None, 0
while i < len(text):
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    ev, i = dec.raw_decode(text, i)
    pod = ev["object"]
    name = pod["metadata"]["name"]
    ok = ev["type"] != "DELETED" and not pod["metadata"].get("deletionTimestamp") and any(
        c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))
    ready[name] = ok
    seen += 1
    n = sum(ready.values())
    # the initial ADDED events fill the set: count from when all six were seen
    if seen >= 6:
        lowest = n if lowest is None else min(lowest, n)
print(lowest if lowest is not None else -1)
PY
)
check "never fewer than 5 ready during the rollout (lowest $min)" test "$min" -ge 5
# the old pods may still be Terminating (their grace not over): the others must all be v2
live_images() {
	k get pods -l app=web --no-headers \
		-o custom-columns=IMAGE:.spec.containers[0].image,DELETING:.metadata.deletionTimestamp |
		awk '$2 == "<none>" {print $1}' | sort -u
}
images=$(live_images)
check "every pod not terminating runs v2 ($images)" test "$images" = "web:v2"
check "rollout history has revisions 1 and 2" sh -c \
	"'$K' rollout history deployment/web | grep -q '^1 ' && '$K' rollout history deployment/web | grep -q '^2 '"
check "rollout undo" k rollout undo deployment/web
check "v1 back" k rollout status deployment/web --timeout=180s
runs_only() { test "$(live_images)" = "$1"; }
check "every pod not terminating runs v1 again" wait_until 60 runs_only web:v1
line=$(k get deploy web --no-headers | awk '{print $2, $3, $4}')
check "kubectl get deploy says 6/6 6 6 ($line)" test "$line" = "6/6 6 6"
finish
