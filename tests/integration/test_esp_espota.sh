#!/usr/bin/env bash
# tests/integration/test_esp_espota.sh — the component's espota path: a
# firmware serving espota only (CONFIG_ALOFT_NATIVE off) takes `aloft
# upload` (auto falls back to espota: nothing listens on TCP) with MD5
# auth, then a PBKDF2 firmware with espota's own password takes
# `--protocol espota`; each time the hook is paused before START, START,
# PROGRESS and END come in order, the hook is resumed and the restart boots
# the new image.
set -euo pipefail
source "$(dirname "$0")/esp_fake_lib.sh"

make_image v1 1.0.0 300000 1
make_image v2 2.0.0 320000 2
make_image v3 3.0.0 310000 3
esp_init "$tmp/dev.flash" "$tmp/v1.bin"

start_esp "$tmp/dev.flash" "$tmp/dev.log" --password s3cret --no-native
expect_rc 0 "$aloft" upload --auth s3cret --host-ip 127.0.0.1 "127.0.0.1:$esp_port" "$tmp/v2.bin"
contains "$tmp/out" "authenticating (MD5)... ok"
wait_esp_boot "$tmp/dev.log" 2 2.0.0
in_order "$tmp/dev.log" "hook: paused" "event: START espota 0/320000 (hook paused)" \
    "event: PROGRESS espota" "hook: resumed" "event: END espota 320000/320000" \
    "esp_restart()" "boot #2: running app1 espota-sim 2.0.0, state PENDING_VERIFY"
lacks "$tmp/dev.log" "event: ERROR"
stop_esp

# --- PBKDF2, espota's own password (the native one does not log in)
start_esp "$tmp/dev.flash" "$tmp/dev2.log" --password s3cret --espota-password otapw --pbkdf2
expect_rc 1 "$aloft" upload --protocol espota --auth s3cret --host-ip 127.0.0.1 --tries 2 \
    "127.0.0.1:$esp_port" "$tmp/v3.bin"
lacks "$tmp/dev2.log" "hook: paused"
expect_rc 0 "$aloft" upload --protocol espota --auth otapw --host-ip 127.0.0.1 \
    "127.0.0.1:$esp_port" "$tmp/v3.bin"
wait_esp_boot "$tmp/dev2.log" 2 3.0.0
in_order "$tmp/dev2.log" "hook: paused" "event: START espota 0/310000" "hook: resumed" \
    "event: END espota 310000/310000" "boot #2: running app0 espota-sim 3.0.0"
stop_esp
echo "esp espota: ok"
