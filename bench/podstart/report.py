"""Writes bench/results/NAME.{json,md}, NAME-latency.svg and NAME-phases.svg from run.py's and
podman.py's raw samples and the agent's log (its per-pod start phases and, where the agent
logs it, the timeline of each start: seen, waited for a starter, cgroup purge, sandbox,
volumes, containers, status). run.py's files are passes (bench.sh --base: one per build and
pass); pods are pooled over a build's passes, and each pass's p50 / p99 gives the min-max."""
import argparse, datetime, json, os, platform, re, sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from plot import bar_svg  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--drover", nargs="+", required=True)
ap.add_argument("--base", nargs="+")  # the baseline build's passes (bench.sh --base)
ap.add_argument("--base-bin")
ap.add_argument("--agent-log", nargs="+", required=True)
ap.add_argument("--podman")
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



def passes(files):
    out = [json.load(open(f)) for f in files]
    return {"plan": out[0]["plan"], "passes": out,
            "rounds": [r for p in out for r in p["rounds"]]}


drv = passes(a.drover)
base = passes(a.base) if a.base else None
pm = json.load(open(a.podman)) if a.podman else None
line_re = re.compile(r"pod [^/\s]+/(\S+): container \S+ start phases: netns ([\d.]+) ms, "
                     r"cni ([\d.]+) ms, cgroup ([\d.]+) ms, image ([\d.]+) ms, process ([\d.]+) ms")
# the parts of a start that follow each other (summed to the timeline); a build that makes its
# sandbox alongside the volumes and containers logs the netns' and the ADD's own times
# (netns_alongside, cni_alongside: not summed) and the wait for it after the containers
# (net_wait); an older build logs none of them
START = ["seen", "wait", "purge", "sandbox", "volumes", "containers", "net_wait", "status"]
SUMMED = ["wait", "purge", "sandbox", "volumes", "containers", "net_wait", "status"]
start_re = re.compile(r"pod [^/\s]+/(\S+): start: seen at ([\d.]+) ms, waited ([-\d.]+) ms for a "
                      r"starter, cgroup purge ([\d.]+) ms, sandbox ([\d.]+) ms(?: \(its netns "
                      r"([\d.]+) ms and CNI ADD ([\d.]+) ms alongside, waited ([\d.]+) ms after "
                      r"the containers\))?, volumes ([\d.]+) ms, containers ([\d.]+) ms, status "
                      r"([\d.]+) ms")
phases, starts = {}, {}
for f in a.agent_log:
    for line in open(f, errors="replace"):
        m = line_re.search(line)
        if m:
            phases.setdefault(m.group(1), [float(x) for x in m.groups()[1:]])
        m = start_re.search(line)
        if m:
            g = m.groups()
            starts.setdefault(g[0], {"seen": float(g[1]), "wait": float(g[2]),
                                     "purge": float(g[3]), "sandbox": float(g[4]),
                                     "netns_alongside": float(g[5] or 0),
                                     "cni_alongside": float(g[6] or 0),
                                     "net_wait": float(g[7] or 0), "volumes": float(g[8]),
                                     "containers": float(g[9]), "status": float(g[10])})


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
       "plan": drv["plan"], "passes": len(drv["passes"]),
       "baseline": {"podman": pm["podman"], "runtime": pm["runtime"]} if pm else None,
       "base_build": a.base_bin,
       "goals": {"at_pods": GOAL_N, "p50_ms": GOAL_P50, "p99_ms": GOAL_P99,
                 "x_faster_than_podman": GOAL_X},
       "anchors": {"kubernetes_slo_p99_ms": SLO_P99, "containerd_cni_ms": CONTAINERD},
       "counts": {}}


def per_pass(raw, n, key):
    """Each pass's p50 and p99 of key at n pods: [min, max] of each."""
    p50, p99 = [], []
    for ps in raw["passes"]:
        v = [p[key] for r in ps["rounds"] if r["n"] == n for p in r["pods"].values()]
        if v:
            p50.append(pct(v, 50))
            p99.append(pct(v, 99))
    return {"passes": len(p50), "p50_min_max_ms": [round(min(p50), 2), round(max(p50), 2)],
            "p99_min_max_ms": [round(min(p99), 2), round(max(p99), 2)]}


def build(raw, n, pods):
    return {"running": stats([p["running_ms"] for _, p in pods]),
            "ready": stats([p["ready_ms"] for _, p in pods]),
            "create_to_ready": stats([p["create_to_ready_ms"] for _, p in pods]),
            "running_per_pass": per_pass(raw, n, "running_ms"),
            "ready_per_pass": per_pass(raw, n, "ready_ms")}


