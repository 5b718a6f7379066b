#!/usr/bin/env bash
# bench/espota_bench.sh — espota upload speed: aloft's windowed transfer
# against espota.py's stop-and-wait (`aloft upload --stop-and-wait`: 1 KiB,
# then wait for the device's ack), on one simulated ESP32, in one run.
#
#   bash bench/espota_bench.sh [BIN_DIR]        (default build/bin; `make bench`)
#
# What is measured: a 1 MiB synthetic app image uploaded to aloft-sim over
# 127.0.0.1, directly (0 ms) and through the link emulator
# (tests/tools/linkemu.c, built here into BIN_DIR/../bench/) at 10 ms round
# trip (5 ms each way), with the simulator's flash at ESP32 speed
# (--flash-timing esp32, W25Q32 typical erase/program times) and with flash
# timing off (the network alone). The two modes alternate, REPS times each
# (default 3, at least 2); the table shows the median. Seconds are aloft's
# own (--json "seconds": from the device's connect-back to its "OK",
# including the device's final verification and its 300 ms pause before
# "OK"); KiB/s = 1024 KiB / seconds. Every upload is a real one: the device
# reboots into the image and confirms it before the next upload.
#
# Environment: REPS (default 3), BENCH_SIZE (default 1M), BENCH_TIMINGS
# (default "esp32 off"), BENCH_LINKS (default "10 0": RTTs in ms).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=$(cd "${1:-$root/build/bin}" && pwd)
reps=${REPS:-3}
size=${BENCH_SIZE:-1M}
timings=${BENCH_TIMINGS:-esp32 off}
links=${BENCH_LINKS:-10 0}
[ "$reps" -ge 2 ] || { echo "REPS must be at least 2" >&2; exit 2; }
[ -x "$bin_dir/aloft" ] && [ -x "$bin_dir/aloft-sim" ] ||
    { echo "no aloft/aloft-sim in $bin_dir (build first: make build)" >&2; exit 2; }

export ALOFT_BIN=$bin_dir
# The test helpers: temp dir, random free ports, background processes
# stopped on exit, start_sim/start_relay/wait_reboot.
source "$root/tests/integration/espota_sim_lib.sh"

bench_dir="$(dirname "$bin_dir")/bench"
mkdir -p "$bench_dir"
linkemu="$bench_dir/linkemu"
${CC:-cc} -O2 -Wall -o "$linkemu" "$root/tests/tools/linkemu.c" || fail "cannot build linkemu"

make_image v1 1.0.0 200K
make_image big 2.0.0 "$size" 5
bytes=$(stat -c %s "$tmp/big.bin")
flash="$tmp/bench.flash"
new_device "$flash" "$tmp/v1.bin"

echo "espota bench: $bytes-byte image, $reps runs per mode (alternating), median shown"
echo "device: aloft-sim, one flash file for every run; host: $("$aloft" --version 2>/dev/null | head -1)"
echo

# one_upload MODE DEVICE EXTRA...: one upload, prints its seconds
one_upload() {
    local mode=$1 dev=$2 flags=()
    shift 2
    [ "$mode" = stop-and-wait ] && flags+=(--stop-and-wait)
    local rc=0 nb nc
    nb=$(boots "$sim_log")
    nc=$(grep -c "confirmed (VALID)" "$sim_log" || true)
    "$aloft" upload --protocol espota --json "${flags[@]}" "$@" "$dev" "$tmp/big.bin" \
        >"$tmp/run.json" 2>"$tmp/run.err" || rc=$?
    [ "$rc" = 0 ] || { cat "$tmp/run.json" "$tmp/run.err" >&2; fail "$mode upload failed"; }
    wait_reboot "$sim_log" $((nb + 1)) 2.0.0
    wait_for "$sim_log" "confirmed (VALID)" 10 $((nc + 1)) || fail "not confirmed"
    python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["ok"] and o["bytes"]==int(sys.argv[2]); print(o["seconds"])' \
        "$tmp/run.json" "$bytes"
}

# median
source "$root/bench/bench_lib.sh"

rows=()
for timing in $timings; do
    # a new simulator process per flash timing; the same flash file
    start_sim "$flash" "$tmp/sim.log" --flash-timing "$timing" --confirm-after 0 --run-for 7200
    for rtt in $links; do
        extra=()
        if [ "$rtt" = 0 ]; then
            dev="127.0.0.1:$sim_port"
        else
            start_relay "$tmp/relay.log" --run-for 7200 --delay-ms "$(awk -v r="$rtt" 'BEGIN {print r / 2}')"
            dev="$relay_ip:$relay_port"
            extra=(--host-ip 127.0.0.1)
        fi
        w="" s=""
        for ((r = 1; r <= reps; r++)); do
            w+=" $(one_upload windowed "$dev" "${extra[@]}")"
            s+=" $(one_upload stop-and-wait "$dev" "${extra[@]}")"
        done
        [ "$rtt" = 0 ] || stop_relay
        wm=$(echo "$w" | median)
        sm=$(echo "$s" | median)
        rows+=("$timing|$rtt|$wm|$sm|$w|$s")
        printf '  measured: flash %-5s RTT %2s ms: windowed%s s; stop-and-wait%s s\n' "$timing" "$rtt" "$w" "$s"
    done
    stop_sim
done

echo
printf '%-6s %-7s | %-20s | %-20s | %s\n' "flash" "RTT" "windowed (aloft)" "stop-and-wait" "windowed / stop-and-wait"
printf '%-6s %-7s | %8s %11s | %8s %11s | %s\n' "" "" "seconds" "KiB/s" "seconds" "KiB/s" "(speed-up)"
printf -- '-------------------------------------------------------------------------------\n'
for row in "${rows[@]}"; do
    IFS='|' read -r timing rtt wm sm _ _ <<<"$row"
    awk -v t="$timing" -v r="$rtt ms" -v w="$wm" -v s="$sm" -v b="$bytes" 'BEGIN {
        kib = b / 1024
        printf "%-6s %-7s | %8.2f %11.1f | %8.2f %11.1f | %.2fx\n", t, r, w, kib / w, s, kib / s, s / w }'
done
echo
echo "seconds: median of $reps, from connect-back to the device's OK (includes its final"
echo "verification and 300 ms pause); every upload rebooted the device into the image."
