#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""kprules: kube-proxy's iptables rules for the Services and EndpointSlices of a manifest
directory (the same files `drover proxy --manifests DIR` reads), for the kube-proxy
comparison suite (kpcompare.sh).

  kprules.py rules --manifests DIR --node NAME [--cluster-cidr CIDR] > rules
      kube-proxy's tables as one flush-mode iptables-restore input (*filter, *nat)
  kprules.py conntrack --manifests DIR --prev DIR --node NAME
      the conntrack deletions kube-proxy makes after the change PREV -> DIR (UDP flows to
      endpoints that went away; UDP flows to services that had no endpoints), one
      `conntrack` argument list a line

The rules follow pkg/proxy/iptables/proxier.go (syncProxyRules) of kube-proxy 1.29+ in
iptables mode with a cluster-CIDR local detector: KUBE-SERVICES -> KUBE-SVC-* (random
`statistic` jumps, `recent` for ClientIP affinity) -> KUBE-SEP-* (MARK-MASQ hairpin, DNAT);
NodePorts through KUBE-NODEPORTS -> KUBE-EXT-* (masquerade for Cluster policy; pod and LOCAL
traffic short-circuited to the cluster chain and KUBE-SVL-* otherwise); LoadBalancer IPs
with loadBalancerSourceRanges through KUBE-FW-* and the KUBE-PROXY-FIREWALL drop; services
without (local) endpoints REJECTed (DROPped) in the filter table; endpoint choice as
pkg/proxy/topology.go CategorizeEndpoints (ready ones, else serving-and-terminating ones,
per traffic policy). The conntrack deletions follow pkg/proxy/conntrack/cleanup.go.
Chain names use kube-proxy's hashes. Needs PyYAML (python3-yaml).
"""
import argparse
import base64
import hashlib
import os
import sys

import yaml

MASQ_MARK = "0x4000"


def load(dirname):
    """Services and EndpointSlices of every *.yaml / *.yml / *.json file in dirname."""
    svcs, slices = [], []
    for name in sorted(os.listdir(dirname)):
        if not name.endswith((".yaml", ".yml", ".json")):
            continue
        path = os.path.join(dirname, name)
        try:
            with open(path) as f:
                docs = list(yaml.safe_load_all(f))
        except yaml.YAMLError as e:
            raise ValueError("%s: %s" % (path, e)) from e
        for doc in docs:
            if not isinstance(doc, dict):
                continue
            kind = doc.get("kind")
            if kind == "Service":
                svcs.append(doc)
            elif kind == "EndpointSlice":
                slices.append(doc)
    return svcs, slices


def h16(s):
    return base64.b32encode(hashlib.sha256(s.encode()).digest()).decode()[:16]


class Port:
    """One service port with its endpoints, as kube-proxy's serviceInfo + endpointsInfo."""

    def __init__(self, svc, sp, slices, node):
        md, spec = svc["metadata"], svc.get("spec", {})
        self.ns, self.name = md.get("namespace", "default"), md["name"]
        self.port_name = sp.get("name", "")
        self.spn = "%s/%s:%s" % (self.ns, self.name, self.port_name)
        self.proto = sp.get("protocol", "TCP").lower()
        self.port = int(sp["port"])
        self.node_port = int(sp.get("nodePort", 0) or 0)
        self.cluster_ip = spec.get("clusterIP")
        if self.cluster_ip in (None, "", "None"):
            self.cluster_ip = None
        self.type = spec.get("type", "ClusterIP")
        if self.type == "ClusterIP":
            self.node_port = 0
        self.etp_local = spec.get("externalTrafficPolicy") == "Local" and self.type in (
            "NodePort", "LoadBalancer")
        self.itp_local = spec.get("internalTrafficPolicy") == "Local"
        self.affinity = spec.get("sessionAffinity") == "ClientIP"
        cfg = spec.get("sessionAffinityConfig") or {}
        self.affinity_s = int((cfg.get("clientIP") or {}).get("timeoutSeconds", 10800))
        self.external_ips = list(spec.get("externalIPs") or [])
        self.lb_ips = []
        if self.type == "LoadBalancer":
            for ing in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
                if ing.get("ip") and ing.get("ipMode", "VIP") != "Proxy":
                    self.lb_ips.append(ing["ip"])
        self.source_ranges = [r.strip() for r in spec.get("loadBalancerSourceRanges") or []]
        h = h16(self.spn + self.proto)
        self.svc_chain, self.svl_chain = "KUBE-SVC-" + h, "KUBE-SVL-" + h
        self.ext_chain, self.fw_chain = "KUBE-EXT-" + h, "KUBE-FW-" + h
        # endpoints: (ip, port, ready, serving, terminating, local), deduplicated
        eps = {}
        for sl in slices:
            labels = (sl.get("metadata") or {}).get("labels") or {}
            if sl.get("metadata", {}).get("namespace", "default") != self.ns or \
                    labels.get("kubernetes.io/service-name") != self.name or \
                    sl.get("addressType", "IPv4") != "IPv4":
                continue
            tport = None
            for p in sl.get("ports") or []:
                if (p.get("name") or "") == self.port_name and \
                        p.get("protocol", "TCP").lower() == self.proto:
                    tport = int(p["port"])
            if tport is None:
                continue
            for ep in sl.get("endpoints") or []:
                c = ep.get("conditions") or {}
                ready = c.get("ready", True) is not False
                serving = c.get("serving", ready) is not False
                term = c.get("terminating", False) is True
                local = ep.get("nodeName") == node
                for a in ep.get("addresses") or []:
                    eps.setdefault((a, tport), (a, tport, ready, serving, term, local))
        self.endpoints = sorted(eps.values())
        self.cluster_eps, self.local_eps = self.categorize()

    def categorize(self):
        """topology.go CategorizeEndpoints without topology hints."""
        def pick(eps):
            ready = [e for e in eps if e[2]]
            return ready if ready else [e for e in eps if e[3] and e[4]]
        cluster = pick(self.endpoints)
        local = pick([e for e in self.endpoints if e[5]]) if (
            self.etp_local or self.itp_local) else []
        return cluster, local

    def sep(self, ep):
        return "KUBE-SEP-" + h16(self.spn + self.proto + "%s:%d" % (ep[0], ep[1]))


