#!/usr/bin/env bash
# bench/login_flood.sh — password guesses a simulated device lets through,
# and what a login flood costs a legitimate upload.
#
#   bash bench/login_flood.sh [BIN_DIR] [SECONDS]   (default build/bin, 60)
#
# One aloft-sim (--password, no flash timing) per row; bench/login_flood.py
# floods it with wrong passwords for SECONDS from 1 and from 50 source
# addresses (127.0.0.2 ...), native and espota (PBKDF2, and MD5 from 50
# addresses). "checked/min" is the number that matters: guesses the device
# looked at and rejected, per minute. Then a 1 MB native upload from a
# host that logged in before, alone and during a 50-address espota PBKDF2
# flood (median of 3 each): the work a flood forces on the device shows up
# as a slower upload (and so does the flooding client's own CPU on the same
# machine); then the device's own CPU time during such a flood. Point BIN_DIR at
# an older build to compare (docs/PROTOCOL.md "Login and connection
# guarantees" quotes a run of both). BENCH_PARTS picks parts ("table
# upload cpu", the default, all three).
set -euo pipefail
bin_dir=$(cd "${1:-build/bin}" && pwd)
seconds=${2:-60}
bench_dir=$(cd "$(dirname "$0")" && pwd)
export ALOFT_BIN=$bin_dir
# The tests' helpers: a temp dir and every process cleaned up at exit,
# start_sim (a free port, waiting for the device to serve), wait_for.
source "$bench_dir/../tests/integration/espota_sim_lib.sh"

"$aloft" image make --chip esp32 --project bench --version 1.0.0 --size 300000 -o "$tmp/v1.bin" >/dev/null
"$aloft" image make --chip esp32 --project bench --version 2.0.0 --size 1000000 --seed 2 \
    -o "$tmp/v2.bin" >/dev/null
"$sim_bin" --flash "$tmp/clean.flash" --init --scheme default --firmware "$tmp/v1.bin" >/dev/null
"$sim_bin" --flash "$tmp/clean.flash" --run-for 0 >/dev/null

# sim ARGS...: a fresh device with password pw (sets port, sim_pid)
sim() {
    stop_sim
    cp "$tmp/clean.flash" "$tmp/dev.flash"
    start_sim "$tmp/dev.flash" "$tmp/sim.log" --password pw --confirm-after 0 "$@"
    port=$sim_port
}

# flood SECONDS: a 50-address espota PBKDF2 flood in the background (sets
# flood), returned once the device refuses logins (its limits are in force)
flood() {
    python3 "$bench_dir/login_flood.py" --port "$port" --protocol espota --addresses 50 \
        --seconds "$1" >/dev/null 2>"$tmp/flood.err" &
    flood=$!
    wait_for "$tmp/flood.err" "login_flood: refused" 30 ||
        { cat "$tmp/flood.err" >&2; echo "the flood was never refused" >&2; exit 1; }
}

parts=${BENCH_PARTS:-table upload cpu}
case " $parts " in *" table "*)
printf '%-8s %-7s %9s %8s %10s %12s\n' protocol auth addresses checked refused checked/min
for row in "native - 1" "native - 50" "espota pbkdf2 1" "espota pbkdf2 50" "espota md5 50"; do
    set -- $row
    if [ "$2" = md5 ]; then sim --espota-auth md5; else sim; fi
    python3 "$bench_dir/login_flood.py" --port "$port" --protocol "$1" --addresses "$3" \
        --seconds "$seconds" --json >"$tmp/r.json" 2>/dev/null
    python3 - "$tmp/r.json" "$1" "$2" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
print("%-8s %-7s %9d %8d %10d %12.1f" % (sys.argv[2], sys.argv[3], o["addresses"], o["checked"],
                                          o["refused"], o["checked_per_minute"]))
PY
done
esac

# upload: the seconds of one native upload of v2 (then the device reboots
# into it), or the error
upload() {
    "$aloft" upload --json --auth pw "127.0.0.1:$port" "$tmp/v2.bin" >"$tmp/up.json" 2>/dev/null || true
    python3 -c 'import json, sys; o = json.load(open(sys.argv[1]))
print(o["seconds"] if o["ok"] else "failed: " + o["error"]["message"])' "$tmp/up.json"
}
median() { sort -n | sed -n 2p; }
# The uploading host logged in once before (as a host that uses the device
# does): a flood does not hold it back (a host never seen waits; see the
# guarantees).
known_sim() { sim; "$aloft" info --auth pw "127.0.0.1:$port" >/dev/null; }
case " $parts " in *" upload "*)
alone=$(for _ in 1 2 3; do known_sim; upload; done | median)
flooded=$(for _ in 1 2 3; do
    known_sim
    flood 30
    upload
    kill "$flood" 2>/dev/null || true
    wait "$flood" 2>/dev/null || true
done | median)
echo
python3 -c 'import sys; a, f = map(float, sys.argv[1:])
print("1 MB native upload: %.2f s alone, %.2f s during a 50-address espota flood (%+.0f %%)"
      % (a, f, (f - a) * 100 / a))' "$alone" "$flooded"
esac

# The device's own CPU time (utime + stime of aloft-sim) over the last 20 s
# of a 50-address espota PBKDF2 flood (it ends by itself): the work the
# flood forces on the device.
case " $parts " in *" cpu "*)
known_sim
ticks() { awk '{print $14 + $15}' "/proc/$sim_pid/stat"; }
flood 20
t0=$(ticks) start=$(now_ms)
wait "$flood" || true
t1=$(ticks) ms=$(( $(now_ms) - start ))
python3 -c 'import sys; t = (int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[3]); s = int(sys.argv[4]) / 1000
print("device CPU during %.1f s of a 50-address espota flood: %.2f s (%.0f %% of one core)" % (s, t, t * 100 / s))' \
    "$t0" "$t1" "$(getconf CLK_TCK)" "$ms"
esac
