# shellcheck shell=bash
# apiserver.sh: `drover server` on a free port of 127.0.0.1 for the demo, the e2e tests and
# the benchmarks, and the harness of the kubectl e2e scripts. Source it, then:
#
#   api_server_start BIN DATA_DIR LOG [SERVER FLAGS...]
#                           start it and wait for DATA_DIR/kubeconfig; sets API_PID, API_URL
#                           (https://127.0.0.1:PORT, http:// with --insecure-loopback) and
#                           API_PORT. On failure it prints the server's log and returns 1 (the
#                           caller stops API_PID).
#
# The e2e scripts that drive the server with kubectl (tests/e2e/kubectl, tests/e2e/controllers):
#
#   e2e_begin NAME          WORK (a temporary directory) with HOME in it, PIDS, and the
#                           functions below; on exit every PID in PIDS is stopped and waited
#                           for and WORK removed, also when a check failed or the script died.
#                           They are defined by this call, not by sourcing: the demo, the
#                           benchmarks and tests/e2e/sim source this file and keep their own.
#   e2e_server_start BIN [SERVER FLAGS...]
#                           api_server_start in WORK/data, its PID in PIDS; KUBECONFIG
#                           exported, S its URL; exits 1 if it did not start
#   run NAME CMD...         a check: CMD's output in $OUT, its exit code in $RC
#   ok NAME CMD...          run; the check fails unless CMD succeeded
#   bad NAME CMD...         run; the check fails unless CMD failed
#   has TEXT, lacks TEXT    the check fails unless $OUT has / lacks the fixed string TEXT
#   matches ERE             the check fails unless a line of $OUT matches ERE
#   fail MESSAGE            the check failed: counted, printed with $OUT
#   k ARGS...               the kubectl under test, $K, with $K_FLAGS (if set) before ARGS
#   e2e_end                 prints the count; returns 1 if a check failed

# kubectl_of VERSION: the path of that kubectl (1.32 is the dispatcher on PATH, the others
# kubectl.V beside its target), or exit 1 with one line.
kubectl_of() {
	local dispatch k
	dispatch=$(command -v kubectl)
	if [ "$1" = 1.32 ]; then k=$dispatch; else k=$(dirname "$(readlink -f "$dispatch")")/kubectl.$1; fi
	[ -x "$k" ] || { echo "no kubectl $1 at $k" >&2; exit 1; }
	echo "$k"
}

api_server_start() {
	local bin=$1 dir=$2 log=$3
	shift 3
	API_PORT='' API_URL=''
	"$bin" server --data-dir "$dir" --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
	API_PID=$!
	# a first start makes its CA and certificates: allow a loaded machine 20 s
	for _ in $(seq 400); do
		[ -s "$dir/kubeconfig" ] && break
		kill -0 "$API_PID" 2>/dev/null || break
		sleep 0.05
	done
	[ -s "$dir/kubeconfig" ] &&
		API_URL=$(sed -n 's|.*server: \(https\{0,1\}://127\.0\.0\.1:[0-9]*\)$|\1|p' "$dir/kubeconfig")
	if [ -z "$API_URL" ]; then
		cat "$log" >&2
		echo "drover server did not start (log above)" >&2
		return 1
	fi
	# shellcheck disable=SC2034 # for the caller
	API_PORT=${API_URL##*:}
}

# shellcheck disable=SC2317 # the functions defined in it are called by the scripts
e2e_begin() {
	E2E_NAME=$1
	WORK=$(mktemp -d "/tmp/drover-e2e-$E2E_NAME.XXXXXX")
	PIDS=()
	FAILS=0 CHECKS=0 CHECK='' RC=0
	OUT=$WORK/out
	export HOME=$WORK/home
	mkdir -p "$HOME"
	trap e2e_cleanup EXIT

	e2e_cleanup() {
		local p
		for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
		for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
		rm -rf "$WORK"
	}
	e2e_server_start() {
		local rc=0
		api_server_start "$1" "$WORK/data" "$WORK/server.log" "${@:2}" || rc=$?
		PIDS+=("$API_PID")
		[ $rc -eq 0 ] || exit 1
		export KUBECONFIG=$WORK/data/kubeconfig
		# shellcheck disable=SC2034 # for the caller
		S=$API_URL
	}
	fail() {
		FAILS=$((FAILS + 1))
		echo "FAIL [$E2E_NAME] $CHECK: $*" >&2
		sed 's/^/    | /' "$OUT" >&2
	}
	run() {
		CHECK=$1
		shift
		CHECKS=$((CHECKS + 1))
		"$@" >"$OUT" 2>&1
		RC=$?
	}
	ok() { run "$@"; [ $RC -eq 0 ] || fail "exit code $RC"; }
	bad() { run "$@"; [ $RC -ne 0 ] || fail "succeeded, expected a failure"; }
	has() { grep -qF -- "$1" "$OUT" || fail "output lacks: $1"; }
	lacks() { ! grep -qF -- "$1" "$OUT" || fail "output has: $1"; }
	matches() { grep -qE -- "$1" "$OUT" || fail "no line matches: $1"; }
	k() { "$K" "${K_FLAGS[@]}" "$@"; }
	e2e_end() {
		echo "[$E2E_NAME] $CHECKS checks, $FAILS failed"
		[ "$FAILS" -eq 0 ]
	}
}
