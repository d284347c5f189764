#!/usr/bin/env bash
# drover-cni under podman as a real runtime: podman 4's CNI backend (network_backend = "cni")
# runs drover-cni, the only plugin in its plugin dir, from conflists of this test's own (one
# cniVersion 1.0.0, one 0.4.0, each its own pod CIDR), and
#   - two `podman run -d` busybox containers, one per network (the image of
#     scripts/lib/busybox-image.sh, `podman load`ed into a storage of the test's own), get
#     addresses in drover-cni's pod CIDRs: the same in `podman inspect` (address, prefix,
#     gateway, mac), in the container (ip addr, eth0's mac, the cluster CIDR route) and in
#     drover-cni's IPAM state; their host veths (found by eth0's iflink) are drover-cni's and
#     registered in drv_ep1;
#   - one reaches the other (busybox nc against busybox httpd; ping back);
#   - `podman rm -f` runs CNI DEL: the address is released, the host veth and the endpoint
#     entry are gone, and podman's network namespace too; the other container keeps its own.
# The workarounds of machine-facts.md section 4 are confined to the test: a containers.conf
# and storage.conf of its own (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF: ulimits, cgroupfs,
# the CNI backend with plugin and config dirs under the work dir, storage under the work dir);
# every podman command runs in a node network namespace of the test's own (so the host veths
# land there) and in one private mount namespace, held by a process of the test's, with
# hugetlb mounted as v1 (crun refuses hybrid cgroups while hugetlb is on v2) and tmpfs on
# /var/lib and /var/tmp (podman's blob-info cache, libcni's result cache and temporary files
# go there whatever the configuration says); crun keeps its state under the work dir (--root).
# drover proxy runs in the node namespace with a pin root of the test's own
# (scripts/lib/topo.sh), which the conflists name as drover.pinRoot. Everything (containers,
# processes by PID and by cgroup, namespaces, pins, podman's storage) is removed on exit, also
# on failure. Skipped (exit 0, as the other e2e tests) without root or podman.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (rootful podman, network namespaces, bpffs)"; exit 0; }
for b in podman crun conmon; do
	command -v "$b" >/dev/null || { echo "SKIP: $b is not installed (scripts/deps.sh installs podman crun conmon)"; exit 0; }
done
# shellcheck source=../../../scripts/lib/topo.sh
source "$here/../../../scripts/lib/topo.sh"

TAG=pcn$$
topo_init "$TAG"
CNI=${DROVER_CNI:-$(dirname "$DROVER")/drover-cni}
[ -x "$CNI" ] || { echo "FAIL: $CNI not built" >&2; exit 1; }
WORK=$(mktemp -d /tmp/drvpcn.XXXXXX)
NODE=$(topo_ns node)
PIN=$TOPO_PIN_ROOT
CG=drvpcn-$$ # podman's cgroup parent
HOLDER=''    # the process holding the private mount namespace podman runs in
IMG_PID=''   # busybox-image.sh, run while the proxy starts
# two podman (CNI) networks, both drover-cni, one per container: a 1.0.0 conflist with pod
# CIDR 10.244.9.0/24 and a 0.4.0 one with 10.244.10.0/24 (libcni converts its result)
A=a-$$
B=b-$$
declare -A NET=([$A]=drvpcn$$ [$B]=drvpco$$) SUB=([$A]=10.244.9 [$B]=10.244.10)
declare -A VER=([$A]=1.0.0 [$B]=0.4.0)
had_varlib_cni=$([ -e /var/lib/cni ] && echo 1 || echo 0)
had_varlib_containers=$([ -e /var/lib/containers ] && echo 1 || echo 0)

export CONTAINERS_CONF=$WORK/containers.conf
export CONTAINERS_STORAGE_CONF=$WORK/storage.conf
export TMPDIR=$WORK/tmp

fail() {
	echo "FAIL: $*" >&2
	[ -s "$WORK/err" ] && sed 's/^/  podman: /' "$WORK/err" >&2
	exit 1
}
pass() { echo "ok: [${SECONDS}s] $*"; }

# pm ARGS...: podman in the node namespace and the held mount namespace; stderr to $WORK/err
pm() {
	nsenter --mount="/proc/$HOLDER/ns/mnt" --net="/run/netns/$NODE" podman --runtime-flag "root=$WORK/crun" "$@" 2>"$WORK/err"
}

