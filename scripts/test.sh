#!/usr/bin/env bash
# Installs dependencies, builds drover, and runs every test:
#   1. normal build (-Werror): every ctest label (unit, bpf, fuzz replay, e2e)
#   2. ASan+UBSan build with clang: unit, bpf and libFuzzer smoke runs again
# Usage: scripts/test.sh [--skip-deps] [--no-asan] [-R regex]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

skip_deps=0 asan=1 filter=()
while [ $# -gt 0 ]; do
	case "$1" in
	--skip-deps) skip_deps=1 ;;
	--no-asan) asan=0 ;;
	-R) filter=(-R "$2"); shift ;;
	*) echo "test.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

[ $skip_deps -eq 1 ] || scripts/deps.sh
scripts/prepare-host.sh

jobs=$(nproc)
step() { printf '\n=== %s ===\n' "$*"; }

step "build (gcc, -Werror)"
cmake -S . -B build -DDROVER_WERROR=ON >/dev/null
cmake --build build -j "$jobs"

step "tests: every label"
ctest --test-dir build --output-on-failure --timeout 900 "${filter[@]}"

if [ $asan -eq 1 ]; then
	step "build (clang, ASan+UBSan, libFuzzer)"
	CC=clang cmake -S . -B build-asan -DDROVER_WERROR=ON -DDROVER_SANITIZE=ON -DDROVER_FUZZ=ON >/dev/null
	cmake --build build-asan -j "$jobs"
	step "tests under ASan+UBSan: unit, bpf, fuzz"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir build-asan --output-on-failure -L 'unit|bpf|fuzz' "${filter[@]}"
fi
step "all tests passed"
