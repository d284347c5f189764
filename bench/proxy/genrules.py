#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""genrules: one Service/EndpointSlice set, written out the way each proxy under test gets it.

  genrules.py --services S --measured first|last [--backends N] --out DIR

S ClusterIP services (one TCP port, 3 endpoints each): "bench/measured" (10.96.0.10:80 ->
the real backends 10.244.1.11-13:8080, the first N of them with --backends N) plus S-1
fillers whose endpoints exist only on paper. A separate "bench/churn" service (10.96.0.20:80) is what add/change/delete act on.

DIR gets
  manifests/svcs.yaml                  drover: Services + EndpointSlices (multi-document YAML)
  churn-add.yaml, churn-change.yaml    drover: the churn service as added / with one endpoint
                                       replaced (moved into manifests/ by the harness)
  ipt-jumps.rules                      base-chain jumps kube-proxy makes with `iptables -I`
  ipt-full.rules                       kube-proxy's full sync (iptables-restore --noflush)
  ipt-load.rules                       jumps + full sync as one flush-mode restore (fast setup)
  ipt-add|change|delete.rules          kube-proxy's partial sync after that one change
  ipt-full-churn.rules                 the full sync with churn present (the periodic resync)
  nft-full.nft                         kube-proxy's nftables full sync (nft -f)
  nft-add|change|delete.nft            kube-proxy's nftables partial-sync transaction

