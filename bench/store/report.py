#!/usr/bin/env python3
"""report: turns the store benchmark's raw JSON into store.json, store.md and SVG plots.

usage: report.py RAW_DIR RESULTS_DIR NAME COMMAND
Standard library only: the plots are hand-written SVG (log-scale grouped bars).
"""
import json
import math
import os
import sys

raw, out, name, command = sys.argv[1:5]


def load(f):
    with open(os.path.join(raw, f)) as fh:
        return json.load(fh)


machine = load("machine.json")
fsync = load("fsync.json")
fsync_after = load("fsync-after.json")
ops = load("ops.json")
watch = [load("watch-drover-fd.json"), load("watch-drover-set.json"), load("watch-etcd.json")]
mem = [load("mem-drover.json"), load("mem-etcd.json")]

GOAL_WRITES = 10000
GOAL_WATCH_P99_US = 5000


def find(backend, op, keys, conc):
    for r in ops:
        if (r["backend"], r["op"], r["keys"], r["concurrency"]) == (backend, op, keys, conc):
            return r
    return None


rows = []
for r in ops:
    if r["backend"] != "drover":
        continue
    e = find("etcd", r["op"], r["keys"], r["concurrency"])
    rows.append((r, e))

def rounds_of(rows):
    """(rounds, seconds per round) of the timed ops, as the rows record them."""
    timed = [r for r in rows if r["op"] != "create" and r.get("round_ops_per_s")]
    if not timed:
        return (0, 0.0)
    r = timed[0]
    return (len(r["round_ops_per_s"]), r["secs"] / len(r["round_ops_per_s"]))


w256 = [find("drover", op, 10000, 256) for op in ("create", "update")]
w256 = [r for r in w256 if r]
wd = watch[1]  # a watch set: what an event-loop API server uses
wfd = watch[0]
goals = {
    "writes_per_s_at_256_writers": {
        "goal": GOAL_WRITES,
        "measured": {r["op"]: r["ops_per_s"] for r in w256},
        "met": all(r["ops_per_s"] >= GOAL_WRITES for r in w256) and bool(w256),
    },
    "watch_delivery_p99_us_at_1000_watchers": {
        "goal": GOAL_WATCH_P99_US,
        "measured_from_commit": wd["from_commit_p99_us"],
        "measured_from_write_call": wd["from_write_p99_us"],
        "met": wd["from_commit_p99_us"] <= GOAL_WATCH_P99_US,
        "mode": wd["mode"],
        "fd_per_watch_from_commit": wfd["from_commit_p99_us"],
        "fd_per_watch_met": wfd["from_commit_p99_us"] <= GOAL_WATCH_P99_US,
    },
}

result = {
    "command": command,
    "machine": machine,
    "disk_fdatasync": fsync,
    "disk_fdatasync_after": fsync_after,
    "operations": ops,
    "watch": watch,
    "memory": mem,
    "goals": goals,
    "anchors": {
        "etcd_published_1_client_writes_per_s": 583,
        "etcd_published_1_client_latency_ms": 1.6,
        "etcd_published_1000_clients_writes_per_s": "44k-50k (3 x 8 vCPU machines)",
    },
    "notes": [
        "drover: embedded store in the benchmark process, every write durable (fdatasync per "
        "group commit, io_uring), values 1 KiB; etcd 3.4 one member on the same disk via its "
        "JSON gateway (HTTP/1.1 + JSON + base64), one keep-alive connection per client thread.",
        "create = create-if-absent (etcd: txn compare create_revision=0, put), update = "
        "unconditional update (etcd: put), get = one key (etcd: linearizable range), list = "
        "whole prefix in pages of 500 pinned to the first page's revision.",
        "update/get/list: %d round(s) of %.1f s per backend, alternating drover and etcd; "
        "ops/s is the median round (all rounds in round_ops_per_s), latency percentiles pool "
        "every round's samples. Creates run once (they use up their keys)." % rounds_of(ops),
        "creates stop at the time cap; keys not created by then are added unmeasured. 1,000 "
        "creates over 256 writers are 4 per writer: that row is mostly start-up.",
        "lists run at 1 and 16 concurrent readers only (256 concurrent full lists of 10k keys "
        "would measure etcd's memory, not the store).",
        "watch latency: from_write = from just before the write call to delivery (includes "
        "fsync); from_commit (drover only) = from the moment the write became visible. "
        "Consumers: 2 threads; drover 'fd per watch' = each watch's own eventfd in an epoll set, "
        "'watch set' = one store_watch_set per thread; etcd = one HTTP stream per watch "
        "(the gateway cannot multiplex), curl multi handles.",
        "memory: RSS growth of the process holding the data (drover: the benchmark process; "
        "etcd: the etcd server, whose bbolt file is mmapped and counts when touched).",
    ],
}
with open(os.path.join(out, name + ".json"), "w") as fh:
    json.dump(result, fh, indent=1)


