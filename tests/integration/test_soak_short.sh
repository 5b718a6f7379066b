#!/usr/bin/env bash
# tests/integration/test_soak_short.sh — the fault soak (tests/soak/soak.sh)
# cut short: 12 uploads to one simulated ESP32 through the link emulator,
# each with a random fault (link cut, stall, slow link, flipped bit, power
# cut, or none), native and espota, real and synthetic images; every boot
# must run an image sent in full. About 15-30 s. `make soak` runs the full
# 200; SOAK_SEED replays a run.
set -euo pipefail
export SOAK_UPLOADS=12
exec bash "$(dirname "$0")/../soak/soak.sh" "${ALOFT_BIN:?set ALOFT_BIN to the build/bin directory}"