# every process in podman's cgroup parent (containers, conmon), in every hierarchy; then the dirs
kill_cgroup() {
	local h
	for h in /sys/fs/cgroup /sys/fs/cgroup/*/; do
		[ -d "$h/$CG" ] || continue
		find "$h/$CG" -name cgroup.procs -exec cat {} + 2>/dev/null |
			while read -r p; do kill -KILL "$p" 2>/dev/null; done
	done
	return 0
}
rm_cgroup() {
	local h
	for h in /sys/fs/cgroup /sys/fs/cgroup/*/; do
		[ -d "$h/$CG" ] && find "$h/$CG" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	return 0
}

cleanup() {
	local f
	set +e
	trap - EXIT
	if [ -n "$HOLDER" ] && kill -0 "$HOLDER" 2>/dev/null && [ -e "$WORK/storage.conf" ]; then
		pm rm -f -t 0 -a >/dev/null
	fi
	[ -n "$IMG_PID" ] && kill "$IMG_PID" 2>/dev/null && wait "$IMG_PID" 2>/dev/null
	kill_cgroup # conmon and anything podman rm could not stop
	if [ -n "$HOLDER" ]; then
		kill -KILL "$HOLDER" 2>/dev/null
		wait "$HOLDER" 2>/dev/null
	fi
	# podman's network namespaces of this test's containers, if podman rm did not remove them
	# (the nsfs mounts on them were in the held mount namespace, gone with it)
	while read -r f; do
		case "$f" in /run/netns/?*) umount -l "$f" 2>/dev/null; rm -f "$f" ;; esac
	done < <(cat "$WORK/netns" 2>/dev/null)
	for _ in 1 2 3 4 5; do
		rm_cgroup
		[ -n "$(find /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/"$CG" -maxdepth 0 2>/dev/null)" ] || break
		sleep 0.2
	done
	grep -F "$WORK" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		while read -r m; do umount -l "$m"; done
	TOPO_EXTRA_CLEANUP="rm -rf '$WORK'"
	topo_cleanup
}
trap cleanup EXIT

# ---- the node namespace, drover proxy with the test's pin root, the image
topo_node
mkdir -p "$WORK/m" "$WORK/tmp" "$WORK/cni-bin" "$WORK/net.d" "$WORK/hugetlb"
"$here/../../../scripts/lib/busybox-image.sh" --out "$WORK/bb" --no-import >"$WORK/image.log" 2>&1 &
IMG_PID=$!
topo_proxy --manifests "$WORK/m" --node node1 --no-socket-lb
[ -e "$PIN/drv_ep1" ] || fail "drover proxy pinned no drv_ep1 under $PIN"
wait "$IMG_PID" || { IMG_PID=''; cat "$WORK/image.log" >&2; fail "busybox image"; }
IMG_PID=''
tar -C "$WORK/bb" -cf "$WORK/bb.tar" .

# ---- podman's configuration, all under $WORK
ln -s "$CNI" "$WORK/cni-bin/drover-cni"
cat >"$CONTAINERS_CONF" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[network]
network_backend = "cni"
cni_plugin_dirs = ["$WORK/cni-bin"]
network_config_dir = "$WORK/net.d"
default_network = "${NET[$A]}"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$WORK/events.log"
tmp_dir = "$WORK/libpod-tmp"
image_copy_tmp_dir = "$WORK/tmp"
volume_path = "$WORK/volumes"
static_dir = "$WORK/static"
runtime = "crun"
CONF
cat >"$CONTAINERS_STORAGE_CONF" <<CONF
[storage]
driver = "overlay"
runroot = "$WORK/run"
graphroot = "$WORK/root"
CONF
for c in "$A" "$B"; do
	cat >"$WORK/net.d/${NET[$c]}.conflist" <<CONF
{"cniVersion": "${VER[$c]}", "name": "${NET[$c]}", "plugins": [
 {"type": "drover-cni", "clusterCIDR": "10.244.0.0/16",
  "ipam": {"type": "drover", "subnet": "${SUB[$c]}.0/24", "dataDir": "$WORK/ipam"},
  "drover": {"pinRoot": "$PIN"}}]}
CONF
done
state() { tail -n +2 "$WORK/ipam/${NET[$1]}/state" 2>/dev/null || true; } # state C: C's network's

