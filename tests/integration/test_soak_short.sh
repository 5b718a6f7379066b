#!/usr/bin/env bash
# tests/integration/test_soak_short.sh — the fault soak (tests/soak/soak.sh)
# cut short: 12 uploads to one simulated ESP32 through the link emulator,
# each with a random fault (link cut, stall, slow link, flipped bit, power
# cut, or none), native and espota, real and synthetic images; every boot
# must run an image sent in full. About 15-30 s. `make soak` runs the full
# 200; SOAK_SEED replays a run. Without the real firmware fixtures the soak
# runs on synthetic images only and the test then counts as skipped (77; a
# failure under CI=true).
set -euo pipefail
source "$(dirname "$0")/common_lib.sh"
fx=${ALOFT_FIXTURES:-}
[ -n "$fx" ] && [ -f "$fx/SOURCES.md" ] || fx=""
SOAK_UPLOADS=12 SOAK_FIXTURES=${fx:-/nonexistent} bash "$here/../soak/soak.sh" "$bin"
[ -n "$fx" ] ||
    skip_missing "no firmware fixtures (ALOFT_FIXTURES='${ALOFT_FIXTURES:-}'): the soak ran on synthetic images only"
