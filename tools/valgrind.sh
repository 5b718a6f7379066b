#!/usr/bin/env bash
# make valgrind: the unit tests and the integration tests once more, every
# aloft and aloft-sim process under valgrind (memcheck: invalid accesses,
# uninitialised reads, leaks). Any valgrind error fails the run; a test
# that exits 77 (it cannot run here, or not under valgrind) is counted and
# named as skipped.
set -euo pipefail
build=${1:?usage: valgrind.sh BUILD_DIR}
build=$(cd "$build" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
wrap=$build/valgrind-bin
log=$build/valgrind-logs
mkdir -p "$wrap" "$log"
vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --track-fds=no)

# Wrappers with the real programs' names, so the scripts run them unchanged.
for prog in aloft aloft-sim; do
    cat > "$wrap/$prog" <<WRAP
#!/bin/sh
exec ${vg[*]} --log-file=$log/$prog.%p.log "$build/bin/$prog" "\$@"
WRAP
    chmod +x "$wrap/$prog"
done

export ALOFT_FIXTURES=${ALOFT_FIXTURES:-$top/../shared/fixtures/firmware}
status=0 skipped=0
# check NAME CMD...: run one test, its output into $log/NAME.out
check() {
    local name=$1 rc=0
    shift
    "$@" >"$log/$name.out" 2>&1 || rc=$?
    if [ "$rc" = 77 ]; then
        echo "valgrind: $name skipped: $(grep -m1 '^SKIP' "$log/$name.out")"; skipped=$((skipped + 1))
    elif [ "$rc" != 0 ]; then
        echo "valgrind: $name FAILED (see $log/$name.out)"; status=1
    fi
}
for t in "$build"/tests/test_*; do
    check "$(basename "$t")" "${vg[@]}" "$t"
done
for t in "$top"/tests/integration/test_*.sh; do
    ALOFT_BIN=$wrap check "$(basename "$t")" bash "$t"
done
# Processes killed on purpose (power cuts, tests stopping a device) leave
# partial logs; only reported errors count.
if grep -l "ERROR SUMMARY: [1-9]\|Invalid \|uninitialised" "$log"/*.log 2>/dev/null; then
    echo "valgrind: errors reported in the logs above"; status=1
fi
n_unit=$(ls "$build"/tests/test_* | wc -l)
n_int=$(ls "$top"/tests/integration/test_*.sh | wc -l)
echo "valgrind: $n_unit unit programs, $n_int integration scripts ($skipped skipped), status $status"
exit $status
