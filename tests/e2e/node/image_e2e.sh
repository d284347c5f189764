#!/usr/bin/env bash
# image_e2e.sh: the image store end to end, through `drover image` and the files it leaves.
#
# scripts/lib/busybox-image.sh builds busybox from busybox-static and imports it (busybox:latest,
# :1.35, :X.Y.Z), and the same layout as a gzip'd OCI archive into a second store gives the same
# digest; an overlay of its layer dirs, mounted in a private mount and network namespace
# (unshare -mn), is chrooted into and runs busybox sh, httpd and wget from it. A `docker save`
# archive written here with tar (the busybox layer, shared, plus a layer with a file and a
# whiteout) imports with one new layer dir, and its overlay shows the file and lacks the
# whited-out one. Bad flags exit 2, bad archives (truncated, wrong diffID, not an image) exit 1
# with one line; rm frees the layers. Needs root (mounts, mknod). Everything is removed on exit.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${DROVER_SOURCE_DIR:-$HERE/../../..}
BIN=${DROVER_BIN:-$SRC/build/userspace/cli}/drover
[ -x "$BIN" ] || { echo "no drover binary at $BIN" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "image_e2e.sh: needs root" >&2; exit 1; }

W=$(mktemp -d /tmp/drover-e2e-image.XXXXXX)
# the mounts live in namespaces that die with their processes; only files remain to remove
trap 'rm -rf "$W"' EXIT
ROOT=$W/store
FAILS=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }
d() { "$BIN" image "$@" --root "$ROOT"; }
nlayers() { find "$ROOT/layers" -mindepth 1 -maxdepth 1 | wc -l; }
# layer dirs of an image, top first, joined by ':' (overlayfs lowerdir order)
lowerdirs() {
	d inspect "$1" | python3 -c 'import json,sys; print(":".join(reversed(json.load(sys.stdin)["layers"])))'
}
# run_in IMAGE SCRIPT: SCRIPT by the image's /bin/sh, chrooted into an overlay of its layers,
# in new mount and network namespaces (lo up); prints what it prints
run_in() {
	local lower m
	lower=$(lowerdirs "$1") || return 1
	m=$(mktemp -d "$W/run.XXXXXX")
	mkdir -p "$m/root" "$m/upper" "$m/work"
	unshare -mn --propagation private sh -c '
		mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" "$2/root" &&
		mount --rbind /dev "$2/root/dev" && ip link set lo up && exec chroot "$2/root" /bin/sh -c "$3"' \
		sh "$lower" "$m" "$2"
}

# ---- busybox from busybox-static ----
out=$("$SRC/scripts/lib/busybox-image.sh" --out "$W/bb" --root "$ROOT" --drover "$BIN" 2>&1)
rc=$?
echo "$out"
if [ $rc = 0 ] && echo "$out" | grep -q '^imported docker.io/library/busybox:latest' &&
	echo "$out" | grep -q '^imported docker.io/library/busybox:1.35 '; then
	ok "busybox-image.sh built and imported busybox:latest and :1.35"
else
	bad "busybox-image.sh (rc $rc)"
fi
ls_out=$(d ls)
echo "$ls_out"
[ "$(echo "$ls_out" | grep -c '^docker.io/library/busybox ')" = 3 ] && ok "ls: three busybox tags" ||
	bad "ls lacks the busybox tags"
insp=$(d inspect busybox)
echo "$insp" | python3 -c '
import json, sys
i = json.load(sys.stdin)
assert i["config"]["Cmd"] == ["sh"], i
assert "docker.io/library/busybox:1.35" in i["names"], i
assert len(i["layers"]) == 1 and i["digest"].startswith("sha256:"), i
' && ok "inspect busybox: Cmd, names, one layer" || bad "inspect busybox: $insp"
[ "$(nlayers)" = 1 ] && ok "one layer dir" || bad "layer dirs: $(nlayers)"

# the same layout as a gzip'd OCI archive, into another store: the same image
tar -C "$W/bb" -czf "$W/bb.tar.gz" .
out=$("$BIN" image import "$W/bb.tar.gz" --root "$W/store2" 2>&1)
echo "$out"
echo "$out" | grep -q "^imported docker.io/library/busybox:latest ($(echo "$insp" | python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])'))" &&
	ok "a gzip'd OCI archive of the layout imports as the same image" || bad "OCI archive import"

# ---- the layers form a working rootfs: busybox sh, httpd and wget from it ----
got=$(run_in busybox:1.35 '
	echo $((6 * 7)); id -un
	mkdir -p /tmp/www && echo served-by-busybox >/tmp/www/index.html
	httpd -f -p 127.0.0.1:8080 -h /tmp/www & pid=$!
	i=0
	until wget -q -O - http://127.0.0.1:8080/index.html 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 200 ] || break; usleep 50000
	done
	kill $pid' 2>&1)
echo "$got"
if [ "$(echo "$got" | sed -n 1p)" = 42 ] && [ "$(echo "$got" | sed -n 2p)" = root ] &&
	echo "$got" | grep -qx served-by-busybox; then
	ok "overlay of busybox's layers runs sh, httpd and wget under chroot"
else
	bad "running busybox from its layers"
fi

# ---- a docker save archive, written by hand ----
ds=$W/docker
mkdir -p "$ds/base" "$ds/top" "$W/toproot/usr/bin"
gunzip -c "$W/bb/blobs/sha256/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]+"/blobs/sha256/"+json.load(open(sys.argv[1]+"/index.json"))["manifests"][0]["digest"][7:]))["layers"][0]["digest"][7:])' "$W/bb")" >"$ds/base/layer.tar"
echo hello-from-docker-save >"$W/toproot/hello.txt"
: >"$W/toproot/usr/bin/.wh.wget"
tar --owner=0 --group=0 --numeric-owner -C "$W/toproot" -cf "$ds/top/layer.tar" hello.txt usr/bin/.wh.wget
d1=$(sha256sum "$ds/base/layer.tar" | cut -d' ' -f1)
d2=$(sha256sum "$ds/top/layer.tar" | cut -d' ' -f1)
printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["cat","/hello.txt"],"WorkingDir":"/tmp","ExposedPorts":{"8080/tcp":{}}},"rootfs":{"type":"layers","diff_ids":["sha256:%s","sha256:%s"]}}' \
	"$d1" "$d2" >"$ds/config.json"
