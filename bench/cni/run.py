"""Times CNI ADD and DEL of drover-cni and of bridge + host-local, interleaved, one fresh
network namespace per run (made and removed outside the timed part). Runs inside the node
namespace; prints the raw samples (ms) as JSON."""
import argparse, json, os, subprocess, time

ap = argparse.ArgumentParser()
ap.add_argument("--runs", type=int, required=True)
ap.add_argument("--prefix", required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--drover-dir", required=True)
ap.add_argument("--ref-dir", required=True)
a = ap.parse_args()

WARMUP = 2
confs = {
    "drover-cni": (os.path.join(a.drover_dir, "drover-cni"), a.drover_dir, {
        "cniVersion": "1.0.0", "name": "benchdrv", "type": "drover-cni",
        "ipam": {"type": "drover", "subnet": "10.60.0.0/16", "dataDir": a.work + "/drv"},
        "clusterCIDR": "10.60.0.0/16"}),
    "bridge+host-local": (os.path.join(a.ref_dir, "bridge"), a.ref_dir, {
        "cniVersion": "1.0.0", "name": "benchref", "type": "bridge", "bridge": "drvbr0",
        "isGateway": True, "ipMasq": False,
        "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.61.0.0/16"}]],
                 "dataDir": a.work + "/hl"}}),
}


def run(binary, path, conf, cmd, cid, ns):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CNI_COMMAND": cmd,
           "CNI_CONTAINERID": cid, "CNI_NETNS": "/run/netns/" + ns, "CNI_IFNAME": "eth0",
           "CNI_PATH": path}
    data = json.dumps(conf).encode()
    t0 = time.perf_counter()
    p = subprocess.run([binary], input=data, env=env, capture_output=True)
    dt = (time.perf_counter() - t0) * 1000
    if p.returncode:
        raise SystemExit("%s %s failed: %s %s" % (binary, cmd, p.stdout.decode(), p.stderr.decode()))
    return dt


samples = {k: {"ADD": [], "DEL": []} for k in confs}
true_ms = []
for i in range(a.runs + WARMUP):
    for k, (binary, path, conf) in confs.items():
        ns = "%s%s-%d" % (a.prefix, "d" if k == "drover-cni" else "r", i)
        subprocess.run(["ip", "netns", "add", ns], check=True)
        try:
            add = run(binary, path, conf, "ADD", "bench%d" % i, ns)
            dele = run(binary, path, conf, "DEL", "bench%d" % i, ns)
        finally:
            subprocess.run(["ip", "netns", "del", ns], check=True)
        if i >= WARMUP:
            samples[k]["ADD"].append(add)
            samples[k]["DEL"].append(dele)
    t0 = time.perf_counter()
    subprocess.run(["/bin/true"])
    if i >= WARMUP:
        true_ms.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"runs": a.runs, "warmup": WARMUP, "samples": samples, "spawn_true_ms": true_ms,
                  "configs": {k: v[2] for k, v in confs.items()}}))
