#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""report: turns the raw figures of `scripts/bench.sh telemetry` into telemetry.json,
telemetry.md and telemetry.svg (standard library only).

  report.py --machine-info FILE              machine and settings JSON from the environment
  report.py --raw DIR --machine FILE --out DIR
  report.py --from-json FILE --out DIR       again from an earlier telemetry.json's trials

Every figure is the median over the interleaved trials with its min-max; "vs off" figures
are per-trial differences against configuration off of the same trial (the two ran within
seconds of each other), median (min-max) over the trials.
"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from machine import machine_facts, sh  # noqa: E402
from plot import whisker_panels_svg  # noqa: E402

CONFIGS = ["off", "on", "sidecar"]
LABEL = {"off": "(a) drover, telemetry off", "on": "(b) drover, telemetry on",
         "sidecar": "(c) HAProxy 2.6 sidecar (telemetry off)"}
COLOR = {"off": "#777777", "on": "#1f77b4", "sidecar": "#d62728"}
RUNS = [("wrk_keepalive", "keep-alive"), ("wrk_close", "new connection")]  # -t3 -c12: load
LAT = [("wrk_lat", "keep-alive"), ("wrk_lat_close", "new connection")]  # -t1 -c1: latency
ALL_RUNS = RUNS + LAT

# Published figures (../shared/reference/telemetry-cni-anchors.md, A3) and the goals.
ISTIO_124_VCPU = 0.20    # sidecar (2 workers), per 1000 rps, 1 KB
ISTIO_116_VCPU = 0.35
ISTIO_116_P90_MS = 2.65  # added at p90
LINKERD_P50_MS = 6.0     # added at the median, 2000 rps (Istio +17 ms in the same run)
GOAL_RPS_LOST_PCT = 3.0
GOAL_P99_ADDED_US = 50.0
GOAL_VCPU = ISTIO_124_VCPU / 20
EXPORTER = {"serve": "drover telemetry serve",
            "tl-events": "drover-tl-events (stand-in ring buffer reader)"}
CONSUMER_KIND = {}  # config -> the exporter kind its trials ran


def machine_info(path):
    e = os.environ
    info = machine_facts(e.get("TOP", "."))
    info.update({
        "wrk": sh("wrk --version 2>&1 | head -1"),
        "haproxy": sh("haproxy -v 2>/dev/null | head -1"),
        "clk_tck": os.sysconf("SC_CLK_TCK"),
        "command": ("scripts/bench.sh telemetry " + e.get("ARGS", "")).strip(),
        "configs": e.get("CONFIGS", "").split(),
        "skipped": e.get("SKIPPED", ""),
        "settings": {k.lower(): e.get(k) for k in ("TRIALS", "SECS", "WRK_THREADS", "WRK_CONNS",
                                                   "QUICK")},
    })
    with open(path, "w") as f:
        json.dump(info, f, indent=1)


def load_json(path):
    try:
        with open(path) as f:
            rows = [json.loads(l) for l in f.read().splitlines() if l.startswith("{")]
        return rows[-1] if rows else None
    except (OSError, ValueError):
        return None


def load_trials(raw):
    trials = []
    for config in sorted(os.listdir(raw)):
        for trial in sorted(os.listdir(os.path.join(raw, config)), key=int):
            d = os.path.join(raw, config, trial)
            t = {"config": config, "trial": int(trial), "metrics": {}}
            try:
                for line in open(os.path.join(d, "metrics.txt")):
                    k, _, v = line.strip().partition(" ")
                    try:
                        t["metrics"][k] = float(v)
                    except ValueError:
                        t["metrics"][k] = v
            except OSError:
                pass
            for run, _ in ALL_RUNS:
                t[run] = load_json(os.path.join(d, run + ".json"))
                t[run + "_tl"] = [load_json(os.path.join(d, "%s.tl%d.json" % (run, i)))
                                  for i in (0, 1)]
            t["broken"] = t["metrics"].get("broken")
            trials.append(t)
    return trials


