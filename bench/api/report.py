#!/usr/bin/env python3
"""report: turns the API benchmark's raw JSON lines into NAME.json, NAME.md and SVG plots.

usage: report.py RAW RESULTS_DIR NAME COMMAND LOAD_BEFORE LOAD_AFTER COMMIT
Standard library only: the plots are hand-written SVG. RAW may be remade from NAME.json's
"runs" (one JSON object a line) to write the report again; REPORT_DATE keeps the run's date.
"""
import datetime
import json
import os
import platform
import subprocess
import sys

raw, out, name, command, load_before, load_after, commit = sys.argv[1:8]

runs = []
with open(raw) as fh:
    for line in fh:
        line = line.strip()
        if line.startswith("{"):
            runs.append(json.loads(line))

GOAL_CREATES = 5000
GOAL_WATCH_P99_MS = 10.0
GOAL_WATCH_CPU_US = 5.0  # server CPU per delivered event (issue 9's budget)
GOAL_RSS_GIB = 1.0


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "?"


machine = {
    "cpus": os.cpu_count(),
    "cpu": cpu_model(),
    "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    "kernel": platform.release(),
    "disk": sh("df -h --output=source,fstype,size / | tail -1"),
    "load_average_before": load_before,
    "load_average_after": load_after,
}

ops_all = [r for r in runs if r["bench"] == "ops"]


