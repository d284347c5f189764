#!/usr/bin/env bash
# busybox-image.sh: the busybox image of demos and tests, built from Debian's busybox-static
# (no registry is reachable) as an OCI image layout, then imported into drover's image store.
#
#   scripts/lib/busybox-image.sh [--out DIR] [--root DIR] [--drover BIN] [--no-import]
#
# One gzip layer: /bin/busybox, a symlink per applet at the path `busybox --list-full` names
# (/bin/sh, /usr/sbin/httpd, /usr/bin/nc, /usr/bin/wget, ...), minimal /etc/passwd and
# /etc/group, /root, /tmp (1777), and /dev, /proc, /sys for a runtime to mount on.
# Reproducible: fixed mtimes, numeric owners, sorted names, so the same busybox always gives
# the same digests. Names: busybox:latest, busybox:X.Y
# (the Kubernetes docs' busybox:1.35 on bookworm) and busybox:X.Y.Z, X.Y.Z being the
# installed busybox's version.
set -euo pipefail

out="" root="" drover="${DROVER_BIN:+$DROVER_BIN/drover}" import=1
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out="$2"; shift 2 ;;
	--root) root="$2"; shift 2 ;;
	--drover) drover="$2"; shift 2 ;;
	--no-import) import=0; shift ;;
	-h | --help) sed -n '2,13p' "$0"; exit 0 ;;
	*) echo "busybox-image.sh: unknown flag $1" >&2; exit 2 ;;
	esac
done

bb=/bin/busybox
if ! [ -x "$bb" ] || ! "$bb" --list-full >/dev/null 2>&1; then
	echo "busybox-image.sh: $bb missing: install busybox-static (scripts/deps.sh)" >&2
	exit 1
fi
if ! file -L "$bb" 2>/dev/null | grep -q 'statically linked' && ldd "$bb" >/dev/null 2>&1; then
	echo "busybox-image.sh: $bb is not static: install busybox-static, not busybox" >&2
	exit 1
fi
version=$("$bb" 2>&1 | sed -n '1s/^BusyBox v\([0-9]*\.[0-9]*\.[0-9]*\).*/\1/p')
case "$version" in
[0-9]*.[0-9]*.[0-9]*) ;;
*) echo "busybox-image.sh: cannot read $bb's version" >&2; exit 1 ;;
esac
minor=${version%.*}

case "$(uname -m)" in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*) arch=$(uname -m) ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$out" ]; then
	[ "$import" = 1 ] || { echo "busybox-image.sh: --no-import needs --out DIR" >&2; exit 2; }
	out="$work/layout"
fi

# the root filesystem
fs="$work/rootfs"
mkdir -p "$fs"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/www,dev,proc,sys}
install -m 0755 "$bb" "$fs/bin/busybox"
# the applet links in one process (a mkdir and an ln per applet, ~400 of each, took seconds)
"$bb" --list-full | python3 -c '
import os, sys
fs = sys.argv[1]
for p in sys.stdin.read().split():
    if p == "bin/busybox":
        continue
    os.makedirs(os.path.join(fs, os.path.dirname(p)), exist_ok=True)
    if os.path.lexists(os.path.join(fs, p)):
        os.remove(os.path.join(fs, p))
    os.symlink("/bin/busybox", os.path.join(fs, p))
' "$fs"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
	>"$fs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$fs/etc/group"
chmod 0644 "$fs/etc/passwd" "$fs/etc/group"
chmod 0700 "$fs/root"
chmod 1777 "$fs/tmp"

sha() { sha256sum "$1" | cut -d' ' -f1; }
blob() { # file -> blobs/sha256/<digest>; prints the digest hex
	local h
	h=$(sha "$1")
	mv "$1" "$out/blobs/sha256/$h"
	echo "$h"
}

rm -rf "$out"
mkdir -p "$out/blobs/sha256"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$fs" -cf "$work/layer.tar" .
diff_id=$(sha "$work/layer.tar")
gzip -n -9 "$work/layer.tar"
layer_size=$(stat -c %s "$work/layer.tar.gz")
layer=$(blob "$work/layer.tar.gz")

cat >"$work/config.json" <<EOF
{"architecture":"$arch","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]},"history":[{"created_by":"scripts/lib/busybox-image.sh: Debian busybox-static $version"}]}
EOF
config_size=$(stat -c %s "$work/config.json")
config=$(blob "$work/config.json")

cat >"$work/manifest.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$config","size":$config_size},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:$layer","size":$layer_size}]}
EOF
manifest_size=$(stat -c %s "$work/manifest.json")
manifest=$(blob "$work/manifest.json")

cat >"$out/index.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$manifest","size":$manifest_size,"annotations":{"io.containerd.image.name":"docker.io/library/busybox:latest","org.opencontainers.image.ref.name":"latest"},"platform":{"architecture":"$arch","os":"linux"}}]}
EOF
echo '{"imageLayoutVersion":"1.0.0"}' >"$out/oci-layout"
echo "busybox-image.sh: OCI layout of busybox $version (sha256:$manifest) in $out"

[ "$import" = 1 ] || exit 0
if [ -z "$drover" ]; then
	drover=$(command -v drover || true)
fi
if [ -z "$drover" ] || ! [ -x "$drover" ]; then
	echo "busybox-image.sh: no drover binary (--drover BIN or DROVER_BIN)" >&2
	exit 1
fi
"$drover" image import "$out" --tag "busybox:$minor" --tag "busybox:$version" \
	${root:+--root "$root"}
