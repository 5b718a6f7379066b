#!/usr/bin/env bash
# tests/integration/test_esp_reject.sh — aloft_reject() from a firmware
# whose health check fails: the new image (PENDING_VERIFY after the
# upload) is marked INVALID and the chip restarts; the bootloader model
# then boots the previous image, which says it was rolled back, and
# `aloft upload`, reading the HELLO after the restart, reports it (exit 3).
set -euo pipefail
source "$(dirname "$0")/esp_fake_lib.sh"

make_image v1 1.0.0 300000 1
make_image v2 2.0.0 320000 2
esp_init "$tmp/dev.flash" "$tmp/v1.bin"
start_esp "$tmp/dev.flash" "$tmp/dev.log" --password s3cret --reject
lacks "$tmp/dev.log" "reject:"   # 1.0.0 is VALID: no health check to fail
expect_rc 3 "$aloft" upload --auth s3cret "127.0.0.1:$esp_port" "$tmp/v2.bin"
contains "$tmp/err" "the device restarted into the previous image (app0, 1.0.0)"
wait_esp_boot "$tmp/dev.log" 3 1.0.0
in_order "$tmp/dev.log" "event: END native 320000/320000" \
    "boot #2: running app1 espota-sim 2.0.0, state PENDING_VERIFY" "reject: rolling back" \
    "esp_restart()" "boot #3: running app0 espota-sim 1.0.0, state VALID, rolled back"
lacks "$tmp/dev.log" "reject: no"
stop_esp
echo "esp reject: ok"