def tl_delta(t, run, part, key):
    a, b = t.get(run + "_tl") or [None, None]
    if not a or not b or key not in b.get(part, {}):
        return None
    return b[part][key] - a.get(part, {}).get(key, 0)


def derive(t, run, hz):
    """One wrk run's figures of trial t (None where not measured)."""
    w, m = t.get(run), t["metrics"]
    if not w or "rps" not in w:
        return None
    wall = m.get(run + "_wall_ms", 0) / 1e3

    def vcpu_per_krps(who):
        ticks = m.get("%s_%s_ticks" % (run, who))
        if ticks is None or not wall or not w["rps"]:
            return None
        return ticks / hz / wall / (w["rps"] / 1000)

    def mb(who, kind):
        v = m.get("%s_%s_%s_kb" % (run, who, kind))
        return None if v is None else v / 1024

    # the consumer: what reads and serves what is counted (the sidecar itself, or drover's
    # proxy and, when it ran, the telemetry exporter reading the maps and the ring buffer)
    whos = ["sidecar"] if t["config"] == "sidecar" else ["proxy", "exporter"]
    cons = [vcpu_per_krps(x) for x in whos if ("%s_%s_ticks" % (run, x)) in m]
    rss = [mb(x, "rss") for x in whos if mb(x, "rss") is not None]
    e = w.get("errors", {})
    r = {"rps": w["rps"], "requests": w["requests"], "p50_us": w["p50_us"],
         "p90_us": w["p90_us"], "p99_us": w["p99_us"], "p999_us": w["p999_us"],
         "errors": sum(e.values()) if isinstance(e, dict) else None,
         "proxy_vcpu_per_krps": vcpu_per_krps("proxy"),
         "proxy_cpu_ms": m.get(run + "_proxy_cpu_ms"),
         "proxy_rss_mb": mb("proxy", "rss"), "proxy_hwm_mb": mb("proxy", "hwm"),
         "sidecar_vcpu_per_krps": vcpu_per_krps("sidecar"),
         "sidecar_cpu_ms": m.get(run + "_sidecar_cpu_ms"),
         "sidecar_rss_mb": mb("sidecar", "rss"), "sidecar_hwm_mb": mb("sidecar", "hwm"),
         "exporter_vcpu_per_krps": vcpu_per_krps("exporter"),
         "exporter_rss_mb": mb("exporter", "rss"),
         "exporter_scrapes": m.get(run + "_exporter_scrapes"),
         "consumer_vcpu_per_krps": sum(cons) if cons and None not in cons else None,
         "consumer_rss_mb": sum(rss) if rss else None,
         "all_cpu_us_per_req": m.get(run + "_all_cpu_us_per_req"),
         "events_lost": tl_delta(t, run, "counters", "events_lost"),
         "tl_http_requests": tl_delta(t, run, "http", "requests"),
         "sidecar_requests": m.get(run + "_sidecar_requests")}
    if r["tl_http_requests"] is not None and w["requests"]:
        r["tl_counted_per_request"] = r["tl_http_requests"] / w["requests"]
    if r["sidecar_requests"] is not None and w["requests"]:
        r["sidecar_counted_per_request"] = r["sidecar_requests"] / w["requests"]
    return r


def stat(vals):
    vals = [v for v in vals if isinstance(v, (int, float))]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def summarize(trials, hz):
    per = {}  # config -> run -> trial -> figures
    for t in trials:
        if t["broken"]:
            continue
        for run, _ in ALL_RUNS:
            d = derive(t, run, hz)
            if d:
                per.setdefault(t["config"], {}).setdefault(run, {})[t["trial"]] = d
    summ = {}
    for c, runs in per.items():
        for run, by_trial in runs.items():
            keys = sorted({k for d in by_trial.values() for k in d})
            s = {k: stat([d.get(k) for d in by_trial.values()]) for k in keys}
            base = per.get("off", {}).get(run, {})
            if c != "off" and base:
                pairs = [(d, base[tr]) for tr, d in by_trial.items() if tr in base]
                s["rps_lost_pct"] = stat([(1 - d["rps"] / b["rps"]) * 100 for d, b in pairs if b["rps"]])
                for q in ("p50", "p90", "p99"):
                    s[q + "_added_us"] = stat([d[q + "_us"] - b[q + "_us"] for d, b in pairs])
            summ.setdefault(c, {})[run] = s
    return summ, per