# the private mount namespace with tmpfs on /var/lib and /var/tmp, held until cleanup; on a
# hybrid host whose cgroup v2 holds hugetlb (this machine) also hugetlb mounted as v1 there
hugetlb=''
[ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] &&
	grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null && hugetlb=$WORK/hugetlb
unshare -m --propagation private sh -c '{ [ -z "$0" ] || mount -t cgroup -o hugetlb cgroup "$0"; } &&
	mount -t tmpfs -o mode=0755 drvpcn /var/lib && mount -t tmpfs -o mode=1777 drvpcn /var/tmp &&
	exec sleep 3600' "$hugetlb" &
HOLDER=$!
held() { grep -q " /var/tmp .* drvpcn " "/proc/$HOLDER/mountinfo" 2>/dev/null; }
for _ in $(seq 1 200); do
	held && break
	kill -0 "$HOLDER" 2>/dev/null ||
		fail "could not mount ${hugetlb:+hugetlb (v1), }/var/lib and /var/tmp in a private mount namespace"
	sleep 0.05
done
held || fail "the private mount namespace is not ready"

pm load -q -i "$WORK/bb.tar" >"$WORK/load.log" || fail "podman load"
IMG=$(sed -n 's/^Loaded image[^:]*: *//p' "$WORK/load.log" | head -1)
IMG=${IMG%%,*}
[ -n "$IMG" ] || fail "podman load named no image: $(cat "$WORK/load.log")"
pm network inspect "${NET[$A]}" "${NET[$B]}" >/dev/null || fail "podman does not see ${NET[$A]} and ${NET[$B]}"
pass "podman $(podman --version | awk '{print $3}') loaded $IMG and sees networks ${NET[$A]} and ${NET[$B]} (drover-cni)"

# ---- two containers, each on its network
declare -A IP HOST ID
# run NAME CMD...: podman run -d on NAME's network, then one podman inspect: the container's
# id, network namespace (recorded for the cleanup), and its address, prefix, gateway and mac
run() {
	local name=$1
	shift
	pm run -d --pull never --name "$name" --network "${NET[$name]}" --cgroup-parent "/$CG" "$IMG" "$@" \
		>/dev/null || fail "podman run $name"
	pm inspect --format "{{.Id}}|{{.NetworkSettings.SandboxKey}}|{{with index .NetworkSettings.Networks \"${NET[$name]}\"}}{{.IPAddress}}|{{.IPPrefixLen}}|{{.Gateway}}|{{.MacAddress}}{{end}}" \
		"$name" >"$WORK/$name.inspect" || fail "podman inspect $name"
	cut -d'|' -f2 "$WORK/$name.inspect" >>"$WORK/netns"
}
run "$A" sh -c "echo pod-a-$$ >/tmp/index.html && exec httpd -f -p 8080 -h /tmp"
run "$B" sleep 3600

for c in "$A" "$B"; do
	IFS='|' read -r id _ ip plen gw mac <"$WORK/$c.inspect"
	ID[$c]=$id
	sub=${SUB[$c]}
	case "$ip" in "$sub".*) ;; *) fail "podman inspect: $c has address '$ip', not in $sub.0/24" ;; esac
	[ "$plen" = 24 ] && [ "$gw" = "$sub.1" ] || fail "podman inspect: $c has /$plen via '$gw', want /24 via $sub.1"
	# what the container itself has: eth0's address, mac and peer index, its routes
	inside=$(pm exec "$c" sh -c 'ip -4 -o addr show dev eth0; cat /sys/class/net/eth0/address /sys/class/net/eth0/iflink; ip route') ||
		fail "podman exec $c"
	grep -q "eth0 *inet $ip/24 " <<<"$inside" || fail "in $c eth0 has not $ip/24: $inside"
	grep -qx "$mac" <<<"$inside" || fail "$c: eth0's mac is not podman's $mac: $inside"
	grep -q "^10.244.0.0/16 via $sub.1 " <<<"$inside" || fail "$c: no route to the cluster CIDR: $inside"
	# its host side, by eth0's peer index, in the node namespace
	ifx=$(sed -n 3p <<<"$inside")
	HOST[$c]=$(ip -n "$NODE" -o link show 2>/dev/null | awk -F': ' -v i="$ifx" '$1 == i {sub(/@.*/, "", $2); print $2}')
	case "${HOST[$c]}" in drv*) ;; *) fail "$c: eth0's peer (ifindex $ifx) in $NODE is '${HOST[$c]}', not drover-cni's" ;; esac
	state "$c" | grep -qx "$ip $id eth0" || fail "drover-cni's IPAM state lacks '$ip $id eth0': $(state "$c")"
	IP[$c]=$ip
