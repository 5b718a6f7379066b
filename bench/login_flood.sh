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
bin=$(cd "${1:-build/bin}" && pwd)
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aloft-flood.XXXXXX")
trap 'kill $(jobs -pr) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT

"$bin/aloft" image make --chip esp32 --project bench --version 1.0.0 --size 300000 -o "$tmp/v1.bin" >/dev/null
"$bin/aloft" image make --chip esp32 --project bench --version 2.0.0 --size 1000000 --seed 2 \
    -o "$tmp/v2.bin" >/dev/null
"$bin/aloft-sim" --flash "$tmp/clean.flash" --init --scheme default --firmware "$tmp/v1.bin" >/dev/null
"$bin/aloft-sim" --flash "$tmp/clean.flash" --run-for 0 >/dev/null

# sim ARGS...: a fresh device on a free port (sets port, sim_pid)
sim() {
    [ -n "${sim_pid:-}" ] && { kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; }
    cp "$tmp/clean.flash" "$tmp/dev.flash"
    for _ in $(seq 20); do
        port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        "$bin/aloft-sim" --flash "$tmp/dev.flash" --port "$port" --password pw --confirm-after 0 \
            "$@" >"$tmp/sim.log" 2>&1 &
        sim_pid=$!
        for _ in $(seq 250); do
            grep -q "native on TCP" "$tmp/sim.log" && return 0
            kill -0 "$sim_pid" 2>/dev/null || break
            sleep 0.02
        done
    done
    echo "aloft-sim did not start" >&2
    exit 1
}

parts=${BENCH_PARTS:-table upload cpu}
case " $parts " in *" table "*)
printf '%-8s %-7s %9s %8s %10s %12s\n' protocol auth addresses checked refused checked/min
for row in "native - 1" "native - 50" "espota pbkdf2 1" "espota pbkdf2 50" "espota md5 50"; do
    set -- $row
    if [ "$2" = md5 ]; then sim --espota-auth md5; else sim; fi
    python3 "$here/login_flood.py" --port "$port" --protocol "$1" --addresses "$3" \
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
    "$bin/aloft" upload --json --auth pw "127.0.0.1:$port" "$tmp/v2.bin" >"$tmp/up.json" 2>/dev/null || true
    python3 -c 'import json, sys; o = json.load(open(sys.argv[1]))
print(o["seconds"] if o["ok"] else "failed: " + o["error"]["message"])' "$tmp/up.json"
}
median() { sort -n | sed -n 2p; }
# The uploading host logged in once before (as a host that uses the device
# does): a flood does not hold it back (a host never seen waits; see the
# guarantees).
known_sim() { sim; "$bin/aloft" info --auth pw "127.0.0.1:$port" >/dev/null; }
case " $parts " in *" upload "*)
alone=$(for _ in 1 2 3; do known_sim; upload; done | median)
flooded=$(for _ in 1 2 3; do
    known_sim
    python3 "$here/login_flood.py" --port "$port" --protocol espota --addresses 50 --seconds 30 \
        >/dev/null 2>"$tmp/flood.err" &
    flood=$!
    for _ in $(seq 250); do grep -q flooding "$tmp/flood.err" && break; sleep 0.02; done
    sleep 2   # let the flood settle in before the upload starts
    upload
    kill "$flood" 2>/dev/null || true
    wait "$flood" 2>/dev/null || true
done | median)
echo
python3 -c 'import sys; a, f = map(float, sys.argv[1:])
print("1 MB native upload: %.2f s alone, %.2f s during a 50-address espota flood (%+.0f %%)"
      % (a, f, (f - a) * 100 / a))' "$alone" "$flooded"
esac

# The device's own CPU time (utime + stime of aloft-sim) over 20 s of a
# 50-address espota PBKDF2 flood: the work the flood forces on it.
case " $parts " in *" cpu "*)
known_sim
python3 "$here/login_flood.py" --port "$port" --protocol espota --addresses 50 --seconds 30 \
    >/dev/null 2>"$tmp/flood.err" &
flood=$!
for _ in $(seq 250); do grep -q flooding "$tmp/flood.err" && break; sleep 0.02; done
ticks() { awk '{print $14 + $15}' "/proc/$sim_pid/stat"; }
t0=$(ticks)
sleep 20
t1=$(ticks)
kill "$flood" 2>/dev/null || true
wait "$flood" 2>/dev/null || true
python3 -c 'import sys; t = (int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[3])
print("device CPU during 20 s of a 50-address espota flood: %.2f s (%.0f %% of one core)" % (t, t * 5))' \
    "$t0" "$t1" "$(getconf CLK_TCK)"
esac
