#!/usr/bin/env bash
# make demo: a simulated ESP32 running v1 on 127.0.0.1 receives v2 over the
# network (ArduinoOTA/espota, password-protected), shows the update on its
# status line, reboots into v2 and confirms it; a power cycle proves v2 stays.
set -euo pipefail
ALOFT_BIN=$(cd "${1:-build/bin}" && pwd)
# spawn, stop_pid, wait_for (waiting on the device's log, not the clock)
source "$(dirname "$0")/../tests/integration/common_lib.sh"
dir=${DEMO_DIR:-demo}
port=${DEMO_PORT:-3232}
mkdir -p "$dir"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "build two firmware versions (synthetic ESP32 app images)"
"$bin/aloft" image make --chip esp32 --project demo-gateway --version 1.0.0 --size 700000 -o "$dir/v1.bin"
"$bin/aloft" image make --chip esp32 --project demo-gateway --version 2.0.0 --size 720000 -o "$dir/v2.bin"
"$bin/aloft" image info "$dir/v2.bin" | head -4

say "create a simulated ESP32 (4 MB flash, default scheme) running v1, and start it"
"$bin/aloft-sim" --flash "$dir/esp32.flash" --init --scheme default --firmware "$dir/v1.bin"
# The device's output is indented under [device] (and kept in
# $dir/device.log); its pid is the simulator's.
log="$dir/device.log"
: >"$log"
spawn "$bin/aloft-sim" --flash "$dir/esp32.flash" --port "$port" --password demo-pass \
    --flash-timing esp32 --confirm-after 2 --run-for 60 \
    > >(tee -a "$log" | sed -u 's/^/    [device] /') 2>&1
sim_pid=$spawned
wait_for "$log" "native on TCP" 30 || fail "the simulated device did not start"

say "upload v2 over the network: aloft upload --auth demo-pass 127.0.0.1:$port v2.bin"
"$bin/aloft" upload --auth demo-pass "127.0.0.1:$port" "$dir/v2.bin"
# the device reboots into v2 and its health check confirms it
wait_for "$log" "confirmed (VALID)" 30 || fail "v2 was not confirmed"
stop_pid "$sim_pid"

say "power-cycle the device: it comes back on v2"
"$bin/aloft-sim" --flash "$dir/esp32.flash" --run-for 0