def fmt_rate(x):
    return f"{x:,.0f}"


def fmt_us(x):
    return f"{x / 1000:.2f} ms" if x >= 1000 else f"{x:.0f} µs"


def ratio(a, b):
    if not b or not a:
        return "–"
    return f"{a / b:.1f}×"


md = []
md.append(f"# Store benchmark: drover embedded store vs etcd\n")
md.append(f"Command: `{command}` — {machine['date']}, commit {machine['git_commit']}\n")
md.append(f"Machine: {machine['cores']} cores ({machine['cpu']}), {machine['memory_gib']} GiB, "
          f"kernel {machine['kernel']}, disk `{machine['disk']}`; {machine['etcd_version']}. "
          f"Load average (the machine is shared): {machine['loadavg_at_start']} at the start, "
          f"{machine.get('loadavg_at_end', '?')} at the end.\n")
md.append(f"Disk's own fdatasync (4 KiB): append p50 {fmt_us(fsync['append_4k_fdatasync_p50_us'])}, "
          f"p99 {fmt_us(fsync['append_4k_fdatasync_p99_us'])}; overwrite p50 "
          f"{fmt_us(fsync['overwrite_4k_fdatasync_p50_us'])}, p99 "
          f"{fmt_us(fsync['overwrite_4k_fdatasync_p99_us'])} before the run; append p50 "
          f"{fmt_us(fsync_after['append_4k_fdatasync_p50_us'])}, p99 "
          f"{fmt_us(fsync_after['append_4k_fdatasync_p99_us'])} after it (the disk is shared and "
          f"noisy). Every drover and etcd write below waits for such a sync (drover: one per "
          f"group commit).\n")
md.append("## Goals\n")
g = goals["writes_per_s_at_256_writers"]
md.append(f"- ≥ {GOAL_WRITES:,} durable writes/s at 256 writers: "
          + ", ".join(f"{r['op']} {fmt_rate(r['ops_per_s'])}/s ({r['ops']:,} writes in "
                      f"{r['secs']:.2f} s)" for r in w256)
          + f" — **{'met' if g['met'] else 'not met'}**")
g = goals["watch_delivery_p99_us_at_1000_watchers"]
md.append(f"- watch delivery p99 ≤ 5 ms at 1,000 watchers: {fmt_us(g['measured_from_commit'])} "
          f"from commit with watch sets ({fmt_us(g['measured_from_write_call'])} from the write "
          f"call, fsync included) — **{'met' if g['met'] else 'not met'}**; with one eventfd per "
          f"watch: {fmt_us(g['fd_per_watch_from_commit'])} — "
          f"**{'met' if g['fd_per_watch_met'] else 'not met'}**\n")
md.append("## Operations (1 KiB values, fsync on)\n")
md.append("| op | keys | clients | drover ops/s | etcd ops/s | drover/etcd | drover p50 / p99 | etcd p50 / p99 | drover writes per fdatasync |")
md.append("|---|---:|---:|---:|---:|---:|---|---|---:|")
for r, e in rows:
    md.append(f"| {r['op']} | {r['keys']:,} | {r['concurrency']} | {fmt_rate(r['ops_per_s'])} | "
              f"{fmt_rate(e['ops_per_s']) if e else '–'} | {ratio(r['ops_per_s'], e['ops_per_s'] if e else 0)} | "
              f"{fmt_us(r['p50_us'])} / {fmt_us(r['p99_us'])} | "
              f"{(fmt_us(e['p50_us']) + ' / ' + fmt_us(e['p99_us'])) if e else '–'} | "
              f"{('%.1f' % r['writes_per_sync']) if r.get('writes_per_sync') else ''} |")
errs = [r for r in ops if r["errors"]]
if errs:
    md.append("\nErrors: " + "; ".join(f"{r['backend']} {r['op']} {r['keys']} c={r['concurrency']}: "
                                      f"{r['errors']}" for r in errs))
md.append("\nList rows: one op = the whole prefix in pages of 500.\n")
md.append("## Watch: 1,000 watchers on one prefix, 50 writes/s\n")
md.append("| backend | consumers | delivered | p50 from write | p99 from write | max | p50 from commit | p99 from commit |")
md.append("|---|---|---:|---:|---:|---:|---:|---:|")
for w in watch:
    fc = w["from_commit_p50_us"] > 0
    md.append(f"| {w['backend']} | {w['mode']} | {w['delivered']:,} / {w['expected']:,} | {fmt_us(w['from_write_p50_us'])} | "
              f"{fmt_us(w['from_write_p99_us'])} | {fmt_us(w['from_write_max_us'])} | "
              f"{fmt_us(w['from_commit_p50_us']) if fc else '–'} | {fmt_us(w['from_commit_p99_us']) if fc else '–'} |")