# ---------- formatting ----------

def fmt(v, digits=None):
    if v is None:
        return "–"
    if digits is None:
        a = abs(v)
        digits = 0 if a >= 100 else 1 if a >= 10 else 2 if a >= 0.1 else 4
    return "{:,.{}f}".format(v, digits)


def cell(st, digits=None, signed=False):
    if not st:
        return "–"
    f = (lambda v: ("+" if v > 0 else "") + fmt(v, digits)) if signed else (lambda v: fmt(v, digits))
    if st["n"] < 2:
        return f(st["median"])
    return "%s (%s … %s)" % (f(st["median"]), f(st["min"]), f(st["max"]))


def g(summ, c, run, key):
    return summ.get(c, {}).get(run, {}).get(key)


def med(summ, c, run, key):
    st = g(summ, c, run, key)
    return st["median"] if st else None


def headline(summ, configs):
    lines = ["| configuration | connections | req/s | req/s lost vs (a) | p50 µs | p99 µs "
             "| added p50 µs | added p99 µs | consumer | consumer CPU, vCPU per 1000 req/s "
             "| consumer RSS MB | CPU µs per request, all processes | events lost |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for run, rlabel in RUNS:
        for c in configs:
            if run not in summ.get(c, {}):
                continue
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                LABEL[c], rlabel, cell(g(summ, c, run, "rps")),
                cell(g(summ, c, run, "rps_lost_pct"), 1, True) + (" %" if g(summ, c, run, "rps_lost_pct") else ""),
                cell(g(summ, c, run, "p50_us")), cell(g(summ, c, run, "p99_us")),
                cell(g(summ, c, run, "p50_added_us"), None, True),
                cell(g(summ, c, run, "p99_added_us"), None, True),
                consumer_name(summ, c, run),
                cell(g(summ, c, run, "consumer_vcpu_per_krps"), 4),
                cell(g(summ, c, run, "consumer_rss_mb"), 1),
                cell(g(summ, c, run, "all_cpu_us_per_req")),
                cell(g(summ, c, run, "events_lost"), 0) if c == "on" else "–"))
    return lines


def consumer_name(summ, c, run):
    if c == "sidecar":
        return "HAProxy"
    if g(summ, c, run, "exporter_rss_mb"):
        return "drover proxy + " + EXPORTER.get(CONSUMER_KIND.get(c), "exporter")
    return "drover proxy"


