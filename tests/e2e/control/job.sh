#!/usr/bin/env bash
# job.sh: a Job through the whole loop: completions 4, parallelism 2 on simulated nodes (whose
# pods of Jobs succeed after --job-seconds) reaches Complete with 4 succeeded pods, never
# more than 2 active at once; `kubectl wait --for=condition=complete` ends.
. "$(dirname "$0")/common.sh"

cluster_start
sim_start nodes --nodes 2 --name-prefix job- --job-seconds 1
check "2 nodes Ready" wait_for 60 '[ "$(ready_nodes)" -eq 2 ]'
k get pods -l job-name=calc --watch --output-watch-events -o json >"$WORK/events.json" 2>/dev/null &
PIDS+=($!)
k apply -f - >/dev/null <<'YAML'
apiVersion: batch/v1
kind: Job
metadata: {name: calc}
spec:
  completions: 4
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: calc, image: "calc:v1"}
YAML
check "Job Complete" k wait --for=condition=complete job/calc --timeout=120s
check "4 succeeded" test "$(k get job calc -o jsonpath='{.status.succeeded}')" = 4
check "4 pods Succeeded" test "$(pods_phase default job-name=calc Succeeded)" -eq 4
wait_quiet "$WORK/events.json"
max=$(python3 - "$WORK/events.json" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
dec, i, active, most = json.JSONDecoder(), 0, {}, 0
while i < len(text):
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    ev, i = dec.raw_decode(text, i)
    p = ev["object"]
    active[p["metadata"]["name"]] = ev["type"] != "DELETED" and p.get("status", {}).get("phase") in (None, "Pending", "Running")
    most = max(most, sum(active.values()))
print(most)
PY
)
check "never more than 2 active at once (most $max)" test "$max" -le 2
finish
