#!/usr/bin/env bash
# Makes the host ready for drover's BPF programs: bpffs mounted at /sys/fs/bpf and the
# cgroup v2 tree reachable (/sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on a
# hybrid one). Idempotent; changes nothing that is already in place.
set -euo pipefail
if ! mountpoint -q /sys/fs/bpf; then
	mount -t bpf bpf /sys/fs/bpf
fi
if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] && ! mountpoint -q /sys/fs/cgroup/unified; then
	mkdir -p /sys/fs/cgroup/unified
	mount -t cgroup2 none /sys/fs/cgroup/unified
fi
