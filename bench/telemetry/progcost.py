#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""progcost.py: bench/telemetry/progcost.sh's arithmetic.

  progcost.py line BUILD TRIAL STATS BENCHLOG   one JSON line: per phase (keepalive, close)
                                               ns per request of the telemetry programs
  progcost.py table JSONL                      min-max per build and phase, as a table

STATS: lines "unix-second name run_cnt run_time_ns" (bpftool prog show, every second).
BENCHLOG: scripts/bench.sh telemetry's output (its wrk lines give each run's req/s). The
seconds of a phase are told by the programs' counts: telemetry's egress program busy and
sockops idle is the keep-alive run, both busy the new-connection run; the first and last
second of each (partial) are left out."""
import collections
import json
import re
import sys

PROGS = ("drv_tl_egress", "drv_tl_ingress", "drv_tl_sockops")


def line(build, trial, stats, benchlog):
    by = collections.defaultdict(dict)
    for ln in open(stats):
        t, name, cnt, ns = ln.split()
        by[int(t)][name] = (int(cnt), int(ns))
    ts = sorted(by)
    rps = [float(m.group(1)) for m in re.finditer(r"wrk_\w+: ([0-9.]+) req/s", open(benchlog).read())]
    secs = []
    for a, b in zip(ts, ts[1:]):
        secs.append({n: (by[b][n][0] - by[a][n][0], by[b][n][1] - by[a][n][1])
                     if n in by[a] and n in by[b] else (0, 0) for n in PROGS})

    def phase(d):
        if d["drv_tl_egress"][0] <= 1000:
            return None
        return "keepalive" if d["drv_tl_sockops"][0] < 100 else "close"
    blocks, cur, curp = [], [], None
    for d in secs:
        p = phase(d)
        if p != curp:
            if cur and curp:
                blocks.append((curp, cur))
            cur, curp = [], p
        if p:
            cur.append(d)
    if cur and curp:
        blocks.append((curp, cur))
    out = {"build": build, "trial": int(trial)}
    # the first keep-alive and the first new-connection block: wrk's first two runs
    for want, r in zip(("keepalive", "close"), rps[:2]):
        blk = next((b for p, b in blocks if p == want), None)
        if not blk:
            continue
        blk = blk[1:-1] if len(blk) > 2 else blk
        reqs = r * len(blk)
        runs = {n: sum(d[n][0] for d in blk) for n in PROGS}
        ns = {n: sum(d[n][1] for d in blk) for n in PROGS}
        out[want] = {"req_per_s": r, "ns_per_request": round(sum(ns.values()) / reqs)}
        for n in PROGS:
            short = n.replace("drv_tl_", "")
            out[want][short + "_ns_per_run"] = round(ns[n] / runs[n]) if runs[n] else 0
            out[want][short + "_runs_per_request"] = round(runs[n] / reqs, 2)
    print(json.dumps(out))


def table(path):
    rows = [json.loads(x) for x in open(path)]
    builds = sorted({r["build"] for r in rows})
    print("| build | traffic | telemetry ns per request | egress ns per run | ingress ns per run | sockops ns per run | req/s |")
    print("|---|---|---|---|---|---|---|")
    for b in builds:
        for ph in ("keepalive", "close"):
            v = [r[ph] for r in rows if r["build"] == b and ph in r]
            if not v:
                continue
            mm = lambda k: "%d–%d" % (min(x[k] for x in v), max(x[k] for x in v))
            print("| %s | %s | %s | %s | %s | %s | %s |" % (
                b, "keep-alive" if ph == "keepalive" else "new connection", mm("ns_per_request"),
                mm("egress_ns_per_run"), mm("ingress_ns_per_run"), mm("sockops_ns_per_run"),
                mm("req_per_s")))


if __name__ == "__main__":
    if sys.argv[1] == "line":
        line(*sys.argv[2:6])
    else:
        table(sys.argv[2])
