#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""e2e_telemetry_prometheus: `drover telemetry serve` over telemetry maps this test creates and
pins itself with drover_abi.h's layout (bpftool map create ... pinned, under a pin root of its
own), filled with known values:

  1. /metrics line by line (labels, escaping of a service name with a quote, histogram
     buckets cumulative up to +Inf, _sum, _count; drops by reason; counters of telemetry);
  2. `promtool check metrics` on it;
  3. a real Prometheus (Debian's, on 127.0.0.1 with its own config and data directory,
     scraping every 250 ms) answering PromQL over its HTTP API: sum(drover_http_requests_total),
     rate(...[1m]) after the counters changed between scrapes (checked against the samples
     Prometheus holds, by Prometheus' own extrapolation rule), and histogram_quantile(0.99, ...)
     of the change (0.0235 s: 90 requests in (5 ms, 10 ms], 10 in (10 ms, 25 ms]).

Everything it made (pins, processes by PID, directories) goes at exit, also on failure."""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

DROVER = os.path.join(os.environ.get("DROVER_BIN", "build/userspace/cli"), "drover")
PIN = "/sys/fs/bpf/drover-tltest-%d" % os.getpid()
procs = []
tmp = tempfile.mkdtemp(prefix="drover-tltest-")


def cleanup():
    for p in procs:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGTERM)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
    shutil.rmtree(PIN, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    cleanup()
    sys.exit(1)


def ncpu():
    n = 0
    for part in open("/sys/devices/system/cpu/possible").read().strip().split(","):
        a, _, b = part.partition("-")
        n += int(b or a) - int(a) + 1
    return n


NCPU = ncpu()


def bpftool(*args):
    r = subprocess.run(["bpftool"] + list(args), capture_output=True, text=True)
    if r.returncode:
        fail("bpftool %s: %s" % (" ".join(args), r.stderr.strip()))


def hexb(b):
    return [("%02x" % x) for x in b]


def create(name, typ, key, value, entries):
    bpftool("map", "create", PIN + "/" + name, "type", typ, "key", str(key), "value",
            str(value), "entries", str(entries), "name", name)


def update(name, key, value):
    # bpftool writes a per-CPU map's value to every CPU: the exporter sums NCPU copies
    bpftool("map", "update", "pinned", PIN + "/" + name, "key", "hex", *hexb(key), "value",
            "hex", *hexb(value))


def tl_key(saddr, daddr, dport, rev_nat, reporter, method=0, code=0):
    return (socket.inet_aton(saddr) + socket.inet_aton(daddr) + struct.pack("!H", dport) +
            struct.pack("<HBBH", rev_nat, reporter, method, code))


def http_val(requests, sum_us, buckets, over):
    return struct.pack("<15Q", requests, sum_us, *buckets, over)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def wait_for(what, fn, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        try:
            v = fn()
            if v is not None:
                return v
        except (OSError, ValueError, KeyError, IndexError):
            pass
        time.sleep(0.1)
    fail("timed out waiting for " + what)


# ---- the maps, as drover_abi.h lays them out ----
os.makedirs(PIN)
create("drv_tlhttp1", "percpu_hash", 16, 120, 64)
create("drv_tltcp1", "percpu_hash", 16, 96, 64)
create("drv_tlctr1", "percpu_array", 4, 8, 8)
create("drv_stats1", "percpu_hash", 4, 16, 64)
create("drv_names1", "hash", 4, 64, 64)

GET, POST, CLIENT, SERVER = 1, 3, 1, 2
K200 = tl_key("10.244.1.5", "10.244.2.9", 8080, 7, CLIENT, GET, 200)
K503 = tl_key("10.244.1.5", "10.244.2.9", 8080, 7, CLIENT, POST, 503)
# 996 in (0, 0.5 ms], 3 in (5 ms, 10 ms], 1 over 5 s. Many at first: rate()'s extrapolation
# towards zero then leaves every bucket alone, so the quantile of the change is exact.
B0 = [996, 0, 0, 0, 3] + [0] * 7
SUM0 = 996 * 300 + 3 * 8000 + 6000000
update("drv_tlhttp1", K200, http_val(1000, SUM0, B0, 1))
update("drv_tlhttp1", K503, http_val(2, 2 * 30000, [0] * 6 + [2] + [0] * 5, 0))
update("drv_tltcp1", tl_key("10.244.1.5", "10.244.2.9", 8080, 7, CLIENT),
       struct.pack("<12Q", 5, 3, 1, 1, 1000, 2000, 10, 12, 2, 1, 1500, 3))
update("drv_names1", struct.pack("<I", 7), b'shop/we"b:http/TCP'.ljust(64, b"\0"))
update("drv_stats1", struct.pack("<HBB", 7, 2, 16), struct.pack("<QQ", 4, 400))  # no_backend
update("drv_stats1", struct.pack("<HBB", 0, 2, 24), struct.pack("<QQ", 1, 60))  # fib
update("drv_stats1", struct.pack("<HBB", 7, 2, 0), struct.pack("<QQ", 99, 9900))  # not a drop
update("drv_tlctr1", struct.pack("<I", 0), struct.pack("<Q", 2))  # tcp overflow
update("drv_tlctr1", struct.pack("<I", 2), struct.pack("<Q", 5))  # events lost

# ---- the exporter ----
mport = free_port()
procs.append(subprocess.Popen([DROVER, "telemetry", "serve", "--pin-root", PIN, "--listen",
                               "127.0.0.1:%d" % mport, "--log-level", "warn"]))
url = "http://127.0.0.1:%d/metrics" % mport
text = wait_for("/metrics", lambda: get(url))
lines = text.split("\n")
n = NCPU
L = ('reporter="source",source_workload="unknown",source_namespace="unknown",'
     'source_pod="unknown",destination_service="we\\"b.shop.svc.cluster.local",'
     'destination_namespace="shop",destination_workload="unknown",destination_pod="unknown"')
want = [
    "# TYPE drover_http_requests_total counter",
    'drover_http_requests_total{%s,method="GET",code="200"} %d' % (L, 1000 * n),
    'drover_http_requests_total{%s,method="POST",code="503"} %d' % (L, 2 * n),
    "# TYPE drover_http_request_duration_seconds histogram",
    'drover_http_request_duration_seconds_bucket{%s,method="GET",code="200",le="0.0005"} %d'
    % (L, 996 * n),
    'drover_http_request_duration_seconds_bucket{%s,method="GET",code="200",le="0.005"} %d'
    % (L, 996 * n),
    'drover_http_request_duration_seconds_bucket{%s,method="GET",code="200",le="0.01"} %d'
    % (L, 999 * n),
    'drover_http_request_duration_seconds_bucket{%s,method="GET",code="200",le="5"} %d'
    % (L, 999 * n),
    'drover_http_request_duration_seconds_bucket{%s,method="GET",code="200",le="+Inf"} %d'
    % (L, 1000 * n),
    'drover_http_request_duration_seconds_sum{%s,method="GET",code="200"} %s'
    % (L, repr(SUM0 * n / 1e6)),
    'drover_http_request_duration_seconds_count{%s,method="GET",code="200"} %d' % (L, 1000 * n),
    'drover_tcp_connections_total{%s,state="opened"} %d' % (L, 5 * n),
    'drover_tcp_connections_total{%s,state="refused"} %d' % (L, 1 * n),
    'drover_tcp_sent_bytes_total{%s} %d' % (L, 1000 * n),
    'drover_tcp_received_bytes_total{%s} %d' % (L, 2000 * n),
    'drover_tcp_retransmits_total{%s} %d' % (L, 2 * n),
    'drover_tcp_syn_retransmits_total{%s} %d' % (L, 1 * n),
    'drover_tcp_srtt_seconds_count{%s} %d' % (L, 3 * n),
    'drover_drops_total{reason="no_backend"} %d' % (4 * n),
    'drover_drops_total{reason="fib"} %d' % (1 * n),
    'drover_drops_total{reason="conntrack_full"} 0',
    'drover_lost_events_total{stage="kernel"} %d' % (5 * n),
    'drover_telemetry_series_overflow_total{map="drv_tltcp1"} %d' % (2 * n),
    'drover_telemetry_series_overflow_total{map="drv_tlhttp1"} 0',
]
missing = [w for w in want if w not in lines]
if missing:
    fail("/metrics lacks:\n  " + "\n  ".join(missing) + "\n--- /metrics:\n" + text)
if any(l.startswith("drover_drops_total") and "forwarded" in l for l in lines):
    fail("a success counted as a drop")
print("ok: /metrics has the %d expected lines (%d CPUs)" % (len(want), n))

# ---- promtool ----
r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
if r.returncode:
    fail("promtool check metrics: " + r.stdout + r.stderr)
print("ok: promtool check metrics")

# ---- Prometheus ----
pport = free_port()
cfg = os.path.join(tmp, "prometheus.yml")
with open(cfg, "w") as f:
    f.write("global:\n  scrape_interval: 250ms\n  scrape_timeout: 200ms\n"
            "scrape_configs:\n  - job_name: drover\n    static_configs:\n"
            "      - targets: ['127.0.0.1:%d']\n" % mport)
procs.append(subprocess.Popen(
    ["prometheus", "--config.file=" + cfg, "--storage.tsdb.path=" + os.path.join(tmp, "data"),
     "--web.listen-address=127.0.0.1:%d" % pport, "--log.level=warn"],
    stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "prometheus.log"), "w")))
api = "http://127.0.0.1:%d/api/v1/" % pport


def query(q, t=None):
    args = {"query": q}
    if t is not None:
        args["time"] = "%.3f" % t
    r = json.loads(get(api + "query?" + urllib.parse.urlencode(args)))
    if r["status"] != "success":
        raise ValueError(r)
    return r["data"]["result"]


def scalar(q, t=None):
    res = query(q, t)
    return float(res[0]["value"][1]) if res else None


v = wait_for("sum(drover_http_requests_total)",
             lambda: scalar("sum(drover_http_requests_total)"), 20)
if v != 1002 * n:
    fail("sum(drover_http_requests_total) = %s, want %d" % (v, 1002 * n))
print("ok: sum(drover_http_requests_total) = %g" % v)

# the counters move: 100 more GET 200s, 90 in (5 ms, 10 ms], 10 in (10 ms, 25 ms]
B1 = [996, 0, 0, 0, 93, 10] + [0] * 6
update("drv_tlhttp1", K200, http_val(1100, SUM0 + 90 * 8000 + 10 * 20000, B1, 1))
wait_for("the change to be scraped",
         lambda: True if scalar("sum(drover_http_requests_total)") == 1102 * n else None)
time.sleep(0.6)  # a few scrapes of the new value
t = round(time.time(), 3)  # the query's time as sent
samples = query('drover_http_requests_total{method="GET"}[1m]', t)[0]["values"]
got = scalar('sum(rate(drover_http_requests_total{method="GET"}[1m]))', t)


def extrapolated_rate(pts, t, window=60.0):
    """Prometheus 2.42's extrapolatedRate (promql/functions.go) for a counter."""
    ts = [float(p[0]) for p in pts]
    vs = [float(p[1]) for p in pts]
    result = vs[-1] - vs[0]  # no counter reset here
    start, end = t - window, t
    to_start, to_end = ts[0] - start, end - ts[-1]
    sampled = ts[-1] - ts[0]
    avg = sampled / (len(ts) - 1)
    if result > 0 and vs[0] >= 0:
        to_zero = sampled * (vs[0] / result)
        if to_zero < to_start:
            to_start = to_zero
    threshold = avg * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else avg / 2
    interval += to_end if to_end < threshold else avg / 2
    return result * (interval / sampled) / window


want_rate = extrapolated_rate(samples, t)
if got is None or abs(got - want_rate) > 1e-6 * want_rate or got <= 0:
    fail("rate(drover_http_requests_total[1m]) = %s, want %s from the samples %s" %
         (got, want_rate, samples))
print("ok: rate(drover_http_requests_total[1m]) = %g (the samples' %g increase)" %
      (got, float(samples[-1][1]) - float(samples[0][1])))

q99 = scalar("histogram_quantile(0.99, sum by (le) "
             "(rate(drover_http_request_duration_seconds_bucket[1m])))", t)
if q99 is None or abs(q99 - 0.0235) > 1e-9:
    fail("histogram_quantile(0.99, ...) = %s, want 0.0235" % q99)
print("ok: histogram_quantile(0.99, ...) = %g" % q99)
cleanup()
print("PASS")
