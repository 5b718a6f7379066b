#!/usr/bin/env bash
# tests/integration/test_esp_stop.sh — aloft_stop during an update (the
# firmware calls it once PROGRESS passes --stop-at): the update is
# abandoned (ERROR event, the hook resumed exactly once), the task ended
# (serving no), the running image and otadata untouched, no restart; then
# aloft_start serves again and an upload boots.
set -euo pipefail
source "$(dirname "$0")/esp_fake_lib.sh"

make_image v1 1.0.0 300000 1
make_image v2 2.0.0 900000 2
esp_init "$tmp/dev.flash" "$tmp/v1.bin"
app0=$(region_sum "$tmp/dev.flash" $APP0 $SLOT_LEN)
start_esp "$tmp/dev.flash" "$tmp/dev.log" --password s3cret --flash-timing esp32 --stop-at 200000
otadata=$(region_sum "$tmp/dev.flash" $OTADATA $OTADATA_LEN)   # after the first boot wrote it

expect_rc 1 "$aloft" upload --protocol espota --auth s3cret --host-ip 127.0.0.1 \
    "127.0.0.1:$esp_port" "$tmp/v2.bin"
wait_for "$tmp/dev.log" "serving on 127.0.0.1:$esp_port" 30 2 ||
    { cat "$tmp/dev.log" >&2; fail "aloft_start after aloft_stop did not serve"; }
in_order "$tmp/dev.log" "hook: paused" "event: START espota" "event: PROGRESS espota" \
    "hook: resumed" "event: ERROR espota" "stopped: serving no, updating no, hook resumed (1 resume)" \
    "serving on 127.0.0.1:$esp_port"
lacks "$tmp/dev.log" "esp_restart()"
[ "$(region_sum "$tmp/dev.flash" $APP0 $SLOT_LEN)" = "$app0" ] || fail "app0 changed"
[ "$(region_sum "$tmp/dev.flash" $OTADATA $OTADATA_LEN)" = "$otadata" ] || fail "otadata changed"

# served again (the firmware asks only once): a whole upload boots
expect_rc 0 "$aloft" upload --auth s3cret "127.0.0.1:$esp_port" "$tmp/v2.bin"
wait_esp_boot "$tmp/dev.log" 2 2.0.0
stop_esp
echo "esp stop: ok"
