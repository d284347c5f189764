"""podman + crun side of the pod start benchmark: for each round, N `podman run -d` of the same
busybox image (CNI bridge + host-local network, the same cpu/memory limits as the drover pods)
spawned at once; per container, the time from its spawn to `podman run -d`'s exit, which
returns once crun has started the container (checked: every container is "running" in
`podman ps` afterwards). Between rounds the containers are removed (untimed). Runs with the
benchmark's own containers.conf/storage.conf (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF in the
environment) inside the node namespace and a private mount namespace with hugetlb mounted as
v1 (bench.sh). Prints the raw samples as JSON on stdout, progress on stderr."""
import argparse, json, os, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--plan", required=True)
ap.add_argument("--image", required=True)
ap.add_argument("--network", required=True)
ap.add_argument("--cgroup-parent", required=True)
ap.add_argument("--netns-log", required=True)  # the containers' netns paths, for bench.sh's cleanup
a = ap.parse_args()


def log(msg):
    print("podstart: " + msg, file=sys.stderr, flush=True)


def podman(*args, check=True):
    p = subprocess.run(["podman", *args], capture_output=True, text=True)
    if check and p.returncode:
        raise SystemExit("podman %s: %s" % (" ".join(args), p.stderr.strip()))
    return p.stdout


def remove_all():
    podman("rm", "-f", "-t", "0", "-a")


plan = [(int(n), int(r)) for n, r in (x.split(":") for x in a.plan.split(","))]
out = {"plan": plan, "rounds": [], "podman": podman("--version").strip(),
       "runtime": subprocess.run(["crun", "--version"], capture_output=True,
                                 text=True).stdout.splitlines()[0]}
# one untimed warm-up (first run builds the network's bridge, caches)
podman("run", "-d", "--pull", "never", "--name", "warmup", "--network", a.network, "--cgroup-parent", a.cgroup_parent,
       a.image, "true")
remove_all()
for n, rounds in plan:
    for rd in range(rounds):
        names = ["pm-%d-%d-%d" % (n, rd, i) for i in range(n)]
        procs = []
        for x in names:
            t = time.monotonic()
            p = subprocess.Popen(["podman", "run", "-d", "--pull", "never", "--name", x, "--network", a.network,
                                  "--cgroup-parent", a.cgroup_parent, "--memory", "64m",
                                  "--cpus", "0.1", a.image, "sleep", "3600"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            procs.append((x, t, p))
        t0 = procs[0][1]
        res = {"n": n, "round": rd, "pods": {}}
        # os.wait: each exit stamped as it happens, whatever the order
        by_pid = {p.pid: (x, t, p) for x, t, p in procs}
        while by_pid:
            pid, status = os.wait()
            done = time.monotonic()
            if pid not in by_pid:
                continue
            x, t, p = by_pid.pop(pid)
            p.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
            err = p.stderr.read().decode().strip()
            p.stderr.close()
            if p.returncode:
                # counted, not timed: podman under load has been seen to fail a run
                res.setdefault("failed", []).append("%s: %s" % (x, err))
                continue
            res["pods"][x] = {"spawn_ms": (t - t0) * 1e3, "running_ms": (done - t) * 1e3}
        with open(a.netns_log, "a") as f:
            f.write(podman("inspect", "--format", "{{.NetworkSettings.SandboxKey}}", *names))
        running = set(podman("ps", "--filter", "status=running", "--format", "{{.Names}}").split())
        if res.get("failed"):
            log("podman+crun %d containers: %d runs failed, first: %s"
                % (n, len(res["failed"]), res["failed"][0]))
            if not res["pods"]:
                raise SystemExit("every podman run failed")
        if not set(res["pods"]) <= running:
            raise SystemExit("not running after podman run -d: %s" % sorted(set(res["pods"]) - running)[:5])
        out["rounds"].append(res)
        r = sorted(v["running_ms"] for v in res["pods"].values())
        log("podman+crun %3d containers, round %d/%d: run -d -> running p50 %.1f ms, max %.1f ms"
            % (n, rd + 1, rounds, r[len(r) // 2], r[-1]))
        remove_all()
print(json.dumps(out))
