"""Writes bench/results/NAME.{json,md} and NAME-latency.svg from run.py's raw samples."""
import datetime, json, os, platform, sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from plot import bar_svg  # noqa: E402

raw_path, outdir, name, command, load_before, load_after, commit = sys.argv[1:8]
raw = json.load(open(raw_path))


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def stats(v):
    return {"p50_ms": round(pct(v, 50), 2), "p99_ms": round(pct(v, 99), 2),
            "mean_ms": round(sum(v) / len(v), 2), "min_ms": round(min(v), 2),
            "max_ms": round(max(v), 2)}


cpus = os.cpu_count()
mem = 0
for line in open("/proc/meminfo"):
    if line.startswith("MemTotal"):
        mem = int(line.split()[1]) / 1024 / 1024
res = {"command": command, "commit": commit,
       "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
       "machine": {"cpus": cpus, "mem_gib": round(mem, 1), "kernel": platform.release(),
                   "load_before": load_before, "load_after": load_after},
       "runs": raw["runs"], "warmup": raw["warmup"], "configs": raw["configs"],
       "spawn_true": stats(raw["spawn_true_ms"]), "plugins": {}}
for k, v in raw["samples"].items():
    res["plugins"][k] = {verb: stats(s) for verb, s in v.items()}
d, r = res["plugins"]["drover-cni"], res["plugins"]["bridge+host-local"]
for verb in ("ADD", "DEL"):
    res["plugins"]["drover-cni"][verb]["x_reference_p50"] = round(d[verb]["p50_ms"] / r[verb]["p50_ms"], 3)
os.makedirs(outdir, exist_ok=True)
json.dump(res, open(os.path.join(outdir, name + ".json"), "w"), indent=1)

md = ["# CNI benchmark: ADD and DEL latency", "",
      "Command: `%s` at commit %s, %s.  " % (command, commit, res["date"]),
      "Machine: %d CPUs, %.1f GiB, kernel %s; load average %s before, %s after (the machine is shared)."
      % (cpus, mem, platform.release(), load_before, load_after), "",
      "Each plugin run directly as a runtime runs it (CNI_* environment, the configuration on stdin), "
      "in a node namespace of the benchmark's own, one fresh pod namespace per run made outside the "
      "timed part; drover-cni and the reference interleaved run by run; %d runs each after %d warm-ups. "
      "Reference: Debian's containernetworking-plugins `bridge` (isGateway, no masquerade) with "
      "`host-local` IPAM. Times are wall-clock from spawn to exit, as a runtime sees them; spawning "
      "`/bin/true` from the same harness costs %.2f ms (p50)."
      % (raw["runs"], raw["warmup"], res["spawn_true"]["p50_ms"]), "",
      "| plugin | ADD p50 | ADD p99 | DEL p50 | DEL p99 |", "|---|---:|---:|---:|---:|"]
for k, v in res["plugins"].items():
    md.append("| %s | %.2f ms | %.2f ms | %.2f ms | %.2f ms |" % (
        k, v["ADD"]["p50_ms"], v["ADD"]["p99_ms"], v["DEL"]["p50_ms"], v["DEL"]["p99_ms"]))
ratio = d["ADD"]["x_reference_p50"]
md += ["", "drover-cni ADD p50 is %.2fx the reference's (goal <= 0.5x: %s); DEL p50 %.2fx. "
       "Anchor: the reference ADD ~30 ms on this machine (machine-facts.md)."
       % (ratio, "met" if ratio <= 0.5 else "not met", d["DEL"]["x_reference_p50"]), "",
       "The benchmark's configuration names no drover.pinRoot, so drover-cni's ADD neither "
       "attaches drv_tc_pod nor registers the pod in drv_ep1; the figure is for the veth, "
       "address, routes and IPAM state only.", "",
       "Plot: `%s-latency.svg`." % name]
open(os.path.join(outdir, name + ".md"), "w").write("\n".join(md) + "\n")
labels = ["ADD p50", "ADD p99", "DEL p50", "DEL p99"]
series = [(k, c, [v["ADD"]["p50_ms"], v["ADD"]["p99_ms"], v["DEL"]["p50_ms"], v["DEL"]["p99_ms"]])
          for (k, v), c in zip(res["plugins"].items(), ("#2b7bba", "#999999"))]
bar_svg(os.path.join(outdir, name + "-latency.svg"), "CNI ADD/DEL latency (%d runs)" % raw["runs"],
        labels, series, "ms")