def collapse(rs):
    """One row per label: the median run by rate, with the spread when a label ran more than
    once (the trials of the goal's figures)."""
    groups, order = {}, []
    for r in rs:
        k = r.get("label") or str(len(order))
        if k not in groups:
            groups[k] = []
            order.append(k)
        groups[k].append(r)
    rows = []
    for k in order:
        g = sorted(groups[k], key=lambda r: r["rate"])
        m = dict(g[len(g) // 2])
        if len(g) > 1:
            m["trials"] = len(g)
            m["rates"] = [r["rate"] for r in groups[k]]
        rows.append(m)
    return rows


ops = collapse(ops_all)
store = [r for r in runs if r["bench"] == "store"]
watch_all = [r for r in runs if r["bench"] == "watch"]
for r in watch_all:
    r.setdefault("mode", "namespace")
    r.setdefault("path", "direct")
# the writers alone (0 watchers): the server's CPU per write of each mode (and path: the
# baseline server with direct writes off measured its own)
write_cpu = {(r["path"], r["mode"]): r["server_cpu_s"] / r["writes"] for r in watch_all
             if r["watchers"] == 0 and r["writes"] and r.get("server_cpu_s", -1) >= 0}
watch = [r for r in watch_all if r["watchers"] > 0 and r["mode"] == "namespace" and
         r["path"] == "direct"]
kubelet = [r for r in watch_all if r["watchers"] > 0 and r["mode"] == "kubelets"]
reader = [r for r in watch_all if r["watchers"] > 0 and r["path"] == "reader"]
floor = [r for r in runs if r["bench"] == "send_floor"]
rss = [r for r in runs if r["bench"] == "rss"]
prepare = [r for r in runs if r["bench"] == "prepare"]


def op(label):
    for r in ops:
        if r.get("label") == label:
            return r
    return None


def ms(us):
    return us / 1000.0


def spread(r):
    """' (median of N runs: min–max)' for a row that ran more than once."""
    if not r or not r.get("trials"):
        return ""
    return " (median of %d runs: %s–%s)" % (r["trials"], "{:,}".format(round(min(r["rates"]))),
                                             "{:,}".format(round(max(r["rates"]))))


def fmt_lat(us):
    return "%.2f ms" % ms(us) if us >= 1000 else "%.0f µs" % us


c64 = op("create-64")
s64 = next((r for r in store if r["clients"] == 64), None)
w = max(watch, key=lambda r: r["watchers"]) if watch else None
huge = max(rss, key=lambda r: r["pods"]) if rss else None
# the most watchers that kept the goal (every event delivered, p99 within it)
w_ok = [r for r in watch if r["delivered"] == r["expected"] and
        ms(r["p99_send_us"]) <= GOAL_WATCH_P99_MS]
w_cap = max(w_ok, key=lambda r: r["watchers"]) if w_ok else None


def per_event_us(r, key):
    """CPU microseconds spent per delivered event (key: client_cpu_s or server_cpu_s)."""
    v = r.get(key, -1)
    return v * 1e6 / r["delivered"] if v is not None and v >= 0 and r["delivered"] else None


def net_event_us(r):
    """The server's CPU per delivered event without the writes' own (measured with the writer
    alone): what the watch fan-out and the streams cost."""
    v, cpw = r.get("server_cpu_s", -1), write_cpu.get((r["path"], r["mode"]))
    if v is None or v < 0 or cpw is None or not r["delivered"]:
        return None
    return max(v - r["writes"] * cpw, 0) * 1e6 / r["delivered"]


def us_txt(v):
    """A CPU figure; below 1 µs it is within the noise of the writes' own CPU taken out."""
    return "< 1 µs" if v < 1 else "%.1f µs" % v


def lists(label):
    r = op(label)
    return r["rate"] if r else None


goals = {
    "creates_per_s_64_clients": {
        "goal": GOAL_CREATES,
        "measured": round(c64["rate"]) if c64 else None,
        "met": bool(c64 and c64["rate"] >= GOAL_CREATES),
    },
    "watch_p99_ms": {
        "goal": GOAL_WATCH_P99_MS,
        "measured_from_write_sent": round(ms(w["p99_send_us"]), 2) if w else None,
        "measured_from_write_acknowledged": round(ms(w["p99_ack_us"]), 2) if w else None,
        "watchers": w["watchers"] if w else None,
        "most_watchers_within_goal": w_cap["watchers"] if w_cap else None,
        "met": bool(w and w["watchers"] >= 1000 and w["delivered"] == w["expected"] and
                    ms(w["p99_send_us"]) <= GOAL_WATCH_P99_MS),
    },
    "watch_server_cpu_us_per_event": {
        "goal": GOAL_WATCH_CPU_US,
        "by_run": [{"mode": r["mode"], "watchers": r["watchers"],
                    "gross": round(per_event_us(r, "server_cpu_s"), 2)
                    if per_event_us(r, "server_cpu_s") is not None else None,
                    "net_of_writes": round(net_event_us(r), 2)
                    if net_event_us(r) is not None else None}
                   for r in watch + kubelet],
        "write_cpu_us": {"%s/%s" % k: round(v * 1e6, 1) for k, v in write_cpu.items()},
        "direct_writes_off": [{"watchers": r["watchers"],
                               "net_of_writes": round(net_event_us(r), 2)
                               if net_event_us(r) is not None else None,
                               "p99_ms": round(ms(r["p99_send_us"]), 2)} for r in reader],
        "kernel_floor_us_per_send": [{"watchers": r["watchers"], "size": r["size"],
                                      "us": r["cpu_us_per_send"]} for r in floor],
    },
    "lists_10k_per_s": {
        "one_client": lists("list-10k-json-1"),
        "64_clients": lists("list-10k-json-64"),
        "64_clients_keeping_whole_bodies": lists("list-10k-json-64-keep"),
    },
    "rss_gib_at_max_pods": {
        "goal": GOAL_RSS_GIB,
        "pods": huge["pods"] if huge else None,
        "measured": round(huge["rss_kib"] / 2**20, 3) if huge else None,
        "met": bool(huge and huge["rss_kib"] / 2**20 <= GOAL_RSS_GIB and huge["pods"] >= 150000),
    },
}

doc = {
    "benchmark": "api",
    "command": command,
    # REPORT_DATE: the run's own date when a report is made again from its runs
    "date": os.environ.get("REPORT_DATE") or
    datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "commit": commit,
    "machine": machine,
    "goals": goals,
    "runs": runs,
}
with open(os.path.join(out, name + ".json"), "w") as fh:
    json.dump(doc, fh, indent=1)
    fh.write("\n")

# ---- markdown ----

def verdict(met, measured, what):
    if not measured:
        return "not measured at %s (quick run)" % what
    return "**met**" if met else "**not met**"


md = []
md.append("# API server benchmark: drover server over keep-alive HTTPS\n")
md.append("Command: `%s` — %s, commit %s\n" % (command, doc["date"], commit))
md.append("Machine: %d cores (%s), %.1f GiB, kernel %s, disk `%s`. Load average before/after "
          "the run: %s / %s (the machine is shared: other sessions' builds and tests run beside "
          "the benchmark; figures move with them).\n" % (
              machine["cpus"], machine["cpu"], machine["memory_gib"], machine["kernel"],
              machine["disk"], load_before, load_after))
# the pod's sizes as measured: the body sent, and each item of a JSON list as the server
# returns it (with what the server adds: uid, timestamps, managedFields, defaults)
sent = max((p.get("body_bytes", 0) for p in prepare), default=0)
l1k = op("list-1k-json-1")
stored = l1k["bytes_per_op"] / l1k["pods"] if l1k and l1k.get("bytes_per_op") else 0
md.append("The client (`bench/api/api_bench`) runs on the same 2 cores as the server: one TLS "
          "connection per client, bearer token, HTTP/1.1 keep-alive. The pod is a Deployment's "
          "pod template's pod (one container with ports, resources, probes): %s B of JSON as "
          "sent, %s B per item as a list returns it (with uid, timestamps, managedFields and "
          "defaults). Every write is durable (fdatasync before the answer).\n" % (
              "{:,}".format(sent) if sent else "?", "{:,}".format(round(stored)) if stored else "?"))
md.append("## Goals\n")
g = goals["creates_per_s_64_clients"]
md.append("- ≥ %d durable creates/s with 64 clients: **%s/s**%s — %s" % (
    g["goal"], "{:,}".format(g["measured"]) if g["measured"] else "?", spread(c64),
    "**met**" if g["met"] else "**not met**"))
if s64:
    md.append("  (the store alone, same run, same disk, %s-byte values (about a stored pod), 64 "
              "writers in process: %s/s — the API layer, TLS and HTTP cost the rest)" % (
                  "{:,}".format(s64["value_bytes"]), "{:,}".format(round(s64["rate"]))))
g = goals["watch_p99_ms"]
if w:
    md.append("- watch delivery p99 ≤ %.0f ms with %d TLS watchers at 100 events/s: **%.2f ms** "
              "from the write sent (the group commit's fdatasync included), %.2f ms from the "
              "write acknowledged — %s; %s of %s events delivered" % (
                  g["goal"], w["watchers"], g["measured_from_write_sent"],
                  g["measured_from_write_acknowledged"],
                  verdict(g["met"], w["watchers"] >= 1000, "1,000 watchers"),
                  "{:,}".format(w["delivered"]), "{:,}".format(w["expected"])))
    if not g["met"]:
        md.append("  (the most watchers in this run that kept p99 ≤ %.0f ms with every event "
                  "delivered: %s; see the CPU per event below)" % (
                      g["goal"], "{:,}".format(w_cap["watchers"]) if w_cap else "none"))
for wl, what in ((watch, "watchers of a namespace"), (kubelet, "kubelets")):
    if not wl:
        continue
    big = max(wl, key=lambda r: r["watchers"])
    ne, ge = net_event_us(big), per_event_us(big, "server_cpu_s")
    md.append("- server CPU per delivered event ≤ %.0f µs (%s %s at 100 events/s): **%s** "
              "net of the writes' own CPU (%s with it) — %s; p99 %.2f ms (goal %.0f ms)" % (
                  GOAL_WATCH_CPU_US, "{:,}".format(big["watchers"]), what,
                  us_txt(ne) if ne is not None else "?",
                  "%.1f µs" % ge if ge is not None else "?",
                  "**met**" if ne is not None and ne <= GOAL_WATCH_CPU_US else "**not met**",
                  ms(big["p99_send_us"]), GOAL_WATCH_P99_MS))
l1, l64, lk = lists("list-10k-json-1"), lists("list-10k-json-64"), lists("list-10k-json-64-keep")
if l1 and l64:
    md.append("- 64 concurrent lists of 10,000 pods: **%.1f lists/s** beside %.1f/s for one "
              "client%s" % (l64, l1, " (%.1f/s when each client keeps its whole body: the "
                            "client's own memory, not the server, was what collapsed)" % lk
                            if lk else ""))
g = goals["rss_gib_at_max_pods"]
if huge:
    md.append("- ≤ 1 GiB RSS at 150,000 pods: **%.2f GiB** at %s pods — %s\n" % (
        g["measured"], "{:,}".format(huge["pods"]),
        verdict(g["met"], huge["pods"] >= 150000, "150,000 pods")))

md.append("## Requests\n")
md.append("| request | pods | clients | requests/s | p50 | p99 | bytes/response |")
md.append("|---|---:|---:|---:|---:|---:|---:|")
for r in ops:
    what = r["op"] + (" (Table)" if r.get("table") else (" (JSON)" if r["op"] == "list" else ""))
    if r.get("keep_body"):
        what += ", clients keep whole bodies"
    pods = "{:,}".format(r["pods"]) if r["op"] in ("list", "get", "update") else "–"
    md.append("| %s | %s | %d | %s | %s | %s | %s |" % (
        what, pods, r["clients"], ("{:,}".format(round(r["rate"])) if r["rate"] >= 10
                                   else "%.1f" % r["rate"]) + spread(r), fmt_lat(r["p50_us"]), fmt_lat(r["p99_us"]),
        "{:,}".format(int(r["bytes_per_op"])) if r.get("bytes_per_op") else "–"))
for r in store:
    md.append("| store alone: create (in process) | – | %d | %s | %s | %s | – |" % (
        r["clients"], "{:,}".format(round(r["rate"])), fmt_lat(r["p50_us"]),
        fmt_lat(r["p99_us"])))
md.append("")
def watch_table(rows):
    md.append("| watchers | events/s asked | achieved | delivered / expected | p50 (sent) "
              "| p99 (sent) | max (sent) | p99 (acked) | server CPU/event "
              "| net of writes (budget %.0f µs) | client CPU/event | cores busy |" % GOAL_WATCH_CPU_US)
    md.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in sorted(rows, key=lambda r: r["watchers"]):
        su, cu, ne = per_event_us(r, "server_cpu_s"), per_event_us(r, "client_cpu_s"), net_event_us(r)
        busy = ((r["server_cpu_s"] + r["client_cpu_s"]) / r["window_s"]
                if su is not None and cu is not None and r.get("window_s") else None)
        md.append("| %s | %.0f | %.0f | %s / %s%s | %s | %s%s | %s | %s | %s | %s | %s | %s |" % (
            "{:,}".format(r["watchers"]), r["rate"], r["writes"] / r["seconds"],
            "{:,}".format(r["delivered"]), "{:,}".format(r["expected"]),
            (", %d misrouted" % r["misrouted"]) if r.get("misrouted") else "",
            fmt_lat(r["p50_send_us"]), fmt_lat(r["p99_send_us"]),
            " ✓" if ms(r["p99_send_us"]) <= GOAL_WATCH_P99_MS else "",
            fmt_lat(r["max_send_us"]), fmt_lat(r["p99_ack_us"]),
            "%.1f µs" % su if su is not None else "–",
            (us_txt(ne) + (" ✓" if ne <= GOAL_WATCH_CPU_US else "")) if ne is not None else "–",
            "%.1f µs" % cu if cu is not None else "–",
            "%.2f" % busy if busy is not None else "–"))
    md.append("")


if watch or kubelet:
    md.append("## Watch\n")
    md.append("Latency is from the write sent (or acknowledged) to the event read by the "
              "watcher (goal: p99 ≤ %.0f ms, ✓ when met). CPU per event is the CPU time "
              "(user + system) the server process and the benchmark client each used during "
              "the measured window, divided by the events delivered; \"net of writes\" takes "
              "out the server's CPU for the writes themselves, measured with the writer alone "
              "(%s) — what is left is the watch fan-out and the streams (issue 9's budget: "
              "≤ %.0f µs, ✓ when met). \"cores busy\" is server and client together per second "
              "of the window: they share the machine's cores (and other sessions' work), so "
              "once both together need about all of them, events queue and latency grows with "
              "the backlog (the backlog is then sent as batches: whole events, one TLS record "
              "and one send each).\n" % (
                  GOAL_WATCH_P99_MS,
                  ", ".join("%s: %.0f µs per write" % (
                      "a patch" if k[1] == "namespace" else "a create and a binding", v * 1e6)
                      for k, v in sorted(write_cpu.items()) if k[0] == "direct") or
                  "not measured",
                  GOAL_WATCH_CPU_US))
if watch:
    md.append("### Watchers of a namespace\n")
    md.append("One writer patches a pod at the asked rate (it falls behind when a write takes "
              "longer than the period: the achieved rate is shown); every watcher watches the "
              "pods' namespace and gets every event.\n")
    watch_table(watch)
if watch and (reader or floor):
    md.append("### Against its baselines: the path before direct writes, and the kernel's floor\n")
    md.append("Same run. \"Direct writes off\" is the same server started with "
              "`DROVER_WATCH_NO_DIRECT=1`: each event resumes the suspended connection, wakes an "
              "HTTP thread and runs libmicrohttpd's reader (how every stream was written before); "
              "with direct writes the watch thread writes each batch itself as one chunk "
              "(control/api/http/watch.c). The floor is `bench/api/send_floor.c`: one plain "
              "`send()` of 3,400 B (about one pod event) per event per watcher over loopback "
              "TCP, nothing else — on loopback it includes the receiver's TCP processing, which "
              "the kernel runs in the sender's context, so no server that sends each event to "
              "each watcher on its own can go below it here.\n")
    md.append("| watchers | direct writes: net µs/event | p99 | direct writes off: net µs/event "
              "| p99 | kernel floor µs/send |")
    md.append("|---:|---:|---:|---:|---:|---:|")
    for r in sorted(watch, key=lambda r: r["watchers"]):
        o = next((x for x in reader if x["watchers"] == r["watchers"]), None)
        f = next((x for x in floor if x["watchers"] == r["watchers"]), None)
        ne, no = net_event_us(r), net_event_us(o) if o else None
        md.append("| %s | %s | %s | %s | %s | %s |" % (
            "{:,}".format(r["watchers"]), us_txt(ne) if ne is not None else "–",
            fmt_lat(r["p99_send_us"]), us_txt(no) if no is not None else "–",
            fmt_lat(o["p99_send_us"]) if o else "–",
            "%.2f µs" % f["cpu_us_per_send"] if f else "–"))
    md.append("")
if kubelet:
    md.append("### Kubelets\n")
    md.append("Watcher i watches the namespace's pods with `fieldSelector=spec.nodeName=node-i`, "
              "as a kubelet does; one writer creates a pod and binds it to node-(n mod "
              "watchers), the asked rate of bindings per second: each binding is one event "
              "(ADDED, the pod moving into the selection) for exactly one watcher, found by the "
              "watch hub's index by node (a watcher given another node's pod is counted as "
              "misrouted).\n")
    watch_table(kubelet)
    md.append("Here an event costs two writes (a create and a binding) and reaches one watcher, "
              "so the net figure is a small difference of two large ones: it moves by a few "
              "hundred µs between runs on this shared machine. Much of what is left is not the "
              "watch: libmicrohttpd 0.9.75 walks every suspended connection of a thread each "
              "time one of its connections is resumed (every write request is, by its worker), "
              "so a thousand idle watch streams make every request dearer (13% of the server's "
              "CPU in a profile of the 1,000-kubelet case).\n")
if rss:
    md.append("## Memory\n")
    md.append("| pods | server RSS | per pod |")
    md.append("|---:|---:|---:|")
    base = min(rss, key=lambda r: r["pods"])
    for r in sorted(rss, key=lambda r: r["pods"]):
        per = ((r["rss_kib"] - base["rss_kib"]) * 1024 / r["pods"]) if r["pods"] else 0
        md.append("| %s | %.0f MiB | %s |" % ("{:,}".format(r["pods"]), r["rss_kib"] / 1024,
                                              ("%.0f B" % per) if r["pods"] else "–"))
    md.append("")
for p in prepare:
    new = p.get("created", p["pods"])
    if new >= 10000:
        md.append("Filling to %s pods: %s created by 64 clients in %.1f s (%s/s, %d errors).\n" % (
            "{:,}".format(p["pods"]), "{:,}".format(new), p["seconds"],
            "{:,}".format(round(new / p["seconds"])), p["errors"]))
md.append("Plots: `%s-requests.svg` (requests/s), `%s-latency.svg` (p50/p99)%s%s.\n" % (
    name, name, ", `%s-watch.svg` (watch CPU per event and p99)" % name if watch or kubelet else "",
    ", `%s-rss.svg` (RSS)" % name if rss else ""))
with open(os.path.join(out, name + ".md"), "w") as fh:
    fh.write("\n".join(md))

# ---- plots ----


def bar_svg(path, title, labels, series, unit, log=False):
    """Grouped horizontal bars: series is [(name, color, [values])]."""
    import math
    W, left, row, pad = 900, 250, 18, 40
    H = pad * 2 + row * len(labels) * len(series) + 10 * len(labels)
    vmax = max([v for _, _, vals in series for v in vals if v] + [1])
    vmin = min([v for _, _, vals in series for v in vals if v] + [1])

    def scale(v):
        if not v:
            return 0
        if log:
            lo = math.log10(max(vmin / 2, 1e-9))
            return (math.log10(v) - lo) / (math.log10(vmax) - lo) * (W - left - 120)
        return v / vmax * (W - left - 120)

    s = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
         'font-size="12">' % (W, H),
         '<text x="%d" y="20" font-size="14" font-weight="bold">%s</text>' % (10, title)]
    y = pad
    for i, lab in enumerate(labels):
        s.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (left - 8, y + row * len(series) / 2 + 4, lab))
        for sname, color, vals in series:
            v = vals[i]
            s.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>' % (left, y, scale(v), row - 3, color))
            if v:
                s.append('<text x="%.1f" y="%d">%s %s</text>' % (left + scale(v) + 4, y + row - 6,
                                                                 ("{:,}".format(round(v)) if v >= 10 else "%.2f" % v), unit))
            y += row
        y += 10
    lx = W - 200
    for j, (sname, color, _) in enumerate(series):
        s.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>' % (
            lx, 30 + j * 16, color, lx + 16, 40 + j * 16, sname))
    s.append("</svg>")
    with open(path, "w") as fh:
        fh.write("\n".join(s))


