#!/usr/bin/env python3
"""report: the scheduler benchmark's raw JSON lines into NAME.json, NAME.md and SVG plots.

usage: report.py RAW RESULTS_DIR NAME COMMAND LOAD_BEFORE LOAD_AFTER COMMIT
"""
import datetime
import json
import os
import platform
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from plot import bar_svg, line_svg  # noqa: E402

raw, out, name, command, load_before, load_after, commit = sys.argv[1:8]
command = command.strip()
runs = [json.loads(l) for l in open(raw) if l.strip().startswith("{")]
GOAL_FACTOR = 10
GOAL_RSS_MIB = 1024


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "?"


machine = {"cpus": os.cpu_count(), "cpu": cpu_model(), "kernel": platform.release(),
           "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
           "load_average_before": load_before, "load_average_after": load_after}
doc = {"benchmark": "sched", "command": command, "commit": commit,
       "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
       "machine": machine, "goal": {"factor_over_kube_scheduler": GOAL_FACTOR,
                                    "control_plane_rss_mib": GOAL_RSS_MIB},
       "runs": runs}
with open(os.path.join(out, name + ".json"), "w") as fh:
    json.dump(doc, fh, indent=1)

wl = [r for r in runs if r.get("measure_pods") and not r.get("streaming")]
stream = [r for r in runs if r.get("streaming")]
rss = [r for r in runs if r.get("workload") == "rss"]
dep = [r for r in runs if r.get("workload") == "deployment"]

md = ["# Scheduler benchmark (%s)\n" % ("quick" if "quick" in name else "full run"),
      "Command: `%s` at commit %s, %s.  " % (command, commit, doc["date"]),
      "Machine: %d CPUs (%s), %s GiB, kernel %s; load average %s before, %s after "
      "(the machine is shared).\n" % (machine["cpus"], machine["cpu"], machine["memory_gib"],
                                     machine["kernel"], load_before, load_after),
      "drover's scheduler (`control/scheduler`) runs with an API server and store in process "
      "and binds through the API, as Kubernetes' scheduler_perf runs kube-scheduler "
      "(`bench/sched/sched_perf.c`; the node and pod templates, counts and namespaces are "
      "scheduler_perf's). The init pods are scheduled first; the measured pods are then created "
      "with the scheduler stopped, and its throughput is sampled every second from its start "
      "until all are bound. After each run every pod and node is read back through the API and "
      "checked: no node over capacity, every hard constraint holding.\n",
      "The baseline is kube-scheduler's scheduler_perf gate for the workload (the average "
      "pods/s its CI must reach, `test/integration/scheduler_perf/*/performance-config.yaml`); "
      "the goal is %dx it on this machine.\n" % GOAL_FACTOR,
      "| workload | nodes | init | measured | pods/s (avg) | p50 | p90 | p99 | kube gate | x gate | goal met | decision µs | violations |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|:-:|---:|---:|"]
for r in wl:
    g = r["k8s_threshold"]
    x = r["pods_per_s"] / g if g else 0
    md.append("| %s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %.1f | %d |" % (
        r["workload"], r["nodes"], r["init_pods"], r["measure_pods"],
        "{:,.0f}".format(r["pods_per_s"]), "{:,.0f}".format(r["p50"]), "{:,.0f}".format(r["p90"]),
        "{:,.0f}".format(r["p99"]), g or "–", ("%.1f" % x) if g else "–",
        ("yes" if x >= GOAL_FACTOR else "**no**") if g else "–", r["decision_us"], r["violations"]))
md.append("\np50/p90/p99 are percentiles of the per-second rates sorted ascending, as "
          "scheduler_perf reports them; a run shorter than a few seconds has few windows. "
          "TopologySpreading has no gate in scheduler_perf.\n")
if stream:
    r = stream[0]
    md.append("Pods created while the scheduler runs (%s, %d pods on %d nodes): %s pods/s; "
              "create→bound latency p50 %.1f ms, p90 %.1f ms, p99 %.1f ms.\n" % (
                  r["workload"], r["measure_pods"], r["nodes"], "{:,.0f}".format(r["pods_per_s"]),
                  r["latency_ms"]["p50"], r["latency_ms"]["p90"], r["latency_ms"]["p99"]))
for r in rss:
    md.append("Control plane RSS (API server + store + scheduler + controller manager, one "
              "process) with %d nodes and %s bound pods: **%.0f MiB** (goal ≤ %d MiB: %s), "
              "read once the server's history compaction (every 5 s in this run, 5 min by "
              "default) has dropped the old versions the creates and bindings left; "
              "checker violations: %d.\n" % (r["nodes"], "{:,}".format(r["pods"]), r["rss_mib"],
                                             GOAL_RSS_MIB, "met" if r["rss_mib"] <= GOAL_RSS_MIB
                                             else "**not met**", r["violations"]))
for r in dep:
    md.append("Deployment of %d replicas on %d simulated nodes (`drover server` + `drover sim` + "
              "kubectl over TLS): apply → `rollout status` done in **%.1f s**; rolling image "
              "update (maxSurge/maxUnavailable 25%%) done in **%.1f s**; server RSS %.0f MiB.\n" % (
                  r["replicas"], r["nodes"], r["apply_to_rolled_out_s"], r["rolling_update_s"],
                  r["server_rss_mib"]))
md.append("Plots: `%s-throughput.svg` (pods/s beside 10x kube's gate), `%s-windows.svg` "
          "(pods/s per second of each run).\n" % (name, name))
with open(os.path.join(out, name + ".md"), "w") as fh:
    fh.write("\n".join(md))

labels = [r["workload"] for r in wl]
bar_svg(os.path.join(out, name + "-throughput.svg"),
        "drover scheduler, %s nodes: pods/s (log scale) beside kube-scheduler's gate x10" %
        "{:,}".format(wl[0]["nodes"] if wl else 0),
        labels, [("drover (average)", "#4c78a8", [r["pods_per_s"] for r in wl])], "pods/s",
        log=True, marks=[("kube gate x10", "#e45756", [r["k8s_threshold"] * GOAL_FACTOR for r in wl]),
                         ("kube gate", "#72b7b2", [r["k8s_threshold"] for r in wl])])
colors = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2", "#ff9da6",
          "#9d755d", "#bab0ac"]
line_svg(os.path.join(out, name + "-windows.svg"), "pods/s in each second of a run",
         [(r["workload"], colors[i % len(colors)], [(j + 1, v) for j, v in enumerate(r.get("series", []))])
          for i, r in enumerate(wl)], "seconds since the scheduler started", "pods/s")