The iptables and nftables texts follow kube-proxy's proxier.go (iptables mode: KUBE-SERVICES
-> KUBE-SVC-* with `statistic --mode random` -> KUBE-SEP-* with MARK-MASQ + DNAT, comments
dropped on SVC/SEP rules above 1000 endpoints as its "large cluster mode" does; nftables
mode: the service-ips verdict map -> service-* chains with `numgen random` -> endpoint-*
chains). Chain names use kube-proxy's hashes, so they look like the real thing.
Standard library only.
"""
import argparse
import base64
import hashlib
import json
import os

CLUSTER_CIDR = "10.244.0.0/16"
SERVICE_CIDR = "10.96.0.0/16"
MASQ_MARK = "0x4000"
LARGE_CLUSTER_ENDPOINTS = 1000
MEASURED = ("bench", "measured", "10.96.0.10", ["10.244.1.11", "10.244.1.12", "10.244.1.13"])
CHURN = ("bench", "churn", "10.96.0.20", ["10.244.1.11", "10.244.1.12", "10.244.1.13"])
CHURN_CHANGED = ("bench", "churn", "10.96.0.20", ["10.244.1.11", "10.244.1.12", "10.244.1.14"])
PORT, TARGET_PORT, PORT_NAME = 80, 8080, "http"


def ip_str(n):
    return "%d.%d.%d.%d" % (n >> 24 & 255, n >> 16 & 255, n >> 8 & 255, n & 255)


def fillers(count):
    """count filler services: ClusterIPs from 10.96.1.0 up, endpoints from 10.244.16.1 up."""
    base_vip = 10 << 24 | 96 << 16 | 1 << 8
    out = []
    for i in range(count):
        eps = []
        for j in range(3):
            k = 3 * i + j
            eps.append("10.244.%d.%d" % (16 + k // 250, 1 + k % 250))
        out.append(("fill", "svc-%d" % i, ip_str(base_vip + i), eps))
    return out


def service_set(services, measured_pos, backends=3):
    fill = fillers(services - 1)
    measured = MEASURED[:3] + (MEASURED[3][:backends],)
    return [measured] + fill if measured_pos == "first" else fill + [measured]


# ---------- drover: manifests ----------

def manifest_docs(svc):
    ns, name, vip, eps = svc
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"type": "ClusterIP", "clusterIP": vip, "clusterIPs": [vip],
                 "ports": [{"name": PORT_NAME, "protocol": "TCP", "port": PORT,
                            "targetPort": TARGET_PORT}]},
    }
    slice_ = {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": name + "-abcde", "namespace": ns,
                     "labels": {"kubernetes.io/service-name": name}},
        "addressType": "IPv4",
        "ports": [{"name": PORT_NAME, "protocol": "TCP", "port": TARGET_PORT}],
        "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in eps],
    }
    # JSON is YAML: one flow-style document per object keeps the file compact.
    return [json.dumps(service, separators=(",", ":")), json.dumps(slice_, separators=(",", ":"))]


def write_manifests(path, svcs):
    with open(path, "w") as f:
        for svc in svcs:
            for d in manifest_docs(svc):
                f.write("---\n")
                f.write(d)
                f.write("\n")


# ---------- iptables (kube-proxy iptables mode) ----------

def b32_16(s):
    return base64.b32encode(hashlib.sha256(s.encode()).digest()).decode()[:16]


def port_name(svc):
    return "%s/%s:%s" % (svc[0], svc[1], PORT_NAME)


def svc_chain(svc):
    return "KUBE-SVC-" + b32_16(port_name(svc) + "tcp")


def sep_chain(svc, ep):
    return "KUBE-SEP-" + b32_16(port_name(svc) + "tcp" + "%s:%d" % (ep, TARGET_PORT))


def ipt_jumps():
    """The jump rules kube-proxy (and kubelet) make from the built-in chains at start-up."""
    return "\n".join([
        "*filter",
        ":KUBE-EXTERNAL-SERVICES - [0:0]", ":KUBE-NODEPORTS - [0:0]", ":KUBE-SERVICES - [0:0]",
        ":KUBE-FORWARD - [0:0]", ":KUBE-PROXY-FIREWALL - [0:0]", ":KUBE-FIREWALL - [0:0]",
        "-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer "
        "firewall\" -j KUBE-PROXY-FIREWALL",
        "-A INPUT -m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS",
        "-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible "
        "service portals\" -j KUBE-EXTERNAL-SERVICES",
        "-A INPUT -j KUBE-FIREWALL",
        "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer "
        "firewall\" -j KUBE-PROXY-FIREWALL",
        "-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD",
        "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes service "
        "portals\" -j KUBE-SERVICES",
        "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-"
        "visible service portals\" -j KUBE-EXTERNAL-SERVICES",
        "-A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer "
        "firewall\" -j KUBE-PROXY-FIREWALL",
        "-A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes service "
        "portals\" -j KUBE-SERVICES",
        "-A OUTPUT -j KUBE-FIREWALL",
        "COMMIT",
        "*nat",
        ":KUBE-SERVICES - [0:0]", ":KUBE-POSTROUTING - [0:0]",
        "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
        "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
        "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING",
        "COMMIT",
        ""])


def ipt_sync(svcs, changed, deleted=()):
    """kube-proxy's iptables-restore input. changed: names of services whose SVC/SEP chains
    are written (all of them in a full sync); deleted: services whose chains go away."""
    large = 3 * len(svcs) > LARGE_CLUSTER_ENDPOINTS
    filt_chains = [":%s - [0:0]" % c for c in ("KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES",
                                               "KUBE-FORWARD", "KUBE-NODEPORTS",
                                               "KUBE-PROXY-FIREWALL", "KUBE-FIREWALL")]
    filt_rules = [
        "-A KUBE-FIREWALL -m comment --comment \"block incoming localnet connections\" "
        "-d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP",
        "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
        "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" "
        "-m mark --mark %s/%s -j ACCEPT" % (MASQ_MARK, MASQ_MARK),
        "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" "
        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    ]
    nat_chains = [":%s - [0:0]" % c for c in ("KUBE-SERVICES", "KUBE-NODEPORTS",
                                              "KUBE-POSTROUTING", "KUBE-MARK-MASQ")]
    nat_rules = [
        "-A KUBE-POSTROUTING -m mark ! --mark %s/%s -j RETURN" % (MASQ_MARK, MASQ_MARK),
        "-A KUBE-POSTROUTING -j MARK --xor-mark %s" % MASQ_MARK,
        "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" "
        "-j MASQUERADE --random-fully",
        "-A KUBE-MARK-MASQ -j MARK --or-mark %s" % MASQ_MARK,
    ]
    for svc in svcs:
        pn, vip, eps = port_name(svc), svc[2], svc[3]
        sc = svc_chain(svc)
        nat_rules.append("-A KUBE-SERVICES -m comment --comment \"%s cluster IP\" -m tcp -p tcp "
                         "-d %s --dport %d -j %s" % (pn, vip, PORT, sc))
        if pn not in changed:
            continue
        nat_chains.append(":%s - [0:0]" % sc)
        nat_rules.append("-A %s -m comment --comment \"%s cluster IP\" -m tcp -p tcp -d %s "
                         "--dport %d ! -s %s -j KUBE-MARK-MASQ" % (sc, pn, vip, PORT, CLUSTER_CIDR))
        for i, ep in enumerate(eps):
            cmt = "" if large else " -m comment --comment \"%s -> %s:%d\"" % (pn, ep, TARGET_PORT)
            prob = (" -m statistic --mode random --probability %0.10f" % (1.0 / (len(eps) - i))
                    if i < len(eps) - 1 else "")
            nat_rules.append("-A %s%s%s -j %s" % (sc, cmt, prob, sep_chain(svc, ep)))
        for ep in eps:
            ec = sep_chain(svc, ep)
            cmt = "" if large else " -m comment --comment %s" % pn
            nat_chains.append(":%s - [0:0]" % ec)
            nat_rules.append("-A %s%s -s %s -j KUBE-MARK-MASQ" % (ec, cmt, ep))
            nat_rules.append("-A %s%s -m tcp -p tcp -j DNAT --to-destination %s:%d"
                             % (ec, cmt, ep, TARGET_PORT))
    for chain in deleted:
        nat_chains.append(":%s - [0:0]" % chain)
        nat_rules.append("-X %s" % chain)
    nat_rules.append("-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: "
                     "this must be the last rule in this chain\" -m addrtype --dst-type LOCAL "
                     "-j KUBE-NODEPORTS")
    return "\n".join(["*filter"] + filt_chains + filt_rules + ["COMMIT", "*nat"] + nat_chains +
                     nat_rules + ["COMMIT", ""])


def ipt_load(svcs):
    """The same rules as a jumps + full sync, as one flush-mode restore: the fast way this
    harness loads a trial's tables (kube-proxy itself never flushes whole tables)."""
    out = []
    jumps, full = ipt_jumps().split("\n"), ipt_sync(svcs, {port_name(s) for s in svcs}).split("\n")
    for table in ("*filter", "*nat"):
        def section(lines):
            i = lines.index(table)
            j = lines.index("COMMIT", i)
            return lines[i + 1:j]
        decl, seen, rules = [], set(), []
        for line in section(jumps) + section(full):
            if line.startswith(":"):
                if line not in seen:
                    seen.add(line)
                    decl.append(line)
            else:
                rules.append(line)
        jump_rules = [r for r in rules if not r.startswith("-A KUBE-")]
        out += [table] + decl + jump_rules + [r for r in rules if r.startswith("-A KUBE-")]
        out.append("COMMIT")
    return "\n".join(out) + "\n"