dc, pc = by_count(drv), by_count(pm) if pm else {}
bc = by_count(base) if base else {}
missing = 0
for n in sorted(dc):
    pods = dc[n]
    e = {"drover": dict(build(drv, n, pods), phases={}, start={})}
    if n in bc:
        e["base"] = build(base, n, bc[n])
    ph = [phases[name] for name, _ in pods if name in phases]
    missing += len(pods) - len(ph)
    for i, k in enumerate(PHASES):
        e["drover"]["phases"][k] = stats([x[i] for x in ph]) if ph else None
    # the rest of bind->Running: the informer's delivery, the sync queue (pods start one after
    # another), the status PATCH and the watch back to the client
    other = [p["running_ms"] - sum(phases[name]) for name, p in pods if name in phases]
    e["drover"]["phases"]["queue_status_watch"] = stats(other) if other else None
    # the agent's start timeline against the client's clock: delivery = bind (the client's
    # ADDED) to the sync thread's first look; back = the status PATCH done to the client's
    # Running event (the watch back, and retries when the first status was not Running)
    st = [(starts[name], p) for name, p in pods if name in starts and "bind_mono_ms" in p]
    if st:
        e["drover"]["start"]["delivery"] = stats([s["seen"] - p["bind_mono_ms"] for s, p in st])
        for k in SUMMED + ["netns_alongside", "cni_alongside"]:
            e["drover"]["start"][k] = stats([s[k] for s, _ in st])
        e["drover"]["start"]["back"] = stats([p["running_mono_ms"] - s["seen"] -
                                              sum(s[k] for k in SUMMED) for s, p in st])
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
    if pm:
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
       "N pods at once (%s: pods at once x rounds) on one node. **drover**: `drover server` and "
       "one `drover agent` in a network namespace of the benchmark's own; the pods (busybox "
       "`sleep`, limits 64Mi/100m) are created already bound (spec.nodeName) from up to 16 "
       "parallel connections; one client-side watch stamps every event with a monotonic clock: "
       "bind = the pod's ADDED event, Running = the first event with phase Running, Ready = the "
       "first with Ready=True (the API's timestamps have 1 s resolution)."
       % ", ".join("%d x %d" % (n, r) for n, r in res["plan"])]
if base:
    md[-1] += (" **base**: the same with another build's server and agent (`%s`): %d passes, "
               "each a fresh server and agent of each build running the plan once, interleaved "
               "(the order alternating); figures pooled over the passes, and the min-max of "
               "each pass's p50 and p99." % (a.base_bin, len(base["passes"])))
if pm:
    md[-1] += (" **podman + crun** (%s, %s): the same busybox image (the same OCI layout, "
               "`podman load`ed), N `podman run -d` spawned at once with a CNI bridge + "
               "host-local network and the same limits; time from each spawn to its exit (it "
               "returns once crun has started the container; all checked running)."
               % (pm["podman"], pm["runtime"]))


def pp(e):
    return "%.1f / %.1f ms" % (e["p50_ms"], e["p99_ms"])


def rng(e):
    return "%.1f-%.1f / %.1f-%.1f ms" % (tuple(e["p50_min_max_ms"]) + tuple(e["p99_min_max_ms"]))


head = ["pods at once", "drover bind->Running p50 / p99", "drover bind->Ready p50 / p99"]
if base:
    head += ["base bind->Running p50 / p99", "base bind->Ready p50 / p99",
             "drover Ready per pass p50 / p99 (min-max)",
             "base Ready per pass p50 / p99 (min-max)"]
if pm:
    head += ["podman+crun run->running p50 / p99", "podman / drover (p50, p99)"]
