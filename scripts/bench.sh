#!/usr/bin/env bash
# Benchmarks: scripts/bench.sh <name> [--quick] [options], name one of bench/*/bench.sh
# (proxy, store, sched, sim, api, cni, podstart).
# Each one measures drover and its baseline in the same run and writes JSON, a Markdown
# table and SVG plots to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then
	echo "usage: scripts/bench.sh <benchmark> [--quick]" >&2
	ls bench/*/bench.sh 2>/dev/null | sed 's|bench/\(.*\)/bench.sh|  \1|' >&2
	exit 2
fi
name=$1; shift
if [ ! -x "bench/$name/bench.sh" ]; then
	echo "bench.sh: no benchmark named '$name'" >&2
	exit 2
fi
exec "bench/$name/bench.sh" "$@"