for w in watch:
    if w["delivered"] < w["expected"]:
        secs = w.get("secs_first_write_to_last_delivery", 0)
        md.append(f"\n{w['backend']} ({w['mode']}): only {w['delivered']:,} of {w['expected']:,} "
                  f"deliveries arrived within 60 s after the last write "
                  f"({w['delivered'] / secs if secs else 0:,.0f} deliveries/s over {secs:.0f} s; "
                  f"{w.get('streams_closed_early', 0)} streams ended by the server): it falls "
                  f"behind, so its latency figures cover the delivered events only and "
                  f"understate.")
md.append("\n## Memory: 10,000 keys of 2 KiB\n")
md.append("| backend | RSS growth | per key |")
md.append("|---|---:|---:|")
for m in mem:
    md.append(f"| {m['backend']} | {m['rss_delta_kib'] / 1024:.1f} MiB | {m['rss_delta_kib'] * 1024 / m['keys']:,.0f} B |")
md.append("\n## Published anchor\n")
md.append("etcd's own figures: 583 writes/s for 1 client at 1.6 ms; 44–50k writes/s with 1,000 "
          "clients on three 8-vCPU machines. The etcd rows above are this machine, same run.\n")
md.append("## Notes\n")
for n in result["notes"]:
    md.append(f"- {n}")
md.append(f"\nPlots: `{name}-throughput.svg`, `{name}-latency.svg`. Raw figures: `{name}.json`.")
with open(os.path.join(out, name + ".md"), "w") as fh:
    fh.write("\n".join(md) + "\n")


def svg_bars(path, title, unit, metric):
    groups = [(f"{r['op']} {r['keys'] // 1000}k c{r['concurrency']}", r[metric], e[metric] if e else 0)
              for r, e in rows]
    W, H, left, top, bottom = 120 + 34 * len(groups), 380, 60, 60, 110
    vals = [v for _, a, b in groups for v in (a, b) if v > 0]
    lo = 10 ** math.floor(math.log10(min(vals)))
    hi = 10 ** math.ceil(math.log10(max(vals)))
    ph = H - top - bottom

    def y(v):
        if v <= 0:
            return top + ph
        return top + ph - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * ph

    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="10">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W / 2}" y="18" text-anchor="middle" font-size="13">{title}</text>']
    d = lo
    while d <= hi:
        s.append(f'<line x1="{left}" x2="{W - 10}" y1="{y(d):.1f}" y2="{y(d):.1f}" stroke="#ddd"/>')
        s.append(f'<text x="{left - 4}" y="{y(d) + 3:.1f}" text-anchor="end">{d:g}</text>')
        d *= 10
    s.append(f'<text x="12" y="{top + ph / 2}" transform="rotate(-90 12 {top + ph / 2})" text-anchor="middle">{unit} (log)</text>')
    for i, (label, a, b) in enumerate(groups):
        x = left + 6 + i * 34
        for j, (v, col) in enumerate(((a, "#2b7bba"), (b, "#e8833a"))):
            if v > 0:
                s.append(f'<rect x="{x + j * 13}" y="{y(v):.1f}" width="12" height="{top + ph - y(v):.1f}" fill="{col}"/>')
        s.append(f'<text x="{x + 12}" y="{top + ph + 8}" transform="rotate(60 {x + 12} {top + ph + 8})">{label}</text>')
    s.append(f'<rect x="{left}" y="30" width="10" height="10" fill="#2b7bba"/><text x="{left + 14}" y="39">drover (embedded, fsync on)</text>')
    s.append(f'<rect x="{left + 190}" y="30" width="10" height="10" fill="#e8833a"/><text x="{left + 204}" y="39">etcd 3.4 (JSON gateway)</text>')
    s.append("</svg>")
    with open(path, "w") as fh:
        fh.write("\n".join(s) + "\n")


svg_bars(os.path.join(out, name + "-throughput.svg"), "Store operations per second (higher is better)", "ops/s", "ops_per_s")
svg_bars(os.path.join(out, name + "-latency.svg"), "Store p99 latency (lower is better)", "µs", "p99_us")
print(f"wrote {out}/{name}.json, {name}.md, {name}-throughput.svg, {name}-latency.svg", file=sys.stderr)