md += ["", "| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
for n, e in C.items():
    d = e["drover"]
    row = [n, pp(d["running"]), pp(d["ready"])]
    if base:
        b = e.get("base")
        row += [pp(b["running"]), pp(b["ready"]), rng(d["ready_per_pass"]),
                rng(b["ready_per_pass"])] if b else ["-"] * 4
    if pm:
        b = e.get("podman_crun", {}).get("running")
        row += [pp(b) if b else "-",
                "%.1fx, %.1fx" % (e["x_faster_p50"], e["x_faster_p99"]) if b else "-"]
    md.append("| " + " | ".join(row) + " |")
md += ["", "drover's start split (the agent's log, per pod, p50 / p99 in ms): netns = the network "
       "namespace made and bound; cni = the plugin's ADD (drover-cni, spawned as a runtime does); "
       "cgroup = the container's cgroups made and limited (v1 here); image = resolve in the image "
       "store and the run's directories; process = drover's runtime: clone into new namespaces, "
       "the overlay root mounted, pivot_root, exec (and the log pipe). The rest of bind->Running "
       "is the informer's delivery, the wait for a starter thread (--pod-start-workers of them "
       "start new pods side by side), the volumes (the projected ServiceAccount token's "
       "TokenRequest), the status PATCH and the watch event back (below 0 when the agent saw "
       "the pod before the benchmark's watch did). Where the agent makes the sandbox on a "
       "thread alongside the volumes and containers (netns_alongside in the timeline below), "
       "netns and cni overlap the rest, which is then bind->Running less all five (lower than "
       "what follows them in time; a process' wait for its network is cni's, not its own).", "",
       "| pods at once | netns | cni | cgroup | image | process | rest (queue, status, watch) |",
       "|---:|---:|---:|---:|---:|---:|---:|"]
for n, e in C.items():
    ph = e["drover"]["phases"]
    md.append("| %s | %s |" % (n, " | ".join(
        "%.1f / %.1f" % (ph[k]["p50_ms"], ph[k]["p99_ms"]) if ph[k] else "-"
        for k in PHASES + ["queue_status_watch"])))
TL = ["delivery", "wait", "purge", "sandbox", "volumes", "containers", "net_wait", "status",
      "back", "netns_alongside", "cni_alongside"]
if any(e["drover"]["start"] for e in C.values()):
    md += ["", "Each start's timeline (the agent's clock joined with the client's, both "
           "CLOCK_MONOTONIC; p50 / p99 in ms): delivery = the client's ADDED to the agent's "
           "sync thread seeing the pod; wait = for a starter thread; purge = an earlier run's "
           "cgroups; sandbox = netns + CNI ADD (~0 where both run alongside); "
           "volumes = set up (the projected ServiceAccount token: a TokenRequest); containers = "
           "started (cgroup, image, process); net_wait = for the ADD after the containers; "
           "status = the PATCH; back = the PATCH's watch event to the client; netns_alongside, "
           "cni_alongside = the namespace's and the ADD's own times where they overlap volumes "
           "and containers (not in the sum).", "",
           "| pods at once | " + " | ".join(TL) + " |", "|" + "---:|" * (len(TL) + 1)]
    for n, e in C.items():
        st = e["drover"]["start"]
        md.append("| %s | %s |" % (n, " | ".join(
            "%.1f / %.1f" % (st[k]["p50_ms"], st[k]["p99_ms"]) if st.get(k) else "-"
            for k in TL)))
if g:
    md += ["", "Goals (issue 10), at %d pods: bind->Ready p50 %.1f ms (goal <= %.0f ms: %s), p99 "
           "%.1f ms (goal <= %.0f ms: %s)"
           % (GOAL_N, g["drover"]["ready"]["p50_ms"], GOAL_P50,
              "met" if res["goals"]["met_p50"] else "not met", g["drover"]["ready"]["p99_ms"],
              GOAL_P99, "met" if res["goals"]["met_p99"] else "not met")]
    md[-1] += ("; podman+crun / drover at p50 %.1fx (goal >= %.0fx: %s)."
               % (g.get("x_faster_p50", 0), GOAL_X, "met" if res["goals"]["met_x"] else "not met")
               if pm else ".")
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

labels, s_run, s_ready, s_base, s_pm, goals = [], [], [], [], [], []
for n, e in C.items():
    for q in ("p50", "p99"):
        labels.append("%s pod%s, %s" % (n, "" if n == "1" else "s", q))
        s_run.append(e["drover"]["running"][q + "_ms"])
        s_ready.append(e["drover"]["ready"][q + "_ms"])
        s_base.append(e.get("base", {}).get("ready", {}).get(q + "_ms", 0))
        s_pm.append(e.get("podman_crun", {}).get("running", {}).get(q + "_ms", 0))
        goals.append((GOAL_P50 if q == "p50" else GOAL_P99) if n == str(GOAL_N) else 0)
series = [("drover bind->Running", "#2b7bba", s_run), ("drover bind->Ready", "#6baed6", s_ready)]
if base:
    series.append(("base bind->Ready", "#fd8d3c", s_base))
if pm:
    series.append(("podman+crun run -d", "#999999", s_pm))
bar_svg(os.path.join(a.out, a.name + "-latency.svg"),
        "Pod start: bind to Running/Ready (drover)%s%s" % (" vs base" if base else "",
                                                           " vs podman run -d" if pm else ""),
        labels, series, "ms", log=True, marks=[("goal at 10 pods", "#d62728", goals)])
colors = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#999999"]
labels, series = [], [(k, c, []) for k, c in zip(PHASES + ["queue_status_watch"], colors)]
for n, e in C.items():
    labels.append("%s pod%s, p50" % (n, "" if n == "1" else "s"))
    for k, _, vals in series:
        ph = e["drover"]["phases"][k]
        vals.append(max(ph["p50_ms"], 0) if ph else 0)  # the rest can be < 0: see the table
bar_svg(os.path.join(a.out, a.name + "-phases.svg"), "drover pod start, split (p50)", labels,
        series, "ms", log=True)
