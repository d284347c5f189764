#!/usr/bin/env bash
# cli.sh: the control plane's commands refuse bad input with exit code 2 (flags) or 1 (what
# they were pointed at) and one line on stderr naming the command and what was wrong; no
# server is needed for any of it.
. "$(dirname "$0")/common.sh"

# expect CODE PATTERN cmd...: exits with CODE and stderr is one line matching PATTERN
expect() {
	local code=$1 pat=$2; shift 2
	local err rc
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" -eq "$code" ] && [ "$(printf '%s\n' "$err" | grep -c .)" -le 1 ] &&
		printf '%s\n' "$err" | grep -qE -- "$pat" ||
		{ echo "  got exit $rc: $err"; return 1; }
}

check "scheduler --bind-workers x" expect 2 '^drover scheduler: --bind-workers: a whole number' \
	"$BIN" scheduler --bind-workers x
check "controller-manager --node-grace 0" expect 2 '^drover controller-manager: --node-grace' \
	"$BIN" controller-manager --node-grace 0
check "controller-manager --workers 5x" expect 2 '^drover controller-manager: --workers' \
	"$BIN" controller-manager --workers 5x
check "controller-manager --log-level loud" expect 2 'unknown log level loud' \
	"$BIN" controller-manager --log-level loud
check "controller-manager --leader-elect=maybe" expect 2 \
	'^drover controller-manager: --leader-elect: want true or false, got "maybe"' \
	"$BIN" controller-manager --leader-elect=maybe
check "scheduler --leader-elect-renew-deadline 20s (past the lease)" expect 2 \
	'^drover scheduler: --leader-elect-renew-deadline must be shorter than --leader-elect-lease-duration' \
	"$BIN" scheduler --leader-elect-renew-deadline 20s
check "controller-manager --leader-elect-retry-period soon" expect 2 \
	'^drover controller-manager: --leader-elect-retry-period: want a duration' \
	"$BIN" controller-manager --leader-elect-retry-period soon
check "scheduler with no such kubeconfig" expect 1 '^drover scheduler: kubeconfig .*/nope' \
	"$BIN" scheduler --kubeconfig "$WORK/nope"
printf 'apiVersion: v1\nkind: Config\nclusters: [\n' >"$WORK/broken"
check "controller-manager with a malformed kubeconfig" expect 1 '^drover controller-manager: ' \
	"$BIN" controller-manager --kubeconfig "$WORK/broken"
check "server --disable-admission-plugins Nope" expect 2 \
	'^drover server: --disable-admission-plugins: unknown plugin Nope' \
	"$BIN" server --data-dir "$WORK/d" --disable-admission-plugins Nope
check "server with ServiceAccount enabled and disabled" expect 2 \
	'^drover server: ServiceAccount in enable-admission-plugins and disable-admission-plugins overlapped' \
	"$BIN" server --data-dir "$WORK/d" --enable-admission-plugins ServiceAccount \
	--disable-admission-plugins ServiceAccount
check "sim --nodes -3" expect 2 '^drover sim: ' "$BIN" sim --nodes -3
check "sim with no nodes asked" expect 2 '^drover sim: |^usage: ' "$BIN" sim
check "controller-manager --controllers job,nosuch" expect 2 \
	'^drover controller-manager: --controllers: unknown controller "nosuch"' \
	"$BIN" controller-manager --controllers job,nosuch
check "server --node-grace 10s" expect 2 '^drover server: --node-grace' \
	"$BIN" server --data-dir "$WORK/d" --insecure-loopback --listen 127.0.0.1:0 --node-grace 10s
check "server --controllers nosuch" expect 2 '^drover server: --controllers: unknown controller "nosuch"' \
	"$BIN" server --data-dir "$WORK/d" --insecure-loopback --listen 127.0.0.1:0 --controllers nosuch
finish
