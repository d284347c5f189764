# shellcheck shell=bash
# apiserver.sh: `drover server` on a free port of 127.0.0.1 for the demo, the kubectl suite and
# the API benchmark. Source it, then:
#
#   api_server_start BIN DATA_DIR LOG [SERVER FLAGS...]
#                                       start it (TLS) and wait for DATA_DIR/kubeconfig;
#                                       sets API_PID and API_PORT. On failure it prints the
#                                       server's log and returns 1 (the caller stops API_PID).

api_server_start() {
	local bin=$1 dir=$2 log=$3
	shift 3
	API_PORT=
	"$bin" server --data-dir "$dir" --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
	API_PID=$!
	# a first start makes its CA and certificates: allow a loaded machine 20 s
	for _ in $(seq 400); do
		[ -s "$dir/kubeconfig" ] && break
		kill -0 "$API_PID" 2>/dev/null || break
		sleep 0.05
	done
	[ -s "$dir/kubeconfig" ] &&
		API_PORT=$(sed -n 's|.*server: https://127.0.0.1:\([0-9]*\)$|\1|p' "$dir/kubeconfig")
	if [ -z "$API_PORT" ]; then
		cat "$log" >&2
		echo "drover server did not start (log above)" >&2
		return 1
	fi
}
