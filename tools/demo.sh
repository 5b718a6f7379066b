#!/usr/bin/env bash
# make demo: a simulated ESP32 running v1 receives v2 through the update
# pipeline (with the W25Q32 flash timing, so progress is visible), reboots
# into it, and its health check confirms it.
set -euo pipefail
bin=${1:-build/bin}
dir=${DEMO_DIR:-demo}
mkdir -p "$dir"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "build two firmware versions (synthetic ESP32 app images)"
"$bin/aloft" image make --chip esp32 --project demo-gateway --version 1.0.0 --size 700000 -o "$dir/v1.bin"
"$bin/aloft" image make --chip esp32 --project demo-gateway --version 2.0.0 --size 720000 -o "$dir/v2.bin"
"$bin/aloft" image info "$dir/v2.bin"

say "create a simulated ESP32 (4 MB flash, default scheme) running v1"
"$bin/aloft-sim" --flash "$dir/esp32.flash" --init --scheme default --firmware "$dir/v1.bin"

say "boot it, update to v2 through the pipeline, reboot, confirm"
"$bin/aloft-sim" --flash "$dir/esp32.flash" --flash-timing esp32 \
    --update "$dir/v2.bin" --confirm-after 1 --run-for 1.5

say "power-cycle: the device comes back on v2"
"$bin/aloft-sim" --flash "$dir/esp32.flash" --run-for 0
