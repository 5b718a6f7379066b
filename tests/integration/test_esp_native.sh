#!/usr/bin/env bash
# tests/integration/test_esp_native.sh — the ESP-IDF component's firmware
# (over the IDF fakes) receives `aloft upload` (native, with a password):
# the hook is paused before START and resumed, START, PROGRESS and END come
# in order, the restart boots the new image (the bootloader model picks
# app1, PENDING_VERIFY, and the firmware confirms it); the same in no-task
# mode (the application calls aloft_handle).
set -euo pipefail
source "$(dirname "$0")/esp_fake_lib.sh"

make_image v1 1.0.0 400000 1
make_image v2 2.0.0 420000 2
make_image v3 3.0.0 410000 3
esp_init "$tmp/dev.flash" "$tmp/v1.bin"
start_esp "$tmp/dev.flash" "$tmp/dev.log" --password s3cret
contains "$tmp/dev.log" "boot #1: running app0 espota-sim 1.0.0, state VALID"

expect_rc 0 "$aloft" upload --auth s3cret "127.0.0.1:$esp_port" "$tmp/v2.bin"
contains "$tmp/out" "device esp-fake: ESP32, aloft native v1 (auth, deflate, resume, delta)"
contains "$tmp/out" "logged in (the device proved it knows the password too)"
contains "$tmp/out" "the device activated app1 (2.0.0) and restarts now"
wait_esp_boot "$tmp/dev.log" 2 2.0.0
in_order "$tmp/dev.log" "hook: paused" "event: START native 0/420000 (hook paused)" \
    "event: PROGRESS native" "event: PROGRESS native 420000/420000" "hook: resumed" \
    "event: END native 420000/420000" "esp_restart()" \
    "boot #2: running app1 espota-sim 2.0.0, state PENDING_VERIFY" "confirm: confirmed (VALID)"
[ "$(grep -c "hook: paused" "$tmp/dev.log")" = 1 ] || fail "paused more than once"
[ "$(grep -c "hook: resumed" "$tmp/dev.log")" = 1 ] || fail "resumed more than once"
lacks "$tmp/dev.log" "event: ERROR"
stop_esp
contains "$tmp/dev.log" "stopped"

# --- no-task mode: the application's loop calls aloft_handle()
start_esp "$tmp/dev.flash" "$tmp/dev2.log" --password s3cret --no-task
contains "$tmp/dev2.log" "boot #1: running app1 espota-sim 2.0.0, state VALID"
expect_rc 0 "$aloft" upload --auth s3cret "127.0.0.1:$esp_port" "$tmp/v3.bin"
wait_esp_boot "$tmp/dev2.log" 2 3.0.0
in_order "$tmp/dev2.log" "hook: paused" "event: START native" "event: END native 410000/410000" \
    "boot #2: running app0 espota-sim 3.0.0, state PENDING_VERIFY"
grep -q "wdt: 0 resets" "$tmp/dev2.log" || fail "no-task mode fed a watchdog it did not subscribe"
stop_esp
echo "esp native: ok"
