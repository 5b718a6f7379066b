#!/usr/bin/env bash
# make stress: the whole CTest suite of BUILD many times in a row, to find
# flaky tests. RUNS runs (default 10) with `ctest -j JOBS` (default 8), then
# LOADED runs (default 3) the same while CPU hogs (one busy shell loop per
# core, at the tests' own priority) keep every core busy. Each run prints
# its pass/fail count and the tests that failed; their output is kept in
# BUILD/stress/. Exit status 1 if any run had a failure.
#
# Usage: tools/stress.sh BUILD [RUNS] [LOADED]   (STRESS_JOBS sets JOBS)
set -uo pipefail
build=$(cd "${1:?usage: stress.sh BUILD [RUNS] [LOADED]}" && pwd) || exit 2
runs=${2:-10}
loaded=${3:-3}
jobs=${STRESS_JOBS:-8}
cores=$(nproc 2>/dev/null || echo 2)
out=$build/stress
mkdir -p "$out"
rm -f "$out"/run-*.log

hogs=()
stop_hogs() {
    local p
    for p in "${hogs[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${hogs[@]}"; do wait "$p" 2>/dev/null || true; done
    hogs=()
}
trap stop_hogs EXIT
trap 'exit 130' INT TERM
start_hogs() {
    local i
    for ((i = 0; i < cores; i++)); do
        sh -c 'while :; do :; done' &
        hogs+=($!)
    done
}

bad_runs=0 total_failed=0
declare -A flaky=()
# one_run N LABEL: ctest once; prints "run N (LABEL): P/T passed[, S skipped]
# [, failed: ...]"
one_run() {
    local n=$1 label=$2 log="$out/run-$1.log" rc=0 summary failed t nskip skip=""
    (cd "$build" && ctest -j "$jobs" --output-on-failure) >"$log" 2>&1 || rc=$?
    summary=$(sed -n 's/^[0-9]*% tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\)$/\1 \2/p' "$log")
    if [ -z "$summary" ]; then
        echo "run $n ($label): ctest exited $rc without a summary (see $log)"
        bad_runs=$((bad_runs + 1))
        return
    fi
    read -r nfail ntotal <<<"$summary"
    failed=$(awk '/^The following tests/ { f = /FAILED/; next }
                  f && $2 == "-" { printf "%s ", $3 }' "$log")
    nskip=$(grep -c '(Skipped)$' "$log" || true)
    [ "$nskip" = 0 ] || skip=", $nskip skipped"
    if [ "$nfail" = 0 ] && [ "$rc" = 0 ]; then
        echo "run $n ($label): $((ntotal - nskip))/$ntotal passed$skip"
        rm -f "$log"
    else
        echo "run $n ($label): $((ntotal - nfail - nskip))/$ntotal passed$skip, failed: ${failed:-?} (see $log)"
        bad_runs=$((bad_runs + 1))
        total_failed=$((total_failed + nfail))
        for t in $failed; do flaky[$t]=$(( ${flaky[$t]:-0} + 1 )); done
    fi
}

echo "stress: $runs runs of ctest -j $jobs, then $loaded with $cores CPU hogs ($build)"
t0=$SECONDS
for ((r = 1; r <= runs; r++)); do one_run "$r" "-j $jobs"; done
for ((r = 1; r <= loaded; r++)); do
    start_hogs
    one_run $((runs + r)) "-j $jobs, $cores CPU hogs"
    stop_hogs
done
echo "stress: $((runs + loaded)) runs in $((SECONDS - t0)) s, $bad_runs with failures," \
     "$total_failed test failures"
for t in "${!flaky[@]}"; do echo "  $t failed in ${flaky[$t]} run(s)"; done
[ "$bad_runs" = 0 ]