def latency_table(summ, configs):
    lines = ["| configuration | connections | req/s | p50 µs | p90 µs | p99 µs | p99.9 µs "
             "| added p50 µs | added p90 µs | added p99 µs |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for run, rlabel in LAT:
        for c in configs:
            if run not in summ.get(c, {}):
                continue
            lines.append("| %s | %s | %s |" % (LABEL[c], rlabel, " | ".join(
                [cell(g(summ, c, run, k)) for k in ("rps", "p50_us", "p90_us", "p99_us", "p999_us")]
                + [cell(g(summ, c, run, k + "_added_us"), None, True) for k in ("p50", "p90", "p99")])))
    return lines


def run_label(run):
    if run in dict(RUNS):
        return dict(RUNS)[run] + " under load"
    return dict(LAT)[run] + ", one at a time"


def highest_rate_run(per):
    """(run, trial, figures) of configuration on's wrk run with the highest req/s."""
    best = None
    for run, by_trial in per.get("on", {}).items():
        for tr, d in by_trial.items():
            if best is None or d["rps"] > best[2]["rps"]:
                best = (run, tr, d)
    return best


def verdict(v, goal, lower=True):
    if v is None:
        return "not measured"
    return "met" if (v <= goal if lower else v >= goal) else "NOT met"


def goals(summ, per, machine):
    out = []
    if "on" not in summ:
        out.append("- Configuration (b), telemetry on, did not run%s: the goals below cannot be "
                   "judged from this run." % (
                       " (%s)" % machine["skipped"] if machine.get("skipped") else ""))
    for (run, rlabel), (lrun, _) in zip(RUNS, LAT):
        lost = med(summ, "on", run, "rps_lost_pct")
        p99 = med(summ, "on", lrun, "p99_added_us")
        cpu = med(summ, "on", run, "consumer_vcpu_per_krps")
        out.append("- %s: req/s lost %s (goal ≤ %.0f %%: %s); p99 added, one request at a time, %s µs "
                   "(goal ≤ %.0f µs: %s); "
                   "telemetry consumer %s vCPU per 1000 req/s (goal ≤ %.3f, 1/20 of Istio 1.24's "
                   "%.2f: %s)." % (
                       rlabel, "–" if lost is None else "%+.1f %%" % lost, GOAL_RPS_LOST_PCT,
                       verdict(lost, GOAL_RPS_LOST_PCT), fmt(p99), GOAL_P99_ADDED_US,
                       verdict(p99, GOAL_P99_ADDED_US), fmt(cpu, 4), GOAL_VCPU, ISTIO_124_VCPU,
                       verdict(cpu, GOAL_VCPU)))
    best = highest_rate_run(per)
    if best:
        run, tr, d = best
        runs = [(x["events_lost"], r, tr2, x) for r, bt in per["on"].items()
                for tr2, x in bt.items() if x["events_lost"] is not None]
        most = max(runs, key=lambda y: y[0]) if runs else None
        out.append("- Events lost at the highest rate (%s, trial %s, %s req/s, %s requests): %s "
                   "(drv_tlctr1[DRV_TL_CTR_EVENTS_LOST] over the run)%s." % (
                       run_label(run), tr, fmt(d["rps"]), "{:,}".format(d["requests"]),
                       fmt(d["events_lost"], 0),
                       "" if not most else "; most lost in any run: %s (%s, trial %s, "
                       "%s req/s, %s requests)" % (fmt(most[0], 0), run_label(most[1]),
                                                   most[2], fmt(most[3]["rps"]),
                                                   "{:,}".format(most[3]["requests"]))))
    return out


def published(summ):
    def both(c, key, digits=None, signed=False, runs=RUNS):
        return " / ".join(cell(g(summ, c, run, key), digits, signed) for run, _ in runs)

    def lat(c, key):
        return both(c, key, None, True, LAT)

    return [
        "| figure | Istio 1.24 sidecar | Istio 1.10–1.16 sidecar | Linkerd 2.11 | sidecar here "
        "(c), keep-alive / new conn | drover telemetry (b), keep-alive / new conn | goal (b) |",
        "|---|---|---|---|---|---|---|",
        "| proxy CPU, vCPU per 1000 req/s | %.2f | %.2f | – | %s | %s | ≤ %.3f |" % (
            ISTIO_124_VCPU, ISTIO_116_VCPU, both("sidecar", "consumer_vcpu_per_krps", 4),
            both("on", "consumer_vcpu_per_krps", 4), GOAL_VCPU),
        "| added latency (here: one request at a time) | – | +%.2f ms at p90 | +%.0f ms at p50 "
        "(2000 req/s; Istio +17 ms) | p50 %s µs; p90 %s µs; p99 %s µs | p50 %s µs; p90 %s µs; "
        "p99 %s µs | p99 ≤ +%.0f µs |" % (
            ISTIO_116_P90_MS, LINKERD_P50_MS, lat("sidecar", "p50_added_us"),
            lat("sidecar", "p90_added_us"), lat("sidecar", "p99_added_us"),
            lat("on", "p50_added_us"), lat("on", "p90_added_us"), lat("on", "p99_added_us"),
            GOAL_P99_ADDED_US),
        "| memory | 60 MB | 40 MB | 26.3 MB max | %s MB | %s MB (the whole proxy, and the "
        "exporter when it ran) | – |" % (
            both("sidecar", "consumer_rss_mb", 1), both("on", "consumer_rss_mb", 1)),
        "| req/s lost vs no telemetry | – | – | – | %s %% | %s %% | ≤ %.0f %% |" % (
            both("sidecar", "rps_lost_pct", 1, True), both("on", "rps_lost_pct", 1, True),
            GOAL_RPS_LOST_PCT),
    ]


def checks(summ, configs):
    out = []
    for run, rlabel in RUNS:
        if "on" in configs and g(summ, "on", run, "tl_counted_per_request"):
            out.append("- %s, telemetry on: drv_tlhttp1 counted %s requests per request wrk "
                       "completed (client and server side: 2 expected, a little more when wrk "
                       "stopped with requests in flight)." % (
                           rlabel, cell(g(summ, "on", run, "tl_counted_per_request"), 3)))
        if "sidecar" in configs and g(summ, "sidecar", run, "sidecar_counted_per_request"):
            out.append("- %s, sidecar: HAProxy's frontend counted %s requests per request wrk "
                       "completed (stats req_tot; 1 expected)." % (
                           rlabel, cell(g(summ, "sidecar", run, "sidecar_counted_per_request"), 3)))
    return out


def plot(path, summ, configs, machine):
    groups = [(LABEL[c], COLOR[c]) for c in configs]
    panels = []
    for run, rlabel in RUNS:
        panels.append(("req/s, " + rlabel, "req/s", [g(summ, c, run, "rps") for c in configs], []))
    for run, rlabel in LAT:
        panels.append(("p99, 1 at a time, " + rlabel, "µs", [g(summ, c, run, "p99_us") for c in configs], []))
    run = "wrk_keepalive"
    cpu = [g(summ, c, run, "consumer_vcpu_per_krps") for c in configs]
    panels.append(("consumer CPU per 1000 req/s, keep-alive", "vCPU", cpu,
                   [("goal %.3f" % GOAL_VCPU, GOAL_VCPU, "#2ca02c"),
                    ("Istio 1.24 %.2f" % ISTIO_124_VCPU, ISTIO_124_VCPU, "#ff7f0e")]))
    whisker_panels_svg(path, "drover telemetry: cost per request (%s, %s)" % (
        machine["drover_commit"], machine["date"]), groups, panels,
        note="bar: median over interleaved trials; whisker: min–max; consumer: drover proxy "
             "(with telemetry on, and its exporter), or HAProxy for the sidecar")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--machine-info")
    ap.add_argument("--raw")
    ap.add_argument("--machine")
    ap.add_argument("--from-json")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.machine_info:
        machine_info(a.machine_info)
        return
    if a.from_json:
        earlier = json.load(open(a.from_json))
        machine, trials = earlier["machine"], earlier["trials"]
    else:
        machine = json.load(open(a.machine))
        machine.setdefault("loadavg_end", open("/proc/loadavg").read().split()[:3])
        trials = load_trials(a.raw)
    for t in trials:
        if t["metrics"].get("exporter_kind"):
            CONSUMER_KIND[t["config"]] = t["metrics"]["exporter_kind"]
    summ, per = summarize(trials, machine.get("clk_tck") or 100)
    configs = [c for c in CONFIGS if c in summ]
    broken = sorted({(t["config"], t["trial"], t["broken"]) for t in trials if t["broken"]})
    goal = {"rps_lost_pct_max": GOAL_RPS_LOST_PCT, "p99_added_us_max": GOAL_P99_ADDED_US,
            "consumer_vcpu_per_krps_max": GOAL_VCPU}
    best = highest_rate_run(per)
    with open(os.path.join(a.out, "telemetry.json"), "w") as f:
        json.dump({"machine": machine, "summary": summ, "per_trial": per,
                   "goals": goal, "published": {
                       "istio_1_24_sidecar_vcpu_per_krps": ISTIO_124_VCPU,
                       "istio_1_16_sidecar_vcpu_per_krps": ISTIO_116_VCPU,
                       "istio_1_16_p90_added_ms": ISTIO_116_P90_MS,
                       "linkerd_2_11_p50_added_ms_at_2000rps": LINKERD_P50_MS},
                   "events_lost_at_highest_rate": None if not best else {
                       "run": best[0], "trial": best[1], "rps": best[2]["rps"],
                       "requests": best[2]["requests"], "events_lost": best[2]["events_lost"]},
                   "trials": trials, "broken": broken}, f, indent=1)
    s = machine["settings"]
    md = ["# drover telemetry: what it costs a request, against telemetry off and a sidecar", "",
          "Made by `%s` on %s (drover %s%s)." % (machine["command"], machine["date"],
                                                machine["drover_commit"],
                                                ", tree dirty" if machine.get("drover_tree_dirty") else ""),
          "Machine: %s cores (%s), %s GB, kernel %s; %s; %s. Load average at start %s, at end %s "
          "(the machine is shared: every figure is a median over interleaved trials with its "
          "min … max)." % (machine["cores"], machine["cpu"], machine["mem_gb"], machine["kernel"],
                           machine["wrk"], machine["haproxy"] or "no haproxy",
                           " ".join(machine["loadavg_start"]), " ".join(machine["loadavg_end"])),
          "",
          "Settings: %s trial(s); per configuration and trial, wrk -t%s -c%s for %s s with keep-alive, "
          "then with `Connection: close` (a new connection per request), through the ClusterIP "
          "served by drover's proxy (socket LB and tc) to one drover-httpd pod." % (
              s["trials"], s["wrk_threads"], s["wrk_conns"], s["secs"])]
    if machine.get("skipped"):
        md += ["", "**Skipped: configuration %s.**" % machine["skipped"]]
    md += ["", "## Throughput and cost under load (wrk -t%s -c%s)" % (s["wrk_threads"], s["wrk_conns"]), ""]
    md += headline(summ, configs)
    md += ["", "Latency in µs as wrk reports it. Added latency and req/s lost: per-trial difference "
           "against (a) of the same trial. Consumer: the processes that hold and serve what is "
           "counted: drover's proxy (it loads the programs and owns the maps), with telemetry on "
           "also the exporter `drover telemetry serve` (it reads the maps and drains the ring "
           "buffer; scraped on /metrics once a second during the run, where Prometheus would "
           "every 15 s), or in a drover that has none, the telemetry e2e test's ring buffer "
           "reader drover-tl-events in its place (it formats every event, to /dev/null); for "
           "(c) HAProxy. Their CPU is utime + stime from "
           "/proc/PID/stat over the wrk run, divided by the run's length and by (req/s / 1000); "
           "RSS is VmRSS at the end of the run. The BPF programs themselves run in the client's and server's system "
           "calls and softirqs, charged to whichever task they interrupt: the column \"CPU µs "
           "per request, all processes\" (wrk, server, proxy, sidecar) holds that cost. Under "
           "this load the 2 cores are saturated and the tail is the scheduler's: the added "
           "latency is judged one request at a time, below.",
           "", "## Latency, one request at a time (wrk -t1 -c1)", ""]
    md += latency_table(summ, configs)
    md += ["", "## Against published figures", ""]
    md += published(summ)
    md += ["", "Published figures: Istio 1.24 (1000 req/s, 1 KB, sidecar with 2 workers), Istio "
           "1.10–1.16 (+2.65 ms at p90, through a client and a server sidecar), Linkerd 2.11.1 vs "
           "Istio at 2000 req/s (Kinvolk harness): ../shared/reference/telemetry-cni-anchors.md, "
           "A3. The sidecar here is one proxy (server side only) on loopback; a mesh puts one "
           "on each side.", "", "## Goals (issue 13)", ""]
    md += goals(summ, per, machine)
    ck = checks(summ, configs)
    if ck:
        md += ["", "## Counting checks", ""] + ck
    if broken:
        md += ["", "## Broken (not timed)", ""]
        md += ["- %s, trial %s: %s" % (LABEL.get(c, c), tr, why) for c, tr, why in broken]
    with open(os.path.join(a.out, "telemetry.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    if configs:
        plot(os.path.join(a.out, "telemetry.svg"), summ, configs, machine)


if __name__ == "__main__":
    main()
