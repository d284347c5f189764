"""machine: the facts about this machine and tree that every benchmark report states
(standard library only)."""
import os
import platform
import subprocess


def sh(cmd):
    """A shell command's stdout, stripped; "" when it cannot run."""
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def machine_facts(top="."):
    """Kernel, cores, CPU, memory, load average now, the drover commit of TOP (and whether its
    code differs from it) and the date."""
    return {
        "kernel": platform.release(), "cores": os.cpu_count(),
        "cpu": sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip(),
        "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
        "drover_commit": sh("git -C '%s' rev-parse --short HEAD" % top),
        "drover_tree_dirty": bool(sh("git -C '%s' status --porcelain -- bpf userspace bench "
                                     "':!bench/results'" % top)),
        "date": sh("date -u +%Y-%m-%dT%H:%M:%SZ"),
    }