labels = []
rates1, rates64 = [], []
p50, p99 = [], []
kinds = []
for r in ops:
    key = r["op"] + (" table" if r.get("table") else (" json" if r["op"] == "list" else "")) + \
        (" %dk" % (r["pods"] // 1000) if r["op"] == "list" else "")
    if key not in kinds:
        kinds.append(key)
for k in kinds:
    r1 = next((r for r in ops if r["clients"] == 1 and (r["op"] + (" table" if r.get("table") else (" json" if r["op"] == "list" else "")) + (" %dk" % (r["pods"] // 1000) if r["op"] == "list" else "")) == k), None)
    r64 = next((r for r in ops if r["clients"] == 64 and (r["op"] + (" table" if r.get("table") else (" json" if r["op"] == "list" else "")) + (" %dk" % (r["pods"] // 1000) if r["op"] == "list" else "")) == k), None)
    labels.append(k)
    rates1.append(r1["rate"] if r1 else 0)
    rates64.append(r64["rate"] if r64 else 0)
bar_svg(os.path.join(out, name + "-requests.svg"), "drover server: requests/s over HTTPS (log scale)",
        labels, [("1 client", "#4c78a8", rates1), ("64 clients", "#f58518", rates64)], "/s", log=True)
lab2, v50, v99 = [], [], []
for r in ops:
    lab2.append("%s%s %s%d cl." % (r["op"], " table" if r.get("table") else "",
                                  ("%dk " % (r["pods"] // 1000)) if r["op"] == "list" else "", r["clients"]))
    v50.append(ms(r["p50_us"]))
    v99.append(ms(r["p99_us"]))
bar_svg(os.path.join(out, name + "-latency.svg"), "drover server: latency p50 / p99 (ms, log scale)",
        lab2, [("p50", "#54a24b", v50), ("p99", "#e45756", v99)], "ms", log=True)
if rss:
    rs = sorted(rss, key=lambda r: r["pods"])
    bar_svg(os.path.join(out, name + "-rss.svg"), "drover server: RSS by stored pods (MiB; goal ≤ 1024 at 150,000)",
            ["{:,} pods".format(r["pods"]) for r in rs],
            [("RSS", "#72b7b2", [r["rss_kib"] / 1024 for r in rs])], "MiB")
if watch or kubelet:
    labs, cpu, p99s = [], [], []
    for mode, rows in (("namespace", watch), ("kubelets", kubelet)):
        for r in sorted(rows, key=lambda r: r["watchers"]):
            labs.append("%s %s" % ("{:,}".format(r["watchers"]), "watchers" if mode == "namespace" else "kubelets"))
            cpu.append(net_event_us(r) or per_event_us(r, "server_cpu_s") or 0)
            p99s.append(ms(r["p99_send_us"]))
    bar_svg(os.path.join(out, name + "-watch.svg"),
            "drover server: watch at 100 events/s — server CPU µs/event net of writes (budget 5), p99 ms (goal 10)",
            labs, [("server µs/event", "#4c78a8", cpu), ("p99 ms", "#e45756", p99s)], "", log=True)
print("wrote %s/%s.{json,md} and plots" % (out, name))
