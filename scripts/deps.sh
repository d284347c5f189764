#!/usr/bin/env bash
# Installs every Debian package drover's build, tests and benchmarks need.
# Idempotent: packages already present are skipped by apt; safe to run twice.
set -euo pipefail

PKGS=(
	# build
	build-essential cmake pkg-config clang llvm libclang-rt-14-dev
	libbpf-dev bpftool libelf-dev zlib1g-dev
	libfyaml-dev libmicrohttpd-dev liburing-dev libgnutls28-dev libcurl4-gnutls-dev
	libcmocka-dev libarchive-dev
	# tests: namespaces, traffic, inspection
	iproute2 iputils-ping ethtool curl python3 procps util-linux openssl jq
	# the kube-proxy comparison suite (tests/e2e/proxy/kpcompare.sh): kube-proxy's conntrack
	# clean-up, manifests read by its rule generator (iptables: with the benchmarks' below)
	conntrack python3-yaml
	# container rootfs for the runtime tests and the busybox image (static: no libraries)
	busybox-static
	# benchmarks and baselines
	iptables nftables ipvsadm wrk etcd-server
	# telemetry: promtool checks /metrics, a Prometheus server scrapes it and answers PromQL
	# (tests/e2e/telemetry)
	prometheus
	# CNI: the reference plugins (host-local for delegation tests, bridge + host-local as the
	# cni bench baseline)
	containernetworking-plugins
	# the telemetry bench's sidecar baseline (bench/telemetry: HAProxy 2.6 as an L7 sidecar)
	haproxy
	# the podstart bench baseline (podman run over crun, bench/podstart)
	podman crun conmon
	# the gRPC probe's test server (tests/unit/agent/grpc_health_server.js: Node.js's http2)
	nodejs
)

# kubectl is no Debian package of a usable version (bookworm's kubernetes-client is 1.20): the
# kubectl suite and the demo's API part use the one the machine brings (1.31-1.33).
check_kubectl() {
	command -v kubectl >/dev/null 2>&1 ||
		echo "deps.sh: kubectl not found: install kubectl 1.31-1.33 (the e2e_kubectl tests" \
			"and the demo's API server part need it)" >&2
}

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: must run as root (apt-get)" >&2
	exit 1
fi

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps.sh: all ${#PKGS[@]} packages present"
	check_kubectl
	exit 0
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
# etcd-server's package starts a system etcd on 2379; the store benchmark runs its
# own member, so keep the packaged service from holding the port.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
	systemctl stop etcd || true
	systemctl disable etcd >/dev/null 2>&1 || true
fi

check_kubectl