def rules(ports, cluster_cidr):
    nat_chains = ["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"]
    filt_chains = ["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD", "KUBE-NODEPORTS",
                   "KUBE-PROXY-FIREWALL", "KUBE-FIREWALL"]
    # built-in chain jumps (kube-proxy's ensureChain/ensureRule at start-up)
    filt = [
        "-A INPUT -m conntrack --ctstate NEW -j KUBE-PROXY-FIREWALL",
        "-A INPUT -j KUBE-NODEPORTS",
        "-A INPUT -m conntrack --ctstate NEW -j KUBE-EXTERNAL-SERVICES",
        "-A INPUT -j KUBE-FIREWALL",
        "-A FORWARD -m conntrack --ctstate NEW -j KUBE-PROXY-FIREWALL",
        "-A FORWARD -j KUBE-FORWARD",
        "-A FORWARD -m conntrack --ctstate NEW -j KUBE-SERVICES",
        "-A FORWARD -m conntrack --ctstate NEW -j KUBE-EXTERNAL-SERVICES",
        "-A OUTPUT -m conntrack --ctstate NEW -j KUBE-PROXY-FIREWALL",
        "-A OUTPUT -m conntrack --ctstate NEW -j KUBE-SERVICES",
        "-A OUTPUT -j KUBE-FIREWALL",
        "-A KUBE-FIREWALL -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate "
        "RELATED,ESTABLISHED,DNAT -j DROP",
        "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
        "-A KUBE-FORWARD -m mark --mark %s/%s -j ACCEPT" % (MASQ_MARK, MASQ_MARK),
        "-A KUBE-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    ]
    nat = [
        "-A PREROUTING -j KUBE-SERVICES",
        "-A OUTPUT -j KUBE-SERVICES",
        "-A POSTROUTING -j KUBE-POSTROUTING",
        "-A KUBE-POSTROUTING -m mark ! --mark %s/%s -j RETURN" % (MASQ_MARK, MASQ_MARK),
        "-A KUBE-POSTROUTING -j MARK --xor-mark %s" % MASQ_MARK,
        "-A KUBE-POSTROUTING -j MASQUERADE --random-fully",
        "-A KUBE-MARK-MASQ -j MARK --or-mark %s" % MASQ_MARK,
    ]
    for p in ports:
        c = '-m comment --comment "%s' % p.spn
        pp = "-m %s -p %s" % (p.proto, p.proto)
        has_eps = bool(p.cluster_eps or p.local_eps)
        has_internal = bool(p.local_eps) if p.itp_local else has_eps
        has_external = bool(p.local_eps) if p.etp_local else has_eps
        uses_cluster = bool(p.cluster_eps)
        uses_local = bool(p.local_eps)
        external = bool(p.node_port or p.external_ips or p.lb_ips)
        uses_ext = has_eps and external
        uses_fw = bool(p.lb_ips and p.source_ranges)
        internal_chain = p.svl_chain if p.itp_local else p.svc_chain
        ext_policy = p.svl_chain if p.etp_local else p.svc_chain
        int_target = "REJECT" if not has_eps else "DROP"
        ext_target = "REJECT" if not has_eps else "DROP"
        if uses_cluster:
            nat_chains.append(p.svc_chain)
        if uses_local:
            nat_chains.append(p.svl_chain)
        if uses_ext:
            nat_chains.append(p.ext_chain)
        if uses_fw:
            nat_chains.append(p.fw_chain)
        # the cluster IP
        if p.cluster_ip:
            if has_internal:
                nat.append('-A KUBE-SERVICES %s cluster IP" %s -d %s --dport %d -j %s'
                           % (c, pp, p.cluster_ip, p.port, internal_chain))
            else:
                filt.append('-A KUBE-SERVICES %s has no endpoints" %s -d %s --dport %d -j %s'
                            % (c, pp, p.cluster_ip, p.port, int_target))
        # external IPs and load-balancer IPs
        for ip in p.external_ips:
            if has_eps:
                nat.append('-A KUBE-SERVICES %s external IP" %s -d %s --dport %d -j %s'
                           % (c, pp, ip, p.port, p.ext_chain))
            if not has_external:
                filt.append('-A KUBE-EXTERNAL-SERVICES %s has no endpoints" %s -d %s --dport %d -j %s'
                            % (c, pp, ip, p.port, ext_target))
        for ip in p.lb_ips:
            if has_eps:
                nat.append('-A KUBE-SERVICES %s loadbalancer IP" %s -d %s --dport %d -j %s'
                           % (c, pp, ip, p.port, p.fw_chain if uses_fw else p.ext_chain))
            if uses_fw:
                filt.append('-A KUBE-PROXY-FIREWALL %s traffic not accepted by %s" %s -d %s '
                            '--dport %d -j DROP' % (c, p.fw_chain, pp, ip, p.port))
            if not has_external:
                filt.append('-A KUBE-EXTERNAL-SERVICES %s has no endpoints" %s -d %s --dport %d -j %s'
                            % (c, pp, ip, p.port, ext_target))
        # node ports
        if p.node_port:
            if has_eps:
                nat.append('-A KUBE-NODEPORTS %s" %s --dport %d -j %s'
                           % (c, pp, p.node_port, p.ext_chain))
            if not has_external:
                filt.append('-A KUBE-EXTERNAL-SERVICES %s has no endpoints" -m addrtype '
                            '--dst-type LOCAL %s --dport %d -j %s'
                            % (c, pp, p.node_port, ext_target))
        # the external traffic chain
        if uses_ext:
            if not p.etp_local:
                nat.append('-A %s %s external destinations" -j KUBE-MARK-MASQ' % (p.ext_chain, c))
            else:
                if uses_cluster:
                    nat.append('-A %s %s pod traffic" -s %s -j %s'
                               % (p.ext_chain, c, cluster_cidr, p.svc_chain))
                nat.append('-A %s %s masquerade LOCAL traffic" -m addrtype --src-type LOCAL '
                           '-j KUBE-MARK-MASQ' % (p.ext_chain, c))
                if uses_cluster:
                    nat.append('-A %s %s route LOCAL traffic" -m addrtype --src-type LOCAL -j %s'
                               % (p.ext_chain, c, p.svc_chain))
            if has_external:
                nat.append("-A %s -j %s" % (p.ext_chain, ext_policy))
        if uses_fw:
            for r in p.source_ranges:
                nat.append('-A %s %s loadbalancer IP" -s %s -j %s' % (p.fw_chain, c, r, p.ext_chain))
        # policy chains -> endpoint chains
        for chain, eps, used in ((p.svc_chain, p.cluster_eps, uses_cluster),
                                 (p.svl_chain, p.local_eps, uses_local)):
            if not used:
                continue
            if chain == p.svc_chain and p.cluster_ip:
                nat.append('-A %s %s cluster IP" %s -d %s --dport %d ! -s %s -j KUBE-MARK-MASQ'
                           % (chain, c, pp, p.cluster_ip, p.port, cluster_cidr))
            if p.affinity:
                for ep in eps:
                    nat.append('-A %s %s -> %s:%d" -m recent --name %s --mask 255.255.255.255 '
                               '--rsource --rcheck --seconds %d --reap -j %s'
                               % (chain, c, ep[0], ep[1], p.sep(ep), p.affinity_s, p.sep(ep)))
            for i, ep in enumerate(eps):
                prob = (" -m statistic --mode random --probability %0.10f" % (1.0 / (len(eps) - i))
                        if i < len(eps) - 1 else "")
                nat.append('-A %s %s -> %s:%d"%s -j %s' % (chain, c, ep[0], ep[1], prob, p.sep(ep)))
        for ep in sorted(set(p.cluster_eps) | set(p.local_eps)):
            sep = p.sep(ep)
            nat_chains.append(sep)
            nat.append('-A %s %s" -s %s -j KUBE-MARK-MASQ' % (sep, c, ep[0]))
            aff = (" -m recent --name %s --mask 255.255.255.255 --rsource --set" % sep
                   if p.affinity else "")
            nat.append('-A %s %s" %s%s -j DNAT --to-destination %s:%d'
                       % (sep, c, pp, aff, ep[0], ep[1]))
    nat.append('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this '
               'must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS')
    out = ["*filter"] + [":%s - [0:0]" % ch for ch in filt_chains] + filt + ["COMMIT", "*nat"]
    seen = []
    for ch in nat_chains:
        if ch not in seen:
            seen.append(ch)
    out += [":%s - [0:0]" % ch for ch in seen] + nat + ["COMMIT", ""]
    return "\n".join(out)


def conntrack_cmds(old, new):
    """cleanup.go deleteStaleServiceConntrackEntries / deleteStaleEndpointConntrackEntries,
    UDP only (as kube-proxy): flows to a removed endpoint go, and flows to a service IP that
    had no endpoints (they may be stuck on the REJECT)."""
    cmds = []
    newp = {(p.spn, p.proto): p for p in new}
    for p in old:
        if p.proto != "udp":
            continue
        q = newp.get((p.spn, p.proto))
        keep = set(q.cluster_eps) | set(q.local_eps) if q else set()
        for ep in sorted((set(p.cluster_eps) | set(p.local_eps)) - keep):
            for ip in [p.cluster_ip] + p.external_ips + p.lb_ips:
                if ip:
                    cmds.append("-D -p udp --orig-dst %s --orig-port-dst %d --dst-nat %s"
                                % (ip, p.port, ep[0]))
            if p.node_port:
                cmds.append("-D -p udp --orig-port-dst %d --dst-nat %s" % (p.node_port, ep[0]))
    oldp = {(p.spn, p.proto): p for p in old}
    for q in new:
        p = oldp.get((q.spn, q.proto))
        if q.proto == "udp" and (q.cluster_eps or q.local_eps) and not (
                p and (p.cluster_eps or p.local_eps)):
            for ip in [q.cluster_ip] + q.external_ips + q.lb_ips:
                if ip:
                    cmds.append("-D -p udp --orig-dst %s" % ip)
            if q.node_port:
                cmds.append("-D -p udp --orig-port-dst %d" % q.node_port)
    return cmds


def ports_of(dirname, node):
    svcs, slices = load(dirname)
    out = []
    for s in svcs:
        labels = (s.get("metadata") or {}).get("labels") or {}
        if "service.kubernetes.io/service-proxy-name" in labels:
            continue
        if (s.get("spec") or {}).get("type") == "ExternalName":
            continue
        for sp in (s.get("spec") or {}).get("ports") or []:
            out.append(Port(s, sp, slices, node))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("rules", "conntrack"))
    ap.add_argument("--manifests", required=True)
    ap.add_argument("--prev")
    ap.add_argument("--node", required=True)
    ap.add_argument("--cluster-cidr", default="10.244.0.0/16")
    a = ap.parse_args()
    try:
        new = ports_of(a.manifests, a.node)
        if a.what == "rules":
            sys.stdout.write(rules(new, a.cluster_cidr))
        else:
            if not a.prev:
                ap.error("conntrack needs --prev")
            for cmd in conntrack_cmds(ports_of(a.prev, a.node), new):
                print(cmd)
    except (OSError, yaml.YAMLError, KeyError, ValueError, TypeError, AttributeError) as e:
        sys.exit("kprules: %s: %s" % (a.manifests, e))


if __name__ == "__main__":
    main()