def chains_of(svc):
    return [svc_chain(svc)] + [sep_chain(svc, ep) for ep in svc[3]]


# ---------- nftables (kube-proxy nftables mode) ----------

T = "ip kube-proxy"


def hash8(name):
    return base64.b32encode(hashlib.sha256(name.encode()).digest()).decode()[:8] + "-" + name


def nft_svc_chain(svc):
    return "service-" + hash8("%s/%s/tcp/%s" % (svc[0], svc[1], PORT_NAME))


def nft_ep_chain(svc, ep):
    return "endpoint-" + hash8("%s/%s/tcp/%s__%s/%d" % (svc[0], svc[1], PORT_NAME, ep, TARGET_PORT))


def nft_setup():
    out = ["add table %s { comment \"rules for kube-proxy\" ; }" % T]
    base = [("filter-prerouting", "filter", "prerouting", -110),
            ("filter-input", "filter", "input", -110),
            ("filter-forward", "filter", "forward", -110),
            ("filter-output", "filter", "output", -110),
            ("filter-output-post-dnat", "filter", "output", -90),
            ("nat-prerouting", "nat", "prerouting", -100),
            ("nat-output", "nat", "output", -100),
            ("nat-postrouting", "nat", "postrouting", 100)]
    for name, typ, hook, prio in base:
        out.append("add chain %s %s { type %s hook %s priority %d ; }" % (T, name, typ, hook, prio))
        out.append("flush chain %s %s" % (T, name))
    jumps = [("nodeport-endpoints-check", "filter-input", "ct state new"),
             ("service-endpoints-check", "filter-input", "ct state new"),
             ("service-endpoints-check", "filter-forward", "ct state new"),
             ("service-endpoints-check", "filter-output", "ct state new"),
             ("firewall-check", "filter-prerouting", "ct state new"),
             ("firewall-check", "filter-output", "ct state new"),
             ("services", "nat-output", ""), ("services", "nat-prerouting", ""),
             ("masquerading", "nat-postrouting", ""),
             ("cluster-ips-check", "filter-forward", "ct state new"),
             ("cluster-ips-check", "filter-output-post-dnat", "ct state new")]
    made = set()
    for dst, src, extra in jumps:
        if dst not in made:
            out += ["add chain %s %s" % (T, dst), "flush chain %s %s" % (T, dst)]
            made.add(dst)
        out.append("add rule %s %s %s jump %s" % (T, src, extra + " " if extra else "", dst))
    for c in ("mark-for-masquerade",):
        out += ["add chain %s %s" % (T, c), "flush chain %s %s" % (T, c)]
    out += [
        "add rule %s mark-for-masquerade mark set mark or %s" % (T, MASQ_MARK),
        "add rule %s masquerading mark and %s == 0 return" % (T, MASQ_MARK),
        "add rule %s masquerading mark set mark xor %s" % (T, MASQ_MARK),
        "add rule %s masquerading masquerade fully-random" % T,
        "add set %s cluster-ips { type ipv4_addr ; comment \"Active ClusterIPs\" ; }" % T,
        "add rule %s cluster-ips-check ip daddr @cluster-ips reject comment \"Reject traffic to "
        "invalid ports of ClusterIPs\"" % T,
        "add rule %s cluster-ips-check ip daddr { %s } drop comment \"Drop traffic to "
        "unallocated ClusterIPs\"" % (T, SERVICE_CIDR),
        "add map %s no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; "
        "comment \"vmap to drop or reject packets to services with no endpoints\" ; }" % T,
        "add map %s no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "
        "\"vmap to drop or reject packets to service nodeports with no endpoints\" ; }" % T,
        "add chain %s reject-chain { comment \"helper for @no-endpoint-services / "
        "@no-endpoint-nodeports\" ; }" % T,
        "flush chain %s reject-chain" % T,
        "add rule %s reject-chain reject" % T,
        "add rule %s service-endpoints-check ip daddr . meta l4proto . th dport vmap "
        "@no-endpoint-services" % T,
        "add rule %s nodeport-endpoints-check ip daddr != 127.0.0.0/8 meta l4proto . th dport "
        "vmap @no-endpoint-nodeports" % T,
        "add map %s firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "
        "\"destinations that are subject to LoadBalancerSourceRanges\" ; }" % T,
        "add rule %s firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips" % T,
        "add map %s service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "
        "\"ClusterIP, ExternalIP and LoadBalancer IP traffic\" ; }" % T,
        "add map %s service-nodeports { type inet_proto . inet_service : verdict ; comment "
        "\"NodePort traffic\" ; }" % T,
        "add rule %s services ip daddr . meta l4proto . th dport vmap @service-ips" % T,
        "add rule %s services fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th "
        "dport vmap @service-nodeports" % T,
    ]
    for s in ("cluster-ips",):
        out.append("flush set %s %s" % (T, s))
    for m in ("service-ips", "firewall-ips", "no-endpoint-services", "no-endpoint-nodeports",
              "service-nodeports"):
        out.append("flush map %s %s" % (T, m))
    return out


