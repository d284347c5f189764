#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""rollout_report: turns the raw runs of bench/proxy/rollout.sh into proxy-rollout.json,
proxy-rollout.md and proxy-rollout.svg (standard library only).

  rollout_report.py --raw DIR --out DIR

DIR/<mode>/grace-<seconds>/<trial>/ holds load.txt (bench/proxy/rollload.py's lines), events.txt (the
driver's steps, CLOCK_REALTIME ns), proxy.log (drover's, for when each change was applied)
or kp-applied.txt (when kube-proxy's background sync of each change was done).
Requests are those started between the events "start" and "end".
"""
import argparse
import calendar
import collections
import glob
import json
import os
import platform
import re
import statistics
import time
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import sh  # noqa: E402  (the proxy bench's report: one way to ask the machine)

MODES = ["drover-sock", "drover-tc", "kube-proxy"]
LABEL = {"drover-sock": "drover socket LB", "drover-tc": "drover tc (socket LB off)",
         "kube-proxy": "kube-proxy iptables rules"}
SLOW_MS = 1000


def key(mode, grace):
    return "%s/grace-%g" % (mode, grace)


def keys(runs):
    """The runs' keys in table order: longest grace first, then the modes."""
    graces = sorted({float(k.split("/grace-")[1]) for k in runs}, reverse=True)
    return [key(m, g) for g in graces for m in MODES if key(m, g) in runs]


def label(k):
    mode, grace = k.split("/grace-")
    return "%s, grace %s s" % (LABEL[mode], grace)
SYNC = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z .* sync: ")


def lines(path):
    try:
        with open(path) as f:
            return [l.split() for l in f if l.strip()]
    except OSError:
        return []


def applied_at(d):
    """The times (ns) the proxy had applied a change: drover's sync lines, kube-proxy's syncs."""
    if os.path.exists(os.path.join(d, "kp-applied.txt")):
        return sorted(int(f[0]) for f in lines(os.path.join(d, "kp-applied.txt")))
    out = []
    try:
        with open(os.path.join(d, "proxy.log")) as f:
            for l in f:
                m = SYNC.match(l)
                if m:
                    t = calendar.timegm(
                        time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
                    out.append(t * 10**9 + int(m.group(2)) * 10**6)
    except OSError:
        pass
    return sorted(out)


def longest_gap(oks, t0, t1):
    """The longest time (ms) in [t0, t1] without a successful request ending."""
    pts = [t0] + sorted(t for t in oks if t0 <= t <= t1) + [t1]
    return max(b - a for a, b in zip(pts, pts[1:])) / 1e6


def analyze(d):
    ev = [(int(f[0]), " ".join(f[1:])) for f in lines(os.path.join(d, "events.txt"))]
    t = {name: ts for ts, name in ev}
    if "start" not in t or "end" not in t:
        return None
    t0, t1 = t["start"], t["end"]
    reqs = [f for f in lines(os.path.join(d, "load.txt"))
            if len(f) >= 4 and t0 <= int(f[1]) <= t1]
    r = {"steps": [(ts - t0) / 1e9 for ts, _ in ev], "step_names": [n for _, n in ev],
         "window_s": (t1 - t0) / 1e9, "by_kind": {}}
    for kind in ("ka", "new", "all"):
        rs = [f for f in reqs if kind == "all" or f[0] == kind]
        ok = [f for f in rs if f[3] == "ok"]
        lat = [(int(f[2]) - int(f[1])) / 1e6 for f in rs]
        r["by_kind"][kind] = {
            "sent": len(rs), "ok": len(ok), "failed": len(rs) - len(ok),
            "failures": dict(collections.Counter(f[3] for f in rs if f[3] != "ok")),
            "retried": sum(1 for f in ok if f[-1] == "retried"),
            "slow": sum(1 for x in lat if x > SLOW_MS),
            "max_latency_ms": round(max(lat), 1) if lat else None,
            "longest_gap_ms": round(longest_gap([int(f[2]) for f in ok], t0, t1), 1),
            "backends": dict(collections.Counter(f[4] for f in ok if len(f) > 4)),
        }
    # how long each change took to reach the kernel: the first apply at or after it
    app = applied_at(d)
    lags = []
    for ts, name in ev:
        if name.endswith(("ready", "terminating", "removed")):
            after = [a for a in app if a >= ts - 10**6]  # drover's log has ms resolution
            if after:
                lags.append(max(after[0] - ts, 0) / 1e6)
    r["apply_ms"] = {"n": len(lags), "median": round(statistics.median(lags), 1) if lags else None,
                     "max": round(max(lags), 1) if lags else None}
    # the timeline in 100 ms bins (trial figures)
    nb = int((t1 - t0) / 1e8)  # whole bins only
    tl = {k: [0] * nb for k in ("ka", "new", "fail")}
    for f in reqs:
        b = int((int(f[2]) - t0) / 1e8)
        if 0 <= b < nb:
            tl["fail" if f[3] != "ok" else f[0]][b] += 1
    r["timeline"] = tl
    return r


def span(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return {"min": min(vals), "max": max(vals), "median": statistics.median(vals)}


def cell(st, unit=""):
    if not st:
        return "–"
    f = (lambda v: "%g" % v)
    if st["min"] == st["max"]:
        return f(st["min"]) + unit
    return "%s–%s%s" % (f(st["min"]), f(st["max"]), unit)


def summarize(runs):
    out = {}
    for mode, trials in runs.items():
        s = {"trials": len(trials)}
        for kind in ("ka", "new", "all"):
            ks = [t["by_kind"][kind] for t in trials]
            fails = collections.Counter()
            for k in ks:
                fails.update(k["failures"])
            s[kind] = {"sent": span([k["sent"] for k in ks]), "failed": span([k["failed"] for k in ks]),
                       "failed_total": sum(k["failed"] for k in ks),
                       "sent_total": sum(k["sent"] for k in ks),
                       "failures": dict(fails), "retried_total": sum(k["retried"] for k in ks),
                       "slow_total": sum(k["slow"] for k in ks),
                       "longest_gap_ms": span([k["longest_gap_ms"] for k in ks]),
                       "max_latency_ms": span([k["max_latency_ms"] for k in ks])}
        s["apply_median_ms"] = span([t["apply_ms"]["median"] for t in trials])
        s["apply_max_ms"] = span([t["apply_ms"]["max"] for t in trials])
        out[mode] = s
    return out


def markdown(summ, meta):
    m = meta
    o = ["# Rollout under load: requests failed while a Service's endpoints roll", "",
         "`%s` — %s, kernel %s, %s cores, drover %s%s. %d trial(s) per mode, interleaved; figures "
         "are min–max over the trials." % (m["command"], m["date"], m["kernel"], m["cores"],
                                           m["drover_commit"], " (dirty tree)" if m["dirty"] else "",
                                           m["trials"]), "",
         "Each run replaces %d old backends one by one, as a Deployment rollout with maxSurge 1, "
         "maxUnavailable 0: the new pod's server starts and, once it listens, joins the "
         "EndpointSlice ready; 0.2 s later one old endpoint turns terminating (ready false, "
         "serving true); after the grace (a preStop sleep; 0: no preStop hook) its server gets "
         "SIGTERM and stops gracefully (stops "
         "accepting, answers what it read with `Connection: close`, closes idle keep-alive "
         "connections); once it has exited the endpoint leaves the slice. The load, from a "
         "client pod to the ClusterIP, runs the whole time: 4 keep-alive clients (they connect "
         "again when the server closes) and 4 clients with a new connection per request, %g "
         "requests/s each (bench/proxy/rollload.py). drover reads the changed manifests itself; "
         "kube-proxy's sync (its rules from tests/e2e/proxy/kprules.py, one iptables-restore, "
         "its conntrack clean-up) runs in the background at each change. No one waits for a "
         "proxy before the next step." % (m["steps"], m["rate"]), "",
         "| mode | requests sent (per trial) | failed (all trials) | failures by kind | "
         "keep-alive retried¹ | longest gap without a success | max latency | change applied "
         "after (median; max) |",
         "|---|---|---|---|---|---|---|---|"]
    for k in keys(summ):
        s = summ[k]
        a = s["all"]
        kinds = ", ".join("%s %d" % kv for kv in sorted(a["failures"].items())) or "none"
        o.append("| %s | %s | **%d** of %d | %s | %d | %s | %s | %s; %s |" % (
            label(k), cell(a["sent"]), a["failed_total"], a["sent_total"], kinds,
            a["retried_total"], cell(a["longest_gap_ms"], " ms"), cell(a["max_latency_ms"], " ms"),
            cell(s["apply_median_ms"], " ms"), cell(s["apply_max_ms"], " ms")))
    o += ["", "By client kind (failed in all trials; longest gap without a success of that kind):", "",
          "| mode | keep-alive failed | keep-alive gap | new-connection failed | new-connection gap |",
          "|---|---|---|---|---|"]
    for k in keys(summ):
        s = summ[k]
        if s:
            o.append("| %s | %d of %d | %s | %d of %d | %s |" % (
                label(k), s["ka"]["failed_total"], s["ka"]["sent_total"],
                cell(s["ka"]["longest_gap_ms"], " ms"), s["new"]["failed_total"],
                s["new"]["sent_total"], cell(s["new"]["longest_gap_ms"], " ms")))
    dro = [summ[k]["all"] for k in keys(summ) if k.startswith("drover")]
    failed = sum(a["failed_total"] for a in dro)
    verdict = "not measured" if not dro else "%s: %d of %d requests failed, %d retried¹" % (
        "NOT met" if failed else "met", failed, sum(a["sent_total"] for a in dro),
        sum(a["retried_total"] for a in dro))
    o += ["", "Goal (issue 11): none failed through drover — %s." % verdict,
        "", "¹ a keep-alive request whose reused connection the server closed as the request "
        "went out, sent again on a new connection as HTTP clients do for idempotent requests; "
        "counted as succeeded. The gap is the longest time in the rollout window with no "
        "request of any client ending in success (the clients send one every %.1f ms "
        "together). \"Change applied after\": from the manifest written to drover's next sync "
        "line (ms resolution), or to the end of kube-proxy's sync (here two Python runs of kprules.py "
        "and one iptables-nft-restore: kube-proxy, in Go, computes its rules faster, but its "
        "default --iptables-min-sync-period of 1 s, not applied here, delays a change that "
        "follows another within a second)." % (1000.0 / (8 * m["rate"])),
        "", "![timeline](proxy-rollout.svg)", ""]
    return "\n".join(o)


def svg(path, runs):
    modes = keys(runs)
    if not modes:
        return
    W, L, R, T, PH, GAP = 900, 70, 20, 40, 150, 45
    H = T + len(modes) * (PH + GAP) + 20
    span_s = max(r[0]["window_s"] for r in runs.values())
    pw = W - L - R
    ymax = max(max(max(t[0]["timeline"]["ka"]), max(t[0]["timeline"]["new"])) for t in runs.values())
    ymax = max(ymax * 10 * 1.15, 1)
    colors = {"ka": "#9467bd", "new": "#1f77b4"}
    evcol = {"ready": "#2ca02c", "terminating": "#ff7f0e", "SIGTERM": "#d62728",
             "exited": "#d62728", "removed": "#777777"}
    e = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
         'font-size="11">' % (W, H), '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="20" font-size="14" font-weight="bold">Rollout under load (trial 1): '
         'successful requests/s in 100 ms bins, failed ones in red</text>' % L,
         '<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">requests/s</text>'
         % (T + PH / 2, T + PH / 2)]
    for k, mode in enumerate(modes):
        r = runs[mode][0]
        top = T + k * (PH + GAP)

        def X(s):
            return L + pw * s / span_s

        def Y(v):
            return top + PH - PH * v / ymax
        e.append('<text x="%d" y="%d" font-weight="bold">%s — %d failed of %d</text>' % (
            L, top - 6, label(mode), r["by_kind"]["all"]["failed"], r["by_kind"]["all"]["sent"]))
        e.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (L, top + PH, L + pw, top + PH))
        e.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (L, top, L, top + PH))
        for i in range(3):
            v = ymax * i / 2
            e.append('<text x="%d" y="%.1f" text-anchor="end">%d</text>' % (L - 4, Y(v) + 4, v))
        for s in range(int(span_s) + 1):
            e.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%ds</text>' % (
                X(s), top + PH + 13, s))
        for ts, name in zip(r["steps"], r["step_names"]):
            word = name.split()[-1]
            if word not in evcol:
                continue
            dash = ' stroke-dasharray="3,3"' if word in ("exited", "removed") else ""
            e.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"%s><title>%s</title></line>'
                     % (X(ts), top, X(ts), top + PH, evcol[word], dash, name))
        for kind in ("ka", "new"):
            tl = r["timeline"][kind]
            d = " ".join("%s%.1f,%.1f" % ("M" if i == 0 else "L", X((i + 0.5) / 10), Y(v * 10))
                         for i, v in enumerate(tl))
            e.append('<path d="%s" fill="none" stroke="%s" stroke-width="1.5"/>' % (d, colors[kind]))
        for i, v in enumerate(r["timeline"]["fail"]):
            if v:
                e.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#d62728">'
                         '<title>%d failed</title></rect>' % (X(i / 10), Y(v * 10), pw / span_s / 10,
                                                              top + PH - Y(v * 10), v))
    ly = H - 8
    items = [("keep-alive", colors["ka"]), ("new connection", colors["new"]),
             ("new ready", evcol["ready"]), ("old terminating", evcol["terminating"]),
             ("old SIGTERM / exited", evcol["SIGTERM"]), ("old removed", evcol["removed"])]
    x = L
    for name, c in items:
        e.append('<rect x="%d" y="%d" width="12" height="3" fill="%s"/>' % (x, ly - 4, c))
        e.append('<text x="%d" y="%d">%s</text>' % (x + 16, ly, name))
        x += 30 + 7 * len(name)
    e.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(e) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    runs = {}
    meta = {}
    for d in sorted(glob.glob(os.path.join(a.raw, "*", "grace-*", "*"))):
        mt = lines(os.path.join(d, "meta.txt"))
        r = analyze(d)
        if not mt or not r:
            continue
        mode, trial, steps, grace, rate = mt[0][:5]
        r["trial"] = int(trial)
        runs.setdefault(key(mode, float(grace)), []).append(r)
        meta.update(steps=int(steps), rate=float(rate))
    for v in runs.values():
        v.sort(key=lambda r: r["trial"])
    top = os.environ.get("TOP", ".")
    meta.update(
        command=("bench/proxy/rollout.sh " + os.environ.get("ARGS", "")).strip(),
        date=sh("date -u +%Y-%m-%dT%H:%M:%SZ"), kernel=platform.release(), cores=os.cpu_count(),
        cpu=sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip(),
        drover_commit=sh("git -C '%s' rev-parse --short HEAD" % top),
        dirty=bool(sh("git -C '%s' status --porcelain -- bpf userspace bench" % top)),
        trials=max((len(v) for v in runs.values()), default=0),
        loadavg=open("/proc/loadavg").read().split()[:3])
    summ = summarize(runs)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "proxy-rollout.json"), "w") as f:
        json.dump({"machine": meta, "summary": summ, "runs": runs}, f, indent=1)
    with open(os.path.join(a.out, "proxy-rollout.md"), "w") as f:
        f.write(markdown(summ, meta))
    svg(os.path.join(a.out, "proxy-rollout.svg"), runs)


if __name__ == "__main__":
    main()