done
pass "$A ${IP[$A]} (${VER[$A]}, host ${HOST[$A]}), $B ${IP[$B]} (${VER[$B]}, host ${HOST[$B]}): podman inspect, ip addr in the container and drover-cni's IPAM state agree"

eps=$(drover_bpf endpoints)
for c in "$A" "$B"; do
	grep -Eq "^${IP[$c]} +[0-9]+ +${HOST[$c]} " <<<"$eps" || fail "drv_ep1 lacks ${IP[$c]} on ${HOST[$c]}: $eps"
done
grep -qx "2 endpoints" <<<"$eps" || fail "drv_ep1: $eps"
pass "drover-cni registered both in drv_ep1 under $PIN"

# ---- one reaches the other: busybox nc from b against httpd in a (nc, not wget: the image's
# static busybox wget crashes in glibc's resolver setup)
body=''
end=$((SECONDS + 30))
while [ $SECONDS -lt $end ]; do
	body=$(pm exec "$B" sh -c "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${IP[$A]} 8080") &&
		[ "${body##*$'\n'}" = "pod-a-$$" ] && break
	sleep 0.1
done
[ "${body##*$'\n'}" = "pod-a-$$" ] || fail "GET http://${IP[$A]}:8080/ from $B got: $body"
pm exec "$A" ping -c 1 -W 5 "${IP[$B]}" >/dev/null || fail "ping from $A to ${IP[$B]}"
pass "$B fetched http://${IP[$A]}:8080/ from $A ('${body##*$'\n'}'); $A pings $B"

# ---- podman rm -f: CNI DEL releases the address, the veth and the endpoint
gone() { # gone C: everything drover-cni made for C is gone
	local c=$1
	state "$c" | grep -q " ${ID[$c]} " && fail "after podman rm $c its address stays in the IPAM state: $(state "$c")"
	ip -n "$NODE" link show dev "${HOST[$c]}" >/dev/null 2>&1 && fail "after podman rm $c ${HOST[$c]} stays"
	drover_bpf endpoints | grep -Eq "^${IP[$c]} " && fail "after podman rm $c drv_ep1 keeps ${IP[$c]}"
	return 0
}
NS_A=$(sed -n 1p "$WORK/netns")
pm rm -f -t 0 "$A" >/dev/null || fail "podman rm -f $A"
gone "$A"
state "$B" | grep -qx "${IP[$B]} ${ID[$B]} eth0" || fail "podman rm $A lost $B's address: $(state "$B")"
[ -e "$NS_A" ] && fail "podman rm $A left its netns $NS_A"
grep -qx "1 endpoints" <<<"$(drover_bpf endpoints)" || fail "drv_ep1 after rm $A: $(drover_bpf endpoints)"
pass "podman rm -f $A: ${IP[$A]} released, ${HOST[$A]} and its drv_ep1 entry gone, $B untouched"
pm rm -f -t 0 "$B" >/dev/null || fail "podman rm -f $B"
gone "$B"
[ -z "$(state "$A")$(state "$B")" ] || fail "addresses left in the IPAM state: $(state "$A") $(state "$B")"
[ -z "$(ip -n "$NODE" -o link show 2>/dev/null | grep ': drv')" ] || fail "host veths left in $NODE"
grep -qx "0 endpoints" <<<"$(drover_bpf endpoints)" || fail "drv_ep1 after rm $B: $(drover_bpf endpoints)"
pass "podman rm -f $B: nothing of drover-cni's left"

# the host's /var/lib saw nothing of podman's (the held namespace had a tmpfs there)
[ "$had_varlib_cni" = 1 ] || [ ! -e /var/lib/cni ] || fail "podman wrote /var/lib/cni"
[ "$had_varlib_containers" = 1 ] || [ ! -e /var/lib/containers ] || fail "podman wrote /var/lib/containers"
