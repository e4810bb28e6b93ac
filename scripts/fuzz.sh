#!/usr/bin/env bash
# Runs every fuzz target of the workspace (each `func FuzzXxx(f *testing.F)` in
# a _test.go file) for DURATION each, one after another.
#
#   scripts/fuzz.sh [DURATION]     # default 5s (what `make fuzz-short` runs); e.g. 10m for a long run
#   scripts/fuzz.sh 1m codec       # only the targets whose "package-dir target" line matches
#   scripts/fuzz.sh --list         # print the targets as "package-dir target"
#
# A failing input is written to <package>/testdata/fuzz/<target>/ and the
# script stops with that target's failure; commit the input as a regression
# seed once fixed. FUZZ_MINIMIZE bounds minimising a new input (default 2s:
# large seeds such as generated world specs otherwise take a minute each).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-5s}
only=${2:-}
targets() {
	git ls-files -- '*_test.go' | xargs grep -H -o '^func Fuzz[A-Za-z0-9_]*(f \*testing\.F)' |
		sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*#\1 \2#' | sort | grep -E -- "$only"
}
if [[ $duration == --list ]]; then
	targets
	exit 0
fi

start=$SECONDS
n=0
while read -r dir name; do
	echo "== $dir $name ($duration)"
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$duration" -fuzzminimizetime "${FUZZ_MINIMIZE:-2s}" "./$dir" 2>&1 |
		grep -vE '^fuzz: elapsed: .*(gathering baseline|testing seed corpus)' || { echo "FAIL: $dir $name"; exit 1; }
	n=$((n + 1))
done < <(targets)
echo "fuzzed $n targets for $duration each in $((SECONDS - start))s"
