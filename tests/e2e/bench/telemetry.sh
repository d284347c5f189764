#!/usr/bin/env bash
# scripts/bench.sh telemetry --quick end to end (issue 13's benchmark harness): it runs every
# configuration it can (telemetry off, on, and the HAProxy sidecar), writes telemetry.json,
# .md and .svg with the figures the report promises, the sidecar counted the requests wrk
# made (and with telemetry on, drv_tlhttp1 did), and nothing of the run is left behind.
# Asserts structure and counts, never a timing.
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
out=$(mktemp -d /tmp/drover-test-bench-tl.XXXXXX)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$top/bench/telemetry/bench.sh" --quick --no-build --no-install --out "$out" ||
	fail "bench.sh telemetry --quick exited $?"
for f in telemetry.json telemetry.md telemetry.svg; do
	[ -s "$out/$f" ] || fail "$f not written"
done

# what the run left: namespaces, pins, cgroup of its topology tag
ip netns list | grep -q '^drv-tlb-' && fail "namespaces left: $(ip netns list | grep '^drv-tlb-')"
[ -e /sys/fs/bpf/drover-tlb ] && fail "pin root /sys/fs/bpf/drover-tlb left"
for cg in /sys/fs/cgroup/drover-tlb /sys/fs/cgroup/unified/drover-tlb; do
	[ -e "$cg" ] && fail "cgroup $cg left"
done

python3 - "$out" <<'PY'
import json, sys, xml.etree.ElementTree as ET

out = sys.argv[1]
d = json.load(open(out + "/telemetry.json"))
def fail(msg):
    sys.exit("FAIL: " + msg)

m = d["machine"]
configs = m["configs"]
if "off" not in configs or "sidecar" not in configs:
    fail("configurations run: %s" % configs)
if "on" not in configs and not m.get("skipped"):
    fail("configuration on neither run nor said to be skipped")
if d["broken"]:
    fail("broken runs: %s" % d["broken"])
conns = int(m["settings"]["wrk_conns"])
for t in d["trials"]:
    want = {"server": "drover-httpd", "proxy": "drover"}
    if t["config"] == "sidecar":
        want["sidecar"] = "haproxy"
    if t["config"] == "on" and t["metrics"].get("exporter_kind") in ("serve", "tl-events"):
        # the consumer draining the ring buffer (comm is cut to 15 characters)
        want["exporter"] = {"serve": "drover", "tl-events": "drover-tl-event"}[
            t["metrics"]["exporter_kind"]]
    for who, comm in want.items():
        if t["metrics"].get(who + "_comm") != comm:
            fail("%s trial %s measured %s as %r, not %s" % (t["config"], t["trial"], who,
                                                           t["metrics"].get(who + "_comm"), comm))
for c in configs:
    for run in ("wrk_keepalive", "wrk_close", "wrk_lat"):
        s = d["summary"].get(c, {}).get(run)
        if not s:
            fail("no summary for %s %s" % (c, run))
        for k in ("rps", "p50_us", "p99_us", "proxy_vcpu_per_krps", "proxy_rss_mb",
                  "all_cpu_us_per_req"):
            if not s.get(k) or s[k]["n"] != 1:
                fail("%s %s: %s missing" % (c, run, k))
        if s["rps"]["median"] <= 0 or s["proxy_rss_mb"]["median"] <= 0:
            fail("%s %s: no requests or no proxy RSS" % (c, run))
        if c != "off":
            for k in ("rps_lost_pct", "p50_added_us", "p99_added_us"):
                if not s.get(k):
                    fail("%s %s: %s against off missing" % (c, run, k))
        t = d["per_trial"][c][run]["1"]
        if c == "sidecar":
            # every request wrk completed went through HAProxy and was counted once; the
            # few in flight when wrk stopped are counted too
            n, req = t["sidecar_requests"], t["requests"]
            if not (req <= n <= req + 2 * conns):
                fail("%s: HAProxy counted %s requests, wrk completed %s" % (run, n, req))
            if not s.get("sidecar_vcpu_per_krps") or not s.get("sidecar_rss_mb"):
                fail("%s: sidecar CPU or RSS missing" % run)
        if c == "on":
            if t["events_lost"] is None:
                fail("%s: drv_tlctr1 not read with telemetry on" % run)
            # both pods are local endpoints: each request counted once on the client side
            # and once on the server side, plus those in flight when wrk stopped
            n, req = t.get("tl_http_requests"), t["requests"]
            if n is None or not (2 * req <= n <= 2 * (req + conns)):
                fail("%s: drv_tlhttp1 counted %s requests, wrk completed %s" % (run, n, req))
if "on" in configs and not d["events_lost_at_highest_rate"]:
    fail("no events-lost figure at the highest rate")

md = open(out + "/telemetry.md").read()
for want in ("| configuration | connections | req/s |", "## Latency, one request at a time", "(a) drover, telemetry off",
             "(c) HAProxy 2.6 sidecar", "## Against published figures", "| 0.20 | 0.35 |",
             "+2.65 ms at p90", "+6 ms at p50", "## Goals (issue 13)", "≤ 3 %", "≤ 50 µs",
             "≤ 0.010", "vCPU per 1000 req/s"):
    if want not in md:
        fail("telemetry.md lacks %r" % want)
if "on" in configs and "(b) drover, telemetry on" not in md:
    fail("telemetry.md lacks configuration (b)")
if m.get("skipped") and "Skipped" not in md:
    fail("telemetry.md does not say what was skipped")

svg = ET.parse(out + "/telemetry.svg").getroot()
rects = [e for e in svg.iter() if e.tag.endswith("rect")]
if len(rects) < 1 + 5 * len(configs):
    fail("telemetry.svg has %d rects for %d configurations" % (len(rects), len(configs)))
print("ok: configurations %s; results structure complete" % " ".join(configs))
PY
echo "PASS: bench telemetry --quick"
