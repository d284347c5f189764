#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""update_gen: the inputs of bench/proxy/update.sh, one service set in two shapes.

  update_gen.py --services S --out DIR

genrules.py's S ClusterIP services (Service + EndpointSlice, one flow-style document each),
and an edit: the EndpointSlice of the service in the middle (fill/svc-<S/2>) with its third
endpoint replaced, as version b of a (a is the original). DIR gets

  one/all.yaml          every service in one file (genrules' manifests/svcs.yaml, 2*S docs)
  one-edit/a.yaml, b.yaml   that file with the edited slice as version a / b
  per/svc-NNNNNN.yaml   one file per service (its Service and its EndpointSlice)
  per-edit/a.yaml, b.yaml   the edited service's file as version a / b
  target                the edited service's file name in per/

Standard library only.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import genrules  # noqa: E402

EDITED_IP = "10.250.0.1"


def text(svcs):
    out = []
    for svc in svcs:
        for d in genrules.manifest_docs(svc):
            out.append("---\n" + d + "\n")
    return "".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    svcs = genrules.service_set(a.services, "last")
    k = len(svcs) // 2
    ns, name, vip, eps = svcs[k]
    edited = (ns, name, vip, eps[:2] + [EDITED_IP])
    for d in ("one", "one-edit", "per", "per-edit"):
        os.makedirs(os.path.join(a.out, d), exist_ok=True)
    before, after = text(svcs[:k]), text(svcs[k + 1:])
    with open(os.path.join(a.out, "one", "all.yaml"), "w") as f:
        f.write(before + text([svcs[k]]) + after)
    for v, svc in (("a", svcs[k]), ("b", edited)):
        with open(os.path.join(a.out, "one-edit", v + ".yaml"), "w") as f:
            f.write(before + text([svc]) + after)
        with open(os.path.join(a.out, "per-edit", v + ".yaml"), "w") as f:
            f.write(text([svc]))
    for i, svc in enumerate(svcs):
        with open(os.path.join(a.out, "per", "svc-%06d.yaml" % i), "w") as f:
            f.write(text([svc]))
    with open(os.path.join(a.out, "target"), "w") as f:
        f.write("svc-%06d.yaml\n" % k)


if __name__ == "__main__":
    main()
