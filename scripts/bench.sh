#!/usr/bin/env bash
# Benchmarks: scripts/bench.sh <name> [--quick] [options], name one of bench/*/bench.sh
# (proxy, store, sched, sim, api, cni, podstart), or <dir>-<part> for a benchmark of its own
# beside one of them, bench/<dir>/<part>.sh (proxy-update: bench/proxy/update.sh).
# Each one measures drover and its baseline in the same run and writes JSON, a Markdown
# table and SVG plots to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then
	echo "usage: scripts/bench.sh <benchmark> [--quick]" >&2
	ls bench/*/bench.sh 2>/dev/null | sed 's|bench/\(.*\)/bench.sh|  \1|' >&2
	echo "  proxy-update" >&2
	exit 2
fi
name=$1; shift
if [ -x "bench/$name/bench.sh" ]; then
	exec "bench/$name/bench.sh" "$@"
fi
if [[ $name == *-* ]] && [ -x "bench/${name%%-*}/${name#*-}.sh" ]; then
	exec "bench/${name%%-*}/${name#*-}.sh" "$@"
fi
echo "bench.sh: no benchmark named '$name'" >&2
exit 2
