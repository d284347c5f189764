#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""report: turns the raw figures of `scripts/bench.sh proxy` into proxy.json, proxy.md and
proxy-*.svg (SVG written by hand; standard library only).

  report.py --machine-info FILE                 machine/settings JSON from the environment
  report.py --raw DIR --machine FILE --out DIR [--name NAME]
                                                the results: NAME.json, NAME.md, NAME-*.svg

Every figure is the median over the interleaved trials, with min-max beside it; ratios are
medians divided by the iptables (nf_tables backend, measured service last) median of the
same S in the same run; "vs floor" compares with the no-proxy row of the same S. With one
backend (--backends 1) the floor differs from the proxies in nothing but the proxy, and the
"against the floor" section judges the goals there (socket LB keep-alive within 5 %, new
connections within 10 %), with each trial's ratio to the floor of the same trial beside the
ratio of the medians.
"""
import argparse
import glob
import json
import os
import platform
import statistics
import subprocess

MODES = ["none", "ipt-nft", "ipt-nft-first", "ipt-legacy", "ipt-legacy-first", "nft",
         "drover-tc", "drover-sock"]
LABEL = {
    "none": "no proxy (floor)",
    "ipt-nft": "iptables, nf_tables backend",
    "ipt-nft-first": "iptables, nf_tables, measured svc first",
    "ipt-legacy": "iptables, legacy backend",
    "ipt-legacy-first": "iptables, legacy, measured svc first",
    "nft": "kube-proxy nftables mode",
    "drover-tc": "drover tc (socket LB off)",
    "drover-sock": "drover socket LB",
}
COLOR = {"none": "#777777", "ipt-nft": "#d62728", "ipt-nft-first": "#ff9896",
         "ipt-legacy": "#8c564b", "ipt-legacy-first": "#c49c94", "nft": "#ff7f0e",
         "drover-tc": "#1f77b4", "drover-sock": "#2ca02c"}
BASE = "ipt-nft"


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def machine_info(path):
    e = os.environ
    info = {
        "kernel": platform.release(), "cores": os.cpu_count(),
        "cpu": sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip(),
        "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "iptables": sh("iptables --version"), "nft": sh("nft --version"),
        "wrk": sh("wrk --version 2>&1 | head -1"),
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
        "drover_commit": sh("git -C '%s' rev-parse --short HEAD" % e.get("TOP", ".")),
        "drover_tree_dirty": bool(sh("git -C '%s' status --porcelain -- bpf userspace bench "
                                     "':!bench/results'" % e.get("TOP", "."))),
        "date": sh("date -u +%Y-%m-%dT%H:%M:%SZ"),
        "command": ("scripts/bench.sh proxy " + e.get("ARGS", "")).strip(),
        "ipvs": e.get("IPVS", "?"),
        "legacy_iptables": e.get("HAVE_LEGACY") == "1",
        "settings": {k.lower(): e.get(k) for k in (
            "SERVICES", "TRIALS", "CONNS", "WRK_SECS", "WRK_CONNS", "WRK_THREADS", "PKT_RUNS",
            "SLOW_CAP", "CYCLES", "QUICK", "BACKENDS")},
    }
    with open(path, "w") as f:
        json.dump(info, f, indent=1)


def load_json(path):
    try:
        with open(path) as f:
            txt = f.read().strip()
        return [json.loads(l) for l in txt.splitlines() if l.startswith("{")] if txt else []
    except (OSError, ValueError):
        return []


def load_trials(raw):
    trials = []
    for d in sorted(glob.glob(os.path.join(raw, "*", "*", "*"))):
        mode = d.split(os.sep)[-3]
        if mode == "pktbench":
            continue
        t = {"mode": mode, "services": int(d.split(os.sep)[-2]), "trial": int(d.split(os.sep)[-1]),
             "metrics": {}}
        try:
            for line in open(os.path.join(d, "metrics.txt")):
                k, _, v = line.strip().partition(" ")
                try:
                    # A figure taken several times in one trial (sync cycles) is a list.
                    t["metrics"].setdefault(k, []).append(float(v))
                except (ValueError, AttributeError):
                    t["metrics"][k] = v
        except OSError:
            pass
        for name in ("connlat", "wrk_keepalive", "wrk_close"):
            j = load_json(os.path.join(d, name + ".json"))
            t[name] = j[-1] if j else None
        t["check"] = load_json(os.path.join(d, "check.json"))
        t["broken"] = t["metrics"].get("broken")
        trials.append(t)
    pkt = []
    for d in sorted(glob.glob(os.path.join(raw, "pktbench", "*", "*"))):
        rows = load_json(os.path.join(d, "pktbench.jsonl"))
        pkt.append({"services": int(d.split(os.sep)[-2]), "trial": int(d.split(os.sep)[-1]),
                    "paths": [r for r in rows if "path" in r],
                    "lbmap": [r for r in rows if "lbmap" in r]})
    return trials, pkt


def stat(vals):
    flat = []
    for v in vals:
        flat += v if isinstance(v, list) else [v]
    vals = [v for v in flat if isinstance(v, (int, float))]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def metric(t, key):
    """A figure of one trial by dotted key: connlat.p50_us, wrk_close.rps, metrics.x."""
    src, _, k = key.partition(".")
    d = t.get(src) if src != "metrics" else t["metrics"]
    if not isinstance(d, dict):
        return None
    v = d.get(k)
    return v if isinstance(v, (int, float, list)) else None


KEYS = ["connlat.p50_us", "connlat.p99_us", "connlat.p999_us", "connlat.errors",
        "wrk_keepalive.rps", "wrk_keepalive.p50_us", "wrk_keepalive.p99_us",
        "wrk_keepalive.p999_us", "wrk_close.rps", "wrk_close.p50_us", "wrk_close.p99_us",
        "wrk_close.p999_us"]


def summarize(trials):
    out = {}
    for t in trials:
        if t["broken"]:
            continue
        out.setdefault(t["mode"], {}).setdefault(t["services"], []).append(t)
    summ = {}
    for mode, by_s in out.items():
        for s, ts in by_s.items():
            keys = set(KEYS)
            for t in ts:
                keys |= {"metrics." + k for k, v in t["metrics"].items()
                         if isinstance(v, list) and k not in ("services", "trial")}
            summ.setdefault(mode, {})[s] = {k: stat([metric(t, k) for t in ts]) for k in sorted(keys)}
    return summ


def pkt_summary(pkt):
    out = {}
    for p in pkt:
        for r in p["paths"]:
            out.setdefault(p["services"], {}).setdefault(r["path"], []).append(r)
    res = {}
    lb = {}
    for p in pkt:
        for r in p.get("lbmap", []):
            lb.setdefault(p["services"], {}).setdefault(r["lbmap"], []).append(r)
    for s, ops in lb.items():
        for op, rows in ops.items():
            res.setdefault(s, {})["lbmap_" + op] = {
                "wall_us": stat([r.get("wall_us") for r in rows]),
                "cpu_us": stat([r.get("cpu_us") for r in rows]),
                "failed": sum(1 for r in rows if r.get("rc"))}
    for s, paths in out.items():
        for path, rows in paths.items():
            res.setdefault(s, {})[path] = {
                "p50_ns": stat([r.get("p50_ns") for r in rows]),
                "p99_ns": stat([r.get("p99_ns") for r in rows]),
                "net_ns": stat([r.get("net_ns") for r in rows]),
                "retval": rows[0].get("retval"), "repeat": rows[0].get("repeat"),
                # runs that returned another verdict than the path's measured another path
                # (pktbench's wrong_verdict; absent from runs before it counted them)
                "wrong_verdict": sum(r.get("wrong_verdict") or 0 for r in rows)}
    return res


# ---------- formatting ----------

def fmt(v, digits=None):
    if v is None:
        return "–"
    if digits is None:
        digits = 0 if abs(v) >= 100 else (1 if abs(v) >= 10 else 2)
    return "{:,.{}f}".format(v, digits)


def cell(st, digits=None, spread=True):
    if not st:
        return "–"
    if not spread or st["n"] < 2:
        return fmt(st["median"], digits)
    return "%s (%s–%s)" % (fmt(st["median"], digits), fmt(st["min"], digits), fmt(st["max"], digits))


def get(summ, mode, s, key):
    return summ.get(mode, {}).get(s, {}).get(key)


def ratio(summ, mode, s, key, base=BASE):
    a, b = get(summ, mode, s, key), get(summ, base, s, key)
    if not a or not b or not b["median"]:
        return None
    return a["median"] / b["median"]


def rcell(r):
    return "–" if r is None else "%.2f×" % r


def pct_vs_floor(summ, mode, s, key):
    a, b = get(summ, mode, s, key), get(summ, "none", s, key)
    if not a or not b or not b["median"]:
        return None
    return (a["median"] / b["median"] - 1) * 100


def pcell(p):
    return "–" if p is None else "%+.0f %%" % p


def main_table(summ, services, modes):
    lines = ["| S | mode | connect p50 µs | connect p99 µs | vs floor p50/p99 | keep-alive req/s "
             "| ka vs iptables | ka p99 µs | new-conn req/s | nc vs iptables | nc p99 µs |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in services:
        for m in modes:
            if m not in summ or s not in summ[m]:
                continue
            lines.append("| %s | %s | %s | %s | %s / %s | %s | %s | %s | %s | %s | %s |" % (
                "{:,}".format(s), LABEL[m],
                cell(get(summ, m, s, "connlat.p50_us")), cell(get(summ, m, s, "connlat.p99_us")),
                pcell(pct_vs_floor(summ, m, s, "connlat.p50_us")),
                pcell(pct_vs_floor(summ, m, s, "connlat.p99_us")),
                cell(get(summ, m, s, "wrk_keepalive.rps")),
                rcell(ratio(summ, m, s, "wrk_keepalive.rps")),
                cell(get(summ, m, s, "wrk_keepalive.p99_us")),
                cell(get(summ, m, s, "wrk_close.rps")),
                rcell(ratio(summ, m, s, "wrk_close.rps")),
                cell(get(summ, m, s, "wrk_close.p99_us"))))
    return lines


def latency_table(summ, services, modes):
    lines = ["| S | mode | connect p50 | p99 | p99.9 | ka p50 | ka p99.9 | nc p50 | nc p99.9 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for s in services:
        for m in modes:
            if m not in summ or s not in summ[m]:
                continue
            lines.append("| %s | %s | %s |" % ("{:,}".format(s), LABEL[m], " | ".join(
                cell(get(summ, m, s, k)) for k in (
                    "connlat.p50_us", "connlat.p99_us", "connlat.p999_us", "wrk_keepalive.p50_us",
                    "wrk_keepalive.p999_us", "wrk_close.p50_us", "wrk_close.p999_us"))))
    return lines


SYNC_ROWS = [
    ("iptables nf_tables: program all (kube-proxy's --noflush sync into empty chains)",
     "ipt-nft", "metrics.ipt_program_all_ms", "ms"),
    ("iptables nf_tables: fast flush-mode load (harness set-up only)", "ipt-nft",
     "metrics.ipt_load_fast_ms", "ms"),
    ("iptables nf_tables: partial sync, add one", "ipt-nft", "metrics.ipt_partial_add_ms", "ms"),
    ("iptables nf_tables: partial sync, change one", "ipt-nft", "metrics.ipt_partial_change_ms", "ms"),
    ("iptables nf_tables: partial sync, delete one", "ipt-nft", "metrics.ipt_partial_delete_ms", "ms"),
    ("iptables nf_tables: full resync (--noflush, all chains)", "ipt-nft",
     "metrics.ipt_full_resync_ms", "ms"),
    ("iptables legacy: program all (--noflush)", "ipt-legacy", "metrics.ipt_program_all_ms", "ms"),
    ("iptables legacy: partial sync, add one", "ipt-legacy", "metrics.ipt_partial_add_ms", "ms"),
    ("iptables legacy: partial sync, change one", "ipt-legacy", "metrics.ipt_partial_change_ms", "ms"),
    ("iptables legacy: partial sync, delete one", "ipt-legacy", "metrics.ipt_partial_delete_ms", "ms"),
    ("iptables legacy: full resync", "ipt-legacy", "metrics.ipt_full_resync_ms", "ms"),
    ("nftables: program all (nft -f, kube-proxy's full transaction)", "nft",
     "metrics.nft_program_all_ms", "ms"),
    ("nftables: add one (incremental transaction)", "nft", "metrics.nft_add_ms", "ms"),
    ("nftables: change one", "nft", "metrics.nft_change_ms", "ms"),
    ("nftables: delete one", "nft", "metrics.nft_delete_ms", "ms"),
    ("nftables: list chains (every kube-proxy sync does it too)", "nft",
     "metrics.nft_list_chains_ms", "ms"),
    ("drover: program all, maps (decoded change -> maps updated)", "drover-tc",
     "metrics.drover_program_all_maps_us", "µs"),
    ("drover: program all, whole commit (model + maps)", "drover-tc",
     "metrics.drover_program_all_commit_us", "µs"),
    ("drover: proxy start to ready (load BPF, parse manifests, program)", "drover-tc",
     "metrics.drover_start_to_ready_ms", "ms"),
    ("drover: proxy CPU from start to ready", "drover-tc", "metrics.drover_start_cpu_ms", "ms"),
    ("drover: add one, maps", "drover-tc", "metrics.drover_add_maps_us", "µs"),
    ("drover: change one, maps", "drover-tc", "metrics.drover_change_maps_us", "µs"),
    ("drover: delete one, maps", "drover-tc", "metrics.drover_delete_maps_us", "µs"),
    ("drover: add one, file change to sync logged (re-reads the changed file)", "drover-tc",
     "metrics.drover_add_e2e_ms", "ms"),
    ("drover: change one, file change to sync logged", "drover-tc",
     "metrics.drover_change_e2e_ms", "ms"),
    ("drover: delete one, file change to sync logged", "drover-tc",
     "metrics.drover_delete_e2e_ms", "ms"),
    ("drover: proxy CPU for add one (reload of one file)", "drover-tc", "metrics.drover_add_cpu_ms", "ms"),
    ("drover: proxy CPU for change one", "drover-tc", "metrics.drover_change_cpu_ms", "ms"),
    ("drover: proxy CPU for delete one", "drover-tc", "metrics.drover_delete_cpu_ms", "ms"),
]


def sync_cell(summ, mode, s, key):
    st = get(summ, mode, s, key)
    if st:
        return cell(st)
    to = get(summ, mode, s, key.replace("_ms", "_timeout_s").replace("_us", "_timeout_s"))
    if to:
        return "> %d s (stopped)" % to["median"]
    return "–"


def pooled(key, s, modes=("drover-tc", "drover-sock")):
    """key's values over every trial of the drover modes at S = s (both modes program the same
    maps the same way, so their sync figures pool)."""
    return [metric(t, key) for m in modes for t in TRIALS_BY.get((m, s), [])]


def sync_table(summ, services):
    lines = ["| operation | unit | " + " | ".join("S = {:,}".format(s) for s in services) + " |",
             "|---|---|" + "---|" * len(services)]
    for label, mode, key, unit in SYNC_ROWS:
        cells = []
        for s in services:
            if mode == "drover-tc":
                st = stat(pooled(key, s))
                cells.append(cell(st) if st else "–")
            else:
                cells.append(sync_cell(summ, mode, s, key))
        if all(c == "–" for c in cells):
            continue
        lines.append("| %s | %s | %s |" % (label, unit, " | ".join(cells)))
    return lines


TRIALS_BY = {}


def lbmap_table(ps, services):
    lines = ["| lbmap transaction (in-process) | " + " | ".join(
        "S = {:,}: wall µs | CPU µs".format(s) for s in services) + " |",
             "|---|" + "---|---|" * len(services)]
    for op, label in (("program_all", "program all S frontends from scratch"),
                      ("add", "add one frontend (3 backends)"),
                      ("change", "change its backends (one replaced)"),
                      ("delete", "delete it")):
        cells = []
        for s in services:
            r = ps.get(s, {}).get("lbmap_" + op)
            cells += [cell(r["wall_us"]), cell(r["cpu_us"])] if r else ["–", "–"]
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    return lines


def pkt_table(ps, services):
    names = [("tc_new_flow", "tc, hit: SYN of a new flow (lookup, conntrack create, DNAT, redirect)"),
             ("tc_est_flow", "tc, hit: packet of an established flow (conntrack hit, DNAT)"),
             ("tc_reply", "tc, hit: backend reply (reverse NAT)"),
             ("tc_miss", "tc, miss: packet to no service"),
             ("tc_repeat_loop", "tc, repeat loop over one packet (1 hit then misses)"),
             ("xdp_new_flow", "XDP NodePort, hit: SYN of a new flow (Maglev, SNAT)"),
             ("xdp_est_flow", "XDP NodePort, hit: established flow"),
             ("xdp_miss", "XDP, miss: not a NodePort"),
             ("xdp_repeat_loop", "XDP, repeat loop over one packet"),
             ("empty_tc", "empty tc program (test-run timer overhead)"),
             ("empty_xdp", "empty XDP program (test-run timer overhead)")]
    lines = ["| path | " + " | ".join("S = {:,}: p50 ns (net)".format(s) for s in services) + " |",
             "|---|" + "---|" * len(services)]
    for key, label in names:
        cells = []
        for s in services:
            r = ps.get(s, {}).get(key)
            if not r:
                cells.append("–")
                continue
            if r.get("wrong_verdict"):
                cells.append("not this path: %s runs returned verdict %s" % (
                    "{:,}".format(r["wrong_verdict"]), r["retval"]))
                continue
            cells.append("%s (%s)" % (cell(r["p50_ns"], 0), fmt(r["net_ns"]["median"], 0)
                                      if r["net_ns"] else "–"))
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    return lines


# ---------- goals ----------

def goals(summ, ps, services):
    out = []
    big = max(services)

    def line(ok, text):
        out.append("- **%s** %s" % ("met" if ok else ("MISSED" if ok is False else "n/a"), text))

    for s in services:
        for k, name in (("connlat.p50_us", "p50"), ("connlat.p99_us", "p99")):
            p = pct_vs_floor(summ, "drover-sock", s, k)
            line(None if p is None else p <= 5.0,
                 "socket LB connect %s within 5 %% of the floor at S = %s: %s" % (name, "{:,}".format(s), pcell(p)))
    for k, name in (("connlat.p50_us", "p50"), ("connlat.p99_us", "p99")):
        a, b = get(summ, "drover-tc", big, k), get(summ, "nft", big, k)
        ok = None if not a or not b else a["median"] <= b["median"]
        line(ok, "tc path connect %s at S = %s no slower than nftables mode: %s vs %s µs" % (
            name, "{:,}".format(big), fmt(a and a["median"]), fmt(b and b["median"])))
    for m in ("drover-sock", "drover-tc"):
        r = ratio(summ, m, big, "wrk_close.rps")
        line(None if r is None else r >= 2.4,
             "%s new connection per request at S = %s ≥ 2.4× iptables (nf_tables): %s" % (
                 LABEL[m], "{:,}".format(big), rcell(r)))
        r2 = ratio(summ, m, big, "wrk_close.rps", base="nft")
        line(None if r2 is None else r2 >= 1.0,
             "%s new connection per request at S = %s ≥ nftables mode: %s" % (
                 LABEL[m], "{:,}".format(big), rcell(r2)))
        for s in services:
            r = ratio(summ, m, s, "wrk_keepalive.rps")
            p = pct_vs_floor(summ, m, s, "wrk_keepalive.rps")
            line(None if r is None or p is None else (r >= 1.0 and p >= -5.0),
                 "%s keep-alive at S = %s ≥ iptables and within 5 %% of the floor: %s iptables, "
                 "%s vs floor" % (LABEL[m], "{:,}".format(s), rcell(r), pcell(p)))
    for op in ("add", "change", "delete"):
        st = stat(pooled("metrics.drover_%s_maps_us" % op, big))
        lb = ps.get(big, {}).get("lbmap_" + op)
        lbc = lb and lb["cpu_us"]
        line(None if not st else st["median"] <= 100.0,
             "%s one service among %s: maps updated in ≤ 100 µs: proxy's figure median %s µs "
             "(min %s, max %s); map layer alone %s µs CPU (median)" % (
                 op, "{:,}".format(big), fmt(st and st["median"]), fmt(st and st["min"]),
                 fmt(st and st["max"]), fmt(lbc and lbc["median"])))
    key = "metrics.drover_program_all_maps_us"
    st = stat(pooled(key, big))
    per_mode = [stat(pooled(key, big, (m,))) for m in ("drover-tc", "drover-sock")]
    lb = ps.get(big, {}).get("lbmap_program_all")
    lbc = lb and lb["cpu_us"]
    line(None if not st else st["median"] <= 50000.0,
         "all %s programmed from scratch in ≤ 50 ms (maps): proxy's figure median %s ms over "
         "both drover modes' trials (min %s, max %s; tc-mode trials alone %s, socket-LB-mode "
         "trials alone %s); map layer alone %s ms CPU (median)" % (
             "{:,}".format(big), fmt(st and st["median"] / 1000), fmt(st and st["min"] / 1000),
             fmt(st and st["max"] / 1000),
             *[fmt(p and p["median"] / 1000) for p in per_mode],
             fmt(lbc and lbc["median"] / 1000)))
    for path in ("tc_est_flow", "tc_new_flow", "tc_reply"):
        r = ps.get(big, {}).get(path)
        n = r and r["net_ns"] and r["net_ns"]["median"]
        line(None if n is None else n <= 100,
             "tc program ≤ 100 ns per packet (%s, BPF_PROG_TEST_RUN, net of the timer): %s ns" % (
                 path, fmt(n, 0)))
    return out


# ---------- against the floor ----------

# (figure, label, goal tolerance in %, lower is better): the two rates and the CPU time
# (wrk, servers, proxy) each request took, which the goals read as a rate too (floor's CPU
# over the mode's): that one holds while other work takes CPUs away from the run.
FLOOR_KEYS = (("wrk_keepalive.rps", "keep-alive req/s", 5.0, False),
              ("metrics.wrk_keepalive_cpu_us_per_req", "keep-alive CPU µs per request", 5.0, True),
              ("wrk_close.rps", "new connection per request, req/s", 10.0, False),
              ("metrics.wrk_close_cpu_us_per_req", "new connection: CPU µs per request", 10.0,
               True),
              ("connlat.p50_us", "connect p50 µs", None, True))


def paired_ratios(mode, s, key):
    """mode's figure over the floor's, trial by trial (the trials interleave, so a trial's
    modes ran minutes apart at most and share the machine's load of that moment)."""
    def one(t):  # a metric recorded once per trial is a one-element list
        v = metric(t, key)
        return v[0] if isinstance(v, list) and len(v) == 1 else v
    floor = {t["trial"]: one(t) for t in TRIALS_BY.get(("none", s), [])}
    out = []
    for t in TRIALS_BY.get((mode, s), []):
        a, b = one(t), floor.get(t["trial"])
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
            out.append(a / b)
    return out


def vs_floor(summ, services, modes):
    """Per S, mode and figure: median (min-max), ratio of medians, per-trial ratios, whether
    the ranges overlap, and the goal's verdict for the two rates."""
    res = {}
    for s in services:
        fl = summ.get("none", {}).get(s)
        if not fl:
            continue
        for m in ("drover-sock", "drover-tc", "nft", "ipt-nft"):
            if m not in modes or s not in summ.get(m, {}):
                continue
            for key, _, tol, lower in FLOOR_KEYS:
                a, b = get(summ, m, s, key), fl.get(key)
                if not a or not b or not b["median"] or not a["median"]:
                    continue
                pr = stat(paired_ratios(m, s, key))
                r = {"mode": a, "floor": b, "ratio": a["median"] / b["median"],
                     "paired_ratio": pr,
                     "ranges_overlap": a["min"] <= b["max"] and b["min"] <= a["max"]}
                if tol is not None:
                    # as a rate: for a CPU time per request, the floor's over the mode's
                    r["rate_ratio"] = 1 / r["ratio"] if lower else r["ratio"]
                    r["goal_min_ratio"] = 1 - tol / 100
                    r["goal_met"] = r["rate_ratio"] >= r["goal_min_ratio"]
                res.setdefault(str(s), {}).setdefault(m, {})[key] = r
    return res


def floor_section(vf, machine):
    be = machine["settings"].get("backends") or "3"
    like = str(be) == "1"
    out = ["", "## Against the floor (%s)" % ("like for like: one backend" if like else
                                            "%s backends: not like for like" % be), ""]
    if like:
        out += ["The measured service has one endpoint; the floor connects straight to it, "
                "the proxies through the service address (10.96.0.10:80). Same client, same "
                "server, same wrk threads and connections: what differs is the proxy alone. "
                "Ratio: median over the floor's median; per trial: each trial's figure over "
                "the floor's of the same trial (median, min–max). Goals (issue 11, item 12): "
                "socket LB keep-alive ≥ 0.95× the floor, new connections/s ≥ 0.90×; the CPU "
                "rows judge them as rates (the floor's CPU per request over the mode's). "
                "CPU per request: the CPU time of wrk, the server and the proxy over the "
                "requests (the packet path's softirq work is charged to them), a figure that "
                "other work on the machine moves much less than the rates.", ""]
    else:
        out += ["The floor's wrk thread i connects straight to backend i (each thread's "
                "connections on one backend); the proxies pick a backend per connection at "
                "random, so the two differ in more than the proxy (see --backends 1).", ""]
    out += ["| S | mode | figure | mode median (min–max) | floor median (min–max) | ratio "
            "| per-trial ratio (min–max) | ranges overlap | goal |",
            "|---|---|---|---|---|---|---|---|---|"]
    for s, by_m in vf.items():
        for m, by_k in by_m.items():
            for key, label, tol, lower in FLOOR_KEYS:
                r = by_k.get(key)
                if not r:
                    continue
                goal = "–"
                if tol is not None and like:
                    goal = "%s (%s %.2f×%s)" % (
                        "met" if r["goal_met"] else "MISSED", "≤" if lower else "≥",
                        1 / r["goal_min_ratio"] if lower else r["goal_min_ratio"],
                        ", as a rate %.2f×" % r["rate_ratio"] if lower else "")
                pr = r["paired_ratio"]
                out.append("| %s | %s | %s | %s | %s | %.2f× | %s | %s | %s |" % (
                    "{:,}".format(int(s)), LABEL[m], label, cell(r["mode"]), cell(r["floor"]),
                    r["ratio"], ("%.2f× (%.2f–%.2f)" % (pr["median"], pr["min"], pr["max"]))
                    if pr else "–", "yes" if r["ranges_overlap"] else "no", goal))
    return out


def svg_floor(path, vf, machine):
    """Grouped bars: per rate, the floor and each proxy (median, min-max whisker), the ratio
    to the floor above each proxy's bar, the goal as a dashed line."""
    keys = [k for k in FLOOR_KEYS if k[2] is not None]
    groups = []
    for s, by_m in vf.items():
        for key, label, tol, lower in keys:
            bars = []
            fl = None
            for m, by_k in by_m.items():
                r = by_k.get(key)
                if r:
                    fl = r["floor"]
                    bars.append((m, r["mode"], r["ratio"]))
            if fl:
                groups.append(("S = %s: %s" % ("{:,}".format(int(s)), label), tol, lower,
                               [("none", fl, 1.0)] + bars))
    if not groups:
        return
    W, H, L, T, B, GAP = 380 * len(groups) + 80, 400, 70, 50, 60, 70
    ph = H - T - B
    e = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
         'font-size="12">' % (W, H), '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="22" font-size="15" font-weight="bold">Against the floor (%s backend%s): '
         'median, bar = min–max over trials</text>' % (
             L, machine["settings"].get("backends") or 3,
             "" if str(machine["settings"].get("backends")) == "1" else "s")]
    gw = (W - L - 10) / len(groups)
    for g, (title, tol, lower, bars) in enumerate(groups):
        x0 = L + g * gw
        ymax = max(st["max"] for _, st, _ in bars) * 1.15

        def Y(v, ymax=ymax):
            return T + ph - v / ymax * ph
        e.append('<text x="%.1f" y="%d" text-anchor="middle" font-weight="bold">%s</text>'
                 % (x0 + gw / 2, T - 10, title))
        e.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black"/>'
                 % (x0, T + ph, x0 + gw - GAP, T + ph))
        for i in range(6):
            v = ymax * i / 5
            e.append('<text x="%.1f" y="%.1f" text-anchor="end" fill="#555">%s</text>'
                     % (x0 - 4, Y(v) + 4, fmt(v)))
            e.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>'
                     % (x0, Y(v), x0 + gw - GAP, Y(v)))
        bw = (gw - GAP) / len(bars)
        for k, (m, st, rt) in enumerate(bars):
            bx = x0 + k * bw + bw * 0.15
            w = bw * 0.7
            e.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>'
                     % (bx, Y(st["median"]), w, T + ph - Y(st["median"]), COLOR[m]))
            cx = bx + w / 2
            e.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>'
                     % (cx, Y(st["min"]), cx, Y(st["max"])))
            e.append('<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>'
                     % (cx, Y(st["max"]) - 5, "floor" if m == "none" else "%.2f×" % rt))
            e.append('<text x="%.1f" y="%d" text-anchor="middle" font-size="10">%s</text>'
                     % (cx, T + ph + 14 + 12 * (k % 2), LABEL[m]))
        gr = 1 / (1 - tol / 100) if lower else 1 - tol / 100
        goal = bars[0][1]["median"] * gr
        e.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#d62728" '
                 'stroke-dasharray="5,3"/>' % (x0, Y(goal), x0 + gw - GAP, Y(goal)))
        e.append('<text x="%.1f" y="%.1f" fill="#d62728" text-anchor="end" font-size="10">'
                 'goal %s %.2f× floor</text>' % (x0 + gw - GAP, Y(goal) - 3,
                                                 "≤" if lower else "≥", gr))
    e.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(e) + "\n")


