#!/usr/bin/env bash
# Runs every native Go fuzz target of eventreg with -fuzz, one after another,
# each for SECONDS (default 30):
#
#   scripts/fuzz.sh         # 30 s each, for a look before a release
#   scripts/fuzz.sh 600     # ten minutes each, overnight
#   scripts/fuzz.sh 5       # what CI runs
#
# `go test ./...` runs the same targets on their seed corpora only (the f.Add
# calls and testdata/fuzz/FuzzXxx/). An input that fails is written to
# PKG/testdata/fuzz/FuzzXxx/ by go test; commit it with the fix, so that it
# stays a regression test. FUZZ_PARALLEL sets the number of fuzzing workers
# (default: GOMAXPROCS).
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-30}
if [[ ! "$secs" =~ ^[1-9][0-9]*$ ]]; then
	echo "usage: scripts/fuzz.sh [SECONDS]" >&2
	exit 2
fi
parallel=()
[[ -n "${FUZZ_PARALLEL:-}" ]] && parallel=(-parallel "$FUZZ_PARALLEL")

failed=()
n=0
for pkg in ./registration ./mail ./api; do
	targets=$(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true)
	for target in $targets; do
		n=$((n + 1))
		printf '== %s %s (%ss)\n' "$pkg" "$target" "$secs"
		corpus="$pkg/testdata/fuzz/$target"
		before=$(ls "$corpus" 2>/dev/null | wc -l)
		if ! go test "$pkg" -run "^${target}\$" -fuzz "^${target}\$" -fuzztime "${secs}s" "${parallel[@]}"; then
			if (($(ls "$corpus" 2>/dev/null | wc -l) > before)); then
				failed+=("$pkg $target: a failing input")
				continue
			fi
			# No input written: the fuzzing engine itself gave up (on a
			# loaded machine it can miss its own deadline). Once more.
			echo "-- $target stopped without a failing input; running it again" >&2
			if ! go test "$pkg" -run "^${target}\$" -fuzz "^${target}\$" -fuzztime "${secs}s" "${parallel[@]}"; then
				failed+=("$pkg $target")
			fi
		fi
	done
done
if ((n == 0)); then
	echo "no fuzz targets found" >&2
	exit 1
fi
if ((${#failed[@]})); then
	printf 'FAILED: %s\n' "${failed[@]}" >&2
	echo "failing inputs, if any, are under the packages' testdata/fuzz/" >&2
	exit 1
fi
echo "all $n fuzz targets ran ${secs}s each without a failure"
