"""The machine's state while the benchmark runs: fork+exec of /bin/true and of `unshare -fpmnui
/bin/true` (new pid, mount, net, uts, ipc namespaces), 20 each, as JSON samples (ms).
machine-facts.md has them at 3.6 ms and 9.8 ms on an idle machine."""
import json, subprocess, time


def spawn(argv, n=20):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(argv, check=True)
        out.append((time.perf_counter() - t) * 1e3)
    return out


print(json.dumps({"true": spawn(["/bin/true"]),
                  "unshare": spawn(["unshare", "-fpmnui", "/bin/true"])}))
