#!/usr/bin/env python3
"""Report of bench/api/admission.sh: its runs (JSON lines of api_bench) to
api-admission.json (per server and case, min/median/max), api-admission.md (a table) and
api-admission.svg (creates/s and p50 per case, median with a min-max whisker).

usage: admission_report.py RAW.jsonl OUTDIR --meta KEY=VALUE...
"""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from plot import whisker_panels_svg  # noqa: E402

SERVERS = [("new", "this tree", "#1f77b4"), ("base", "base", "#aaaaaa")]
CASES = [("admin", 1), ("admin", 16), ("sa", 1), ("sa", 16)]
WHO = {"admin": "admin (system:masters, no RBAC)", "sa": "ServiceAccount (RBAC evaluated)"}


def stat(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def main():
    raw, out = sys.argv[1], sys.argv[2]
    meta = dict(a.split("=", 1) for a in sys.argv[4:]) if len(sys.argv) > 3 else {}
    runs = [json.loads(line) for line in open(raw) if line.strip().startswith("{")]
    res = {}
    for srv, _, _ in SERVERS:
        for who, c in CASES:
            pre = "%s-%s-%d-" % (srv, who, c)
            rows = [r for r in runs if r.get("label", "").startswith(pre)]
            res["%s/%s/%d" % (srv, who, c)] = {
                "creates_per_s": stat([r.get("rate") for r in rows]),
                "p50_us": stat([r.get("p50_us") for r in rows]),
                "p99_us": stat([r.get("p99_us") for r in rows]),
                "errors": sum(r.get("errors") or 0 for r in rows),
                "runs": len(rows)}
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "api-admission.json"), "w") as f:
        json.dump({"meta": meta, "results": res, "runs": runs}, f, indent=1)

    def cell(st, digits=0):
        if not st:
            return "–"
        return "{:,.{d}f} ({:,.{d}f}–{:,.{d}f})".format(st["median"], st["min"], st["max"], d=digits)

    md = ["# Pod creates through admission: this tree against a base build", "",
          "Made by `scripts/bench.sh api-admission %s` on %s (this tree %s, base %s)." % (
              meta.get("args", ""), meta.get("date", "?"), meta.get("commit", "?"),
              meta.get("base", "?")),
          "Machine: %s. Load average at start %s, at end %s (the two servers take turns round "
          "after round; every cell is the median over the rounds with its min–max)." % (
              meta.get("machine", "?"), meta.get("load_start", "?"), meta.get("load_end", "?")),
          "",
          "Each server holds 20 PriorityClasses, a LimitRange in the namespace, 100 "
          "ClusterRoleBindings and 100 RoleBindings of other users, and a ServiceAccount bound "
          "to `edit`; pods are created by bench/api/api_bench.c's clients.", "",
          "| as | clients | server | creates/s | p50 µs | p99 µs | errors | ratio of medians (creates/s) |",
          "|---|---:|---|---|---|---|---:|---|"]
    for who, c in CASES:
        new = res["new/%s/%d" % (who, c)]
        base = res["base/%s/%d" % (who, c)]
        for srv, name, _ in SERVERS:
            r = res["%s/%s/%d" % (srv, who, c)]
            ratio = "–"
            if srv == "new" and new["creates_per_s"] and base["creates_per_s"]:
                ratio = "%.2f×" % (new["creates_per_s"]["median"] / base["creates_per_s"]["median"])
            md.append("| %s | %d | %s | %s | %s | %s | %d | %s |" % (
                who, c, name, cell(r["creates_per_s"]), cell(r["p50_us"]), cell(r["p99_us"]),
                r["errors"], ratio))
    md += ["", "![creates per second and p50 per case](api-admission.svg)", ""]
    with open(os.path.join(out, "api-admission.md"), "w") as f:
        f.write("\n".join(md))
    panels = []
    for who, c in CASES:
        panels.append(("%s, %d client%s" % (who, c, "s" if c > 1 else ""), "creates/s",
                       [res["%s/%s/%d" % (s, who, c)]["creates_per_s"] for s, _, _ in SERVERS], []))
    for who, c in CASES:
        panels.append(("%s, %d client%s" % (who, c, "s" if c > 1 else ""), "p50 µs",
                       [res["%s/%s/%d" % (s, who, c)]["p50_us"] for s, _, _ in SERVERS], []))
    whisker_panels_svg(os.path.join(out, "api-admission.svg"),
                       "Pod creates through admission: this tree vs base",
                       [(n, col) for _, n, col in SERVERS], panels,
                       note="admin: %s; sa: %s" % (WHO["admin"], WHO["sa"]))
    print("\n".join(md))


if __name__ == "__main__":
    main()
