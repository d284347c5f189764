#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tlmaps: telemetry's pinned maps read through bpftool, for scripts/bench.sh telemetry.

  tlmaps.py counters PIN_ROOT   drv_tlctr1 summed over CPUs, one JSON object by name
  tlmaps.py http PIN_ROOT       drv_tlhttp1: requests summed over series and CPUs
  tlmaps.py endpoint IFINDEX POD_MAC HOST_MAC
                                the 20 bytes of a struct drv_endpoint (bpftool hex words)

Layouts: the telemetry section of bpf/include/drover_abi.h (drv_tlctr1 a per-CPU array of
__u64 indexed by enum drv_tl_ctr; struct drv_tl_http starts with __u64 requests). A map that
is not pinned (telemetry off, or a drover without telemetry) prints {}.
"""
import json
import os
import subprocess
import sys

CTR = {0: "tcp_overflow", 1: "http_overflow", 2: "events_lost", 3: "http_unparsed",
       4: "sock_overflow", 5: "paired"}


def u64(b):
    return int.from_bytes(bytes(int(x, 16) for x in b[:8]), "little")


def dump(path):
    if not os.path.exists(path):
        return None
    out = subprocess.run(["bpftool", "-j", "map", "dump", "pinned", path],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout or "[]")


def values(entry):
    """The raw value bytes of each CPU (per-CPU maps) or of the one value."""
    if "values" in entry:
        return [v["value"] for v in entry["values"]]
    return [entry["value"]]


def counters(pin):
    rows = dump(os.path.join(pin, "drv_tlctr1"))
    if rows is None:
        return {}
    res = {}
    for e in rows:
        idx = u64(e["key"] + ["0"] * 4)
        res[CTR.get(idx, "ctr%d" % idx)] = sum(u64(v) for v in values(e))
    return res


def http(pin):
    rows = dump(os.path.join(pin, "drv_tlhttp1"))
    if rows is None:
        return {}
    # a series of reporter 3 (DRV_TL_BOTH: both ends pods of this node, counted once) stands
    # for the client's and the server's: its requests count twice, as two series' would
    sides = lambda e: 2 if int(e["key"][12], 16) == 3 else 1
    return {"requests": sum(sides(e) * u64(v) for e in rows for v in values(e)),
            "series": len(rows)}


def endpoint(ifindex, mac, host_mac):
    b = int(ifindex).to_bytes(4, "little") + bytes.fromhex(mac.replace(":", "")) + \
        bytes.fromhex(host_mac.replace(":", "")) + (0).to_bytes(4, "little")
    return " ".join("%02x" % x for x in b)


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "counters":
        print(json.dumps(counters(sys.argv[2])))
    elif len(sys.argv) >= 3 and sys.argv[1] == "http":
        print(json.dumps(http(sys.argv[2])))
    elif len(sys.argv) == 5 and sys.argv[1] == "endpoint":
        print(endpoint(*sys.argv[2:]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
