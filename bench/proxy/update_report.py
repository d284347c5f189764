#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""update_report: bench/proxy/update.sh's raw records -> proxy-update.{json,md,svg}.

  update_report.py --machine-info PATH            record the machine (at the run's start)
  update_report.py --raw RAW.jsonl --machine PATH --out DIR
  update_report.py --from-json DIR/proxy-update.json --out DIR   (regenerate)

Standard library only.
"""
import argparse
import json
import math
import os
import platform
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import fmt, sh  # noqa: E402  (bench/proxy/report.py)

MODES = ["one", "one-whole", "per"]
LABEL = {
    "one": "one file, unchanged documents reused",
    "one-whole": "one file, every document decoded (before)",
    "per": "a file per service",
}
COLOR = {"one": "#1f77b4", "one-whole": "#d62728", "per": "#2ca02c"}
EDIT_KEYS = ["e2e_ms", "cpu_ms", "read_ms", "decode_ms", "docs_decoded", "objs_decoded",
             "model_ms", "maps_us",
             "entries_written", "commit_us"]
PHASES = [("read_ms", "read"), ("decode_ms", "parse + decode"), ("model_ms", "model build"),
          ("bpf_load_ms", "BPF load"), ("adopt_ms", "adopt pinned state"),
          ("first_sync_ms", "first sync (map programming)"),
          ("map_writes_ms", "  of which map writes"), ("attach_ms", "attach"),
          ("ready_ms", "ready (proxy's clock, from its start)"),
          ("wall_ms", "start to ready file (wall, 50 ms polls)"), ("cpu_ms", "proxy CPU at ready")]
STACK = ["read_ms", "decode_ms", "model_ms", "bpf_load_ms", "adopt_ms", "first_sync_ms",
         "attach_ms"]
STACK_COLOR = ["#9467bd", "#d62728", "#ff7f0e", "#7f7f7f", "#bcbd22", "#1f77b4", "#2ca02c"]


def machine_info(path):
    e = os.environ
    top = e.get("TOP", ".")
    info = {
        "kernel": platform.release(), "cores": os.cpu_count(),
        "cpu": sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip(),
        "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
        "drover_commit": sh("git -C '%s' rev-parse --short HEAD" % top),
        "drover_tree_dirty": bool(sh("git -C '%s' status --porcelain -- bpf userspace bench ':!bench/results'"
                                     % top)),
        "date": sh("date -u +%Y-%m-%dT%H:%M:%SZ"),
        "command": ("scripts/bench.sh proxy-update " + e.get("ARGS", "")).strip(),
        "settings": {k.lower(): e.get(k) for k in ("SERVICES", "TRIALS", "EDITS")},
    }
    with open(path, "w") as f:
        json.dump(info, f, indent=1)


def stats(vals):
    vals = [v for v in vals if isinstance(v, (int, float))]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def summarize(raw):
    summ = {"edit": {}, "start": {}}
    for m in MODES:
        edits = [r for r in raw if r["kind"] == "edit" and r["mode"] == m and not r.get("failed")]
        starts = [r for r in raw if r["kind"] == "start" and r["mode"] == m]
        summ["edit"][m] = {k: stats([r.get(k) for r in edits]) for k in EDIT_KEYS}
        summ["edit"][m]["failed"] = sum(1 for r in raw if r["kind"] == "edit" and
                                        r["mode"] == m and r.get("failed"))
        summ["start"][m] = {k: stats([r.get(k) for r in starts]) for k, _ in PHASES}
        summ["start"][m]["objs"] = stats([r.get("objs") for r in starts])
    return summ


def cell(st, digits=None):
    if not st:
        return "–"
    if st["n"] < 2 or st["min"] == st["max"]:
        return fmt(st["median"], digits)
    return "%s (%s–%s)" % (fmt(st["median"], digits), fmt(st["min"], digits),
                           fmt(st["max"], digits))


def markdown(mach, summ):
    s = mach.get("settings", {})
    S = int(s.get("services") or 0)
    e, st = summ["edit"], summ["start"]
    L = ["# Proxy: one service's change in one big file and in a file of its own; start-up "
         "per phase", "",
         "Machine: %s, %s cores, %s GB, kernel %s; drover %s%s; %s; load average at start %s."
         % (mach.get("cpu"), mach.get("cores"), mach.get("mem_gb"), mach.get("kernel"),
            mach.get("drover_commit"), " (tree dirty)" if mach.get("drover_tree_dirty") else "",
            mach.get("date"), " ".join(mach.get("loadavg_start", []))),
         "Command: `%s` (S = %s services, %s trials, %s edits per trial and input; the three "
         "inputs interleaved in every trial, each started cold in a fresh namespace). The "
         "machine is shared: wall times carry other processes' load, hence min–max beside "
         "each median." % (mach.get("command"), "{:,}".format(S), s.get("trials"),
                           s.get("edits")), "",
         "## One EndpointSlice changed (one endpoint replaced)", "",
         "Median (min–max) over every edit. End to end: from the rename over the file to the "
         "proxy's sync line in its log. Read, decode, model: the manifests source's own "
         "figures for that reload; map time and entries written: the proxy's sync line.", "",
         "| input | end to end ms | proxy CPU ms | read ms | parse + decode ms | objects "
         "decoded | model ms | map time µs | map entries written | sync µs |",
         "|---|---|---|---|---|---|---|---|---|---|"]
    for m in MODES:
        x = e[m]
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            LABEL[m], cell(x["e2e_ms"]), cell(x["cpu_ms"]), cell(x["read_ms"]),
            cell(x["decode_ms"]), cell(x["objs_decoded"], 0), cell(x["model_ms"]),
            cell(x["maps_us"]), cell(x["entries_written"], 0), cell(x["commit_us"])))
    fails = {m: e[m]["failed"] for m in MODES if e[m]["failed"]}
    if fails:
        L += ["", "Edits with no sync seen within 12 s: %s." % fails]
    L += ["", "## Start-up at %s services, per phase (ms)" % "{:,}".format(S), "",
          "The proxy's \"start-up phases\" log line, median (min–max) over the trials; "
          "objects decoded: %s." % "; ".join("%s %s" % (LABEL[m], cell(st[m]["objs"], 0))
                                             for m in MODES), "",
          "| phase | " + " | ".join(LABEL[m] for m in MODES) + " |",
          "|---|" + "---|" * len(MODES)]
    for k, name in PHASES:
        L.append("| %s | %s |" % (name, " | ".join(cell(st[m][k]) for m in MODES)))
    L += ["", "## Beside the issue's figures (issue 11, item 13)", "",
          "| figure | issue | now (median, min–max) |", "|---|---|---|",
          "| map time, one service changed inside one file | 480–820 µs | %s µs |"
          % cell(e["one"]["maps_us"]),
          "| map time, the same change as a file of its own | 28–47 µs | %s µs |"
          % cell(e["per"]["maps_us"]),
          "| end to end, one file | 0.9 s | %s ms (every document decoded, as before: %s ms) |"
          % (cell(e["one"]["e2e_ms"]), cell(e["one-whole"]["e2e_ms"])),
          "| end to end, a file of its own | – | %s ms |" % cell(e["per"]["e2e_ms"]),
          "| start-up, one file (ready, proxy's clock) | 1.1 s, 0.9 s of it parsing | %s ms, "
          "%s ms read + parse + decode |" % (cell(st["one"]["ready_ms"]),
                                             fmt(sum((st["one"][k] or {}).get("median", 0)
                                                     for k in ("read_ms", "decode_ms")))),
          "| start-up, a file per service (ready) | – | %s ms |" % cell(st["per"]["ready_ms"]),
          ""]
    L += notes(e, st)
    return "\n".join(L) + "\n"


def med(x, k):
    return (x.get(k) or {}).get("median")


def notes(e, st):
    """What the figures say; the numbers are this run's medians."""
    one, whole, per = e["one"], e["one-whole"], e["per"]
    return [
        "## What the figures say", "",
        "- The model writes only what changed, whatever the input's shape: the edit writes "
        "%s map entries in every mode and the maps take %s µs (one file) and %s µs (a file of "
        "its own), the same within the noise." % (fmt(med(one, "entries_written"), 0),
                                                   fmt(med(one, "maps_us")),
                                                   fmt(med(per, "maps_us"))),
        "- One file, before: every one of the file's documents was parsed (libfyaml), "
        "checked, written as JSON and decoded again on each edit: %s ms of the proxy's CPU "
        "per edit. Now the file is read whole (%s ms), cut before each `---` line and each "
        "document's bytes hashed; a document with the bytes it had in the last applied "
        "version takes its objects from their records, so one document is parsed (\"parse + "
        "decode\": %s ms, cutting and hashing the file and taking the unchanged documents' "
        "objects from their records)." % (
            fmt(med(whole, "cpu_ms")), fmt(med(one, "read_ms")), fmt(med(one, "decode_ms"))),
        "- What a one-object edit still costs grows with the number of services, in both "
        "shapes: \"model\" (%s ms with one file, %s ms with a file per service) checks every "
        "service's frontends for conflicts (the all-or-nothing reload refuses a change that "
        "collides with any service, in any file) and rebuilds the re-read file's records. "
        "An incremental conflict check and records changed in place are what is left to cut."
        % (fmt(med(one, "model_ms")), fmt(med(per, "model_ms"))),
        "- Start-up: loading and verifying the BPF programs (\"BPF load\", %s ms) is the "
        "largest phase, then parse + decode. With the documents remembered, start-up parses "
        "each document by itself (one libfyaml parser, reset between documents) to know "
        "which objects it holds: parse + decode %s ms against %s ms for the file in one "
        "parse. A file per service adds opening and reading every file (%s ms)." % (
            fmt(med(st["one"], "bpf_load_ms")), fmt(med(st["one"], "decode_ms")),
            fmt(med(st["one-whole"], "decode_ms")), fmt(med(st["per"], "read_ms"))),
        "- A JSON file, a file with a YAML directive (`%YAML`, `%TAG`) and a `kind: List` "
        "are one document: they are decoded whole on every change, as before.", ""]


def svg(summ, path):
    W, H = 900, 430
    e, st = summ["edit"], summ["start"]
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="12">' % (W, H),
           '<rect width="100%" height="100%" fill="white"/>']
    # left: end to end and CPU per edit, log scale, bars = median, whiskers = min–max
    L, T, pw, ph = 60, 50, 330, 300
    out.append('<text x="%d" y="24" font-size="14" font-weight="bold">One EndpointSlice '
               'changed: write to sync</text>' % L)
    vals = [v for m in MODES for k in ("e2e_ms", "cpu_ms") if e[m][k]
            for v in (e[m][k]["min"], e[m][k]["max"])]
    if vals:
        lo = math.floor(math.log10(max(min(vals), 0.1)))
        hi = math.ceil(math.log10(max(vals)))
        hi = hi if hi > lo else lo + 1

        def Y(v):
            return T + ph - (math.log10(max(v, 10 ** lo)) - lo) / (hi - lo) * ph
        for p in range(lo, hi + 1):
            y = Y(10 ** p)
            out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e0e0e0"/>'
                       % (L, y, L + pw, y))
            out.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>'
                       % (L - 5, y + 4, fmt(10 ** p)))
        out.append('<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">'
                   'ms (log)</text>' % (T + ph / 2, T + ph / 2))
        gw = pw / len(MODES)
        for i, m in enumerate(MODES):
            for j, (k, op) in enumerate((("e2e_ms", "1"), ("cpu_ms", "0.45"))):
                x = e[m][k]
                if not x:
                    continue
                bx = L + gw * i + 12 + j * (gw - 24) / 2
                bw = (gw - 24) / 2 - 4
                out.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" '
                           'fill-opacity="%s"/>' % (bx, Y(x["median"]), bw,
                                                    T + ph - Y(x["median"]), COLOR[m], op))
                cx = bx + bw / 2
                out.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>'
                           % (cx, Y(x["min"]), cx, Y(x["max"])))
                out.append('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="10">%s'
                           '</text>' % (cx, Y(x["max"]) - 4, fmt(x["median"])))
            out.append('<text x="%.1f" y="%d" text-anchor="middle" font-size="11">%s</text>'
                       % (L + gw * (i + 0.5), T + ph + 16, ["one file", "one file (before)",
                                                            "file per service"][i]))
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>'
                   % (L, T + ph, L + pw, T + ph))
        out.append('<text x="%d" y="%d" fill="#555" font-size="11">solid: end to end; pale: '
                   'proxy CPU; whiskers min–max</text>' % (L, T + ph + 36))
    # right: start-up phases stacked, median per phase
    L2, pw2 = 520, 300
    out.append('<text x="%d" y="24" font-size="14" font-weight="bold">Start-up per phase '
               '(median ms)</text>' % (L2 - 20))
    tot = [sum((st[m][k] or {}).get("median", 0) for k in STACK) for m in MODES]
    mx = max(tot + [1])
    bh = 40
    for i, m in enumerate(MODES):
        y = T + 20 + i * (bh + 40)
        x = L2
        out.append('<text x="%d" y="%d" font-size="11">%s: %s ms</text>'
                   % (L2, y - 5, LABEL[m], fmt(tot[i])))
        for k, c in zip(STACK, STACK_COLOR):
            v = (st[m][k] or {}).get("median", 0)
            w = v / mx * pw2
            out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>'
                       % (x, y, w, bh, c))
            x += w
    for j, (k, c) in enumerate(zip(STACK, STACK_COLOR)):
        y = T + 20 + 3 * (bh + 40) + (j // 2) * 16
        x = L2 + (j % 2) * 170
        name = dict(PHASES)[k].split(" (")[0]
        out.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/>' % (x, y - 9, c))
        out.append('<text x="%d" y="%d" font-size="11">%s</text>' % (x + 14, y, name))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


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
        with open(a.from_json) as f:
            doc = json.load(f)
        mach, raw = doc["machine"], doc["raw"]
    else:
        with open(a.machine) as f:
            mach = json.load(f)
        with open(a.raw) as f:
            raw = [json.loads(line) for line in f if line.startswith("{")]
    summ = summarize(raw)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "proxy-update.json"), "w") as f:
        json.dump({"machine": mach, "summary": summ, "raw": raw}, f, indent=1)
    with open(os.path.join(a.out, "proxy-update.md"), "w") as f:
        f.write(markdown(mach, summ))
    svg(summ, os.path.join(a.out, "proxy-update.svg"))


if __name__ == "__main__":
    main()
