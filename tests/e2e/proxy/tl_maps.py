#!/usr/bin/env python3
"""tl_maps.py PIN_ROOT [SADDR [retrans]]: telemetry's pinned maps (drover_abi.h's telemetry section),
read with bpftool and summed over CPUs (and over backends), one line per series group:

  http REPORTER METHOD CODE svc|nosvc requests=N buckets=I:N,...   (I: bucket index)
  tcp REPORTER DPORT svc|nosvc opened=.. closed=.. refused=.. reset=.. sent>0 rcvd>0
  ctr tcp_overflow=.. http_overflow=.. events_lost=.. unparsed=..
  series http=N tcp=N   (map entries)
  paired N     (connections whose HTTP the server's socket counted for both ends)

Only series whose client (saddr) is SADDR, when given. With retrans, each tcp line ends with
retransmits=N syn_retransmits=N as well."""
import ipaddress
import json
import struct
import subprocess
import sys

METHODS = ["OTHER", "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"]
REPORTERS = {1: "client", 2: "server"}


def dump(path):
    out = subprocess.run(["bpftool", "-j", "map", "dump", "pinned", path], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def raw(hexes):
    return bytes(int(h, 16) for h in hexes)


def per_cpu_sum(entry, n):
    tot = [0] * n
    for v in entry["values"]:
        for i, x in enumerate(struct.unpack("<%dQ" % n, raw(v["value"]))):
            tot[i] += x
    return tot


def keys(entry):
    """The series keys an entry stands for: one, or for reporter 3 (DRV_TL_BOTH: a connection
    between two pods of this node, counted once) the client's and the server's (rev_nat 0)."""
    saddr, daddr, dport, rnat, rep, method, code = struct.unpack("<4s4s2sHBBH", raw(entry["key"]))
    k = (str(ipaddress.IPv4Address(saddr)), str(ipaddress.IPv4Address(daddr)),
         struct.unpack(">H", dport)[0])
    if rep == 3:
        return [k + (rnat, "client", METHODS[method], code), k + (0, "server", METHODS[method], code)]
    return [k + (rnat, REPORTERS.get(rep, str(rep)), METHODS[method], code)]


def main():
    pin, want = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None
    retrans = len(sys.argv) > 3 and sys.argv[3] == "retrans"
    lines = {}
    def add(mapname, nvals, group):
        n = 0
        for e in dump(pin + "/" + mapname):
            n += 1
            for k in keys(e):
                if not want or k[0] == want:
                    acc = lines.setdefault(group(*k), [0] * nvals)
                    for i, x in enumerate(per_cpu_sum(e, nvals)):
                        acc[i] += x
        return n

    svc = lambda rnat: "svc" if rnat else "nosvc"
    nhttp = add("drv_tlhttp1", 15, lambda s, d, dport, rnat, rep, m, code: ("http", rep, m, code, svc(rnat)))
    ntcp = add("drv_tltcp1", 12, lambda s, d, dport, rnat, rep, m, code: ("tcp", rep, dport, svc(rnat)))
    for k in sorted(lines, key=str):
        v = lines[k]
        if k[0] == "http":
            b = ",".join("%d:%d" % (i, n) for i, n in enumerate(v[2:]) if n)
            print("http %s %s %d %s requests=%d buckets=%s" % (k[1], k[2], k[3], k[4], v[0], b))
        else:
            print("tcp %s %d %s opened=%d closed=%d refused=%d reset=%d sent>0=%s rcvd>0=%s"
                  % (k[1], k[2], k[3], v[0], v[1], v[2], v[3], v[4] > 0, v[5] > 0),
                  end=" retransmits=%d syn_retransmits=%d\n" % (v[8], v[9]) if retrans else "\n")
    ctr = [0] * 8
    for e in dump(pin + "/drv_tlctr1"):
        for c in e["values"]:
            ctr[struct.unpack("<I", raw(e["key"]))[0]] += struct.unpack("<Q", raw(c["value"]))[0]
    print("ctr tcp_overflow=%d http_overflow=%d events_lost=%d unparsed=%d" % tuple(ctr[:4]))
    print("series http=%d tcp=%d" % (nhttp, ntcp))
    print("paired %d" % ctr[5])


main()