cfg=$(sha256sum "$ds/config.json" | cut -d' ' -f1)
mv "$ds/config.json" "$ds/$cfg.json"
printf '[{"Config":"%s.json","RepoTags":["localhost/hello:v1"],"Layers":["base/layer.tar","top/layer.tar"]}]' \
	"$cfg" >"$ds/manifest.json"
tar -C "$ds" -cf "$W/hello.tar" .
out=$(d import "$W/hello.tar" --tag hello:extra 2>&1)
echo "$out"
echo "$out" | grep -q '^imported localhost/hello:v1 ' && echo "$out" | grep -q '^imported docker.io/library/hello:extra ' &&
	ok "docker save archive imported with its RepoTags and --tag" || bad "docker save import"
[ "$(nlayers)" = 2 ] && ok "the busybox layer is shared: two layer dirs" || bad "layer dirs: $(nlayers)"
d inspect localhost/hello:v1 | python3 -c '
import json, sys
i = json.load(sys.stdin)
assert i["config"]["Cmd"] == ["cat", "/hello.txt"] and i["config"]["WorkingDir"] == "/tmp", i
assert i["config"]["ExposedPorts"] == {"8080/tcp": {}} and len(i["layers"]) == 2, i
' && ok "inspect hello: config and two layers" || bad "inspect hello"
got=$(run_in localhost/hello:v1 'cat /hello.txt; [ -e /usr/bin/wget ] && echo wget-present || echo wget-gone; ls /usr/bin/nc' 2>&1)
echo "$got"
[ "$got" = "hello-from-docker-save
wget-gone
/usr/bin/nc" ] && ok "hello's overlay: its file, wget whited out, busybox below" || bad "hello's overlay"

# ---- bad flags: exit 2 and one line ----
expect() { # expect RC NEEDLE CMD...: exit code RC, exactly one line on stderr holding NEEDLE
	local want=$1 needle=$2 err rc
	shift 2
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ $rc = "$want" ] && [ "$(echo "$err" | wc -l)" = 1 ] && echo "$err" | grep -q -- "$needle"; then
		ok "exit $want: $* -> $err"
	else
		bad "want exit $want with '$needle': $* -> rc $rc: $err"
	fi
}
expect 2 "unknown flag --bogus" "$BIN" image ls --bogus --root "$ROOT"
expect 2 "unknown flag --tag " "$BIN" image ls --tag x:1 --root "$ROOT"
expect 2 "needs a value" "$BIN" image import "$W/hello.tar" --root "$ROOT" --tag
expect 2 "needs exactly one argument" "$BIN" image import --root "$ROOT"
expect 2 "unknown subcommand" "$BIN" image pull busybox
expect 2 "missing subcommand" "$BIN" image

# ---- bad archives: exit 1 and one line; nothing added ----
before=$(d ls)
head -c 20000 "$W/hello.tar" >"$W/trunc.tar"
expect 1 "truncated or corrupt" "$BIN" image import "$W/trunc.tar" --root "$ROOT"
cp -r "$ds" "$W/baddiff"
printf 'X' | dd of="$W/baddiff/top/layer.tar" bs=1 seek=600 conv=notrunc status=none
tar -C "$W/baddiff" -cf "$W/baddiff.tar" .
expect 1 "diffID mismatch" "$BIN" image import "$W/baddiff.tar" --root "$ROOT"
mkdir -p "$W/notimage" && echo hi >"$W/notimage/README"
tar -C "$W/notimage" -cf "$W/notimage.tar" .
expect 1 "not an image" "$BIN" image import "$W/notimage.tar" --root "$ROOT"
expect 1 "No such file" "$BIN" image import "$W/nonexistent.tar" --root "$ROOT"
expect 1 "not found" "$BIN" image inspect nosuch:1 --root "$ROOT"
expect 1 "must be lowercase" "$BIN" image inspect NoSuch --root "$ROOT"
[ "$(d ls)" = "$before" ] && [ "$(nlayers)" = 2 ] && [ -z "$(ls -A "$ROOT/tmp")" ] &&
	ok "failed imports left the store as it was" || bad "failed imports changed the store"

# ---- rm frees what no image uses ----
d rm localhost/hello:v1 hello:extra >/dev/null && [ "$(nlayers)" = 1 ] &&
	ok "rm hello: its own layer freed, busybox's kept" || bad "rm hello: layer dirs $(nlayers)"
d rm busybox busybox:1.35 >/dev/null
[ "$(nlayers)" = 1 ] && ok "busybox kept while a name is left" || bad "busybox layer freed too early"
bbdigest=$(echo "$insp" | python3 -c 'import json,sys; print(json.load(sys.stdin)["digest"])')
d rm "$bbdigest" >/dev/null
d inspect "$bbdigest" >/dev/null 2>&1 && bad "busybox still resolves by digest"
[ "$(nlayers)" = 0 ] && [ "$(d ls | wc -l)" = 1 ] && ok "rm by digest: store empty" ||
	bad "store not empty: $(nlayers) layers"

echo "image_e2e: $FAILS failure(s)"
[ "$FAILS" = 0 ]
