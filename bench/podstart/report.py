"""Writes bench/results/NAME.{json,md}, NAME-latency.svg and NAME-phases.svg from run.py's and
podman.py's raw samples and the agent's log (its per-pod start phases)."""
import argparse, datetime, json, os, platform, re, sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from plot import bar_svg  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--drover", required=True)
ap.add_argument("--agent-log", required=True)
ap.add_argument("--podman", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--name", required=True)
ap.add_argument("--command", required=True)
ap.add_argument("--load", nargs=2, required=True)
ap.add_argument("--commit", required=True)
ap.add_argument("--noise", nargs=2)  # noise.py before and after
a = ap.parse_args()

GOAL_N, GOAL_P50, GOAL_P99, GOAL_X = 10, 50.0, 200.0, 5.0
SLO_P99, CONTAINERD = 5000.0, 1500.0
PHASES = ["netns", "cni", "cgroup", "image", "process"]

drv = json.load(open(a.drover))
pm = json.load(open(a.podman))
line_re = re.compile(r"pod [^/\s]+/(\S+): container \S+ start phases: netns ([\d.]+) ms, "
                     r"cni ([\d.]+) ms, cgroup ([\d.]+) ms, image ([\d.]+) ms, process ([\d.]+) ms")
phases = {}
for line in open(a.agent_log, errors="replace"):
    m = line_re.search(line)
    if m:
        phases.setdefault(m.group(1), [float(x) for x in m.groups()[1:]])


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def stats(v):
    return {"n": len(v), "p50_ms": round(pct(v, 50), 2), "p99_ms": round(pct(v, 99), 2),
            "mean_ms": round(sum(v) / len(v), 2), "min_ms": round(min(v), 2),
            "max_ms": round(max(v), 2)}


def by_count(raw):
    out = {}
    for r in raw["rounds"]:
        for name, p in r["pods"].items():
            out.setdefault(r["n"], []).append((name, p))
    return out


mem = 0
for line in open("/proc/meminfo"):
    if line.startswith("MemTotal"):
        mem = int(line.split()[1]) / 1024 / 1024
res = {"command": a.command, "commit": a.commit,
       "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
       "machine": {"cpus": os.cpu_count(), "mem_gib": round(mem, 1), "kernel": platform.release(),
                   "load_before": a.load[0], "load_after": a.load[1]},
       "plan": drv["plan"], "baseline": {"podman": pm["podman"], "runtime": pm["runtime"]},
       "goals": {"at_pods": GOAL_N, "p50_ms": GOAL_P50, "p99_ms": GOAL_P99,
                 "x_faster_than_podman": GOAL_X},
       "anchors": {"kubernetes_slo_p99_ms": SLO_P99, "containerd_cni_ms": CONTAINERD},
       "counts": {}}
dc, pc = by_count(drv), by_count(pm)
missing = 0
for n in sorted(dc):
    pods = dc[n]
    e = {"drover": {"running": stats([p["running_ms"] for _, p in pods]),
                    "ready": stats([p["ready_ms"] for _, p in pods]),
                    "create_to_ready": stats([p["create_to_ready_ms"] for _, p in pods]),
                    "phases": {}}}
    ph = [phases[name] for name, _ in pods if name in phases]
    missing += len(pods) - len(ph)
    for i, k in enumerate(PHASES):
        e["drover"]["phases"][k] = stats([x[i] for x in ph]) if ph else None
    # the rest of bind->Running: the informer's delivery, the sync queue (pods start one after
    # another), the status PATCH and the watch back to the client
    other = [p["running_ms"] - sum(phases[name]) for name, p in pods if name in phases]
    e["drover"]["phases"]["queue_status_watch"] = stats(other) if other else None
    if n in pc:
        e["podman_crun"] = {"running": stats([p["running_ms"] for _, p in pc[n]]),
                            "failed_runs": sum(len(r.get("failed", [])) for r in pm["rounds"]
                                               if r["n"] == n)}
        d, b = e["drover"]["running"], e["podman_crun"]["running"]
        e["x_faster_p50"] = round(b["p50_ms"] / d["p50_ms"], 2)
        e["x_faster_p99"] = round(b["p99_ms"] / d["p99_ms"], 2)
    res["counts"][str(n)] = e
g = res["counts"].get(str(GOAL_N))
if g:
    r = g["drover"]["ready"]
    res["goals"]["met_p50"] = r["p50_ms"] <= GOAL_P50
    res["goals"]["met_p99"] = r["p99_ms"] <= GOAL_P99
    res["goals"]["met_x"] = g.get("x_faster_p50", 0) >= GOAL_X
res["agent_log_lines_missing"] = missing
if a.noise:
    res["machine"]["spawn"] = {when: {k: stats(v) for k, v in json.load(open(f)).items()}
                               for when, f in zip(("before", "after"), a.noise)}
os.makedirs(a.out, exist_ok=True)
json.dump(res, open(os.path.join(a.out, a.name + ".json"), "w"), indent=1)

C = res["counts"]
md = ["# Pod start benchmark: bind to Running and Ready", "",
      "Command: `%s` at commit %s, %s.  " % (a.command, a.commit, res["date"]),
      "Machine: %d CPUs, %.1f GiB, kernel %s; load average %s before, %s after (the machine is "
      "shared)." % (os.cpu_count(), mem, platform.release(), a.load[0], a.load[1])]
if a.noise:
    sp = res["machine"]["spawn"]
    md[-1] += ("  \nThe same harness timed fork+exec of `/bin/true` at p50 %.1f ms before, %.1f ms "
               "after, and `unshare -fpmnui /bin/true` at %.1f / %.1f ms (machine-facts.md, idle: "
               "3.6 and 9.8 ms): the measure of how loaded the machine was."
               % (sp["before"]["true"]["p50_ms"], sp["after"]["true"]["p50_ms"],
                  sp["before"]["unshare"]["p50_ms"], sp["after"]["unshare"]["p50_ms"]))
md += ["",
      "N pods at once (%s: pods at once x rounds) on one node. **drover**: `drover server` and one "
      "`drover agent` in a network namespace of the benchmark's own; the pods (busybox `sleep`, "
      "limits 64Mi/100m) are created already bound (spec.nodeName) from up to 16 parallel "
      "connections; one client-side watch stamps every event with a monotonic clock: bind = the "
      "pod's ADDED event, Running = the first event with phase Running, Ready = the first with "
      "Ready=True (the API's timestamps have 1 s resolution). **podman + crun** (%s, %s): the "
      "same busybox image (the same OCI layout, `podman load`ed), N `podman run -d` spawned at "
      "once with a CNI bridge + host-local network and the same limits; time from each spawn to "
      "its exit (it returns once crun has started the container; all checked running)."
      % (", ".join("%d x %d" % (n, r) for n, r in res["plan"]), pm["podman"], pm["runtime"]), "",
      "| pods at once | drover bind->Running p50 / p99 | drover bind->Ready p50 / p99 | "
      "podman+crun run->running p50 / p99 | podman / drover (p50, p99) |",
      "|---:|---:|---:|---:|---:|"]
for n, e in C.items():
    d = e["drover"]
    b = e.get("podman_crun", {}).get("running")
    md.append("| %s | %.1f / %.1f ms | %.1f / %.1f ms | %s | %s |" % (
        n, d["running"]["p50_ms"], d["running"]["p99_ms"], d["ready"]["p50_ms"],
        d["ready"]["p99_ms"], "%.1f / %.1f ms" % (b["p50_ms"], b["p99_ms"]) if b else "-",
        "%.1fx, %.1fx" % (e["x_faster_p50"], e["x_faster_p99"]) if b else "-"))
md += ["", "drover's start split (the agent's log, per pod, p50 / p99 in ms): netns = the network "
       "namespace made and bound; cni = the plugin's ADD (drover-cni, spawned as a runtime does); "
       "cgroup = the container's cgroups made and limited (v1 here); image = resolve in the image "
       "store and the run's directories; process = drover's runtime: clone into new namespaces, "
       "the overlay root mounted, pivot_root, exec (and the log pipe). The rest of bind->Running "
       "is the informer's delivery, waiting in the agent's sync queue (new pods start one after "
       "another: a pod waits for the starts before it), the status PATCH and the watch event "
       "back (below 0 when the agent saw the pod before the benchmark's watch did). Starting "
       "pods side by side (one thread each, batches of 4 or 16) was tried and measured slower "
       "here, interleaved with serial starts: the phases stretch as they contend for the same "
       "2 CPUs and kernel locks (rtnl, namespace and mount setup).", "",
       "| pods at once | netns | cni | cgroup | image | process | rest (queue, status, watch) |",
       "|---:|---:|---:|---:|---:|---:|---:|"]
for n, e in C.items():
    ph = e["drover"]["phases"]
    md.append("| %s | %s |" % (n, " | ".join(
        "%.1f / %.1f" % (ph[k]["p50_ms"], ph[k]["p99_ms"]) if ph[k] else "-"
        for k in PHASES + ["queue_status_watch"])))
if g:
    md += ["", "Goals (issue 10), at %d pods: bind->Ready p50 %.1f ms (goal <= %.0f ms: %s), p99 "
           "%.1f ms (goal <= %.0f ms: %s); podman+crun / drover at p50 %.1fx (goal >= %.0fx: %s)."
           % (GOAL_N, g["drover"]["ready"]["p50_ms"], GOAL_P50,
              "met" if res["goals"]["met_p50"] else "not met", g["drover"]["ready"]["p99_ms"],
              GOAL_P99, "met" if res["goals"]["met_p99"] else "not met",
              g.get("x_faster_p50", 0), GOAL_X, "met" if res["goals"]["met_x"] else "not met")]
worst = max(e["drover"]["ready"]["p99_ms"] for e in C.values())
md += ["", "Anchors: Kubernetes' pod startup SLO, p99 <= 5 s with pre-pulled images (drover's worst "
       "bind->Ready p99 here: %.1f ms); containerd + CNI ~1.5 s per pod; podman run with a CNI "
       "network ~549 ms alone on this machine (machine-facts.md)." % worst]
fails = {n: e["podman_crun"]["failed_runs"] for n, e in C.items() if e.get("podman_crun", {}).get("failed_runs")}
if fails:
    md += ["", "podman runs that failed (not timed): %s." % ", ".join(
        "%s at %s at once" % (v, n) for n, v in fails.items())]
if missing:
    md += ["", "%d pods had no start-phase line in the agent's log." % missing]
md += ["", "Plots: `%s-latency.svg` (log scale), `%s-phases.svg`." % (a.name, a.name)]
open(os.path.join(a.out, a.name + ".md"), "w").write("\n".join(md) + "\n")

labels, s_run, s_ready, s_pm, goals = [], [], [], [], []
for n, e in C.items():
    for q in ("p50", "p99"):
        labels.append("%s pod%s, %s" % (n, "" if n == "1" else "s", q))
        s_run.append(e["drover"]["running"][q + "_ms"])
        s_ready.append(e["drover"]["ready"][q + "_ms"])
        s_pm.append(e.get("podman_crun", {}).get("running", {}).get(q + "_ms", 0))
        goals.append((GOAL_P50 if q == "p50" else GOAL_P99) if n == str(GOAL_N) else 0)
bar_svg(os.path.join(a.out, a.name + "-latency.svg"),
        "Pod start: bind to Running/Ready (drover) vs podman run -d (podman+crun)", labels,
        [("drover bind->Running", "#2b7bba", s_run), ("drover bind->Ready", "#6baed6", s_ready),
         ("podman+crun run -d", "#999999", s_pm)], "ms", log=True,
        marks=[("goal at 10 pods", "#d62728", goals)])
colors = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#999999"]
labels, series = [], [(k, c, []) for k, c in zip(PHASES + ["queue_status_watch"], colors)]
for n, e in C.items():
    labels.append("%s pod%s, p50" % (n, "" if n == "1" else "s"))
    for k, _, vals in series:
        ph = e["drover"]["phases"][k]
        vals.append(max(ph["p50_ms"], 0) if ph else 0)  # the rest can be < 0: see the table
bar_svg(os.path.join(a.out, a.name + "-phases.svg"), "drover pod start, split (p50)", labels,
        series, "ms", log=True)