def nft_service(svc, with_elements=True):
    """Chains, rules and map elements of one service, in kube-proxy's order."""
    sc, vip, eps = nft_svc_chain(svc), svc[2], svc[3]
    out = []
    for ep in eps:
        out += ["add chain %s %s" % (T, nft_ep_chain(svc, ep)),
                "flush chain %s %s" % (T, nft_ep_chain(svc, ep))]
    out += ["add chain %s %s" % (T, sc), "flush chain %s %s" % (T, sc)]
    if with_elements:
        out += ["add element %s cluster-ips { %s }" % (T, vip),
                "add element %s service-ips { %s . tcp . %d : goto %s }" % (T, vip, PORT, sc)]
    out.append("add rule %s %s ip daddr %s tcp dport %d ip saddr != %s jump mark-for-masquerade"
               % (T, sc, vip, PORT, CLUSTER_CIDR))
    vmap = ", ".join("%d : goto %s" % (i, nft_ep_chain(svc, ep)) for i, ep in enumerate(eps))
    out.append("add rule %s %s numgen random mod %d vmap { %s }" % (T, sc, len(eps), vmap))
    for ep in eps:
        ec = nft_ep_chain(svc, ep)
        out += ["add rule %s %s ip saddr %s jump mark-for-masquerade" % (T, ec, ep),
                "add rule %s %s meta l4proto tcp dnat to %s:%d" % (T, ec, ep, TARGET_PORT)]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, required=True)
    ap.add_argument("--measured", choices=("first", "last"), default="last")
    ap.add_argument("--backends", type=int, default=3)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.services < 1 or a.services > 60000:
        ap.error("--services must be 1..60000")
    if a.backends < 1 or a.backends > 3:
        ap.error("--backends must be 1..3")
    svcs = service_set(a.services, a.measured, a.backends)
    os.makedirs(os.path.join(a.out, "manifests"), exist_ok=True)

    def put(name, text):
        with open(os.path.join(a.out, name), "w") as f:
            f.write(text)

    write_manifests(os.path.join(a.out, "manifests", "svcs.yaml"), svcs)
    write_manifests(os.path.join(a.out, "churn-add.yaml"), [CHURN])
    write_manifests(os.path.join(a.out, "churn-change.yaml"), [CHURN_CHANGED])

    everyone = {port_name(s) for s in svcs}
    churn = port_name(CHURN)
    put("ipt-jumps.rules", ipt_jumps())
    put("ipt-full.rules", ipt_sync(svcs, everyone))
    put("ipt-load.rules", ipt_load(svcs))
    put("ipt-add.rules", ipt_sync(svcs + [CHURN], {churn}))
    put("ipt-change.rules", ipt_sync(svcs + [CHURN_CHANGED], {churn},
                                     deleted=[sep_chain(CHURN, CHURN[3][2])]))
    put("ipt-delete.rules", ipt_sync(svcs, set(), deleted=chains_of(CHURN)))
    put("ipt-full-churn.rules", ipt_sync(svcs + [CHURN], everyone | {churn}))

    full = nft_setup()
    for s in svcs:
        full += nft_service(s)
    put("nft-full.nft", "\n".join(full) + "\n")
    put("nft-add.nft", "\n".join(nft_service(CHURN)) + "\n")
    # Changed endpoints: the service chain is rewritten, the new endpoint chain added, the
    # dropped endpoint's chain flushed (kube-proxy deletes it in a later transaction).
    chg = nft_service(CHURN_CHANGED, with_elements=False)
    chg.append("flush chain %s %s" % (T, nft_ep_chain(CHURN, CHURN[3][2])))
    put("nft-change.nft", "\n".join(chg) + "\n")
    dele = ["delete element %s service-ips { %s . tcp . %d }" % (T, CHURN[2], PORT),
            "delete element %s cluster-ips { %s }" % (T, CHURN[2])]
    dele += ["flush chain %s %s" % (T, c) for c in
             [nft_svc_chain(CHURN)] + [nft_ep_chain(CHURN, ep) for ep in CHURN[3]]]
    put("nft-delete.nft", "\n".join(dele) + "\n")


if __name__ == "__main__":
    main()