# ---------- SVG ----------

def svg_plot(path, title, ylabel, summ, services, modes, key, logy=False):
    W, H, L, R, T, B = 720, 420, 80, 230, 40, 50
    pw, ph = W - L - R, H - T - B
    pts = {}
    ys = []
    for m in modes:
        for s in services:
            st = get(summ, m, s, key)
            if st:
                pts.setdefault(m, []).append((s, st))
                ys += [st["min"], st["max"]]
    if not ys:
        return
    import math
    ymin, ymax = 0.0, max(ys) * 1.1
    if logy:
        ymin, ymax = math.log10(max(min(ys), 1e-3)) - 0.1, math.log10(max(ys)) + 0.1

    def X(s):
        i = services.index(s)
        return L + (pw * (i + 0.5) / len(services))

    def Y(v):
        v = math.log10(max(v, 1e-3)) if logy else v
        return T + ph - (v - ymin) / (ymax - ymin) * ph

    e = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
         'font-size="12">' % (W, H), '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>' % (L, title),
         '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (L, T + ph, L + pw, T + ph),
         '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (L, T, L, T + ph),
         '<text x="16" y="%d" transform="rotate(-90 16 %d)" text-anchor="middle">%s</text>'
         % (T + ph / 2, T + ph / 2, ylabel),
         '<text x="%d" y="%d" text-anchor="middle">services (S)</text>' % (L + pw / 2, H - 10)]
    for i in range(6):
        v = ymin + (ymax - ymin) * i / 5
        y = T + ph - ph * i / 5
        lab = fmt(10 ** v) if logy else fmt(v)
        e.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e0e0e0"/>' % (L, y, L + pw, y))
        e.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (L - 6, y + 4, lab))
    for s in services:
        e.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (X(s), T + ph + 18,
                                                                           "{:,}".format(s)))
    for k, m in enumerate(m for m in modes if m in pts):
        c = COLOR[m]
        p = pts[m]
        d = " ".join("%s%.1f,%.1f" % ("M" if i == 0 else "L", X(s), Y(st["median"]))
                     for i, (s, st) in enumerate(p))
        dash = ' stroke-dasharray="5,3"' if m.endswith("-first") else ""
        e.append('<path d="%s" fill="none" stroke="%s" stroke-width="2"%s/>' % (d, c, dash))
        for s, st in p:
            x = X(s)
            e.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>'
                     % (x, Y(st["min"]), x, Y(st["max"]), c))
            e.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (x, Y(st["median"]), c))
        ly = T + 10 + 18 * k
        e.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>'
                 % (L + pw + 12, ly, L + pw + 32, ly, c, dash))
        e.append('<text x="%d" y="%d">%s</text>' % (L + pw + 38, ly + 4, LABEL[m]))
    e.append('<text x="%d" y="%d" fill="#555">median, bar = min–max over trials</text>'
             % (L + pw + 12, T + ph))
    e.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(e) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--machine-info")
    ap.add_argument("--raw")
    ap.add_argument("--machine")
    ap.add_argument("--out")
    ap.add_argument("--name", default="proxy", help="file names: NAME.json, NAME.md, NAME-*.svg")
    ap.add_argument("--notes", default=os.path.join(os.path.dirname(__file__), "notes.md"))
    ap.add_argument("--from-json", help="regenerate the report from an earlier proxy.json "
                    "(its raw trials), e.g. after editing notes.md")
    a = ap.parse_args()
    if a.machine_info:
        machine_info(a.machine_info)
        return
    if a.from_json:
        earlier = json.load(open(a.from_json))
        machine, trials, pkt = earlier["machine"], earlier["trials"], earlier["pktbench"]
    else:
        machine = json.load(open(a.machine))
        machine.setdefault("loadavg_end", open("/proc/loadavg").read().split()[:3])
        trials, pkt = load_trials(a.raw)
    for t in trials:
        if not t["broken"]:
            TRIALS_BY.setdefault((t["mode"], t["services"]), []).append(t)
    summ = summarize(trials)
    ps = pkt_summary(pkt)
    services = sorted({t["services"] for t in trials} | set(ps))
    modes = [m for m in MODES if m in summ]
    broken = sorted({(t["mode"], t["services"], t["broken"]) for t in trials if t["broken"]})
    vf = vs_floor(summ, services, modes)
    name = a.name

    with open(os.path.join(a.out, name + ".json"), "w") as f:
        json.dump({"machine": machine, "summary": {m: {str(s): v for s, v in d.items()}
                                                   for m, d in summ.items()},
                   "vs_floor": vf,
                   "pktbench_summary": {str(s): v for s, v in ps.items()},
                   "trials": trials, "pktbench": pkt, "broken": broken}, f, indent=1)

    md = ["# drover eBPF proxy vs kube-proxy (iptables, nftables): results", "",
          "Made by `%s` on %s (drover %s%s)." % (machine["command"], machine["date"],
                                                machine["drover_commit"],
                                                ", tree dirty" if machine.get("drover_tree_dirty") else ""),
          "Machine: %s cores (%s), %s GB, kernel %s; %s; %s; %s. IPVS: %s." % (
              machine["cores"], machine["cpu"], machine["mem_gb"], machine["kernel"],
              machine["iptables"], machine["nft"], machine["wrk"], machine["ipvs"]),
          "Load average at start %s, at end %s (other work shared the machine: that is why "
          "every figure is a median over interleaved trials with its min–max)." % (
              " ".join(machine["loadavg_start"]), " ".join(machine["loadavg_end"])),
          "",
          "Settings: %s." % ", ".join("%s %s" % (k, v) for k, v in machine["settings"].items()),
          "Every cell: median (min–max) over the trials. Ratios: median over the median of "
          "iptables (nf_tables backend, measured service last in KUBE-SERVICES) at the same S. "
          "\"vs floor\": against the no-proxy row (client connects straight to the backends).",
          "", "## Headline", ""]
    md += main_table(summ, services, modes)
    if vf:
        md += floor_section(vf, machine)
    md += ["", "connect = time from connect() to established, one connection at a time, closed "
           "with RST (drover-connlat); keep-alive / new-conn = wrk -t%s -c%s for %s s, keep-alive "
           "or `Connection: close` on every request; latency in µs." % (
               machine["settings"].get("wrk_threads"), machine["settings"].get("wrk_conns"),
               machine["settings"].get("wrk_secs")),
           "", "## Goals", ""]
    md += goals(summ, ps, services)
    md += ["", "## Tail latency (µs)", ""]
    md += latency_table(summ, services, modes)
    md += ["", "## Programming and sync", ""]
    md += sync_table(summ, services)
    md += ["", "The map layer alone (drover-pktbench: lbmap driven in-process over the same "
           "frontends, wall clock and the thread's CPU time; the difference is time the "
           "process waited for a CPU on this shared machine):", ""]
    md += lbmap_table(ps, services)
    if ps:
        md += ["", "## Per-packet cost of drover's programs (BPF_PROG_TEST_RUN)", "",
           "Hit paths use a fresh copy of the packet on every run (repeat = 1) and report the "
           "kernel's per-run duration; \"net\" subtracts an empty program's figure measured "
           "the same way (the timer's own cost). The repeat-loop rows show what a repeat loop "
           "measures instead: the packet is translated on the first pass, so every later pass "
           "takes the miss path.", ""]
        md += pkt_table(ps, services)
    if broken:
        md += ["", "## Broken (not timed)", ""]
        md += ["- %s at S = %s: %s" % (LABEL.get(m, m), s, why) for m, s, why in broken]
    if a.notes and os.path.exists(a.notes):
        md += ["", open(a.notes).read().rstrip()]
    with open(os.path.join(a.out, name + ".md"), "w") as f:
        f.write("\n".join(md) + "\n")

    if vf:
        svg_floor(os.path.join(a.out, name + "-vs-floor.svg"), vf, machine)

    if len(services) < 2:
        return  # the plots below draw each figure over S: one S is one point
    svg_plot(os.path.join(a.out, name + "-rps-keepalive.svg"), "HTTP keep-alive requests/s",
             "requests/s", summ, services, modes, "wrk_keepalive.rps")
    svg_plot(os.path.join(a.out, name + "-rps-newconn.svg"),
             "HTTP requests/s, new connection per request", "requests/s", summ, services, modes,
             "wrk_close.rps")
    svg_plot(os.path.join(a.out, name + "-p99-keepalive.svg"), "HTTP keep-alive p99 latency",
             "µs", summ, services, modes, "wrk_keepalive.p99_us")
    svg_plot(os.path.join(a.out, name + "-p99-newconn.svg"),
             "HTTP p99 latency, new connection per request", "µs", summ, services, modes,
             "wrk_close.p99_us")
    svg_plot(os.path.join(a.out, name + "-p50-connect.svg"), "connect() p50 latency (log scale)",
             "µs", summ, services, modes, "connlat.p50_us", logy=True)
    svg_plot(os.path.join(a.out, name + "-p99-connect.svg"), "connect() p99 latency (log scale)",
             "µs", summ, services, modes, "connlat.p99_us", logy=True)


if __name__ == "__main__":
    main()
